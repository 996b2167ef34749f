"""Every example in docs/LANGUAGE.md (the contract) parses and type-checks without an error (and
without a warning, but for §5's weekly trend over 90 days: SEG604).

The examples are read out of the markdown, not copied (tests/language_examples.py): the yaml
code blocks (segc.yml of §1, the target, and every definition) and the expression block of §3,
each line of which becomes a segment. Segments the examples name but do not define get
trivial stub definitions.
"""
from __future__ import annotations

import pytest

from language_examples import LANGUAGE, REPO, classify, expression_examples, write_examples_project, yaml_examples
from segc import api

SHARED_LANGUAGE = REPO.parent / "shared" / "LANGUAGE.md"  # the contract's source, next to the repo


def test_markdown_holds_the_examples():
    kinds = sorted(classify(b) for b in yaml_examples())
    assert kinds == ["cohort", "insight", "insight", "partition", "project", "segment", "target"]
    assert len(expression_examples()) >= 9


def test_every_example_parses_and_type_checks(tmp_path):
    origin = write_examples_project(tmp_path)
    result = api.validate(tmp_path)
    shown = "\n".join(d.headline() for d in result.diagnostics)
    # §5's trend is weekly over `within 90d`, which weeks do not divide: a warning (SEG604), the
    # only diagnostic the contract's examples get (docs/decisions.md, Intervals and the range)
    warned = [d for d in result.diagnostics if d.severity == "warning"]
    assert [(d.code, d.message) for d in warned] == [("SEG604", "a range of 90d does not divide into weeks (12w 6d)")], shown
    assert result.diagnostics == warned, shown
    missing = {n: where for n, where in origin.items() if n not in result.definitions}
    assert not missing, f"examples without IR: {missing}"
    # every example expression became a segment of the contract's own model
    assert result.project.name == "shop"
    assert {"power_buyers", "lifecycle", "weekly_signups", "conversion_by_country", "checkout"} <= set(result.definitions)


@pytest.mark.parametrize("expr", expression_examples())
def test_each_expression_example_alone(expr, tmp_path):
    """One project per §3 expression, so a failure names the example."""
    write_examples_project(tmp_path)
    for p in (tmp_path / "specs").glob("expression_*.yml"):
        p.unlink()
    indented = "\n".join("  " + line for line in expr.splitlines())
    (tmp_path / "specs" / "example.yml").write_text(f"segment: example\nwhere: |\n{indented}\n", encoding="utf-8")
    result = api.validate(tmp_path)
    known = ("SEG604", "conversion_by_country.yml")  # §5's weekly trend over 90 days, as above
    assert [d.headline() for d in result.diagnostics if (d.code, d.span.path.rsplit("/", 1)[-1]) != known] == []
    assert result.definitions["example"].where.type == "boolean"


def test_docs_copy_matches_shared_when_present():
    """docs/LANGUAGE.md is a copy of ../shared/LANGUAGE.md; compared only where that file exists."""
    if not SHARED_LANGUAGE.is_file():
        pytest.skip(f"{SHARED_LANGUAGE} is not present on this machine")
    assert LANGUAGE.read_text(encoding="utf-8") == SHARED_LANGUAGE.read_text(encoding="utf-8")
