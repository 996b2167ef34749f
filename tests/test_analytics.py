"""The issue "Cohorts and insights: retention, trends, funnels, lifecycle and stickiness on all
three engines", checked by execution:

- every kind on a tiny hand-made dataset (below: each person and event says what it is for),
  run on DuckDB, ClickHouse (chdb) and PostgreSQL, gives the table worked out here by hand;
  the same data is loaded twice, flat columns and properties in a JSON column;
- the cohorts and insights of the demo project give the same rows on the three engines on
  generated demo data, with --as-of and with the engines' own clocks;
- each mistake a user can make in these definitions is reported at its file:line:col;
- `segc compile` writes their SQL, `segc run` prints their tables (text, CSV, JSON) and the
  HTML report draws them, as headless Chromium renders it (the DOM after layout, measured, and
  a screenshot).

AS_OF is Wednesday 2026-03-18 12:00 UTC. Mondays: Feb 23, Mar 2, Mar 9, Mar 16.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from segc import api
from segc.cli import main
from segc.compiler import to_sql
from segc.compiler.analytics import analytics_query
from segc.runner.analytics import render_csv, render_html, render_json, render_text, result_table, run_analytics

from fixtures.harness import DIALECTS, load

pytestmark = pytest.mark.engines

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.datetime(2026, 3, 18, 12, 0, 0)
T = dt.datetime
F, Tr = False, True

# --- the data ----------------------------------------------------------------------------------------
PERSONS = [
    # pid, country, plan, age, signed_up_at
    ("a", "US", "pro", 30, T(2026, 1, 31, 23, 59, 59)),  # monthly cohort: January
    ("b", "CA", "free", 40, T(2026, 2, 1)),  # monthly cohort: February
    ("c", "US", "free", None, None),  # no entry in the monthly cohort
    ("d", None, "pro", 25, T(2026, 3, 20)),  # entry after now: no cohort
    ("e", "FR", None, 50, None),
    ("g", "DE", "free", 20, None),  # no events at all
]


def _ev(pid, event, ts, revenue=None, browser=None):
    return (pid, event, ts, revenue, browser)


EVENTS = [
    # trends, day by day in `within 3d` = [Mar 15 12:00, Mar 18 12:00)
    _ev("a", "view", T(2026, 3, 15, 11), browser="Chrome"),  # before the range
    _ev("a", "view", T(2026, 3, 15, 13), browser="Chrome"),
    _ev("a", "view", T(2026, 3, 15, 14), browser="Safari"),
    _ev("b", "view", T(2026, 3, 15, 20), browser="Chrome"),
    _ev("a", "buy", T(2026, 3, 15, 21), revenue=10.0),
    _ev("b", "buy", T(2026, 3, 15, 22), revenue=30.0),
    _ev("c", "buy", T(2026, 3, 15, 23)),  # no revenue: skipped by sum, avg, min, max
    _ev("c", "view", T(2026, 3, 17, 9)),  # no browser: the null bucket
    _ev("c", "buy", T(2026, 3, 17, 10), revenue=5.0),
    _ev("d", "view", T(2026, 3, 18, 11, 59, 59), browser="Chrome"),
    _ev("d", "view", AS_OF, browser="Chrome"),  # at now(): does not exist
    _ev("zz", "view", T(2026, 3, 17, 9), browser="Chrome"),  # not a person: ignored
    # weeks (ISO, Monday) and months
    _ev("a", "visit", T(2026, 3, 8, 23, 59, 59)),  # Sunday: week of Mar 2
    _ev("a", "visit", T(2026, 3, 9)),  # Monday: week of Mar 9
    _ev("b", "visit", T(2026, 3, 1, 23, 59, 59)),  # before the weekly range, in March
    _ev("c", "visit", T(2026, 3, 16)),  # at the weekly range's end, in March
    _ev("b", "visit", T(2026, 1, 31, 23, 59, 59)),  # January
    _ev("a", "visit", T(2026, 2, 1)),  # February
    # funnel [view, cart, buy where revenue > 0], window 1h, range [Mar 10, Mar 12)
    _ev("a", "view", T(2026, 3, 10, 10)),
    _ev("a", "cart", T(2026, 3, 10, 10, 30)),
    _ev("a", "buy", T(2026, 3, 10, 11), revenue=5.0),  # exactly 1h after step 1: converts
    _ev("b", "view", T(2026, 3, 10, 10)),
    _ev("b", "cart", T(2026, 3, 10, 10)),  # same time as the view: not a later step
    _ev("b", "buy", T(2026, 3, 10, 10, 10), revenue=5.0),
    _ev("c", "view", T(2026, 3, 9, 23)),  # before the range: starts no funnel
    _ev("c", "cart", T(2026, 3, 10, 0, 10)),
    _ev("c", "view", T(2026, 3, 11, 10)),
    _ev("c", "cart", T(2026, 3, 11, 11, 0, 1)),  # 1h and 1s after this start's view
    _ev("c", "view", T(2026, 3, 11, 12)),  # a later start converts to step 2 …
    _ev("c", "cart", T(2026, 3, 11, 12, 30)),
    _ev("c", "buy", T(2026, 3, 11, 12, 45), revenue=0.0),  # … but not to step 3 (revenue 0)
    _ev("d", "view", T(2026, 3, 11, 23, 30)),
    _ev("d", "cart", T(2026, 3, 12, 0, 10)),  # later steps may fall after the range
    _ev("d", "buy", T(2026, 3, 12, 0, 20), revenue=9.0),
    # lifecycle of `login` by week over [Mar 2, Mar 16) (previous week: Feb 23)
    _ev("a", "login", T(2026, 2, 24)), _ev("a", "login", T(2026, 3, 3)), _ev("a", "login", T(2026, 3, 10)),
    _ev("b", "login", T(2026, 2, 10)), _ev("b", "login", T(2026, 3, 4)),
    _ev("c", "login", T(2026, 3, 5)), _ev("c", "login", T(2026, 3, 12)),
    _ev("d", "login", T(2026, 2, 25)), _ev("d", "login", T(2026, 3, 16)),
    _ev("e", "login", T(2026, 3, 11)),
    _ev("zz", "login", T(2026, 3, 3)),
    # stickiness of `open` by day over [Mar 9, Mar 13)
    _ev("a", "open", T(2026, 3, 10)), _ev("a", "open", T(2026, 3, 11, 9)), _ev("a", "open", T(2026, 3, 11, 10)),
    *[_ev("b", "open", T(2026, 3, d, 8)) for d in (9, 10, 11, 12)],
    _ev("c", "open", T(2026, 3, 12, 23, 59, 59)),
    _ev("d", "open", T(2026, 3, 8, 23, 59, 59)), _ev("d", "open", T(2026, 3, 13)),  # both outside
    _ev("e", "open", T(2026, 3, 12)),
    # cohorts: sign-ups and plays
    _ev("a", "signup", T(2026, 2, 24)), _ev("b", "signup", T(2026, 2, 26)), _ev("c", "signup", T(2026, 3, 3)),
    _ev("d", "signup", T(2026, 3, 17)),
    _ev("a", "play", T(2026, 2, 25, 1)), _ev("a", "play", T(2026, 2, 25, 2)), _ev("a", "play", T(2026, 2, 26)),
    _ev("a", "play", T(2026, 3, 2)),  # weekly period 1 starts here (inclusive)
    _ev("a", "play", T(2026, 3, 15, 23, 59, 59)),  # last instant of weekly period 2
    _ev("a", "play", T(2026, 3, 16)),  # not period 2: periods are half-open
    _ev("b", "play", T(2026, 2, 27)),  # period 0 does not count as returning
    _ev("c", "play", T(2026, 3, 9, 12)), _ev("c", "play", T(2026, 3, 18, 11)),
    _ev("d", "play", T(2026, 3, 18, 13)),  # after now
]

PERSON_PROPS = {"country": "string", "plan": "string", "age": "integer", "signed_up_at": "timestamp"}
EVENT_PROPS = {"revenue": "number", "$browser": "string"}
PERSON_COLUMNS = [("pid", "string"), *PERSON_PROPS.items()]
EVENT_COLUMNS = [("pid", "string"), ("event", "string"), ("ts", "timestamp"), *EVENT_PROPS.items()]


def _json(names, values):
    out = {}
    for n, v in zip(names, values):
        if v is not None:
            out[n] = v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, dt.datetime) else v
    return json.dumps(out)


def layouts(ns: str) -> dict:
    flat = {
        "tables": [(f"an_persons_{ns}", PERSON_COLUMNS, PERSONS), (f"an_events_{ns}", EVENT_COLUMNS, EVENTS)],
        "model": {"persons": {"table": f"an_persons_{ns}", "key": "pid", "properties": PERSON_PROPS},
                  "events": {"table": f"an_events_{ns}", "person": "pid", "event": "event", "timestamp": "ts", "properties": EVENT_PROPS}},
    }
    json_persons = [(p[0], _json(PERSON_PROPS, p[1:])) for p in PERSONS]
    json_events = [(e[0], e[1], e[2], _json(EVENT_PROPS, e[3:])) for e in EVENTS]
    js = {
        "tables": [(f"an_pj_{ns}", [("pid", "string"), ("props", "json")], json_persons),
                   (f"an_ej_{ns}", [("pid", "string"), ("event", "string"), ("ts", "timestamp"), ("props", "json")], json_events)],
        "model": {"persons": {"table": f"an_pj_{ns}", "key": "pid", "properties": PERSON_PROPS, "properties_json": "props"},
                  "events": {"table": f"an_ej_{ns}", "person": "pid", "event": "event", "timestamp": "ts", "properties": EVENT_PROPS,
                             "properties_json": "props"}},
    }
    return {"flat": flat, "json": js}


# --- the definitions, and their tables worked out by hand ------------------------------------------------
SEGMENTS = {
    "us": "country = 'US'",  # a, c
    "pro": "plan = 'pro'",  # a, d
    "nobody": "country = 'XX'",
}

DEFINITIONS: dict[str, dict] = {
    "t_daily": {"insight": "t_daily", "kind": "trend", "interval": "day", "range": "within 3d",
                "series": {"views": "count(view)", "viewers": "persons(view)", "revenue": "sum(buy.revenue)",
                           "avg_rev": "avg(buy.revenue)", "min_rev": "min(buy.revenue)", "max_rev": "max(buy.revenue)"},
                "formula": "revenue / viewers"},
    "t_country": {"insight": "t_country", "kind": "trend", "interval": "day", "range": "within 3d",
                  "series": {"views": "count(view)", "viewers": "persons(view)"}, "breakdown": "country"},
    "t_browser": {"insight": "t_browser", "kind": "trend", "interval": "day", "range": "within 3d",
                  "series": {"views": "count(view)", "viewers": "persons(view)"}, "breakdown": "event.$browser"},
    "t_segments": {"insight": "t_segments", "kind": "trend", "interval": "day", "range": "within 3d",
                   "series": {"views": "count(view)"}, "breakdown": {"segments": ["us", "pro", "nobody"]}},
    "t_filtered": {"insight": "t_filtered", "kind": "trend", "interval": "day", "range": "within 3d",
                   "series": {"views": "count(view where person.age >= 25)", "big": "count(buy where revenue > 20)"},
                   "formula": "-big * 2 + views / 2", "segment": "pro"},
    "t_weekly": {"insight": "t_weekly", "kind": "trend", "interval": "week", "range": "between date('2026-03-02') and date('2026-03-16')",
                 "series": {"visits": "count(visit)"}},
    "t_monthly": {"insight": "t_monthly", "kind": "trend", "interval": "month", "range": "between date('2026-01-01') and date('2026-04-01')",
                  "series": {"visits": "count(visit)", "visitors": "persons(visit)"}},
    "f_checkout": {"insight": "f_checkout", "kind": "funnel", "steps": ["view", "cart", "buy where revenue > 0"], "window": "1h",
                   "range": "between date('2026-03-10') and date('2026-03-12')"},
    "f_plan": {"insight": "f_plan", "kind": "funnel", "steps": ["view", "cart", "buy where revenue > 0"], "window": "1h",
               "range": "between date('2026-03-10') and date('2026-03-12')", "breakdown": "plan"},
    "f_segments": {"insight": "f_segments", "kind": "funnel", "steps": ["view", "cart", "buy where revenue > 0"], "window": "1h",
                   "range": "between date('2026-03-10') and date('2026-03-12')", "breakdown": {"segments": ["us", "nobody"]}},
    "l_login": {"insight": "l_login", "kind": "lifecycle", "event": "login", "interval": "week",
                "range": "between date('2026-03-02') and date('2026-03-16')"},
    "l_plan": {"insight": "l_plan", "kind": "lifecycle", "event": "login", "interval": "week",
               "range": "between date('2026-03-02') and date('2026-03-16')", "breakdown": "plan"},
    "s_open": {"insight": "s_open", "kind": "stickiness", "event": "open", "interval": "day",
               "range": "between date('2026-03-09') and date('2026-03-13')"},
    "s_filtered": {"insight": "s_filtered", "kind": "stickiness", "event": "open", "interval": "day",
                   "range": "between date('2026-03-09') and date('2026-03-13')", "segment": "us", "breakdown": "plan"},
    "c_weekly": {"cohort": "c_weekly", "entry": "first_time(signup)", "period": "week", "periods": 2, "returning": "performed(play)"},
    "c_daily": {"cohort": "c_daily", "entry": "first_time(signup)", "period": "day", "periods": 3,
                "returning": "count(play) >= 2 or segment(nobody)", "entries": "between date('2026-02-24') and date('2026-03-03')",
                "segment": "pro"},
    "c_monthly": {"cohort": "c_monthly", "entry": "signed_up_at", "period": "month", "periods": 2, "returning": "performed(play)"},
}

M15, M16, M17, M18 = T(2026, 3, 15), T(2026, 3, 16), T(2026, 3, 17), T(2026, 3, 18)
DAYS = (M15, M16, M17, M18)
DAY_PARTIAL = (Tr, F, F, Tr)  # Mar 15 starts before the range, Mar 18 ends after now


def _days(values_by_day, partial=DAY_PARTIAL):
    return [(d, *v, p) for d, v, p in zip(DAYS, values_by_day, partial)]


def _bd(group, rows):
    return [(group, *r) for r in rows]


EXPECTED: dict[str, list[tuple]] = {
    # interval_start, views, viewers, revenue, avg_rev, min_rev, max_rev, formula (revenue / viewers), partial
    "t_daily": _days([(3, 2, 40.0, 20.0, 10.0, 30.0, 20.0), (0, 0, 0.0, None, None, None, None),
                      (1, 1, 5.0, 5.0, 5.0, 5.0, 5.0), (1, 1, 0.0, None, None, None, 0.0)]),
    # breakdown, interval_start, views, viewers, partial: values in order, the null bucket last
    "t_country": _bd("CA", _days([(1, 1), (0, 0), (0, 0), (0, 0)])) + _bd("US", _days([(2, 1), (0, 0), (1, 1), (0, 0)]))
    + _bd(None, _days([(0, 0), (0, 0), (0, 0), (1, 1)])),
    "t_browser": _bd("Chrome", _days([(2, 2), (0, 0), (0, 0), (1, 1)])) + _bd("Safari", _days([(1, 1), (0, 0), (0, 0), (0, 0)]))
    + _bd(None, _days([(0, 0), (0, 0), (1, 1), (0, 0)])),
    # listed segments in their order (every one, even empty), then persons in none of them
    "t_segments": _bd("us", _days([(2,), (0,), (1,), (0,)])) + _bd("pro", _days([(2,), (0,), (0,), (1,)]))
    + _bd("nobody", _days([(0,), (0,), (0,), (0,)])) + _bd(None, _days([(1,), (0,), (0,), (0,)])),
    # pro persons a (age 30) and d (age 25): views, big buys (b's 30 is not pro), formula -big*2 + views/2
    "t_filtered": _days([(2, 0, 1.0), (0, 0, 0.0), (0, 0, 0.0), (1, 0, 0.5)]),
    "t_weekly": [(T(2026, 3, 2), 1, F), (T(2026, 3, 9), 1, F)],
    "t_monthly": [(T(2026, 1, 1), 1, 1, F), (T(2026, 2, 1), 1, 1, F), (T(2026, 3, 1), 4, 3, Tr)],
    # step, event, persons, conversion from previous, from first
    "f_checkout": [(1, "view", 4, 1.0, 1.0), (2, "cart", 3, 0.75, 0.75), (3, "buy where revenue > 0", 2, 2 / 3, 0.5)],
    "f_plan": [("free", 1, "view", 2, 1.0, 1.0), ("free", 2, "cart", 1, 0.5, 0.5), ("free", 3, "buy where revenue > 0", 0, 0.0, 0.0),
               ("pro", 1, "view", 2, 1.0, 1.0), ("pro", 2, "cart", 2, 1.0, 1.0), ("pro", 3, "buy where revenue > 0", 2, 1.0, 1.0)],
    "f_segments": [("us", 1, "view", 2, 1.0, 1.0), ("us", 2, "cart", 2, 1.0, 1.0), ("us", 3, "buy where revenue > 0", 1, 0.5, 0.5),
                   ("nobody", 1, "view", 0, None, None), ("nobody", 2, "cart", 0, None, None), ("nobody", 3, "buy where revenue > 0", 0, None, None),
                   (None, 1, "view", 2, 1.0, 1.0), (None, 2, "cart", 1, 0.5, 0.5), (None, 3, "buy where revenue > 0", 1, 1.0, 0.5)],
    # interval_start, new, returning, resurrecting, dormant (negative), partial
    "l_login": [(T(2026, 3, 2), 1, 1, 1, -1, F), (T(2026, 3, 9), 1, 2, 0, -1, F)],
    "l_plan": [("free", T(2026, 3, 2), 1, 0, 1, 0, F), ("free", T(2026, 3, 9), 0, 1, 0, -1, F),
               ("pro", T(2026, 3, 2), 0, 1, 0, -1, F), ("pro", T(2026, 3, 9), 0, 1, 0, 0, F),
               (None, T(2026, 3, 2), 0, 0, 0, 0, F), (None, T(2026, 3, 9), 1, 0, 0, 0, F)],
    # active_intervals, persons (from 1 to the number of days in the range)
    "s_open": [(1, 2), (2, 1), (3, 0), (4, 1)],
    "s_filtered": [("free", 1, 1), ("free", 2, 0), ("free", 3, 0), ("free", 4, 0),
                   ("pro", 1, 0), ("pro", 2, 1), ("pro", 3, 0), ("pro", 4, 0)],
    # cohort_start, period, persons, share, partial
    "c_weekly": [(T(2026, 2, 23), 0, 2, 1.0, F), (T(2026, 2, 23), 1, 1, 0.5, F), (T(2026, 2, 23), 2, 1, 0.5, F),
                 (T(2026, 3, 2), 0, 1, 1.0, F), (T(2026, 3, 2), 1, 1, 1.0, F), (T(2026, 3, 2), 2, 1, 1.0, Tr),
                 (T(2026, 3, 16), 0, 1, 1.0, Tr)],
    "c_daily": [(T(2026, 2, 24), 0, 1, 1.0, F), (T(2026, 2, 24), 1, 1, 1.0, F), (T(2026, 2, 24), 2, 0, 0.0, F), (T(2026, 2, 24), 3, 0, 0.0, F)],
    "c_monthly": [(T(2026, 1, 1), 0, 1, 1.0, F), (T(2026, 1, 1), 1, 1, 1.0, F), (T(2026, 1, 1), 2, 1, 1.0, Tr),
                  (T(2026, 2, 1), 0, 1, 1.0, F), (T(2026, 2, 1), 1, 0, 0.0, Tr)],
}

COLUMNS = {
    "t_daily": ["interval_start", "views", "viewers", "revenue", "avg_rev", "min_rev", "max_rev", "formula", "partial"],
    "t_filtered": ["interval_start", "views", "big", "formula", "partial"],
    "f_checkout": ["step", "event", "persons", "conversion_from_previous", "conversion_from_first"],
    "l_login": ["interval_start", "new", "returning", "resurrecting", "dormant", "partial"],
    "s_open": ["active_intervals", "persons"],
    "c_weekly": ["cohort_start", "period", "persons", "share", "partial"],
}


def write_project(root: Path, model: dict, definitions: dict, extra_files: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "segc.yml").write_text(yaml.safe_dump({"name": "analytics", "model": model, "default_target": "local"}, sort_keys=False))
    (root / "specs").mkdir(exist_ok=True)
    for name, where in SEGMENTS.items():
        (root / "specs" / f"{name}.yml").write_text(yaml.safe_dump({"segment": name, "where": where}, sort_keys=False))
    for name, body in definitions.items():
        (root / "specs" / f"{name}.yml").write_text(yaml.safe_dump(body, sort_keys=False, allow_unicode=True))
    for name, text in (extra_files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture(scope="module")
def fixture_projects(shared_engines, tmp_path_factory):
    """Both layouts loaded into every engine; their projects validated."""
    ns = uuid.uuid4().hex[:8]
    out = {}
    for key, layout in layouts(ns).items():
        load(shared_engines, layout["tables"])
        result = api.validate(write_project(tmp_path_factory.mktemp(f"analytics_{key}"), layout["model"], DEFINITIONS))
        assert result.ok, "\n".join(d.headline() for d in result.errors)
        out[key] = result
    return out


def _close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b and type(a) is type(b)


def _same_rows(got: list[tuple], expected: list[tuple]) -> bool:
    return len(got) == len(expected) and all(len(g) == len(e) and all(_close(x, y) for x, y in zip(g, e)) for g, e in zip(got, expected))


def _run(engine, dialect, result, name, as_of=AS_OF):
    d = result.definitions[name]
    q = analytics_query(result.project.model, result.segments(), d, dialect, as_of, api.step_labels(result, d))
    sql = to_sql(q.select, dialect)
    return result_table(q, engine.query(sql), d), sql


# --- each kind, by hand --------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["flat", "json"])
@pytest.mark.parametrize("name", list(EXPECTED))
def test_hand_computed_tables(shared_engines, fixture_projects, layout, name):
    result = fixture_projects[layout]
    failures = []
    for dialect in DIALECTS:
        table, sql = _run(shared_engines[dialect], dialect, result, name)
        if name in COLUMNS:
            assert table.names == COLUMNS[name], table.names
        if not _same_rows(table.rows, EXPECTED[name]):
            failures.append(f"--- {dialect}: got\n" + "\n".join(map(repr, table.rows)) + f"\n--- SQL:\n{sql}")
    assert not failures, f"{name} ({layout}) differs from the table worked out by hand; expected\n" + "\n".join(map(repr, EXPECTED[name])) + "\n" + "\n".join(failures)


def test_result_types_are_the_same_on_every_engine(shared_engines, fixture_projects):
    """ClickHouse UInt64 / UInt8 / Date and PostgreSQL Decimal come back as int / bool / datetime / float."""
    result = fixture_projects["flat"]
    for name in ("t_daily", "c_weekly", "f_checkout"):
        typed = {}
        for dialect in DIALECTS:
            table, _ = _run(shared_engines[dialect], dialect, result, name)
            typed[dialect] = [tuple(type(v).__name__ for v in r) for r in table.rows]
        assert typed["duckdb"] == typed["clickhouse"] == typed["postgres"], (name, typed)


def test_without_as_of_the_engines_clock_is_now(shared_engines, fixture_projects):
    """Without --as-of, now() is each engine's clock: on this data (all before today) every
    engine gives the same table; the trend's last interval ends after now and is partial."""
    result = fixture_projects["flat"]
    for name in ("t_monthly", "c_weekly", "s_open", "l_login", "f_checkout"):
        tables = {d: _run(shared_engines[d], d, result, name, as_of=None)[0].rows for d in DIALECTS}
        assert tables["duckdb"] == tables["clickhouse"] == tables["postgres"], (name, tables)
    rows = _run(shared_engines["duckdb"], "duckdb", result, "t_monthly", as_of=None)[0].rows
    assert rows[:2] == [(T(2026, 1, 1), 1, 1, F), (T(2026, 2, 1), 1, 1, F)]


# --- the demo project on generated data -------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(shared_engines):
    from segc import demo_data

    result = api.validate(ROOT)
    assert result.ok, "\n".join(d.headline() for d in result.errors)
    model = result.project.model
    persons, events, pcols, ecols = demo_data.generate(persons=300, events_target=20_000)
    load(shared_engines, [(model.persons.table, pcols, persons), (model.events.table, ecols, events)])
    return result, demo_data.DEMO_AS_OF


@pytest.mark.parametrize("as_of", ["demo", "clock"])
def test_demo_cohorts_and_insights_agree_on_all_engines(shared_engines, demo, as_of):
    result, demo_as_of = demo
    when = demo_as_of if as_of == "demo" else None
    definitions = [d for d in result.definitions.values() if d.kind in ("cohort", "insight")]
    kinds = {getattr(d, "insight_kind", "cohort") for d in definitions}
    assert kinds == {"cohort", "trend", "funnel", "lifecycle", "stickiness"}
    labels = {d.name: api.step_labels(result, d) for d in definitions}

    def run(dialect):
        return run_analytics(shared_engines[dialect], result.project.model, result.segments(), definitions, when, labels)

    for _ in range(3):
        tables = {d: run(d) for d in DIALECTS}
        # with the engines' own clocks, now() moves between the queries: an event can cross
        # the start of a window in between. Compare only when DuckDB gives the same rows
        # before and after the other engines ran (nothing crossed meanwhile).
        if when is not None or all(_same_rows(a.rows, b.rows) for a, b in zip(tables["duckdb"], run("duckdb"))):
            break
    failures = []
    for i, table in enumerate(tables["duckdb"]):
        if when is not None:
            assert table.rows, f"{table.name} is empty on the demo data"
        for dialect in ("clickhouse", "postgres"):
            other = tables[dialect][i]
            if not _same_rows(other.rows, table.rows):
                diff = [(a, b) for a, b in zip(table.rows, other.rows) if not _same_rows([a], [b])]
                failures.append(f"{table.name}: duckdb and {dialect} differ ({len(table.rows)} vs {len(other.rows)} rows): {diff[:3]}")
    assert not failures, "\n".join(failures)
    if when is not None:
        by_name = {t.name: t for t in tables["postgres"]}
        funnel = by_name["checkout"].records()
        assert all(r["persons"] >= n["persons"] for r, n in zip(funnel, funnel[1:]) if r["breakdown"] == n["breakdown"])
        cohort = by_name["weekly_signups"].records()
        assert all(r["share"] == 1.0 for r in cohort if r["period"] == 0)
        assert any(r["partial"] for r in cohort) and not all(r["partial"] for r in cohort)


# --- mistakes, each at its place -----------------------------------------------------------------------------
BAD = {
    # file text, then (code, line, col) of each expected diagnostic
    "unknown_series.yml": ("insight: unknown_series\nkind: trend\nseries:\n  views: count(view)\nformula: views / veiws\ninterval: day\nrange: within 7d\n",
                           [("SEG303", 5, 18)]),
    "formula_call.yml": ("insight: formula_call\nkind: trend\nseries:\n  views: count(view)\nformula: views / count(buy)\ninterval: day\nrange: within 7d\n",
                         [("SEG330", 5, 18)]),
    "one_step.yml": ("insight: one_step\nkind: funnel\nsteps: [view]\nwindow: 1d\nrange: within 7d\n", [("SEG319", 3, 8)]),
    "uneven_range.yml": ("insight: uneven_range\nkind: trend\nseries:\n  views: count(view)\ninterval: day\nrange: within 36h\n",
                         [("SEG331", 6, 8)]),
    "unaligned_range.yml": ("insight: unaligned_range\nkind: lifecycle\nevent: login\ninterval: week\nrange: between date('2026-03-03') and date('2026-03-16')\n",
                            [("SEG331", 5, 8)]),
    "funnel_event_breakdown.yml": ("insight: funnel_event_breakdown\nkind: funnel\nsteps: [view, buy]\nwindow: 1d\nrange: within 7d\nbreakdown: event.$browser\n",
                                   [("SEG332", 6, 12)]),
    "breakdown_not_property.yml": ("insight: breakdown_not_property\nkind: trend\nseries:\n  views: count(view)\ninterval: day\nrange: within 7d\nbreakdown: count(view)\n",
                                   [("SEG305", 7, 12)]),
    "breakdown_unknown.yml": ("insight: breakdown_unknown\nkind: stickiness\nevent: open\ninterval: day\nrange: within 7d\nbreakdown: contry\n",
                              [("SEG300", 6, 12)]),
    "breakdown_twice.yml": ("insight: breakdown_twice\nkind: trend\nseries:\n  views: count(view)\ninterval: day\nrange: within 7d\nbreakdown:\n  segments: [us, pro, us]\n",
                            [("SEG319", 8, 23)]),
    "breakdown_no_segment.yml": ("insight: breakdown_no_segment\nkind: trend\nseries:\n  views: count(view)\ninterval: day\nrange: within 7d\nbreakdown:\n  segments: [us, nope]\n",
                                 [("SEG303", 8, 18)]),
    "series_window.yml": ("insight: series_window\nkind: trend\nseries:\n  views: count(view within 7d)\ninterval: day\nrange: within 7d\n",
                          [("SEG305", 4, 10)]),
    "series_not_measure.yml": ("insight: series_not_measure\nkind: trend\nseries:\n  viewed: performed(view)\ninterval: day\nrange: within 7d\n",
                               [("SEG305", 4, 11)]),
    "series_reserved.yml": ("insight: series_reserved\nkind: trend\nseries:\n  partial: count(view)\ninterval: day\nrange: within 7d\n",
                            [("SEG335", 4, 3)]),
    "range_no_start.yml": ("insight: range_no_start\nkind: funnel\nsteps: [view, buy]\nwindow: 1d\nrange: before date('2026-03-01')\n",
                           [("SEG333", 5, 8)]),
    "range_per_person.yml": ("insight: range_per_person\nkind: trend\nseries:\n  views: count(view)\ninterval: day\nrange: since signed_up_at\n",
                             [("SEG333", 6, 8)]),
    "range_empty.yml": ("insight: range_empty\nkind: trend\nseries:\n  views: count(view)\ninterval: day\nrange: between ago(1d) and ago(2d)\n",
                        [("SEG333", 6, 8)]),
    "returning_window.yml": ("cohort: returning_window\nentry: first_time(signup)\nperiod: week\nperiods: 4\nreturning: performed(play within 7d)\n",
                             [("SEG334", 5, 12)]),
    "entry_not_time.yml": ("cohort: entry_not_time\nentry: count(signup)\nperiod: week\nperiods: 4\nreturning: performed(play)\n",
                           [("SEG305", 2, 8)]),
    "missing_interval.yml": ("insight: missing_interval\nkind: stickiness\nevent: open\nrange: within 7d\n", [("SEG106", 2, 1)]),
}


# A period that does not divide the range: LANGUAGE.md §5's own example is `within 90d` with
# `interval: week`, so it is a warning (SEG604) at the range, not an error; the insight still runs.
WARNED = {
    "weeks_uneven.yml": ("insight: weeks_uneven\nkind: trend\nseries:\n  views: count(view)\ninterval: week\nrange: within 90d\n",
                         [("SEG604", 6, 8)]),
    "weeks_uneven_between.yml": ("insight: weeks_uneven_between\nkind: stickiness\nevent: open\ninterval: week\n"
                                 "range: between ago(10d) and ago(1d)\n", [("SEG604", 5, 8)]),
    "weeks_whole.yml": ("insight: weeks_whole\nkind: lifecycle\nevent: login\ninterval: week\nrange: within 13w\n", []),
    "weeks_whole_days.yml": ("insight: weeks_whole_days\nkind: trend\nseries:\n  views: count(view)\ninterval: week\nrange: since ago(28d)\n", []),
    "days_any.yml": ("insight: days_any\nkind: trend\nseries:\n  views: count(view)\ninterval: day\nrange: within 90d\n", []),
    "weeks_of_dates.yml": ("insight: weeks_of_dates\nkind: stickiness\nevent: open\ninterval: week\n"
                           "range: between date('2026-03-02') and date('2026-03-16')\n", []),
}


def test_each_mistake_is_reported_at_its_place(tmp_path):
    model = layouts("x")["flat"]["model"]
    files = {name: text for name, (text, _) in {**BAD, **WARNED}.items()}
    root = write_project(tmp_path / "bad", model, {}, {f"specs/{name}": text for name, text in files.items()})
    result = api.validate(root)
    got, warned = {}, {}
    for d in result.diagnostics:
        into = got if d.severity == "error" else warned
        into.setdefault(Path(d.span.path).name, []).append((d.code, d.span.line, d.span.col))
    problems = []
    for name, (text, expected) in BAD.items():
        if sorted(got.get(name, [])) != sorted(expected):
            problems.append(f"{name}: expected {expected}, got {got.get(name)}")
        assert Path(name).stem in result.failed, name
    for name, (text, expected) in WARNED.items():
        if warned.get(name, []) != expected or name in got:
            problems.append(f"{name}: expected the warnings {expected}, got {warned.get(name)} and the errors {got.get(name)}")
    assert not problems, "\n".join(problems) + "\n\n" + "\n".join(d.headline() for d in result.diagnostics)
    assert set(warned) <= set(WARNED)  # no mistake above is also warned about
    # and the sound definitions next to them are unaffected; warned ones are sound
    assert set(result.definitions) == set(SEGMENTS) | {Path(n).stem for n in WARNED}


def test_a_range_that_weeks_do_not_divide_is_a_warning_at_the_range(tmp_path):
    model = layouts("x")["flat"]["model"]
    root = write_project(tmp_path / "warned", model, {}, {"specs/weeks_uneven.yml": WARNED["weeks_uneven.yml"][0]})
    r = CliRunner().invoke(main, ["validate", str(root)])
    assert r.exit_code == 0, r.output
    assert "specs/weeks_uneven.yml:6:8: SEG604 warning: a range of 90d does not divide into weeks (12w 6d)" in r.output
    assert "  range: within 90d\n         ^~~~~~~~~~\n  hint: a range of 13w (91d) or 12w (84d) divides into weeks" in r.output
    r = CliRunner().invoke(main, ["validate", str(root), "--strict"])
    assert r.exit_code == 1 and "SEG604" in r.output


def test_diagnostic_text_points_into_the_file(tmp_path):
    model = layouts("x")["flat"]["model"]
    root = write_project(tmp_path / "bad", model, {}, {"specs/uneven_range.yml": BAD["uneven_range.yml"][0]})
    r = CliRunner().invoke(main, ["validate", str(root)])
    assert r.exit_code == 1
    assert "specs/uneven_range.yml:6:8: SEG331 a range of 36h is not a whole number of days" in r.output
    assert "  range: within 36h\n         ^~~~~~~~~~" in r.output


# --- the command line: compile, run (text, CSV, JSON), the HTML report ---------------------------------------
@pytest.fixture
def cli_project(tmp_path):
    from segc.engines import connect

    db = tmp_path / "an.duckdb"
    layout = layouts("cli")["flat"]
    with connect({"dialect": "duckdb", "path": str(db)}) as engine:
        for name, columns, rows in layout["tables"]:
            engine.create_table(name, columns, rows)
    return write_project(tmp_path / "proj", layout["model"], DEFINITIONS, {"targets/local.yml": f"dialect: duckdb\npath: {db}\n"})


def test_compile_writes_cohort_and_insight_sql(cli_project, tmp_path):
    out = tmp_path / "compiled"
    r = CliRunner().invoke(main, ["compile", str(cli_project), "--as-of", "2026-03-18T12:00:00Z", "--out", str(out)])
    assert r.exit_code == 0, r.output
    for dialect in DIALECTS:
        for name in DEFINITIONS:
            text = (out / dialect / f"{name}.sql").read_text()
            assert text.startswith(f"-- {'cohort' if name.startswith('c_') else 'insight'}")
            assert "WITH RECURSIVE" in text
    r = CliRunner().invoke(main, ["compile", str(cli_project), "--select", "f_plan", "--dialect", "postgres", "--out", str(tmp_path / "one")])
    assert r.exit_code == 0 and [p.name for p in (tmp_path / "one" / "postgres").iterdir()] == ["f_plan.sql"], r.output


def test_run_prints_tables(cli_project):
    runner = CliRunner()
    as_of = ["--as-of", "2026-03-18T12:00:00Z"]
    r = runner.invoke(main, ["run", str(cli_project), *as_of, "--select", "us, f_checkout,c_weekly"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("us           2\nmaterialized 1 segment\n\ncohort c_weekly, by week\n")
    assert "insight (funnel) f_checkout\n" in r.output
    assert "2026-03-02         2        1  1.0000  yes\n2026-03-16         0        1  1.0000  yes\n" in r.output
    r = runner.invoke(main, ["run", str(cli_project), *as_of, "--select", "t_weekly", "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert r.output == "# trend t_weekly\ninterval_start,visits,partial\n2026-03-02T00:00:00Z,1,false\n2026-03-09T00:00:00Z,1,false\n"
    r = runner.invoke(main, ["run", str(cli_project), *as_of, "--select", "f_segments", "--format", "json"])
    assert r.exit_code == 0, r.output
    table = json.loads(r.output)["tables"][0]
    assert table["kind"] == "funnel" and table["rows"][3] == {"breakdown": "nobody", "step": 1, "event": "view", "persons": 0,
                                                             "conversion_from_previous": None, "conversion_from_first": None}
    r = runner.invoke(main, ["run", str(cli_project), *as_of, "--select", "nope"])
    assert r.exit_code == 1 and "no segment named 'nope'" in r.output


def test_html_report_draws_each_kind(cli_project, tmp_path):
    out = tmp_path / "report.html"
    r = CliRunner().invoke(main, ["run", str(cli_project), "--as-of", "2026-03-18T12:00:00Z", "--format", "html", "--out", str(out),
                                  "--select", "t_daily t_segments f_plan c_weekly l_login s_open"])
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert "<script" not in html and "http" not in html.replace("http://www.w3.org", "")  # self-contained
    assert html.count('<svg class="chart line"') == 7 + 1  # t_daily: 6 series + formula; t_segments: 1
    assert html.count('class="series"') == 7 + 4  # one line each, and four breakdown groups
    assert html.count("stroke-dasharray") >= 2  # partial first and last days
    assert html.count('<svg class="chart bars"') == 2  # funnel, stickiness
    assert '<svg class="chart stacked"' in html and 'fill="#c0392b"' in html  # lifecycle, dormant below the axis
    assert html.count('class="cell') == 7 and html.count('class="cell partial"') == 2  # retention heatmap


# --- the HTML report as Chromium draws it ----------------------------------------------------------------
REPORT_SELECT = "t_daily t_segments f_plan c_weekly l_login s_open"

# Added to a copy of the report (the report itself has no script): after layout, each drawn
# element gets its rendered size, so the DOM that Chromium dumps says what was drawn and how big.
MEASURE = """<script>
for (const el of document.querySelectorAll('svg.chart, rect.bar, td.cell, g.series line')) {
  const box = el.getBoundingClientRect();
  el.setAttribute('data-w', box.width.toFixed(1));
  el.setAttribute('data-h', box.height.toFixed(1));
  if (el.getTotalLength) el.setAttribute('data-len', el.getTotalLength().toFixed(1));
  el.setAttribute('data-bg', getComputedStyle(el).backgroundColor);
}
document.body.setAttribute('data-page-h', Math.ceil(document.documentElement.scrollHeight));
</script>"""


class _Drawn(HTMLParser):
    """The charts of the dumped DOM: each svg chart with its lines or bars, each heatmap cell."""

    def __init__(self):
        super().__init__()
        self.charts: list[dict] = []
        self.cells: list[dict] = []
        self.page_height = 0
        self._section = None
        self._series = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.page_height = int(a.get("data-page-h", 0))
        if tag == "section":
            self._section = a["data-kind"]
        if tag == "svg" and "chart" in a.get("class", ""):
            self.charts.append({**a, "kind": self._section, "series": [], "bars": []})
        if tag == "g" and a.get("class") == "series":
            self._series = []
            self.charts[-1]["series"].append(self._series)
        if tag == "line" and self._series is not None:
            self._series.append(a)
        if tag == "rect" and a.get("class") == "bar":
            self.charts[-1]["bars"].append(a)
        if tag == "td" and "cell" in a.get("class", ""):
            self.cells.append(a)

    def handle_endtag(self, tag):
        if tag == "g":
            self._series = None


@pytest.fixture
def drawn_report(cli_project, tmp_path):
    """The report of one trend with six series and a formula, one by segments, a funnel, a
    cohort, a lifecycle and a stickiness; its tables as JSON; the measured copy's DOM."""
    from test_overlap_html import chromium

    as_of = ["--as-of", "2026-03-18T12:00:00Z", "--select", REPORT_SELECT]
    report = tmp_path / "report.html"
    r = CliRunner().invoke(main, ["run", str(cli_project), *as_of, "--format", "html", "--out", str(report)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["run", str(cli_project), *as_of, "--format", "json"])
    assert r.exit_code == 0, r.output
    tables = {t["name"]: t for t in json.loads(r.stdout)["tables"]}
    html = report.read_text(encoding="utf-8")
    assert "<script" not in html
    measured = tmp_path / "measured.html"
    measured.write_text(html.replace("</body>", MEASURE + "\n</body>"), encoding="utf-8")
    p = chromium("--dump-dom", measured.as_uri(), profile=tmp_path / "profile")
    assert p.returncode == 0, p.stderr
    (tmp_path / "dom.html").write_text(p.stdout, encoding="utf-8")  # to look at when a test fails
    page = _Drawn()
    page.feed(p.stdout)
    return report, tables, page


def test_chromium_draws_each_kind(drawn_report):
    """Issue 5: trends as line charts, funnels (and stickiness) as bars, lifecycle as stacked
    bars, retention as a heatmap, as headless Chromium renders them."""
    _, tables, page = drawn_report
    assert page.page_height > 0
    for c in page.charts:  # every chart is laid out at its full size
        assert (float(c["data-w"]), float(c["data-h"])) == (760.0, 260.0), c
    by_kind = {}
    for c in page.charts:
        by_kind.setdefault((c["kind"], c["class"]), []).append(c)
    assert sorted((k, len(v)) for k, v in by_kind.items()) == sorted([
        (("trend", "chart line"), 7 + 1), (("funnel", "chart bars"), 1), (("stickiness", "chart bars"), 1),
        (("lifecycle", "chart stacked"), 1)])

    # trends: a line per series (breakdown value), a drawn stroke between each two neighbouring
    # intervals that both have a value
    def strokes(table: dict, measure: str, group) -> int:
        times = sorted({r["interval_start"] for r in table["rows"]})
        valued = {r["interval_start"] for r in table["rows"] if r.get("breakdown") == group and r[measure] is not None}
        return sum(1 for a, b in zip(times, times[1:]) if a in valued and b in valued)

    t_daily, t_segments = tables["t_daily"], tables["t_segments"]
    lines = by_kind[("trend", "chart line")]
    assert [len(c["series"]) for c in lines] == [1] * 7 + [4]
    measures = [k for k in t_daily["rows"][0] if k not in ("interval_start", "partial")]
    assert len(measures) == 7
    for c, m in zip(lines, measures):
        assert len(c["series"][0]) == strokes(t_daily, m, None), m
    assert sum(len(c["series"][0]) for c in lines[:7]) == 3 + 3 + 3 + 1  # views, viewers, revenue; the formula is null on the day without viewers
    groups = list(dict.fromkeys(r["breakdown"] for r in t_segments["rows"]))
    series = [k for k in t_segments["rows"][0] if k not in ("breakdown", "interval_start", "partial")]
    assert [len(g) for g in lines[7]["series"]] == [strokes(t_segments, series[0], b) for b in groups]
    assert sum(len(g) for g in lines[7]["series"]) > 0
    for c in lines:
        assert all(float(s["data-len"]) > 0 and float(s["data-w"]) > 0 for g in c["series"] for s in g)
    dashed = [s for c in lines for g in c["series"] for s in g if "stroke-dasharray" in s]
    assert dashed and all(float(s["data-len"]) > 0 for s in dashed)  # into the partial first and last days

    # funnel and stickiness: a bar per row, as tall as its count (taller for more persons)
    for kind, name, count in (("funnel", "f_plan", "persons"), ("stickiness", "s_open", "persons")):
        bars = by_kind[(kind, "chart bars")][0]["bars"]
        rows = tables[name]["rows"]
        assert len(bars) == len(rows) and any(r[count] for r in rows)
        for bar, row in zip(bars, rows):
            assert float(bar["data-w"]) > 0
            assert (float(bar["data-h"]) > 0) == (row[count] > 0), (name, row)
        heights = {row[count]: float(bar["data-h"]) for bar, row in zip(bars, rows)}
        assert sorted(heights.values()) == [heights[k] for k in sorted(heights)]

    # lifecycle: a rect per non-zero status and interval, dormant below the axis in red
    bars = by_kind[("lifecycle", "chart stacked")][0]["bars"]
    statuses = [(r["interval_start"], k) for r in tables["l_login"]["rows"] for k in ("new", "returning", "resurrecting", "dormant") if r[k]]
    assert len(bars) == len(statuses) > 0
    assert all(float(b["data-w"]) > 0 and float(b["data-h"]) > 0 for b in bars)
    dormant = [b for b in bars if b["fill"] == "#c0392b"]
    assert len(dormant) == sum(1 for _, k in statuses if k == "dormant") > 0
    top_of_dormant = min(float(b["y"]) for b in dormant)
    assert all(float(b["y"]) + float(b["height"]) <= top_of_dormant + 0.1 for b in bars if b not in dormant)

    # retention: a cell per cohort row and period, shaded darker for a larger share
    rows = tables["c_weekly"]["rows"]
    assert len(page.cells) == len(rows) == 7
    assert [c["class"] == "cell partial" for c in page.cells] == [r["partial"] for r in rows]
    lightness = {}
    for cell, row in zip(page.cells, rows):
        assert float(cell["data-w"]) > 0 and float(cell["data-h"]) > 0
        assert cell["data-bg"].startswith("rgb(") and cell["data-bg"] != "rgba(0, 0, 0, 0)"
        rgb = [int(v) for v in cell["data-bg"][4:-1].split(",")]
        lightness[row["share"]] = sum(rgb)
    shares = sorted(lightness)
    assert len(shares) >= 2 and [lightness[s] for s in shares] == sorted(lightness.values(), reverse=True)


def test_the_screenshot_shows_each_kind(drawn_report, tmp_path):
    """Pixels in each chart's colours: the trend lines, the bars, lifecycle's statuses and the
    heatmap's darkest cell (share 1.0: hsl(212, 70%, 40%))."""
    import colorsys

    from test_overlap_html import chromium, read_png

    report, _, page = drawn_report
    height = min(page.page_height + 40, 16000)
    png = tmp_path / "report.png"
    r = chromium(f"--screenshot={png}", f"--window-size=1100,{height}", report.as_uri(), profile=tmp_path / "profile")
    assert r.returncode == 0 and png.exists(), r.stderr
    width, got_height, rows = read_png(png)
    assert (width, got_height) == (1100, height)
    counts: dict[bytes, int] = {}
    for row in rows:
        for x in range(0, len(row), 3):
            px = row[x:x + 3]
            counts[px] = counts.get(px, 0) + 1

    def pixels(colour: str | tuple) -> int:
        target = bytes.fromhex(colour[1:]) if isinstance(colour, str) else bytes(colour)
        return sum(n for px, n in counts.items() if all(abs(px[k] - target[k]) <= 2 for k in range(3)))

    from segc.runner.analytics import LIFECYCLE_COLORS, PALETTE

    for colour in PALETTE[:4]:  # the lines of t_segments' four groups, the bars of f_plan's plans
        assert pixels(colour) > 50, colour
    for status, colour in LIFECYCLE_COLORS.items():
        assert pixels(colour) > 50, status
    darkest = tuple(round(v * 255) for v in colorsys.hls_to_rgb(212 / 360, 0.40, 0.7))
    assert pixels(darkest) > 0.5 * 52 * 26  # at least half a cell of share 1.0


def test_an_insight_is_named_with_its_article(cli_project, tmp_path):
    """Where a cohort or insight stands where a segment or partition is needed, the message says
    "an insight", "a cohort" (it said "a insight")."""
    runner = CliRunner()
    r = runner.invoke(main, ["history", "t_daily", "--project", str(cli_project)])
    assert r.exit_code == 1 and "Error: SEG303 't_daily' is an insight, not a segment or partition" in r.stderr, r.output
    r = runner.invoke(main, ["migrate", str(cli_project), "--partition", "f_plan", "--from", "2026-03-01"])
    assert r.exit_code == 1 and "Error: SEG303 --partition: 'f_plan' is an insight, not a partition" in r.stderr, r.output
    r = runner.invoke(main, ["overlap", str(cli_project), "--select", "t_daily"])
    assert r.exit_code == 1 and "--select: 't_daily' is an insight, not a segment" in r.output, r.output
    (cli_project / "specs" / "uses_insight.yml").write_text("partition: uses_insight\nsegments: [us, t_daily, c_weekly]\n")
    r = runner.invoke(main, ["validate", str(cli_project)])
    assert r.exit_code == 1
    assert "SEG303 't_daily' is an insight, not a segment" in r.output and "SEG303 'c_weekly' is a cohort, not a segment" in r.output
    assert " a insight" not in r.output


def test_text_csv_json_render_nulls_and_times():
    from segc.compiler.analytics import AnalyticsQuery, Column

    q = AnalyticsQuery("x", "trend", None, (Column("interval_start", "timestamp"), Column("v", "number"), Column("partial", "boolean")))
    t = result_table(q, [(dt.date(2026, 3, 2), None, 1), (dt.datetime(2026, 3, 9), 0.5, 0)])
    assert t.rows == [(T(2026, 3, 2), None, True), (T(2026, 3, 9), 0.5, False)]
    assert render_csv([t]) == "# trend x\ninterval_start,v,partial\n2026-03-02T00:00:00Z,,true\n2026-03-09T00:00:00Z,0.5,false\n"
    assert json.loads(render_json([t]))["tables"][0]["rows"][0] == {"interval_start": "2026-03-02T00:00:00Z", "v": None, "partial": True}
    assert "2026-03-02           -  yes" in render_text([t])
    assert "<svg" in render_html([t])
