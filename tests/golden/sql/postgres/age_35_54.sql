-- segment age_35_54, compiled by segc from specs/demographic/age_35_54.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Persons aged 35 to 54 (both ends included).
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE("p"."age" >= 35, FALSE) AND COALESCE("p"."age" <= 54, FALSE);
