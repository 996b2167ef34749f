"""What differs between the engines, and only that: one class per engine overriding the base.

Everything else is built once from sqlglot's typed expression classes and printed by its
generators. Each override names the trap it avoids (see ENGINE-NOTES.md)."""
from __future__ import annotations

import datetime as dt
import functools

from sqlglot import exp

LOGICAL_TYPES = {"string": "TEXT", "number": "DOUBLE", "integer": "BIGINT", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP"}


def fresh(e: exp.Expression) -> exp.Expression:
    """A deep copy of a tree. Expression.copy() goes through copy.deepcopy (its memo and
    bookkeeping in Python) to the same iterative __deepcopy__: this calls that directly, about
    3x faster on the small trees the builder copies (a cast's type, a column)."""
    return e.__deepcopy__(None)


@functools.lru_cache(maxsize=None)
def _built_type(spec: str, dialect: str | None) -> exp.DataType:
    built = exp.DataType.build(spec, dialect=dialect)
    for node in built.walk():  # parsed literals carry their source position, deep-copied with them
        node._meta = None
    return built


def data_type(spec: str, dialect: str | None = None) -> exp.DataType:
    """exp.DataType.build parses its argument: parse each spelling once, hand out copies."""
    return fresh(_built_type(spec, dialect))


@functools.lru_cache(maxsize=256)
def _ts_text(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if value.microsecond else value.strftime("%Y-%m-%d %H:%M:%S")


class Engine:
    """The base: ANSI-ish SQL that DuckDB and PostgreSQL read alike."""

    name = "ansi"
    sqlglot_dialect = "duckdb"

    def timestamp_type(self) -> exp.DataType:
        return data_type("TIMESTAMP")

    def timestamp_literal(self, value: dt.datetime) -> exp.Expression:
        return exp.cast(exp.Literal.string(_ts_text(value)), self.timestamp_type(), copy=False)

    def now(self) -> exp.Expression:
        # CURRENT_TIMESTAMP is a timestamptz; columns hold naive UTC, so convert explicitly.
        # Parenthesised: PostgreSQL's BETWEEN bounds cannot hold a bare AT TIME ZONE
        return exp.Paren(this=exp.AtTimeZone(this=exp.CurrentTimestamp(), zone=exp.Literal.string("UTC")))

    def count_if(self, condition: exp.Expression) -> exp.Expression:
        return exp.CountIf(this=condition)

    def lower(self, e: exp.Expression) -> exp.Expression:
        return exp.Lower(this=e)

    def ends_with(self, e: exp.Expression, pattern: exp.Expression) -> exp.Expression:
        return exp.EndsWith(this=e, expression=pattern)

    def regex_match(self, e: exp.Expression, pattern: exp.Expression) -> exp.Expression:
        # `.` matches a newline too: PostgreSQL's ~ and ClickHouse's match() do by default
        return exp.RegexpLike(this=e, expression=pattern)

    def truncate(self, ts: exp.Expression, unit: str) -> exp.Expression:
        """The start of the UTC day / ISO week (Monday) / calendar month holding ts, as a timestamp.
        DATE_TRUNC('WEEK') starts on Monday on all three engines; ClickHouse returns a Date32
        for DAY/WEEK/MONTH, hence the cast back to the timestamp type on every engine."""
        return exp.cast(exp.TimestampTrunc(this=ts, unit=exp.var(unit.upper())), self.timestamp_type())

    def json_property(self, column: exp.Expression, key: str, type_: str) -> exp.Expression:
        path = exp.JSONPath(expressions=[exp.JSONPathRoot(), exp.JSONPathKey(this=key)])
        text = exp.JSONExtractScalar(this=column, expression=path, only_json_types=True)
        if type_ == "string":
            return text
        return exp.cast(text, self.cast_type(type_))

    def cast_type(self, type_: str) -> exp.DataType:
        if type_ == "timestamp":
            return self.timestamp_type()
        return data_type(LOGICAL_TYPES[type_])

    def finish(self, select: exp.Select) -> exp.Select:
        return select


class DuckDB(Engine):
    name = sqlglot_dialect = "duckdb"

    def regex_match(self, e: exp.Expression, pattern: exp.Expression) -> exp.Expression:
        # RE2's `.` skips newlines unless flag 's' is given (PostgreSQL and ClickHouse match them)
        return exp.RegexpLike(this=e, expression=pattern, flag=exp.Literal.string("s"))


class Postgres(Engine):
    name = sqlglot_dialect = "postgres"

    def lower(self, e: exp.Expression) -> exp.Expression:
        # lower() follows the database's LC_CTYPE: under the C locale only A-Z change. An ICU
        # collation lowers every letter, as DuckDB and ClickHouse's lowerUTF8 do
        return exp.Lower(this=exp.Collate(this=e, expression=exp.Identifier(this="und-x-icu", quoted=True)))

    def count_if(self, condition: exp.Expression) -> exp.Expression:
        # the tree sqlglot's generator would rewrite COUNT_IF into, built here: its rewrite goes
        # through exp.func, which makes a dialect and a parser for every COUNT_IF printed
        return exp.Sum(this=exp.If(this=condition, true=exp.Literal.number(1), false=exp.Literal.number(0)))

    def ends_with(self, e: exp.Expression, pattern: exp.Expression) -> exp.Expression:
        # PostgreSQL has starts_with() but no ends_with(): compare the tail, RIGHT(x, LENGTH(p)) = p
        return exp.EQ(this=exp.Right(this=e, expression=exp.Length(this=fresh(pattern))), expression=pattern)


class ClickHouse(Engine):
    name = sqlglot_dialect = "clickhouse"

    def timestamp_type(self) -> exp.DataType:
        # CAST(x AS TIMESTAMP) would be DateTime (fractions lost) in the session time zone
        return data_type("DateTime64(6, 'UTC')", "clickhouse")

    def now(self) -> exp.Expression:
        # CURRENT_TIMESTAMP() is whole seconds; AT TIME ZONE means something else here
        return exp.Anonymous(this="now64", expressions=[exp.Literal.number(6), exp.Literal.string("UTC")])

    def lower(self, e: exp.Expression) -> exp.Expression:
        # lower() is ASCII-only in ClickHouse
        return exp.Anonymous(this="lowerUTF8", expressions=[e])

    def json_property(self, column: exp.Expression, key: str, type_: str) -> exp.Expression:
        # JSONExtractString gives '' for a missing key; ask for a Nullable type instead
        ch_type = {"string": "String", "number": "Float64", "integer": "Int64", "boolean": "Bool", "timestamp": "String"}[type_]
        got = exp.Anonymous(
            this="JSONExtract", expressions=[column, exp.Literal.string(key), exp.Literal.string(f"Nullable({ch_type})")]
        )
        # Nullable: a missing key must stay NULL, not fail the cast
        nullable_ts = data_type("Nullable(DateTime64(6, 'UTC'))", "clickhouse")
        return exp.cast(got, nullable_ts) if type_ == "timestamp" else got

    def truncate(self, ts: exp.Expression, unit: str) -> exp.Expression:
        # Nullable: a null time (a person without an entry) must stay NULL, not fail the cast
        nullable_ts = data_type("Nullable(DateTime64(6, 'UTC'))", "clickhouse")
        return exp.cast(exp.TimestampTrunc(this=ts, unit=exp.var(unit.upper())), nullable_ts)

    def finish(self, select: exp.Select) -> exp.Select:
        # unmatched LEFT JOIN rows get NULL (not 0 / '' / 1970-01-01), as on the other engines
        select.set("settings", [exp.EQ(this=exp.var("join_use_nulls"), expression=exp.Literal.number(1))])
        return select


ENGINES: dict[str, Engine] = {e.name: e for e in (DuckDB(), Postgres(), ClickHouse())}
DIALECTS = tuple(ENGINES)
