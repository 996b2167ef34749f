-- segment us_west_coast, compiled by segc from specs/geographic/us_west_coast.yml
-- dialect: postgres; as of: 2026-11-01T00:00:00Z
-- Persons in the big West Coast cities of the United States.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  COALESCE("p"."country" = 'US', FALSE)
  AND COALESCE("p"."city" IN ('Los Angeles', 'San Francisco', 'Seattle'), FALSE);
