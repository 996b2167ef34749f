"""A few hundred broken projects through `segc validate` (tests/fuzz.py): each ends in a located
diagnostic and exit 1, or validates and compiles; never a traceback, never a hang. The full run
(10,000 inputs, docs/robustness.md) is `python -m tests.fuzz --count 10000 --seed 1`."""
from __future__ import annotations

import os

import fuzz

COUNT = int(os.environ.get("SEGC_FUZZ_INPUTS", "300"))


def test_broken_inputs_end_in_located_diagnostics(tmp_path):
    stats = fuzz.run(COUNT, seed=0, save=tmp_path / "failures", time_limit=30.0, hang_after=300.0, batch=200)
    report = fuzz.summary(stats, COUNT, 0)
    assert not stats.failures, report + "\n" + "\n\n".join(
        f"{path} ({label}):\n" + "\n".join(problems) for path, problems, label in stats.failures[:5]) + f"\ninputs in {tmp_path / 'failures'}"
    assert stats.rejected >= COUNT


def test_nightly_runs_both_parts_and_fails_when_one_fails():
    """scripts/nightly runs the fuzz and the cross-engine property test even when one fails, and
    exits 1 if either did: here the property test cannot start its PostgreSQL server."""
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "nightly"
    bad = subprocess.run([script, "--seed", "x"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "'x' is not a whole number" in bad.stderr
    env = {k: v for k, v in os.environ.items() if k != "SEGC_PG_DSN"} | {"SEGC_PG_BIN": "/nonexistent"}
    p = subprocess.run([script, "--seed", "3", "--fuzz-count", "2", "--examples", "2"], capture_output=True,
                       text=True, timeout=600, env=env)
    lines = p.stdout.splitlines()
    assert lines[0] == "nightly: seed 3, 2 fuzz inputs, 2 cross-engine examples", p.stdout
    assert "fuzz --count 2 --seed 3:" in p.stdout and "cannot start PostgreSQL" in p.stdout, p.stdout + p.stderr
    assert lines[-2].startswith("nightly: fuzz passed in ") and "cross-engine property FAILED (exit 1)" in lines[-2]
    assert (p.returncode, lines[-1]) == (1, "nightly: 1 passed, 1 failed")
