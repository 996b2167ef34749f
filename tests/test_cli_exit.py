"""The `segc` script ends validate and compile with os._exit once its output is flushed
(segc.cli.entry): nothing may be lost by skipping the interpreter's teardown. Real processes,
as users and CI run them (`python -m segc` goes through the same entry as the script)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

GOLDEN_BASE = Path(__file__).parent / "golden" / "diagnostics" / "_base"


def _project(tmp_path: Path, broken: int) -> Path:
    root = tmp_path / "project"
    shutil.copytree(GOLDEN_BASE, root)
    for i in range(broken):  # each an unknown property: one error apiece, ~400 bytes of JSON each
        (root / "specs" / f"broken_{i:03d}.yml").write_text(
            f"segment: broken_{i:03d}\nwhere: contry_{i:03d} = 'US' and count(purchase within 30d) >= {i}\n",
            encoding="utf-8")
    return root


def _segc(*args: str, cwd: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segc", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, **kw)


def test_output_larger_than_a_pipe_buffer_arrives_whole(tmp_path):
    root = _project(tmp_path, 400)
    p = _segc("validate", ".", "--format", "json", cwd=root)
    assert p.returncode == 1, p.stderr
    assert len(p.stdout.encode()) > 65536  # more than one pipe buffer: written in several flushes
    report = json.loads(p.stdout)  # the whole document, closing brackets included
    found = sorted(d["path"] for d in report["diagnostics"] if d["code"] == "SEG300")
    assert found == [f"specs/broken_{i:03d}.yml" for i in range(400)]
    assert "Traceback" not in p.stderr


def test_text_report_and_summary_arrive_and_exit_status_holds(tmp_path):
    root = _project(tmp_path, 3)
    p = _segc("validate", ".", cwd=root)
    assert p.returncode == 1
    assert p.stdout.rstrip().splitlines()[-1] == "6 definitions checked: 3 errors", p.stdout
    assert p.stdout.count("SEG300") == 3
    clean = _segc("validate", ".", cwd=_project(tmp_path / "clean", 0))
    assert clean.returncode == 0 and clean.stdout.rstrip().splitlines()[-1] == "3 definitions checked: 0 errors", clean.stdout
    usage = _segc("validate", ".", "--format", "nope", cwd=root)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_compile_writes_every_file_before_exiting(tmp_path):
    root = _project(tmp_path, 0)
    for i in range(60):  # enough for the worker processes to run
        (root / "specs" / f"buyers_{i:02d}.yml").write_text(
            f"segment: buyers_{i:02d}\nwhere: count(purchase within {i + 1}d) >= {i % 5 + 1}\n", encoding="utf-8")
    p = _segc("compile", ".", "--as-of", "2026-11-01T00:00:00Z", cwd=root)
    assert p.returncode == 0, p.stderr
    for d in ("duckdb", "postgres", "clickhouse"):
        files = sorted((root / "target" / "compiled" / d).glob("*.sql"))
        assert len(files) == 63
        for f in files:
            text = f.read_text(encoding="utf-8")
            assert text.startswith("--") and "SELECT" in text and text.endswith("\n"), f


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path):
    root = _project(tmp_path, 400)
    proc = subprocess.Popen([sys.executable, "-m", "segc", "validate", ".", "--format", "json"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.read(10)  # the start of the report, then the reader goes away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert "Traceback" not in err and "Exception ignored" not in err, err
