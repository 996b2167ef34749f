"""Tables the runner writes: create from a query, count, drop, and swap staged tables in.

DuckDB and PostgreSQL swap every table in one transaction (DDL is transactional there);
ClickHouse has no multi-statement transactions, so each table is swapped with EXCHANGE
TABLES, which is atomic for that table.

Concurrent runs into one namespace (two CI jobs, a scheduler overlapping itself) each stage
their own tables; their swaps take turns. On PostgreSQL the swap transaction first takes a
transaction-scoped advisory lock named after the run log: without it two first runs both see
no members table and the second RENAME fails on PostgreSQL's catalog index. On ClickHouse a
RENAME that loses that race becomes an EXCHANGE. A DuckDB file has one writing process."""

from __future__ import annotations

import datetime as dt

from sqlglot import exp

from .base import Engine, table_name

_RUN_COLUMNS = [("segment", "string"), ("members", "integer"), ("as_of", "timestamp"), ("finished_at", "timestamp")]


def _ddl(engine: Engine, e: exp.Expression) -> str:
    return e.sql(dialect=engine.dialect)


def ensure_namespace(engine: Engine, name: str) -> None:
    t = table_name(name)
    if t.args.get("db"):
        engine.execute(
            _ddl(engine, exp.Create(this=exp.Table(this=t.args["db"].copy()), kind=engine.namespace_kind, exists=True))
        )


def create_table_as(engine: Engine, name: str, query: exp.Select) -> None:
    ensure_namespace(engine, name)
    create = exp.Create(this=table_name(name), kind="TABLE", expression=query, properties=engine._table_properties())
    engine.execute(_ddl(engine, create))


def count_rows(engine: Engine, name: str) -> int:
    q = exp.Select(expressions=[exp.Count(this=exp.Star())]).from_(table_name(name))
    return int(engine.query(_ddl(engine, q))[0][0])


def drop_table(engine: Engine, name: str) -> None:
    engine.execute(_ddl(engine, exp.Drop(tables=[table_name(name)], kind="TABLE", exists=True)))


def table_exists(engine: Engine, name: str) -> bool:
    try:
        engine.query(_ddl(engine, exp.Select(expressions=[exp.Literal.number(1)]).from_(table_name(name)).limit(0)))
        return True
    except Exception:
        return False


def _log_insert(engine: Engine, log_table: str, rows: list[tuple[str, int, dt.datetime]]) -> list[str]:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    ts_type = (
        exp.DataType.build("DateTime64(6, 'UTC')", dialect="clickhouse")
        if engine.dialect == "clickhouse"
        else exp.DataType.build("TIMESTAMP")
    )

    def ts(v: dt.datetime) -> exp.Expression:
        return exp.cast(exp.Literal.string(v.strftime("%Y-%m-%d %H:%M:%S.%f")), ts_type)

    values = exp.Values(
        expressions=[
            exp.Tuple(expressions=[exp.Literal.string(n), exp.Literal.number(c), ts(a), ts(now)]) for n, c, a in rows
        ]
    )
    insert = exp.Insert(
        this=exp.Schema(
            this=table_name(log_table), expressions=[exp.to_identifier(c, quoted=True) for c, _ in _RUN_COLUMNS]
        ),
        expression=values,
    )
    return [_ddl(engine, insert)]


def _create_log(engine: Engine, log_table: str) -> str:
    schema = exp.Schema(
        this=table_name(log_table),
        expressions=[
            exp.ColumnDef(
                this=exp.to_identifier(c, quoted=True),
                kind=exp.DataType.build(engine.column_types[t], dialect=engine.dialect),
            )
            for c, t in _RUN_COLUMNS
        ],
    )
    return _ddl(engine, exp.Create(this=schema, kind="TABLE", exists=True, properties=engine._table_properties()))


def _clickhouse_swap(engine: Engine, stage: str, final: str) -> None:
    # sqlglot has no node for these ClickHouse statements; the names are its quoted output
    a, b = _ddl(engine, table_name(stage)), _ddl(engine, table_name(final))
    if not table_exists(engine, final):
        try:
            engine.execute(f"RENAME TABLE {a} TO {b}")
            return
        except Exception:
            if not table_exists(engine, final):  # not the race with another run's RENAME: a real error
                raise
    engine.execute(f"EXCHANGE TABLES {a} AND {b}")
    drop_table(engine, stage)


def swap_in(engine: Engine, swaps: list[tuple[str, str]], log_table: str | None = None, log_rows=()) -> None:
    """Replace each final table by its staged table; readers see old or new, never a mix."""
    if log_table:
        ensure_namespace(engine, log_table)
    if engine.dialect == "clickhouse":
        if log_table:
            engine.execute(_create_log(engine, log_table))
        for stage, final in swaps:
            _clickhouse_swap(engine, stage, final)
        if log_table:
            for sql in _log_insert(engine, log_table, list(log_rows)):
                engine.execute(sql)
        return
    statements = [_ddl(engine, exp.Transaction())]
    lock = engine.swap_lock(log_table or ",".join(f for _, f in swaps))
    if lock:
        statements.append(lock)
    if log_table:  # created inside the transaction, under the lock: concurrent first runs take turns
        statements.append(_create_log(engine, log_table))
    for stage, final in swaps:
        statements.append(_ddl(engine, exp.Drop(tables=[table_name(final)], kind="TABLE", exists=True)))
        new_name = exp.Table(this=table_name(final).this)  # RENAME TO takes the bare name: same schema
        statements.append(
            _ddl(engine, exp.Alter(this=table_name(stage), kind="TABLE", actions=[exp.AlterRename(this=new_name)]))
        )
    if log_table:
        statements += _log_insert(engine, log_table, list(log_rows))
    statements.append(_ddl(engine, exp.Commit()))
    try:
        for s in statements:
            engine.execute(s)
    except BaseException:
        try:
            engine.execute(_ddl(engine, exp.Rollback()))
        except Exception:
            pass
        raise
