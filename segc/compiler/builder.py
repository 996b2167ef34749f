"""Typed IR -> sqlglot expression tree. A segment becomes one SELECT of member keys; a set of
segments can become one query with a membership flag per segment. Either way the events
table is scanned once for all conditional aggregates (sequences and active periods add a
CTE of their own). No SQL text is assembled here: literals and names go in as sqlglot nodes.

Meaning (LANGUAGE.md §4) and how it is kept on every engine:
- universe = persons rows; behaviour comes from a LEFT JOIN of per-person aggregates, so
  persons without events are there with count 0 / performed false / first_time null;
- two-valued logic: every boolean is built never-null (COALESCE(x, FALSE) where an operand
  can be null), so NOT, != and not in are exact complements;
- events at or after now() are filtered once, in every scan of the events table.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlglot import exp

from .. import ir
from ..loader.project import Model
from .dialects import Engine, data_type, fresh

P, E, PE, A = "p", "e", "pe", "segc_a"  # table aliases: persons, events, persons-of-events, aggregates
PID = "segc_pid"
REF = "segc_f"  # alias of the layer of flags that segment(...) references read from
AT, T = "segc_at", "segc_t"  # the instants table (history, migrate) and its one column


def ident(name: str) -> exp.Identifier:
    return exp.Identifier(this=name, quoted=True)


def col(name: str, table: str | None = None) -> exp.Column:
    # table qualifiers are segc's own aliases (p, e, segc_a, CTE names); every name is quoted
    # when printed (identify=True), and built quoted, which spares the generator asking
    return exp.Column(this=exp.Identifier(this=name, quoted=True), table=exp.Identifier(this=table, quoted=True) if table else None)


def table(name: str, alias: str | None = None) -> exp.Table:
    """A (possibly schema-qualified) table name with every part quoted."""
    parts = name.split(".")
    t = exp.Table(this=ident(parts[-1]), db=ident(parts[-2]) if len(parts) >= 2 else None,
                  catalog=ident(parts[-3]) if len(parts) >= 3 else None)
    if alias:
        t.set("alias", exp.TableAlias(this=ident(alias)))
    return t


def _and(parts: list[exp.Expression]) -> exp.Expression | None:
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = exp.And(this=out, expression=p)
    return out


def _or(parts: list[exp.Expression]) -> exp.Expression:
    out = parts[0]
    for p in parts[1:]:
        out = exp.Or(this=out, expression=p)
    return out


def _paren(e: exp.Expression) -> exp.Expression:
    """Parentheses where precedence needs them (the generator prints the tree as it is)."""
    return exp.Paren(this=e) if isinstance(e, (exp.Connector, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Neg, exp.Not)) else e


def _not(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=e if isinstance(e, (exp.Coalesce, exp.Boolean, exp.Paren)) else exp.Paren(this=e))


def _not_null_bool(e: exp.Expression) -> exp.Expression:
    return exp.Coalesce(this=e, expressions=[exp.false()])


def interval(seconds: int) -> exp.Interval:
    for unit, size in (("WEEK", 0), ("DAY", 86400), ("HOUR", 3600), ("MINUTE", 60), ("SECOND", 1)):
        if size and seconds % size == 0:
            return exp.Interval(this=exp.Literal.string(str(seconds // size)), unit=exp.var(unit))
    return exp.Interval(this=exp.Literal.string(str(seconds)), unit=exp.var("SECOND"))


@dataclass
class _Value:
    sql: exp.Expression
    nullable: bool


class QueryBuilder:
    """Compiles the segments of one project for one engine and one reference time."""

    def __init__(self, model: Model, segments: dict[str, ir.Segment], engine: Engine, as_of: dt.datetime | None,
                 instants: list[dt.datetime] | None = None):
        """With `instants`, every segment is evaluated at each of them in the same query: the
        instants are a table crossed with persons and events, and now() is its column."""
        # distinct: a repeated instant would repeat every event of its cross join (counts doubled)
        self.instants = list(dict.fromkeys(instants)) if instants else instants
        self.m = model
        self.segments = segments
        self.engine = engine
        self.as_of = as_of
        self._aggs: dict[str, exp.Column] = {}
        self._agg_selects: list[exp.Expression] = []
        self._agg_needs_persons = False
        self._ctes: list[exp.CTE] = []
        self._joins: list[tuple[exp.Table, exp.Expression]] = []
        self._levels: dict[str, int] = {}
        self._layers: list[tuple[str, exp.Select]] = []
        self._ref_alias = REF
        self._n = 0

    # -- names ---------------------------------------------------------------------------------
    def pkey(self, alias: str = P) -> exp.Column:
        return col(self.m.persons.key, alias)

    def ecol(self, which: str) -> exp.Column:
        ev = self.m.events
        return col({"person": ev.person, "event": ev.event, "timestamp": ev.timestamp}[which], E)

    def person_prop(self, name: str, type_: str, alias: str) -> exp.Expression:
        js = self.m.persons.properties_json
        if js:
            return self.engine.json_property(col(js, alias), name, type_)
        return col(name, alias)

    def event_prop(self, name: str, type_: str) -> exp.Expression:
        js = self.m.events.properties_json
        if js:
            return self.engine.json_property(col(js, E), name, type_)
        return col(name, E)

    def now(self) -> exp.Expression:
        if self.instants:
            return col(T, AT)
        if self.as_of is not None:
            return self.engine.timestamp_literal(self.as_of)
        return self.engine.now()

    # -- values --------------------------------------------------------------------------------
    def const_time(self, e: ir.Expr) -> dt.datetime | None:
        """Fold now()/literals ± durations when the reference time is known."""
        if isinstance(e, ir.Now):
            return self.as_of
        if isinstance(e, ir.Const) and e.type == "timestamp":
            return e.value
        if isinstance(e, ir.Arith) and e.type == "timestamp" and isinstance(e.right, ir.Const) and e.right.type == "duration":
            base = self.const_time(e.left)
            if base is not None:
                d = dt.timedelta(seconds=e.right.value)
                try:
                    return base - d if e.op == "-" else base + d
                except OverflowError:  # date('9999-12-31') + 1d: left to the engine, which says so
                    return None
        return None

    def value(self, e: ir.Expr, ctx: str) -> _Value:
        if e.type == "boolean" and not isinstance(e, (ir.Const, ir.PersonProp, ir.EventProp)):
            # a condition used as a value (x = (a > b), (c) in (true), (d) is null): parenthesised
            return _Value(exp.Paren(this=self.cond(e, ctx)), False)
        if e.type == "timestamp":
            folded = self.const_time(e)
            if folded is not None:
                return _Value(self.engine.timestamp_literal(folded), False)
        if isinstance(e, ir.Const):
            return _Value(self.literal(e.value, e.type), e.value is None)
        if isinstance(e, ir.Now):
            return _Value(self.now(), False)
        if isinstance(e, ir.PersonProp):
            return _Value(self.person_prop(e.name, e.type, PE if ctx == "event" else P), True)
        if isinstance(e, ir.EventProp):
            return _Value(self.event_prop(e.name, e.type), True)
        if isinstance(e, ir.Negate):
            v = self.value(e.operand, ctx)
            return _Value(exp.Neg(this=_paren(v.sql)), v.nullable)
        if isinstance(e, ir.Arith):
            return self.arith(e, ctx)
        if isinstance(e, ir.EventAgg):
            return self.behaviour(e)
        if isinstance(e, ir.ActivePeriods):
            return _Value(self.active_periods(e), False)
        raise NotImplementedError(type(e).__name__)

    def literal(self, v: object, type_: str) -> exp.Expression:
        if v is None:
            return exp.Null()
        if type_ == "boolean":
            return exp.Boolean(this=bool(v))
        if type_ == "string":
            return exp.Literal.string(v)
        if type_ == "timestamp":
            return self.engine.timestamp_literal(v)
        return exp.Literal.number(repr(v) if isinstance(v, float) else v)

    def arith(self, e: ir.Arith, ctx: str) -> _Value:
        left = self.value(e.left, ctx)
        if e.type == "timestamp":
            seconds = e.right.value
            cls = exp.Sub if e.op == "-" else exp.Add
            return _Value(cls(this=left.sql, expression=interval(seconds)), left.nullable)
        right = self.value(e.right, ctx)
        nullable = left.nullable or right.nullable
        l, r = _paren(left.sql), _paren(right.sql)
        if e.op == "/":
            # true division; x / 0 is null on every engine (ClickHouse gives inf, PostgreSQL fails)
            # copy=False here and below: the operands are built for this node alone (a copy would
            # leave the original as garbage for the cycle collector)
            return _Value(exp.Div(this=exp.cast(l, data_type("DOUBLE"), copy=False), expression=exp.Nullif(
                this=exp.cast(r, data_type("DOUBLE"), copy=False), expression=exp.Literal.number(0))), True)
        cls = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul}[e.op]
        return _Value(cls(this=l, expression=r), nullable)

    # -- booleans (never null) -----------------------------------------------------------------
    def cond(self, e: ir.Expr, ctx: str) -> exp.Expression:
        if isinstance(e, ir.Const):
            return exp.Boolean(this=bool(e.value))
        if isinstance(e, ir.SegmentRef):
            return self.flag(e.name)
        if isinstance(e, ir.Not):
            return _not(self.cond(e.operand, ctx))
        if isinstance(e, ir.And):
            return _and([_paren(self.cond(x, ctx)) for x in e.items])
        if isinstance(e, ir.Or):
            return _or([_paren(self.cond(x, ctx)) for x in e.items])
        if isinstance(e, ir.IsNull):
            v = self.value(e.operand, ctx)
            test = exp.Is(this=v.sql, expression=exp.Null())
            return _not(test) if e.negated else test
        if isinstance(e, (ir.PersonProp, ir.EventProp)):  # a bare boolean property
            return _not_null_bool(self.value(e, ctx).sql)
        if isinstance(e, ir.Compare):
            return self.compare(e, ctx)
        if isinstance(e, ir.InList):
            v = self.value(e.operand, ctx)
            items = [self.literal(x, _type_of(x, e.operand.type)) for x in e.values]
            test = exp.In(this=v.sql, expressions=items)
            test = _not_null_bool(test) if v.nullable else test
            return _not(test) if e.negated else test
        if isinstance(e, ir.Between):
            vals = [self.value(x, ctx) for x in (e.operand, e.low, e.high)]
            test = exp.Between(this=vals[0].sql, low=vals[1].sql, high=vals[2].sql)
            return _not_null_bool(test) if any(v.nullable for v in vals) else test
        if isinstance(e, ir.TextTest):
            return self.text_test(e, ctx)
        if isinstance(e, ir.EventAgg):
            return self.behaviour(e).sql
        if isinstance(e, ir.Sequence):
            return self.sequence(e)
        raise NotImplementedError(type(e).__name__)

    def compare(self, e: ir.Compare, ctx: str) -> exp.Expression:
        left, right = self.value(e.left, ctx), self.value(e.right, ctx)
        negate = e.op == "!="
        cls = {"=": exp.EQ, "!=": exp.EQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}[e.op]
        test = cls(this=_paren(left.sql), expression=_paren(right.sql))
        if left.nullable or right.nullable:
            test = _not_null_bool(test)
        return _not(test) if negate else test

    def text_test(self, e: ir.TextTest, ctx: str) -> exp.Expression:
        v = self.value(e.operand, ctx)
        pat = exp.Literal.string(e.pattern)
        if e.op == "starts_with":
            test = exp.StartsWith(this=v.sql, expression=pat)
        elif e.op == "ends_with":
            test = self.engine.ends_with(v.sql, pat)
        elif e.op == "contains":
            test = exp.GT(this=exp.StrPosition(this=v.sql, substr=pat), expression=exp.Literal.number(0))
        elif e.op == "icontains":
            test = exp.GT(
                this=exp.StrPosition(this=self.engine.lower(v.sql), substr=self.engine.lower(pat)),
                expression=exp.Literal.number(0),
            )
        else:
            test = self.engine.regex_match(v.sql, pat)
        return _not_null_bool(test) if v.nullable else test

    def flag(self, name: str) -> exp.Expression:
        """Membership of a referenced segment: its column in the previous layer of flags."""
        return col(name, self._ref_alias)

    # -- segment references: layers of flags -----------------------------------------------------
    def _level(self, name: str) -> int:
        if name not in self._levels:
            deps = self.segments[name].depends_on
            self._levels[name] = 1 + max((self._level(d) for d in deps), default=-1)
        return self._levels[name]

    def _closure(self, names: list[str]) -> list[str]:
        seen: dict[str, None] = {}
        stack = list(reversed(names))
        while stack:
            n = stack.pop()
            if n not in seen:
                seen[n] = None
                stack.extend(self.segments[n].depends_on)
        return sorted(seen, key=lambda n: (self._level(n), n))

    def _flag_layers(self, names: list[str]) -> str | None:
        """CTEs computing the flags of `names` and everything they reference, one layer per
        depth of reference: a layer reads the flags of the layers below from the previous one,
        so a segment referenced many times is computed once (inlining would grow the SQL
        exponentially with the depth of references). Returns the last layer's name."""
        prev: str | None = None
        carried: list[str] = []
        by_level: dict[int, list[str]] = {}
        for n in self._closure(names):
            by_level.setdefault(self._level(n), []).append(n)
        for level in sorted(by_level):
            name = f"segc_flags{level}"
            self._ref_alias = REF
            projections = [exp.alias_(self.pkey(), ident(PID), copy=False)] + self._t() + [col(c, REF) for c in carried]
            projections += [exp.alias_(self.cond(self.segments[n].where, "person"), ident(n), copy=False) for n in by_level[level]]
            sel = self._persons_from().select(*projections, copy=False)
            if prev is not None:
                sel = sel.join(exp.Join(this=table(prev, REF), kind="INNER", on=self._on_person(REF)), copy=False)
            self._layers.append((name, sel))
            carried += by_level[level]
            prev = name
        return prev

    # -- behaviour -----------------------------------------------------------------------------
    def event_scan(self, f_where: ir.Expr | None, window: ir.Window) -> list[exp.Expression]:
        """Conditions on one event row: where, window (events at/after now are filtered in FROM)."""
        parts = []
        ts = self.ecol("timestamp")
        if f_where is not None:
            parts.append(self.cond(f_where, "event"))
        if window.start is not None:
            parts.append(exp.GTE(this=ts, expression=self.value(window.start, "event").sql))
        if window.end is not None:
            parts.append(exp.LT(this=ts, expression=self.value(window.end, "event").sql))
        return parts

    def event_match(self, event: str | None, where: ir.Expr | None, window: ir.Window) -> exp.Expression | None:
        parts = []
        if event is not None:
            parts.append(exp.EQ(this=self.ecol("event"), expression=exp.Literal.string(event)))
        parts += self.event_scan(where, window)
        return _and([_paren(p) for p in parts])

    def behaviour(self, e: ir.EventAgg) -> _Value:
        f = e.filter
        if _uses_person(f.where, f.window):
            self._agg_needs_persons = True
        c = self.event_match(f.event, f.where, f.window)
        ts = self.ecol("timestamp")

        def when(x: exp.Expression) -> exp.Expression:
            return x if c is None else exp.Case(ifs=[exp.If(this=fresh(c), true=x)])

        func = e.func
        if func in ("performed", "count", "persons"):
            agg = exp.Count(this=exp.Star()) if c is None else self.engine.count_if(c)
        elif func in ("first_time", "last_time"):
            agg = (exp.Min if func == "first_time" else exp.Max)(this=when(ts))
        elif func == "active_days":
            agg = exp.Count(this=exp.Distinct(expressions=[when(exp.cast(ts, data_type("DATE"), copy=False))]))
        else:
            value = self.event_prop(e.prop.name, e.prop.type)
            if func == "avg" and e.prop.type == "integer":  # PostgreSQL's avg of integers is numeric: 5/3 * 3 would not be 5
                value = exp.cast(value, data_type("DOUBLE"), copy=False)
            agg = {"sum": exp.Sum, "avg": exp.Avg, "min": exp.Min, "max": exp.Max}[func](this=when(value))
        column = self._aggregate(agg, (func, e.prop.name if e.prop else None, ir.structural_key(f)))
        zero = exp.Literal.number(0)
        if func == "performed":
            return _Value(exp.GT(this=exp.Coalesce(this=column, expressions=[zero]), expression=zero), False)
        if func in ("count", "active_days", "sum", "persons"):
            return _Value(exp.Coalesce(this=column, expressions=[zero]), False)
        return _Value(column, True)

    def _aggregate(self, agg: exp.Expression, key: tuple) -> exp.Column:
        if key not in self._aggs:
            alias = f"segc_{len(self._aggs) + 1}"
            self._agg_selects.append(exp.alias_(agg, ident(alias), copy=False))
            self._aggs[key] = col(alias, A)
        return fresh(self._aggs[key])

    def _events_from(self, needs_persons: bool) -> tuple[exp.Table, list[exp.Join], exp.Expression]:
        """FROM events [JOIN persons], and the condition every scan applies: before now()."""
        ev = table(self.m.events.table, E)
        joins = []
        if needs_persons:
            joins.append(exp.Join(this=table(self.m.persons.table, PE), kind="INNER",
                                  on=exp.EQ(this=self.pkey(PE), expression=self.ecol("person"))))
        before_now = exp.LT(this=self.ecol("timestamp"), expression=self.now())
        return ev, joins, before_now

    def _at_cross(self) -> list[exp.Join]:
        return [exp.Join(this=table(AT, AT), kind="CROSS")] if self.instants else []

    def _t(self) -> list[exp.Expression]:
        """The instant as a projection, where there are instants."""
        return [exp.alias_(col(T, AT), ident(T), copy=False)] if self.instants else []

    def _t_key(self) -> list[exp.Expression]:
        return [col(T, AT)] if self.instants else []

    def _on_person(self, alias: str) -> exp.Expression:
        """Join a per-person (per-instant) relation to the persons row being evaluated."""
        on = exp.EQ(this=col(PID, alias), expression=self.pkey())
        if self.instants:
            on = exp.And(this=on, expression=exp.EQ(this=col(T, alias), expression=col(T, AT)))
        return on

    def _scan_select(self, projections: list[exp.Expression], needs_persons: bool, conds: list[exp.Expression]) -> exp.Select:
        ev, joins, before_now = self._events_from(needs_persons)
        sel = exp.Select(expressions=projections).from_(ev, copy=False)
        for j in joins + self._at_cross():
            sel = sel.join(j, copy=False)
        return sel.where(_and([before_now] + [_paren(c) for c in conds]), copy=False)

    def _cte_name(self, kind: str) -> str:
        self._n += 1
        return f"segc_{kind}{self._n}"

    def active_periods(self, e: ir.ActivePeriods) -> exp.Expression:
        f = e.filter
        name = self._cte_name("periods")
        micros = exp.DateDiff(this=self.now(), expression=self.ecol("timestamp"), unit=exp.var("MICROSECOND"))
        # period k holds the events in [now - (k+1)·D, now - k·D): k = (µs before now - 1) div D
        k = exp.IntDiv(this=exp.Paren(this=exp.Sub(this=micros, expression=exp.Literal.number(1))),
                       expression=exp.Literal.number(e.every_seconds * 1_000_000))
        match = self.event_match(f.event, f.where, f.window)
        inner = self._scan_select([exp.alias_(self.ecol("person"), ident(PID), copy=False)] + self._t() + [exp.alias_(k, ident("segc_k"), copy=False)],
                                  _uses_person(f.where, f.window), [match] if match is not None else [])
        inner = inner.group_by(self.ecol("person"), *self._t_key(), fresh(k), copy=False).having(
            exp.GTE(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(e.min_events)), copy=False)
        keys = [col(PID)] + ([col(T)] if self.instants else [])
        outer = (exp.Select(expressions=[fresh(c) for c in keys] + [exp.alias_(exp.Count(this=exp.Star()), ident("segc_n"), copy=False)])
                 .from_(inner.subquery(ident("segc_periods"), copy=False), copy=False).group_by(*keys, copy=False))
        self._ctes.append(exp.CTE(this=outer, alias=exp.TableAlias(this=ident(name))))
        self._joins.append((table(name, name), self._on_person(name)))
        return exp.Coalesce(this=col("segc_n", name), expressions=[exp.Literal.number(0)])

    def sequence(self, e: ir.Sequence) -> exp.Expression:
        """Greedy chain per start event: each step takes the earliest matching event strictly
        after the previous one, within the window and (if given) at most `span` after the start."""
        base = self._cte_name("sequence")
        prev = None
        ts = self.ecol("timestamp")
        for i, step in enumerate(e.steps, start=1):
            match = self.event_match(step.event, step.where, e.window)
            conds = [match] if match is not None else []
            persons = _uses_person(step.where, e.window)
            name = f"{base}_{i}"
            now_proj = [exp.alias_(col(T, AT), ident("segc_now"), copy=False)] if self.instants else []
            if prev is None:
                sel = self._scan_select(
                    [exp.alias_(self.ecol("person"), ident(PID), copy=False), exp.alias_(ts, ident("segc_t1"), copy=False),
                     exp.alias_(fresh(ts), ident("segc_step"), copy=False)] + now_proj,
                    persons, conds + [_not(exp.Is(this=self.ecol("person"), expression=exp.Null()))])
            else:
                on = [exp.EQ(this=self.ecol("person"), expression=col(PID, "s")), exp.GT(this=fresh(ts), expression=col("segc_step", "s"))]
                if e.span_seconds is not None:
                    on.append(exp.LTE(this=fresh(ts), expression=exp.Add(this=col("segc_t1", "s"), expression=interval(e.span_seconds))))
                ev, joins, before_now = self._events_from(persons)
                keys = [col(PID, "s"), col("segc_t1", "s")] + ([col("segc_now", "s")] if self.instants else [])
                sel = (exp.Select(expressions=[fresh(k) for k in keys] + [exp.alias_(exp.Min(this=fresh(ts)), ident("segc_step"), copy=False)])
                       .from_(table(prev, "s"), copy=False)
                       .join(exp.Join(this=ev, kind="INNER", on=_and(on)), copy=False))
                for j in joins:
                    sel = sel.join(j, copy=False)
                if self.instants:  # the instant this chain is evaluated at: now() in the conditions
                    sel = sel.join(exp.Join(this=table(AT, AT), kind="INNER",
                                            on=exp.EQ(this=col(T, AT), expression=col("segc_now", "s"))), copy=False)
                sel = sel.where(_and([before_now] + [_paren(c) for c in conds]), copy=False).group_by(*keys, copy=False)
            self._ctes.append(exp.CTE(this=sel, alias=exp.TableAlias(this=ident(name))))
            prev = name
        if self.instants:
            members = exp.Select(expressions=[col(PID), col("segc_now")]).from_(table(prev), copy=False)
            return _not_null_bool(exp.In(this=exp.Tuple(expressions=[self.pkey(), col(T, AT)]), query=members.subquery(copy=False)))
        members = exp.Select(expressions=[col(PID)]).from_(table(prev), copy=False)
        return _not_null_bool(exp.In(this=self.pkey(), query=members.subquery(copy=False)))

    # -- queries -------------------------------------------------------------------------------
    def _with_event_joins(self, select: exp.Select) -> exp.Select:
        """LEFT JOIN the per-person aggregates (and period counts) to a SELECT over persons."""
        if self._agg_selects:
            select = select.join(exp.Join(this=table(A, A), side="LEFT", on=self._on_person(A)), copy=False)
        for t, on in self._joins:
            select = select.join(exp.Join(this=fresh(t), side="LEFT", on=fresh(on)), copy=False)
        return select

    def _assemble(self, select: exp.Select, over_persons: bool = True) -> exp.Select:
        ctes = []
        if self._agg_selects:
            agg = self._scan_select([exp.alias_(self.ecol("person"), ident(PID), copy=False)] + self._t() + self._agg_selects,
                                    self._agg_needs_persons, [])
            agg = agg.group_by(self.ecol("person"), *self._t_key(), copy=False)
            ctes.append(exp.CTE(this=agg, alias=exp.TableAlias(this=ident(A))))
        if self.instants:
            ctes.insert(0, exp.CTE(this=self._instants_table(), alias=exp.TableAlias(this=ident(AT))))
        ctes += self._ctes
        for name, layer in self._layers:
            ctes.append(exp.CTE(this=self._with_event_joins(layer), alias=exp.TableAlias(this=ident(name))))
        if over_persons:
            select = self._with_event_joins(select)
        if ctes:
            select.set("with_", exp.With(expressions=ctes))
        return self.engine.finish(select)

    def _instants_table(self) -> exp.Expression:
        rows = [exp.Select(expressions=[exp.alias_(self.engine.timestamp_literal(t), ident(T), copy=False)]) for t in self.instants]
        out = rows[0]
        for r in rows[1:]:
            out = exp.Union(this=out, expression=r, distinct=False)
        return out

    def _persons_from(self) -> exp.Select:
        sel = exp.Select().from_(table(self.m.persons.table, P), copy=False)
        for j in self._at_cross():
            sel = sel.join(j, copy=False)
        return sel

    def members(self, name: str) -> exp.Select:
        """SELECT the member keys of one segment: one column, named like the persons key."""
        seg = self.segments[name]
        sel = (exp.Select(expressions=[exp.alias_(self.pkey(), ident(self.m.persons.key), copy=False)])
               .from_(table(self.m.persons.table, P), copy=False))
        if seg.depends_on:
            last = self._flag_layers(list(seg.depends_on))
            sel = sel.join(exp.Join(this=table(last, REF), kind="INNER", on=exp.EQ(this=col(PID, REF), expression=self.pkey())), copy=False)
        self._ref_alias = REF
        condition = self.cond(seg.where, "person")
        sel = self._assemble(sel)
        return sel.where(condition, copy=False)

    def persons_select(self, projections: list[exp.Expression], condition: exp.Expression | None = None,
                       depends_on: tuple[str, ...] = ()) -> exp.Select:
        """One row per person (alias P) with the given projections, optionally filtered: the hook
        cohorts and insights use. Compute projections and condition with value()/cond() first;
        `depends_on` names the segments whose flag() they read."""
        sel = exp.Select(expressions=projections).from_(table(self.m.persons.table, P), copy=False)
        if depends_on:
            last = self._flag_layers(list(depends_on))
            sel = sel.join(exp.Join(this=table(last, REF), kind="INNER", on=exp.EQ(this=col(PID, REF), expression=self.pkey())), copy=False)
        sel = self._assemble(sel)
        return sel.where(condition, copy=False) if condition is not None else sel

    def flags(self, names: list[str]) -> exp.Select:
        """One row per person: the key, then one never-null membership flag per segment."""
        last = self._flag_layers(names)
        projections = [exp.alias_(col(PID, REF), ident(self.m.persons.key), copy=False)]
        projections += [col(T, REF)] if self.instants else []
        projections += [col(n, REF) for n in names]
        sel = exp.Select(expressions=projections).from_(table(last, REF), copy=False)
        return self._assemble(sel, over_persons=False)




def _type_of(value: object, operand_type: str) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    return "number" if isinstance(value, float) else "integer"


def _uses_person(where: ir.Expr | None, window: ir.Window) -> bool:
    for root in (where, window.start, window.end):
        if root is not None and any(isinstance(n, ir.PersonProp) for n in ir.walk(root)):
            return True
    return False


MASK_BITS = 62  # bits per BIGINT mask column (kept below the sign bit)


def membership_masks(flags: exp.Select, key: str, names: list[str]) -> exp.Select:
    """Group the persons by which segments they are in: one row per distinct combination,
    with the count and two example keys. Overlaps of every pair follow from these rows, so
    K segments cost one scan and no pairwise queries."""
    masks = []
    for start in range(0, len(names), MASK_BITS):
        terms = [
            exp.Case(ifs=[exp.If(this=col(n, "segc_flags"), true=exp.Literal.number(1 << (i - start)))],
                     default=exp.Literal.number(0))
            for i, n in enumerate(names[start:start + MASK_BITS], start=start)
        ]
        total = terms[0]
        for t in terms[1:]:
            total = exp.Add(this=total, expression=t)
        masks.append(exp.alias_(exp.cast(total, data_type("BIGINT")), f"segc_mask{start // MASK_BITS}"))
    mask_cols = [exp.column(m.alias) for m in masks]
    ctes = flags.args.pop("with_", None)  # hoisted: not every engine takes WITH inside a subquery
    inner = exp.Select(expressions=[exp.alias_(col(key, "segc_flags"), ident(PID), copy=False)] + masks).from_(
        flags.subquery("segc_flags"), copy=False)
    outer = exp.Select(
        expressions=[fresh(c) for c in mask_cols] + [
            exp.alias_(exp.Count(this=exp.Star()), ident("segc_n"), copy=False),
            exp.alias_(exp.Min(this=col(PID)), ident("segc_min_key"), copy=False),
            exp.alias_(exp.Max(this=col(PID)), ident("segc_max_key"), copy=False),
        ]
    ).from_(inner.subquery("segc_masks"), copy=False).group_by(*[fresh(c) for c in mask_cols], copy=False)
    if ctes is not None:
        outer.set("with_", ctes)
    return outer


def _mask_columns(names: list[str], source: str) -> list[exp.Expression]:
    """BIGINT bitmask columns of membership flags (bit i: names[i]), MASK_BITS per column."""
    masks = []
    for start in range(0, len(names), MASK_BITS):
        terms = [
            exp.Case(ifs=[exp.If(this=col(n, source), true=exp.Literal.number(1 << (i - start)))], default=exp.Literal.number(0))
            for i, n in enumerate(names[start:start + MASK_BITS], start=start)
        ]
        total = terms[0]
        for t in terms[1:]:
            total = exp.Add(this=total, expression=t)
        masks.append(exp.alias_(exp.cast(total, data_type("BIGINT"), copy=False), f"segc_mask{start // MASK_BITS}", copy=False))
    return masks


def _hoist(flags: exp.Select, outer: exp.Select) -> exp.Select:
    """Move WITH and SETTINGS from the inner flags query to the outer one (not every engine
    takes WITH inside a subquery, and SETTINGS belongs to the statement)."""
    for arg in ("with_", "settings"):
        value = flags.args.pop(arg, None)
        if value is not None:
            outer.set(arg, value)
    return outer


def masks_by_instant(flags: exp.Select, names: list[str]) -> exp.Select:
    """History: persons grouped by instant and combination of memberships, one query."""
    masks = _mask_columns(names, "segc_flags")
    inner = exp.Select(expressions=[col(T, "segc_flags")] + masks)
    mask_cols = [exp.column(m.alias) for m in masks]
    keys = [col(T)] + mask_cols
    outer = exp.Select(expressions=[fresh(k) for k in keys] + [exp.alias_(exp.Count(this=exp.Star()), ident("segc_n"), copy=False)])
    ctes_settings = _hoist(flags, outer)
    inner = inner.from_(flags.subquery("segc_flags"), copy=False)
    return ctes_settings.from_(inner.subquery("segc_masks"), copy=False).group_by(*keys, copy=False).order_by(col(T), copy=False)


def transitions(flags: exp.Select, key: str, names: list[str], t1: exp.Expression, t2: exp.Expression) -> exp.Select:
    """Migration: per person the combination of memberships at t1 and at t2, then persons
    counted by the pair of combinations."""
    masks = _mask_columns(names, "segc_flags")
    per_instant = exp.Select(expressions=[exp.alias_(col(key, "segc_flags"), ident(PID), copy=False), col(T, "segc_flags")] + masks)
    per_instant = per_instant.from_(flags.subquery("segc_flags"), copy=False)
    pairs = [exp.alias_(col(PID), ident(PID), copy=False)]
    for when, tag in ((t1, "from"), (t2, "to")):
        for m in masks:
            pairs.append(exp.alias_(
                exp.Max(this=exp.Case(ifs=[exp.If(this=exp.EQ(this=col(T), expression=fresh(when)), true=exp.column(m.alias))])),
                f"segc_{tag}_{m.alias}", copy=False))
    per_person = exp.Select(expressions=pairs).from_(per_instant.subquery("segc_at_masks"), copy=False).group_by(col(PID), copy=False)
    keys = [exp.column(p.alias) for p in pairs[1:]]
    outer = exp.Select(expressions=[fresh(k) for k in keys] + [exp.alias_(exp.Count(this=exp.Star()), ident("segc_n"), copy=False)])
    outer = _hoist(flags, outer)
    return outer.from_(per_person.subquery("segc_pairs"), copy=False).group_by(*keys, copy=False)
