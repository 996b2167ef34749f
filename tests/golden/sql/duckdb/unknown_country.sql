-- segment unknown_country, compiled by segc from specs/geographic/unknown_country.yml
-- dialect: duckdb; as of: 2026-11-01T00:00:00Z
-- Persons whose country is missing.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  "p"."country" IS NULL;
