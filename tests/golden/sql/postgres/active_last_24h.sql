-- segment active_last_24h, compiled by segc from specs/behavioral/active_last_24h.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Did anything in the last 24 hours.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    MAX("e"."timestamp") AS "segc_1"
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
  COALESCE("segc_a"."segc_1" >= CAST('2026-10-31 00:00:00' AS TIMESTAMP), FALSE);
