"""Benchmark: `segc compile --dialect all` on a generated project of 1,000 segments.

Times the whole process (start-up included; median of --runs) and, in-process, the share
of the time spent in sqlglot's generators (Generator.generate, measured with cProfile).
Target: under 3 s on the 2-core machine.

    python benchmarks/bench_compile.py [--segments 1000] [--runs 3]
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_validate import generate  # noqa: E402  (same realistic generated project)

AS_OF = "2026-11-01T00:00:00Z"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--segments", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="segc-bench-compile-"))
    try:
        counts = generate(tmp / "proj", args.segments)
        walls = []
        for _ in range(args.runs):
            out = tmp / "out"
            shutil.rmtree(out, ignore_errors=True)
            t = time.perf_counter()
            p = subprocess.run([sys.executable, "-m", "segc", "compile", str(tmp / "proj"), "--dialect", "all",
                                "--as-of", AS_OF, "--out", str(out)], capture_output=True, text=True)
            walls.append(time.perf_counter() - t)
            if p.returncode != 0:
                print(p.stdout[-2000:], p.stderr[-2000:])
                raise SystemExit("compile failed")
        files = len(list(out.rglob("*.sql")))

        # in-process: where the time goes
        from segc import api

        prof = cProfile.Profile()
        t = time.perf_counter()
        prof.enable()
        result = api.validate(tmp / "proj")
        t_check = time.perf_counter()
        api.compile_project(tmp / "proj", ("duckdb", "postgres", "clickhouse"), api.parse_as_of(AS_OF), None, tmp / "out2", result=result, workers=1)
        prof.disable()
        total = time.perf_counter() - t
        stats = pstats.Stats(prof)
        gen = sum(v[3] for k, v in stats.stats.items() if k[2] == "generate" and "sqlglot" in k[0] and "generator" in k[0])
        prof_total = sum(v[2] for v in stats.stats.values())
        print(f"project: {counts}")
        print(f"files written: {files}")
        print(f"segc compile --dialect all, whole process: median {statistics.median(walls):.2f} s "
              f"(runs: {', '.join(f'{w:.2f}' for w in walls)})")
        print(f"in-process, one process (profiled): {total:.2f} s; validate {t_check - t:.2f} s; "
              f"sqlglot generators {gen:.2f} s = {gen / max(prof_total, 1e-9):.0%} of profiled time")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
