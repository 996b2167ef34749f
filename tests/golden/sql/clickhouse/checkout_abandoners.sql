-- segment checkout_abandoners, compiled by segc from specs/behavioral/checkout_abandoners.yml
-- dialect: clickhouse; as of: 2026-11-01T00:00:00Z
-- Started a checkout in the last 14 days without completing any purchase.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    countIf(
      "e"."event" = 'checkout_started'
      AND "e"."timestamp" >= CAST('2026-10-18 00:00:00' AS DateTime64(6, 'UTC'))
    ) AS "segc_1",
    countIf(
      "e"."event" = 'purchase'
      AND "e"."timestamp" >= CAST('2026-10-18 00:00:00' AS DateTime64(6, 'UTC'))
    ) AS "segc_2"
  FROM "events" AS "e"
  WHERE
    "e"."timestamp" < CAST('2026-11-01 00:00:00' AS DateTime64(6, 'UTC'))
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
  )
SETTINGS join_use_nulls = 1;
