"""`where (flag) between T1 and T2` reads as a condition and a window in sequence(...) too."""
from segc import ast as A
from segc.diagnostics import Span
from segc.parser import parse_expression


def _loc(a, b):
    return Span("x.yml", 1, a + 1, 1, b + 1)


def test_parenthesised_condition_then_between_window_in_sequence():
    node = parse_expression("sequence(product_viewed, purchase where (is_mobile) between ago(30d) and now())", _loc)
    assert isinstance(node, A.Sequence)
    assert node.window is not None and node.window.kind == "between"
    assert isinstance(node.steps[-1].where, A.Paren)
    assert isinstance(node.window.start, A.Ago) and isinstance(node.window.end, A.Now)


def test_between_test_without_parentheses_stays_a_condition():
    node = parse_expression("sequence(a, b where revenue between 1 and 2)", _loc)
    assert node.window is None
    assert isinstance(node.steps[-1].where, A.Between)
