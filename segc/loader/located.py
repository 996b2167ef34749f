"""YAML text -> located values: every mapping, sequence and scalar knows its file:line:col.

PyYAML's safe composer gives nodes with marks; we keep them and, for string scalars, can map
each character of the value back to its place in the file (plain, quoted and block styles),
so positions inside an expression point at the right column of the YAML file.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import yaml

from ..diagnostics import Diagnostic, Span

# Bounds on what one YAML file may expand to (alias bombs, runaway nesting).
MAX_NODES = 200_000
MAX_DEPTH = 200
MAX_FILE_BYTES = 5 * 1024 * 1024


def text_digest(text: str) -> str:
    """SourceText.digest of a text."""
    import hashlib

    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class SourceText:
    """One file's text with an index of line starts (index -> line, col)."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self._digest: str | None = None
        self._starts = [0]
        i = text.find("\n")
        while i >= 0:
            self._starts.append(i + 1)
            i = text.find("\n", i + 1)

    @property
    def digest(self) -> str:
        """A hash of the text: what was derived from one place of it holds while it is the same."""
        if self._digest is None:
            self._digest = text_digest(self.text)
        return self._digest

    def position(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, index) - 1
        return line + 1, index - self._starts[line] + 1

    def span(self, start: int, end: int | None = None) -> Span:
        starts = self._starts
        line = bisect.bisect_right(starts, start)  # 1-based: the count of line starts <= start
        col = start - starts[line - 1] + 1
        if end is None or end <= start:
            return Span(self.path, line, col)
        eline = bisect.bisect_right(starts, end, line - 1)
        return Span(self.path, line, col, eline, end - starts[eline - 1] + 1)


@dataclass(eq=False)
class Y:
    """A located YAML value. `value` is a Python scalar, dict[str, Y] or list[Y]."""

    kind: str  # scalar | map | seq
    value: Any
    source: SourceText
    start: int = 0  # where the value is written in the file: [start, end)
    end: int = 0
    style: str | None = None  # scalar style: None (plain), "'", '"', '|', '>'
    key_marks: dict[str, tuple[int, int]] = field(default_factory=dict)  # where each key is written
    # spans are made when asked for: most values of a valid project never need one
    _span: Span | None = None
    _key_spans: dict[str, Span] | None = None
    _starts: list[int] | None = None  # per character of a string value: where it is written
    _ends: list[int] | None = None  # … and where its written form ends ('' and \" take two)
    _shift: int | None = None  # instead, when the value is written as is: where it starts

    @property
    def span(self) -> Span:
        if self._span is None:
            self._span = self.source.span(self.start, self.end)
        return self._span

    @property
    def key_spans(self) -> dict[str, Span]:
        if self._key_spans is None:
            self._key_spans = {k: self.source.span(a, b) for k, (a, b) in self.key_marks.items()}
        return self._key_spans

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
        if self._starts is None and self._shift is None:
            self._shift = self._verbatim_start()
        if self._shift is not None:
            n = len(self.value)
            s = self._shift + min(max(start, 0), n)
            if end is None or end <= start:
                return self.source.span(s)
            return self.source.span(s, max(self._shift + min(end, n), s + 1))
        starts, ends = self._char_offsets()
        n = len(starts) - 1
        s = starts[min(max(start, 0), n)]
        if end is None or end <= start or not n:
            return self.source.span(s)
        e = ends[min(end, n) - 1]
        return self.source.span(s, max(e, s + 1))

    def _verbatim_start(self) -> int | None:
        # Most expressions are one line written as is (plain, or quoted without escapes):
        # then character i of the value is at a fixed distance from i in the file.
        if not isinstance(self.value, str) or self.style not in (None, "'", '"'):
            return None
        k = 0 if self.style is None else 1
        if self.end - self.start == len(self.value) + 2 * k and self.source.text.startswith(self.value, self.start + k):
            return self.start + k
        return None

    def _char_offsets(self) -> tuple[list[int], list[int]]:
        if self._starts is None:
            text = self.value if isinstance(self.value, str) else str(self.value)
            raw = self.source.text[self.start : self.end]
            got = _map_scalar(raw, text, self.style) or [(0, 1)] * len(text)
            past = got[-1][1] if got else 0
            self._starts = [self.start + a for a, _ in got] + [self.start + past]
            self._ends = [self.start + b for _, b in got]
        return self._starts, self._ends


def _map_scalar(raw: str, value: str, style: str | None) -> list[tuple[int, int]] | None:
    """For each character of `value`, where its written form starts and ends in `raw`
    (the scalar's source text)."""
    if style == '"':
        got = _scan_flow(raw, 1, double=True)
    elif style == "'":
        got = _scan_flow(raw, 1, single=True)
    elif style is None:
        got = _scan_flow(raw, 0)
    else:
        got = None
    if got is not None and "".join(c for c, _, _ in got) == value:
        return [(a, b) for _, a, b in got]
    # Block scalars (and any flow case the scanner got wrong): align characters in order.
    # Non-blank characters are never created or dropped by YAML outside escapes, so each
    # is found in order; blanks made by folding map to the line break they replace.
    p = raw.find("\n") + 1 if style in ("|", ">") else (1 if style in ("'", '"') else 0)
    out = []
    for c in value:
        if c in " \t\n":
            out.append((p, p + 1))
            if p < len(raw) and raw[p] == c:
                p += 1
            continue
        q = raw.find(c, p)
        if q < 0:
            return None
        out.append((q, q + 1))
        p = q + 1
    return out


_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
    "L": "\u2028", "P": "\u2029",
}
_HEX = {"x": 2, "u": 4, "U": 8}


def _scan_flow(raw: str, i: int, double: bool = False, single: bool = False) -> list[tuple[str, int, int]] | None:
    """Decode a flow scalar (plain, '…' or "…") keeping where each character is written."""
    out: list[tuple[str, int, int]] = []
    n = len(raw)
    end = n - 1 if (double or single) else n
    literal_ws = 0  # trailing whitespace in `out` that came from escapes (not trimmed)
    while i < end:
        c = raw[i]
        if single and c == "'" and i + 1 < n and raw[i + 1] == "'":
            out.append(("'", i, i + 2))
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
                    out.append((chr(int(raw[i + 2 : i + 2 + k], 16)), i, i + 2 + k))
                except ValueError:
                    return None
                i += 2 + k
            elif e in _ESCAPES:
                out.append((_ESCAPES[e], i, i + 2))
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
                out.append((" ", brk, brk + 1))
            else:
                out.extend(("\n", brk, brk + 1) for _ in range(breaks - 1))
        else:
            out.append((c, i, i + 1))
            i += 1
    if not (double or single):
        while out and out[-1][0] in " \t":
            out.pop()
    return out


class YamlProblem(Exception):
    def __init__(self, diag: Diagnostic):
        self.diag = diag
        super().__init__(diag.headline())


# libyaml (PyYAML's C parser) composes the same nodes and marks about ten times faster; a file
# it rejects is read again by the pure-Python parser, whose error messages are clearer.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)
_STR_TAG = "tag:yaml.org,2002:str"


# The pure-Python parser reads about 100 times slower than libyaml: it re-reads only files small
# enough to take milliseconds; a larger one is reported with libyaml's message.
_REREAD_BYTES = 64 * 1024


def _compose(text: str) -> tuple[yaml.SafeLoader, yaml.Node | None]:
    """The root node, and the loader that made it (it constructs the scalars)."""
    if _FAST_LOADER is not None:
        loader = _FAST_LOADER(text)
        try:
            return loader, loader.get_single_node()
        except (yaml.YAMLError, RecursionError):
            loader.dispose()
            if len(text) > _REREAD_BYTES:
                raise
    loader = yaml.SafeLoader(text)
    try:
        return loader, loader.get_single_node()
    except BaseException:
        loader.dispose()
        raise


def load_located(path: str, text: str) -> Y:
    """Parse one YAML document into located values. Raises YamlProblem with a located diagnostic."""
    src = SourceText(path, text)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise YamlProblem(Diagnostic("SEG109", f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", Span(path, 1, 1)))
    deep = _flow_too_deep(text)
    if deep is not None:  # libyaml takes time quadratic in the depth of [ and {: refuse first
        raise YamlProblem(Diagnostic("SEG109", f"YAML nesting deeper than {MAX_DEPTH} levels", src.span(deep)))
    try:
        if len(text) > 2 * MAX_NODES:  # composing millions of nodes takes seconds and gigabytes: count first
            _count_values(text, src)
        loader, node = _compose(text)
    except yaml.reader.ReaderError as e:  # a character YAML does not allow (NUL, other controls)
        where = src.span(min(max(e.position, 0), len(text)))
        what = f"#x{e.character:04x}" if isinstance(e.character, int) else repr(e.character)
        raise YamlProblem(Diagnostic("SEG101", f"YAML syntax error: character {what} is not allowed in YAML", where,
                                     hint="write control characters in a double-quoted string as escapes, e.g. \\t")) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        # from the character index: YAML also breaks lines at \x85 and \u2028, segc at \n only
        line, col = src.position(min(max(mark.index, 0), len(text))) if mark else (1, 1)
        msg = e.problem or e.context or "invalid YAML"
        if e.context and e.problem:
            msg = f"{e.problem} ({e.context})"
        hint = None
        if e.problem and e.problem.startswith("but found another document"):
            msg, hint = "a second YAML document starts here ('---')", "a file holds one document: one definition per file"
        elif mark is not None and text[mark.index : mark.index + 1] == "\t":
            hint = "YAML indents with spaces, not tabs"
        raise YamlProblem(Diagnostic("SEG101", f"YAML syntax error: {msg}", Span(path, line, col), hint=hint)) from None
    except yaml.YAMLError as e:
        raise YamlProblem(Diagnostic("SEG101", f"YAML syntax error: {e}", Span(path, 1, 1))) from None
    except RecursionError:
        raise YamlProblem(Diagnostic("SEG109", "YAML nesting is too deep", Span(path, 1, 1))) from None
    try:
        if node is None:
            raise YamlProblem(Diagnostic("SEG103", "file is empty: expected a YAML mapping", Span(path, 1, 1)))
        if "&" in text and _ALIAS.search(text):  # without aliases the budget below is enough
            _check_expansion(node, src)
        budget = [MAX_NODES]
        return _convert(node, loader, src, budget, 0)
    finally:
        loader.dispose()


def _convert(node: yaml.Node, loader: yaml.SafeLoader, src: SourceText, budget: list[int], depth: int) -> Y:
    budget[0] -= 1
    start, end = node.start_mark.index, node.end_mark.index
    if budget[0] < 0:
        raise YamlProblem(Diagnostic("SEG109", f"document expands to more than {MAX_NODES} values (aliases?)", src.span(start, end)))
    if depth > MAX_DEPTH:
        raise YamlProblem(Diagnostic("SEG109", f"YAML nesting deeper than {MAX_DEPTH} levels", src.span(start, end)))
    if isinstance(node, yaml.MappingNode):
        items: dict[str, Y] = {}
        key_marks: dict[str, tuple[int, int]] = {}
        try:
            loader.flatten_mapping(node)
        except yaml.MarkedYAMLError as e:
            raise YamlProblem(Diagnostic("SEG101", f"YAML error: {e.problem}", src.span(start, end))) from None
        for knode, vnode in node.value:
            kmark = (knode.start_mark.index, knode.end_mark.index)
            if not isinstance(knode, yaml.ScalarNode):
                raise YamlProblem(Diagnostic("SEG105", "mapping keys must be plain text", src.span(*kmark)))
            key = knode.value if knode.tag == _STR_TAG else _key_text(loader.construct_object(knode), knode)
            if key in items:
                first = src.span(*key_marks[key])
                raise YamlProblem(
                    Diagnostic("SEG102", f"duplicate key '{key}' (first defined at line {first.line})", src.span(*kmark))
                )
            key_marks[key] = kmark
            items[key] = _convert(vnode, loader, src, budget, depth + 1)
        return Y("map", items, src, start, end, key_marks=key_marks)
    if isinstance(node, yaml.SequenceNode):
        vals = [_convert(v, loader, src, budget, depth + 1) for v in node.value]
        return Y("seq", vals, src, start, end)
    try:
        # text needs no constructing (most scalars are text: keys, names, expressions)
        value = node.value if node.tag == _STR_TAG else loader.construct_object(node)
    except yaml.constructor.ConstructorError as e:
        raise YamlProblem(Diagnostic("SEG101", f"YAML error: {e.problem}", src.span(start, end))) from None
    except ValueError as e:  # e.g. an impossible timestamp like 2026-13-45
        raise YamlProblem(Diagnostic("SEG101", f"YAML error: {e}", src.span(start, end))) from None
    # style: None for plain (the C parser says ''), or one of ' " | >
    return Y("scalar", value, src, start, end, style=node.style or None)


def _count_values(text: str, src: SourceText) -> None:
    """Refuse a document of more than MAX_NODES values before it is composed, reading libyaml's
    events (a file that small cannot hold that many: it is only done for large ones)."""
    if _FAST_LOADER is None:
        return
    loader = _FAST_LOADER(text)
    count = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent)):
                count += 1
                if count > MAX_NODES:
                    raise YamlProblem(Diagnostic("SEG109", f"document holds more than {MAX_NODES:,} values",
                                                 src.span(event.start_mark.index, event.end_mark.index)))
    except yaml.YAMLError:
        return  # composing reports it, with its position
    finally:
        loader.dispose()


_ALIAS = re.compile(r"(?:^|[\s\[{,:])\*[^\s,\[\]{}]")  # `*name` where a YAML value can start


def _check_expansion(root: yaml.Node, src: SourceText) -> None:
    """Refuse a document whose aliases expand past MAX_NODES values (billion laughs) or refer to
    themselves, counting each node once, before anything is built from it."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_.discard(key)
            children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > MAX_NODES:
                raise YamlProblem(Diagnostic("SEG109", f"document expands to more than {MAX_NODES:,} values (aliases?)",
                                             src.span(node.start_mark.index, node.end_mark.index)))
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in open_:
            raise YamlProblem(Diagnostic("SEG109", "an alias refers to the node that contains it",
                                         src.span(node.start_mark.index, node.end_mark.index)))
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        open_.add(key)
        stack.append((node, True))
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
        stack.extend((c, False) for c in children if id(c) not in sizes)


def _flow_too_deep(text: str) -> int | None:
    """Where a flow collection ([ or {) opens deeper than MAX_DEPTH, or None. Reads indicators
    as YAML does (a bracket opens a collection where a node starts, or anywhere inside one;
    quoted scalars, comments and block scalars hold none), closely enough to bound the depth
    libyaml is given."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    n = len(text)
    i = 0
    depth = 0
    plain = _PLAIN_RUN.match
    node_start = True  # a value may start here: a quote opens a quoted scalar, a bracket a collection
    line_indent = len(text) - len(text.lstrip(" "))
    while i < n:
        c = text[i]
        if c == "\n":
            i += 1
            j = i
            while j < n and text[j] == " ":
                j += 1
            line_indent = j - i
            if depth == 0:
                node_start = True
            i = j
            continue
        if c in " \t":
            i += 1
            continue
        if c == "#" and (i == 0 or text[i - 1] in " \t\n"):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if node_start and c in "'\"":
            i += 1
            while i < n:
                if text[i] == c:
                    if c == "'" and i + 1 < n and text[i + 1] == "'":
                        i += 2
                        continue
                    break
                i += 2 if (c == '"' and text[i] == "\\") else 1
            i += 1
            node_start = False
            continue
        if c in "[{" and (depth or node_start):
            depth += 1
            if depth > MAX_DEPTH:
                return i
            i += 1
            node_start = True
            continue
        if c in "]}" and depth:
            depth -= 1
            i += 1
            node_start = False
            continue
        if depth and c == ",":
            i += 1
            node_start = True
            continue
        if c in ":-?" and (i + 1 >= n or text[i + 1] in " \t\n" or (depth and c == ":")):
            i += 1
            node_start = True
            continue
        if node_start and depth == 0 and c in "|>":
            # a block scalar: its lines are those indented at least as deep as its first line,
            # which is deeper than the line that opens it
            while i < n and text[i] != "\n":
                i += 1
            content = None
            while i < n:
                j = i + 1
                k = j
                while k < n and text[k] == " ":
                    k += 1
                if k < n and text[k] != "\n":
                    if content is None:
                        content = k - j if k - j > line_indent else None
                    if content is None or k - j < content:
                        break
                i = k
                while i < n and text[i] != "\n":
                    i += 1
            continue
        if node_start and c in "&!*":  # anchor, tag, alias: a node may still start after them
            while i < n and text[i] not in " \t\n,[]{}":
                i += 1
            continue
        node_start = False
        m = plain(text, i + 1)
        i = m.end() if m else i + 1
    return None


_PLAIN_RUN = re.compile(r"[^\n \t#'\"\[\]{},:?|>&!*-]+")


def _key_text(key: Any, knode: yaml.ScalarNode) -> str:
    # YAML 1.1 reads `on:`/`yes:` as booleans and `1:` as numbers; a key is the text written
    if isinstance(key, str):
        return key
    return knode.value
