-- segment age_55_plus, compiled by segc from specs/demographic/age_55_plus.yml
-- dialect: clickhouse; as of: 2026-11-01T00:00:00Z
-- Persons aged 55 or more.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE("p"."age" >= 55, FALSE)
SETTINGS join_use_nulls = 1;
