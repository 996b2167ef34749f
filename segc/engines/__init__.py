"""The engine arrow: SQL text -> rows, on DuckDB, PostgreSQL or ClickHouse (chdb or a server).

    with connect({"dialect": "duckdb", "path": "shop.duckdb"}) as engine:
        engine.create_table("analytics.persons", [("id", "string"), ("plan", "string")], rows)
        engine.query('SELECT count(*) FROM "analytics"."persons"')

Drivers are imported when a target needs them: chdb, psycopg and clickhouse-connect are extras.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import LOGICAL_TYPES, Engine, EngineError, mask_secrets, set_default_timeout, table_name

__all__ = ["LOGICAL_TYPES", "Engine", "EngineError", "connect", "mask_secrets", "set_default_timeout", "table_name"]

DIALECTS = ("duckdb", "postgres", "clickhouse")


def connect(target: Mapping[str, Any]) -> Engine:
    """Open the database a target config names.

    {"dialect": "duckdb", "path": "shop.duckdb"}             (path omitted or ":memory:": in memory)
    {"dialect": "postgres", "dsn": "postgresql://…", "schema": "segments"}
    {"dialect": "clickhouse", "path": ".chdb", "database": "segments"}   (in-process chdb)
    {"dialect": "clickhouse", "url": "http://user:pw@host:8123", "database": "segments"}
    """
    dialect = target.get("dialect")
    if dialect == "duckdb":
        from .duckdb import DuckDBEngine

        return DuckDBEngine(target)
    if dialect == "postgres":
        from .postgres import PostgresEngine

        return PostgresEngine(target)
    if dialect == "clickhouse":
        from .clickhouse import ChdbEngine, ClickHouseHttpEngine

        if target.get("url") and target.get("path"):
            raise EngineError("clickhouse target: give either 'url' (a server) or 'path' (chdb), not both")
        return ClickHouseHttpEngine(target) if target.get("url") else ChdbEngine(target)
    raise EngineError(
        mask_secrets(
            f"unknown dialect {dialect!r} in target {dict(target)!r}: expected one of {', '.join(DIALECTS)}", target
        )
    )
