"""--select / --exclude, written as dbt users write them, over the checked project's
dependency graph (no pipeline stage: it picks which definitions the later stages see).

A selector is a name, `tag:T`, `path:P` (a file or folder, relative to the project folder) or
`kind:K`, optionally with graph operators: `+x` adds everything x depends on (transitively),
`x+` everything that depends on x, `+x+` both. Selectors are separated by spaces or commas,
and several of them (or repeated options) are a union; --exclude takes the same syntax and is
taken away from the union.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from . import ast as A
from .checker import CheckResult, parse_field
from .diagnostics import Diagnostic, SegcError, a_kind, did_you_mean
from .loader.project import Definition

METHODS = ("tag", "path", "kind")
KINDS = ("segment", "partition", "cohort", "insight")


@dataclass(frozen=True)
class Selector:
    """One selector as written: `+tag:lifecycle+` is Selector('tag', 'lifecycle', True, True)."""

    text: str
    method: str  # name | tag | path | kind
    value: str
    upstream: bool = False  # +x: and what x depends on
    downstream: bool = False  # x+: and what depends on x


@dataclass(frozen=True)
class Graph:
    """Definitions in project order and their dependencies, both ways."""

    definitions: tuple[Definition, ...]
    depends_on: dict[str, tuple[str, ...]]  # name -> names it uses (only names that exist)
    used_by: dict[str, tuple[str, ...]]
    root: Path

    def ancestors(self, name: str) -> set[str]:
        return _closure(name, self.depends_on)

    def descendants(self, name: str) -> set[str]:
        return _closure(name, self.used_by)


def _closure(start: str, edges: dict[str, tuple[str, ...]]) -> set[str]:
    seen: set[str] = set()
    stack = list(edges.get(start, ()))
    while stack:  # iterative, and safe on cycles (a project with errors may have them)
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(edges.get(n, ()))
    return seen


def dependency_graph(result: CheckResult) -> Graph:
    """Segment → segment references, and partitions, cohorts and insights → the segments they
    use. Sound definitions give theirs from the IR; one with errors from what it says, as far
    as it can be read."""
    defs = tuple(result.project.definitions)
    names = {d.name for d in defs}
    deps: dict[str, tuple[str, ...]] = {}
    for d in defs:
        node = result.definitions.get(d.name)
        wanted = node.depends_on if node is not None else _written_dependencies(d)
        deps[d.name] = tuple(n for n in dict.fromkeys(wanted) if n in names and n != d.name)
    used: dict[str, list[str]] = {d.name: [] for d in defs}
    for d in defs:
        for n in deps[d.name]:
            used[n].append(d.name)
    return Graph(defs, deps, {n: tuple(v) for n, v in used.items()}, Path(result.project.root))


def _written_dependencies(d: Definition) -> list[str]:
    body = d.body
    out: list[str] = []
    if body.kind != "map":
        return out

    def names(y) -> list[str]:
        if y is None:
            return []
        items = y.value if y.kind == "seq" else [y]
        return [x.value for x in items if x.kind == "scalar" and isinstance(x.value, str)]

    def refs(key: str) -> list[str]:
        y = body.get(key)
        if y is None or y.kind != "scalar" or not isinstance(y.value, str):
            return []
        node = parse_field(y, [])  # its syntax errors are validate's to report
        return [r.name for r in A.segment_refs(node)] if node is not None else []

    if d.kind == "segment":
        out += refs("where")
    elif d.kind == "partition":
        out += names(body.get("segments"))
    else:
        if d.kind == "cohort":
            out += refs("entry") + refs("returning")
        out += names(body.get("segment"))
        bd = body.get("breakdown")
        if bd is not None and bd.kind == "map":
            out += names(bd.get("segments"))
    return out


def parse_selectors(items: Iterable[str] | None, option: str = "--select") -> list[Selector]:
    """Split and parse what was given to --select / --exclude (each item may hold several)."""
    out: list[Selector] = []
    problems: list[Diagnostic] = []
    for item in items or ():
        for text in item.replace(",", " ").split():
            body = text
            up = body.startswith("+")
            down = body.endswith("+") and len(body) > 1
            body = body[1 if up else 0: len(body) - (1 if down else 0)]
            method, sep, value = body.partition(":")
            if not sep:
                method, value = "name", body
            if not value or (method == "name" and ("+" in value or not value.strip())):
                problems.append(Diagnostic("SEG120", f"{option}: '{text}' is not a selector: write a name, tag:T, path:P or kind:K, with + before or after for what it depends on or what depends on it", None))
                continue
            if method not in METHODS and method != "name":
                hint = did_you_mean(method, METHODS)
                problems.append(Diagnostic("SEG120", f"{option}: unknown selector method '{method}:' in '{text}'; the methods are tag:, path: and kind:" + (f" ({hint})" if hint else ""), None))
                continue
            out.append(Selector(text, method, value, up, down))
    if problems:
        raise SegcError(problems)
    return out


def _matches(graph: Graph, sel: Selector) -> list[str]:
    defs = graph.definitions
    if sel.method == "name":
        return [d.name for d in defs if d.name == sel.value]
    if sel.method == "tag":
        return [d.name for d in defs if sel.value in _tags(d)]
    if sel.method == "kind":
        return [d.name for d in defs if d.kind == sel.value]
    want = _norm(sel.value)
    return [d.name for d in defs if _under(_project_path(graph.root, d.path), want)]


def _tags(d: Definition) -> tuple[str, ...]:
    y = d.body.get("tags") if d.body.kind == "map" else None
    if y is None:
        return ()
    items = y.value if y.kind == "seq" else [y]
    return tuple(str(x.value) for x in items if x.kind == "scalar")


def _norm(path: str) -> str:
    p = path.replace("\\", "/").strip()
    while p.startswith("./"):
        p = p[2:]
    return p.rstrip("/") or "."


def _project_path(root: Path, path: str) -> str:
    try:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    except ValueError:  # another drive on Windows
        return path
    return rel.replace(os.sep, "/")


def _under(path: str, prefix: str) -> bool:
    return prefix == "." or path == prefix or path.startswith(prefix + "/")


def _expand(graph: Graph, sel: Selector, option: str, kinds: Sequence[str], problems: list[Diagnostic]) -> set[str]:
    found = _matches(graph, sel)
    if not found:
        problems.append(_nothing(graph, sel, option, kinds))
        return set()
    out = set(found)
    for n in found:
        if sel.upstream:
            out |= graph.ancestors(n)
        if sel.downstream:
            out |= graph.descendants(n)
    return out


def _nothing(graph: Graph, sel: Selector, option: str, kinds: Sequence[str]) -> Diagnostic:
    defs = graph.definitions
    if sel.method == "name":
        of_kind = [d.name for d in defs if d.kind in kinds]
        hint = did_you_mean(sel.value, of_kind) or did_you_mean(sel.value, [d.name for d in defs])
        noun = "segment" if "segment" in kinds else " or ".join(kinds)  # as before cohorts could be selected
        return Diagnostic("SEG303", f"{option}: no {noun} named '{sel.value}'" + (f"; {hint}" if hint else ""), None)
    if sel.method == "tag":
        tags = sorted({t for d in defs for t in _tags(d)})
        hint = did_you_mean(sel.value, tags)
        return Diagnostic("SEG121", f"{option}: no definition is tagged '{sel.value}'"
                          + (f"; {hint}" if hint else f" (tags: {', '.join(tags) or 'none'})"), None)
    if sel.method == "kind":
        if sel.value not in KINDS:
            hint = did_you_mean(sel.value, KINDS)
            return Diagnostic("SEG121", f"{option}: unknown kind '{sel.value}'; the kinds are {', '.join(KINDS)}" + (f" ({hint})" if hint else ""), None)
        return Diagnostic("SEG121", f"{option}: the project has no {sel.value}", None)
    folders = sorted({_project_path(graph.root, os.path.dirname(d.path)) for d in defs})
    hint = did_you_mean(_norm(sel.value), folders)
    return Diagnostic("SEG121", f"{option}: no definition file under '{sel.value}' (paths are relative to the project folder, e.g. path:specs/...)"
                      + (f"; {hint}" if hint else ""), None)


def select(result: CheckResult, select: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
           kinds: Sequence[str] = ("segment",)) -> list[str]:
    """The names of the definitions of the given kinds that --select (all when empty) minus
    --exclude picks, in project order. Raises SegcError (exit 1) for a selector that names
    nothing, and when nothing of those kinds is left."""
    graph = dependency_graph(result)
    inc = parse_selectors(select, "--select")
    exc = parse_selectors(exclude, "--exclude")
    problems: list[Diagnostic] = []
    for sel in inc:  # a bare name of another kind: say what it is and how to reach its segments
        if sel.method == "name" and not sel.upstream and not sel.downstream:
            d = next((x for x in graph.definitions if x.name == sel.value), None)
            if d is not None and d.kind not in kinds:
                problems.append(Diagnostic("SEG303", f"--select: '{d.name}' is {a_kind(d.kind)}, not {_one_of(kinds)}"
                                           + (f"; +{d.name} selects the segments it uses" if "segment" in kinds else ""), None))
    chosen: set[str] = set()
    for sel in inc:
        chosen |= _expand(graph, sel, "--select", kinds, problems)
    removed: set[str] = set()
    for sel in exc:
        removed |= _expand(graph, sel, "--exclude", kinds, problems)
    if problems:
        raise SegcError(problems)
    names = [d.name for d in graph.definitions if d.kind in kinds and (not inc or d.name in chosen) and d.name not in removed]
    if not names and (inc or exc):
        given = " ".join(s.text for s in inc) or "everything"
        if exc:
            given += " minus " + " ".join(s.text for s in exc)
        raise SegcError(Diagnostic("SEG121", f"--select {given} selects no {' and no '.join(kinds)}", None))
    return names


def _one_of(kinds: Sequence[str]) -> str:
    words = [a_kind(k) for k in kinds]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
