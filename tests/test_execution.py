"""The issue "compile segments to SQL that returns the same members on all three engines",
checked against LANGUAGE.md §4 by execution:

- every expression example of LANGUAGE.md §3 (read from the document itself) and the targeted
  specs of tests/fixtures/specs.py, compiled with a fixed --as-of and run on DuckDB, ClickHouse
  (chdb) and PostgreSQL, give the same members on each engine, and the members the reference
  evaluator (tests/reference.py, written from LANGUAGE.md alone) gives;
- the reference itself agrees with member lists worked out by hand for the trickiest rules;
- the batch flags query agrees with the one-segment queries, and `not segment(x)` is the exact
  complement of x on every engine;
- without --as-of, now() is the engine's clock on all three engines;
- every segment of the demo project agrees with the reference on generated demo data.

The same data is loaded twice: flat columns in schema-qualified tables, and properties in a
JSON column (`properties_json`).
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest

from segc import api

import reference
from fixtures import dataset as ds
from fixtures.harness import DIALECTS, drop_namespace, load, run_flags, run_segment
from fixtures.specs import ALL, EXAMPLE_HAND, HAND, SPECS

pytestmark = pytest.mark.engines

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE_MD = ROOT / "docs" / "LANGUAGE.md"
AS_OF = ds.AS_OF


# --- LANGUAGE.md §3 examples, read from the document ---------------------------------------------
def _section_3() -> str:
    text = LANGUAGE_MD.read_text(encoding="utf-8")
    start = text.index("## 3. Expressions")
    return text[start : text.index("\n## 4.", start)]


def language_block_examples() -> list[str]:
    """The lines of the fenced blocks of §3 ("Examples of what users write"); the parser
    itself skips the `--` comments."""
    out = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", _section_3(), re.S):
        out += [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("--")]
    return out


def language_inline_examples() -> list[str]:
    """Every `code` span of §3 (the table and the prose). Not all are whole conditions (`'US'`,
    `starts_with`): the ones the checker accepts as a segment's where are kept."""
    sec = _section_3()
    spans = re.findall(r"``\s(.+?)\s``", sec) + re.findall(r"(?<!`)`([^`\n]+)`(?!`)", sec)
    seen = dict.fromkeys(s.strip() for s in spans if s.strip())
    return list(seen)


def without_comment(expression: str) -> str:
    return re.sub(r"\s*--[^'\"]*$", "", expression)


BLOCK_EXAMPLES = language_block_examples()
INLINE_CANDIDATES = language_inline_examples()
EXAMPLE_NAMES = {f"example_{i + 1:02d}": e for i, e in enumerate(BLOCK_EXAMPLES)}
INLINE_NAMES = {f"inline_{i + 1:02d}": e for i, e in enumerate(INLINE_CANDIDATES)}


def test_language_md_has_examples():
    assert len(BLOCK_EXAMPLES) >= 9, BLOCK_EXAMPLES
    bare = {without_comment(e) for e in BLOCK_EXAMPLES}
    assert set(EXAMPLE_HAND) <= bare, set(EXAMPLE_HAND) - bare
    assert len(INLINE_CANDIDATES) >= 20


# --- the loaded fixture ------------------------------------------------------------------------------
class World:
    def __init__(self, layout: dict, result):
        self.layout = layout
        self.model = result.project.model
        self.segments = result.segments()
        self.reference = reference.evaluate(self.model, self.segments, layout["persons"], layout["events"], AS_OF)


def _negation(name: str) -> str:
    return f"neg__{name}"


@pytest.fixture(scope="module")
def worlds(shared_engines, tmp_path_factory):
    """Both layouts loaded into every engine, their projects checked, the reference computed."""
    namespace = f"segc_q_{uuid.uuid4().hex[:10]}"
    layouts = {"flat": ds.flat_layout(namespace), "json": ds.json_layout()}
    clean = {**SPECS, **EXAMPLE_NAMES}
    specs = {**clean, **{_negation(n): f"not segment({n})" for n in clean}}
    out = {}
    try:
        for key, layout in layouts.items():
            load(shared_engines, layout["tables"])
            root = ds.write_project(tmp_path_factory.mktemp(f"fixture_{key}"), layout["model_yaml"], specs)
            result = api.validate(root)
            assert result.ok, "\n".join(d.headline() for d in result.errors)
            out[key] = World(layout, result)
            # the inline examples of §3 that are whole conditions: a project of their own, since
            # the others are errors by design
            inline_root = ds.write_project(tmp_path_factory.mktemp(f"inline_{key}"), layout["model_yaml"], {**INLINE_NAMES, "power_buyers": SPECS["power_buyers"]})
            inline = api.validate(inline_root)
            out[key].inline_model = inline.project.model
            out[key].inline_segments = inline.segments()
            out[key].inline_reference = reference.evaluate(inline.project.model, inline.segments(), layout["persons"], layout["events"], AS_OF)
        yield out
    finally:
        drop_namespace(shared_engines, namespace)


LAYOUTS = ("flat", "json")


def _check(shared_engines, world: World, name: str, where: str, model=None, segments=None, expected=None):
    outcome = run_segment(
        shared_engines, model or world.model, segments or world.segments, name, AS_OF,
        world.reference[name] if expected is None else expected,
    )
    assert outcome.ok, outcome.report(where)
    return outcome


# --- the reference is right where a person can work the answer out ------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_reference_matches_hand_computed_members(worlds, layout):
    ref = worlds[layout].reference
    wrong = {n: (sorted(ref[n]), sorted(m)) for n, m in HAND.items() if ref[n] != m}
    assert not wrong, f"reference vs hand-computed (got, expected): {wrong}"
    for i, (name, where) in enumerate(EXAMPLE_NAMES.items()):
        if without_comment(where) in EXAMPLE_HAND:
            assert ref[name] == EXAMPLE_HAND[without_comment(where)], (where, sorted(ref[name]))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_reference_partitions_the_universe(worlds, layout):
    ref = worlds[layout].reference
    for name in list(SPECS) + list(EXAMPLE_NAMES):
        assert ref[name] | ref[_negation(name)] == ALL and not ref[name] & ref[_negation(name)], name


# --- every spec and example: the same members on every engine and in the reference -----------------
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(SPECS))
def test_spec_members_agree(shared_engines, worlds, layout, name):
    _check(shared_engines, worlds[layout], name, SPECS[name])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(EXAMPLE_NAMES))
def test_language_example_members_agree(shared_engines, worlds, layout, name):
    _check(shared_engines, worlds[layout], name, EXAMPLE_NAMES[name])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_language_inline_examples_agree(shared_engines, worlds, layout):
    world = worlds[layout]
    accepted = [n for n in INLINE_NAMES if n in world.inline_segments]
    accepted_text = {INLINE_NAMES[n] for n in accepted}
    # the table's whole conditions must all be accepted (and so be run here)
    for must in ("country in ('US', 'CA')", "plan not in ('free')", "age between 18 and 30",
                 "email ends_with '@acme.com'", "plan is null", "plan is not null", "segment(power_buyers)",
                 "performed('Sign Up')"):
        assert must in accepted_text, f"LANGUAGE.md §3 example not accepted: {must}"
    for name in accepted:
        outcome = run_segment(shared_engines, world.inline_model, world.inline_segments, name, AS_OF, world.inline_reference[name])
        assert outcome.ok, outcome.report(INLINE_NAMES[name])


# --- the batch query ---------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_flags_agree_with_single_queries(shared_engines, worlds, layout, dialect):
    """flags_sql over every spec and its negation: each flag column is the reference's members
    (which the single-segment queries were checked against), and `not segment(x)` flags exactly
    the persons x does not."""
    world = worlds[layout]
    clean = list(SPECS) + list(EXAMPLE_NAMES)
    names = clean + [_negation(n) for n in clean]
    engine = shared_engines[dialect]
    problems = []
    for chunk_start in range(0, len(names), 60):  # several flags queries of 60 columns each
        chunk = names[chunk_start : chunk_start + 60]
        flags = run_flags(engine, dialect, world.model, world.segments, chunk, AS_OF)
        assert set(flags) == ALL, f"flags query rows: {sorted(set(flags) ^ ALL)}"
        for n in chunk:
            got = {k for k, f in flags.items() if f[n]}
            if got != world.reference[n]:
                problems.append(f"{n}: missing {sorted(world.reference[n] - got)} extra {sorted(got - world.reference[n])}")
    assert not problems, f"{dialect} flags disagree:\n" + "\n".join(problems)


# --- now() when no --as-of is given -------------------------------------------------------------------
NOW_SPECS = {
    "now_recent": "performed(any within 1d)",
    "now_count": "count(any) = 2",
    "now_churned": "last_time(any) < ago(30d)",
    "now_signed_future": "signed_up_at > now()",
    "now_signed_recent": "signed_up_at between ago(2d) and now()",
    "now_periods": "active_periods(any within 3d every 1d) = 2",
    "now_sequence": "sequence(a, b within 3d span 1d)",
    "now_first": "first_time(any) >= ago(3d)",
}


def test_now_path_uses_engine_clock(shared_engines, tmp_path):
    """Compiled without as_of, on data placed hours away from the real current time: every
    engine's now() is the wall clock in UTC (an engine in local time or with whole-day
    precision would be hours off and disagree)."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    h = dt.timedelta(hours=1)
    persons = [
        {"pid": "n1", "signed_up_at": now + 3 * h},
        {"pid": "n2", "signed_up_at": now - 30 * h},
        {"pid": "n3", "signed_up_at": now - 72 * h},
        {"pid": "n4", "signed_up_at": None},
    ]
    events = [
        {"pid": "n1", "ev": "a", "ts": now - 3 * h},  # within 1d
        {"pid": "n1", "ev": "b", "ts": now - 2 * h},
        {"pid": "n1", "ev": "b", "ts": now + 3 * h},  # in the future: does not exist yet
        {"pid": "n2", "ev": "a", "ts": now - 50 * h},
        {"pid": "n2", "ev": "b", "ts": now - 30 * h},
        {"pid": "n2", "ev": "a", "ts": now + 48 * h},
        {"pid": "n3", "ev": "a", "ts": now - 40 * 24 * h},  # churned
        {"pid": "n4", "ev": "b", "ts": now - 5 * h},
        {"pid": "n4", "ev": "a", "ts": now - 4 * h},
    ]
    model_yaml = (
        "name: nowcheck\nmodel:\n"
        "  persons: {table: now_persons, key: pid, properties: {signed_up_at: timestamp}}\n"
        "  events: {table: now_events, person: pid, event: ev, timestamp: ts}\n"
    )
    load(shared_engines, [
        ("now_persons", [("pid", "string"), ("signed_up_at", "timestamp")], persons),
        ("now_events", [("pid", "string"), ("ev", "string"), ("ts", "timestamp")], events),
    ])
    result = api.validate(ds.write_project(tmp_path / "now", model_yaml, NOW_SPECS))
    assert result.ok, [d.headline() for d in result.errors]
    segments = result.segments()
    expected = reference.evaluate(result.project.model, segments, persons, events, now)
    assert expected == {
        "now_recent": {"n1", "n4"},
        "now_count": {"n1", "n2", "n4"},
        "now_churned": {"n3"},
        "now_signed_future": {"n1"},
        "now_signed_recent": {"n2"},
        "now_periods": {"n2"},
        "now_sequence": {"n1", "n2"},
        "now_first": {"n1", "n2", "n4"},
    }
    for name, where in NOW_SPECS.items():
        outcome = run_segment(shared_engines, result.project.model, segments, name, None, expected[name])
        assert outcome.ok, outcome.report(where)


# --- the demo project on generated data ----------------------------------------------------------------
def test_demo_project_segments_agree(shared_engines):
    if not (ROOT / "segc.yml").is_file() or not (ROOT / "specs").is_dir():
        pytest.skip("no demo project at the repository root")
    demo_data = pytest.importorskip("segc.demo_data")
    result = api.validate(ROOT)
    assert result.ok, "\n".join(d.headline() for d in result.errors)
    model = result.project.model
    segments = result.segments()
    persons, events, pcols, ecols = demo_data.generate(seed=7, persons=300, events_target=12_000)
    load(shared_engines, [(model.persons.table, pcols, persons), (model.events.table, ecols, events)])
    as_of = demo_data.DEMO_AS_OF
    prow = [dict(zip([c for c, _ in pcols], r)) for r in persons]
    erow = [dict(zip([c for c, _ in ecols], r)) for r in events]
    expected = reference.evaluate(model, segments, prow, erow, as_of)
    assert len(segments) >= 20
    failures = []
    for name, seg in segments.items():
        outcome = run_segment(shared_engines, model, segments, name, as_of, expected[name])
        if not outcome.ok:
            failures.append(outcome.report())
    # the demo must exercise behaviour: some segments have members, not all have everyone
    sizes = [len(m) for m in expected.values()]
    assert any(0 < s < len(persons) for s in sizes)
    assert not failures, "\n\n".join(failures)


# --- window bounds are one time per person -------------------------------------------------------
def test_window_bound_with_behaviour_is_rejected(worlds, tmp_path):
    """`count(any since first_time(purchase))`: a window bound is evaluated per person before
    the events are scanned, so a behavioural call there is an error located at the call."""
    world = worlds["flat"]
    specs = {"since_first": "count(any since first_time(purchase)) >= 2",
             "between_calls": "performed(login between first_time(signup) and last_time(purchase))"}
    result = api.validate(ds.write_project(tmp_path / "p", world.layout["model_yaml"], specs))
    codes = sorted((d.code, d.span.col) for d in result.errors)
    assert [c for c, _ in codes] == ["SEG311", "SEG311"], [d.headline() for d in result.errors]
    assert all("window bound" in d.message for d in result.errors)
