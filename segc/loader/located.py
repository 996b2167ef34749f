"""YAML text -> located values: every mapping, sequence and scalar knows its file:line:col.

PyYAML's safe composer gives nodes with marks; we keep them and, for string scalars, can map
each character of the value back to its place in the file (plain, quoted and block styles),
so positions inside an expression point at the right column of the YAML file.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Iterator

import yaml

from ..diagnostics import Diagnostic, Span

# Bounds on what one YAML file may expand to (alias bombs, runaway nesting).
MAX_NODES = 200_000
MAX_DEPTH = 200
MAX_FILE_BYTES = 5 * 1024 * 1024


class SourceText:
    """One file's text with an index of line starts (index -> line, col)."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self._starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self._starts.append(i + 1)

    def position(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, index) - 1
        return line + 1, index - self._starts[line] + 1

    def span(self, start: int, end: int | None = None) -> Span:
        line, col = self.position(start)
        if end is None or end <= start:
            return Span(self.path, line, col)
        eline, ecol = self.position(end)
        return Span(self.path, line, col, eline, ecol)


@dataclass(eq=False)
class Y:
    """A located YAML value. `value` is a Python scalar, dict[str, Y] or list[Y]."""

    kind: str  # scalar | map | seq
    value: Any
    span: Span
    source: SourceText
    start: int = 0
    end: int = 0
    style: str | None = None  # scalar style: None (plain), "'", '"', '|', '>'
    key_spans: dict[str, Span] = field(default_factory=dict)
    _offsets: list[int] | None = None

    def get(self, key: str) -> "Y | None":
        return self.value.get(key) if self.kind == "map" else None

    def items(self) -> Iterator[tuple[str, "Y"]]:
        return iter(self.value.items())

    def plain(self) -> Any:
        """The value with locations stripped."""
        if self.kind == "map":
            return {k: v.plain() for k, v in self.value.items()}
        if self.kind == "seq":
            return [v.plain() for v in self.value]
        return self.value

    # -- positions inside a string scalar --------------------------------------------------
    def offset_span(self, start: int, end: int | None = None) -> Span:
        """Span of characters [start, end) of this string scalar's value, in the file."""
        offs = self._char_offsets()
        n = len(offs) - 1
        s = offs[min(max(start, 0), n)]
        if end is None or end <= start:
            return self.source.span(s)
        e = offs[min(end - 1, n - 1)] + 1 if n else s + 1
        return self.source.span(s, max(e, s + 1))

    def _char_offsets(self) -> list[int]:
        if self._offsets is None:
            text = self.value if isinstance(self.value, str) else str(self.value)
            raw = self.source.text[self.start : self.end]
            offs = _map_scalar(raw, text, self.style)
            if offs is None:
                offs = [0] * len(text)
            self._offsets = [self.start + o for o in offs] + [self.start + (offs[-1] + 1 if offs else 0)]
        return self._offsets


def _map_scalar(raw: str, value: str, style: str | None) -> list[int] | None:
    """For each character of `value`, its index in `raw` (the scalar's source text)."""
    if style == '"':
        got = _scan_flow(raw, 1, double=True)
    elif style == "'":
        got = _scan_flow(raw, 1, single=True)
    elif style is None:
        got = _scan_flow(raw, 0)
    else:
        got = None
    if got is not None and "".join(c for c, _ in got) == value:
        return [p for _, p in got]
    # Block scalars (and any flow case the scanner got wrong): align characters in order.
    # Non-blank characters are never created or dropped by YAML outside escapes, so each
    # is found in order; blanks made by folding map to the line break they replace.
    p = raw.find("\n") + 1 if style in ("|", ">") else (1 if style in ("'", '"') else 0)
    out = []
    for c in value:
        if c in " \t\n":
            out.append(p)
            if p < len(raw) and raw[p] == c:
                p += 1
            continue
        q = raw.find(c, p)
        if q < 0:
            return None
        out.append(q)
        p = q + 1
    return out


_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
    "L": "\u2028", "P": "\u2029",
}
_HEX = {"x": 2, "u": 4, "U": 8}


def _scan_flow(raw: str, i: int, double: bool = False, single: bool = False) -> list[tuple[str, int]] | None:
    """Decode a flow scalar (plain, '…' or "…") keeping each character's source index."""
    out: list[tuple[str, int]] = []
    n = len(raw)
    end = n - 1 if (double or single) else n
    literal_ws = 0  # trailing whitespace in `out` that came from escapes (not trimmed)
    while i < end:
        c = raw[i]
        if single and c == "'" and i + 1 < n and raw[i + 1] == "'":
            out.append(("'", i))
            i += 2
            literal_ws = 0
        elif double and c == "\\":
            if i + 1 >= n:
                return None
            e = raw[i + 1]
            if e == "\n":  # escaped line break: join without a space
                i += 2
                while i < end and raw[i] in " \t":
                    i += 1
                continue
            if e in _HEX:
                k = _HEX[e]
                try:
                    out.append((chr(int(raw[i + 2 : i + 2 + k], 16)), i))
                except ValueError:
                    return None
                i += 2 + k
            elif e in _ESCAPES:
                out.append((_ESCAPES[e], i))
                i += 2
            else:
                return None
            literal_ws = len(out)
        elif c == "\n":
            # fold: trim trailing blanks, count empty lines, skip indentation
            while out and out[-1][0] in " \t" and len(out) > literal_ws:
                out.pop()
            brk = i
            breaks = 0
            while i < end and raw[i] in " \t\n":
                if raw[i] == "\n":
                    breaks += 1
                i += 1
            if breaks == 1:
                out.append((" ", brk))
            else:
                out.extend(("\n", brk) for _ in range(breaks - 1))
        else:
            out.append((c, i))
            i += 1
    if not (double or single):
        while out and out[-1][0] in " \t":
            out.pop()
    return out


class YamlProblem(Exception):
    def __init__(self, diag: Diagnostic):
        self.diag = diag
        super().__init__(diag.headline())


def load_located(path: str, text: str) -> Y:
    """Parse one YAML document into located values. Raises YamlProblem with a located diagnostic."""
    src = SourceText(path, text)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise YamlProblem(Diagnostic("SEG109", f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", Span(path, 1, 1)))
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            msg = e.problem or e.context or "invalid YAML"
            if e.context and e.problem:
                msg = f"{e.problem} ({e.context})"
            raise YamlProblem(Diagnostic("SEG101", f"YAML syntax error: {msg}", Span(path, line, col))) from None
        except yaml.YAMLError as e:
            raise YamlProblem(Diagnostic("SEG101", f"YAML syntax error: {e}", Span(path, 1, 1))) from None
        except RecursionError:
            raise YamlProblem(Diagnostic("SEG109", "YAML nesting is too deep", Span(path, 1, 1))) from None
        if node is None:
            raise YamlProblem(Diagnostic("SEG103", "file is empty: expected a YAML mapping", Span(path, 1, 1)))
        budget = [MAX_NODES]
        return _convert(node, loader, src, budget, 0)
    finally:
        loader.dispose()


def _convert(node: yaml.Node, loader: yaml.SafeLoader, src: SourceText, budget: list[int], depth: int) -> Y:
    budget[0] -= 1
    span = src.span(node.start_mark.index, node.end_mark.index)
    if budget[0] < 0:
        raise YamlProblem(Diagnostic("SEG109", f"document expands to more than {MAX_NODES} values (aliases?)", span))
    if depth > MAX_DEPTH:
        raise YamlProblem(Diagnostic("SEG109", f"YAML nesting deeper than {MAX_DEPTH} levels", span))
    if isinstance(node, yaml.MappingNode):
        items: dict[str, Y] = {}
        key_spans: dict[str, Span] = {}
        try:
            loader.flatten_mapping(node)
        except yaml.MarkedYAMLError as e:
            raise YamlProblem(Diagnostic("SEG101", f"YAML error: {e.problem}", span)) from None
        for knode, vnode in node.value:
            kspan = src.span(knode.start_mark.index, knode.end_mark.index)
            if not isinstance(knode, yaml.ScalarNode):
                raise YamlProblem(Diagnostic("SEG105", "mapping keys must be plain text", kspan))
            key = loader.construct_object(knode)
            key = _key_text(key, knode)
            if key in items:
                first = key_spans[key]
                raise YamlProblem(
                    Diagnostic("SEG102", f"duplicate key '{key}' (first defined at line {first.line})", kspan)
                )
            key_spans[key] = kspan
            items[key] = _convert(vnode, loader, src, budget, depth + 1)
        return Y("map", items, span, src, node.start_mark.index, node.end_mark.index, key_spans=key_spans)
    if isinstance(node, yaml.SequenceNode):
        vals = [_convert(v, loader, src, budget, depth + 1) for v in node.value]
        return Y("seq", vals, span, src, node.start_mark.index, node.end_mark.index)
    try:
        value = loader.construct_object(node)
    except yaml.constructor.ConstructorError as e:
        raise YamlProblem(Diagnostic("SEG101", f"YAML error: {e.problem}", span)) from None
    except ValueError as e:  # e.g. an impossible timestamp like 2026-13-45
        raise YamlProblem(Diagnostic("SEG101", f"YAML error: {e}", span)) from None
    return Y("scalar", value, span, src, node.start_mark.index, node.end_mark.index, style=node.style)


def _key_text(key: Any, knode: yaml.ScalarNode) -> str:
    # YAML 1.1 reads `on:`/`yes:` as booleans and `1:` as numbers; a key is the text written
    if isinstance(key, str):
        return key
    return knode.value
