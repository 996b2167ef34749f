"""Reports for people and for CI: the diagnostics of `segc validate` and the outcomes of
`segc check` as text (coloured on a terminal), JSON, JUnit XML, SARIF 2.1.0 and GitHub
Actions workflow commands. No pipeline stage: it only renders what the stages found.

- text:   `path:line:col: SEGnnn message`, the source line and a caret (render_text)
- json:   {"diagnostics": [...], "errors": N, "warnings": N} / {"persons", "outcomes", "failed"}
- junit:  one <testcase> per definition file (validate) or per expectation (check)
- sarif:  one result per diagnostic or failed expectation, located by file/line/column
- github: `::error file=F,line=L,col=C,title=SEGnnn::message`, one line each
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence
from urllib.parse import quote

from .diagnostics import Diagnostic, SourceCache, Span, render_json, render_text

if TYPE_CHECKING:
    from .checker import CheckResult
    from .runner.checks import Outcome

FORMATS = ("text", "json", "junit", "sarif", "github")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_GROUPS = {  # the hundreds of a SEGnnn code, for the rule descriptions of SARIF
    "0": "segc could not go on",
    "1": "project files: YAML, shapes, targets",
    "2": "expression syntax",
    "3": "names, types and references",
    "4": "compilation",
    "5": "running on a target",
}
_CHECK_RULES = {
    "min_size": "expect: min_size — a segment has at least this many members",
    "max_size": "expect: max_size — a segment has at most this many members",
    "min_share": "expect: min_share — a segment holds at least this share of all persons",
    "max_share": "expect: max_share — a segment holds at most this share of all persons",
    "disjoint_with": "expect: disjoint_with — a segment shares no member with these",
    "subset_of": "expect: subset_of — every member of a segment is in these",
    "partition": "partition — no two of its segments overlap",
    "complete": "partition complete: true — every person is in one of its segments",
    "max_jaccard": "overlap.max_jaccard — two segments this alike are redundant",
}


def use_color(stream) -> bool:
    """Colour on a terminal, unless NO_COLOR is set (https://no-color.org)."""
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("segc")
    except Exception:  # running from a source tree that was never installed
        return "0"


# -- diagnostics (segc validate) ------------------------------------------------------------------


def validation_report(result: "CheckResult", fmt: str, color: bool = False) -> str:
    """What `segc validate --format FMT` prints for a checked project."""
    diags = result.diagnostics
    project = result.project
    if fmt == "text":
        return diagnostics_text(diags, project.sources, color, validation_summary(result))
    if fmt == "junit":
        return diagnostics_junit(diags, project.sources, _validation_cases(result), f"segc validate: {project.name}")
    return diagnostics_report(diags, fmt, project.sources, color)


def validation_summary(result: "CheckResult") -> str:
    n_err = len(result.errors)
    n_def = len(result.project.definitions)
    blocked = sum(1 for v in result.failed.values() if v.startswith("blocked"))
    n_warn = sum(1 for d in result.diagnostics if d.severity == "warning")
    summary = f"{n_def} definition{'s' if n_def != 1 else ''} checked: {n_err} error{'s' if n_err != 1 else ''}"
    if n_warn:  # as the github format counts them; a clean project's line stays short
        summary += f", {n_warn} warning{'s' if n_warn != 1 else ''}"
    if blocked:
        summary += f", {blocked} blocked by errors in what they depend on"
    return summary


def diagnostics_report(diags: Sequence[Diagnostic], fmt: str, sources: SourceCache | None = None, color: bool = False,
                       title: str = "segc") -> str:
    """Diagnostics alone (also those of an error that stopped a command) in any format."""
    if fmt == "text":
        return diagnostics_text(diags, sources, color)
    if fmt == "json":
        return render_json(list(diags))
    if fmt == "junit":
        return diagnostics_junit(diags, sources, [], title)
    if fmt == "sarif":
        return diagnostics_sarif(diags)
    if fmt == "github":
        return diagnostics_github(diags)
    raise ValueError(f"unknown format {fmt!r}")


def diagnostics_text(diags: Sequence[Diagnostic], sources: SourceCache | None = None, color: bool = False,
                     summary: str | None = None) -> str:
    blocks = [render_text(d, sources, color=color) + "\n" for d in diags]
    if summary is not None:
        blocks.append(summary)
    return "\n".join(blocks)


@dataclass
class _Case:
    """One JUnit test case: a file (validate) or an expectation (check)."""

    classname: str
    name: str
    path: str | None = None  # diagnostics in this file belong to this case
    failures: list[Diagnostic] = field(default_factory=list)
    skipped: str | None = None
    failure: tuple[str, str, str] | None = None  # (message, type, text) when not from diagnostics
    output: str | None = None


def _validation_cases(result: "CheckResult") -> list[_Case]:
    project = result.project
    from .loader.project import CONFIG_FILE, display_path

    cases = [_Case("project", CONFIG_FILE, display_path(Path(project.root) / CONFIG_FILE))]
    cases += [_Case("target", t.name, t.path) for t in project.targets.values()]
    for d in project.definitions:
        reason = result.failed.get(d.name, "")
        cases.append(_Case(d.kind, d.name, d.path, skipped=reason if reason.startswith("blocked") else None))
    return cases


def diagnostics_junit(diags: Sequence[Diagnostic], sources: SourceCache | None, cases: list[_Case], title: str) -> str:
    by_path: dict[str, _Case] = {}
    for c in cases:
        if c.path is not None:
            by_path.setdefault(c.path, c)
    cases = list(cases)
    warnings: dict[int, list[Diagnostic]] = {}
    for d in diags:
        path = d.span.path if d.span else None
        case = by_path.get(path) if path else None
        if case is None:  # a file that is no definition (unreadable, no kind), or no file at all
            case = _Case("file" if path else "project", path or "segc")
            cases.append(case)
            if path:
                by_path[path] = case
        if d.severity == "error":
            case.failures.append(d)
        else:
            warnings.setdefault(id(case), []).append(d)
    for c in cases:
        if c.failures:
            first = c.failures[0]
            more = f" (and {len(c.failures) - 1} more)" if len(c.failures) > 1 else ""
            text = "\n\n".join(render_text(d, sources) for d in c.failures)
            c.failure = (first.headline() + more, first.code, text)
            c.skipped = None
        if id(c) in warnings:
            c.output = "\n\n".join(render_text(d, sources) for d in warnings[id(c)])
    return _junit(title, cases)


def _junit(title: str, cases: list[_Case]) -> str:
    import xml.etree.ElementTree as ET  # here: the text report of `segc validate` needs no XML

    failures = sum(c.failure is not None for c in cases)
    skipped = sum(c.failure is None and c.skipped is not None for c in cases)
    stamp = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0).isoformat()
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0"}
    root = ET.Element("testsuites", {"name": _x(title), **counts, "time": "0"})
    suite = ET.SubElement(root, "testsuite", {"name": _x(title), **counts, "skipped": str(skipped), "time": "0",
                                              "timestamp": stamp})
    for c in cases:
        tc = ET.SubElement(suite, "testcase", {"classname": _x(c.classname), "name": _x(c.name), "time": "0"})
        if c.failure is not None:
            message, kind, text = c.failure
            el = ET.SubElement(tc, "failure", {"message": _x(message), "type": _x(kind)})
            el.text = _x(text)
        elif c.skipped is not None:
            ET.SubElement(tc, "skipped", {"message": _x(c.skipped)})
        if c.output:
            ET.SubElement(tc, "system-out").text = _x(c.output)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: str) -> str:
    """XML 1.0 cannot hold some control characters at all, escaped or not."""
    return _NOT_XML.sub("\ufffd", str(text))


def _uri(path: str) -> tuple[str, bool]:
    """A SARIF artifact URI: relative (to the working directory, %SRCROOT%) when possible."""
    p = Path(path)
    if p.is_absolute():
        return p.as_uri(), False
    return quote(p.as_posix(), safe="/"), True


def _region(span: Span) -> dict:
    region = {"startLine": span.line, "startColumn": span.col}
    if span.end_line >= span.line:
        region["endLine"] = span.end_line
        if span.end_col >= 1 and (span.end_line > span.line or span.end_col > span.col):
            region["endColumn"] = span.end_col  # SARIF's end column is exclusive, like segc's
    return region


def _location(span: Span | None) -> list[dict]:
    if span is None:
        return []
    uri, relative = _uri(span.path)
    artifact = {"uri": uri, **({"uriBaseId": "%SRCROOT%"} if relative else {})}
    return [{"physicalLocation": {"artifactLocation": artifact, "region": _region(span)}}]


def _sarif(rules: dict[str, str], results: list[dict]) -> str:
    ids = list(rules)
    for r in results:
        r["ruleIndex"] = ids.index(r["ruleId"])
    run = {
        "tool": {"driver": {
            "name": "segc",
            "version": _version(),
            "rules": [{"id": i, "shortDescription": {"text": rules[i]}} for i in ids],
        }},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri().rstrip("/") + "/"}},
        "invocations": [{"executionSuccessful": True}],
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False)


def diagnostics_sarif(diags: Sequence[Diagnostic]) -> str:
    rules: dict[str, str] = {}
    results = []
    for d in sorted(diags, key=lambda d: d.code):
        rules.setdefault(d.code, f"segc {d.code}: {_GROUPS.get(d.code[3:4], 'segc diagnostic')}")
    for d in diags:
        text = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        results.append({"ruleId": d.code, "level": "error" if d.severity == "error" else "warning",
                        "message": {"text": text}, "locations": _location(d.span)})
    return _sarif(rules, results)


_DATA_ESC = {"%": "%25", "\r": "%0D", "\n": "%0A"}
_PROP_ESC = {**_DATA_ESC, ":": "%3A", ",": "%2C"}


def _esc(text: str, table: dict) -> str:
    return "".join(table.get(ch, ch) for ch in text)


def _annotation(level: str, span: Span | None, title: str, message: str) -> str:
    props = []
    if span is not None:
        props += [f"file={_esc(span.path, _PROP_ESC)}", f"line={span.line}", f"col={span.col}"]
    props.append(f"title={_esc(title, _PROP_ESC)}")
    return f"::{level} {','.join(props)}::{_esc(message, _DATA_ESC)}"


def diagnostics_github(diags: Sequence[Diagnostic]) -> str:
    lines = []
    for d in diags:
        text = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        lines.append(_annotation("error" if d.severity == "error" else "warning", d.span, d.code, text))
    errors = sum(d.severity == "error" for d in diags)
    lines.append(f"segc: {errors} error{'s' if errors != 1 else ''}, {len(diags) - errors} warning{'s' if len(diags) - errors != 1 else ''}")
    return "\n".join(lines)


# -- outcomes (segc check) ------------------------------------------------------------------------


def check_report(outcomes: Sequence["Outcome"], persons: int, fmt: str, color: bool = False, title: str = "segc check") -> str:
    """What `segc check --format FMT` prints."""
    if fmt == "text":
        return outcomes_text(outcomes, color)
    if fmt == "json":
        failed = sum(not o.passed for o in outcomes)
        return json.dumps({"persons": persons, "outcomes": [o.as_dict() for o in outcomes], "failed": failed},
                          indent=2, default=str, ensure_ascii=False)
    if fmt == "junit":
        return outcomes_junit(outcomes, title)
    if fmt == "sarif":
        return outcomes_sarif(outcomes)
    if fmt == "github":
        return outcomes_github(outcomes)
    raise ValueError(f"unknown format {fmt!r}")


def outcomes_text(outcomes: Sequence["Outcome"], color: bool = False) -> str:
    def paint(code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    lines = []
    for o in outcomes:
        where = f"{o.span.path}:{o.span.line}: " if o.span else ""
        mark = paint("1;32", "PASS") if o.passed else paint("1;31", "FAIL")
        lines.append(f"{mark} {paint('1', where) if where else ''}{o.rule}: {o.message}")
        if o.examples and not o.passed:
            lines.append(paint("2", f"     e.g. {', '.join(map(str, o.examples))}"))
    failed = sum(not o.passed for o in outcomes)
    summary = f"{len(outcomes) - failed} passed, {failed} failed"
    lines.append(paint("1;31" if failed else "1;32", summary) if outcomes else summary)
    return "\n".join(lines)


_COUNT_KEYS = {"intersection", "outside", "size", "persons", "share", "min_size", "max_size", "min_share", "max_share",
               "in_none", "jaccard"}


def _outcome_name(o: "Outcome") -> str:
    """A stable test name: the rule, and for pairs the other segment(s) (no counts: they change)."""
    if o.rule in ("disjoint_with", "subset_of") or (o.rule == "partition" and not o.passed):
        others = [k for k in o.counts if k not in _COUNT_KEYS and k != o.subject]
        if others:
            return f"{o.rule} {' & '.join(others)}"
    return o.rule


def _outcome_text(o: "Outcome") -> str:
    where = f"{o.span}: " if o.span else ""
    text = f"{where}{o.rule}: {o.message}"
    if o.examples:
        text += f"\ne.g. {', '.join(map(str, o.examples))}"
    return text


def outcomes_junit(outcomes: Sequence["Outcome"], title: str = "segc check") -> str:
    cases = []
    for o in outcomes:
        c = _Case(o.subject, _outcome_name(o))
        if not o.passed:
            c.failure = (o.message, o.rule, _outcome_text(o))
        cases.append(c)
    return _junit(title, cases)


def outcomes_sarif(outcomes: Sequence["Outcome"]) -> str:
    """Failed expectations only: a code-scanning alert closes when its result is gone."""
    failed = [o for o in outcomes if not o.passed]
    rules = {r: _CHECK_RULES.get(r, r) for r in sorted({o.rule for o in failed})}
    results = []
    for o in failed:
        text = o.message + (f"\ne.g. {', '.join(map(str, o.examples))}" if o.examples else "")
        results.append({"ruleId": o.rule, "level": "error", "message": {"text": text}, "locations": _location(o.span)})
    return _sarif(rules, results)


def outcomes_github(outcomes: Sequence["Outcome"]) -> str:
    lines = [_annotation("error", o.span, f"segc check {o.rule}", o.message) for o in outcomes if not o.passed]
    failed = len(lines)
    lines.append(f"{len(outcomes) - failed} passed, {failed} failed")
    return "\n".join(lines)

