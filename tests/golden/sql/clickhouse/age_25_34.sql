-- segment age_25_34, compiled by segc from specs/demographic/age_25_34.yml
-- dialect: clickhouse; as of: 2026-11-01T00:00:00Z
-- Persons aged 25 to 34 (both ends included).
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE("p"."age" BETWEEN 25 AND 34, FALSE)
SETTINGS join_use_nulls = 1;
