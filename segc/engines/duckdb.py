"""DuckDB, in-process: a database file or ":memory:". Bulk loads go through a temporary CSV file."""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
import threading
from collections.abc import Iterator

from sqlglot import exp

from .base import Engine, missing_driver


class _CsvNull(int):
    """csv.QUOTE_NONNUMERIC quotes every str but leaves numbers bare, so this NULL is a bare \\N, unlike ''."""

    def __str__(self) -> str:
        return "\\N"

    __repr__ = __str__


_NULL = _CsvNull()


class DuckDBEngine(Engine):
    dialect = "duckdb"
    column_types = {
        "string": "VARCHAR",
        "number": "DOUBLE",
        "integer": "BIGINT",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP",  # without time zone: values are UTC
        "json": "JSON",
    }

    def __init__(self, target):
        super().__init__(target)
        try:
            import duckdb
        except ImportError:
            raise missing_driver("duckdb", "duckdb", "all") from None
        path = str(self.target.get("path") or ":memory:")
        with self.driver_errors(f"opening {path}"):
            self._con = duckdb.connect(path)
            self._con.execute("SET TimeZone = 'UTC'")

    def _execute(self, sql: str) -> None:
        with self._time_limit():
            self._con.execute(sql)

    def _fetch(self, sql: str) -> list[tuple]:
        with self._time_limit():
            cursor = self._con.execute(sql)
            return cursor.fetchall() if cursor.description else []

    @contextlib.contextmanager
    def _time_limit(self):
        """DuckDB has no statement timeout: a timer thread interrupts the query (InterruptException)."""
        if not self.timeout:
            yield
            return
        running = [True]
        lock = threading.Lock()

        def stop() -> None:
            with lock:
                if running[0]:
                    self._con.interrupt()

        timer = threading.Timer(self.timeout, stop)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            with lock:
                running[0] = False
            timer.cancel()

    def _load(self, table: exp.Table, columns, batches: Iterator[list[list]]) -> None:
        # executemany costs ~50 µs a row; CSV written by the csv module and read by read_csv ~8 µs
        with tempfile.TemporaryDirectory(prefix="segc-load-") as tmp:
            path = os.path.join(tmp, "rows.csv")
            with open(path, "w", newline="", encoding="utf-8") as file:
                writer = csv.writer(file, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
                for batch in batches:
                    writer.writerows(zip(*[[_NULL if v is None else v for v in col] for col in batch]))
            self._con.execute(self._insert_from_csv_sql(table, columns, path))

    def _insert_from_csv_sql(self, table: exp.Table, columns, path: str) -> str:
        csv_columns = exp.Struct(
            expressions=[
                exp.PropertyEQ(
                    this=exp.to_identifier(f"c{i}", quoted=True),
                    expression=exp.Literal.string("VARCHAR" if t == "json" else self.column_types[t]),
                )
                for i, (_, t) in enumerate(columns)
            ]
        )
        options = {
            "header": exp.false(),
            "auto_detect": exp.false(),
            "delim": exp.Literal.string(","),
            "quote": exp.Literal.string('"'),
            "escape": exp.Literal.string('"'),
            "nullstr": exp.Literal.string("\\N"),
            "allow_quoted_nulls": exp.false(),  # a quoted "\N" is the string \N
            "max_line_size": exp.Literal.number(1 << 30),
            "columns": csv_columns,
        }
        read_csv = exp.ReadCSV(
            this=exp.Literal.string(path),
            expressions=[exp.EQ(this=exp.column(k), expression=v) for k, v in options.items()],
        )
        select = exp.select("*").from_(exp.Table(this=read_csv))
        target = exp.Schema(this=table.copy(), expressions=[exp.to_identifier(c, quoted=True) for c, _ in columns])
        return exp.Insert(this=target, expression=select).sql(self.dialect)

    def _close(self) -> None:
        self._con.close()
