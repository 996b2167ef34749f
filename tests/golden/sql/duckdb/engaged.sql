-- segment engaged, compiled by segc from specs/lifecycle/engaged.yml
-- dialect: duckdb; as of: 2026-11-01T00:00:00Z
-- Not new, and active on 3 or more different days of the last 14. Second stage of the lifecycle partition: it excludes `new`, and the later stages exclude it.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    MIN(CASE WHEN "e"."event" = 'signup' THEN "e"."timestamp" END) AS "segc_1",
    COUNT(
      DISTINCT CASE
        WHEN "e"."timestamp" >= CAST('2026-10-18 00:00:00' AS TIMESTAMP)
        THEN CAST("e"."timestamp" AS DATE)
      END
    ) AS "segc_2"
  FROM "events" AS "e"
  WHERE
    "e"."timestamp" < CAST('2026-11-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    "e"."person_id"
), "segc_flags0" AS (
  SELECT
    "p"."person_id" AS "segc_pid",
    (
      COALESCE("p"."signed_up_at" >= CAST('2026-10-18 00:00:00' AS TIMESTAMP), FALSE)
      AND COALESCE("p"."signed_up_at" < CAST('2026-11-01 00:00:00' AS TIMESTAMP), FALSE)
    )
    OR COALESCE("segc_a"."segc_1" >= CAST('2026-10-18 00:00:00' AS TIMESTAMP), FALSE) AS "new"
  FROM "persons" AS "p"
  LEFT JOIN "segc_a" AS "segc_a"
    ON "segc_a"."segc_pid" = "p"."person_id"
)
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
INNER JOIN "segc_flags0" AS "segc_f"
  ON "segc_f"."segc_pid" = "p"."person_id"
LEFT JOIN "segc_a" AS "segc_a"
  ON "segc_a"."segc_pid" = "p"."person_id"
WHERE
  (
    NOT (
      "segc_f"."new"
    )
  ) AND COALESCE("segc_a"."segc_2", 0) >= 3;
