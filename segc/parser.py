"""Expression text -> AST (Lark LALR over grammar/segc.lark, shipped as segc.grammar).

Positions are offsets into the expression text; `locate` turns them into file spans, so an
expression inside any YAML scalar style reports the exact line and column of the YAML file.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import operator
import re
from importlib import resources
from typing import Callable

from lark import Lark, Token, Tree
from lark.tree import Meta
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import ast as A
from .diagnostics import Diagnostic, Span
from .loader.files import cache_folder, read_cached, write_cached

Locate = Callable[[int, int], Span]

MAX_EXPRESSION_CHARS = 100_000
MAX_FILE_EXPRESSION_CHARS = 200_000  # all the expressions of one file (checked by the checker)
MAX_NESTING = 64  # levels of the parse tree; an and/or chain counts as one (see _check_limits).
# sqlglot's SQL generator recurses several frames per level: a division nests 4 SQL nodes and
# its chains hit Python's recursion limit at about 75 levels under a deep caller (pytest).
MAX_IN_LIST = 10_000  # values in one `in (…)` list
MAX_DURATION_SECONDS = 36_500 * 86400  # 100 years: longer ones overflowed date arithmetic (tests/fuzz.py)

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

KEYWORDS = {
    "or", "and", "not", "in", "between", "is", "null", "true", "false", "segment", "now", "ago",
    "date", "timestamp", "where", "within", "since", "before", "every", "min", "max", "sum", "avg",
    "span", "any", "performed", "count", "first_time", "last_time", "active_days", "persons",
    "active_periods", "sequence", "starts_with", "ends_with", "contains", "icontains", "matches",
}


@functools.lru_cache(maxsize=1)
def grammar_text() -> str:
    """grammar/segc.lark: installed as the package segc.grammar; in a source checkout run
    without installing (`python -m segc` at the repository's root), from the folder itself."""
    try:
        return resources.files("segc.grammar").joinpath("segc.lark").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        from pathlib import Path

        return (Path(__file__).resolve().parent.parent / "grammar" / "segc.lark").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = grammar_text()
    parser = Lark(
        grammar,
        parser="lalr",
        start=["start", "step_start", "window_start"],
        propagate_positions=True,
        maybe_placeholders=False,
        cache=_cache_file(grammar),
    )
    _use_lean_positions(parser)
    return parser


class _Positions:
    """Lark's PropagatePositions, for what segc reads: each tree's start_pos and end_pos (the
    span of its first and last child, filtered tokens such as parentheses included; an inlined
    `?rule` passes its extent on as container_*). Lark's copies line, column and their ends
    too, through getattr with defaults: a third of the parse time of a large project."""

    __slots__ = ("node_builder",)

    def __init__(self, node_builder):
        self.node_builder = node_builder

    def __call__(self, children):
        res = self.node_builder(children)
        if isinstance(res, Tree) and children:
            meta = res.meta
            start = end = None
            for c in children:
                if isinstance(c, Token):
                    start = c.start_pos
                    break
                if isinstance(c, Tree) and not c.meta.empty:
                    start = c.meta.container_start_pos
                    break
            for c in reversed(children):
                if isinstance(c, Token):
                    end = c.end_pos
                    break
                if isinstance(c, Tree) and not c.meta.empty:
                    end = c.meta.container_end_pos
                    break
            if start is not None:
                if meta.empty:
                    meta.start_pos = start
                meta.container_start_pos = start
            if end is not None:
                if meta.empty:
                    meta.end_pos = end
                meta.container_end_pos = end
            if start is not None or end is not None:
                meta.empty = False
        return res


def _use_lean_positions(parser: Lark) -> None:
    """Rebuild the parser's rule callbacks with _Positions in place of PropagatePositions (the
    chains are Lark's own otherwise). Lark internals: if they are not as expected, Lark's own
    callbacks stay (the same positions, slower); tests/test_positions.py checks both agree."""
    from lark.parse_tree_builder import ExpandSingleChild, PropagatePositions

    try:
        callbacks = {}
        for rule, chain in parser._parse_tree_builder.rule_builders:
            if list(chain) == [ExpandSingleChild, PropagatePositions] and len(rule.expansion) == 1:
                # `?a: b`, the precedence levels: the child itself, whose extent is already its
                # own (40% of all reductions of a large project; Lark's chain only forwards it)
                callbacks[rule] = operator.itemgetter(0)
                continue
            name = rule.alias or rule.options.template_source or rule.origin.name
            f = functools.partial(Tree, name)
            for wrapper in chain:
                f = _Positions(f) if wrapper is PropagatePositions else wrapper(f)
            callbacks[rule] = f
        lalr = parser.parser.parser.parser
        if set(callbacks) != set(lalr.callbacks):
            return
        lalr.callbacks.update(callbacks)
    except AttributeError:
        return


class _Driver:
    """Lark's own LALR tables, rule callbacks and per-state (contextual) lexers, run in one loop:
    Lark's lexer and parser pass each token through a generator, a line counter, a LexerState
    and a ParserState, about half of the time of parsing a large project. Where a text does not
    parse (no lexer of the state matches, or the state accepts no such token), parse() returns
    None and Lark parses the text itself, so every syntax error is Lark's own.
    tests/test_positions.py checks both give the same trees."""

    def __init__(self, parser: Lark):
        from lark.parsers.lalr_analysis import Shift

        frontend = parser.parser
        lalr = frontend.parser.parser
        table = lalr.parse_table
        if frontend.lexer_conf.callbacks or frontend.lexer_conf.postlex is not None:
            raise TypeError("terminal callbacks are not run here")
        # state -> symbol -> (None, next state) to shift or go to, or (the reduction's size, its
        # callback, the rule's name) to reduce: Lark's table without hashing Rule objects
        reductions = {rule: (len(rule.expansion), lalr.callbacks[rule], rule.origin.name) for rule in lalr.callbacks}
        self.states = {state: {symbol: (None, arg) if action is Shift else reductions[arg]
                               for symbol, (action, arg) in actions.items()}
                       for state, actions in table.states.items()}
        self.start_states = table.start_states
        self.end_states = table.end_states
        self.lexers = frontend.lexer.lexers  # parser state -> Lark's BasicLexer for that state
        self.scanners: dict[int, tuple] = {}
        ignored = {t.name: t for t in frontend.lexer_conf.terminals if t.name in frontend.lexer_conf.ignore}
        # whitespace skipped without the lexers: no other terminal starts with a blank
        self.blanks = re.compile(ignored["WS"].pattern.to_regexp()) if "WS" in ignored else None

    def _scanner(self, state: int) -> tuple:
        lexer = self.lexers[state]
        mres = lexer.scanner._mres  # builds the scanner and lexer.callback (keywords out of names)
        got = self.scanners[state] = (mres, lexer.callback, lexer.ignore_types)
        return got

    def parse(self, text: str, start: str):
        states, blanks = self.states, self.blanks
        end_state = self.end_states[start]
        state_stack = [self.start_states[start]]
        value_stack: list = []
        pos, n = 0, len(text)
        token = None
        while True:
            if pos < n:
                if blanks is not None and text[pos] in " \t\n\r\f":
                    pos = blanks.match(text, pos).end()
                    continue
                state = state_stack[-1]
                scanner = self.scanners.get(state) or self._scanner(state)
                for mre in scanner[0]:
                    m = mre.match(text, pos)
                    if m:
                        break
                else:
                    return None
                value, type_ = m.group(0), m.lastgroup
                end = pos + len(value)
                if type_ in scanner[2]:
                    if type_ in scanner[1]:
                        return None
                    pos = end
                    continue
                token = Token(type_, value, pos, None, None, None, None, end)
                if type_ in scanner[1]:
                    token = scanner[1][type_](token)
                    type_ = token.type
                pos = end
            else:
                at = token.end_pos if token is not None else 0
                token = Token("$END", "", at, None, None, None, None, at)
                type_ = "$END"
            while True:
                got = states[state_stack[-1]].get(type_)
                if got is None:
                    return None
                if got[0] is None:  # shift
                    if type_ == "$END":
                        return None
                    state_stack.append(got[1])
                    value_stack.append(token)
                    break
                size, callback, origin = got
                if size:
                    children = value_stack[-size:]
                    del state_stack[-size:]
                    del value_stack[-size:]
                else:
                    children = []
                value_stack.append(callback(children))
                state_stack.append(states[state_stack[-1]][origin][1])
                if type_ == "$END" and state_stack[-1] == end_state:
                    return value_stack[-1]


def _parse(text: str, start: str):
    """The parse tree of text, as Lark's parse() gives it; Lark's own errors when it has none."""
    driver = _driver()
    tree = driver.parse(text, start) if driver is not None else None
    return tree if tree is not None else _parser().parse(text, start=start)


@functools.lru_cache(maxsize=1)
def _driver() -> _Driver | None:
    try:
        return _Driver(_parser())
    except (AttributeError, TypeError, KeyError):  # Lark's internals are not as expected
        return None


def _cache_file(grammar: str) -> str | bool:
    """Where Lark keeps the built parse tables (building them costs ~0.1 s per run). Lark checks
    the file against the grammar and options, and builds afresh when it cannot read or write it."""
    import hashlib

    import lark

    key = hashlib.sha256(f"{lark.__version__}\n{grammar}".encode()).hexdigest()[:16]
    folder = cache_folder()
    return str(folder / f"grammar-{key}.lark-cache") if folder else False


class ExpressionError(Exception):
    def __init__(self, diag: Diagnostic):
        self.diag = diag
        super().__init__(diag.headline())


def parse_expression(text: str, locate: Locate, start: str = "start", where: tuple | None = None) -> A.Node:
    """Parse one expression (or, with start="step_start"/"window_start", an event step or a
    window). Raises ExpressionError with a located diagnostic. `where` names the place of the
    text in its file (path, digest of the file's text, offset): with saved trees (see
    saved_trees) the AST of an unchanged place is read back, spans and all."""
    if where is not None and _ahead:
        node = _ahead.get((where, start))
        if node is not None:
            if _saved is not None:  # parse_ahead left out what was saved: this one is new
                _saved.used_asts[(where, start)] = node
                _saved.new += 1
            return node
    if where is not None and _saved is not None:
        key = (where, start)
        node = _saved.asts.get(key)
        if node is None:
            node = _parse_and_build(text, locate, start)
            _saved.new += 1
        _saved.used_asts[key] = node
        return node
    return _parse_and_build(text, locate, start)


def parse_ahead(places) -> dict:
    """The ASTs of `places` (text, locate, start rule, where — as parse_expression takes them),
    parsed before the checker asks, in this process or in a forked one (segc.parallel): {(where,
    start): AST}. Places saved from an earlier run are left out, and so are texts that do not
    parse (or fail in any way): parse_expression parses those again, reports them as usual."""
    out: dict = {}
    saved = _saved.asts if _saved is not None else {}
    for text, locate, start, where in places:
        key = (where, start)
        if key in saved or key in out:
            continue
        try:
            out[key] = _parse_and_build(text, locate, start)
        except Exception:
            continue
    return out


def take_ahead(asts: dict) -> None:
    """Let parse_expression answer the places of `asts` (from parse_ahead) until the end of the
    saved_trees block."""
    global _ahead
    if _ahead is None:
        _ahead = {}
    _ahead.update(asts)


def saved_files() -> dict:
    """{path: digest} of the definition files the saved parse results were made from (see
    note_files): a file there with that digest is parsed already. Empty without saved results."""
    return _saved.files if _saved is not None else {}


def note_files(files: dict) -> None:
    """Record the definition files of this validation ({path: digest of its text}) with the
    saved parse results."""
    if _saved is not None:
        _saved.files_seen = files


def _parse_and_build(text: str, locate: Locate, start: str) -> A.Node:
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(Diagnostic("SEG206", f"expression longer than {MAX_EXPRESSION_CHARS} characters", locate(0, 1)))
    deep = _surely_too_deep(text)
    if deep is not None:  # before Lark: parsing tens of thousands of tokens takes seconds
        raise ExpressionError(Diagnostic(
            "SEG206", f"expression nested deeper than {MAX_NESTING} levels", locate(deep, deep + 1),
            hint="name a part of it as a segment of its own and use segment(name)"))
    if not text.strip() or all(l.strip().startswith("--") or not l.strip() for l in text.splitlines()):
        raise ExpressionError(Diagnostic("SEG202", "empty expression", locate(0, max(len(text), 1))))
    try:
        # long texts are not kept: a long-lived process (an editor, the fuzzer) would hold them all
        tree = _parse_tree(text, start) if len(text) <= 1000 else _parse(text, start)
    except UnexpectedInput as e:
        raise ExpressionError(_syntax_diagnostic(e, text, locate)) from None
    _check_limits(tree, locate)
    return _Build(text, locate).build(tree)


def _parse_tree(text: str, start: str):
    if _saved is None:
        return _parsed(text, start)
    key = (text, start)
    saved = _saved.trees.get(key)
    if saved is not None:
        _saved.used[key] = saved
        return _decode(saved)
    tree = _parsed(text, start)
    _saved.new += 1
    _saved.used[key] = _encode(tree)
    return tree


def _encode(node):
    """A parse tree as plain lists and tuples: [rule, start, end, *children], tokens as (type,
    value, start, end). Pickling Lark's own objects would lose a token's end (Token.__reduce__
    keeps its start only)."""
    if isinstance(node, Token):
        return (node.type, str(node), node.start_pos, node.end_pos)
    meta = node.meta
    if meta.empty:
        return [node.data, None, None, *[_encode(c) for c in node.children]]
    return [node.data, meta.start_pos, meta.end_pos, *[_encode(c) for c in node.children]]


def _decode(saved):
    if type(saved) is tuple:
        return Token(saved[0], saved[1], start_pos=saved[2], end_pos=saved[3])
    meta = Meta()
    if saved[1] is not None:
        meta.empty = False
        meta.start_pos, meta.end_pos = saved[1], saved[2]
    return Tree(saved[0], [_decode(c) for c in saved[3:]], meta)


@functools.lru_cache(maxsize=4096)
def _parsed(text: str, start: str):
    # Projects repeat expressions (ranges, funnel steps, cohort entries); a parse tree holds
    # offsets into the text only, so one tree serves every place the same text is written.
    return _parse(text, start)


class _SavedTrees:
    """What a project's last validation parsed, kept between runs in the per-user cache folder:
    the AST of each place in a file (read back ~6x faster than decoding a tree and building
    it), and the parse tree of each distinct text (for the places of files that changed; Lark
    parses ~20 µs a token, a tree is read back ~4x faster). Both depend only on their text or
    place, the grammar, Lark and this module's code, all in the key. Entries the latest
    validation did not use are dropped when it is written; the 32 most recently validated
    projects keep theirs. Not in the project's folder: what a repository holds must never decide what its
    expressions mean (a committed cache could map a text to another tree), and a pickle from a
    repository would run code."""

    FORMAT = 4
    KEEP = 32

    def __init__(self, root):
        import hashlib
        import os
        import sys
        from pathlib import Path

        import lark

        grammar = grammar_text()
        # what a tree or an AST depends on besides its text: the grammar, Lark, and the code
        # that builds ASTs (a development checkout changes it without a new version)
        code = "".join(Path(m.__file__).read_text(encoding="utf-8") for m in (sys.modules[__name__], A))
        self.key = hashlib.sha256(f"{self.FORMAT}\n{lark.__version__}\n{grammar}\n{code}".encode()).hexdigest()
        self.name = f"trees-{hashlib.sha256(os.path.abspath(str(root)).encode()).hexdigest()[:16]}.pickle"
        saved = read_cached(self.name)
        ok = (isinstance(saved, dict) and saved.get("key") == self.key and isinstance(saved.get("trees"), dict)
              and isinstance(saved.get("asts"), dict) and isinstance(saved.get("files"), dict))
        self.trees: dict = saved["trees"] if ok else {}  # (text, start rule) -> encoded parse tree
        self.asts: dict = saved["asts"] if ok else {}  # ((path, file digest, offset), start rule) -> AST
        self.files: dict = saved["files"] if ok else {}  # path -> digest of the definition files validated
        self.used: dict = {}
        self.used_asts: dict = {}
        self.files_seen: dict = self.files
        self.new = 0

    def save(self) -> None:
        if (self.new or len(self.used) != len(self.trees) or len(self.used_asts) != len(self.asts)
                or self.files_seen != self.files):
            write_cached(self.name, {"key": self.key, "trees": self.used, "asts": self.used_asts,
                                     "files": self.files_seen}, self.KEEP)


_saved: _SavedTrees | None = None
_ahead: dict | None = None  # ASTs parsed ahead of the checker (take_ahead), within saved_trees


@contextlib.contextmanager
def saved_trees(root):
    """Within this block, parse trees come from (and go to) the saved trees of project `root`,
    and parse_expression takes the ASTs given to take_ahead."""
    import os

    global _saved, _ahead
    _saved = None if os.environ.get("SEGC_PARSE_CACHE", "1") == "0" else _SavedTrees(root)
    _ahead = None
    try:
        yield
    finally:
        if _saved is not None:
            _saved.save()
        _saved = None
        _ahead = None


_NESTING_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`\n]*`|--[^\n]*|[()]|\bnot\b|-|[^\s()'\"`-]+")


def _surely_too_deep(text: str) -> int | None:
    """Where the text is certainly nested deeper than MAX_NESTING (open parentheses, or a run of
    `not` and unary minus, each a level of the tree), or None. A lower bound: _check_limits
    measures the tree."""
    if text.count("(") <= MAX_NESTING and text.count("not") + text.count("-") <= MAX_NESTING:
        return None
    depth = run = 0
    for m in _NESTING_TOKENS.finditer(text):
        tok = m.group()
        if tok == "(":
            depth += 1
            run = 0
            if depth > MAX_NESTING:
                return m.start()
        elif tok == ")":
            depth -= 1
            run = 0
        elif tok in ("not", "-"):
            run += 1
            if run > MAX_NESTING + 1:  # `a - -b`: the first minus of a run may be binary
                return m.start()
        elif not tok.startswith("--"):
            run = 0
    return None


# A chain `a and b and c …` is one level (the checker flattens it); every other rule is a level.
_FLAT_CHAINS = {"and_op", "or_op"}


def _check_limits(tree: Tree, locate: Locate) -> None:
    """Refuse trees nested deeper than MAX_NESTING and lists longer than MAX_IN_LIST, walking
    without recursion: later stages (checker, builder, sqlglot's generator) recurse per level."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        start = getattr(node.meta, "start_pos", 0)
        if depth > MAX_NESTING:
            raise ExpressionError(Diagnostic(
                "SEG206", f"expression nested deeper than {MAX_NESTING} levels", locate(start, start + 1),
                hint="name a part of it as a segment of its own and use segment(name)"))
        if node.data == "literals" and len(node.children) > MAX_IN_LIST:
            raise ExpressionError(Diagnostic(
                "SEG206", f"list of {len(node.children):,} values; at most {MAX_IN_LIST:,} are allowed",
                locate(start, getattr(node.meta, "end_pos", start + 1)),
                hint="keep long lists of values in a table of the warehouse, not in a segment"))
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth if child.data == node.data and child.data in _FLAT_CHAINS else depth + 1))


_TOKEN_NAMES = {
    "LPAR": "'('", "RPAR": "')'", "COMMA": "','", "DOT": "'.'", "MINUS": "'-'", "COMPARE": "a comparison",
    "ADD_OP": "'+' or '-'", "MUL_OP": "'*' or '/'", "TEXT_TEST": "a text test", "IDENT": "a name",
    "QUOTED_IDENT": "a `quoted name`", "STRING": "a string", "NUMBER": "a number", "DURATION": "a duration like 30d",
    "$END": "the end of the expression",
}


# Tokens that can start an operand; when all are expected, "a value" says it shorter.
_VALUE_START = {
    "IDENT", "QUOTED_IDENT", "NUMBER", "STRING", "DURATION", "LPAR", "MINUS", "TRUE", "FALSE", "NULL", "NOW",
    "AGO", "DATE", "TIMESTAMP", "SEGMENT", "PERFORMED", "COUNT", "FIRST_TIME", "LAST_TIME", "ACTIVE_DAYS",
    "PERSONS", "SUM", "AVG", "MIN", "MAX", "ACTIVE_PERIODS", "SEQUENCE",
}
DURATION_HINT = "a duration is a whole number and a unit: 45s, 15m, 12h, 30d or 2w (no months)"


def _describe_expected(expected: set[str]) -> str:
    names = []
    if {"IDENT", "NUMBER", "STRING"} <= expected:
        names.append("a value")
        expected = expected - _VALUE_START
    for t in sorted(expected):
        if t in _TOKEN_NAMES:
            names.append(_TOKEN_NAMES[t])
        elif t.isupper():
            term = _keyword_of(t)
            names.append(f"'{term}'" if term else t.lower())
    names = sorted(set(names))
    if len(names) > 8:
        names = names[:8] + ["…"]
    return ", ".join(names)


@functools.lru_cache(maxsize=None)
def _keyword_of(term_name: str) -> str | None:
    for t in _parser().terminals:
        if t.name == term_name and t.pattern.type == "str":
            return t.pattern.value
    return None


def _acceptable(e: UnexpectedInput) -> set[str]:
    # LALR merges lookaheads, so e.expected may list tokens this position never takes;
    # the interactive parser replays the pending reductions and knows the exact set.
    ip = getattr(e, "interactive_parser", None)
    if ip is not None:
        try:
            accepted = ip.accepts()
        except Exception:  # lark internals: fall back to the merged set
            accepted = None
        if accepted:
            return set(accepted)
    return set(getattr(e, "expected", ()) or ())


def _syntax_diagnostic(e: UnexpectedInput, text: str, locate: Locate) -> Diagnostic:
    if isinstance(e, UnexpectedCharacters):
        pos = e.pos_in_stream
        ch = text[pos]
        if ch == "'" or ch == '"':
            return Diagnostic("SEG205", "unterminated string: no closing " + ch, locate(pos, pos + 1))
        if ch == "`":
            return Diagnostic("SEG205", "unterminated `quoted name`", locate(pos, pos + 1))
        if ch == "=" and text[pos : pos + 2] == "==":
            return Diagnostic("SEG201", "unexpected '=='", locate(pos, pos + 2), hint="equality is a single '='")
        if ch in "&|!":
            word = {"&": "and", "|": "or", "!": "not"}[ch]
            return Diagnostic("SEG200", f"unexpected character '{ch}'", locate(pos, pos + 1), hint=f"write '{word}'")
        return Diagnostic("SEG200", f"unexpected character {ch!r}", locate(pos, pos + 1))
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        expected = _describe_expected(_acceptable(e))
        end = len(text.rstrip())
        return Diagnostic("SEG202", f"unexpected end of expression; expected {expected}", locate(max(end - 1, 0), max(end, 1)))
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    start, end = tok.start_pos, tok.end_pos
    value = str(tok)
    expected = _acceptable(e)
    hint = None
    number_before = re.search(r"(?<![A-Za-z0-9_$])([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$", text[:start])
    if tok.type == "IDENT" and number_before:  # `30days`, `1.5h`: lexed as a number and a name
        written = number_before.group() + value
        return Diagnostic("SEG203", f"invalid duration '{written}'", locate(number_before.start(), end), hint=DURATION_HINT)
    before = text[:start].rstrip()
    prev_word = before.split()[-1] if before.split() else ""
    if expected == {"LPAR"} and prev_word in KEYWORDS:
        pstart = len(before) - len(prev_word)
        return Diagnostic(
            "SEG201",
            f"'{prev_word}' is a keyword and must be followed by '('",
            locate(pstart, len(before)),
            hint=f"a property named {prev_word} is written `{prev_word}`",
        )
    if value == "=" and before.endswith("="):
        return Diagnostic("SEG201", "unexpected '=='", locate(start - 1, end), hint="equality is a single '='")
    if value.lower() in KEYWORDS and value != value.lower():
        hint = f"keywords are lower case: write '{value.lower()}'"
    elif value in KEYWORDS and ("IDENT" in expected):
        hint = f"'{value}' is a keyword; a property of that name is written `{value}`"
    elif tok.type == "IDENT" and "COMPARE" in expected and value in ("IN", "AND", "OR", "NOT", "BETWEEN", "IS"):
        hint = f"keywords are lower case: write '{value.lower()}'"
    elif tok.type == "IDENT" and value.upper() in ("AND", "OR", "NOT", "IN", "IS", "BETWEEN", "NULL"):
        hint = f"keywords are lower case: write '{value.lower()}'"
    elif tok.type == "NUMBER" and text[end : end + 1].isalpha():
        hint = DURATION_HINT
    elif value == "between" and "RPAR" in expected:
        hint = "a where condition that is a bare boolean followed by a between window is written in parentheses"
    shown = value if tok.type == "STRING" else f"'{value}'"  # a string token brings its own quotes
    return Diagnostic("SEG201", f"unexpected {shown}; expected {_describe_expected(expected)}", locate(start, end), hint=hint)


def _unquote(s: str) -> str:
    q = s[0]
    return s[1:-1].replace(q + q, q)


def parse_time_literal(func: str, text: str) -> dt.datetime:
    """date('2026-01-01') / timestamp('2026-01-01 12:00:00[.ffffff][Z|+00:00]') -> naive UTC."""
    if func == "date":
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
    if len(text) < 10:
        raise ValueError("too short")
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


class _Build:
    """Parse tree -> AST nodes; rule aliases in the grammar name these methods, each called
    bottom-up with the rule's position (meta) and its built children, as a Transformer with
    v_args(meta=True) would. Written out because that wrapper makes a new method wrapper for
    every node: a third of the tree-to-AST time of a large project."""

    def __init__(self, text: str, locate: Locate):
        self.text = text
        self.locate = locate

    def build(self, tree: Tree):
        # bottom-up without recursion: an and/or chain of thousands of terms is one level deep
        # for _check_limits but as deep as it is long in the tree
        done: list = []  # built values, in the order their trees are finished
        stack: list = [(tree, False)]
        while stack:
            node, expanded = stack.pop()
            if not isinstance(node, Tree):
                done.append(node)
            elif not expanded:
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(node.children))
            else:
                n = len(node.children)
                children = done[len(done) - n:] if n else []
                del done[len(done) - n:]
                method = _BUILD_METHODS.get(node.data)
                if method is None:  # rules that only group tokens (event_call_name, …) stay trees
                    done.append(Tree(node.data, children, node.meta))
                else:
                    done.append(method(self, node.meta, children))
        return done[0]

    def _span(self, meta) -> Span:
        return self.locate(meta.start_pos, meta.end_pos)

    def _tspan(self, tok: Token) -> Span:
        return self.locate(tok.start_pos, tok.end_pos)

    def _name(self, tok: Token) -> str:
        s = str(tok)
        return s[1:-1] if tok.type == "QUOTED_IDENT" else s

    # literals
    def string(self, meta, c):
        return A.Literal(self._span(meta), _unquote(str(c[0])), "string")

    def number(self, meta, c):
        s = str(c[0])
        if any(ch in s for ch in ".eE"):
            return A.Literal(self._span(meta), float(s), "number")
        return A.Literal(self._span(meta), int(s), "integer")

    def negative_number(self, meta, c):
        lit = self.number(meta, c)
        return A.Literal(self._span(meta), -lit.value, lit.type)

    def true(self, meta, c):
        return A.Literal(self._span(meta), True, "boolean")

    def false(self, meta, c):
        return A.Literal(self._span(meta), False, "boolean")

    def null(self, meta, c):
        return A.Literal(self._span(meta), None, "null")

    def duration(self, meta, c):
        s = str(c[0])
        seconds = int(s[:-1]) * DURATION_UNITS[s[-1]]
        if seconds > MAX_DURATION_SECONDS:  # now() - D must stay a time every engine can hold
            raise ExpressionError(Diagnostic("SEG203", f"duration '{s}' is longer than {MAX_DURATION_SECONDS // 86400:,} days (100 years)",
                                             self._span(meta), hint=DURATION_HINT))
        return A.Duration(self._span(meta), seconds, s)

    def literals(self, meta, c):
        return tuple(c)

    # time
    def now(self, meta, c):
        return A.Now(self._span(meta))

    def ago(self, meta, c):
        return A.Ago(self._span(meta), c[0])

    def _time(self, meta, c, func):
        tok = c[0]
        raw = _unquote(str(tok))
        try:
            value = parse_time_literal(func, raw)
        except ValueError:
            form = "'YYYY-MM-DD'" if func == "date" else "'YYYY-MM-DD HH:MM:SS[.ffffff][Z]'"
            raise ExpressionError(
                Diagnostic("SEG204", f"invalid {func} '{raw}': expected {form}", self._tspan(tok))
            ) from None
        return A.TimeLiteral(self._span(meta), value, func)

    def date(self, meta, c):
        return self._time(meta, c, "date")

    def timestamp(self, meta, c):
        return self._time(meta, c, "timestamp")

    # names
    def bare_property(self, meta, c):
        return A.Property(self._span(meta), self._name(c[0]), None, self._tspan(c[0]))

    def dotted_property(self, meta, c):
        return A.Property(self._span(meta), self._name(c[1]), self._name(c[0]), self._tspan(c[1]))

    def segment_ref(self, meta, c):
        return A.SegmentRef(self._span(meta), self._name(c[0]), self._tspan(c[0]))

    # operators
    def compare(self, meta, c):
        op = str(c[1])
        return A.Compare(self._span(meta), "!=" if op == "<>" else op, c[0], c[2])

    def in_list(self, meta, c):
        return A.InList(self._span(meta), c[0], c[1], False)

    def not_in_list(self, meta, c):
        return A.InList(self._span(meta), c[0], c[1], True)

    def between(self, meta, c):
        return A.Between(self._span(meta), c[0], c[1], c[2])

    def is_null(self, meta, c):
        return A.IsNull(self._span(meta), c[0], False)

    def is_not_null(self, meta, c):
        return A.IsNull(self._span(meta), c[0], True)

    def text_test(self, meta, c):
        return A.TextTest(self._span(meta), str(c[1]), c[0], c[2])

    def arith(self, meta, c):
        return A.Arith(self._span(meta), str(c[1]), c[0], c[2])

    def negate(self, meta, c):
        inner = c[0]
        if isinstance(inner, A.Literal) and inner.type in ("integer", "number"):
            return A.Literal(self._span(meta), -inner.value, inner.type)
        return A.Negate(self._span(meta), inner)

    def not_op(self, meta, c):
        return A.Not(self._span(meta), c[0])

    def and_op(self, meta, c):
        return A.And(self._span(meta), c[0], c[1])

    def or_op(self, meta, c):
        return A.Or(self._span(meta), c[0], c[1])

    def paren(self, meta, c):  # "(" expr ")" kept so `where (flag) between …` can be read as a window
        return A.Paren(self._span(meta), c[0])

    # behaviour
    def event_name(self, meta, c):
        tok = c[0]
        name = _unquote(str(tok)) if tok.type == "STRING" else str(tok)
        return A.EventRef(self._span(meta), name)

    def any_event(self, meta, c):
        return A.EventRef(self._span(meta), None)

    def filter(self, meta, c):
        return ("where", c[0])

    def within(self, meta, c):
        return A.Window(self._span(meta), "within", c[0], None)

    def since(self, meta, c):
        return A.Window(self._span(meta), "since", c[0], None)

    def before(self, meta, c):
        return A.Window(self._span(meta), "before", None, c[0])

    def window_between(self, meta, c):
        return A.Window(self._span(meta), "between", c[0], c[1])

    def span(self, meta, c):
        return ("span", c[0])

    def _split(self, meta, event, rest):
        where = window = None
        for x in rest:
            if isinstance(x, A.Window):
                window = x
            elif isinstance(x, tuple) and x[0] == "where":
                where = x[1]
        # `E where (flag) between T1 and T2`: the parenthesised condition, then a window
        if window is None and isinstance(where, A.Between) and isinstance(where.operand, A.Paren):
            b = where
            window = A.Window(self.locate(meta.start_pos, meta.end_pos), "between", b.low, b.high)
            where = b.operand
        return where, window

    def event_call(self, meta, c):
        func = str(c[0].children[0])
        where, window = self._split(meta, c[1], c[2:])
        return A.EventCall(self._span(meta), func, c[1], where, window)

    def aggregate(self, meta, c):
        func = str(c[0].children[0])
        where, window = self._split(meta, c[1], c[3:])
        return A.Aggregate(self._span(meta), func, c[1], self._name(c[2]), self._tspan(c[2]), where, window)

    def active_periods(self, meta, c):
        event = c[0]
        where, window = self._split(meta, event, c[1:])
        plain = [x for x in c[1:] if not isinstance(x, (A.Window, tuple))]
        every = plain[0]
        min_events = plain[1] if len(plain) > 1 else None
        return A.ActivePeriods(self._span(meta), event, where, window, every, min_events)

    def step_start(self, meta, c):
        return c[0]

    def window_start(self, meta, c):
        return c[0]

    def step(self, meta, c):
        return A.Step(self._span(meta), c[0], c[1][1] if len(c) > 1 else None)

    def sequence(self, meta, c):
        steps = tuple(x for x in c if isinstance(x, A.Step))
        window = next((x for x in c if isinstance(x, A.Window)), None)
        limit = next((x[1] for x in c if isinstance(x, tuple) and x[0] == "span"), None)
        last = steps[-1]
        # `…, E where (flag) between T1 and T2)`: the last condition, then the sequence's window
        if window is None and isinstance(last.where, A.Between) and isinstance(last.where.operand, A.Paren):
            b = last.where
            window = A.Window(b.span, "between", b.low, b.high)
            steps = steps[:-1] + (A.Step(last.span, last.event, b.operand),)
        return A.Sequence(self._span(meta), steps, window, limit)


# rule alias -> builder method (every public method of _Build but build itself)
_BUILD_METHODS = {k: v for k, v in vars(_Build).items() if not k.startswith("_") and k != "build" and callable(v)}
