"""`segc compile --dialect all` prints every engine's text from one tree (AllEngines): the texts
must be exactly those of a tree built for each engine alone, whatever the expression, the
layout of properties, the as-of, and the order the dialects are printed in."""
from __future__ import annotations

import inspect

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from language_examples import REPO, write_examples_project
from segc import api
from segc.compiler import DIALECTS, segment_file, segment_files
from segc.compiler.dialects import ENGINES, AllEngines, Engine
from sqlglot import exp
from test_property_cross_engine import AS_OF, _write, expressions


def _same_texts(result, as_of, order=DIALECTS) -> list[str]:
    model, segments = result.project.model, result.segments()
    problems = []
    for name, segment in segments.items():
        together = segment_files(model, segment, segments, tuple(order), as_of)
        assert list(together) == list(order)
        for dialect in order:
            alone = segment_file(model, segment, segments, dialect, as_of)
            if together[dialect] != alone:
                problems.append(f"{name} on {dialect}:\n--- alone\n{alone}\n--- printed with the others\n{together[dialect]}")
    return problems


def test_every_engine_method_goes_to_every_engine():
    """A method added to Engine but not to AllEngines would give every dialect the base's text."""
    methods = {n for n, f in inspect.getmembers(Engine, inspect.isfunction) if not n.startswith("_")}
    assert methods - {"finish"}, methods
    for name in methods - {"finish"}:
        assert AllEngines.__dict__.get(name) is not None, f"AllEngines does not ask every engine for {name}()"


@pytest.mark.parametrize("as_of", [AS_OF, None], ids=["as-of", "now"])
@pytest.mark.parametrize("order", [DIALECTS, tuple(reversed(DIALECTS)), ("clickhouse", "duckdb", "postgres")], ids="-".join)
def test_language_examples_and_demo(tmp_path, as_of, order):
    write_examples_project(tmp_path)
    for root in (tmp_path, REPO):
        result = api.validate(root)
        assert result.segments()
        assert not _same_texts(result, as_of, order)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
@given(helper=expressions(allow_ref=False), main=expressions(allow_ref=True), json_props=st.booleans(),
       now=st.booleans(), order=st.permutations(DIALECTS))
def test_random_segments_print_the_same(tmp_path, helper, main, json_props, now, order):
    root = tmp_path / "project"
    _write(root, json_props, helper, main)
    result = api.validate(root)
    assert result.ok, [d.headline() for d in result.errors]
    problems = _same_texts(result, None if now else AS_OF, order)
    assert not problems, f"helper: {helper}\nmain: {main}\n\n" + "\n\n".join(problems)


def _nodes(tree) -> list:
    """Every node, found through args (what AllEngines relies on), as (holder id, arg, index, node id)."""
    out, stack = [], [tree]
    while stack:
        node = stack.pop()
        for arg, value in node.args.items():
            for i, child in enumerate(value if type(value) is list else [value]):
                if hasattr(child, "args"):
                    out.append((id(node), arg, i, id(child)))
                    stack.append(child)
    return out


@pytest.mark.parametrize("dialect", DIALECTS)
def test_printing_leaves_every_node_where_it_was(dialect, tmp_path):
    """AllEngines finds the sites once and swaps them through their holders; that holds because
    sqlglot's generators, printing with copy=False, never put a node of ours out of its place
    (they only re-parent some children into temporary nodes)."""
    from segc.compiler import segment_select, to_sql

    write_examples_project(tmp_path)
    for root in (tmp_path, REPO):
        result = api.validate(root)
        model, segments = result.project.model, result.segments()
        for name in segments:
            tree = segment_select(model, segments, name, dialect, AS_OF)
            before = _nodes(tree)
            to_sql(tree, dialect)
            assert _nodes(tree) == before, name


def test_a_site_replaced_between_two_printings_is_found_again():
    """If a holder no longer held its site, the sites are looked for again."""
    from segc.compiler import QueryBuilder, to_sql
    from segc.compiler.dialects import _sites_within, fresh

    result = api.validate(REPO)
    model, segments = result.project.model, result.segments()
    name = "shoe_browsers"  # icontains within count(): sites (lower) within a site (count_if)
    engine = AllEngines()
    tree = QueryBuilder(model, segments, engine, AS_OF).members(name)
    engine.for_dialect(tree, "duckdb")
    engine.for_dialect(tree, "postgres")
    replaced = 0
    for holder, arg, index, node, _ in _sites_within(tree):
        holder.set(arg, fresh(node), index)
        replaced += 1
    assert replaced >= 2
    engine.for_dialect(tree, "clickhouse")
    alone = segment_file(model, segments[name], segments, "clickhouse", AS_OF)
    assert alone.endswith(to_sql(tree, "clickhouse") + ";\n")
    assert "lowerUTF8" in alone and "countIf" in alone


@pytest.mark.parametrize("order", [DIALECTS, ("clickhouse", "duckdb", "postgres")], ids="-".join)
def test_cohorts_and_insights_print_the_same(tmp_path, order):
    """Every cohort and insight of test_analytics' fixtures (flat and JSON-column layouts) and of
    the demo: analytics_files (one tree) gives analytics_file's text for each dialect."""
    from segc.compiler.analytics import analytics_file, analytics_files
    from test_analytics import DEFINITIONS, layouts, write_project

    roots = [write_project(tmp_path / key, layout["model"], DEFINITIONS) for key, layout in layouts("eq").items()]
    checked = 0
    for root in roots + [REPO]:
        result = api.validate(root)
        model, segments = result.project.model, result.segments()
        for d in result.definitions.values():
            if d.kind not in ("cohort", "insight") or d.name in result.failed:
                continue
            labels = api.step_labels(result, d)
            for as_of in (AS_OF, None):
                together = analytics_files(model, d, segments, order, as_of, labels)
                for dialect in order:
                    assert together[dialect] == analytics_file(model, d, segments, dialect, as_of, labels), (root, d.name, dialect)
                checked += 1
    assert checked >= 2 * (2 * len(DEFINITIONS) + 8)


def _site_places(sites: list) -> set:
    """(holder, arg, index, node) of every site, nested ones included, by identity."""
    out, stack = set(), list(sites)
    while stack:
        holder, arg, index, node, within = stack.pop()
        out.add((id(holder), arg, index, id(node)))
        stack.extend(within)
    return out


def test_sites_found_without_a_walk_are_those_a_walk_finds(tmp_path):
    """Before the first printing, AllEngines finds the tree's sites from those it made and those
    fresh() copied, through parent links (_outermost_sites): exactly the sites a walk of every
    node finds, on the demo, LANGUAGE.md's examples and a generated project with references
    (timestamps within COUNT_IF, copied CASE conditions, periods' GROUP BY keys)."""
    import sys

    from segc.compiler import QueryBuilder
    from segc.compiler.dialects import _sites_within

    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_validate import generate

    write_examples_project(tmp_path / "examples")
    generate(tmp_path / "generated", 150)
    compared = without_walk = 0
    for root in (REPO, tmp_path / "examples", tmp_path / "generated"):
        result = api.validate(root)
        model, segments = result.project.model, result.segments()
        for name in segments:
            for as_of in (AS_OF, None):
                engine = AllEngines()
                tree = QueryBuilder(model, segments, engine, as_of).members(name)
                without_walk += not engine._known.other
                assert _site_places(engine._outermost_sites(tree)) == _site_places(_sites_within(tree)), (root, name)
                compared += 1
    assert compared > 300 and without_walk == compared


def test_a_site_copied_behind_fresh_s_back_sends_to_the_walk():
    """A copy of a site that fresh() did not make (sqlglot's own copy()) is not known: the sites
    are then found by walking the tree, and every dialect's text is still right."""
    from segc.compiler import QueryBuilder, to_sql

    result = api.validate(REPO)
    model, segments = result.project.model, result.segments()
    name = "shoe_browsers"  # COUNT_IF (a site) with lower() (sites) in the aggregates' CTE

    def with_the_first_cte_twice(tree):  # the second one a copy made by sqlglot
        ctes = tree.args["with_"].expressions
        tree.args["with_"].append("expressions", ctes[0].copy())
        return tree

    engine = AllEngines()
    tree = with_the_first_cte_twice(QueryBuilder(model, segments, engine, AS_OF).members(name))
    assert engine._known.other
    for dialect in DIALECTS:
        engine.for_dialect(tree, dialect)
        alone = with_the_first_cte_twice(QueryBuilder(model, segments, ENGINES[dialect], AS_OF).members(name))
        text = to_sql(tree, dialect)
        assert text == to_sql(alone, dialect), dialect
        assert text.count("lowerUTF8(" if dialect == "clickhouse" else "LOWER(") == 8, text  # 4 in each CTE
