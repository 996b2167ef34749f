-- segment north_america, compiled by segc from specs/geographic/north_america.yml
-- dialect: clickhouse; as of: 2026-11-01T00:00:00Z
-- Persons in the United States or Canada.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE("p"."country" IN ('US', 'CA'), FALSE)
SETTINGS join_use_nulls = 1;
