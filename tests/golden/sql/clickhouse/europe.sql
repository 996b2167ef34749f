-- segment europe, compiled by segc from specs/geographic/europe.yml
-- dialect: clickhouse; as of: 2026-11-01T00:00:00Z
-- Persons in the European countries the shop ships to.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE("p"."country" IN ('GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'SE', 'PL'), FALSE)
SETTINGS join_use_nulls = 1;
