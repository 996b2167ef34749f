-- segment latin_america, compiled by segc from specs/geographic/latin_america.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Persons in Latin America.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE("p"."country" IN ('BR', 'MX', 'AR'), FALSE);
