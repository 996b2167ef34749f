"""Fuzzing the front end: broken projects through the code path of `segc validate`, in process.

    python -m tests.fuzz --count 10000 --seed 1      # the full run (docs/robustness.md)
    scripts/fuzz --count 10000 --seed 1              # the same
    tests/test_fuzz.py                               # a few hundred inputs, in CI

Each input is a small valid project (segc.yml, a target and a definition of every kind) with one
file broken by hypothesis strategies: expressions drawn from the grammar (grammar/segc.lark)
and mutated token by token; byte flips, truncations, token deletions, duplications and swaps
of the YAML; random Unicode (non-BMP, controls, NUL, lone surrogates written as invalid
UTF-8); values of the wrong shape; nesting thousands of levels deep (YAML and expression);
alias bombs. Each is validated by `segc.cli.main` (click's runner, the command line's own
error boundary) with the project as working directory. The rule, for every input:

- exit 0 (the mutation left the project valid) or exit 1, never a traceback or an internal error;
- exit 1 comes with at least one `path:line:col: SEGnnn message`, and every diagnostic printed
  points into a file of the project, inside the file;
- within the time bound per input (a hang past --hang-after seconds ends the process with the
  stack of every thread, the input left on disk).

A project that validates is compiled as well (`segc compile`, the three dialects in turn),
under the same rule. Failures are written to --save (one project folder each, with the output).
The run goes on until --count inputs were rejected with a located diagnostic.
"""
from __future__ import annotations

import argparse
import contextlib
import faulthandler
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

# --- the valid project every input starts from --------------------------------------------------

MODEL = """\
name: shop
model:
  persons:
    table: persons
    key: person_id
    properties:
      country: string
      plan: string
      age: integer
      score: number
      email: string
      signed_up_at: timestamp
      is_employee: boolean
      `plan tier`: string
  events:
    table: events
    person: person_id
    event: event
    timestamp: timestamp
    properties:
      $browser: string
      revenue: number
      qty: integer
      coupon: boolean
      shipped_at: timestamp
overlap:
  max_jaccard: 0.8
default_target: local
""".replace("      `plan tier`: string\n", "      plan tier: string\n")

FILES = {
    "segc.yml": MODEL,
    "targets/local.yml": "dialect: duckdb\npath: shop.duckdb\n",
    "targets/warehouse.yml": "dialect: postgres\ndsn: ${SEGC_PG_DSN}\nschema: segments\n",
    "specs/new.yml": """\
segment: new
description: Signed up in the last week
where: first_time(signup) >= ago(7d)   # new users
tags: [lifecycle]
""",
    "specs/churned.yml": """\
segment: churned
where: last_time(any) < ago(30d) and not segment(new)
tags: [lifecycle]
expect:
  min_size: 10
  max_share: 0.2
  disjoint_with: [new]
""",
    "specs/buyers.yml": """\
segment: buyers
description: >
  Bought for more than 100 in the last week, in North America.
where: |
  performed(purchase where revenue > 100 within 7d)
    and country in ('US', 'CA')   -- comment
    and email ends_with '@acme.com'
""",
    "specs/regulars.yml": """\
segment: regulars
where: "active_periods(purchase within 28d every 7d min 2) >= 3 and sequence(product_viewed, added_to_cart, purchase within 30d span 1d)"
expect: {subset_of: [buyers]}
""",
    "specs/spenders.yml": """\
segment: spenders
where: 'sum(purchase.revenue within 90d) > 500 and not segment(churned) and person.`plan tier` != ''it''''s'''
tests:
  - name: one big purchase
    as_of: '2026-06-01T12:00:00Z'
    persons:
      - {person_id: a, plan tier: pro}
      - {person_id: b}
    events:
      - {person_id: a, event: purchase, timestamp: ago(1d), revenue: 600}
      - {person_id: b, event: purchase, timestamp: '2026-05-30 08:00:00', revenue: 10, repeat: 3, every: 1h}
    expect: [a]
""",
    "specs/lifecycle.yml": """\
partition: lifecycle
segments: [new, churned]
complete: false
""",
    "specs/weekly_signups.yml": """\
cohort: weekly_signups
entry: first_time(signup)
period: week
periods: 8
returning: performed(login)
entries: within 90d
segment: buyers
""",
    "specs/conversion.yml": """\
insight: conversion
kind: trend
series:
  views: count(product_viewed)
  buyers: persons(purchase where revenue > 0)
formula: buyers / views
interval: week
range: between date('2026-01-05') and date('2026-03-02')
breakdown: country
segment: buyers
""",
    "specs/checkout.yml": """\
insight: checkout
kind: funnel
steps: [product_viewed, added_to_cart, purchase where revenue > 0]
window: 1d
range: within 30d
breakdown:
  segments: [new, churned]
""",
}

# Every example of LANGUAGE.md §3 and a few more: the expressions the mutations start from.
EXPRESSIONS = [
    "count(purchase within 30d) >= 20",
    "performed(purchase where revenue > 100 within 7d) and country in ('US', 'CA')",
    "first_time(signup) >= ago(7d)",
    "last_time(any) < ago(30d)",
    "performed(login between ago(60d) and ago(30d)) and not performed(login within 30d)",
    "active_days(any within 14d) >= 3",
    "active_periods(purchase within 28d every 7d min 2) >= 3",
    "sequence(product_viewed, added_to_cart, purchase within 30d span 1d)",
    "sum(purchase.revenue within 90d) > 500 and not segment(churned)",
    "email ends_with '@acme.com' or email icontains 'ACME' or country matches '^U[SK]$'",
    "age between 18 and 30 and plan not in ('free') and score / 2 > 1.5",
    "`plan tier` is null or person.`plan tier` = \"it's\"",
    "performed('Sign Up' where (coupon) between date('2026-01-01') and timestamp('2026-02-01 12:00:00Z'))",
    "max(purchase.qty where $browser starts_with 'Chrome' since signed_up_at) > -1",
    "is_employee and not (age < 0 or age > 120) and signed_up_at + 1d < now()",
    "count(purchase before date('2000-01-01')) = 0 and avg(any.revenue) != min(purchase.revenue)",
]

PERSON_PROPS = ["country", "plan", "age", "score", "email", "signed_up_at", "is_employee", "`plan tier`"]
EVENT_PROPS = ["$browser", "revenue", "qty", "coupon", "shipped_at"]
EVENTS = ["purchase", "signup", "login", "product_viewed", "'Sign Up'", "any", "added_to_cart"]
KEYWORDS = ["and", "or", "not", "in", "between", "is", "null", "true", "false", "segment", "now", "ago", "date",
            "timestamp", "where", "within", "since", "before", "every", "min", "max", "sum", "avg", "span", "any",
            "performed", "count", "first_time", "last_time", "active_days", "active_periods", "persons", "sequence",
            "starts_with", "ends_with", "contains", "icontains", "matches", "person", "event", "AND", "OR", "NOT"]
PUNCT = ["(", ")", ",", ".", "=", "!=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/", "'", '"', "`", "--", "==",
         "&&", "||", "!", ";", "\\", "\n", "\t", "$", "[", "]", "{", "}", ":", "#", "|", ">", "&", "%", "@", "?"]
NASTY_TEXT = ["", "'", "''", '"', "\\", "\\'", "--", ";", "\n", "\r", "\x00", "\ufeff", "\u2028", "\u202e", "é", "e\u0301",
              "\U0001F600", "\U0010FFFF", "\ud800", "%", "_", "$1", "${X}", "${", "`", "]]>", "<!--", "\x1b[31m",
              "%s%n", "{0}", "a" * 300]

# The token a segc expression or a YAML file is cut into for token mutations.
TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`\n]*`|[A-Za-z_$][A-Za-z0-9_$]*|[0-9]+(?:\.[0-9]*)?[a-z]?|\s+|.", re.DOTALL)


# --- hypothesis strategies ---------------------------------------------------------------------------

def _string_literal(draw) -> str:
    text = draw(st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=12)))
    quote = draw(st.sampled_from(["'", '"']))
    return quote + text.replace(quote, quote * 2) + quote


@st.composite
def leaves(draw, scope: str = "person") -> str:
    kind = draw(st.sampled_from(["prop", "prop", "prop", "int", "float", "string", "bool", "null", "duration", "time",
                                 "weird_name", "keyword", "big"]))
    if kind == "prop":
        names = PERSON_PROPS if scope == "person" else EVENT_PROPS + ["person." + p for p in PERSON_PROPS]
        return draw(st.sampled_from(names))
    if kind == "int":
        return str(draw(st.integers(-5, 10**6)))
    if kind == "float":
        return draw(st.sampled_from(["0.5", ".5", "1e3", "1e999", "2.5e-400", "1.", "0.000001"]))
    if kind == "string":
        return _string_literal(draw)
    if kind == "bool":
        return draw(st.sampled_from(["true", "false"]))
    if kind == "null":
        return "null"
    if kind == "duration":
        return str(draw(st.sampled_from([0, 1, 7, 30, 10**6, 10**12, 10**30]))) + draw(st.sampled_from("smhdw"))
    if kind == "time":
        return draw(st.sampled_from([
            "now()", "ago(7d)", "ago(0s)", "ago(999999999999w)", "date('2026-01-01')", "date('2026-02-30')",
            "date('0001-01-01')", "date('9999-12-31')", "timestamp('9999-12-31 23:59:59.999999')",
            "timestamp('2026-01-01T00:00:00+14:00')", "timestamp('0001-01-01 00:00:00Z')", "date('')",
            "timestamp('2026-13-45')", "date('2026-01-01') - 99999999d", "now() + 1000000w",
        ]))
    if kind == "weird_name":
        return draw(st.sampled_from(["`a b`", "`select`", "`--`", "`é`", "$", "_", "x" * 200, "`" + "y" * 300 + "`", "unknown_prop"]))
    if kind == "keyword":
        return draw(st.sampled_from(KEYWORDS))
    return draw(st.sampled_from(["99999999999999999999999999", "-9223372036854775809", "1" + "0" * 400]))


def _window(draw) -> str:
    t = lambda: draw(leaves())
    return draw(st.sampled_from(["", "", " within 30d", " within 0d", " within 99999999999w", " since {a}", " before {a}",
                                 " between {a} and {b}", " within {a}"])).format(a=t(), b=t())


def expressions(depth: int = 3, scope: str = "person"):
    """Expressions from the productions of grammar/segc.lark; names mostly from the model, so
    that many reach the checker, and the rest from anywhere."""

    @st.composite
    def build(draw, d: int = depth) -> str:
        if d <= 0:
            return draw(leaves(scope))
        sub = lambda: draw(build(d - 1))
        form = draw(st.sampled_from([
            "leaf", "compare", "compare", "and", "or", "not", "paren", "in", "not_in", "between", "is_null",
            "text", "arith", "neg", "call", "call", "aggregate", "periods", "sequence", "segment", "time",
        ]))
        if form == "leaf":
            return draw(leaves(scope))
        if form == "compare":
            return f"{sub()} {draw(st.sampled_from(['=', '!=', '<>', '<', '<=', '>', '>=']))} {sub()}"
        if form in ("and", "or"):
            return f"{sub()} {form} {sub()}"
        if form == "not":
            return f"not {sub()}"
        if form == "paren":
            return f"({sub()})"
        if form in ("in", "not_in"):
            items = draw(st.lists(leaves(scope), min_size=0, max_size=4))
            return f"{sub()} {'in' if form == 'in' else 'not in'} ({', '.join(items)}{draw(st.sampled_from(['', ',']))})"
        if form == "between":
            return f"{sub()} between {sub()} and {sub()}"
        if form == "is_null":
            return f"{sub()} is {draw(st.sampled_from(['null', 'not null']))}"
        if form == "text":
            op = draw(st.sampled_from(["starts_with", "ends_with", "contains", "icontains", "matches"]))
            pattern = draw(st.sampled_from(["'(?=x)'", "'\\1'", "'['", "'a{2,1}'", "'\\b'", "'^[A-Z]+$'", "'(?i)x'", "'x*+'"]))
            return f"{sub()} {op} {pattern if draw(st.booleans()) else _string_literal(draw)}"
        if form == "arith":
            return f"{sub()} {draw(st.sampled_from(['+', '-', '*', '/']))} {sub()}"
        if form == "neg":
            return f"-{sub()}"
        if form == "segment":
            return f"segment({draw(st.sampled_from(['new', 'churned', 'buyers', 'lifecycle', 'checkout', 'nope', 'spenders']))})"
        if form == "time":
            return f"ago({sub()})"
        event = draw(st.sampled_from(EVENTS))
        where = f" where {draw(expressions(max(d - 2, 0), 'event'))}" if draw(st.booleans()) else ""
        if form == "call":
            func = draw(st.sampled_from(["performed", "count", "first_time", "last_time", "active_days", "persons"]))
            return f"{func}({event}{where}{_window(draw)})"
        if form == "aggregate":
            func = draw(st.sampled_from(["sum", "avg", "min", "max"]))
            prop = draw(st.sampled_from(EVENT_PROPS + ["nope", "`a b`"]))
            return f"{func}({event}.{prop}{where}{_window(draw)})"
        if form == "periods":
            return f"active_periods({event}{where}{_window(draw)} every {draw(leaves())}{draw(st.sampled_from(['', ' min 2', ' min 0', ' min -1', ' min 2.5']))})"
        steps = draw(st.lists(st.sampled_from(EVENTS), min_size=1, max_size=4))
        span = draw(st.sampled_from(["", " span 1d", " span 0s", " span 99999999999999w"]))
        return f"sequence({', '.join(steps)}{_window(draw)}{span})"

    return build()


@st.composite
def token_mutations(draw, text: str) -> str:
    """Delete, duplicate, swap or replace tokens (1-4 times)."""
    tokens = TOKEN.findall(text) or [""]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "replace", "insert"]))
        if op == "delete" and len(tokens) > 1:
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:
            new = draw(st.one_of(st.sampled_from(KEYWORDS), st.sampled_from(PUNCT), st.sampled_from(NASTY_TEXT), leaves()))
            if op == "replace":
                tokens[i] = new
            else:
                tokens.insert(i, new + draw(st.sampled_from(["", " "])))
    return "".join(tokens)


def _yaml_scalar(draw, text: str, indent: int = 2) -> str:
    """`text` as a YAML scalar in a random style (what follows `key: `)."""
    style = draw(st.sampled_from(["plain", "single", "double", "literal", "folded", "dump"]))
    pad = " " * indent
    if style == "plain":
        return text.replace("\n", "\n" + pad)
    if style == "single":
        return "'" + text.replace("'", "''").replace("\n", "\n\n" + pad) + "'"
    if style == "double":
        out = []
        for ch in text:
            k = draw(st.integers(0, 9))
            if ch in '"\\':
                out.append("\\" + ch)
            elif ch == "\n":
                out.append("\\n" if k < 5 else "\\\n" + pad + "\\n")
            elif ord(ch) < 32 or ch in "\u2028\u2029\ufeff" or 0xD800 <= ord(ch) <= 0xDFFF:
                out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
            elif k == 0:
                out.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\U{ord(ch):08x}")
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'
    if style in ("literal", "folded"):
        head = "|" if style == "literal" else ">"
        head += draw(st.sampled_from(["", "-", "+", "2", "-2"]))
        return head + "\n" + "\n".join(pad + line for line in text.split("\n"))
    try:
        return yaml.safe_dump(text, allow_unicode=draw(st.booleans()), width=draw(st.sampled_from([30, 80, 10**6]))).removesuffix("\n...\n").rstrip("\n").replace("\n", "\n" + pad)
    except yaml.YAMLError:
        return repr(text)


EXPRESSION_KEYS = {
    "specs/new.yml": "where", "specs/churned.yml": "where", "specs/buyers.yml": "where", "specs/regulars.yml": "where",
    "specs/spenders.yml": "where", "specs/weekly_signups.yml": "returning", "specs/conversion.yml": "formula",
    "specs/checkout.yml": "range",
}


@st.composite
def expression_inputs(draw) -> tuple[str, bytes]:
    """A definition whose expression is drawn from the grammar, maybe mutated, in any YAML style."""
    path = draw(st.sampled_from(sorted(EXPRESSION_KEYS)))
    key = EXPRESSION_KEYS[path]
    base = draw(st.one_of(st.sampled_from(EXPRESSIONS), expressions()))
    text = draw(token_mutations(base)) if draw(st.booleans()) else base
    lines = [line for line in FILES[path].splitlines() if not line.startswith(key + ":")]
    # drop the old value's continuation lines (block scalars)
    out, skipping = [], False
    for line in FILES[path].splitlines():
        if line.startswith(key + ":"):
            skipping = True
            out.append(f"{key}: {_yaml_scalar(draw, text)}")
            continue
        if skipping and (line.startswith(" ") or not line.strip()):
            continue
        skipping = False
        out.append(line)
    del lines
    return path, ("\n".join(out) + "\n").encode("utf-8", "surrogatepass")


@st.composite
def byte_mutations(draw) -> tuple[str, bytes]:
    """Byte flips, truncations, deletions, insertions of random bytes in any file."""
    path = draw(st.sampled_from(sorted(FILES)))
    data = bytearray(FILES[path].encode())
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "set", "truncate", "delete", "insert", "insert_char"]))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[i:]
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 40))]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        else:
            ch = draw(st.one_of(st.characters(), st.sampled_from(NASTY_TEXT)))
            data[i:i] = ch.encode("utf-8", "surrogatepass")
    return path, bytes(data)


@st.composite
def yaml_token_mutations(draw) -> tuple[str, bytes]:
    path = draw(st.sampled_from(sorted(FILES)))
    return path, draw(token_mutations(FILES[path])).encode("utf-8", "surrogatepass")


def _random_value(draw, depth: int = 0):
    kind = draw(st.sampled_from(["int", "float", "bool", "null", "str", "list", "map", "date", "long"] if depth < 3 else ["int", "str", "null"]))
    if kind == "int":
        return draw(st.sampled_from([0, -1, 1, 2**63, 10**30]))
    if kind == "float":
        return draw(st.sampled_from([0.5, float("inf"), float("nan"), -0.0, 1e308]))
    if kind == "bool":
        return draw(st.booleans())
    if kind == "null":
        return None
    if kind == "str":
        return draw(st.one_of(st.sampled_from(NASTY_TEXT + KEYWORDS + ["new", "week", "trend", "duckdb", "string"]), st.text(max_size=10)))
    if kind == "list":
        return [_random_value(draw, depth + 1) for _ in range(draw(st.integers(0, 3)))]
    if kind == "map":
        return {str(_random_value(draw, 3)): _random_value(draw, depth + 1) for _ in range(draw(st.integers(0, 3)))}
    if kind == "date":
        import datetime as dt

        return draw(st.sampled_from([dt.date(2026, 1, 1), dt.datetime(2026, 1, 1, 12, 0)]))
    return "x" * draw(st.sampled_from([1000, 100_000]))


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


@st.composite
def shape_mutations(draw) -> tuple[str, bytes]:
    """Values of the wrong type, missing, unknown and renamed keys; dumped back as YAML."""
    path = draw(st.sampled_from(sorted(FILES)))
    doc = yaml.safe_load(FILES[path])
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        where = draw(st.sampled_from(paths))
        parent = doc
        for k in where[:-1]:
            parent = parent[k]
        last = where[-1]
        op = draw(st.sampled_from(["replace", "replace", "delete", "add", "rename"]))
        if op == "replace":
            parent[last] = _random_value(draw)
        elif op == "delete":
            del parent[last]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["wher", "segments", "kind", "tests", "expect", "x", "segment", "insight", "cohort"]))] = _random_value(draw)
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["Where", "where ", "segment", "partition", "tags"]))] = parent.pop(last)
    try:
        text = yaml.safe_dump(doc, sort_keys=draw(st.booleans()), default_flow_style=draw(st.sampled_from([None, True, False])),
                              allow_unicode=True, width=10**6)
    except (yaml.YAMLError, ValueError, TypeError):
        text = FILES[path][:-1]
    return path, text.encode("utf-8", "surrogatepass")


@st.composite
def deep_inputs(draw) -> tuple[str, bytes]:
    """Nesting thousands of levels deep, in YAML and in expressions; long chains and lists."""
    n = draw(st.sampled_from([65, 201, 1000, 10_000]))  # tests/test_limits.py has the giants
    kind = draw(st.sampled_from(["paren", "not", "neg", "or", "plus", "yaml_seq", "yaml_map", "yaml_block", "in_list", "call"]))
    head = "segment: deep\n"
    if kind == "paren":
        body = "where: " + "(" * n + "age > 1" + ")" * draw(st.sampled_from([n, n - 1, 0]))
    elif kind == "not":
        body = "where: " + "not " * n + "true"
    elif kind == "neg":
        body = "where: age > " + "-" * n + "1"
    elif kind == "or":
        body = "where: " + " or ".join(["age > 1"] * min(n, 1000))
    elif kind == "plus":
        body = "where: age > " + " + ".join(["age"] * min(n, 1000))
    elif kind == "yaml_seq":
        body = "where: true\ntags: " + "[" * n + "]" * draw(st.sampled_from([n, 0]))
    elif kind == "yaml_map":
        body = "where: true\nexpect: " + "{a: " * n + "1" + "}" * draw(st.sampled_from([n, 0]))
    elif kind == "yaml_block":
        m = min(n, 2500)
        body = "where: true\nmeta:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(m))
    elif kind == "in_list":
        body = "where: age in (" + ", ".join(str(i) for i in range(min(n, 1000))) + ")"
    else:
        body = "where: " + "performed(purchase where " * min(n, 1000) + "true"
    return "specs/deep.yml", (head + body + "\n").encode()


BOMBS = [
    "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n",
    "loop: &l [*l]\n",
    "loop: &m {k: *m}\n",
    "x: &s {a: 1}\ny: {<<: *s, <<: *s}\n",
    "x: !!python/object/apply:os.system ['true']\n",
    "x: !!binary AAAA\n",
    "x: !!set {a, b}\n",
    "x: !!timestamp 2026-13-45\n",
    "x: *undefined\n",
    "? [a, b]\n: c\n",
    "? {a: b}\n: c\n",
    "x: 0x_\ny: 1_000\nz: .inf\nw: 0o777\n",
    "--- a\n--- b\n",
    "%YAML 1.1\n---\nx: 1\n",
    "%TAG ! tag:evil:\n---\nx: !y z\n",
]


@st.composite
def bomb_inputs(draw) -> tuple[str, bytes]:
    """Alias bombs, recursive aliases, tags, merge keys, directives, complex keys in any file."""
    path = draw(st.sampled_from(sorted(FILES)))
    snippet = draw(st.sampled_from(BOMBS))
    text = FILES[path]
    text = snippet + text if draw(st.booleans()) else text + snippet
    return path, text.encode()


@st.composite
def unicode_inputs(draw) -> tuple[str, bytes]:
    """Random Unicode, controls, BOMs and line separators anywhere in a file."""
    path = draw(st.sampled_from(sorted(FILES)))
    text = FILES[path]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.one_of(st.text(min_size=1, max_size=6), st.sampled_from(NASTY_TEXT), st.sampled_from(["\r\n", "\r", "\t", "\x85"]))) + text[i:]
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "latin-1"]))
    return path, text.encode(encoding, "surrogatepass" if encoding != "latin-1" else "replace")


def broken_inputs():
    """(the file of the project to replace, its new bytes)."""
    return st.one_of(
        expression_inputs(), expression_inputs(), expression_inputs(),
        byte_mutations(), yaml_token_mutations(), shape_mutations(), unicode_inputs(), deep_inputs(), bomb_inputs(),
    )


# --- running an input through the command line ---------------------------------------------------------

DIAGNOSTIC = re.compile(r"^(?:Error: )?(?P<path>[^\s:][^:\n]*):(?P<line>\d+):(?P<col>\d+): (?P<code>SEG\d{3}) ", re.MULTILINE)
HEADLINE = re.compile(r"(?:^|\s)SEG\d{3} ", re.MULTILINE)


@dataclass
class Stats:
    rejected: int = 0  # exit 1 with a located diagnostic
    accepted: int = 0  # still valid after the mutation (then compiled)
    failures: list = field(default_factory=list)
    slowest: float = 0.0
    slowest_kind: str = ""
    started: float = field(default_factory=time.monotonic)
    codes: dict = field(default_factory=dict)


@contextlib.contextmanager
def _cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


class Fuzzer:
    def __init__(self, root: Path, save: Path | None, time_limit: float, hang_after: float, compile_valid: bool = True):
        self.root = root
        self.save = save
        self.time_limit = time_limit
        self.hang_after = hang_after
        self.compile_valid = compile_valid
        self.stats = Stats()
        for rel, text in FILES.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
        from click.testing import CliRunner

        from segc.cli import main

        self.main = main
        self.runner = CliRunner()

    def _invoke(self, args: list[str]):
        with _cwd(self.root):
            result = self.runner.invoke(self.main, args, catch_exceptions=True)
        out = (result.stdout or "") + (result.stderr or "")
        return result, out

    def check(self, path: str, data: bytes, label: str = "") -> None:
        stats = self.stats
        target = self.root / path
        extra = path not in FILES
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        fmt = ("text", "json", "sarif", "github", "junit")[len(data) % 5] if len(data) % 3 == 0 else "text"
        try:
            # a hang anywhere in this input (validate, compile or the judging) ends the run, with stacks
            faulthandler.dump_traceback_later(self.hang_after, exit=True)
            t = time.monotonic()
            result, out = self._invoke(["validate", ".", "--format", fmt])
            elapsed = time.monotonic() - t
            problems = self._judge(result, out, fmt, elapsed)
            if elapsed > stats.slowest:
                stats.slowest, stats.slowest_kind = elapsed, label
            if not problems and result.exit_code == 0:
                stats.accepted += 1
                if self.compile_valid:
                    t = time.monotonic()
                    dialect = ("duckdb", "postgres", "clickhouse")[stats.accepted % 3]
                    result, out = self._invoke(["compile", ".", "--dialect", dialect, "--as-of", "2026-03-01T00:00:00Z", "--out", str(self.root / "target")])
                    elapsed = time.monotonic() - t
                    problems = self._judge(result, out, "text", elapsed, compiling=True)
            elif not problems:
                stats.rejected += 1
                for m in DIAGNOSTIC.finditer(out):
                    stats.codes[m["code"]] = stats.codes.get(m["code"], 0) + 1
            if problems:
                self._fail(path, data, problems, out, label)
        finally:
            faulthandler.cancel_dump_traceback_later()
            if extra:
                target.unlink(missing_ok=True)
            else:
                target.write_text(FILES[path], encoding="utf-8")

    def _judge(self, result, out: str, fmt: str, elapsed: float, compiling: bool = False) -> list[str]:
        problems = []
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback

            problems.append("exception escaped the command: " + "".join(traceback.format_exception(result.exception)))
        if "Traceback" in out or "internal error" in out:
            problems.append("a traceback or an internal error was printed")
        if result.exit_code not in (0, 1):
            problems.append(f"exit code {result.exit_code}")
        if elapsed > self.time_limit:
            problems.append(f"took {elapsed:.2f} s, more than the bound of {self.time_limit} s")
        if compiling:
            if result.exit_code != 0:
                problems.append("a project that validates did not compile")
            return problems
        located = self._locations(out, fmt)
        if result.exit_code == 1 and not located:
            problems.append("exit 1 without a located diagnostic")
        for path, line, col, code in located:
            file = self.root / path
            if not file.is_file():
                problems.append(f"{code} points into {path}, which is not a file of the project")
                continue
            text = file.read_bytes().decode("utf-8", "replace").lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
            lines = text.split("\n")
            if not 1 <= line <= len(lines) or not 1 <= col <= len(lines[line - 1]) + 1:
                problems.append(f"{code} at {path}:{line}:{col} is outside the file ({len(lines)} lines)")
        return problems

    @staticmethod
    def _locations(out: str, fmt: str) -> list[tuple[str, int, int, str]]:
        if fmt == "json":
            try:
                doc = json.loads(out[out.index("{"):])
                return [(d["path"], d["line"], d["col"], d["code"]) for d in doc["diagnostics"] if "path" in d and d.get("severity") == "error"]
            except (ValueError, KeyError):
                return []
        if fmt == "github":
            return [(m[1], int(m[2]), int(m[3]), m[4]) for m in re.finditer(r"^::error file=([^,]+),line=(\d+),col=(\d+)(?:,[^:]*)?,title=(SEG\d{3})::", out, re.MULTILINE)]
        if fmt == "sarif":
            try:
                doc = json.loads(out[out.index("{"):])
                got = []
                for run in doc["runs"]:
                    for r in run["results"]:
                        if r.get("level", "error") != "error":
                            continue
                        loc = r["locations"][0]["physicalLocation"]
                        region = loc.get("region", {})
                        uri = loc["artifactLocation"]["uri"]
                        from urllib.parse import unquote

                        got.append((unquote(uri), region.get("startLine", 1), region.get("startColumn", 1), r["ruleId"]))
                return got
            except (ValueError, KeyError, IndexError):
                return []
        if fmt == "junit":
            # the path's length is bounded: an unbounded run backtracks quadratically on long lines
            return [(m[1], int(m[2]), int(m[3]), m[4]) for m in re.finditer(r"([^\s>:\"]{1,200}\.ya?ml):(\d+):(\d+): (SEG\d{3})", out)]
        return [(m["path"], int(m["line"]), int(m["col"]), m["code"]) for m in DIAGNOSTIC.finditer(out)]

    def _fail(self, path: str, data: bytes, problems: list[str], out: str, label: str) -> None:
        n = len(self.stats.failures) + 1
        self.stats.failures.append((path, problems, label))
        if self.save is None:
            return
        folder = self.save / f"failure-{n:04d}"
        if folder.exists():
            shutil.rmtree(folder)
        for rel, text in FILES.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text, encoding="utf-8")
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
        (folder / "FAILURE.txt").write_text(f"{label} {path}\n" + "\n".join(problems) + "\n\n--- output ---\n" + out, encoding="utf-8")


def run(count: int, seed: int, save: Path | None = None, time_limit: float = 5.0, hang_after: float = 120.0,
        batch: int = 1000, progress=None, compile_valid: bool = True) -> Stats:
    """Fuzz until `count` inputs were rejected with a located diagnostic (or failed)."""
    with tempfile.TemporaryDirectory(prefix="segc-fuzz-") as tmp:
        fuzzer = Fuzzer(Path(tmp), save, time_limit, hang_after, compile_valid)
        stats = fuzzer.stats
        round_ = 0
        done = lambda: stats.rejected + len(stats.failures) >= count
        while not done():
            # whole batches: hypothesis starts each run from its simplest inputs, which are valid
            @settings(max_examples=batch, database=None, deadline=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @hypothesis_seed(seed * 1_000_003 + round_)
            @given(case=broken_inputs())
            def one(case):
                if done():
                    return
                fuzzer.check(*case)
                if progress:
                    progress(stats)

            one()
            round_ += 1
    return stats


def summary(stats: Stats, count: int, seed: int) -> str:
    took = time.monotonic() - stats.started
    total = stats.rejected + stats.accepted + len(stats.failures)
    codes = ", ".join(f"{c} {n}" for c, n in sorted(stats.codes.items(), key=lambda kv: -kv[1])[:12])
    return (f"fuzz --count {count} --seed {seed}: {total} inputs in {took:.0f} s — {stats.rejected} broken inputs rejected with a "
            f"located diagnostic (exit 1), {stats.accepted} still valid after the mutation (validated and compiled), "
            f"{len(stats.failures)} failures; slowest input {stats.slowest:.2f} s ({stats.slowest_kind or '-'})\n"
            f"most frequent diagnostics: {codes}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="broken inputs to run (rejected ones are counted)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save", type=Path, default=Path("target/fuzz-failures"), help="where failing inputs are written")
    parser.add_argument("--time-limit", type=float, default=5.0, help="seconds one input may take")
    parser.add_argument("--hang-after", type=float, default=120.0, help="seconds after which the run is ended as hung")
    args = parser.parse_args(argv)
    last = [0.0]

    def progress(stats: Stats) -> None:
        now = time.monotonic()
        if now - last[0] > 10:
            last[0] = now
            print(f"  … {stats.rejected} rejected, {stats.accepted} valid, {len(stats.failures)} failures, "
                  f"{now - stats.started:.0f} s", file=sys.stderr, flush=True)

    stats = run(args.count, args.seed, args.save.resolve(), args.time_limit, args.hang_after, progress=progress)
    print(summary(stats, args.count, args.seed))
    for path, problems, label in stats.failures[:20]:
        print(f"FAILED {path}: {problems[0].splitlines()[0]}")
    if stats.failures:
        print(f"inputs and outputs written to {args.save}")
    return 1 if stats.failures else 0


if __name__ == "__main__":
    sys.exit(main())
