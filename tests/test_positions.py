"""Positions inside an expression map back to the YAML file exactly, in every scalar style.

The same expression is written in each style; for each node the expected place is found by
searching the file for the node's written form (`''` and `\\"` included), so the test does not
trust the mapping it checks.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from segc import ast as A
from segc.diagnostics import Span
from segc.loader.located import load_located
from segc.parser import parse_expression

REPO = Path(__file__).resolve().parent.parent

# style -> (YAML text, how the literal it's is written, how the literal pro is written)
STYLES = {
    "plain": (
        "where: performed(purchase where revenue > 100 within 7d) and country in ('US', 'it''s') and plan != \"pro\"\n",
        "'it''s'", '"pro"',
    ),
    "plain multi-line": (
        "segment: x\nwhere: performed(purchase where revenue > 100\n    within 7d)\n\n  and country in ('US', 'it''s')\n  and plan != \"pro\"\n",
        "'it''s'", '"pro"',
    ),
    "single-quoted": (
        "where: 'performed(purchase where revenue > 100 within 7d) and country in (''US'', ''it''''s'') and plan != \"pro\"'\n",
        "''it''''s''", '"pro"',
    ),
    "single-quoted multi-line": (
        "where: 'performed(purchase where revenue > 100\n     within 7d)\n   and country in (''US'', ''it''''s'')\n   and plan != \"pro\"'\n",
        "''it''''s''", '"pro"',
    ),
    "double-quoted": (
        "where: \"performed(purchase where revenue > 100 within 7d) and country in ('US', 'it''s') and plan != \\\"pro\\\"\"\n",
        "'it''s'", '\\"pro\\"',
    ),
    "double-quoted multi-line": (
        "where: \"performed(purchase where revenue > 100 \\\n      within 7d)\n   and country in ('US', 'it''s')\\t\\x20and plan != \\\"pro\\\"\"\n",
        "'it''s'", '\\"pro\\"',
    ),
    "literal block": (
        "where: |\n  -- a comment line\n  performed(purchase where revenue > 100 within 7d)\n    and country in ('US', 'it''s')\n    and plan != \"pro\"\n",
        "'it''s'", '"pro"',
    ),
    "literal block, explicit indent": (
        "where: |2-\n     performed(purchase where revenue > 100 within 7d)\n    and country in ('US', 'it''s') and plan != \"pro\"\n\n",
        "'it''s'", '"pro"',
    ),
    "folded block": (
        "where: >\n  performed(purchase where revenue > 100\n  within 7d)\n  and country in ('US', 'it''s') and plan != \"pro\"\n",
        "'it''s'", '"pro"',
    ),
    "folded block, strip": (
        "where: >-\n  performed(purchase where revenue > 100\n\n      within 7d)\n  and country in ('US', 'it''s')\n  and plan != \"pro\"\n",
        "'it''s'", '"pro"',
    ),
    "flow mapping": (
        "{segment: x, where: 'performed(purchase where revenue > 100 within 7d) and country in (''US'', ''it''''s'') and plan != \"pro\"'}\n",
        "''it''''s''", '"pro"',
    ),
    "block sequence item": (
        "where:\n  - >-\n    performed(purchase where revenue > 100 within 7d)\n    and country in ('US', 'it''s') and plan != \"pro\"\n",
        "'it''s'", '"pro"',
    ),
}


def place(text: str, written: str, after: str = "") -> tuple[int, int, int, int]:
    """line, col, end_line, end_col of the first `written` (after `after`) in the file."""
    i = text.index(written, text.index(after) if after else 0)
    j = i + len(written)

    def lc(k):
        line = text.count("\n", 0, k) + 1
        return line, k - (text.rfind("\n", 0, k) + 1) + 1

    return (*lc(i), *lc(j))


def pos(span: Span) -> tuple[int, int, int, int]:
    return span.line, span.col, span.end_line, span.end_col


def nodes(root: A.Node):
    stack = [root]
    while stack:
        n = stack.pop()
        yield n
        for v in vars(n).values():
            if isinstance(v, A.Node):
                stack.append(v)
            elif isinstance(v, tuple):
                stack.extend(x for x in v if isinstance(x, A.Node))


@pytest.mark.parametrize("style", STYLES)
def test_node_spans_map_to_the_file(style):
    text, its, pro = STYLES[style]
    doc = load_located("f.yml", text)
    y = doc.value["where"]
    if y.kind == "seq":
        y = y.value[0]
    expr = parse_expression(y.value, y.offset_span)
    every = list(nodes(expr))

    call = next(n for n in every if isinstance(n, A.EventCall))
    assert pos(call.span)[:2] == place(text, "performed")[:2]
    assert pos(call.span)[2:] == place(text, ")", after="7d")[2:]
    revenue = next(n for n in every if isinstance(n, A.Property) and n.name == "revenue")
    assert pos(revenue.name_span) == place(text, "revenue")
    assert pos(next(n for n in every if isinstance(n, A.Duration)).span) == place(text, "7d")
    country = next(n for n in every if isinstance(n, A.Property) and n.name == "country")
    assert pos(country.span) == place(text, "country")
    assert pos(next(n for n in every if isinstance(n, A.Literal) and n.value == "it's").span) == place(text, its)
    assert pos(next(n for n in every if isinstance(n, A.Literal) and n.value == "pro").span) == place(text, pro)
    # the whole expression: from `performed` to the end of "pro" as written
    assert pos(expr.span) == place(text, "performed")[:2] + place(text, pro)[2:]


def test_lean_positions_agree_with_larks_own(tmp_path, monkeypatch):
    """segc.parser replaces Lark's PropagatePositions by a leaner _Positions (start and end
    offsets only). On every distinct expression of a generated 400-definition project (every
    construct, every window form) and of the demo project, each subtree gets the same extent
    from both, and the parser in use is the lean one."""
    import sys

    from lark import Lark

    from segc import checker, parser as P
    from segc.loader.project import load_project

    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_validate import generate

    generate(tmp_path / "p", 400)
    seen: dict[tuple[str, str], None] = {}
    original = P.parse_expression

    def recording(text, locate, start="start", where=None):
        seen[(text, start)] = None
        return original(text, locate, start)

    monkeypatch.setattr(checker, "parse_expression", recording)
    for root in (tmp_path / "p", REPO):
        checker.check_project(load_project(root))
    assert len(seen) > 300
    larks = Lark(P.grammar_text(), parser="lalr", start=["start", "step_start", "window_start"], propagate_positions=True,
                 maybe_placeholders=False)
    lean = P._parser()
    assert any(isinstance(cb, P._Positions) for cb in lean.parser.parser.parser.callbacks.values())

    def extents(tree):
        return [(t.data, t.meta.empty, getattr(t.meta, "start_pos", None), getattr(t.meta, "end_pos", None))
                for t in tree.iter_subtrees()]

    for text, start in seen:
        assert extents(lean.parse(text, start=start)) == extents(larks.parse(text, start=start)), text


# --- segc.parser._Driver: Lark's tables and lexers in one loop ---------------------------------
def _shape(tree):
    """Everything of a parse tree segc reads: rules, tokens (type, text, offsets), extents."""
    from lark import Token

    if isinstance(tree, Token):
        return ("token", tree.type, str(tree), tree.start_pos, tree.end_pos)
    m = tree.meta
    return (tree.data, m.empty, getattr(m, "start_pos", None), getattr(m, "end_pos", None),
            getattr(m, "container_start_pos", None), getattr(m, "container_end_pos", None),
            [_shape(c) for c in tree.children])


def _driver_agrees(text: str, start: str = "start") -> bool:
    """The driver's tree is Lark's (run with the same callbacks); where Lark raises, the driver
    gives None, so that Lark parses the text again and its error is reported. Returns whether
    the text parsed."""
    from lark.exceptions import UnexpectedInput

    from segc import parser as P

    got = P._driver().parse(text, start)
    try:
        expected = P._parser().parse(text, start=start)
    except UnexpectedInput:
        assert got is None, text
        return False
    assert got is not None, text
    assert _shape(got) == _shape(expected), text
    return True


def test_driver_gives_larks_trees_on_every_known_expression(tmp_path):
    """Every distinct expression of a generated 400-definition project, of the demo and of
    LANGUAGE.md's examples, under each start rule it is parsed with; and the parser in use goes
    through the driver."""
    import sys

    from segc import parser as P
    from segc.checker import expression_places
    from segc.loader.project import load_project

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from language_examples import expression_examples

    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_validate import generate

    generate(tmp_path / "p", 400)
    texts = {(text, start) for root in (tmp_path / "p", REPO)
             for text, _, start, _ in expression_places(load_project(root).definitions)}
    texts |= {(t, "start") for t in expression_examples()}
    assert len(texts) > 300 and {s for _, s in texts} == {"start", "step_start", "window_start"}
    assert P._driver() is not None
    assert all(_driver_agrees(t, s) for t, s in texts)


def test_driver_rejects_what_lark_rejects():
    """Texts that fail in each way: no terminal matches (in any state, or only in this one),
    a token no state accepts, input that ends early, a keyword where a name is wanted."""
    bad = ["country = ", "country == 'US'", "count(purchase within 30d", "country in ('US',, 'CA')", "a ! b",
           "performed(purchase where)", "`unterminated", "'unterminated", "1 2", "not", "", "   ", "-- only a comment",
           "segment()", "sequence(purchase)", "country = 'US' )", "and x", "x.y.z = 1", "count(purchase) >= 2 within 3d"]
    assert not any(_driver_agrees(t) for t in bad)
    assert _driver_agrees("-- a comment\ncount(purchase within 30d) >= 20 -- and another\n  and country in ('US', 'CA')")
    assert _driver_agrees("purchase where revenue > 0", "step_start")
    assert _driver_agrees("within 90d", "window_start")
    assert not _driver_agrees("within", "window_start")


def test_driver_agrees_with_lark_on_random_and_mutated_expressions():
    """Hypothesis: expressions from the grammar's productions (the fuzzer's), as they are and
    with tokens deleted, repeated, swapped or replaced."""
    import sys

    from hypothesis import HealthCheck, given, settings, strategies as st

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import fuzz

    @st.composite
    def texts(draw):
        text = draw(fuzz.expressions())
        return draw(fuzz.token_mutations(text)) if draw(st.booleans()) else text

    parsed = []

    @settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
    @given(texts())
    def check(text):
        parsed.append(_driver_agrees(text))

    check()
    assert any(parsed) and not all(parsed)  # both kinds were met


def test_grammar_is_found_in_a_source_checkout(monkeypatch):
    """Installed, the grammar is the package segc.grammar; `python -m segc` at the root of a
    checkout imports segc from the folder, which has no segc.grammar: grammar/ is read there."""
    from importlib import resources

    from segc import parser as P

    installed = P.grammar_text()
    assert installed == (REPO / "grammar" / "segc.lark").read_text(encoding="utf-8")

    def no_package(name):
        raise ModuleNotFoundError(f"No module named '{name}'")

    P.grammar_text.cache_clear()
    monkeypatch.setattr(resources, "files", no_package)
    try:
        assert P.grammar_text() == installed
    finally:
        P.grammar_text.cache_clear()
