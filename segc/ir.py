"""Typed IR: what the checker makes of the AST. Names are resolved against the model, every
node has a type, windows are normalised to half-open [start, end). Later stages compile it.

Types: string | number | integer | boolean | timestamp | duration | null.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass

from .diagnostics import Span

NUMERIC = ("integer", "number")


@dataclass(frozen=True)
class Expr:
    """Every subclass has a `type` field (see the module docstring)."""

    span: Span


@dataclass(frozen=True)
class Const(Expr):
    value: object  # str | int | float | bool | None | datetime (naive UTC) | int seconds for durations
    type: str


@dataclass(frozen=True)
class Now(Expr):
    type: str = "timestamp"


@dataclass(frozen=True)
class PersonProp(Expr):
    name: str
    type: str


@dataclass(frozen=True)
class EventProp(Expr):
    name: str
    type: str


@dataclass(frozen=True)
class Compare(Expr):
    op: str  # = != < <= > >=
    left: Expr
    right: Expr
    type: str = "boolean"


@dataclass(frozen=True)
class InList(Expr):
    operand: Expr
    values: tuple[object, ...]
    negated: bool
    type: str = "boolean"


@dataclass(frozen=True)
class Between(Expr):
    operand: Expr
    low: Expr
    high: Expr
    type: str = "boolean"


@dataclass(frozen=True)
class IsNull(Expr):
    operand: Expr
    negated: bool
    type: str = "boolean"


@dataclass(frozen=True)
class TextTest(Expr):
    op: str  # starts_with | ends_with | contains | icontains | matches
    operand: Expr
    pattern: str
    type: str = "boolean"


@dataclass(frozen=True)
class Arith(Expr):
    op: str  # + - * /
    left: Expr
    right: Expr
    type: str


@dataclass(frozen=True)
class Negate(Expr):
    operand: Expr
    type: str


@dataclass(frozen=True)
class Not(Expr):
    operand: Expr
    type: str = "boolean"


@dataclass(frozen=True)
class And(Expr):
    items: tuple[Expr, ...]
    type: str = "boolean"


@dataclass(frozen=True)
class Or(Expr):
    items: tuple[Expr, ...]
    type: str = "boolean"


@dataclass(frozen=True)
class SegmentRef(Expr):
    name: str
    type: str = "boolean"


@dataclass(frozen=True)
class Window:
    """Half-open [start, end); None means unbounded below / `now()` above. Events at or after
    now() never count, whatever the window says."""

    start: Expr | None
    end: Expr | None


ALL_HISTORY = Window(None, None)


@dataclass(frozen=True)
class EventFilter:
    """Which of a person's events a behavioural call looks at."""

    event: str | None  # None: any event
    where: Expr | None
    window: Window


@dataclass(frozen=True)
class EventAgg(Expr):
    """performed | count | first_time | last_time | active_days | persons | sum | avg | min | max."""

    func: str
    filter: EventFilter
    prop: EventProp | None
    type: str


@dataclass(frozen=True)
class ActivePeriods(Expr):
    filter: EventFilter
    every_seconds: int
    min_events: int
    type: str = "integer"


@dataclass(frozen=True)
class SequenceStep:
    event: str | None
    where: Expr | None


@dataclass(frozen=True)
class Sequence(Expr):
    steps: tuple[SequenceStep, ...]
    window: Window
    span_seconds: int | None
    type: str = "boolean"


# ---------------------------------------------------------------------------------------------
# Definitions
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expect:
    min_size: int | None = None
    max_size: int | None = None
    min_share: float | None = None
    max_share: float | None = None
    disjoint_with: tuple[str, ...] = ()
    subset_of: tuple[str, ...] = ()
    spans: dict = field(default_factory=dict, compare=False, hash=False)  # rule -> Span


@dataclass(frozen=True)
class Segment:
    name: str
    path: str
    span: Span
    where: Expr
    depends_on: tuple[str, ...]
    description: str | None = None
    tags: tuple[str, ...] = ()
    expect: Expect | None = None
    kind: str = "segment"


@dataclass(frozen=True)
class Partition:
    name: str
    path: str
    span: Span
    segments: tuple[str, ...]
    complete: bool
    segment_spans: tuple[Span, ...] = ()
    description: str | None = None
    tags: tuple[str, ...] = ()
    kind: str = "partition"

    @property
    def depends_on(self) -> tuple[str, ...]:
        return self.segments


@dataclass(frozen=True)
class Cohort:
    name: str
    path: str
    span: Span
    entry: Expr  # timestamp
    period: str
    periods: int
    returning: Expr  # boolean
    entries: Window | None
    segment: str | None
    depends_on: tuple[str, ...]
    description: str | None = None
    tags: tuple[str, ...] = ()
    kind: str = "cohort"


@dataclass(frozen=True)
class Series:
    name: str
    measure: EventAgg


@dataclass(frozen=True)
class FunnelStep:
    event: str | None
    where: Expr | None
    span: Span


@dataclass(frozen=True)
class Breakdown:
    """By a person property, an event property, or a list of segments."""

    person_prop: PersonProp | None = None
    event_prop: EventProp | None = None
    segments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Insight:
    name: str
    path: str
    span: Span
    insight_kind: str  # trend | funnel | lifecycle | stickiness
    depends_on: tuple[str, ...]
    series: tuple[Series, ...] = ()
    formula: Expr | None = None  # over SeriesRef
    steps: tuple[FunnelStep, ...] = ()
    window_seconds: int | None = None
    event: FunnelStep | None = None
    interval: str | None = None
    range: Window | None = None
    breakdown: Breakdown | None = None
    segment: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    kind: str = "insight"


@dataclass(frozen=True)
class SeriesRef(Expr):
    name: str
    type: str = "number"


Definition = Segment | Partition | Cohort | Insight


def children(e: Expr):
    """Direct sub-expressions, for passes that walk the IR."""
    if isinstance(e, (Compare, Arith)):
        return (e.left, e.right)
    if isinstance(e, (InList, IsNull, TextTest, Negate, Not)):
        return (e.operand,)
    if isinstance(e, Between):
        return (e.operand, e.low, e.high)
    if isinstance(e, (And, Or)):
        return e.items
    if isinstance(e, (EventAgg, ActivePeriods)):
        f = e.filter
        return tuple(x for x in (f.where, f.window.start, f.window.end) if x is not None)
    if isinstance(e, Sequence):
        return tuple(s.where for s in e.steps if s.where is not None) + tuple(
            x for x in (e.window.start, e.window.end) if x is not None
        )
    return ()


def walk(e: Expr):
    yield e
    for c in children(e):
        yield from walk(c)


def segment_refs(e: Expr) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for n in walk(e):
        if isinstance(n, SegmentRef):
            seen[n.name] = None
    return tuple(seen)


_FIELDS: dict[type, tuple[str, ...] | None] = {}  # a class -> its fields but span (None: not IR)
_KEYS: dict[int, tuple[object, object]] = {}  # id(node) -> (the node, kept alive; its key)


def structural_key(node: object) -> object:
    """A hashable key of an IR value that ignores where it was written (spans): the same
    aggregate written twice is computed once (compiler), the same test is recognised in two
    places (warnings). IR is frozen, so each node's key is computed once per process."""
    if isinstance(node, (list, tuple)):
        return tuple(structural_key(x) for x in node)
    cls = type(node)
    names = _FIELDS.get(cls, ())
    if names == ():
        names = _FIELDS[cls] = (
            tuple(f.name for f in fields(cls) if f.name != "span") if is_dataclass(cls) else None)
    if names is None:
        return node
    known = _KEYS.get(id(node))
    if known is not None and known[0] is node:
        return known[1]
    key = (cls.__name__,) + tuple(structural_key(getattr(node, n)) for n in names)
    if len(_KEYS) > 100_000:  # a long-lived process (tests, an editor) checks many projects
        _KEYS.clear()
    _KEYS[id(node)] = (node, key)
    return key
