-- segment premium_buyers, compiled by segc from specs/behavioral/premium_buyers.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Three or more orders in 90 days with an average order value of 60 or more.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    SUM(
      CASE
        WHEN "e"."event" = 'purchase'
        AND "e"."timestamp" >= CAST('2026-08-03 00:00:00' AS TIMESTAMP)
        THEN 1
        ELSE 0
      END
    ) AS "segc_1",
    AVG(
      CASE
        WHEN "e"."event" = 'purchase'
        AND "e"."timestamp" >= CAST('2026-08-03 00:00:00' AS TIMESTAMP)
        THEN "e"."revenue"
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
  COALESCE("segc_a"."segc_1", 0) >= 3 AND COALESCE("segc_a"."segc_2" >= 60, FALSE);
