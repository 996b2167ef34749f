-- segment rest_of_world, compiled by segc from specs/geographic/rest_of_world.yml
-- dialect: clickhouse; as of: 2026-11-01T00:00:00Z
-- Persons in none of the named regions, including persons whose country is missing: `not in` is the exact complement of `in`, so a missing country is "not in" every list.
SELECT
  "p"."person_id" AS "person_id"
FROM "persons" AS "p"
WHERE
  NOT COALESCE(
    "p"."country" IN (
      'US',
      'CA',
      'GB',
      'DE',
      'FR',
      'ES',
      'IT',
      'NL',
      'SE',
      'PL',
      'JP',
      'KR',
      'SG',
      'IN',
      'AU',
      'BR',
      'MX',
      'AR'
    ),
    FALSE
  )
SETTINGS join_use_nulls = 1;
