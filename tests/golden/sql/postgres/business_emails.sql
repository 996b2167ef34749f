-- segment business_emails, compiled by segc from specs/accounts/business_emails.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Signed up with the e-mail address of a known business customer.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE(RIGHT("p"."email", LENGTH('@acme.com')) = '@acme.com', FALSE)
  OR COALESCE(RIGHT("p"."email", LENGTH('@globex.io')) = '@globex.io', FALSE)
  OR COALESCE(RIGHT("p"."email", LENGTH('@initech.co')) = '@initech.co', FALSE);
