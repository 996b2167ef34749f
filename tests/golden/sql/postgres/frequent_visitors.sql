-- segment frequent_visitors, compiled by segc from specs/behavioral/frequent_visitors.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Came on 8 or more different days of the last 30, whatever the plan.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    COUNT(
      DISTINCT CASE
        WHEN "e"."timestamp" >= CAST('2026-10-02 00:00:00' AS TIMESTAMP)
        THEN CAST("e"."timestamp" AS DATE)
      END
    ) AS "segc_1"
  FROM "events" AS "e"
  WHERE
    "e"."timestamp" < CAST('2026-11-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    "e"."person_id"
), "segc_flags0" AS (
  SELECT
    "p"."person_id" AS "segc_pid",
    COALESCE("p"."is_employee", FALSE)
    OR COALESCE(RIGHT("p"."email", LENGTH('@shop.example')) = '@shop.example', FALSE) AS "internal_users"
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
  COALESCE("segc_a"."segc_1", 0) >= 8
  AND (
    NOT (
      "segc_f"."internal_users"
    )
  );
