-- segment power_buyers, compiled by segc from specs/behavioral/power_buyers.yml
-- dialect: clickhouse; as of: 2026-11-01T00:00:00Z
-- Bought 20 or more times in the last 30 days
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    countIf(
      "e"."event" = 'purchase'
      AND "e"."timestamp" >= CAST('2026-10-02 00:00:00' AS DateTime64(6, 'UTC'))
    ) AS "segc_1"
  FROM "events" AS "e"
  WHERE
    "e"."timestamp" < CAST('2026-11-01 00:00:00' AS DateTime64(6, 'UTC'))
  GROUP BY
    "e"."person_id"
)
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
LEFT JOIN "segc_a" AS "segc_a"
  ON "segc_a"."segc_pid" = "p"."person_id"
WHERE
  COALESCE("segc_a"."segc_1", 0) >= 20
SETTINGS join_use_nulls = 1;
