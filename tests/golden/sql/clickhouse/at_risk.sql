-- segment at_risk, compiled by segc from specs/lifecycle/at_risk.yml
-- dialect: clickhouse; as of: 2026-11-01T00:00:00Z
-- Not in an earlier stage, and last active 30 to 60 days ago: still reachable before they churn. Fourth stage of the lifecycle partition: it excludes `new`, `engaged` and `activated` (so there was nothing in the last 30 days), and `churned` excludes it.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    MIN(CASE WHEN "e"."event" = 'signup' THEN "e"."timestamp" END) AS "segc_1",
    COUNT(
      DISTINCT CASE
        WHEN "e"."timestamp" >= CAST('2026-10-18 00:00:00' AS DateTime64(6, 'UTC'))
        THEN CAST("e"."timestamp" AS Nullable(DATE))
      END
    ) AS "segc_2",
    countIf("e"."timestamp" >= CAST('2026-10-02 00:00:00' AS DateTime64(6, 'UTC'))) AS "segc_3",
    countIf(
      "e"."timestamp" >= CAST('2026-09-02 00:00:00' AS DateTime64(6, 'UTC'))
      AND "e"."timestamp" < CAST('2026-10-02 00:00:00' AS DateTime64(6, 'UTC'))
    ) AS "segc_4"
  FROM "events" AS "e"
  WHERE
    "e"."timestamp" < CAST('2026-11-01 00:00:00' AS DateTime64(6, 'UTC'))
  GROUP BY
    "e"."person_id"
), "segc_flags0" AS (
  SELECT
    "p"."person_id" AS "segc_pid",
    (
      COALESCE("p"."signed_up_at" >= CAST('2026-10-18 00:00:00' AS DateTime64(6, 'UTC')), FALSE)
      AND COALESCE("p"."signed_up_at" < CAST('2026-11-01 00:00:00' AS DateTime64(6, 'UTC')), FALSE)
    )
    OR COALESCE("segc_a"."segc_1" >= CAST('2026-10-18 00:00:00' AS DateTime64(6, 'UTC')), FALSE) AS "new"
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
), "segc_flags2" AS (
  SELECT
    "p"."person_id" AS "segc_pid",
    "segc_f"."new",
    "segc_f"."engaged",
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
    AND COALESCE("segc_a"."segc_3", 0) > 0 AS "activated"
  FROM "persons" AS "p"
  INNER JOIN "segc_flags1" AS "segc_f"
    ON "segc_f"."segc_pid" = "p"."person_id"
  LEFT JOIN "segc_a" AS "segc_a"
    ON "segc_a"."segc_pid" = "p"."person_id"
)
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
INNER JOIN "segc_flags2" AS "segc_f"
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
  AND (
    NOT (
      "segc_f"."activated"
    )
  )
  AND COALESCE("segc_a"."segc_4", 0) > 0
SETTINGS join_use_nulls = 1;
