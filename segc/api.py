"""The Python API: each command of the CLI is a call here (load, validate, compile, …)."""
from __future__ import annotations

import contextlib
import gc
from pathlib import Path

from .checker import CheckResult, check_project
from .loader.project import Project, load_project


def load(project_dir: str | Path = ".") -> Project:
    """Read a project without checking its expressions: segc.yml, targets and every definition
    file, shape-checked, each value with its file:line:col (`project.definitions`,
    `project.diagnostics`). Raises SegcError only when there is no project to load."""
    return load_project(project_dir)


def validate(project_dir: str | Path = ".", warnings: bool = True) -> CheckResult:
    """Load and check a project. Raises SegcError only when there is no project to load;
    every problem in the project is in `result.diagnostics` (the static warnings too, unless
    `warnings` is False: compile, which reports errors only, spares their ~0.1 s)."""
    from .parallel import load_specs
    from .parser import note_files, saved_trees
    from .warnings import add_static_warnings

    with _fewer_gc_pauses():
        # a large project is read and parsed on two processes (segc.parallel; SEGC_PARALLEL)
        with saved_trees(Path(project_dir)):
            project = load_project(project_dir, load_specs=load_specs)
            note_files({d.path: d.body.source.digest for d in project.definitions})
            result = check_project(project)
        return add_static_warnings(result) if warnings else result


@contextlib.contextmanager
def _fewer_gc_pauses(collect: bool = False):
    # Validating makes ~10^5 small acyclic objects; at the default thresholds the cycle
    # collector walks them hundreds of times (~10% of a large validate). Raised for the call
    # only, as mypy does for its whole run. `collect`: with the collector on for the call
    # even where the caller turned it off (compile's workers make cyclic sqlglot trees).
    old, was_on = gc.get_threshold(), gc.isenabled()
    gc.set_threshold(200_000, 30, 30)
    if collect:
        gc.enable()
    try:
        yield
    finally:
        gc.set_threshold(*old)
        if not was_on:
            gc.disable()


def parse_as_of(text: str | None):
    """--as-of: ISO-8601; a value without an offset is UTC. Returns a naive UTC datetime."""
    import datetime as dt

    from .diagnostics import Diagnostic, SegcError

    if text is None:
        return None
    raw = text.strip()
    try:
        value = dt.datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise SegcError(Diagnostic("SEG107", f"--as-of '{text}' is not an ISO-8601 instant such as 2026-11-01T00:00:00Z", None)) from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def select_names(result: CheckResult, select: list[str] | None, kinds: tuple[str, ...] = ("segment",),
                 exclude: list[str] | None = None) -> list[str]:
    """The definitions of the given kinds that --select picks (all when empty) minus --exclude,
    in project order. Selectors as in dbt: names, tag:T, path:P, kind:K, +x (and what x depends
    on), x+ (and what depends on x); see segc.selection. Raises SegcError for a selector that
    matches nothing."""
    from .selection import select as _select

    return _select(result, select, exclude, kinds)


def graph(project_dir: str | Path = ".", fmt: str = "mermaid", select: list[str] | None = None,
          exclude: list[str] | None = None, result: CheckResult | None = None) -> str:
    """The dependencies between the selected definitions (all by default) as Mermaid or
    Graphviz DOT text; definitions with errors are drawn too, in red."""
    from .graph import render_graph
    from .selection import KINDS, dependency_graph

    result = result or validate(project_dir)
    names = select_names(result, select, KINDS, exclude) if (select or exclude) else None
    return render_graph(dependency_graph(result), fmt, names, list(result.failed))


def init(project_dir: str | Path, persons: int = 300, seed: int = 42) -> list[Path]:
    """Write a new project (segc.yml, targets/local.yml, a few specs and a DuckDB file of sample
    data) into an empty or new folder; returns the files written."""
    from .starter import create

    return create(project_dir, persons=persons, seed=seed)


def compile_project(
    project_dir: str | Path = ".",
    dialects: tuple[str, ...] = ("duckdb", "postgres", "clickhouse"),
    as_of=None,
    select: list[str] | None = None,
    out: str | Path | None = None,
    result: CheckResult | None = None,
    exclude: list[str] | None = None,
    workers: int | None = None,
):
    """Write <out>/<dialect>/<name>.sql for each sound selected segment, cohort and insight.
    Large projects are compiled on up to `workers` processes (default: the cores, at most 4).
    Returns (result, files); without a `result`, it holds the project's errors (static warnings
    come from validate and check).
    Each file is written next to its destination and renamed into place, so a failure part way
    leaves every file whole (old or new); a file that would not change is not rewritten."""
    import gc
    import os

    result = result or validate(project_dir, warnings=False)
    segment_names, analytics_names = split_select(result, select, exclude)
    names = (select_names(result, None) if segment_names is None else segment_names) + (
        select_names(result, None, ANALYTICS) if analytics_names is None else analytics_names)
    # sqlglot trees are full of parent links (cycles): without this, collections of the
    # long-lived project objects cost about a third of compile time on large projects
    gc.freeze()
    out_dir = Path(out) if out is not None else Path(project_dir) / "target" / "compiled"
    segments = result.segments()
    model = result.project.model
    # a definition is one job for every dialect: its texts are printed from one tree
    jobs = [(dialects, name) for name in names
            if name in segments or (name in result.definitions and result.definitions[name].kind in ANALYTICS)]
    jobs.sort(key=_job_size(segments), reverse=True)  # the largest first: the workers end together
    _COMPILE_STATE.update(model=model, segments=segments, result=result, as_of=as_of, out=out_dir)
    for dialect in dialects:
        (out_dir / dialect).mkdir(parents=True, exist_ok=True)
    workers = workers or min(os.cpu_count() or 1, 4)
    try:
        with _fewer_gc_pauses(collect=True):  # every tree is garbage once printed; forked workers inherit this
            _compile_jobs(jobs, workers)
    finally:
        _COMPILE_STATE.clear()
    return result, [out_dir / dialect / f"{name}.sql" for dialect in dialects for name in names
                    if name in segments or (name in result.definitions and result.definitions[name].kind in ANALYTICS)]


def _compile_jobs(jobs: list[tuple[tuple[str, ...], str]], workers: int) -> None:
    if sum(len(d) for d, _ in jobs) >= 400 and workers > 1 and "fork" in _mp_methods():
        # sqlglot builds and prints trees in Python: spread large projects over the cores;
        # each worker writes its own files
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pool.map(_compile_one, jobs, chunksize=max(1, len(jobs) // (workers * 32)))
    else:
        for job in jobs:
            _compile_one(job)


def _job_size(segments: dict):
    """A compile job's size, roughly: its dialects times the segments its SQL holds (a segment's
    file also computes every segment it references), a cohort or an insight counting as 6."""
    closures: dict[str, frozenset] = {}

    def closure(name: str) -> frozenset:
        if name not in closures:
            closures[name] = frozenset()  # a cycle never reaches here (the checker refuses it)
            deps = segments[name].depends_on if name in segments else ()
            closures[name] = frozenset(deps).union(*(closure(d) for d in deps))
        return closures[name]

    # a cohort or an insight: ~6 times a segment's work (measured on the benchmark's projects)
    return lambda job: len(job[0]) * ((1 + len(closure(job[1]))) if job[1] in segments else 6)


compile = compile_project  # api.compile(...), like the command

_COMPILE_STATE: dict = {}  # what compile workers need; inherited by forked processes


def _mp_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def _compile_one(job: tuple[tuple[str, ...], str]) -> None:
    from .compiler import segment_files
    from .compiler.analytics import analytics_files
    from .loader.files import write_text

    dialects, name = job
    st = _COMPILE_STATE
    result, segments, model, as_of = st["result"], st["segments"], st["model"], st["as_of"]
    if name in segments:
        texts = segment_files(model, segments[name], segments, dialects, as_of)
    else:
        d = result.definitions[name]
        texts = analytics_files(model, d, segments, dialects, as_of, step_labels(result, d))
    for dialect, text in texts.items():
        write_text(st["out"] / dialect / f"{name}.sql", text)


def _needed(result: CheckResult, names: list[str]) -> None:
    """Refuse to run definitions that failed the checks (theirs and their dependencies' errors)."""
    from .diagnostics import Diagnostic, SegcError

    bad = [n for n in names if n in result.failed]
    if bad:
        diags = list(result.errors) or []
        diags.append(Diagnostic("SEG501", f"cannot run {', '.join(bad)}: fix the errors above first", None))
        raise SegcError(diags)


def _now_utc():
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def connect_target(result: CheckResult, target: str | None):
    """Open the engine of a target (--target, else default_target)."""
    from .engines import EngineError, connect
    from .diagnostics import Diagnostic, SegcError
    from .loader.project import resolve_target

    settings = resolve_target(result.project, target)
    try:
        engine = connect(settings)
        if engine.dialect == "duckdb":  # its progress bar goes to stdout: into `overlap --format json` output
            from sqlglot import exp

            off = exp.SetItem(this=exp.EQ(this=exp.column("enable_progress_bar"), expression=exp.false()))
            engine.execute(exp.Set(expressions=[off]).sql("duckdb"))
        return settings, engine
    except EngineError as e:
        message = str(e)
        for key in ("dsn", "url"):  # a driver quotes a DSN it cannot parse, password and all
            if isinstance(settings.get(key), str) and settings[key] and settings[key] in message:
                message = message.replace(settings[key], f"<the target's {key}>")
        raise SegcError(Diagnostic("SEG500", f"target '{settings['name']}': {message}", None)) from None


def run(project_dir=".", target: str | None = None, select: list[str] | None = None, as_of=None, progress=None,
        exclude: list[str] | None = None):
    """Materialize the selected segments' members in the target; returns [Materialized]."""
    from .runner.materialize import materialize

    result = validate(project_dir)
    names = select_names(result, select, exclude=exclude)
    _needed(result, names)
    settings, engine = connect_target(result, target)
    with engine:
        return materialize(engine, settings, result.project.model, result.segments(), names, as_of or _now_utc(), progress)


def overlap(project_dir=".", target: str | None = None, select: list[str] | None = None, as_of=None, result=None,
            exclude: list[str] | None = None):
    """Sizes and pairwise overlaps of the selected segments (all by default), in one query."""
    result = result or validate(project_dir)
    names = select_names(result, select, exclude=exclude)
    _needed(result, names)
    return _matrix(result, target, names, as_of)


def _matrix(result: CheckResult, target, names: list[str], as_of):
    from .compiler import masks_select, to_sql
    from .diagnostics import Diagnostic, SegcError
    from .engines import EngineError
    from .runner.overlap import from_mask_rows

    settings, engine = connect_target(result, target)
    sql = to_sql(masks_select(result.project.model, result.segments(), names, engine.dialect, as_of or _now_utc()), engine.dialect, pretty=False)
    with engine:
        try:
            rows = engine.query(sql)
        except EngineError as e:
            raise SegcError(Diagnostic("SEG500", f"evaluating {len(names)} segments failed: {e}", None)) from None
    return from_mask_rows(names, rows)


def check(project_dir=".", target: str | None = None, as_of=None):
    """Judge every expect: block and partition on one pass. Returns (outcomes, matrix, result)."""
    from .runner.checks import judge, segments_to_evaluate

    result = validate(project_dir)
    definitions = {**result.definitions}
    names = segments_to_evaluate(definitions)
    owners = [d.name for d in result.project.definitions if d.kind in ("segment", "partition") and d.name in result.failed]
    _needed(result, [n for n in names if n in result.failed] + owners)
    if not names:
        return [], None, result
    m = _matrix(result, target, names, as_of)
    return judge(definitions, m, result.project.max_jaccard), m, result


def export(project_dir, name: str, fmt: str = "csv", out=None, target: str | None = None, as_of=None):
    """Write the members of one segment with their person properties (csv or parquet)."""
    from sqlglot import exp

    from .compiler import segment_select, to_sql
    from .compiler.builder import col, table
    from .runner.export import write_rows

    result = validate(project_dir)
    names = select_names(result, [name])
    _needed(result, names)
    model = result.project.model
    settings, engine = connect_target(result, target)
    members = segment_select(model, result.segments(), name, engine.dialect, as_of or _now_utc())
    settings_clause = members.args.pop("settings", None)
    key = model.persons.key
    columns = [key] + ([model.persons.properties_json] if model.persons.properties_json else list(model.persons.properties))
    q = (exp.Select(expressions=[col(c, "segc_p") for c in columns])
         .from_(table(model.persons.table, "segc_p"))
         .where(exp.In(this=col(key, "segc_p"), query=members.subquery()))
         .order_by(col(key, "segc_p")))
    if settings_clause:
        q.set("settings", settings_clause)
    with engine:
        rows = engine.query(to_sql(q, engine.dialect, pretty=False))
    from .runner.export import logical_type

    props = model.persons.properties
    types = [logical_type(rows, 0)] + (["json"] if model.persons.properties_json else [props[c] for c in columns[1:]])
    return write_rows(columns, rows, fmt, out or f"{name}.{fmt}", types)


# -- cohorts and insights ------------------------------------------------------------------------
ANALYTICS = ("cohort", "insight")


def split_select(result: CheckResult, select: list[str] | None, exclude: list[str] | None = None) -> tuple[list[str] | None, list[str] | None]:
    """A --select / --exclude that may pick segments, cohorts and insights -> (segments, cohorts
    and insights), each in project order; None for "all of them" when nothing is selected. A name
    that is none of them is reported as an unknown segment, as before cohorts could be selected."""
    if not select and not exclude:
        return None, None
    kinds = {d.name: d.kind for d in result.project.definitions}
    names = select_names(result, select, ("segment",) + ANALYTICS, exclude)
    return [n for n in names if kinds[n] == "segment"], [n for n in names if kinds[n] in ANALYTICS]


def step_labels(result: CheckResult, definition) -> list[str] | None:
    """A funnel's steps as written in its file (shown in its table), else None."""
    steps = getattr(definition, "steps", ())
    labels = []
    for s in steps:
        text = result.project.sources.line(s.span.path, s.span.line)
        if text is None or s.span.end_line != s.span.line:
            return None
        labels.append(" ".join(text[s.span.col - 1:s.span.end_col - 1].split()))
    return labels or None


def analyze(project_dir=".", target: str | None = None, select: list[str] | None = None, as_of=None, result=None, progress=None):
    """Run the selected cohorts and insights (all of them by default) on the target; returns a
    ResultTable each, in project order."""
    from .runner.analytics import run_analytics

    result = result or validate(project_dir)
    names = select_names(result, select, ANALYTICS)
    _needed(result, names)
    definitions = [result.definitions[n] for n in names]
    settings, engine = connect_target(result, target)
    labels = {d.name: step_labels(result, d) for d in definitions}
    with engine:
        return run_analytics(engine, result.project.model, result.segments(), definitions, as_of or _now_utc(), labels, progress)


# -- unit tests (segc test) -----------------------------------------------------------------------
def test(project_dir=".", select: list[str] | None = None, exclude: list[str] | None = None,
         dialects: tuple[str, ...] | None = None, target: str | None = None, as_of=None, result=None, progress=None):
    """Run the unit tests (`tests:` of definitions, files under tests/) of the selected
    definitions (all by default) on each dialect (default: DuckDB, or --target's dialect), each
    in a namespace of its own. Returns a segc.testing.UnitTestRun; `as_of` is now() for the tests
    that give none (default: when the call starts)."""
    from .testing import TESTABLE, engine_settings, run_tests

    result = result or validate(project_dir)
    if select or exclude:
        chosen = set(select_names(result, select, TESTABLE, exclude))
        tests = [t for t in result.tests if t.definition in chosen]
    else:
        tests = list(result.tests)
    if dialects is None:
        from .loader.project import resolve_target

        dialects = (resolve_target(result.project, target)["dialect"],) if target else ("duckdb",)
    engines = engine_settings(result.project, dialects, target)
    labels = {t.definition: step_labels(result, result.definitions[t.definition])
              for t in tests if t.kind != "segment" and t.definition in result.definitions}
    return run_tests(result, tests, engines, as_of or _now_utc(), labels, progress)


# -- segments over time ----------------------------------------------------------------------------------
def history(project_dir=".", names=(), interval: str = "week", range_: str = "90d", target: str | None = None, as_of=None,
            result=None):
    """Each named segment's size at the end of every UTC interval (day, week, month) of the range,
    up to now (`as_of`, default: the time of the call), in one query; a name may be a partition
    (its segments). Returns a runner.timeline.History."""
    from .runner import timeline

    result = result or validate(project_dir)
    wanted = timeline.segment_names(result, list(names))
    _needed(result, wanted)
    now = as_of or _now_utc()
    points = timeline.history_points(now, interval, timeline.parse_duration(range_, "--range"))
    settings, engine = connect_target(result, target)
    with engine:
        return timeline.run_history(engine, result.project.model, result.segments(), wanted, points, interval, range_, now)


def migrate(project_dir=".", t1=None, t2=None, partition: str | None = None, select: list[str] | None = None,
            target: str | None = None, result=None):
    """Persons counted by (segment at t1, segment at t2) for a partition's segments or a
    selection, "none" included, in one query; t2 defaults to the time of the call. Returns a
    runner.timeline.Migration."""
    from .diagnostics import Diagnostic, SegcError
    from .runner import timeline

    if (partition is None) == (not select):
        raise SegcError(Diagnostic("SEG107", "give the segments to compare: a partition or a selection, not both", None))
    if t1 is None:
        raise SegcError(Diagnostic("SEG107", "give the instant to start from (--from)", None))
    t2 = t2 or _now_utc()
    if t1 >= t2:
        raise SegcError(Diagnostic("SEG107", f"--from {timeline.iso(t1)} is not before --to {timeline.iso(t2)}", None))
    result = result or validate(project_dir)
    names = timeline.partition_segments(result, partition) if partition else select_names(result, select)
    _needed(result, ([partition] if partition else []) + [n for n in names if n != partition])
    settings, engine = connect_target(result, target)
    with engine:
        return timeline.run_migration(engine, result.project.model, result.segments(), names, t1, t2, partition)


# -- importing from other tools --------------------------------------------------------------------
def import_posthog(source, project_dir=".", out=None):
    """Translate PostHog cohorts (a JSON file: one cohort, a list, or the API's {"results": [...]})
    into segment specs typed by the project's model; writes one file a cohort that translates
    wholly into `out` (default PROJECT/specs/posthog). Returns an importers.posthog.PosthogImport:
    .written, .failed, .diagnostics (each untranslatable part with its JSON path)."""
    from .importers.posthog import import_cohorts

    return import_cohorts(source, project_dir, out)


def docs(project_dir=".", out=None, target: str | None = None, as_of=None, offline: bool = False, result=None):
    """Write a static HTML catalogue of every definition into `out` (default PROJECT/target/docs):
    an index page with search and tag filters, and a page a definition (description, tags, YAML,
    SQL per dialect, dependencies both ways, last `segc run` size, overlaps). The target is read
    when it can be reached; otherwise the pages say "not measured". Returns a catalog.DocsSite."""
    from .catalog import build

    return build(project_dir, out, target, as_of, offline, result)
