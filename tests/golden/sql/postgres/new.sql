-- segment new, compiled by segc from specs/lifecycle/new.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Signed up in the last 14 days, by the signed_up_at property or, where that is missing, by the signup event. First stage of the lifecycle partition: every later stage starts with `not segment(new)`, so nobody new is in another stage. The sign-up date is bounded by now() too: as of an earlier instant, a person who signs up later is not new yet.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    MIN(CASE WHEN "e"."event" = 'signup' THEN "e"."timestamp" END) AS "segc_1"
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
  (
    COALESCE("p"."signed_up_at" >= CAST('2026-10-18 00:00:00' AS TIMESTAMP), FALSE)
    AND COALESCE("p"."signed_up_at" < CAST('2026-11-01 00:00:00' AS TIMESTAMP), FALSE)
  )
  OR COALESCE("segc_a"."segc_1" >= CAST('2026-10-18 00:00:00' AS TIMESTAMP), FALSE);
