"""A reference evaluator for segments, written from LANGUAGE.md §3–4 alone.

It shares no code with segc/compiler: it walks the typed IR (segc/ir.py) over plain Python
rows and answers "who is a member of each segment" the slow, obvious way, so the SQL that the
compiler makes for DuckDB, PostgreSQL and ClickHouse can be checked against it.

    members = evaluate(model, segments, persons, events, as_of)   # name -> set of person keys

`persons` and `events` are lists of dicts keyed by column name, as they are loaded into the
tables. When the model says `properties_json: col`, the declared properties are read from
that column (a JSON text or a dict); timestamps in JSON are 'YYYY-MM-DD HH:MM:SS[.ffffff]'.

The rules, each from LANGUAGE.md:
- the universe is every persons row; behaviour looks only at events whose person is in the
  persons table and whose time is before now() (§4);
- two-valued logic: = < <= > >= in between and the text tests are false on null; != , not in
  and not are their exact complements; a bare boolean property that is null is not true (§4);
- `/` is true division, x / 0 is null; arithmetic with a null operand is null (§4);
- aggregates skip nulls: sum of none is 0, avg/min/max/first_time/last_time of none are null,
  count of none is 0; active_days counts distinct UTC dates (§3);
- windows are half-open [start, end); `within D` = [now - D, now) (§3);
- active_periods: period k = [now - (k+1)·D, now - k·D); the window selects events first (§3, §4);
- sequence: strictly increasing times, all in the window, the last at most span after the
  first (inclusive); any occurrence of the first step may start the chain (§3, §4);
- text tests are literal; icontains is case-insensitive (every letter, not only A-Z); matches
  is a regular-expression search (§4) in which `$` is the end of the text and `.` matches a
  newline too (§4 is silent on both: these are what PostgreSQL's ~ and ClickHouse's match()
  do, and what the compiler makes DuckDB do).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from segc import ir

MICRO = dt.timedelta(microseconds=1)


# ---------------------------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------------------------
def parse_ts(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def typed(value: Any, type_: str) -> Any:
    """A JSON (or column) value as the model's type says it is."""
    if value is None:
        return None
    if type_ == "timestamp":
        return parse_ts(value) if isinstance(value, str) else value
    if type_ == "number":
        return float(value)
    if type_ == "integer":
        return int(value)
    return value


def _json(doc: Any) -> dict:
    if doc is None:
        return {}
    if isinstance(doc, str):
        doc = json.loads(doc)
    return doc if isinstance(doc, dict) else {}


def _dollar_end(pattern: str) -> str:
    """The pattern with every unescaped `$` outside a [class] made `\\Z`: in RE2 and PostgreSQL
    `$` is the very end of the text; Python's `$` also matches before a final newline."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            # a ']' (or '^]') right after '[' is a literal member of the class
            if pattern[i : i + 1] == "^":
                out.append("^")
                i += 1
            if pattern[i : i + 1] == "]":
                out.append("]")
                i += 1
            continue
        elif ch == "$":
            out.append(r"\Z")
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


_REGEX_CACHE: dict[str, re.Pattern] = {}


def regex_search(pattern: str, text: str) -> bool:
    rx = _REGEX_CACHE.get(pattern)
    if rx is None:
        # `.` matches a newline too, as PostgreSQL's ~ and ClickHouse's match() do by default
        # (LANGUAGE.md is silent; the engines must agree, and two of three do this)
        rx = _REGEX_CACHE[pattern] = re.compile(_dollar_end(pattern), re.DOTALL)
    return rx.search(text) is not None


_ORDER = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "=": lambda a, b: a == b,
}


# ---------------------------------------------------------------------------------------------
# the evaluator
# ---------------------------------------------------------------------------------------------
@dataclass
class _Event:
    name: str | None
    ts: dt.datetime
    row: dict
    doc: dict | None = None  # the parsed properties_json, when the model has one


class Reference:
    def __init__(self, model, segments: dict[str, ir.Segment], persons: list[dict], events: list[dict], as_of: dt.datetime):
        self.m = model
        self.segments = segments
        self.as_of = as_of
        self.persons = persons
        pkey = model.persons.key
        known = {p[pkey] for p in persons}
        ev = model.events
        # events that exist for the evaluation: a known person, a time before now()
        self.events_of: dict[Any, list[_Event]] = {k: [] for k in known}
        for row in events:
            who, ts = row.get(ev.person), row.get(ev.timestamp)
            if who is None or who not in known or ts is None or not ts < as_of:
                continue
            self.events_of[who].append(_Event(row.get(ev.event), ts, row))
        for lst in self.events_of.values():
            lst.sort(key=lambda e: e.ts)
        self._member: dict[str, set] = {}
        self._pprops: dict[int, dict] = {}

    # -- properties -------------------------------------------------------------------------
    def person_prop(self, person: dict, name: str, type_: str) -> Any:
        js = self.m.persons.properties_json
        if js:
            cache = self._pprops.get(id(person))
            if cache is None:
                cache = self._pprops[id(person)] = _json(person.get(js))
            return typed(cache.get(name), type_)
        return typed(person.get(name), type_)

    def event_prop(self, event: _Event, name: str, type_: str) -> Any:
        js = self.m.events.properties_json
        if js:
            if event.doc is None:
                event.doc = _json(event.row.get(js))
            return typed(event.doc.get(name), type_)
        return typed(event.row.get(name), type_)

    # -- membership -------------------------------------------------------------------------
    def members(self, name: str) -> set:
        if name not in self._member:
            seg = self.segments[name]
            key = self.m.persons.key
            self._member[name] = {p[key] for p in self.persons if self.truth(seg.where, p, None)}
        return self._member[name]

    def is_member(self, name: str, person: dict) -> bool:
        return person[self.m.persons.key] in self.members(name)

    # -- booleans: always True or False -----------------------------------------------------
    def truth(self, e: ir.Expr, person: dict, event: _Event | None) -> bool:
        if isinstance(e, ir.Const):
            return e.value is True
        if isinstance(e, (ir.PersonProp, ir.EventProp)):
            return self.value(e, person, event) is True  # null is not true
        if isinstance(e, ir.Not):
            return not self.truth(e.operand, person, event)
        if isinstance(e, ir.And):
            return all(self.truth(x, person, event) for x in e.items)
        if isinstance(e, ir.Or):
            return any(self.truth(x, person, event) for x in e.items)
        if isinstance(e, ir.SegmentRef):
            return self.is_member(e.name, person)
        if isinstance(e, ir.Compare):
            a, b = self.value(e.left, person, event), self.value(e.right, person, event)
            if e.op in ("!=", "<>"):
                return not (a is not None and b is not None and a == b)
            if a is None or b is None:
                return False
            return _ORDER[e.op](a, b)
        if isinstance(e, ir.InList):
            v = self.value(e.operand, person, event)
            hit = v is not None and any(_same(v, x) for x in e.values)
            return not hit if e.negated else hit
        if isinstance(e, ir.Between):
            v, lo, hi = (self.value(x, person, event) for x in (e.operand, e.low, e.high))
            return v is not None and lo is not None and hi is not None and lo <= v <= hi
        if isinstance(e, ir.IsNull):
            v = self.value(e.operand, person, event)
            return (v is not None) if e.negated else (v is None)
        if isinstance(e, ir.TextTest):
            v = self.value(e.operand, person, event)
            if v is None:
                return False
            p = e.pattern
            if e.op == "starts_with":
                return v.startswith(p)
            if e.op == "ends_with":
                return v.endswith(p)
            if e.op == "contains":
                return p in v
            if e.op == "icontains":
                return p.lower() in v.lower()
            if e.op == "matches":
                return regex_search(p, v)
            raise AssertionError(e.op)
        if isinstance(e, ir.EventAgg) and e.func == "performed":
            return bool(self.matching(e.filter, person))
        if isinstance(e, ir.Sequence):
            return self.sequence(e, person)
        raise NotImplementedError(f"truth of {type(e).__name__}")

    # -- values: None is null ---------------------------------------------------------------
    def value(self, e: ir.Expr, person: dict, event: _Event | None) -> Any:
        if e.type == "boolean" and not isinstance(e, (ir.Const, ir.PersonProp, ir.EventProp)):
            return self.truth(e, person, event)
        if isinstance(e, ir.Const):
            return e.value
        if isinstance(e, ir.Now):
            return self.as_of
        if isinstance(e, ir.PersonProp):
            return self.person_prop(person, e.name, e.type)
        if isinstance(e, ir.EventProp):
            assert event is not None, "an event property outside a call"
            return self.event_prop(event, e.name, e.type)
        if isinstance(e, ir.Negate):
            v = self.value(e.operand, person, event)
            return None if v is None else -v
        if isinstance(e, ir.Arith):
            a, b = self.value(e.left, person, event), self.value(e.right, person, event)
            if a is None or b is None:
                return None
            if e.type == "timestamp":
                # the checker puts the timestamp on the left, the duration (seconds) on the right
                d = dt.timedelta(seconds=b)
                return a - d if e.op == "-" else a + d
            if e.op == "+":
                return a + b
            if e.op == "-":
                return a - b
            if e.op == "*":
                return a * b
            if e.op == "/":
                return None if b == 0 else float(a) / float(b)
            raise AssertionError(e.op)
        if isinstance(e, ir.EventAgg):
            return self.aggregate(e, person)
        if isinstance(e, ir.ActivePeriods):
            return self.active_periods(e, person)
        raise NotImplementedError(f"value of {type(e).__name__}")

    # -- behaviour --------------------------------------------------------------------------
    def in_window(self, w: ir.Window, ts: dt.datetime, person: dict) -> bool:
        if w.start is not None:
            s = self.value(w.start, person, None)
            if s is None or not s <= ts:
                return False
        if w.end is not None:
            t = self.value(w.end, person, None)
            if t is None or not ts < t:
                return False
        return True

    def step_matches(self, name: str | None, where: ir.Expr | None, ev: _Event, person: dict) -> bool:
        if name is not None and ev.name != name:
            return False
        return where is None or self.truth(where, person, ev)

    def matching(self, f: ir.EventFilter, person: dict) -> list[_Event]:
        key = person[self.m.persons.key]
        return [
            ev for ev in self.events_of[key]
            if self.step_matches(f.event, f.where, ev, person) and self.in_window(f.window, ev.ts, person)
        ]

    def aggregate(self, e: ir.EventAgg, person: dict) -> Any:
        evs = self.matching(e.filter, person)
        f = e.func
        if f == "performed":
            return bool(evs)
        if f == "count":
            return len(evs)
        if f == "first_time":
            return min((x.ts for x in evs), default=None)
        if f == "last_time":
            return max((x.ts for x in evs), default=None)
        if f == "active_days":
            return len({x.ts.date() for x in evs})
        values = [v for v in (self.event_prop(x, e.prop.name, e.prop.type) for x in evs) if v is not None]
        if f == "sum":
            return sum(values) if values else (0.0 if e.type == "number" else 0)
        if not values:
            return None
        if f == "avg":
            return sum(values) / len(values)
        if f == "min":
            return min(values)
        if f == "max":
            return max(values)
        raise NotImplementedError(f)

    def active_periods(self, e: ir.ActivePeriods, person: dict) -> int:
        period = dt.timedelta(seconds=e.every_seconds)
        counts: dict[int, int] = {}
        for ev in self.matching(e.filter, person):
            age = self.as_of - ev.ts  # > 0: events at or after now() do not exist
            # ev in [now - (k+1)·D, now - k·D)  <=>  k·D < age <= (k+1)·D
            k = -(-age // period) - 1
            assert k * period < age <= (k + 1) * period
            counts[k] = counts.get(k, 0) + 1
        return sum(1 for n in counts.values() if n >= e.min_events)

    def sequence(self, e: ir.Sequence, person: dict) -> bool:
        key = person[self.m.persons.key]
        evs = [ev for ev in self.events_of[key] if self.in_window(e.window, ev.ts, person)]
        per_step = [
            [ev.ts for ev in evs if self.step_matches(s.event, s.where, ev, person)] for s in e.steps
        ]
        span = dt.timedelta(seconds=e.span_seconds) if e.span_seconds is not None else None
        # Every occurrence of step 1 may start the chain. From a start, taking for each next step
        # its earliest time strictly after the previous one is never worse than any other
        # choice (a later pick only leaves fewer candidates and a later end), so a chain within
        # the span exists iff this one is within it.
        for t1 in per_step[0]:
            last = t1
            for times in per_step[1:]:
                last = next((t for t in times if t > last), None)
                if last is None:
                    break
            if last is not None and (span is None or last - t1 <= span):
                return True
        return False


def _same(v: Any, x: Any) -> bool:
    if isinstance(v, bool) != isinstance(x, bool):
        return False
    return v == x


def evaluate(model, segments: dict[str, ir.Segment], persons: list[dict], events: list[dict], as_of: dt.datetime,
             names: list[str] | None = None) -> dict[str, set]:
    """Each segment's set of member keys (of `names`, or of every segment)."""
    ref = Reference(model, segments, persons, events, as_of)
    return {n: set(ref.members(n)) for n in (names if names is not None else segments)}
