"""What differs between the engines, and only that: one class per engine overriding the base.

Everything else is built once from sqlglot's typed expression classes and printed by its
generators. Each override names the trap it avoids (see ENGINE-NOTES.md)."""
from __future__ import annotations

import datetime as dt
import functools

from sqlglot import exp

LOGICAL_TYPES = {"string": "TEXT", "number": "DOUBLE", "integer": "BIGINT", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP"}


def fresh(e: exp.Expression) -> exp.Expression:
    """A deep copy of a tree. Expression.copy() goes through copy.deepcopy (its memo and
    bookkeeping in Python) to the same iterative __deepcopy__: this calls that directly, about
    3x faster on the small trees the builder copies (a cast's type, a column). The sites in a
    copy are made known to their AllEngines (see _Site)."""
    _fresh[0] += 1
    try:
        copy = e.__deepcopy__(None)
    finally:
        _fresh[0] -= 1
    if _fresh_sites:
        _fresh_sites.clear()
        for node in copy.walk():
            if type(node._meta) is _Site:
                node._meta["segc_known"].made(node)
    return copy


_fresh = [0]  # fresh() is copying
_fresh_sites: list = []  # … and copied a site


def release(*trees: exp.Expression) -> None:
    """Unlink the parents of printed trees that nothing else holds: a tree is a web of cycles
    (every child links back to its parent), which only the cycle collector frees, walking every
    node of it. Unlinked, reference counting frees each tree as soon as it is dropped; on 1,000
    segments compiled for three dialects this took ~13% off compile's CPU time."""
    stack = list(trees)
    while stack:
        node = stack.pop()
        node.parent = None
        for value in node.args.values():
            if type(value) is list:
                stack.extend(v for v in value if isinstance(v, exp.Expression))
            elif isinstance(value, exp.Expression):
                stack.append(value)


@functools.lru_cache(maxsize=None)
def _built_type(spec: str, dialect: str | None) -> exp.DataType:
    built = exp.DataType.build(spec, dialect=dialect)
    for node in built.walk():  # parsed literals carry their source position, deep-copied with them
        node._meta = None
    return built


def data_type(spec: str, dialect: str | None = None) -> exp.DataType:
    """exp.DataType.build parses its argument: parse each spelling once, hand out copies."""
    return fresh(_built_type(spec, dialect))


@functools.lru_cache(maxsize=256)
def _ts_text(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if value.microsecond else value.strftime("%Y-%m-%d %H:%M:%S")


class Engine:
    """The base: ANSI-ish SQL that DuckDB and PostgreSQL read alike."""

    name = "ansi"
    sqlglot_dialect = "duckdb"

    def timestamp_type(self) -> exp.DataType:
        return data_type("TIMESTAMP")

    def timestamp_literal(self, value: dt.datetime) -> exp.Expression:
        return exp.cast(exp.Literal.string(_ts_text(value)), self.timestamp_type(), copy=False)

    def now(self) -> exp.Expression:
        # CURRENT_TIMESTAMP is a timestamptz; columns hold naive UTC, so convert explicitly.
        # Parenthesised: PostgreSQL's BETWEEN bounds cannot hold a bare AT TIME ZONE
        return exp.Paren(this=exp.AtTimeZone(this=exp.CurrentTimestamp(), zone=exp.Literal.string("UTC")))

    def count_if(self, condition: exp.Expression) -> exp.Expression:
        return exp.CountIf(this=condition)

    def lower(self, e: exp.Expression) -> exp.Expression:
        return exp.Lower(this=e)

    def ends_with(self, e: exp.Expression, pattern: exp.Expression) -> exp.Expression:
        return exp.EndsWith(this=e, expression=pattern)

    def regex_match(self, e: exp.Expression, pattern: exp.Expression) -> exp.Expression:
        # `.` matches a newline too: PostgreSQL's ~ and ClickHouse's match() do by default
        return exp.RegexpLike(this=e, expression=pattern)

    def truncate(self, ts: exp.Expression, unit: str) -> exp.Expression:
        """The start of the UTC day / ISO week (Monday) / calendar month holding ts, as a timestamp.
        DATE_TRUNC('WEEK') starts on Monday on all three engines; ClickHouse returns a Date32
        for DAY/WEEK/MONTH, hence the cast back to the timestamp type on every engine."""
        return exp.cast(exp.TimestampTrunc(this=ts, unit=exp.var(unit.upper())), self.timestamp_type())

    def json_property(self, column: exp.Expression, key: str, type_: str) -> exp.Expression:
        path = exp.JSONPath(expressions=[exp.JSONPathRoot(), exp.JSONPathKey(this=key)])
        text = exp.JSONExtractScalar(this=column, expression=path, only_json_types=True)
        if type_ == "string":
            return text
        return exp.cast(text, self.cast_type(type_), copy=False)

    def cast_type(self, type_: str) -> exp.DataType:
        if type_ == "timestamp":
            return self.timestamp_type()
        return data_type(LOGICAL_TYPES[type_])

    def finish(self, select: exp.Select) -> exp.Select:
        return select


class DuckDB(Engine):
    name = sqlglot_dialect = "duckdb"

    def regex_match(self, e: exp.Expression, pattern: exp.Expression) -> exp.Expression:
        # RE2's `.` skips newlines unless flag 's' is given (PostgreSQL and ClickHouse match them)
        return exp.RegexpLike(this=e, expression=pattern, flag=exp.Literal.string("s"))


class Postgres(Engine):
    name = sqlglot_dialect = "postgres"

    def lower(self, e: exp.Expression) -> exp.Expression:
        # lower() follows the database's LC_CTYPE: under the C locale only A-Z change. An ICU
        # collation lowers every letter, as DuckDB and ClickHouse's lowerUTF8 do
        return exp.Lower(this=exp.Collate(this=e, expression=exp.Identifier(this="und-x-icu", quoted=True)))

    def count_if(self, condition: exp.Expression) -> exp.Expression:
        # the tree sqlglot's generator would rewrite COUNT_IF into, built here: its rewrite goes
        # through exp.func, which makes a dialect and a parser for every COUNT_IF printed
        return exp.Sum(this=exp.If(this=condition, true=exp.Literal.number(1), false=exp.Literal.number(0)))

    def ends_with(self, e: exp.Expression, pattern: exp.Expression) -> exp.Expression:
        # PostgreSQL has starts_with() but no ends_with(): compare the tail, RIGHT(x, LENGTH(p)) = p
        return exp.EQ(this=exp.Right(this=e, expression=exp.Length(this=fresh(pattern))), expression=pattern)


class ClickHouse(Engine):
    name = sqlglot_dialect = "clickhouse"

    def timestamp_type(self) -> exp.DataType:
        # CAST(x AS TIMESTAMP) would be DateTime (fractions lost) in the session time zone
        return data_type("DateTime64(6, 'UTC')", "clickhouse")

    def now(self) -> exp.Expression:
        # CURRENT_TIMESTAMP() is whole seconds; AT TIME ZONE means something else here
        return exp.Anonymous(this="now64", expressions=[exp.Literal.number(6), exp.Literal.string("UTC")])

    def lower(self, e: exp.Expression) -> exp.Expression:
        # lower() is ASCII-only in ClickHouse
        return exp.Anonymous(this="lowerUTF8", expressions=[e])

    def json_property(self, column: exp.Expression, key: str, type_: str) -> exp.Expression:
        # JSONExtractString gives '' for a missing key; ask for a Nullable type instead
        ch_type = {"string": "String", "number": "Float64", "integer": "Int64", "boolean": "Bool", "timestamp": "String"}[type_]
        got = exp.Anonymous(
            this="JSONExtract", expressions=[column, exp.Literal.string(key), exp.Literal.string(f"Nullable({ch_type})")]
        )
        # Nullable: a missing key must stay NULL, not fail the cast
        nullable_ts = data_type("Nullable(DateTime64(6, 'UTC'))", "clickhouse")
        return exp.cast(got, nullable_ts, copy=False) if type_ == "timestamp" else got

    def truncate(self, ts: exp.Expression, unit: str) -> exp.Expression:
        # Nullable: a null time (a person without an entry) must stay NULL, not fail the cast
        nullable_ts = data_type("Nullable(DateTime64(6, 'UTC'))", "clickhouse")
        return exp.cast(exp.TimestampTrunc(this=ts, unit=exp.var(unit.upper())), nullable_ts)

    def finish(self, select: exp.Select) -> exp.Select:
        # unmatched LEFT JOIN rows get NULL (not 0 / '' / 1970-01-01), as on the other engines
        select.set("settings", [exp.EQ(this=exp.var("join_use_nulls"), expression=exp.Literal.number(1))])
        return select


ENGINES: dict[str, Engine] = {e.name: e for e in (DuckDB(), Postgres(), ClickHouse())}
DIALECTS = tuple(ENGINES)


# -- one tree for every engine ------------------------------------------------------------------
_EXPRESSION_ARG = object()  # stands for a tree argument in the keys of _GROUPS
# (method, its non-tree arguments) -> the dialects, grouped by equal results; learnt on first use
_GROUPS: dict[tuple, tuple[tuple[str, ...], ...]] = {}


class _Site(dict):
    """The meta of a node where the engines differ: which site, which dialects the node is the
    variant of, and its engine's _Known. Never changed once made, so copies of the tree share
    it (sqlglot deep-copies meta with copy.deepcopy, which costs more than the rest of a small
    node's copy); a copy made outside AllEngines is noted, as it is a site AllEngines did not make."""

    def __deepcopy__(self, memo):
        known = self.get("segc_known")
        if known is not None and not known.ours:
            if _fresh[0]:
                _fresh_sites.append(known)  # fresh() looks for the sites in its copy
            else:
                known.other = True
        return self


class _Known:
    """An AllEngines' sites as the tree is built: each site's node of the first group, and every
    copy of a site fresh() made; whether a site was copied otherwise (a copy it does not know)."""

    __slots__ = ("ours", "other", "nodes", "_ids")

    def __init__(self) -> None:
        self.ours = False  # AllEngines is copying (variants' arguments): those copies are its own
        self.other = False
        self.nodes: list[exp.Expression] = []
        self._ids: set[int] = set()

    def made(self, node: exp.Expression) -> None:
        if id(node) not in self._ids:
            self._ids.add(id(node))
            self.nodes.append(node)


class AllEngines(Engine):
    """Builds one tree that every engine's text is printed from, instead of one tree per engine:
    building is most of compiling, and the engines differ in a few nodes.

    Each call of an Engine method asks every engine. Where their results differ, the first
    engine's result goes into the tree with the others kept beside it, and its meta marks it as
    a site; `for_dialect` swaps every site (copies included) for the variant of the dialect
    about to be printed. Which engines agree is learnt once per method and non-tree arguments,
    by comparing their results: nothing here knows which engine overrides what (an Engine method
    must therefore depend on its tree arguments only as parts to place, never on what they hold;
    none looks into them). `finish` is applied by `for_dialect`, to the root, for the dialect
    printed. tests/test_compile_all_engines.py compares the texts with trees built per engine.

    One instance per tree."""

    name = "all"

    def __init__(self) -> None:
        self.variants: list[dict[str, exp.Expression]] = []
        self._sites: list[list] | None = None  # the outermost sites of the tree (see _sites_within)
        self._dialect = DIALECTS[0]  # what the tree is now: built with the first group's variants
        self._finished: dict[str, object] = {}
        # the variants of other groups than the first are made here and placed only by _swap:
        # one not in the tree is placed as it is, instead of a copy, with its sites found once
        self._free: set[int] = set()
        self._within: dict[int, list[list]] = {}
        self._copies: dict[int, exp.Expression] = {}  # copies _swap placed, by id
        self._known = _Known()

    def _across(self, method: str, *args):
        key = (method, *(_EXPRESSION_ARG if isinstance(a, exp.Expression) else a for a in args))
        groups = _GROUPS.get(key)
        if groups is None:
            results = {d: getattr(e, method)(*self._own_copies(args)) for d, e in ENGINES.items()}
            found: list[list[str]] = []
            for d, r in results.items():
                same = next((g for g in found if results[g[0]] == r), None)
                if same is None:
                    found.append([d])
                else:
                    same.append(d)
            groups = _GROUPS[key] = tuple(tuple(g) for g in found)
        if len(groups) == 1:
            return getattr(ENGINES[groups[0][0]], method)(*args)
        site = len(self.variants)
        variants: dict[str, exp.Expression] = {}
        for i, group in enumerate(groups):
            node = getattr(ENGINES[group[0]], method)(*(args if i == 0 else self._own_copies(args)))
            node._meta = _Site(node._meta or {}, segc_site=site, segc_for=group, segc_known=self._known)
            variants.update(dict.fromkeys(group, node))
            if i:
                self._free.add(id(node))
        self.variants.append(variants)
        self._known.made(variants[groups[0][0]])
        return variants[groups[0][0]]

    def _own_copies(self, args: tuple) -> list:
        self._known.ours = True
        try:
            return _copies(args)
        finally:
            self._known.ours = False

    def _outermost_sites(self, tree: exp.Expression) -> list[list]:
        """The outermost sites of the tree, as _sites_within(tree) finds them, without walking
        the tree (a walk of every node was ~8% of compile's CPU time): each site made for the
        tree, or copied by fresh() as it was built, is in it when its parent links lead to the
        root, and outermost when no other site is on the way. Parent links hold until the tree
        is first printed; a site copied otherwise (not known here) sends this to the walk."""
        if self._known.other:
            return _sites_within(tree)
        found = []
        for node in self._known.nodes:
            up = node.parent
            while up is not None and up is not tree and type(up._meta) is not _Site:
                up = up.parent
            if up is tree:
                found.append([node.parent, node.arg_key, node.index, node, _sites_within(node)])
        return found

    def finish(self, select: exp.Select) -> exp.Select:
        return select

    def for_dialect(self, tree: exp.Expression, dialect: str) -> None:
        """Make `tree` (built by this engine) the tree of `dialect`, in place: every site holds
        that dialect's variant, and the root is finished for it (what the previous dialect's
        finish set is put back first).

        Sites are swapped through their holders, found by the first call, which comes before the
        tree is printed (_outermost_sites reads parent links); any later search follows args,
        never parent links: sqlglot's generators, printing with copy=False, rebuild some nodes
        around our children (StrPosition on every engine, IntDiv on ClickHouse, IF on
        PostgreSQL), which leaves the children's parent links pointing into the printed text's
        temporary nodes."""
        if self._sites is None:
            self._sites = self._outermost_sites(tree)
        if dialect != self._dialect:
            if not all(self._swap(site, dialect) for site in self._sites):
                # a holder no longer holds its site (no generator we know of does this): walk
                # again; fresh from a walk, every holder holds its site
                self._sites = _sites_within(tree)
                for site in self._sites:
                    self._swap(site, dialect)
            self._dialect = dialect
        for arg, value in self._finished.items():
            tree.set(arg, value)
        before = dict(tree.args)
        ENGINES[dialect].finish(tree)
        self._finished = {k: before.get(k) for k, v in tree.args.items() if before.get(k) is not v}

    def _swap(self, site: list, dialect: str) -> bool:
        """site: [holder, arg, index, node, sites within node]. False when the holder no longer
        holds the node."""
        holder, arg, index, node, within = site
        held = holder.args.get(arg)
        if (held if index is None else held[index] if type(held) is list and index < len(held) else None) is not node:
            return False
        if dialect not in node._meta["segc_for"]:
            old, want = node, self.variants[node._meta["segc_site"]][dialect]
            if id(want) in self._free:
                self._free.discard(id(want))
                node = want
                if id(want) not in self._within:
                    self._within[id(want)] = _sites_within(want)
                within = self._within[id(want)]
            else:
                node = fresh(want)
                self._copies[id(node)] = node
                within = _sites_within(node)
            holder.set(arg, node, index)
            if id(old) in self._within:  # a variant of ours, out of the tree again
                self._free.add(id(old))
            elif self._copies.pop(id(old), None) is not None:
                release(old)  # a copy, out of the tree for good (see release)
            elif self.variants[old._meta["segc_site"]][old._meta["segc_for"][0]] is old:
                # the variant the tree was built with, out of it: placed again as it is when its
                # dialects come round again (COUNT_IF is DuckDB's and ClickHouse's, not PostgreSQL's)
                self._free.add(id(old))
                self._within[id(old)] = site[4]
            site[3], site[4] = node, within
        return all(self._swap(s, dialect) for s in within)

    def release(self, tree: exp.Expression) -> None:
        """release() the tree built by this engine, once printed, and every variant."""
        release(tree, *(v for variants in self.variants for v in variants.values()))


def _sites_within(root: exp.Expression) -> list[list]:
    """The outermost sites below root, each as [holder, arg, index, node, the sites within it],
    found through args (a node held twice is two sites)."""
    found: list[list] = []
    stack: list[tuple[exp.Expression, list]] = [(root, found)]
    while stack:
        node, into = stack.pop()
        for arg, value in node.args.items():
            if type(value) is list:
                for i, child in enumerate(value):
                    if isinstance(child, exp.Expression):
                        _visit(node, arg, i, child, into, stack)
            elif isinstance(value, exp.Expression):
                _visit(node, arg, None, value, into, stack)
    return found


def _visit(holder: exp.Expression, arg: str, index: int | None, child: exp.Expression, into: list, stack: list) -> None:
    if type(child._meta) is _Site:
        site = [holder, arg, index, child, []]
        into.append(site)
        stack.append((child, site[4]))
    else:
        stack.append((child, into))


def _copies(args: tuple) -> list:
    return [fresh(a) if isinstance(a, exp.Expression) else a for a in args]


for _method in ("timestamp_type", "timestamp_literal", "now", "count_if", "lower", "ends_with", "regex_match",
                "truncate", "json_property", "cast_type"):
    setattr(AllEngines, _method, lambda self, *args, _m=_method: self._across(_m, *args))
