-- segment growing_spenders, compiled by segc from specs/behavioral/growing_spenders.yml
-- dialect: duckdb; as of: 2026-11-01T00:00:00Z
-- Spent in the last 30 days more than twice what they spent in the 30 days before.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    SUM(
      CASE
        WHEN "e"."event" = 'purchase'
        AND "e"."timestamp" >= CAST('2026-10-02 00:00:00' AS TIMESTAMP)
        THEN "e"."revenue"
      END
    ) AS "segc_1",
    SUM(
      CASE
        WHEN "e"."event" = 'purchase'
        AND "e"."timestamp" >= CAST('2026-09-02 00:00:00' AS TIMESTAMP)
        AND "e"."timestamp" < CAST('2026-10-02 00:00:00' AS TIMESTAMP)
        THEN "e"."revenue"
      END
    ) AS "segc_2",
    COUNT_IF(
      "e"."event" = 'purchase'
      AND "e"."timestamp" >= CAST('2026-10-02 00:00:00' AS TIMESTAMP)
    ) AS "segc_3"
  FROM "events" AS "e"
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
  COALESCE("segc_a"."segc_1", 0) > (
    2 * COALESCE("segc_a"."segc_2", 0)
  )
  AND COALESCE("segc_a"."segc_3", 0) >= 2;
