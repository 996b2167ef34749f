-- segment age_under_18, compiled by segc from specs/demographic/age_under_18.yml
-- dialect: duckdb; as of: 2026-11-01T00:00:00Z
-- Persons younger than 18. The shop sells to adults only, so this should stay empty: a data-quality guard that `segc check` reports when a sign-up form lets a minor through.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE("p"."age" < 18, FALSE);
