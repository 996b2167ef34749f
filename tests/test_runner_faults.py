"""`segc run` under faults loses no materialized members: a run killed with SIGKILL at any point,
a PostgreSQL connection terminated by the server, a query stopped by --timeout, a full disk and
a missing permission (both on DuckDB and PostgreSQL). Each time the previous members stay (all of them: the tables are swapped
in one transaction, or not at all), the message is one clear line (exit 1, no traceback), and
the next run works; staging tables a killed run leaves behind are ignored by later runs.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from segc.engines import EngineError, connect, table_name

pytestmark = pytest.mark.engines

AS_OF = "2026-03-15T12:00:00Z"
N = dt.datetime(2026, 3, 15, 12)
SEGMENTS = {f"s{k}": f"count(view within {k + 1}d) >= {1 + k % 3} and age >= {k * 5}" for k in range(8)}


def write_project(root: Path, target: dict, specs: dict[str, str] = SEGMENTS) -> None:
    (root / "specs").mkdir(parents=True, exist_ok=True)
    (root / "targets").mkdir(exist_ok=True)
    (root / "segc.yml").write_text(yaml.safe_dump({
        "name": "faults", "default_target": "t",
        "model": {"persons": {"table": "persons", "key": "person_id", "properties": {"age": "integer"}},
                  "events": {"table": "events", "person": "person_id", "event": "event", "timestamp": "timestamp"}},
    }), encoding="utf-8")
    (root / "targets" / "t.yml").write_text(yaml.safe_dump(target), encoding="utf-8")
    for f in (root / "specs").glob("*.yml"):
        f.unlink()
    for name, where in specs.items():
        (root / "specs" / f"{name}.yml").write_text(f"segment: {name}\nwhere: {where}\n", encoding="utf-8")


def load(engine, persons: int, events: int, seed: int) -> None:
    rnd = random.Random(seed)
    engine.create_table("persons", [("person_id", "string"), ("age", "integer")],
                        [(f"p{i:06d}", rnd.randint(0, 60)) for i in range(persons)])
    engine.create_table("events", [("person_id", "string"), ("event", "string"), ("timestamp", "timestamp")],
                        [(f"p{rnd.randrange(persons):06d}", "view", N - dt.timedelta(seconds=rnd.randrange(10 * 86400)))
                         for _ in range(events)])


def segc(root: Path, *args: str, wait: bool = True, env: dict | None = None):
    argv = [sys.executable, "-m", "segc", *args]
    if not wait:
        return subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=300, env=env)


def namespace(target: dict) -> str:
    return target.get("schema") or "segments"


def members(target: dict) -> dict[str, frozenset]:
    ns = namespace(target)
    with connect(target) as e:
        return {n: frozenset(r[0] for r in e.query(f"SELECT * FROM {table_name(f'{ns}.{n}').sql(e.dialect)}")) for n in SEGMENTS}


def staging_tables(target: dict) -> list[str]:
    with connect(target) as e:
        rows = e.query("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'segc_stage_%' "
                       f"AND table_schema = '{namespace(target)}'")
    return [r[0] for r in rows]


def assert_clean_error(r, *needles: str) -> None:
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    assert r.stderr.startswith("Error: SEG500 "), r.stderr
    assert "the previous members are unchanged" in r.stderr, r.stderr
    for n in needles:
        assert n in r.stderr, (n, r.stderr)


def _target(request, dialect: str) -> dict:
    t = dict(request.getfixturevalue(f"{dialect}_target"))
    return t


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_killed_run_keeps_the_previous_members(tmp_path, request, dialect):
    """SIGKILL at several points of a run: every table holds either all the old members or (the
    swap committed) all the new ones, never a mix; leftover staging tables are ignored and the
    next run replaces every table."""
    target = _target(request, dialect)
    root = tmp_path / "p"
    write_project(root, target)
    with connect(target) as e:
        load(e, 20_000, 200_000, seed=1)
    started = time.perf_counter()
    r = segc(root, "run", ".", "--as-of", AS_OF)
    full = time.perf_counter() - started  # kill points spread over a whole run on this machine
    assert r.returncode == 0, r.stderr
    old = members(target)
    with connect(target) as e:
        load(e, 20_000, 200_000, seed=2)  # other data: other members
    states, mid_run = [], 0
    for delay in sorted({round(full * f, 2) for f in (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)}
                        | {0.6, 0.9, 1.2, 1.5, 1.8, 2.2, 2.8, 3.5}):
        run = segc(root, "run", ".", "--as-of", AS_OF, wait=False)
        time.sleep(delay)
        finished = run.poll() is not None
        run.send_signal(signal.SIGKILL)
        run.communicate(timeout=60)
        if finished:
            continue
        states.append(members(target))
        mid_run += bool(staging_tables(target))
    r = segc(root, "run", ".", "--as-of", AS_OF)
    assert r.returncode == 0, r.stderr
    new = members(target)
    assert new != old
    for state in states:
        assert state in (old, new), "a killed run left a mix of old and new members"
    assert mid_run, "no kill landed while segments were being staged"


def _backend_waiting(dsn: str, pattern: str, deadline: float) -> int | None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as watcher:
        while time.time() < deadline:
            row = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE %s", (pattern,)).fetchone()
            if row:
                return row[0]
            time.sleep(0.05)
    return None


def _pg_run_blocked(root: Path, target: dict, lock_sql: str, *extra: str):
    """Start `segc run` while another transaction holds a lock it needs; returns (run, holder)."""
    import psycopg

    holder = psycopg.connect(target["dsn"])
    holder.execute(f'SET search_path TO "{target["schema"]}"')
    holder.execute(lock_sql)
    run = segc(root, "run", ".", "--as-of", AS_OF, *extra, wait=False)
    return run, holder


def _terminated_while_waiting(root: Path, target: dict, lock_sql: str, statement: str) -> subprocess.CompletedProcess:
    """Start `segc run` while another transaction holds a lock; when the run's `statement`
    waits for it, PostgreSQL terminates the run's connection. Returns the finished run."""
    run, holder = _pg_run_blocked(root, target, lock_sql)
    try:
        pid = _backend_waiting(target["dsn"], statement, time.time() + 60)
        assert pid, run.communicate(timeout=60)
        with connect({"dialect": "postgres", "dsn": target["dsn"]}) as admin:
            admin.query(f"SELECT pg_terminate_backend({int(pid)})")
        out, err = run.communicate(timeout=60)
    finally:
        holder.rollback()
        holder.close()
    return subprocess.CompletedProcess(run.args, run.returncode, out, err)


def test_terminated_connection_keeps_the_previous_members(tmp_path, request):
    """PostgreSQL ends the run's connection (pg_terminate_backend) while it waits to swap its
    tables in: exit 1 with the server's reason, the old members stay, the next run works."""
    target = _target(request, "postgres")
    root = tmp_path / "p"
    write_project(root, target)
    with connect(target) as e:
        load(e, 2_000, 20_000, seed=1)
    assert segc(root, "run", ".", "--as-of", AS_OF).returncode == 0
    old = members(target)
    with connect(target) as e:
        load(e, 2_000, 20_000, seed=2)
    ns = target["schema"]
    r = _terminated_while_waiting(root, target, f'SELECT * FROM "{ns}"."s3"', "DROP TABLE%")  # a reader holds s3
    assert_clean_error(r, "swapping the new members in failed")
    assert "terminat" in r.stderr, r.stderr
    assert members(target) == old
    r = segc(root, "run", ".", "--as-of", AS_OF)
    assert r.returncode == 0, r.stderr
    assert members(target) != old


def test_terminated_connection_while_staging(tmp_path, request):
    """The connection ends while a segment is being staged (it waits for a lock on events)."""
    target = _target(request, "postgres")
    root = tmp_path / "p"
    write_project(root, target)
    with connect(target) as e:
        load(e, 2_000, 20_000, seed=1)
    assert segc(root, "run", ".", "--as-of", AS_OF).returncode == 0
    old = members(target)
    ns = target["schema"]
    r = _terminated_while_waiting(root, target, f'LOCK TABLE "{ns}"."events" IN ACCESS EXCLUSIVE MODE', "CREATE TABLE%")
    assert_clean_error(r, "segment 's0' failed")
    assert members(target) == old
    assert segc(root, "run", ".", "--as-of", AS_OF).returncode == 0


def test_timeout_stops_a_waiting_run_on_postgres(tmp_path, request):
    """--timeout 1: a statement waiting for a lock is cancelled by statement_timeout after a second."""
    target = _target(request, "postgres")
    root = tmp_path / "p"
    write_project(root, target)
    with connect(target) as e:
        load(e, 2_000, 20_000, seed=1)
    assert segc(root, "run", ".", "--as-of", AS_OF).returncode == 0
    old = members(target)
    ns = target["schema"]
    started = time.time()
    run, holder = _pg_run_blocked(root, target, f'LOCK TABLE "{ns}"."events" IN ACCESS EXCLUSIVE MODE', "--timeout", "1")
    try:
        out, err = run.communicate(timeout=60)
    finally:
        holder.rollback()
        holder.close()
    assert time.time() - started < 30
    assert_clean_error(subprocess.CompletedProcess(run.args, run.returncode, out, err), "longer than the timeout of 1 s")
    assert members(target) == old
    assert staging_tables(target) == []  # the connection lived: what was staged is dropped
    (root / "specs" / "checked.yml").write_text("segment: checked\nwhere: count(view) > 0\nexpect: {min_size: 1}\n", encoding="utf-8")
    for command in ("check", "overlap"):
        holder = __import__("psycopg").connect(target["dsn"])
        holder.execute(f'LOCK TABLE "{ns}"."events" IN ACCESS EXCLUSIVE MODE')
        try:
            r = segc(root, command, ".", "--as-of", AS_OF, "--timeout", "1")
        finally:
            holder.rollback()
            holder.close()
        assert r.returncode == 1 and "longer than the timeout of 1 s" in r.stderr and "Traceback" not in r.stderr, (command, r.stderr)


def test_timeout_stops_a_long_run_on_duckdb(tmp_path, request):
    """--timeout on DuckDB interrupts the running query from a timer thread."""
    target = _target(request, "duckdb")
    root = tmp_path / "p"
    write_project(root, target)
    with connect(target) as e:
        load(e, 2_000, 20_000, seed=1)
    assert segc(root, "run", ".", "--as-of", AS_OF).returncode == 0
    old = members(target)
    with connect(target) as e:  # many events: staging takes seconds
        e.execute("CREATE OR REPLACE TABLE events AS SELECT 'p' || lpad((i % 2000)::VARCHAR, 6, '0') AS person_id, 'view' AS event, "
                  "TIMESTAMP '2026-03-15 12:00:00' - to_seconds(i % 864000) AS timestamp FROM range(40000000) t(i)")
    slow = {"slow": "sequence(view, view, view, view within 10d span 1h) and active_periods(view within 10d every 1h min 2) > 3",
            **SEGMENTS}
    write_project(root, target, slow)
    started = time.time()
    r = segc(root, "run", ".", "--as-of", AS_OF, "--timeout", "0.5")
    assert time.time() - started < 60
    assert_clean_error(r, "longer than the timeout of 0.5 s")
    write_project(root, target)
    assert members(target) == old
    assert staging_tables(target) == []


def test_engine_timeout_on_every_engine(engine):
    """The time limit of each engine, on a query that would run for minutes."""
    slow = {"duckdb": "SELECT count(*) FROM range(1000000000000) a",
            "clickhouse": "SELECT count() FROM numbers(1000000000000) WHERE sipHash64(number) % 7 = 1",
            "postgres": "SELECT pg_sleep(120)"}[engine.dialect]
    target = {**engine.target, "timeout": 1}
    with connect(target) as limited:
        started = time.time()
        with pytest.raises(EngineError, match="longer than the timeout of 1 s"):
            limited.query(slow)
        assert time.time() - started < 20
        assert limited.query("SELECT 1") == [(1,)]  # the connection is still usable


@pytest.fixture
def tiny_disk(tmp_path):
    """A 6 MiB tmpfs (the machines this runs on are root with mount rights)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True, text=True)
    if r.returncode:
        pytest.fail(f"cannot mount a tmpfs for the full-disk test: {r.stderr.strip()}", pytrace=False)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_full_disk_keeps_the_previous_members(tmp_path, tiny_disk):
    """DuckDB on a full disk: the run that cannot stage its members fails with the engine's
    reason and the previous members stay readable."""
    import shutil

    built = tmp_path / "built.duckdb"
    with connect({"dialect": "duckdb", "path": str(built)}) as e:
        e.execute("CREATE TABLE persons AS SELECT md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS person_id, (i % 60)::BIGINT AS age "
                  "FROM range(90000) t(i)")
        e.execute("CREATE TABLE events (person_id VARCHAR, event VARCHAR, timestamp TIMESTAMP)")
        e.execute("CHECKPOINT")
    shutil.copy(built, tiny_disk / "db.duckdb")
    target = {"dialect": "duckdb", "path": str(tiny_disk / "db.duckdb")}
    root = tmp_path / "p"
    write_project(root, target, {"few": "age = 7 and age > 100 or age = -1", "all": "age < 0"})
    assert segc(root, "run", ".", "--as-of", AS_OF).returncode == 0
    write_project(root, target, {"few": "age = 7", "all": "age >= 0", "again": "age >= 0", "more": "age >= 1"})
    r = segc(root, "run", ".", "--as-of", AS_OF)
    assert_clean_error(r)
    assert "space" in r.stderr.lower(), r.stderr
    shutil.copy(tiny_disk / "db.duckdb", tmp_path / "after.duckdb")  # read it where there is room
    with connect({"dialect": "duckdb", "path": str(tmp_path / "after.duckdb")}) as e:
        assert e.query('SELECT count(*) FROM "segments"."few"') == [(0,)]
        assert e.query('SELECT count(*) FROM "segments"."all"') == [(0,)]


def test_permission_denied_keeps_the_previous_members(tmp_path, request):
    """PostgreSQL: a role that may read the data but not create tables in the members' schema."""
    target = _target(request, "postgres")
    root = tmp_path / "p"
    write_project(root, target)
    with connect(target) as e:
        load(e, 500, 5_000, seed=1)
    assert segc(root, "run", ".", "--as-of", AS_OF).returncode == 0
    old = members(target)
    role = f"segc_reader_{uuid.uuid4().hex[:8]}"
    ns = target["schema"]
    with connect({"dialect": "postgres", "dsn": target["dsn"]}) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN; GRANT CREATE ON DATABASE postgres TO "{role}"; '
                      f'GRANT USAGE ON SCHEMA "{ns}" TO "{role}"; GRANT SELECT ON ALL TABLES IN SCHEMA "{ns}" TO "{role}"')
    try:
        dsn = target["dsn"].replace("postgres@", f"{role}@", 1)
        write_project(root, {**target, "dsn": dsn})
        r = segc(root, "run", ".", "--as-of", AS_OF)
        assert_clean_error(r, "permission denied")
        assert members(target) == old
    finally:
        with connect({"dialect": "postgres", "dsn": target["dsn"]}) as admin:
            admin.execute(f'DROP OWNED BY "{role}"; DROP ROLE "{role}"')


@pytest.fixture
def tiny_tablespace(pg_dsn):
    """A PostgreSQL tablespace on a 6 MiB tmpfs owned by the server's user: the test session's
    server runs on this machine (started by conftest as `postgres` when the tests run as root)."""
    import pwd
    import shutil
    import tempfile

    with connect({"dialect": "postgres", "dsn": pg_dsn}) as admin:
        data_directory = Path(admin.query("SELECT current_setting('data_directory')")[0][0])
    if not data_directory.is_dir():
        pytest.fail("the full-disk test needs the PostgreSQL server on this machine (SEGC_PG_DSN names another)",
                    pytrace=False)
    owner = data_directory.stat().st_uid
    # outside pytest's folders, which are 0700 (and made so again by every pytest that starts)
    mount = Path(tempfile.mkdtemp(prefix="segc-pg-tiny-"))
    mount.chmod(0o755)
    group = pwd.getpwuid(owner).pw_gid
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size=6m,uid={owner},gid={group},mode=700", "tmpfs", str(mount)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.fail(f"cannot mount a tmpfs for the full-disk test: {r.stderr.strip()}", pytrace=False)
    name = f"segc_tiny_{uuid.uuid4().hex[:8]}"
    try:
        with connect({"dialect": "postgres", "dsn": pg_dsn}) as admin:
            admin.execute(f"CREATE TABLESPACE {name} LOCATION '{mount}'")
        yield name
    finally:
        with connect({"dialect": "postgres", "dsn": pg_dsn}) as admin:
            for schema, table in admin.query(f"SELECT schemaname, tablename FROM pg_tables WHERE tablespace = '{name}'"):
                admin.execute(f'DROP TABLE IF EXISTS "{schema}"."{table}"')
            admin.execute(f"DROP TABLESPACE IF EXISTS {name}")
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        shutil.rmtree(mount, ignore_errors=True)


def test_full_disk_on_postgres_keeps_the_previous_members(tmp_path, request, tiny_tablespace):
    """PostgreSQL: the run's tables go to a tablespace on a full 6 MiB filesystem (the
    connection's default_tablespace); staging fails with the server's `No space left on device`,
    exit 1, no traceback; the previous members stay, no staging table is left, and the next run
    (with room) works."""
    target = _target(request, "postgres")
    ns = target["schema"]
    with connect(target) as e:
        e.execute("CREATE TABLE persons AS SELECT md5(i::text) || md5((i + 1)::text) AS person_id, (i % 60)::bigint AS age "
                  "FROM generate_series(0, 89999) AS t(i)")
        e.execute('CREATE TABLE events (person_id text, event text, "timestamp" timestamp)')
    root = tmp_path / "p"
    write_project(root, target, {n: f"age = {k}" for k, n in enumerate(SEGMENTS)})
    assert segc(root, "run", ".", "--as-of", AS_OF).returncode == 0
    old = members(target)
    assert all(len(m) == 1500 for m in old.values())
    full = {**target, "dsn": target["dsn"] + f"?options=-c%20default_tablespace%3D{tiny_tablespace}"}
    write_project(root, full, {n: "age >= 0" for n in SEGMENTS})  # 8 x 90,000 members: about 60 MiB
    r = segc(root, "run", ".", "--as-of", AS_OF)
    assert_clean_error(r, "No space left on device", "could not extend file")
    assert members(target) == old and staging_tables(target) == []
    with connect(target) as e:
        assert e.query(f"SELECT count(*) FROM pg_tables WHERE schemaname = '{ns}' AND tablespace = '{tiny_tablespace}'") == [(0,)]
    write_project(root, target, {n: "age >= 0" for n in SEGMENTS})
    r = segc(root, "run", ".", "--as-of", AS_OF)
    assert r.returncode == 0, r.stderr
    assert {n: len(m) for n, m in members(target).items()} == {n: 90000 for n in SEGMENTS}


NOBODY = 65534


@pytest.fixture
def other_user_folder():
    """(folder, argv prefix): a folder the test can hand over, and how to run a command as a
    user without root's power to ignore permissions (root: `setpriv` to uid/gid 65534 in a
    folder outside pytest's private tmp; another user: as itself)."""
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="segc-perm-"))
    base.chmod(0o755)
    try:
        if os.geteuid() == 0:
            yield base, ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        else:
            yield base, []
    finally:
        for folder in [base, *base.rglob("*")]:
            if folder.is_dir():
                folder.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


def _give(path: Path) -> None:
    if os.geteuid() == 0:
        for p in [path, *path.rglob("*")]:
            os.chown(p, NOBODY, NOBODY)


def _duckdb_members_of_another_user(other_user_folder, persons: int, events: int, seed: int):
    """A DuckDB database with members from one `segc run`, its folder, the project and segc's
    cache handed to the other user: (target, data folder, project, command prefix to run as
    that user, their environment, the members)."""
    base, as_user = other_user_folder
    data, root, cache = base / "data", base / "p", base / "cache"
    data.mkdir()
    cache.mkdir()
    target = {"dialect": "duckdb", "path": str(data / "db.duckdb")}
    with connect(target) as e:
        load(e, persons, events, seed=seed)
    write_project(root, target)
    assert segc(root, "run", ".", "--as-of", AS_OF).returncode == 0
    old = members(target)
    _give(root), _give(cache), _give(data)
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "HOME": str(cache)}
    return target, data, root, as_user, env, old


def test_read_only_folder_on_duckdb_keeps_the_previous_members(other_user_folder):
    """DuckDB: the database file may be written but its folder not (DuckDB must create its
    write-ahead log beside the file): the run fails when it commits its first staged table,
    with DuckDB's `Permission denied` naming the file, exit 1 and no traceback; the previous
    members stay, and once the folder is writable again the next run works."""
    target, data, root, as_user, env, old = _duckdb_members_of_another_user(other_user_folder, 500, 5_000, seed=2)
    assert any(old.values())
    write_project(root, target, {n: "age >= 0" for n in SEGMENTS})  # every member would change
    data.chmod(0o555)
    r = subprocess.run([*as_user, sys.executable, "-m", "segc", "run", ".", "--as-of", AS_OF], cwd=root,
                       capture_output=True, text=True, timeout=300, env=env)
    assert_clean_error(r, "Permission denied", str(data / "db.duckdb.wal"))
    assert r.stderr.startswith("Error: SEG500 segment 's0' failed, the previous members are unchanged: "), r.stderr
    data.chmod(0o755)
    assert members(target) == old
    r = subprocess.run([*as_user, sys.executable, "-m", "segc", "run", ".", "--as-of", AS_OF], cwd=root,
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    with connect(target) as e:
        everyone = {row[0] for row in e.query('SELECT person_id FROM "persons" WHERE age >= 0')}
    assert members(target) == {n: frozenset(everyone) for n in SEGMENTS}


def test_read_only_database_file_on_duckdb(other_user_folder):
    """DuckDB: a database file the user may not write: `segc run` stops before it stages
    anything, with DuckDB's reason, exit 1 and no traceback; the members are untouched."""
    target, data, root, as_user, env, old = _duckdb_members_of_another_user(other_user_folder, 300, 3_000, seed=3)
    (data / "db.duckdb").chmod(0o444)
    r = subprocess.run([*as_user, sys.executable, "-m", "segc", "run", ".", "--as-of", AS_OF], cwd=root,
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 1 and "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    assert r.stderr.startswith("Error: SEG500 ") and "Permission denied" in r.stderr, r.stderr
    assert members(target) == old


def _runs_logged(target: dict) -> list[tuple]:
    with connect(target) as e:
        ns = namespace(target)
        return e.query(f'SELECT "segment", "members" FROM {table_name(f"{ns}.segc_runs").sql(e.dialect)} ORDER BY 1, 2')


def test_concurrent_runs_on_postgres(tmp_path, request):
    """Four `segc run`s at once against one PostgreSQL schema where none has run before (two CI
    jobs, or a scheduler overlapping itself): each succeeds, each logs its segments, and every
    table ends with the whole members of one run, no staging table left. Concurrent first runs
    used to race to create the run log (a unique-key error from PostgreSQL's catalog)."""
    target = _target(request, "postgres")
    root = tmp_path / "p"
    write_project(root, target)
    with connect(target) as e:
        load(e, 2_000, 20_000, seed=1)
    for first in (True, True, True, False):  # three times onto an empty schema, then over members
        if first:
            with connect(target) as e:
                for name in [*SEGMENTS, "segc_runs"]:
                    e.execute(f'DROP TABLE IF EXISTS "{target["schema"]}"."{name}"')
        runs = [segc(root, "run", ".", "--as-of", AS_OF, wait=False) for _ in range(4)]
        results = [(r.wait(timeout=300), *r.communicate()) for r in runs]
        assert [code for code, _, _ in results] == [0] * 4, results
    logged = _runs_logged(target)
    assert len(logged) == 2 * 4 * len(SEGMENTS)
    sizes: dict[str, int] = {}
    for name, size in logged:
        assert sizes.setdefault(name, size) == size  # the same data: the same members every time
    assert {n: len(m) for n, m in members(target).items()} == sizes
    assert staging_tables(target) == []
