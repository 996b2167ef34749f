-- segment high_value_na_buyers, compiled by segc from specs/behavioral/high_value_na_buyers.yml
-- dialect: duckdb; as of: 2026-11-01T00:00:00Z
-- North American customers with an order above 100 in the last week.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    COUNT_IF(
      "e"."event" = 'purchase'
      AND COALESCE("e"."revenue" > 100, FALSE)
      AND "e"."timestamp" >= CAST('2026-10-25 00:00:00' AS TIMESTAMP)
    ) AS "segc_1"
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
  COALESCE("segc_a"."segc_1", 0) > 0
  AND COALESCE("p"."country" IN ('US', 'CA'), FALSE);
