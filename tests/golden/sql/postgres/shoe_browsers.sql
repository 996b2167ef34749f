-- segment shoe_browsers, compiled by segc from specs/behavioral/shoe_browsers.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Looked at shoes (category page or search, any letter case) three times or more in 30 days.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    SUM(
      CASE
        WHEN "e"."event" = 'pageview'
        AND (
          COALESCE(
            POSITION(
              LOWER('/category/shoes' COLLATE "und-x-icu") IN LOWER("e"."$current_url" COLLATE "und-x-icu")
            ) > 0,
            FALSE
          )
          OR COALESCE(
            POSITION(
              LOWER('q=shoes' COLLATE "und-x-icu") IN LOWER("e"."$current_url" COLLATE "und-x-icu")
            ) > 0,
            FALSE
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
  COALESCE("segc_a"."segc_1", 0) >= 3;
