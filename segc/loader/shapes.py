"""The shapes of segc.yml, targets and definition files: checked against located YAML with
exact positions, and exported as JSON Schema for editors (one description, two uses)."""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from ..diagnostics import Diagnostic, did_you_mean
from .located import Y


class Shape:
    name = "value"

    def check(self, y: Y, diags: list[Diagnostic]) -> bool:
        raise NotImplementedError

    def json_schema(self) -> dict:
        raise NotImplementedError


def _type_name(y: Y) -> str:
    if y.kind == "map":
        return "a mapping"
    if y.kind == "seq":
        return "a list"
    v = y.value
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"a boolean ({str(v).lower()})"
    if isinstance(v, (int, float)):
        return f"a number ({v})"
    if isinstance(v, (_dt.date, _dt.datetime)):
        return f"a date ({v})"
    return f"text ('{v}')"


def _wrong(y: Y, expected: str, diags: list[Diagnostic]) -> bool:
    diags.append(Diagnostic("SEG105", f"expected {expected}, got {_type_name(y)}", y.span))
    return False


@dataclass
class Text(Shape):
    doc: str = ""
    enum: tuple[str, ...] | None = None
    pattern: str | None = None  # informational regex for the JSON schema
    max_length: int | None = None
    name = "text"

    def check(self, y, diags):
        if y.kind != "scalar" or not isinstance(y.value, str):
            # numbers and booleans written where text is meant are still mistakes worth naming
            return _wrong(y, "text", diags)
        if self.enum is not None and y.value not in self.enum:
            hint = did_you_mean(y.value, self.enum)
            diags.append(
                Diagnostic(
                    "SEG107",
                    f"'{y.value}' is not one of: {', '.join(self.enum)}" + (f"; {hint}" if hint else ""),
                    y.span,
                )
            )
            return False
        if self.pattern is not None:
            import re

            if not re.fullmatch(self.pattern, y.value):
                diags.append(Diagnostic("SEG113", f"'{y.value}' is not a valid name (letters, digits, _ and $; not starting with a digit)", y.span))
                return False
        if self.max_length is not None and len(y.value) > self.max_length:
            diags.append(Diagnostic("SEG113", f"a name of {len(y.value)} characters is too long: at most {self.max_length}", y.span,
                                    hint="PostgreSQL cuts longer table names, so two segments could share a table"))
            return False
        return True

    def json_schema(self):
        s: dict = {"type": "string"}
        if self.enum is not None:
            s["enum"] = list(self.enum)
        if self.pattern:
            s["pattern"] = f"^{self.pattern}$"
        if self.max_length is not None:
            s["maxLength"] = self.max_length
        if self.doc:
            s["description"] = self.doc
        return s


@dataclass
class Expr(Text):
    """Text holding a segc expression (parsed later, with positions)."""

    def check(self, y, diags):
        if y.kind == "scalar" and isinstance(y.value, bool):
            return True  # `where: true` is a valid expression written as YAML
        if y.kind == "scalar" and isinstance(y.value, (int, float)) and not isinstance(y.value, bool):
            return True
        return super().check(y, diags)

    def json_schema(self):
        return {"type": ["string", "boolean", "number"], "description": self.doc or "a segc expression"}


@dataclass
class Number(Shape):
    doc: str = ""
    integer: bool = False
    minimum: float | None = None
    maximum: float | None = None

    def check(self, y, diags):
        v = y.value
        if y.kind != "scalar" or isinstance(v, bool) or not isinstance(v, (int, float)):
            return _wrong(y, "a whole number" if self.integer else "a number", diags)
        if self.integer and not isinstance(v, int):
            return _wrong(y, "a whole number", diags)
        if self.minimum is not None and v < self.minimum:
            diags.append(Diagnostic("SEG107", f"must be at least {self.minimum:g}, got {v}", y.span))
            return False
        if self.maximum is not None and v > self.maximum:
            diags.append(Diagnostic("SEG107", f"must be at most {self.maximum:g}, got {v}", y.span))
            return False
        return True

    def json_schema(self):
        s: dict = {"type": "integer" if self.integer else "number"}
        if self.minimum is not None:
            s["minimum"] = self.minimum
        if self.maximum is not None:
            s["maximum"] = self.maximum
        if self.doc:
            s["description"] = self.doc
        return s


@dataclass
class Boolean(Shape):
    doc: str = ""

    def check(self, y, diags):
        if y.kind != "scalar" or not isinstance(y.value, bool):
            return _wrong(y, "true or false", diags)
        return True

    def json_schema(self):
        s: dict = {"type": "boolean"}
        if self.doc:
            s["description"] = self.doc
        return s


@dataclass
class ListOf(Shape):
    item: Shape
    doc: str = ""
    min_items: int = 0
    allow_single: bool = False  # `tags: x` accepted as `[x]`

    def check(self, y, diags):
        if y.kind != "seq":
            if self.allow_single and y.kind == "scalar":
                return self.item.check(y, diags)
            return _wrong(y, "a list", diags)
        ok = True
        for item in y.value:
            ok = self.item.check(item, diags) and ok
        if len(y.value) < self.min_items:
            diags.append(Diagnostic("SEG107", f"needs at least {self.min_items} item(s)", y.span))
            ok = False
        return ok

    def json_schema(self):
        s: dict = {"type": "array", "items": self.item.json_schema()}
        if self.min_items:
            s["minItems"] = self.min_items
        if self.allow_single:
            s = {"anyOf": [s, self.item.json_schema()]}
        if self.doc:
            s["description"] = self.doc
        return s


@dataclass
class MapOf(Shape):
    """A mapping with user-chosen keys (property names, series names)."""

    value: Shape
    doc: str = ""
    key_pattern: str | None = None

    def check(self, y, diags):
        if y.kind != "map":
            return _wrong(y, "a mapping", diags)
        ok = True
        for k, v in y.items():
            ok = self.value.check(v, diags) and ok
        return ok

    def json_schema(self):
        s: dict = {"type": "object", "additionalProperties": self.value.json_schema()}
        if self.doc:
            s["description"] = self.doc
        return s


@dataclass
class AnyOf(Shape):
    """The first alternative whose kind (scalar/map/seq) fits decides the error messages."""

    options: list[Shape]
    doc: str = ""

    def check(self, y, diags):
        for opt in self.options:
            trial: list[Diagnostic] = []
            if opt.check(y, trial):
                return True
        # report the alternative that matches the YAML kind best
        for opt in self.options:
            if _kind_of(opt) == y.kind:
                return opt.check(y, diags)
        expected = " or ".join(_describe(o) for o in self.options)
        return _wrong(y, expected, diags)

    def json_schema(self):
        s: dict = {"anyOf": [o.json_schema() for o in self.options]}
        if self.doc:
            s["description"] = self.doc
        return s


def _kind_of(shape: Shape) -> str:
    if isinstance(shape, (Obj, MapOf)):
        return "map"
    if isinstance(shape, ListOf):
        return "seq"
    return "scalar"


def _describe(shape: Shape) -> str:
    return {Obj: "a mapping", MapOf: "a mapping", ListOf: "a list", Number: "a number", Boolean: "true or false",
            Scalar: "a single value"}.get(
        type(shape), "text"
    )


@dataclass
class Scalar(Shape):
    """One value of any scalar type: text, a number, true/false, null, or a YAML date/time
    (fixture cells and expected values of `tests:`; their types come from the model)."""

    doc: str = ""

    def check(self, y, diags):
        if y.kind != "scalar":
            return _wrong(y, "a single value", diags)
        return True

    def json_schema(self):
        s: dict = {"type": ["string", "number", "boolean", "null"]}
        if self.doc:
            s["description"] = self.doc
        return s


@dataclass
class Instant(Shape):
    """A point in time: ISO-8601 text, or a YAML date/time (UTC when no offset)."""

    doc: str = ""

    def check(self, y, diags):
        if y.kind != "scalar" or not isinstance(y.value, (str, _dt.date)):
            return _wrong(y, "a time such as 2026-06-01T00:00:00Z", diags)
        return True

    def json_schema(self):
        s: dict = {"type": "string"}
        if self.doc:
            s["description"] = self.doc
        return s


@dataclass
class Field:
    shape: Shape
    required: bool = False
    doc: str = ""


@dataclass
class Obj(Shape):
    fields: dict[str, Field]
    doc: str = ""
    title: str = ""

    def check(self, y, diags):
        if y.kind != "map":
            return _wrong(y, "a mapping", diags)
        ok = True
        for k, v in y.items():
            f = self.fields.get(k)
            if f is None:
                hint = did_you_mean(k, self.fields)
                allowed = ", ".join(self.fields)
                diags.append(
                    Diagnostic(
                        "SEG104",
                        f"unknown key '{k}'" + (f"; {hint}" if hint else f" (allowed: {allowed})"),
                        y.key_spans[k],
                    )
                )
                ok = False
                continue
            ok = f.shape.check(v, diags) and ok
        for k, f in self.fields.items():
            if f.required and k not in y.value:
                diags.append(Diagnostic("SEG106", f"missing required key '{k}'", _first_key_span(y)))
                ok = False
        return ok

    def json_schema(self):
        props = {}
        for k, f in self.fields.items():
            s = dict(f.shape.json_schema())
            if f.doc and "description" not in s:
                s["description"] = f.doc
            props[k] = s
        s: dict = {"type": "object", "properties": props, "additionalProperties": False}
        req = [k for k, f in self.fields.items() if f.required]
        if req:
            s["required"] = req
        if self.doc:
            s["description"] = self.doc
        if self.title:
            s["title"] = self.title
        return s


def _first_key_span(y: Y):
    return next(iter(y.key_spans.values()), y.span)


# ---------------------------------------------------------------------------------------------
# The shapes themselves
# ---------------------------------------------------------------------------------------------
IDENT = r"[A-Za-z_$][A-Za-z0-9_$]*"
PROPERTY_TYPES = ("string", "number", "integer", "boolean", "timestamp")
DIALECTS = ("duckdb", "postgres", "clickhouse")

NAME = Text("a definition name", pattern=IDENT, max_length=63)  # 63: PostgreSQL's longest identifier
NAMES = ListOf(NAME, allow_single=True)
PROPERTIES = MapOf(Text(enum=PROPERTY_TYPES), doc="property name: type (string | number | integer | boolean | timestamp)")

PROJECT = Obj(
    title="segc project (segc.yml)",
    fields={
        "name": Field(Text("project name"), required=True),
        "model": Field(
            Obj(
                {
                    "persons": Field(
                        Obj(
                            {
                                "table": Field(Text("table, may be schema-qualified"), required=True),
                                "key": Field(Text("column holding the person key"), required=True),
                                "properties": Field(PROPERTIES),
                                "properties_json": Field(Text("JSON column to read the declared properties from")),
                            }
                        ),
                        required=True,
                    ),
                    "events": Field(
                        Obj(
                            {
                                "table": Field(Text("table, may be schema-qualified"), required=True),
                                "person": Field(Text("column holding persons.key"), required=True),
                                "event": Field(Text("column holding the event name"), required=True),
                                "timestamp": Field(Text("column holding the event time (UTC)"), required=True),
                                "properties": Field(PROPERTIES),
                                "properties_json": Field(Text("JSON column to read the declared properties from")),
                                "names": Field(ListOf(Text()), doc="optional catalogue of event names; when given, unknown events are errors"),
                            }
                        ),
                        required=True,
                    ),
                }
            ),
            required=True,
        ),
        "overlap": Field(
            Obj({"max_jaccard": Field(Number(minimum=0, maximum=1), doc="pairs this alike are reported as redundant")})
        ),
        "default_target": Field(Text("target used when --target is not given")),
        "specs": Field(ListOf(Text(), allow_single=True), doc="folders holding definitions (default: specs)"),
        "tests": Field(ListOf(Text(), allow_single=True), doc="folders holding test files (default: tests); see docs/testing.md"),
    },
)

TARGET = Obj(
    title="segc target (targets/*.yml)",
    fields={
        "dialect": Field(Text(enum=DIALECTS), required=True),
        "path": Field(Text("DuckDB file, or chdb storage folder")),
        "dsn": Field(Text("PostgreSQL connection string (use ${VAR})")),
        "url": Field(Text("ClickHouse server URL (use ${VAR})")),
        "schema": Field(Text("PostgreSQL schema for materialized segments")),
        "database": Field(Text("ClickHouse database for materialized segments")),
        "threads": Field(Number(integer=True, minimum=1)),
        "timeout": Field(Number(minimum=0), doc="query timeout in seconds"),
    },
)

EXPECT = Obj(
    {
        "min_size": Field(Number(integer=True, minimum=0)),
        "max_size": Field(Number(integer=True, minimum=0)),
        "min_share": Field(Number(minimum=0, maximum=1)),
        "max_share": Field(Number(minimum=0, maximum=1)),
        "disjoint_with": Field(NAMES),
        "subset_of": Field(NAMES),
    },
    doc="checked against data by `segc check`",
)

# Unit tests of a definition (`segc test`, docs/testing.md): fixture rows and what to expect.
# Cells are checked against the model's columns and types by segc.testing, not here.
CELL = Scalar("a value; a time is ISO text (2026-06-01 12:00:00) or relative to as_of: ago(30d), now() - 1h, -30d")
ROW = MapOf(CELL, doc="column or property: value; what a row leaves out is null")
AS_OF = Instant("the instant now() stands for in this test (UTC when no offset); default: when segc test starts")
PERSONS_ROWS = ListOf(AnyOf([ROW, CELL]), doc="rows of the persons table (or just a key each)")
EVENTS_ROWS = ListOf(ROW, doc="rows of the events table; repeat: N writes N copies, every: D spaces the copies D apart")
TEST_CASE = Obj(
    {
        "name": Field(Text("what the test shows"), required=True),
        "description": Field(Text()),
        "as_of": Field(AS_OF),
        "persons": Field(PERSONS_ROWS),
        "events": Field(EVENTS_ROWS),
        "expect": Field(
            ListOf(AnyOf([ROW, CELL])), required=True,
            doc="a segment: its member keys ([] for none); a cohort or insight: its rows, each a mapping of column: value",
        ),
        "match": Field(Text(enum=("exact", "contains")), doc="exact (default): nothing but what is listed; contains: at least it"),
    },
    doc="one unit test, run by `segc test`",
)

_COMMON = {
    "description": Field(Text()),
    "tags": Field(ListOf(Text(), allow_single=True)),
    "meta": Field(MapOf(AnyOf([Text(), Number(), Boolean()])), doc="free-form metadata"),
    "tests": Field(ListOf(TEST_CASE), doc="unit tests with fixture persons and events, run by `segc test`"),
}

SEGMENT = Obj(
    title="segc segment",
    fields={
        "segment": Field(NAME, required=True),
        "where": Field(Expr("who belongs: a segc expression"), required=True),
        "expect": Field(EXPECT),
        **_COMMON,
    },
)

PARTITION = Obj(
    title="segc partition",
    fields={
        "partition": Field(NAME, required=True),
        "segments": Field(ListOf(NAME, min_items=2), required=True),
        "complete": Field(Boolean("every person is in one of the segments")),
        **_COMMON,
    },
)

PERIODS = ("day", "week", "month")

COHORT = Obj(
    title="segc cohort",
    fields={
        "cohort": Field(NAME, required=True),
        "entry": Field(Expr("when a person joins: a timestamp expression"), required=True),
        "period": Field(Text(enum=PERIODS), required=True),
        "periods": Field(Number(integer=True, minimum=1, maximum=1000), required=True),
        "returning": Field(Expr("what counts as coming back in a period"), required=True),
        "entries": Field(Expr("window on entry times, e.g. within 90d")),
        "segment": Field(NAME),
        **_COMMON,
    },
)

BREAKDOWN = AnyOf([Text("a person property or event.<property>"), Obj({"segments": Field(ListOf(NAME, min_items=1), required=True)})])

INSIGHT = Obj(
    title="segc insight",
    fields={
        "insight": Field(NAME, required=True),
        "kind": Field(Text(enum=("trend", "funnel", "lifecycle", "stickiness")), required=True),
        "series": Field(MapOf(Expr(), doc="series name: measure")),
        "formula": Field(Expr("arithmetic over series names")),
        "steps": Field(ListOf(Expr(), min_items=1)),
        "window": Field(Expr("conversion window, e.g. 1d")),
        "event": Field(Expr("the event for lifecycle and stickiness")),
        "interval": Field(Text(enum=PERIODS)),
        "range": Field(Expr("e.g. within 90d")),
        "breakdown": Field(BREAKDOWN),
        "segment": Field(NAME),
        **_COMMON,
    },
)

KINDS: dict[str, Obj] = {"segment": SEGMENT, "partition": PARTITION, "cohort": COHORT, "insight": INSIGHT}

TEST_FILE = Obj(
    title="segc test file (tests/*.yml)",
    fields={
        "test": Field(NAME, required=True, doc="the definition (segment, cohort or insight) these cases test"),
        "description": Field(Text()),
        "as_of": Field(AS_OF, doc="as_of of every case that gives none"),
        "persons": Field(PERSONS_ROWS, doc="persons in every case, before the case's own"),
        "events": Field(EVENTS_ROWS, doc="events in every case, before the case's own"),
        "cases": Field(ListOf(TEST_CASE, min_items=1), required=True),
    },
)


def json_schemas() -> dict[str, dict]:
    """JSON Schema documents for segc.yml, targets and definition files."""
    base = "https://json-schema.org/draft/2020-12/schema"
    spec = {"$schema": base, "title": "segc definition", "anyOf": []}
    for kind, shape in KINDS.items():
        s = shape.json_schema()
        spec["anyOf"].append({**s, "required": sorted(set(s.get("required", [])) | {kind})})
    return {
        "segc-project.schema.json": {"$schema": base, **PROJECT.json_schema()},
        "segc-target.schema.json": {"$schema": base, **TARGET.json_schema()},
        "segc-spec.schema.json": spec,
        "segc-test.schema.json": {"$schema": base, **TEST_FILE.json_schema()},
    }


def plain_value(y: Y | None, default: Any = None) -> Any:
    return default if y is None else y.plain()

