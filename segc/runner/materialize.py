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
    progress: Callable[[int, int, str, int | None], None] | None = None,
) -> list[Materialized]:
    """progress(done, total, name, size) is called when a segment starts (size None) and when
    its members are staged (its size)."""
    ns = namespace(settings)
    _refuse_model_tables(model, ns, names, "main" if settings["dialect"] == "duckdb" else ns)
    token = f"{os.getpid()}_{int(dt.datetime.now().timestamp() * 1000) % 10**9}"
    staged: list[tuple[str, str, str]] = []  # (segment, staging table, final table)
    sizes: dict[str, int] = {}
    current = None
    try:
        for i, name in enumerate(names):
            current = name
            if progress:
                progress(i, len(names), name, None)
            # numbered, not named: two long segment names must not meet in a truncated identifier
            stage = qualified(ns, f"segc_stage_{token}_{i}")
            select = segment_select(model, segments, name, engine.dialect, as_of)
            staged.append((name, stage, qualified(ns, name)))
            tables.create_table_as(engine, stage, select)
            sizes[name] = tables.count_rows(engine, stage)
            if progress:
                progress(i + 1, len(names), name, sizes[name])
        current = None
        tables.swap_in(engine, [(stage, final) for _, stage, final in staged],
                       qualified(ns, RUNS_TABLE), [(n, sizes[n], as_of) for n, _, _ in staged])
    except BaseException as error:  # an interrupt or a bug must not leave staging tables behind
        for _, stage, _ in staged:
            try:
                tables.drop_table(engine, stage)
            except EngineError:
                pass
        if isinstance(error, KeyboardInterrupt):
            raise SegcError(Diagnostic("SEG500", "interrupted: the previous members are unchanged", None)) from None
        if not isinstance(error, EngineError):
            raise
        where = f"segment '{current}' failed" if current else "swapping the new members in failed"
        # the engine's message may run over several lines (DuckDB quotes the SQL): it goes last
        raise SegcError(Diagnostic("SEG500", f"{where}, the previous members are unchanged: {error}", None)) from None
    return [Materialized(n, sizes[n], final) for n, _, final in staged]


def _refuse_model_tables(model, ns: str | None, names: list[str], default_ns: str | None) -> None:
    """A segment named like the persons or events table (or segc_runs) in the namespace the
    members go to would replace that table: refuse before anything is written. `default_ns`:
    where the engine finds an unqualified table name (DuckDB: main; the others: the target's)."""
    for name in names:
        for table, what in ((model.persons.table, "persons table"), (model.events.table, "events table"),
                            (qualified(ns, RUNS_TABLE), "run log")):
            *qualifier, last = table.split(".")
            if last == name and (qualifier[-1] if qualifier else default_ns) == ns:
                raise SegcError(Diagnostic(
                    "SEG500", f"segment '{name}' cannot be materialized: its table would replace the {what} "
                    f"'{table}'; rename the segment or give the target a schema/database of its own", None))
