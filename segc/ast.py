"""Expression AST: what the parser makes of an expression, before names and types are resolved.

Every node is frozen and carries the span of its text in the YAML file.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .diagnostics import Span


@dataclass(frozen=True)
class Node:
    span: Span


@dataclass(frozen=True)
class Literal(Node):
    value: object  # str | int | float | bool | None
    type: str  # string | integer | number | boolean | null


@dataclass(frozen=True)
class Duration(Node):
    seconds: int
    text: str


@dataclass(frozen=True)
class TimeLiteral(Node):
    value: dt.datetime  # naive, UTC
    func: str  # date | timestamp


@dataclass(frozen=True)
class Now(Node):
    pass


@dataclass(frozen=True)
class Ago(Node):
    arg: Node


@dataclass(frozen=True)
class Property(Node):
    name: str
    qualifier: str | None  # None for a bare name; "person", or an event name, for `q.name`
    name_span: Span


@dataclass(frozen=True)
class Compare(Node):
    op: str  # = != < <= > >=   (<> is read as !=)
    left: Node
    right: Node


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    items: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool


@dataclass(frozen=True)
class TextTest(Node):
    op: str  # starts_with | ends_with | contains | icontains | matches
    operand: Node
    pattern: Node


@dataclass(frozen=True)
class Arith(Node):
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Negate(Node):
    operand: Node


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class And(Node):
    left: Node
    right: Node


@dataclass(frozen=True)
class Or(Node):
    left: Node
    right: Node


@dataclass(frozen=True)
class Paren(Node):
    inner: Node


@dataclass(frozen=True)
class SegmentRef(Node):
    name: str
    name_span: Span


@dataclass(frozen=True)
class EventRef(Node):
    name: str | None  # None means `any`


@dataclass(frozen=True)
class Window(Node):
    kind: str  # within | since | before | between
    start: Node | None  # within: the duration; since/between: the start; before: None
    end: Node | None  # before/between: the end


@dataclass(frozen=True)
class EventCall(Node):
    func: str  # performed | count | first_time | last_time | active_days | persons
    event: EventRef
    where: Node | None
    window: Window | None


@dataclass(frozen=True)
class Aggregate(Node):
    func: str  # sum | avg | min | max
    event: EventRef
    prop: str
    prop_span: Span
    where: Node | None
    window: Window | None


@dataclass(frozen=True)
class ActivePeriods(Node):
    event: EventRef
    where: Node | None
    window: Window | None
    every: Node
    min_events: Node | None


@dataclass(frozen=True)
class Step(Node):
    event: EventRef
    where: Node | None


@dataclass(frozen=True)
class Sequence(Node):
    steps: tuple[Step, ...]
    window: Window | None
    span_limit: Node | None


def segment_refs(node: Node):
    """Every segment(...) reference under a node (iteratively: expressions can be deep)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, SegmentRef):
            yield n
        for v in vars(n).values():
            if isinstance(v, Node):
                stack.append(v)
            elif isinstance(v, tuple):
                stack.extend(x for x in v if isinstance(x, Node))
