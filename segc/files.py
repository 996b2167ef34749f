"""Writing output files: whole or not at all, and not at all when nothing would change."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_text(path: str | Path, text: str) -> bool:
    """Write `text` to `path` through a temporary file renamed into place (readers see the old
    file or the new one, never a part; a failure leaves the old one), unless the file already
    holds exactly that text: an unchanged file keeps its modification time (make, CI caches
    and editors see no change), and replacing a file frees its blocks, which costs ~0.5 ms a
    file on a disk mounted with `discard`. Creates missing folders. Returns whether it wrote."""
    path = Path(path)
    data = text.encode("utf-8")
    try:
        with open(path, "rb") as f:
            if f.read(len(data) + 1) == data:
                return False
    except OSError:
        pass
    import tempfile  # not at the top: `segc validate` never writes, and starts faster without it

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True
