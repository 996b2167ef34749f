-- segment stopped_logging_in, compiled by segc from specs/behavioral/stopped_logging_in.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Logged in 30 to 60 days ago, but not in the last 30 days.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    SUM(
      CASE
        WHEN "e"."event" = 'login'
        AND "e"."timestamp" >= CAST('2026-09-02 00:00:00' AS TIMESTAMP)
        AND "e"."timestamp" < CAST('2026-10-02 00:00:00' AS TIMESTAMP)
        THEN 1
        ELSE 0
      END
    ) AS "segc_1",
    SUM(
      CASE
        WHEN "e"."event" = 'login'
        AND "e"."timestamp" >= CAST('2026-10-02 00:00:00' AS TIMESTAMP)
        THEN 1
        ELSE 0
      END
    ) AS "segc_2"
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
  AND (
    NOT (
      COALESCE("segc_a"."segc_2", 0) > 0
    )
  );
