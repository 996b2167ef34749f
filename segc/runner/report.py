"""Overlap reports: text, JSON, CSV, and one self-contained HTML page with a heatmap (jinja2)."""
from __future__ import annotations

import csv
import io
import json

from .overlap import OverlapMatrix


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


def render_overlap(m: OverlapMatrix, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(m.as_dict(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["a", "b", "size_a", "size_b", "intersection", "jaccard", "containment_a_in_b", "containment_b_in_a"])
        for a in m.names:
            for b in m.names:
                w.writerow([a, b, m.sizes[a], m.sizes[b], m.intersection(a, b), _pct(m.jaccard(a, b)),
                            _pct(m.containment(a, b)), _pct(m.containment(b, a))])
        return buf.getvalue()
    if fmt == "html":
        return render_html(m)
    width = max([len(n) for n in m.names] + [len("segment")])  # the header is as wide as the names
    lines = [f"{m.total:,} persons, {len(m.names)} segments", "", f"{'segment':<{width}}  {'size':>10}  {'share':>7}"]
    for n in m.names:
        share = m.share(n)
        lines.append(f"{n:<{width}}  {m.sizes[n]:>10,}  {'' if share is None else f'{share:7.2%}'}")
    lines += ["", f"{'a':<{width}}  {'b':<{width}}  {'both':>10}  {'jaccard':>7}  {'a in b':>7}  {'b in a':>7}"]
    for (a, b), n in m.intersections.items():
        lines.append(f"{a:<{width}}  {b:<{width}}  {n:>10,}  {_pct(m.jaccard(a, b)):>7}  "
                     f"{_pct(m.containment(a, b)):>7}  {_pct(m.containment(b, a)):>7}")
    return "\n".join(lines) + "\n"


def render_html(m: OverlapMatrix) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("segc.runner", "templates"), autoescape=True)
    cells = []
    for a in m.names:
        row = []
        for b in m.names:
            j = 1.0 if a == b and m.sizes[a] else m.jaccard(a, b)
            row.append({"a": a, "b": b, "both": m.intersection(a, b), "jaccard": j,
                        "containment": m.containment(a, b), "shade": 0 if j is None else round(j * 100)})
        cells.append(row)
    return env.get_template("overlap.html").render(m=m, cells=cells)
