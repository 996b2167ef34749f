-- segment lapsed_buyers, compiled by segc from specs/behavioral/lapsed_buyers.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Bought before, but not in the last 45 days, although they still visit the shop (active in the last 14 days): candidates for a win-back offer.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    MAX(CASE WHEN "e"."event" = 'purchase' THEN "e"."timestamp" END) AS "segc_1",
    SUM(
      CASE
        WHEN "e"."timestamp" >= CAST('2026-10-18 00:00:00' AS TIMESTAMP)
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
  COALESCE("segc_a"."segc_1" < CAST('2026-09-17 00:00:00' AS TIMESTAMP), FALSE)
  AND COALESCE("segc_a"."segc_2", 0) > 0;
