"""`segc import posthog`: PostHog cohort JSON -> segc segment spec files with the same meaning.

Input: one cohort object, a JSON list of cohorts, or PostHog's API list response
(`{"results": [...]}`). Each cohort's `filters.properties` tree becomes one `where:`
expression; person property values are typed by the target project's model (segc.yml), so
`"30"` becomes `30` for an integer property and an unknown property is an error with a
did-you-mean. A cohort with any part that segc cannot express is not written: every such part
is reported with its JSON path, e.g. `filters.properties.values[0].values[2]: operator
'semver_gt' has no segc equivalent`. The translations are validated as a segc project before
anything is written. Where PostHog and segc differ at the edges (time zones, window
boundaries, ILIKE wildcards, …) see docs/posthog.md.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..diagnostics import Diagnostic, SegcError, did_you_mean
from ..loader.files import write_text
from ..parser import KEYWORDS

CODE = "SEG700"  # a part of a PostHog cohort that does not translate (SEG7xx: imports)
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")  # as segc writes numbers, signed
_ODD_TEXT = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\ufeff]")  # cannot stand in a YAML literal block
_WIDTH = 88  # an and/or longer than this goes one term a line

# PostHog's time_interval -> segc's duration unit; months and years have no fixed length
_UNITS = {"minute": "m", "hour": "h", "day": "d", "week": "w"}
# PostHog's relative dates (`-30d`, posthog.utils.relative_date_parse): kind -> (unit, factor);
# q is 13 weeks there; m (months) and y (years) are calendar lengths
_RELATIVE = {"s": ("s", 1), "M": ("m", 1), "h": ("h", 1), "d": ("d", 1), "w": ("w", 1), "q": ("w", 13)}
_RELATIVE_DATE = re.compile(r"-?(?P<number>[0-9]+)(?P<kind>[A-Za-z])(?P<position>Start|End)?")

_OTHER_TYPES = {  # filter types that look at something segc does not model
    "element": "it tests the clicked element (autocapture)",
    "group": "segc models persons and events, not groups",
    "hogql": "it is a HogQL expression",
    "session": "segc has no sessions",
    "event_metadata": "it tests event metadata",
    "data_warehouse": "it tests a data warehouse table",
    "data_warehouse_person_property": "it tests a data warehouse table joined to persons",
    "recording": "it tests session recordings",
    "feature": "it tests early-access feature enrolment",
    "flag": "it tests a feature flag",
    "person_metadata": "it tests person metadata, not a property",
}


# -- a small expression tree, printed with as few parentheses as the precedence allows ------------
@dataclass(frozen=True)
class Term:
    text: str
    call: bool = False  # a behavioural call or segment(...): `not` needs no parentheses
    opposite: str | None = None  # its exact complement, when segc has a word for it (= / !=)


@dataclass(frozen=True)
class All:
    items: tuple


@dataclass(frozen=True)
class AnyOf:
    items: tuple


@dataclass(frozen=True)
class Negation:
    item: object


def _all(items) -> object:
    items = tuple(x for i in items for x in (i.items if isinstance(i, All) else (i,)))
    return items[0] if len(items) == 1 else All(items)


def _any(items) -> object:
    items = tuple(x for i in items for x in (i.items if isinstance(i, AnyOf) else (i,)))
    return items[0] if len(items) == 1 else AnyOf(items)


def _not(item) -> object:
    # segc's != and not in are the exact complements of = and in (nulls included), as `not` is
    if isinstance(item, Term) and item.opposite:
        return Term(item.opposite, opposite=item.text)
    return Negation(item)


def _compare(left: str, op: str, right: str) -> Term:
    opposite = {"=": "!=", "!=": "=", "in": "not in", "not in": "in"}[op]
    return Term(f"{left} {op} {right}", opposite=f"{left} {opposite} {right}")


def _grouped(item, inside) -> bool:
    # `and` binds tighter than `or`, so only an or inside an and needs them; an and inside an or
    # gets them too, for the reader
    return isinstance(item, AnyOf) if inside is All else isinstance(item, All)


def flat(n) -> str:
    if isinstance(n, Term):
        return n.text
    if isinstance(n, Negation):
        inner = n.item
        return f"not {inner.text}" if isinstance(inner, Term) and inner.call else f"not ({flat(inner)})"
    word = " and " if isinstance(n, All) else " or "
    return word.join(f"({flat(i)})" if _grouped(i, type(n)) else flat(i) for i in n.items)


def lines(n) -> list[str]:
    """The expression over several lines: one term of a long and/or a line, groups indented."""
    text = flat(n)
    if len(text) <= _WIDTH or isinstance(n, Term):
        return [text]
    if isinstance(n, Negation):
        return ["not (", *("  " + x for x in lines(n.item)), ")"]
    word = "and " if isinstance(n, All) else "or "
    out: list[str] = []
    for k, item in enumerate(n.items):
        if _grouped(item, type(n)):
            short = flat(item)
            part = [f"({short})"] if len(short) <= _WIDTH else ["(", *("  " + x for x in lines(item)), ")"]
        else:
            part = lines(item)
        out += [(word if k else "") + part[0], *part[1:]]
    return out


# -- what comes out -----------------------------------------------------------------------------
@dataclass
class Problem:
    path: str  # JSON path inside the cohort: filters.properties.values[0].values[2]
    message: str


@dataclass
class CohortImport:
    """One cohort of the file: what it became, or why it did not."""

    id: object
    name: str
    where: str | None = None  # the segc expression; None when a part does not translate
    segment: str | None = None  # the segment's name
    file: Path | None = None  # where its spec was written
    problems: list[Problem] = field(default_factory=list)
    skipped: str | None = None  # why a cohort with nothing to import (static, deleted) was left out
    position: str = ""  # where it is in the file: [3] or results[3]
    text: str | None = None  # the spec file's text
    references: list = field(default_factory=list)  # (cohort id, JSON path) of segment(...) references

    @property
    def label(self) -> str:
        return f"cohort {self.id} '{self.name}'"


@dataclass
class PosthogImport:
    source: Path
    cohorts: list[CohortImport]
    out: Path

    @property
    def written(self) -> list[Path]:
        return [c.file for c in self.cohorts if c.file is not None]

    @property
    def failed(self) -> list[CohortImport]:
        return [c for c in self.cohorts if c.problems]

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [Diagnostic(CODE, f"{self.source}: {c.label}: {p.path}: {p.message}", None)
                for c in self.cohorts for p in c.problems]


# -- reading the file ----------------------------------------------------------------------------
def read_cohorts(source: Path) -> list[tuple[str, dict]]:
    """(position in the file, cohort object) for each cohort. Raises SegcError when the file is
    not PostHog cohort JSON."""
    def bad(why: str) -> SegcError:
        return SegcError(Diagnostic(CODE, f"{source}: {why}", None))

    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except OSError as e:
        raise bad(f"cannot read the file: {e.strerror}") from None
    except UnicodeDecodeError:
        raise bad("the file is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise bad(f"not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        items, prefix = data["results"], "results"
    elif isinstance(data, list):
        items, prefix = data, ""
    elif isinstance(data, dict) and ("filters" in data or "groups" in data):
        return [("", data)]
    else:
        raise bad("not PostHog cohort JSON: expected a cohort (with 'filters'), a list of cohorts, "
                  "or PostHog's API list response {\"results\": [...]}")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad(f"{prefix}[{i}] is not a cohort object")
        out.append((f"{prefix}[{i}]", item))
    return out


# -- the translation -----------------------------------------------------------------------------
def _positive_int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and int(value) > 0:
        return int(value)
    return None


def string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class Translator:
    """One cohort's filter tree -> expression tree; every part that does not translate is a
    Problem, and the walk goes on so that all of them are reported at once."""

    def __init__(self, model, cohorts: dict[str, "CohortImport"]):
        self.model = model
        self.cohorts = cohorts  # str(id) -> the cohorts of the file
        self.problems: list[Problem] = []
        self.references: list[tuple[str, str]] = []
        self.odd_text = False  # a value that a YAML literal block cannot hold

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))
        return None

    # names and values
    def name(self, key, path: str, what: str) -> str | None:
        if not isinstance(key, str) or not key:
            return self.problem(path, f"{what} needs a name (key)")
        if _IDENT.fullmatch(key) and key.lower() not in KEYWORDS:
            return key
        if "`" in key or "\n" in key:
            return self.problem(path, f"{what} '{key}' cannot be written in segc (a name with ` or a line break)")
        return f"`{key}`"

    def event(self, f: dict, path: str, key_field: str = "key", type_field: str = "event_type") -> str | None:
        kind = f.get(type_field) or "events"
        key = f.get(key_field)
        if kind == "actions":
            return self.problem(path, f"action {key} ({type_field} 'actions') has no segc equivalent: segc names events, "
                                      "not saved actions; write the action's events instead")
        if kind != "events":
            return self.problem(path, f"{type_field} '{kind}' has no segc equivalent")
        if key is None:
            return "any"  # PostHog's "All events"
        if not isinstance(key, str) or not key:
            return self.problem(path, f"'{key_field}' should be an event name")
        names = self.model.events.names
        if names is not None and key not in names:
            hint = did_you_mean(key, names)
            return self.problem(path, f"unknown event '{key}'" + (f" ({hint})" if hint else " (not in model.events.names of segc.yml)"))
        if _IDENT.fullmatch(key) and key.lower() not in KEYWORDS:
            return key
        if _ODD_TEXT.search(key):
            self.odd_text = True
        return string_literal(key)

    def text_value(self, value) -> str:
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = _number_text(value)  # PostHog compares the text of a number with the text
        if _ODD_TEXT.search(value):
            self.odd_text = True
        return string_literal(value)

    def value(self, value, ptype: str, path: str, op: str) -> str | None:
        """A value of the property's type from the model, as a segc literal."""
        if isinstance(value, list) or isinstance(value, dict) or value is None:
            return self.problem(path, f"operator '{op}' needs a single value here, got {json.dumps(value)}")
        if ptype == "string":
            return self.text_value(value)
        if ptype in ("integer", "number"):
            text = value.strip() if isinstance(value, str) else None
            if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)) or (
                    text is not None and not (_NUMBER.fullmatch(text) and math.isfinite(float(text)))):
                return self.problem(path, f"{json.dumps(value)} is not a number (the property is {ptype} in segc.yml)")
            if text is None:
                return _number_text(value)
            return _number_text(int(text)) if re.fullmatch(r"[+-]?[0-9]+", text) else _number_text(float(text))
        if ptype == "boolean":
            if value is True or value in ("true", "True"):
                return "true"
            if value is False or value in ("false", "False"):
                return "false"
            return self.problem(path, f"{json.dumps(value)} is not true or false (the property is boolean in segc.yml)")
        if ptype == "timestamp":
            return self.time(value, path)
        return self.problem(path, f"a property of type {ptype} has no PostHog counterpart")

    def time(self, value, path: str) -> str | None:
        """A PostHog date: relative (`-7d`) -> ago(7d); absolute -> date(...) / timestamp(...), UTC."""
        if not isinstance(value, str) or not value.strip():
            return self.problem(path, f"{json.dumps(value)} is not a date")
        text = value.strip()
        m = _RELATIVE_DATE.fullmatch(text)
        if m:
            duration = self.relative(m, path, text)
            return f"ago({duration})" if duration else None
        try:
            if re.fullmatch(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", text):
                y, mo, d = (int(x) for x in text.split("-"))
                return f"date('{dt.date(y, mo, d).isoformat()}')"
            when = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            return self.problem(path, f"'{text}' is not a date segc can read (YYYY-MM-DD, an ISO-8601 time, or -7d)")
        if when.tzinfo is not None:
            when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
        shown = when.strftime("%Y-%m-%d %H:%M:%S") + (f".{when.microsecond:06d}" if when.microsecond else "")
        return f"timestamp('{shown}')"

    def relative(self, m: re.Match, path: str, text: str) -> str | None:
        kind, number = m.group("kind"), m.group("number")
        if m.group("position"):
            return self.problem(path, f"'{text}' (the {m.group('position').lower()} of a calendar period) has no segc "
                                      "equivalent: segc times are exact instants, not calendar-aligned")
        if kind in ("m", "y"):
            return self.problem(path, f"'{text}' ({'months' if kind == 'm' else 'years'}) has no segc equivalent: segc "
                                      "durations are fixed lengths (no months or years); write it in days")
        if kind not in _RELATIVE:
            return self.problem(path, f"'{text}' is not a relative date segc can read (-30d, -12h, -2w)")
        unit, factor = _RELATIVE[kind]
        return f"{int(number) * factor}{unit}"

    def duration(self, f: dict, path: str, value_field: str, interval_field: str) -> str | None:
        value, interval = f.get(value_field), f.get(interval_field)
        n = _positive_int(value)
        if n is None:
            return self.problem(path, f"'{value_field}' should be a whole number above 0, got {json.dumps(value)}")
        if interval in ("month", "year"):
            return self.problem(path, f"{interval_field} '{interval}' has no segc equivalent: segc durations are fixed "
                                      "lengths (no months or years); write it in days")
        if interval not in _UNITS:
            return self.problem(path, f"'{interval_field}' should be minute, hour, day or week, got {json.dumps(interval)}")
        return f"{n}{_UNITS[interval]}"

    # the tree
    def group(self, g, path: str, scope) -> object | None:
        kind = str(g.get("type", "AND")).upper()
        values = g.get("values")
        if kind not in ("AND", "OR") or not isinstance(values, list):
            return self.problem(path, "a group needs 'type' AND or OR and a list of 'values'")
        if not values:
            return self.problem(path, "an empty group (which PostHog reads as true) has no segc equivalent")
        items = [self.filter(v, f"{path}.values[{i}]", scope) for i, v in enumerate(values)]
        if any(i is None for i in items):
            return None
        return _all(items) if kind == "AND" else _any(items)

    def filter(self, f, path: str, scope) -> object | None:
        """scope: None at the top of a cohort, else the event whose `where` this is."""
        if not isinstance(f, dict):
            return self.problem(path, "expected a filter object")
        if isinstance(f.get("values"), list):
            node = self.group(f, path, scope)
        else:
            kind = f.get("type")
            if kind == "person":
                node = self.property_test(f, path, "person", scope)
            elif kind == "event" and scope is not None:
                node = self.property_test(f, path, "event", scope)
            elif kind in ("behavioral", "behavioural") and scope is None:
                node = self.behaviour(f, path)
            elif kind in ("cohort", "precalculated-cohort", "static-cohort", "dynamic-cohort") and scope is None:
                node = self.cohort_reference(f, path)
            elif kind in _OTHER_TYPES:
                return self.problem(path, f"filter type '{kind}' has no segc equivalent: {_OTHER_TYPES[kind]}")
            elif kind == "event":
                return self.problem(path, "an event property filter outside a behavioural filter has no segc equivalent")
            else:
                return self.problem(path, f"filter type {json.dumps(kind)} has no segc equivalent")
        if node is None:
            return None
        return _not(node) if f.get("negation") is True else node

    def cohort_reference(self, f: dict, path: str):
        key = str(f.get("value"))
        target = self.cohorts.get(key)
        if target is None:
            return self.problem(path, f"cohort {key} is not in this file: import it in the same file (a JSON list of cohorts, or "
                                      "PostHog's API list response) to refer to it as segment(...)")
        if target.skipped:
            return self.problem(path, f"{target.label} is not imported ({target.skipped})")
        self.references.append((key, path))
        negated = f.get("operator") == "not_in"  # an old spelling of negation
        node = Term(f"segment({target.segment})", call=True)
        return _not(node) if negated else node

    def property_test(self, f: dict, path: str, entity: str, scope):
        key = f.get("key")
        props = (self.model.persons if entity == "person" else self.model.events).properties
        if key not in props:
            hint = did_you_mean(str(key), props)
            other = self.model.events.properties if entity == "person" else self.model.persons.properties
            where = (" (it is an event property: filter it inside a behavioural filter)" if entity == "person"
                     else " (it is a person property: give the filter type 'person')") if key in other else ""
            return self.problem(path, f"unknown {entity} property '{key}'" + (f" ({hint})" if hint else where))
        name = self.name(key, path, f"{entity} property")
        if name is None:
            return None
        if entity == "person" and scope is not None:
            name = f"person.{name}"
        return self.test(name, props[key], f, path)

    def test(self, name: str, ptype: str, f: dict, path: str):
        """One property test: PostHog's operator and value, on a property of the model's type."""
        op = f.get("operator") or "exact"
        value = f.get("value")
        vpath = f"{path}.value"
        many = isinstance(value, list)
        if op in ("is_set", "is_not_set"):
            test, other = f"{name} is not null", f"{name} is null"
            return Term(test, opposite=other) if op == "is_set" else Term(other, opposite=test)
        if many and not value and op not in ("between", "not_between"):
            return self.problem(vpath, "an empty list of values (which PostHog reads as true) has no segc equivalent")
        if op in ("exact", "is_not", "in", "not_in"):
            negated = op in ("is_not", "not_in")
            values = value if many else [value]
            literals = [self.value(v, ptype, f"{vpath}[{i}]" if many else vpath, op) for i, v in enumerate(values)]
            if any(x is None for x in literals):
                return None
            if len(literals) == 1:
                return _compare(name, "!=" if negated else "=", literals[0])
            if ptype == "timestamp":  # an `in` list holds literals only, and a time is date(...)
                tests = [_compare(name, "=", x) for x in literals]
                return _all(_not(t) for t in tests) if negated else _any(tests)
            return _compare(name, "not in" if negated else "in", f"({', '.join(literals)})")
        if op in ("icontains", "not_icontains", "icontains_multi", "not_icontains_multi", "regex", "not_regex"):
            if ptype != "string":
                return self.problem(path, f"operator '{op}' on a {ptype} property has no segc equivalent (text tests are for string properties)")
            values = value if many else [value]
            tests = []
            for i, v in enumerate(values):
                where = f"{vpath}[{i}]" if many else vpath
                if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                    return self.problem(where, f"operator '{op}' needs text, got {json.dumps(v)}")
                if op.endswith("regex"):
                    from ..checker import regex_problem

                    why = regex_problem(str(v))
                    if why:
                        return self.problem(where, f"regular expression {json.dumps(str(v))} has no segc equivalent: {why}")
                    tests.append(Term(f"{name} matches {self.text_value(str(v))}"))
                else:
                    tests.append(Term(f"{name} icontains {self.text_value(v)}"))
            if op.startswith("not_"):  # none of them: PostHog's NOT ILIKE / not match include missing values
                return _all(_not(t) for t in tests)
            return _any(tests)
        if op in ("gt", "gte", "lt", "lte", "min", "max", "is_date_before", "is_date_after", "is_date_exact"):
            dated = op.startswith("is_date")
            if dated and ptype != "timestamp":
                return self.problem(path, f"operator '{op}' on a {ptype} property has no segc equivalent (the property is not a timestamp in segc.yml)")
            if not dated and ptype not in ("integer", "number", "timestamp"):
                return self.problem(path, f"operator '{op}' on a {ptype} property has no segc equivalent (segc orders numbers and times only)")
            literal = self.value(value, ptype, vpath, op)
            symbol = {"gt": ">", "gte": ">=", "min": ">=", "lt": "<", "lte": "<=", "max": "<=",
                      "is_date_before": "<", "is_date_after": ">", "is_date_exact": "="}[op]
            return Term(f"{name} {symbol} {literal}") if literal else None
        if op in ("between", "not_between"):
            if ptype not in ("integer", "number", "timestamp"):
                return self.problem(path, f"operator '{op}' on a {ptype} property has no segc equivalent")
            if not many or len(value) != 2:
                return self.problem(vpath, f"operator '{op}' needs two values [min, max]")
            low, high = (self.value(v, ptype, f"{vpath}[{i}]", op) for i, v in enumerate(value))
            if low is None or high is None:
                return None
            if op == "between":
                return Term(f"{name} between {low} and {high}")
            # PostHog: x < min or x > max, false for a missing value (unlike not (x between …))
            return AnyOf((Term(f"{name} < {low}"), Term(f"{name} > {high}")))
        return self.problem(path, f"operator '{op}' has no segc equivalent")

    # behavioural filters
    def event_where(self, f: dict, path: str, event: str) -> str | None | bool:
        """The `where` of a behavioural filter's event filters; '' when there are none, False on a problem."""
        filters = f.get("event_filters")
        if not filters:
            return ""
        epath = f"{path}.event_filters"
        if isinstance(filters, list):
            items = [self.filter(x, f"{epath}[{i}]", event) for i, x in enumerate(filters)]
            if any(i is None for i in items):
                return False
            node = _all(items)
        elif isinstance(filters, dict):
            node = self.filter(filters, epath, event)
            if node is None:
                return False
        else:
            self.problem(epath, "expected a list of event property filters")
            return False
        return f" where {flat(node)}"

    def window(self, f: dict, path: str) -> str | None:
        """The window of a behavioural filter: explicit_datetime[_to], else time_value + time_interval."""
        start = f.get("explicit_datetime")
        if start:
            begin = self.day_bound(start, f"{path}.explicit_datetime", end=False)
            end_value = f.get("explicit_datetime_to")
            if end_value:
                end = self.day_bound(end_value, f"{path}.explicit_datetime_to", end=True)
                return f"between {begin} and {end}" if begin and end else None
            if begin is None:
                return None
            m = re.fullmatch(r"ago\((.*)\)", begin)
            return f"within {m.group(1)}" if m else f"since {begin}"
        d = self.duration(f, path, "time_value", "time_interval")
        return f"within {d}" if d else None

    def day_bound(self, value, path: str, end: bool) -> str | None:
        """An explicit bound of a behavioural filter. PostHog's date ranges run by whole days: an
        absolute date starts at its midnight, and an end date includes its whole day (so it ends
        at the next midnight); relative bounds stay exact in segc (see docs/posthog.md)."""
        text = self.time(value, path)
        if text is None or text.startswith("ago("):
            return text
        day = dt.date.fromisoformat(re.search(r"'([0-9-]{10})", text).group(1))
        return f"date('{(day + dt.timedelta(days=1) if end else day).isoformat()}')"

    def behaviour(self, f: dict, path: str):
        kind = f.get("value")
        handler = getattr(self, f"b_{kind}", None) if isinstance(kind, str) else None
        if handler is None:
            shown = f"'{kind}'" if isinstance(kind, str) else json.dumps(kind)
            return self.problem(path, f"behavioral filter {shown} has no segc equivalent")
        event = self.event(f, path)
        where = self.event_where(f, path, event) if event else ""
        if event is None or where is False:
            handler(f, path, "_", "")  # still report the other parts of this filter
            return None
        return handler(f, path, event, where)

    def b_performed_event(self, f, path, event, where):
        window = self.window(f, path)
        return Term(f"performed({event}{where} {window})", call=True) if window else None

    def b_performed_event_multiple(self, f, path, event, where):
        window = self.window(f, path)
        n = _positive_int(f.get("operator_value"))
        op = f.get("operator") or "exact"
        if n is None:
            return self.problem(f"{path}.operator_value", f"should be a whole number above 0, got {json.dumps(f.get('operator_value'))}")
        if op not in ("gte", "gt", "exact", "eq", "lte", "lt"):
            return self.problem(f"{path}.operator", f"count operator '{op}' has no segc equivalent")
        if window is None:
            return None
        count = f"count({event}{where} {window})"
        # PostHog counts in an events query grouped by person: persons without a matching
        # event are never in it, so "at most n" means 1..n
        return Term({"gte": f"{count} >= {n}", "gt": f"{count} > {n}", "exact": f"{count} = {n}", "eq": f"{count} = {n}",
                     "lte": f"{count} between 1 and {n}" if n > 1 else f"{count} = 1",
                     "lt": f"{count} between 1 and {n - 1}" if n > 2 else f"{count} = 1" if n == 2 else f"{count} < 0"}[op])

    def b_performed_event_first_time(self, f, path, event, where):
        window = self.window(f, path)
        if window is None:
            return None
        first = f"first_time({event})"
        if window.startswith("within "):
            tests = [f"{first} >= ago({window[7:]})"]
        elif window.startswith("since "):
            tests = [f"{first} >= {window[6:]}"]
        else:  # between A and B
            a, b = window[8:].split(" and ", 1)
            tests = [f"{first} >= {a}", f"{first} < {b}"]
        terms = [Term(t) for t in tests]
        if where:  # PostHog's first time for the user: the first such event ever, if it matches the filters
            terms.append(Term(f"first_time({event}{where}) = {first}"))
        return _all(terms)

    def b_performed_event_sequence(self, f, path, event, where):
        second = self.event(f, path, "seq_event", "seq_event_type")
        window = self.window(f, path)
        span = self.duration(f, path, "seq_time_value", "seq_time_interval")
        if where:
            return self.problem(f"{path}.event_filters", "event filters on a sequence have no segc equivalent: PostHog does not "
                                                         "say which step they apply to")
        if None in (second, window, span):
            return None
        return Term(f"sequence({event}, {second} {window} span {span})", call=True)

    def _two_windows(self, f, path):
        if f.get("explicit_datetime"):
            self.problem(f"{path}.explicit_datetime", "explicit_datetime on this filter has no segc equivalent: "
                                                      "give time_value and seq_time_value")
            return None, None
        older = self.duration(f, path, "time_value", "time_interval")
        recent = self.duration(f, path, "seq_time_value", "seq_time_interval")
        if older and recent and _seconds(recent) >= _seconds(older):
            self.problem(path, f"seq_time ({recent}) should be shorter than time ({older})")
            return None, None
        return older, recent

    def b_stopped_performing_event(self, f, path, event, where):
        older, recent = self._two_windows(f, path)
        if not older or not recent:
            return None
        return All((Term(f"performed({event}{where} between ago({older}) and ago({recent}))", call=True),
                    _not(Term(f"performed({event}{where} within {recent})", call=True))))

    def b_restarted_performing_event(self, f, path, event, where):
        # did it before the older bound, not between the two bounds, and again in the recent window
        older, recent = self._two_windows(f, path)
        if not older or not recent:
            return None
        return All((Term(f"performed({event}{where} before ago({older}))", call=True),
                    _not(Term(f"performed({event}{where} between ago({older}) and ago({recent}))", call=True)),
                    Term(f"performed({event}{where} within {recent})", call=True)))

    def b_performed_event_regularly(self, f, path, event, where):
        period = self.duration(f, path, "time_value", "time_interval")
        n = _positive_int(f.get("operator_value"))
        total = _positive_int(f.get("total_periods"))
        least = _positive_int(f.get("min_periods"))
        op = f.get("operator") or "gte"
        for field_name, v in (("operator_value", n), ("total_periods", total), ("min_periods", least)):
            if v is None:
                self.problem(f"{path}.{field_name}", f"should be a whole number above 0, got {json.dumps(f.get(field_name))}")
        if op not in ("gte", "gt"):
            return self.problem(f"{path}.operator", f"'{op}' events per period has no segc equivalent: active_periods counts "
                                                    "periods with at least N events")
        if None in (period, n, total, least):
            return None
        if least > total:
            return self.problem(path, f"min_periods ({least}) is more than total_periods ({total})")
        n = n + 1 if op == "gt" else n
        amount, unit = int(period[:-1]), period[-1]
        minimum = f" min {n}" if n > 1 else ""
        return Term(f"active_periods({event}{where} within {amount * total}{unit} every {period}{minimum}) >= {least}")


def _seconds(duration: str) -> int:
    from ..parser import DURATION_UNITS

    return int(duration[:-1]) * DURATION_UNITS[duration[-1]]


# -- names and files -----------------------------------------------------------------------------
def segment_name(name: str, cohort_id, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or f"cohort_{cohort_id}"
    if base[0].isdigit():
        base = f"cohort_{base}"
    if base in KEYWORDS:
        base = f"{base}_cohort"
    candidates = [base, f"{base}_{cohort_id}"] + [f"{base}_{cohort_id}_{k}" for k in range(2, 1000)]
    chosen = next(c for c in candidates if c not in taken and _IDENT.fullmatch(c))
    taken.add(chosen)
    return chosen


def spec_text(c: CohortImport, source_name: str, description: str | None, block: bool) -> str:
    import yaml

    title = " ".join(str(c.name).split())
    lines_ = [f"# Imported by `segc import posthog` from {source_name}: PostHog cohort {c.id} '{title}'.",
              "# See docs/posthog.md for where PostHog and segc differ at the edges.",
              f"segment: {c.segment}"]
    if description:
        lines_.append(yaml.safe_dump({"description": description}, allow_unicode=True, width=100, default_flow_style=False).rstrip("\n"))
    if block:
        lines_.append("where: |-")
        lines_ += ["  " + x for x in c.where.split("\n")]
    else:
        lines_.append(yaml.safe_dump({"where": c.where}, allow_unicode=True, width=float("inf")).rstrip("\n"))
    lines_.append("tags: [posthog]")
    return "\n".join(lines_) + "\n"


def _spec_folder(project_root: Path) -> str:
    """The first folder of `specs:` in segc.yml (default specs), for the throwaway check."""
    import yaml

    try:
        cfg = yaml.safe_load((project_root / "segc.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return "specs"
    folders = cfg.get("specs", "specs") if isinstance(cfg, dict) else "specs"
    first = folders[0] if isinstance(folders, list) and folders else folders
    return first if isinstance(first, str) and first else "specs"


def import_cohorts(source: str | Path, project_dir: str | Path = ".", out: str | Path | None = None,
                   write: bool = True) -> PosthogImport:
    """Translate every cohort of a PostHog JSON file; write one spec a cohort that translates
    wholly (and whose referenced cohorts do), into `out` (default PROJECT/specs/posthog).
    Raises SegcError when the file or the project cannot be read at all."""
    from .. import api

    source = Path(source)
    project = api.load(project_dir)
    if project.model is None:
        raise SegcError([d for d in project.diagnostics if d.severity == "error"]
                        + [Diagnostic(CODE, "segc.yml has errors: the import needs its model to type the properties", None)])
    out_dir = Path(out) if out is not None else Path(project_dir) / "specs" / "posthog"
    found = read_cohorts(source)

    # names first: references between cohorts need them
    cohorts: list[CohortImport] = []
    by_id: dict[str, CohortImport] = {}
    for position, raw in found:
        c = CohortImport(raw.get("id", position or "?"), str(raw.get("name") or f"cohort {raw.get('id', '?')}"), position=position)
        if raw.get("deleted") is True:
            c.skipped = "deleted in PostHog"
        elif raw.get("is_static") is True:
            c.skipped = "a static cohort: a list of persons, with no definition to import"
        cohorts.append(c)
        if str(c.id) in by_id:
            c.problems.append(Problem("id", f"the file has two cohorts with id {c.id}"))
        by_id.setdefault(str(c.id), c)
    out_resolved = out_dir.resolve()
    taken = {d.name for d in project.definitions if Path(d.path).resolve().parent != out_resolved}
    for c in cohorts:
        if not c.skipped:
            c.segment = segment_name(c.name, c.id, taken)

    descriptions: dict[int, str | None] = {}
    block: dict[int, bool] = {}
    for (position, raw), c in zip(found, cohorts):
        if c.skipped or c.problems:
            continue
        t = Translator(project.model, by_id)
        filters = raw.get("filters")
        if not isinstance(filters, dict) or "properties" not in filters:
            if raw.get("query"):
                t.problem("query", "a cohort defined by a HogQL query has no segc equivalent")
            elif raw.get("groups"):
                t.problem("groups", "PostHog's legacy 'groups' format is not supported: open and save the cohort in "
                                    "PostHog to get 'filters', then export it again")
            else:
                t.problem("filters", "the cohort has no 'filters.properties'")
            node = None
        else:
            props = filters["properties"]
            path = "filters.properties"
            if isinstance(props, list):  # an old flat list: all of them
                items = [t.filter(v, f"{path}[{i}]", None) for i, v in enumerate(props)]
                node = None if any(i is None for i in items) or not items else _all(items)
                if not props:
                    t.problem(path, "an empty filter (which PostHog reads as everyone) has no segc equivalent")
            else:
                node = t.filter(props, path, None)
        c.problems += t.problems
        c.references = t.references
        if node is not None and not c.problems:
            c.where = "\n".join(lines(node))
            block[id(c)] = not t.odd_text
            desc = raw.get("description")
            descriptions[id(c)] = desc.strip() if isinstance(desc, str) and desc.strip() else None

    # a cohort that refers to one that does not translate does not either
    changed = True
    while changed:
        changed = False
        for c in cohorts:
            if c.where is None:
                continue
            for key, path in c.references:
                target = by_id[key]
                if target.where is None:
                    c.problems.append(Problem(path, f"{target.label} is not imported (see its errors)"))
                    c.where = None
                    changed = True
                    break

    ok = [c for c in cohorts if c.where is not None]
    for c in ok:
        c.text = spec_text(c, source.name, descriptions[id(c)], block[id(c)])
    _check_with_segc(project, ok)
    if write:
        for c in cohorts:
            if c.where is not None and c.text is not None:
                c.file = out_dir / f"{c.segment}.yml"
                write_text(c.file, c.text)
    return PosthogImport(source, cohorts, out_dir)


def _check_with_segc(project, cohorts: list[CohortImport]) -> None:
    """Validate the translations as a project of their own (the target's segc.yml and the new
    specs): what segc rejects is reported against its cohort and not written."""
    from .. import api

    if not cohorts:
        return
    with tempfile.TemporaryDirectory(prefix="segc-import-") as tmp:
        root = Path(tmp)
        (root / "segc.yml").write_text((Path(project.root) / "segc.yml").read_text(encoding="utf-8"), encoding="utf-8")
        folder = root / _spec_folder(Path(project.root))
        folder.mkdir(parents=True, exist_ok=True)
        for c in cohorts:
            (folder / f"{c.segment}.yml").write_text(c.text, encoding="utf-8")
        result = api.validate(root)
    by_segment = {c.segment: c for c in cohorts}
    for d in result.errors:
        if d.span is None:
            continue
        c = by_segment.get(Path(d.span.path).stem)
        if c is not None and not any(p.path == "filters.properties" and d.message in p.message for p in c.problems):
            c.problems.append(Problem("filters.properties", f"segc rejects the translation ({d.code} {d.message}): "
                                                            "please report this as a bug of segc import posthog"))
    for name, why in result.failed.items():
        c = by_segment.get(name)
        if c is not None and not c.problems:
            blocker = why.removeprefix("blocked by ").strip()
            other = by_segment.get(blocker)
            c.problems.append(Problem("filters.properties", f"{other.label if other else blocker} is not imported (see its errors)"))
    for c in cohorts:
        if c.problems:
            c.where = None
            c.text = None
