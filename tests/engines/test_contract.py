"""What every engine promises: tables of segc's logical types load and read back the same.

Each test runs on DuckDB, ClickHouse (chdb) and PostgreSQL through the `engine` fixture;
test_clickhouse_remote.py runs them again on a ClickHouse server when SEGC_CH_URL is set.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlglot import exp

from segc.engines import Engine, EngineError, table_name

UTC = dt.timezone.utc


def select(engine: Engine, table: str, *columns: str, order_by: str | None = None) -> list[tuple]:
    query = exp.select(*(exp.column(c, quoted=True) for c in columns)).from_(table_name(table))
    if order_by:
        query = query.order_by(exp.Ordered(this=exp.column(order_by, quoted=True), nulls_first=False))
    return engine.query(query.sql(engine.dialect))


def test_every_logical_type_round_trips_with_nulls(engine):
    columns = [
        ("id", "integer"),
        ("name", "string"),
        ("score", "number"),
        ("active", "boolean"),
        ("seen_at", "timestamp"),
        ("props", "json"),
    ]
    rows = [
        (1, "ada", 1.25, True, dt.datetime(2024, 1, 31, 23, 59, 59, 999999), '{"plan": "pro", "n": 3}'),
        (2, "", -0.5, False, dt.datetime(1999, 12, 31, 0, 0, 0), '{"emoji": "😀"}'),
        (3, None, None, None, None, None),
        (-(2**62), "z", 1e300, True, dt.datetime(2038, 1, 19, 3, 14, 8, 1), "[]"),
    ]
    engine.create_table("people", columns, rows)
    got = select(engine, "people", *(c for c, _ in columns), order_by="id")
    expected = sorted(rows, key=lambda r: r[0])
    # JSON documents come back as text; engines may re-space them
    assert [r[:5] for r in got] == [r[:5] for r in expected]
    assert [None if r[5] is None else json.loads(r[5]) for r in got] == [
        None if r[5] is None else json.loads(r[5]) for r in expected
    ]
    for row in got:
        assert type(row[0]) is int
        assert row[2] is None or type(row[2]) is float
        assert row[3] is None or type(row[3]) is bool
        assert row[4] is None or (type(row[4]) is dt.datetime and row[4].tzinfo is None)


def test_nulls_differ_from_empty_strings_and_zeroes(engine):
    engine.create_table(
        "t",
        [("k", "integer"), ("s", "string"), ("n", "number"), ("b", "boolean"), ("j", "json")],
        [(1, "", 0.0, False, '""'), (2, None, None, None, None)],
    )
    is_null = (
        exp.select(
            exp.column("k", quoted=True),
            *(exp.column(c, quoted=True).is_(exp.null()).as_(f"{c}_null") for c in "snbj"),
        )
        .from_(table_name("t"))
        .order_by(exp.column("k", quoted=True))
    )
    assert engine.query(is_null.sql(engine.dialect)) == [(1, False, False, False, False), (2, True, True, True, True)]


def test_timestamps_keep_microseconds_and_come_back_naive_utc(engine):
    new_york = dt.timezone(dt.timedelta(hours=-5))
    given = [
        (1, dt.datetime(2024, 3, 10, 6, 59, 59, 123456)),  # naive: already UTC
        (2, dt.datetime(2024, 3, 10, 1, 59, 59, 654321, tzinfo=new_york)),  # aware: converted
        (3, "2024-03-10T07:00:00.000001"),  # ISO text
        (4, dt.datetime(2024, 3, 10, 7, 0, 0, 0, tzinfo=UTC)),
    ]
    engine.create_table("clicks", [("id", "integer"), ("at", "timestamp")], given)
    assert select(engine, "clicks", "id", "at", order_by="id") == [
        (1, dt.datetime(2024, 3, 10, 6, 59, 59, 123456)),
        (2, dt.datetime(2024, 3, 10, 6, 59, 59, 654321)),
        (3, dt.datetime(2024, 3, 10, 7, 0, 0, 1)),
        (4, dt.datetime(2024, 3, 10, 7, 0, 0)),
    ]
    # ordering and min/max work on the stored instants, fractions included
    at = exp.column("at", quoted=True)
    query = exp.select(exp.Min(this=at), exp.Max(this=at)).from_(table_name("clicks"))
    assert engine.query(query.sql(engine.dialect)) == [
        (dt.datetime(2024, 3, 10, 6, 59, 59, 123456), dt.datetime(2024, 3, 10, 7, 0, 0, 1))
    ]


AWKWARD_STRINGS = [
    'say "hi"',
    "it's",
    "back\\slash\\",
    "\\N",
    "\\.",
    "line\n\\.\nafter",
    "NULL",
    "null",
    "",
    " ",
    "a,b;c\td",
    "windows\r\nline",
    "new\nline",
    "😀 non-BMP 𝄞 and CJK 漢字",
    '"',
    "'",
    '""',
    "x" * 3_000_000,  # longer than DuckDB's default CSV line limit
]


def test_awkward_strings_survive(engine):
    rows = [(i, s, json.dumps({"v": s}, ensure_ascii=False)) for i, s in enumerate(AWKWARD_STRINGS)]
    engine.create_table("strings", [("i", "integer"), ("s", "string"), ("j", "json")], rows)
    got = select(engine, "strings", "i", "s", "j", order_by="i")
    assert [(i, s) for i, s, _ in got] == [(i, s) for i, s, _ in rows]
    assert [json.loads(j)["v"] for _, _, j in got] == AWKWARD_STRINGS


@pytest.mark.parametrize(
    "table",
    ["plain", "Mixed$Case", "analytics.persons", 'Ana$lytics.We"ird Name', "x.y$"],
)
def test_awkward_table_and_column_names(engine, table):
    columns = [("UserId", "string"), ("$amount", "number"), ('quo"te', "integer"), ("with space", "boolean")]
    engine.create_table(table, columns, [("u1", 9.5, 7, True), ("U1", None, None, None)])
    got = select(engine, table, *(c for c, _ in columns), order_by="UserId")
    assert sorted(got, key=lambda r: r[0]) == [("U1", None, None, None), ("u1", 9.5, 7, True)]


def test_names_keep_their_case(engine):
    engine.create_table("Events", [("UserId", "integer")], [(1,)])
    names = engine.query(exp.select("*").from_(table_name("Events")).limit(0).sql(engine.dialect))
    assert names == []
    engine.create_table("events", [("userid", "integer")], [(2,)])
    if engine.dialect == "duckdb":
        # DuckDB matches identifiers case-insensitively even when quoted: one table, replaced
        assert select(engine, "Events", "userid") == [(2,)]
    else:
        assert select(engine, "Events", "UserId") == [(1,)]
        assert select(engine, "events", "userid") == [(2,)]


def test_replace_reloads_and_no_replace_refuses(engine):
    engine.create_table("t", [("x", "integer")], [(1,), (2,)])
    engine.create_table("t", [("x", "integer"), ("y", "string")], [(3, "c")])
    assert select(engine, "t", "x", "y") == [(3, "c")]
    with pytest.raises(EngineError):
        engine.create_table("t", [("x", "integer")], [(4,)], replace=False)
    assert select(engine, "t", "x") == [(3,)]


def test_empty_table_and_generator_rows(engine):
    engine.create_table("empty", [("x", "integer"), ("t", "timestamp")], [])
    assert select(engine, "empty", "x", "t") == []
    engine.create_table("gen", [("x", "integer")], ((i,) for i in range(5)))
    assert sorted(select(engine, "gen", "x")) == [(i,) for i in range(5)]


def test_result_values_are_normalised(engine):
    engine.create_table("n", [("x", "integer"), ("f", "boolean")], [(1, True), (2, False), (4, True)])
    x = exp.column("x", quoted=True)
    query = exp.select(
        exp.Avg(this=x),  # PostgreSQL: numeric (Decimal)
        exp.Count(this=exp.Star()),  # ClickHouse: UInt64
        exp.Sum(this=x),  # PostgreSQL: numeric, DuckDB: HUGEINT
        exp.Literal.string("s"),
    ).from_(table_name("n"))
    [row] = engine.query(query.sql(engine.dialect))
    assert row == (pytest.approx(7 / 3), 3, 7, "s")
    assert [type(v) for v in row] == [float, int, int, str]
    # a Bool column stays bool (ClickHouse comparisons give UInt8, which nobody can tell from 0/1)
    assert select(engine, "n", "f", order_by="x") == [(True,), (False,), (True,)]


def test_bad_sql_raises_engine_error_naming_the_dialect(engine):
    with pytest.raises(EngineError, match=engine.dialect):
        engine.query("SELECT no_such_column FROM no_such_table")
    with pytest.raises(EngineError):
        engine.execute("THIS IS NOT SQL")
    assert engine.query("SELECT 1") == [(1,)]  # still usable afterwards


def test_bad_rows_and_types_are_engine_errors(engine):
    with pytest.raises(EngineError, match="row 2 has 1 values"):
        engine.create_table("t", [("a", "integer"), ("b", "string")], [(1, "x"), (2,)])
    with pytest.raises(EngineError, match="unknown type 'text'"):
        engine.create_table("t", [("a", "text")], [])
    with pytest.raises(EngineError, match="duplicate"):
        engine.create_table("t", [("a", "integer"), ("a", "string")], [])


def test_execute_runs_ddl_and_dml(engine):
    engine.create_table("t", [("x", "integer")], [(1,)])
    insert = exp.insert(exp.select(exp.Literal.number(5)), table_name("t"))
    engine.execute(insert.sql(engine.dialect))
    assert sorted(select(engine, "t", "x")) == [(1,), (5,)]


def test_200k_rows_load(engine):
    start = dt.datetime(2024, 1, 1)
    rows = (
        (
            i,
            f"person_{i % 5000}",
            "purchase" if i % 7 == 0 else "pageview",
            start + dt.timedelta(seconds=i, microseconds=i % 1000),
            i * 0.5 if i % 3 else None,
        )
        for i in range(200_000)
    )
    columns = [("id", "integer"), ("person", "string"), ("event", "string"), ("at", "timestamp"), ("revenue", "number")]
    engine.create_table("events", columns, rows)
    query = exp.select(
        exp.Count(this=exp.Star()),
        exp.Count(this=exp.Distinct(expressions=[exp.column("person", quoted=True)])),
        exp.Count(this=exp.column("revenue", quoted=True)),
        exp.Max(this=exp.column("at", quoted=True)),
    ).from_(table_name("events"))
    assert engine.query(query.sql(engine.dialect)) == [
        (200_000, 5000, 133_333, start + dt.timedelta(seconds=199_999, microseconds=999))
    ]
