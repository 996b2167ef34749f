"""Located spec + AST -> typed, frozen IR and diagnostics: names resolved with the scopes of
LANGUAGE.md §3, every node typed against the model, segment references resolved across files,
cycles found. A definition with errors fails alone, with the definitions that depend on it."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from . import ast as A
from . import ir
from .diagnostics import Diagnostic, Span, a_kind, did_you_mean, sort_key
from .loader.located import Y
from .loader.project import Definition, Model, Project
from .parser import ExpressionError, parse_expression

NUMERIC = ir.NUMERIC


@dataclass(frozen=True)
class Scope:
    kind: str  # person | event | formula
    event: str | None = None  # the call's event inside `where`
    insight: bool = False  # persons(...) allowed
    series: frozenset[str] = frozenset()


PERSON = Scope("person")


@dataclass
class CheckResult:
    """The checked project: IR for every definition that is sound, and what is wrong."""

    project: Project
    definitions: dict[str, ir.Definition] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # name -> "errors" | "blocked by X"
    tests: list = field(default_factory=list)  # segc.testing.UnitTest: the unit tests of `segc test`

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def segments(self) -> dict[str, ir.Segment]:
        return {n: d for n, d in self.definitions.items() if isinstance(d, ir.Segment)}


class _Fail(Exception):
    """A node could not be typed; the diagnostic is already recorded."""


class Checker:
    def __init__(self, model: Model, diags: list[Diagnostic]):
        self.model = model
        self.diags = diags

    def error(self, code: str, message: str, span: Span, hint: str | None = None):
        self.diags.append(Diagnostic(code, message, span, hint=hint))
        raise _Fail()

    # -- names -------------------------------------------------------------------------------
    def person_prop(self, name: str, span: Span, written: str | None = None) -> ir.PersonProp:
        props = self.model.persons.properties
        if name not in props:
            hint = did_you_mean(name, props)
            if hint is None and name in self.model.events.properties:
                hint = f"'{name}' is an event property: use it inside a call's where, e.g. performed(any where {name} …)"
            self.error("SEG300", f"unknown person property '{written or name}'", span, hint)
        return ir.PersonProp(span, name, props[name])

    def event_prop(self, name: str, span: Span) -> ir.EventProp:
        props = self.model.events.properties
        if name not in props:
            hint = did_you_mean(name, props)
            if hint is None and name in self.model.persons.properties:
                hint = f"'{name}' is a person property: write person.{name}"
            self.error("SEG301", f"unknown event property '{name}'", span, hint)
        return ir.EventProp(span, name, props[name])

    def event_name(self, ref: A.EventRef) -> str | None:
        names = self.model.events.names
        if ref.name is not None and names is not None and ref.name not in names:
            self.error("SEG302", f"unknown event '{ref.name}'", ref.span, did_you_mean(ref.name, names))
        return ref.name

    # -- expressions -------------------------------------------------------------------------
    def boolean(self, node: A.Node, scope: Scope, what: str) -> ir.Expr:
        e = self.expr(node, scope)
        if e.type != "boolean":
            self.error("SEG309", f"{what} must be true or false, but this is {_a(e.type)}", node.span)
        return e

    def expr(self, node: A.Node, scope: Scope) -> ir.Expr:
        method = getattr(self, "_" + type(node).__name__)
        return method(node, scope)

    def _Paren(self, n: A.Paren, scope):
        return self.expr(n.inner, scope)

    def _Literal(self, n: A.Literal, scope):
        return ir.Const(n.span, n.value, n.type)

    def _Duration(self, n: A.Duration, scope):
        return ir.Const(n.span, n.seconds, "duration")

    def _TimeLiteral(self, n: A.TimeLiteral, scope):
        return ir.Const(n.span, n.value, "timestamp")

    def _Now(self, n: A.Now, scope):
        return ir.Now(n.span)

    def _Ago(self, n: A.Ago, scope):
        arg = self.expr(n.arg, scope)
        if arg.type != "duration":
            self.error("SEG306", f"ago() takes a duration like 7d, not {_a(arg.type)}", n.arg.span)
        return ir.Arith(n.span, "-", ir.Now(n.span), arg, "timestamp")

    def _Property(self, n: A.Property, scope: Scope):
        q = n.qualifier
        if scope.kind == "formula":
            if q is None and n.name in scope.series:
                return ir.SeriesRef(n.span, n.name)
            self.error("SEG303", f"unknown series '{n.name}'", n.span, did_you_mean(n.name, scope.series))
        if q == "person":
            return self.person_prop(n.name, n.name_span, f"person.{n.name}")
        if scope.kind == "event":
            if q is None or q == scope.event or q == "event":
                return self.event_prop(n.name, n.name_span)
            self.error(
                "SEG310",
                f"'{q}.{n.name}' names another event than this call's '{scope.event or 'any'}'",
                n.span,
                hint=f"inside where, write the event property bare: {n.name}",
            )
        if q is None:
            return self.person_prop(n.name, n.name_span)
        self.error(
            "SEG310",
            f"'{q}.{n.name}': an event property can only be used inside a call",
            n.span,
            hint=f"e.g. sum({q}.{n.name}) or performed({q} where {n.name} …); person properties are written person.x",
        )

    def _SegmentRef(self, n: A.SegmentRef, scope):
        if scope.kind != "person":
            self.error("SEG311", "segment(...) can only be used at the top of an expression, not inside a call", n.span)
        return ir.SegmentRef(n.span, n.name)

    def _Compare(self, n: A.Compare, scope):
        left, right = self.expr(n.left, scope), self.expr(n.right, scope)
        for side, other, node in ((left, right, n.left), (right, left, n.right)):
            if side.type == "null":
                neg = "not " if n.op == "!=" else ""
                self.error("SEG321", f"comparing with null is never true: write 'is {neg}null'", node.span)
        self.comparable(left, right, n, ordered=n.op not in ("=", "!="))
        return ir.Compare(n.span, n.op, left, right)

    def comparable(self, left: ir.Expr, right: ir.Expr, n: A.Node, ordered: bool) -> None:
        lt, rt = left.type, right.type
        if "duration" in (lt, rt) and lt != rt:
            other = right if lt == "duration" else left
            dur = left if lt == "duration" else right
            if other.type == "timestamp":
                self.error("SEG306", "a duration where a time is needed", dur.span, hint="a time this long ago is written ago(7d)")
        if lt in NUMERIC and rt in NUMERIC:
            return
        if lt != rt:
            self.error("SEG305", f"cannot compare {_a(lt)} with {_a(rt)}", n.span, hint=_quote_hint(left, right))
        if lt == "duration":
            self.error("SEG306", "durations can only be used in windows, ago(), every and span", n.span)
        if ordered and lt == "boolean":
            self.error("SEG305", "true and false have no order: use = or !=", n.span)

    def _InList(self, n: A.InList, scope):
        operand = self.expr(n.operand, scope)
        values = []
        for item in n.items:
            if item.type == "null":
                self.error("SEG321", "null in a list never matches: test 'is null' separately", item.span)
            ok = (item.type in NUMERIC and operand.type in NUMERIC) or item.type == operand.type
            if not ok:
                self.error("SEG305", f"list holds {_a(item.type)} but is compared with {_a(operand.type)}", item.span)
            values.append(item.value)
        if operand.type not in ("string", "integer", "number", "boolean"):
            self.error("SEG305", f"'in' needs text or numbers, not {_a(operand.type)}", n.operand.span)
        return ir.InList(n.span, operand, tuple(values), n.negated)

    def _Between(self, n: A.Between, scope):
        operand = self.expr(n.operand, scope)
        low, high = self.expr(n.low, scope), self.expr(n.high, scope)
        if operand.type == "boolean":
            self.error(
                "SEG305",
                "between needs numbers, text or times, not a boolean",
                n.operand.span,
                hint="a where condition that is a bare boolean followed by a between window is written in parentheses: where (flag) between T1 and T2",
            )
        self.comparable(operand, low, n, ordered=True)
        self.comparable(operand, high, n, ordered=True)
        return ir.Between(n.span, operand, low, high)

    def _IsNull(self, n: A.IsNull, scope):
        operand = self.expr(n.operand, scope)
        if isinstance(operand, ir.Const):
            self.error("SEG305", "'is null' tests a property or a computed value, not a constant", n.operand.span)
        return ir.IsNull(n.span, operand, n.negated)

    def _TextTest(self, n: A.TextTest, scope):
        operand = self.expr(n.operand, scope)
        if operand.type != "string":
            self.error("SEG305", f"'{n.op}' tests text, but this is {_a(operand.type)}", n.operand.span)
        if not (isinstance(n.pattern, A.Literal) and n.pattern.type == "string"):
            self.error("SEG305", f"'{n.op}' takes a string literal like 'abc'", n.pattern.span)
        pattern = n.pattern.value
        if n.op == "matches":
            problem = regex_problem(pattern)
            if problem:
                self.error("SEG312", f"invalid pattern: {problem}", n.pattern.span, hint="matches takes the regular expressions RE2, PostgreSQL and DuckDB agree on")
        return ir.TextTest(n.span, n.op, operand, pattern)

    def _Arith(self, n: A.Arith, scope):
        left, right = self.expr(n.left, scope), self.expr(n.right, scope)
        lt, rt = left.type, right.type
        if lt in NUMERIC and rt in NUMERIC:
            t = "integer" if lt == rt == "integer" and n.op != "/" else "number"
            return ir.Arith(n.span, n.op, left, right, t)
        if n.op in "+-" and lt == "timestamp" and rt == "duration":
            return ir.Arith(n.span, n.op, left, right, "timestamp")
        if n.op == "+" and lt == "duration" and rt == "timestamp":
            return ir.Arith(n.span, n.op, right, left, "timestamp")
        if lt == "duration" and rt == "duration":
            self.error("SEG306", "durations cannot be added or subtracted: write one duration, e.g. 9d", n.span)
        if "null" in (lt, rt):
            self.error("SEG305", "arithmetic with null is always null", n.span)
        self.error("SEG305", f"cannot apply '{n.op}' to {_a(lt)} and {_a(rt)}", n.span)

    def _Negate(self, n: A.Negate, scope):
        operand = self.expr(n.operand, scope)
        if operand.type not in NUMERIC:
            self.error("SEG305", f"cannot negate {_a(operand.type)}", n.span)
        return ir.Negate(n.span, operand, operand.type)

    def _Not(self, n: A.Not, scope):
        return ir.Not(n.span, self.boolean(n.operand, scope, "the operand of 'not'"))

    def _And(self, n: A.And, scope):
        return ir.And(n.span, tuple(self._flat(n, A.And, scope, "each side of 'and'")))

    def _Or(self, n: A.Or, scope):
        return ir.Or(n.span, tuple(self._flat(n, A.Or, scope, "each side of 'or'")))

    def _flat(self, n, cls, scope, what):
        items: list[ir.Expr] = []
        failed = False
        stack = [n.right, n.left]
        while stack:
            x = stack.pop()
            if isinstance(x, cls):
                stack += [x.right, x.left]
                continue
            try:
                items.append(self.boolean(x, scope, what))
            except _Fail:
                failed = True  # keep checking the other operands: report every error
        if failed:
            raise _Fail()
        return items

    # -- behaviour -----------------------------------------------------------------------------
    def no_nesting(self, node: A.Node, scope: Scope) -> None:
        if scope.kind == "bound":
            self.error("SEG311", "a window bound cannot hold a behavioural call: it is one time per person, known before the events are scanned",
                       node.span, hint="use a person property or a fixed time, e.g. since signed_up_at or since ago(30d)")
        if scope.kind != "person" and scope.kind != "formula":
            self.error("SEG311", "behavioural calls cannot be nested inside another call's where", node.span)

    def event_filter(self, event: A.EventRef, where: A.Node | None, window: A.Window | None, scope: Scope) -> ir.EventFilter:
        name = self.event_name(event)
        w = self.boolean(where, Scope("event", name or None, scope.insight), "a where condition") if where is not None else None
        return ir.EventFilter(name, w, self.window(window, scope) if window is not None else ir.ALL_HISTORY)

    def window(self, w: A.Window, scope: Scope) -> ir.Window:
        bound_scope = Scope("bound", insight=scope.insight)
        if w.kind == "within":
            d = self.duration(w.start, "within")
            start = ir.Arith(w.span, "-", ir.Now(w.span), ir.Const(w.start.span, d, "duration"), "timestamp")
            return ir.Window(start, None)
        start = self.time(w.start, bound_scope, w.kind) if w.start is not None else None
        end = self.time(w.end, bound_scope, w.kind) if w.end is not None else None
        return ir.Window(start, end)

    def time(self, node: A.Node, scope: Scope, what: str) -> ir.Expr:
        e = self.expr(node, scope)
        if e.type == "duration":
            self.error("SEG306", f"'{what}' needs a time, not a duration", node.span, hint="a time this long ago is written ago(7d); a trailing window is written within 7d")
        if e.type != "timestamp":
            self.error("SEG305", f"'{what}' needs a time, not {_a(e.type)}", node.span)
        return e

    def duration(self, node: A.Node, what: str) -> int:
        if isinstance(node, A.Paren):
            node = node.inner
        if not isinstance(node, A.Duration):
            hint = "a window since a time is written since ago(7d)" if what == "within" else None
            self.error("SEG306", f"'{what}' takes a duration like 30d", node.span, hint=hint)
        if node.seconds <= 0:
            self.error("SEG306", f"'{what}' needs a duration longer than 0", node.span)
        return node.seconds

    def _EventCall(self, n: A.EventCall, scope):
        self.no_nesting(n, scope)
        if n.func == "persons" and not scope.insight:
            self.error("SEG308", "persons(...) counts distinct persons and can only be used in insights", n.span, hint="in a segment, write performed(...)")
        f = self.event_filter(n.event, n.where, n.window, scope)
        t = {"performed": "boolean", "count": "integer", "first_time": "timestamp", "last_time": "timestamp", "active_days": "integer", "persons": "integer"}[n.func]
        return ir.EventAgg(n.span, n.func, f, None, t)

    def _Aggregate(self, n: A.Aggregate, scope):
        self.no_nesting(n, scope)
        f = self.event_filter(n.event, n.where, n.window, scope)
        prop = self.event_prop(n.prop, n.prop_span)
        if prop.type not in NUMERIC:
            self.error("SEG307", f"{n.func}() needs a numeric event property, but '{n.prop}' is {_a(prop.type)}", n.prop_span)
        t = "number" if n.func == "avg" or prop.type == "number" else "integer"
        return ir.EventAgg(n.span, n.func, f, prop, t)

    def _ActivePeriods(self, n: A.ActivePeriods, scope):
        self.no_nesting(n, scope)
        f = self.event_filter(n.event, n.where, n.window, scope)
        every = self.duration(n.every, "every")
        min_events = 1
        if n.min_events is not None:
            m = n.min_events.inner if isinstance(n.min_events, A.Paren) else n.min_events
            if not (isinstance(m, A.Literal) and m.type == "integer" and m.value >= 1):
                self.error("SEG305", "'min' takes a whole number of events, 1 or more", n.min_events.span)
            min_events = m.value
        return ir.ActivePeriods(n.span, f, every, min_events)

    def _Sequence(self, n: A.Sequence, scope):
        self.no_nesting(n, scope)
        steps = []
        for s in n.steps:
            name = self.event_name(s.event)
            w = self.boolean(s.where, Scope("event", name, scope.insight), "a where condition") if s.where is not None else None
            steps.append(ir.SequenceStep(name, w))
        window = self.window(n.window, scope) if n.window is not None else ir.ALL_HISTORY
        span = self.duration(n.span_limit, "span") if n.span_limit is not None else None
        return ir.Sequence(n.span, tuple(steps), window, span)


def _a(t: str) -> str:
    return {"integer": "a number", "number": "a number", "string": "text", "boolean": "a boolean", "timestamp": "a time", "duration": "a duration", "null": "null"}.get(t, t)


def _quote_hint(left: ir.Expr, right: ir.Expr) -> str | None:
    for a, b in ((left, right), (right, left)):
        if a.type == "string" and isinstance(b, ir.Const) and b.type in NUMERIC:
            return f"to compare with text, quote it: '{b.value}'"
        if a.type == "timestamp" and isinstance(b, ir.Const) and b.type == "string":
            return f"a time is written timestamp('{b.value}') or date('{b.value}')"
    return None


_REGEX_UNSUPPORTED = [
    (re.compile(r"\(\?[=!<]"), "lookaround (?=, (?!, (?<= is not supported by RE2"),
    (re.compile(r"\(\?P?<[A-Za-z]"), "named groups are not portable"),
    (re.compile(r"\(\?[a-zA-Z]"), "inline flags like (?i) are not portable: use icontains or a character class"),
    (re.compile(r"\\[1-9]"), "backreferences are not supported by RE2"),
    (re.compile(r"\\[bBAzZQEpPXCGK]"), "this escape means different things on PostgreSQL and RE2"),
    (re.compile(r"[*+?}]\+"), "possessive quantifiers are not supported"),
]


def regex_problem(pattern: str) -> str | None:
    # strip escaped backslashes so '\\\\b' (a literal backslash then b) is not read as \b
    probe = pattern.replace("\\\\", "")
    for rx, why in _REGEX_UNSUPPORTED:
        if rx.search(probe):
            return why
    try:
        re.compile(pattern)
    except re.error as e:
        return str(e)
    return None


# ---------------------------------------------------------------------------------------------
# Definitions
# ---------------------------------------------------------------------------------------------
def _locator(y: Y):
    if isinstance(y.value, str):
        return y.value, y.offset_span
    text = str(y.value).lower() if isinstance(y.value, bool) else str(y.value)
    return text, lambda a, b: y.span


def parse_field(y: Y, diags: list[Diagnostic], start: str = "start") -> A.Node | None:
    text, locate = _locator(y)
    if not _within_file_budget(y, text, diags):
        return None
    try:
        return parse_expression(text, locate, start, _place(y))
    except ExpressionError as e:
        diags.append(e.diag)
        return None


def _place(y: Y) -> tuple:
    # the place of the text: the same file text and offset always give the same AST and spans
    return (y.source.path, y.source.digest, y.start, y.end, type(y.value).__name__)


def expression_places(definitions: list[Definition]):
    """The expression fields check_project parses (text, locate, start rule, place), for
    parser.parse_ahead; within the same per-file budget. A field left out here is parsed by the
    checker when it gets there, so this decides how much is done ahead, never a result."""
    from .parser import MAX_FILE_EXPRESSION_CHARS

    for d in definitions:
        used = 0
        try:
            for y, start in _expression_fields(d.body, d.kind):
                text, locate = _locator(y)
                used += len(text)
                if used > MAX_FILE_EXPRESSION_CHARS:
                    break
                yield text, locate, start, _place(y)
        except Exception:  # a malformed body: the checker reports it
            continue


def _expression_fields(body: Y, kind: str):
    """The scalars of a definition that _check_definition parses, in its order."""
    def scalar(key: str, start: str = "start"):
        y = body.get(key)
        return [(y, start)] if y is not None and y.kind == "scalar" else []

    if kind == "segment":
        return scalar("where")
    if kind == "cohort":
        return scalar("entry") + scalar("returning") + scalar("entries", "window_start")
    if kind != "insight":
        return []
    out = []
    sy = body.get("series")
    if sy is not None and sy.kind == "map":
        out += [(y, "start") for _, y in sy.items() if y.kind == "scalar"]
    out += scalar("formula")
    st = body.get("steps")
    if st is not None and st.kind == "seq":
        out += [(y, "step_start") for y in st.value if y.kind == "scalar"]
    out += scalar("window") + scalar("event", "step_start") + scalar("range", "window_start")
    bd = body.get("breakdown")
    if bd is not None and bd.kind != "map" and isinstance(bd.value, str):
        out.append((bd, "start"))
    return out


def _within_file_budget(y: Y, text: str, diags: list[Diagnostic]) -> bool:
    """At most MAX_FILE_EXPRESSION_CHARS of expressions are parsed per file (docs/robustness.md):
    a 5 MiB funnel of 100,000-character steps took a minute and 600 MB."""
    from .parser import MAX_FILE_EXPRESSION_CHARS

    src = y.source
    used = getattr(src, "expression_chars", 0) + len(text)
    src.expression_chars = used
    if used <= MAX_FILE_EXPRESSION_CHARS:
        return True
    if not getattr(src, "expression_budget_reported", False):
        src.expression_budget_reported = True
        diags.append(Diagnostic("SEG206", f"the expressions of this file are longer than {MAX_FILE_EXPRESSION_CHARS:,} characters in all",
                                y.span, hint="split the definition, or keep long lists of values in a table of the warehouse"))
    return False


def _text(body: Y, key: str) -> str | None:
    v = body.get(key)
    return v.value if v is not None and isinstance(v.value, str) else None


def _tags(body: Y) -> tuple[str, ...]:
    v = body.get("tags")
    if v is None:
        return ()
    return tuple(x.value for x in v.value) if v.kind == "seq" else (v.value,)


def _names(y: Y | None) -> tuple[tuple[str, Span], ...]:
    if y is None:
        return ()
    items = y.value if y.kind == "seq" else [y]
    return tuple((x.value, x.span) for x in items)


def check_project(project: Project) -> CheckResult:
    """Check every definition of a loaded project; collect every error."""
    diags: list[Diagnostic] = list(project.diagnostics)
    result = CheckResult(project, diagnostics=diags)
    model = project.model
    checker = Checker(model, diags) if model is not None else None
    kinds = {d.name: d.kind for d in project.definitions}
    refs: dict[str, list[tuple[str, Span]]] = {}  # definition -> referenced names (with spans)
    built: dict[str, ir.Definition] = {}

    for d in project.definitions:
        before = len(diags)
        node = None
        try:
            node = _check_definition(d, checker, diags, kinds, refs)
        except _Fail:
            pass
        except Exception:
            if d.ok:
                raise
            # its shape errors are reported: the rest of a malformed body (a missing key, a
            # list where text belongs) is not worth a crash (tests/fuzz.py finds such bodies)
        if node is not None and len(diags) == before and d.ok:
            built[d.name] = node
        else:
            result.failed[d.name] = "errors"

    _check_graph(project, kinds, refs, diags, result)
    # a definition fails with what it depends on
    changed = True
    while changed:
        changed = False
        for name, deps in refs.items():
            if name in result.failed:
                continue
            bad = next((r for r, _ in deps if r in result.failed or r not in kinds), None)
            if bad is not None:
                result.failed[name] = f"blocked by {bad}"
                changed = True
    result.definitions = {n: x for n, x in built.items() if n not in result.failed}
    # unit tests: fixture rows checked against the model; their mistakes fail no definition
    # (segc.testing is imported only when there are tests: ~8 ms of a validate without)
    if project.test_files or any("tests" in d.body.value for d in project.definitions):
        from .testing import collect_tests

        result.tests = collect_tests(project, diags)
    diags.sort(key=sort_key)
    return result


def _check_definition(d: Definition, checker: Checker | None, diags, kinds, refs) -> ir.Definition | None:
    body = d.body
    get = body.get
    desc, tags = _text(body, "description"), _tags(body)
    # Parse every expression even without a model, so syntax errors are all reported.
    def parse(key: str, start: str = "start") -> A.Node | None:
        y = get(key)
        if y is None or y.kind != "scalar":
            return None
        return parse_field(y, diags, start)

    if d.kind == "segment":
        where = parse("where")
        expect_y = get("expect")
        deps: list[tuple[str, Span]] = []
        if where is not None:
            deps += [(r.name, r.name_span) for r in A.segment_refs(where)]
        expect = None
        if expect_y is not None and expect_y.kind == "map":
            expect = _expect(expect_y)
            for key in ("disjoint_with", "subset_of"):
                for name, span in _names(expect_y.get(key)):
                    _require_segment(name, span, kinds, diags, d.name, f"{key}")
        refs[d.name] = deps
        if checker is None or where is None:
            return None
        e = checker.boolean(where, PERSON, "a segment's where")
        return ir.Segment(d.name, d.path, d.name_span, e, tuple(dict.fromkeys(n for n, _ in deps)), desc, tags, expect)

    if d.kind == "partition":
        names = _names(get("segments"))
        refs[d.name] = list(names)
        ok = True
        seen = set()
        for name, span in names:
            if name in seen:
                diags.append(Diagnostic("SEG319", f"'{name}' is listed twice", span))
                ok = False
            seen.add(name)
            ok = _require_segment(name, span, kinds, diags, d.name, "partition") and ok
        complete = get("complete")
        if not ok:
            return None
        return ir.Partition(
            d.name, d.path, d.name_span, tuple(n for n, _ in names), bool(complete.value) if complete is not None else False,
            tuple(s for _, s in names), desc, tags,
        )

    if d.kind == "cohort":
        entry, returning = parse("entry"), parse("returning")
        entries = parse("entries", "window_start")
        seg = get("segment")
        deps = []
        for node in (entry, returning):
            if node is not None:
                for r in A.segment_refs(node):  # unknown names and partitions are errors here too
                    deps.append((r.name, r.name_span))
                    _require_segment(r.name, r.name_span, kinds, diags, d.name, "segment")
        if seg is not None and isinstance(seg.value, str):
            deps.append((seg.value, seg.span))
            _require_segment(seg.value, seg.span, kinds, diags, d.name, "segment")
        refs[d.name] = deps
        if checker is None or entry is None or returning is None:
            return None
        e = checker.expr(entry, PERSON)
        if e.type != "timestamp":
            checker.error("SEG305", f"entry must be a time (e.g. first_time(signup)), not {_a(e.type)}", entry.span)
        r = checker.boolean(returning, PERSON, "returning")
        w = checker.window(entries, PERSON) if entries is not None else None
        return _check_analytics(d, ir.Cohort(
            d.name, d.path, d.name_span, e, get("period").value, get("periods").value, r, w,
            seg.value if seg is not None else None, tuple(dict.fromkeys(n for n, _ in deps)), desc, tags,
        ), diags)

    if d.kind == "insight":
        return _check_analytics(d, _check_insight(d, checker, diags, kinds, refs, parse, desc, tags), diags)
    return None


def _check_insight(d, checker, diags, kinds, refs, parse, desc, tags):
    body = d.body
    get = body.get
    kind = get("kind").value
    deps: list[tuple[str, Span]] = []
    seg = get("segment")
    if seg is not None and isinstance(seg.value, str):
        deps.append((seg.value, seg.span))
        _require_segment(seg.value, seg.span, kinds, diags, d.name, "segment")
    bd = get("breakdown")
    if bd is not None and bd.kind == "map":
        for name, span in _names(bd.get("segments")):
            deps.append((name, span))
            _require_segment(name, span, kinds, diags, d.name, "breakdown")
    refs[d.name] = deps

    needs = {"trend": ("series", "interval", "range"), "funnel": ("steps", "window", "range"), "lifecycle": ("event", "interval", "range"), "stickiness": ("event", "interval", "range")}[kind]
    allowed = set(needs) | {"breakdown", "segment", "insight", "kind", "description", "tags", "meta", "tests"} | ({"formula"} if kind == "trend" else set())
    for key in needs:
        if get(key) is None:
            diags.append(Diagnostic("SEG106", f"a {kind} insight needs '{key}'", body.key_spans["kind"]))
    for key, span in body.key_spans.items():
        if key not in allowed and key in ("series", "formula", "steps", "window", "event", "interval", "range", "breakdown"):
            diags.append(Diagnostic("SEG104", f"'{key}' does not apply to a {kind} insight", span))

    series_nodes = {}
    sy = get("series")
    if sy is not None and sy.kind == "map":
        for name, y in sy.items():
            if y.kind == "scalar":
                series_nodes[name] = (parse_field(y, diags), y)
    formula = parse("formula")
    steps = []
    st = get("steps")
    if st is not None and st.kind == "seq":
        for y in st.value:
            if y.kind == "scalar":
                steps.append((parse_field(y, diags, "step_start"), y))
        if len(st.value) < 2:
            diags.append(Diagnostic("SEG319", "a funnel needs at least two steps", st.span))
    window = parse("window")
    event = parse("event", "step_start")
    rng = parse("range", "window_start")
    if checker is None:
        return None

    scope = Scope("person", insight=True)
    out_series = []
    for name, (node, y) in series_nodes.items():
        if node is None:
            continue
        try:
            m = checker.expr(node, scope)
            if not isinstance(m, ir.EventAgg) or m.func in ("performed", "first_time", "last_time"):
                checker.error("SEG305", "a series is one measure: count(E), persons(E), sum(E.p), avg(E.p), min(E.p) or max(E.p)", node.span)
            if m.filter.window is not ir.ALL_HISTORY:
                checker.error("SEG305", "a series takes no window: the insight's range and interval set it", node.span)
            out_series.append(ir.Series(name, m))
        except _Fail:
            pass
    f = None
    if formula is not None:
        f = checker.expr(formula, Scope("formula", series=frozenset(series_nodes)))
        if f.type not in NUMERIC:
            checker.error("SEG305", "a formula is arithmetic over series names", formula.span)
    out_steps = []
    for node, y in steps:
        if node is not None:
            out_steps.append(_step(checker, node))
    win = checker.duration(window, "window") if window is not None else None
    ev = _step(checker, event) if event is not None else None
    r = checker.window(rng, PERSON) if rng is not None else None
    breakdown = None
    if bd is not None:
        if bd.kind == "map":
            breakdown = ir.Breakdown(segments=tuple(n for n, _ in _names(bd.get("segments"))))
        elif isinstance(bd.value, str):
            text = bd.value
            node = parse_field(bd, diags)
            if node is None:
                return None
            if isinstance(node, A.Property) and node.qualifier == "event":
                breakdown = ir.Breakdown(event_prop=checker.event_prop(node.name, node.name_span))
            elif isinstance(node, A.Property) and node.qualifier in (None, "person"):
                breakdown = ir.Breakdown(person_prop=checker.person_prop(node.name, node.name_span))
            else:
                checker.error("SEG305", f"breakdown is a person property, event.<property>, or segments: [...], not '{text}'", bd.span)
    return ir.Insight(
        d.name, d.path, d.name_span, kind, tuple(dict.fromkeys(n for n, _ in deps)), tuple(out_series), f, tuple(out_steps),
        win, ev, get("interval").value if get("interval") is not None else None, r, breakdown,
        seg.value if seg is not None else None, desc, tags,
    )


_RESULT_COLUMNS = ("breakdown", "interval_start", "formula", "partial")


def _check_analytics(d: Definition, node, diags: list[Diagnostic]):
    """Mistakes in cohorts and insights that the IR alone shows (LANGUAGE.md §5, docs/decisions.md)."""
    if node is None:
        return None
    body = d.body

    def err(code, message, span, hint=None):
        diags.append(Diagnostic(code, message, span, hint=hint))

    if isinstance(node, ir.Cohort):
        for e in ir.walk(node.returning):
            window = e.window if isinstance(e, ir.Sequence) else e.filter.window if isinstance(e, (ir.EventAgg, ir.ActivePeriods)) else None
            if window is not None and window != ir.ALL_HISTORY:
                err("SEG334", "the calls in returning take no window: each period of the cohort is their window", e.span,
                    hint="write performed(login), which counts a login inside each period")
        return node
    kind = node.insight_kind
    if kind == "trend":
        sy = body.get("series")
        if sy is not None and sy.kind == "map" and not sy.value:
            err("SEG335", "a trend needs at least one series", sy.span)
        for s in node.series:
            if s.name in _RESULT_COLUMNS:
                err("SEG335", f"'{s.name}' is a column of the result table: name the series otherwise", sy.key_spans[s.name])
        for e in ir.walk(node.formula) if node.formula is not None else ():
            if not isinstance(e, (ir.SeriesRef, ir.Arith, ir.Negate)) and not (isinstance(e, ir.Const) and e.type in NUMERIC):
                err("SEG330", "a formula is arithmetic over series names and numbers", e.span,
                    hint="define this measure as a series and use its name")
                break
    bd = node.breakdown
    if bd is not None and bd.event_prop is not None and kind != "trend":
        err("SEG332", f"a {kind} breaks down by a person property or segments, not an event property", body.get("breakdown").span,
            hint="each person is counted once, so only what belongs to the person can split them")
    if bd is not None and bd.segments:
        seen = set()
        for name, span in _names(body.get("breakdown").get("segments")):
            if name in seen:
                err("SEG319", f"'{name}' is listed twice", span)
            seen.add(name)
    ry = body.get("range")
    if node.range is not None and ry is not None:
        _check_range(node, ry.span, err)
    return node


def _time_offset(e: ir.Expr | None):
    """('now', seconds after now) | ('at', datetime) | None for a time that varies by person."""
    if e is None or isinstance(e, ir.Now):
        return ("now", 0)
    if isinstance(e, ir.Const) and e.type == "timestamp":
        return ("at", e.value)
    if isinstance(e, ir.Arith) and isinstance(e.right, ir.Const) and e.right.type == "duration":
        base = _time_offset(e.left)
        if base is not None:
            d = e.right.value if e.op == "+" else -e.right.value
            try:
                return (base[0], base[1] + d) if base[0] == "now" else ("at", base[1] + dt.timedelta(seconds=d))
            except OverflowError:  # past year 9999: not a time this check can place
                return None
    return None


def _check_range(node: ir.Insight, span: Span, err) -> None:
    w = node.range
    if w.start is None:
        err("SEG333", "a range needs a start: within D, since T or between T1 and T2", span)
        return
    start, end = _time_offset(w.start), _time_offset(w.end)
    if start is None or (w.end is not None and end is None):
        err("SEG333", "range bounds are times such as ago(30d) or date('2026-01-01'), the same for every person", span)
        return
    if start[0] == end[0]:
        length = end[1] - start[1]
        length = length if start[0] == "now" else length.total_seconds()
        if length <= 0:
            err("SEG333", "the range is empty: its end is not after its start", span)
            return
        if node.interval and length % 86400:
            err("SEG331", f"a range of {_duration_text(length)} is not a whole number of days, so it does not divide into {node.interval}s", span,
                hint=f"e.g. {_duration_text(max(1, int(length // 86400)) * 86400)}; a range that is not a whole number of {node.interval}s cuts its first {node.interval}, which is marked partial")
            return
    for bound in (start, end):
        if bound[0] == "at" and node.interval and not _aligned(bound[1], node.interval):
            err("SEG331", f"{bound[1]:%Y-%m-%d %H:%M:%S} is not the start of a {node.interval} (UTC{', Monday' if node.interval == 'week' else ''})", span,
                hint="range bounds written as dates must fall on interval starts, so that every interval is whole")
            break


def _aligned(t, interval: str) -> bool:
    midnight = t.hour == t.minute == t.second == t.microsecond == 0
    return midnight and (interval == "day" or (interval == "week" and t.weekday() == 0) or (interval == "month" and t.day == 1))


def _duration_text(seconds: float) -> str:
    seconds = int(seconds)
    if seconds % (7 * 86400) == 0:
        return f"{seconds // (7 * 86400)}w"
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds}s"


def _step(checker: Checker, node: A.Step) -> ir.FunnelStep:
    name = checker.event_name(node.event)
    w = checker.boolean(node.where, Scope("event", name, True), "a where condition") if node.where is not None else None
    return ir.FunnelStep(name, w, node.span)


def _expect(y: Y) -> ir.Expect:
    def num(k):
        v = y.get(k)
        return v.value if v is not None and isinstance(v.value, (int, float)) and not isinstance(v.value, bool) else None

    return ir.Expect(
        min_size=num("min_size"), max_size=num("max_size"), min_share=num("min_share"), max_share=num("max_share"),
        disjoint_with=tuple(n for n, _ in _names(y.get("disjoint_with"))),
        subset_of=tuple(n for n, _ in _names(y.get("subset_of"))),
        spans={k: s for k, s in y.key_spans.items()},
    )


def _require_segment(name: str, span: Span, kinds: dict[str, str], diags, owner: str, role: str) -> bool:
    kind = kinds.get(name)
    if kind == "segment":
        return True
    if kind is None:
        segs = [n for n, k in kinds.items() if k == "segment"]
        diags.append(Diagnostic("SEG303", f"unknown segment '{name}'", span, hint=did_you_mean(name, segs)))
    else:
        diags.append(Diagnostic("SEG303", f"'{name}' is {a_kind(kind)}, not a segment", span))
    return False


def _check_graph(project: Project, kinds, refs, diags, result: CheckResult) -> None:
    """Unknown segment(...) references and cycles, each reported where the reference is written."""
    for name, deps in refs.items():
        if kinds.get(name) != "segment":
            continue
        for ref, span in deps:
            if ref not in kinds:
                segs = [n for n, k in kinds.items() if k == "segment"]
                diags.append(Diagnostic("SEG303", f"unknown segment '{ref}'", span, hint=did_you_mean(ref, segs)))
                result.failed[name] = "errors"
            elif kinds[ref] != "segment":
                diags.append(Diagnostic("SEG303", f"'{ref}' is {a_kind(kinds[ref])}, not a segment", span))
                result.failed[name] = "errors"
    # cycles among segments: iterative DFS, report each cycle once, at its first edge
    seg_edges = {n: [(r, s) for r, s in deps if kinds.get(r) == "segment"] for n, deps in refs.items() if kinds.get(n) == "segment"}
    state: dict[str, int] = {}
    reported: set[frozenset] = set()
    for root in seg_edges:
        if state.get(root):
            continue
        path: list[str] = []
        stack = [(root, iter(seg_edges.get(root, ())))]
        state[root] = 1
        path.append(root)
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            ref, span = nxt
            if state.get(ref) == 1:
                cycle = path[path.index(ref):] + [ref]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    diags.append(Diagnostic("SEG304", "segment references form a cycle: " + " → ".join(cycle), span))
                for n in cycle:
                    result.failed[n] = "errors"
            elif not state.get(ref):
                state[ref] = 1
                path.append(ref)
                stack.append((ref, iter(seg_edges.get(ref, ()))))
