"""`segc docs`: a static HTML catalogue of every definition, checked as a person sees it in
headless Chromium (Debian's `chromium`; scripts/test installs it): the DOM after the inline
script ran (search and tag filters, from the URL's #tag=…&q=…), each page's YAML, SQL per
engine, dependencies both ways, the last `segc run` size and the overlaps, and screenshots.
Then what happens when the warehouse cannot be reached (the build must not fail), with
definitions that have errors, and on PostgreSQL and ClickHouse targets.

The project is the runner fixture (tests/fixtures/runner_project.py) with tags, a cohort and
an insight added; every size below comes from its hand-worked MEMBERS.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.parse
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from segc import api
from segc.engines import connect

from fixtures import runner_project as rp
from test_overlap_html import chromium, read_png

EXTRA_SPECS = {
    "specs/cohorts/buyer_weeks.yml": """\
        cohort: buyer_weeks
        description: Weekly cohorts of paying first buyers
        entry: first_time(purchase)
        period: week
        periods: 4
        returning: performed(purchase)
        segment: paid
        tags: [behaviour]
        """,
    "specs/insights/purchases.yml": """\
        insight: purchases
        kind: trend
        series:
          purchases: count(purchase)
        interval: week
        range: within 28d
        breakdown:
          segments: [us, canada]
        """,
}
TAGS = {"us": ["region", "north_america"], "canada": ["region", "north_america"], "buyers": ["behaviour"]}  # added
ALL_TAGS = {**TAGS, "buyer_weeks": ["behaviour"]}
DESCRIPTIONS = {"us": "Persons in the United States", "buyers": "bought in the last 30 days",
                "buyer_weeks": "Weekly cohorts of paying first buyers"}
KINDS = {**{n: "segment" for n in rp.MEMBERS}, "regions": "partition", "americas": "partition", "plans": "partition",
         "buyer_weeks": "cohort", "purchases": "insight"}
# what each definition uses, by hand from the specs; `used by` is the other way round, in project order
USES = {"elsewhere": ["us", "canada"], "regions": ["us", "canada", "elsewhere"], "americas": ["us", "canada"],
        "free": ["paid"], "plans": ["paid", "free", "buyers"], "paid_active": ["paid"], "buyer_weeks": ["paid"],
        "purchases": ["us", "canada"]}
PERSONS = len(rp.PERSONS)


def write_project(root: Path, targets: dict[str, str], extra: dict[str, str] | None = None) -> Path:
    rp.write_project(root, targets, {**rp.SPECS, **EXTRA_SPECS, **(extra or {})})
    for name, tags in TAGS.items():
        path = next(root.glob(f"specs/*/{name}.yml"))
        text = path.read_text() + f"tags: [{', '.join(tags)}]\n"
        if name == "us":
            text += f"description: {DESCRIPTIONS['us']}\n"
        path.write_text(text)
    return root


def project_order(root: Path) -> list[str]:
    return [d.name for d in api.load(root).definitions]


def segc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segc", *args], cwd=cwd, capture_output=True, text=True, timeout=180)


class Page(HTMLParser):
    """What Chromium's DOM dump holds: elements by id, table rows, links, resources, text."""

    def __init__(self, html: str):
        super().__init__()
        self.rows: list[dict] = []  # <tr data-…> of the definitions table and the overlaps
        self.links: list[str] = []
        self.resources: list = []
        self.by_id: dict[str, str] = {}  # id -> its text
        self.attrs_by_id: dict[str, dict] = {}
        self.buttons: list[dict] = []
        self.errors: list[str] = []
        self._open: list[tuple[str, str | None, list]] = []  # (tag, id, text parts)
        self._row = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and ("data-name" in a or "data-segment" in a):
            self._row = {**a, "cells": []}
            self.rows.append(self._row)
        if tag == "td" and self._row is not None:
            self._row["cells"].append("")
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag in ("link", "img", "iframe") or (tag == "script" and "src" in a) or "src" in a:
            self.resources.append((tag, a))
        if tag == "button":
            self.buttons.append(a)
        if tag in ("br", "meta", "input", "link", "img"):
            if "id" in a:
                self.attrs_by_id[a["id"]] = a
            return
        self._open.append((tag, a.get("id"), [], "error" in (a.get("class") or "").split()))
        if "id" in a:
            self.attrs_by_id[a["id"]] = a

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None
        while self._open:
            t, ident, parts, is_error = self._open.pop()
            text = "".join(parts)
            if self._open:
                self._open[-1][2].append(text)
            if ident:
                self.by_id[ident] = text
            if is_error:
                self.errors.append(text)
            if t == tag:
                break

    def handle_data(self, data):
        if self._open:
            self._open[-1][2].append(data)
        if self._row is not None and self._row["cells"]:
            self._row["cells"][-1] += data

    def text(self, ident: str) -> str:
        return " ".join(self.by_id[ident].split())

    @property
    def visible(self) -> list[str]:
        return [r["data-name"] for r in self.rows if "data-name" in r and "hidden" not in r]


def dom(url: str, profile: Path) -> Page:
    r = chromium("--dump-dom", url, profile=profile)
    assert r.returncode == 0, r.stderr
    return Page(r.stdout)


# -- the site, measured on a DuckDB target, in the browser -----------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("docs")
    db = root / "data.duckdb"
    write_project(root, {"duckdb": f"dialect: duckdb\npath: {db}\n"})
    with connect({"dialect": "duckdb", "path": str(db)}) as e:
        rp.load_data(e)
    r = segc("run", ".", "--as-of", rp.AS_OF_ISO, cwd=root)
    assert r.returncode == 0, r.stderr
    p = segc("docs", ".", "--as-of", rp.AS_OF_ISO, "--out", "site", cwd=root)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "wrote 15 pages to site (index: site/index.html); measured on target 'duckdb'\n"
    return root


def test_the_index_lists_every_definition_with_its_sizes(site, tmp_path):
    page = dom((site / "site" / "index.html").as_uri(), tmp_path / "profile")
    assert page.resources == []  # self-contained: nothing to fetch
    names = project_order(site)
    assert page.visible == names and len(names) == 14
    assert page.text("count") == "14 of 14 definitions"
    assert page.text("summary").startswith("14 definitions · 9 segments · 3 partitions · 1 cohort · 1 insight · built ")
    assert page.text("measured") == (f"Members measured on target 'duckdb' as of 2026-03-15 12:00 UTC ({PERSONS} persons); "
                                     "last runs from its segc_runs table.")
    for row in page.rows:
        name = row["data-name"]
        link, kind, tags, description, now, last = (" ".join(c.split()) for c in row["cells"])
        assert (link, kind, tags.split(), description) == (name, KINDS[name], ALL_TAGS.get(name, []), DESCRIPTIONS.get(name, ""))
        if name in rp.MEMBERS:
            n = len(rp.MEMBERS[name])
            assert (now, last) == (f"{n} ({n / PERSONS:.1%})", f"{n} 2026-03-15 12:00 UTC")
        else:
            assert (now, last) == ("–", "–")
    # every link goes to a page of the site
    for href in page.links:
        assert not re.match(r"[a-z]+:", href), href
        assert (site / "site" / urllib.parse.unquote(href.split("#")[0])).is_file(), href
    assert sorted(b["data-tag"] for b in page.buttons) == ["behaviour", "north_america", "region"]


@pytest.mark.parametrize("fragment, visible, count", [
    ("tag=region", ["canada", "us"], 2),
    ("tag=behaviour", ["buyers", "buyer_weeks"], 2),
    ("q=purchase&kind=segment", ["big_buyers", "buyers"], 2),  # names, descriptions and the YAML text
    ("q=SEGMENT(PAID)", ["free", "paid_active"], 2),  # case-insensitive
    ("kind=partition", ["americas", "plans", "regions"], 3),
    ("q=nothing+like+this", [], 0),
])
def test_search_and_filters_from_the_url(site, tmp_path, fragment, visible, count):
    page = dom((site / "site" / "index.html").as_uri() + "#" + fragment, tmp_path / "profile")
    assert sorted(page.visible) == sorted(visible)
    assert page.text("count") == f"{count} of 14 definitions"
    assert ("hidden" in page.attrs_by_id["empty"]) == (count > 0)
    tag = dict(urllib.parse.parse_qsl(fragment)).get("tag")
    assert [b["data-tag"] for b in page.buttons if b["aria-pressed"] == "true"] == ([tag] if tag else [])


def test_a_segment_page(site, tmp_path):
    page = dom((site / "site" / "d" / "us.html").as_uri(), tmp_path / "profile")
    assert page.resources == []
    assert page.text("name") == "us segment"
    assert page.text("description") == DESCRIPTIONS["us"]
    assert page.text("tags") == "region north_america"
    assert "../index.html#tag=region" in page.links
    assert page.by_id["definition"].strip().startswith("Definition")
    assert page.by_id["definition"].split("Definition", 1)[1].strip() == (site / "specs/regions/us.yml").read_text().strip()
    # dependencies both ways: us uses nothing; what uses it, in project order
    users = [n for n in project_order(site) if "us" in USES.get(n, [])]
    assert page.text("uses") == "nothing"
    assert page.text("used-by") == ", ".join(f"{n} {KINDS[n]}" for n in users)
    assert [h for h in page.links if h in {f"{n}.html" for n in users}] == [f"{n}.html" for n in users]
    # sizes: now (the overlap query at --as-of) and the last run
    assert page.text("size-now") == f"5 of {PERSONS} persons ({5 / PERSONS:.1%})"
    assert re.fullmatch(r"5 members as of 2026-03-15 12:00 UTC \(finished \d{4}-\d\d-\d\d \d\d:\d\d UTC\)", page.text("size-last-run"))
    # overlaps: every segment sharing a member, most alike first
    us = rp.MEMBERS["us"]
    expected = sorted(((n, len(us & m), len(us & m) / len(us | m)) for n, m in rp.MEMBERS.items() if n != "us" and us & m),
                      key=lambda x: (-x[2], x[0]))
    rows = [r for r in page.rows if "data-segment" in r]
    assert [(r["data-segment"], int(r["cells"][1]), r["cells"][2]) for r in rows] == [(n, b, f"{j:.3f}") for n, b, j in expected]
    for r, (n, b, _) in zip(rows, expected):
        assert r["cells"][3:] == [f"{b / len(us):.1%}", f"{b / len(rp.MEMBERS[n]):.1%}"]
    # the SQL of each engine is what `segc compile` writes
    c = segc("compile", ".", "--as-of", rp.AS_OF_ISO, "-s", "us", "--out", str(tmp_path / "compiled"), cwd=site)
    assert c.returncode == 0, c.stderr
    files = sorted((tmp_path / "compiled").glob("*/us.sql"))
    assert len(files) == 3
    for f in files:
        dialect = f.parent.name
        shown = page.by_id[f"sql-{dialect}"]
        label = {"duckdb": "DuckDB", "postgres": "PostgreSQL", "clickhouse": "ClickHouse"}[dialect]
        assert shown.startswith(label) and shown[len(label):].strip() == f.read_text().strip()
    assert "open" in page.attrs_by_id["sql-duckdb"] and "open" not in page.attrs_by_id["sql-postgres"]


def test_pages_of_the_other_kinds(site, tmp_path):
    regions = dom((site / "site" / "d" / "regions.html").as_uri(), tmp_path / "profile")
    assert regions.text("uses") == "us segment, canada segment, elsewhere segment"
    assert regions.text("sql") == ("SQL a partition has no query of its own: `segc check` tests that its segments do not "
                                   "overlap and cover every person")
    assert "size" not in regions.by_id and "overlaps" not in regions.by_id
    cohort = dom((site / "site" / "d" / "buyer_weeks.html").as_uri(), tmp_path / "profile")
    assert cohort.text("uses") == "paid segment" and cohort.text("used-by") == "nothing"
    assert "-- cohort buyer_weeks, compiled by segc from specs/cohorts/buyer_weeks.yml" in cohort.by_id["sql-clickhouse"]
    paid = dom((site / "site" / "d" / "paid.html").as_uri(), tmp_path / "profile")
    users = [n for n in project_order(site) if "paid" in USES.get(n, [])]
    assert users == ["paid_active", "buyer_weeks", "free", "plans"]  # project order: by file path
    assert paid.text("used-by") == ", ".join(f"{n} {KINDS[n]}" for n in users)
    assert [r["data-segment"] for r in paid.rows][0] == "paid_active"  # Jaccard 1: the same members
    assert [r["cells"][2] for r in paid.rows][0] == "1.000"


def _colours(rows) -> Counter:
    """Pixels by exact colour: flat backgrounds are drawn exactly."""
    counts: Counter = Counter()
    for row in rows:
        counts.update(row[i:i + 3] for i in range(0, len(row), 3))
    return counts


def test_the_screenshots(site, tmp_path):
    shots = {}
    for name, url in (("index", "index.html#tag=region"), ("us", "d/us.html")):
        png = tmp_path / f"{name}.png"
        r = chromium(f"--screenshot={png}", "--window-size=1200,1000", (site / "site").as_uri() + "/" + url,
                     profile=tmp_path / "profile")
        assert r.returncode == 0 and png.exists(), r.stderr
        shots[name] = read_png(png)
        keep = os.environ.get("SEGC_KEEP_SCREENSHOTS")  # to look at them: a folder to copy them into
        if keep:
            shutil.copy(png, Path(keep) / f"docs_{name}.png")
    width, height, rows = shots["index"]
    assert (width, height) == (1200, 1000)
    index = _colours(rows)
    # the measured banner (green background), the active tag (blue), the segment badges of the two rows
    assert index[bytes((0xEC, 0xFD, 0xF5))] > 20_000
    assert index[bytes((0x25, 0x63, 0xEB))] > 300
    assert 2 * 300 < index[bytes((0xDB, 0xEA, 0xFE))] < 2 * 2000
    page = _colours(shots["us"][2])
    assert page[bytes((0xF4, 0xF6, 0xF9))] > 20_000  # the code blocks


# -- without a warehouse ---------------------------------------------------------------------------
@pytest.mark.parametrize("target, note", [
    ("dialect: postgres\ndsn: postgresql://postgres@127.0.0.1:1/postgres\n",
     "not measured: target 'warehouse' cannot be reached: postgres: "),
    ("dialect: postgres\ndsn: ${SEGC_DOCS_TEST_UNSET}\n",
     "not measured: environment variable SEGC_DOCS_TEST_UNSET is not set (needed by target 'warehouse')"),
    ("dialect: duckdb\npath: missing/shop.duckdb\n",
     "not measured: target 'warehouse' cannot be reached: database file missing/shop.duckdb does not exist"),
])
def test_an_unreachable_warehouse_does_not_fail_the_build(tmp_path, target, note):
    root = write_project(tmp_path / "p", {"warehouse": target})
    (root / "segc.yml").write_text(rp.SEGC_YML.replace("default_target: duckdb", "default_target: warehouse"))
    env = {k: v for k, v in os.environ.items() if k != "SEGC_DOCS_TEST_UNSET"}
    p = subprocess.run([sys.executable, "-m", "segc", "docs", "."], cwd=root, capture_output=True, text=True, timeout=180, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"wrote 15 pages to target/docs (index: target/docs/index.html); {note}")
    assert not (root / "missing").exists()  # no database made where there was none
    index = (root / "target" / "docs" / "index.html").read_text()
    assert note[0].upper() + note[1:] in index.replace("&#39;", "'")
    page = (root / "target" / "docs" / "d" / "us.html").read_text()
    assert page.count("not measured") == 3  # now, last run, overlaps


@pytest.mark.parametrize("args, targets, note", [
    (["--offline"], {"duckdb": "dialect: duckdb\npath: data.duckdb\n"},
     "not measured: built with --offline (no connection to a target)"),
    ([], {}, "not measured: the project has no target (targets/*.yml)"),
])
def test_offline_or_without_a_target(tmp_path, args, targets, note):
    root = write_project(tmp_path / "p", targets)
    if not targets:
        (root / "segc.yml").write_text(rp.SEGC_YML.replace("default_target: duckdb\n", ""))
    p = segc("docs", ".", *args, cwd=root)
    assert p.returncode == 0, p.stderr
    assert p.stdout.endswith(f"; {note}\n")
    assert not (root / "data.duckdb").exists()


def test_an_unknown_target_is_an_error(tmp_path):
    root = write_project(tmp_path / "p", {"duckdb": "dialect: duckdb\npath: data.duckdb\n"})
    p = segc("docs", ".", "--target", "duckdbb", cwd=root)
    assert (p.returncode, p.stdout) == (1, "")
    assert p.stderr == "Error: SEG107 unknown target 'duckdbb'; did you mean 'duckdb'?\n"


# -- definitions with errors, and rebuilding -------------------------------------------------------
def test_definitions_with_errors_are_shown_with_their_errors(tmp_path):
    extra = {"specs/broken.yml": "segment: broken\nwhere: contry = 'US'\ntags: [region]\n",
             "specs/uses_broken.yml": "segment: uses_broken\nwhere: segment(broken) and plan = 'pro'\n",
             "specs/never.yml": "segment: never\nwhere: age > 30 and age < 20\n"}  # sound, with a warning
    root = write_project(tmp_path / "p", {}, extra)
    (root / "segc.yml").write_text(rp.SEGC_YML.replace("default_target: duckdb\n", ""))
    p = segc("docs", ".", cwd=root)
    assert p.returncode == 1  # as `segc compile`: the site is written, the errors fail the command
    assert p.stderr.startswith("specs/broken.yml:2:8: SEG300 unknown person property 'contry'")
    assert p.stdout.startswith("wrote 18 pages to target/docs")
    page = Page((root / "target" / "docs" / "d" / "broken.html").read_text())
    assert page.errors == ["specs/broken.yml:2:8: SEG300 unknown person property 'contry'\n"
                           "  where: contry = 'US'\n         ^~~~~~\n  hint: did you mean 'country'?"]
    assert page.text("sql") == "SQL no SQL: the definition has errors"
    assert Page((root / "target" / "docs" / "d" / "uses_broken.html").read_text()).text("sql") == \
        "SQL no SQL: blocked by broken, which has errors"
    never = Page((root / "target" / "docs" / "d" / "never.html").read_text())
    assert never.text("warnings").startswith("Warnings specs/never.yml:2:")  # the checks' warnings, as validate shows them
    assert "sql-duckdb" in never.by_id and "errors" not in never.by_id
    index = Page((root / "target" / "docs" / "index.html").read_text())
    row = next(r for r in index.rows if r["data-name"] == "broken")
    assert " ".join(row["cells"][0].split()) == "broken ⚠" and " ".join(row["cells"][2].split()) == "region"


def test_a_rebuild_replaces_the_site_and_only_its_own(tmp_path):
    root = write_project(tmp_path / "p", {}, {"specs/vip.yml": "segment: $vip\nwhere: segment(paid) and age > 40\n"})
    (root / "segc.yml").write_text(rp.SEGC_YML.replace("default_target: duckdb\n", ""))
    assert segc("docs", ".", cwd=root).returncode == 0
    assert (root / "target" / "docs" / "d" / "active.html").exists()
    # a name with a $: its page is d/$vip.html, linked as d/%24vip.html
    index = Page((root / "target" / "docs" / "index.html").read_text())
    assert "d/%24vip.html" in index.links and (root / "target" / "docs" / "d" / "$vip.html").exists()
    assert "%24vip.html" in Page((root / "target" / "docs" / "d" / "paid.html").read_text()).links
    (root / "specs" / "behaviour" / "active.yml").unlink()
    assert segc("docs", ".", cwd=root).returncode == 0
    site = root / "target" / "docs"
    assert not (site / "d" / "active.html").exists() and (site / "d" / "buyers.html").exists()
    assert sorted(p.name for p in site.iterdir()) == [".segc-docs", "d", "index.html"]
    assert [p.name for p in (root / "target").iterdir()] == ["docs"]  # no staging folders left
    (root / "mine").mkdir()
    (root / "mine" / "notes.txt").write_text("keep me")
    p = segc("docs", ".", "--out", "mine", cwd=root)
    assert p.returncode == 1
    assert p.stderr == ("Error: SEG107 refusing to replace 'mine': it is not a folder written by segc docs "
                        "(no .segc-docs in it); choose another --out\n")
    assert [f.name for f in (root / "mine").iterdir()] == ["notes.txt"]


# -- measured on each engine -----------------------------------------------------------------------
@pytest.mark.engines
@pytest.mark.parametrize("dialect", ["duckdb", "clickhouse", "postgres"])
def test_sizes_and_overlaps_on_each_engine(tmp_path, request, monkeypatch, dialect):
    settings = dict(request.getfixturevalue(f"{dialect}_target"))
    if dialect == "postgres":
        monkeypatch.setenv("SEGC_DOCS_TEST_PG_DSN", settings["dsn"])
        text = f"dialect: postgres\ndsn: ${{SEGC_DOCS_TEST_PG_DSN}}\nschema: {settings['schema']}\n"
    elif dialect == "clickhouse":
        text = f"dialect: clickhouse\npath: {settings['path']}\ndatabase: {settings['database']}\n"
    else:
        text = f"dialect: duckdb\npath: {settings['path']}\n"
    root = write_project(tmp_path / "p", {dialect: text})
    (root / "segc.yml").write_text(rp.SEGC_YML.replace("default_target: duckdb", f"default_target: {dialect}"))
    with connect(settings) as e:
        rp.load_data(e)
    as_of = api.parse_as_of(rp.AS_OF_ISO)
    before = api.docs(root, root / "site", as_of=as_of)
    assert before.measured.reachable and before.measured.runs == {}
    assert before.measured.runs_note == f"no segc run recorded on target '{dialect}' yet"
    api.run(root, as_of=as_of, select=["us", "paid"])
    api.run(root, as_of=as_of)
    site = api.docs(root, root / "site", as_of=as_of)
    m = site.measured
    assert {n: r.members for n, r in m.runs.items()} == {n: len(s) for n, s in rp.MEMBERS.items()}
    assert all(r.as_of == as_of for r in m.runs.values())
    assert m.matrix.sizes == {n: len(s) for n, s in rp.MEMBERS.items()} and m.matrix.total == PERSONS
    page = Page((root / "site" / "d" / "paid_active.html").read_text())
    assert page.text("size-now") == f"5 of {PERSONS} persons ({5 / PERSONS:.1%})"
    assert page.text("size-last-run").startswith("5 members as of 2026-03-15 12:00 UTC")
    assert page.text("measured") == f"Measured on target '{dialect}'."
