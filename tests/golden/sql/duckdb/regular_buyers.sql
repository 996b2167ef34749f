-- segment regular_buyers, compiled by segc from specs/behavioral/regular_buyers.yml
-- dialect: duckdb; as of: 2026-11-01T00:00:00Z
-- Bought at least twice a week in 3 of the last 4 weeks.
WITH "segc_periods1" AS (
  SELECT
    "segc_pid",
    COUNT(*) AS "segc_n"
  FROM (
    SELECT
      "e"."person_id" AS "segc_pid",
      (
        DATE_DIFF('MICROSECOND', "e"."timestamp", CAST('2026-11-01 00:00:00' AS TIMESTAMP)) - 1
      ) // 604800000000 AS "segc_k"
    FROM "events" AS "e"
    WHERE
      "e"."timestamp" < CAST('2026-11-01 00:00:00' AS TIMESTAMP)
      AND (
        "e"."event" = 'purchase'
        AND "e"."timestamp" >= CAST('2026-10-04 00:00:00' AS TIMESTAMP)
      )
    GROUP BY
      "e"."person_id",
      (
        DATE_DIFF('MICROSECOND', "e"."timestamp", CAST('2026-11-01 00:00:00' AS TIMESTAMP)) - 1
      ) // 604800000000
    HAVING
      COUNT(*) >= 2
  ) AS "segc_periods"
  GROUP BY
    "segc_pid"
)
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
LEFT JOIN "segc_periods1" AS "segc_periods1"
  ON "segc_periods1"."segc_pid" = "p"."person_id"
WHERE
  COALESCE("segc_periods1"."segc_n", 0) >= 3;
