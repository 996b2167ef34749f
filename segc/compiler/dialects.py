"""What differs between the engines, and only that: one class per engine overriding the base.

Everything else is built once from sqlglot's typed expression classes and printed by its
generators. Each override names the trap it avoids (see ENGINE-NOTES.md)."""
from __future__ import annotations

import datetime as dt

from sqlglot import exp

LOGICAL_TYPES = {"string": "TEXT", "number": "DOUBLE", "integer": "BIGINT", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP"}


def _ts_text(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if value.microsecond else value.strftime("%Y-%m-%d %H:%M:%S")


class Engine:
    """The base: ANSI-ish SQL that DuckDB and PostgreSQL read alike."""

    name = "ansi"
    sqlglot_dialect = "duckdb"

    def timestamp_type(self) -> exp.DataType:
        return exp.DataType.build("TIMESTAMP")

    def timestamp_literal(self, value: dt.datetime) -> exp.Expression:
        return exp.cast(exp.Literal.string(_ts_text(value)), self.timestamp_type())

    def now(self) -> exp.Expression:
        # CURRENT_TIMESTAMP is a timestamptz; columns hold naive UTC, so convert explicitly
        return exp.AtTimeZone(this=exp.CurrentTimestamp(), zone=exp.Literal.string("UTC"))

    def lower(self, e: exp.Expression) -> exp.Expression:
        return exp.Lower(this=e)

    def json_property(self, column: exp.Expression, key: str, type_: str) -> exp.Expression:
        path = exp.JSONPath(expressions=[exp.JSONPathRoot(), exp.JSONPathKey(this=key)])
        text = exp.JSONExtractScalar(this=column, expression=path, only_json_types=True)
        if type_ == "string":
            return text
        return exp.cast(text, self.cast_type(type_))

    def cast_type(self, type_: str) -> exp.DataType:
        if type_ == "timestamp":
            return self.timestamp_type()
        return exp.DataType.build(LOGICAL_TYPES[type_])

    def finish(self, select: exp.Select) -> exp.Select:
        return select


class DuckDB(Engine):
    name = sqlglot_dialect = "duckdb"


class Postgres(Engine):
    name = sqlglot_dialect = "postgres"


class ClickHouse(Engine):
    name = sqlglot_dialect = "clickhouse"

    def timestamp_type(self) -> exp.DataType:
        # CAST(x AS TIMESTAMP) would be DateTime (fractions lost) in the session time zone
        return exp.DataType.build("DateTime64(6, 'UTC')", dialect="clickhouse")

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
        return exp.cast(got, self.timestamp_type()) if type_ == "timestamp" else got

    def finish(self, select: exp.Select) -> exp.Select:
        # unmatched LEFT JOIN rows get NULL (not 0 / '' / 1970-01-01), as on the other engines
        select.set("settings", [exp.EQ(this=exp.var("join_use_nulls"), expression=exp.Literal.number(1))])
        return select


ENGINES: dict[str, Engine] = {e.name: e for e in (DuckDB(), Postgres(), ClickHouse())}
DIALECTS = tuple(ENGINES)
