"""Typed IR -> SQL text for duckdb / postgres / clickhouse (the builder and dialect arrows)."""
from __future__ import annotations

import datetime as dt
import functools
import threading

from .. import ir
from ..loader.project import Model
from .builder import QueryBuilder, masks_by_instant, membership_masks, transitions
from .dialects import DIALECTS, ENGINES, AllEngines, release


@functools.lru_cache(maxsize=64)  # in the header of every file compiled: strftime is not free
def as_of_text(as_of: dt.datetime | None) -> str:
    return as_of.strftime("%Y-%m-%dT%H:%M:%S") + (f".{as_of.microsecond:06d}" if as_of.microsecond else "") + "Z" if as_of else "now() when the query runs"


def to_sql(tree, dialect: str, pretty: bool = True) -> str:
    # copy=False: trees are built for one printing; the generator's defensive copy cost ~30%
    return _generator(dialect, pretty).generate(tree, copy=False)


_GENERATORS = threading.local()


def _generator(dialect: str, pretty: bool):
    """One generator per thread, dialect and layout, where Expression.sql() makes one for every
    call (generate() starts each printing afresh; a generator is not shared between threads)."""
    from sqlglot.dialects.dialect import Dialect

    made = _GENERATORS.__dict__.setdefault("made", {})
    if (dialect, pretty) not in made:
        made[dialect, pretty] = Dialect.get_or_raise(ENGINES[dialect].sqlglot_dialect).generator(pretty=pretty, identify=True)
    return made[dialect, pretty]


def segment_select(model: Model, segments: dict[str, ir.Segment], name: str, dialect: str, as_of: dt.datetime | None):
    """The sqlglot tree of one segment's members."""
    return QueryBuilder(model, segments, ENGINES[dialect], as_of).members(name)


def flags_select(model: Model, segments: dict[str, ir.Segment], names: list[str], dialect: str, as_of: dt.datetime | None):
    """One query, one scan of the events table: the persons key and a flag per segment."""
    return QueryBuilder(model, segments, ENGINES[dialect], as_of).flags(names)


def masks_select(model: Model, segments: dict[str, ir.Segment], names: list[str], dialect: str, as_of: dt.datetime | None):
    """One query: persons grouped by their combination of memberships (see membership_masks)."""
    engine = ENGINES[dialect]
    flags = QueryBuilder(model, segments, engine, as_of).flags(names)
    settings = flags.args.pop("settings", None)
    outer = membership_masks(flags, model.persons.key, names)
    if settings:
        outer.set("settings", settings)
    return outer


def history_select(model: Model, segments: dict[str, ir.Segment], names: list[str], dialect: str, instants: list[dt.datetime]):
    """One query: at each instant, persons grouped by their combination of memberships."""
    flags = QueryBuilder(model, segments, ENGINES[dialect], None, instants).flags(names)
    return masks_by_instant(flags, names)


def migrate_select(model: Model, segments: dict[str, ir.Segment], names: list[str], dialect: str, t1: dt.datetime, t2: dt.datetime):
    """One query: persons counted by (memberships at t1, memberships at t2)."""
    engine = ENGINES[dialect]
    flags = QueryBuilder(model, segments, engine, None, [t1, t2]).flags(names)
    return transitions(flags, model.persons.key, names, engine.timestamp_literal(t1), engine.timestamp_literal(t2))


def segment_sql(model: Model, segments: dict[str, ir.Segment], name: str, dialect: str, as_of: dt.datetime | None, pretty: bool = True) -> str:
    return to_sql(segment_select(model, segments, name, dialect, as_of), dialect, pretty)


def flags_sql(model: Model, segments: dict[str, ir.Segment], names: list[str], dialect: str, as_of: dt.datetime | None, pretty: bool = True) -> str:
    return to_sql(flags_select(model, segments, names, dialect, as_of), dialect, pretty)


def _file_header(segment: ir.Segment, dialect: str, as_of: dt.datetime | None) -> str:
    header = (
        f"-- segment {segment.name}, compiled by segc from {segment.path}\n"
        f"-- dialect: {dialect}; as of: {as_of_text(as_of)}\n"
    )
    if segment.description:
        header += "-- " + " ".join(segment.description.split()) + "\n"
    return header


def segment_file(model: Model, segment: ir.Segment, segments: dict[str, ir.Segment], dialect: str, as_of: dt.datetime | None) -> str:
    """The text of target/compiled/<dialect>/<name>.sql: a header comment, then one SELECT."""
    tree = segment_select(model, segments, segment.name, dialect, as_of)
    text = _file_header(segment, dialect, as_of) + to_sql(tree, dialect) + ";\n"
    release(tree)
    return text


def segment_files(model: Model, segment: ir.Segment, segments: dict[str, ir.Segment], dialects: tuple[str, ...],
                  as_of: dt.datetime | None) -> dict[str, str]:
    """segment_file for each of `dialects`, printed from one tree (see AllEngines): the same
    texts, for about a third of the building."""
    if len(dialects) == 1:
        return {dialects[0]: segment_file(model, segment, segments, dialects[0], as_of)}
    engine = AllEngines()
    tree = QueryBuilder(model, segments, engine, as_of).members(segment.name)
    texts = {}
    for dialect in dialects:
        engine.for_dialect(tree, dialect)
        texts[dialect] = _file_header(segment, dialect, as_of) + to_sql(tree, dialect) + ";\n"
    engine.release(tree)
    return texts


__all__ = ["DIALECTS", "segment_sql", "flags_sql", "segment_file", "segment_files", "segment_select", "flags_select", "as_of_text", "to_sql"]
