"""The ClickHouse-over-HTTP engine (clickhouse-connect) on the engine contract, against a stand-in.

No modern ClickHouse server installs here, so chdb_http_server.py answers ClickHouse's HTTP
protocol on 127.0.0.1 with chdb, in a process of its own. This checks how segc drives
clickhouse-connect; test_clickhouse_remote.py checks a real server when SEGC_CH_URL is set.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlglot import exp
from test_contract import *  # noqa: F403  (the contract tests, collected again with the engine below)

from segc.engines import EngineError, connect

SERVER = Path(__file__).with_name("chdb_http_server.py")


@pytest.fixture(scope="module")
def stand_in_url(tmp_path_factory):
    server = subprocess.Popen(
        [sys.executable, str(SERVER), str(tmp_path_factory.mktemp("chdb-http"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = server.stdout.readline().strip()
        if not port:
            pytest.fail(f"the stand-in ClickHouse server did not start:\n{server.stderr.read()}", pytrace=False)
        yield f"http://default:SECRETPW@127.0.0.1:{port}"  # the stand-in ignores credentials
    finally:
        server.stdin.close()  # the server exits when its stdin closes
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def engine(stand_in_url):
    database = f"segc_test_{uuid.uuid4().hex[:12]}"
    with connect({"dialect": "clickhouse", "url": stand_in_url, "database": database}) as server:
        yield server
        drop = exp.Drop(tables=[exp.Table(this=exp.to_identifier(database, quoted=True))], kind="DATABASE", exists=True)
        server.execute(drop.sql("clickhouse"))


def test_every_request_carries_utc_and_join_use_nulls(engine):
    assert engine.query("SELECT timezone(), getSetting('join_use_nulls') = 1") == [("UTC", True)]


def test_server_errors_are_engine_errors_without_the_password(engine):
    with pytest.raises(EngineError, match="clickhouse: query failed") as caught:
        engine.query("SELECT no_such_column")
    assert "SECRETPW" not in str(caught.value) and "SECRETPW" not in repr(engine)


def test_database_is_created_and_used(engine):
    engine.create_table("t", [("x", "integer")], [(1,)])
    assert engine.query("SELECT currentDatabase(), x FROM t") == [(engine.target["database"], 1)]
