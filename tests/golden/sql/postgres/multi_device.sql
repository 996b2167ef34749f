-- segment multi_device, compiled by segc from specs/technographic/multi_device.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Used both a phone and a desktop computer in the last 30 days.
WITH "segc_a" AS (
  SELECT
    "e"."person_id" AS "segc_pid",
    SUM(
      CASE
        WHEN COALESCE("e"."$device_type" = 'Desktop', FALSE)
        AND "e"."timestamp" >= CAST('2026-10-02 00:00:00' AS TIMESTAMP)
        THEN 1
        ELSE 0
      END
    ) AS "segc_1",
    SUM(
      CASE
        WHEN COALESCE("e"."$device_type" = 'Mobile', FALSE)
        AND "e"."timestamp" >= CAST('2026-10-02 00:00:00' AS TIMESTAMP)
        THEN 1
        ELSE 0
      END
    ) AS "segc_2"
  FROM "events" AS "e"
  WHERE
    "e"."timestamp" < CAST('2026-11-01 00:00:00' AS TIMESTAMP)
  GROUP BY
    "e"."person_id"
), "segc_flags0" AS (
  SELECT
    "p"."person_id" AS "segc_pid",
    COALESCE("segc_a"."segc_1", 0) > 0 AS "desktop_users",
    COALESCE("segc_a"."segc_2", 0) > 0 AS "mobile_users"
  FROM "persons" AS "p"
  LEFT JOIN "segc_a" AS "segc_a"
    ON "segc_a"."segc_pid" = "p"."person_id"
)
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
INNER JOIN "segc_flags0" AS "segc_f"
  ON "segc_f"."segc_pid" = "p"."person_id"
LEFT JOIN "segc_a" AS "segc_a"
  ON "segc_a"."segc_pid" = "p"."person_id"
WHERE
  "segc_f"."mobile_users" AND "segc_f"."desktop_users";
