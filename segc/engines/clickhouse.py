"""ClickHouse: in-process through chdb (a storage path), or a server over HTTP (clickhouse-connect).

Both run every query with UTC as session time zone and join_use_nulls=1, read results as
JSONCompact (typed by its "meta" header) and bulk-load tables as ArrowStream, so they share
everything but the transport.
"""

from __future__ import annotations

import abc
import datetime as dt
import functools
import json
import os
import re
import threading
from collections.abc import Iterator
from typing import Any

from sqlglot import exp

from .base import Engine, EngineError, column_name, missing_driver

SESSION_SETTINGS = {
    "session_timezone": "UTC",  # zone-less literals and DateTime columns would follow the process TZ
    "join_use_nulls": 1,  # unmatched outer-join columns are NULL, not 0 or ''
    "output_format_json_quote_64bit_integers": 0,
    "output_format_json_quote_denormals": 1,  # nan/inf as "nan"/"inf", not null
}

_UTC_NAMES = {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "UCT", "Zulu"}


# --- results: JSONCompact text -> Python values ----------------------------------------------

_WRAPPER = re.compile(r"(?:Nullable|LowCardinality)\((.*)\)")
_FRACTION = re.compile(r"\.(\d{7,})$")


def _parse_datetime(zone: str | None, text: str) -> dt.datetime:
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6], text)  # DateTime64(9): Python keeps µs
    value = dt.datetime.fromisoformat(text)
    if zone and zone not in _UTC_NAMES:  # printed as wall time in the column's own zone
        from zoneinfo import ZoneInfo

        value = value.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def _parse_float(value: Any) -> float:
    return float(value)  # numbers, and "nan" / "inf" / "-inf"


def _json_converter(ch_type: str):
    """How to turn one JSON value of this ClickHouse type into Python (None: as json gives it)."""
    while match := _WRAPPER.fullmatch(ch_type):
        ch_type = match.group(1)
    if ch_type.startswith("DateTime"):  # DateTime, DateTime('tz'), DateTime64(6), DateTime64(6, 'tz')
        zone = re.search(r"'([^']+)'", ch_type)
        return functools.partial(_parse_datetime, zone.group(1) if zone else None)
    if ch_type in ("Date", "Date32"):
        return dt.date.fromisoformat
    if ch_type.startswith(("Float", "Decimal", "BFloat")):
        return _parse_float
    if re.fullmatch(r"U?Int(128|256)", ch_type):
        return int
    if ch_type.startswith("Array(") and ch_type.endswith(")"):
        inner = _json_converter(ch_type[len("Array(") : -1])
        if inner:
            return lambda values: [None if v is None else inner(v) for v in values]
    return None


def rows_from_json_compact(body: bytes) -> list[tuple]:
    if not body.strip():
        return []
    result = json.loads(body)
    converters = [_json_converter(column["type"]) for column in result["meta"]]
    rows = result["data"]
    if not any(converters):
        return [tuple(row) for row in rows]
    return [tuple(v if f is None or v is None else f(v) for f, v in zip(converters, row)) for row in rows]


# --- loading: column batches -> ArrowStream bytes ---------------------------------------------


def _arrow_stream(columns, batch: list[list]) -> bytes:
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "number": pa.float64(),
        "integer": pa.int64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "json": pa.string(),
    }
    arrays = [pa.array(values, type=types[t]) for values, (_, t) in zip(batch, columns)]
    # ClickHouse matches Arrow fields to the INSERT's columns by name: an unknown name loads NULLs
    table = pa.Table.from_arrays(arrays, names=[name for name, _ in columns])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


class ClickHouseEngine(Engine):
    """What both ClickHouse transports share; subclasses supply _send, _insert_arrow, _close."""

    dialect = "clickhouse"
    namespace_kind = "DATABASE"
    column_types = {
        "string": "Nullable(String)",  # not Nullable, NULL would load as '' or 0
        "number": "Nullable(Float64)",
        "integer": "Nullable(Int64)",
        "boolean": "Nullable(Bool)",
        "timestamp": "Nullable(DateTime64(6, 'UTC'))",  # DateTime would drop the microseconds
        "json": "Nullable(String)",  # JSON text
    }

    @abc.abstractmethod
    def _send(self, sql: str, fmt: str | None) -> bytes:
        """Run `sql`; with `fmt`, return its result in that output format."""

    @abc.abstractmethod
    def _insert_arrow(self, insert_sql: str, data: bytes) -> None:
        """Run `insert_sql` (INSERT INTO t (columns)) with `data` as its ArrowStream input."""

    def _execute(self, sql: str) -> None:
        self._send(sql, None)

    def _fetch(self, sql: str) -> list[tuple]:
        return rows_from_json_compact(self._send(sql, "JSONCompact"))

    def _table_properties(self) -> exp.Properties:
        # MergeTree, not Memory: Memory tables vanish with the process (chdb) or a server restart,
        # and every segc command is a new process. ORDER BY tuple(): no sort key to choose or maintain.
        return exp.Properties(
            expressions=[
                exp.EngineProperty(this=exp.var("MergeTree")),
                exp.Order(expressions=[exp.Ordered(this=exp.Struct(), nulls_first=False)]),
            ]
        )

    def _load(self, table: exp.Table, columns, batches: Iterator[list[list]]) -> None:
        target = exp.Schema(this=table.copy(), expressions=[column_name(c) for c, _ in columns])
        insert_sql = exp.Insert(this=target).sql(self.dialect)  # the data follows as ArrowStream
        for batch in batches:
            self._insert_arrow(insert_sql, _arrow_stream(columns, batch))

    def _limits(self) -> dict:
        # max_execution_time is checked while a query runs: it stops with TIMEOUT_EXCEEDED
        return {"max_execution_time": self.timeout} if self.timeout else {}

    def _create_database(self, database: str) -> None:
        name = exp.Table(this=column_name(database))
        self._execute(exp.Create(this=name, kind="DATABASE", exists=True).sql(self.dialect))


# --- in-process: chdb -------------------------------------------------------------------------

# chdb runs one embedded server per process, bound to the first storage path opened; another
# path fails until every session is closed. Each engine gets its own session on that path, so
# USE and SET stay per engine.
_chdb_lock = threading.Lock()
_chdb_server: dict[str, Any] = {"path": None, "sessions": 0}


def chdb_storage_path() -> str | None:
    """The storage path chdb has open in this process, if any: no other can be opened."""
    with _chdb_lock:
        return _chdb_server["path"] if _chdb_server["sessions"] else None


def _storage_path(path: str | None) -> str:
    if not path or path == ":memory:":
        return ":memory:"
    return os.path.realpath(path)  # chdb compares paths as text


class ChdbEngine(ClickHouseEngine):
    def __init__(self, target):
        super().__init__(target)
        try:
            import pyarrow  # noqa: F401  (chdb depends on it; the loader needs it)
            from chdb import session as chdb_session
        except ImportError:
            raise missing_driver("clickhouse", "chdb", "clickhouse") from None
        path = _storage_path(self.target.get("path"))
        with _chdb_lock:
            open_path = _chdb_server["path"]
            if _chdb_server["sessions"] and open_path != path:
                raise EngineError(
                    f"clickhouse: chdb can open one storage path per process; {open_path!r} is open, "
                    f"so {path!r} cannot be (close the engines using it first)"
                )
            with self.driver_errors(f"opening chdb storage {path!r}"):
                self._session = chdb_session.Session(path)
            _chdb_server.update(path=path, sessions=_chdb_server["sessions"] + 1)
        self._closed = False
        with self.driver_errors("setting up the session"):
            for name, value in {**SESSION_SETTINGS, **self._limits()}.items():
                self._session.query(exp.Set(expressions=[_setting(name, value)]).sql(self.dialect))
            if database := self.target.get("database"):
                self._create_database(database)
                self._session.query(exp.Use(this=exp.Table(this=column_name(database))).sql(self.dialect))

    def _send(self, sql: str, fmt: str | None) -> bytes:
        try:
            return self._session.query(sql, fmt or "CSV").bytes()
        except Exception:
            # chdb keeps what a failed query had already written and prepends it to the next
            # result ("Extra data: line 24"); a throwaway query flushes it
            try:
                self._session.query("SELECT 1", "CSV")
            except Exception:
                pass
            raise

    def _insert_arrow(self, insert_sql: str, data: bytes) -> None:
        with self._session.send_insert(insert_sql, "ArrowStream") as inserter:
            inserter.append(data)
            inserter.finish()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with _chdb_lock:
            _chdb_server["sessions"] -= 1
            if not _chdb_server["sessions"]:
                _chdb_server["path"] = None
            self._session.close()


def _setting(name: str, value: Any) -> exp.Expression:
    literal = exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)
    return exp.SetItem(this=exp.EQ(this=exp.column(name), expression=literal))


# --- a server over HTTP: clickhouse-connect ------------------------------------------------


class ClickHouseHttpEngine(ClickHouseEngine):
    def __init__(self, target):
        super().__init__(target)
        try:
            import clickhouse_connect
            import pyarrow  # noqa: F401
        except ImportError:
            raise missing_driver("clickhouse", "clickhouse-connect", "clickhouse") from None
        url = self.target["url"]
        with self.driver_errors("connecting"):
            self._client = clickhouse_connect.get_client(
                dsn=url,
                settings={**SESSION_SETTINGS, **self._limits()},
                autogenerate_session_id=False,  # settings travel with each request; no server session to lock
            )
        with self.driver_errors("setting up the session"):
            if database := self.target.get("database"):
                self._create_database(database)
                self._client.database = database

    def _send(self, sql: str, fmt: str | None) -> bytes:
        if fmt is None:
            self._client.command(sql)
            return b""
        return self._client.raw_query(sql, fmt=fmt)

    def _insert_arrow(self, insert_sql: str, data: bytes) -> None:
        self._client.command(f"{insert_sql} FORMAT ArrowStream", data=data)  # sqlglot has no FORMAT clause

    def _close(self) -> None:
        self._client.close()
