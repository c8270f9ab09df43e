"""The review store's SQLite file: opened without harm, and one error path out of SQLite.

Opening writes nothing before it knows the file is a healthy crosswalk store. In order: a
0-byte file is refused unless a store is being created there (``create=True``, as
``review load`` does); a file that is not SQLite, a foreign database and a store of a newer
schema are refused (read from the file as it is: the journal mode is switched to WAL only
after these checks); ``PRAGMA quick_check`` refuses a damaged file. Only then may the
journal mode change and a migration run.

A store on a read-only medium — a file without write permission, a folder SQLite cannot
create its ``-wal``/``-shm`` files in, a file system mounted read-only — is opened read-only
(``mode=ro``, the journal mode left as it is), so status, history, check and export keep
working; a write then fails with a :class:`StoreError` saying why.

Every ``sqlite3.Error`` a store method meets becomes a :class:`StoreError` naming the file,
what went wrong in words (busy, read-only, damaged, disk full, I/O error) and what to do
(:func:`store_error`, applied to every public method by :func:`map_sqlite_errors`).
"""
from __future__ import annotations

import functools
import os
import sqlite3
from pathlib import Path
from typing import Callable, Optional

from ..errors import CrosswalkError
from .migrations import APPLICATION_ID

SQLITE_MAGIC = b"SQLite format 3\x00"
_STORE_TABLES = ("events", "link_state")


class StoreError(CrosswalkError):
    """The review store cannot do what was asked (bad file, bad input, unknown link)."""


# -- sqlite3 errors -> StoreError -------------------------------------------------------
def _code(exc: BaseException) -> tuple[int, str]:
    code = getattr(exc, "sqlite_errorcode", None)
    name = getattr(exc, "sqlite_errorname", None) or ""
    if code is None:   # errors raised by the sqlite3 module itself (closed connection, …)
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return 5, "SQLITE_BUSY"
        if "readonly" in text or "read-only" in text:
            return 8, "SQLITE_READONLY"
        if "malformed" in text or "not a database" in text:
            return 11, "SQLITE_CORRUPT"
        return -1, type(exc).__name__
    return code & 0xFF, name


def store_error(exc: BaseException, path: Path | str, doing: str = "", *, busy_timeout: float = 0.0,
                read_only: Optional[str] = None) -> StoreError:
    """A :class:`StoreError` for an ``sqlite3.Error``: the file, what happened, what to do."""
    path = Path(path)
    base, name = _code(exc)
    while_ = f" while {doing}" if doing else ""
    detail = f"(SQLite: {name + ': ' if name else ''}{exc})"
    if base in (5, 6):        # SQLITE_BUSY, SQLITE_LOCKED
        waited = f" for more than {busy_timeout:g} s" if busy_timeout else ""
        msg = (f"{path}: the review store is busy: another process held the store{waited}{while_} (a"
               f" `crosswalk review serve`, an import?); nothing was changed. Try again when it is done {detail}")
    elif base == 8:           # SQLITE_READONLY
        why = read_only or "the file, its folder or the file system does not allow writing"
        msg = (f"{path}: the review store is read-only ({why}){while_}; nothing was changed. Read-only"
               " commands (review status, review history, review check, export) still work; to record"
               " decisions make the file and its folder writable, or copy the store to a writable disk"
               f" {detail}")
    elif base in (11, 26):    # SQLITE_CORRUPT, SQLITE_NOTADB
        msg = (f"{path}: the review store file is damaged{while_}; nothing more was written to it."
               f" Run `crosswalk review check --store {path}` for details and restore the file (with any"
               f" {path.name}-wal beside it) from a backup {detail}")
    elif base == 13:          # SQLITE_FULL
        msg = (f"{path}: the disk is full{while_}; the change was rolled back and nothing was lost. Free"
               f" space on the disk holding {path.parent} and try again {detail}")
    elif base == 10:          # SQLITE_IOERR
        msg = (f"{path}: the disk refused a read or write{while_} — a full disk, a quota or file-size limit,"
               " or failing hardware; the change was rolled back. Check the free space (df"
               f" {path.parent}) and try again {detail}")
    elif base == 14:          # SQLITE_CANTOPEN
        msg = (f"{path}: SQLite cannot open the store or create its {path.name}-wal/-shm files beside it"
               f" (permissions? a folder that went away?){while_} {detail}")
    elif base in (3, 23):     # SQLITE_PERM, SQLITE_AUTH
        msg = f"{path}: no permission to use the review store{while_} {detail}"
    elif base == 15:          # SQLITE_PROTOCOL: locking went wrong (network file systems)
        msg = (f"{path}: SQLite's file locking failed{while_} (a network file system?); keep the store on"
               f" a local disk {detail}")
    else:
        msg = f"{path}: the review store failed{while_} {detail}"
    return StoreError(msg)


# what a method was doing, for messages ("the disk is full while saving decisions")
_DOING = {"__init__": "opening it", "decide": "saving decisions", "propose": "saving proposals",
          "propose_candidates": "saving proposals", "set_policy": "saving the policy",
          "apply_policy": "applying the policy", "rebuild_state": "rebuilding the state",
          "register_items": "saving the catalogue", "record_text_rows": "saving row counts",
          "check": "checking it"}


def map_sqlite_errors(cls):
    """Class decorator: every public method (and ``__init__``) of ``cls`` turns an
    ``sqlite3.Error`` into :func:`store_error`, so no raw SQLite traceback leaves the store —
    also from methods added later."""
    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def method(self, *args, **kwargs):
            try:
                return fn(self, *args, **kwargs)
            except sqlite3.Error as exc:
                raise store_error(exc, getattr(self, "path", "the review store"),
                                  _DOING.get(fn.__name__, "using it"),
                                  busy_timeout=getattr(self, "busy_timeout", 0.0),
                                  read_only=getattr(self, "read_only", None)) from None
        method.__wrapped_sqlite__ = True
        return method

    seen = set()
    for klass in cls.__mro__[:-1]:            # the class and the mixins it is made of
        for name, attr in list(vars(klass).items()):
            if name in seen:
                continue
            seen.add(name)
            if (name == "__init__" or not name.startswith("_")) and callable(attr) \
                    and not isinstance(attr, (staticmethod, classmethod, type)) \
                    and not getattr(attr, "__wrapped_sqlite__", False):
                setattr(cls, name, wrap(attr))
    return cls


# -- what the file is, before SQLite touches it -------------------------------------------
def companions(path: Path) -> dict[str, Path]:
    return {s: Path(f"{path}{s}") for s in ("-wal", "-shm", "-journal")}


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def has_content(path: Path) -> bool:
    """Whether the store file (or its WAL: a new store's first pages may sit only there) holds
    anything. A 0-byte file with no WAL is no store."""
    return _size(path) > 0 or _size(companions(path)["-wal"]) > 0


def check_magic(path: Path) -> None:
    """Refuse a non-empty file that is not an SQLite database, naming what it starts with."""
    if _size(path) == 0:
        return
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the review store ({exc.strerror or exc})") from None
    if head != SQLITE_MAGIC:
        raise StoreError(f"{path}: not a review store: the file is not an SQLite database (it starts with"
                         f" {head[:16]!r}); give the path of a store written by `crosswalk review load`")


def read_only_reason(path: Path) -> Optional[str]:
    """Why SQLite could not write ``path`` (or create it and its -wal/-shm beside it), or None."""
    folder = path.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"the file system holding {folder} is mounted read-only"
    except (OSError, AttributeError):    # no statvfs (Windows): rely on access()
        pass
    if path.exists() and not os.access(path, os.W_OK):
        return f"no write permission on the file {path.name}"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"no write permission on the folder {folder} (SQLite creates {path.name}-wal and -shm there)"
    return None


def connect_read_only(path: Path, timeout: float) -> tuple[sqlite3.Connection, str]:
    """A read-only connection: ``mode=ro``; where SQLite cannot create the WAL index in a
    read-only folder, ``immutable=1`` — only when no -wal or -journal file holds changes the
    main file lacks (they would be ignored). Returns (connection, how)."""
    uri = path.resolve().as_uri()
    try:
        con = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout, isolation_level=None)
    except sqlite3.Error:
        con = None
    if con is not None:
        try:
            con.execute("PRAGMA user_version").fetchone()   # opens the file and the WAL index
            return con, "mode=ro"
        except sqlite3.Error as exc:
            con.close()
            if _code(exc)[0] not in (8, 14):   # READONLY(_DIRECTORY/_CANTINIT), CANTOPEN: try immutable
                raise
    pending = [p.name for s, p in companions(path).items() if s != "-shm" and _size(p) > 0]
    if pending:
        raise StoreError(f"{path}: {', '.join(pending)} beside the store holds changes not yet merged into"
                         " it, and SQLite cannot read them on this read-only medium. Copy the store together"
                         f" with {', '.join(pending)} to a writable folder and open it there")
    con = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=timeout, isolation_level=None)
    return con, "immutable"


def check_identity(con: sqlite3.Connection, path: Path, schema_version: int) -> int:
    """The store's schema version, after refusing a foreign database or a newer store. Reads
    only (run before any mode change or migration)."""
    version = con.execute("PRAGMA user_version").fetchone()[0]
    app_id = con.execute("PRAGMA application_id").fetchone()[0]
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                                        " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    if app_id not in (0, APPLICATION_ID):
        raise StoreError(f"{path}: not a crosswalk review store (an SQLite database of another application,"
                         f" application_id {app_id:#x}); nothing was changed")
    if version == 0 and tables:
        raise StoreError(f"{path}: not a crosswalk review store (it holds the tables"
                         f" {', '.join(tables[:5])}{' …' if len(tables) > 5 else ''} and no review schema"
                         " version); nothing was changed")
    if version > schema_version:
        raise StoreError(f"{path}: the review store has schema version {version}, newer than this crosswalk"
                         f" knows ({schema_version}); upgrade crosswalk (nothing was changed)")
    if version > 0 and not all(t in tables for t in _STORE_TABLES):
        raise StoreError(f"{path}: not a crosswalk review store (schema version {version} but no"
                         f" {' and '.join(t for t in _STORE_TABLES if t not in tables)} table); nothing was changed")
    return version


def quick_check(con: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged store (``PRAGMA quick_check``: page structure, no index-to-table
    comparison, so it stays fast) before anything writes to it."""
    try:
        rows = [r[0] for r in con.execute("PRAGMA quick_check(20)")]
    except sqlite3.DatabaseError as exc:
        raise store_error(exc, path, "checking it on open") from None
    if rows != ["ok"]:
        shown = "; ".join(rows[:5]) + (f"; … {len(rows) - 5} more" if len(rows) > 5 else "")
        raise StoreError(f"{path}: the review store file is damaged (PRAGMA quick_check: {shown}); it was"
                         " not opened and nothing was written to it. Run `crosswalk review check --store"
                         f" {path}` for a full report and restore the file (with any {path.name}-wal beside"
                         " it) from a backup")


__all__ = ["APPLICATION_ID", "StoreError", "check_identity", "check_magic", "companions", "connect_read_only",
           "has_content", "map_sqlite_errors", "quick_check", "read_only_reason", "store_error"]
