"""The engine contract on a real ClickHouse server over HTTP (clickhouse-connect).

Runs only when SEGC_CH_URL is set, e.g. SEGC_CH_URL=http://default:password@127.0.0.1:8123;
every test in test_contract.py runs again here against a fresh database on that server.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlglot import exp
from test_contract import *  # noqa: F403  (the contract tests, collected again with the engine below)

from segc.engines import connect

pytestmark = pytest.mark.remote_clickhouse


@pytest.fixture
def engine():
    database = f"segc_test_{uuid.uuid4().hex[:12]}"
    with connect({"dialect": "clickhouse", "url": os.environ["SEGC_CH_URL"], "database": database}) as server:
        try:
            yield server
        finally:
            drop = exp.Drop(
                tables=[exp.Table(this=exp.to_identifier(database, quoted=True))], kind="DATABASE", exists=True
            )
            server.execute(drop.sql("clickhouse"))


def test_server_session_is_utc_with_join_use_nulls(engine):
    assert engine.query("SELECT timezone(), getSetting('join_use_nulls') = 1") == [("UTC", True)]
