"""Demo data for the example `shop` project: persons and events, deterministic per seed.

Not a pipeline stage: it makes the data that the demo, the tests and the benchmarks run on.
The history covers about 90 days before DEMO_AS_OF. The demo compiles with `--as-of` set to
that instant, so its results are reproducible. The data contains the things real tables
contain: missing properties, persons with no events, events of persons who are not in the
persons table, events recorded after DEMO_AS_OF, a heavy-tailed activity distribution (a few
power buyers and many occasional visitors), and users who stopped coming back.

    python -m segc.demo_data --out shop.duckdb --seed 42 --persons 5000 --events 300000
"""

from __future__ import annotations

import argparse
import calendar
import csv
import math
import os
import random
import sys
import tempfile
import time
from bisect import bisect
from datetime import datetime, timedelta
from itertools import accumulate

DEMO_AS_OF = datetime(2026, 11, 1)  # naive UTC, like every timestamp here
DEMO_AS_OF_ISO = "2026-11-01T00:00:00Z"
HISTORY_DAYS = 90

PERSONS_COLUMNS = [
    ("person_id", "string"),
    ("country", "string"),
    ("city", "string"),
    ("age", "integer"),
    ("plan", "string"),
    ("email", "string"),
    ("signed_up_at", "timestamp"),
    ("is_employee", "boolean"),
]
EVENTS_COLUMNS = [
    ("person_id", "string"),
    ("event", "string"),
    ("timestamp", "timestamp"),
    ("$browser", "string"),
    ("$device_type", "string"),
    ("$os", "string"),
    ("$current_url", "string"),
    ("revenue", "number"),
    ("product_id", "string"),
]
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "number": "DOUBLE",
    "integer": "BIGINT",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
}

_DAY = 86_400
_AS_OF_S = calendar.timegm(DEMO_AS_OF.timetuple())
_HISTORY_START_S = _AS_OF_S - HISTORY_DAYS * _DAY
_LOAD_END_S = _AS_OF_S + 36 * 3600  # the table was loaded 36 h after DEMO_AS_OF
_SALE_START_S = calendar.timegm((2026, 10, 10, 0, 0, 0))  # autumn sale week: more carts,
_SALE_END_S = calendar.timegm((2026, 10, 17, 0, 0, 0))  # visitors land on /sale
_EPOCH = datetime(1970, 1, 1)
_SITE = "https://shop.example"

# country, weight, cities (the first ones are the most common)
_COUNTRIES = [
    ("US", 30, ["New York", "Los Angeles", "Chicago", "San Francisco", "Seattle", "Austin", "Boston", "Miami"]),
    ("GB", 9, ["London", "Manchester", "Birmingham", "Edinburgh", "Bristol"]),
    ("DE", 8, ["Berlin", "Munich", "Hamburg", "Cologne", "Frankfurt"]),
    ("FR", 6, ["Paris", "Lyon", "Marseille", "Toulouse"]),
    ("CA", 5, ["Toronto", "Vancouver", "Montreal", "Calgary"]),
    ("BR", 5, ["São Paulo", "Rio de Janeiro", "Belo Horizonte"]),
    ("IN", 5, ["Bengaluru", "Mumbai", "Delhi", "Hyderabad"]),
    ("ES", 3, ["Madrid", "Barcelona", "Valencia"]),
    ("IT", 3, ["Milan", "Rome", "Turin"]),
    ("NL", 3, ["Amsterdam", "Rotterdam", "Utrecht"]),
    ("JP", 3, ["Tokyo", "Osaka", "Yokohama"]),
    ("AU", 3, ["Sydney", "Melbourne", "Brisbane"]),
    ("MX", 3, ["Mexico City", "Guadalajara", "Monterrey"]),
    ("SE", 2, ["Stockholm", "Gothenburg"]),
    ("PL", 2, ["Warsaw", "Kraków", "Wrocław"]),
    ("KR", 1.5, ["Seoul", "Busan"]),
    ("SG", 1, ["Singapore"]),
    ("AR", 1, ["Buenos Aires", "Córdoba"]),
    ("ZA", 1, ["Cape Town", "Johannesburg"]),
    ("NG", 1, ["Lagos", "Abuja"]),
]
_FIRST_NAMES = ["alex", "sam", "maria", "li", "noah", "emma", "omar", "yuki", "lucas", "sofia",
                "arjun", "chloe", "mateo", "hana", "jonas", "ava", "ivan", "zoe", "kai", "nina"]
_LAST_NAMES = ["smith", "garcia", "chen", "muller", "rossi", "silva", "kim", "nowak", "patel",
               "martin", "jones", "tanaka", "dubois", "larsen", "okafor", "lopez"]
_EMAIL_DOMAINS = [("gmail.com", 40), ("outlook.com", 15), ("yahoo.com", 10), ("icloud.com", 10),
                  ("proton.me", 3), ("acme.com", 4), ("globex.io", 2), ("initech.co", 2)]
_PLANS = [("free", 70), ("pro", 24), ("enterprise", 6)]
_DEVICE_TYPES = [("Mobile", 55), ("Desktop", 38), ("Tablet", 7)]
# device type -> [(os, browser, weight)]
_DEVICE_SOFTWARE = {
    "Mobile": [("iOS", "Mobile Safari", 45), ("Android", "Chrome Mobile", 40),
               ("Android", "Samsung Internet", 15)],
    "Desktop": [("Windows", "Chrome", 45), ("Windows", "Edge", 15), ("Mac OS X", "Safari", 15),
                ("Mac OS X", "Chrome", 12), ("Windows", "Firefox", 6), ("Linux", "Firefox", 4),
                ("Linux", "Chrome", 3)],
    "Tablet": [("iOS", "Mobile Safari", 60), ("Android", "Chrome Mobile", 40)],
}
_CATEGORIES = ["shoes", "jackets", "bags", "hats", "socks", "watches", "sunglasses", "shirts"]
_N_PRODUCTS = 2000
# chance of keeping a session drawn in each UTC hour (a global audience, evening-heavy)
_HOUR_ACCEPT = [0.45, 0.35, 0.3, 0.3, 0.3, 0.35, 0.45, 0.55, 0.65, 0.7, 0.75, 0.8,
                0.85, 0.85, 0.85, 0.85, 0.9, 0.95, 1.0, 1.0, 1.0, 0.95, 0.8, 0.6]

# Events are generated dictionary-encoded: small ints stand for the repeated strings, so that
# millions of rows are cheap to make, to write as CSV and to parse; code 0 is always null.
_EVENT_NAMES = ["signup", "login", "pageview", "product_viewed", "added_to_cart",
                "checkout_started", "purchase"]
(_SIGNUP, _LOGIN, _PAGEVIEW, _PRODUCT_VIEWED, _ADDED_TO_CART, _CHECKOUT_STARTED,
 _PURCHASE) = range(len(_EVENT_NAMES))
# (browser, device type, os); 0: an event sent by the backend, without browser context
_PROFILES = [(None, None, None)] + [
    (browser, device, os_) for device, software in _DEVICE_SOFTWARE.items()
    for os_, browser, _ in software]
_PRODUCTS = [None] + [f"sku_{k:05d}" for k in range(1, _N_PRODUCTS + 1)]
_BROWSE_PAGES = ([f"/category/{c}" for c in _CATEGORIES] + [f"/search?q={c}" for c in _CATEGORIES]
                 + ["/blog/style-guide", "/help/shipping", "/account"])
_LANDINGS = [("/", 50), ("/?utm_source=google&utm_medium=cpc", 15),
             ("/?utm_source=newsletter&utm_campaign=weekly", 8),
             ("/?utm_source=instagram&utm_medium=social", 6)] + [
    (page, 2) for page in _BROWSE_PAGES[:8]] + [("/sale", 3)]
_SALE_LANDINGS = _LANDINGS + [("/sale", 40),
                              ("/sale?utm_source=newsletter&utm_campaign=autumn_sale", 20)]
_PAGES = ["/signup", "/login", "/checkout", "/checkout/complete"] + list(dict.fromkeys(
    _BROWSE_PAGES + [page for page, _ in _SALE_LANDINGS]))
_URLS = [None] + [_SITE + page for page in _PAGES]
_URL_CODE = {page: code for code, page in enumerate(_PAGES, start=1)}
_PRODUCT_URL_BASE = len(_URLS) - 1  # product k's page is URL code base + k
_URLS += [f"{_SITE}/product/{sku}" for sku in _PRODUCTS[1:]]
_URL_SIGNUP, _URL_LOGIN, _URL_CHECKOUT, _URL_PAID = (
    _URL_CODE[p] for p in ("/signup", "/login", "/checkout", "/checkout/complete"))


def _lookup_table(rng, values, weights, size=1024):
    """A list to index with int(random() * size): a weighted choice for one random() call."""
    cum = list(accumulate(weights))
    return [values[bisect(cum, rng.random() * cum[-1])] for _ in range(size)]


def _pick(rng, table):
    return table[int(rng.random() * len(table))]


def _poisson(rng, lam):
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class _Visitor:
    """How one person (or orphan id) behaves on the site."""

    __slots__ = ("code", "signup_s", "start_s", "end_s", "weight", "p_login", "p_cart", "p_buy",
                 "primary", "secondary", "sessions")

    def expected_session_events(self, cat):
        views = cat.mean_views
        carted = 1.0 - sum(share * (1.0 - self.p_cart) ** n for n, share in cat.views_shares)
        return (1.0 + self.p_login + views * (1.0 + self.p_cart) + cat.mean_pages
                + carted * (0.7 + 0.3 * self.p_buy) * (1.0 + self.p_buy))


def _make_persons(rng, n, width):
    """Person rows (signed_up_at in epoch seconds) and the visitors among them."""
    countries = _lookup_table(rng, [c[0] for c in _COUNTRIES], [c[1] for c in _COUNTRIES], 4096)
    cities = {c[0]: c[2] for c in _COUNTRIES}
    domains = _lookup_table(rng, [d for d, _ in _EMAIL_DOMAINS], [w for _, w in _EMAIL_DOMAINS])
    plans = _lookup_table(rng, [p for p, _ in _PLANS], [w for _, w in _PLANS])
    devices = _lookup_table(rng, [d for d, _ in _DEVICE_TYPES], [w for _, w in _DEVICE_TYPES])
    software = {
        device: _lookup_table(rng, [_PROFILES.index((b, device, o)) for o, b, _ in options],
                              [w for _, _, w in options])
        for device, options in _DEVICE_SOFTWARE.items()}

    rows, visitors = [], []
    rnd = rng.random
    for i in range(1, n + 1):
        pid = f"p{i:0{width}d}"
        country = None if rnd() < 0.03 else _pick(rng, countries)
        if country is None or rnd() < 0.02:
            city = None
        else:
            options = cities[country]
            city = options[min(int(rng.expovariate(1.2)), len(options) - 1)]
        age = None if rnd() < 0.05 else min(85, max(18, int(rng.gauss(37, 13))))
        plan = _pick(rng, plans)
        roll = rnd()
        is_employee = None if roll < 0.02 else roll > 0.99  # null: rows from an old import
        local = f"{_pick(rng, _FIRST_NAMES)}.{_pick(rng, _LAST_NAMES)}{i}"
        roll = rnd()
        if is_employee:
            email = f"{local}@shop.example"
        elif roll < 0.02:
            email = None
        elif roll < 0.025:
            email = f"{local}@localhost"  # malformed, as sign-up forms sometimes let through
        else:
            email = f"{local}@{_pick(rng, domains)}"
        roll = rnd()
        if roll < 0.02:
            signup_s = None  # imported legacy account: no sign-up date and no sign-up event
        elif roll < 0.37:  # signed up before the event history starts
            signup_s = _HISTORY_START_S - int(rng.uniform(1, 640) * _DAY)
        else:  # a growing shop: more sign-ups in recent weeks
            signup_s = _AS_OF_S - 1 - int(HISTORY_DAYS * _DAY * rnd() ** 1.2)
        rows.append((pid, country, city, age, plan, email, signup_s, is_employee))

        if rnd() < 0.03:
            continue  # a lead imported from the CRM who never came to the site: no events
        v = _Visitor()
        v.code = i
        v.signup_s = signup_s if signup_s is not None and signup_s >= _HISTORY_START_S else None
        v.start_s = _HISTORY_START_S if v.signup_s is None else v.signup_s
        weight = min(rng.paretovariate(1.3), 80.0)  # heavy tail: a few visitors do most
        if signup_s is not None and signup_s > _AS_OF_S - 30 * _DAY:
            weight = min(weight, 3.0)  # habits take time: new users are not heavy users yet
        v.weight = weight
        buyer = rnd()
        if weight > 8:
            buyer = max(buyer, rnd())  # heavy users buy more
        if plan != "free":
            buyer = min(1.0, buyer + 0.1)
        v.p_login = 0.2 + 0.3 * rnd()
        v.p_cart = 0.04 + 0.3 * buyer
        v.p_buy = 0.25 + 0.7 * buyer
        if rnd() < 0.6 / (1.0 + weight / 4.0):  # occasional visitors often leave, power users rarely
            v.end_s = v.start_s + int((_AS_OF_S - v.start_s) * rnd())
        else:
            v.end_s = _LOAD_END_S
        device = _pick(rng, devices)
        v.primary = _pick(rng, software[device])
        v.secondary = None
        if rnd() < 0.3:  # a second device, used now and then
            v.secondary = _pick(rng, software["Desktop" if device != "Desktop" else "Mobile"])
        visitors.append(v)
    return rows, visitors


class _Catalogue:
    """Weighted lookup tables of codes, shared by every session."""

    def __init__(self, rng):
        zipf = [1.0 / (k ** 1.1) for k in range(1, _N_PRODUCTS + 1)]
        self.products = _lookup_table(rng, list(range(1, _N_PRODUCTS + 1)), zipf, 8192)
        self.views = _lookup_table(rng, [0, 1, 2, 3, 4, 5, 6, 8, 12],
                                   [18, 22, 20, 14, 10, 6, 4, 4, 2])
        self.pages = _lookup_table(rng, [0, 1, 2, 3, 5], [30, 30, 20, 12, 8])
        self.mean_views = sum(self.views) / len(self.views)
        self.views_shares = [(n, self.views.count(n) / len(self.views)) for n in sorted(set(self.views))]
        self.mean_pages = sum(self.pages) / len(self.pages)
        self.browse = _lookup_table(rng, [_URL_CODE[p] for p in _BROWSE_PAGES],
                                    [6] * 8 + [2] * 8 + [2, 2, 3])
        self.landings = _lookup_table(rng, [_URL_CODE[p] for p, _ in _LANDINGS],
                                      [w for _, w in _LANDINGS])
        self.sale_landings = _lookup_table(rng, [_URL_CODE[p] for p, _ in _SALE_LANDINGS],
                                           [w for _, w in _SALE_LANDINGS])


def _session(rng, cat, v, t, profile, out):
    """Append one visit's events, the first at second `t`, as encoded rows
    (person, event, second, profile, url, revenue, product)."""
    rnd = rng.random
    who = v.code
    in_sale = _SALE_START_S <= t < _SALE_END_S
    landings = cat.sale_landings if in_sale else cat.landings
    out.append((who, _PAGEVIEW, t, profile, landings[int(rnd() * 1024)], None, 0))
    if rnd() < v.p_login:
        t += 3 + int(rnd() * 40)
        out.append((who, _LOGIN, t, profile, _URL_LOGIN, None, 0))
    products = cat.products
    p_cart = v.p_cart * 1.5 if in_sale else v.p_cart
    cart = 0
    for _ in range(cat.views[int(rnd() * 1024)]):
        t += 5 + int(rnd() * 120)
        sku = products[int(rnd() * 8192)]
        url = _PRODUCT_URL_BASE + sku
        out.append((who, _PRODUCT_VIEWED, t, profile, url, None, sku))
        if rnd() < p_cart:
            t += 2 + int(rnd() * 60)
            out.append((who, _ADDED_TO_CART, t, profile, url, None, sku))
            cart = sku
    browse = cat.browse
    for _ in range(cat.pages[int(rnd() * 1024)]):
        t += 5 + int(rnd() * 180)
        out.append((who, _PAGEVIEW, t, profile, browse[int(rnd() * 1024)], None, 0))
    if cart and rnd() < 0.7 + 0.3 * v.p_buy:
        t += 10 + int(rnd() * 120)
        out.append((who, _CHECKOUT_STARTED, t, profile, _URL_CHECKOUT, None, cart))
        if rnd() < v.p_buy:
            t += 20 + int(rnd() * 240)
            revenue = round(rng.lognormvariate(3.7, 0.8), 2)
            if rnd() < 0.2:  # confirmed by the payment backend: no browser context
                out.append((who, _PURCHASE, t, 0, 0, revenue, cart))
            else:
                out.append((who, _PURCHASE, t, profile, _URL_PAID, revenue, cart))


def _visitor_events(rng, cat, v, out):
    rnd = rng.random
    if v.signup_s is not None:  # the sign-up visit: the person's first event is `signup`
        out.append((v.code, _SIGNUP, v.signup_s, v.primary, _URL_SIGNUP, None, 0))
        _session(rng, cat, v, v.signup_s + 5 + int(rnd() * 60), v.primary, out)
    span = v.end_s - v.start_s
    if span <= 0:
        return
    for _ in range(v.sessions):
        while True:  # a random instant of the active span, more often in busy hours
            t = v.start_s + 1 + int(rnd() * span)
            if rnd() < _HOUR_ACCEPT[(t // 3600) % 24]:
                break
        profile = v.secondary if v.secondary is not None and rnd() < 0.2 else v.primary
        _session(rng, cat, v, t, profile, out)


def _simulate(seed, persons, events_target):
    """(person rows, person-id width, iterator of encoded event-row chunks).

    Times are whole epoch seconds: whole seconds survive every engine's timestamp type.
    """
    if persons < 1:
        raise ValueError("persons must be at least 1")
    rng = random.Random(seed)
    n_orphans = max(3, persons // 1000)
    width = max(6, len(str(persons + n_orphans)))
    person_rows, visitors = _make_persons(rng, persons, width)
    cat = _Catalogue(rng)

    # persons deleted from the persons table whose events stayed behind
    orphans = []
    for k in range(n_orphans):
        o = _Visitor()
        o.code = persons + 1 + k
        o.signup_s, o.start_s, o.end_s = None, _HISTORY_START_S, _AS_OF_S
        o.weight, o.p_login, o.p_cart, o.p_buy = 1.0, 0.3, 0.2, 0.5
        o.primary, o.secondary = _PROFILES.index(("Chrome", "Desktop", "Windows")), None
        o.sessions = 1 + int(rng.random() * 3)
        orphans.append(o)

    # sessions of a visitor ~ Poisson(scale * weight * active days), scaled to the target
    fixed = sum(1 + v.expected_session_events(cat) for v in visitors if v.signup_s is not None)
    fixed += sum(o.sessions * o.expected_session_events(cat) for o in orphans)
    demand = [v.weight * (v.end_s - v.start_s) / _DAY for v in visitors]
    per_unit = sum(d * v.expected_session_events(cat) for d, v in zip(demand, visitors))
    scale = max(0.0, events_target - fixed) / per_unit if per_unit > 0 else 0.0
    for d, v in zip(demand, visitors):
        v.sessions = _poisson(rng, scale * d)

    def chunks():
        out = []
        for v in visitors + orphans:
            _visitor_events(rng, cat, v, out)
            if len(out) >= 500_000:
                yield out
                out = []
        if out:
            yield out

    return person_rows, width, chunks()


def _to_datetime(seconds):
    return None if seconds is None else _EPOCH + timedelta(seconds=seconds)


def generate(seed=42, persons=5000, events_target=300_000):
    """Demo rows: (persons_rows, events_rows, persons_columns, events_columns).

    Rows are tuples in the order of the columns, which are (name, logical type) pairs;
    timestamps are naive UTC datetimes; events are sorted by time.
    """
    person_rows, width, chunks = _simulate(seed, persons, events_target)
    persons_out = [r[:6] + (_to_datetime(r[6]), r[7]) for r in person_rows]
    encoded = [row for chunk in chunks for row in chunk]
    encoded.sort(key=lambda r: r[2])
    times = {}
    ids = {}
    events_out = []
    for who, event, second, profile, url, revenue, product in encoded:
        ts = times.get(second)
        if ts is None:
            ts = times[second] = _to_datetime(second)
        pid = ids.get(who)
        if pid is None:
            pid = ids[who] = f"p{who:0{width}d}"
        events_out.append((pid, _EVENT_NAMES[event], ts, *_PROFILES[profile], _URLS[url],
                           revenue, _PRODUCTS[product]))
    return persons_out, events_out, list(PERSONS_COLUMNS), list(EVENTS_COLUMNS)


def _sql_string(text):
    return "'" + text.replace("'", "''") + "'"


def _read_csv(path, columns):
    """A DuckDB read_csv call with explicit column types: nothing is guessed."""
    spec = ", ".join(f"{_sql_string(name)}: {_sql_string(kind)}" for name, kind in columns)
    return (f"read_csv({_sql_string(path)}, header = false, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', nullstr = '', columns = {{{spec}}})")


def _write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def _create_table(con, tmp, name, rows, columns):
    """A table from Python rows, through a CSV file in the directory `tmp`."""
    csv_path = os.path.join(tmp, name + ".csv")
    _write_csv(csv_path, rows)
    con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM {_read_csv(csv_path, columns)}')
    os.remove(csv_path)


def _load(con, tmp, person_rows, width, chunks):
    _create_table(con, tmp, "persons_raw", (
        r[:6] + (r[6], None if r[7] is None else ("true" if r[7] else "false"))
        for r in person_rows), [
        ("person_id", "VARCHAR"), ("country", "VARCHAR"), ("city", "VARCHAR"), ("age", "BIGINT"),
        ("plan", "VARCHAR"), ("email", "VARCHAR"), ("signed_up_at", "BIGINT"),
        ("is_employee", "BOOLEAN")])
    con.execute("""
        CREATE TABLE persons AS
        SELECT person_id, country, city, age, plan, email,
               make_timestamp(signed_up_at * 1000000) AS signed_up_at, is_employee
        FROM persons_raw ORDER BY person_id""")
    con.execute("DROP TABLE persons_raw")

    # the dictionaries of the encoded event rows
    _create_table(con, tmp, "d_event", enumerate(_EVENT_NAMES), [("code", "INTEGER"), ("v", "VARCHAR")])
    _create_table(con, tmp, "d_profile", ((k, *p) for k, p in enumerate(_PROFILES)), [
        ("code", "INTEGER"), ("browser", "VARCHAR"), ("device_type", "VARCHAR"), ("os", "VARCHAR")])
    _create_table(con, tmp, "d_url", enumerate(_URLS), [("code", "INTEGER"), ("v", "VARCHAR")])
    _create_table(con, tmp, "d_product", enumerate(_PRODUCTS), [("code", "INTEGER"), ("v", "VARCHAR")])
    encoded = [("who", "BIGINT"), ("event", "INTEGER"), ("epoch_s", "BIGINT"),
               ("profile", "INTEGER"), ("url", "INTEGER"), ("revenue", "DOUBLE"),
               ("product", "INTEGER")]
    n_events = 0
    csv_path = os.path.join(tmp, "events.csv")
    for i, chunk in enumerate(chunks):  # chunk by chunk: the CSV of 5M events would be large
        _write_csv(csv_path, chunk)
        verb = "INSERT INTO events_raw" if i else "CREATE TABLE events_raw AS"
        con.execute(f"{verb} SELECT * FROM {_read_csv(csv_path, encoded)}")
        n_events += len(chunk)
    if n_events == 0:
        con.execute(f"CREATE TABLE events_raw ({', '.join(f'{n} {t}' for n, t in encoded)})")
    con.execute(f"""
        CREATE TABLE events AS
        SELECT 'p' || lpad(CAST(r.who AS VARCHAR), {width}, '0') AS person_id,
               e.v AS event,
               make_timestamp(r.epoch_s * 1000000) AS "timestamp",
               p.browser AS "$browser", p.device_type AS "$device_type", p.os AS "$os",
               u.v AS "$current_url", r.revenue, d.v AS product_id
        FROM events_raw r
        JOIN d_event e ON e.code = r.event
        JOIN d_profile p ON p.code = r.profile
        JOIN d_url u ON u.code = r.url
        JOIN d_product d ON d.code = r.product
        ORDER BY r.epoch_s, r.who""")  # stored in time order, as event tables usually are
    for table in ("events_raw", "d_event", "d_profile", "d_url", "d_product"):
        con.execute(f"DROP TABLE {table}")
    return n_events


def write_duckdb(path, seed=42, persons=5000, events_target=300_000):
    """Write tables `persons` and `events` to the DuckDB file at `path`, replacing it atomically.

    Returns (number of persons, number of events).
    """
    import duckdb

    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    tmp_db = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    leftovers = (tmp_db, tmp_db + ".wal")
    for leftover in leftovers:
        if os.path.exists(leftover):
            os.remove(leftover)
    person_rows, width, chunks = _simulate(seed, persons, events_target)
    try:
        con = duckdb.connect(tmp_db)
        try:
            with tempfile.TemporaryDirectory(prefix="segc-demo-") as tmp:
                n_events = _load(con, tmp, person_rows, width, chunks)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        if os.path.exists(path + ".wal"):  # the old file's WAL would be replayed onto the new one
            os.remove(path + ".wal")
        os.replace(tmp_db, path)
    except BaseException:
        for leftover in leftovers:
            if os.path.exists(leftover):
                os.remove(leftover)
        raise
    return len(person_rows), n_events


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m segc.demo_data",
        description="Write the demo shop data (tables persons and events) to a DuckDB file.")
    parser.add_argument("--out", default="shop.duckdb", help="DuckDB file to write (replaced)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--persons", type=int, default=5000, help="number of persons")
    parser.add_argument("--events", type=int, default=300_000, help="approximate number of events")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    n_persons, n_events = write_duckdb(args.out, seed=args.seed, persons=args.persons,
                                       events_target=args.events)
    elapsed = time.perf_counter() - started
    print(f"{args.out}: {n_persons:,} persons, {n_events:,} events "
          f"(seed {args.seed}, history up to {DEMO_AS_OF_ISO}) in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
