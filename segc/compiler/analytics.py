"""Typed IR -> sqlglot tree for cohorts and insights (LANGUAGE.md §5): one SELECT per
definition whose rows are the result table. Expressions, event conditions and segment flags
come from QueryBuilder; this module adds calendars, buckets and the per-kind aggregation.

Shared shape of every query (CTEs, top to bottom):
- segc_people: the persons counted (the persons table, filtered by `segment:`), with the
  breakdown value of each (one row per listed segment the person is in for segments);
- segc_calendar: the buckets, every interval that overlaps the range, built in SQL by a
  recursive CTE (the same tree on DuckDB, PostgreSQL and ClickHouse) so that empty buckets
  are there to be shown as 0, whether now() is a literal (--as-of) or the engine's clock;
- the kind's own CTEs, then a final SELECT named like the result table's columns.

Naming rule, kept because ClickHouse resolves an alias before a column of the same name: no
SELECT gives an output the name of one of its inputs.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlglot import exp

from .. import ir
from ..loader.project import Model
from .builder import E, P, PE, PID, QueryBuilder, _and, _or, _paren, col, ident, interval, table
from .dialects import ENGINES, Engine, fresh

UNITS = {"day": "DAY", "week": "WEEK", "month": "MONTH"}
BD = "segc_bd"
BUCKET = "segc_bucket"
LIFECYCLE = ("new", "returning", "resurrecting", "dormant")


@dataclass(frozen=True)
class Column:
    """A column of a result table: its name and logical type (string | integer | number |
    boolean | timestamp); the runner normalises every engine's values to that type."""

    name: str
    type: str


@dataclass(frozen=True)
class AnalyticsQuery:
    name: str
    kind: str  # cohort | trend | funnel | lifecycle | stickiness
    select: exp.Select
    columns: tuple[Column, ...]
    breakdown: tuple[str, ...] = ()  # listed segments of a segment breakdown, in order


RESULT_COLUMNS = {
    "cohort": ("cohort_start", "period", "persons", "share", "partial"),
    "trend": ("breakdown", "interval_start", "formula", "partial"),
    "funnel": ("breakdown", "step", "event", "persons", "conversion_from_previous", "conversion_from_first"),
    "lifecycle": ("breakdown", "interval_start", *LIFECYCLE, "partial"),
    "stickiness": ("breakdown", "active_intervals", "persons"),
}


# -- small tree helpers ---------------------------------------------------------------------------
def _num(n: int | float) -> exp.Literal:
    return exp.Literal.number(n)


def _one(unit: str, n: int = 1) -> exp.Interval:
    return exp.Interval(this=exp.Literal.string(str(n)), unit=exp.var(UNITS[unit]))


def _shift(ts: exp.Expression, k: exp.Expression, unit: str) -> exp.Expression:
    """ts + k·unit for an integer column k (calendar months for month)."""
    return exp.DateAdd(this=ts, expression=k, unit=exp.var(UNITS[unit]))


def _cte(name: str, select: exp.Expression) -> exp.CTE:
    return exp.CTE(this=select, alias=exp.TableAlias(this=exp.to_identifier(name)))


def _union_all(selects: list[exp.Select]) -> exp.Expression:
    out = selects[0]
    for s in selects[1:]:
        out = exp.Union(this=out, expression=s, distinct=False)
    return out


def _double(e: exp.Expression) -> exp.Expression:
    return exp.cast(e, exp.DataType.build("DOUBLE"))


def _ratio(num: exp.Expression, den: exp.Expression) -> exp.Expression:
    """num / den in floating point; null when den is 0 (ClickHouse would give inf or nan)."""
    return exp.Div(this=_double(num), expression=exp.Nullif(this=_double(den), expression=_num(0)))


def _select(*projections: exp.Expression) -> exp.Select:
    return exp.Select(expressions=list(projections))


def _alias(e: exp.Expression, name: str) -> exp.Expression:
    return exp.alias_(e, ident(name), copy=False)


def _strip_settings(select: exp.Select) -> exp.Select:
    """QueryBuilder's engine.finish() may add SETTINGS (ClickHouse); they belong on the outer query."""
    select.args.pop("settings", None)
    return select


def _uses_person(where: ir.Expr | None, _window=None) -> bool:
    """Whether an event condition reads a person property (the events scan then joins persons)."""
    return where is not None and any(isinstance(n, ir.PersonProp) for n in ir.walk(where))


def events_select(qb: QueryBuilder, projections: list, needs_persons: bool, conds: list) -> exp.Select:
    """FROM events [JOIN persons AS pe] WHERE before now() AND conds: the scan every kind makes."""
    sel = _select(*projections).from_(table(qb.m.events.table, E), copy=False)
    if needs_persons:
        sel = sel.join(exp.Join(this=table(qb.m.persons.table, PE), kind="INNER",
                                on=exp.EQ(this=qb.pkey(PE), expression=qb.ecol("person"))), copy=False)
    before_now = exp.LT(this=qb.ecol("timestamp"), expression=qb.now())
    return sel.where(_and([before_now] + [_paren(c) for c in conds if c is not None]), copy=False)


def with_window(e: ir.Expr, window: ir.Window) -> ir.Expr:
    """`e` with every behavioural call looking at `window` (a cohort's returning condition,
    evaluated once per period)."""
    if isinstance(e, (ir.EventAgg, ir.ActivePeriods)):
        return dataclasses.replace(e, filter=dataclasses.replace(e.filter, window=window))
    if isinstance(e, ir.Sequence):
        return dataclasses.replace(e, window=window)
    changes = {}
    for f in dataclasses.fields(e):
        v = getattr(e, f.name)
        if isinstance(v, ir.Expr):
            changes[f.name] = with_window(v, window)
        elif isinstance(v, tuple) and v and all(isinstance(x, ir.Expr) for x in v):
            changes[f.name] = tuple(with_window(x, window) for x in v)
    return dataclasses.replace(e, **changes) if changes else e


# -- the builder ----------------------------------------------------------------------------------
class AnalyticsBuilder:
    """Compiles one cohort or insight for one engine and one reference time."""

    def __init__(self, model: Model, segments: dict[str, ir.Segment], engine: Engine, as_of: dt.datetime | None):
        self.m = model
        self.segments = segments
        self.engine = engine
        self.as_of = as_of
        self.ctes: list[exp.CTE] = []

    def qb(self, model: Model | None = None, segments: dict | None = None) -> QueryBuilder:
        return QueryBuilder(model or self.m, self.segments if segments is None else segments, self.engine, self.as_of)

    def now(self) -> exp.Expression:
        return self.qb().now()

    def add(self, name: str, select: exp.Expression) -> None:
        self.ctes.append(_cte(name, select))

    def finish(self, select: exp.Select) -> exp.Select:
        select.set("with_", exp.With(expressions=self.ctes, recursive=True))
        return self.engine.finish(select)

    # -- time -------------------------------------------------------------------------------------
    def time(self, e: ir.Expr) -> exp.Expression:
        """A constant time (range bound): a literal when --as-of is known."""
        return self.qb().value(e, "person").sql

    def range_bounds(self, w: ir.Window) -> tuple[exp.Expression, exp.Expression | None, exp.Expression]:
        """(start, end or None, effective end = min(end, now))."""
        start = self.time(w.start)
        if w.end is None:
            return start, None, self.now()
        end = self.time(w.end)
        qb = self.qb()
        end_value, now_value = qb.const_time(w.end), self.as_of
        if end_value is not None and now_value is not None:
            return start, end, self.engine.timestamp_literal(min(end_value, now_value))
        return start, end, exp.Least(this=fresh(end), expressions=[self.now()])

    def trunc(self, ts: exp.Expression, unit: str) -> exp.Expression:
        return self.engine.truncate(ts, UNITS[unit])

    def calendar(self, start: exp.Expression, end_eff: exp.Expression, unit: str) -> None:
        """segc_calendar(segc_bucket): trunc(start), +1 unit, … while the bucket starts before end_eff."""
        first = self.trunc(fresh(start), unit)
        anchor = _select(_alias(first, BUCKET)).where(exp.LT(this=fresh(first), expression=fresh(end_eff)), copy=False)
        step = exp.Add(this=col(BUCKET, "segc_c"), expression=_one(unit))
        member = (_select(step).from_(table("segc_calendar", "segc_c"), copy=False)
                  .where(exp.LT(this=fresh(step), expression=fresh(end_eff)), copy=False))
        self.add("segc_calendar", _union_all([anchor, member]))

    def partial(self, bucket: exp.Expression, start: exp.Expression, end_eff: exp.Expression, unit: str) -> exp.Expression:
        """A bucket is partial when the range (cut at now()) does not hold all of it."""
        return exp.Or(this=exp.LT(this=fresh(bucket), expression=fresh(start)),
                      expression=exp.GT(this=exp.Add(this=fresh(bucket), expression=_one(unit)), expression=fresh(end_eff)))

    # -- who is counted ---------------------------------------------------------------------------
    def people(self, segment: str | None, breakdown: ir.Breakdown | None) -> None:
        """segc_people(segc_pid[, segc_bd]): persons in the filter segment, with their breakdown
        value: a person property (null when missing), or each listed segment they are in (null
        when in none of them). Event-property breakdowns are read from the events instead."""
        qb = self.qb()
        proj = [_alias(qb.pkey(), PID)]
        listed = breakdown.segments if breakdown is not None else ()
        if breakdown is not None and breakdown.person_prop is not None:
            proj.append(_alias(qb.value(breakdown.person_prop, "person").sql, BD))
        for i, name in enumerate(listed, start=1):
            proj.append(_alias(qb.flag(name), f"segc_s{i}"))
        cond = qb.flag(segment) if segment else None
        deps = tuple(dict.fromkeys(([segment] if segment else []) + list(listed)))
        persons = _strip_settings(qb.persons_select(proj, cond, deps))
        if not listed:
            self.add("segc_people", persons)
            return
        self.add("segc_flags", persons)
        text = exp.DataType.build("TEXT")
        names = [_select(_alias(_num(0), "segc_i"), _alias(exp.cast(exp.Null(), text), "segc_name"))]
        names += [_select(_num(i), exp.Literal.string(n)) for i, n in enumerate(listed, start=1)]
        flags = [col(f"segc_s{i}", "segc_f") for i in range(1, len(listed) + 1)]
        none = exp.Not(this=exp.Paren(this=_or([fresh(f) for f in flags])))
        test = exp.Case(this=col("segc_i", "segc_n"),
                        ifs=[exp.If(this=_num(0), true=none)] + [exp.If(this=_num(i), true=f) for i, f in enumerate(flags, start=1)])
        sel = (_select(col(PID, "segc_f"), _alias(col("segc_name", "segc_n"), BD))
               .from_(table("segc_flags", "segc_f"), copy=False)
               .join(exp.Join(this=exp.Subquery(this=_union_all(names), alias=exp.TableAlias(this=exp.to_identifier("segc_n"))), kind="CROSS"), copy=False)
               .where(test, copy=False))
        self.add("segc_people", sel)

    def event_rows(self, qb: QueryBuilder, projections: list, conds: list, needs_persons: bool) -> exp.Select:
        """Events before now() of the persons in segc_people (alias segc_pp), with conds."""
        sel = events_select(qb, projections, needs_persons, conds)
        return sel.join(exp.Join(this=table("segc_people", "segc_pp"), kind="INNER",
                                 on=exp.EQ(this=col(PID, "segc_pp"), expression=qb.ecol("person"))), copy=False)

    def breakdown_value(self, qb: QueryBuilder, bd: ir.Breakdown | None) -> exp.Expression | None:
        if bd is None:
            return None
        if bd.event_prop is not None:
            return qb.value(bd.event_prop, "event").sql
        return col(BD, "segc_pp")

    def groups(self, source: str, listed: tuple[str, ...]) -> None:
        """segc_groups(segc_bd): the breakdown values with data, and every listed segment."""
        values = [_select(col(BD)).from_(table(source), copy=False)]
        values += [_select(exp.Literal.string(n)) for n in listed]
        inner = exp.Subquery(this=_union_all(values), alias=exp.TableAlias(this=exp.to_identifier("segc_v")))
        self.add("segc_groups", _select(_alias(col(BD, "segc_v"), "segc_group")).from_(inner, copy=False).distinct())

    def fill(self, counts: str, keys: list[str], key_source: tuple[str, str], measures: list[tuple[str, str, str]],
             has_bd: bool, out: str) -> None:
        """`out`: the rows of `counts` plus a zero row for every key (× breakdown group), summed, so
        empty buckets are there with 0. measures: (column in counts, column out, how: sum|max|min)."""
        real = _select(*[col(k) for k in keys], *([col(BD)] if has_bd else []), *[col(c) for c, _, _ in measures]).from_(table(counts), copy=False)
        src_table, src_col = key_source
        zero_proj = [_alias(col(src_col, "segc_k"), keys[0])]
        if has_bd:
            zero_proj.append(_alias(col("segc_group", "segc_g"), BD))
        for c, _, how in measures:
            zero_proj.append(_alias(_num(0) if how == "sum" else exp.Null(), c))
        zero = _select(*zero_proj).from_(table(src_table, "segc_k"), copy=False)
        if has_bd:
            zero = zero.join(exp.Join(this=table("segc_groups", "segc_g"), kind="CROSS"), copy=False)
        both = exp.Subquery(this=_union_all([real, zero]), alias=exp.TableAlias(this=exp.to_identifier("segc_u")))
        agg = {"sum": exp.Sum, "max": exp.Max, "min": exp.Min}
        group = [col(k, "segc_u") for k in keys] + ([col(BD, "segc_u")] if has_bd else [])
        sel = _select(*[_alias(col(k, "segc_u"), k + "_f") for k in keys],
                      *([_alias(col(BD, "segc_u"), "segc_bdf")] if has_bd else []),
                      *[_alias(agg[how](this=col(c, "segc_u")), name) for c, name, how in measures])
        sel = sel.from_(both, copy=False).group_by(*group, copy=False)
        self.add(out, sel)

    # -- cohorts ----------------------------------------------------------------------------------
    def cohort(self, c: ir.Cohort) -> AnalyticsQuery:
        unit, n = c.period, c.periods
        qb = self.qb()
        entry = qb.value(c.entry, "person").sql
        conds = [exp.Not(this=exp.Is(this=fresh(entry), expression=exp.Null())),
                 exp.LT(this=fresh(entry), expression=qb.now())]  # an entry in the future joins no cohort yet
        if c.entries is not None:
            if c.entries.start is not None:
                conds.append(exp.GTE(this=fresh(entry), expression=qb.value(c.entries.start, "person").sql))
            if c.entries.end is not None:
                conds.append(exp.LT(this=fresh(entry), expression=qb.value(c.entries.end, "person").sql))
        if c.segment:
            conds.append(qb.flag(c.segment))
        start = self.trunc(fresh(entry), c.period)
        key = self.m.persons.key
        props = self.m.persons.properties
        proj = [_alias(qb.pkey(), key)]
        proj += [_alias(qb.person_prop(name, t, P), name) for name, t in props.items() if name != key]
        proj.append(_alias(start, "segc_cohort_start"))
        # period k of a person is [segc_r{k}, segc_r{k+1})
        proj += [_alias(exp.Add(this=fresh(start), expression=_one(unit, k)), f"segc_r{k}") for k in range(1, n + 2)]
        entries = _strip_settings(qb.persons_select(proj, _and([_paren(x) for x in conds]), (c.segment,) if c.segment else ()))
        self.add("segc_entries", entries)

        # the returning condition, once per period, with every call looking at that period
        bounds = {f"segc_r{k}": "timestamp" for k in range(1, n + 2)}
        persons2 = dataclasses.replace(self.m.persons, table="segc_entries", properties={**props, **bounds}, properties_json=None)
        model2 = Model(persons=persons2, events=self.m.events)
        qb2 = self.qb(model2)
        proj2 = [_alias(qb2.pkey(), PID), _alias(col("segc_cohort_start", P), "segc_start")]
        for k in range(1, n + 1):
            w = ir.Window(ir.PersonProp(c.span, f"segc_r{k}", "timestamp"), ir.PersonProp(c.span, f"segc_r{k + 1}", "timestamp"))
            proj2.append(_alias(qb2.cond(with_window(c.returning, w), "person"), f"segc_ret{k}"))
        self.add("segc_returns", _strip_settings(qb2.persons_select(proj2, None, ir.segment_refs(c.returning))))

        sizes = [_alias(col("segc_start"), "segc_cohort"), _alias(exp.Count(this=exp.Star()), "segc_n0")]
        sizes += [_alias(self.engine.count_if(col(f"segc_ret{k}")), f"segc_n{k}") for k in range(1, n + 1)]
        self.add("segc_sizes", _select(*sizes).from_(table("segc_returns"), copy=False).group_by(col("segc_start"), copy=False))
        ints = _union_all([
            _select(_alias(exp.cast(_num(0), exp.DataType.build("BIGINT")), "segc_k")),
            _select(exp.Add(this=col("segc_k", "segc_i"), expression=_num(1))).from_(table("segc_periods", "segc_i"), copy=False)
            .where(exp.LT(this=col("segc_k", "segc_i"), expression=_num(n)), copy=False),
        ])
        self.add("segc_periods", ints)

        k = col("segc_k", "segc_i")
        cohort = col("segc_cohort", "segc_s")
        persons = exp.Case(this=fresh(k), ifs=[exp.If(this=_num(i), true=col(f"segc_n{i}", "segc_s")) for i in range(n + 1)])
        final = _select(
            _alias(fresh(cohort), "cohort_start"),
            _alias(fresh(k), "period"),
            _alias(persons, "persons"),
            _alias(_ratio(fresh(persons), col("segc_n0", "segc_s")), "share"),
            _alias(exp.GT(this=_shift(fresh(cohort), exp.Add(this=fresh(k), expression=_num(1)), unit), expression=self.now()), "partial"),
        ).from_(table("segc_sizes", "segc_s"), copy=False)
        final = final.join(exp.Join(this=table("segc_periods", "segc_i"), kind="CROSS"), copy=False)
        # periods that have not begun yet are not shown
        final = final.where(exp.LT(this=_shift(fresh(cohort), fresh(k), unit), expression=self.now()), copy=False)
        final = final.order_by(col("cohort_start"), col("period"), copy=False)
        cols = (Column("cohort_start", "timestamp"), Column("period", "integer"), Column("persons", "integer"),
                Column("share", "number"), Column("partial", "boolean"))
        return AnalyticsQuery(c.name, "cohort", self.finish(final), cols)

    # -- insights ---------------------------------------------------------------------------------
    def insight(self, ins: ir.Insight, labels: list[str] | None = None) -> AnalyticsQuery:
        if ins.insight_kind == "funnel":
            return self.funnel(ins, labels)
        return getattr(self, ins.insight_kind)(ins)

    def _bd_column(self, bd: ir.Breakdown | None) -> list[Column]:
        if bd is None:
            return []
        t = bd.person_prop.type if bd.person_prop is not None else bd.event_prop.type if bd.event_prop is not None else "string"
        return [Column("breakdown", t)]

    def trend(self, ins: ir.Insight) -> AnalyticsQuery:
        bd, unit = ins.breakdown, ins.interval
        listed = bd.segments if bd is not None else ()
        self.people(ins.segment, bd)
        start, end, end_eff = self.range_bounds(ins.range)
        self.calendar(start, end_eff, unit)
        qb = self.qb()
        ts = qb.ecol("timestamp")
        proj = [_alias(self.trunc(ts, unit), BUCKET), _alias(qb.ecol("person"), "segc_person")]
        bd_value = self.breakdown_value(qb, bd)
        if bd_value is not None:
            proj.append(_alias(bd_value, BD))
        needs_persons, matches, measures, out_cols = False, [], [], []
        counts = [_alias(col(BUCKET), "segc_bucket_k")] + ([col(BD)] if bd_value is not None else [])
        for i, s in enumerate(ins.series, start=1):
            m = s.measure
            needs_persons = needs_persons or _uses_person(m.filter.where, ir.ALL_HISTORY)
            match = qb.event_match(m.filter.event, m.filter.where, ir.ALL_HISTORY)
            matches.append(match)
            cond = match if match is not None else exp.true()
            if m.func in ("count", "persons"):
                proj.append(_alias(cond, f"segc_m{i}"))
                agg = (self.engine.count_if(col(f"segc_m{i}")) if m.func == "count" else
                       exp.Count(this=exp.Distinct(expressions=[exp.Case(ifs=[exp.If(this=col(f"segc_m{i}"), true=col("segc_person"))])])))
                how, t = "sum", "integer"
            else:
                proj.append(_alias(exp.Case(ifs=[exp.If(this=cond, true=qb.event_prop(m.prop.name, m.prop.type))]), f"segc_v{i}"))
                v = col(f"segc_v{i}")
                agg = {"sum": exp.Sum, "avg": lambda this: exp.Avg(this=_double(this)), "min": exp.Min, "max": exp.Max}[m.func](this=v)
                how = {"sum": "sum", "avg": "max", "min": "min", "max": "max"}[m.func]
                t = m.type if m.func != "avg" else "number"
            counts.append(_alias(agg, f"segc_c{i}"))
            measures.append((f"segc_c{i}", f"segc_t{i}", how))
            out_cols.append(Column(s.name, t))
        conds = [exp.GTE(this=fresh(ts), expression=fresh(start))]
        if end is not None:
            conds.append(exp.LT(this=fresh(ts), expression=fresh(end)))
        if all(x is not None for x in matches):
            conds.append(_or([_paren(fresh(x)) for x in matches]))
        self.add("segc_hits", self.event_rows(qb, proj, conds, needs_persons))
        group = [col(BUCKET)] + ([col(BD)] if bd_value is not None else [])
        self.add("segc_counted", _select(*counts).from_(table("segc_hits"), copy=False).group_by(*group, copy=False))
        has_bd = bd_value is not None
        if has_bd:
            self.groups("segc_counted", listed)
        self.fill("segc_counted", ["segc_bucket_k"], ("segc_calendar", BUCKET), measures, has_bd, "segc_trend")

        t = "segc_tr"
        bucket = col("segc_bucket_k_f", t)
        values = {s.name: col(f"segc_t{i}", t) for i, s in enumerate(ins.series, start=1)}
        final = []
        cols = self._bd_column(bd)
        if has_bd:
            final.append(_alias(col("segc_bdf", t), "breakdown"))
        final.append(_alias(fresh(bucket), "interval_start"))
        cols.append(Column("interval_start", "timestamp"))
        for (i, s), c in zip(enumerate(ins.series, start=1), out_cols):
            v = fresh(values[s.name])
            final.append(_alias(v if measures[i - 1][2] != "sum" else exp.Coalesce(this=v, expressions=[_num(0)]), s.name))
            cols.append(c)
        if ins.formula is not None:
            final.append(_alias(formula_sql(ins.formula, values), "formula"))
            cols.append(Column("formula", "number"))
        final.append(_alias(self.partial(bucket, start, end_eff, unit), "partial"))
        cols.append(Column("partial", "boolean"))
        sel = _select(*final).from_(table("segc_trend", t), copy=False)
        sel = sel.order_by(*([col("breakdown")] if has_bd else []), col("interval_start"), copy=False)
        return AnalyticsQuery(ins.name, "trend", self.finish(sel), tuple(cols), listed)

    def funnel(self, ins: ir.Insight, labels: list[str] | None = None) -> AnalyticsQuery:
        bd = ins.breakdown
        listed = bd.segments if bd is not None else ()
        has_bd = bd is not None
        self.people(ins.segment, bd)
        start, end, _ = self.range_bounds(ins.range)
        qb = self.qb()
        ts = qb.ecol("timestamp")
        prev = None
        n = len(ins.steps)
        for i, step in enumerate(ins.steps, start=1):
            match = qb.event_match(step.event, step.where, ir.ALL_HISTORY)
            persons = _uses_person(step.where, ir.ALL_HISTORY)
            name = f"segc_step{i}"
            if prev is None:
                conds = [match, exp.GTE(this=fresh(ts), expression=fresh(start)),
                         exp.Not(this=exp.Is(this=qb.ecol("person"), expression=exp.Null()))]
                if end is not None:
                    conds.append(exp.LT(this=fresh(ts), expression=fresh(end)))
                sel = events_select(qb, [_alias(qb.ecol("person"), PID), _alias(fresh(ts), "segc_t1"), _alias(fresh(ts), "segc_t")],
                                    persons, conds)
            else:
                sel = self._next_step(qb, prev, match, persons, start, ins.window_seconds, i)
            self.add(name, sel)
            prev = name
        reached = _union_all([_select(_alias(col(PID), "segc_who"), _alias(_num(i), "segc_step")).from_(table(f"segc_step{i}"), copy=False)
                              for i in range(1, n + 1)])
        self.add("segc_reached", reached)
        counts = [_alias(col(BD, "segc_pp"), BD)] if has_bd else []
        step_col, who = col("segc_step", "segc_r"), col("segc_who", "segc_r")
        counts += [_alias(exp.Count(this=exp.Distinct(expressions=[exp.Case(ifs=[exp.If(this=exp.EQ(this=fresh(step_col), expression=_num(i)), true=fresh(who))])])),
                          f"segc_c{i}") for i in range(1, n + 1)]
        sel = (_select(*counts).from_(table("segc_reached", "segc_r"), copy=False)
               .join(exp.Join(this=table("segc_people", "segc_pp"), kind="INNER", on=exp.EQ(this=col(PID, "segc_pp"), expression=fresh(who))), copy=False))
        if has_bd:
            sel = sel.group_by(col(BD, "segc_pp"), copy=False)
        self.add("segc_counts", sel)
        measures = [(f"segc_c{i}", f"segc_n{i}", "sum") for i in range(1, n + 1)]
        if has_bd and listed:
            # listed segments nobody of reached: a row of zeros each
            zero = [_select(exp.Literal.string(s), *[_num(0) for _ in range(n)]) for s in listed]
            rows = _union_all([_select(col(BD), *[col(c) for c, _, _ in measures]).from_(table("segc_counts"), copy=False)] + zero)
            sub = exp.Subquery(this=rows, alias=exp.TableAlias(this=exp.to_identifier("segc_u")))
            self.add("segc_funnel", _select(_alias(col(BD, "segc_u"), "segc_bdf"),
                                            *[_alias(exp.Sum(this=col(c, "segc_u")), o) for c, o, _ in measures])
                     .from_(sub, copy=False).group_by(col(BD, "segc_u"), copy=False))
        else:
            self.add("segc_funnel", _select(*([_alias(col(BD), "segc_bdf")] if has_bd else []),
                                            *[_alias(col(c), o) for c, o, _ in measures]).from_(table("segc_counts"), copy=False))
        labels = labels or [s.event or "any" for s in ins.steps]
        steps = _union_all([_select(_alias(_num(i), "segc_k"), _alias(exp.Literal.string(labels[i - 1]), "segc_label")) for i in range(1, n + 1)])
        self.add("segc_steps", steps)
        k = col("segc_k", "segc_st")
        f = "segc_fu"
        reach = exp.Case(this=fresh(k), ifs=[exp.If(this=_num(i), true=col(f"segc_n{i}", f)) for i in range(1, n + 1)])
        before = exp.Case(this=fresh(k), ifs=[exp.If(this=_num(i), true=col(f"segc_n{max(i - 1, 1)}", f)) for i in range(1, n + 1)])
        final = ([_alias(col("segc_bdf", f), "breakdown")] if has_bd else []) + [
            _alias(fresh(k), "step"),
            _alias(col("segc_label", "segc_st"), "event"),
            _alias(reach, "persons"),
            _alias(_ratio(fresh(reach), before), "conversion_from_previous"),
            _alias(_ratio(fresh(reach), col("segc_n1", f)), "conversion_from_first"),
        ]
        sel = (_select(*final).from_(table("segc_funnel", f), copy=False)
               .join(exp.Join(this=table("segc_steps", "segc_st"), kind="CROSS"), copy=False)
               .order_by(*([col("breakdown")] if has_bd else []), col("step"), copy=False))
        cols = self._bd_column(bd) + [Column("step", "integer"), Column("event", "string"), Column("persons", "integer"),
                                      Column("conversion_from_previous", "number"), Column("conversion_from_first", "number")]
        return AnalyticsQuery(ins.name, "funnel", self.finish(sel), tuple(cols), listed)

    def _next_step(self, qb: QueryBuilder, prev: str, match, persons: bool, start: exp.Expression, window_seconds: int, i: int) -> exp.Select:
        """For each chain of `prev` (person, t1, t): the earliest matching event strictly after t,
        kept when it is at most `window` after t1. No join of events with events: the chains'
        ends and the matching events are one stream per person, ordered by time (events before
        chain ends at equal times, so `strictly after` holds), and each chain end looks at the
        first event that follows it. Greedy is exact: the earliest next step leaves the most room."""
        ts = qb.ecol("timestamp")
        ends = _select(col(PID), col("segc_t1"), _alias(col("segc_t"), "segc_ts"), _alias(_num(1), "segc_kind")).from_(table(prev), copy=False)
        # (an event row's t1 is never read: its time stands in, so the column keeps one type everywhere)
        events = events_select(qb, [qb.ecol("person"), fresh(ts), fresh(ts), _num(0)],
                               persons, [match, exp.GT(this=fresh(ts), expression=fresh(start))])
        stream = exp.Subquery(this=_union_all([ends, events]), alias=exp.TableAlias(this=exp.to_identifier("segc_x")))
        first_after = exp.Window(
            this=exp.Min(this=exp.Case(ifs=[exp.If(this=exp.EQ(this=col("segc_kind"), expression=_num(0)), true=col("segc_ts"))])),
            partition_by=[col(PID)],
            order=exp.Order(expressions=[exp.Ordered(this=col("segc_ts")), exp.Ordered(this=col("segc_kind"))]),
            spec=exp.WindowSpec(kind="ROWS", start=_num(1), start_side="FOLLOWING", end="UNBOUNDED", end_side="FOLLOWING"),
        )
        looked = _select(col(PID), col("segc_t1"), col("segc_kind"), _alias(first_after, "segc_next")).from_(stream, copy=False)
        inner = exp.Subquery(this=looked, alias=exp.TableAlias(this=exp.to_identifier("segc_y")))
        within = exp.LTE(this=col("segc_next"), expression=exp.Add(this=col("segc_t1"), expression=interval(window_seconds)))
        return (_select(col(PID), col("segc_t1"), _alias(col("segc_next"), "segc_t")).from_(inner, copy=False)
                .where(_and([exp.EQ(this=col("segc_kind"), expression=_num(1)), exp.Not(this=exp.Is(this=col("segc_next"), expression=exp.Null())), within]), copy=False))

    def _event_cond(self, qb: QueryBuilder, ins: ir.Insight) -> tuple[exp.Expression | None, bool]:
        step = ins.event
        return qb.event_match(step.event, step.where, ir.ALL_HISTORY), _uses_person(step.where, ir.ALL_HISTORY)

    def lifecycle(self, ins: ir.Insight) -> AnalyticsQuery:
        """Per interval and person, from whole intervals of activity (any matching event in the
        interval, before now): new = the first matching event ever is in this interval;
        returning = active in this interval and the previous one; resurrecting = active in this
        interval, not in the previous one, but before; dormant = active in the previous interval,
        not in this one (reported as a negative count, as PostHog does)."""
        bd, unit = ins.breakdown, ins.interval
        listed = bd.segments if bd is not None else ()
        has_bd = bd is not None
        self.people(ins.segment, bd)
        start, _, end_eff = self.range_bounds(ins.range)
        self.calendar(start, end_eff, unit)
        qb = self.qb()
        ts = qb.ecol("timestamp")
        match, persons = self._event_cond(qb, ins)
        lookback = exp.Sub(this=self.trunc(fresh(start), unit), expression=_one(unit))
        active = self.event_rows(qb, [_alias(qb.ecol("person"), "segc_who"), _alias(self.trunc(fresh(ts), unit), "segc_at")],
                                 [match, exp.GTE(this=fresh(ts), expression=lookback)], persons).distinct()
        self.add("segc_active", active)
        first = (events_select(qb, [_alias(qb.ecol("person"), "segc_who"), _alias(exp.Min(this=fresh(ts)), "segc_first")], persons,
                               [match])
                 .group_by(qb.ecol("person"), copy=False))
        self.add("segc_first", first)
        marks = _union_all([
            _select(_alias(col("segc_who"), "segc_pid2"), _alias(col("segc_at"), "segc_b"), _alias(_num(1), "segc_cur"), _alias(_num(0), "segc_prev"))
            .from_(table("segc_active"), copy=False),
            _select(col("segc_who"), exp.Add(this=col("segc_at"), expression=_one(unit)), _num(0), _num(1)).from_(table("segc_active"), copy=False),
        ])
        self.add("segc_marks", marks)
        m = "segc_m"
        status = (_select(_alias(col("segc_pid2", m), "segc_who2"), _alias(col("segc_b", m), "segc_b2"),
                          _alias(exp.Max(this=col("segc_cur", m)), "segc_now"), _alias(exp.Max(this=col("segc_prev", m)), "segc_before"),
                          _alias(exp.Min(this=col("segc_first", "segc_fi")), "segc_first2"))
                  .from_(table("segc_marks", m), copy=False)
                  .join(exp.Join(this=table("segc_first", "segc_fi"), kind="INNER", on=exp.EQ(this=col("segc_who", "segc_fi"), expression=col("segc_pid2", m))), copy=False)
                  .group_by(col("segc_pid2", m), col("segc_b", m), copy=False))
        self.add("segc_status", status)
        s = "segc_st"
        cur = exp.EQ(this=col("segc_now", s), expression=_num(1))
        prev = exp.EQ(this=col("segc_before", s), expression=_num(1))
        is_new = exp.EQ(this=self.trunc(col("segc_first2", s), unit), expression=col("segc_b2", s))
        tests = {
            "new": _and([cur, is_new]),
            "returning": _and([fresh(cur), exp.Not(this=_paren(fresh(is_new))), prev]),
            "resurrecting": _and([fresh(cur), exp.Not(this=_paren(fresh(is_new))), exp.Not(this=_paren(fresh(prev)))]),
            "dormant": _and([exp.Not(this=_paren(fresh(cur))), fresh(prev)]),
        }
        counts = [_alias(col("segc_b2", s), "segc_bucket_k")] + ([_alias(col(BD, "segc_pp"), BD)] if has_bd else [])
        counts += [_alias(self.engine.count_if(tests[name]), f"segc_c_{name}") for name in LIFECYCLE]
        sel = (_select(*counts).from_(table("segc_status", s), copy=False)
               .join(exp.Join(this=table("segc_people", "segc_pp"), kind="INNER", on=exp.EQ(this=col(PID, "segc_pp"), expression=col("segc_who2", s))), copy=False)
               .join(exp.Join(this=table("segc_calendar", "segc_cal"), kind="INNER", on=exp.EQ(this=col(BUCKET, "segc_cal"), expression=col("segc_b2", s))), copy=False)
               .group_by(col("segc_b2", s), *([col(BD, "segc_pp")] if has_bd else []), copy=False))
        self.add("segc_counted", sel)
        measures = [(f"segc_c_{name}", f"segc_t_{name}", "sum") for name in LIFECYCLE]
        if has_bd:
            self.groups("segc_counted", listed)
        self.fill("segc_counted", ["segc_bucket_k"], ("segc_calendar", BUCKET), measures, has_bd, "segc_lifecycle")
        t = "segc_lc"
        bucket = col("segc_bucket_k_f", t)
        final = ([_alias(col("segc_bdf", t), "breakdown")] if has_bd else []) + [_alias(fresh(bucket), "interval_start")]
        for name in LIFECYCLE:
            v = col(f"segc_t_{name}", t)
            final.append(_alias(exp.Neg(this=v) if name == "dormant" else v, name))
        final.append(_alias(self.partial(bucket, start, end_eff, unit), "partial"))
        sel = (_select(*final).from_(table("segc_lifecycle", t), copy=False)
               .order_by(*([col("breakdown")] if has_bd else []), col("interval_start"), copy=False))
        cols = self._bd_column(bd) + [Column("interval_start", "timestamp")] + [Column(n, "integer") for n in LIFECYCLE] + [Column("partial", "boolean")]
        return AnalyticsQuery(ins.name, "lifecycle", self.finish(sel), tuple(cols), listed)

    def stickiness(self, ins: ir.Insight) -> AnalyticsQuery:
        """Persons by the number of intervals of the range in which they had a matching event
        (with interval: day, the active days of LANGUAGE.md §5), from 1 to the number of intervals."""
        bd, unit = ins.breakdown, ins.interval
        listed = bd.segments if bd is not None else ()
        has_bd = bd is not None
        self.people(ins.segment, bd)
        start, end, end_eff = self.range_bounds(ins.range)
        self.calendar(start, end_eff, unit)
        qb = self.qb()
        ts = qb.ecol("timestamp")
        match, persons = self._event_cond(qb, ins)
        conds = [match, exp.GTE(this=fresh(ts), expression=fresh(start))]
        if end is not None:
            conds.append(exp.LT(this=fresh(ts), expression=fresh(end)))
        proj = [_alias(qb.ecol("person"), "segc_who"), _alias(self.trunc(fresh(ts), unit), "segc_at")]
        if has_bd:
            proj.append(_alias(col(BD, "segc_pp"), BD))
        self.add("segc_active", self.event_rows(qb, proj, conds, persons).distinct())
        per_person = (_select(col("segc_who"), *([col(BD)] if has_bd else []), _alias(exp.Count(this=exp.Star()), "segc_n"))
                      .from_(table("segc_active"), copy=False).group_by(col("segc_who"), *([col(BD)] if has_bd else []), copy=False))
        self.add("segc_intervals", per_person)
        counted = (_select(_alias(col("segc_n"), "segc_count_k"), *([col(BD)] if has_bd else []), _alias(exp.Count(this=exp.Star()), "segc_c_persons"))
                   .from_(table("segc_intervals"), copy=False).group_by(col("segc_n"), *([col(BD)] if has_bd else []), copy=False))
        self.add("segc_counted", counted)
        numbered = _select(_alias(exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[exp.Ordered(this=col(BUCKET))])), "segc_number")
                           ).from_(table("segc_calendar"), copy=False)
        self.add("segc_numbers", numbered)
        if has_bd:
            self.groups("segc_counted", listed)
        self.fill("segc_counted", ["segc_count_k"], ("segc_numbers", "segc_number"), [("segc_c_persons", "segc_t_persons", "sum")], has_bd, "segc_sticky")
        t = "segc_sk"
        final = ([_alias(col("segc_bdf", t), "breakdown")] if has_bd else []) + [
            _alias(col("segc_count_k_f", t), "active_intervals"), _alias(col("segc_t_persons", t), "persons")]
        sel = (_select(*final).from_(table("segc_sticky", t), copy=False)
               .order_by(*([col("breakdown")] if has_bd else []), col("active_intervals"), copy=False))
        cols = self._bd_column(bd) + [Column("active_intervals", "integer"), Column("persons", "integer")]
        return AnalyticsQuery(ins.name, "stickiness", self.finish(sel), tuple(cols), listed)


def formula_sql(e: ir.Expr, series: dict[str, exp.Expression]) -> exp.Expression:
    """A trend formula over the series columns, in floating point; x / 0 is null."""
    if isinstance(e, ir.SeriesRef):
        return _double(fresh(series[e.name]))
    if isinstance(e, ir.Const):
        return exp.Literal.number(repr(e.value) if isinstance(e.value, float) else e.value)
    if isinstance(e, ir.Negate):
        return exp.Neg(this=_paren(formula_sql(e.operand, series)))
    if isinstance(e, ir.Arith):
        left, right = _paren(formula_sql(e.left, series)), _paren(formula_sql(e.right, series))
        if e.op == "/":
            return exp.Div(this=left, expression=exp.Nullif(this=right, expression=_num(0)))
        return {"+": exp.Add, "-": exp.Sub, "*": exp.Mul}[e.op](this=left, expression=right)
    raise NotImplementedError(type(e).__name__)


def analytics_query(model: Model, segments: dict[str, ir.Segment], definition: ir.Cohort | ir.Insight, dialect: str,
                    as_of: dt.datetime | None, labels: list[str] | None = None, engine: Engine | None = None) -> AnalyticsQuery:
    """The query of one cohort or insight for one engine (labels: funnel step names to show);
    with an AllEngines `engine`, one tree for every dialect (see analytics_files)."""
    b = AnalyticsBuilder(model, segments, engine or ENGINES[dialect], as_of)
    if isinstance(definition, ir.Cohort):
        return b.cohort(definition)
    return b.insight(definition, labels)


def _analytics_header(q: AnalyticsQuery, definition: ir.Cohort | ir.Insight, dialect: str, as_of: dt.datetime | None) -> str:
    from . import as_of_text

    what = "cohort" if q.kind == "cohort" else f"insight ({q.kind})"
    header = (
        f"-- {what} {definition.name}, compiled by segc from {definition.path}\n"
        f"-- dialect: {dialect}; as of: {as_of_text(as_of)}\n"
        f"-- columns: {', '.join(c.name for c in q.columns)}\n"
    )
    if definition.description:
        header += "-- " + " ".join(definition.description.split()) + "\n"
    return header


def analytics_file(model: Model, definition: ir.Cohort | ir.Insight, segments: dict[str, ir.Segment], dialect: str,
                   as_of: dt.datetime | None, labels: list[str] | None = None) -> str:
    """The text of <out>/<dialect>/<name>.sql for a cohort or insight: a header, then one SELECT
    whose rows are the result table."""
    from . import release, to_sql

    q = analytics_query(model, segments, definition, dialect, as_of, labels)
    text = _analytics_header(q, definition, dialect, as_of) + to_sql(q.select, dialect) + ";\n"
    release(q.select)
    return text


def analytics_files(model: Model, definition: ir.Cohort | ir.Insight, segments: dict[str, ir.Segment],
                    dialects: tuple[str, ...], as_of: dt.datetime | None, labels: list[str] | None = None) -> dict[str, str]:
    """analytics_file for each of `dialects`, printed from one tree (AllEngines), as
    segment_files does for segments."""
    from . import to_sql
    from .dialects import AllEngines

    if len(dialects) == 1:
        return {dialects[0]: analytics_file(model, definition, segments, dialects[0], as_of, labels)}
    engine = AllEngines()
    q = analytics_query(model, segments, definition, dialects[0], as_of, labels, engine)
    texts = {}
    for dialect in dialects:
        engine.for_dialect(q.select, dialect)
        texts[dialect] = _analytics_header(q, definition, dialect, as_of) + to_sql(q.select, dialect) + ";\n"
    engine.release(q.select)
    return texts
