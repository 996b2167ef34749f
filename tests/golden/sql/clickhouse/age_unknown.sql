-- segment age_unknown, compiled by segc from specs/demographic/age_unknown.yml
-- dialect: clickhouse; as of: 2026-11-01T00:00:00Z
-- Persons whose age is missing. Every comparison with a missing age is false, so these persons are in none of the other age groups; this segment collects them.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  "p"."age" IS NULL
SETTINGS join_use_nulls = 1;
