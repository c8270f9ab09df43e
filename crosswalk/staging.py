"""Several files that belong together, written into a hidden staging folder inside their
destination folder and moved into place together: a full disk (or any failure) while
writing leaves every earlier file as it was, never a new CSV beside the JSON of an earlier run.

The move is a handful of renames inside one file system (no data is written then). A
journal (``.crosswalk-staging-<pid>-<id>.json``, written atomically before the first rename)
lists them, so a crash between two renames is finished by :func:`finish_pending` — which the next
:class:`Staging` of the folder runs first — as SQLite finishes a transaction from its log.
A staging folder left by a process that died before its journal was written is removed.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Optional

from .errors import CrosswalkError

JOURNAL = "journal.json"      # inside the staging folder until it is committed beside it
_PREFIX = ".crosswalk-staging-"


class StagingError(CrosswalkError):
    """The files could not be written; the destination folder was left as it was."""


def _fsync(path: Path, *, folder: bool = False) -> None:
    with contextlib.suppress(OSError):       # folders cannot be opened on Windows
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if folder else 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:      # exists, another user's
        return True
    return True


def finish_pending(folder: str | Path) -> list[Path]:
    """Finish moves a crash interrupted in ``folder`` (from their journals) and remove staging
    folders of processes that died before committing. Returns the files moved now."""
    folder = Path(folder)
    moved: list[Path] = []
    for journal in sorted(folder.glob(_PREFIX + "*.json")):
        try:
            names = list(json.loads(journal.read_text(encoding="utf-8"))["files"])
        except FileNotFoundError:      # another process finished it meanwhile
            continue
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StagingError(f"{journal}: unreadable journal of an interrupted write ({exc}); remove it"
                               " and write the files again") from None
        stage = folder / journal.name[:-len(".json")]
        for name in names:
            if Path(name).name != name or name.startswith(_PREFIX):
                raise StagingError(f"{journal}: names a file {name!r} outside {folder}; remove the journal")
            with contextlib.suppress(FileNotFoundError):
                os.replace(stage / name, folder / name)
                moved.append(folder / name)
        _fsync(folder, folder=True)
        journal.unlink(missing_ok=True)
        shutil.rmtree(stage, ignore_errors=True)
    for stale in folder.glob(_PREFIX + "*"):
        pid = stale.name[len(_PREFIX):].split("-")[0]
        if stale.is_dir() and not Path(f"{stale}.json").exists() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    return moved


class Staging:
    """``with Staging(folder) as st: st.write("a.csv", data); …`` — on leaving the block
    without an error every file is moved into ``folder``; on an error none is, and an
    OSError becomes a :class:`StagingError` naming the file and the folder left untouched."""

    def __init__(self, folder: str | Path, what: str = "the files"):
        self.folder = Path(folder)
        self.what = what
        self.names: list[str] = []
        self.dir: Optional[Path] = None

    def __enter__(self) -> "Staging":
        try:
            finish_pending(self.folder)
            self.dir = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=self.folder))
        except OSError as exc:
            raise self._error(exc) from None
        return self

    def path(self, name: str) -> Path:
        """Where to write the file that will become ``folder/name``."""
        if Path(name).name != name or name in ("", ".", "..") or name.startswith(_PREFIX):
            raise StagingError(f"{name!r}: a staged file is a plain name inside {self.folder}")
        if name not in self.names:
            self.names.append(name)
        return self.dir / name

    def write(self, name: str, data: bytes) -> Path:
        return self.fill(name, lambda p: p.write_bytes(data))

    def fill(self, name: str, fill: Callable[[Path], object]) -> Path:
        """Let ``fill`` write the staged file (e.g. ``workbook.save``); returns its final path."""
        staged = self.path(name)
        try:
            fill(staged)
            _fsync(staged)
        except OSError as exc:
            raise self._error(exc, name) from None
        return self.folder / name

    def _error(self, exc: OSError, name: str = "") -> StagingError:
        reason = exc.strerror or str(exc)
        return StagingError(f"{self.folder}: could not write {self.what}{f' ({name})' if name else ''}:"
                            f" {reason}; nothing in {self.folder} was changed — the files of an earlier"
                            " run are as they were. Free space (or fix the permissions) and run again")

    def __exit__(self, kind, error, tb) -> None:
        if kind is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            return
        journal = Path(f"{self.dir}.json")
        try:
            _fsync(self.dir, folder=True)
            tmp = self.dir / JOURNAL
            tmp.write_text(json.dumps({"files": self.names}), encoding="utf-8")
            _fsync(tmp)
            os.replace(tmp, journal)          # the commit point: from here the moves get finished
            _fsync(self.folder, folder=True)
        except OSError as exc:
            journal.unlink(missing_ok=True)
            shutil.rmtree(self.dir, ignore_errors=True)
            raise self._error(exc) from None
        finish_pending(self.folder)


__all__ = ["JOURNAL", "Staging", "StagingError", "finish_pending"]
