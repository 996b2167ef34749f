"""`segc docs`: a static HTML catalogue of every definition (no pipeline stage: it shows the
checked project, the SQL the compiler makes for it, and what the target has measured).

One self-contained page per definition (description, tags, the YAML text, its SQL on each
engine, what it uses and what uses it, its last materialized size from the target's
`segc_runs` table and its overlaps with the other segments) and an index page with search and
filters by tag and kind. The warehouse is optional: when the target cannot be reached the
pages say so and show "not measured"; the build itself never fails for it.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from .checker import CheckResult
from .diagnostics import Diagnostic, SegcError, render_text

DIALECTS = ("duckdb", "postgres", "clickhouse")
MARKER = ".segc-docs"  # a folder segc docs wrote, and may replace


@dataclass(frozen=True)
class LastRun:
    """The latest row of `segc_runs` for a segment."""

    members: int
    as_of: dt.datetime
    finished_at: dt.datetime


@dataclass
class Measured:
    """What the target says: sizes from `segc run`, overlaps measured now; or why not."""

    target: str | None
    reachable: bool
    note: str  # one sentence for the pages: where the figures come from, or why there are none
    runs: dict[str, LastRun] = field(default_factory=dict)
    runs_note: str | None = None  # why a segment has no last run
    matrix: object | None = None  # runner.overlap.OverlapMatrix
    overlap_note: str | None = None  # why there are no overlaps
    as_of: dt.datetime | None = None


@dataclass
class DocsSite:
    out: Path
    files: list[Path]
    measured: Measured


# -- measuring -----------------------------------------------------------------------------------
def measure(project_dir, result: CheckResult, target: str | None, as_of: dt.datetime, offline: bool) -> Measured:
    """Read the last runs and measure the overlaps on the target, if it can be reached."""
    from . import api
    from .engines import EngineError, connect
    from .loader.project import resolve_target

    if offline:
        return Measured(target, False, "not measured: built with --offline (no connection to a target)")
    project = result.project
    if target is None and project.default_target is None and not project.targets:
        return Measured(None, False, "not measured: the project has no target (targets/*.yml)")
    if target is not None and target not in project.targets:
        resolve_target(project, target)  # an unknown --target is a mistake: its error, with a did-you-mean
    try:
        settings = resolve_target(project, target)
    except SegcError as e:
        return Measured(target, False, f"not measured: {_first(e)}")
    name = settings["name"]
    missing = _missing_file(settings)
    if missing:
        return Measured(name, False, f"not measured: target '{name}' cannot be reached: {missing}")
    try:
        with connect(settings) as engine:
            runs, runs_note = last_runs(engine, settings)
    except EngineError as e:
        return Measured(name, False, f"not measured: target '{name}' cannot be reached: {_one_line(str(e))}")
    measured = Measured(name, True, f"measured on target '{name}'", runs, runs_note, as_of=as_of)
    names = [n for n in api.select_names(result, None) if n not in result.failed]
    if names:
        try:
            measured.matrix = api.overlap(project_dir, name, names, as_of, result=result)
        except SegcError as e:
            measured.overlap_note = f"overlaps not measured: {_first(e)}"
    return measured


def _first(e: SegcError) -> str:
    d = e.diagnostics[0] if e.diagnostics else Diagnostic("SEG000", str(e), None)
    return _one_line(d.message)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _missing_file(settings: dict) -> str | None:
    # DuckDB and chdb create a database where none is: the docs must not leave one behind
    path = settings.get("path")
    if settings["dialect"] in ("duckdb", "clickhouse") and path and path != ":memory:" and not settings.get("url"):
        if not os.path.exists(path):
            return f"{'database file' if settings['dialect'] == 'duckdb' else 'chdb folder'} {path} does not exist"
    return None


def last_runs(engine, settings: dict) -> tuple[dict[str, LastRun], str | None]:
    """The latest `segc_runs` row per segment (by finish time); a note when there is no log."""
    from sqlglot import exp

    from .engines import table_name
    from .engines.tables import table_exists
    from .runner.materialize import RUNS_TABLE, namespace, qualified

    log = qualified(namespace(settings), RUNS_TABLE)
    if not table_exists(engine, log):
        return {}, f"no segc run recorded on target '{settings['name']}' yet"
    q = exp.Select(expressions=[exp.column(c, quoted=True) for c in ("segment", "members", "as_of", "finished_at")]).from_(table_name(log))
    runs: dict[str, LastRun] = {}
    for segment, members, as_of, finished in engine.query(q.sql(dialect=engine.dialect)):
        if segment not in runs or finished >= runs[segment].finished_at:
            runs[segment] = LastRun(int(members), as_of, finished)
    return runs, None


# -- the pages -----------------------------------------------------------------------------------
@dataclass
class Entry:
    """One definition as its page shows it."""

    name: str
    kind: str
    path: str
    description: str | None
    tags: tuple[str, ...]
    yaml: str
    sql: dict[str, str]  # dialect -> SQL text (empty: none, see sql_note)
    sql_note: str | None
    uses: list[str]
    used_by: list[str]
    errors: list[str]
    warnings: list[str]
    href: str  # from the index: d/<name>.html
    size: int | None = None  # now, from the overlap query
    share: float | None = None
    last_run: LastRun | None = None
    overlaps: list[dict] = field(default_factory=list)


def page_file(name: str) -> str:
    """The file of a definition's page: names are identifiers, safe in any file system."""
    return f"{name}.html"


def page_href(name: str) -> str:
    """A link to that file (`$` and the like percent-encoded)."""
    return urllib.parse.quote(page_file(name))


def entries(result: CheckResult, measured: Measured, as_of: dt.datetime | None) -> list[Entry]:
    from .api import step_labels
    from .compiler import segment_file
    from .compiler.analytics import analytics_file
    from .selection import dependency_graph

    project = result.project
    graph = dependency_graph(result)
    segments = result.segments()
    errors: dict[str, list[Diagnostic]] = {}
    warnings: dict[str, list[Diagnostic]] = {}
    for d in result.diagnostics:
        if d.span is not None:
            (errors if d.severity == "error" else warnings).setdefault(d.span.path, []).append(d)
    out = []
    for d in project.definitions:
        node = result.definitions.get(d.name)
        description, tags = _written(d) if node is None else (node.description, tuple(node.tags))
        sql: dict[str, str] = {}
        note = None
        if d.name in result.failed:
            why = result.failed[d.name]
            note = "no SQL: the definition has errors" if why == "errors" else f"no SQL: {why}, which has errors"
        elif d.kind == "segment":
            sql = {x: segment_file(project.model, segments[d.name], segments, x, as_of) for x in DIALECTS}
        elif d.kind in ("cohort", "insight"):
            labels = step_labels(result, node)
            sql = {x: analytics_file(project.model, node, segments, x, as_of, labels) for x in DIALECTS}
        else:
            note = "a partition has no query of its own: `segc check` tests that its segments do not overlap" + (
                " and cover every person" if getattr(node, "complete", False) else "")
        e = Entry(d.name, d.kind, d.path, description, tags, project.sources.texts.get(d.path, ""), sql, note,
                  list(graph.depends_on.get(d.name, ())), list(graph.used_by.get(d.name, ())),
                  [render_text(x, project.sources) for x in errors.get(d.path, [])],
                  [render_text(x, project.sources) for x in warnings.get(d.path, [])], "d/" + page_href(d.name))
        if d.kind == "segment":
            e.last_run = measured.runs.get(d.name)
            m = measured.matrix
            if m is not None and d.name in m.names:
                e.size, e.share = m.sizes[d.name], m.share(d.name)
                e.overlaps = _overlaps(m, d.name)
        out.append(e)
    return out


def _written(d) -> tuple[str | None, tuple[str, ...]]:
    """Description and tags as written, for a definition that did not check."""
    body = d.body
    desc = body.get("description") if body.kind == "map" else None
    tags = body.get("tags") if body.kind == "map" else None
    text = desc.value if desc is not None and desc.kind == "scalar" and isinstance(desc.value, str) else None
    names = tuple(str(t.value) for t in tags.value if t.kind == "scalar") if tags is not None and tags.kind == "seq" else ()
    return text, names


def _overlaps(m, name: str) -> list[dict]:
    rows = []
    for other in m.names:
        if other == name:
            continue
        both = m.intersection(name, other)
        if both:
            rows.append({"name": other, "both": both, "jaccard": m.jaccard(name, other),
                         "this_in_other": m.containment(name, other), "other_in_this": m.containment(other, name)})
    return sorted(rows, key=lambda r: (-r["jaccard"], r["name"]))


def render(result: CheckResult, measured: Measured, as_of: dt.datetime | None, generated: dt.datetime) -> dict[str, str]:
    """Relative path -> page text, for index.html and d/<name>.html."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("segc.runner", "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = lambda n: "{:,}".format(n)
    env.filters["pct"] = lambda x: "–" if x is None else f"{x:.1%}"
    env.filters["ratio"] = lambda x: "–" if x is None else f"{x:.3f}"
    env.filters["utc"] = lambda t: t.strftime("%Y-%m-%d %H:%M UTC") if t else ""
    env.filters["page"] = page_href
    env.filters["sentence"] = lambda text: text[:1].upper() + text[1:]  # jinja's capitalize lower-cases the rest
    found = entries(result, measured, as_of)
    kinds = [k for k in ("segment", "partition", "cohort", "insight") if any(e.kind == k for e in found)]
    tags = sorted({t for e in found for t in e.tags})
    common = {"project": result.project.name, "measured": measured, "generated": generated, "as_of": as_of,
              "by_name": {e.name: e for e in found}, "dialects": DIALECTS}
    pages = {"index.html": env.get_template("catalog_index.html").render(entries=found, kinds=kinds, tags=tags, **common)}
    page = env.get_template("catalog_page.html")
    for e in found:
        pages["d/" + page_file(e.name)] = page.render(e=e, **common)
    return pages


# -- writing -------------------------------------------------------------------------------------
def write_site(out: Path, pages: dict[str, str]) -> list[Path]:
    """Write the pages into a new folder beside `out`, then swap it in: readers never see half a
    site, and pages of deleted definitions do not linger. Only a folder segc docs wrote (or an
    empty one) is replaced."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise SegcError(Diagnostic("SEG107", f"refusing to replace '{out}': it is not a folder written by segc docs "
                                             f"(no {MARKER} in it); choose another --out", None))
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
    try:
        (staging / MARKER).write_text("written by segc docs; the whole folder is replaced on the next build\n", encoding="utf-8")
        for rel, text in pages.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.chmod(staging, 0o755)  # mkdtemp's 0700 would hide the site from a web server
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            os.replace(out, old / "site")
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out / rel for rel in pages]


def build(project_dir=".", out=None, target: str | None = None, as_of: dt.datetime | None = None,
          offline: bool = False, result: CheckResult | None = None) -> DocsSite:
    from . import api

    result = result or api.validate(project_dir)
    now = as_of or api._now_utc()
    measured = measure(project_dir, result, target, now, offline)
    out_dir = Path(out) if out is not None else Path(project_dir) / "target" / "docs"
    pages = render(result, measured, as_of, api._now_utc())
    return DocsSite(out_dir, write_site(out_dir, pages), measured)
