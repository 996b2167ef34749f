-- segment free_plan, compiled by segc from specs/accounts/free_plan.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Not on a paying plan, including persons whose plan is missing.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  NOT COALESCE("p"."plan" IN ('pro', 'enterprise'), FALSE);
