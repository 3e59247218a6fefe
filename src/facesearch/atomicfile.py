"""Durable, atomic file replacement: what the index folders and the models cache write.

POSIX recipe: write a temporary file beside the target, fsync it, ``os.replace`` it over
the target, then fsync the folder so the rename itself survives a crash (see rename(2)
and fsync(2)). A reader sees the old file or the new one, never a part.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: memoryview | bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably (creating its folder).
    ``OSError`` if it cannot be written; the temporary file is removed then."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders can't be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
