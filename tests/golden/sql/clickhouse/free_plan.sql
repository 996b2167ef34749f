-- segment free_plan, compiled by segc from specs/accounts/free_plan.yml
-- dialect: clickhouse; as of: 2026-11-01T00:00:00Z
-- Not on a paying plan, including persons whose plan is missing.
WITH "segc_flags0" AS (
  SELECT
    "p"."person_id" AS "segc_pid",
    COALESCE("p"."plan" IN ('pro', 'enterprise'), FALSE) AS "paid"
  FROM "persons" AS "p"
)
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
INNER JOIN "segc_flags0" AS "segc_f"
  ON "segc_f"."segc_pid" = "p"."person_id"
WHERE
  NOT (
    "segc_f"."paid"
  )
SETTINGS join_use_nulls = 1;
