"""Diagnostics shared by every stage: one type, `path:line:col: SEGnnn message`, plus source and caret."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True)
class Span:
    """A place in a file: 1-based line and column, end exclusive (end may equal start)."""

    path: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __post_init__(self) -> None:
        if not self.end_line:
            object.__setattr__(self, "end_line", self.line)
            object.__setattr__(self, "end_col", self.col + 1)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    code: str  # SEGnnn
    message: str
    span: Span | None
    severity: str = "error"  # error | warning
    hint: str | None = None

    def headline(self) -> str:
        where = f"{self.span}: " if self.span else ""
        sev = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}{self.code} {sev}{self.message}"

    def as_dict(self) -> dict:
        d: dict = {"code": self.code, "severity": self.severity, "message": self.message}
        if self.span:
            d.update(
                path=self.span.path,
                line=self.span.line,
                col=self.span.col,
                end_line=self.span.end_line,
                end_col=self.span.end_col,
            )
        if self.hint:
            d["hint"] = self.hint
        return d


class SegcError(Exception):
    """Raised when a stage cannot go on; carries the diagnostics that explain why."""

    def __init__(self, diagnostics: Iterable[Diagnostic] | Diagnostic | str):
        if isinstance(diagnostics, str):
            diagnostics = [Diagnostic("SEG000", diagnostics, None)]
        elif isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(d.headline() for d in self.diagnostics))


@dataclass
class SourceCache:
    """Text of the files diagnostics point into, for rendering the source line."""

    texts: dict[str, str] = field(default_factory=dict)

    def line(self, path: str, line: int) -> str | None:
        text = self.texts.get(path)
        if text is None:
            return None
        lines = text.split("\n")  # as positions count them: not at \x0c, \x85, \u2028 … (str.splitlines)
        if lines[-1] == "":
            lines.pop()
        if 1 <= line <= len(lines):
            return lines[line - 1]
        return None


MAX_SHOWN_LINE = 200  # characters of a source line shown under a diagnostic


def render_text(diag: Diagnostic, sources: SourceCache | None = None, color: bool = False) -> str:
    head = diag.headline()
    if color:
        c = "\033[1;31m" if diag.severity == "error" else "\033[1;33m"
        head = f"\033[1m{diag.span}:\033[0m {c}{diag.code}\033[0m {diag.message}" if diag.span else head
    out = [head]
    span = diag.span
    if span and sources is not None:
        src = sources.line(span.path, span.line)
        if src is not None:
            shown = src.expandtabs(1)
            col = span.col
            width = 1
            if span.end_line == span.line and span.end_col > span.col:
                width = span.end_col - span.col
            if len(shown) > MAX_SHOWN_LINE:  # a window around the caret: thousands of diagnostics
                start = max(0, min(col - 1 - MAX_SHOWN_LINE // 4, len(shown) - MAX_SHOWN_LINE))  # on a 100 kB line
                head = "…" if start else ""
                shown = head + shown[start:start + MAX_SHOWN_LINE] + ("…" if start + MAX_SHOWN_LINE < len(shown) else "")
                col = col - start + len(head)
            width = max(1, min(width, len(shown) - col + 1 if len(shown) >= col else 1))
            out.append(f"  {shown}")
            out.append("  " + " " * (col - 1) + "^" + "~" * (width - 1))
    if diag.hint:
        out.append(f"  hint: {diag.hint}")
    return "\n".join(out)


def render_json(diags: list[Diagnostic]) -> str:
    errors = sum(d.severity == "error" for d in diags)
    return json.dumps(
        {
            "diagnostics": [d.as_dict() for d in diags],
            "errors": errors,
            "warnings": len(diags) - errors,
        },
        indent=2,
        ensure_ascii=False,
    )


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    import difflib

    cands = sorted(set(candidates))
    best = difflib.get_close_matches(name, cands, n=1, cutoff=0.6)
    if not best:
        lower = {c.lower(): c for c in cands}
        if name.lower() in lower:
            best = [lower[name.lower()]]
    return f"did you mean '{best[0]}'?" if best else None


def a_kind(kind: str) -> str:
    """A definition kind or dialect with its article: 'a segment', 'an insight'."""
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind}"


def sort_key(d: Diagnostic) -> tuple:
    s = d.span
    return (s.path, s.line, s.col, d.code) if s else ("", 0, 0, d.code)
