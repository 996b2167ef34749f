-- segment big_spenders, compiled by segc from specs/behavioral/big_spenders.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Spent more than 500 in the last 90 days and have not churned.
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
    ) AS "segc_3",
    SUM(
      CASE
        WHEN "e"."timestamp" >= CAST('2026-09-02 00:00:00' AS TIMESTAMP)
        AND "e"."timestamp" < CAST('2026-10-02 00:00:00' AS TIMESTAMP)
        THEN 1
        ELSE 0
      END
    ) AS "segc_4",
    SUM(
      CASE
        WHEN "e"."event" = 'purchase'
        AND "e"."timestamp" >= CAST('2026-08-03 00:00:00' AS TIMESTAMP)
        THEN "e"."revenue"
      END
    ) AS "segc_5"
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
), "segc_flags3" AS (
  SELECT
    "p"."person_id" AS "segc_pid",
    "segc_f"."new",
    "segc_f"."engaged",
    "segc_f"."activated",
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
    AND COALESCE("segc_a"."segc_4", 0) > 0 AS "at_risk"
  FROM "persons" AS "p"
  INNER JOIN "segc_flags2" AS "segc_f"
    ON "segc_f"."segc_pid" = "p"."person_id"
  LEFT JOIN "segc_a" AS "segc_a"
    ON "segc_a"."segc_pid" = "p"."person_id"
), "segc_flags4" AS (
  SELECT
    "p"."person_id" AS "segc_pid",
    "segc_f"."new",
    "segc_f"."engaged",
    "segc_f"."activated",
    "segc_f"."at_risk",
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
    AND (
      NOT (
        "segc_f"."at_risk"
      )
    ) AS "churned"
  FROM "persons" AS "p"
  INNER JOIN "segc_flags3" AS "segc_f"
    ON "segc_f"."segc_pid" = "p"."person_id"
  LEFT JOIN "segc_a" AS "segc_a"
    ON "segc_a"."segc_pid" = "p"."person_id"
)
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
INNER JOIN "segc_flags4" AS "segc_f"
  ON "segc_f"."segc_pid" = "p"."person_id"
LEFT JOIN "segc_a" AS "segc_a"
  ON "segc_a"."segc_pid" = "p"."person_id"
WHERE
  COALESCE("segc_a"."segc_5", 0) > 500 AND (
    NOT (
      "segc_f"."churned"
    )
  );
