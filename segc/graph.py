"""`segc graph`: the dependencies between definitions as Mermaid or Graphviz DOT text
(segment → the segments that reference it; a segment → the partitions, cohorts and insights
that use it). No pipeline stage: it draws the checker's segment graph (segc.selection)."""
from __future__ import annotations

from typing import Sequence

from .selection import Graph

GRAPH_FORMATS = ("mermaid", "dot")

# Mermaid node shapes and Graphviz shapes by kind, so the kind shows at a glance as well
_MERMAID_SHAPE = {"segment": ('["', '"]'), "partition": ('{{"', '"}}'), "cohort": ('(["', '"])'), "insight": ('[/"', '"/]')}
_DOT_SHAPE = {"segment": "box", "partition": "hexagon", "cohort": "ellipse", "insight": "parallelogram"}
_FILL = {"segment": "#dbeafe", "partition": "#fef3c7", "cohort": "#dcfce7", "insight": "#f3e8ff"}


def render_graph(graph: Graph, fmt: str, names: Sequence[str] | None = None, failed: Sequence[str] = ()) -> str:
    """The graph of the given definitions (all by default) and the edges among them; an edge
    goes from what is used to what uses it, as data flows. Definitions with errors are drawn red."""
    keep = set(names) if names is not None else {d.name for d in graph.definitions}
    nodes = [(d.name, d.kind) for d in graph.definitions if d.name in keep]
    edges = [(dep, user) for user, _ in nodes for dep in graph.depends_on.get(user, ()) if dep in keep]
    bad = set(failed) & keep
    if fmt == "mermaid":
        return _mermaid(nodes, edges, bad)
    if fmt == "dot":
        return _dot(nodes, edges, bad)
    raise ValueError(f"unknown graph format {fmt!r}")


def _mermaid(nodes, edges, bad) -> str:
    ids = {name: f"n{i}" for i, (name, _) in enumerate(nodes)}  # names may hold `$`: ids stay plain
    lines = ["flowchart LR"]
    for name, kind in nodes:
        left, right = _MERMAID_SHAPE.get(kind, ('["', '"]'))
        lines.append(f"  {ids[name]}{left}{_mermaid_text(name)}<br/>({kind}){right}")
    for a, b in edges:
        lines.append(f"  {ids[a]} --> {ids[b]}")
    for kind in sorted({k for _, k in nodes}):
        lines.append(f"  classDef {kind} fill:{_FILL.get(kind, '#eeeeee')},stroke:#555555")
        lines.append(f"  class {','.join(ids[n] for n, k in nodes if k == kind)} {kind}")
    if bad:
        lines.append("  classDef failed stroke:#dc2626,stroke-width:3px,stroke-dasharray:4 3")
        lines.append(f"  class {','.join(ids[n] for n, _ in nodes if n in bad)} failed")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    # inside a quoted Mermaid label, entity codes are the way to write " < > #
    return (text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;"))


def _dot(nodes, edges, bad) -> str:
    lines = ["digraph segc {", "  rankdir=LR;", '  node [fontname="Helvetica", style="filled"];']
    for name, kind in nodes:
        attrs = [f'label="{_dot_text(name)}\\n{kind}"', f"shape={_DOT_SHAPE.get(kind, 'box')}",
                 f'fillcolor="{_FILL.get(kind, "#eeeeee")}"', f'tooltip="{kind} {_dot_text(name)}"']
        if name in bad:
            attrs += ['color="#dc2626"', "penwidth=2", 'style="filled,dashed"']
        lines.append(f'  "{_dot_text(name)}" [{", ".join(attrs)}];')
    for a, b in edges:
        lines.append(f'  "{_dot_text(a)}" -> "{_dot_text(b)}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
