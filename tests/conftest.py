"""Shared fixtures.

Engines: a real PostgreSQL server for the whole session (or SEGC_PG_DSN), chdb in-process,
DuckDB in memory. Every engine fixture gives its test a namespace of its own and drops it after.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlglot import exp

from segc.engines import connect

# segc's per-user cache (Lark's tables, saved parse trees of the projects validated) goes to a
# folder of this session, for the test process and every `segc` it starts: the suite leaves
# the user's ~/.cache as it was, and no run depends on what an earlier one saved
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="segc-test-cache-")

# --- options and markers ------------------------------------------------------------------


def pytest_addoption(parser):
    parser.addoption(
        "--update-goldens", action="store_true", default=False, help="rewrite golden files from the current output"
    )


def pytest_collection_modifyitems(config, items):
    # the only test that may skip: a real ClickHouse server is not part of this machine
    if os.environ.get("SEGC_CH_URL"):
        return
    skip = pytest.mark.skip(reason="remote_clickhouse: set SEGC_CH_URL=http://user:password@host:8123 to run")
    for item in items:
        if "remote_clickhouse" in item.keywords:
            item.add_marker(skip)


# --- a PostgreSQL server for the session ----------------------------------------------------

PG_BIN = Path(os.environ.get("SEGC_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as_postgres(args: list) -> None:
    command = [str(a) for a in args]
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        command = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode:
        raise RuntimeError(f"{shlex.join(command)} failed:\n{result.stdout}{result.stderr}")


@contextlib.contextmanager
def _postgres_server():
    """initdb + pg_ctl start on 127.0.0.1 and a free port; stopped and removed on exit."""
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(f"no PostgreSQL at {PG_BIN}: run scripts/test (installs postgresql-15) or set SEGC_PG_DSN")
    base = Path(tempfile.mkdtemp(prefix="segc-pg-"))
    data, log = base / "data", base / "server.log"
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(base, "postgres")
        _run_as_postgres(
            [PG_BIN / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"]
        )
        for attempt in range(3):  # another process may take the free port before the server does
            port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {base}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"  # a throwaway cluster
            )
            try:
                _run_as_postgres([PG_BIN / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start"])
                started = True
                break
            except RuntimeError:
                if attempt == 2:
                    raise RuntimeError(
                        f"PostgreSQL did not start:\n{log.read_text() if log.exists() else ''}"
                    ) from None
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            _run_as_postgres([PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_dsn():
    """DSN of a PostgreSQL server: SEGC_PG_DSN if set, else one started for this session."""
    if dsn := os.environ.get("SEGC_PG_DSN"):
        yield dsn
        return
    try:
        server = _postgres_server()
        dsn = server.__enter__()
    except Exception as error:  # never skip: without PostgreSQL the engine tests must fail
        pytest.fail(f"cannot start PostgreSQL for the tests: {error}", pytrace=False)
    try:
        yield dsn
    finally:
        server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory) -> str:
    """The chdb storage path of this session (chdb allows one per process at a time)."""
    return str(tmp_path_factory.mktemp("chdb"))


# --- targets and engines, one namespace per test ----------------------------------------------


def _namespace() -> str:
    return f"segc_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def duckdb_target(tmp_path) -> dict:
    """A fresh DuckDB database file (a file, so that separate processes such as the CLI share it)."""
    return {"dialect": "duckdb", "path": str(tmp_path / "test.duckdb")}


@pytest.fixture
def postgres_target(pg_dsn):
    """The session's PostgreSQL server with a fresh schema, dropped after the test."""
    schema = _namespace()
    yield {"dialect": "postgres", "dsn": pg_dsn, "schema": schema}
    with connect({"dialect": "postgres", "dsn": pg_dsn}) as engine:
        drop = exp.Drop(
            tables=[exp.Table(db=exp.to_identifier(schema, quoted=True))], kind="SCHEMA", exists=True, cascade=True
        )
        engine.execute(drop.sql("postgres"))


@pytest.fixture
def clickhouse_target(chdb_path):
    """chdb on the session's storage path with a fresh database, dropped after the test."""
    database = _namespace()
    yield {"dialect": "clickhouse", "path": chdb_path, "database": database}
    with connect({"dialect": "clickhouse", "path": chdb_path}) as engine:
        drop = exp.Drop(
            tables=[exp.Table(this=exp.to_identifier(database, quoted=True))], kind="DATABASE", exists=True, sync=True
        )
        engine.execute(drop.sql("clickhouse"))


@pytest.fixture
def duckdb_engine():
    with connect({"dialect": "duckdb", "path": ":memory:"}) as engine:
        yield engine


@pytest.fixture
def postgres_engine(postgres_target):
    with connect(postgres_target) as engine:
        yield engine


@pytest.fixture
def clickhouse_engine(clickhouse_target):
    with connect(clickhouse_target) as engine:
        yield engine


@pytest.fixture(params=["duckdb", "clickhouse", "postgres"])
def engine(request):
    """The same test on DuckDB, ClickHouse (chdb) and PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_engine")


# --- engines shared by a test module (execution and cross-engine property tests) ------------------


@pytest.fixture(scope="module")
def shared_engines(pg_dsn, chdb_path):
    """One open connection per engine for a whole test module, each in a fresh namespace that
    is dropped at the end: {"duckdb": …, "clickhouse": …, "postgres": …}. For modules that load
    many small datasets (replace=True tables) and run many queries, where a connection per test
    would dominate the run time. Module scope, not session: chdb holds one storage path per
    process while a session is open, and other modules may open another."""
    namespace = _namespace()
    engines = {
        "duckdb": connect({"dialect": "duckdb", "path": ":memory:"}),
        "clickhouse": connect({"dialect": "clickhouse", "path": chdb_path, "database": namespace}),
        "postgres": connect({"dialect": "postgres", "dsn": pg_dsn, "schema": namespace}),
    }
    try:
        yield engines
    finally:
        for engine in engines.values():
            engine.close()
        with connect({"dialect": "postgres", "dsn": pg_dsn}) as engine:
            drop = exp.Drop(
                tables=[exp.Table(db=exp.to_identifier(namespace, quoted=True))],
                kind="SCHEMA",
                exists=True,
                cascade=True,
            )
            engine.execute(drop.sql("postgres"))
        with connect({"dialect": "clickhouse", "path": chdb_path}) as engine:
            drop = exp.Drop(
                tables=[exp.Table(this=exp.to_identifier(namespace, quoted=True))],
                kind="DATABASE",
                exists=True,
                sync=True,
            )
            engine.execute(drop.sql("clickhouse"))


# DuckDB's Python module (nanobind) prints "leaked functions" warnings while the interpreter
# shuts down, after pytest's summary line; end the process once pytest is done instead.
_exit_status: list[int] = []


def pytest_sessionfinish(session, exitstatus):
    _exit_status.append(int(exitstatus))


def pytest_unconfigure(config):
    if _exit_status and not hasattr(config, "workerinput"):
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])
