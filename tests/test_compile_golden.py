"""Golden SQL per segment and dialect (tests/golden/sql/<dialect>/<name>.sql), and the
`segc compile` interface. Goldens change only with `pytest --update-goldens`, reviewed as diffs."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from segc import api

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "sql"
AS_OF = "2026-11-01T00:00:00Z"
DIALECTS = ("duckdb", "postgres", "clickhouse")


@pytest.fixture(scope="module")
def demo():
    result = api.validate(ROOT)
    assert not result.errors, [d.headline() for d in result.errors]
    return result


def _segment_names():
    return [d.name for d in api.validate(ROOT).project.definitions if d.kind == "segment"]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", _segment_names())
def test_golden_sql(demo, dialect, name, request, tmp_path):
    _, files = api.compile_project(ROOT, (dialect,), api.parse_as_of(AS_OF), [name], tmp_path, result=demo)
    assert [f.name for f in files] == [f"{name}.sql"]
    got = files[0].read_text(encoding="utf-8")
    golden = GOLDEN / dialect / f"{name}.sql"
    if request.config.getoption("--update-goldens"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}: run pytest --update-goldens and review it"
    assert got == golden.read_text(encoding="utf-8")


def test_compiling_every_dialect_at_once_gives_the_goldens(demo, tmp_path):
    """`--dialect all` prints the three texts of a segment from one tree (AllEngines); the
    goldens above are compiled one dialect at a time."""
    _, files = api.compile_project(ROOT, DIALECTS, api.parse_as_of(AS_OF), _segment_names(), tmp_path, result=demo)
    assert len(files) == 3 * len(_segment_names())
    differ = [f"{f.parent.name}/{f.name}" for f in files
              if f.read_text(encoding="utf-8") != (GOLDEN / f.parent.name / f.name).read_text(encoding="utf-8")]
    assert not differ


def test_no_stale_goldens(demo):
    names = set(_segment_names())
    for dialect in DIALECTS:
        stale = {p.stem for p in (GOLDEN / dialect).glob("*.sql")} - names
        assert not stale, f"golden files for segments that no longer exist: {stale}"


def _segc(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "segc", *args], cwd=cwd, capture_output=True, text=True)


def test_compile_command_writes_one_file_per_segment_and_dialect(tmp_path):
    out = tmp_path / "compiled"
    p = _segc("compile", ".", "--dialect", "all", "--as-of", AS_OF, "--out", str(out))
    assert p.returncode == 0, p.stderr
    names = set(_segment_names())
    analytics = {d.name for d in api.validate(ROOT).project.definitions if d.kind in ("cohort", "insight")}  # tests/test_analytics.py
    for dialect in DIALECTS:
        assert {f.stem for f in (out / dialect).glob("*.sql")} == names | analytics
    text = (out / "postgres" / "power_buyers.sql").read_text()
    assert text.startswith("-- segment power_buyers, compiled by segc from specs/behavioral/power_buyers.yml\n")
    assert "-- dialect: postgres; as of: 2026-11-01T00:00:00Z" in text
    # one statement, a SELECT of one column named like the persons key
    body = "\n".join(l for l in text.splitlines() if not l.startswith("--"))
    assert body.count(";") == 1 and body.rstrip().endswith(";")
    assert re.search(r'^SELECT\n\s+"p"\."person_id" AS "person_id"\nFROM', body, re.M)
    assert "'2026-11-01 00:00:00'" in body


def test_compile_default_out_and_select(tmp_path):
    import shutil

    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "specs", proj / "specs")
    shutil.copy(ROOT / "segc.yml", proj / "segc.yml")
    p = _segc("compile", str(proj), "--dialect", "duckdb", "--select", "power_buyers,new", "--select", "churned")
    assert p.returncode == 0, p.stderr
    files = sorted(f.name for f in (proj / "target" / "compiled" / "duckdb").glob("*.sql"))
    assert files == ["churned.sql", "new.sql", "power_buyers.sql"]
    assert not (proj / "target" / "compiled" / "postgres").exists()


def test_compile_without_as_of_uses_the_engine_clock(tmp_path):
    p = _segc("compile", ".", "--dialect", "all", "--select", "power_buyers", "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "CURRENT_TIMESTAMP AT TIME ZONE 'UTC'" in (tmp_path / "duckdb" / "power_buyers.sql").read_text()
    assert "CURRENT_TIMESTAMP AT TIME ZONE 'UTC'" in (tmp_path / "postgres" / "power_buyers.sql").read_text()
    assert "now64(6, 'UTC')" in (tmp_path / "clickhouse" / "power_buyers.sql").read_text()
    assert "as of: now() when the query runs" in (tmp_path / "duckdb" / "power_buyers.sql").read_text()


@pytest.mark.parametrize("as_of, literal", [
    ("2026-11-01T12:30:00+02:00", "'2026-11-01 10:30:00'"),
    ("2026-11-01", "'2026-11-01 00:00:00'"),
    ("2026-11-01T00:00:00.250000Z", "'2026-11-01 00:00:00.250000'"),
])
def test_as_of_is_compiled_as_a_utc_literal(tmp_path, as_of, literal):
    p = _segc("compile", ".", "--dialect", "clickhouse", "--select", "power_buyers", "--as-of", as_of, "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr
    sql = (tmp_path / "clickhouse" / "power_buyers.sql").read_text()
    assert f"CAST({literal} AS DateTime64(6, 'UTC'))" in sql


@pytest.mark.parametrize("args, message", [
    (["--select", "powr_buyers"], "no segment named 'powr_buyers'; did you mean 'power_buyers'?"),
    (["--as-of", "yesterday"], "--as-of 'yesterday' is not an ISO-8601 instant"),
])
def test_compile_errors_are_clear(tmp_path, args, message):
    p = _segc("compile", ".", "--out", str(tmp_path), *args)
    assert p.returncode == 1
    assert message in p.stderr
    assert "Traceback" not in p.stderr + p.stdout


def test_compile_usage_error_exits_2(tmp_path):
    p = _segc("compile", ".", "--dialect", "oracle", "--out", str(tmp_path))
    assert p.returncode == 2


def test_broken_segment_fails_alone(tmp_path):
    import shutil

    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "specs", proj / "specs")
    shutil.copy(ROOT / "segc.yml", proj / "segc.yml")
    (proj / "specs" / "behavioral" / "power_buyers.yml").write_text("segment: power_buyers\nwhere: count(purchase within 30d) >= '20'\n")
    p = _segc("compile", str(proj), "--dialect", "duckdb", "--out", str(tmp_path / "out"))
    assert p.returncode == 1
    assert "power_buyers.yml:2:8: SEG305" in p.stderr
    written = {f.stem for f in (tmp_path / "out" / "duckdb").glob("*.sql")}
    assert "power_buyers" not in written and "new" in written
