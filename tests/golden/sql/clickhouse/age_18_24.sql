-- segment age_18_24, compiled by segc from specs/demographic/age_18_24.yml
-- dialect: clickhouse; as of: 2026-11-01T00:00:00Z
-- Persons aged 18 to 24 (both ends included).
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE("p"."age" BETWEEN 18 AND 24, FALSE)
SETTINGS join_use_nulls = 1;
