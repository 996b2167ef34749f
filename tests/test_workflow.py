"""segc in an analytics engineer's workflow: report formats for CI (checked against the JUnit
XSD and the official SARIF 2.1.0 schema in tests/data/, GitHub annotations by their syntax),
dbt-style selection, `segc graph`, `segc init`, exit codes, the pre-commit hook, the CI docs
and the Python API as the README shows it."""
from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import select as select_module
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml
from lxml import etree

from junit_report import SCHEMA_PATH as JUNIT_SCHEMA_PATH
from junit_report import parse_junit
from segc import api, formats
from segc.diagnostics import Diagnostic, SegcError, Span

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

MODEL = """\
name: {name}
model:
  persons:
    table: persons
    key: person_id
    properties:
      country: string
      plan: string
      age: integer
      signed_up_at: timestamp
  events:
    table: events
    person: person_id
    event: event
    timestamp: timestamp
    properties:
      revenue: number
default_target: local
"""


def write_project(root: Path, specs: dict[str, str], name: str = "workflow") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "segc.yml").write_text(MODEL.format(name=name), encoding="utf-8")
    (root / "targets").mkdir(exist_ok=True)
    (root / "targets" / "local.yml").write_text("dialect: duckdb\npath: data.duckdb\n", encoding="utf-8")
    for rel, text in specs.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


# --- running segc as a user does -------------------------------------------------------------------

def segc(*args: str, cwd: Path, code: int | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Every command any test here runs: none may print a traceback or an internal error."""
    p = subprocess.run([sys.executable, "-m", "segc", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                       env={**os.environ, **(env or {})})
    assert "Traceback" not in p.stdout + p.stderr and "internal error" not in p.stderr, p.stdout + p.stderr
    if code is not None:
        assert p.returncode == code, f"segc {' '.join(args)} exited {p.returncode}, not {code}:\n{p.stdout}\n{p.stderr}"
    return p


@pytest.fixture(scope="module")
def started(tmp_path_factory) -> Path:
    """A project made by `segc init`, run once (its tables exist for export)."""
    root = tmp_path_factory.mktemp("init") / "shop"
    segc("init", str(root), cwd=root.parent, code=0)
    segc("run", cwd=root, code=0)
    return root


# --- a project with errors of several kinds ----------------------------------------------------------

BROKEN_SPECS = {
    "specs/ok.yml": """\
        segment: adults
        where: age >= 18
        """,
    "specs/typo.yml": """\
        segment: us
        where: contry = 'US'
        """,
    "specs/syntax.yml": """\
        segment: spenders
        where: sum(purchase.revenue within 30d) >>= 10
        """,
    "specs/blocked.yml": """\
        segment: us_adults
        where: segment(us) and segment(adults)
        """,
    "specs/odd.yml": """\
        segment: odd
        where: "`a<b>&c` = 'x'"
        """,
    "specs/no_kind.yml": """\
        sgment: nothing
        where: true
        """,
}


@pytest.fixture
def broken(tmp_path) -> Path:
    return write_project(tmp_path / "broken", BROKEN_SPECS)


def _validate_in(root: Path, fmt: str) -> subprocess.CompletedProcess:
    return segc("validate", "--format", fmt, cwd=root, code=1)


# --- JUnit XML ---------------------------------------------------------------------------------------

def junit(text: str) -> etree._Element:
    return parse_junit(text)  # the published junit-10.xsd, then junitparser


def test_junit_schema_is_the_published_one():
    """tests/data/junit-10.xsd is the Jenkins xUnit plugin's schema as pytest ships it
    (tests/data/SOURCES.md), not one written for segc: its bytes are pinned."""
    data = JUNIT_SCHEMA_PATH.read_bytes()
    assert hashlib.sha256(data).hexdigest() == "a1a816f58d1bf95ebabf371994df0b9246dee66ea9572fbec4f9296f1b2c0ff6"
    assert b"Copyright (c) 2014, Gregory Boissinot" in data and b"The MIT License (MIT)" in data
    assert "junit-10.xsd" in (DATA / "SOURCES.md").read_text(encoding="utf-8")
    assert not (DATA / "junit.xsd").exists()  # the hand-written one is gone


def test_junit_check_rejects_what_consumers_reject():
    """No rubber stamp: a report missing required counts, or with an unknown element, fails the
    schema; a count that is no number, or that does not count the cases, fails junitparser."""
    good = '<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="t"/></testsuite></testsuites>'
    junit(good)
    for bad in (good.replace(' failures="0"', ""), good.replace("<testcase name=\"t\"/>", "<testcase/>"),
                good.replace("<testcase name", "<test name")):
        with pytest.raises(etree.DocumentInvalid):
            junit(bad)
    with pytest.raises(ValueError):
        junit(good.replace('tests="1"', 'tests="one"'))
    with pytest.raises(AssertionError):
        junit(good.replace('failures="0"', 'failures="1"'))


def test_validate_junit(broken):
    p = _validate_in(broken, "junit")
    doc = junit(p.stdout)
    suite = doc.find("testsuite")
    cases = {(c.get("classname"), c.get("name")): c for c in suite.findall("testcase")}
    # segc.yml, the target and every definition file is a test case; the file without a kind too
    assert ("project", "segc.yml") in cases and ("target", "local") in cases
    assert {n for k, n in cases if k == "segment"} == {"adults", "us", "spenders", "us_adults", "odd"}
    assert ("file", "specs/no_kind.yml") in cases
    assert cases[("segment", "adults")].find("failure") is None
    fail = cases[("segment", "us")].find("failure")
    assert fail.get("type") == "SEG300" and "specs/typo.yml:2:8: SEG300 unknown person property 'contry'" in fail.get("message")
    assert "^~~~~~" in fail.text and "did you mean 'country'?" in fail.text  # the text report, caret and hint
    assert cases[("segment", "spenders")].find("failure").get("type").startswith("SEG2")
    assert "blocked by us" in cases[("segment", "us_adults")].find("skipped").get("message")
    assert "unknown person property 'a<b>&c'" in cases[("segment", "odd")].find("failure").get("message")  # escaped, and back
    n_fail = sum(c.find("failure") is not None for c in cases.values())
    assert suite.get("failures") == doc.get("failures") == str(n_fail) == "4"
    assert suite.get("tests") == str(len(cases)) and suite.get("skipped") == "1"


def test_validate_junit_with_warnings(tmp_path):
    """Warnings (exit 0) go to the test case's system-out: still a passing, valid report."""
    root = write_project(tmp_path / "w", {"specs/never.yml": "segment: never\nwhere: age > 30 and age < 20\n"})
    doc = junit(segc("validate", "--format", "junit", cwd=root, code=0).stdout)
    case = doc.find("testsuite/testcase[@name='never']")
    assert case.find("failure") is None and "SEG600" in case.find("system-out").text
    doc = junit(segc("validate", "--format", "junit", "--strict", cwd=root, code=1).stdout)
    assert doc.find("testsuite").get("tests") == str(len(doc.findall("testsuite/testcase")))


def test_junit_survives_characters_xml_cannot_hold():
    d = Diagnostic("SEG100", "file is not valid UTF-8: \x00\x1b[31m <&>", Span("specs/x.yml", 1, 1))
    doc = junit(formats.diagnostics_report([d], "junit"))
    assert "\ufffd" in doc.find(".//failure").get("message")


# --- SARIF 2.1.0 -------------------------------------------------------------------------------------

SARIF_SCHEMA = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
SARIF = jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def sarif(text: str) -> dict:
    log = json.loads(text)
    errors = sorted(SARIF.iter_errors(log), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    return log


def test_sarif_schema_is_the_official_one_and_strict():
    assert SARIF_SCHEMA["id"].endswith("/sarif-schema-2.1.0.json") and "errata01" in SARIF_SCHEMA["id"]
    assert len(SARIF_SCHEMA["definitions"]) > 50
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "level": "fatal"}]}]}
    assert list(SARIF.iter_errors(bad))
    assert list(SARIF.iter_errors({"version": "2.0.0", "runs": []}))


def test_validate_sarif(broken):
    p = _validate_in(broken, "sarif")
    log = sarif(p.stdout)
    run = log["runs"][0]
    data = json.loads(segc("validate", "--format", "json", cwd=broken, code=1).stdout)
    results = run["results"]
    assert len(results) == len(data["diagnostics"]) == data["errors"]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    for r, d in zip(results, data["diagnostics"]):
        assert r["ruleId"] == d["code"] == rules[r["ruleIndex"]] and r["level"] == "error"
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"] == {"uri": d["path"], "uriBaseId": "%SRCROOT%"}
        region = loc["region"]
        assert (region["startLine"], region["startColumn"]) == (d["line"], d["col"])
        assert region["endLine"] == d["end_line"] and region.get("endColumn", d["end_col"]) == d["end_col"]
        assert r["message"]["text"].startswith(d["message"])
    assert run["tool"]["driver"]["name"] == "segc" and run["columnKind"] == "unicodeCodePoints"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == broken.resolve().as_uri() + "/"


def test_sarif_paths_are_uris(tmp_path):
    root = write_project(tmp_path / "my project", {"specs/a b.yml": "segment: a\nwhere: nope > 1\n"})
    log = sarif(segc("validate", "--format", "sarif", cwd=root, code=1).stdout)
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "specs/a%20b.yml"
    (tmp_path / "elsewhere").mkdir()
    outside = sarif(segc("validate", str(root), "--format", "sarif", cwd=tmp_path / "elsewhere", code=1).stdout)
    uri = outside["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri.get("uriBaseId") is None and uri["uri"].startswith("file:///") and uri["uri"].endswith("/specs/a%20b.yml")


# --- GitHub Actions annotations ------------------------------------------------------------------------

ANNOTATION = re.compile(r"^::(error|warning|notice) file=[^,:\n]+,line=[1-9]\d*,col=[1-9]\d*,title=[^,:\n]+::[^\n]+$")
UNPLACED = re.compile(r"^::(error|warning|notice) title=[^,:\n]+::[^\n]+$")


def test_validate_github(broken):
    lines = _validate_in(broken, "github").stdout.splitlines()
    commands = [ln for ln in lines if ln.startswith("::")]
    data = json.loads(segc("validate", "--format", "json", cwd=broken, code=1).stdout)
    assert len(commands) == len(data["diagnostics"])
    for line, d in zip(commands, data["diagnostics"]):
        assert ANNOTATION.match(line), line
        assert line.startswith(f"::error file={d['path']},line={d['line']},col={d['col']},title={d['code']}::")
    typo = next(ln for ln in commands if "contry" in ln)
    assert typo.endswith("::unknown person property 'contry'%0Ahint: did you mean 'country'?")  # one line
    assert lines[-1] == f"segc: {data['errors']} errors, 0 warnings"


def test_github_escapes_what_would_end_a_property():
    d = Diagnostic("SEG1,0", "50% of\r\nthis: x", Span("specs/a,b:c.yml", 3, 4))
    line = formats.diagnostics_report([d], "github").splitlines()[0]
    assert line == "::error file=specs/a%2Cb%3Ac.yml,line=3,col=4,title=SEG1%2C0::50%25 of%0D%0Athis: x"


def test_clean_project_in_every_format(started):
    for fmt in formats.FORMATS:
        p = segc("validate", "--format", fmt, cwd=started, code=0)
        if fmt == "junit":
            doc = junit(p.stdout)
            assert doc.get("failures") == "0" and int(doc.get("tests")) == 9 + 2
        elif fmt == "sarif":
            assert sarif(p.stdout)["runs"][0]["results"] == []
        elif fmt == "github":
            assert p.stdout == "segc: 0 errors, 0 warnings\n"
        elif fmt == "json":
            assert json.loads(p.stdout) == {"diagnostics": [], "errors": 0, "warnings": 0}
        else:
            assert p.stdout == "9 definitions checked: 0 errors\n"


@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_an_error_that_stops_validate_is_reported_in_the_format(tmp_path, fmt):
    p = segc("validate", str(tmp_path / "nowhere"), "--format", fmt, cwd=tmp_path, code=1)
    assert "Error: SEG110 project folder" in p.stderr and "does not exist" in p.stderr
    if fmt == "sarif":
        result = sarif(p.stdout)["runs"][0]["results"][0]
        assert result["ruleId"] == "SEG110" and result["locations"] == []
    elif fmt == "junit":
        assert junit(p.stdout).find(".//failure").get("type") == "SEG110"
    elif fmt == "github":
        assert UNPLACED.match(p.stdout.splitlines()[0]) and "title=SEG110::" in p.stdout
    elif fmt == "json":
        assert json.loads(p.stdout)["diagnostics"][0]["code"] == "SEG110"
    else:
        assert p.stdout == ""


GOLDEN = Path(__file__).resolve().parent / "golden" / "diagnostics"
GOLDEN_CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and not p.name.startswith("_"))


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_every_diagnostic_golden_case_in_every_format(case, tmp_path, monkeypatch):
    """Each error the golden tests know, as JUnit (valid by the XSD), SARIF (valid by the
    schema) and GitHub annotations, at the same places as the JSON report."""
    root = tmp_path / "project"
    shutil.copytree(GOLDEN / "_base", root)
    for src in (GOLDEN / case).rglob("*"):
        if src.is_file() and src.name != "expected.txt":
            (root / src.relative_to(GOLDEN / case)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, root / src.relative_to(GOLDEN / case))
    monkeypatch.chdir(root)
    try:
        result = api.validate(".")
        diags = result.diagnostics
        report = lambda fmt: formats.validation_report(result, fmt)  # noqa: E731
    except SegcError as e:  # no project to load: the error that stops validate
        diags = e.diagnostics
        report = lambda fmt: formats.diagnostics_report(diags, fmt)  # noqa: E731
    assert diags
    failures = junit(report("junit")).findall(".//failure")
    assert sum(len(f.text.split("\n\n")) for f in failures) >= len([d for d in diags if d.severity == "error"])
    located = [(d.span.path, d.span.line, d.span.col, d.code) for d in diags if d.span]
    results = sarif(report("sarif"))["runs"][0]["results"]
    assert [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"],
             r["locations"][0]["physicalLocation"]["region"]["startColumn"], r["ruleId"])
            for r in results if r["locations"]] == located
    lines = report("github").splitlines()
    assert len(lines) == len(diags) + 1
    placed = [ANNOTATION.match(ln) for ln in lines[:-1]]
    assert all(m or UNPLACED.match(ln) for m, ln in zip(placed, lines)), lines
    assert sum(m is not None for m in placed) == len(located)


# --- segc check in every format ----------------------------------------------------------------------


@pytest.fixture
def failing(tmp_path, started) -> Path:
    """The started project with two expectations that fail on its data."""
    root = tmp_path / "failing"
    shutil.copytree(started, root)
    paid = root / "specs" / "accounts" / "paid.yml"
    paid.write_text(paid.read_text().replace("  min_size: 1\n", "  min_size: 1\n  max_size: 2\n  disjoint_with: [free, buyers]\n"))
    return root


def test_check_formats(failing):
    text = segc("check", cwd=failing, code=1).stdout
    assert "\033[" not in text  # no colour into a pipe
    fails = [ln for ln in text.splitlines() if ln.startswith("FAIL ")]
    assert fails[0].startswith("FAIL specs/accounts/paid.yml:7: max_size: paid has ") and len(fails) == 2
    assert text.splitlines()[-1] == "7 passed, 2 failed"
    outcomes = json.loads(segc("check", "--format", "json", cwd=failing, code=1).stdout)["outcomes"]
    failed = [o for o in outcomes if not o["passed"]]

    doc = junit(segc("check", "--format", "junit", cwd=failing, code=1).stdout)
    cases = doc.findall(".//testcase")
    assert len(cases) == len(outcomes) == 9 and doc.get("failures") == "2"
    names = {(c.get("classname"), c.get("name")) for c in cases}
    assert {("paid", "max_size"), ("paid", "disjoint_with free"), ("paid", "disjoint_with buyers"),
            ("lifecycle", "complete")} <= names  # stable names, without the counts
    bad = {(c.get("classname"), c.get("name")): c.find("failure") for c in cases if c.find("failure") is not None}
    assert set(bad) == {("paid", "max_size"), ("paid", "disjoint_with buyers")}
    assert bad[("paid", "max_size")].text.startswith("specs/accounts/paid.yml:7:3: max_size: paid has ")
    assert "e.g. p" in bad[("paid", "max_size")].text  # example members

    log = sarif(segc("check", "--format", "sarif", cwd=failing, code=1).stdout)
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [o["rule"] for o in failed] == ["max_size", "disjoint_with"]
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (failed[0]["line"], failed[0]["col"])

    lines = segc("check", "--format", "github", cwd=failing, code=1).stdout.splitlines()
    assert [ANNOTATION.match(ln) is not None for ln in lines] == [True, True, False]
    assert lines[0].startswith("::error file=specs/accounts/paid.yml,line=7,col=3,title=segc check max_size::paid has ")
    assert lines[-1] == "7 passed, 2 failed"


def test_check_passes_in_every_format(started):
    doc = junit(segc("check", "--format", "junit", cwd=started, code=0).stdout)
    assert doc.get("failures") == "0" and int(doc.get("tests")) >= 6
    outcomes, matrix, _ = api.check(started)
    assert sarif(formats.check_report(outcomes, matrix.total, "sarif"))["runs"][0]["results"] == []
    assert json.loads(formats.check_report(outcomes, matrix.total, "json"))["failed"] == 0
    assert formats.check_report(outcomes, matrix.total, "github") == f"{len(outcomes)} passed, 0 failed"


def test_check_with_errors_reports_them_in_the_format(failing):
    (failing / "specs" / "behavioral" / "buyers.yml").write_text("segment: buyers\nwhere: performed(purchse within 30d)\n")
    p = segc("check", "--format", "github", cwd=failing, code=1)
    first = p.stdout.splitlines()[0]
    assert ANNOTATION.match(first) and first.startswith("::error file=specs/behavioral/buyers.yml,line=2,col=18,title=SEG302::")
    log = sarif(segc("check", "--format", "sarif", cwd=failing, code=1).stdout)
    assert {r["ruleId"] for r in log["runs"][0]["results"]} == {"SEG302", "SEG501"}


def _on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run segc with its output on a pseudo-terminal, as a person at a terminal does."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.Popen([sys.executable, "-m", "segc", *args], cwd=cwd, stdout=follower, stderr=follower,
                            stdin=subprocess.DEVNULL, env=env)
    os.close(follower)
    out = b""
    while True:
        ready, _, _ = select_module.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    return proc.wait(timeout=60), out.decode("utf-8", "replace")


def test_validate_and_check_are_coloured_on_a_terminal(failing, broken):
    code, out = _on_a_terminal(["check"], failing)
    assert code == 1 and "Traceback" not in out
    assert "\033[1;31mFAIL\033[0m" in out and "\033[1;32mPASS\033[0m" in out
    assert "\033[1mspecs/accounts/paid.yml:7: \033[0m" in out
    code, out = _on_a_terminal(["validate"], broken)
    assert code == 1 and "\033[1;31mSEG300\033[0m" in out
    env_code = subprocess.run([sys.executable, "-m", "segc", "check"], cwd=failing, capture_output=True, text=True,
                              env={**os.environ, "NO_COLOR": "1"})
    assert "\033[" not in env_code.stdout


def test_check_text_colours_only_when_asked(failing):
    outcomes, matrix, _ = api.check(failing)
    plain = formats.check_report(outcomes, matrix.total, "text")
    coloured = formats.check_report(outcomes, matrix.total, "text", color=True)
    assert "\033[" not in plain and re.sub(r"\033\[[0-9;]*m", "", coloured) == plain


# --- selection -----------------------------------------------------------------------------------------

# chains, a diamond, tags and folders; a partition, a cohort and an insight on top:
#   visitors -> returning_visitors -> loyal_visitors                      (chain, tag funnel)
#   shoppers -> cart_adders, big_buyers -> vips                            (diamond, tag value)
#   adults (tags [demographic, funnel]), us (tag demographic), us_adults = us and adults
#   partition tiers [loyal_visitors, vips]; cohort vip_cohort (segment vips);
#   insight adult_trend (segment adults, breakdown segments [us, big_buyers])
SELECTION_SPECS = {
    "specs/funnel/visitors.yml": "segment: visitors\nwhere: performed(pageview within 30d)\ntags: [funnel]\n",
    "specs/funnel/returning_visitors.yml": "segment: returning_visitors\nwhere: segment(visitors) and count(pageview within 30d) >= 3\ntags: [funnel]\n",
    "specs/funnel/loyal_visitors.yml": "segment: loyal_visitors\nwhere: segment(returning_visitors) and active_days(pageview within 30d) >= 5\ntags: [funnel]\n",
    "specs/value/shoppers.yml": "segment: shoppers\nwhere: performed(purchase)\ntags: [value]\n",
    "specs/value/cart_adders.yml": "segment: cart_adders\nwhere: segment(shoppers) and performed(added_to_cart within 7d)\ntags: [value]\n",
    "specs/value/big_buyers.yml": "segment: big_buyers\nwhere: segment(shoppers) and sum(purchase.revenue) > 100\ntags: [value]\n",
    "specs/value/vips.yml": "segment: vips\nwhere: segment(cart_adders) and segment(big_buyers)\ntags: [value, vip]\n",
    "specs/people/adults.yml": "segment: adults\nwhere: age >= 18\ntags: [demographic, funnel]\n",
    "specs/people/us.yml": "segment: us\nwhere: country = 'US'\ntags: [demographic]\n",
    "specs/people/us_adults.yml": "segment: us_adults\nwhere: segment(us) and segment(adults)\n",
    "specs/tiers.yml": "partition: tiers\nsegments: [loyal_visitors, vips]\n",
    "specs/analytics/vip_cohort.yml": ("cohort: vip_cohort\nentry: first_time(purchase)\nperiod: week\nperiods: 4\n"
                                       "returning: performed(purchase)\nsegment: vips\n"),
    "specs/analytics/adult_trend.yml": ("insight: adult_trend\nkind: trend\nseries:\n  views: count(pageview)\ninterval: week\n"
                                        "range: within 28d\nsegment: adults\nbreakdown:\n  segments: [us, big_buyers]\n"),
}
ALL = ("segment", "partition", "cohort", "insight")


@pytest.fixture(scope="module")
def selection(tmp_path_factory):
    root = write_project(tmp_path_factory.mktemp("sel") / "proj", SELECTION_SPECS)
    result = api.validate(root)
    assert result.ok, [d.headline() for d in result.diagnostics]
    assert len(result.project.definitions) == 13
    return root, result


@pytest.mark.parametrize("select, exclude, kinds, want", [
    # names, and the union of several written every way
    (["vips"], None, ("segment",), "vips"),
    (["vips,us"], None, ("segment",), "vips us"),
    (["vips us"], None, ("segment",), "vips us"),
    (["vips", "us"], None, ("segment",), "vips us"),
    # +name: and everything it depends on, transitively (a chain, a diamond)
    (["+loyal_visitors"], None, ("segment",), "visitors returning_visitors loyal_visitors"),
    (["+vips"], None, ("segment",), "shoppers cart_adders big_buyers vips"),
    (["+us_adults"], None, ("segment",), "adults us us_adults"),
    # name+: and everything that depends on it, of every kind when asked
    (["shoppers+"], None, ("segment",), "shoppers cart_adders big_buyers vips"),
    (["shoppers+"], None, ALL, "shoppers cart_adders big_buyers vips tiers vip_cohort adult_trend"),
    (["visitors+"], None, ALL, "visitors returning_visitors loyal_visitors tiers"),
    (["big_buyers+"], None, ALL, "big_buyers vips tiers vip_cohort adult_trend"),
    # +name+: both ways
    (["+cart_adders+"], None, ALL, "shoppers cart_adders vips tiers vip_cohort"),
    (["+tiers"], None, ("segment",), "visitors returning_visitors loyal_visitors shoppers cart_adders big_buyers vips"),
    (["+adult_trend"], None, ALL, "shoppers big_buyers adults us adult_trend"),
    # tags, paths, kinds
    (["tag:funnel"], None, ("segment",), "visitors returning_visitors loyal_visitors adults"),
    (["tag:vip"], None, ("segment",), "vips"),
    (["+tag:vip"], None, ("segment",), "shoppers cart_adders big_buyers vips"),
    (["path:specs/value"], None, ("segment",), "shoppers cart_adders big_buyers vips"),
    (["path:./specs/value/"], None, ("segment",), "shoppers cart_adders big_buyers vips"),
    (["path:specs/people/us.yml"], None, ("segment",), "us"),
    (["path:specs"], None, ALL, " ".join(["visitors returning_visitors loyal_visitors shoppers cart_adders big_buyers vips",
                                          "adults us us_adults tiers vip_cohort adult_trend"])),
    (["kind:partition", "kind:cohort"], None, ALL, "tiers vip_cohort"),
    (["tag:demographic path:specs/funnel/visitors.yml"], None, ("segment",), "visitors adults us"),
    # --exclude: the same syntax, taken away from the union (or from everything)
    (["+vips"], ["cart_adders"], ("segment",), "shoppers big_buyers vips"),
    (["shoppers+"], ["vips+"], ALL, "shoppers cart_adders big_buyers adult_trend"),
    (["tag:value", "tag:funnel"], ["tag:demographic", "+returning_visitors"], ("segment",),
     "loyal_visitors shoppers cart_adders big_buyers vips"),
    (None, ["path:specs/value", "path:specs/funnel"], ("segment",), "adults us us_adults"),
    (None, ["kind:segment"], ALL, "tiers vip_cohort adult_trend"),
])
def test_selection(selection, select, exclude, kinds, want):
    _, result = selection
    got = api.select_names(result, select, kinds, exclude=exclude)
    order = [d.name for d in result.project.definitions]
    assert got == sorted(want.split(), key=order.index)  # project order, each once


@pytest.mark.parametrize("select, exclude, message", [
    (["vipz"], None, "--select: no segment named 'vipz'; did you mean 'vips'?"),
    (["+big_buyer"], None, "--select: no segment named 'big_buyer'; did you mean 'big_buyers'?"),
    (["vips"], ["shopers"], "--exclude: no segment named 'shopers'; did you mean 'shoppers'?"),
    (["tag:valeu"], None, "--select: no definition is tagged 'valeu'; did you mean 'value'?"),
    (["path:specs/valu"], None, "--select: no definition file under 'specs/valu'"),
    (["kind:segmnt"], None, "--select: unknown kind 'segmnt'"),
    (["tags:value"], None, "--select: unknown selector method 'tags:' in 'tags:value'"),
    (["+"], None, "--select: '+' is not a selector"),
    (["tiers"], None, "--select: 'tiers' is a partition, not a segment; +tiers selects the segments it uses"),
    (["kind:cohort"], None, "--select kind:cohort selects no segment"),
    (["+vips"], ["tag:value"], "--select +vips minus tag:value selects no segment"),
])
def test_selection_errors(selection, select, exclude, message):
    _, result = selection
    with pytest.raises(SegcError) as caught:
        api.select_names(result, select, exclude=exclude)
    assert message in str(caught.value)


def test_selection_on_the_command_line(selection, tmp_path):
    root, _ = selection
    out = tmp_path / "sql"
    p = segc("compile", "--dialect", "duckdb", "-s", "+vips", "--exclude", "cart_adders", "-s", "us", "--out", str(out),
             cwd=root, code=0)
    assert sorted(f.stem for f in (out / "duckdb").glob("*.sql")) == ["big_buyers", "shoppers", "us", "vips"], p.stdout
    p = segc("compile", "-s", "vipz", "--out", str(out), cwd=root, code=1)
    assert p.stderr.startswith("Error: SEG303 --select: no segment named 'vipz'; did you mean 'vips'?")
    p = segc("compile", "-s", "tag:nothing", "--out", str(out), cwd=root, code=1)
    assert "no definition is tagged 'nothing'" in p.stderr
    for command in ("compile", "run", "overlap", "graph"):
        assert "--exclude" in segc(command, "--help", cwd=root, code=0).stdout


def test_selection_with_errors_and_cycles(tmp_path):
    root = write_project(tmp_path / "cyc", {
        "specs/a.yml": "segment: a\nwhere: segment(b)\n",
        "specs/b.yml": "segment: b\nwhere: segment(a) and contry = 'x'\n",
        "specs/c.yml": "segment: c\nwhere: segment(a)\n",
        "specs/d.yml": "segment: d\nwhere: age > 1\n",
    })
    result = api.validate(root)
    assert not result.ok
    assert api.select_names(result, ["+c"]) == ["a", "b", "c"]  # what they say, though it does not check
    assert api.select_names(result, ["a+"]) == ["a", "b", "c"]
    dot = api.graph(root, "dot")
    assert '"b" -> "a";' in dot and '"a" -> "b";' in dot and dot.count("dashed") == 3  # a, b, c failed; d did not


# --- segc graph --------------------------------------------------------------------------------------

EDGES = {("visitors", "returning_visitors"), ("returning_visitors", "loyal_visitors"),
         ("shoppers", "cart_adders"), ("shoppers", "big_buyers"), ("cart_adders", "vips"), ("big_buyers", "vips"),
         ("us", "us_adults"), ("adults", "us_adults"), ("loyal_visitors", "tiers"), ("vips", "tiers"),
         ("vips", "vip_cohort"), ("adults", "adult_trend"), ("us", "adult_trend"), ("big_buyers", "adult_trend")}
KIND_OF = {n: ("partition" if n == "tiers" else "cohort" if n == "vip_cohort" else "insight" if n == "adult_trend" else "segment")
           for n in [Path(p).stem for p in SELECTION_SPECS]}

MERMAID_NODE = re.compile(r'^  (n\d+)(\["|\{\{"|\(\["|\[/")([A-Za-z_$][\w$]*)<br/>\((segment|partition|cohort|insight)\)("\]|"\}\}|"\]\)|"/\])$')
MERMAID_EDGE = re.compile(r"^  (n\d+) --> (n\d+)$")
MERMAID_STYLE = re.compile(r"^  (classDef \w+ [\w:#,-]+|class (n\d+,)*n\d+ \w+)$")


def parse_mermaid(text: str):
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes, edges = {}, set()
    shapes = {"segment": '["', "partition": '{{"', "cohort": '(["', "insight": '[/"'}
    for line in lines[1:]:
        if m := MERMAID_NODE.match(line):
            assert m[1] not in nodes and shapes[m[4]] == m[2]
            nodes[m[1]] = (m[3], m[4])
        elif m := MERMAID_EDGE.match(line):
            assert m[1] in nodes and m[2] in nodes, line  # an edge between declared nodes
            edges.add((nodes[m[1]][0], nodes[m[2]][0]))
        else:
            assert MERMAID_STYLE.match(line), line
    return {n: k for n, k in nodes.values()}, edges


DOT_NODE = re.compile(r'^  "([^"]+)" \[label="([^"]+)\\n(segment|partition|cohort|insight)", shape=(\w+), (.*)\];$')
DOT_EDGE = re.compile(r'^  "([^"]+)" -> "([^"]+)";$')


def parse_dot(text: str):
    lines = text.splitlines()
    assert lines[0] == "digraph segc {" and lines[-1] == "}"
    nodes, edges = {}, set()
    for line in lines[1:-1]:
        if m := DOT_NODE.match(line):
            assert m[1] == m[2]
            nodes[m[1]] = m[3]
        elif m := DOT_EDGE.match(line):
            assert m[1] in nodes and m[2] in nodes, line
            edges.add((m[1], m[2]))
        else:
            assert line in ("  rankdir=LR;", '  node [fontname="Helvetica", style="filled"];'), line
    return nodes, edges


def test_graph_mermaid(selection):
    root, _ = selection
    nodes, edges = parse_mermaid(segc("graph", cwd=root, code=0).stdout)
    assert nodes == KIND_OF and edges == EDGES
    nodes, edges = parse_mermaid(segc("graph", "--select", "+vips+", "--exclude", "tiers", cwd=root, code=0).stdout)
    assert set(nodes) == {"shoppers", "cart_adders", "big_buyers", "vips", "vip_cohort"}
    assert edges == {e for e in EDGES if set(e) <= set(nodes)}


def test_graph_dot(selection, tmp_path):
    root, _ = selection
    text = segc("graph", "--format", "dot", cwd=root, code=0).stdout
    nodes, edges = parse_dot(text)
    assert nodes == KIND_OF and edges == EDGES
    # a real consumer: Graphviz lays it out (scripts/test installs Debian's graphviz)
    assert shutil.which("dot"), "Graphviz `dot` is needed (apt-get install graphviz; scripts/test does it)"
    svg = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=60)
    assert svg.returncode == 0 and not svg.stderr, svg.stderr
    tree = etree.fromstring(svg.stdout.encode())
    ns = {"s": "http://www.w3.org/2000/svg"}
    titles = [t.text for t in tree.iterfind(".//s:g[@class='node']/s:title", ns)]
    assert sorted(titles) == sorted(KIND_OF)
    assert len(tree.findall(".//s:g[@class='edge']", ns)) == len(EDGES)
    p = segc("graph", "--format", "dot", "--out", str(tmp_path / "g.dot"), cwd=root, code=0)
    assert (tmp_path / "g.dot").read_text() == text and "wrote" in p.stdout


def test_graph_of_the_demo_project():
    nodes, edges = parse_mermaid(api.graph(REPO, "mermaid"))
    assert nodes["lifecycle"] == "partition" and ("new", "engaged") in edges and ("engaged", "lifecycle") in edges
    nodes, edges = parse_dot(api.graph(REPO, "dot", ["+lifecycle"]))
    assert set(nodes) == {"new", "activated", "engaged", "at_risk", "churned", "lifecycle"}


# --- segc init --------------------------------------------------------------------------------------


def test_init_validates_runs_and_checks(tmp_path):
    root = tmp_path / "first"
    p = segc("init", "first", cwd=tmp_path, code=0)
    assert "segc validate" in p.stdout
    assert (root / "segc.yml").is_file() and (root / "targets" / "local.yml").is_file() and (root / "data.duckdb").is_file()
    project = api.load(root)
    kinds = [d.kind for d in project.definitions]
    assert kinds.count("partition") >= 1 and kinds.count("segment") >= 5 and not project.diagnostics
    assert segc("validate", cwd=root, code=0).stdout.endswith("0 errors\n")
    sizes = segc("run", cwd=root, code=0).stdout
    assert re.search(r"^buyers +[1-9][\d,]* *$", sizes, re.M), sizes  # the sample data is recent: people bought lately
    check = segc("check", cwd=root, code=0).stdout
    assert "FAIL" not in check and check.splitlines()[-1].endswith(" passed, 0 failed")
    segc("overlap", cwd=root, code=0)
    # an empty folder is fine too, and it is the same sample every time
    (tmp_path / "empty").mkdir()
    segc("init", "empty", "--persons", "40", cwd=tmp_path, code=0)
    segc("check", cwd=tmp_path / "empty", code=0)


def test_init_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    p = segc("init", "full", cwd=tmp_path, code=1)
    assert p.stderr == "Error: SEG130 'full' is not empty: segc init writes a new project into a new or empty folder\n"
    assert sorted(os.listdir(tmp_path / "full")) == ["notes.txt"]
    (tmp_path / "afile").write_text("x")
    assert "is a file" in segc("init", "afile", cwd=tmp_path, code=2).stderr  # click's usage error
    assert sorted(os.listdir(tmp_path)) == ["afile", "full"]  # no scratch folder left behind


# --- exit codes: 0 success, 1 failure, 2 usage -----------------------------------------------------------


def test_help_documents_exit_codes(tmp_path):
    out = segc("--help", cwd=tmp_path, code=0).stdout
    assert "Exit codes:" in out and re.search(r"^\s+0\s+success", out, re.M)
    assert re.search(r"^\s+1\s+errors", out, re.M) and re.search(r"^\s+2\s+usage error", out, re.M)
    for command in ("graph", "init"):
        assert command in out
    readme = (REPO / "README.md").read_text()
    assert "## Exit codes" in readme


@pytest.mark.parametrize("command, ok, failing, usage", [
    ("validate", [], ["--format", "json", "nowhere"], ["--format", "yaml"]),
    ("compile", ["--dialect", "duckdb"], ["-s", "nosuch"], ["--dialect", "oracle"]),
    ("run", ["-s", "paid"], ["--target", "nosuch"], []),
    ("check", [], ["--as-of", "yesterday"], ["--format", "yaml"]),
    ("overlap", ["-s", "tag:account"], ["-x", "nosuch"], ["--format", "pdf"]),
    ("graph", ["--format", "dot"], ["-s", "kind:cohort"], ["--format", "png"]),
    ("export", ["paid", "--out", "paid.csv"], ["nosuch"], []),
    ("init", ["again"], ["."], []),
])
def test_exit_codes(started, tmp_path, command, ok, failing, usage):
    root = tmp_path / "p"
    shutil.copytree(started, root)
    segc(command, *ok, cwd=root, code=0)
    p = segc(command, *failing, cwd=root, code=1)
    assert "Error: " in p.stderr
    p = segc(command, *usage, "--no-such-option", cwd=root, code=2)
    assert "Error: " in p.stderr


def test_check_failure_is_exit_1_and_run_errors_are_exit_1(failing):
    segc("check", cwd=failing, code=1)
    (failing / "specs" / "lifecycle" / "new.yml").write_text("segment: new\nwhere: signed_up >= ago(14d)\n")
    for command in ("validate", "run", "check", "overlap", "compile"):
        segc(command, cwd=failing, code=1)


# --- the Python API, as the README shows it -----------------------------------------------------------


def test_readme_python_api_runs(tmp_path):
    """The README's example runs as written, on a copy of the example project with a little data."""
    from segc import demo_data

    root = tmp_path / "shop"
    shutil.copytree(REPO / "specs", root / "specs")
    shutil.copytree(REPO / "targets", root / "targets")
    shutil.copy(REPO / "segc.yml", root / "segc.yml")
    demo_data.write_duckdb(str(root / "shop.duckdb"), persons=200, events_target=8000)
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Python API\n.*?```python\n(.*?)```", readme, re.S)[1]
    code = block.replace('"path/to/project"', repr(str(root))).replace('"path/to/new_project"', repr(str(tmp_path / "new")))
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, "README.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    assert (tmp_path / "new" / "segc.yml").is_file()
    assert namespace["names"] == ["activated", "at_risk", "churned", "engaged"]  # project (file) order
    assert sorted(f.stem for f in namespace["files"]) == ["activated", "at_risk", "churned", "engaged", "new"]


def test_api_mirrors_the_commands(started, tmp_path):
    root = tmp_path / "api"
    shutil.copytree(started, root)
    project = api.load(root)
    assert [d.name for d in project.definitions if d.kind == "partition"] == ["plans", "lifecycle"]
    result = api.validate(root)
    assert result.ok and set(result.definitions) == {d.name for d in project.definitions}
    assert api.compile is api.compile_project
    _, files = api.compile(root, ("duckdb",), select=["+big_spenders"], exclude=["buyers"], out=tmp_path / "sql")
    assert [f.stem for f in files] == ["big_spenders"]
    done = api.run(root, select=["tag:lifecycle"], exclude=["dormant"])
    assert sorted(m.name for m in done) == ["active", "new"]
    outcomes, matrix, _ = api.check(root)
    assert outcomes and all(o.passed for o in outcomes) and matrix.total == 300
    m = api.overlap(root, select=["tag:account"])
    assert sorted(m.names) == ["free", "paid"]
    assert api.graph(root, "mermaid", ["+plans"]).startswith("flowchart LR")
    for fn in (api.load, api.validate, api.compile_project, api.run, api.check, api.overlap, api.export, api.graph,
               api.init, api.select_names):
        assert fn.__doc__ and len(fn.__doc__.split()) > 5, fn.__name__


# --- pre-commit hook and the CI docs ---------------------------------------------------------------------


def test_pre_commit_hook():
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "segc-validate")
    assert hook["entry"] == "segc validate" and hook["language"] == "python" and hook["pass_filenames"] is False
    files = re.compile(hook["files"])  # pre-commit matches with re.search on the staged paths
    for path in ("segc.yml", "specs/a.yml", "specs/lifecycle/new.yaml", "targets/local.yml", "analytics/segc.yml",
                 "analytics/specs/x/y.yml", "tests/definitions/churned.yml", "tests/power_buyers.yaml",
                 "analytics/tests/x/lifecycle.yml"):
        assert files.search(path), path
    for path in ("README.md", "specs/notes.md", "other.yml", "src/specs.py", "mysegc.yml", "tests/test_x.py",
                 "mytests/a.yml"):
        assert not files.search(path), path


def test_ci_docs_workflow():
    text = (REPO / "docs" / "ci.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    workflows = [yaml.safe_load(b) for b in blocks]
    steps = [s for w in workflows if isinstance(w, dict) and "jobs" in w for j in w["jobs"].values() for s in j["steps"]]
    runs = " ".join(s.get("run", "") for s in steps)
    uses = [s.get("uses", "") for s in steps]
    assert "segc validate --format github" in runs and "--format junit" in runs and "--format sarif" in runs
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    assert any(re.search(r"\bpermissions\b", b) and "security-events: write" in b for b in blocks)
