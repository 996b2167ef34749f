-- segment asia_pacific, compiled by segc from specs/geographic/asia_pacific.yml
-- dialect: duckdb; as of: 2026-11-01T00:00:00Z
-- Persons in Asia and Oceania.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE("p"."country" IN ('JP', 'KR', 'SG', 'IN', 'AU'), FALSE);
