"""Atomic file writes: a temporary file in the target's folder, fsynced, then renamed over
the target, so readers (and a crash) see the old file or the new one, never half of one."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable

_UMASK = os.umask(0)
os.umask(_UMASK)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable; a no-op where folders cannot be opened (Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_replace(path: str | Path, fill: Callable[[str], None], *, overwrite: bool = True) -> Path:
    """Let ``fill`` write a temporary file beside ``path``, then move it into place.

    ``overwrite=False`` links it instead of renaming, which fails with FileExistsError when
    ``path`` appeared meanwhile. On any failure the temporary file is removed and the old
    file stays as it was."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        fill(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)      # mkstemp makes 0600; give the usual permissions
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)                   # gone after a rename; the leftover after a link or failure
    _fsync_dir(path.parent)
    return path


def atomic_write(path: str | Path, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_replace(path, lambda tmp: Path(tmp).write_bytes(data), overwrite=overwrite)
