"""Cohorts and insights: run each one's query and turn the engine's rows into a result table
whose values are the same Python values on every engine, then print it (text, CSV, JSON) or
draw it (one self-contained HTML page with inline SVG charts, jinja2).

Normalised per column type (compiler.analytics.Column): timestamps are naive UTC datetimes
(ClickHouse gives Date for truncated weeks and months), integers are int (ClickHouse UInt64,
PostgreSQL numeric sums), numbers are float rounded to 12 significant digits (PostgreSQL avg
is a Decimal; engines add floats in different orders), booleans are bool (ClickHouse UInt8).
Rows are sorted the same way everywhere: by breakdown (listed segments in their order, other
values ascending, the null bucket last), then by time, step or period.
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
from dataclasses import dataclass, field

from ..compiler import to_sql
from ..compiler.analytics import AnalyticsQuery, Column, analytics_query
from ..diagnostics import Diagnostic, SegcError
from ..engines import Engine, EngineError


@dataclass
class ResultTable:
    """The result of one cohort or insight: columns, normalised rows, and what charts need."""

    name: str
    kind: str  # cohort | trend | funnel | lifecycle | stickiness
    columns: tuple[Column, ...]
    rows: list[tuple]
    description: str | None = None
    breakdown_order: tuple[str, ...] = ()
    meta: dict = field(default_factory=dict)  # interval / period, series names, formula

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def records(self) -> list[dict]:
        return [dict(zip(self.names, r)) for r in self.rows]

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "description": self.description, **self.meta,
                "columns": [{"name": c.name, "type": c.type} for c in self.columns],
                "rows": [{k: _json_value(v) for k, v in r.items()} for r in self.records()]}


# -- normalising ------------------------------------------------------------------------------------
def _timestamp(v):
    if isinstance(v, dt.datetime):
        return v if v.tzinfo is None else v.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    return dt.datetime.fromisoformat(str(v))


def _number(v):
    f = float(v)
    if math.isnan(f) or math.isinf(f):
        return None
    return float(f"{f:.12g}")


def _integer(v):
    if isinstance(v, float) and not v.is_integer():
        return _number(v)
    return int(v)


def _boolean(v):
    if isinstance(v, str):
        return v.lower() in ("1", "true", "t")
    return bool(v)


def _string(v):
    return v if isinstance(v, str) else str(v)


_NORMALISE = {"timestamp": _timestamp, "number": _number, "integer": _integer, "boolean": _boolean, "string": _string}


def normalise_rows(columns: tuple[Column, ...], rows: list[tuple]) -> list[tuple]:
    fns = [_NORMALISE.get(c.type, lambda v: v) for c in columns]
    out = []
    for row in rows:
        out.append(tuple(None if v is None else f(v.normalize() if isinstance(v, decimal.Decimal) else v) for f, v in zip(fns, row)))
    return out


def sort_rows(columns: tuple[Column, ...], rows: list[tuple], listed: tuple[str, ...]) -> list[tuple]:
    order = {n: i for i, n in enumerate(listed)}

    def key(row):
        parts = []
        for c, v in zip(columns, row):
            if c.name == "breakdown":
                if listed:
                    parts.append((v is None, order.get(v, len(order)), ""))
                else:
                    parts.append((v is None, 0, v if v is not None else ""))
            elif c.name in ("cohort_start", "interval_start", "period", "step", "active_intervals"):
                parts.append(v)
        return tuple(parts)

    return sorted(rows, key=key)


# -- running ----------------------------------------------------------------------------------------
def result_table(query: AnalyticsQuery, rows: list[tuple], definition=None) -> ResultTable:
    rows = sort_rows(query.columns, normalise_rows(query.columns, rows), query.breakdown)
    meta: dict = {}
    if definition is not None:
        if query.kind == "cohort":
            meta = {"period": definition.period, "periods": definition.periods}
        else:
            meta = {"interval": definition.interval} if definition.interval else {}
            if query.kind == "trend":
                meta["series"] = [s.name for s in definition.series]
                meta["formula"] = definition.formula is not None
    return ResultTable(query.name, query.kind, query.columns, rows, getattr(definition, "description", None), query.breakdown, meta)


def run_analytics(engine: Engine, model, segments: dict, definitions: list, as_of: dt.datetime | None,
                  labels: dict[str, list[str]] | None = None, progress=None) -> list[ResultTable]:
    """Run each cohort / insight on one engine; a failure names the definition."""
    out = []
    for d in definitions:
        q = analytics_query(model, segments, d, engine.dialect, as_of, (labels or {}).get(d.name))
        try:
            rows = engine.query(to_sql(q.select, engine.dialect, pretty=False))
        except EngineError as e:
            raise SegcError(Diagnostic("SEG500", f"{d.kind} '{d.name}' failed: {e}", None)) from None
        table = result_table(q, rows, d)
        out.append(table)
        if progress:
            progress(table)
    return out


# -- text, CSV, JSON --------------------------------------------------------------------------------
def _json_value(v):
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S") + (f".{v.microsecond:06d}" if v.microsecond else "") + "Z"
    return v


def _text_value(v, type_: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d") if v.time() == dt.time() else v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1000 else f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def title(t: ResultTable) -> str:
    what = t.kind if t.kind == "cohort" else f"insight ({t.kind})"
    unit = t.meta.get("interval") or t.meta.get("period")
    return f"{what} {t.name}" + (f", by {unit}" if unit else "")


def render_text(tables: list[ResultTable]) -> str:
    blocks = []
    for t in tables:
        header = t.names
        cells = [[_text_value(v, c.type) for v, c in zip(r, t.columns)] for r in t.rows]
        widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(header)]
        right = [c.type in ("integer", "number") for c in t.columns]

        def line(values):
            return "  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)).rstrip()

        lines = [title(t), line(header), line(["-" * w for w in widths])] + [line(row) for row in cells]
        if not t.rows:
            lines.append("(no rows)")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def table_csv(t: ResultTable) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(t.names)
    for r in t.rows:
        w.writerow(["" if v is None else _json_value(v) if isinstance(v, dt.datetime) else ("true" if v else "false") if isinstance(v, bool) else v
                    for v in r])
    return buf.getvalue()


def render_csv(tables: list[ResultTable]) -> str:
    """One CSV block a table, each after a `# kind name` line and separated by a blank line."""
    return "\n".join(f"# {t.kind} {t.name}\n{table_csv(t)}" for t in tables)


def render_json(tables: list[ResultTable], extra: dict | None = None) -> str:
    return json.dumps({**(extra or {}), "tables": [t.as_dict() for t in tables]}, indent=2, ensure_ascii=False) + "\n"


# -- HTML: inline SVG charts -----------------------------------------------------------------------
PALETTE = ["#2f6fde", "#e8683f", "#2aa876", "#9b59b6", "#d4a017", "#16a2b8", "#c0392b", "#7f8c8d", "#8e6c3a", "#e84393",
           "#1b3a6b", "#a3c84a", "#f2a7b8", "#5b4b8a", "#00796b", "#ff8f00"]
LIFECYCLE_COLORS = {"new": "#2aa876", "returning": "#2f6fde", "resurrecting": "#d4a017", "dormant": "#c0392b"}
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 760, 260, 64, 16, 16, 44


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    p = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * p:
            return m * p
    return 10 * p


def _fmt_tick(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:g}" if v == int(v) else f"{v:.2f}".rstrip("0")


def _axes(ymin: float, ymax: float, labels: list[str], integer: bool = False) -> dict:
    """A y axis from 0 (or below, for negative values) with 4–8 round ticks (whole ones for counts)."""
    step = _nice_max(max(ymax - min(ymin, 0), 1e-9) / 4)
    if integer and step < 1:
        step = 1.0
    top = max(step, math.ceil(ymax / step - 1e-9) * step)
    bottom = min(0.0, math.floor(ymin / step + 1e-9) * step)
    span = top - bottom
    ph = H - PAD_T - PAD_B

    def y(v):
        return PAD_T + ph * (top - v) / span

    ticks = [bottom + step * i for i in range(int(round(span / step)) + 1)]
    every = max(1, math.ceil(len(labels) / 12))
    return {"y": y, "ticks": [{"y": round(y(t), 1), "label": _fmt_tick(t)} for t in ticks], "every": every, "zero": round(y(0), 1)}


def _short_time(v) -> str:
    return v.strftime("%Y-%m-%d") if isinstance(v, dt.datetime) else str(v)


def _label(v) -> str:
    return "(none)" if v is None else str(v)


def _groups(t: ResultTable) -> list:
    has_bd = "breakdown" in t.names
    if not has_bd:
        return [None]
    seen = []
    for r in t.records():
        if r["breakdown"] not in seen:
            seen.append(r["breakdown"])
    return seen


def trend_charts(t: ResultTable) -> list[dict]:
    """One line chart per series (and the formula): a line per breakdown value; the segments
    into partial intervals are dashed."""
    recs = t.records()
    times = sorted({r["interval_start"] for r in recs})
    partial = {r["interval_start"] for r in recs if r.get("partial")}
    groups = _groups(t)
    measures = list(t.meta.get("series", [])) + (["formula"] if t.meta.get("formula") else [])
    if not measures:  # a table without its definition: every numeric column
        measures = [c.name for c in t.columns if c.type in ("integer", "number")]
    charts = []
    n = max(len(times), 1)
    pw = W - PAD_L - PAD_R

    def x(i):
        return PAD_L + (pw * (i + 0.5) / n)

    for m in measures:
        values = [r[m] for r in recs if r[m] is not None]
        integer = next((c.type == "integer" for c in t.columns if c.name == m), False)
        ax = _axes(min(values, default=0), max(values, default=0), [_short_time(s) for s in times], integer)
        lines = []
        for gi, g in enumerate(groups):
            by_time = {r["interval_start"]: r[m] for r in recs if g is None or r["breakdown"] == g}
            pts = [(i, by_time.get(s)) for i, s in enumerate(times)]
            segments = []
            for (i0, v0), (i1, v1) in zip(pts, pts[1:]):
                if v0 is None or v1 is None:
                    continue
                segments.append({"x1": round(x(i0), 1), "y1": round(ax["y"](v0), 1), "x2": round(x(i1), 1), "y2": round(ax["y"](v1), 1),
                                 "dashed": times[i1] in partial or times[i0] in partial})
            dots = [{"x": round(x(i), 1), "y": round(ax["y"](v), 1), "title": f"{_label(g) + ', ' if g is not None or len(groups) > 1 else ''}{_short_time(times[i])}: {_text_value(v, 'number')}"}
                    for i, v in pts if v is not None]
            lines.append({"label": _label(g) if len(groups) > 1 or g is not None else m, "color": PALETTE[gi % len(PALETTE)],
                          "segments": segments, "dots": dots})
        xlabels = [{"x": round(x(i), 1), "label": _short_time(s) + (" *" if s in partial else "")} for i, s in enumerate(times) if i % ax["every"] == 0]
        charts.append({"title": m, "lines": lines, "ticks": ax["ticks"], "xlabels": xlabels})
    return charts


def bar_chart(t: ResultTable, x_col: str, y_col: str, x_label=str) -> dict:
    """Grouped bars: x_col along the axis, one bar per breakdown value."""
    recs = t.records()
    xs = []
    for r in recs:
        if r[x_col] not in xs:
            xs.append(r[x_col])
    groups = _groups(t)
    values = [r[y_col] or 0 for r in recs]
    ax = _axes(0, max(values, default=0), [], integer=True)
    pw = W - PAD_L - PAD_R
    slot = pw / max(len(xs), 1)
    bw = slot * 0.8 / max(len(groups), 1)
    bars = []
    for r in recs:
        i, gi = xs.index(r[x_col]), groups.index(r["breakdown"]) if "breakdown" in r else 0
        v = r[y_col] or 0
        x0 = PAD_L + slot * i + slot * 0.1 + bw * gi
        y0 = ax["y"](v)
        extra = ""
        if "conversion_from_first" in r and r["conversion_from_first"] is not None:
            extra = f" ({r['conversion_from_first'] * 100:.1f}% of step 1)"
        bars.append({"x": round(x0, 1), "y": round(y0, 1), "w": round(max(bw - 1, 1), 1), "h": round(ax["y"](0) - y0, 1),
                     "color": PALETTE[gi % len(PALETTE)], "title": f"{_label(r.get('breakdown')) + ', ' if 'breakdown' in r else ''}{x_label(r)}: {v:,}{extra}"})
    xlabels = [{"x": round(PAD_L + slot * (i + 0.5), 1), "label": x_label(next(r for r in recs if r[x_col] == xv))} for i, xv in enumerate(xs)]
    legend = [{"label": _label(g), "color": PALETTE[i % len(PALETTE)]} for i, g in enumerate(groups)] if groups != [None] else []
    return {"bars": bars, "ticks": ax["ticks"], "xlabels": xlabels, "legend": legend, "title": y_col}


def lifecycle_chart(t: ResultTable) -> list[dict]:
    """Stacked bars per interval: new, returning, resurrecting above the axis, dormant below."""
    charts = []
    recs = t.records()
    for g in _groups(t):
        rows = [r for r in recs if g is None or r["breakdown"] == g]
        tops = [r["new"] + r["returning"] + r["resurrecting"] for r in rows]
        ax = _axes(min([r["dormant"] for r in rows], default=0), max(tops, default=0), [], integer=True)
        pw = W - PAD_L - PAD_R
        slot = pw / max(len(rows), 1)
        bars = []
        for i, r in enumerate(rows):
            base = 0
            for status in ("new", "returning", "resurrecting"):
                v = r[status]
                if v:
                    bars.append({"x": round(PAD_L + slot * i + slot * 0.15, 1), "y": round(ax["y"](base + v), 1), "w": round(slot * 0.7, 1),
                                 "h": round(ax["y"](base) - ax["y"](base + v), 1), "color": LIFECYCLE_COLORS[status],
                                 "title": f"{_short_time(r['interval_start'])} {status}: {v:,}"})
                base += v
            if r["dormant"]:
                bars.append({"x": round(PAD_L + slot * i + slot * 0.15, 1), "y": round(ax["y"](0), 1), "w": round(slot * 0.7, 1),
                             "h": round(ax["y"](r["dormant"]) - ax["y"](0), 1), "color": LIFECYCLE_COLORS["dormant"],
                             "title": f"{_short_time(r['interval_start'])} dormant: {r['dormant']:,}"})
        every = max(1, math.ceil(len(rows) / 12))
        xlabels = [{"x": round(PAD_L + slot * (i + 0.5), 1), "label": _short_time(r["interval_start"]) + (" *" if r["partial"] else "")}
                   for i, r in enumerate(rows) if i % every == 0]
        charts.append({"title": _label(g) if g is not None else "persons", "bars": bars, "ticks": ax["ticks"], "xlabels": xlabels,
                       "zero": ax["zero"], "legend": [{"label": k, "color": c} for k, c in LIFECYCLE_COLORS.items()]})
    return charts


def retention_heatmap(t: ResultTable) -> dict:
    recs = t.records()
    periods = list(range(0, (t.meta.get("periods") or max((r["period"] for r in recs), default=0)) + 1))
    cohorts = []
    for r in recs:
        if r["cohort_start"] not in cohorts:
            cohorts.append(r["cohort_start"])
    by = {(r["cohort_start"], r["period"]): r for r in recs}
    rows = []
    for c in cohorts:
        cells = []
        for k in periods:
            r = by.get((c, k))
            if r is None:
                cells.append(None)
                continue
            shade = round((r["share"] or 0) * 100)
            cells.append({"persons": r["persons"], "share": r["share"], "partial": r["partial"], "shade": shade,
                          "title": f"{_short_time(c)} period {k}: {r['persons']:,} persons ({(r['share'] or 0) * 100:.1f}%)" + (" — partial" if r["partial"] else "")})
        rows.append({"start": _short_time(c), "size": by[(c, 0)]["persons"] if (c, 0) in by else 0, "cells": cells})
    return {"periods": periods, "rows": rows}


def render_html(tables: list[ResultTable], as_of: dt.datetime | None = None) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("segc.runner", "templates"), autoescape=True)
    sections = []
    for t in tables:
        s = {"t": t, "title": title(t), "header": t.names, "align": ["num" if c.type in ("integer", "number") else "" for c in t.columns],
             "rows": [[_text_value(v, c.type) for v, c in zip(r, t.columns)] for r in t.rows]}
        if t.kind == "trend":
            s["line_charts"] = trend_charts(t)
        elif t.kind == "funnel":
            s["bar_chart"] = bar_chart(t, "step", "persons", lambda r: f"{r['step']}. {r['event']}")
        elif t.kind == "stickiness":
            s["bar_chart"] = bar_chart(t, "active_intervals", "persons", lambda r: str(r["active_intervals"]))
        elif t.kind == "lifecycle":
            s["stacked_charts"] = lifecycle_chart(t)
        elif t.kind == "cohort":
            s["heatmap"] = retention_heatmap(t)
        sections.append(s)
    return env.get_template("analytics.html").render(sections=sections, W=W, H=H, PAD_L=PAD_L, PAD_R=PAD_R, PAD_T=PAD_T, PAD_B=PAD_B,
                                                     as_of=_json_value(as_of) if as_of else None)
