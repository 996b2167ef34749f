"""Hostile text in specs and data, on DuckDB, ClickHouse (chdb) and a real PostgreSQL.

String literals, property names, event names and table names holding quotes, backslashes, `--`,
`;`, newlines, NUL (where the engine stores it) and non-BMP Unicode round-trip exactly: a
segment comparing to such a literal has exactly the persons that hold it. Names that are SQL
keywords (select, from, order, group, user, table, when …) work as property, column, event,
table and segment names, and `segc run` materializes segments named like keywords.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from segc import api
from segc.compiler import flags_sql, segment_sql
from segc.engines import table_name

pytestmark = pytest.mark.engines

AS_OF = dt.datetime(2026, 3, 1, 12, 0, 0)

VALUES = [
    "it's", "it''s", 'say "hi"', 'a""b', "back\\slash", "C:\\temp\\", "\\'", "\\\\", "\\n", "--", "a -- b", "/* x */", ";",
    "x'; DROP TABLE persons; --", "'; SELECT 1; --", "line\nbreak", "cr\rlf\r\n", "tab\tx", "%", "_", "a%b_c", "\\%",
    "$$", "$q$x$q$", "?", "%s", ":name", "{0}", "${X}", "`", "🎉", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "Zé", "e\u0301", "\u202eRTL", "\ufeffbom", "",
    " ", "  padded  ", "NUL\x00byte",
]
NUL = "NUL\x00byte"

# keyword-named model: the persons table is `order`, its key `user`, the events table `group`
PERSON_PROPS = {"select": "string", "from": "integer", 'a"b': "string", "a'b\\c": "string", "x -- y; z": "string",
                "ключ🎉": "string", "table": "boolean"}
EVENT_PROPS = {"where": "string", "limit": "number"}
PERSONS_TABLE, EVENTS_TABLE = 'order', 'group'
KEY, PERSON, EVENT, TIME = "user", "table", "order", "when"


def values_for(dialect: str) -> list[str]:
    # PostgreSQL text cannot hold NUL (a protocol limit, not segc's)
    return [v for v in VALUES if not (dialect == "postgres" and "\x00" in v)]


def literal(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


def quoted_name(name: str) -> str:
    return name if name.isidentifier() and name.isascii() else f"`{name}`"


def write_project(root: Path, specs: dict[str, str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    model = {
        "name": "hostile",
        "model": {
            "persons": {"table": PERSONS_TABLE, "key": KEY, "properties": PERSON_PROPS},
            "events": {"table": EVENTS_TABLE, "person": PERSON, "event": EVENT, "timestamp": TIME, "properties": EVENT_PROPS},
        },
    }
    (root / "segc.yml").write_text(yaml.safe_dump(model, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (root / "specs").mkdir(exist_ok=True)
    for name, where in specs.items():
        # safe_dump writes NUL, CR and other controls as double-quoted escapes
        text = yaml.safe_dump({"segment": name, "where": where}, allow_unicode=True, width=10**6, sort_keys=False)
        (root / "specs" / f"{name}.yml").write_text(text, encoding="utf-8")


def load(engine, dialect: str) -> tuple[list[str], dict[str, set[str]]]:
    """One person per hostile value (in every string property) and one event named by it."""
    values = values_for(dialect)
    persons, events = [], []
    for i, v in enumerate(values):
        key = f"p{i}" if i % 3 else v + f"#{i}"  # keys are hostile too
        persons.append((key, v, i, v, v, v, v, i % 2 == 0))
        events.append((key, v, AS_OF - dt.timedelta(days=1), v, float(i)))
        events.append((key, v, AS_OF - dt.timedelta(days=2), v, float(i)))
    persons.append(("nobody", None, None, None, None, None, None, None))
    pcols = [(KEY, "string")] + list(PERSON_PROPS.items())
    ecols = [(PERSON, "string"), (EVENT, "string"), (TIME, "timestamp")] + list(EVENT_PROPS.items())
    engine.create_table(PERSONS_TABLE, pcols, persons)
    engine.create_table(EVENTS_TABLE, ecols, events)
    holders = {v: {p[0] for p in persons if p[1] == v} for v in values}
    return [p[0] for p in persons], holders


def run_all(engine, dialect: str, root: Path, specs: dict[str, str]) -> dict[str, set]:
    write_project(root, specs)
    result = api.validate(root)
    assert result.ok, "\n".join(d.headline() for d in result.errors)
    model, segments = result.project.model, result.segments()
    names = sorted(specs)
    rows = engine.query(flags_sql(model, segments, names, dialect, AS_OF))
    got = {n: {r[0] for r in rows if r[i]} for i, n in enumerate(names, start=1)}
    # and one query per segment, as `segc run` and `compile` make them
    for n in names[:: max(1, len(names) // 6)]:
        assert {r[0] for r in engine.query(segment_sql(model, segments, n, dialect, AS_OF))} == got[n], n
    return got


def test_string_literals_round_trip(engine, tmp_path):
    dialect = engine.dialect
    keys, holders = load(engine, dialect)
    values = values_for(dialect)
    specs = {}
    for i, v in enumerate(values):
        specs[f"eq_{i}"] = f"select = {literal(v)}"
        specs[f"neq_{i}"] = f"`a\"b` != {literal(v)}"
        specs[f"in_{i}"] = f"`a'b\\c` in ({literal(v)}, 'no such value')"
        specs[f"ev_{i}"] = f"count({literal(v)} where `where` = {literal(v)} within 30d) = 2"
        specs[f"ky_{i}"] = f"performed(any where person.`x -- y; z` = {literal(v)} and `where` = person.`ключ🎉`)"
    got = run_all(engine, dialect, tmp_path / "project", specs)
    everyone = set(keys)
    for i, v in enumerate(values):
        assert got[f"eq_{i}"] == holders[v], (v, got[f"eq_{i}"])
        assert got[f"neq_{i}"] == everyone - holders[v], v  # != includes the person without a value
        assert got[f"in_{i}"] == holders[v], v
        assert got[f"ev_{i}"] == holders[v], v
        assert got[f"ky_{i}"] == holders[v], v
    if dialect != "postgres":
        assert holders[NUL] and got[f"eq_{values.index(NUL)}"] == holders[NUL]


TEXT_PATTERNS = ["'", "''", '"', "\\", "\\'", "%", "_", "a%b", "--", ";", "\n", "🎉", "é", "$", "*", ".", "[", "^"]


def test_text_tests_take_their_pattern_literally(engine, tmp_path):
    dialect = engine.dialect
    load(engine, dialect)
    values = values_for(dialect)
    by_key = {}
    for i, v in enumerate(values):
        by_key[f"p{i}" if i % 3 else v + f"#{i}"] = v
    specs, expected = {}, {}
    for j, pat in enumerate(TEXT_PATTERNS):
        for op, test in (("contains", lambda v, p: p in v), ("starts_with", lambda v, p: v.startswith(p)),
                         ("ends_with", lambda v, p: v.endswith(p))):
            name = f"{op}_{j}"
            specs[name] = f"select {op} {literal(pat)}"
            expected[name] = {k for k, v in by_key.items() if test(v, pat)}
    got = run_all(engine, dialect, tmp_path / "project", specs)
    for name in specs:
        assert got[name] == expected[name], (name, specs[name], got[name] ^ expected[name])


# (`order` and `group` name the model's tables here: a segment of that name is refused, by design)
KEYWORD_SEGMENTS = ["select", "from", "user", "table", "where", "limit", "join", "union", "default", "check", "when", "having"]


def test_keyword_names_materialize(tmp_path, request, pg_dsn, chdb_path):
    """`segc run` with segments named like SQL keywords, on a keyword-named model, on every
    engine: each segment's table holds exactly its members."""
    from segc.runner.materialize import materialize

    for dialect in ("duckdb", "postgres", "clickhouse"):
        target = request.getfixturevalue(f"{dialect}_target")
        from segc.engines import connect

        with connect(target) as engine:
            _, holders = load(engine, dialect)
            specs = {n: f"select in ({literal(VALUES[k])}, {literal(VALUES[k + 1])})" for k, n in enumerate(KEYWORD_SEGMENTS)}
            specs["select"] = "segment(from) or segment(user)"  # references between keyword names
            root = tmp_path / dialect
            write_project(root, specs)
            result = api.validate(root)
            assert result.ok, "\n".join(d.headline() for d in result.errors)
            settings = {**target, "name": dialect}
            done = materialize(engine, settings, result.project.model, result.segments(), KEYWORD_SEGMENTS, AS_OF)
            ns = settings.get("database") if dialect == "clickhouse" else settings.get("schema", "segments")
            for m in done:
                rows = engine.query(f"SELECT * FROM {table_name(f'{ns}.{m.name}').sql(dialect)}")
                k = KEYWORD_SEGMENTS.index(m.name)
                want = holders[VALUES[k]] | holders[VALUES[k + 1]] if m.name != "select" else (
                    holders[VALUES[1]] | holders[VALUES[2]] | holders[VALUES[2]] | holders[VALUES[3]])
                assert {r[0] for r in rows} == want, (dialect, m.name)
                assert m.members == len(want)


# --- hostile table names ------------------------------------------------------------------------
# a double quote, a single quote, a backtick, `--`, `;`, spaces and an emoji in the persons and
# events tables' names, and in the schema (ClickHouse: database) one of them is qualified with
HOSTILE = 'a"b\'c`d -- e; f 🎉'


def hostile_tables(suffix: str) -> tuple[str, str]:
    """(persons table, schema-qualified events table); the schema is unique to the test."""
    return f"persons {HOSTILE}", f"schema {HOSTILE} {suffix}.events {HOSTILE}"


def write_hostile_project(root: Path, persons: str, events: str, specs: dict[str, str], tests: dict | None = None) -> None:
    model = {
        "name": "hostile_tables",
        "model": {
            "persons": {"table": persons, "key": "person_id", "properties": {"country": "string"}},
            "events": {"table": events, "person": "person_id", "event": "event", "timestamp": "ts",
                       "properties": {"amount": "number"}},
        },
    }
    (root / "specs").mkdir(parents=True, exist_ok=True)
    (root / "segc.yml").write_text(yaml.safe_dump(model, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for name, where in specs.items():
        body = {"segment": name, "where": where, **({"tests": tests[name]} if tests and name in tests else {})}
        (root / "specs" / f"{name}.yml").write_text(yaml.safe_dump(body, allow_unicode=True, sort_keys=False),
                                                     encoding="utf-8")


HOSTILE_SPECS = {
    "us": "country = 'US'",
    "buyers": "count(purchase within 30d) >= 2",
    "big_spenders": "sum(purchase.amount within 30d) > 100 and segment(us)",
    "quiet": "not performed(any within 30d)",
}
HOSTILE_PERSONS = [("ann", "US"), ("bob", "US"), ("cy", "DE"), ("dee", None)]
HOSTILE_EVENTS = [("ann", "purchase", 1, 80.0), ("ann", "purchase", 2, 90.0), ("bob", "purchase", 1, 20.0),
                  ("cy", "purchase", 1, 500.0), ("cy", "purchase", 3, 1.0), ("cy", "purchase", 40, 1.0),
                  ("nobody", "purchase", 1, 1000.0), ("bob", "view", 2, None)]
HOSTILE_MEMBERS = {"us": {"ann", "bob"}, "buyers": {"ann", "cy"}, "big_spenders": {"ann"}, "quiet": {"dee"}}


def load_hostile(engine, persons: str, events: str) -> None:
    engine.create_table(persons, [("person_id", "string"), ("country", "string")], HOSTILE_PERSONS)
    engine.create_table(events, [("person_id", "string"), ("event", "string"), ("ts", "timestamp"), ("amount", "number")],
                        [(p, e, AS_OF - dt.timedelta(days=d), a) for p, e, d, a in HOSTILE_EVENTS])


def drop_hostile_schema(engine, events: str) -> None:
    schema = table_name(events).args["db"].copy()
    if engine.dialect == "clickhouse":
        engine.execute(f"DROP DATABASE IF EXISTS {schema.sql('clickhouse')} SYNC")
    else:
        engine.execute(f"DROP SCHEMA IF EXISTS {schema.sql(engine.dialect)} CASCADE")


def test_hostile_table_names_compile_run_and_materialize(tmp_path, request, pg_dsn, chdb_path):
    """Segments over persons and events tables whose names (and the events table's schema) hold
    quotes, a backtick, `--`, `;`, spaces and an emoji: compiled one by one and as one flags
    query, and materialized by `segc run`'s materialize(), on every engine, with exactly the
    expected members; the tables themselves are untouched."""
    from segc.engines import connect
    from segc.runner.materialize import materialize

    for dialect in ("duckdb", "postgres", "clickhouse"):
        target = request.getfixturevalue(f"{dialect}_target")
        persons, events = hostile_tables(dialect)
        root = tmp_path / dialect
        write_hostile_project(root, persons, events, HOSTILE_SPECS)
        result = api.validate(root)
        assert result.ok, "\n".join(d.headline() for d in result.errors)
        model, segments = result.project.model, result.segments()
        assert (model.persons.table, model.events.table) == (persons, events)
        names = sorted(HOSTILE_SPECS)
        with connect(target) as engine:
            try:
                load_hostile(engine, persons, events)
                for n in names:
                    got = {r[0] for r in engine.query(segment_sql(model, segments, n, dialect, AS_OF))}
                    assert got == HOSTILE_MEMBERS[n], (dialect, n, got)
                rows = engine.query(flags_sql(model, segments, names, dialect, AS_OF))
                assert {n: {r[0] for r in rows if r[i]} for i, n in enumerate(names, 1)} == HOSTILE_MEMBERS, dialect
                settings = {**target, "name": dialect}
                done = materialize(engine, settings, model, segments, names, AS_OF)
                ns = settings.get("database") if dialect == "clickhouse" else settings.get("schema", "segments")
                for m in done:
                    members = {r[0] for r in engine.query(f"SELECT * FROM {table_name(f'{ns}.{m.name}').sql(dialect)}")}
                    assert members == HOSTILE_MEMBERS[m.name] and m.members == len(members), (dialect, m.name)
                assert len(engine.query(f"SELECT * FROM {table_name(persons).sql(dialect)}")) == len(HOSTILE_PERSONS)
                assert len(engine.query(f"SELECT * FROM {table_name(events).sql(dialect)}")) == len(HOSTILE_EVENTS)
            finally:
                drop_hostile_schema(engine, events)


HOSTILE_UNIT_TESTS = {
    "big_spenders": [{
        "name": "spends over 100 in the US",
        "as_of": "2026-03-01T12:00:00Z",
        "persons": [{"person_id": "ann", "country": "US"}, {"person_id": "bob", "country": "US"},
                    {"person_id": "cy", "country": "DE"}],
        "events": [{"person_id": "ann", "event": "purchase", "ts": "ago(1d)", "amount": 60, "repeat": 2},
                   {"person_id": "bob", "event": "purchase", "ts": "ago(1d)", "amount": 100},
                   {"person_id": "cy", "event": "purchase", "ts": "ago(1d)", "amount": 500}],
        "expect": ["ann"],
    }],
}


@pytest.mark.parametrize("dialect", ["duckdb", "clickhouse", "postgres"])
def test_hostile_table_names_in_unit_tests(tmp_path, request, dialect):
    """`segc test` creates the model's tables, named after them, in a throwaway namespace
    (schema.table becomes NS.schema__table): with hostile names the tests still pass, and a
    test that expects wrong members still fails."""
    from segc.testing import run_tests

    persons, events = hostile_tables(dialect)
    settings = {"duckdb": lambda: {"dialect": "duckdb", "path": ":memory:"},
                "clickhouse": lambda: {"dialect": "clickhouse", "path": request.getfixturevalue("chdb_path")},
                "postgres": lambda: {"dialect": "postgres", "dsn": request.getfixturevalue("pg_dsn")}}[dialect]()
    wrong = [{**HOSTILE_UNIT_TESTS["big_spenders"][0], "name": "expects the wrong members", "expect": ["bob"]}]
    write_hostile_project(tmp_path, persons, events, HOSTILE_SPECS,
                          {"big_spenders": HOSTILE_UNIT_TESTS["big_spenders"] + wrong})
    result = api.validate(tmp_path)
    assert result.ok, "\n".join(d.headline() for d in result.errors)
    run = run_tests(result, result.tests, [settings], AS_OF)
    assert run.diagnostics == []
    assert {r.test.name: r.status for r in run.results} == {"spends over 100 in the US": "passed",
                                                            "expects the wrong members": "failed"}, [
        (r.test.name, r.status, r.diff_lines()) for r in run.results]


@pytest.mark.parametrize("dialect", ["duckdb", "clickhouse", "postgres"])
def test_unit_tests_with_long_schema_names(tmp_path, request, dialect):
    """A schema name of 63 bytes (PostgreSQL's longest) holding hostile characters, for both
    tables: `segc test` places them as NS.schema__persons and NS.schema__events, which
    PostgreSQL would cut to the same 63 bytes, so that the events table replaced the persons
    table. The placed names stay distinct and within 63 bytes."""
    from segc.testing import isolated_model, run_tests

    schema = (f"s{HOSTILE}" + "x" * 63)[: 63 - len(HOSTILE.encode()) + len(HOSTILE)]
    assert len(schema.encode()) == 63
    persons, events = f"{schema}.persons", f"{schema}.events"
    settings = {"duckdb": lambda: {"dialect": "duckdb", "path": ":memory:"},
                "clickhouse": lambda: {"dialect": "clickhouse", "path": request.getfixturevalue("chdb_path")},
                "postgres": lambda: {"dialect": "postgres", "dsn": request.getfixturevalue("pg_dsn")}}[dialect]()
    write_hostile_project(tmp_path, persons, events, HOSTILE_SPECS, HOSTILE_UNIT_TESTS)
    result = api.validate(tmp_path)
    assert result.ok, "\n".join(d.headline() for d in result.errors)
    placed = isolated_model(result.project.model, "segc_test_0123456789ab")
    names = [placed.persons.table.split(".", 1)[1], placed.events.table.split(".", 1)[1]]
    assert names[0] != names[1] and all(len(n.encode()) <= 63 for n in names), names
    run = run_tests(result, result.tests, [settings], AS_OF)
    assert run.diagnostics == [] and [r.status for r in run.results] == ["passed"], [
        (r.test.name, r.status, r.diff_lines()) for r in run.results]
