-- segment internal_users, compiled by segc from specs/accounts/internal_users.yml
-- dialect: clickhouse; as of: 2026-11-01T00:00:00Z
-- Employees and anyone with a company e-mail address; kept out of marketing segments.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE("p"."is_employee", FALSE)
  OR COALESCE(endsWith("p"."email", '@shop.example'), FALSE)
SETTINGS join_use_nulls = 1;
