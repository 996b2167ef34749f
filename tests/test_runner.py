"""The issue "Run segments against real engines": `segc run`, `check`, `overlap` and `export`
on DuckDB (a database file), ClickHouse (chdb) and a real PostgreSQL, through the command line.

The project (tests/fixtures/runner_project.py) is written into tmp_path with a target per
engine; every size, overlap, expectation outcome and member is worked out there by hand.
DuckDB and PostgreSQL commands run as separate processes, as a user runs them; chdb allows
one process per storage path, so its commands run in this process (click's CliRunner).
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import itertools
import json
import os
import pty
import signal
import subprocess
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from segc import api
from segc.cli import main
from segc.diagnostics import SegcError
from segc.engines import connect

from fixtures import runner_project as rp

DIALECTS = ("duckdb", "clickhouse", "postgres")
PG_VAR = "SEGC_TEST_RUNNER_PG_DSN"  # the PostgreSQL target reads its DSN from here: ${SEGC_TEST_RUNNER_PG_DSN}
SEGMENTS = sorted(rp.MEMBERS)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Project:
    root: Path
    targets: dict[str, dict] = field(default_factory=dict)  # target name -> engine settings

    def segc(self, *args: str, target: str | None = None, debug: bool = False) -> Result:
        """`segc [--debug] COMMAND . [--target T] ARGS…` in the project folder."""
        command, *rest = args
        argv = (["--debug"] if debug else []) + [command]
        argv += ([] if command == "export" else ["."]) + (["--target", target] if target else []) + rest
        settings = self.targets.get(target or "duckdb", {})
        if settings.get("dialect") == "clickhouse" and settings.get("path"):  # chdb: one process per storage path, and this one holds it
            cwd = os.getcwd()
            os.chdir(self.root)
            try:
                r = CliRunner().invoke(main, argv)
            finally:
                os.chdir(cwd)
            if r.exception and not isinstance(r.exception, SystemExit):
                err = "".join(traceback.format_exception(*r.exc_info))
                return Result(1, r.stdout, r.stderr + err)
            return Result(r.exit_code, r.stdout, r.stderr)
        p = subprocess.run([sys.executable, "-m", "segc", *argv], cwd=self.root, capture_output=True, text=True,
                           timeout=120)
        return Result(p.returncode, p.stdout, p.stderr)

    def engine(self, target: str):
        return connect(self.targets[target])

    def query(self, target: str, sql: str) -> list[tuple]:
        with self.engine(target) as e:
            return e.query(sql)

    def namespace(self, target: str) -> str:
        t = self.targets[target]
        return {"duckdb": "segments", "postgres": t.get("schema"), "clickhouse": t.get("database")}[t["dialect"]]

    def members(self, target: str, segment: str) -> set[str]:
        ns = self.namespace(target)
        return {r[0] for r in self.query(target, f'SELECT "person_id" FROM "{ns}"."{segment}"')}

    def tables(self, target: str) -> set[str]:
        ns = self.namespace(target)
        if self.targets[target]["dialect"] == "clickhouse":
            sql = f"SELECT name FROM system.tables WHERE database = '{ns}'"
        else:
            sql = f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{ns}'"
        return {r[0] for r in self.query(target, sql)} - {"persons", "events"}  # the data's own tables


def _target_settings(dialect: str, request, monkeypatch) -> tuple[dict, str]:
    """(engine settings, the target file's text) on the conftest engine of `dialect`."""
    t = dict(request.getfixturevalue(f"{dialect}_target"))
    if dialect == "duckdb":
        return t, f"dialect: duckdb\npath: {t['path']}\n"
    if dialect == "postgres":
        monkeypatch.setenv(PG_VAR, t["dsn"])
        return t, f"dialect: postgres\ndsn: ${{{PG_VAR}}}\nschema: {t['schema']}\n"
    return t, f"dialect: clickhouse\npath: {t['path']}\ndatabase: {t['database']}\n"


@pytest.fixture
def make_project(tmp_path, request, monkeypatch):
    """make_project(dialects, specs=None, segc_yml=…): the fixture project with one target per
    engine (named after its dialect), the data loaded into each."""

    made = []

    def make(dialects=("duckdb",), specs=None, segc_yml=rp.SEGC_YML, load=True) -> Project:
        made.append(None)
        project = Project(tmp_path / f"project{len(made)}")
        texts = {}
        for d in dialects:
            project.targets[d], texts[d] = _target_settings(d, request, monkeypatch)
        rp.write_project(project.root, texts, specs, segc_yml.replace("default_target: duckdb", f"default_target: {dialects[0]}"))
        if load:
            for d in dialects:
                with project.engine(d) as e:
                    rp.load_data(e)
        return project

    return make


def _as_of(*args: str) -> tuple[str, ...]:
    return (*args, "--as-of", rp.AS_OF_ISO)


# --- check ------------------------------------------------------------------------------------


def _key(o: dict) -> tuple:
    return (o["rule"], o["subject"], o["counts"].get("intersection"))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_check_judges_every_expectation_kind(make_project, dialect):
    """Each kind of expectation passes once and fails once, with its file:line, its counts and
    example member keys; pairs above overlap.max_jaccard are reported as redundant; exit 1."""
    p = make_project((dialect,))
    r = p.segc(*_as_of("check", "--format", "json"), target=dialect)
    assert r.code == 1, r.text
    report = json.loads(r.out)
    assert report["persons"] == 12
    outcomes = {_key(o): o for o in report["outcomes"]}

    expected = {}
    for rule, subject, passed, path, line, counts in rp.EXPECTED_OUTCOMES:
        expected[(rule, subject, counts.get("intersection") if rule == "partition" and not passed else None)] = (
            passed, path, line, counts)
    redundant = [o for o in report["outcomes"] if o["rule"] == "max_jaccard"]
    assert len(outcomes) == len(expected) + len(redundant)
    for (rule, subject, inter), (passed, path, line, counts) in expected.items():
        o = next(o for k, o in outcomes.items() if k[:2] == (rule, subject) and (inter is None or k[2] == inter))
        assert o["passed"] is passed, o
        assert (o["path"], o["line"]) == (path, line), o
        assert rp.spec_line(p.root, path, line).lstrip().startswith(rule if line > 1 else rp.SPECS[path].split(":")[0].strip())
        assert o["counts"] == pytest.approx(counts), o
        if passed:
            assert o["examples"] == [], o
        else:
            pool = rp.EXAMPLES_FROM[(rule, subject, inter) if inter else (rule, subject)]
            assert o["examples"] and set(o["examples"]) <= pool, o
            assert len(o["examples"]) == min(5, len(pool)), o

    # every kind both passes and fails somewhere
    kinds = {(o["rule"], o["passed"]) for o in report["outcomes"] if o["rule"] != "max_jaccard"}
    for kind in ("min_size", "max_size", "min_share", "max_share", "disjoint_with", "subset_of", "partition", "complete"):
        assert {(kind, True), (kind, False)} <= kinds, kind

    pair, jaccard, counts = rp.REDUNDANT
    assert len(redundant) == 1
    (o,) = redundant
    assert set(o["subject"].split(", ")) == pair and o["passed"] is False
    assert o["counts"]["jaccard"] == jaccard and o["counts"]["intersection"] == counts["intersection"]
    assert o["path"] == f"specs/plans/{o['subject'].split(', ')[0]}.yml" and o["line"] == 1
    assert set(o["examples"]) <= rp.MEMBERS["paid"] and len(o["examples"]) == 5
    # active ~ paid_active (Jaccard 0.833) is below 0.85: not reported
    assert report["failed"] == sum(not o["passed"] for o in report["outcomes"]) == 10


def test_check_text_report_and_exit_codes(make_project):
    p = make_project()
    r = p.segc(*_as_of("check"))
    assert r.code == 1, r.text
    lines = r.out.splitlines()
    assert "FAIL specs/regions/canada.yml:4: min_share: canada holds 16.67% of 12 persons; expected at least 20.00%" in lines
    i = lines.index("FAIL specs/behaviour/buyers.yml:6: disjoint_with: buyers and free share 2 members; expected none")
    assert lines[i + 1] == "     e.g. p02, p08"
    i = lines.index("FAIL specs/behaviour/active.yml:5: subset_of: 1 of active's 6 members are not in paid; expected all to be")
    assert lines[i + 1] == "     e.g. p10"
    assert "PASS specs/regions/regions.yml:1: complete: partition regions: every one of 12 persons is in one of its segments" in lines
    assert "FAIL specs/regions/americas.yml:1: complete: partition americas: 5 of 12 persons are in none of its segments" in lines
    assert "FAIL specs/plans/plans.yml:1: partition: partition plans: paid and buyers share 4 members" in lines
    assert lines[-1] == "11 passed, 10 failed"

    # only passing expectations: exit 0
    passing = {k: v for k, v in rp.SPECS.items() if k in (
        "specs/regions/us.yml", "specs/regions/elsewhere.yml", "specs/regions/regions.yml", "specs/regions/canada.yml",
        "specs/plans/paid.yml", "specs/behaviour/big_buyers.yml", "specs/behaviour/buyers.yml")}
    passing["specs/regions/canada.yml"] = "segment: canada\nwhere: country = 'CA'\nexpect:\n  min_share: 0.1\n"
    passing["specs/behaviour/buyers.yml"] = "segment: buyers\nwhere: performed(purchase within 30d)\nexpect:\n  min_size: 6\n"
    p2 = make_project(specs=passing, load=False)
    r = p2.segc(*_as_of("check"))
    assert r.code == 0, r.text
    assert r.out.splitlines()[-1] == "10 passed, 0 failed"
    assert "FAIL" not in r.out


def test_check_results_are_the_same_on_every_engine(make_project):
    """check and overlap on DuckDB, ClickHouse and PostgreSQL: identical reports, example keys included."""
    p = make_project(DIALECTS)
    checks = {d: json.loads(p.segc(*_as_of("check", "--format", "json"), target=d).out) for d in DIALECTS}
    overlaps = {d: json.loads(p.segc(*_as_of("overlap", "--format", "json"), target=d).out) for d in DIALECTS}
    assert checks["duckdb"] == checks["clickhouse"] == checks["postgres"]
    assert overlaps["duckdb"] == overlaps["clickhouse"] == overlaps["postgres"]


# --- overlap ----------------------------------------------------------------------------------


def _expected_pair(a: str, b: str) -> dict:
    A, B = rp.MEMBERS[a], rp.MEMBERS[b]
    return {"a": a, "b": b, "intersection": len(A & B), "jaccard": pytest.approx(len(A & B) / len(A | B)),
            "containment_a_in_b": pytest.approx(len(A & B) / len(A)), "containment_b_in_a": pytest.approx(len(A & B) / len(B))}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_overlap_sizes_intersections_jaccard_containment(make_project, dialect):
    p = make_project((dialect,))
    r = p.segc(*_as_of("overlap", "--format", "json"), target=dialect)
    assert r.code == 0, r.text
    m = json.loads(r.out)
    assert m["persons"] == 12
    names = [s["name"] for s in m["segments"]]
    assert sorted(names) == SEGMENTS
    assert {s["name"]: s["size"] for s in m["segments"]} == {n: len(v) for n, v in rp.MEMBERS.items()}
    assert {s["name"]: s["share"] for s in m["segments"]} == pytest.approx({n: len(v) / 12 for n, v in rp.MEMBERS.items()})
    assert m["pairs"] == [_expected_pair(a, b) for a, b in itertools.combinations(names, 2)]


def test_overlap_formats_select_and_out(make_project):
    p = make_project()
    r = p.segc(*_as_of("overlap", "--select", "paid,buyers", "-s", "active"))
    assert r.code == 0, r.text
    # project order (files sorted by path): active, buyers, paid
    assert r.out.splitlines() == [
        "12 persons, 3 segments",
        "",
        "segment        size    share",
        "active            6   50.00%",
        "buyers            6   50.00%",
        "paid              5   41.67%",
        "",
        "a        b              both  jaccard   a in b   b in a",
        "active   buyers            4    0.500    0.667    0.667",
        "active   paid              5    0.833    0.833    1.000",
        "buyers   paid              4    0.571    0.667    0.800",
    ]
    r = p.segc(*_as_of("overlap", "--select", "paid buyers", "--format", "csv", "--out", "out/overlap.csv"))
    assert r.code == 0 and r.out == "wrote out/overlap.csv\n", r.text
    rows = list(csv.DictReader((p.root / "out" / "overlap.csv").open()))
    assert len(rows) == 4  # every ordered pair, the diagonal too
    row = next(r for r in rows if (r["a"], r["b"]) == ("paid", "buyers"))
    assert row == {"a": "paid", "b": "buyers", "size_a": "5", "size_b": "6", "intersection": "4", "jaccard": "0.571",
                   "containment_a_in_b": "0.800", "containment_b_in_a": "0.667"}
    r = p.segc(*_as_of("overlap", "--select", "nope"))
    assert r.code == 1 and "no segment named 'nope'" in r.err, r.text
    r = p.segc("overlap", "--format", "xml")
    assert r.code == 2, r.text


# --- run --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_run_materializes_each_segment(make_project, dialect):
    p = make_project((dialect,))
    r = p.segc(*_as_of("run"), target=dialect)
    assert r.code == 0, r.text
    lines = r.out.splitlines()
    assert lines[-1] == "materialized 9 segments"
    assert sorted(lines[:-1]) == sorted(f"{n:<11}  {len(rp.MEMBERS[n]):>10,}" for n in rp.MEMBERS)
    assert "\r" not in r.out  # no progress bar when stdout is no terminal
    assert p.tables(dialect) == set(SEGMENTS) | {"segc_runs"}
    for name, members in rp.MEMBERS.items():
        assert p.members(dialect, name) == members, name
    ns = p.namespace(dialect)
    log = p.query(dialect, f'SELECT "segment", "members", "as_of" FROM "{ns}"."segc_runs"')
    assert sorted(log) == sorted((n, len(m), rp.AS_OF) for n, m in rp.MEMBERS.items())

    # --select runs only what it names; the others keep their tables
    r = p.segc(*_as_of("run", "--select", "canada"), target=dialect)
    assert r.code == 0 and r.out.splitlines() == ["canada           2", "materialized 1 segment"], r.text
    assert p.members(dialect, "canada") == rp.MEMBERS["canada"]
    assert len(p.query(dialect, f'SELECT * FROM "{ns}"."segc_runs"')) == 10


@pytest.mark.parametrize("dialect", DIALECTS)
def test_failed_run_leaves_the_previous_members(make_project, dialect):
    """A segment whose SQL fails on the engine half way through a run (the events column it
    reads was renamed since the last run): exit 1 naming it, every table keeps its previous
    members (also those staged before the failure), no staging table is left behind."""
    p = make_project((dialect,))
    assert p.segc(*_as_of("run"), target=dialect).code == 0
    ns = p.namespace(dialect)
    log_rows = len(p.query(dialect, f'SELECT * FROM "{ns}"."segc_runs"'))

    # new data that changes `active` (first in run order) and `us` (last) ...
    persons = rp.PERSONS + [("p13", "US", "pro", 50, None, None, None)]
    events = rp.EVENTS + [("p02", "login", rp.N - rp.D, None)]
    renamed = [("amount" if c == "revenue" else c, t) for c, t in rp.EVENTS_COLUMNS]
    with p.engine(dialect) as e:  # ... and revenue renamed: big_buyers (second) fails
        e.create_table("persons", rp.PERSONS_COLUMNS, persons)
        e.create_table("events", renamed, events)

    r = p.segc(*_as_of("run"), target=dialect)
    assert r.code == 1, r.text
    assert r.out == ""
    assert r.err.startswith("Error: SEG500 segment 'big_buyers' failed, the previous members are unchanged: "), r.err
    assert "revenue" in r.err  # the engine's own words say what is missing
    assert "Traceback" not in r.err
    assert p.tables(dialect) == set(SEGMENTS) | {"segc_runs"}  # no segc_stage_… left
    for name, members in rp.MEMBERS.items():
        assert p.members(dialect, name) == members, name
    assert len(p.query(dialect, f'SELECT * FROM "{ns}"."segc_runs"')) == log_rows

    # with the column back, the same run replaces every table
    with p.engine(dialect) as e:
        e.create_table("events", rp.EVENTS_COLUMNS, events)
    r = p.segc(*_as_of("run"), target=dialect)
    assert r.code == 0, r.text
    assert p.members(dialect, "active") == rp.MEMBERS["active"] | {"p02"}
    assert p.members(dialect, "us") == rp.MEMBERS["us"] | {"p13"}
    assert p.tables(dialect) == set(SEGMENTS) | {"segc_runs"}
    assert len(p.query(dialect, f'SELECT * FROM "{ns}"."segc_runs"')) == 2 * log_rows


def _shell_like_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _signal_state(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "(process gone)"
    return " ".join(line for line in status.splitlines() if line.startswith(("SigBlk", "SigIgn", "SigPnd", "ShdPnd")))


@contextlib.contextmanager
def _run_held_at_the_swap(p: Project):
    """`segc run` on PostgreSQL while a reader's transaction holds `active`: the run stages every
    table, then waits for the reader's lock to swap them in. Yields (run process, reader)."""
    import psycopg

    ns = p.namespace("postgres")
    with psycopg.connect(p.targets["postgres"]["dsn"]) as reader:
        reader.execute(f'SELECT person_id FROM "{ns}"."active"').fetchall()  # holds the table until rollback
        # as from a shell: Ctrl-C handled by default and not blocked (the test process's own
        # signal state, which its engines' threads may change, must not decide the test)
        run = subprocess.Popen([sys.executable, "-m", "segc", *_as_of("run", ".", "--target", "postgres")],
                               cwd=p.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_shell_like_signals)
        try:
            deadline = time.time() + 60
            with psycopg.connect(p.targets["postgres"]["dsn"], autocommit=True) as watcher:
                while True:  # until the run waits for the reader's lock
                    waiting = watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE 'DROP TABLE%'"
                    ).fetchone()[0]
                    if waiting or run.poll() is not None or time.time() > deadline:
                        break
                    time.sleep(0.05)
            assert waiting, run.communicate()
            yield run, reader
        finally:
            reader.rollback()
            if run.poll() is None:
                run.wait(timeout=60)


def test_readers_see_the_old_members_until_the_swap(make_project):
    """PostgreSQL: while a reader's transaction holds the old table, the run has staged every
    new table but cannot swap; the reader keeps reading the old members, and when it ends the
    run swaps all tables in one transaction."""
    p = make_project(("postgres",))
    assert p.segc(*_as_of("run"), target="postgres").code == 0
    with p.engine("postgres") as e:
        e.create_table("events", rp.EVENTS_COLUMNS, rp.EVENTS + [("p02", "login", rp.N - rp.D, None)])
    ns = p.namespace("postgres")
    with _run_held_at_the_swap(p) as (run, reader):
        assert len([t for t in p.tables("postgres") if t.startswith("segc_stage_")]) == len(SEGMENTS)  # all staged
        assert {r[0] for r in reader.execute(f'SELECT person_id FROM "{ns}"."active"').fetchall()} == rp.MEMBERS["active"]
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    assert p.members("postgres", "active") == rp.MEMBERS["active"] | {"p02"}
    assert p.tables("postgres") == set(SEGMENTS) | {"segc_runs"}


def test_interrupted_run_leaves_the_previous_members(make_project):
    """Ctrl-C (SIGINT) while the run waits to swap its staged tables in: it cancels the swap,
    drops what it staged, says so, and every table keeps its previous members."""
    p = make_project(("postgres",))
    assert p.segc(*_as_of("run"), target="postgres").code == 0
    with p.engine("postgres") as e:
        e.create_table("events", rp.EVENTS_COLUMNS, rp.EVENTS + [("p02", "login", rp.N - rp.D, None)])
    with _run_held_at_the_swap(p) as (run, reader):
        before = _signal_state(run.pid)
        run.send_signal(signal.SIGINT)
        try:
            out, err = run.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"SIGINT did not stop the run; its signal state before: {before}; after: {_signal_state(run.pid)}")
    assert run.returncode == 1, err
    assert err == "Error: SEG500 interrupted: the previous members are unchanged\n"
    assert p.tables("postgres") == set(SEGMENTS) | {"segc_runs"}
    for name, members in rp.MEMBERS.items():
        assert p.members("postgres", name) == members, name
    ns = p.namespace("postgres")
    assert len(p.query("postgres", f'SELECT * FROM "{ns}"."segc_runs"')) == len(SEGMENTS)


def test_run_shows_a_progress_bar_on_a_terminal(make_project):
    p = make_project()
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "segc", *_as_of("run", ".")], cwd=p.root, stdout=follower,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # EIO: the process closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    screen = b"".join(chunks).decode()
    assert "\r\x1b[K[" + "." * 30 + "] 0/9 active: …" in screen
    assert "\r\x1b[K[" + "#" * 30 + "] 9/9 us: 5" in screen
    lines = screen.split("\r\x1b[K")[-1].splitlines()  # the bar is cleared; then the sizes
    assert lines[-1] == "materialized 9 segments"
    assert f"{'us':<11}  {5:>10,}" in lines


def test_run_refuses_to_replace_a_model_table(make_project):
    """On PostgreSQL the members go to the target's schema, where the model's tables live too:
    a segment named `events` would replace the events table."""
    specs = {"specs/events.yml": "segment: events\nwhere: performed(purchase)\n",
             "specs/us.yml": "segment: us\nwhere: country = 'US'\n"}
    p = make_project(("postgres", "duckdb"), specs=specs)
    r = p.segc(*_as_of("run"), target="postgres")
    assert r.code == 1
    assert "segment 'events' cannot be materialized: its table would replace the events table 'events'" in r.err
    assert len(p.query("postgres", f'SELECT * FROM "{p.namespace("postgres")}"."events"')) == len(rp.EVENTS)
    assert p.tables("postgres") == set()
    # DuckDB puts the members in schema `segments`, away from main.events: nothing to refuse
    r = p.segc(*_as_of("run"), target="duckdb")
    assert r.code == 0, r.text
    assert p.members("duckdb", "events") == {"p01", "p02", "p03", "p06", "p08", "p09", "p04"}
    assert len(p.query("duckdb", 'SELECT * FROM "events"')) == len(rp.EVENTS)


def test_run_exit_codes_and_errors(make_project, monkeypatch):
    p = make_project(("duckdb", "postgres"))
    r = p.segc(*_as_of("run", "--select", "us,nope"))
    assert r.code == 1 and "Error: SEG303 --select: no segment named 'nope'" in r.err, r.text
    r = p.segc("run", "--as-of", "yesterday")
    assert r.code == 1 and "--as-of 'yesterday' is not an ISO-8601 instant" in r.err, r.text
    r = p.segc("run", "--bogus")
    assert r.code == 2, r.text
    r = p.segc(*_as_of("run"), target="nowhere")
    assert r.code == 1 and "unknown target 'nowhere'" in r.err, r.text
    monkeypatch.delenv(PG_VAR)
    r = p.segc(*_as_of("run"), target="postgres")
    assert r.code == 1 and f"environment variable {PG_VAR} is not set (needed by target 'postgres')" in r.err, r.text
    # a definition with errors cannot run, and says why
    (p.root / "specs" / "broken.yml").write_text("segment: broken\nwhere: country = 42\n")
    r = p.segc(*_as_of("run", "--select", "us"))
    assert r.code == 0, r.text  # us does not depend on it
    r = p.segc(*_as_of("run"))
    assert r.code == 1 and "cannot run broken: fix the errors above first" in r.err, r.text
    assert "specs/broken.yml:2:" in r.err


# --- export -----------------------------------------------------------------------------------

EXPORT_CSV = """\
person_id,country,plan,age,signed_up_at,vip,zip
p01,US,pro,30,2025-02-08 12:00:00,True,02134
p03,US,pro,41,2025-01-02 03:04:05.678901,,10001
p09,DE,pro,33,2025-03-15 12:00:00,True,80331
"""


@pytest.mark.parametrize("dialect", DIALECTS)
def test_export_csv_and_parquet(make_project, dialect, tmp_path):
    p = make_project((dialect,))
    args = ("--project", ".")
    r = p.segc(*_as_of("export", "big_buyers", *args), target=dialect)
    assert r.code == 0 and r.out == "wrote big_buyers.csv\n", r.text
    assert (p.root / "big_buyers.csv").read_text() == EXPORT_CSV

    out = tmp_path / "exports" / "free.parquet"
    r = p.segc(*_as_of("export", "free", *args, "--format", "parquet", "--out", str(out)), target=dialect)
    assert r.code == 0 and r.out == f"wrote {out}\n", r.text
    con = duckdb.connect()
    schema = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{out}')").fetchall()
    assert [(c[0], c[1]) for c in schema] == [("person_id", "VARCHAR"), ("country", "VARCHAR"), ("plan", "VARCHAR"),
                                              ("age", "BIGINT"), ("signed_up_at", "TIMESTAMP"), ("vip", "BOOLEAN"),
                                              ("zip", "VARCHAR")]
    rows = con.execute(f"SELECT * FROM read_parquet('{out}') ORDER BY person_id").fetchall()
    con.close()
    assert rows == [tuple(r) for r in rp.PERSONS if r[0] in rp.MEMBERS["free"]]

    # the zip codes stay text in Parquet too
    r = p.segc(*_as_of("export", "big_buyers", *args, "--format", "parquet", "--out", "bb.parquet"), target=dialect)
    assert r.code == 0, r.text
    zips = duckdb.sql(f"SELECT zip FROM read_parquet('{p.root / 'bb.parquet'}') ORDER BY person_id").fetchall()
    assert zips == [("02134",), ("10001",), ("80331",)]

    r = p.segc("export", "nobody", *args, target=dialect)
    assert r.code == 1 and "no segment named 'nobody'" in r.err, r.text
    assert not (p.root / "nobody.csv").exists()


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_export_files_get_the_umask_mode_and_are_replaced_whole(make_project, umask):
    """CSV and Parquet exports get the mode any new file gets (0644 under umask 022), not the
    0600 of a private temporary file, and replace an earlier export by a rename (no partial
    file, no temporary left beside it)."""
    p = make_project(("duckdb",))
    (p.root / "big_buyers.csv").write_text("old\n")
    old_inode = (p.root / "big_buyers.csv").stat().st_ino
    previous = os.umask(umask)
    try:
        for fmt in ("csv", "parquet"):
            out = p.root / "out" / f"big_buyers.{fmt}"
            r = p.segc(*_as_of("export", "big_buyers", "--project", ".", "--format", fmt, "--out", str(out)))
            assert r.code == 0, r.text
            assert out.stat().st_mode & 0o777 == 0o666 & ~umask, (fmt, oct(out.stat().st_mode))
        r = p.segc(*_as_of("export", "big_buyers", "--project", "."))  # over the existing big_buyers.csv
        assert r.code == 0, r.text
    finally:
        os.umask(previous)
    replaced = p.root / "big_buyers.csv"
    assert replaced.read_text() == EXPORT_CSV and replaced.stat().st_ino != old_inode  # renamed into place
    assert replaced.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(f.name for f in (p.root / "out").iterdir()) == ["big_buyers.csv", "big_buyers.parquet"]
    assert not [f for f in p.root.iterdir() if f.name.startswith(".big_buyers")]


# --- credentials ------------------------------------------------------------------------------


@pytest.fixture
def password_role(pg_dsn):
    """A login role of the session's PostgreSQL server that must give its password
    (scram-sha-256 in pg_hba.conf for this role only; the other roles keep trust)."""
    role = f"segc_pw_{uuid.uuid4().hex[:8]}"
    password = f"Pw-{uuid.uuid4().hex}"
    admin = {"dialect": "postgres", "dsn": pg_dsn}
    with connect(admin) as e:
        hba = Path(e.query("SHOW hba_file")[0][0])
        e.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
        e.execute(f'GRANT CREATE ON DATABASE "postgres" TO "{role}"')
        original = hba.read_text()
        rules = "".join(f"host all {role} {net} scram-sha-256\n" for net in ("127.0.0.1/32", "::1/128"))
        hba.write_text(rules + original)
        e.query("SELECT pg_reload_conf()")
    import psycopg

    host_port = pg_dsn.split("@", 1)[1].split("/", 1)[0]
    url = f"postgresql://{role}:{{password}}@{host_port}/postgres"
    deadline = time.time() + 10
    while True:  # until the server has read the new rules
        try:
            psycopg.connect(url.format(password="not-it"), connect_timeout=5).close()
        except psycopg.OperationalError as error:
            if "password authentication failed" in str(error):
                break
        if time.time() > deadline:
            pytest.fail("the PostgreSQL server did not start asking for the role's password")
        time.sleep(0.05)
    try:
        yield role, password, url
    finally:
        hba.write_text(original)
        with connect(admin) as e:
            e.query("SELECT pg_reload_conf()")
            e.execute(f'DROP OWNED BY "{role}" CASCADE')
            e.execute(f'DROP ROLE "{role}"')


def _password_project(tmp_path, dsn_var: str) -> Project:
    root = rp.write_project(tmp_path / "pw", {"pg": f"dialect: postgres\ndsn: ${{{dsn_var}}}\nschema: pw\n"},
                            segc_yml=rp.SEGC_YML.replace("default_target: duckdb", "default_target: pg"))
    return Project(root, {"pg": {"dialect": "postgres", "dsn": os.environ.get(dsn_var, ""), "schema": "pw"}})


def test_a_password_never_appears_in_any_output(password_role, tmp_path, monkeypatch):
    """A role whose password the server really checks: with the right password every command
    works; with wrong ones or a mistyped DSN each fails. The password is in no output, --debug
    tracebacks and Python exceptions included."""
    role, password, url = password_role
    wrong = f"Wrong-{uuid.uuid4().hex}"
    var = "SEGC_TEST_SECRET_DSN"
    monkeypatch.setenv(var, url.format(password=password))
    p = _password_project(tmp_path, var)
    with p.engine("pg") as e:  # the role loads the data itself: the password is really needed
        rp.load_data(e)

    def segc_all(dsn: str, commands: list[tuple[tuple, bool]]) -> list[Result]:
        """Each (args, debug) as its own process with the DSN in the environment, four at a time."""
        env = {**os.environ, var: dsn}

        def one(command):
            args, debug = command
            argv = (["--debug"] if debug else []) + [args[0]] + (["."] if args[0] != "export" else [])
            argv += ["--target", "pg", *args[1:], "--as-of", rp.AS_OF_ISO]
            r = subprocess.run([sys.executable, "-m", "segc", *argv], cwd=p.root, env=env, capture_output=True,
                               text=True, timeout=120)
            return Result(r.returncode, r.stdout, r.stderr)

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            return list(pool.map(one, commands))

    export = ("export", "paid", "--project", ".")
    outputs: list[str] = []
    # the right password: every command works, with and without --debug
    good = url.format(password=password)
    results = segc_all(good, [(("run",), False), (("run",), True), (("check",), True), (("overlap",), True), (export, True)])
    assert [r.code for r in results] == [0, 0, 1, 0, 0], [r.err for r in results]  # check: the fixture's expectations fail on purpose
    outputs += [r.text for r in results]
    # a query that fails on the server, under --debug: a traceback
    with p.engine("pg") as e:
        e.execute('ALTER TABLE "pw"."events" RENAME COLUMN "revenue" TO "amount"')
    (r,) = segc_all(good, [(("run",), True)])
    assert r.code == 1 and "Traceback" in r.err and "segment 'big_buyers' failed" in r.err, r.text
    outputs.append(r.text)

    # wrong passwords and broken DSNs, in URL and keyword form: the connection fails
    host, port = url.split("@")[1].split("/")[0].rsplit(":", 1)
    bad = {
        url.format(password=wrong): "password authentication failed",
        f"host={host} port={port} user={role} password={wrong} dbname=postgres": "password authentication failed",
        f"host={host} port={port} user={role} password='{wrong} x' dbname=postgres": "password authentication failed",
        url.format(password=wrong).replace("://", "//"): "connection info string",  # a typo: psycopg quotes the DSN
        url.format(password=wrong).replace("/postgres", ":x/postgres"): "failed",
    }
    for dsn, message in bad.items():
        commands = [(("run",), False), (("run",), True), (("check",), True), (("overlap",), False), ((export), True)]
        for r, (_, debug) in zip(segc_all(dsn, commands), commands):
            assert r.code == 1 and message in r.err, r.text
            assert ("Traceback" in r.err) is debug, r.text
            outputs.append(r.text)
        # the Python API: the exception's text, repr and traceback
        monkeypatch.setenv(var, dsn)
        with pytest.raises(SegcError) as caught:
            api.run(p.root, "pg", None, rp.AS_OF)
        outputs.append(str(caught.value) + repr(caught.value) + "".join(traceback.format_exception(caught.value)))
        assert message in outputs[-1]

    assert len(outputs) == 5 + 1 + 5 * (5 + 1)
    for text in outputs:
        assert password not in text
        assert wrong not in text


# --- a ClickHouse server over HTTP ------------------------------------------------------------

CH_SERVER = Path(__file__).parent / "engines" / "chdb_http_server.py"


@pytest.fixture(scope="module")
def clickhouse_url(tmp_path_factory):
    """The stand-in ClickHouse HTTP server of tests/engines (chdb in a process of its own)."""
    server = subprocess.Popen([sys.executable, str(CH_SERVER), str(tmp_path_factory.mktemp("chdb-http"))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = server.stdout.readline().strip()
        if not port:
            pytest.fail(f"the stand-in ClickHouse server did not start:\n{server.stderr.read()}", pytrace=False)
        yield f"http://default:Ch-{uuid.uuid4().hex}@127.0.0.1:{port}"  # the stand-in ignores credentials
    finally:
        server.stdin.close()  # it exits when its stdin closes
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_a_clickhouse_server_target(clickhouse_url, tmp_path, monkeypatch):
    """`url:` targets (clickhouse-connect): run, check, overlap and export as on the other engines,
    as separate processes; the URL's password is printed nowhere."""
    database = f"segc_test_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("SEGC_TEST_CH_URL", clickhouse_url)
    root = rp.write_project(tmp_path / "ch", {"ch": f"dialect: clickhouse\nurl: ${{SEGC_TEST_CH_URL}}\ndatabase: {database}\n"},
                            segc_yml=rp.SEGC_YML.replace("default_target: duckdb", "default_target: ch"))
    target = {"dialect": "clickhouse", "url": clickhouse_url, "database": database}
    p = Project(root, {"ch": target})
    with connect(target) as e:
        rp.load_data(e)
    try:
        password = clickhouse_url.split(":")[2].split("@")[0]
        results = [p.segc(*_as_of("run"), target="ch"), p.segc(*_as_of("check", "--format", "json"), target="ch"),
                   p.segc(*_as_of("overlap", "--format", "json"), target="ch"),
                   p.segc(*_as_of("export", "big_buyers", "--project", "."), target="ch")]
        assert [r.code for r in results] == [0, 1, 0, 0], results
        with connect(target) as e:
            for name, members in rp.MEMBERS.items():
                assert {r[0] for r in e.query(f'SELECT "person_id" FROM "{database}"."{name}"')} == members, name
        assert json.loads(results[1].out)["failed"] == 10
        sizes = {s["name"]: s["size"] for s in json.loads(results[2].out)["segments"]}
        assert sizes == {n: len(m) for n, m in rp.MEMBERS.items()}
        assert (root / "big_buyers.csv").read_text() == EXPORT_CSV
        # a query the server refuses, under --debug
        with connect(target) as e:
            e.execute(f'RENAME TABLE "{database}"."events" TO "{database}"."events_old"')
        r = p.segc(*_as_of("run"), target="ch", debug=True)
        assert r.code == 1 and "Traceback" in r.err and "segment 'active' failed" in r.err, r.text
        for r in results + [r]:
            assert password not in r.text
    finally:
        with connect(target) as e:
            e.execute(f'DROP DATABASE IF EXISTS "{database}"')
