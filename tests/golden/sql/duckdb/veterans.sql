-- segment veterans, compiled by segc from specs/accounts/veterans.yml
-- dialect: duckdb; as of: 2026-11-01T00:00:00Z
-- Customers for more than a year who are still active (last 30 days).
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    COUNT_IF("e"."timestamp" >= CAST('2026-10-02 00:00:00' AS TIMESTAMP)) AS "segc_1"
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
  COALESCE("p"."signed_up_at" < CAST('2025-11-01 00:00:00' AS TIMESTAMP), FALSE)
  AND COALESCE("segc_a"."segc_1", 0) > 0;
