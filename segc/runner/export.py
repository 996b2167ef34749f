"""`segc export`: members with their person properties, as CSV or Parquet (through DuckDB)."""
from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path


def _write_csv(path: str, columns: list[str], rows: list[tuple]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(columns)
        w.writerows(rows)


def write_rows(columns: list[str], rows: list[tuple], fmt: str, out: str | Path) -> Path:
    """Write atomically: a temporary file beside `out`, renamed into place. A missing value is
    an empty CSV field, a null in Parquet."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if fmt == "csv":
            _write_csv(tmp, columns, rows)
        else:
            import duckdb

            with tempfile.TemporaryDirectory(prefix="segc-export-") as d:
                src = os.path.join(d, "rows.csv")
                _write_csv(src, columns, rows)
                con = duckdb.connect()
                try:
                    con.read_csv(src, header=True).write_parquet(tmp)
                finally:
                    con.close()
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return out
