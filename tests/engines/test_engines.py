"""What differs per engine, and what no engine may do: leak a password, import drivers early."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from segc.engines import EngineError, connect, mask_secrets


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


# --- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "could not connect to postgresql://ann:SECRETPW@db.example:5432/shop",
        "host=db user=ann password=SECRETPW dbname=shop",
        "host=db user=ann password = 'SECRETPW with spaces' dbname=shop",
        'options: {"password": "SECRETPW"}',
        "HTTPConnectionPool: http://default:SECRETPW@127.0.0.1:8123/?database=x",
        "https://ann:SECRETPW@ch.example/?password=SECRETPW&user=ann",
    ],
)
def test_mask_secrets_finds_url_and_keyword_passwords(text):
    masked = mask_secrets(text)
    assert "SECRETPW" not in masked
    assert "***" in masked


def test_mask_secrets_masks_the_targets_password_wherever_it_appears():
    target = {"dialect": "postgres", "dsn": "postgresql://ann:p%40ss%3Aword@db/shop"}
    assert mask_secrets("auth failed for p@ss:word and p%40ss%3Aword", target) == "auth failed for *** and ***"
    target = {"dialect": "clickhouse", "url": "http://ann@ch:8123", "password": "hunter22"}
    assert mask_secrets("hunter22!", target) == "***!"
    assert mask_secrets("nothing secret here", target) == "nothing secret here"


def test_postgres_connect_error_has_no_password():
    for dsn in (
        f"postgresql://ann:SECRETPW@127.0.0.1:{closed_port()}/shop",
        f"host=127.0.0.1 port={closed_port()} user=ann password=SECRETPW dbname=shop",
    ):
        with pytest.raises(EngineError) as caught:
            connect({"dialect": "postgres", "dsn": dsn})
        assert "postgres" in str(caught.value)
        assert "SECRETPW" not in str(caught.value) and "SECRETPW" not in repr(caught.value)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no driver traceback


def test_clickhouse_server_connect_error_has_no_password():
    url = f"http://default:SECRETPW@127.0.0.1:{closed_port()}"
    with pytest.raises(EngineError) as caught:
        connect({"dialect": "clickhouse", "url": url, "database": "x"})
    assert "clickhouse" in str(caught.value)
    assert "SECRETPW" not in str(caught.value) and "SECRETPW" not in repr(caught.value)


def test_driver_errors_quoting_the_dsn_are_masked(pg_dsn):
    dsn = pg_dsn.replace("postgres@", "postgres:SECRETPW@", 1)  # trust auth ignores the password
    with connect({"dialect": "postgres", "dsn": dsn}) as engine:
        assert "SECRETPW" not in repr(engine)
        with pytest.raises(EngineError) as caught, engine.driver_errors("testing"):
            raise RuntimeError(f"cannot use {dsn}")
        assert "SECRETPW" not in str(caught.value)
        assert "postgres: testing failed: cannot use postgresql://postgres:***@" in str(caught.value)


def test_unknown_dialect_is_an_engine_error_without_password():
    with pytest.raises(EngineError, match="duckdb, postgres, clickhouse") as caught:
        connect({"dialect": "mysql", "dsn": "mysql://ann:SECRETPW@db/shop"})
    assert "SECRETPW" not in str(caught.value)


# --- drivers are optional and imported late -----------------------------------------------------


def test_importing_segc_engines_loads_no_driver():
    code = (
        "import sys, segc.engines; "
        "print([m for m in ('chdb', 'psycopg', 'clickhouse_connect', 'duckdb', 'pyarrow') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "target, module, extra",
    [
        ({"dialect": "postgres", "dsn": "postgresql://x"}, "psycopg", "postgres"),
        ({"dialect": "clickhouse", "path": ":memory:"}, "chdb", "clickhouse"),
        ({"dialect": "clickhouse", "url": "http://x:8123"}, "clickhouse_connect", "clickhouse"),
    ],
)
def test_missing_driver_says_which_extra_to_install(monkeypatch, target, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(EngineError, match=rf"install segc\[{extra}\]"):
        connect(target)


# --- ClickHouse ---------------------------------------------------------------------------------


def test_clickhouse_stays_utc_when_the_process_time_zone_is_new_york(tmp_path):
    # chdb reads zone-less times in the process TZ unless the session says UTC: run in a process
    # of its own, since TZ is read at start-up and chdb allows one storage path per process
    script = textwrap.dedent(
        """
        import datetime as dt, json, sys, time
        from segc.engines import connect
        assert time.strftime("%Z") in ("EST", "EDT"), time.strftime("%Z")
        target = {"dialect": "clickhouse", "path": sys.argv[1], "database": "tz"}
        with connect(target) as engine:
            engine.create_table("t", [("at", "timestamp")], [
                (dt.datetime(2024, 3, 10, 6, 59, 59, 123456),),   # New York changes clocks at 07:00 UTC
                (dt.datetime(2024, 7, 1, 12, 0, 0, 1),),
            ])
            rows = engine.query(
                "SELECT at, toString(at), at = toDateTime64('2024-03-10 06:59:59.123456', 6), "
                "toDateTime('2024-01-01 00:00:00'), timezone() FROM t ORDER BY at"
            )
        print(json.dumps(rows, default=str))
        """
    )
    env = {**os.environ, "TZ": "America/New_York"}
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "chdb")], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [
        ["2024-03-10 06:59:59.123456", "2024-03-10 06:59:59.123456", True, "2024-01-01 00:00:00", "UTC"],
        ["2024-07-01 12:00:00.000001", "2024-07-01 12:00:00.000001", False, "2024-01-01 00:00:00", "UTC"],
    ]


def test_clickhouse_unmatched_outer_join_columns_are_null(clickhouse_engine):
    clickhouse_engine.create_table("p", [("id", "integer")], [(1,), (2,)])
    clickhouse_engine.create_table("o", [("pid", "integer")], [(1,), (1,)])
    # count() and assumeNotNull() are not Nullable: without join_use_nulls they would give 0, not NULL
    orders = "SELECT assumeNotNull(pid) AS pid, count() AS n FROM o GROUP BY pid"
    rows = clickhouse_engine.query(
        f"SELECT p.id, c.n, c.pid FROM p LEFT JOIN ({orders}) AS c ON p.id = c.pid ORDER BY p.id"
    )
    assert rows == [(1, 2, 1), (2, None, None)]
    anti = clickhouse_engine.query(f"SELECT p.id FROM p LEFT JOIN ({orders}) AS c ON p.id = c.pid WHERE c.pid IS NULL")
    assert anti == [(2,)]


def test_clickhouse_result_types_are_normalised(clickhouse_engine):
    [row] = clickhouse_engine.query(
        "SELECT count(), toUInt64(18446744073709551615), toInt128(-5), toDecimal64(2.50, 2), "
        "nan, -inf, 1 = 1, true, toDate('2024-02-29'), toDateTime64('2024-01-01 12:00:00.5', 3, 'Asia/Tokyo'), "
        "[toDateTime('2024-01-01 00:00:00')], toUUID('00000000-0000-0000-0000-000000000001')"
    )
    assert row[:4] == (1, 2**64 - 1, -5, 2.5)
    assert [type(v) for v in row[:4]] == [int, int, int, float]
    assert row[4] != row[4] and row[5] == float("-inf")  # nan, -inf
    assert row[6] == 1 and type(row[6]) is int  # a comparison is UInt8: it stays 1, not True
    assert row[7] is True
    assert row[8] == dt.date(2024, 2, 29)
    assert row[9] == dt.datetime(2024, 1, 1, 3, 0, 0, 500000)  # Tokyo wall time -> UTC
    assert row[10] == [dt.datetime(2024, 1, 1)]
    assert row[11] == "00000000-0000-0000-0000-000000000001"


def test_clickhouse_tables_are_mergetree_with_nullable_columns(clickhouse_engine):
    clickhouse_engine.create_table("t", [("a", "string"), ("at", "timestamp"), ("b", "boolean")], [])
    rows = clickhouse_engine.query(
        "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 't' ORDER BY position"
    )
    assert rows == [("a", "Nullable(String)"), ("at", "Nullable(DateTime64(6, 'UTC'))"), ("b", "Nullable(Bool)")]
    assert clickhouse_engine.query(
        "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 't'"
    ) == [("MergeTree",)]


def test_chdb_engines_on_one_path_keep_their_own_database(chdb_path):
    first = connect({"dialect": "clickhouse", "path": chdb_path, "database": "segc_test_first"})
    second = connect({"dialect": "clickhouse", "path": chdb_path, "database": "segc_test_second"})
    try:
        first.create_table("t", [("x", "integer")], [(1,)])
        second.create_table("t", [("x", "integer")], [(2,)])
        assert first.query("SELECT x FROM t") == [(1,)]
        assert second.query("SELECT x FROM t") == [(2,)]
    finally:
        for engine, name in ((first, "segc_test_first"), (second, "segc_test_second")):
            engine.execute(f"DROP DATABASE IF EXISTS {name} SYNC")
            engine.close()


def test_chdb_refuses_a_second_storage_path_while_one_is_open(clickhouse_engine, tmp_path):
    with pytest.raises(EngineError, match="one storage path per process"):
        connect({"dialect": "clickhouse", "path": str(tmp_path / "other")})
    assert clickhouse_engine.query("SELECT 1") == [(1,)]


def test_chdb_takes_a_new_path_once_every_engine_is_closed(tmp_path):
    # in a process of its own: session fixtures of other tests may hold this process's chdb path open
    script = textwrap.dedent(
        """
        import sys
        from segc.engines import connect
        a, b = sys.argv[1] + "/a", sys.argv[1] + "/b"
        with connect({"dialect": "clickhouse", "path": a}) as engine:
            engine.create_table("t", [("x", "integer")], [(1,)])
        with connect({"dialect": "clickhouse", "path": b}) as engine:
            print(engine.query("SELECT count() FROM system.tables WHERE database = 'default' AND name = 't'"))
        with connect({"dialect": "clickhouse", "path": a}) as engine:
            print(engine.query("SELECT x FROM default.t"))  # MergeTree data stays on disk
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[(0,)]", "[(1,)]"]


def test_chdb_close_twice_is_harmless(chdb_path):
    engine = connect({"dialect": "clickhouse", "path": chdb_path})
    engine.close()
    engine.close()


# --- PostgreSQL ---------------------------------------------------------------------------------


def test_postgres_schema_is_created_and_first_on_search_path(postgres_engine, postgres_target):
    postgres_engine.create_table("t", [("x", "integer")], [(7,)])
    assert postgres_engine.query("SELECT x FROM t") == [(7,)]
    assert postgres_engine.query("SELECT table_schema FROM information_schema.tables WHERE table_name = 't'") == [
        (postgres_target["schema"],)
    ]


def test_postgres_decimal_results_become_numbers(postgres_engine):
    [row] = postgres_engine.query("SELECT avg(x), sum(x), 2.50::numeric(5,2), count(*) FROM (VALUES (1), (2)) v(x)")
    assert row == (1.5, 3, 2.5, 2)
    assert [type(v) for v in row] == [float, int, float, int]


def test_postgres_json_comes_back_as_text(postgres_engine):
    assert postgres_engine.query("""SELECT '{"a": [1]}'::jsonb, '[2]'::json""") == [('{"a": [1]}', "[2]")]


def test_postgres_timestamptz_results_are_naive_utc(postgres_engine):
    [(value,)] = postgres_engine.query("SELECT TIMESTAMPTZ '2024-01-01 12:00:00.25+02'")
    assert value == dt.datetime(2024, 1, 1, 10, 0, 0, 250000)


# --- DuckDB -------------------------------------------------------------------------------------


def test_duckdb_file_database_persists(duckdb_target):
    with connect(duckdb_target) as engine:
        engine.create_table("analytics.persons", [("id", "string")], [("p1",)])
    with connect(duckdb_target) as engine:
        assert engine.query("SELECT id FROM analytics.persons") == [("p1",)]


def test_duckdb_timestamptz_results_are_naive_utc(duckdb_engine):
    [(value,)] = duckdb_engine.query("SELECT TIMESTAMPTZ '2024-01-01 12:00:00.25+02'")
    assert value == dt.datetime(2024, 1, 1, 10, 0, 0, 250000)
