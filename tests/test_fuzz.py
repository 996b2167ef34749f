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
