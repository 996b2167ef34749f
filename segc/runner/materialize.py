"""`segc run`: materialize each selected segment's members as a table in the target.

Design: one table per segment, named after it, in the target's namespace (DuckDB schema
`segments` unless the target says `schema`; PostgreSQL `schema`; ClickHouse `database`),
with one column named like the persons key. Every segment is first built into a staging
table; only when all of them are complete are they swapped in (DuckDB and PostgreSQL: one
transaction; ClickHouse: EXCHANGE TABLES, atomic per table). A failure or an interrupt drops
the staging tables and leaves every previous materialization as it was. Each run appends
one row per segment to `segc_runs` (segment, members, as_of, finished_at).
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Callable

from ..compiler import segment_select
from ..diagnostics import Diagnostic, SegcError
from ..engines import Engine, EngineError
from ..engines import tables

RUNS_TABLE = "segc_runs"


@dataclass(frozen=True)
class Materialized:
    name: str
    members: int
    table: str


def namespace(settings: dict) -> str | None:
    if settings["dialect"] == "clickhouse":
        return settings.get("database")
    return settings.get("schema") or ("segments" if settings["dialect"] == "duckdb" else None)


def qualified(ns: str | None, name: str) -> str:
    return f"{ns}.{name}" if ns else name


def materialize(
    engine: Engine,
    settings: dict,
    model,
    segments: dict,
    names: list[str],
    as_of: dt.datetime,
    progress: Callable[[str, int | None], None] | None = None,
) -> list[Materialized]:
    ns = namespace(settings)
    token = f"{os.getpid()}_{int(dt.datetime.now().timestamp() * 1000) % 10**9}"
    staged: list[tuple[str, str, str]] = []  # (segment, staging table, final table)
    sizes: dict[str, int] = {}
    current = None
    try:
        for name in names:
            current = name
            stage = qualified(ns, f"segc_stage_{token}_{name}")
            select = segment_select(model, segments, name, engine.dialect, as_of)
            staged.append((name, stage, qualified(ns, name)))
            tables.create_table_as(engine, stage, select)
            sizes[name] = tables.count_rows(engine, stage)
            if progress:
                progress(name, sizes[name])
        current = None
        tables.swap_in(engine, [(stage, final) for _, stage, final in staged],
                       qualified(ns, RUNS_TABLE), [(n, sizes[n], as_of) for n, _, _ in staged])
    except (EngineError, KeyboardInterrupt) as error:
        for _, stage, _ in staged:
            try:
                tables.drop_table(engine, stage)
            except EngineError:
                pass
        if isinstance(error, KeyboardInterrupt):
            raise SegcError(Diagnostic("SEG500", "interrupted: the previous members are unchanged", None)) from None
        where = f"segment '{current}' failed" if current else "swapping the new members in failed"
        raise SegcError(Diagnostic("SEG500", f"{where}: {error}; the previous members are unchanged", None)) from None
    return [Materialized(n, sizes[n], final) for n, _, final in staged]
