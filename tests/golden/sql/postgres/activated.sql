-- segment activated, compiled by segc from specs/lifecycle/activated.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Not new, not engaged, but did something in the last 30 days: past onboarding, using the shop now and then. Third stage of the lifecycle partition: it excludes `new` and `engaged`, and the later stages exclude it.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    MIN(CASE WHEN "e"."event" = 'signup' THEN "e"."timestamp" END) AS "segc_1",
    COUNT(
      DISTINCT CASE
        WHEN "e"."timestamp" >= CAST('2026-10-18 00:00:00' AS TIMESTAMP)
        THEN CAST("e"."timestamp" AS DATE)
      END
    ) AS "segc_2",
    SUM(
      CASE
        WHEN "e"."timestamp" >= CAST('2026-10-02 00:00:00' AS TIMESTAMP)
        THEN 1
        ELSE 0
      END
    ) AS "segc_3"
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
), "segc_flags1" AS (
  SELECT
    "p"."person_id" AS "segc_pid",
    "segc_f"."new",
    (
      NOT (
        "segc_f"."new"
      )
    ) AND COALESCE("segc_a"."segc_2", 0) >= 3 AS "engaged"
  FROM "persons" AS "p"
  INNER JOIN "segc_flags0" AS "segc_f"
    ON "segc_f"."segc_pid" = "p"."person_id"
  LEFT JOIN "segc_a" AS "segc_a"
    ON "segc_a"."segc_pid" = "p"."person_id"
)
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
INNER JOIN "segc_flags1" AS "segc_f"
  ON "segc_f"."segc_pid" = "p"."person_id"
LEFT JOIN "segc_a" AS "segc_a"
  ON "segc_a"."segc_pid" = "p"."person_id"
WHERE
  (
    NOT (
      "segc_f"."new"
    )
  )
  AND (
    NOT (
      "segc_f"."engaged"
    )
  )
  AND COALESCE("segc_a"."segc_3", 0) > 0;
