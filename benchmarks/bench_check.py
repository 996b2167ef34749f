"""Benchmark: `segc check` and `segc overlap` with the full matrix, against what a user would
otherwise run.

Data: the demo shop (segc.demo_data), 100,000 persons and 5M events in a DuckDB file and in
chdb (MergeTree) storage; PostgreSQL gets 20,000 persons and 1M events (the same activity per
person). Segments: K = 20 and K = 50, generated from a seeded mix of behavioural and property
conditions, each with an expect: block so that `segc check` evaluates all of them.

Timed as whole processes (interpreter start-up and imports included), one after another:
- segc:  `python -m segc check|overlap PROJECT --target T --as-of …` (overlap: JSON, all K);
- (b):   a single query written by hand in SQL (below: per-condition templates spelled per
         dialect), run by `python -c` with the driver alone; it computes the same K flags,
         groups persons by their combination and derives sizes and every pair's count;
- (a):   one query per pair, K(K-1)/2 of them, each a fresh `segment(a) and segment(b)`
         query compiled by segc and counted, in one process.
segc and (b) take the best of --runs (default 2) interleaved runs after a warm-up; (a) runs
once, for at most --pair-budget seconds (default 45): the pairs it has not reached by then are
extrapolated from its average time per pair (the table says how many ran). All three must
give the same sizes and intersections (for (a): the pairs it ran), or the benchmark fails.
Children run without PYTHONDONTWRITEBYTECODE, as in a user's shell (bytecode cached).

    python benchmarks/bench_check.py [--quick] [--engines duckdb,clickhouse,postgres] [--keep DIR]

--quick: 10,000 persons / 500,000 events (PostgreSQL 2,000 / 100,000), one run each.
--keep DIR keeps the data there and reuses it next time. A PostgreSQL server is started for
the run (initdb in a temporary folder, as the tests do) unless SEGC_PG_DSN names one.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from segc.demo_data import DEMO_AS_OF, DEMO_AS_OF_ISO, EVENTS_COLUMNS, PERSONS_COLUMNS, write_duckdb  # noqa: E402

AS_OF = DEMO_AS_OF
SEGC_YML = """\
name: bench_check
model:
  persons:
    table: persons
    key: person_id
    properties:
      country: string
      city: string
      age: integer
      plan: string
      email: string
      signed_up_at: timestamp
      is_employee: boolean
  events:
    table: events
    person: person_id
    event: event
    timestamp: timestamp
    properties:
      $browser: string
      $device_type: string
      $os: string
      $current_url: string
      revenue: number
      product_id: string
overlap:
  max_jaccard: 0.9
default_target: duckdb
"""
EVENTS = ["login", "pageview", "product_viewed", "added_to_cart", "checkout_started", "purchase"]
COUNTRIES = ["US", "CA", "GB", "DE", "FR", "BR", "IN", "ES", "IT", "JP"]


# --- the hand-written SQL: one spelling per dialect ---------------------------------------------


class Hand:
    """What differs between the dialects in the hand-written query."""

    def __init__(self, dialect: str):
        self.dialect = dialect
        self.aggs: dict[str, str] = {}  # aggregate SQL -> its column

    def agg(self, sql: str) -> str:
        if sql not in self.aggs:
            self.aggs[sql] = f"a{len(self.aggs) + 1}"
        return f"a.{self.aggs[sql]}"

    def ts(self, t: dt.datetime) -> str:
        text = t.strftime("%Y-%m-%d %H:%M:%S")
        return f"toDateTime64('{text}', 6, 'UTC')" if self.dialect == "clickhouse" else f"TIMESTAMP '{text}'"

    def ago(self, days: int) -> str:
        return self.ts(AS_OF - dt.timedelta(days=days))

    def count_if(self, cond: str) -> str:
        if self.dialect == "clickhouse":
            return self.agg(f"countIf({cond})")
        return self.agg(f"count(*) FILTER (WHERE {cond})")

    def agg_if(self, func: str, value: str, cond: str) -> str:
        if self.dialect == "clickhouse":
            return self.agg(f"{func}If({value}, {cond})")
        return self.agg(f"{func}({value}) FILTER (WHERE {cond})")

    def days_if(self, cond: str) -> str:
        if self.dialect == "clickhouse":
            return self.agg(f'uniqExactIf(toDate("timestamp"), {cond})')
        return self.agg(f'count(DISTINCT CAST("timestamp" AS DATE)) FILTER (WHERE {cond})')

    def contains(self, column: str, text: str) -> str:
        if self.dialect == "clickhouse":
            return f"position({column}, '{text}') > 0"
        return f"strpos({column}, '{text}') > 0"

    def query(self, flags: list[str]) -> str:
        """persons LEFT JOIN (one scan of events, grouped by person), K flags, grouped by mask."""
        aggs = ",\n    ".join(f"{sql} AS {name}" for sql, name in self.aggs.items())
        bits = " +\n    ".join(
            (f"if({f}, {1 << i}, 0)" if self.dialect == "clickhouse" else f"CASE WHEN {f} THEN {1 << i} ELSE 0 END")
            for i, f in enumerate(flags))
        sql = f"""\
WITH a AS (
  SELECT person_id,
    {aggs}
  FROM events
  WHERE "timestamp" < {self.ts(AS_OF)}
  GROUP BY person_id
)
SELECT mask, count(*) AS n FROM (
  SELECT
    {bits} AS mask
  FROM persons p LEFT JOIN a ON a.person_id = p.person_id
) m
GROUP BY mask"""
        return sql + ("\nSETTINGS join_use_nulls = 1" if self.dialect == "clickhouse" else "")


def _nz(x: str) -> str:
    return f"coalesce({x}, 0)"


def _q(text: str) -> str:
    return "'" + text + "'"


TS, DEVICE, URL = '"timestamp"', '"$device_type"', '"$current_url"'


def segment_templates(r: random.Random, form: int):
    """(segc expression, hand SQL as a function of Hand) of the form-th kind of condition."""
    e, d = r.choice(EVENTS), r.choice([7, 14, 30, 60, 90])
    d2 = r.choice([x for x in (3, 7, 14) if x < d] or [3])
    k = r.choice([1, 2, 3, 5, 10])
    cs = ", ".join(_q(c) for c in r.sample(COUNTRIES, r.randint(1, 3)))
    x = r.choice([50, 100, 200, 500])
    plan = r.choice(["free", "pro", "enterprise"])
    lo = r.choice([18, 25, 35])
    hi = lo + r.choice([10, 20, 30])

    def within(h, days):
        return f"{TS} >= {h.ago(days)}"

    def performed(h, event, days, extra=""):
        return f"{_nz(h.count_if(f'event = {_q(event)}{extra} AND {within(h, days)}'))} > 0"

    return [
        (f"count({e} within {d}d) >= {k}",
         lambda h: f"{_nz(h.count_if(f'event = {_q(e)} AND {within(h, d)}'))} >= {k}"),
        (f"performed({e} within {d}d) and country in ({cs})",
         lambda h: f"{performed(h, e, d)} AND p.country IN ({cs})"),
        (f"sum(purchase.revenue within {d}d) > {x}",
         lambda h: f"{_nz(h.agg_if('sum', 'revenue', 'event = ' + _q('purchase') + ' AND ' + within(h, d)))} > {x}"),
        (f"performed(any where $device_type = 'Mobile' within {d}d)",
         lambda h: f"{_nz(h.count_if(DEVICE + ' = ' + _q('Mobile') + ' AND ' + within(h, d)))} > 0"),
        (f"last_time(any) < ago({d}d)",
         lambda h: f"{h.agg(f'max({TS})')} < {h.ago(d)}"),
        (f"first_time(signup) >= ago({d}d)",
         lambda h: f"{h.agg_if('min', TS, 'event = ' + _q('signup'))} >= {h.ago(d)}"),
        (f"plan = '{plan}' and age between {lo} and {hi}",
         lambda h: f"p.plan = {_q(plan)} AND p.age BETWEEN {lo} AND {hi}"),
        (f"active_days(any within {d}d) >= {k + 1}",
         lambda h: f"{_nz(h.days_if(within(h, d)))} >= {k + 1}"),
        (f"performed({e} within {d}d) and not performed({e} within {d2}d)",
         lambda h: f"{performed(h, e, d)} AND NOT ({performed(h, e, d2)})"),
        (f"performed(purchase where revenue > {x} within {d}d) and plan in ('pro', 'enterprise')",
         lambda h: f"{performed(h, 'purchase', d, f' AND revenue > {x}')} AND p.plan IN ('pro', 'enterprise')"),
        (f"avg(purchase.revenue within {d}d) >= {x // 2}",
         lambda h: f"{h.agg_if('avg', 'revenue', 'event = ' + _q('purchase') + ' AND ' + within(h, d))} >= {x // 2}"),
        (f"signed_up_at >= ago({d}d) and plan != 'free'",
         lambda h: f"p.signed_up_at >= {h.ago(d)} AND coalesce(p.plan, '') != 'free'"),
        (f"performed(pageview where $current_url contains '/sale' within {d}d) and country in ({cs})",
         lambda h: f"{performed(h, 'pageview', d, ' AND ' + h.contains(URL, '/sale'))} "
                   f"AND p.country IN ({cs})"),
    ][form]


FORMS = 13




def make_segments(k: int, seed: int = 7) -> list[tuple[str, str, object]]:
    """K distinct segments; every form of condition in turn (shuffled), parameters at random."""
    r = random.Random(seed)
    out, seen, order = [], set(), []
    while len(out) < k:
        if not order:
            order = r.sample(range(FORMS), FORMS)
        expr, hand = segment_templates(r, order.pop())
        if expr not in seen:
            seen.add(expr)
            out.append((f"s{len(out):02d}", expr, hand))
    return out


def write_project(root: Path, segments, targets: dict[str, str]) -> None:
    if root.exists():
        shutil.rmtree(root)
    (root / "specs").mkdir(parents=True)
    (root / "targets").mkdir()
    (root / "segc.yml").write_text(SEGC_YML)
    names = [n for n, _, _ in segments]
    for i, (name, expr, _) in enumerate(segments):
        expect = ["min_size: 1", "max_share: 0.9", f"disjoint_with: [{names[i - 1]}]" if i else "min_share: 0.001",
                  f"subset_of: [{names[i - 2]}]" if i > 1 else "max_size: 1000000"][i % 4]
        (root / "specs" / f"{name}.yml").write_text(f"segment: {name}\nwhere: {expr}\nexpect:\n  {expect}\n")
    for name, text in targets.items():
        (root / "targets" / f"{name}.yml").write_text(text)


# --- the processes that are timed ---------------------------------------------------------------

HAND_SCRIPT = r"""
import json, sys
dialect, where, sql_file, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sql = open(sql_file).read()
if dialect == "duckdb":
    import duckdb
    con = duckdb.connect(where)
    con.execute("SET enable_progress_bar = false")  # it would print to stdout
    rows = con.execute(sql).fetchall()
elif dialect == "clickhouse":
    from chdb import session
    s = session.Session(where)
    s.query("USE bench")
    rows = json.loads(s.query(sql, "JSONCompact").bytes())["data"]
else:
    import psycopg
    with psycopg.connect(where) as con:
        con.execute("SET search_path TO bench")
        rows = con.execute(sql).fetchall()
sizes = [0] * k
pairs = [0] * (k * k)  # pairs[i * k + j], i < j
for mask, n in rows:
    mask, n = int(mask), int(n)
    members = [i for i in range(k) if mask >> i & 1]
    for x, i in enumerate(members):
        sizes[i] += n
        base = i * k
        for j in members[x + 1:]:
            pairs[base + j] += n
print(json.dumps({"sizes": sizes, "pairs": [[i, j, pairs[i * k + j]] for i in range(k) for j in range(i + 1, k)]}))
"""

PAIRWISE_SCRIPT = r"""
import itertools, json, sys, datetime as dt
from segc import api, ir
from segc.compiler import segment_select, to_sql
from sqlglot import exp
import time
project, target, as_of, budget = sys.argv[1], sys.argv[2], dt.datetime.fromisoformat(sys.argv[3]), float(sys.argv[4])
result = api.validate(project)
model, segments = result.project.model, result.segments()
names = [d.name for d in result.project.definitions if d.kind == "segment"]
settings, engine = api.connect_target(result, target)
pairs = []
all_pairs = list(itertools.combinations(names, 2))
started = time.perf_counter()
with engine:
    for a, b in all_pairs:  # what a user runs: a fresh query per pair
        if time.perf_counter() - started > budget:
            break  # the rest is extrapolated from the time per pair so far
        span = segments[a].span
        where = ir.And(span, (ir.SegmentRef(span, a), ir.SegmentRef(span, b)))
        pair = ir.Segment("segc_pair", segments[a].path, span, where, (a, b))
        members = segment_select(model, {**segments, "segc_pair": pair}, "segc_pair", engine.dialect, as_of)
        settings_clause = members.args.pop("settings", None)
        count = exp.Select(expressions=[exp.Count(this=exp.Star())]).from_(members.subquery("m"))
        if settings_clause:
            count.set("settings", settings_clause)
        pairs.append([names.index(a), names.index(b), int(engine.query(to_sql(count, engine.dialect, pretty=False))[0][0])])
print(json.dumps({"pairs": pairs, "of": len(all_pairs), "loop_seconds": time.perf_counter() - started}))
"""


def child_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as a user's shell: .pyc cached
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return {**env, **(extra or {})}


CPU: dict[str, float] = {}  # CPU seconds (user + system) of the last timed process, by label


def timed(cmd: list[str], env: dict, ok=(0,), label: str | None = None) -> tuple[float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if label:
        CPU[label] = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if p.returncode not in ok:
        raise SystemExit(f"failed ({p.returncode}): {shlex.join(cmd)[:300]}\n{p.stderr[-3000:]}")
    return elapsed, p.stdout


# --- data ----------------------------------------------------------------------------------------


def load_chdb(duckdb_path: Path, chdb_path: Path, work: Path) -> None:
    """Parquet out of DuckDB, into chdb MergeTree tables typed as segc's ClickHouse engine types them."""
    import duckdb

    con = duckdb.connect(str(duckdb_path), read_only=True)
    for t in ("persons", "events"):
        con.execute(f"COPY {t} TO '{work / (t + '.parquet')}' (FORMAT PARQUET)")
    con.close()
    script = textwrap.dedent(f"""
        from segc.engines import connect
        with connect({{"dialect": "clickhouse", "path": {str(chdb_path)!r}, "database": "bench"}}) as e:
            for t, cols in (("persons", {PERSONS_COLUMNS!r}), ("events", {EVENTS_COLUMNS!r})):
                e.create_table(t, cols, [])
                e.execute(f"INSERT INTO {{t}} SELECT * FROM file('{work}/{{t}}.parquet', Parquet)")
                print(t, e.query(f"SELECT count(*) FROM {{t}}")[0][0])
    """)
    subprocess.run([sys.executable, "-c", script], env=child_env(), check=True)


def load_postgres(duckdb_path: Path, dsn: str) -> None:
    import duckdb

    from segc.engines import connect

    con = duckdb.connect(str(duckdb_path), read_only=True)
    with connect({"dialect": "postgres", "dsn": dsn, "schema": "bench"}) as e:
        for t, cols in (("persons", PERSONS_COLUMNS), ("events", EVENTS_COLUMNS)):
            rows = con.execute(f"SELECT * FROM {t}").fetchall()
            e.create_table(t, cols, rows)
            e.execute(f"ANALYZE {t}")
    con.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_server():
    if dsn := os.environ.get("SEGC_PG_DSN"):
        yield dsn
        return
    bin_dir = Path(os.environ.get("SEGC_PG_BIN", "/usr/lib/postgresql/15/bin"))
    base = Path(tempfile.mkdtemp(prefix="segc-bench-pg-"))

    def as_postgres(args):
        cmd = [str(a) for a in args]
        if os.geteuid() == 0:
            cmd = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(cmd)]
        subprocess.run(cmd, check=True, capture_output=True)

    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    port = _free_port()
    as_postgres([bin_dir / "initdb", "-D", base / "data", "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"])
    as_postgres([bin_dir / "pg_ctl", "-D", base / "data", "-l", base / "log", "-w", "-o",
                 f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off -c synchronous_commit=off", "start"])
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        as_postgres([bin_dir / "pg_ctl", "-D", base / "data", "-m", "fast", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)


# --- one engine, one K ---------------------------------------------------------------------------


def bench(dialect: str, where: str, k: int, work: Path, runs: int, pg_dsn: str | None, budget: float) -> dict:
    segments = make_segments(k)
    targets = {
        "duckdb": f"dialect: duckdb\npath: {where}\n",
        "clickhouse": f"dialect: clickhouse\npath: {where}\ndatabase: bench\n",
        "postgres": "dialect: postgres\ndsn: ${BENCH_PG_DSN}\nschema: bench\n",
    }
    project = work / f"project_{dialect}_{k}"
    write_project(project, segments, {dialect: targets[dialect]})
    env = child_env({"BENCH_PG_DSN": pg_dsn or ""})
    hand = Hand(dialect)
    flags = [h(hand) for _, _, h in segments]
    sql_file = work / f"hand_{dialect}_{k}.sql"
    sql_file.write_text(hand.query(flags))

    py = sys.executable
    check = [py, "-m", "segc", "check", str(project), "--target", dialect, "--as-of", DEMO_AS_OF_ISO]
    overlap = [py, "-m", "segc", "overlap", str(project), "--target", dialect, "--as-of", DEMO_AS_OF_ISO, "--format", "json"]
    single = [py, "-c", HAND_SCRIPT, dialect, where, str(sql_file), str(k)]
    pairwise = [py, "-c", PAIRWISE_SCRIPT, str(project), dialect, AS_OF.isoformat(), str(budget)]

    timed(check, env, ok=(0, 1))  # warm-up: bytecode, Lark's table cache, the OS page cache
    timed(single, env)
    best = {"check": float("inf"), "overlap": float("inf"), "single": float("inf")}
    cpu = dict(best)
    out = {}
    for _ in range(runs):  # interleaved, best of `runs`
        for name, cmd in (("single", single), ("check", check), ("overlap", overlap)):
            t, out[name] = timed(cmd, env, ok=(0, 1), label=name)
            best[name] = min(best[name], t)
            cpu[name] = min(cpu[name], CPU[name])
    wall, out["pairwise"] = timed(pairwise, env)
    a = json.loads(out["pairwise"].strip().splitlines()[-1])
    done, of = len(a["pairs"]), a["of"]
    # a stopped run: the pairs left cost what the measured ones cost on average
    best["pairwise"] = wall + a["loop_seconds"] / done * (of - done)

    # the same matrix three ways
    m = json.loads(out["overlap"])
    names = [s["name"] for s in m["segments"]]
    segc_sizes = [s["size"] for s in m["segments"]]
    segc_pairs = sorted((names.index(p["a"]), names.index(p["b"]), p["intersection"]) for p in m["pairs"])
    hand_m = json.loads(out["single"].strip().splitlines()[-1])
    assert names == [n for n, _, _ in segments], names
    assert hand_m["sizes"] == segc_sizes, (hand_m["sizes"], segc_sizes)
    assert sorted(map(tuple, hand_m["pairs"])) == segc_pairs, "hand-written query and segc disagree"
    measured = sorted(map(tuple, a["pairs"]))
    assert measured == [p for p in segc_pairs if (p[0], p[1]) in {(x, y) for x, y, _ in measured}], "pairwise queries and segc disagree"
    empty = sum(1 for s in segc_sizes if s == 0)
    return {**best, "cpu": cpu, "persons": m["persons"], "sizes": segc_sizes, "empty": empty, "pairs_measured": f"{done}/{of}",
            "check_lines": out["check"].strip().splitlines()[-1]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small data, one run each")
    ap.add_argument("--engines", default="duckdb,clickhouse,postgres")
    ap.add_argument("--k", default="20,50", help="segment counts, comma-separated")
    ap.add_argument("--runs", type=int, default=None, help="timed runs of segc and (b) (best is kept); default 2, --quick 1")
    ap.add_argument("--keep", help="folder for the data, reused when present")
    ap.add_argument("--pair-budget", type=float, default=45.0,
                    help="seconds of (a) per engine and K; the pairs not reached by then are extrapolated")
    args = ap.parse_args(argv)
    persons, events = (10_000, 500_000) if args.quick else (100_000, 5_000_000)
    pg_persons, pg_events = persons // 5, events // 5
    runs = args.runs or (1 if args.quick else 2)
    engines = args.engines.split(",")
    ks = [int(x) for x in args.k.split(",")]
    work = Path(args.keep or tempfile.mkdtemp(prefix="segc-bench-check-")) / ("quick" if args.quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    db = work / "shop.duckdb"
    if not db.exists():
        t = time.perf_counter()
        n = write_duckdb(str(db), seed=42, persons=persons, events_target=events)
        print(f"data: {n[0]:,} persons, {n[1]:,} events in {time.perf_counter() - t:.0f} s", flush=True)
    chdb_path = work / "chdb"
    if "clickhouse" in engines and not (work / "chdb.loaded").exists():
        shutil.rmtree(chdb_path, ignore_errors=True)
        load_chdb(db, chdb_path, work)
        (work / "chdb.loaded").touch()
    results = {}
    with postgres_server() if "postgres" in engines else contextlib.nullcontext() as pg_dsn:
        if "postgres" in engines:
            pg_db = work / "pg.duckdb"
            if not pg_db.exists():
                write_duckdb(str(pg_db), seed=42, persons=pg_persons, events_target=pg_events)
            t = time.perf_counter()
            load_postgres(pg_db, pg_dsn)
            print(f"postgres: loaded {pg_events:,} events in {time.perf_counter() - t:.0f} s", flush=True)
        for dialect in engines:
            where = {"duckdb": str(db), "clickhouse": str(chdb_path), "postgres": pg_dsn}[dialect]
            for k in ks:
                r = bench(dialect, where, k, work, runs, pg_dsn, args.pair_budget)
                results[(dialect, k)] = r
                print(f"{dialect:<10} K={k:<3} persons {r['persons']:>7,}  segc check {r['check'] * 1000:7.0f} ms  "
                      f"overlap {r['overlap'] * 1000:7.0f} ms  (b) single {r['single'] * 1000:7.0f} ms  "
                      f"(a) pairwise {r['pairwise'] * 1000:9.0f} ms   check/b {r['check'] / r['single']:.2f}  "
                      f"overlap/b {r['overlap'] / r['single']:.2f}  a/check {r['pairwise'] / r['check']:.1f}  "
                      f"a/overlap {r['pairwise'] / r['overlap']:.1f}  (a: {r['pairs_measured']} pairs run; {r['empty']} empty segments; "
                      f"check: {r['check_lines']})\n{'':<16} CPU (client process, user + system): check {r['cpu']['check'] * 1000:.0f} ms, "
                      f"overlap {r['cpu']['overlap'] * 1000:.0f} ms, (b) {r['cpu']['single'] * 1000:.0f} ms",
                      flush=True)

    print(f"\ntotal {time.perf_counter() - started:.0f} s\n")
    print("| engine | K | segc check | segc overlap | (b) hand-written single query | (a) one query per pair | pairs run | check / (b) | overlap / (b) | (a) / check | (a) / overlap |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (dialect, k), r in results.items():
        print(f"| {dialect} | {k} | {r['check'] * 1000:,.0f} ms | {r['overlap'] * 1000:,.0f} ms | {r['single'] * 1000:,.0f} ms | "
              f"{r['pairwise'] * 1000:,.0f} ms | {r['pairs_measured']} | {r['check'] / r['single']:.2f} | {r['overlap'] / r['single']:.2f} | "
              f"{r['pairwise'] / r['check']:.1f}× | {r['pairwise'] / r['overlap']:.1f}× |")
    if not args.keep:
        shutil.rmtree(work.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
