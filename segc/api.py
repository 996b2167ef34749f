"""The Python API: each command of the CLI is a call here (load, validate, compile, …)."""
from __future__ import annotations

import contextlib
import gc
from pathlib import Path

from .checker import CheckResult, check_project
from .loader.project import load_project


def validate(project_dir: str | Path = ".") -> CheckResult:
    """Load and check a project. Raises SegcError only when there is no project to load;
    every problem in the project is in `result.diagnostics`."""
    with _fewer_gc_pauses():
        return check_project(load_project(project_dir))


@contextlib.contextmanager
def _fewer_gc_pauses():
    # Validating makes ~10^5 small acyclic objects; at the default thresholds the cycle
    # collector walks them hundreds of times (~10% of a large validate). Raised for the call
    # only, as mypy does for its whole run.
    old = gc.get_threshold()
    gc.set_threshold(200_000, 30, 30)
    try:
        yield
    finally:
        gc.set_threshold(*old)


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


def select_names(result: CheckResult, select: list[str] | None, kinds: tuple[str, ...] = ("segment",)) -> list[str]:
    """The definitions a --select names (all of the given kinds when None), in project order."""
    from .diagnostics import Diagnostic, SegcError, did_you_mean

    names = [d.name for d in result.project.definitions if d.kind in kinds]
    if not select:
        return names
    wanted: list[str] = []
    for item in select:
        wanted += [s for s in item.replace(",", " ").split() if s]
    missing = [w for w in wanted if w not in names]
    if missing:
        diags = []
        for w in missing:
            hint = did_you_mean(w, names)
            diags.append(Diagnostic("SEG303", f"--select: no {' or '.join(kinds)} named '{w}'" + (f"; {hint}" if hint else ""), None))
        raise SegcError(diags)
    return [n for n in names if n in wanted]


def compile_project(
    project_dir: str | Path = ".",
    dialects: tuple[str, ...] = ("duckdb", "postgres", "clickhouse"),
    as_of=None,
    select: list[str] | None = None,
    out: str | Path | None = None,
    result: CheckResult | None = None,
):
    """Write <out>/<dialect>/<name>.sql for each sound selected segment. Returns (result, files).
    Files are written next to their destination and renamed into place, so a failure part way
    leaves every earlier file as it was."""
    import os
    import tempfile

    from .compiler import segment_file

    import gc

    result = result or validate(project_dir)
    names = select_names(result, select)
    # sqlglot trees are full of parent links (cycles): without this, collections of the
    # long-lived project objects cost about a third of compile time on large projects
    gc.freeze()
    out_dir = Path(out) if out is not None else Path(project_dir) / "target" / "compiled"
    segments = result.segments()
    model = result.project.model
    files: list[Path] = []
    texts: list[tuple[Path, str]] = []
    for dialect in dialects:
        for name in names:
            if name not in segments:
                continue  # its errors are in result.diagnostics
            texts.append((out_dir / dialect / f"{name}.sql", segment_file(model, segments[name], segments, dialect, as_of)))
    for path, text in texts:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
        files.append(path)
    return result, files


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
        return settings, connect(settings)
    except EngineError as e:
        message = str(e)
        for key in ("dsn", "url"):  # a driver quotes a DSN it cannot parse, password and all
            if isinstance(settings.get(key), str) and settings[key] and settings[key] in message:
                message = message.replace(settings[key], f"<the target's {key}>")
        raise SegcError(Diagnostic("SEG500", f"target '{settings['name']}': {message}", None)) from None


def run(project_dir=".", target: str | None = None, select: list[str] | None = None, as_of=None, progress=None):
    """Materialize the selected segments' members in the target; returns [Materialized]."""
    from .runner.materialize import materialize

    result = validate(project_dir)
    names = select_names(result, select)
    _needed(result, names)
    settings, engine = connect_target(result, target)
    with engine:
        return materialize(engine, settings, result.project.model, result.segments(), names, as_of or _now_utc(), progress)


def overlap(project_dir=".", target: str | None = None, select: list[str] | None = None, as_of=None, result=None):
    """Sizes and pairwise overlaps of the selected segments (all by default), in one query."""
    result = result or validate(project_dir)
    names = select_names(result, select)
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
