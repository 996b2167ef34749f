"""Unit tests of definitions (`segc test`, docs/testing.md), in two halves:

- checker arrow: the `tests:` of definitions and the test files under tests/ become UnitTests,
  each fixture cell checked against the model's columns and types, every mistake a located
  diagnostic (reported by `segc validate` too, without failing the definition under test);
- engine arrow: each test's persons and events are loaded into a namespace of their own (DuckDB
  in memory, a fresh ClickHouse database, a throwaway PostgreSQL schema), the definition is
  compiled with what it depends on and run there, and its members or rows are compared with
  what the test expects.

Fixture times are ISO text, YAML dates, or expressions of segc's own grammar relative to the
test's as_of: `ago(30d)`, `now() - 1s`, `date('2026-01-01') + 12h`, and `-30d` for ago(30d).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Sequence

from . import ast as A
from .diagnostics import Diagnostic, SegcError, Span, a_kind, did_you_mean, render_text
from .loader.located import Y
from .loader.project import Model, Project
from .parser import ExpressionError, parse_expression

TESTABLE = ("segment", "cohort", "insight")
FIXTURE_KEYS = ("repeat", "every")  # keys of an event row that are no column
MAX_REPEAT = 100_000
MATCHES = ("exact", "contains")
# result columns that name a row of a cohort's or insight's table (the rest are its values)
ROW_KEYS = ("breakdown", "cohort_start", "period", "interval_start", "step", "active_intervals")


# ---------------------------------------------------------------------------------------------
# What a test is
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FixtureTime:
    """A time of a fixture: fixed (`at`), or relative to the test's as_of (`at` is None)."""

    at: dt.datetime | None
    offset: int = 0  # seconds added

    def resolve(self, as_of: dt.datetime) -> dt.datetime:
        return (self.at if self.at is not None else as_of) + dt.timedelta(seconds=self.offset)


@dataclass(frozen=True)
class FixtureRow:
    """One written row: column (or property) -> value; FixtureTime for times."""

    values: dict[str, Any]
    span: Span
    repeat: int = 1
    every: int = 0  # seconds between the copies of a repeated row
    spans: dict[str, Span] = field(default_factory=dict, compare=False)  # where each value is written


@dataclass
class UnitTest:
    definition: str
    kind: str  # segment | cohort | insight
    name: str
    path: str
    span: Span  # the test's name
    as_of: dt.datetime | None
    persons: list[FixtureRow]
    events: list[FixtureRow]
    members: list | None  # a segment's expected member keys
    rows: list[Y] | None  # a cohort's or insight's expected rows, typed when its columns are known
    match: str = "exact"
    key_type: str = "string"  # of the person key: string | integer, from the keys written
    ok: bool = True  # no errors in the test itself
    regions: tuple[Span, ...] = ()  # where the test is written (a test file's shared rows too)

    def written_in(self, span: Span) -> bool:
        return any(r.path == span.path and (r.line, r.col) <= (span.line, span.col) <= (r.end_line, r.end_col) for r in self.regions)

    @property
    def title(self) -> str:
        return f"{self.definition}: {self.name}"


# ---------------------------------------------------------------------------------------------
# Checker arrow: located YAML -> UnitTests
# ---------------------------------------------------------------------------------------------
def collect_tests(project: Project, diags: list[Diagnostic]) -> list[UnitTest]:
    """Every test of the project, in project order (definitions' own tests, then test files).
    Mistakes go to `diags`; a test with mistakes is kept, with ok=False."""
    if project.model is None:
        return []
    c = _Collector(project.model, diags)
    out: list[UnitTest] = []
    names: dict[tuple[str, str], Span] = {}
    kinds = {d.name: d.kind for d in project.definitions}

    def add(t: UnitTest) -> None:
        first = names.get((t.definition, t.name))
        if first is not None:
            diags.append(Diagnostic("SEG345", f"{t.definition} already has a test named '{t.name}' ({first.path}:{first.line})", t.span))
            t.ok = False
        names.setdefault((t.definition, t.name), t.span)
        out.append(t)

    for d in project.definitions:
        tests_y = d.body.get("tests")
        if tests_y is None or tests_y.kind != "seq":
            continue
        if d.kind not in TESTABLE:
            diags.append(Diagnostic("SEG343", f"a {d.kind} has no tests of its own: test its segments", d.body.key_spans["tests"]))
            continue
        for case in tests_y.value:
            t = c.case(d.name, d.kind, d.path, case, None, [], [])
            if t is not None:
                add(t)

    for f in project.test_files:
        kind = kinds.get(f.definition)
        if kind is None:
            testable = [n for n, k in kinds.items() if k in TESTABLE]
            diags.append(Diagnostic("SEG343", f"test: unknown definition '{f.definition}'", f.name_span, hint=did_you_mean(f.definition, testable)))
            continue
        if kind not in TESTABLE:
            diags.append(Diagnostic("SEG343", f"'{f.definition}' is {a_kind(kind)}, which has no tests of its own: test its segments", f.name_span))
            continue
        body = f.body
        c.clean = True
        as_of = c.as_of(body.get("as_of"))
        persons = c.rows(body.get("persons"), "persons")
        events = c.rows(body.get("events"), "events")
        shared_ok = f.ok and c.clean
        shared = tuple(body.value[k].span for k in ("as_of", "persons", "events") if k in body.value)
        cases = body.get("cases")
        for case in cases.value if cases is not None and cases.kind == "seq" else ():
            t = c.case(f.definition, kind, f.path, case, as_of, persons, events)
            if t is not None:
                t.ok = t.ok and shared_ok
                t.regions += shared
                add(t)
    for t in out:  # mistakes the shape checks found inside a test make it one with errors too
        if t.ok and any(d.span is not None and t.written_in(d.span) for d in diags):
            t.ok = False
    return out


class _Collector:
    """Reads test cases against one model; `clean` is False once a mistake is reported since
    it was last reset."""

    def __init__(self, model: Model, diags: list[Diagnostic]):
        p, e = model.persons, model.events
        self.key = p.key
        self.person = e.person
        self.columns = {
            "persons": {**{n: t for n, t in p.properties.items()}, p.key: "key"},
            "events": {**{n: t for n, t in e.properties.items()}, e.person: "key", e.event: "string", e.timestamp: "timestamp"},
        }
        self.diags = diags
        self.clean = True

    def err(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, span, hint=hint))
        self.clean = False

    # -- one case --------------------------------------------------------------------------
    def case(self, definition: str, kind: str, path: str, y: Y, file_as_of, file_persons, file_events) -> UnitTest | None:
        if y.kind != "map" or y.get("name") is None or not isinstance(y.get("name").value, str):
            return None  # the shape check has said what is wrong
        self.clean = True
        name_y = y.get("name")
        as_of = self.as_of(y.get("as_of")) if y.get("as_of") is not None else file_as_of
        persons = file_persons + self.rows(y.get("persons"), "persons")
        events = file_events + self.rows(y.get("events"), "events")
        match_y = y.get("match")
        match = match_y.value if match_y is not None and match_y.value in MATCHES else "exact"
        expect_y = y.get("expect")
        items = expect_y.value if expect_y is not None and expect_y.kind == "seq" else []
        members, rows = None, None
        if kind == "segment":
            members = []
            for item in items:
                if item.kind != "scalar" or item.value is None:
                    if item.kind == "map" or item.value is None:
                        self.err("SEG341", "a segment's test expects its members' keys, e.g. expect: [ann, bob]", item.span)
                    continue
                if not self.key_value(item, "expected member"):
                    continue
                members.append(item.value)
        else:
            rows = []
            for item in items:
                if item.kind != "map":
                    if item.kind == "scalar":
                        self.err("SEG341", f"a {kind}'s test expects rows of its table, each a mapping of column: value",
                                 item.span, hint="e.g. - {period: 0, persons: 2}")
                    continue
                rows.append(item)
        key_type = self.key_type(persons, events, [i for i in items if i.kind == "scalar"] if kind == "segment" else [])
        if members is not None:
            known = {r.values.get(self.key) for r in persons}
            for item in items:
                if item.kind == "scalar" and item.value is not None and item.value not in known:
                    hint = did_you_mean(str(item.value), [str(k) for k in known if k is not None])
                    self.err("SEG344", f"expected member '{item.value}' is not a person of this test", item.span,
                             hint=hint or "a member must be one of the test's persons")
        ok = self.clean
        return UnitTest(definition, kind, name_y.value, path, name_y.span, as_of, persons, events, members, rows,
                        match, key_type, ok, (y.span,))

    def as_of(self, y: Y | None) -> dt.datetime | None:
        if y is None:
            return None
        t = parse_time(y, self.diags, relative=False)
        if t is None:
            self.clean = False
            return None
        return t.at

    # -- rows ------------------------------------------------------------------------------
    def rows(self, y: Y | None, table: str) -> list[FixtureRow]:
        if y is None or y.kind != "seq":
            return []
        columns = self.columns[table]
        out = []
        for item in y.value:
            if item.kind == "scalar" and table == "persons":  # `- ann`: a person with a key only
                if self.key_value(item, "a person key"):
                    out.append(FixtureRow({self.key: item.value}, item.span, spans={self.key: item.span}))
                continue
            if item.kind != "map":
                continue
            values: dict[str, Any] = {}
            repeat, every = 1, 0
            for k, v in item.items():
                if table == "events" and k == "repeat":
                    repeat = self.repeat(v)
                    continue
                if table == "events" and k == "every":
                    every = self.every(v)
                    continue
                type_ = columns.get(k)
                if type_ is None:
                    self.unknown_column(k, table, item.key_spans[k])
                    continue
                values[k] = self.cell(v, type_, k)
            if every and repeat == 1:
                self.err("SEG341", "every: spaces the copies of a repeated row; give repeat: N too", item.key_spans["every"])
            out.append(FixtureRow(values, item.span, repeat, every, {k: v.span for k, v in item.items()}))
        return out

    def unknown_column(self, k: str, table: str, span: Span) -> None:
        columns = self.columns[table]
        other = "events" if table == "persons" else "persons"
        hint = did_you_mean(k, list(columns) + (list(FIXTURE_KEYS) if table == "events" else []))
        if hint is None and k in self.columns[other]:
            hint = f"'{k}' is a column of {other}: write it in a row of {other}:"
        if hint is None and table == "persons" and k in FIXTURE_KEYS:
            hint = f"{k}: repeats an event row; a person is written once"
        self.err("SEG340", f"unknown column '{k}' in {'an' if table == 'events' else 'a'} {table} row" + ("" if hint else f" (columns: {', '.join(sorted(columns))})"),
                 span, hint=hint)

    def key_value(self, y: Y, what: str) -> bool:
        v = y.value
        if v is None or isinstance(v, bool) or not isinstance(v, (str, int)):
            self.err("SEG341", f"{what} is text or a whole number, not {_type_name(v)}", y.span)
            return False
        return True

    def cell(self, y: Y, type_: str, column: str) -> Any:
        v = y.value
        if v is None:
            return None
        if type_ == "key":
            return v if self.key_value(y, f"'{column}' (a person key)") else None
        if type_ == "timestamp":
            t = parse_time(y, self.diags)
            if t is None:
                self.clean = False
            return t
        ok = {
            "string": isinstance(v, str),
            "integer": isinstance(v, int) and not isinstance(v, bool),
            "number": isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": isinstance(v, bool),
        }[type_]
        if not ok:
            hint = None
            if type_ == "string" and isinstance(v, (int, float, bool)):
                hint = f"write it in quotes: '{str(v).lower() if isinstance(v, bool) else v}'"
            elif type_ == "integer" and isinstance(v, float):
                hint = "an integer property takes whole numbers"
            self.err("SEG341", f"'{column}' is {_a_type(type_)}, but this is {_type_name(v)}", y.span, hint=hint)
            return None
        return float(v) if type_ == "number" else v

    def repeat(self, y: Y) -> int:
        v = y.value
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= MAX_REPEAT:
            self.err("SEG341", f"repeat: is how many copies of the row to write, a whole number from 1 to {MAX_REPEAT:,}", y.span)
            return 1
        return v

    def every(self, y: Y) -> int:
        if isinstance(y.value, str):
            try:
                node = parse_expression(y.value, y.offset_span)
            except ExpressionError as e:
                self.err(e.diag.code, e.diag.message, e.diag.span, e.diag.hint)
                return 0
            if isinstance(node, A.Duration) and node.seconds > 0:
                return node.seconds
        self.err("SEG341", "every: is a duration such as 1d or 6h", y.span)
        return 0

    def key_type(self, persons: list[FixtureRow], events: list[FixtureRow], expected: list[Y]) -> str:
        seen: str | None = None
        for value, span in (
            [(r.values.get(self.key), r.spans.get(self.key, r.span)) for r in persons]
            + [(r.values.get(self.person), r.spans.get(self.person, r.span)) for r in events]
            + [(y.value, y.span) for y in expected]
        ):
            if value is None or isinstance(value, bool) or not isinstance(value, (str, int)):
                continue
            t = "integer" if isinstance(value, int) else "string"
            if seen is None:
                seen = t
            elif t != seen:
                self.err("SEG341", f"person key {value!r} is {'a whole number' if t == 'integer' else 'text'}, but the test's first key is "
                         f"{'a whole number' if seen == 'integer' else 'text'}", span,
                         hint="the keys of one test are all text or all whole numbers")
                break
        return seen or "string"


_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_time(y: Y, diags: list[Diagnostic], relative: bool = True) -> FixtureTime | None:
    """A fixture time: a YAML date/time, ISO text (UTC unless it has an offset), or, when
    `relative`, an expression of now(), ago(D), date(...), timestamp(...) and ± durations, or
    -D for D before as_of. None (with a diagnostic) when it is none of them."""
    v = y.value
    if isinstance(v, dt.datetime):
        return FixtureTime(_utc_naive(v))
    if isinstance(v, dt.date):
        return FixtureTime(dt.datetime(v.year, v.month, v.day))
    usage = ("a time is ISO text such as 2026-06-01 12:00:00, or relative to the test's as_of: "
             "ago(30d), now() - 1h, -30d, date('2026-01-01') + 12h") if relative else "as_of is an instant such as 2026-06-01T00:00:00Z"
    if not isinstance(v, str):
        diags.append(Diagnostic("SEG341", f"expected a time, got {_type_name(v)}", y.span, hint=usage))
        return None
    text = v.strip()
    if _ISO.match(text) or not relative:
        try:
            return FixtureTime(_iso(text))
        except ValueError:
            diags.append(Diagnostic("SEG342", f"'{v}' is not a valid time", y.span, hint=usage))
            return None
    try:
        node = parse_expression(v, y.offset_span)
    except ExpressionError as e:
        diags.append(e.diag)
        return None
    t = _time_of(node, top=True)
    if t is None:
        diags.append(Diagnostic("SEG342", f"'{v}' is not a time", y.span, hint=usage))
    return t


def _time_of(node: A.Node, top: bool = False) -> FixtureTime | None:
    if isinstance(node, A.Paren):
        return _time_of(node.inner, top)
    if isinstance(node, A.Now):
        return FixtureTime(None)
    if isinstance(node, A.Ago) and isinstance(node.arg, A.Duration):
        return FixtureTime(None, -node.arg.seconds)
    if isinstance(node, A.TimeLiteral):
        return FixtureTime(node.value)
    if top and isinstance(node, A.Negate) and isinstance(node.operand, A.Duration):
        return FixtureTime(None, -node.operand.seconds)  # -30d: as ago(30d)
    if isinstance(node, A.Arith) and node.op in "+-":
        if isinstance(node.right, A.Duration):
            base = _time_of(node.left)
            if base is not None:
                d = node.right.seconds
                return FixtureTime(base.at, base.offset + (d if node.op == "+" else -d))
        if node.op == "+" and isinstance(node.left, A.Duration):
            base = _time_of(node.right)
            if base is not None:
                return FixtureTime(base.at, base.offset + node.left.seconds)
    return None


def _iso(text: str) -> dt.datetime:
    raw = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    return _utc_naive(dt.datetime.fromisoformat(raw))


def _utc_naive(v: dt.datetime) -> dt.datetime:
    return v if v.tzinfo is None else v.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"a boolean ({str(v).lower()})"
    if isinstance(v, (int, float)):
        return f"a number ({v})"
    if isinstance(v, (dt.date, dt.datetime)):
        return f"a time ({v})"
    return f"text ('{v}')"


def _a_type(t: str) -> str:
    return {"string": "text (string)", "integer": "an integer", "number": "a number", "boolean": "true or false (boolean)",
            "timestamp": "a timestamp"}[t]


# ---------------------------------------------------------------------------------------------
# Engine arrow: fixtures -> isolated tables -> members or rows -> outcome
# ---------------------------------------------------------------------------------------------
@dataclass
class UnitTestResult:
    test: UnitTest
    dialect: str
    status: str  # passed | failed | error
    seconds: float = 0.0
    missing: list = field(default_factory=list)  # expected members (or rows) that are not in the result
    unexpected: list = field(default_factory=list)  # members (or rows) in the result that were not expected
    changed: list = field(default_factory=list)  # (row, column, expected, got) for rows found by their key columns
    message: str = ""  # why the test could not run (status error)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def diff_lines(self) -> list[str]:
        what = "members" if self.test.kind == "segment" else "rows"
        lines = []
        if self.missing:
            lines.append(f"missing {what} (expected, not in the result): " + _list(self.missing))
        if self.unexpected:
            lines.append(f"unexpected {what} (in the result, not expected): " + _list(self.unexpected))
        for row, column, want, got in self.changed:
            lines.append(f"row {_row_text(row)}: {column} expected {_value_text(want)}, got {_value_text(got)}")
        if self.message:
            lines.append(self.message)
        return lines

    def as_dict(self) -> dict:
        t = self.test
        d = {"definition": t.definition, "kind": t.kind, "name": t.name, "dialect": self.dialect, "status": self.status,
             "path": t.span.path, "line": t.span.line, "col": t.span.col, "seconds": round(self.seconds, 4)}
        if self.missing:
            d["missing"] = [_json_value(v) for v in self.missing]
        if self.unexpected:
            d["unexpected"] = [_json_value(v) for v in self.unexpected]
        if self.changed:
            d["changed"] = [{"row": _json_value(r), "column": c, "expected": _json_value(w), "got": _json_value(g)}
                            for r, c, w, g in self.changed]
        if self.message:
            d["message"] = self.message
        if self.diagnostics:
            d["diagnostics"] = [x.as_dict() for x in self.diagnostics]
        return d


def _list(items: list) -> str:
    return ", ".join(_row_text(v) if isinstance(v, dict) else _value_text(v) for v in items)


def _row_text(row: dict) -> str:
    return "{" + ", ".join(f"{k}: {_value_text(v)}" for k, v in row.items()) + "}"


def _value_text(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d") if v.time() == dt.time() else v.strftime("%Y-%m-%d %H:%M:%S") + (f".{v.microsecond:06d}" if v.microsecond else "")
    return str(v)


def _json_value(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    if isinstance(v, dt.datetime):
        return v.isoformat() + "Z"
    return v


def isolated_model(model: Model, namespace: str | None) -> Model:
    """The model with its tables moved into `namespace` (schema-qualified names keep their
    qualifier in the table's name: analytics.persons -> NS.analytics__persons; past 63 bytes
    cut, with a digest of the whole name: see _fit). Without a
    namespace (a DuckDB in memory) names stay as written, but for a catalog, which is folded."""

    def place(name: str) -> str:
        parts = name.split(".")
        if namespace is None:
            return name if len(parts) < 3 else f"{parts[0]}__{parts[1]}.{parts[2]}"  # DuckDB: no length limit
        return f"{namespace}.{_fit('__'.join(parts), name)}"

    return dataclasses.replace(
        model,
        persons=dataclasses.replace(model.persons, table=place(model.persons.table)),
        events=dataclasses.replace(model.events, table=place(model.events.table)),
    )


_MAX_NAME_BYTES = 63  # PostgreSQL cuts longer identifiers: two names alike in 63 bytes are one table


def _fit(joined: str, full: str) -> str:
    """`joined` (a qualifier and a table name made one name) when it fits in 63 bytes; else its
    start and a digest of the model's whole table name: schema.persons and schema.events with
    a long schema must not become the same cut name."""
    if len(joined.encode("utf-8")) <= _MAX_NAME_BYTES:
        return joined
    digest = hashlib.blake2b(full.encode("utf-8"), digest_size=5).hexdigest()
    head = joined.encode("utf-8")[: _MAX_NAME_BYTES - len(digest) - 1].decode("utf-8", "ignore")
    return f"{head}_{digest}"


class Sandbox:
    """One engine and a namespace of its own for fixture tables: DuckDB in memory, a fresh
    ClickHouse database, a throwaway PostgreSQL schema. Closing drops the namespace."""

    def __init__(self, settings: dict, model: Model):
        from .engines import EngineError, connect

        self.dialect = settings["dialect"]
        self.namespace = None if self.dialect == "duckdb" else f"segc_test_{uuid.uuid4().hex[:12]}"
        target = {k: v for k, v in settings.items() if k != "name"}
        if self.dialect == "duckdb":
            target = {"dialect": "duckdb", "path": ":memory:"}  # never the target's own file
        elif self.dialect == "postgres":
            target["schema"] = self.namespace
        else:
            target["database"] = self.namespace
        try:
            self.engine = connect(target)
        except EngineError as e:
            where = f"target '{settings['name']}'" if "name" in settings else self.dialect
            raise SegcError(Diagnostic("SEG500", f"{where}: {e}", None)) from None
        self.model = isolated_model(model, self.namespace)

    def load(self, test: UnitTest, as_of: dt.datetime) -> None:
        for name, columns, rows in fixture_tables(self.model, test, as_of):
            self.engine.create_table(name, columns, rows)

    def close(self) -> None:
        from sqlglot import exp

        try:
            if self.dialect == "postgres":
                drop = exp.Drop(tables=[exp.Table(db=exp.to_identifier(self.namespace, quoted=True))], kind="SCHEMA", exists=True, cascade=True)
                self.engine.execute(drop.sql("postgres"))
            elif self.dialect == "clickhouse":
                drop = exp.Drop(tables=[exp.Table(this=exp.to_identifier(self.namespace, quoted=True))], kind="DATABASE", exists=True, sync=True)
                self.engine.execute(drop.sql("clickhouse"))
        finally:
            self.engine.close()


def fixture_tables(model: Model, test: UnitTest, as_of: dt.datetime) -> list[tuple[str, list[tuple[str, str]], list[tuple]]]:
    """(table, [(column, logical type)], rows) of the persons and events tables: every column
    of the model, nullable; what a row leaves out is null; repeated rows written out."""
    p, e = model.persons, model.events
    out = []
    for entity, fixed, rows in (
        (p, [(p.key, test.key_type)], test.persons),
        (e, [(e.person, test.key_type), (e.event, "string"), (e.timestamp, "timestamp")], test.events),
    ):
        fixed_names = [c for c, _ in fixed]
        props = {n: t for n, t in entity.properties.items() if n not in fixed_names}
        if entity.properties_json:
            columns = fixed + [(entity.properties_json, "json")]
        else:
            columns = fixed + list(props.items())
        table_rows = []
        for row in rows:
            values = {k: v.resolve(as_of) if isinstance(v, FixtureTime) else v for k, v in row.values.items()}
            for i in range(row.repeat):
                if i and row.every:
                    ts = values.get(e.timestamp)
                    if ts is not None:
                        values = {**values, e.timestamp: ts + dt.timedelta(seconds=row.every)}
                cells = [values.get(c) for c in fixed_names]
                if entity.properties_json:
                    cells.append({n: _json_cell(values[n]) for n in props if values.get(n) is not None})
                else:
                    cells += [values.get(n) for n in props]
                table_rows.append(tuple(cells))
        out.append((entity.table, columns, table_rows))
    return out


def _json_cell(v: Any) -> Any:
    # timestamps in a JSON column are written YYYY-MM-DD HH:MM:SS.ffffff, UTC (docs/decisions.md)
    return v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, dt.datetime) else v


@dataclass
class UnitTestRun:
    """What `segc test` found: one result a test and dialect, and the diagnostics of the tests
    that could not run."""

    results: list[UnitTestResult]
    dialects: tuple[str, ...]
    diagnostics: list[Diagnostic]
    seconds: float = 0.0
    sources: Any = None  # the project's SourceCache, for showing the lines diagnostics point at

    @property
    def failed(self) -> bool:
        return bool(self.diagnostics) or any(not r.passed for r in self.results)

    def counts(self) -> dict[str, int]:
        out = {"passed": 0, "failed": 0, "error": 0}
        for r in self.results:
            out[r.status] += 1
        return out


def run_tests(result, tests: list[UnitTest], engines: Sequence[dict], as_of: dt.datetime,
              labels: dict[str, list[str] | None] | None = None, progress=None) -> UnitTestRun:
    """Run each test on each engine (settings as connect() takes them; the namespace is made
    here). `as_of` stands for now() in tests that give none. A test whose definition has errors,
    or that has errors of its own, is an error and is not run."""
    started = time.perf_counter()
    project = result.project
    model = project.model
    files = {f.path for f in project.test_files}
    diags = [d for d in result.diagnostics if d.span is not None and (d.span.path in files or any(t.written_in(d.span) for t in tests))]
    results: list[UnitTestResult] = []
    runnable = []
    for t in tests:
        if not t.ok:
            why = "the test has errors (see above)"
        elif t.definition in result.failed:
            reason = result.failed[t.definition]
            why = f"{t.definition} has errors: fix them first (segc validate)" if reason == "errors" else f"{t.definition} is {reason}"
        else:
            runnable.append(t)
            continue
        own = [d for d in diags if t.written_in(d.span)] if not t.ok else []
        for s in engines:
            results.append(UnitTestResult(t, s["dialect"], "error", message=why, diagnostics=own))
    segments = result.segments()
    for settings in engines:
        if not runnable:
            break
        sandbox = Sandbox(settings, model)
        try:
            for t in runnable:
                r = _run_one(sandbox, result, segments, t, t.as_of or as_of, (labels or {}).get(t.definition))
                results.append(r)
                if progress:
                    progress(r)
        finally:
            sandbox.close()
    order = {id(t): i for i, t in enumerate(tests)}
    dialect_order = {s["dialect"]: i for i, s in enumerate(engines)}
    results.sort(key=lambda r: (order[id(r.test)], dialect_order.get(r.dialect, 0)))
    return UnitTestRun(results, tuple(s["dialect"] for s in engines), diags, time.perf_counter() - started, project.sources)


def _run_one(sandbox: Sandbox, result, segments, test: UnitTest, as_of: dt.datetime, labels) -> UnitTestResult:
    from .compiler import segment_select, to_sql
    from .compiler.analytics import analytics_query
    from .engines import EngineError
    from .runner.analytics import result_table

    started = time.perf_counter()
    out = UnitTestResult(test, sandbox.dialect, "passed")
    definition = result.definitions[test.definition]
    dialect = sandbox.dialect
    try:
        sandbox.load(test, as_of)
        if test.kind == "segment":
            sql = to_sql(segment_select(sandbox.model, segments, test.definition, dialect, as_of), dialect, pretty=False)
            got = [r[0] for r in sandbox.engine.query(sql)]
            _compare_members(out, test, got)
        else:
            q = analytics_query(sandbox.model, segments, definition, dialect, as_of, labels)
            table = result_table(q, sandbox.engine.query(to_sql(q.select, dialect, pretty=False)), definition)
            _compare_rows(out, test, table, as_of)
    except EngineError as e:
        out.status, out.message = "error", f"{dialect}: {e}"
    out.seconds = time.perf_counter() - started
    return out


def _compare_members(out: UnitTestResult, test: UnitTest, got: list) -> None:
    members, expected = set(got), set(test.members or ())
    out.missing = sorted(expected - members, key=_sort_key)
    out.unexpected = sorted(members - expected, key=_sort_key) if test.match == "exact" else []
    if out.missing or out.unexpected:
        out.status = "failed"


def _sort_key(v: Any) -> tuple:
    return (v is None, str(type(v)), v if v is not None else 0)


def _compare_rows(out: UnitTestResult, test: UnitTest, table, as_of: dt.datetime) -> None:
    """Expected rows against the result table, on the columns each expected row names: a row
    found by its key columns (breakdown, period, interval_start, …) with other values is
    reported column by column, the others as missing or unexpected."""
    types = {c.name: c.type for c in table.columns}
    expected: list[dict] = []
    for y in test.rows or ():
        row = {}
        for k, v in y.items():
            if k not in types:
                hint = did_you_mean(k, types)
                out.diagnostics.append(Diagnostic("SEG344", f"{test.definition} has no column '{k}'" + ("" if hint else f" (columns: {', '.join(types)})"),
                                                  y.key_spans[k], hint=hint))
                continue
            value, problem = _expected_value(v, types[k], as_of)
            if problem is not None:
                out.diagnostics.append(problem)
                continue
            row[k] = value
        expected.append(row)
    if out.diagnostics:
        out.status, out.message = "error", "the expected rows do not fit the result's columns:"
        return
    got = [dict(zip(table.names, r)) for r in table.rows]
    named = list(dict.fromkeys(k for row in expected for k in row)) or table.names
    left = list(range(len(got)))
    for row in expected:
        j = next((j for j in left if all(_same(row[k], got[j][k]) for k in row)), None)
        if j is None:
            keys = [k for k in row if k in ROW_KEYS]
            j = next((j for j in left if keys and all(_same(row[k], got[j][k]) for k in keys)), None)
            if j is None:
                out.missing.append(row)
                continue
            for k in row:
                if not _same(row[k], got[j][k]):
                    out.changed.append(({c: row[c] for c in keys}, k, row[k], got[j][k]))
        left.remove(j)
    if test.match == "exact":
        out.unexpected = [{k: got[j][k] for k in named} for j in left]
    if out.missing or out.unexpected or out.changed:
        out.status = "failed"


def _expected_value(y: Y, type_: str, as_of: dt.datetime) -> tuple[Any, Diagnostic | None]:
    v = y.value
    if y.kind != "scalar":
        return None, Diagnostic("SEG341", "an expected value is a single value", y.span)
    if v is None:
        return None, None
    if type_ == "timestamp":
        diags: list[Diagnostic] = []
        t = parse_time(y, diags)
        return (t.resolve(as_of), None) if t is not None else (None, diags[0])
    ok = {
        "string": isinstance(v, str),
        "integer": isinstance(v, int) and not isinstance(v, bool),
        "number": isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": isinstance(v, bool),
    }.get(type_, True)
    if not ok:
        return None, Diagnostic("SEG341", f"this column is {_a_type(type_)}, but this is {_type_name(v)}", y.span)
    return v, None


def _same(want: Any, got: Any) -> bool:
    if want is None or got is None:
        return want is None and got is None
    if isinstance(want, (int, float)) and not isinstance(want, bool) and isinstance(got, (int, float)) and not isinstance(got, bool):
        return math.isclose(want, got, rel_tol=1e-9, abs_tol=1e-12)
    return want == got


# ---------------------------------------------------------------------------------------------
# Which engines
# ---------------------------------------------------------------------------------------------
def engine_settings(project: Project, dialects: Sequence[str], target: str | None) -> list[dict]:
    """connect() settings for each dialect: DuckDB in memory; ClickHouse in-process (chdb) or
    the --target server; PostgreSQL from --target or the project's PostgreSQL target."""
    from .engines.clickhouse import chdb_storage_path
    from .loader.project import resolve_target

    given = resolve_target(project, target) if target else None
    if given is not None and given["dialect"] not in dialects:
        raise SegcError(Diagnostic("SEG510", f"--target {target} is a {given['dialect']} target, but the tests run on {', '.join(dialects)}", None))
    out = []
    for d in dialects:
        if d == "duckdb":
            out.append({"dialect": "duckdb", "path": ":memory:"})
        elif given is not None and given["dialect"] == d:
            out.append(given)
        elif d == "clickhouse":
            out.append({"dialect": "clickhouse", "path": chdb_storage_path() or ":memory:"})
        else:
            names = [n for n, t in project.targets.items() if t.dialect == "postgres"]
            if not names:
                raise SegcError(Diagnostic("SEG510", "no PostgreSQL to run the tests on: add a postgres target to targets/ "
                                                     "(dialect: postgres, dsn: ${SEGC_PG_DSN}) or pass --target", None))
            name = project.default_target if project.default_target in names else names[0]
            out.append(resolve_target(project, name))
    return out


# ---------------------------------------------------------------------------------------------
# Reports: text, json, junit, sarif, github (the formats of validate and check)
# ---------------------------------------------------------------------------------------------
def report(run: UnitTestRun, fmt: str, sources=None, color: bool = False, title: str = "segc test") -> str:
    if fmt == "text":
        return _text(run, sources, color)
    if fmt == "json":
        return json.dumps({"dialects": list(run.dialects), **run.counts(), "seconds": round(run.seconds, 3),
                           "tests": [r.as_dict() for r in run.results],
                           "diagnostics": [d.as_dict() for d in run.diagnostics]}, indent=2, ensure_ascii=False)
    if fmt == "junit":
        return _junit(run, sources, title)
    if fmt == "sarif":
        return _sarif(run)
    if fmt == "github":
        return _github(run)
    raise ValueError(f"unknown format {fmt!r}")


def _headline(r: UnitTestResult) -> str:
    s = r.test.span
    return f"{s.path}:{s.line}: {r.test.title} [{r.dialect}]"


def _text(run: UnitTestRun, sources, color: bool) -> str:
    def paint(code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    blocks = [render_text(d, sources, color=color) + "\n" for d in run.diagnostics]
    lines = []
    for r in run.results:
        mark = {"passed": paint("1;32", "PASS "), "failed": paint("1;31", "FAIL "), "error": paint("1;31", "ERROR")}[r.status]
        lines.append(f"{mark} {_headline(r)}")
        lines += [f"      {x}" for x in r.diff_lines()]
        for d in r.diagnostics:
            if d not in run.diagnostics:  # those are shown above, once
                lines += ["      " + x for x in render_text(d, sources).splitlines()]
    c = run.counts()
    summary = (f"{c['passed']} passed, {c['failed']} failed" + (f", {c['error']} errors" if c["error"] else "")
               + f" ({len(run.results)} test runs on {', '.join(run.dialects)}) in {run.seconds:.1f}s")
    if not run.results:
        summary = "no tests: add tests: to a definition, or a file under tests/ (docs/testing.md)"
    lines.append(paint("1;31" if run.failed else "1;32", summary) if run.results else summary)
    return "\n".join(blocks + lines)


def _failure_text(r: UnitTestResult, sources) -> str:
    parts = [f"{r.test.span}: {r.test.title} [{r.dialect}]"] + r.diff_lines()
    parts += [render_text(d, sources) for d in r.diagnostics]
    return "\n".join(parts)


def _junit(run: UnitTestRun, sources, title: str) -> str:
    from .formats import _Case, _junit as junit_xml

    cases = []
    for r in run.results:
        c = _Case(f"{r.test.kind}.{r.test.definition}", f"{r.test.name} [{r.dialect}]", r.test.path)
        if not r.passed:
            lines = r.diff_lines()
            c.failure = (lines[0] if lines else r.status, "SEG520" if r.status == "failed" else "SEG521", _failure_text(r, sources))
        cases.append(c)
    return junit_xml(title, cases)


def _sarif(run: UnitTestRun) -> str:
    from .formats import _location, _sarif as sarif_log

    rules = {"SEG520": "segc test: a unit test of a definition failed", "SEG521": "segc test: a unit test could not run"}
    results = []
    for d in run.diagnostics:
        rules.setdefault(d.code, f"segc {d.code}: a mistake in a unit test")
        results.append({"ruleId": d.code, "level": "error", "message": {"text": d.message + (f"\nhint: {d.hint}" if d.hint else "")},
                        "locations": _location(d.span)})
    for r in run.results:
        if not r.passed and not (r.diagnostics and r.diagnostics[0] in run.diagnostics):
            code = "SEG520" if r.status == "failed" else "SEG521"
            results.append({"ruleId": code, "level": "error", "message": {"text": "\n".join([f"{r.test.title} [{r.dialect}]"] + r.diff_lines())},
                            "locations": _location(r.test.span)})
    used = {x["ruleId"] for x in results}
    return sarif_log({k: v for k, v in sorted(rules.items()) if k in used}, results)


def _github(run: UnitTestRun) -> str:
    from .formats import _annotation

    lines = [_annotation("error", d.span, d.code, d.message + (f"\nhint: {d.hint}" if d.hint else "")) for d in run.diagnostics]
    for r in run.results:
        if not r.passed and not (r.diagnostics and r.diagnostics[0] in run.diagnostics):
            lines.append(_annotation("error", r.test.span, f"segc test {r.test.title} [{r.dialect}]", "\n".join(r.diff_lines())))
    c = run.counts()
    lines.append(f"{c['passed']} passed, {c['failed']} failed, {c['error']} errors")
    return "\n".join(lines)
