"""Segments over time: each segment's size at the end of every interval of a range (history),
and persons counted by their segment at two instants (migration). One query each, on any engine
(compiler.history_select / migrate_select); here the points are chosen, the engine's rows
turned into sizes and transition counts, and both printed (text, CSV, JSON) or drawn (one
self-contained HTML page: a line chart, a heatmap; inline SVG and jinja2).

The exact definitions are in docs/decisions.md, "History and migration":
- points: the ends of the UTC calendar intervals (day; ISO week from Monday; month) that lie in
  [now - range, now], then now itself, whose interval is partial unless now is an interval end;
- migration: cell (A, B) = persons in A at T1 and in B at T2; "none" = in none of the
  segments; a person in several segments counts in each of their rows and columns; rate =
  cell / persons in the row at T1.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from dataclasses import dataclass

from ..compiler import history_select, migrate_select, to_sql
from ..compiler.builder import MASK_BITS
from ..diagnostics import Diagnostic, SegcError, a_kind, did_you_mean
from ..engines import EngineError

INTERVALS = ("day", "week", "month")
MAX_POINTS = 1000  # one row of the instants table each; a longer history wants a longer interval
NONE = "none"
_DURATION = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ADVERB = {"day": "daily", "week": "weekly", "month": "monthly"}


# -- options -----------------------------------------------------------------------------------------
def parse_duration(text: str, option: str = "--range") -> int:
    """A duration as the language writes it (90d, 12w, 36h, 45m, 30s): its length in seconds."""
    m = _DURATION.fullmatch(str(text).strip())
    if not m or int(m.group(1)) == 0:
        raise SegcError(Diagnostic("SEG107", f"{option} '{text}' is not a duration such as 90d, 12w or 36h "
                                             "(a positive whole number of s, m, h, d or w; no months)", None))
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def parse_instant(text: str, option: str) -> dt.datetime:
    """An ISO-8601 instant (a date alone is its midnight; no offset means UTC) -> naive UTC."""
    raw = str(text).strip()
    try:
        value = dt.datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise SegcError(Diagnostic("SEG107", f"{option} '{text}' is not an ISO-8601 instant such as 2026-10-01 "
                                             "or 2026-10-01T00:00:00Z", None)) from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{t.microsecond:06d}" if t.microsecond else "") + "Z"


def _short(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M" + (":%S" if t.second or t.microsecond else ""))


# -- which segments ----------------------------------------------------------------------------------
def segment_names(result, names: list[str]) -> list[str]:
    """NAME… of `segc history`: segments, or partitions standing for their segments; in the
    order given, each once. Unknown names are reported together, each with a did-you-mean."""
    out: list[str] = []
    problems = []
    for n in names:
        d = result.definitions.get(n) or next((x for x in result.project.definitions if x.name == n), None)
        kind = getattr(d, "kind", None)
        if kind == "segment":
            out.append(n)
        elif kind == "partition" and hasattr(d, "segments"):
            out.extend(d.segments)
        elif kind == "partition":  # the partition has errors of its own: reported by _needed
            out.append(n)
        else:
            usable = [x.name for x in result.project.definitions if x.kind in ("segment", "partition")]
            hint = did_you_mean(n, usable)
            what = f"'{n}' is {a_kind(kind)}, not a segment or partition" if kind else f"no segment named '{n}'"
            problems.append(Diagnostic("SEG303", what + (f"; {hint}" if hint and not kind else ""), None))
    if problems:
        raise SegcError(problems)
    return list(dict.fromkeys(out))


def partition_segments(result, name: str) -> list[str]:
    """--partition NAME: its segments in the order it lists them."""
    d = result.definitions.get(name)
    if getattr(d, "kind", None) == "partition":
        return list(d.segments)
    written = next((x for x in result.project.definitions if x.name == name), None)
    if written is not None and written.kind == "partition":
        return [name]  # it has errors: the caller refuses it with them
    partitions = [x.name for x in result.project.definitions if x.kind == "partition"]
    hint = did_you_mean(name, partitions)
    what = f"'{name}' is {a_kind(written.kind)}, not a partition" if written is not None else f"no partition named '{name}'"
    tail = f"; {hint}" if hint else (f" (partitions: {', '.join(partitions)})" if partitions else " (the project has no partition)")
    raise SegcError(Diagnostic("SEG303", f"--partition: {what}{tail}", None))


# -- history -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Point:
    """One point of a history: the interval [start, end) and the instant `at` the segments are
    evaluated at (the interval's end, or now for the current, partial interval)."""

    start: dt.datetime
    end: dt.datetime
    at: dt.datetime
    partial: bool


def _floor(t: dt.datetime, interval: str) -> dt.datetime:
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "day":
        return day
    if interval == "week":
        return day - dt.timedelta(days=day.weekday())  # ISO: Monday
    return day.replace(day=1)


def _next(t: dt.datetime, interval: str) -> dt.datetime:
    """The interval boundary after the boundary t."""
    if interval == "day":
        return t + dt.timedelta(days=1)
    if interval == "week":
        return t + dt.timedelta(days=7)
    return t.replace(year=t.year + t.month // 12, month=t.month % 12 + 1)


def history_points(now: dt.datetime, interval: str, range_seconds: int) -> list[Point]:
    """The interval ends b with now - range <= b <= now, oldest first, then now itself if it is
    no interval end (its interval, cut by now, is partial)."""
    if interval not in INTERVALS:
        raise SegcError(Diagnostic("SEG107", f"unknown interval '{interval}': expected {', '.join(INTERVALS)}", None))
    start = now - dt.timedelta(seconds=range_seconds)
    b = _floor(start, interval)
    b = b if b == start else _next(b, interval)
    points = []
    while b <= now:
        points.append(Point(_floor(b - dt.timedelta(microseconds=1), interval), b, b, False))
        b = _next(b, interval)
        if len(points) > MAX_POINTS:
            raise SegcError(Diagnostic("SEG107", f"a {_ADVERB[interval]} history over {range_seconds // 86400} days has more than "
                                                 f"{MAX_POINTS} points: choose a longer --interval or a shorter --range", None))
    if not points or points[-1].at != now:
        s = _floor(now, interval)
        points.append(Point(s, _next(s, interval), now, True))
    return points


@dataclass
class History:
    names: list[str]
    interval: str
    range: str  # as written: 90d
    as_of: dt.datetime
    points: list[Point]
    persons: list[int]  # the universe at each point
    sizes: dict[str, list[int]]  # segment -> its size at each point

    def share(self, name: str, i: int) -> float | None:
        return self.sizes[name][i] / self.persons[i] if self.persons[i] else None

    def as_dict(self) -> dict:
        return {
            "interval": self.interval, "range": self.range, "as_of": iso(self.as_of), "segments": list(self.names),
            "points": [{"interval_start": iso(p.start), "interval_end": iso(p.end), "at": iso(p.at), "partial": p.partial,
                        "persons": self.persons[i], "sizes": {n: self.sizes[n][i] for n in self.names}}
                       for i, p in enumerate(self.points)],
        }


def _bits(values, n_masks: int) -> int:
    bits = 0
    for k in range(n_masks):
        bits |= int(values[k] or 0) << (k * MASK_BITS)
    return bits


def history_from_rows(names: list[str], points: list[Point], rows: list[tuple], interval: str, range_text: str,
                      as_of: dt.datetime) -> History:
    """Rows of (instant, mask0[, mask1 …], persons) -> each segment's size at each point."""
    n_masks = (len(names) + MASK_BITS - 1) // MASK_BITS
    index = {p.at: i for i, p in enumerate(points)}
    persons = [0] * len(points)
    sizes = {n: [0] * len(points) for n in names}
    for r in rows:
        i = index[r[0]]
        bits, count = _bits(r[1:1 + n_masks], n_masks), int(r[1 + n_masks])
        persons[i] += count
        for b, n in enumerate(names):
            if bits >> b & 1:
                sizes[n][i] += count
    return History(list(names), interval, range_text, as_of, points, persons, sizes)


def run_history(engine, model, segments, names: list[str], points: list[Point], interval: str, range_text: str,
                as_of: dt.datetime) -> History:
    """Every segment at every point, in one query."""
    sql = to_sql(history_select(model, segments, names, engine.dialect, [p.at for p in points]), engine.dialect, pretty=False)
    try:
        rows = engine.query(sql)
    except EngineError as e:
        raise SegcError(Diagnostic("SEG500", f"evaluating {len(names)} segments at {len(points)} instants failed: {e}", None)) from None
    return history_from_rows(names, points, rows, interval, range_text, as_of)


def _interval_label(p: Point, interval: str) -> str:
    return p.start.strftime("%Y-%m") if interval == "month" else p.start.strftime("%Y-%m-%d")


def render_history(h: History, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(h.as_dict(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":  # long: one row per point and segment
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["at", "interval_start", "interval_end", "partial", "segment", "size", "persons", "share"])
        for i, p in enumerate(h.points):
            for n in h.names:
                share = h.share(n, i)
                w.writerow([iso(p.at), iso(p.start), iso(p.end), str(p.partial).lower(), n, h.sizes[n][i], h.persons[i],
                            "" if share is None else f"{share:.4f}"])
        return buf.getvalue()
    if fmt == "html":
        return render_history_html(h)
    head = {"day": "day", "week": "week of", "month": "month"}[h.interval]
    first = [_interval_label(p, h.interval) for p in h.points]
    at = [_short(p.at) for p in h.points]
    w0, w1 = max(len(head), *map(len, first)), max(len("at (UTC)"), *map(len, at))
    widths = [max(len(n), 7) for n in h.names]
    persons = h.persons[-1] if h.persons else 0
    lines = [(f"{len(h.names)} segment{'s' if len(h.names) != 1 else ''}, {_ADVERB[h.interval]} over {h.range}, "
              f"as of {iso(h.as_of)}: {persons:,} persons"), "",
             "  ".join([f"{head:<{w0}}", f"{'at (UTC)':<{w1}}"] + [f"{n:>{w}}" for n, w in zip(h.names, widths)]).rstrip()]
    for i, p in enumerate(h.points):
        cells = [f"{h.sizes[n][i]:>{w},}" for n, w in zip(h.names, widths)]
        lines.append("  ".join([f"{first[i]:<{w0}}", f"{at[i]:<{w1}}"] + cells + (["partial"] if p.partial else [])))
    return "\n".join(lines) + "\n"


# -- migration -----------------------------------------------------------------------------------------
@dataclass
class Migration:
    names: list[str]  # the segments, in order; `none` is the row and column after them
    t1: dt.datetime
    t2: dt.datetime
    persons: int
    counts: dict[tuple[str, str], int]  # (segment at t1, segment at t2) -> persons; none included
    at_t1: dict[str, int]  # persons in each segment (and in none) at t1: the rows' sizes
    at_t2: dict[str, int]
    overlapping: bool  # some person is in two of the segments at t1 or t2
    partition: str | None = None
    none: str = NONE  # the label of "in none of them" ("(none)" if a segment is called none)

    @property
    def labels(self) -> list[str]:
        return list(self.names) + [self.none]

    def rate(self, a: str, b: str) -> float | None:
        """The share of the persons in a at t1 who are in b at t2."""
        return self.counts[(a, b)] / self.at_t1[a] if self.at_t1[a] else None

    def as_dict(self) -> dict:
        return {
            "from": iso(self.t1), "to": iso(self.t2), "partition": self.partition, "segments": list(self.names),
            "none": self.none, "persons": self.persons, "overlapping": self.overlapping,
            "sizes_from": {a: self.at_t1[a] for a in self.labels}, "sizes_to": {b: self.at_t2[b] for b in self.labels},
            "cells": [{"from": a, "to": b, "persons": self.counts[(a, b)], "rate": self.rate(a, b)}
                      for a in self.labels for b in self.labels],
        }


def migration_from_rows(names: list[str], rows: list[tuple], t1: dt.datetime, t2: dt.datetime,
                        partition: str | None = None) -> Migration:
    """Rows of (masks at t1 …, masks at t2 …, persons) -> the transition counts."""
    n_masks = (len(names) + MASK_BITS - 1) // MASK_BITS
    none = NONE if NONE not in names else "(none)"
    labels = list(names) + [none]
    counts = {(a, b): 0 for a in labels for b in labels}
    at_t1, at_t2 = dict.fromkeys(labels, 0), dict.fromkeys(labels, 0)
    persons, overlapping = 0, False

    def members(bits: int) -> list[str]:
        return [n for b, n in enumerate(names) if bits >> b & 1] or [none]

    for r in rows:
        before, after = members(_bits(r[:n_masks], n_masks)), members(_bits(r[n_masks:2 * n_masks], n_masks))
        n = int(r[2 * n_masks])
        persons += n
        overlapping = overlapping or len(before) > 1 or len(after) > 1
        for a in before:
            at_t1[a] += n
            for b in after:
                counts[(a, b)] += n
        for b in after:
            at_t2[b] += n
    return Migration(list(names), t1, t2, persons, counts, at_t1, at_t2, overlapping, partition, none)


def run_migration(engine, model, segments, names: list[str], t1: dt.datetime, t2: dt.datetime,
                  partition: str | None = None) -> Migration:
    """Every segment at t1 and at t2, persons counted by the pair, in one query."""
    sql = to_sql(migrate_select(model, segments, names, engine.dialect, t1, t2), engine.dialect, pretty=False)
    try:
        rows = engine.query(sql)
    except EngineError as e:
        raise SegcError(Diagnostic("SEG500", f"evaluating {len(names)} segments at {iso(t1)} and {iso(t2)} failed: {e}", None)) from None
    return migration_from_rows(names, rows, t1, t2, partition)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


OVERLAP_NOTE = ("segments overlap: a person in several of them counts in each of their rows and columns, "
                "so a row's rates can add up to more than 100%")


def render_migration(m: Migration, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(m.as_dict(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["from", "to", "persons", "rate", "from_size", "to_size"])
        for a in m.labels:
            for b in m.labels:
                r = m.rate(a, b)
                w.writerow([a, b, m.counts[(a, b)], "" if r is None else f"{r:.4f}", m.at_t1[a], m.at_t2[b]])
        return buf.getvalue()
    if fmt == "html":
        return render_migration_html(m)
    labels = m.labels
    corner = "from \\ to"
    w0 = max(len(corner), len("size"), *map(len, labels))
    widths = [max(len(b), 7) for b in labels]
    what = f"partition {m.partition}" if m.partition else f"{len(m.names)} segment{'s' if len(m.names) != 1 else ''}"
    lines = [f"{what}: {m.persons:,} persons, from {iso(m.t1)} (rows) to {iso(m.t2)} (columns)"]
    if m.overlapping:
        lines.append(f"note: {OVERLAP_NOTE}")

    def table(title: str, cell) -> list[str]:
        out = ["", title, "  ".join([f"{corner:<{w0}}"] + [f"{b:>{w}}" for b, w in zip(labels, widths)] + [f"{'size':>7}"])]
        for a in labels:
            out.append("  ".join([f"{a:<{w0}}"] + [f"{cell(a, b):>{w}}" for b, w in zip(labels, widths)] + [f"{m.at_t1[a]:>7,}"]))
        return out

    lines += table("persons", lambda a, b: f"{m.counts[(a, b)]:,}")
    lines.append("  ".join([f"{'size':<{w0}}"] + [f"{m.at_t2[b]:>{w},}" for b, w in zip(labels, widths)]))
    lines += table("rate (share of the row's persons at the start)", lambda a, b: _pct(m.rate(a, b)))
    return "\n".join(lines) + "\n"


# -- HTML ------------------------------------------------------------------------------------------------
PALETTE = ["#2f6fde", "#e8683f", "#2aa876", "#9b59b6", "#d4a017", "#16a2b8", "#c0392b", "#7f8c8d", "#8e6c3a", "#e84393"]
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 820, 340, 64, 24, 16, 48


def _env():
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("segc.runner", "templates"), autoescape=True)


def _y_axis(top_value: int) -> tuple:
    """A y axis from 0 with round ticks (1, 2, 2.5 or 5 × 10^k apart)."""
    rough = max(top_value, 1) / 4
    p = 10 ** math.floor(math.log10(rough))
    step = next(m * p for m in (1, 2, 2.5, 5, 10) if rough <= m * p)
    step = max(step, 1)
    top = max(step, math.ceil(top_value / step) * step)
    ph = H - PAD_T - PAD_B

    def y(v: float) -> float:
        return round(PAD_T + ph * (top - v) / top, 1)

    n = int(round(top / step))
    return y, [{"y": y(step * i), "label": f"{step * i:,.0f}" if float(step * i).is_integer() else f"{step * i:,.1f}"}
               for i in range(n + 1)]


def history_chart(h: History) -> dict:
    """One line per segment over time (x proportional to the instants); the stretch into the
    partial interval is dashed and its point hollow."""
    times = [p.at for p in h.points]
    t0, t1 = times[0], times[-1]
    pw = W - PAD_L - PAD_R
    span = (t1 - t0).total_seconds()

    def x(t: dt.datetime) -> float:
        return round(PAD_L + (pw / 2 if not span else pw * (t - t0).total_seconds() / span), 1)

    y, ticks = _y_axis(max((v for n in h.names for v in h.sizes[n]), default=0))
    lines = []
    for k, n in enumerate(h.names):
        color = PALETTE[k % len(PALETTE)]
        dots = []
        for i, p in enumerate(h.points):
            share = h.share(n, i)
            dots.append({"x": x(p.at), "y": y(h.sizes[n][i]), "size": h.sizes[n][i], "at": iso(p.at), "partial": p.partial,
                         "title": f"{n} at {_short(p.at)} UTC: {h.sizes[n][i]:,} persons"
                                  + ("" if share is None else f" ({share:.1%})") + (" — partial interval" if p.partial else "")})
        solid = " ".join(f"{d['x']},{d['y']}" for d in dots if not d["partial"])
        dashed = " ".join(f"{d['x']},{d['y']}" for d in dots[-2:]) if len(dots) > 1 and dots[-1]["partial"] else ""
        lines.append({"name": n, "color": color, "dash": "" if k < len(PALETTE) else "6 3", "solid": solid, "dashed": dashed, "dots": dots})
    xlabels, left = [], W  # from the last point back, each label where it does not touch the next one
    for p in reversed(h.points):
        label = _short(p.at)[:10] if p.at.hour == p.at.minute == p.at.second == 0 else _short(p.at)
        width = 6.5 * len(label)  # 11px text
        anchor = "end" if x(p.at) + width / 2 > W - 4 else "middle"  # the last label inside the page
        start = x(p.at) - (width if anchor == "end" else width / 2)
        if start + width + 12 <= left:
            xlabels.insert(0, {"x": x(p.at), "label": label, "anchor": anchor})
            left = start
    return {"lines": lines, "ticks": ticks, "xlabels": xlabels, "zero": y(0)}


def render_history_html(h: History) -> str:
    rows = [{"label": _interval_label(p, h.interval), "at": _short(p.at), "partial": p.partial,
             "sizes": [h.sizes[n][i] for n in h.names], "persons": h.persons[i]} for i, p in enumerate(h.points)]
    return _env().get_template("history.html").render(h=h, chart=history_chart(h), rows=rows, iso=iso, adverb=_ADVERB[h.interval],
                                                     W=W, H=H, PAD_L=PAD_L, PAD_R=PAD_R, PAD_T=PAD_T, PAD_B=PAD_B)


def render_migration_html(m: Migration) -> str:
    cells = []
    for a in m.labels:
        row = []
        for b in m.labels:
            rate = m.rate(a, b)
            shade = 0 if rate is None else round(min(rate, 1.0) * 100)
            row.append({"a": a, "b": b, "persons": m.counts[(a, b)], "rate": rate, "shade": shade, "same": a == b,
                        "title": f"{a} → {b}: {m.counts[(a, b)]:,} persons"
                                 + ("" if rate is None else f", {rate:.1%} of the {m.at_t1[a]:,} in {a} at the start")})
        cells.append({"label": a, "size": m.at_t1[a], "cells": row})
    return _env().get_template("migrate.html").render(m=m, rows=cells, iso=iso, note=OVERLAP_NOTE)
