-- segment internal_users, compiled by segc from specs/accounts/internal_users.yml
-- dialect: duckdb; as of: 2026-11-01T00:00:00Z
-- Employees and anyone with a company e-mail address; kept out of marketing segments.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE("p"."is_employee", FALSE)
  OR COALESCE(ENDS_WITH("p"."email", '@shop.example'), FALSE);
