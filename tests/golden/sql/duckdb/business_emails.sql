-- segment business_emails, compiled by segc from specs/accounts/business_emails.yml
-- dialect: duckdb; as of: 2026-11-01T00:00:00Z
-- Signed up with the e-mail address of a known business customer.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE(ENDS_WITH("p"."email", '@acme.com'), FALSE)
  OR COALESCE(ENDS_WITH("p"."email", '@globex.io'), FALSE)
  OR COALESCE(ENDS_WITH("p"."email", '@initech.co'), FALSE);
