"""The issue "Unit tests for definitions: fixture persons and events, expected members, run by
`segc test`", checked end to end:

- tests that pass and tests that fail, on DuckDB, ClickHouse (chdb) and PostgreSQL, with the
  diff a failing test shows (missing and unexpected members; rows of cohorts and insights);
- `repeat:` (and `every:`), events at the edges of a window, null logic, a segment that
  references other segments, person keys that are numbers, properties in a JSON column,
  schema-qualified tables;
- fixture mistakes reported by `segc validate` at file:line:col with SEGnnn codes and
  did-you-mean; test files under tests/;
- isolation: the fixture tables live in a namespace of their own that is gone afterwards, and
  real tables of the same names are not touched;
- `segc test` on the command line: exit codes, --select, --dialect all with a PostgreSQL
  target, text / json / junit / sarif / github output;
- the demo project's own tests pass on all three engines, and the README's example is one.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml
from sqlglot import exp

from junit_report import parse_junit
from segc import api
from segc.engines import connect
from segc.schemas import SCHEMA_DIR
from segc.testing import report, run_tests

pytestmark = pytest.mark.engines

REPO = Path(__file__).resolve().parent.parent
AS_OF = dt.datetime(2026, 6, 1, 12, 0, 0)  # a Monday


# --- a small project -------------------------------------------------------------------------------

MODEL = """\
name: t
model:
  persons:
    table: analytics.persons          # schema-qualified: made inside the test's own namespace
    key: person_id
    properties:
      country: string
      plan: string
      age: integer
      signed_up_at: timestamp
      vip: boolean
  events:
    table: analytics.events
    person: person_id
    event: event
    timestamp: ts
    properties:
      revenue: number
      browser: string
"""

BUYERS = """\
segment: buyers
description: Three purchases or more in the last 30 days
where: count(purchase within 30d) >= 3
tests:
  - name: three purchases make a buyer, two do not
    persons: [ann, bob, cid]
    events:
      - {person_id: ann, event: purchase, ts: ago(1d), repeat: 3}
      - {person_id: bob, event: purchase, ts: ago(1d), repeat: 2}
      - {person_id: cid, event: pageview, ts: ago(1d), repeat: 3}
    expect: [ann]
  - name: the window is [now - 30d, now)
    persons: [at_start, before_start, at_now]
    events:
      - {person_id: at_start, event: purchase, ts: -10d, repeat: 2}
      - {person_id: at_start, event: purchase, ts: now() - 30d}
      - {person_id: before_start, event: purchase, ts: ago(10d), repeat: 2}
      - {person_id: before_start, event: purchase, ts: ago(30d) - 1s}
      - {person_id: at_now, event: purchase, ts: ago(10d), repeat: 2}
      - {person_id: at_now, event: purchase, ts: '2026-06-01T14:00:00+02:00'}
    expect: [at_start]
  - name: fails on purpose
    persons: [ann, bob]
    events:
      - {person_id: ann, event: purchase, ts: ago(1d), repeat: 2}
      - {person_id: bob, event: purchase, ts: ago(1d), repeat: 3}
    expect: [ann]
"""

NEWBIES = """\
segment: newbies
where: signed_up_at >= ago(7d)
"""

LOYAL = """\
segment: loyal
description: Buyers who are not new, and VIPs who bought at all
where: (segment(buyers) and not segment(newbies)) or (vip and performed(purchase))
tests:
  - name: references buyers and newbies
    persons:
      - {person_id: old_buyer, signed_up_at: '2025-01-01'}
      - {person_id: new_buyer, signed_up_at: ago(2d)}
      - {person_id: unknown_signup}                     # null signed_up_at: not new
      - {person_id: vip, vip: true}
      - {person_id: not_vip, vip: false}
    events:
      - {person_id: old_buyer, event: purchase, ts: ago(3d), repeat: 3, every: 1d}
      - {person_id: new_buyer, event: purchase, ts: ago(1d), repeat: 3}
      - {person_id: unknown_signup, event: purchase, ts: ago(1d), repeat: 3}
      - {person_id: vip, event: purchase, ts: ago(100d)}
      - {person_id: not_vip, event: purchase, ts: ago(100d)}
    expect: [old_buyer, unknown_signup, vip]
  - name: fails because newbies is forgotten
    persons:
      - {person_id: new_buyer, signed_up_at: ago(2d)}
    events:
      - {person_id: new_buyer, event: purchase, ts: ago(1d), repeat: 3}
    expect: [new_buyer]
"""

OUTSIDE_US = """\
segment: outside_us
where: country != 'US'
tests:
  - name: a missing country is not the US
    persons:
      - {person_id: us, country: US}
      - {person_id: fr, country: FR}
      - {person_id: nobody_knows, country: null}
      - {person_id: unwritten}
    expect: [fr, nobody_knows, unwritten]
  - name: at least these, by match contains
    persons:
      - {person_id: fr, country: FR}
      - {person_id: de, country: DE}
    match: contains
    expect: [fr]
"""

SIGNUPS = """\
cohort: signups
entry: first_time(signup)
period: week
periods: 2
returning: performed(login)
entries: within 28d
tests:
  - name: a week of sign-ups and who came back
    persons: [a, b, c]
    events:
      - {person_id: a, event: signup, ts: '2026-05-18 09:00:00'}
      - {person_id: b, event: signup, ts: '2026-05-24 23:59:59'}
      - {person_id: a, event: login, ts: '2026-05-25 00:00:00'}
      - {person_id: c, event: login, ts: '2026-05-26 00:00:00'}
    match: contains
    expect:
      - {cohort_start: '2026-05-18', period: 0, persons: 2, share: 1.0}
      - {cohort_start: '2026-05-18', period: 1, persons: 1, share: 0.5}
      - {cohort_start: '2026-05-18', period: 2, persons: 0, partial: true}
  - name: fails with a wrong share
    persons: [a]
    events:
      - {person_id: a, event: signup, ts: '2026-05-18 09:00:00'}
    match: contains
    expect:
      - {cohort_start: '2026-05-18', period: 0, persons: 1, share: 0.5}
      - {cohort_start: '2026-05-11', period: 0, persons: 1}
"""

REVENUE = """\
insight: revenue
kind: trend
series:
  buyers: persons(purchase)
  revenue: sum(purchase.revenue)
formula: revenue / buyers
interval: day
range: within 3d
tests:
  - name: every day of the range, empty days as 0
    persons: [a, b]
    events:
      - {person_id: a, event: purchase, ts: '2026-05-30 10:00:00', revenue: 10}
      - {person_id: b, event: purchase, ts: '2026-05-30 11:00:00', revenue: 30.5}
      - {person_id: a, event: purchase, ts: '2026-06-01 11:59:59', revenue: 5}
      - {person_id: a, event: purchase, ts: '2026-06-01 12:00:00', revenue: 1000}   # at now(): not yet
    expect:
      - {interval_start: '2026-05-29', buyers: 0, revenue: 0}
      - {interval_start: '2026-05-30', buyers: 2, revenue: 40.5, formula: 20.25}
      - {interval_start: '2026-05-31', buyers: 0, revenue: 0}
      - {interval_start: ago(12h), buyers: 1, revenue: 5, partial: true}
"""

SPECS = {"buyers": BUYERS, "newbies": NEWBIES, "loyal": LOYAL, "outside_us": OUTSIDE_US, "signups": SIGNUPS, "revenue": REVENUE}

EXPECTED_STATUS = {
    ("buyers", "three purchases make a buyer, two do not"): "passed",
    ("buyers", "the window is [now - 30d, now)"): "passed",
    ("buyers", "fails on purpose"): "failed",
    ("loyal", "references buyers and newbies"): "passed",
    ("loyal", "fails because newbies is forgotten"): "failed",
    ("outside_us", "a missing country is not the US"): "passed",
    ("outside_us", "at least these, by match contains"): "passed",
    ("signups", "a week of sign-ups and who came back"): "passed",
    ("signups", "fails with a wrong share"): "failed",
    ("revenue", "every day of the range, empty days as 0"): "passed",
}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Diagnostics name files relative to the working directory: run in the projects' parent."""
    monkeypatch.chdir(tmp_path)


def line_of(text: str, needle: str, nth: int = 0) -> int:
    return [i for i, line in enumerate(text.splitlines(), 1) if needle in line][nth]


def write_project(root: Path, specs: dict[str, str] = SPECS, model: str = MODEL, files: dict[str, str] | None = None) -> Path:
    (root / "specs").mkdir(parents=True, exist_ok=True)
    (root / "segc.yml").write_text(model, encoding="utf-8")
    for name, text in specs.items():
        (root / "specs" / f"{name}.yml").write_text(text, encoding="utf-8")
    for rel, text in (files or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    os.chdir(root)  # undone by _in_tmp's monkeypatch
    return root


@pytest.fixture(params=["duckdb", "clickhouse", "postgres"])
def settings(request) -> dict:
    """How `segc test` reaches each engine: DuckDB in memory, chdb on the session's storage
    path (one per process), the session's PostgreSQL server."""
    if request.param == "duckdb":
        return {"dialect": "duckdb", "path": ":memory:"}
    if request.param == "clickhouse":
        return {"dialect": "clickhouse", "path": request.getfixturevalue("chdb_path")}
    return {"dialect": "postgres", "dsn": request.getfixturevalue("pg_dsn")}


def run(root: Path, settings: dict, as_of: dt.datetime = AS_OF, select: list[str] | None = None):
    result = api.validate(root)
    tests = [t for t in result.tests if select is None or t.definition in select]
    labels = {t.definition: api.step_labels(result, result.definitions[t.definition]) for t in tests if t.kind != "segment"}
    return run_tests(result, tests, [settings], as_of, labels)


def outcome(test_run, definition: str, name: str):
    return next(r for r in test_run.results if r.test.definition == definition and r.test.name == name)


# --- passing and failing tests on each engine -------------------------------------------------------


def test_passing_and_failing_tests(tmp_path, settings):
    root = write_project(tmp_path / "p")
    assert api.validate(root).diagnostics == []
    test_run = run(root, settings)
    got = {(r.test.definition, r.test.name): r.status for r in test_run.results}
    assert got == EXPECTED_STATUS, "\n\n".join("\n".join([r.test.title, *r.diff_lines()]) for r in test_run.results if not r.passed)
    assert test_run.failed and {r.dialect for r in test_run.results} == {settings["dialect"]}

    # the diffs of the failing ones
    buyers = outcome(test_run, "buyers", "fails on purpose")
    assert (buyers.missing, buyers.unexpected) == (["ann"], ["bob"])
    loyal = outcome(test_run, "loyal", "fails because newbies is forgotten")
    assert (loyal.missing, loyal.unexpected) == (["new_buyer"], [])
    signups = outcome(test_run, "signups", "fails with a wrong share")
    assert signups.changed == [({"cohort_start": dt.datetime(2026, 5, 18), "period": 0}, "share", 0.5, 1.0)]
    assert signups.missing == [{"cohort_start": dt.datetime(2026, 5, 11), "period": 0, "persons": 1}]
    assert signups.unexpected == []  # match: contains


def test_a_failing_tests_diff_reads_well(tmp_path):
    root = write_project(tmp_path / "p")
    test_run = run(root, {"dialect": "duckdb"})
    text = report(test_run, "text")
    assert re.search(r"^FAIL  specs/buyers\.yml:\d+: buyers: fails on purpose \[duckdb\]\n"
                     r"      missing members \(expected, not in the result\): ann\n"
                     r"      unexpected members \(in the result, not expected\): bob$", text, re.M), text
    block = text.split("signups: fails with a wrong share [duckdb]\n")[1].split("\n")[:2]
    assert block == ["      missing rows (expected, not in the result): {cohort_start: 2026-05-11, period: 0, persons: 1}",
                     "      row {cohort_start: 2026-05-18, period: 0}: share expected 0.5, got 1.0"]
    assert text.splitlines()[-1].startswith("7 passed, 3 failed (10 test runs on duckdb) in ")
    # the line of the test's name, in its file
    line = next(i for i, t in enumerate(BUYERS.splitlines(), 1) if "fails on purpose" in t)
    assert f"specs/buyers.yml:{line}: buyers: fails on purpose" in text


def test_an_unexpected_row_and_a_wrong_value_of_a_trend(tmp_path):
    wrong = REVENUE.replace("buyers: 2, revenue: 40.5, formula: 20.25", "buyers: 2, revenue: 40.5, formula: 20")
    wrong = wrong.replace("      - {interval_start: '2026-05-29', buyers: 0, revenue: 0}\n", "")
    root = write_project(tmp_path / "p", {"revenue": wrong})
    r = run(root, {"dialect": "duckdb"}).results[0]
    assert r.status == "failed"
    assert r.changed == [({"interval_start": dt.datetime(2026, 5, 30)}, "formula", 20, 20.25)]
    # exact: the result's rows nobody listed, on the columns the expected rows name
    assert r.unexpected == [{"interval_start": dt.datetime(2026, 5, 29), "buyers": 0, "revenue": 0.0, "formula": None, "partial": True}]


# --- what fixtures can say -----------------------------------------------------------------------------

JSON_MODEL = """\
name: j
model:
  persons:
    table: people
    key: id
    properties: {country: string, joined: timestamp, score: number, active: boolean}
    properties_json: props
  events:
    table: raw.activity
    person: who
    event: what
    timestamp: at
    properties: {amount: integer}
    properties_json: props
"""

JSON_SPEC = """\
segment: scorers
where: score > 1.5 and active and joined < ago(30d) and sum(buy.amount within 7d) >= 10 and country is null
tests:
  - name: numeric keys, properties read from a JSON column
    persons:
      - {id: 1, score: 2, active: true, joined: date('2026-01-01') + 12h}
      - {id: 2, score: 2, active: true, joined: ago(10d)}
      - {id: 3, score: 1.5, active: true, joined: '2026-01-01'}
      - {id: 4, score: 2, active: false, joined: '2026-01-01'}
      - {id: 5, score: 2, active: true, joined: '2026-01-01', country: FR}
      - 6
    events:
      - {who: 1, what: buy, at: ago(2d), amount: 4, repeat: 3, every: 1h}
      - {who: 2, what: buy, at: ago(2d), amount: 10}
      - {who: 3, what: buy, at: ago(2d), amount: 10}
      - {who: 4, what: buy, at: ago(2d), amount: 10}
      - {who: 5, what: buy, at: ago(2d), amount: 10}
      - {who: 6, what: buy, at: ago(2d), amount: 10}
    expect: [1]
"""


def test_json_properties_numeric_keys_and_qualified_tables(tmp_path, settings):
    root = write_project(tmp_path / "j", {"scorers": JSON_SPEC}, JSON_MODEL)
    result = api.validate(root)
    assert result.diagnostics == []
    (t,) = result.tests
    assert t.key_type == "integer"
    (r,) = run(root, settings).results
    assert r.status == "passed", r.diff_lines()


def test_relative_times_resolve_against_the_tests_as_of(tmp_path):
    spec = textwrap.dedent("""\
        segment: s
        where: performed(x within 1d)
        tests:
          - name: a
            as_of: 2026-03-01T10:00:00+02:00
            persons: [p]
            events:
              - {person_id: p, event: x, ts: -1h}
              - {person_id: p, event: x, ts: now() - 2h + 30m}
              - {person_id: p, event: x, ts: ago(1d)}
              - {person_id: p, event: x, ts: 1h + now()}
              - {person_id: p, event: x, ts: (now() - 1d)}
              - {person_id: p, event: x, ts: timestamp('2026-01-01 12:00:00') - 1w}
              - {person_id: p, event: x, ts: 2026-01-01 12:00:00}
              - {person_id: p, event: x, ts: '2026-01-01T12:00:00Z', repeat: 3, every: 1d}
            expect: [p]
        """)
    root = write_project(tmp_path / "r", {"s": spec})
    result = api.validate(root)
    assert result.diagnostics == []
    (t,) = result.tests
    assert t.as_of == dt.datetime(2026, 3, 1, 8, 0)
    from segc.testing import fixture_tables

    (_, _, persons), (_, _, events) = fixture_tables(result.project.model, t, t.as_of)
    assert persons == [("p", None, None, None, None, None)]
    assert [e[2] for e in events] == [
        dt.datetime(2026, 3, 1, 7, 0), dt.datetime(2026, 3, 1, 6, 30), dt.datetime(2026, 2, 28, 8, 0),
        dt.datetime(2026, 3, 1, 9, 0), dt.datetime(2026, 2, 28, 8, 0), dt.datetime(2025, 12, 25, 12, 0),
        dt.datetime(2026, 1, 1, 12, 0), dt.datetime(2026, 1, 1, 12, 0), dt.datetime(2026, 1, 2, 12, 0), dt.datetime(2026, 1, 3, 12, 0),
    ]


# --- mistakes in tests, located ---------------------------------------------------------------------

BAD = """\
segment: buyers
where: count(purchase within 30d) >= 3
tests:
  - name: mistakes
    as_of: soon
    persons:
      - {person_id: ann, contry: US, age: '30', plan: 3, vip: 1, signed_up_at: yesterday}
      - [nested]
    events:
      - {person_id: ann, event: purchase, ts: ago(30), revenue: x, country: US, repeat: 0}
      - {person_id: 7, event: purchase, ts: 1d, every: 1x, browser: null}
      - {person_id: ann, event: purchase, ts: ago(30d), repeets: 3}
    expect: [an, {person_id: ann}]
  - name: mistakes
    expect: []
"""


def _at(text: str, line_has: str, token: str) -> str:
    """'specs/bad.yml:L:C' of `token` on the first line holding `line_has`."""
    for i, line in enumerate(text.splitlines(), 1):
        if line_has in line:
            return f"specs/bad.yml:{i}:{line.index(token) + 1}"
    raise AssertionError(line_has)


def test_fixture_mistakes_are_reported_by_validate_at_their_place(tmp_path):
    root = write_project(tmp_path / "b", {"bad": BAD})
    p = subprocess.run([sys.executable, "-m", "segc", "validate", "--format", "json"], cwd=root, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    got = {(f"{d['path']}:{d['line']}:{d['col']}", d["code"], d["message"], d.get("hint")) for d in json.loads(p.stdout)["diagnostics"]}
    L = BAD
    expected = {
        (_at(L, "as_of: soon", "soon"), "SEG342", "'soon' is not a valid time", "as_of is an instant such as 2026-06-01T00:00:00Z"),
        (_at(L, "contry", "contry"), "SEG340", "unknown column 'contry' in a persons row", "did you mean 'country'?"),
        (_at(L, "contry", "'30'"), "SEG341", "'age' is an integer, but this is text ('30')", None),
        (_at(L, "contry", "3, vip"), "SEG341", "'plan' is text (string), but this is a number (3)", "write it in quotes: '3'"),
        (_at(L, "contry", "1, signed"), "SEG341", "'vip' is true or false (boolean), but this is a number (1)", None),
        (_at(L, "contry", "yesterday"), "SEG342", "'yesterday' is not a time", None),
        (_at(L, "[nested]", "[nested]"), "SEG105", "expected a mapping or a single value, got a list", None),
        (_at(L, "ago(30),", "ago(30)"), "SEG342", "'ago(30)' is not a time", None),
        (_at(L, "ago(30),", "x, country"), "SEG341", "'revenue' is a number, but this is text ('x')", None),
        (_at(L, "ago(30),", "country"), "SEG340", "unknown column 'country' in an events row",
         "'country' is a column of persons: write it in a row of persons:"),
        (_at(L, "ago(30),", "0}"), "SEG341", "repeat: is how many copies of the row to write, a whole number from 1 to 100,000", None),
        (_at(L, "person_id: 7", "7"), "SEG341", "person key 7 is a whole number, but the test's first key is text",
         "the keys of one test are all text or all whole numbers"),
        (_at(L, "person_id: 7", "1d,"), "SEG342", "'1d' is not a time", None),
        (_at(L, "person_id: 7", "1x"), "SEG203", "invalid duration '1x'", None),
        (_at(L, "repeets", "repeets"), "SEG340", "unknown column 'repeets' in an events row", "did you mean 'repeat'?"),
        (_at(L, "expect: [an", "an,"), "SEG344", "expected member 'an' is not a person of this test", "did you mean 'ann'?"),
        (_at(L, "expect: [an", "{person_id"), "SEG341", "a segment's test expects its members' keys, e.g. expect: [ann, bob]", None),
    }
    # messages checked, and hints but the long one of SEG342
    for where, code, message, hint in expected:
        match = [g for g in got if g[0] == where and g[1] == code]
        assert match, f"no {code} at {where}; got:\n" + "\n".join(map(str, sorted(got)))
        if message is not None:
            assert match[0][2] == message
        if hint is not None and code != "SEG342":
            assert match[0][3] == hint
    dup_line = [i for i, t in enumerate(L.splitlines(), 1) if "name: mistakes" in t][1]
    assert (f"specs/bad.yml:{dup_line}:11", "SEG345") in {(g[0], g[1]) for g in got}
    # the text form shows the line and a caret under the mistake
    p = subprocess.run([sys.executable, "-m", "segc", "validate"], cwd=root, capture_output=True, text=True, timeout=120)
    where = _at(L, "contry", "contry")
    assert f"{where}: SEG340 unknown column 'contry' in a persons row\n" in p.stdout
    caret = p.stdout.split(f"{where}: SEG340")[1].splitlines()[2]
    assert caret.strip() == "^~~~~~" and caret.index("^") - 2 == int(where.split(":")[2]) - 1


def test_a_test_with_mistakes_does_not_fail_its_definition_and_is_not_run(tmp_path):
    root = write_project(tmp_path / "b", {"bad": BAD})
    result = api.validate(root)
    assert "buyers" in result.definitions and "buyers" not in result.failed  # `segc run` still runs it
    test_run = run(root, {"dialect": "duckdb"})
    assert {r.status for r in test_run.results} == {"error"}
    assert test_run.results[0].message == "the test has errors (see above)"
    text = report(test_run, "text", test_run.sources)
    assert "SEG340 unknown column 'contry' in a persons row" in text and "ERROR specs/bad.yml:4: buyers: mistakes [duckdb]" in text


def test_a_test_of_a_definition_with_errors_is_an_error(tmp_path):
    root = write_project(tmp_path / "e", {"buyers": BUYERS.replace("count(purchase", "count(purchas e")})
    test_run = run(root, {"dialect": "duckdb"})
    assert {r.status for r in test_run.results} == {"error"}
    assert test_run.results[0].message == "buyers has errors: fix them first (segc validate)"


def test_expected_rows_that_do_not_fit_the_result(tmp_path):
    spec = SIGNUPS.replace("{cohort_start: '2026-05-18', period: 0, persons: 2, share: 1.0}",
                           "{cohort_start: '2026-05-18', period: zero, persns: 2, share: 1.0}")
    root = write_project(tmp_path / "c", {"signups": spec})
    r = outcome(run(root, {"dialect": "duckdb"}), "signups", "a week of sign-ups and who came back")
    assert r.status == "error"
    line = next(i for i, t in enumerate(spec.splitlines(), 1) if "persns" in t)
    text = spec.splitlines()[line - 1]
    assert [(d.code, d.span.line, d.span.col, d.message, d.hint) for d in r.diagnostics] == [
        ("SEG341", line, text.index("zero") + 1, "this column is an integer, but this is text ('zero')", None),
        ("SEG344", line, text.index("persns") + 1, "signups has no column 'persns'", "did you mean 'persons'?"),
    ]


def test_tests_of_partitions_and_of_unknown_definitions(tmp_path):
    files = {
        "tests/segc/typo.yml": "test: buyer\ncases:\n  - name: x\n    expect: []\n",
        "tests/segc/partition.yml": "test: both\ncases:\n  - name: x\n    expect: []\n",
        "tests/fixtures/other_tool.yml": "- not: a segc file\n  [broken yaml\n",  # no `test:` line: left alone
    }
    both = "partition: both\nsegments: [buyers, newbies]\ntests:\n  - name: x\n    expect: []\n"
    root = write_project(tmp_path / "t", {"buyers": NEWBIES.replace("newbies", "buyers"), "newbies": NEWBIES, "both": both}, files=files)
    result = api.validate(root)
    got = sorted((d.span.path, d.span.line, d.span.col, d.code, d.message, d.hint) for d in result.diagnostics)
    assert got == [
        ("specs/both.yml", 3, 1, "SEG343", "a partition has no tests of its own: test its segments", None),
        ("tests/segc/partition.yml", 1, 7, "SEG343", "'both' is a partition, which has no tests of its own: test its segments", None),
        ("tests/segc/typo.yml", 1, 7, "SEG343", "test: unknown definition 'buyer'", "did you mean 'buyers'?"),
    ]


# --- test files under tests/ ---------------------------------------------------------------------------

TEST_FILE = """\
# shared persons and events are in every case
test: buyers
as_of: 2026-06-01T12:00:00Z
persons: [ann, bob]
events:
  - {person_id: ann, event: purchase, ts: ago(1d), repeat: 2}
cases:
  - name: a third purchase makes ann a buyer
    events:
      - {person_id: ann, event: purchase, ts: ago(2d)}
    expect: [ann]
  - name: bob needs three of his own
    as_of: 2026-07-01T12:00:00Z       # ann's purchases are now 31 days old
    events:
      - {person_id: bob, event: purchase, ts: ago(1d), repeat: 3}
    expect: [bob]
  - name: nobody with two
    expect: []
"""


def test_test_files_share_rows_and_as_of(tmp_path, settings):
    root = write_project(tmp_path / "f", {"buyers": BUYERS.split("tests:")[0]}, files={"tests/buyers.yml": TEST_FILE})
    result = api.validate(root)
    assert result.diagnostics == [] and len(result.tests) == 3
    t = result.tests[0]
    assert (t.path, t.span.line, t.as_of) == ("tests/buyers.yml", 8, dt.datetime(2026, 6, 1, 12))
    test_run = run(root, settings, as_of=dt.datetime(2030, 1, 1))  # every case has its own as_of
    assert [r.status for r in test_run.results] == ["passed"] * 3, [r.diff_lines() for r in test_run.results]


def test_the_tests_folder_is_configurable(tmp_path):
    model = MODEL + "tests: [checks]\n"
    root = write_project(tmp_path / "g", {"buyers": BUYERS.split("tests:")[0]}, model, files={
        "checks/buyers.yml": TEST_FILE, "tests/ignored.yml": TEST_FILE.replace("test: buyers", "test: nothing")})
    result = api.validate(root)
    assert result.diagnostics == [] and {t.path for t in result.tests} == {"checks/buyers.yml"}


def test_test_files_and_tests_validate_against_the_json_schemas(tmp_path):
    test_schema = json.loads((SCHEMA_DIR / "segc-test.schema.json").read_text(encoding="utf-8"))
    spec_schema = json.loads((SCHEMA_DIR / "segc-spec.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(test_schema)
    jsonschema.validate(yaml.safe_load(TEST_FILE.replace("2026-06-01T12:00:00Z", "'2026-06-01T12:00:00Z'")
                                       .replace("2026-07-01T12:00:00Z", "'2026-07-01T12:00:00Z'")), test_schema)
    for text in SPECS.values():
        jsonschema.validate(yaml.safe_load(text), spec_schema)
    for f in (REPO / "tests").rglob("*.yml"):
        if re.search(rb"^test\s*:", f.read_bytes(), re.M):
            jsonschema.validate(yaml.safe_load(f.read_text(encoding="utf-8")), test_schema)
    for bad in ("cases: []\n", "test: x\ncases:\n  - expect: []\n", "test: x\ncases:\n  - name: n\n    expect: [a]\n    expcet: []\n",
                "test: x\ncases:\n  - name: n\n    expect: [a]\n    persons: [[a]]\n", "test: x\ncases:\n  - name: n\n    expect: [a]\n    match: some\n"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(yaml.safe_load(bad), test_schema)


# --- isolation -----------------------------------------------------------------------------------------


def _namespaces(settings: dict) -> set[str]:
    with connect(settings) as engine:
        if settings["dialect"] == "postgres":
            rows = engine.query("SELECT nspname FROM pg_namespace")
        elif settings["dialect"] == "clickhouse":
            rows = engine.query("SELECT name FROM system.databases")
        else:
            return set()
    return {r[0] for r in rows}


def test_fixtures_live_in_a_namespace_of_their_own(tmp_path, settings):
    """Real tables named like the model's are not read or touched, and the namespace the tests
    used is gone afterwards."""
    if settings["dialect"] == "duckdb":
        root = write_project(tmp_path / "p", files={"targets/local.yml": "dialect: duckdb\npath: real.duckdb\n"})
        test_run = api.test(root, ["buyers"], target="local", as_of=AS_OF)
        assert [r.status for r in test_run.results] == ["passed", "passed", "failed"]
        assert not (root / "real.duckdb").exists()  # in memory, never the target's file
        return
    real = {"postgres": {**settings, "schema": "analytics"}, "clickhouse": {**settings, "database": "analytics"}}[settings["dialect"]]
    rows = [("ann", "purchase", AS_OF - dt.timedelta(days=1))] * 5  # would make ann a buyer in every test
    with connect(real) as engine:
        engine.create_table("analytics.events", [("person_id", "string"), ("event", "string"), ("ts", "timestamp")], rows)
    before = _namespaces(settings)
    try:
        root = write_project(tmp_path / "p")
        test_run = run(root, settings, select=["buyers"])
        assert [r.status for r in test_run.results] == ["passed", "passed", "failed"]
        assert _namespaces(settings) == before
        with connect(real) as engine:
            assert engine.query('SELECT count(*) FROM "analytics"."events"') == [(5,)]
    finally:
        with connect(settings) as engine:
            kind = "SCHEMA" if settings["dialect"] == "postgres" else "DATABASE"
            target = exp.Table(db=exp.to_identifier("analytics")) if kind == "SCHEMA" else exp.Table(this=exp.to_identifier("analytics"))
            engine.execute(exp.Drop(tables=[target], kind=kind, exists=True, cascade=kind == "SCHEMA").sql(settings["dialect"]))


# --- the command ---------------------------------------------------------------------------------------


def segc(*args: str, cwd: Path, code: int, env: dict | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, "-m", "segc", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                       env={**os.environ, **(env or {})})
    assert "Traceback" not in p.stdout + p.stderr, p.stdout + p.stderr
    assert p.returncode == code, f"segc {' '.join(args)} exited {p.returncode}, not {code}:\n{p.stdout}\n{p.stderr}"
    return p


@pytest.fixture
def project(tmp_path) -> Path:
    return write_project(tmp_path / "p", files={"targets/warehouse.yml": "dialect: postgres\ndsn: ${SEGC_PG_DSN}\nschema: segments\n"})


def test_command_exit_codes_and_selection(project):
    p = segc("test", "--as-of", "2026-06-01T12:00:00Z", cwd=project, code=1)
    assert "FAIL  specs/buyers.yml:" in p.stdout and "unexpected members (in the result, not expected): bob" in p.stdout
    assert p.stdout.rstrip().splitlines()[-1].startswith("7 passed, 3 failed (10 test runs on duckdb)")
    p = segc("test", "-s", "outside_us revenue", "--as-of", "2026-06-01T12:00:00Z", cwd=project, code=0)
    assert p.stdout.count("PASS  ") == 3
    p = segc("test", "-s", "+loyal", "-x", "loyal", "--as-of", "2026-06-01T12:00:00Z", cwd=project, code=1)
    assert {line.split(": ")[1] for line in p.stdout.splitlines() if line.startswith(("PASS", "FAIL"))} == {"buyers"}
    segc("test", "-s", "nosuch", cwd=project, code=1)
    p = segc("test", "-s", "newbies", cwd=project, code=0)  # a definition without tests
    assert p.stdout.startswith("no tests")
    segc("test", "--dialect", "oracle", cwd=project, code=2)


def test_command_on_all_three_engines(project, pg_dsn):
    p = segc("test", "--dialect", "all", "-s", "buyers", "--as-of", "2026-06-01T12:00:00Z", cwd=project, code=1,
             env={"SEGC_PG_DSN": pg_dsn})
    for dialect in ("duckdb", "postgres", "clickhouse"):
        assert f"PASS  specs/buyers.yml:{line_of(BUYERS, 'three purchases')}: buyers: three purchases make a buyer, two do not [{dialect}]" in p.stdout
        assert f"FAIL  specs/buyers.yml:{line_of(BUYERS, 'fails on purpose')}: buyers: fails on purpose [{dialect}]" in p.stdout
    assert "3 passed" not in p.stdout and "6 passed, 3 failed (9 test runs on duckdb, postgres, clickhouse)" in p.stdout
    # --target picks the engine of its dialect
    p = segc("test", "--target", "warehouse", "-s", "outside_us", cwd=project, code=0, env={"SEGC_PG_DSN": pg_dsn})
    assert "[postgres]" in p.stdout and "[duckdb]" not in p.stdout


def test_command_without_a_postgresql_target(tmp_path):
    root = write_project(tmp_path / "p")
    p = segc("test", "--dialect", "postgres", cwd=root, code=1)
    assert "Error: SEG510 no PostgreSQL to run the tests on" in p.stderr
    root2 = write_project(tmp_path / "q", files={"targets/warehouse.yml": "dialect: postgres\ndsn: ${SEGC_NO_SUCH_VAR}\n"})
    p = segc("test", "--dialect", "all", cwd=root2, code=1)
    assert "SEG108 environment variable SEGC_NO_SUCH_VAR is not set" in p.stderr


def test_command_output_formats(project):
    args = ("test", "--as-of", "2026-06-01T12:00:00Z", "-s", "buyers signups")
    data = json.loads(segc(*args, "--format", "json", cwd=project, code=1).stdout)
    assert (data["passed"], data["failed"], data["error"], data["dialects"]) == (3, 2, 0, ["duckdb"])
    failing = [t for t in data["tests"] if t["status"] == "failed"]
    assert failing[0] | {"seconds": 0} == {"definition": "buyers", "kind": "segment", "name": "fails on purpose", "dialect": "duckdb",
                                           "status": "failed", "path": "specs/buyers.yml", "line": line_of(BUYERS, "fails on purpose"), "col": 11, "seconds": 0,
                                           "missing": ["ann"], "unexpected": ["bob"]}
    assert failing[1]["changed"] == [{"row": {"cohort_start": "2026-05-18T00:00:00Z", "period": 0}, "column": "share",
                                      "expected": 0.5, "got": 1.0}]

    doc = parse_junit(segc(*args, "--format", "junit", cwd=project, code=1).stdout)
    suite = doc.find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("5", "2")
    case = suite.find("testcase[@name='fails on purpose [duckdb]']")
    assert case.get("classname") == "segment.buyers"
    assert "missing members (expected, not in the result): ann" in case.find("failure").text

    log = json.loads(segc(*args, "--format", "sarif", cwd=project, code=1).stdout)
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results] == [
        ("SEG520", line_of(BUYERS, "fails on purpose")), ("SEG520", line_of(SIGNUPS, "fails with a wrong share"))]

    lines = segc(*args, "--format", "github", cwd=project, code=1).stdout.splitlines()
    assert lines[0].startswith(f"::error file=specs/buyers.yml,line={line_of(BUYERS, 'fails on purpose')},col=11,title=segc test buyers%3A fails on purpose [duckdb]::missing members")
    assert lines[-1] == "3 passed, 2 failed, 0 errors"


def test_command_reports_mistakes_in_tests(tmp_path):
    root = write_project(tmp_path / "b", {"bad": BAD})
    p = segc("test", cwd=root, code=1)
    assert p.stdout.startswith(f"{_at(BAD, 'as_of: soon', 'soon')}: SEG342 'soon' is not a valid time\n")
    assert "ERROR specs/bad.yml:4: buyers: mistakes [duckdb]\n      the test has errors (see above)" in p.stdout
    doc = parse_junit(segc("test", "--format", "junit", cwd=root, code=1).stdout)
    assert "SEG340 unknown column 'contry'" in doc.find("testsuite/testcase/failure").text


# --- the demo project ----------------------------------------------------------------------------------


def test_the_demo_projects_tests_pass(settings):
    result = api.validate(REPO)
    assert result.diagnostics == []
    kinds = {t.kind for t in result.tests}
    assert kinds == {"segment", "cohort", "insight"} and len(result.tests) >= 8
    assert any(Path(t.path).resolve().is_relative_to(REPO / "tests") for t in result.tests)
    assert any(any(r.repeat > 1 for r in t.events) for t in result.tests)
    labels = {t.definition: api.step_labels(result, result.definitions[t.definition]) for t in result.tests if t.kind != "segment"}
    test_run = run_tests(result, result.tests, [settings], dt.datetime(2030, 1, 1), labels)
    bad = [r for r in test_run.results if not r.passed]
    assert not bad, "\n".join("\n".join([r.test.title, *r.diff_lines()]) for r in bad)


def test_the_readme_shows_a_test_that_passes(tmp_path):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Unit tests")[1].split("\n## ")[0]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    body = yaml.safe_load(block)
    name = body["segment"]
    assert body["tests"] and any((REPO / "specs").rglob(f"{name}.yml"))
    root = write_project(tmp_path / "readme", {name: block}, (REPO / "segc.yml").read_text(encoding="utf-8"))
    test_run = run(root, {"dialect": "duckdb"})
    assert test_run.results and all(r.passed for r in test_run.results), [r.diff_lines() for r in test_run.results]
    assert "segc test" in section
