"""Typed IR -> warnings: static analysis of sound segments, after the checker (SEG6xx, severity
"warning"; `segc validate` prints them and exits 0 unless --strict).

- SEG600  a condition that is never true: `age > 30 and age < 20`, `count(x) < 0`,
          `performed(x) and not performed(x)`, `segment(a) and segment(b)` for two segments of
          one partition, `age between 30 and 18`
- SEG601  a condition that is always true: `x = 1 or x != 1`, `count(x) >= 0`
- SEG602  a window that can hold no event: `between ago(7d) and ago(30d)`, `since now()`
- SEG603  a segment that can never have members (its where is never true)
- SEG604  an insight's range that its interval does not divide: `within 90d` with
          `interval: week` (LANGUAGE.md §5's own example, so a warning, not an error)

The meaning is LANGUAGE.md §4's two-valued logic: `=`, `<`, `in`, `between` … are false on a
missing value and `!=`, `not in`, `not` are their exact complements. So `age > 5 or age <= 5`
is not always true (it is false for persons without an age), `x = 1 or x != 1` is, and
`age >= 0 or age < 0` is false for null ages. Each test is read as the set of values of one
operand (nulls included) for which it holds; `and` intersects and `or` unites the sets of the
same operand; a set that is empty is never true, one that is the operand's whole domain always.
Numbers that are not whole (`number`) may hold NaN, which the engines compare differently: a
set is only "every value" when it holds NaN too, as `!=` and `not` do. Text is compared with
`=` and `in` only (orderings depend on collations).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from . import ir
from .diagnostics import Diagnostic, Span

INF = math.inf
_EPOCH = dt.datetime(1970, 1, 1)


# --- sets of values of one operand -----------------------------------------------------------------

@dataclass(frozen=True)
class Values:
    """Values of one operand for which a test holds: numbers or times as intervals (kind "num"),
    text and booleans as a finite or cofinite set (kind "set"), plus null and NaN."""

    kind: str  # num | set
    intervals: tuple = ()  # num: ((lo, lo_closed, hi, hi_closed), …), sorted and disjoint
    items: frozenset = frozenset()  # set: the values (cofinite: the values NOT included)
    cofinite: bool = False
    null: bool = False
    nan: bool = False
    integer: bool = False  # num: whole numbers only
    clock: str | None = None  # num over times: "at" (absolute) or "now" (seconds after now())


def _norm(intervals, integer: bool):
    out = []
    for lo, lc, hi, hc in intervals:
        if integer:
            if math.isfinite(lo):
                lo = math.ceil(lo) if lc or lo != math.floor(lo) else lo + 1
                lc = True
            if math.isfinite(hi):
                hi = math.floor(hi) if hc or hi != math.ceil(hi) else hi - 1
                hc = True
        if lo > hi or (lo == hi and not (lc and hc)):
            continue
        out.append((lo, lc, hi, hc))
    out.sort(key=lambda i: (i[0], not i[1]))
    merged: list = []
    for iv in out:
        if merged:
            lo, lc, hi, hc = merged[-1]
            touching = iv[0] < hi or (iv[0] == hi and (hc or iv[1])) or (integer and iv[0] == hi + 1)
            if touching:
                if iv[2] > hi or (iv[2] == hi and iv[3]):
                    merged[-1] = (lo, lc, iv[2], iv[3])
                continue
        merged.append(iv)
    return tuple(merged)


def _intersect_intervals(a, b, integer):
    # both sorted and disjoint: one sweep, whichever interval ends first moves on
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo1, lc1, hi1, hc1 = a[i]
        lo2, lc2, hi2, hc2 = b[j]
        lo, lc = (lo1, lc1) if lo1 > lo2 else (lo2, lc2) if lo2 > lo1 else (lo1, lc1 and lc2)
        hi, hc = (hi1, hc1) if hi1 < hi2 else (hi2, hc2) if hi2 < hi1 else (hi1, hc1 and hc2)
        out.append((lo, lc, hi, hc))
        if hi1 < hi2 or (hi1 == hi2 and not hc1):
            i += 1
        else:
            j += 1
    return _norm(out, integer)


def _complement_intervals(a, integer):
    out = []
    lo, lc = -INF, True
    for ilo, ilc, ihi, ihc in a:
        out.append((lo, lc, ilo, not ilc))
        lo, lc = ihi, not ihc
    out.append((lo, lc, INF, True))
    return _norm([(l, c if l != -INF else True, h, d if h != INF else True) for l, c, h, d in out
                  if not (l == -INF and h == -INF) and not (l == INF and h == INF)], integer)


def _clock(a: Values, b: Values) -> tuple[bool, str | None]:
    if a.clock and b.clock and a.clock != b.clock:
        return False, None
    return True, a.clock or b.clock


def intersect(a: Values, b: Values) -> Values | None:
    if a.kind != b.kind:
        return None
    if a.kind == "num":
        ok, clock = _clock(a, b)
        if not ok:
            return None
        integer = a.integer or b.integer
        return Values("num", _intersect_intervals(a.intervals, b.intervals, integer), null=a.null and b.null,
                      nan=a.nan and b.nan, integer=integer, clock=clock)
    if not a.cofinite and not b.cofinite:
        items, cof = a.items & b.items, False
    elif a.cofinite and b.cofinite:
        items, cof = a.items | b.items, True
    else:
        fin, co = (a, b) if not a.cofinite else (b, a)
        items, cof = fin.items - co.items, False
    return Values("set", items=frozenset(items), cofinite=cof, null=a.null and b.null)


def complement(a: Values, domain: Values) -> Values:
    """The values of `domain` not in `a` (the meaning of `not`, `!=`, `not in`)."""
    if a.kind == "num":
        inv = Values("num", _complement_intervals(a.intervals, a.integer), null=not a.null, nan=not a.nan,
                     integer=a.integer, clock=a.clock)
        return intersect(inv, domain) or inv
    inv = Values("set", items=a.items, cofinite=not a.cofinite, null=not a.null)
    return intersect(inv, domain) or inv


def union(a: Values, b: Values, domain: Values) -> Values | None:
    if a.kind != b.kind:
        return None
    if a.kind == "num":
        ok, clock = _clock(a, b)
        if not ok:
            return None
        integer = a.integer or b.integer
        return Values("num", _norm(list(a.intervals) + list(b.intervals), integer), null=a.null or b.null,
                      nan=a.nan or b.nan, integer=integer, clock=clock)
    if not a.cofinite and not b.cofinite:
        items, cof = a.items | b.items, False
    elif a.cofinite and b.cofinite:
        items, cof = a.items & b.items, True
    else:
        fin, co = (a, b) if not a.cofinite else (b, a)
        items, cof = co.items - fin.items, True
    return Values("set", items=frozenset(items), cofinite=cof, null=a.null or b.null)


def _combine_all(values: list[Values], kind: str, domain: Values) -> Values | None:
    """The intersection ("and") or union ("or") of many sets of one operand, in one pass for
    intervals (an or-chain of thousands of tests stays linear)."""
    if kind == "or" and all(v.kind == "num" for v in values):
        clocks = {v.clock for v in values if v.clock}
        if len(clocks) > 1:
            return None
        integer = any(v.integer for v in values)
        return Values("num", _norm([iv for v in values for iv in v.intervals], integer), null=any(v.null for v in values),
                      nan=any(v.nan for v in values), integer=integer, clock=next(iter(clocks), None))
    got = values[0]
    for v in values[1:]:
        got = intersect(got, v) if kind == "and" else union(got, v, domain)
        if got is None:
            return None
    return got


def empty(a: Values) -> bool:
    if a.null or a.nan:
        return False
    if a.kind == "num":
        return not a.intervals
    return not a.cofinite and not a.items


def full(a: Values, domain: Values) -> bool:
    rest = complement(a, domain)
    return empty(rest)


# --- the analysis ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Operand:
    key: tuple  # what the operand is, without positions: the same text means the same value
    domain: Values  # every value it can take
    span: Span
    type: str


@dataclass(frozen=True)
class Const:
    value: object
    type: str
    clock: str | None = None  # for times
    explained: bool = False  # fixed by a window or where already warned about


@dataclass
class Truth:
    """What is known of a condition: always / never (explained: a warning already says why), or
    a conjunction ("and") or disjunction ("or") of sets of values of operands, or nothing."""

    kind: str  # true | false | and | or | unknown
    atoms: dict | None = None  # key -> (Values, Operand)
    explained: bool = False


UNKNOWN = Truth("unknown")




def _holds(a, b, op: str) -> bool:
    try:
        return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    except TypeError:
        return False


def _seconds(t: dt.datetime) -> float:
    return (t - _EPOCH).total_seconds()


class Analysis:
    def __init__(self, segments: dict[str, ir.Segment], partitions: dict[str, ir.Partition], source_text, path: str):
        self.segments = segments
        self.partitions = partitions
        self.text = source_text
        self.path = path
        self.warnings: list[Diagnostic] = []
        self.never: set[str] = set()  # segments that can never have members (analysed so far)

    def warn(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.warnings.append(Diagnostic(code, message, span, severity="warning", hint=hint))

    def shown(self, span: Span) -> str:
        t = self.text(span)
        return f"`{t}`" if t and len(t) <= 80 else "this"

    # -- values ---------------------------------------------------------------------------------
    def time_const(self, e: ir.Expr) -> Const | None:
        if isinstance(e, ir.Now):
            return Const(0.0, "timestamp", "now")
        if isinstance(e, ir.Const) and e.type == "timestamp":
            return Const(_seconds(e.value), "timestamp", "at")
        if isinstance(e, ir.Arith) and e.type == "timestamp" and isinstance(e.right, ir.Const) and e.right.type == "duration":
            base = self.time_const(e.left)
            if base is not None:
                d = float(e.right.value)
                return Const(base.value + (d if e.op == "+" else -d), "timestamp", base.clock)
        return None

    def value(self, e: ir.Expr, scope: str) -> Const | Operand | None:
        if isinstance(e, ir.Const):
            if e.type == "timestamp":
                return self.time_const(e)
            return Const(e.value, e.type)
        if e.type == "timestamp":
            c = self.time_const(e)
            if c is not None:
                return c
        if isinstance(e, ir.Negate) and isinstance(e.operand, ir.Const) and isinstance(e.operand.value, (int, float)):
            return Const(-e.operand.value, e.type)
        if isinstance(e, (ir.EventAgg, ir.ActivePeriods)):
            nothing = self.matches_nothing(e)
            if nothing:
                func = e.func if isinstance(e, ir.EventAgg) else "active_periods"
                if func in ("count", "active_days", "active_periods", "persons"):
                    return Const(0, "integer", explained=True)
                if func == "sum":
                    return Const(0, e.type, explained=True)
                if func != "performed":
                    return Const(None, "null", explained=True)
        return Operand((scope, ir.structural_key(e)), self.domain(e), e.span, e.type)

    def domain(self, e: ir.Expr) -> Values:
        t = e.type
        nullable = True
        low = -INF
        if isinstance(e, ir.EventAgg) and e.func in ("count", "active_days", "persons") or isinstance(e, ir.ActivePeriods):
            nullable, low = False, 0
        elif isinstance(e, ir.EventAgg) and e.func == "sum" or isinstance(e, ir.EventAgg) and e.func == "performed" or isinstance(e, (ir.Now,)):
            nullable = False
        if t == "boolean":
            if not isinstance(e, (ir.PersonProp, ir.EventProp, ir.Const)):
                nullable = False  # conditions are never null (docs/decisions.md)
            return Values("set", items=frozenset({True, False}), null=nullable)
        if t == "string":
            return Values("set", cofinite=True, null=nullable)
        if t in ("integer", "number", "timestamp"):
            return Values("num", ((low, True, INF, True),), null=nullable, nan=t == "number", integer=t == "integer")
        return Values("set", cofinite=True, null=True)

    # -- windows --------------------------------------------------------------------------------
    def window_empty(self, w: ir.Window, warn: bool = True) -> bool:
        start = self.time_const(w.start) if w.start is not None else None
        end = self.time_const(w.end) if w.end is not None else Const(0.0, "timestamp", "now")
        why = None
        if start is not None and start.clock == "now" and start.value >= 0:
            why = "it starts at or after now(), and events at or after now() are not counted"
        elif start is not None and end is not None and start.clock == end.clock and end.value <= start.value:
            why = "it ends before or when it starts (a window is [start, end))"
        if why and warn:
            first = w.start.span if w.start is not None else w.end.span
            last = w.end.span if w.end is not None else first
            span = Span(first.path, first.line, first.col, last.end_line, last.end_col) if (last.line, last.col) >= (first.line, first.col) else first
            self.warn("SEG602", f"this window can hold no event: {why}", span)
        return why is not None

    def matches_nothing(self, e) -> bool:
        """A behavioural call that sees no event whatever the data (its window or where)."""
        cached = getattr(self, "_nothing", None)
        if cached is None:
            cached = self._nothing = {}
        k = id(e)
        if k not in cached:
            if isinstance(e, ir.Sequence):
                windows, wheres = [e.window], [s.where for s in e.steps]
            else:
                windows, wheres = [e.filter.window], [e.filter.where]
            result = False
            for w in windows:
                if w is not ir.ALL_HISTORY and self.window_empty(w):
                    result = True
            for where in wheres:
                if where is not None:
                    t = self.cond(where, "event")
                    if t.kind == "false":
                        result = True
            cached[k] = result
        return cached[k]

    # -- conditions -----------------------------------------------------------------------------
    def atom(self, operand: Operand, values: Values, node: ir.Expr) -> Truth:
        if empty(values):
            self.warn("SEG600", f"{self.shown(node.span)} is never true: {self.shown(operand.span)} never takes such a value", node.span)
            return Truth("false", explained=True)
        if full(values, operand.domain):
            self.warn("SEG601", f"{self.shown(node.span)} is always true, for every person"
                      + (" (also those without a value)" if operand.domain.null else ""), node.span)
            return Truth("true", explained=True)
        return Truth("and", {operand.key: (values, operand)})

    def opaque(self, e: ir.Expr, scope: str, value: bool = True) -> Truth:
        op = Operand((scope, ir.structural_key(e)), Values("set", items=frozenset({True, False})), e.span, "boolean")
        return Truth("and", {op.key: (Values("set", items=frozenset({value})), op)})

    def cond(self, e: ir.Expr, scope: str) -> Truth:
        if isinstance(e, ir.Const):
            return Truth("true" if e.value else "false", explained=True)
        if isinstance(e, ir.Not):
            return self.negate(self.cond(e.operand, scope))
        if isinstance(e, ir.And):
            return self.combine(e, [self.cond(x, scope) for x in e.items], "and", scope)
        if isinstance(e, ir.Or):
            return self.combine(e, [self.cond(x, scope) for x in e.items], "or", scope)
        if isinstance(e, ir.SegmentRef):
            if e.name in self.never:
                return Truth("false", explained=True)
            return self.opaque(e, scope)
        if isinstance(e, (ir.EventAgg, ir.Sequence)) and e.type == "boolean":
            if self.matches_nothing(e):
                return Truth("false", explained=True)
            return self.opaque(e, scope)
        if isinstance(e, (ir.PersonProp, ir.EventProp)) and e.type == "boolean":
            v = self.value(e, scope)
            return self.atom(v, Values("set", items=frozenset({True})), e)
        if isinstance(e, ir.IsNull):
            v = self.value(e.operand, scope)
            if not isinstance(v, Operand):
                return UNKNOWN
            d = v.domain
            values = intersect(Values(d.kind, null=True, integer=d.integer, clock=d.clock), d)
            return self.atom(v, complement(values, d) if e.negated else values, e)
        if isinstance(e, ir.Compare):
            return self.compare(e, scope)
        if isinstance(e, ir.InList):
            v = self.value(e.operand, scope)
            if not isinstance(v, Operand):
                return UNKNOWN
            if v.domain.kind == "num":
                values = Values("num", _norm([(float(x), True, float(x), True) for x in e.values], v.domain.integer),
                                integer=v.domain.integer)
            else:
                values = Values("set", items=frozenset(e.values))
            values = intersect(values, v.domain) or values
            return self.atom(v, complement(values, v.domain) if e.negated else values, e)
        if isinstance(e, ir.Between):
            v, lo, hi = self.value(e.operand, scope), self.value(e.low, scope), self.value(e.high, scope)
            if not (isinstance(v, Operand) and isinstance(lo, Const) and isinstance(hi, Const)) or v.domain.kind != "num":
                return UNKNOWN
            if lo.value is None or hi.value is None or not isinstance(lo.value, (int, float)) or not isinstance(hi.value, (int, float)):
                return UNKNOWN
            if lo.clock != hi.clock:
                return UNKNOWN
            values = Values("num", _norm([(float(lo.value), True, float(hi.value), True)], v.domain.integer),
                            integer=v.domain.integer, clock=lo.clock)
            got = intersect(values, v.domain)
            return self.atom(v, got, e) if got is not None else UNKNOWN
        return UNKNOWN

    def compare(self, e: ir.Compare, scope: str) -> Truth:
        left, right = self.value(e.left, scope), self.value(e.right, scope)
        op = e.op
        if isinstance(left, Const) and isinstance(right, Operand):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if isinstance(left, Const) and isinstance(right, Const):
            return self.constant_compare(e, left, right, op)
        if not (isinstance(left, Operand) and isinstance(right, Const)):
            return UNKNOWN
        d = left.domain
        c = right.value
        if c is None:  # a call over no event (avg, first_time …) compared: never true, as with null
            return Truth("false" if op != "!=" else "true", explained=True)
        if d.kind == "set":
            if op not in ("=", "!="):
                return UNKNOWN
            values = intersect(Values("set", items=frozenset({c})), d)
            return self.atom(left, complement(values, d) if op == "!=" else values, e)
        if isinstance(c, bool) or not isinstance(c, (int, float)) or (isinstance(c, float) and math.isnan(c)):
            return UNKNOWN
        if d.clock is None and right.clock is not None and d.intervals != ((-INF, True, INF, True),):
            return UNKNOWN
        c = float(c)
        iv = {"=": (c, True, c, True), "!=": (c, True, c, True), "<": (-INF, True, c, False), "<=": (-INF, True, c, True),
              ">": (c, False, INF, True), ">=": (c, True, INF, True)}[op]
        values = Values("num", _norm([iv], d.integer), integer=d.integer, clock=right.clock)
        values = intersect(values, Values("num", d.intervals, integer=d.integer, clock=right.clock))
        if values is None:
            return UNKNOWN
        return self.atom(left, complement(values, d) if op == "!=" else values, e)

    def constant_compare(self, e: ir.Compare, a: Const, b: Const, op: str) -> Truth:
        if a.value is None or b.value is None:
            return Truth("false" if op != "!=" else "true", explained=True)
        if a.clock != b.clock or ((isinstance(a.value, str) or isinstance(b.value, str)) and op not in ("=", "!=")):
            return UNKNOWN  # text orders follow the database's collation
        if a.explained or b.explained:
            return Truth("true" if _holds(a.value, b.value, op) else "false", explained=True)
        try:
            holds = {"=": a.value == b.value, "!=": a.value != b.value, "<": a.value < b.value, "<=": a.value <= b.value,
                     ">": a.value > b.value, ">=": a.value >= b.value}[op]
        except TypeError:
            return UNKNOWN
        self.warn("SEG600" if not holds else "SEG601", f"{self.shown(e.span)} is {'never' if not holds else 'always'} true: it compares values fixed in advance", e.span)
        return Truth("true" if holds else "false", explained=True)

    def negate(self, t: Truth) -> Truth:
        if t.kind in ("true", "false"):
            return Truth("false" if t.kind == "true" else "true", explained=t.explained)
        if t.kind in ("and", "or"):
            atoms = {k: (complement(v, op.domain), op) for k, (v, op) in t.atoms.items()}
            kind = "or" if t.kind == "and" else "and"
            if len(atoms) == 1:
                kind = "and"
            return Truth(kind, atoms)
        return UNKNOWN

    def combine(self, e: ir.Expr, parts: list[Truth], kind: str, scope: str) -> Truth:
        absorbing, neutral = ("false", "true") if kind == "and" else ("true", "false")
        groups: dict = {}  # operand -> [(values, operand)] of the parts that test it
        for t, item in zip(parts, e.items):
            if t.kind == absorbing:
                return Truth(absorbing, explained=True)
            if t.kind in (neutral, "unknown"):
                continue
            if t.kind != kind and len(t.atoms) > 1:
                t = self.opaque(item, scope)  # an `or` inside an `and` (or the reverse): one opaque test
            for k, pair in t.atoms.items():
                groups.setdefault(k, []).append(pair)
        atoms: dict = {}
        merged_from: set = set()
        lost = False  # tests of one operand that cannot be combined (times since now() and since a date)
        for k, pairs in groups.items():
            op = pairs[0][1]
            if len(pairs) == 1:
                atoms[k] = pairs[0]
                continue
            got = _combine_all([v for v, _ in pairs], kind, op.domain)
            if got is None:
                lost = True
                continue
            atoms[k] = (got, op)
            merged_from.add(k)
        for k, (v, op) in atoms.items():
            if k not in merged_from:
                continue
            if kind == "and" and empty(v):
                self.warn("SEG600", f"{self.shown(e.span)} is never true: its tests of {self.shown(op.span)} cannot all hold", e.span)
                return Truth("false", explained=True)
            if kind == "or" and full(v, op.domain):
                also = " (also those without a value)" if op.domain.null else ""
                self.warn("SEG601", f"{self.shown(e.span)} is always true: its tests of {self.shown(op.span)} hold for every person{also}", e.span)
                return Truth("true", explained=True)
        if kind == "and":
            clash = self.disjoint_segments(atoms)
            if clash:
                a, b, p = clash
                self.warn("SEG600", f"{self.shown(e.span)} is never true: '{a}' and '{b}' are segments of the partition '{p}', which share no member", e.span)
                return Truth("false", explained=True)
        if not atoms:
            return UNKNOWN if lost or any(t.kind == "unknown" for t in parts) else Truth(neutral, explained=True)
        if lost or any(t.kind == "unknown" for t in parts):
            # unknown parts make an `and` smaller and an `or` larger: emptiness and fullness were
            # found above on the known parts only where they suffice; the whole is not a set
            return UNKNOWN
        return Truth(kind, atoms)

    def disjoint_segments(self, atoms: dict):
        members = [op.key[1][1] for k, (v, op) in atoms.items()
                   if isinstance(op.key[1], tuple) and op.key[1][:1] == ("SegmentRef",) and v.items == frozenset({True}) and not v.cofinite]
        if len(members) < 2:
            return None
        for p in self.partitions.values():
            inside = [m for m in members if m in p.segments]
            if len(inside) >= 2:
                return inside[0], inside[1], p.name
        return None


def static_warnings(result) -> list[Diagnostic]:
    """The warnings of every sound segment of a checked project (a segc.checker.CheckResult)."""
    segments = result.segments()
    partitions = {n: d for n, d in result.definitions.items() if isinstance(d, ir.Partition)}
    sources = result.project.sources

    def text(span: Span) -> str | None:
        if span.end_line != span.line:
            return None
        line = sources.line(span.path, span.line)
        return " ".join(line[span.col - 1:span.end_col - 1].split()) if line is not None else None

    out: list[Diagnostic] = []
    never: set[str] = set()
    for name in _dependency_order(segments):
        seg = segments[name]
        a = Analysis(segments, partitions, text, seg.path)
        a.never = never
        try:
            truth = a.cond(seg.where, "person")
        except (RecursionError, OverflowError, ValueError, ArithmeticError):
            continue  # a warning is a courtesy: an expression it cannot follow gets none
        if truth.kind == "false":
            never.add(name)
            a.warn("SEG603", f"segment '{name}' can never have members: its where is never true", seg.where.span)
        out.extend(_dedupe(a.warnings))
    out.extend(range_warnings(result))
    return out


_WEEK = 7 * 86400


def range_warnings(result) -> list[Diagnostic]:
    """SEG604 for each sound weekly insight whose range has a fixed length (`within 90d`,
    `between ago(90d) and ago(7d)`) that is not a whole number of weeks: its weeks then cover
    it unevenly, and the first one is cut. A range that is not whole days, and date bounds off an
    interval start, are errors already (SEG331), so days never get here; a month has no fixed
    length, so month intervals are left alone."""
    out = []
    bodies = {d.name: d.body for d in result.project.definitions if d.kind == "insight"}
    for name, node in result.definitions.items():
        if not isinstance(node, ir.Insight) or node.range is None or node.interval != "week" or node.range.start is None:
            continue
        ry = bodies[name].get("range") if name in bodies else None
        a = Analysis({}, {}, lambda span: None, node.path)
        start = a.time_const(node.range.start)
        end = a.time_const(node.range.end) if node.range.end is not None else Const(0.0, "timestamp", "now")
        if ry is None or start is None or end is None or start.clock != end.clock:
            continue
        length = int(end.value - start.value)
        if length <= 0 or length % 86400 or length % _WEEK == 0:
            continue
        weeks, days = divmod(length // 86400, 7)
        out.append(Diagnostic(
            "SEG604", f"a range of {length // 86400}d does not divide into weeks "
                      + (f"({weeks}w {days}d)" if weeks else "(it is shorter than one)"),
            ry.span, severity="warning",
            hint=f"a range of {weeks + 1}w ({(weeks + 1) * 7}d)" + (f" or {weeks}w ({weeks * 7}d)" if weeks else "")
                 + " divides into weeks"))
    return out


def add_static_warnings(result):
    """Add the warnings to a CheckResult's diagnostics (kept in file order); returns it."""
    from .diagnostics import sort_key

    result.diagnostics.extend(static_warnings(result))
    result.diagnostics.sort(key=sort_key)
    return result


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    out = []
    for d in diags:
        k = (d.code, d.span, d.message)
        if k not in seen:
            seen.add(k)
            out.append(d)
    return out


def _dependency_order(segments: dict[str, ir.Segment]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}
    for root in segments:
        stack = [(root, iter(segments[root].depends_on))]
        if state.get(root):
            continue
        state[root] = 1
        while stack:
            name, deps = stack[-1]
            nxt = next(deps, None)
            if nxt is None:
                stack.pop()
                state[name] = 2
                order.append(name)
            elif nxt in segments and not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(segments[nxt].depends_on)))
    return order
