"""The `segc` command: each command is a few lines over a call in segc.api; one error
boundary prints `Error: …` and exits 1 (usage errors exit 2), re-raising under --debug."""
from __future__ import annotations

import functools
import os
import sys

import click

from .diagnostics import SegcError, render_text
from .loader.files import write_text
from .formats import FORMATS

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def _boundary(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        debug = ctx.find_root().params.get("debug", False)
        try:
            return fn(*args, **kwargs)
        except SegcError as e:
            if debug:
                raise
            for d in e.diagnostics:
                click.echo(f"Error: {d.headline()}" if d.span is None else render_text(d), err=True)
            sys.exit(EXIT_ERRORS)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as e:  # the boundary: a bug must still not print a traceback
            if debug:
                raise
            click.echo(f"Error: internal error: {type(e).__name__}: {e} (run with --debug for details)", err=True)
            sys.exit(EXIT_ERRORS)

    return wrapper


def entry() -> None:
    """The `segc` script and `python -m segc`: main(), ended without the interpreter's
    teardown when the command allows it (see _short_lived)."""
    global _script
    _script = True
    try:
        main(prog_name="segc")
    except SystemExit as e:
        if not _teardown_skippable:
            raise
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, OSError):
            code = code or EXIT_ERRORS
        os._exit(code)
    raise SystemExit(0)


_script = False  # running as the `segc` script (entry), not called in a process that goes on
_teardown_skippable = False


def _short_lived() -> None:
    """For commands that hold nothing but Python objects at their end (no engine connection,
    no thread, no temporary file), run as the script: no cycle collections, and os._exit once
    the output is flushed, as mypy does. Validating makes ~10^6 objects, nearly all acyclic:
    the collections they set off after a 1,000-definition validate took ~50 ms, and freeing
    them at shutdown ~170 ms more. (compile collects in its workers: api.compile_project.)"""
    global _teardown_skippable
    if _script:
        import gc

        gc.disable()
        _teardown_skippable = True


project_arg = click.argument("project_dir", default=".", type=click.Path(file_okay=False))


EXIT_CODES_HELP = """\b
Exit codes:
  0  success: no errors, every check passed
  1  errors in the project, a failed check, or a command that could not
     finish (unknown selector, target unreachable, ...)
  2  usage error: unknown command or option, bad option value
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.option("--debug", is_flag=True, help="Show internal details (tracebacks) on errors.")
@click.version_option(package_name="segc")
def main(debug: bool) -> None:
    """segc: segments, cohorts and insights as code, compiled to DuckDB, PostgreSQL and ClickHouse."""


format_option = click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
                             help="text (coloured on a terminal), json, junit (JUnit XML), sarif (SARIF 2.1.0) or github (Actions annotations).")


def _reported(fmt: str):
    """In a machine format, an error that stops the command is written in that format too
    (then `Error: …` on stderr and exit 1, as always)."""
    import contextlib

    @contextlib.contextmanager
    def guard():
        try:
            yield
        except SegcError as e:
            if fmt != "text":
                from .formats import diagnostics_report

                click.echo(diagnostics_report(e.diagnostics, fmt))
            raise

    return guard()


strict_option = click.option("--strict", is_flag=True, help="Treat warnings (SEG6xx: conditions never or always true, empty windows, "
                                                             "segments that can never have members) as errors: exit 1.")


def _refuse_warnings(result, strict: bool) -> None:
    """--strict: print the warnings and exit 1 before anything is written or run."""
    warnings = [d for d in result.diagnostics if d.severity == "warning"]
    if strict and warnings:
        for d in warnings:
            click.echo(render_text(d, result.project.sources, color=sys.stderr.isatty()), err=True)
        click.echo(f"Error: {len(warnings)} warning{'s' if len(warnings) != 1 else ''} and --strict", err=True)
        sys.exit(EXIT_ERRORS)


@main.command()
@project_arg
@format_option
@strict_option
@_boundary
def validate(project_dir: str, fmt: str, strict: bool = False) -> None:
    """Check every definition of a project; exit 1 if any has errors (or, with --strict, warnings)."""
    from . import api
    from .formats import use_color, validation_report

    _short_lived()
    with _reported(fmt):
        result = api.validate(project_dir)
    click.echo(validation_report(result, fmt, color=use_color(sys.stdout)))
    sys.exit(EXIT_ERRORS if result.errors or (strict and result.diagnostics) else EXIT_OK)


def _print_errors(result) -> None:
    for d in result.errors:
        click.echo(render_text(d, result.project.sources, color=sys.stderr.isatty()), err=True)


select_option = click.option("--select", "-s", "select", multiple=True,
                             help="Definitions to use: names, tag:T, path:P, kind:K; +NAME adds what it depends on, NAME+ what depends on it (comma- or space-separated, repeatable).")
exclude_option = click.option("--exclude", "-x", "exclude", multiple=True, help="Definitions to leave out, written like --select.")
as_of_option = click.option("--as-of", "as_of", help="Reference instant for now(), ISO-8601 (UTC when no offset). Default: the engine's clock.")


@main.command("compile")
@project_arg
@click.option("--dialect", "-d", type=click.Choice(["duckdb", "postgres", "clickhouse", "all"]), default="all", show_default=True)
@as_of_option
@select_option
@exclude_option
@click.option("--out", "out", type=click.Path(file_okay=False), help="Output folder (default: PROJECT_DIR/target/compiled).")
@strict_option
@_boundary
def compile_(project_dir: str, dialect: str, as_of: str | None, select: tuple[str, ...], out: str | None,
             exclude: tuple[str, ...] = (), strict: bool = False) -> None:
    """Write each segment's SQL to OUT/<dialect>/<name>.sql."""
    from . import api

    _short_lived()
    dialects = ("duckdb", "postgres", "clickhouse") if dialect == "all" else (dialect,)
    checked = api.validate(project_dir) if strict else None
    if checked is not None:
        _refuse_warnings(checked, strict)
    result, files = api.compile_project(project_dir, dialects, api.parse_as_of(as_of), list(select) or None, out,
                                        exclude=list(exclude) or None, result=checked)
    _print_errors(result)
    click.echo(f"compiled {len(files)} file{'s' if len(files) != 1 else ''} for {', '.join(dialects)}"
               + (f" into {files[0].parent.parent}" if files else ""))
    sys.exit(EXIT_ERRORS if result.errors else EXIT_OK)


target_option = click.option("--target", "-t", "target", help="Target from targets/ (default: default_target in segc.yml).")
timeout_option = click.option("--timeout", "timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
                              help="Stop any one query that runs longer (PostgreSQL statement_timeout, ClickHouse "
                                   "max_execution_time, DuckDB interrupt); previous members stay as they were.")


def _set_timeout(seconds: float | None) -> None:
    if seconds is not None:
        from .engines import set_default_timeout

        set_default_timeout(seconds)  # for the engines this command opens; cleared when it ends
        click.get_current_context().call_on_close(lambda: set_default_timeout(None))


@main.command()
@project_arg
@target_option
@select_option
@exclude_option
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json", "html"]), default="text", show_default=True,
              help="How to print the cohort and insight tables (html: a report with charts).")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write the cohort and insight tables to this file.")
@strict_option
@timeout_option
@_boundary
def run(project_dir: str, target: str | None, select: tuple[str, ...], as_of: str | None, fmt: str, out: str | None,
        exclude: tuple[str, ...] = (), strict: bool = False, timeout: float | None = None) -> None:
    """Materialize each selected segment's members in the target and print its size; then run
    each selected cohort and insight and print its table (--select takes any of them)."""
    from . import api

    result = api.validate(project_dir)
    _refuse_warnings(result, strict)
    _set_timeout(timeout)
    segments, analytics = api.split_select(result, list(select) or None, list(exclude) or None)
    when = api.parse_as_of(as_of) or api._now_utc()  # one reference time for both parts
    if segments != []:
        _run_segments(project_dir, target, segments, when, sys.stdout if fmt == "text" and not out else sys.stderr)
    if analytics != [] and any(d.kind in api.ANALYTICS for d in result.project.definitions):
        _print_tables(api.analyze(project_dir, target, analytics, when, result), fmt, out, when, segments != [] and fmt == "text" and not out)


def _print_tables(tables, fmt: str, out: str | None, when, gap: bool) -> None:
    from .runner import analytics

    render = {"text": analytics.render_text, "csv": analytics.render_csv, "json": analytics.render_json}.get(fmt)
    text = analytics.render_html(tables, when) if fmt == "html" else render(tables)
    if out:
        write_text(out, text)
        click.echo(f"wrote {len(tables)} table{'s' if len(tables) != 1 else ''} to {out}", err=True)
    else:
        click.echo(("\n" if gap else "") + text, nl=not text.endswith("\n"))


def _run_segments(project_dir: str, target: str | None, select: list[str] | None, as_of, stream) -> None:
    from . import api

    tty = stream.isatty()

    def progress(done: int, total: int, name: str, size: int | None) -> None:
        if tty:  # a bar that redraws one line; sizes are printed below when all are done
            filled = 30 * done // max(total, 1)
            state = "…" if size is None else f"{size:,}"
            click.echo(f"\r\033[K[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {name}: {state}", nl=False, err=stream is sys.stderr)

    err = stream is sys.stderr
    try:
        done = api.run(project_dir, target, select, as_of, progress)
    finally:
        if tty:
            click.echo("\r\033[K", nl=False, err=err)
    width = max((len(m.name) for m in done), default=0)
    for m in done:
        click.echo(f"{m.name:<{width}}  {m.members:>10,}", err=err)
    click.echo(f"materialized {len(done)} segment{'s' if len(done) != 1 else ''}", err=err)


@main.command()
@project_arg
@target_option
@as_of_option
@format_option
@strict_option
@timeout_option
@_boundary
def check(project_dir: str, target: str | None, as_of: str | None, fmt: str, strict: bool = False,
          timeout: float | None = None) -> None:
    """Check expect: blocks, partitions and redundancy in one pass; exit 1 if any fails."""
    from . import api
    from .formats import check_report, use_color

    if strict:
        _refuse_warnings(api.validate(project_dir), strict)
    _set_timeout(timeout)
    with _reported(fmt):
        outcomes, matrix, result = api.check(project_dir, target, api.parse_as_of(as_of))
    failed = [o for o in outcomes if not o.passed]
    click.echo(check_report(outcomes, matrix.total if matrix else 0, fmt, color=use_color(sys.stdout),
                            title=f"segc check: {result.project.name}"))
    sys.exit(EXIT_ERRORS if failed else EXIT_OK)


@main.command()
@project_arg
@target_option
@select_option
@exclude_option
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv", "html"]), default="text", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write to this file instead of standard output.")
@timeout_option
@_boundary
def overlap(project_dir: str, target: str | None, select: tuple[str, ...], as_of: str | None, fmt: str, out: str | None,
            exclude: tuple[str, ...] = (), timeout: float | None = None) -> None:
    """Sizes, pairwise intersections, Jaccard and containment of segments."""
    from . import api
    from .runner import report

    _set_timeout(timeout)
    m = api.overlap(project_dir, target, list(select) or None, api.parse_as_of(as_of), exclude=list(exclude) or None)
    text = report.render_overlap(m, fmt)
    if out:
        write_text(out, text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=not text.endswith("\n"))


@main.command()
@click.argument("name")
@click.option("--project", "project_dir", default=".", type=click.Path(file_okay=False), show_default=True)
@target_option
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Output file (default: NAME.csv / NAME.parquet).")
@_boundary
def export(name: str, project_dir: str, target: str | None, as_of: str | None, fmt: str, out: str | None) -> None:
    """Write a segment's members with their person properties."""
    from . import api

    path = api.export(project_dir, name, fmt, out, target, api.parse_as_of(as_of))
    click.echo(f"wrote {path}")


@main.command()
@project_arg
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True,
              help="mermaid (renders in GitHub Markdown) or dot (Graphviz: dot -Tsvg).")
@select_option
@exclude_option
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write to this file instead of standard output.")
@_boundary
def graph(project_dir: str, fmt: str, select: tuple[str, ...], exclude: tuple[str, ...], out: str | None) -> None:
    """Draw the dependencies between definitions: segments on the segments they reference;
    partitions, cohorts and insights on the segments they use."""
    from . import api

    text = api.graph(project_dir, fmt, list(select) or None, list(exclude) or None)
    if out:
        write_text(out, text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("project_dir", type=click.Path(file_okay=False))
@click.option("--persons", type=click.IntRange(min=1), default=300, show_default=True, help="Persons in the sample data.")
@_boundary
def init(project_dir: str, persons: int) -> None:
    """Start a new project in PROJECT_DIR (new or empty): segc.yml, targets/local.yml, a few
    specs and sample data in an embedded DuckDB file, ready for validate, run and check."""
    from . import api

    files = api.init(project_dir, persons=persons)
    specs = sum(1 for f in files if "specs" in f.parts)
    click.echo(f"created {project_dir}: segc.yml, targets/local.yml, {specs} specs and sample data ({persons:,} persons)")
    click.echo(f"next:\n  cd {project_dir}\n  segc validate\n  segc run\n  segc check")


@main.command("test")
@project_arg
@select_option
@exclude_option
@click.option("--dialect", "-d", type=click.Choice(["duckdb", "postgres", "clickhouse", "all"]), default=None,
              help="Engines to run the tests on: DuckDB in memory (default), ClickHouse in-process (chdb), PostgreSQL "
                   "(the project's postgres target, or --target), or all three.")
@click.option("--target", "-t", "target", help="Target whose server runs the tests of its dialect, in a throwaway namespace "
                                               "(default for postgres: the project's postgres target).")
@click.option("--as-of", "as_of", help="now() of the tests that give no as_of, ISO-8601 (UTC when no offset). Default: when the command starts.")
@format_option
@_boundary
def test_(project_dir: str, select: tuple[str, ...], exclude: tuple[str, ...], dialect: str | None, target: str | None,
          as_of: str | None, fmt: str) -> None:
    """Run the unit tests of definitions (tests: in a spec, or files under tests/): load each
    test's persons and events into an isolated namespace, run the definition and compare its
    members or rows with what the test expects; exit 1 if any fails."""
    from . import api
    from .formats import use_color
    from .testing import report

    dialects = ("duckdb", "postgres", "clickhouse") if dialect == "all" else (dialect,) if dialect else None
    with _reported(fmt):
        run = api.test(project_dir, list(select) or None, list(exclude) or None, dialects, target, api.parse_as_of(as_of))
    click.echo(report(run, fmt, run.sources, color=use_color(sys.stdout), title="segc test"))
    sys.exit(EXIT_ERRORS if run.failed else EXIT_OK)


# -- segments over time ----------------------------------------------------------------------------------
def _emit(text: str, out: str | None) -> None:

    if out:
        write_text(out, text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=not text.endswith("\n"))


timeline_format = click.option("--format", "fmt", type=click.Choice(["text", "csv", "json", "html"]), default="text", show_default=True,
                               help="html: one self-contained page with a chart.")
timeline_out = click.option("--out", "out", type=click.Path(dir_okay=False), help="Write to this file instead of standard output.")


@main.command()
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.option("--project", "project_dir", default=".", type=click.Path(file_okay=False), show_default=True)
@click.option("--interval", type=click.Choice(["day", "week", "month"]), default="week", show_default=True,
              help="UTC calendar intervals: day, ISO week (from Monday) or month.")
@click.option("--range", "range_", default="90d", show_default=True, help="How far back from now: a duration (90d, 12w, 36h).")
@target_option
@click.option("--as-of", "as_of", help="Now: the last point, ISO-8601 (UTC when no offset). Default: when the command starts.")
@timeline_format
@timeline_out
@_boundary
def history(names: tuple[str, ...], project_dir: str, interval: str, range_: str, target: str | None, as_of: str | None,
            fmt: str, out: str | None) -> None:
    """Each segment's size at the end of every interval of the range, and now (a partition
    NAME stands for its segments); one query for all points."""
    from . import api
    from .runner import timeline

    h = api.history(project_dir, list(names), interval, range_, target, api.parse_as_of(as_of))
    _emit(timeline.render_history(h, fmt), out)


@main.command()
@project_arg
@click.option("--from", "t1", required=True, help="The first instant, ISO-8601 (2026-10-01 or 2026-10-01T00:00:00Z; UTC when no offset).")
@click.option("--to", "t2", help="The second instant, like --from. Default: when the command starts.")
@click.option("--partition", "partition", help="Compare the segments of this partition.")
@select_option
@target_option
@timeline_format
@timeline_out
@_boundary
def migrate(project_dir: str, t1: str, t2: str | None, partition: str | None, select: tuple[str, ...], target: str | None,
            fmt: str, out: str | None) -> None:
    """Persons counted by their segment at --from (rows) and at --to (columns), with "none";
    a person in several selected segments counts in each of their rows and columns."""
    from . import api
    from .runner import timeline

    if (partition is None) == (not select):
        raise click.UsageError("give either --partition NAME or --select ..., not both" if partition else "give --partition NAME or --select ...")
    start = timeline.parse_instant(t1, "--from")
    end = timeline.parse_instant(t2, "--to") if t2 else None
    m = api.migrate(project_dir, start, end, partition, list(select) or None, target)
    _emit(timeline.render_migration(m, fmt), out)


# -- importing from other tools --------------------------------------------------------------------
@main.group("import")
def import_() -> None:
    """Turn other tools' definitions into segc specs."""


@import_.command("posthog", short_help="Translate PostHog cohort JSON into segment specs.")
@click.argument("source", metavar="FILE.json", type=click.Path(dir_okay=False))
@click.option("--project", "project_dir", default=".", type=click.Path(file_okay=False), show_default=True,
              help="The segc project whose model (segc.yml) types the properties.")
@click.option("--out", "out", type=click.Path(file_okay=False), help="Folder for the specs (default: PROJECT/specs/posthog).")
@_boundary
def import_posthog(source: str, project_dir: str, out: str | None) -> None:
    """Translate PostHog cohorts (one cohort, a JSON list, or the API's {"results": [...]}) into
    segment specs. A cohort with a part segc cannot express is not written; each such part is
    reported with its JSON path, and the exit code is 1."""
    from . import api
    from .loader.project import display_path

    done = api.import_posthog(source, project_dir, out)
    for c in done.cohorts:
        if c.file is not None:
            click.echo(f"wrote {display_path(c.file)}  ({c.label})")
        elif c.skipped:
            click.echo(f"skipped {c.label}: {c.skipped}", err=True)
    for d in done.diagnostics:
        click.echo(f"Error: {d.headline()}", err=True)
    imported = len(done.written)
    total = sum(1 for c in done.cohorts if not c.skipped)
    click.echo(f"imported {imported} of {total} cohort{'s' if total != 1 else ''} into {display_path(done.out)}"
               + (f"; {len(done.failed)} not imported (errors above)" if done.failed else ""))
    sys.exit(EXIT_ERRORS if done.failed else EXIT_OK)


@main.command(short_help="Write a static HTML catalogue of every definition.")
@project_arg
@click.option("--out", "out", type=click.Path(file_okay=False), help="Folder for the site (default: PROJECT_DIR/target/docs).")
@target_option
@click.option("--as-of", "as_of", help="now() of the SQL and the measurements, ISO-8601 (UTC when no offset). Default: the engine's clock in the SQL, the time of the build for the measurements.")
@click.option("--offline", is_flag=True, help="Do not connect to the target: sizes and overlaps show as not measured.")
@_boundary
def docs(project_dir: str, out: str | None, target: str | None, as_of: str | None, offline: bool) -> None:
    """Write a static HTML catalogue of every definition: an index with search and tag filters, and
    a page each with its YAML, SQL per engine, dependencies, last measured size and overlaps. An
    unreachable target does not fail the build: the pages say so."""
    from . import api
    from .loader.project import display_path

    when = api.parse_as_of(as_of)
    result = api.validate(project_dir)
    site = api.docs(project_dir, out, target, when, offline, result=result)
    _print_errors(result)  # the pages show them too; as for compile, they make the exit code 1
    pages = len(site.files)
    click.echo(f"wrote {pages} page{'s' if pages != 1 else ''} to {display_path(site.out)} "
               f"(index: {display_path(site.out / 'index.html')}); {site.measured.note}")
    sys.exit(EXIT_ERRORS if result.errors else EXIT_OK)
