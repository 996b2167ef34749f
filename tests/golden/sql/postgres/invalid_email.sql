-- segment invalid_email, compiled by segc from specs/accounts/invalid_email.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- E-mail address missing or malformed (no domain with a dot); cannot be e-mailed.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  "p"."email" IS NULL
  OR (
    NOT COALESCE("p"."email" ~ '^[^@ ]+@[^@ ]+[.][a-z]+$', FALSE)
  );
