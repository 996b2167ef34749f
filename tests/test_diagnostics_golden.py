"""Golden diagnostics: `segc validate` text output for bad inputs, byte for byte.

Each case under tests/golden/diagnostics/ is a set of files laid over the shared clean project
in _base/ (a case's segc.yml or spec file replaces or adds to it); expected.txt holds the exact
text output. Regenerate with `pytest tests/test_diagnostics_golden.py --update-goldens` and
review the diff. The JSON output is checked against the same goldens (code, path, line, col).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from segc import api
from segc.cli import main

GOLDEN = Path(__file__).parent / "golden" / "diagnostics"
BASE = GOLDEN / "_base"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and not p.name.startswith("_"))
EXPECTED = "expected.txt"
HEADLINE = re.compile(r"^(?P<path>\S+):(?P<line>\d+):(?P<col>\d+): (?P<code>SEG\d{3}) ", re.M)

# For every scalar style: the text the first caret must sit under, written by hand from the
# case's file, so a wrong column fails even if the golden was regenerated carelessly.
CARET_ON = {
    "style_plain": ("specs/bad.yml", 2, 42, "contry"),
    "style_plain_multiline": ("specs/bad.yml", 4, 9, "contry"),
    "style_single_quoted": ("specs/bad.yml", 2, 32, "contry"),
    "style_single_quoted_multiline": ("specs/bad.yml", 4, 9, "contry"),
    "style_double_quoted": ("specs/bad.yml", 2, 29, "contry"),
    "style_double_quoted_escapes": ("specs/bad.yml", 3, 5, "contry"),
    "style_literal_block": ("specs/bad.yml", 5, 9, "contry"),
    "style_folded_block": ("specs/bad.yml", 4, 7, "contry"),
    "style_folded_strip_block": ("specs/bad.yml", 6, 11, "contry"),
    "style_flow_sequence_step": ("specs/bad.yml", 3, 46, "contry"),
    "style_block_sequence_step": ("specs/bad.yml", 7, 9, "contry"),
    "style_single_quoted_span_end": ("specs/bad.yml", 2, 28, "age = ''thirty''"),
    "style_double_quoted_span_end": ("specs/bad.yml", 2, 28, 'age > \\"x\\\\\\"'),
    "semantic_unknown_person_property": ("specs/bad.yml", 2, 44, "contry"),
    "semantic_unknown_event_property": ("specs/bad.yml", 2, 33, "revenu"),
    "semantic_unknown_segment": ("specs/bad.yml", 2, 16, "power_buyer"),
    "syntax_double_equals": ("specs/bad.yml", 2, 16, "=="),
    "syntax_uppercase_and": ("specs/bad.yml", 2, 23, "AND"),
    "syntax_unterminated_string": ("specs/bad.yml", 2, 18, "'"),
    "syntax_invalid_date": ("specs/bad.yml", 2, 35, "'2026-02-30'"),
}


def build_project(case: str, dest: Path) -> Path:
    root = dest / "project"
    shutil.copytree(BASE, root)
    for src in (GOLDEN / case).rglob("*"):
        rel = src.relative_to(GOLDEN / case)
        if src.is_file() and rel.as_posix() != EXPECTED:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, root / rel)
    return root


def clean_project(tmp_path: Path) -> Path:
    """The shared base project alone: three sound segments."""
    root = tmp_path / "project"
    shutil.copytree(BASE, root)
    return root


def run_cli(root: Path, *args: str):
    cwd = os.getcwd()
    os.chdir(root)  # paths in diagnostics are shown relative to the working directory
    try:
        return CliRunner().invoke(main, ["validate", *args])
    finally:
        os.chdir(cwd)


def test_enough_distinct_cases():
    assert len(CASES) >= 45
    texts = [(GOLDEN / c / EXPECTED).read_text(encoding="utf-8") for c in CASES if (GOLDEN / c / EXPECTED).exists()]
    assert len(set(texts)) == len(texts), "two cases give the same output"


@pytest.mark.parametrize("case", CASES)
def test_golden_text(case, tmp_path, request):
    root = build_project(case, tmp_path)
    res = run_cli(root)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output and "internal error" not in res.output, res.output
    assert res.exit_code == 1, f"a bad input must fail validation:\n{res.output}"
    golden = GOLDEN / case / EXPECTED
    if request.config.getoption("--update-goldens"):
        golden.write_text(res.stdout, encoding="utf-8")
    assert golden.exists(), f"no golden for {case}: run pytest with --update-goldens"
    assert res.stdout == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES)
def test_golden_json(case, tmp_path):
    """`--format json` reports the same diagnostics, at the same places, as the text golden."""
    root = build_project(case, tmp_path)
    res = run_cli(root, "--format", "json")
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    got = [(d["path"], d["line"], d["col"], d["code"]) for d in data["diagnostics"]]
    text = (GOLDEN / case / EXPECTED).read_text(encoding="utf-8")
    want = [(m["path"], int(m["line"]), int(m["col"]), m["code"]) for m in HEADLINE.finditer(text)]
    assert got == want
    assert data["errors"] == len(want) > 0
    for d in data["diagnostics"]:
        assert (d["end_line"], d["end_col"]) > (d["line"], d["col"])


@pytest.mark.parametrize("case", sorted(CARET_ON))
def test_caret_lands_on_the_offending_text(case):
    path, line, col, token = CARET_ON[case]
    text = (GOLDEN / case / EXPECTED).read_text(encoding="utf-8")
    first = HEADLINE.search(text)
    assert (first["path"], int(first["line"]), int(first["col"])) == (path, line, col)
    source_line = (GOLDEN / case / path).read_text(encoding="utf-8").splitlines()[line - 1]
    assert source_line[col - 1 :].startswith(token)
    # the rendered caret sits under the same column, as wide as the token
    shown, caret = text.splitlines()[1:3]
    assert shown == "  " + source_line
    assert caret == "  " + " " * (col - 1) + "^" + "~" * (len(token) - 1)


# --- exit status, usage errors, failure isolation ----------------------------------------------
def segc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segc", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_exit_0_for_a_clean_project(tmp_path):
    root = clean_project(tmp_path)
    p = segc("validate", cwd=root)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip() == "3 definitions checked: 0 errors"
    p = segc("validate", "--format", "json", cwd=root)
    assert p.returncode == 0 and json.loads(p.stdout) == {"diagnostics": [], "errors": 0, "warnings": 0}


def test_exit_1_with_errors(tmp_path):
    root = build_project("semantic_unknown_person_property", tmp_path)
    p = segc("validate", str(root), cwd=tmp_path)
    assert p.returncode == 1
    assert "SEG300 unknown person property 'contry'" in p.stdout
    assert "Traceback" not in p.stdout + p.stderr


@pytest.mark.parametrize(
    "args",
    [["validate", "--bogus"], ["validate", "--format", "yaml"], ["no-such-command"], ["validate", "a", "b"]],
)
def test_exit_2_for_usage_errors(args, tmp_path):
    p = segc(*args, cwd=clean_project(tmp_path))
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Error:" in p.stderr and "Traceback" not in p.stderr


def test_missing_project_folder_is_a_clear_error(tmp_path):
    p = segc("validate", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr.startswith("Error: ") and "does not exist" in p.stderr
    assert "Traceback" not in p.stdout + p.stderr


def test_folder_without_segc_yml_is_a_clear_error(tmp_path):
    p = segc("validate", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr.startswith("Error: ") and "no segc.yml" in p.stderr
    assert "Traceback" not in p.stdout + p.stderr


def test_a_broken_file_fails_only_itself_and_its_dependents(tmp_path):
    root = clean_project(tmp_path)
    files = {
        "broken.yml": "segment: broken\nwhere: count(purchase within 30d) >=\n",
        "uses_broken.yml": "segment: uses_broken\nwhere: segment(broken) and age > 30\n",
        "uses_uses_broken.yml": "segment: uses_uses_broken\nwhere: not segment(uses_broken)\n",
        "split.yml": "partition: split\nsegments: [broken, power_buyers]\n",
        "bad_yaml.yml": "segment: bad_yaml\nwhere: [unclosed\n",
        "fine.yml": "segment: fine\nwhere: segment(engaged) and plan = 'pro'\n",
        "trend.yml": "insight: buyers\nkind: trend\nseries:\n  buyers: persons(purchase)\ninterval: week\nrange: within 90d\nsegment: uses_broken\n",
    }
    for name, text in files.items():
        (root / "specs" / name).write_text(text, encoding="utf-8")
    result = api.validate(root)
    assert {d.span.path.rsplit("/", 1)[-1] for d in result.errors} == {"broken.yml", "bad_yaml.yml"}
    assert result.failed == {
        "broken": "errors",
        "uses_broken": "blocked by broken",
        "uses_uses_broken": "blocked by uses_broken",
        "split": "blocked by broken",
        "buyers": "blocked by uses_broken",
    }
    assert set(result.definitions) == {"power_buyers", "churned", "engaged", "fine"}
