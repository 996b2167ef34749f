"""The demo data generator: deterministic, realistic, and written to DuckDB faithfully."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

import duckdb
import pytest

from segc import demo_data
from segc.demo_data import DEMO_AS_OF, EVENTS_COLUMNS, PERSONS_COLUMNS, generate, write_duckdb

SMALL = dict(persons=300, events_target=20_000)


@pytest.fixture(scope="module")
def shop():
    persons, events, _, _ = generate(seed=42, persons=1000, events_target=60_000)
    return persons, events


def test_same_seed_gives_identical_rows():
    assert generate(seed=7, **SMALL) == generate(seed=7, **SMALL)


def test_different_seed_gives_different_rows():
    a_persons, a_events, _, _ = generate(seed=7, **SMALL)
    b_persons, b_events, _, _ = generate(seed=8, **SMALL)
    assert a_persons != b_persons
    assert a_events != b_events


def test_columns_match_the_shop_model():
    persons, events, persons_columns, events_columns = generate(seed=1, **SMALL)
    assert persons_columns == [
        ("person_id", "string"), ("country", "string"), ("city", "string"), ("age", "integer"),
        ("plan", "string"), ("email", "string"), ("signed_up_at", "timestamp"),
        ("is_employee", "boolean")]
    assert events_columns == [
        ("person_id", "string"), ("event", "string"), ("timestamp", "timestamp"),
        ("$browser", "string"), ("$device_type", "string"), ("$os", "string"),
        ("$current_url", "string"), ("revenue", "number"), ("product_id", "string")]
    python_types = {"string": str, "integer": int, "number": float, "boolean": bool,
                    "timestamp": datetime}
    for rows, columns in ((persons, persons_columns), (events, events_columns)):
        assert all(len(row) == len(columns) for row in rows)
        for i, (name, kind) in enumerate(columns):
            values = [row[i] for row in rows if row[i] is not None]
            assert values, name
            assert all(type(v) is python_types[kind] for v in values), name
    assert all(ts.tzinfo is None for _, _, ts, *_ in events)  # naive UTC


def test_requested_sizes(shop):
    persons, events = shop
    assert len(persons) == 1000
    assert 0.9 * 60_000 <= len(events) <= 1.1 * 60_000
    assert len({p[0] for p in persons}) == len(persons)
    assert all(p[0].startswith("p") and len(p[0]) == 7 for p in persons)  # 'p000042'
    assert [e[2] for e in events] == sorted(e[2] for e in events)


def test_power_buyers_are_a_small_non_empty_group(shop):
    persons, events = shop
    ids = {p[0] for p in persons}
    start = DEMO_AS_OF - timedelta(days=30)
    purchases = Counter(person for person, event, ts, *_ in events
                        if event == "purchase" and person in ids and start <= ts < DEMO_AS_OF)
    power_buyers = [p for p, n in purchases.items() if n >= 20]
    assert 0 < len(power_buyers) < 0.2 * len(persons)


def test_some_persons_have_no_events(shop):
    persons, events = shop
    assert {p[0] for p in persons} - {e[0] for e in events}


def test_some_persons_stopped_coming(shop):
    persons, events = shop
    last_seen = {}
    for person, _, ts, *_ in events:
        if ts < DEMO_AS_OF:
            last_seen[person] = ts
    churned = [p for p, ts in last_seen.items() if ts < DEMO_AS_OF - timedelta(days=30)]
    assert len(churned) > 0.05 * len(persons)


def test_person_properties_are_sometimes_missing(shop):
    persons, _ = shop
    for i, (name, _) in enumerate(PERSONS_COLUMNS):
        if name in ("person_id", "plan"):
            continue
        assert any(p[i] is None for p in persons), name
        assert any(p[i] is not None for p in persons), name
    country = [p[1] for p in persons]
    assert 0.01 < country.count(None) / len(persons) < 0.06


def test_events_of_unknown_persons_and_after_as_of_exist(shop):
    persons, events = shop
    ids = {p[0] for p in persons}
    assert any(e[0] not in ids for e in events)
    assert any(e[2] >= DEMO_AS_OF for e in events)
    assert all(e[2] < DEMO_AS_OF + timedelta(days=2) for e in events)
    assert all(e[2] >= DEMO_AS_OF - timedelta(days=demo_data.HISTORY_DAYS) for e in events)


def test_events_are_realistic(shop):
    persons, events = shop
    names = Counter(e[1] for e in events)
    assert {"signup", "login", "pageview", "product_viewed", "added_to_cart", "purchase"} <= set(names)
    assert names["pageview"] > names["added_to_cart"] > names["purchase"] > 0
    for _, event, _, browser, device, os_, url, revenue, product in events:
        assert (revenue is not None) == (event == "purchase")
        assert revenue is None or revenue > 0
        assert (product is not None) == (event in ("product_viewed", "added_to_cart",
                                                   "checkout_started", "purchase"))
        assert device in (None, "Mobile", "Desktop", "Tablet")
        assert browser in (None, "Chrome", "Safari", "Firefox", "Edge", "Mobile Safari",
                           "Chrome Mobile", "Samsung Internet")
        assert url is None or url.startswith("https://shop.example/")
    assert any(e[3] is None for e in events if e[1] == "purchase")  # sent by the backend


def test_signup_is_the_first_event_at_signed_up_at(shop):
    persons, events = shop
    signed_up_at = {p[0]: p[6] for p in persons}
    first = {}
    for e in events:
        first.setdefault(e[0], e)
    signups = [e for e in events if e[1] == "signup"]
    assert signups
    for person, _, ts, *_ in signups:
        assert signed_up_at[person] == ts
        assert first[person][1] == "signup"


def test_each_person_mostly_uses_one_device(shop):
    _, events = shop
    devices = defaultdict(Counter)
    for person, _, _, _, device, *_ in events:
        if device is not None:
            devices[person][device] += 1
    shares = [c.most_common(1)[0][1] / sum(c.values()) for c in devices.values()
              if sum(c.values()) >= 20]
    assert sum(shares) / len(shares) > 0.8


def _table_types(con, table):
    return [(name, kind) for name, kind, *_ in con.execute(f"DESCRIBE {table}").fetchall()]


def test_write_duckdb_writes_the_generated_rows(tmp_path):
    path = tmp_path / "shop.duckdb"
    n_persons, n_events = write_duckdb(str(path), seed=3, **SMALL)
    persons, events, _, _ = generate(seed=3, **SMALL)
    assert (n_persons, n_events) == (len(persons), len(events))
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert _table_types(con, "persons") == [
            (name, demo_data.DUCKDB_TYPES[kind]) for name, kind in PERSONS_COLUMNS]
        assert _table_types(con, "events") == [
            (name, demo_data.DUCKDB_TYPES[kind]) for name, kind in EVENTS_COLUMNS]
        assert con.execute("SELECT count(*) FROM persons").fetchall() == [(len(persons),)]
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(len(events),)]
        db_persons = con.execute("SELECT * FROM persons").fetchall()
        db_events = con.execute("SELECT * FROM events").fetchall()
    finally:
        con.close()

    def key(row):
        return tuple((v is None, "" if v is None else str(v)) for v in row)

    assert sorted(db_persons, key=key) == sorted(persons, key=key)
    assert sorted(db_events, key=key) == sorted(events, key=key)


def test_write_duckdb_replaces_an_existing_file(tmp_path):
    path = tmp_path / "shop.duckdb"
    write_duckdb(str(path), seed=1, persons=50, events_target=2_000)
    write_duckdb(str(path), seed=2, persons=80, events_target=3_000)
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM persons").fetchall() == [(80,)]
    finally:
        con.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.duckdb"]


def test_cli_writes_the_file_and_reports_counts(tmp_path, capsys):
    path = tmp_path / "out" / "demo.duckdb"
    assert demo_data.main(["--out", str(path), "--seed", "5", "--persons", "120",
                           "--events", "4000"]) == 0
    out = capsys.readouterr().out
    assert "120 persons" in out and "events" in out
    assert path.exists()
