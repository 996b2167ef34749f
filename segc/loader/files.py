"""Writing output files: whole or not at all, and not at all when nothing would change."""
from __future__ import annotations

import contextlib
import itertools
import os
from pathlib import Path


_TEMPORARY = itertools.count()


def temporary_beside(path: str | Path) -> tuple[int, str]:
    """A new file next to `path`, open for writing, and its name: a name no other writer
    (process, thread) uses, with the mode the umask gives (tempfile.mkstemp makes 0600 files,
    which a rename into place would keep). Creates missing folders."""
    folder, name = os.path.split(os.fspath(path))
    while True:
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{next(_TEMPORARY)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:
            if not folder or os.path.isdir(folder):
                raise
            os.makedirs(folder, exist_ok=True)


def write_text(path: str | Path, text: str) -> bool:
    """Write `text` to `path` through a temporary file renamed into place (readers see the old
    file or the new one, never a part; a failure leaves the old one), unless the file already
    holds exactly that text: an unchanged file keeps its modification time (make, CI caches
    and editors see no change), and replacing a file frees its blocks, which costs ~0.5 ms a
    file on a disk mounted with `discard`. Creates missing folders. Returns whether it wrote.

    Plain os calls: `segc compile` writes thousands of files, and open() in Python (a buffered
    file: fstat, ioctl, lseek) and tempfile.mkstemp (getcwd, random names) each cost more
    system calls than the write itself."""
    path = os.fspath(path)
    data = text.encode("utf-8")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        pass
    else:
        try:
            if os.read(fd, len(data) + 1) == data:
                return False
        finally:
            os.close(fd)
    fd, tmp = temporary_beside(path)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


def cache_folder() -> Path | None:
    """segc's per-user cache folder ($XDG_CACHE_HOME/segc, else ~/.cache/segc), not the shared
    temp folder: what it keeps is pickled. None when it cannot be made."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "segc"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


def read_cached(name: str) -> object | None:
    """What write_cached stored under `name`, or None (missing, unreadable, damaged)."""
    import pickle

    folder = cache_folder()
    if folder is None:
        return None
    try:
        with open(folder / name, "rb") as f:
            return pickle.load(f)
    except Exception:
        return None


def write_cached(name: str, value: object, keep: int) -> None:
    """Store `value` under `name` (atomically); of the files named like it (the same prefix up
    to the first '-'), keep the `keep` most recently written. A cache that cannot be written
    costs speed only: errors are ignored."""
    import pickle
    import tempfile

    folder = cache_folder()
    if folder is None:
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".segc-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, folder / name)
        prefix = name.split("-", 1)[0]
        others = sorted(folder.glob(f"{prefix}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in others[keep:]:
            old.unlink()
    except Exception:
        pass
