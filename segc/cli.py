"""The `segc` command: each command is a few lines over a call in segc.api; one error
boundary prints `Error: …` and exits 1 (usage errors exit 2), re-raising under --debug."""
from __future__ import annotations

import functools
import sys

import click

from .diagnostics import SegcError, render_json, render_text

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


project_arg = click.argument("project_dir", default=".", type=click.Path(file_okay=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show internal details (tracebacks) on errors.")
@click.version_option(package_name="segc")
def main(debug: bool) -> None:
    """segc: segments, cohorts and insights as code, compiled to DuckDB, PostgreSQL and ClickHouse."""


@main.command()
@project_arg
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_boundary
def validate(project_dir: str, fmt: str) -> None:
    """Check every definition of a project; exit 1 if any has errors."""
    from . import api

    result = api.validate(project_dir)
    diags = result.diagnostics
    if fmt == "json":
        click.echo(render_json(diags))
    else:
        color = sys.stdout.isatty()
        for d in diags:
            click.echo(render_text(d, result.project.sources, color=color))
            click.echo("")
        n_err = len(result.errors)
        n_def = len(result.project.definitions)
        blocked = sum(1 for v in result.failed.values() if v.startswith("blocked"))
        summary = f"{n_def} definition{'s' if n_def != 1 else ''} checked: {n_err} error{'s' if n_err != 1 else ''}"
        if blocked:
            summary += f", {blocked} blocked by errors in what they depend on"
        click.echo(summary)
    sys.exit(EXIT_ERRORS if result.errors else EXIT_OK)


def _print_errors(result) -> None:
    for d in result.errors:
        click.echo(render_text(d, result.project.sources, color=sys.stderr.isatty()), err=True)


select_option = click.option("--select", "-s", "select", multiple=True, help="Definitions to use (names, comma- or space-separated).")
as_of_option = click.option("--as-of", "as_of", help="Reference instant for now(), ISO-8601 (UTC when no offset). Default: the engine's clock.")


@main.command("compile")
@project_arg
@click.option("--dialect", "-d", type=click.Choice(["duckdb", "postgres", "clickhouse", "all"]), default="all", show_default=True)
@as_of_option
@select_option
@click.option("--out", "out", type=click.Path(file_okay=False), help="Output folder (default: PROJECT_DIR/target/compiled).")
@_boundary
def compile_(project_dir: str, dialect: str, as_of: str | None, select: tuple[str, ...], out: str | None) -> None:
    """Write each segment's SQL to OUT/<dialect>/<name>.sql."""
    from . import api

    dialects = ("duckdb", "postgres", "clickhouse") if dialect == "all" else (dialect,)
    result, files = api.compile_project(project_dir, dialects, api.parse_as_of(as_of), list(select) or None, out)
    _print_errors(result)
    click.echo(f"compiled {len(files)} file{'s' if len(files) != 1 else ''} for {', '.join(dialects)}"
               + (f" into {files[0].parent.parent}" if files else ""))
    sys.exit(EXIT_ERRORS if result.errors else EXIT_OK)


target_option = click.option("--target", "-t", "target", help="Target from targets/ (default: default_target in segc.yml).")


@main.command()
@project_arg
@target_option
@select_option
@as_of_option
@_boundary
def run(project_dir: str, target: str | None, select: tuple[str, ...], as_of: str | None) -> None:
    """Materialize each selected segment's members in the target and print its size."""
    from . import api

    names_width = [0]
    bar = {"n": 0}
    tty = sys.stdout.isatty()

    def progress(name: str, size: int | None) -> None:
        bar["n"] += 1
        if tty:
            click.echo(f"\r\033[K[{bar['n']}] {name}: {size:,}", nl=False)
        names_width[0] = max(names_width[0], len(name))

    done = api.run(project_dir, target, list(select) or None, api.parse_as_of(as_of), progress)
    if tty:
        click.echo("\r\033[K", nl=False)
    width = max((len(m.name) for m in done), default=0)
    for m in done:
        click.echo(f"{m.name:<{width}}  {m.members:>10,}")
    click.echo(f"materialized {len(done)} segment{'s' if len(done) != 1 else ''}")


@main.command()
@project_arg
@target_option
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_boundary
def check(project_dir: str, target: str | None, as_of: str | None, fmt: str) -> None:
    """Check expect: blocks, partitions and redundancy in one pass; exit 1 if any fails."""
    import json

    from . import api

    outcomes, matrix, result = api.check(project_dir, target, api.parse_as_of(as_of))
    failed = [o for o in outcomes if not o.passed]
    if fmt == "json":
        click.echo(json.dumps({"persons": matrix.total if matrix else 0, "outcomes": [o.as_dict() for o in outcomes],
                               "failed": len(failed)}, indent=2, default=str, ensure_ascii=False))
    else:
        for o in outcomes:
            where = f"{o.span.path}:{o.span.line}: " if o.span else ""
            mark = "PASS" if o.passed else "FAIL"
            click.echo(f"{mark} {where}{o.rule}: {o.message}")
            if o.examples and not o.passed:
                click.echo(f"     e.g. {', '.join(map(str, o.examples))}")
        click.echo(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    sys.exit(EXIT_ERRORS if failed else EXIT_OK)


@main.command()
@project_arg
@target_option
@select_option
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv", "html"]), default="text", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write to this file instead of standard output.")
@_boundary
def overlap(project_dir: str, target: str | None, select: tuple[str, ...], as_of: str | None, fmt: str, out: str | None) -> None:
    """Sizes, pairwise intersections, Jaccard and containment of segments."""
    from . import api
    from .runner import report

    m = api.overlap(project_dir, target, list(select) or None, api.parse_as_of(as_of))
    text = report.render_overlap(m, fmt)
    if out:
        report.write_atomic(out, text)
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
