"""Benchmark: `segc validate` on a generated project of 1,000 definitions.

Generates a realistic project (segments with behavioural calls, windows, text tests and
segment() references forming a DAG, partitions, cohorts, insights; every YAML scalar style)
into a temp folder, times `segc validate` as a whole process (start-up included; median of
--runs), then breaks the time down: interpreter start, `import segc.cli`, and in-process
load / parse / check.

    python benchmarks/bench_validate.py [--definitions 1000] [--runs 5] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL = """\
name: bench
model:
  persons:
    table: persons
    key: person_id
    properties:
      country: string
      city: string
      plan: string
      email: string
      age: integer
      is_employee: boolean
      signed_up_at: timestamp
  events:
    table: events
    person: person_id
    event: event
    timestamp: timestamp
    properties:
      $browser: string
      $device_type: string
      $current_url: string
      revenue: number
      product_id: string
overlap:
  max_jaccard: 0.8
default_target: local
"""
EVENTS = ["signup", "login", "pageview", "product_viewed", "added_to_cart", "checkout_started", "purchase"]
COUNTRIES = ["US", "CA", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "JP", "BR", "IN"]


def _segment_expr(r: random.Random, earlier: list[str]) -> str:
    e, e2 = r.choice(EVENTS), r.choice(EVENTS)
    d = r.choice([1, 7, 14, 28, 30, 60, 90])
    cs = ", ".join(f"'{c}'" for c in r.sample(COUNTRIES, r.randint(1, 4)))
    forms = [
        f"count({e} within {d}d) >= {r.randint(1, 30)}",
        f"performed(purchase where revenue > {r.randint(10, 500)} within {d}d) and country in ({cs})",
        f"first_time({e}) >= ago({d}d)",
        f"last_time(any) < ago({d}d) and plan != 'free'",
        f"performed({e} between ago({2 * d}d) and ago({d}d)) and not performed({e} within {d}d)",
        f"active_days(any within {d}d) >= {r.randint(2, 10)} and age between 18 and {r.randint(25, 70)}",
        f"active_periods({e} within 28d every 7d min 2) >= 3",
        f"sequence(product_viewed, added_to_cart where $device_type = 'Mobile', purchase within {d}d span 1d)",
        f"sum(purchase.revenue within {d}d) > {r.randint(50, 1000)} or avg(purchase.revenue) >= 80.5",
        f"performed(pageview where $current_url contains '/pricing' and $browser matches '^Chrome' within {d}d)",
        f"email ends_with '@example.com' and not is_employee and signed_up_at < now() - {d}d",
        f"max(purchase.revenue where product_id starts_with 'sku-' within {d}d) >= 250 and city is not null",
        f"performed({e} where (person.plan = 'pro' or revenue >= 10) since date('2026-01-01'))",
    ]
    expr = r.choice(forms)
    if earlier and r.random() < 0.45:  # segment() references only point backwards: a DAG
        refs = r.sample(earlier[-200:], min(len(earlier), r.randint(1, 2)))
        joined = " and ".join(("not " if r.random() < 0.3 else "") + f"segment({x})" for x in refs)
        expr = f"({expr}) and {joined}" if r.random() < 0.5 else f"{joined} or {expr}"
    return expr


def _yaml_scalar(r: random.Random, expr: str) -> str:
    style = r.choice(["plain", "plain", "single", "double", "literal", "folded"])
    if style == "single" or (style == "plain" and (": " in expr or " #" in expr or expr.startswith(("'", "(", "\"")))):
        return "'" + expr.replace("'", "''") + "'"
    if style == "double":
        return '"' + expr.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if style == "literal":
        return "|\n  -- generated\n  " + expr.replace(" and ", "\n    and ", 1) + "\n"
    if style == "folded":
        return ">-\n  " + expr.replace(" and ", "\n  and ", 1) + "\n"
    return expr


def generate(root: Path, n: int, seed: int = 7) -> dict[str, int]:
    r = random.Random(seed)
    (root / "specs").mkdir(parents=True)
    (root / "targets").mkdir()
    (root / "segc.yml").write_text(MODEL, encoding="utf-8")
    (root / "targets" / "local.yml").write_text("dialect: duckdb\npath: bench.duckdb\n", encoding="utf-8")
    counts = {"segment": int(n * 0.8), "partition": int(n * 0.1), "cohort": int(n * 0.05)}
    counts["insight"] = n - sum(counts.values())
    segments: list[str] = []
    for i in range(counts["segment"]):
        name = f"seg_{i:04d}"
        where = _yaml_scalar(r, _segment_expr(r, segments))
        text = f"segment: {name}\ndescription: generated segment {i}\nwhere: {where}\n"
        text += f"tags: [{r.choice(['behavioral', 'revenue', 'lifecycle'])}, generated]\n"
        if segments and r.random() < 0.2:
            text += f"expect:\n  min_size: {r.randint(1, 100)}\n  max_share: 0.5\n  disjoint_with: [{r.choice(segments)}]\n"
        folder = root / "specs" / f"group_{i % 20:02d}"
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.yml").write_text(text, encoding="utf-8")
        segments.append(name)
    for i in range(counts["partition"]):
        members = r.sample(segments, r.randint(2, 5))
        (root / "specs" / f"partition_{i:03d}.yml").write_text(
            f"partition: part_{i:03d}\nsegments: [{', '.join(members)}]\ncomplete: {str(r.random() < 0.3).lower()}\n", encoding="utf-8"
        )
    for i in range(counts["cohort"]):
        e = r.choice(EVENTS)
        text = (
            f"cohort: cohort_{i:03d}\nentry: first_time({e})\nperiod: {r.choice(['day', 'week', 'month'])}\nperiods: {r.randint(4, 12)}\n"
            f"returning: performed({r.choice(EVENTS)})\nentries: within {r.choice([30, 90, 180])}d\n"
        )
        if r.random() < 0.5:
            text += f"segment: {r.choice(segments)}\n"
        (root / "specs" / f"cohort_{i:03d}.yml").write_text(text, encoding="utf-8")
    for i in range(counts["insight"]):
        if i % 2:
            steps = ", ".join(r.sample(EVENTS[2:6], 3)) + ", purchase where revenue > 0"
            text = f"insight: insight_{i:03d}\nkind: funnel\nsteps: [{steps}]\nwindow: 1d\nrange: within 30d\nbreakdown: plan\n"
        else:
            text = (
                f"insight: insight_{i:03d}\nkind: trend\nseries:\n  views: count(product_viewed)\n  buyers: persons(purchase)\n"
                f"  revenue: sum(purchase.revenue where $device_type = 'Mobile')\nformula: buyers / views\ninterval: week\n"
                f"range: within 90d\nbreakdown: event.$browser\nsegment: {r.choice(segments)}\n"
            )
        (root / "specs" / f"insight_{i:03d}.yml").write_text(text, encoding="utf-8")
    return counts


def run_env(bytecode: bool) -> dict[str, str]:
    """The environment for timed runs. With `bytecode`, compiled modules are cached (as after a
    normal install), in a private folder so the repo stays clean; this sandbox sets
    PYTHONDONTWRITEBYTECODE, which makes every run compile segc from source."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "segc-bench-pycache")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def timed(cmd: list[str], cwd: Path, runs: int, env: dict) -> tuple[list[float], list[float], subprocess.CompletedProcess]:
    """Wall and CPU (user + system) seconds of each run of a whole process."""
    walls, cpus = [], []
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)  # warm-up (caches, bytecode)
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
        walls.append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return walls, cpus, p


def ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1000:.0f} ms (min {min(xs) * 1000:.0f})"


def stages(root: Path, runs: int) -> dict[str, float]:
    """Stage times inside one process (the serial path: no second process), imports already
    paid; the best of `runs` (CPU time)."""
    from segc import parser
    from segc.checker import check_project, expression_places
    from segc.loader.project import load_project
    from segc.warnings import add_static_warnings

    best: dict[str, float] = {}
    parser._parser()
    for _ in range(runs):
        parser._parsed.cache_clear()
        t0 = time.process_time()
        project = load_project(root)
        t1 = time.process_time()
        diags: list = []
        for text, locate, start, place in expression_places(project.definitions):  # parse alone
            try:
                parser.parse_expression(text, locate, start, place)
            except parser.ExpressionError as e:
                diags.append(e.diag)
        t2 = time.process_time()
        parser._parsed.cache_clear()
        project = load_project(root)
        t3 = time.process_time()
        result = check_project(project)
        t4 = time.process_time()
        add_static_warnings(result)
        t5 = time.process_time()
        assert not result.errors and not diags, [d.headline() for d in (result.errors + diags)[:5]]
        for k, v in (("load", t1 - t0), ("parse", t2 - t1), ("check_project", t4 - t3), ("warnings", t5 - t4)):
            best[k] = min(best.get(k, v), v)
    best["check"] = best.pop("check_project") - best["parse"]
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--definitions", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", help="generate into this folder and keep it")
    args = ap.parse_args()

    tmp = None
    if args.keep:
        root = Path(args.keep)
        if root.exists():
            shutil.rmtree(root)
    else:
        tmp = tempfile.mkdtemp(prefix="segc-bench-")
        root = Path(tmp) / "project"
    try:
        counts = generate(root, args.definitions)
        print(f"project: {', '.join(f'{v} {k}s' for k, v in counts.items())}  ({root})")
        print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; python {sys.version.split()[0]}")
        validate = [sys.executable, "-m", "segc", "validate"]
        # interleaved, run for run, so that the machine's drift falls on every variant alike
        # a first run on two processes (segc.parallel) against one, A/B. Forced: left to choose,
        # segc would see these back-to-back runs in the load average
        variants = {
            "no saved parse trees (SEGC_PARSE_CACHE=0: a first run, or CI without a cache), two processes (SEGC_PARALLEL=1)":
                {**run_env(True), "SEGC_PARSE_CACHE": "0", "SEGC_PARALLEL": "1"},
            "no saved parse trees, one process (SEGC_PARALLEL=0)": {**run_env(True), "SEGC_PARSE_CACHE": "0", "SEGC_PARALLEL": "0"},
            "saved parse trees of the previous run (~/.cache/segc)": run_env(True),
            "saved parse trees, one process (SEGC_PARALLEL=0)": {**run_env(True), "SEGC_PARALLEL": "0"},
            "saved parse trees, no bytecode (PYTHONDONTWRITEBYTECODE=1)": run_env(False),
        }
        got: dict[str, tuple[list, list]] = {k: ([], []) for k in variants}
        for _ in range(args.runs):
            for label, env in variants.items():
                walls, cpus, p = timed(validate, root, 1, env)
                assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
                got[label][0].extend(walls)
                got[label][1].extend(cpus)
        for label, (walls, cpus) in got.items():
            print(f"segc validate, whole process, {label}, {args.runs} runs: wall {ms(walls)}, CPU {ms(cpus)}")
        print(f"  -> {p.stdout.strip().splitlines()[-1]}")
        env = run_env(True)
        base, _, _ = timed([sys.executable, "-c", "pass"], root, args.runs, env)
        imp, _, _ = timed([sys.executable, "-c", "import segc.cli, segc.api"], root, args.runs, env)
        heavy = subprocess.run(
            [sys.executable, "-c", "import sys, segc.cli, segc.api; print(' '.join(m for m in ('sqlglot', 'jinja2', 'duckdb') if m in sys.modules))"],
            capture_output=True, text=True, env=env,
        ).stdout.strip()
        print("breakdown (bytecode cached):")
        print(f"  python start-up                  {statistics.median(base) * 1000:5.0f} ms wall")
        print(f"  import segc.cli + segc.api       {(statistics.median(imp) - statistics.median(base)) * 1000:5.0f} ms wall"
              f"  (sqlglot, jinja2, duckdb imported: {heavy or 'none'})")
        import segc.api  # noqa: F401  (pay the imports before timing the stages)

        st = stages(root, args.runs)
        print(f"  load   (YAML -> located spec)    {st['load'] * 1000:5.0f} ms CPU")
        print(f"  parse  (expressions -> AST)      {st['parse'] * 1000:5.0f} ms CPU")
        print(f"  check  (AST -> typed IR, graph)  {st['check'] * 1000:5.0f} ms CPU")
        print(f"  static warnings                  {st['warnings'] * 1000:5.0f} ms CPU")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
