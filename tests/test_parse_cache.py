"""Saved parse trees (segc.parser.saved_trees): `segc validate` keeps a project's parse trees in
the per-user cache folder and reads them back next time. A run with them gives exactly the
diagnostics of a run without; a changed expression is parsed afresh; a damaged or foreign file
is ignored; SEGC_PARSE_CACHE=0 turns it off."""
from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from segc import api
from segc import parser as P

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SEGC_PARSE_CACHE", raising=False)
    P._parsed.cache_clear()  # the in-process memo would hide what the file gives
    return tmp_path / "cache" / "segc"


def _project(root: Path, extra: str = "") -> Path:
    (root / "specs").mkdir(parents=True)
    (root / "segc.yml").write_text((REPO / "segc.yml").read_text(encoding="utf-8"), encoding="utf-8")
    for f in sorted((REPO / "specs").rglob("*.yml"))[:30]:
        (root / "specs" / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (root / "specs" / "zz_extra.yml").write_text(f"segment: zz_extra\nwhere: {extra or 'age > 30'}\n", encoding="utf-8")
    return root


def _rendered(result) -> list[str]:
    return [repr(d) for d in result.diagnostics]


def _parses(monkeypatch) -> list[str]:
    """The texts parsed from now on (every parse goes through segc.parser._parse)."""
    calls: list[str] = []
    real = P._parse

    def counting(text, start):
        calls.append(text)
        return real(text, start)

    monkeypatch.setattr(P, "_parse", counting)
    return calls


def test_second_validate_reads_the_trees_back(tmp_path, cache_home, monkeypatch):
    root = _project(tmp_path / "p")
    first = api.validate(root)
    files = list(cache_home.glob("trees-*.pickle"))
    assert len(files) == 1
    P._parsed.cache_clear()
    calls = _parses(monkeypatch)
    second = api.validate(root)
    assert calls == []  # every tree came from the file
    assert _rendered(second) == _rendered(first)
    assert sorted(second.definitions) == sorted(first.definitions)
    assert all(second.definitions[n] == first.definitions[n] for n in first.definitions)  # the same IR


def test_a_changed_expression_is_parsed_and_old_trees_dropped(tmp_path, cache_home, monkeypatch):
    root = _project(tmp_path / "p", "age > 30")
    api.validate(root)
    (root / "specs" / "zz_extra.yml").write_text("segment: zz_extra\nwhere: age > 31 and plan = 'pro'\n", encoding="utf-8")
    P._parsed.cache_clear()
    calls = _parses(monkeypatch)
    result = api.validate(root)
    assert calls == ["age > 31 and plan = 'pro'"]
    assert "zz_extra" in result.definitions
    (saved,) = cache_home.glob("trees-*.pickle")
    texts = {text for text, _ in pickle.loads(saved.read_bytes())["trees"]}
    assert "age > 31 and plan = 'pro'" in texts and "age > 30" not in texts


def test_a_damaged_or_foreign_file_is_ignored(tmp_path, cache_home, monkeypatch):
    root = _project(tmp_path / "p")
    clean = _rendered(api.validate(root))
    (saved,) = cache_home.glob("trees-*.pickle")
    for content in (b"not a pickle", pickle.dumps({"key": "another grammar", "trees": {("age > 30", "start"): "junk"}})):
        saved.write_bytes(content)
        P._parsed.cache_clear()
        assert _rendered(api.validate(root)) == clean
        assert pickle.loads(saved.read_bytes())["key"] != "another grammar"  # written afresh


def test_errors_are_the_same_with_saved_trees(tmp_path, cache_home):
    root = _project(tmp_path / "p", "age > and plan = 'pro'")
    first = _rendered(api.validate(root))
    P._parsed.cache_clear()
    assert _rendered(api.validate(root)) == first
    assert any("SEG201" in d for d in first)


def test_turned_off(tmp_path, cache_home, monkeypatch):
    monkeypatch.setenv("SEGC_PARSE_CACHE", "0")
    api.validate(_project(tmp_path / "p"))
    assert not cache_home.exists() or not list(cache_home.glob("trees-*.pickle"))


def test_positions_follow_an_edit_above_the_expression(tmp_path, cache_home):
    """The saved ASTs carry spans: an edit that moves an expression (a comment line added
    above it, the same text) must move every position reported in it."""
    root = _project(tmp_path / "p", "age > 30 and nope = 1")
    first = [d for d in api.validate(root).diagnostics if d.code == "SEG302" or "nope" in d.message]
    assert first and first[0].span.line == 2
    spec = root / "specs" / "zz_extra.yml"
    spec.write_text("# moved down a line\n" + spec.read_text(encoding="utf-8"), encoding="utf-8")
    P._parsed.cache_clear()
    again = [d for d in api.validate(root).diagnostics if "nope" in d.message]
    assert [(d.code, d.span.line, d.span.col) for d in again] == [(d.code, d.span.line + 1, d.span.col) for d in first]
    # and the IR's spans too: a warning-free expression moved by the same edit
    (root / "specs" / "zz_extra.yml").write_text("segment: zz_extra\nwhere: age > 30\n", encoding="utf-8")
    a = api.validate(root).definitions["zz_extra"].where.span
    spec.write_text("\n\n" + spec.read_text(encoding="utf-8"), encoding="utf-8")
    b = api.validate(root).definitions["zz_extra"].where.span
    assert (b.line, b.col) == (a.line + 2, a.col)
