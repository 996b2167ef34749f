"""Definition files -> located specs and ASTs, on two processes: the per-file work of a first
validation (read a file, YAML -> located spec, parse its expressions) split between this
process and one forked child, whose results come back pickled through a pipe.

Used by `api.validate` for `load_project(load_specs=...)`. The results are those of the serial
path, in the same order: each file gives the same LoadedSpec wherever it is read, and an AST
parsed ahead is the one parse_expression would build for that place (parser.parse_ahead). A
child that cannot be forked, fails, dies or sends what cannot be read back costs time only:
this process then reads its files too, and the checker parses their expressions as usual.

When: a project of at least MIN_FILES definition files new to the saved parse results (all
of them on a first run or with SEGC_PARSE_CACHE=0), where os.fork exists, no other thread
runs, and a second CPU is free (two usable, fewer runnable processes than CPUs at this instant).
When nearly every file was parsed by the previous run, or the other core is busy, one process
is faster.

SEGC_PARALLEL overrides the choice: `0` never forks, `1` forks whenever it can (tests use it
on small projects); unset, or anything else, chooses as above. `load_specs(paths, mode=...)`
takes the same values.
"""
from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

from .loader.project import LoadedSpec, display_path, load_spec, spec_bytes, spec_digest

# Files new to the saved parse results from which a second process pays. api.validate on
# projects of the validate benchmark's kind, one process vs two, median (min) of 15: 150 files
# 188 (124) vs 168 (136) ms, 250 files 297 (222) vs 260 (217), 400 files 445 (312) vs 368 (262).
MIN_FILES = 200
# The child's share of the files: it pickles its results (~60 ms for 500 files) before this
# process reads them back (~45 ms), so it takes a little less than half.
CHILD_SHARE = 0.47


def load_specs(paths: list[Path], mode: str | None = None) -> list[LoadedSpec]:
    """LoadedSpec for each path, in order; the ASTs of their expressions handed to
    parser.take_ahead when they were parsed here. `mode`: as SEGC_PARALLEL (default: that
    variable)."""
    from . import parser

    mode = os.environ.get("SEGC_PARALLEL", "") if mode is None else mode
    raws: list[bytes | None] | None = None
    if mode == "0" or len(paths) < 2 or not _can_fork():
        return [load_spec(p) for p in paths]
    if mode != "1":
        if len(paths) < MIN_FILES or not _spare_cpu():
            return [load_spec(p) for p in paths]
        known = parser.saved_files()
        if known:
            raws = [spec_bytes(p) for p in paths]
            new = sum(1 for p, raw in zip(paths, raws) if known.get(display_path(p)) != spec_digest(raw))
            if new < MIN_FILES:
                return [load_spec(p, raw) for p, raw in zip(paths, raws)]
    theirs = _split(len(paths))
    child = _fork(paths, raws, theirs)
    results: list[LoadedSpec | None] = [None] * len(paths)
    try:
        mine = [i for i in range(len(paths)) if i not in theirs]
        for i in mine:
            results[i] = load_spec(paths[i], raws[i] if raws else None)
        parser.take_ahead(parser.parse_ahead(_places([results[i] for i in mine])))
        waited, child = child, None
        got = _collect(waited, len(theirs)) if waited is not None else None
    finally:
        if child is not None:  # interrupted before collecting: end the child, leave no zombie
            _end(*child)
    if got is None:  # no child, or nothing usable from it: read its files here
        for i in sorted(theirs):
            results[i] = load_spec(paths[i], raws[i] if raws else None)
    else:
        loaded, asts = got
        for i, x in zip(sorted(theirs), loaded):
            results[i] = x
        parser.take_ahead(asts)
    return results  # type: ignore[return-value]


def _can_fork() -> bool:
    if not hasattr(os, "fork"):
        return False
    threading = sys.modules.get("threading")  # forking with other threads running can deadlock
    return threading is None or threading.active_count() <= 1


def _spare_cpu() -> bool:
    """Whether a second CPU is free now: this process may use two, and fewer processes are
    runnable than it has (this one included), as /proc/loadavg counts them at this instant.
    With the other core busy, two processes took longer than one. The load average of the last
    minute, the fallback where /proc is missing, also counts processes that have ended: after a
    run of back-to-back compiles it kept first runs on one process on an idle machine."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    if cpus < 2:
        return False
    running = _runnable()
    if running is not None:
        return running < cpus
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return load < cpus - 0.5


def _runnable() -> int | None:
    """Runnable processes and threads now, this one included (/proc/loadavg's fourth field,
    "running/total"); None where it cannot be read."""
    try:
        with open("/proc/loadavg", "rb") as f:
            return int(f.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return None


def _split(n: int) -> set[int]:
    """The indexes the child takes: every other file or so (neighbouring files are alike, so
    both halves get a share of each kind)."""
    theirs: set[int] = set()
    for i in range(n):
        if len(theirs) < CHILD_SHARE * (i + 1):
            theirs.add(i)
    return theirs


def _places(loaded: list[LoadedSpec]):
    from .checker import expression_places

    return expression_places([x.definition for x in loaded if x.definition is not None])


def _fork(paths: list[Path], raws, theirs: set[int]) -> tuple[int, int] | None:
    """(pid, read end of the pipe) of a child working on `theirs`, or None if it cannot start."""
    try:
        r, w = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid == 0:  # the child: never returns, never runs the parent's cleanup
        code = 1
        try:
            os.close(r)
            code = _child(paths, raws, sorted(theirs), w)
        except BaseException:
            pass
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def _child(paths: list[Path], raws, indexes: list[int], w: int) -> int:
    from . import parser

    loaded = [load_spec(paths[i], raws[i] if raws else None) for i in indexes]
    asts = parser.parse_ahead(_places(loaded))
    data = pickle.dumps((loaded, asts), protocol=pickle.HIGHEST_PROTOCOL)
    with os.fdopen(w, "wb") as f:
        f.write(data)
    return 0


def _collect(child: tuple[int, int], count: int):
    """The child's (loaded specs, ASTs), or None when it failed in any way."""
    pid, r = child
    try:
        with os.fdopen(r, "rb") as f:
            data = f.read()
    except BaseException:
        _end(pid, None)
        raise
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return None
    try:
        loaded, asts = pickle.loads(data)
    except Exception:
        return None
    if not (isinstance(loaded, list) and len(loaded) == count and all(isinstance(x, LoadedSpec) for x in loaded)
            and isinstance(asts, dict)):
        return None
    return loaded, asts


def _end(pid: int, r: int | None) -> None:
    import signal

    if r is not None:
        os.close(r)
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass
