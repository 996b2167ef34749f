-- segment paid, compiled by segc from specs/accounts/paid.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- On a paying plan (pro or enterprise).
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE("p"."plan" IN ('pro', 'enterprise'), FALSE);
