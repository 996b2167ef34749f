"""The issue "Segments over time: size history and migration between segments":

- the points of a history (ends of UTC days, ISO weeks, months in the range, then now);
- `segc history` and `segc migrate` on a tiny hand-made dataset, run on DuckDB, ClickHouse
  (chdb) and PostgreSQL: every size at every point and every cell of two transition matrices
  (a partition, and overlapping segments) is worked out below by hand, and the hand-made
  member sets are checked against the reference evaluator too;
- one query per history, however many points;
- the lifecycle partition of the demo project on generated data: rows of the matrix add up to
  the partition's sizes at the start, the three engines agree;
- text, CSV, JSON, the HTML pages rendered in headless Chromium, exit codes and errors.

N (AS_OF) is Wednesday 2026-03-18 12:00 UTC. Mondays: Mar 2, 9, 16.
"""
from __future__ import annotations

import colorsys
import csv
import datetime as dt
import io
import itertools
import json
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest
import reference
from click.testing import CliRunner
from fixtures.harness import DIALECTS, load
from test_overlap_html import chromium, read_png

from segc import api
from segc.cli import main
from segc.compiler import masks_select, segment_sql, to_sql
from segc.engines import connect
from segc.runner import timeline
from segc.runner.overlap import from_mask_rows

pytestmark = pytest.mark.engines

ROOT = Path(__file__).resolve().parent.parent
T = dt.datetime
N = AS_OF = T(2026, 3, 18, 12)
AS_OF_ISO = "2026-03-18T12:00:00Z"

# --- the project and its data -------------------------------------------------------------------
SEGC_YML = """\
name: timeline_test
model:
  persons:
    table: tl_persons
    key: person_id
    properties:
      plan: string
  events:
    table: tl_events
    person: person_id
    event: event
    timestamp: timestamp
default_target: local
"""
SPECS = {
    "specs/active.yml": "segment: active\nwhere: performed(any within 2d)\n",
    "specs/buyer.yml": "segment: buyer\nwhere: count(buy within 7d) >= 2\n",
    "specs/chain.yml": "segment: chain\nwhere: sequence(view, buy within 7d)\n",  # tuple IN per instant
    "specs/stage/fresh.yml": "segment: fresh\nwhere: first_time(any) >= ago(3d)\n",
    "specs/stage/regular.yml": "segment: regular\nwhere: not segment(fresh) and performed(any within 7d)\n",
    "specs/stage/lapsed.yml": "segment: lapsed\nwhere: not segment(fresh) and not segment(regular) and performed(any)\n",
    "specs/stage/stage.yml": "partition: stage\nsegments: [fresh, regular, lapsed]\n",  # not complete: no events -> none
    "specs/weekly.yml": "cohort: weekly\nentry: first_time(any)\nperiod: week\nperiods: 2\nreturning: performed(any)\n",
}
PERSONS_COLUMNS = [("person_id", "string"), ("plan", "string")]
EVENTS_COLUMNS = [("person_id", "string"), ("event", "string"), ("timestamp", "timestamp")]
PERSONS = [(p, "free") for p in "abcdefgh"]
EVENTS = [
    ("a", "login", T(2026, 3, 14)),  # exactly 2d before Mar 16: inside `within 2d` there
    ("a", "login", T(2026, 3, 17)),  # exactly at the Mar 17 point: not yet there
    ("b", "view", T(2026, 3, 10, 10)),
    ("b", "buy", T(2026, 3, 12, 10)),
    ("b", "buy", T(2026, 3, 16, 9)),  # 3 hours before N - 2d: no longer active at N
    ("c", "buy", T(2026, 3, 11, 12)),  # exactly N - 7d: still in `within 7d` at N
    ("c", "view", T(2026, 3, 17, 8)),
    ("c", "buy", T(2026, 3, 18, 11)),  # after the last full day, before N
    ("d", "login", T(2026, 3, 1)),  # exactly at the Mar 1 point: not yet there
    # e: no events at all
    ("f", "login", N),  # at now(): does not exist yet
    ("f", "buy", T(2026, 3, 19)),  # after now()
    ("g", "login", T(2026, 3, 17, 6)),  # first event: new between Mar 17 and Mar 18
    ("h", "login", T(2026, 3, 10, 12)),  # 7d before Mar 17 12:00: regular until Mar 17, then lapsed
    ("zz", "buy", T(2026, 3, 17)), ("zz", "buy", T(2026, 3, 17, 1)),  # no such person: ignored
]

# Members at each instant, worked out by hand from the events above.
#   active  = an event in [t - 2d, t)         buyer = 2+ buys in [t - 7d, t)
#   chain   = view then buy, both in [t - 7d, t)
#   fresh   = first event at or after t - 3d   regular = not fresh, an event in [t - 7d, t)
#   lapsed  = neither, but some event before t
M16, M17, M18, M1, M9 = T(2026, 3, 16), T(2026, 3, 17), T(2026, 3, 18), T(2026, 3, 1), T(2026, 3, 9)
MEMBERS = {
    T(2026, 2, 1): {},  # nothing has happened yet
    M1: {},  # d's login is at this very instant: not yet there
    M9: {"lapsed": {"d"}},  # d: an event, but none in [Mar 2, Mar 9)
    M16: {"active": {"a"}, "chain": {"b"}, "fresh": {"a"}, "regular": {"b", "c", "h"}, "lapsed": {"d"}},
    M17: {"active": {"b"}, "buyer": {"b"}, "chain": {"b"}, "fresh": {"a"}, "regular": {"b", "c", "h"}, "lapsed": {"d"}},
    M18: {"active": {"a", "b", "c", "g"}, "buyer": {"b"}, "fresh": {"g"}, "regular": {"a", "b", "c"}, "lapsed": {"d", "h"}},
    N: {"active": {"a", "c", "g"}, "buyer": {"b", "c"}, "chain": {"c"}, "fresh": {"g"}, "regular": {"a", "b", "c"},
        "lapsed": {"d", "h"}},
}
NAMES = ["active", "buyer", "chain", "fresh", "regular", "lapsed"]


def members(at: dt.datetime, name: str) -> set:
    return MEMBERS[at].get(name, set())


def sizes(instants) -> dict[str, list[int]]:
    return {n: [len(members(t, n)) for t in instants] for n in NAMES}


def write_project(root: Path, targets: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "segc.yml").write_text(SEGC_YML)
    for rel, text in SPECS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "targets").mkdir(exist_ok=True)
    for name, text in targets.items():
        (root / "targets" / f"{name}.yml").write_text(text)
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The project on disk, with its data in a DuckDB file (target `local`)."""
    root = write_project(tmp_path_factory.mktemp("timeline") / "project", {"local": "dialect: duckdb\npath: data.duckdb\n"})
    with connect({"dialect": "duckdb", "path": str(root / "data.duckdb")}) as e:
        e.create_table("tl_persons", PERSONS_COLUMNS, PERSONS)
        e.create_table("tl_events", EVENTS_COLUMNS, EVENTS)
    return root


@pytest.fixture(scope="module")
def checked(project, shared_engines):
    """The checked project, its data loaded into the three engines of the session."""
    result = api.validate(project)
    assert result.ok, [d.headline() for d in result.errors]
    load(shared_engines, [("tl_persons", PERSONS_COLUMNS, PERSONS), ("tl_events", EVENTS_COLUMNS, EVENTS)])
    return result


def test_the_hand_made_members_are_what_the_reference_evaluator_says(checked):
    persons = [dict(zip([c for c, _ in PERSONS_COLUMNS], r)) for r in PERSONS]
    events = [dict(zip([c for c, _ in EVENTS_COLUMNS], r)) for r in EVENTS]
    for at in MEMBERS:
        got = reference.evaluate(checked.project.model, checked.segments(), persons, events, at, NAMES)
        assert got == {n: members(at, n) for n in NAMES}, at


# --- the points of a history ------------------------------------------------------------------
def _points(now, interval, range_):
    return [(p.start, p.end, p.at, p.partial) for p in timeline.history_points(now, interval, timeline.parse_duration(range_))]


@pytest.mark.parametrize("now, interval, range_, expected", [
    # N - 3d = Mar 15 12:00: the day ends from Mar 16 on, then N in its partial day
    (N, "day", "3d", [(T(2026, 3, 15), M16, M16, False), (M16, M17, M17, False), (M17, M18, M18, False),
                      (M18, T(2026, 3, 19), N, True)]),
    # N - 14d = Mar 4 12:00: week ends (Mondays) Mar 9 and 16, then N in the week of Mar 16
    (N, "week", "14d", [(T(2026, 3, 2), M9, M9, False), (M9, M16, M16, False), (M16, T(2026, 3, 23), N, True)]),
    (N, "week", "2w", [(T(2026, 3, 2), M9, M9, False), (M9, M16, M16, False), (M16, T(2026, 3, 23), N, True)]),
    # N - 60d = Jan 17 12:00: month ends Feb 1 and Mar 1, then N in March
    (N, "month", "60d", [(T(2026, 1, 1), T(2026, 2, 1), T(2026, 2, 1), False), (T(2026, 2, 1), M1, M1, False),
                         (M1, T(2026, 4, 1), N, True)]),
    # now on an interval end: it is the end of a full interval, nothing is partial; the range's
    # start on an interval end is included (Mon Mar 16 - 14d = Mon Mar 2)
    (M16, "week", "14d", [(T(2026, 2, 23), T(2026, 3, 2), T(2026, 3, 2), False), (T(2026, 3, 2), M9, M9, False),
                          (M9, M16, M16, False)]),
    (M18, "day", "36h", [(M16, M17, M17, False), (M17, M18, M18, False)]),
    # a range shorter than the interval: only now
    (N, "month", "1d", [(M1, T(2026, 4, 1), N, True)]),
    # across a year: December to January; Jan 1 2027 is a Friday, its ISO week starts Dec 28
    (T(2027, 1, 10, 5), "month", "45d", [(T(2026, 11, 1), T(2026, 12, 1), T(2026, 12, 1), False),
                                         (T(2026, 12, 1), T(2027, 1, 1), T(2027, 1, 1), False),
                                         (T(2027, 1, 1), T(2027, 2, 1), T(2027, 1, 10, 5), True)]),
    (T(2027, 1, 1, 0, 0, 1), "week", "3d", [(T(2026, 12, 28), T(2027, 1, 4), T(2027, 1, 1, 0, 0, 1), True)]),
])
def test_history_points(now, interval, range_, expected):
    assert _points(now, interval, range_) == expected


def test_too_many_points_is_an_error():
    with pytest.raises(timeline.SegcError, match="more than 1000 points: choose a longer --interval or a shorter --range"):
        timeline.history_points(N, "day", timeline.parse_duration("1500d"))
    assert len(timeline.history_points(N, "day", timeline.parse_duration("998d"))) == 999


# --- history and migration on the three engines ---------------------------------------------------------
def _history(engine, checked, interval, range_, names=NAMES):
    points = timeline.history_points(N, interval, timeline.parse_duration(range_))
    return timeline.run_history(engine, checked.project.model, checked.segments(), names, points, interval, range_, N)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("interval, range_, instants", [
    ("day", "3d", [M16, M17, M18, N]),
    ("week", "14d", [M9, M16, N]),
    ("month", "60d", [T(2026, 2, 1), M1, N]),
])
def test_history_by_hand(shared_engines, checked, dialect, interval, range_, instants):
    h = _history(shared_engines[dialect], checked, interval, range_)
    assert [p.at for p in h.points] == instants
    assert [p.partial for p in h.points] == [False] * (len(instants) - 1) + [True]
    assert h.persons == [8] * len(instants)  # the universe: every persons row, events or not
    assert h.sizes == sizes(instants)


class _Counting:
    """An engine that counts the queries it is given."""

    def __init__(self, engine):
        self.engine, self.dialect, self.queries = engine, engine.dialect, 0

    def query(self, sql):
        self.queries += 1
        return self.engine.query(sql)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_history_is_one_query_however_many_points(shared_engines, checked, dialect):
    engine = _Counting(shared_engines[dialect])
    h = _history(engine, checked, "day", "60d")
    assert len(h.points) == 61 and engine.queries == 1
    by_at = {p.at: i for i, p in enumerate(h.points)}
    for at in (M1, M9, M16, M17, M18, N):
        assert {n: h.sizes[n][by_at[at]] for n in NAMES} == {n: len(members(at, n)) for n in NAMES}, at
    assert all(h.sizes[n][i] == 0 for n in NAMES for i in range(by_at[M1] + 1))


STAGE = ["fresh", "regular", "lapsed"]
# stage from Mar 16 00:00 to N: a fresh -> regular; b, c stay regular; h regular -> lapsed;
# d stays lapsed; e and f have no events (none -> none); g none -> fresh
STAGE_CELLS = {("fresh", "regular"): 1, ("regular", "regular"): 2, ("regular", "lapsed"): 1, ("lapsed", "lapsed"): 1,
               ("none", "none"): 2, ("none", "fresh"): 1}
# active, buyer, chain from Mar 17 00:00 to N: b is in all three, then only in buyer; c in
# none, then in all three; a and g in none, then active; d, e, f, h in none both times
FREE_CELLS = {("active", "buyer"): 1, ("buyer", "buyer"): 1, ("chain", "buyer"): 1,
              ("none", "active"): 3, ("none", "buyer"): 1, ("none", "chain"): 1, ("none", "none"): 4}


def _cells(m: timeline.Migration) -> dict:
    return {k: v for k, v in m.counts.items() if v}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_migration_of_a_partition_by_hand(shared_engines, checked, dialect):
    m = timeline.run_migration(shared_engines[dialect], checked.project.model, checked.segments(), STAGE, M16, N, "stage")
    assert _cells(m) == STAGE_CELLS
    assert m.at_t1 == {"fresh": 1, "regular": 3, "lapsed": 1, "none": 3}
    assert m.at_t2 == {"fresh": 1, "regular": 3, "lapsed": 2, "none": 2}
    assert m.persons == 8 and not m.overlapping
    # a partition: each row adds up to its size at the start, each column to its size at the end
    for a in m.labels:
        assert sum(m.counts[(a, b)] for b in m.labels) == m.at_t1[a] == len(members(M16, a)) + (3 if a == "none" else 0)
        assert sum(m.counts[(b, a)] for b in m.labels) == m.at_t2[a]
    assert m.rate("regular", "lapsed") == pytest.approx(1 / 3) and m.rate("none", "fresh") == pytest.approx(1 / 3)
    assert m.rate("fresh", "regular") == 1.0 and m.rate("lapsed", "fresh") == 0.0


@pytest.mark.parametrize("dialect", DIALECTS)
def test_migration_of_overlapping_segments_by_hand(shared_engines, checked, dialect):
    m = timeline.run_migration(shared_engines[dialect], checked.project.model, checked.segments(), ["active", "buyer", "chain"], M17, N)
    assert _cells(m) == FREE_CELLS
    assert m.at_t1 == {"active": 1, "buyer": 1, "chain": 1, "none": 7}
    assert m.at_t2 == {"active": 3, "buyer": 2, "chain": 1, "none": 4}
    assert m.persons == 8 and m.overlapping
    assert m.rate("none", "active") == pytest.approx(3 / 7) and m.rate("none", "none") == pytest.approx(4 / 7)
    # counted in each of their rows: the none row holds 9 memberships of 7 persons
    assert sum(m.counts[("none", b)] for b in m.labels) == 9
    assert sum(m.rate("none", b) for b in m.labels) == pytest.approx(9 / 7)


def test_a_segment_called_none():
    m = timeline.migration_from_rows(["none", "x"], [(1, 0, 3), (0, 2, 1)], M16, N)
    assert m.labels == ["none", "x", "(none)"]
    assert _cells(m) == {("none", "(none)"): 3, ("(none)", "x"): 1}


# --- the demo project's lifecycle --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(shared_engines):
    from segc import demo_data

    result = api.validate(ROOT)
    assert result.ok, [d.headline() for d in result.errors]
    model = result.project.model
    persons, events, pcols, ecols = demo_data.generate(persons=300, events_target=20_000)
    load(shared_engines, [(model.persons.table, pcols, persons), (model.events.table, ecols, events)])
    signed_up = {r[0]: r[[c for c, _ in pcols].index("signed_up_at")] for r in persons}
    return result, demo_data.DEMO_AS_OF, signed_up


def test_demo_lifecycle_migration(shared_engines, demo):
    result, as_of, _ = demo
    stages = list(result.definitions["lifecycle"].segments)
    t1 = T(2026, 10, 1)
    got = {d: timeline.run_migration(shared_engines[d], result.project.model, result.segments(), stages, t1, as_of, "lifecycle")
           for d in DIALECTS}
    m = got["duckdb"]
    for d in DIALECTS:
        assert (got[d].counts, got[d].at_t1, got[d].at_t2) == (m.counts, m.at_t1, m.at_t2), d
    # the partition's sizes at T1, from the overlap query evaluated at T1 alone
    sql = to_sql(masks_select(result.project.model, result.segments(), stages, "duckdb", t1), "duckdb", pretty=False)
    at_t1 = from_mask_rows(stages, shared_engines["duckdb"].query(sql))
    for a in stages:
        assert sum(m.counts[(a, b)] for b in m.labels) == m.at_t1[a] == at_t1.sizes[a], a
    assert m.persons == 300 == sum(at_t1.sizes.values())
    # complete and disjoint: nobody in none, nobody in two stages
    assert m.at_t1["none"] == m.at_t2["none"] == 0 and not m.overlapping
    assert all(m.counts[(a, "none")] == m.counts[("none", a)] == 0 for a in m.labels)
    # persons move: some stay, some change stage
    assert 0 < sum(m.counts[(a, a)] for a in stages) < 300


def test_demo_lifecycle_history(shared_engines, demo):
    result, as_of, _ = demo
    stages = list(result.definitions["lifecycle"].segments)
    points = timeline.history_points(as_of, "week", timeline.parse_duration("90d"))
    got = {d: timeline.run_history(shared_engines[d], result.project.model, result.segments(), stages, points, "week", "90d", as_of)
           for d in DIALECTS}
    h = got["duckdb"]
    assert got["clickhouse"].sizes == got["postgres"].sizes == h.sizes
    assert len(h.points) == 14 and h.points[-1].partial  # 2026-11-01 is a Sunday: its week is not over
    for i in range(len(h.points)):
        assert sum(h.sizes[s][i] for s in stages) == h.persons[i] == 300  # a complete partition at every point
    # one point against the overlap query evaluated at that instant alone
    at = h.points[5].at
    sql = to_sql(masks_select(result.project.model, result.segments(), stages, "postgres", at), "postgres", pretty=False)
    alone = from_mask_rows(stages, shared_engines["postgres"].query(sql))
    assert {s: h.sizes[s][5] for s in stages} == alone.sizes


def test_demo_new_is_bounded_by_now_at_every_instant(shared_engines, demo):
    """Person properties are not historized: as of an earlier instant, a person whose sign-up
    is still to come is not `new` (issue 8: 3,167 of 5,000 were "new" on 2026-08-03, and
    new -> new over 31 days was 682 with a 14-day window)."""
    result, as_of, signed_up = demo
    model, segments = result.project.model, result.segments()
    stages = list(result.definitions["lifecycle"].segments)
    for t1 in (T(2026, 10, 1), as_of - dt.timedelta(days=15)):  # more than 14 days apart: nobody stays new
        for d in DIALECTS:
            m = timeline.run_migration(shared_engines[d], model, segments, stages, t1, as_of, "lifecycle")
            assert m.counts[("new", "new")] == 0 and m.at_t1["new"] > 0, (d, t1)
            assert m.at_t1["none"] == m.at_t2["none"] == 0 and not m.overlapping, (d, t1)  # still complete and disjoint
    m = timeline.run_migration(shared_engines["duckdb"], model, segments, stages, as_of - dt.timedelta(days=7), as_of, "lifecycle")
    assert m.counts[("new", "new")] > 0  # within 14 days some stay new: the check above is not empty by construction
    for at in (T(2026, 8, 3), T(2026, 10, 1)):
        later = {p for p, t in signed_up.items() if t is not None and t >= at}
        assert len(later) > 50, at  # the demo's sign-ups are spread over its 90 days
        recent = {p for p, t in signed_up.items() if t is not None and at - dt.timedelta(days=14) <= t < at}
        for d in DIALECTS:
            sql = segment_sql(model, segments, "new", d, at, pretty=False)
            new = {r[0] for r in shared_engines[d].query(sql)}
            assert not new & later, (d, at, sorted(new & later)[:5])
            assert recent <= new, (d, at)
            churned = {r[0] for r in shared_engines[d].query(segment_sql(model, segments, "churned", d, at, pretty=False))}
            assert later <= churned, (d, at)  # no event yet, in no other stage: the partition stays complete


def test_segc_init_new_is_bounded_by_now(tmp_path):
    """The starter project of `segc init` has the same `new` (its sample data ends now)."""
    root = tmp_path / "started"
    assert CliRunner().invoke(main, ["init", str(root)]).exit_code == 0
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    t1 = timeline.iso(now - dt.timedelta(days=31))
    code, out, err = segc("migrate", str(root), "--partition", "lifecycle", "--from", t1, "--to", timeline.iso(now), "--format", "json")
    assert code == 0, err
    cells = {(c["from"], c["to"]): c["persons"] for c in json.loads(out)["cells"]}
    assert cells[("new", "new")] == 0 and cells[("dormant", "new")] > 0  # sign-ups of the last 31 days were nobody yet at T1
    assert sum(n for (a, b), n in cells.items() if "none" in (a, b)) == 0


# --- the command line ----------------------------------------------------------------------------------------
def segc(*args: str) -> tuple[int, str, str]:
    """`segc ARGS…` in this process: (exit code, stdout, stderr)."""
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_history_text(project):
    code, out, err = segc("history", "active", "stage", "--project", str(project), "--interval", "day",
                          "--range", "3d", "--as-of", AS_OF_ISO)
    assert code == 0, err
    assert out == textwrap.dedent("""\
        4 segments, daily over 3d, as of 2026-03-18T12:00:00Z: 8 persons

        day         at (UTC)           active    fresh  regular   lapsed
        2026-03-15  2026-03-16 00:00        1        1        3        1
        2026-03-16  2026-03-17 00:00        1        1        3        1
        2026-03-17  2026-03-18 00:00        4        1        3        2
        2026-03-18  2026-03-18 12:00        3        1        3        2  partial
        """)


def test_history_csv_and_json(project, tmp_path):
    code, out, err = segc("history", "buyer", "chain", "--project", str(project), "--interval", "week", "--range", "2w",
                          "--as-of", AS_OF_ISO, "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["at", "interval_start", "interval_end", "partial", "segment", "size", "persons", "share"]
    assert [(r["at"], r["segment"], int(r["size"]), r["partial"]) for r in rows] == [
        ("2026-03-09T00:00:00Z", "buyer", 0, "false"), ("2026-03-09T00:00:00Z", "chain", 0, "false"),
        ("2026-03-16T00:00:00Z", "buyer", 0, "false"), ("2026-03-16T00:00:00Z", "chain", 1, "false"),
        ("2026-03-18T12:00:00Z", "buyer", 2, "true"), ("2026-03-18T12:00:00Z", "chain", 1, "true")]
    assert rows[4]["interval_start"] == "2026-03-16T00:00:00Z" and rows[4]["interval_end"] == "2026-03-23T00:00:00Z"
    assert rows[4]["share"] == "0.2500"

    out_file = tmp_path / "h.json"
    code, out, err = segc("history", "stage", "--project", str(project), "--interval", "month", "--range", "60d",
                          "--as-of", AS_OF_ISO, "--format", "json", "--out", str(out_file))
    assert (code, out) == (0, f"wrote {out_file}\n"), err
    doc = json.loads(out_file.read_text())
    assert doc["segments"] == STAGE and doc["interval"] == "month" and doc["range"] == "60d" and doc["as_of"] == AS_OF_ISO
    assert [(p["at"], p["partial"], p["persons"], p["sizes"]) for p in doc["points"]] == [
        ("2026-02-01T00:00:00Z", False, 8, {"fresh": 0, "regular": 0, "lapsed": 0}),
        ("2026-03-01T00:00:00Z", False, 8, {"fresh": 0, "regular": 0, "lapsed": 0}),
        ("2026-03-18T12:00:00Z", True, 8, {"fresh": 1, "regular": 3, "lapsed": 2})]
    assert doc["points"][2]["interval_start"] == "2026-03-01T00:00:00Z" and doc["points"][2]["interval_end"] == "2026-04-01T00:00:00Z"


def test_migrate_text(project):
    code, out, err = segc("migrate", str(project), "--partition", "stage", "--from", "2026-03-16", "--to", AS_OF_ISO)
    assert code == 0, err
    assert out == textwrap.dedent("""\
        partition stage: 8 persons, from 2026-03-16T00:00:00Z (rows) to 2026-03-18T12:00:00Z (columns)

        persons
        from \\ to    fresh  regular   lapsed     none     size
        fresh            0        1        0        0        1
        regular          0        2        1        0        3
        lapsed           0        0        1        0        1
        none             1        0        0        2        3
        size             1        3        2        2

        rate (share of the row's persons at the start)
        from \\ to    fresh  regular   lapsed     none     size
        fresh         0.0%   100.0%     0.0%     0.0%        1
        regular       0.0%    66.7%    33.3%     0.0%        3
        lapsed        0.0%     0.0%   100.0%     0.0%        1
        none         33.3%     0.0%     0.0%    66.7%        3
        """)


def test_migrate_csv_and_json(project):
    code, out, err = segc("migrate", str(project), "--select", "active,buyer", "-s", "chain", "--from", "2026-03-17T00:00:00Z",
                          "--to", "2026-03-18T13:00:00+01:00", "--format", "csv")  # = N
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["from", "to", "persons", "rate", "from_size", "to_size"]
    assert {(r["from"], r["to"]): int(r["persons"]) for r in rows if int(r["persons"])} == FREE_CELLS
    assert len(rows) == 16
    none_active = next(r for r in rows if (r["from"], r["to"]) == ("none", "active"))
    assert none_active == {"from": "none", "to": "active", "persons": "3", "rate": "0.4286", "from_size": "7", "to_size": "3"}

    code, out, err = segc("migrate", str(project), "--select", "active,buyer,chain", "--from", "2026-03-17",
                          "--to", AS_OF_ISO, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["from"] == "2026-03-17T00:00:00Z" and doc["to"] == AS_OF_ISO and doc["partition"] is None
    assert doc["segments"] == ["active", "buyer", "chain"] and doc["none"] == "none" and doc["overlapping"] is True
    assert doc["sizes_from"] == {"active": 1, "buyer": 1, "chain": 1, "none": 7}
    assert doc["sizes_to"] == {"active": 3, "buyer": 2, "chain": 1, "none": 4}
    assert {(c["from"], c["to"]): c["persons"] for c in doc["cells"] if c["persons"]} == FREE_CELLS
    assert next(c for c in doc["cells"] if (c["from"], c["to"]) == ("buyer", "buyer"))["rate"] == 1.0

    code, out, err = segc("migrate", str(project), "--select", "active,buyer,chain", "--from", "2026-03-17", "--to", AS_OF_ISO)
    assert code == 0 and "note: segments overlap: a person in several of them counts in each of their rows and columns" in out


def test_migrate_to_defaults_to_now(project):
    code, out, err = segc("migrate", str(project), "--partition", "stage", "--from", "2026-03-16", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert abs((timeline.parse_instant(doc["to"], "--to") - now).total_seconds()) < 60
    if now > T(2026, 4, 1):  # long after the data: everyone who had an event is lapsed, e in none
        assert doc["sizes_to"] == {"fresh": 0, "regular": 0, "lapsed": 7, "none": 1}


@pytest.mark.parametrize("args, code, message", [
    (["history", "activ", "--as-of", AS_OF_ISO], 1, "Error: SEG303 no segment named 'activ'; did you mean 'active'?"),
    (["history", "active", "stages", "chian"], 1, ("Error: SEG303 no segment named 'stages'; did you mean 'stage'?\n"
                                                   "Error: SEG303 no segment named 'chian'; did you mean 'chain'?")),
    (["history", "weekly"], 1, "Error: SEG303 'weekly' is a cohort, not a segment or partition"),
    (["history", "active", "--range", "3 months"], 1,
     "Error: SEG107 --range '3 months' is not a duration such as 90d, 12w or 36h (a positive whole number of s, m, h, d or w; no months)"),
    (["history", "active", "--range", "0d"], 1, "Error: SEG107 --range '0d' is not a duration such as 90d"),
    (["history", "active", "--range", "1000w", "--interval", "day"], 1,
     "Error: SEG107 a daily history over 7000 days has more than 1000 points"),
    (["history", "active", "--range", "30000w", "--interval", "week"], 1, "Error: SEG107 a weekly history over 210000 days"),
    (["history", "active", "--as-of", "yesterday"], 1, "Error: SEG107 --as-of 'yesterday' is not an ISO-8601 instant"),
    (["history", "active", "--interval", "quarter"], 2, "Invalid value for '--interval': 'quarter' is not one of 'day', 'week', 'month'."),
    (["history"], 2, "Missing argument 'NAME...'"),
    (["migrate", "--partition", "stage", "--from", "last week"], 1,
     "Error: SEG107 --from 'last week' is not an ISO-8601 instant such as 2026-10-01 or 2026-10-01T00:00:00Z"),
    (["migrate", "--partition", "stage", "--from", "2026-03-16", "--to", "2026-02-30"], 1,
     "Error: SEG107 --to '2026-02-30' is not an ISO-8601 instant"),
    (["migrate", "--partition", "stage", "--from", "2026-03-16", "--to", "2026-03-16T00:00:00Z"], 1,
     "Error: SEG107 --from 2026-03-16T00:00:00Z is not before --to 2026-03-16T00:00:00Z"),
    (["migrate", "--partition", "stage", "--from", "2026-03-17", "--to", "2026-03-16"], 1,
     "Error: SEG107 --from 2026-03-17T00:00:00Z is not before --to 2026-03-16T00:00:00Z"),
    (["migrate", "--partition", "stages", "--from", "2026-03-16"], 1, "Error: SEG303 --partition: no partition named 'stages'; did you mean 'stage'?"),
    (["migrate", "--partition", "fresh", "--from", "2026-03-16"], 1, "Error: SEG303 --partition: 'fresh' is a segment, not a partition (partitions: stage)"),
    (["migrate", "--select", "activ", "--from", "2026-03-16"], 1, "Error: SEG303 --select: no segment named 'activ'; did you mean 'active'?"),
    (["migrate", "--partition", "stage", "--select", "active", "--from", "2026-03-16"], 2,
     "Error: give either --partition NAME or --select ..., not both"),
    (["migrate", "--from", "2026-03-16"], 2, "Error: give --partition NAME or --select ..."),
    (["migrate", "--partition", "stage"], 2, "Missing option '--from'"),
    (["migrate", "--partition", "stage", "--from", "2026-03-16", "--target", "nowhere"], 1, "unknown target 'nowhere'"),
])
def test_errors_and_exit_codes(project, args, code, message):
    """The exit code, the message on stderr, nothing on stdout, no traceback."""
    args = [*args, "--project", str(project)] if args[0] == "history" else [args[0], str(project), *args[1:]]
    r = CliRunner().invoke(main, args)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exc_info
    assert r.exit_code == code, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.output and r.stdout == ""


@pytest.mark.parametrize("args, code", [
    (["history", "activ"], 1),
    (["migrate", "--partition", "stage", "--from", "2026-03-16", "--to", "yesterday"], 1),
    (["migrate", "--select", "active", "--partition", "stage", "--from", "2026-03-16"], 2),
])
def test_exit_codes_of_the_process(project, args, code):
    """As a user runs it: a process of its own."""
    args = [*args, "--project", str(project)] if args[0] == "history" else [args[0], str(project), *args[1:]]
    p = subprocess.run([sys.executable, "-m", "segc", *args], capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == code and "Error: " in p.stderr and p.stdout == "", p.stderr
    assert "Traceback" not in p.stderr


def test_a_definition_with_errors_is_refused(project, tmp_path):
    broken = write_project(tmp_path / "broken", {"local": f"dialect: duckdb\npath: {project / 'data.duckdb'}\n"})
    (broken / "specs/stage/regular.yml").write_text("segment: regular\nwhere: not segment(fresh) and performed(any withn 7d)\n")
    for args in (["history", "stage", "--project", str(broken)], ["migrate", str(broken), "--partition", "stage", "--from", "2026-03-16"]):
        code, out, err = segc(*args)
        assert code == 1 and "specs/stage/regular.yml:2:" in err and "fix the errors above first" in err, err
    code, out, err = segc("history", "active", "--project", str(broken), "--as-of", AS_OF_ISO, "--range", "1d")
    assert code == 0 and out.splitlines()[-1].split()[-2:] == ["3", "partial"], err  # what does not depend on it still runs


# --- the HTML pages in headless Chromium ----------------------------------------------------------------------
class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.points: list[dict] = []
        self.cells: list[dict] = []
        self.polylines: list[dict] = []
        self.text: list[str] = []
        self.resources: list = []
        self._cell = None
        self._circle = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "circle" and "data-segment" in a:
            self._circle = {**a, "title": ""}
            self.points.append(self._circle)
        if tag == "polyline":
            self.polylines.append(a)
        if tag == "td" and "data-from" in a:
            self._cell = {**a, "text": []}
            self.cells.append(self._cell)
        if tag in ("link", "script", "iframe", "img") or "src" in a or "href" in a:
            self.resources.append((tag, a))

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        if tag == "circle":
            self._circle = None

    def handle_data(self, data):
        if self._cell is not None and data.strip():
            self._cell["text"].append(data.strip())
        elif self._circle is not None and data.strip():
            self._circle["title"] += data.strip()
        if data.strip():
            self.text.append(data.strip())


@pytest.fixture(scope="module")
def pages(project, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pages")
    files = {"history": out / "report" / "history.html", "migrate": out / "report" / "migrate.html"}
    code, _, err = segc("history", "active", "buyer", "stage", "--project", str(project), "--interval", "day",
                        "--range", "3d", "--as-of", AS_OF_ISO, "--format", "html", "--out", str(files["history"]))
    assert code == 0, err
    code, _, err = segc("migrate", str(project), "--partition", "stage", "--from", "2026-03-16", "--to", AS_OF_ISO,
                        "--format", "html", "--out", str(files["migrate"]))
    assert code == 0, err
    return files


def _dom(page: Path, tmp_path: Path) -> _Page:
    r = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    assert r.returncode == 0, r.stderr
    parsed = _Page()
    parsed.feed(r.stdout)
    assert parsed.resources == []  # self-contained: nothing to fetch
    return parsed


def test_history_page_has_a_line_per_segment(pages, tmp_path):
    page = _dom(pages["history"], tmp_path)
    names = ["active", "buyer", *STAGE]
    instants = [M16, M17, M18, N]
    expected = sizes(instants)
    assert "5 segments, daily over 3d, as of 2026-03-18T12:00:00Z: 8 persons." in " ".join(page.text)
    assert [(p["data-segment"], p["data-at"], int(p["data-size"]), p["data-partial"]) for p in page.points] == [
        (n, timeline.iso(t), expected[n][i], "true" if t == N else "false") for n in names for i, t in enumerate(instants)]
    assert page.points[0]["title"] == "active at 2026-03-16 00:00 UTC: 1 persons (12.5%)"
    assert page.points[7]["title"] == "buyer at 2026-03-18 12:00 UTC: 2 persons (25.0%) — partial interval"
    # higher is more: within a segment, a larger size is drawn higher up (smaller y)
    for n in names:
        pts = [p for p in page.points if p["data-segment"] == n]
        for p, q in itertools.pairwise(pts):
            assert (float(p["cy"]) - float(q["cy"])) * (int(q["data-size"]) - int(p["data-size"])) >= 0
        assert [float(p["cx"]) for p in pts] == sorted(float(p["cx"]) for p in pts)
    # per segment: a solid line through the full days and a dashed one into the partial day
    assert len([p for p in page.polylines if p.get("class") == "partial"]) == 5
    # the table under the chart
    i = page.text.index("persons")
    assert page.text[i + 1:i + 8] == ["2026-03-15", "2026-03-16 00:00", "1", "0", "1", "3", "1"]


def test_migrate_page_has_the_heatmap(pages, tmp_path):
    page = _dom(pages["migrate"], tmp_path)
    labels = [*STAGE, "none"]
    assert [(c["data-from"], c["data-to"]) for c in page.cells] == [(a, b) for a in labels for b in labels]
    at_t1 = {"fresh": 1, "regular": 3, "lapsed": 1, "none": 3}
    for c in page.cells:
        n = STAGE_CELLS.get((c["data-from"], c["data-to"]), 0)
        rate = n / at_t1[c["data-from"]]
        assert int(c["data-persons"]) == n and c["data-rate"] == f"{rate:.4f}"
        assert c["text"] == [str(n), f"{rate * 100:.1f}%"]
        assert c["title"].startswith(f"{c['data-from']} → {c['data-to']}: {n} persons, {rate:.1%} of the {at_t1[c['data-from']]} in")
    assert "8 persons, from 2026-03-16T00:00:00Z (rows) to 2026-03-18T12:00:00Z (columns)." in " ".join(page.text)


def test_screenshots_show_the_chart_and_the_heatmap(pages, tmp_path):
    def colours(page: Path) -> set:
        png = tmp_path / f"{page.stem}.png"
        r = chromium(f"--screenshot={png}", "--window-size=1000,900", page.as_uri(), profile=tmp_path / "profile")
        assert r.returncode == 0 and png.exists(), r.stderr
        width, height, rows = read_png(png)
        assert (width, height) == (1000, 900)
        return {row[x:x + 3] for row in rows for x in range(0, len(row), 3)}

    seen = colours(pages["history"])
    for c in timeline.PALETTE[:5]:  # a line in each segment's colour
        assert bytes.fromhex(c[1:]) in seen, c
    seen = colours(pages["migrate"])
    # the heatmap: full rows (100%) darkest, a third lighter; hsl(212, 70%, 100 - 0.6 * shade %)
    for shade in (100, 67, 33):
        rgb = colorsys.hls_to_rgb(212 / 360, (100 - shade * 0.6) / 100, 0.7)
        target = tuple(round(v * 255) for v in rgb)
        assert any(all(abs(px[k] - target[k]) <= 2 for k in range(3)) for px in seen), shade
