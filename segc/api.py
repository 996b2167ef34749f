"""The Python API: each command of the CLI is a call here (load, validate, compile, …)."""
from __future__ import annotations

from pathlib import Path

from .checker import CheckResult, check_project
from .loader.project import load_project


def validate(project_dir: str | Path = ".") -> CheckResult:
    """Load and check a project. Raises SegcError only when there is no project to load;
    every problem in the project is in `result.diagnostics`."""
    return check_project(load_project(project_dir))


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

    result = result or validate(project_dir)
    names = select_names(result, select)
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
