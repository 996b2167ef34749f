-- segment android_mobile_buyers, compiled by segc from specs/technographic/android_mobile_buyers.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Bought from an Android phone in the last 30 days, not with Samsung's browser.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    SUM(
      CASE
        WHEN "e"."event" = 'purchase'
        AND (
          COALESCE("e"."$os" = 'Android', FALSE)
          AND COALESCE("e"."$device_type" = 'Mobile', FALSE)
          AND (
            NOT COALESCE("e"."$browser" = 'Samsung Internet', FALSE)
          )
        )
        AND "e"."timestamp" >= CAST('2026-10-02 00:00:00' AS TIMESTAMP)
        THEN 1
        ELSE 0
      END
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
  COALESCE("segc_a"."segc_1", 0) > 0;
