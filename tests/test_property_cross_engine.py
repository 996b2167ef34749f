"""Property: for random well-typed segment expressions (written as segc text) over random small
datasets, DuckDB, ClickHouse (chdb), PostgreSQL and the reference evaluator (tests/reference.py)
give the same members, one query per segment and one flags query for all of them.

Each example writes a project with two segments, `helper` and `main` (which may reference
`segment(helper)`), validates it through segc.api, loads the dataset into fresh tables on the
three shared connections, and compares. The data is drawn around the fixed --as-of: events
exactly on window edges, at and after now(), of unknown persons, with equal times, with null
names, times and properties; text with quotes, backslashes, newlines, LIKE wildcards and
non-ASCII. Half the examples read the properties from a JSON column.

    SEGC_FUZZ_EXAMPLES=1000 python -m pytest tests/test_property_cross_engine.py   # nightly

By default the examples are derandomized (the same 60 every run); with SEGC_FUZZ_EXAMPLES set
they are random.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from segc import api
from segc.compiler import flags_sql, segment_sql
from segc.engines import EngineError

import reference
from fixtures.harness import DIALECTS, load

pytestmark = pytest.mark.engines

EXAMPLES = int(os.environ.get("SEGC_FUZZ_EXAMPLES", "60"))
AS_OF = dt.datetime(2026, 3, 15, 12, 0, 0)
N = AS_OF
US = dt.timedelta(microseconds=1)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)

PERSON_PROPS = {"country": "string", "$ref": "string", "age": "integer", "score": "number", "vip": "boolean", "seen_at": "timestamp"}
EVENT_PROPS = {"$browser": "string", "revenue": "number", "qty": "integer", "flag": "boolean", "shipped": "timestamp"}
EVENT_NAMES = ["view", "cart", "buy"]

# --- data ------------------------------------------------------------------------------------------
TIMES = [
    N - 30 * D, N - 30 * D - US, N - 30 * D + US, N - 14 * D, N - 7 * D, N - 7 * D - US, N - 3 * D,
    N - 2 * D, N - D, N - D - US, N - 12 * H, N - H, N - US, N, N + US, N + D, N - 60 * D,
    dt.datetime(2026, 3, 15), dt.datetime(2026, 3, 14, 23, 59, 59, 999999), N - 7 * D + H,
]
STRINGS = [None, "US", "us", "CA", "it's", "", "a_c", "a%c", "x\\y", "say \"hi\"", "line\nbreak", "Zé", "ÉCOLE", "🎉", "Chrome", "Chrome Mobile"]
INTS = [None, 0, 1, 2, 3, 18, 30, -1]
FLOATS = [None, 0.0, 0.5, 2.5, -1.5, 10.0, 3.0]
BOOLS = [None, True, False]

times = st.sampled_from(TIMES)
maybe_times = st.one_of(st.none(), times)


@st.composite
def datasets(draw):
    n = draw(st.integers(1, 7))
    keys = [f"k{i}" for i in range(n)]
    persons = []
    for k in keys:
        persons.append({
            "pid": k,
            "country": draw(st.sampled_from(STRINGS)),
            "$ref": draw(st.sampled_from(STRINGS)),
            "age": draw(st.sampled_from(INTS)),
            "score": draw(st.sampled_from(FLOATS)),
            "vip": draw(st.sampled_from(BOOLS)),
            "seen_at": draw(maybe_times),
        })
    events = []
    for _ in range(draw(st.integers(0, 24))):
        who = draw(st.one_of(st.sampled_from(keys), st.sampled_from(["ghost", None])) if keys else st.just("ghost"))
        events.append({
            "pid": who,
            "name": draw(st.one_of(st.sampled_from(EVENT_NAMES), st.sampled_from(EVENT_NAMES), st.none())),
            "ts": draw(st.one_of(times, times, times, st.none())),
            "$browser": draw(st.sampled_from(STRINGS)),
            "revenue": draw(st.sampled_from(FLOATS)),
            "qty": draw(st.sampled_from(INTS)),
            "flag": draw(st.sampled_from(BOOLS)),
            "shipped": draw(maybe_times),
        })
    return persons, events


# --- expressions (text in the segc language, well-typed by construction) -------------------------------
INT_LITS = ["0", "1", "2", "3", "18", "30", "-1"]
FLOAT_LITS = ["0.5", "2.5", "-1.5", "10.0", "1.5"]
STR_LITS = ["'US'", "'us'", "'CA'", "'it''s'", "''", "'a_c'", "'%'", "'x\\y'", "'Zé'", "\"é\"", "'🎉'", "'line\nbreak'", "'D'", "'Chrome'"]
PATTERNS = ["''", "'U'", "'u'", "'s'", "'a_'", "'%'", "'\\'", "'é'", "'É'", "'🎉'", "''''", "'line\n'", "'Chrome'", "'c'"]
REGEXES = ["'^U'", "'S$'", "'a.c'", "'[A-Z]{2}'", "'^$'", "'e.b'", "'Ch|ca'", "'^.{2}$'", "'[0-9]'", "'x\\\\y'", "'^[^a-z]+$'"]
TIME_LITS = ["now()", "ago(1d)", "ago(7d)", "ago(30d)", "ago(12h)", "timestamp('2026-03-08 12:00:00')",
             "date('2026-03-14')", "timestamp('2026-03-15 11:59:59.999999')", "timestamp('2026-02-13T12:00:00Z')"]
DURATIONS = ["1s", "1h", "12h", "1d", "2d", "7d", "30d", "1w"]
EVENTS_TEXT = ["view", "cart", "buy", "any", "'buy'"]


class Gen:
    """Draws one expression. scope: 'person' (a segment's where) or 'event' (a call's where)."""

    def __init__(self, draw, allow_ref: bool):
        self.draw = draw
        self.allow_ref = allow_ref

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def chance(self, p: float = 0.5) -> bool:
        return self.draw(st.floats(0, 1)) < p

    # leaves by type
    def num_prop(self, scope):
        person = ["age", "score"]
        event = ["revenue", "qty", "person.age", "person.score"]
        return self.pick(person if scope == "person" else event)

    def str_prop(self, scope):
        return self.pick(["country", "$ref", "person.country"] if scope == "person" else ["$browser", "person.country", "person.`$ref`"])

    def bool_prop(self, scope):
        return self.pick(["vip", "person.vip"] if scope == "person" else ["flag", "person.vip"])

    def time_prop(self, scope):
        return self.pick(["seen_at"] if scope == "person" else ["shipped", "person.seen_at"])

    # values
    def num(self, scope, depth):
        kinds = ["prop", "prop", "lit"]
        if depth > 0:
            kinds += ["arith", "arith", "neg"]
            if scope == "person":
                kinds += ["agg", "agg", "agg", "periods"]
        k = self.pick(kinds)
        if k == "prop":
            return self.num_prop(scope)
        if k == "lit":
            return self.pick(INT_LITS + FLOAT_LITS)
        if k == "neg":
            return f"-({self.num(scope, depth - 1)})"
        if k == "arith":
            op = self.pick(["+", "-", "*", "/"])
            return f"({self.num(scope, depth - 1)} {op} {self.num(scope, depth - 1)})"
        if k == "periods":
            return self.active_periods(depth)
        func = self.pick(["count", "count", "sum", "avg", "min", "max", "active_days"])
        if func in ("count", "active_days"):
            return f"{func}({self.filter(depth)})"
        event = self.pick(EVENTS_TEXT[:4])
        prop = self.pick(["revenue", "qty"])
        return f"{func}({event}.{prop}{self.filter_rest(depth)})"

    def text(self, scope):
        return self.str_prop(scope)

    def time(self, scope, depth, behaviour=True):
        kinds = ["prop", "lit"]
        if depth > 0:
            kinds += ["shift"]
            if scope == "person" and behaviour:
                kinds += ["first", "last"]
        k = self.pick(kinds)
        if k == "prop":
            return self.time_prop(scope)
        if k == "lit":
            return self.pick(TIME_LITS)
        if k == "shift":
            return f"({self.time(scope, depth - 1, behaviour)} {self.pick(['+', '-'])} {self.pick(DURATIONS)})"
        return f"{'first_time' if k == 'first' else 'last_time'}({self.filter(depth)})"

    # conditions
    def boolean(self, scope, depth):
        kinds = ["cmp_num", "cmp_num", "cmp_text", "cmp_time", "cmp_bool", "in_num", "in_text", "in_bool",
                 "between_num", "between_text", "between_time", "is_null", "text_test", "text_test", "bare", "lit"]
        if depth > 0:
            kinds += ["not", "and", "or", "and", "or"]
            if scope == "person":
                kinds += ["performed", "performed", "sequence", "sequence"]
        if scope == "person" and self.allow_ref:
            kinds += ["segment"]
        k = self.pick(kinds)
        d = max(depth - 1, 0)
        if k == "cmp_num":
            return f"{self.num(scope, d)} {self.pick(['=', '!=', '<>', '<', '<=', '>', '>='])} {self.num(scope, d)}"
        if k == "cmp_text":
            other = self.pick(STR_LITS) if self.chance(0.7) else self.text(scope)
            return f"{self.text(scope)} {self.pick(['=', '!=', '<', '>='])} {other}"
        if k == "cmp_time":
            return f"{self.time(scope, d)} {self.pick(['=', '!=', '<', '<=', '>', '>='])} {self.time(scope, d)}"
        if k == "cmp_bool":
            sides = [self.bool_prop(scope), self.pick(["true", "false"]), f"({self.boolean(scope, d)})"]
            left, right = self.pick(sides), self.pick(sides)
            if left in ("true", "false") and right in ("true", "false"):
                left = self.bool_prop(scope)
            return f"{left} {self.pick(['=', '!='])} {right}"
        if k == "in_num":
            items = ", ".join(self.draw(st.lists(st.sampled_from(INT_LITS + FLOAT_LITS), min_size=1, max_size=3)))
            return f"{self.num(scope, d)} {self.pick(['in', 'not in'])} ({items})"
        if k == "in_text":
            items = ", ".join(self.draw(st.lists(st.sampled_from(STR_LITS), min_size=1, max_size=3)))
            return f"{self.text(scope)} {self.pick(['in', 'not in'])} ({items})"
        if k == "in_bool":
            operand = self.bool_prop(scope) if self.chance(0.6) else f"({self.boolean(scope, d)})"
            return f"{operand} {self.pick(['in', 'not in'])} ({self.pick(['true', 'false', 'true, false'])})"
        if k == "between_num":
            return f"{self.num(scope, d)} between {self.num(scope, 0)} and {self.num(scope, 0)}"
        if k == "between_text":
            return f"{self.text(scope)} between {self.pick(STR_LITS)} and {self.pick(STR_LITS)}"
        if k == "between_time":
            return f"{self.time(scope, d)} between {self.time(scope, 0)} and {self.time(scope, 0)}"
        if k == "is_null":
            operand = self.pick(["num", "text", "time", "bool", "cond"])
            value = {"num": lambda: self.num(scope, d), "text": lambda: self.text(scope), "time": lambda: self.time(scope, d),
                     "bool": lambda: self.bool_prop(scope), "cond": lambda: f"({self.boolean(scope, d)})"}[operand]()
            if not any(c.isalpha() for c in value) or value.startswith(("timestamp(", "date(")) or value in ("(true)", "(false)"):
                value = self.num_prop(scope)  # 'is null' takes no constant
            return f"{value} is {self.pick(['null', 'not null'])}"
        if k == "text_test":
            op = self.pick(["starts_with", "ends_with", "contains", "icontains", "matches"])
            pattern = self.pick(REGEXES if op == "matches" else PATTERNS)
            return f"{self.text(scope)} {op} {pattern}"
        if k == "bare":
            return self.bool_prop(scope)
        if k == "lit":
            return self.pick(["true", "false"])
        if k == "not":
            return f"not ({self.boolean(scope, d)})"
        if k in ("and", "or"):
            return f"({self.boolean(scope, d)}) {k} ({self.boolean(scope, d)})"
        if k == "performed":
            return f"performed({self.filter(depth)})"
        if k == "sequence":
            return self.sequence(depth)
        if k == "segment":
            return "segment(helper)"
        raise AssertionError(k)

    # behaviour
    def window(self):
        kind = self.pick(["", "", "within", "since", "before", "between"])
        bound = lambda: self.time("person", 1, behaviour=False)  # noqa: E731
        if kind == "within":
            return f" within {self.pick(DURATIONS)}"
        if kind == "since":
            return f" since {bound()}"
        if kind == "before":
            return f" before {bound()}"
        if kind == "between":
            return f" between {bound()} and {bound()}"
        return ""

    def where(self, depth):
        return f" where ({self.boolean('event', max(depth - 1, 0))})" if self.chance(0.5) else ""

    def filter_rest(self, depth):
        return self.where(depth) + self.window()

    def filter(self, depth):
        return self.pick(EVENTS_TEXT) + self.filter_rest(depth)

    def active_periods(self, depth):
        event = self.pick(EVENTS_TEXT)
        minimum = f" min {self.pick(['1', '2', '3'])}" if self.chance(0.5) else ""
        return f"active_periods({event}{self.filter_rest(depth)} every {self.pick(['1h', '12h', '1d', '2d', '7d'])}{minimum})"

    def sequence(self, depth):
        n = self.draw(st.integers(2, 3))
        window = self.window()
        steps = []
        for i in range(n):
            step = self.pick(EVENTS_TEXT)
            last = i == n - 1
            # `E where (c) between …` would read the between as part of the condition
            if self.chance(0.4) and not (last and window.startswith(" between")):
                step += f" where ({self.boolean('event', max(depth - 1, 0))})"
            steps.append(step)
        span = f" span {self.pick(['1s', '1h', '12h', '1d', '2d'])}" if self.chance(0.5) else ""
        return f"sequence({', '.join(steps)}{window}{span})"


@st.composite
def expressions(draw, allow_ref: bool):
    return Gen(draw, allow_ref).boolean("person", draw(st.integers(0, 3)))


# --- the projects ------------------------------------------------------------------------------------
def _model(json_props: bool) -> str:
    if json_props:
        persons = {"table": "fz_persons_json", "key": "pid", "properties": PERSON_PROPS, "properties_json": "doc"}
        events = {"table": "fz_events_json", "person": "pid", "event": "name", "timestamp": "ts", "properties": EVENT_PROPS, "properties_json": "doc"}
    else:
        persons = {"table": "fz_persons", "key": "pid", "properties": PERSON_PROPS}
        events = {"table": "fz_events", "person": "pid", "event": "name", "timestamp": "ts", "properties": EVENT_PROPS}
    return yaml.safe_dump({"name": "fuzz", "model": {"persons": persons, "events": events}}, sort_keys=False, allow_unicode=True)


def _doc(row: dict, props: dict) -> dict:
    return {k: (v.isoformat(sep=" ", timespec="microseconds") if isinstance(v, dt.datetime) else v)
            for k, v in ((k, row[k]) for k in props) if v is not None}


def _tables(persons, events, json_props: bool):
    if json_props:
        p = [{"pid": r["pid"], "doc": _doc(r, PERSON_PROPS)} for r in persons]
        e = [{"pid": r["pid"], "name": r["name"], "ts": r["ts"], "doc": _doc(r, EVENT_PROPS)} for r in events]
        return p, e, [
            ("fz_persons_json", [("pid", "string"), ("doc", "json")], p),
            ("fz_events_json", [("pid", "string"), ("name", "string"), ("ts", "timestamp"), ("doc", "json")], e),
        ]
    pcols = [("pid", "string")] + list(PERSON_PROPS.items())
    ecols = [("pid", "string"), ("name", "string"), ("ts", "timestamp")] + list(EVENT_PROPS.items())
    return persons, events, [("fz_persons", pcols, persons), ("fz_events", ecols, events)]


def _write(root: Path, json_props: bool, helper: str, main: str):
    if root.exists():
        shutil.rmtree(root)
    (root / "specs").mkdir(parents=True)
    (root / "segc.yml").write_text(_model(json_props), encoding="utf-8")
    for name, where in (("helper", helper), ("main", main)):
        text = yaml.safe_dump({"segment": name, "where": where}, allow_unicode=True, width=100_000)
        (root / "specs" / f"{name}.yml").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="segc-fuzz-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _describe(helper, main, persons, events, json_props) -> str:
    lines = [f"helper: {helper}", f"main:   {main}", f"layout: {'properties_json' if json_props else 'columns'}", "persons:"]
    lines += [f"  {p!r}" for p in persons]
    lines.append("events:")
    lines += [f"  {e!r}" for e in events]
    return "\n".join(lines)


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="SEGC_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)


@FUZZ
@given(data=datasets(), helper=expressions(allow_ref=False), main=expressions(allow_ref=True), json_props=st.booleans())
def test_random_segments_agree_on_every_engine(shared_engines, workdir, data, helper, main, json_props):
    persons, events = data
    root = workdir / "project"
    _write(root, json_props, helper, main)
    result = api.validate(root)
    assert result.ok, "the generator made an expression the checker rejects:\n" + "\n".join(
        d.headline() for d in result.errors) + "\n" + _describe(helper, main, persons, events, json_props)
    model, segments = result.project.model, result.segments()
    p_rows, e_rows, tables = _tables(persons, events, json_props)
    load(shared_engines, tables)
    expected = reference.evaluate(model, segments, p_rows, e_rows, AS_OF)
    for name in ("helper", "main"):  # --hypothesis-show-statistics: how discriminating the examples are
        size = len(expected[name])
        event(f"{name}: " + ("no member" if size == 0 else "every person" if size == len(persons) else "some persons"))

    problems = []
    for dialect in DIALECTS:
        engine = shared_engines[dialect]
        for name in ("helper", "main"):
            sql = segment_sql(model, segments, name, dialect, AS_OF)
            try:
                got = {r[0] for r in engine.query(sql)}
            except EngineError as error:
                problems.append(f"{dialect} {name}: ERROR {error}\n{sql}")
                continue
            if got != expected[name]:
                problems.append(f"{dialect} {name}: got {sorted(got)}, reference {sorted(expected[name])}\n{sql}")
        sql = flags_sql(model, segments, ["helper", "main"], dialect, AS_OF)
        try:
            rows = engine.query(sql)
        except EngineError as error:
            problems.append(f"{dialect} flags: ERROR {error}\n{sql}")
            continue
        for i, name in enumerate(("helper", "main"), start=1):
            assert all(r[i] in (True, False) for r in rows), f"{dialect}: flags are not true/false: {rows}"
            got = {r[0] for r in rows if r[i]}
            if got != expected[name] or len(rows) != len(persons):
                problems.append(f"{dialect} flags {name}: got {sorted(got)} ({len(rows)} rows), reference {sorted(expected[name])}\n{sql}")
    assert not problems, "engines disagree with the reference\n" + _describe(helper, main, persons, events, json_props) + "\n\n" + "\n\n".join(problems)
