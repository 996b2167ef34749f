-- segment quick_converters, compiled by segc from specs/behavioral/quick_converters.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Bought within a day of signing up (persons without a sign-up date are never in it, nor, as of an earlier instant, persons who had not signed up yet).
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    MIN(CASE WHEN "e"."event" = 'purchase' THEN "e"."timestamp" END) AS "segc_1"
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
  COALESCE("p"."signed_up_at" < CAST('2026-11-01 00:00:00' AS TIMESTAMP), FALSE)
  AND COALESCE("segc_a"."segc_1" <= (
    "p"."signed_up_at" + INTERVAL '1 DAY'
  ), FALSE);
