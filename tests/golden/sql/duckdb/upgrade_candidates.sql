-- segment upgrade_candidates, compiled by segc from specs/behavioral/upgrade_candidates.yml
-- dialect: duckdb; as of: 2026-11-01T00:00:00Z
-- Free-plan users in the big markets who placed two orders of 100 or more in 30 days; the market is checked on the person (`person.country`) inside the purchase filter.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    COUNT_IF(
      "e"."event" = 'purchase'
      AND (
        COALESCE("e"."revenue" >= 100, FALSE)
        AND COALESCE("pe"."country" IN ('US', 'CA', 'GB'), FALSE)
      )
      AND "e"."timestamp" >= CAST('2026-10-02 00:00:00' AS TIMESTAMP)
    ) AS "segc_1"
  FROM "events" AS "e"
  INNER JOIN "persons" AS "pe"
    ON "pe"."person_id" = "e"."person_id"
  WHERE
    "e"."timestamp" < CAST('2026-11-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    "e"."person_id"
)
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
LEFT JOIN "segc_a" AS "segc_a"
  ON "segc_a"."segc_pid" = "p"."person_id"
WHERE
  COALESCE("p"."plan" = 'free', FALSE) AND COALESCE("segc_a"."segc_1", 0) >= 2;
