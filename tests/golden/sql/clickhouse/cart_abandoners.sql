-- segment cart_abandoners, compiled by segc from specs/behavioral/cart_abandoners.yml
-- dialect: clickhouse; as of: 2026-11-01T00:00:00Z
-- Viewed a product and put it in the cart within the hour, in the last 7 days, but bought nothing in those 7 days: the audience of the "you left something behind" e-mail.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    countIf(
      "e"."event" = 'purchase'
      AND "e"."timestamp" >= CAST('2026-10-25 00:00:00' AS DateTime64(6, 'UTC'))
    ) AS "segc_1"
  FROM "events" AS "e"
  WHERE
    "e"."timestamp" < CAST('2026-11-01 00:00:00' AS DateTime64(6, 'UTC'))
  GROUP BY
    "e"."person_id"
), "segc_sequence1_1" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    "e"."timestamp" AS "segc_t1",
    "e"."timestamp" AS "segc_step"
  FROM "events" AS "e"
  WHERE
    "e"."timestamp" < CAST('2026-11-01 00:00:00' AS DateTime64(6, 'UTC'))
    AND (
      "e"."event" = 'product_viewed'
      AND "e"."timestamp" >= CAST('2026-10-25 00:00:00' AS DateTime64(6, 'UTC'))
    )
    AND (
      NOT (
        "e"."person_id" IS NULL
      )
    )
), "segc_sequence1_2" AS (
  SELECT
    "s"."segc_pid",
    "s"."segc_t1",
    MIN("e"."timestamp") AS "segc_step"
  FROM "segc_sequence1_1" AS "s"
  INNER JOIN "events" AS "e"
    ON "e"."person_id" = "s"."segc_pid"
    AND "e"."timestamp" > "s"."segc_step"
    AND "e"."timestamp" <= "s"."segc_t1" + INTERVAL '1' HOUR
  WHERE
    "e"."timestamp" < CAST('2026-11-01 00:00:00' AS DateTime64(6, 'UTC'))
    AND (
      "e"."event" = 'added_to_cart'
      AND "e"."timestamp" >= CAST('2026-10-25 00:00:00' AS DateTime64(6, 'UTC'))
    )
  GROUP BY
    "s"."segc_pid",
    "s"."segc_t1"
)
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
LEFT JOIN "segc_a" AS "segc_a"
  ON "segc_a"."segc_pid" = "p"."person_id"
WHERE
  COALESCE("p"."person_id" IN (
    SELECT
      "segc_pid"
    FROM "segc_sequence1_2"
  ), FALSE)
  AND (
    NOT (
      COALESCE("segc_a"."segc_1", 0) > 0
    )
  )
SETTINGS join_use_nulls = 1;
