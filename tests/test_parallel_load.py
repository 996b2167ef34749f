"""Two processes for the per-file work of validation (segc.parallel): the results are exactly
those of one process (the same diagnostics in the same order, the same rendered text, the same
IR) on the demo project, the LANGUAGE.md examples, a generated project and projects of broken
files; a child that cannot fork, fails, is killed or sends what cannot be read back changes
nothing but the time; a run where nearly everything was parsed before does not fork."""
from __future__ import annotations

import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from segc import api, parallel
from segc import parser as P
from segc.diagnostics import render_text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_validate import generate  # noqa: E402
from language_examples import write_examples_project  # noqa: E402
from test_parse_cache import _parses  # noqa: E402  (counts the parser calls)

REPO = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden" / "diagnostics"


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SEGC_PARSE_CACHE", "0")
    monkeypatch.delenv("SEGC_PARALLEL", raising=False)
    return tmp_path / "cache" / "segc"


_REAL_SPARE_CPU = parallel._spare_cpu


@pytest.fixture(autouse=True)
def idle_machine(monkeypatch):
    """The choice does not depend on what else the machine runs while the tests do."""
    monkeypatch.setattr(parallel, "_spare_cpu", lambda: True)


@pytest.fixture
def forks(monkeypatch) -> list:
    """The children started, as (pid, pipe) or None when none could start."""
    started: list = []
    real = parallel._fork

    def spy(*args):
        child = real(*args)
        started.append(child)
        return child

    monkeypatch.setattr(parallel, "_fork", spy)
    return started


def outcome(root: Path, mode: str, monkeypatch):
    monkeypatch.setenv("SEGC_PARALLEL", mode)
    P._parsed.cache_clear()  # each run parses as a process of its own would
    result = api.validate(root)
    sources = result.project.sources
    return {
        "diagnostics": [repr(d) for d in result.diagnostics],
        "text": [render_text(d, sources) for d in result.diagnostics],
        "ir": list(result.definitions.items()),
        "failed": list(result.failed.items()),
        "definitions": [(d.kind, d.name, d.path, d.ok, d.body.plain()) for d in result.project.definitions],
        "sources": sorted(sources.texts.items()),
        "tests": [re.sub(r" at 0x[0-9a-f]+", "", repr(t)) for t in result.tests],  # Y's repr shows its source's address
    }


def assert_same(root: Path, monkeypatch, forks: list, mode: str = "1") -> dict:
    monkeypatch.chdir(root)  # paths shown relative to the project, as `segc validate` run there
    serial = outcome(root, "0", monkeypatch)
    assert forks == []
    parallel_ = outcome(root, mode, monkeypatch)
    assert len(forks) == 1 and forks[0] is not None  # the parallel path ran, with a child
    for key in serial:
        assert parallel_[key] == serial[key], key
    return serial


def test_demo_project(tmp_path, monkeypatch, forks):
    root = tmp_path / "demo"
    shutil.copytree(REPO, root, ignore=shutil.ignore_patterns(".git", ".venv", "target", "*.duckdb*", "__pycache__", "node_modules"))
    got = assert_same(root, monkeypatch, forks)
    assert len(got["ir"]) > 20


def test_language_examples(tmp_path, monkeypatch, forks):
    write_examples_project(tmp_path / "examples")
    got = assert_same(tmp_path / "examples", monkeypatch, forks)
    assert any("power_buyers" == name for name, _ in got["ir"])


def test_generated_project_forks_above_the_threshold(tmp_path, monkeypatch, forks):
    root = tmp_path / "gen"
    generate(root, 300)
    monkeypatch.setattr(parallel, "MIN_FILES", 100)
    got = assert_same(root, monkeypatch, forks, mode="")  # chosen, not forced
    assert len(got["ir"]) == 300 and not any("severity='error'" in d for d in got["diagnostics"])


def test_small_projects_stay_in_one_process(tmp_path, monkeypatch, forks):
    root = tmp_path / "gen"
    generate(root, 60)
    monkeypatch.setenv("SEGC_PARALLEL", "")
    api.validate(root)
    assert forks == []


def test_a_busy_machine_stays_in_one_process(tmp_path, monkeypatch, forks):
    root = tmp_path / "gen"
    generate(root, 300)
    monkeypatch.setattr(parallel, "MIN_FILES", 100)
    monkeypatch.setattr(parallel, "_spare_cpu", lambda: False)
    monkeypatch.setenv("SEGC_PARALLEL", "")
    api.validate(root)
    assert forks == []
    monkeypatch.setenv("SEGC_PARALLEL", "1")  # forced: forks all the same
    api.validate(root)
    assert len(forks) == 1


def test_a_second_cpu_is_free_when_fewer_processes_run_than_cpus(monkeypatch):
    """_spare_cpu counts the processes runnable now (this one included) against the CPUs;
    the load average is the fallback where /proc/loadavg cannot be read."""
    import os

    spare = _REAL_SPARE_CPU
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    for running, free in ((1, True), (2, False), (5, False)):
        monkeypatch.setattr(parallel, "_runnable", lambda r=running: r)
        assert spare() is free, running
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    monkeypatch.setattr(parallel, "_runnable", lambda: 1)
    assert spare() is False  # one CPU: nothing to share
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(parallel, "_runnable", lambda: None)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.4, 1.0, 1.0))
    assert spare() is True
    monkeypatch.setattr(os, "getloadavg", lambda: (1.7, 1.0, 1.0))
    assert spare() is False


def test_runnable_counts_a_busy_process():
    """/proc/loadavg as this machine gives it: this process at least, and a busy one more."""
    import subprocess
    import sys
    import time

    assert parallel._runnable() >= 1
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        counts = [parallel._runnable() for _ in range(20)]
    finally:
        busy.kill()
        busy.wait()
    assert max(counts) >= 2, counts


def broken_project(root: Path) -> Path:
    """Every spec file of the golden bad inputs, each case in a folder of its own (so the same
    names are defined many times over: duplicates across both halves), and a few more."""
    shutil.copytree(GOLDEN / "_base", root)
    for case in sorted(p for p in GOLDEN.iterdir() if p.is_dir() and not p.name.startswith("_")):
        for src in sorted((case / "specs").rglob("*")) if (case / "specs").is_dir() else []:
            if src.is_file():
                dest = root / "specs" / case.name / src.relative_to(case / "specs")
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
    extra = root / "specs" / "zz_extra"
    extra.mkdir()
    (extra / "not_utf8.yml").write_bytes(b"segment: latin\nwhere: city = '\xe9'\n")
    (extra / "yaml_error.yml").write_text("segment: broken\nwhere: [age > 3\n", encoding="utf-8")
    (extra / "dup_key.yml").write_text("segment: dup_key\nwhere: age > 3\nwhere: age > 4\n", encoding="utf-8")
    (extra / "empty.yml").write_text("", encoding="utf-8")
    (extra / "syntax.yml").write_text("segment: syntax\nwhere: age >> 3\n", encoding="utf-8")
    (extra / "semantic.yml").write_text("segment: semantic\nwhere: agee > 3 and segment(nowhere)\n", encoding="utf-8")
    (extra / "crlf.yml").write_text("\ufeffsegment: crlf\r\nwhere: >\r\n  age > 3\r\n  and nope = 1\r\n", encoding="utf-8")
    long_steps = ", ".join(f"pageview where $current_url = '{'x' * 60_000}{i}'" for i in range(5))
    (extra / "over_budget.yml").write_text(
        f"insight: over_budget\nkind: funnel\nsteps: [{long_steps}]\nwindow: 1d\nrange: within 30d\n", encoding="utf-8")
    return root


def test_broken_files(tmp_path, monkeypatch, forks):
    root = broken_project(tmp_path / "broken")
    got = assert_same(root, monkeypatch, forks)
    codes = {d.split("'")[1] for d in got["diagnostics"]}
    assert {"SEG100", "SEG111", "SEG201", "SEG206"} <= codes, codes


def test_broken_files_cli(tmp_path):
    """Bad input on the parallel path: located errors, exit 1, no traceback."""
    root = broken_project(tmp_path / "broken")
    runs = {}
    for mode in ("0", "1"):
        env = {**os.environ, "SEGC_PARALLEL": mode, "SEGC_PARSE_CACHE": "0", "NO_COLOR": "1"}
        runs[mode] = subprocess.run([sys.executable, "-m", "segc", "validate"], cwd=root, capture_output=True, text=True, env=env)
    assert runs["1"].returncode == runs["0"].returncode == 1
    assert runs["1"].stdout == runs["0"].stdout and "specs/zz_extra/syntax.yml:2:" in runs["1"].stdout
    assert "Traceback" not in runs["1"].stderr + runs["0"].stderr


def _failing(how: str):
    def child(paths, raws, indexes, w):
        if how == "raise":
            raise RuntimeError("the child failed")
        if how == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "unpicklable":
            pickle.dumps(lambda: None)
        if how == "garbage":  # a clean exit with what cannot be read back
            os.write(w, b"\x80\x05not a pickle")
            return 0
        if how == "truncated":
            data = pickle.dumps(([], {}))
            os.write(w, data[:-3])
            return 0
        if how == "wrong_count":
            os.write(w, pickle.dumps(([], {})))
            return 0
        raise AssertionError(how)

    return child


@pytest.mark.parametrize("how", ["raise", "killed", "unpicklable", "garbage", "truncated", "wrong_count"])
def test_a_failing_child_changes_nothing(how, tmp_path, monkeypatch, forks, capfd):
    root = broken_project(tmp_path / "broken")
    monkeypatch.setattr(parallel, "_child", _failing(how))
    assert_same(root, monkeypatch, forks)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "the child failed" not in err


def test_no_fork_possible(tmp_path, monkeypatch, forks):
    root = broken_project(tmp_path / "broken")

    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.chdir(root)
    serial = outcome(root, "0", monkeypatch)
    assert outcome(root, "1", monkeypatch) == serial
    assert forks == [None]


def test_no_zombie_left(tmp_path, monkeypatch, forks):
    root = tmp_path / "gen"
    generate(root, 40)
    monkeypatch.setenv("SEGC_PARALLEL", "1")
    api.validate(root)
    (pid, _), = forks
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped already


def test_saved_results_after_a_parallel_run(tmp_path, monkeypatch, forks, cache_home):
    """A parallel first run saves every AST (the child's too): the next run parses nothing and,
    nearly everything being saved, does not fork; SEGC_PARSE_CACHE=0 still saves nothing."""
    root = tmp_path / "gen"
    generate(root, 300)
    monkeypatch.setattr(parallel, "MIN_FILES", 100)
    monkeypatch.setenv("SEGC_PARALLEL", "")
    api.validate(root)
    assert len(forks) == 1 and not list(cache_home.glob("trees-*"))
    monkeypatch.setenv("SEGC_PARSE_CACHE", "1")
    P._parsed.cache_clear()
    first = api.validate(root)
    assert len(forks) == 2 and forks[1] is not None
    real = P._parser()
    calls = _parses(monkeypatch)
    P._parsed.cache_clear()
    second = api.validate(root)
    assert calls == [] and len(forks) == 2  # all saved, no child
    assert [repr(d) for d in second.diagnostics] == [repr(d) for d in first.diagnostics]
    assert list(second.definitions.items()) == list(first.definitions.items())
    # many files changed since: a child again
    for p in sorted((root / "specs").rglob("seg_*.yml"))[:150]:
        p.write_text(p.read_text(encoding="utf-8").replace("generated segment", "edited segment"), encoding="utf-8")
    monkeypatch.setattr(P, "_parser", lambda: real)
    third = api.validate(root)
    assert len(forks) == 3 and forks[2] is not None
    assert [repr(d) for d in third.diagnostics] == [repr(d) for d in first.diagnostics]


PROBE = r"""
import json, resource, sys, time
from click.testing import CliRunner
t = time.perf_counter()
from segc.cli import main
r = CliRunner().invoke(main, ["validate", sys.argv[1]])
took = time.perf_counter() - t
peak = next((int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")), 0)
child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the forked child's peak, KiB
print(json.dumps({"exit": r.exit_code, "seconds": took, "peak_mib": peak / 1024, "child_peak_mib": child / 1024,
                  "output": r.stdout or "", "exception": repr(r.exception)}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from /proc")
def test_limits_hold_on_both_processes(tmp_path):
    """Every hostile input of tests/test_limits.py in one project, read on two processes: the
    same located errors as one process, in bounded time and memory for each process."""
    import json

    sys.path.insert(0, str(Path(__file__).parent))
    from test_limits import CASES, MODEL

    root = tmp_path / "hostile"
    (root / "specs").mkdir(parents=True)
    (root / "segc.yml").write_text(MODEL, encoding="utf-8")
    for i, (text, _, _) in enumerate(CASES.values()):
        text = text.replace("segment: x\n", f"segment: x{i}\n", 1).replace("insight: f\n", f"insight: f{i}\n", 1)
        (root / "specs" / f"case_{i:02d}.yml").write_text(text, encoding="utf-8")
    got = {}
    for mode in ("0", "1"):
        env = {**os.environ, "SEGC_PARALLEL": mode, "SEGC_PARSE_CACHE": "0", "NO_COLOR": "1"}
        p = subprocess.run([sys.executable, "-c", PROBE, str(root)], capture_output=True, text=True, env=env, timeout=600)
        assert p.returncode == 0, p.stderr[-2000:]
        got[mode] = json.loads(p.stdout)
    assert got["1"]["output"] == got["0"]["output"]
    assert got["1"]["exit"] == 1 and "Traceback" not in got["1"]["output"], got["1"]["exception"]
    assert {f"SEG{c}" for c in ("109", "203", "206")} <= set(re.findall(r": (SEG\d+) ", got["1"]["output"]))
    for run in got.values():
        assert run["seconds"] < 120, run["seconds"]
        assert run["peak_mib"] < 1024 and run["child_peak_mib"] < 1024, run
