"""segc.loader.files.write_text: every output file of segc (compiled SQL, reports, imports) is
written whole or not at all, is not rewritten when unchanged, and gets the usual mode."""
from __future__ import annotations

import os
import threading

import pytest

from segc.loader.files import write_text


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_a_new_file_and_its_folders(tmp_path):
    path = tmp_path / "a" / "b" / "x.sql"
    assert write_text(path, "select 1;\n") is True
    assert path.read_text(encoding="utf-8") == "select 1;\n"
    assert _leftovers(path.parent) == []


def test_mode_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "x.sql", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "x.sql").stat().st_mode & 0o777 == 0o644


def test_an_unchanged_file_is_not_rewritten(tmp_path):
    path = tmp_path / "x.sql"
    write_text(path, "é 🎉\n")
    before = path.stat()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns - 10**9))  # a write would move it
    stamped = path.stat().st_mtime_ns
    assert write_text(path, "é 🎉\n") is False
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, stamped)


@pytest.mark.parametrize("old, new", [("abc", "abcd"), ("abcd", "abc"), ("abc", "abd"), ("", "x"), ("x", "")])
def test_a_changed_file_is_replaced(tmp_path, old, new):
    path = tmp_path / "x.sql"
    path.write_text(old, encoding="utf-8")
    assert write_text(path, new) is True
    assert path.read_text(encoding="utf-8") == new
    assert _leftovers(tmp_path) == []


def test_a_failure_keeps_the_old_file_and_leaves_nothing(tmp_path, monkeypatch):
    path = tmp_path / "x.sql"
    path.write_text("old", encoding="utf-8")

    def full_disk(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_text(path, "new")
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "old"
    assert _leftovers(tmp_path) == []


def test_writers_at_once_leave_one_whole_text(tmp_path):
    path = tmp_path / "x.sql"
    texts = [f"-- writer {i}\n" + "x" * 200_000 for i in range(8)]
    threads = [threading.Thread(target=write_text, args=(path, t)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert path.read_text(encoding="utf-8") in texts
    assert _leftovers(tmp_path) == []
