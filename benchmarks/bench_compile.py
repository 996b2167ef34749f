"""Benchmark: `segc compile --dialect all` on generated projects of 1,000 definitions.

Two projects from bench_validate's generator: the mixed one (800 segments, 100 partitions,
50 cohorts, 50 insights: 2,700 files) and one of 1,000 segments only (3,000 files). For each,
the whole process (start-up and validation included; median of --runs) into a fresh output
folder, again over an output folder that already holds the same files (nothing is
rewritten), into a fresh folder without saved parse trees (a first run), and into a fresh folder
in memory (/dev/shm: segc's own time, without the disk). Then, in one process with one worker, where the time goes: validation, building
sqlglot trees, sqlglot's generators (Generator.generate timed around each call: sqlglotc's
compiled generator is invisible to cProfile) and writing files. Target: under 3 s.

    python benchmarks/bench_compile.py [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_validate import generate, run_env  # noqa: E402  (same realistic generated project)

AS_OF = "2026-11-01T00:00:00Z"
SHM = "/dev/shm"


def segments_only(root: Path, segments: int) -> dict[str, int]:
    """A project of `segments` segments: the generator's mix, without the other kinds."""
    counts = generate(root, segments * 5 // 4)
    for f in (root / "specs").rglob("*.yml"):
        if not f.read_text(encoding="utf-8").startswith("segment:"):
            f.unlink()
    return {"segment": sum(1 for _ in (root / "specs").rglob("*.yml"))} if counts else {}


def whole_process(project: Path, out: Path, runs: int, fresh: bool, saved_trees: bool = True) -> list[float]:
    """Wall seconds of `segc compile --dialect all` as a whole process, bytecode cached as after
    an install. `fresh`: into a folder never written, as on a new checkout. Earlier runs'
    folders are deleted only at the end: creating files right after deleting thousands makes
    ext4 look past the recently freed inodes, which cost this disk up to ~3 s of system time
    a run (rm -rf target && segc compile pays it; a new checkout does not)."""
    env = run_env(True) if saved_trees else {**run_env(True), "SEGC_PARSE_CACHE": "0"}
    walls = []
    subprocess.run([sys.executable, "-m", "segc", "validate", str(project)], capture_output=True, env=env)  # bytecode, saved trees
    for i in range(runs):
        dest = out.with_name(f"{out.name}_{'' if saved_trees else 'first_'}{i}") if fresh else out
        t = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "segc", "compile", str(project), "--dialect", "all",
                            "--as-of", AS_OF, "--out", str(dest)], capture_output=True, text=True, env=env)
        walls.append(time.perf_counter() - t)
        if p.returncode != 0:
            print(p.stdout[-2000:], p.stderr[-2000:])
            raise SystemExit("compile failed")
    return walls


def breakdown(project: Path, out: Path) -> str:
    """One process, one worker: validate, build, generate, write."""
    import sqlglot.generator

    from segc import api
    from segc.loader import files

    spent = {"generate": 0.0, "write": 0.0}
    generate_, write_ = sqlglot.generator.Generator.generate, files.write_text

    def timed_generate(self, *a, **k):
        t = time.perf_counter()
        try:
            return generate_(self, *a, **k)
        finally:
            spent["generate"] += time.perf_counter() - t

    def timed_write(*a, **k):
        t = time.perf_counter()
        try:
            return write_(*a, **k)
        finally:
            spent["write"] += time.perf_counter() - t

    sqlglot.generator.Generator.generate = timed_generate
    files.write_text = timed_write
    try:
        t0 = time.perf_counter()
        result = api.validate(project)
        t1 = time.perf_counter()
        api.compile_project(project, ("duckdb", "postgres", "clickhouse"), api.parse_as_of(AS_OF), None, out,
                            result=result, workers=1)
        t2 = time.perf_counter()
    finally:
        sqlglot.generator.Generator.generate = generate_
        files.write_text = write_
    compile_ = t2 - t1
    build = compile_ - spent["generate"] - spent["write"]
    return (f"one process, one worker: validate {t1 - t0:.2f} s; compile {compile_:.2f} s = build trees (one per segment, "
            f"swapped per dialect) and unlink them {build:.2f} s "
            f"+ sqlglot generators {spent['generate']:.2f} s ({spent['generate'] / compile_:.0%}) + write files {spent['write']:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--definitions", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="segc-bench-compile-"))
    print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    try:
        for label, make in (("mixed", lambda root: generate(root, args.definitions)),
                            ("segments only", lambda root: segments_only(root, args.definitions))):
            project, out = tmp / label.replace(" ", "_"), tmp / f"out_{label.replace(' ', '_')}"
            counts = make(project)
            cold = whole_process(project, out, args.runs, fresh=True)
            shutil.copytree(out.with_name(f"{out.name}_0"), out)
            files = len(list(out.rglob("*.sql")))
            again = whole_process(project, out, args.runs, fresh=False)
            first = whole_process(project, out, args.runs, fresh=True, saved_trees=False)
            # the same as the first variant, with the files in memory: segc's own time, without
            # what this disk adds to creating thousands of files (see docs/benchmarks.md)
            memory = (whole_process(project, Path(tempfile.mkdtemp(prefix="segc-bench-", dir=SHM)) / "out", args.runs, fresh=True)
                      if os.path.isdir(SHM) else None)
            print(f"{label}: {counts}, {files} files")
            print(f"  segc compile --dialect all, whole process, fresh output folder: median {statistics.median(cold):.2f} s "
                  f"(min {min(cold):.2f}; runs {', '.join(f'{w:.2f}' for w in cold)})")
            print(f"  again over the same files (none rewritten): median {statistics.median(again):.2f} s (min {min(again):.2f})")
            print(f"  fresh output folder, no saved parse trees (SEGC_PARSE_CACHE=0: a first run): median {statistics.median(first):.2f} s "
                  f"(min {min(first):.2f})")
            if memory is not None:
                print(f"  fresh output folder in memory ({SHM}, tmpfs): median {statistics.median(memory):.2f} s "
                      f"(min {min(memory):.2f}; runs {', '.join(f'{w:.2f}' for w in memory)})")
            print("  " + breakdown(project, tmp / f"out_inproc_{label.replace(' ', '_')}"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for left in Path(SHM).glob("segc-bench-*") if os.path.isdir(SHM) else ():
            shutil.rmtree(left, ignore_errors=True)


if __name__ == "__main__":
    main()
