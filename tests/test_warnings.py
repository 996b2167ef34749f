"""Static warnings (segc/warnings.py, SEG6xx): located, severity "warning", exit 0 from
`segc validate` unless --strict. Every "never" and "always" below is checked against the
reference evaluator (tests/reference.py) on data that holds every edge: nulls, NaN-free
numbers, persons without events; the expressions without a warning are shown to be neither."""
from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest
import reference
import yaml
from click.testing import CliRunner

from segc import api
from segc.cli import main

MODEL = {
    "name": "w",
    "model": {
        "persons": {"table": "persons", "key": "id", "properties": {"age": "integer", "score": "number", "country": "string",
                                                                     "vip": "boolean", "seen": "timestamp"}},
        "events": {"table": "events", "person": "id", "event": "name", "timestamp": "ts", "properties": {"revenue": "number"}},
    },
}
AS_OF = dt.datetime(2026, 3, 15, 12)

# where -> the warning codes it gets ("" for none)
CASES = {
    "age > 30 and age < 20": "SEG600 SEG603",
    "age > 5 or age <= 5": "",  # false for persons without an age
    "age >= 0 or age < 0": "",
    "age >= 0 or age < 0 or age is null": "SEG601",
    "age = 1 or age != 1": "SEG601",  # != holds for null
    "score > 1.5 or score <= 1.5 or score is null": "",  # NaN: the engines disagree, so no claim
    "score = 1.5 or score != 1.5": "SEG601",
    "country = 'US' or country != 'US'": "SEG601",
    "country = 'US' and country = 'CA'": "SEG600 SEG603",
    "country in ('US', 'CA') and country not in ('CA', 'US')": "SEG600 SEG603",
    "country < 'B' and country > 'C'": "",  # text order follows the collation: not judged
    "vip or not vip": "SEG601",
    "vip and not vip": "SEG600 SEG603",
    "vip = true or vip = false": "",  # null
    "count(buy) < 0": "SEG600 SEG603",
    "count(buy) >= 0": "SEG601",
    "count(buy) > 2 and count(buy) < 3": "SEG600 SEG603",
    "sum(buy.revenue) is null": "SEG600 SEG603",
    "avg(buy.revenue) is null": "",
    "performed(buy) and not performed(buy)": "SEG600 SEG603",
    "performed(buy) or not performed(buy)": "SEG601",
    "performed(buy where revenue > 100 and revenue < 50)": "SEG600 SEG603",
    "performed(buy between ago(7d) and ago(30d))": "SEG602 SEG603",
    "count(buy between ago(7d) and ago(30d)) = 0": "SEG602",
    "performed(buy since now())": "SEG602 SEG603",
    "performed(buy before date('2000-01-01'))": "",
    "count(buy within 1s) > 0": "",
    "performed(buy between date('2026-02-01') and date('2026-01-01'))": "SEG602 SEG603",
    "age between 30 and 18": "SEG600 SEG603",
    "age between 18 and 30": "",
    "age in (1.5, 2.5)": "SEG600 SEG603",  # an integer never is
    "seen > date('2026-01-01') and seen < date('2025-01-01')": "SEG600 SEG603",
    "first_time(buy) >= ago(7d) and first_time(buy) < ago(30d)": "SEG600 SEG603",
    "(first_time(buy) > ago(1d) or first_time(buy) < date('2020-01-01')) and first_time(buy) < ago(2d)": "",
    "not (age > 3) and age > 5": "SEG600 SEG603",
    "not (age > 3 or age < 1) and age = 2": "",
    "not (age > 3 or age < 1) and age = 5": "SEG600 SEG603",
    "1 = 2 or age > 3": "SEG600",
    "segment(young) and segment(old)": "SEG600 SEG603",  # one partition
    "segment(young) and not segment(young)": "SEG600 SEG603",
    "segment(young) or age > 3": "",
    "true": "",
}

HELPERS = {"young": "age < 30", "old": "not segment(young)"}


def _project(root: Path, cases: dict[str, str]) -> None:
    (root / "specs").mkdir(parents=True, exist_ok=True)
    (root / "segc.yml").write_text(yaml.safe_dump(MODEL), encoding="utf-8")
    for name, where in {**HELPERS, **{f"c{i:02d}": w for i, w in enumerate(cases)}}.items():
        (root / "specs" / f"{name}.yml").write_text(yaml.safe_dump({"segment": name, "where": where}, width=10**6), encoding="utf-8")
    (root / "specs" / "ages.yml").write_text("partition: ages\nsegments: [young, old]\ncomplete: true\n", encoding="utf-8")


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    root = tmp_path_factory.mktemp("warnings")
    _project(root, CASES)
    return root, api.validate(root)


@pytest.mark.parametrize("i,where", list(enumerate(CASES)))
def test_warning_codes(checked, i, where):
    _, result = checked
    path = next(d.path for d in result.project.definitions if d.name == f"c{i:02d}")
    got = sorted(d.code for d in result.diagnostics if d.span and d.span.path == path)
    assert not result.errors
    assert got == sorted(CASES[where].split()), (where, [d.headline() for d in result.diagnostics if d.span.path == path])
    for d in result.diagnostics:
        assert d.severity == "warning" and d.code.startswith("SEG6") and d.span.line >= 1


def test_warnings_are_located_in_the_yaml():
    """The warning points at the part of the expression it is about, in any scalar style."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "specs").mkdir()
        (root / "segc.yml").write_text(yaml.safe_dump(MODEL), encoding="utf-8")
        (root / "specs" / "x.yml").write_text(
            "segment: x\nwhere: |\n  country = 'US'\n    and performed(buy where revenue > 100 and revenue < 50)\n", encoding="utf-8")
        result = api.validate(root)
    (inner,) = [d for d in result.diagnostics if d.code == "SEG600"]
    assert (inner.span.line, inner.span.col) == (4, 29), inner.headline()
    (seg,) = [d for d in result.diagnostics if d.code == "SEG603"]
    assert (seg.span.line, seg.span.col) == (3, 3)


def _data():
    """Persons with every kind of value, events inside and outside every window."""
    ages = [None, -1, 0, 1, 2, 3, 5, 6, 18, 20, 25, 30, 31, 40]
    persons = []
    for i, (age, country, vip) in enumerate(itertools.product(ages, [None, "US", "CA", "A", "Z"], [None, True, False])):
        persons.append({"id": f"p{i}", "age": age, "score": None if age is None else age / 2, "country": country, "vip": vip,
                        "seen": None if age is None else AS_OF - dt.timedelta(days=400 * (age % 3))})
    events = []
    for i, p in enumerate(persons):
        for k in range(i % 4):
            events.append({"id": p["id"], "name": "buy", "ts": AS_OF - dt.timedelta(days=[0.5, 3, 10, 40, 2000][(i + k) % 5]),
                           "revenue": [None, 10.0, 60.0, 150.0][(i + k) % 4]})
    return persons, events


def test_never_and_always_hold_on_data(checked):
    """What a warning claims, on the reference evaluator: SEG603/SEG600 at the top -> no member;
    SEG601 at the top -> every person; an expression without a warning has members and
    non-members on this data (so the analysis misses nothing it could see)."""
    _, result = checked
    persons, events = _data()
    members = reference.evaluate(result.project.model, result.segments(), persons, events, AS_OF)
    everyone = {p["id"] for p in persons}
    for i, where in enumerate(CASES):
        name = f"c{i:02d}"
        codes = CASES[where].split()
        if "SEG603" in codes:
            assert members[name] == set(), where
        elif where.startswith(("age >= 0 or age < 0 or", "age = 1 or", "score = 1.5 or", "country = 'US' or", "vip or not",
                               "count(buy) >= 0", "performed(buy) or not")):
            assert members[name] == everyone, where


def test_validate_exit_codes_and_strict(tmp_path):
    _project(tmp_path, {"age > 30 and age < 20": ""})
    runner = CliRunner()
    r = runner.invoke(main, ["validate", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "SEG600 warning: `age > 30 and age < 20` is never true" in r.stdout
    assert "SEG603 warning: segment 'c00' can never have members" in r.stdout
    assert r.stdout.rstrip("\n").splitlines()[-1] == "4 definitions checked: 0 errors, 2 warnings"  # as --format github counts
    r = runner.invoke(main, ["validate", str(tmp_path), "--format", "github"])
    assert r.stdout.rstrip("\n").splitlines()[-1] == "segc: 0 errors, 2 warnings"
    r = runner.invoke(main, ["validate", str(tmp_path), "--strict"])
    assert r.exit_code == 1
    assert r.stdout.rstrip("\n").splitlines()[-1] == "4 definitions checked: 0 errors, 2 warnings", r.stdout  # the warnings fail the run
    r = runner.invoke(main, ["validate", str(tmp_path), "--format", "json"])
    doc = json.loads(r.stdout)
    assert doc["errors"] == 0 and doc["warnings"] == 2 and r.exit_code == 0
    out = tmp_path / "compiled"
    r = runner.invoke(main, ["compile", str(tmp_path), "--strict", "--dialect", "duckdb", "--out", str(out)])
    assert r.exit_code == 1 and "and --strict" in r.stderr and not out.exists()
    r = runner.invoke(main, ["compile", str(tmp_path), "--dialect", "duckdb", "--out", str(out)])
    assert r.exit_code == 0 and (out / "duckdb" / "c00.sql").exists()
    r = runner.invoke(main, ["run", str(tmp_path), "--strict"])
    assert r.exit_code == 1 and "SEG600" in r.stderr


def test_the_example_project_has_no_warnings():
    repo = Path(__file__).resolve().parent.parent
    result = api.validate(repo)
    assert [d.headline() for d in result.diagnostics if d.severity == "warning"] == []
