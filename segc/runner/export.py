"""`segc export`: members with their person properties, as CSV or Parquet (through DuckDB)."""
from __future__ import annotations

import csv
import os
from pathlib import Path

from ..loader.files import temporary_beside


def _write_csv(path: str, columns: list[str], rows: list[tuple]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(columns)
        w.writerows(rows)


def write_rows(columns: list[str], rows: list[tuple], fmt: str, out: str | Path, types: list[str] | None = None) -> Path:
    """Write atomically: a temporary file beside `out`, renamed into place. A missing value is
    an empty CSV field, a null in Parquet. Parquet columns get the model's types (segc logical
    types in `types`; default: taken from the values), never a type guessed from CSV text."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temporary_beside(out)  # the umask's mode, as a file written directly
    os.close(fd)
    try:
        if fmt == "csv":
            _write_csv(tmp, columns, rows)
        else:
            _write_parquet(tmp, columns, rows, types or [logical_type(rows, k) for k in range(len(columns))])
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return out


def _write_parquet(path: str, columns: list[str], rows: list[tuple], types: list[str]) -> None:
    from sqlglot import exp

    from ..engines import connect, table_name

    with connect({"dialect": "duckdb", "path": ":memory:"}) as engine:
        engine.create_table("segc_export", list(zip(columns, types)), rows)
        copy = exp.Copy(this=table_name("segc_export"), kind=False, files=[exp.Literal.string(path)],
                        params=[exp.CopyParameter(this=exp.var("FORMAT"), expression=exp.var("PARQUET"))])
        engine.execute(copy.sql("duckdb"))


def logical_type(rows: list[tuple], k: int) -> str:
    import datetime as dt

    value = next((r[k] for r in rows if r[k] is not None), None)
    for cls, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (dt.datetime, "timestamp")):
        if isinstance(value, cls):
            return name
    return "string"
