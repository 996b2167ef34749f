"""PostgreSQL over psycopg 3: a DSN and an optional schema (created, and first on search_path).

Bulk loads use binary COPY.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from sqlglot import exp

from .base import Engine, EngineError, column_name, missing_driver

_COPY_TYPES = {
    "string": "text",
    "number": "float8",
    "integer": "int8",
    "boolean": "bool",
    "timestamp": "timestamp",
    "json": "jsonb",
}


class PostgresEngine(Engine):
    dialect = "postgres"
    column_types = {
        "string": "TEXT",
        "number": "DOUBLE PRECISION",
        "integer": "BIGINT",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP",  # without time zone: values are UTC
        "json": "JSONB",
    }

    def __init__(self, target):
        super().__init__(target)
        try:
            import psycopg
            from psycopg import sql
            from psycopg.types.string import TextLoader
        except ImportError:
            raise missing_driver("postgres", "psycopg", "postgres") from None
        dsn = self.target.get("dsn")
        if not dsn:
            raise EngineError("postgres target needs a 'dsn', e.g. postgresql://user@host:5432/db")
        schema = self.target.get("schema")
        with self.driver_errors("connecting"):
            self._con = psycopg.connect(dsn, autocommit=True)
        with self.driver_errors("setting up the session"):
            # JSON comes back as its text, as on DuckDB and ClickHouse, not parsed into dicts
            for json_type in ("json", "jsonb"):
                self._con.adapters.register_loader(json_type, TextLoader)
            self._con.execute("SET TIME ZONE 'UTC'")
            # JIT compiles every expression of a query before running it. segc's queries hold
            # many (a flag per segment, a condition per window): at 1M events the compiling
            # cost 0.5 s (20 segments) and 1.4 s (50) more than it saved (docs/decisions.md)
            if self._con.execute("SELECT 1 FROM pg_settings WHERE name = 'jit'").fetchone():
                self._con.execute("SET jit = off")
            if self.timeout:
                self._con.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(max(1, int(self.timeout * 1000)))))
            if schema:
                create = exp.Create(this=exp.Table(db=column_name(schema)), kind="SCHEMA", exists=True)
                self._con.execute(create.sql(self.dialect))
                self._con.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))

    def swap_lock(self, name: str) -> str | None:
        # a transaction-scoped advisory lock keyed by a stable 64-bit hash of the name: without
        # it two first runs both find no members table and the second RENAME fails
        key = int.from_bytes(hashlib.blake2b(f"segc:{name}".encode(), digest_size=8).digest(), "big", signed=True)
        lock = exp.Anonymous(this="pg_advisory_xact_lock", expressions=[exp.Literal.number(key)])
        return exp.Select(expressions=[lock]).sql(self.dialect)

    def _execute(self, sql: str) -> None:
        self._con.execute(sql)

    def _fetch(self, sql: str) -> list[tuple]:
        cursor = self._con.execute(sql)
        return cursor.fetchall() if cursor.description else []

    def _load(self, table: exp.Table, columns, batches: Iterator[list[list]]) -> None:
        # binary COPY: ~3 µs a row; text COPY through psycopg ~7 µs, executemany far slower
        copy = exp.Copy(
            this=exp.Schema(this=table.copy(), expressions=[column_name(c) for c, _ in columns]),
            kind=True,
            files=[exp.to_identifier("STDIN")],
            params=[exp.CopyParameter(this=exp.var("FORMAT"), expression=exp.var("BINARY"))],
        )
        with self._con.cursor() as cursor:
            cursor.adapters.register_dumper(_JsonText, _jsonb_text_dumper())
            with cursor.copy(copy.sql(self.dialect)) as stream:
                stream.set_types([_COPY_TYPES[t] for _, t in columns])
                for batch in batches:
                    for row in zip(*batch):
                        stream.write_row(row)

    def _close(self) -> None:
        self._con.close()


class _JsonText:
    """Never instantiated: the key that registers the jsonb dumper below (psycopg finds it by oid)."""


def _jsonb_text_dumper():
    import psycopg
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class JsonbTextDumper(Dumper):
        """JSON text straight into binary jsonb; psycopg's own would dump a str as a JSON string."""

        format = Format.BINARY
        oid = psycopg.adapters.types["jsonb"].oid

        def dump(self, obj: str) -> bytes:
            return b"\x01" + obj.encode()  # jsonb binary format: version 1, then the text

    return JsonbTextDumper
