-- segment sale_shoppers, compiled by segc from specs/behavioral/sale_shoppers.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Visited a sale page and bought during the autumn sale week (10-16 October 2026).
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    SUM(
      CASE
        WHEN "e"."event" = 'pageview'
        AND COALESCE(POSITION('/sale' IN "e"."$current_url") > 0, FALSE)
        AND "e"."timestamp" >= CAST('2026-10-10 00:00:00' AS TIMESTAMP)
        AND "e"."timestamp" < CAST('2026-10-17 00:00:00' AS TIMESTAMP)
        THEN 1
        ELSE 0
      END
    ) AS "segc_1",
    SUM(
      CASE
        WHEN "e"."event" = 'purchase'
        AND "e"."timestamp" >= CAST('2026-10-10 00:00:00' AS TIMESTAMP)
        AND "e"."timestamp" < CAST('2026-10-17 00:00:00' AS TIMESTAMP)
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
  COALESCE("segc_a"."segc_1", 0) > 0 AND COALESCE("segc_a"."segc_2", 0) > 0;
