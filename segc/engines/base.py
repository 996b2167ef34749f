"""The engine arrow, shared part: SQL text in, normalised rows out; tables loaded in bulk.

Only this package and the loader do I/O. Each engine module lists only what differs:
its column types, how it connects, fetches and bulk-loads. Every driver error leaves
as `EngineError`, with passwords masked.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import decimal
import json
import re
import urllib.parse
import uuid
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any, ClassVar

from sqlglot import exp

LOGICAL_TYPES = ("string", "number", "integer", "boolean", "timestamp", "json")

BATCH_ROWS = 200_000
_UTC = dt.timezone.utc


class EngineError(Exception):
    """A database could not be reached or refused a statement. The message never holds a password."""


# --- a time limit per query ----------------------------------------------------------------

_default_timeout: list[float | None] = [None]


def set_default_timeout(seconds: float | None) -> None:
    """The time limit of each query of the engines opened from now on, unless their target sets
    `timeout` (`--timeout SECONDS` of run, check and overlap). None: no limit."""
    _default_timeout[0] = seconds


def _timed_out(error: Exception) -> bool:
    # PostgreSQL: QueryCanceled (statement_timeout); DuckDB: InterruptException (our timer);
    # ClickHouse: TIMEOUT_EXCEEDED (code 159, max_execution_time)
    text = str(error)
    return type(error).__name__ in ("QueryCanceled", "InterruptException") or "TIMEOUT_EXCEEDED" in text or "Timeout exceeded" in text


# --- secrets -------------------------------------------------------------------------------

_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/?#@\s]*:)[^@\s]*(?=@)")
_KEYWORD_PASSWORD = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|pgpassword)[\"']?\s*[=:]\s*)"
    r"(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&;,)'\"]+)",
    re.IGNORECASE,
)
_MIN_LITERAL_SECRET = 3  # shorter literals would garble messages; the patterns above still apply


def _target_secrets(target: Mapping[str, Any] | None) -> set[str]:
    secrets: set[str] = set()
    if not target:
        return secrets
    for key, value in target.items():
        if not isinstance(value, str):
            continue
        if key.lower() in ("password", "passwd", "pwd"):
            secrets.add(value)
        for match in _URL_PASSWORD.finditer(value):
            secret = value[match.end("head") : match.end()]
            secrets.update({secret, urllib.parse.unquote(secret)})
        for match in _KEYWORD_PASSWORD.finditer(value):
            secret = value[match.end("head") : match.end()]
            secrets.update({secret, secret.strip("'\"")})
    return {s for s in secrets if len(s) >= _MIN_LITERAL_SECRET}


def mask_secrets(text: str, target: Mapping[str, Any] | None = None) -> str:
    """`text` with passwords replaced by ***: those in URL or keyword form, and the target's own."""
    for secret in sorted(_target_secrets(target), key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\g<head>***", text)
    return _KEYWORD_PASSWORD.sub(r"\g<head>***", text)


# --- names ---------------------------------------------------------------------------------


def table_name(name: str) -> exp.Table:
    """'analytics.persons' -> a quoted `"analytics"."persons"`; the last two dots split catalog.db.table."""
    parts = name.split(".")
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise EngineError(f"invalid table name {name!r}: expected 'table', 'schema.table' or 'db.schema.table'")
    parts = [exp.to_identifier(p, quoted=True) for p in parts]
    return exp.Table(
        this=parts[-1], db=parts[-2] if len(parts) > 1 else None, catalog=parts[0] if len(parts) > 2 else None
    )


def column_name(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


# --- values --------------------------------------------------------------------------------


def _utc_naive(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is None else value.astimezone(_UTC).replace(tzinfo=None)


def _json_text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _timestamp(value: Any) -> Any:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return _utc_naive(value) if isinstance(value, dt.datetime) else value


def _load_converter(logical_type: str):
    """Per-column fix-up of values given to create_table (None when values pass as they are)."""
    if logical_type == "timestamp":
        return lambda col: [
            v if v is None or (type(v) is dt.datetime and v.tzinfo is None) else _timestamp(v) for v in col
        ]
    if logical_type == "json":
        return lambda col: [_json_text(v) for v in col]
    return None


def column_batches(
    columns: list[tuple[str, str]], rows: Iterable[tuple], batch_rows: int = BATCH_ROWS
) -> Iterator[list[list]]:
    """Rows in column-major batches: timestamps made naive UTC, JSON documents made text."""
    width = len(columns)
    converters = [_load_converter(t) for _, t in columns]
    iterator = iter(rows)
    seen = 0
    while chunk := list(islice(iterator, batch_rows)):
        for i, row in enumerate(chunk):
            if len(row) != width:
                raise EngineError(f"row {seen + i + 1} has {len(row)} values, the table has {width} columns")
        seen += len(chunk)
        batch = [[row[k] for row in chunk] for k in range(width)]
        yield [conv(col) if conv else col for conv, col in zip(converters, batch)]


def _normalize_nested(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return type(value)(normalize_value(v) for v in value)
    return value


def _decimal(value: decimal.Decimal) -> int | float:
    # a numeric without fraction digits is a whole number (PostgreSQL: sum and count of bigint)
    exponent = value.as_tuple().exponent
    return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)


_NORMALIZERS = {
    decimal.Decimal: _decimal,
    dt.datetime: _utc_naive,
    uuid.UUID: str,
    list: _normalize_nested,
    tuple: _normalize_nested,
}


def normalize_value(value: Any) -> Any:
    normalize = _NORMALIZERS.get(type(value))
    return normalize(value) if normalize else value


def normalize_rows(rows: list) -> list[tuple]:
    """Decimal -> float (int when it has no fraction digits), aware datetime -> naive UTC, UUID -> str.

    int, float, bool, str, date and naive datetime pass unchanged.
    """
    if not rows:
        return []
    # a result column has one type: find it from its first non-null value, convert only where needed
    width = len(rows[0])
    column_normalizers = []
    for k in range(width):
        value = next((row[k] for row in rows if row[k] is not None), None)
        column_normalizers.append(_NORMALIZERS.get(type(value)))
    if not any(column_normalizers):
        return [tuple(row) for row in rows]
    return [tuple(v if f is None or v is None else f(v) for f, v in zip(column_normalizers, row)) for row in rows]


# --- the interface -------------------------------------------------------------------------


class Engine(abc.ABC):
    """One connection to one database. Use as a context manager or call close()."""

    dialect: ClassVar[str]  # sqlglot dialect name
    column_types: ClassVar[dict[str, str]]  # logical type -> column type, in this dialect's SQL
    namespace_kind: ClassVar[str] = "SCHEMA"  # what a table name's qualifier creates

    def __init__(self, target: Mapping[str, Any]):
        self.target = dict(target)
        timeout = self.target.get("timeout", _default_timeout[0])
        self.timeout: float | None = float(timeout) if timeout else None

    # what each engine provides

    @abc.abstractmethod
    def _execute(self, sql: str) -> None: ...

    @abc.abstractmethod
    def _fetch(self, sql: str) -> list[tuple]: ...

    @abc.abstractmethod
    def _load(self, table: exp.Table, columns: list[tuple[str, str]], batches: Iterator[list[list]]) -> None: ...

    @abc.abstractmethod
    def _close(self) -> None: ...

    def _table_properties(self) -> exp.Properties | None:
        return None

    def swap_lock(self, name: str) -> str | None:
        """A statement that, first in the swap transaction, makes concurrent runs' swaps into
        the same namespace take turns (None: the engine serialises them already)."""
        return None

    # the public surface

    def query(self, sql: str) -> list[tuple]:
        """Run one query and return its rows with normalised Python values."""
        with self.driver_errors("query"):
            return normalize_rows(self._fetch(sql))

    def execute(self, sql: str) -> None:
        """Run a statement (or several, where the engine allows) and discard any result."""
        with self.driver_errors("statement"):
            self._execute(sql)

    def create_table(
        self,
        name: str,
        columns: list[tuple[str, str]],
        rows: Iterable[tuple],
        *,
        replace: bool = True,
    ) -> None:
        """Create a table of nullable columns of segc's logical types and bulk-load `rows` into it."""
        table = table_name(name)
        if not columns:
            raise EngineError(f"table {name!r} needs at least one column")
        for column, logical_type in columns:
            if logical_type not in LOGICAL_TYPES:
                raise EngineError(
                    f"column {column!r} of {name!r}: unknown type {logical_type!r} "
                    f"(expected one of {', '.join(LOGICAL_TYPES)})"
                )
        names = [c for c, _ in columns]
        if len(set(names)) != len(names):
            raise EngineError(f"table {name!r} has duplicate column names")
        with self.driver_errors(f"creating table {name!r}"):
            if table.args.get("db"):
                namespace = exp.Table(this=table.args["db"].copy())
                self._execute(exp.Create(this=namespace, kind=self.namespace_kind, exists=True).sql(self.dialect))
            if replace:
                self._execute(exp.Drop(tables=[table.copy()], kind="TABLE", exists=True).sql(self.dialect))
            self._execute(self.create_table_sql(table, columns))
            self._load(table, columns, column_batches(columns, rows))

    def create_table_sql(self, table: exp.Table, columns: list[tuple[str, str]]) -> str:
        schema = exp.Schema(
            this=table.copy(),
            expressions=[
                exp.ColumnDef(this=column_name(c), kind=exp.DataType.build(self.column_types[t], dialect=self.dialect))
                for c, t in columns
            ],
        )
        return exp.Create(this=schema, kind="TABLE", properties=self._table_properties()).sql(self.dialect)

    def close(self) -> None:
        with self.driver_errors("closing the connection"):
            self._close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        settings = "".join(f" {k}={v!r}" for k, v in self.target.items() if k != "dialect")
        return mask_secrets(f"<{type(self).__name__}{settings}>", self.target)

    @contextlib.contextmanager
    def driver_errors(self, action: str):
        """Turn any driver exception into an EngineError whose message has no password in it."""
        try:
            yield
        except EngineError as error:
            raise EngineError(mask_secrets(str(error), self.target)) from None
        except Exception as error:  # drivers raise anything: RuntimeError (chdb), OSError, their own
            message = str(error).strip() or type(error).__name__
            if self.timeout and _timed_out(error):
                raise EngineError(f"{self.dialect}: {action} ran longer than the timeout of {self.timeout:g} s and was stopped") from None
            # `from None`: the driver's exception may quote the DSN, and tracebacks print causes
            raise EngineError(mask_secrets(f"{self.dialect}: {action} failed: {message}", self.target)) from None


def missing_driver(dialect: str, module: str, extra: str) -> EngineError:
    return EngineError(f"{dialect} needs the Python package {module!r}: install segc[{extra}]")
