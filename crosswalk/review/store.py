"""The review store: every decision people make about proposed links, in one SQLite file.

Decisions are *events* appended to a log that SQLite triggers keep append-only; the
current state of each link (``link_state``) is maintained in the same transaction as
each event and can be recomputed from the log (:meth:`ReviewStore.rebuild_state`).
Each event keeps the reviewer, UTC time, origin (``browser``,
``workbook:<file>:<row>@<sha256 of the file>``, ``cli``…) and the link's previous state.

Concurrency is optimistic: a link's ``version`` is the id of the last event that touched
it; a decision carries the version its reviewer saw of every link it touches (a retarget:
the old link and the new target's, ``Decision.target_version``), and one made against a
stale version is returned as a :class:`Conflict`, never applied. Writes run in
``BEGIN IMMEDIATE`` transactions (one writer at a time, waiting up to the busy timeout),
in WAL mode with ``synchronous=FULL`` so a committed decision survives a crash. Opening
the file and every SQLite error go through :mod:`.storefile` (checks before any write, a
read-only medium opened read-only, errors as :class:`StoreError`).

A ``second_review`` event is a blind second reviewer's verdict (``confirm``/``reject``) on a
decided link: it is checked against the link's version like any decision, but it changes
nothing in the link's state (not the status, comment, reviewer, time or version), so the
first reviewer's open page never conflicts with it. The event's ``previous`` holds the state
(and so the first decision) it was compared with; :mod:`crosswalk.review.kappa` reads it.
"""
from __future__ import annotations

import json
import re
import sqlite3
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from ..candidates import CandidateSet
from .migrations import SCHEMA_VERSION, migrate
from .records import (  # noqa: F401  (re-exported: the store's API and the item module use them)
    ACTIONS, ROLES, ACCEPT_RULES, STATUSES, DECISION_ACTIONS, VERDICTS, STATUS_ACTIONS, _WEIGHT_ACTIONS, LinkKey, LinkState, Decision, Conflict, DecisionResult, _RollBack, Event, _new_link, reduce_event, _STATE_COLS, _KEY_COLS, _KEY_WHERE, _SAME, _utcnow, _json, _key_tuple, _row_state, _state_row, _to_link_state, _check_reviewer, _unit, _key_problem, _code_problem, _decision_problem, _proposal)
from .catalogue import CatalogueMixin
from .policies import PolicyMixin
from .reading import ReadingMixin
from .storefile import (StoreError, check_identity, check_magic, connect_read_only, has_content,
                        map_sqlite_errors, quick_check, read_only_reason, store_error)

# File systems without the shared memory WAL relies on (locks are unreliable too).
NETWORK_FS = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "sshfs", "fuse.sshfs", "9p", "afs",
                        "ceph", "glusterfs", "fuse.glusterfs", "lustre", "davfs", "fuse.davfs"})

def _unescape_mount(s: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def read_mounts() -> Optional[str]:
    """The text of /proc/mounts (None where there is none, e.g. macOS)."""
    try:
        return Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def filesystem_of(folder: Path) -> Optional[str]:
    """The type of the file system holding ``folder``: the longest mount point containing it."""
    text = read_mounts()
    if not text:
        return None
    folder_s = str(folder)
    best, fstype = "", None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mnt = _unescape_mount(parts[1])
        inside = folder_s == mnt or folder_s.startswith(mnt.rstrip("/") + "/")
        if inside and len(mnt) >= len(best):  # >=: a later mount on the same point hides the earlier
            best, fstype = mnt, parts[2]
    return fstype


# -- the store ------------------------------------------------------------------------
@map_sqlite_errors
class ReviewStore(ReadingMixin, CatalogueMixin, PolicyMixin):
    """One review store file. Not shared between threads: open one per thread or process.

    Opening checks the file before anything is written to it (see :mod:`.storefile`):
    ``create`` allows a missing or 0-byte file to become a new store; ``read_only`` opens it
    read-only (a read-only medium is detected and opened so anyway: ``self.read_only`` then
    says why); ``quick_check=False`` skips the page check (a caller that checked the file
    already, such as the review server opening it per request)."""

    def __init__(self, path: str | Path, *, create: bool = True, allow_network_fs: bool = False,
                 busy_timeout: float = 30.0, read_only: bool = False, quick_check: bool = True):
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.notice: Optional[str] = None       # what the caller should tell the user, if anything
        self.read_only: Optional[str] = None    # why the store is open read-only, if it is
        self._con: Optional[sqlite3.Connection] = None
        self._clock = _utcnow
        if not self.path.parent.is_dir():
            raise StoreError(f"{self.path}: the folder {self.path.parent} does not exist")
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a review store file")
        exists = self.path.exists()
        if not exists and not create:
            raise StoreError(f"{self.path}: no review store there (load proposals first:"
                             " crosswalk review load OUT_DIR --store FILE)")
        if exists and not has_content(self.path) and not create:
            raise StoreError(f"{self.path}: the file is empty (0 bytes), not a review store — a failed copy"
                             " or download? Restore it from a backup, or remove it and load proposals with"
                             " `crosswalk review load OUT_DIR --store FILE`")
        check_magic(self.path)
        fstype = filesystem_of(self.path.resolve().parent)
        network = fstype in NETWORK_FS
        if network and not allow_network_fs:
            raise StoreError(
                f"{self.path}: the folder {self.path.resolve().parent} is on a network file system"
                f" ({fstype}); SQLite WAL needs shared memory that network file systems do not provide,"
                " and their locks are unreliable, so two reviewers could corrupt the store. Keep the store"
                " on a local disk, or pass allow_network_fs=True (--allow-network-fs) to use"
                " rollback-journal mode (one reviewer at a time is then safest)")
        self.read_only = "opened read-only as asked" if read_only else read_only_reason(self.path)
        if self.read_only and not has_content(self.path):
            raise StoreError(f"{self.path}: cannot create a review store here: {self.read_only}")
        try:
            if self.read_only:
                self._con, _ = connect_read_only(self.path, busy_timeout)
                if not read_only:
                    self.notice = (f"{self.path} is on a read-only medium ({self.read_only}): opened read-only;"
                                   " decisions cannot be recorded")
            else:
                self._con = sqlite3.connect(str(self.path), timeout=busy_timeout, isolation_level=None)
            self._setup(network, fstype, quick_check)
        except BaseException:
            self.close()
            raise

    def _setup(self, network: bool, fstype: Optional[str], check: bool) -> None:
        con = self._con
        con.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        # what the file is, from reads only: nothing changes before these checks pass
        version = check_identity(con, self.path, SCHEMA_VERSION) if has_content(self.path) else 0
        if check and has_content(self.path):
            quick_check(con, self.path)
        if self.read_only:
            if version != SCHEMA_VERSION:
                raise StoreError(f"{self.path}: the review store has schema version {version} and needs an"
                                 f" upgrade to {SCHEMA_VERSION}, which writes to it, but it is read-only"
                                 f" ({self.read_only}); open it once where it can be written")
            self.journal_mode = con.execute("PRAGMA journal_mode").fetchone()[0].lower()
            return
        want = "delete" if network else "wal"
        mode = con.execute(f"PRAGMA journal_mode = {want.upper()}").fetchone()[0].lower()
        if mode != want:
            raise StoreError(f"{self.path}: SQLite refused journal_mode={want} (got {mode!r})")
        if network:
            self.notice = (f"{self.path} is on a network file system ({fstype}): using rollback-journal"
                           " mode instead of WAL; readers wait while someone writes")
            warnings.warn(self.notice, RuntimeWarning, stacklevel=4)
        con.execute("PRAGMA synchronous = FULL")
        con.execute("PRAGMA foreign_keys = ON")
        self.journal_mode = mode
        try:
            migrate(con, str(self.path))
        except ValueError as exc:
            raise StoreError(str(exc)) from None

    # -- plumbing ------------------------------------------------------------------
    def close(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            try:
                con.close()
            except sqlite3.Error:   # closing never hides the error that made us close
                pass

    def __enter__(self) -> "ReviewStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        if self._con is None:
            raise StoreError(f"{self.path}: the review store is closed")
        return self._con

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE takes the write lock up front (waiting up to
        the busy timeout), so reads inside it see exactly what the writes will change. Any
        failure rolls it back; an sqlite3 error leaves as a StoreError (map_sqlite_errors)."""
        con = self._conn()
        if self.read_only:
            raise store_error(sqlite3.OperationalError("attempt to write a readonly database"), self.path,
                              "writing", read_only=self.read_only)
        depth = getattr(self, "_write_depth", 0)
        if depth:       # inside transaction(): a savepoint, so a rollback here undoes only this part
            name = f"cw_{depth}"
            con.execute(f"SAVEPOINT {name}")
            self._write_depth = depth + 1
            try:
                yield con
                con.execute(f"RELEASE {name}")
            except BaseException:
                try:
                    con.execute(f"ROLLBACK TO {name}")
                    con.execute(f"RELEASE {name}")
                except sqlite3.Error:
                    pass
                raise
            finally:
                self._write_depth = depth
            return
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise store_error(exc, self.path, "starting a write", busy_timeout=self.busy_timeout) from None
        self._write_depth = 1
        try:
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                try:
                    con.execute("ROLLBACK")
                except sqlite3.Error:    # e.g. after an I/O error SQLite rolled back already
                    pass
            raise
        finally:
            self._write_depth = 0

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction around several writes (``with store.transaction(): ...``): they
        commit together or not at all — a crash or an exception leaves the store as before.
        Writes inside it nest as savepoints (an all-or-nothing decide rolls back only itself)."""
        try:
            with self._write() as con:
                yield con
        except sqlite3.Error as exc:
            raise store_error(exc, self.path, "writing") from None

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several SELECTs see one consistent snapshot (inside a write
        transaction, that one: reads see what it wrote so far)."""
        con = self._conn()
        if con.in_transaction:
            yield con
            return
        con.execute("BEGIN")
        try:
            yield con
        finally:
            if con.in_transaction:
                try:
                    con.execute("COMMIT")
                except sqlite3.Error:
                    pass

    def pragma(self, name: str) -> Any:
        """A PRAGMA's value as SQLite reports it (journal_mode, synchronous, busy_timeout…)."""
        if not re.fullmatch(r"[a-z_]+", name):
            raise StoreError(f"not a pragma name: {name!r}")
        return self._conn().execute(f"PRAGMA {name}").fetchone()[0]

    @staticmethod
    def _state(con, key: LinkKey) -> Optional[dict]:
        row = con.execute(f"SELECT {', '.join(_STATE_COLS)} FROM link_state WHERE {_KEY_WHERE}",
                          _key_tuple(key)).fetchone()
        return None if row is None else _row_state(row)

    @staticmethod
    def _put_state(con, key: LinkKey, s: dict) -> None:
        cols = _KEY_COLS + _STATE_COLS
        vals = _key_tuple(key) + _state_row(s)
        con.execute(f"INSERT OR REPLACE INTO link_state ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    vals)

    def _event(self, con, *, ts: str, reviewer: str, action: str, key: Optional[LinkKey],
               schemes: Optional[tuple[str, str]] = None, payload: dict, previous: Optional[dict],
               origin: str, item=None) -> int:
        if key is not None:
            k = _key_tuple(key)
        elif item is not None:      # an item decision: the item's source code, no target code
            k = (item.source_scheme, item.source_code, item.target_scheme, None)
        else:
            k = (schemes[0], None, schemes[1], None)
        cur = con.execute(
            "INSERT INTO events (ts, reviewer, action, source_scheme, source_code, target_scheme,"
            " target_code, payload, previous, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ts, reviewer, action, *k, _json(payload), None if previous is None else _json(previous), origin))
        return cur.lastrowid

    def _record(self, con, key: LinkKey, action: str, payload: dict, cur: Optional[dict], *,
                ts: str, reviewer: str, origin: str) -> dict:
        """Append one event and apply it to the link's state, in the caller's transaction."""
        ev = self._event(con, ts=ts, reviewer=reviewer, action=action, key=key, payload=payload,
                         previous=cur, origin=origin)
        new = reduce_event(cur, action, payload, version=ev, reviewer=reviewer, ts=ts)
        self._put_state(con, key, new)
        return new

    # -- proposals -----------------------------------------------------------------
    def propose(self, links: Iterable[LinkState | dict], *, reviewer: str = "crosswalk",
                origin: str = "build") -> int:
        """Add proposed links (status pending) or update the score, evidence, titles, flags, rank
        and role of known ones; a reviewer's status, weight and comment are kept. Idempotent: a
        link proposed again with the same content adds nothing. Returns the number of new events.
        All or nothing: a malformed entry raises StoreError before anything is written.

        An entry with ``accept`` (``official``: a published table; ``structure``: the same code in
        schemes built alike) is also accepted — an ``auto_accept`` event naming the rule — while it
        is pending and no person has ever decided on it (a reviewer's rejection stands).

        Written in bulk: the last proposals and states of the pairs involved are read once, and
        the events take consecutive ids inside the write transaction."""
        reviewer = _check_reviewer(reviewer)
        props = [_proposal(e, n) for n, e in enumerate(links, start=1)]
        seen: dict[LinkKey, int] = {}
        for n, (key, _, _) in enumerate(props, start=1):
            if key in seen:
                raise StoreError(f"proposal {n} ({key}) repeats proposal {seen[key]}")
            seen[key] = n
        ts = self._clock()
        with self._write() as con:
            pairs = sorted({(k.source_scheme, k.target_scheme) for k in seen})
            last, states, touched = {}, {}, set()
            for a, b in pairs:
                for sc, tc, payload in con.execute(
                        "SELECT source_code, target_code, payload FROM events WHERE action = 'propose'"
                        " AND source_scheme = ? AND target_scheme = ? ORDER BY id", (a, b)):
                    last[a, sc, b, tc] = payload
                for row in con.execute(f"SELECT {', '.join(_KEY_COLS + _STATE_COLS)} FROM link_state"
                                       " WHERE source_scheme = ? AND target_scheme = ?", (a, b)):
                    states[tuple(row[:4])] = _row_state(row[4:])
                # links a person (or a policy) has decided on: never accepted by a rule again
                touched.update((a, sc, b, tc) for sc, tc in con.execute(
                    "SELECT DISTINCT source_code, target_code FROM events WHERE source_scheme = ?"
                    " AND target_scheme = ? AND action NOT IN ('propose', 'auto_accept', 'policy')", (a, b)))
            next_id = con.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0] + 1
            seq = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            next_id = max(next_id, (seq[0] if seq else 0) + 1)
            events, new_states = [], {}
            for key, payload, accept in props:
                k = _key_tuple(key)
                cur = states.get(k)
                if k not in last or json.loads(last[k]) != payload:
                    events.append((next_id, ts, reviewer, "propose", *k, _json(payload),
                                   None if cur is None else _json(cur), origin))
                    cur = reduce_event(cur, "propose", payload, version=next_id, reviewer=reviewer, ts=ts)
                    next_id += 1
                if accept and cur["status"] == "pending" and k not in touched:
                    acc = {"rule": accept}
                    events.append((next_id, ts, reviewer, "auto_accept", *k, _json(acc), _json(cur), origin))
                    cur = reduce_event(cur, "auto_accept", acc, version=next_id, reviewer=reviewer, ts=ts)
                    next_id += 1
                if cur is not states.get(k):
                    new_states[k] = cur
            con.executemany("INSERT INTO events (id, ts, reviewer, action, source_scheme, source_code,"
                            " target_scheme, target_code, payload, previous, origin)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", events)
            cols = _KEY_COLS + _STATE_COLS
            con.executemany(f"INSERT OR REPLACE INTO link_state ({', '.join(cols)}) VALUES"
                            f" ({', '.join('?' * len(cols))})",
                            [k + _state_row(st) for k, st in new_states.items()])
        return len(events)

    def propose_candidates(self, cset: CandidateSet, *, flags_by_source: Optional[dict[str, tuple]] = None,
                           top: Optional[int] = None, reviewer: str = "crosswalk", origin: str = "build") -> int:
        """Propose the candidates of a matcher run (the first ``top`` of each source)."""
        flags_by_source = flags_by_source or {}
        return self.propose(({
            "key": LinkKey(cset.source_scheme, c.source, cset.target_scheme, c.target),
            "score": c.score, "evidence": dict(c.evidence), "origin": "proposed",
            "source_title": cset.source_titles.get(c.source, ""),
            "target_title": cset.target_titles.get(c.target, ""),
            "flags": tuple(flags_by_source.get(c.source, ())),
        } for c in cset.candidates if top is None or c.rank <= top), reviewer=reviewer, origin=origin)

    # -- decisions -----------------------------------------------------------------
    def decide(self, decisions: Iterable[Decision], *, reviewer: str,
               all_or_nothing: bool = False) -> DecisionResult:
        """Apply decisions in order, in ONE transaction. Each is checked against the link's
        current version: stale → Conflict (not applied); a decision that would change nothing
        (the link is already in that state) → unchanged, so re-applying is harmless.
        ``all_or_nothing``: when any decision is a conflict or invalid, none is applied (the
        ones that would have been are listed in ``rolled_back``), e.g. the two halves of an undo."""
        reviewer = _check_reviewer(reviewer)
        decisions = list(decisions)
        for d in decisions:
            if not isinstance(d, Decision):
                raise StoreError(f"decide() takes Decision objects, not {type(d).__name__}")
        result = DecisionResult()
        ts = self._clock()
        try:
            with self._write() as con:
                for d in decisions:
                    bad = _decision_problem(d)
                    if bad:
                        result.invalid.append((d, bad))
                        continue
                    outcome = self._decide_one(con, d, reviewer, ts)
                    if outcome == "applied":
                        result.applied.append(d)
                    elif outcome == "unchanged":
                        result.unchanged.append(d)
                    elif isinstance(outcome, Conflict):
                        result.conflicts.append(outcome)
                    else:
                        result.invalid.append((d, outcome))
                if all_or_nothing and result.applied and (result.conflicts or result.invalid):
                    raise _RollBack
        except _RollBack:
            result.rolled_back, result.applied = result.applied, []
        return result

    def _title(self, con, side: str, scheme: str, code: str) -> str:  # side: "source" | "target"
        """A title the store already knows for a code (a link added by hand has none of its own):
        from a link, else from the catalogue of items."""
        row = con.execute(f"SELECT {side}_title FROM link_state WHERE {side}_scheme = ? AND {side}_code = ?"
                          f" AND {side}_title != '' ORDER BY version LIMIT 1", (scheme, code)).fetchone()
        if row is None:
            row = con.execute("SELECT title FROM items WHERE scheme = ? AND code = ? AND title != ''",
                              (scheme, code)).fetchone()
        return row[0] if row else ""

    # -- items: one decision per source item (crosswalk.review.items) -------------------
    def decide_items(self, decisions, *, reviewer: str, all_or_nothing: bool = False):
        """Apply :class:`~crosswalk.review.items.ItemDecision` s (accept, pick, split, no_match,
        reopen), each settling the item's other candidates, in one transaction."""
        from .items import decide_items
        return decide_items(self, decisions, reviewer=reviewer, all_or_nothing=all_or_nothing)

    def item(self, key) -> "Any":
        """The :class:`~crosswalk.review.items.Item` (status, version, ranked candidates)."""
        from .items import read_item
        with self._read() as con:
            got = read_item(con, key)
        if not got.links and got.status != "no_match":
            raise StoreError(f"no item {key} in the review store {self.path}")
        return got

    def items_of(self, source_scheme: Optional[str] = None, target_scheme: Optional[str] = None) -> list:
        """Every item (source code and target scheme with at least one link), its candidates
        ranked — read in one pass, for queues of thousands."""
        from .items import ItemKey, item_of
        links = self.links(source_scheme=source_scheme, target_scheme=target_scheme)
        by: dict[tuple, list] = {}
        for st in links:
            by.setdefault((st.key.source_scheme, st.key.source_code, st.key.target_scheme), []).append(st)
        states = {}
        for r in self._conn().execute("SELECT source_scheme, source_code, target_scheme, status, comment, version,"
                                      " updated_by, updated_at FROM item_state"):
            states[r[:3]] = dict(zip(("status", "comment", "version", "updated_by", "updated_at"), r[3:]))
        return [item_of(lns, states.get(k), ItemKey(*k)) for k, lns in by.items()]

    def no_match_items(self, source_scheme: str, target_scheme: str) -> set[str]:
        """Source codes decided as having no correspondence in ``target_scheme``."""
        return {r[0] for r in self._conn().execute(
            "SELECT source_code FROM item_state WHERE source_scheme = ? AND target_scheme = ?"
            " AND status = 'no_match'", (source_scheme, target_scheme))}

    def _decide_one(self, con, d: Decision, reviewer: str, ts: str):
        key = d.key
        cur = self._state(con, key)
        payload: dict[str, Any] = {"expected_version": d.expected_version}
        if d.comment is not None:
            payload["comment"] = d.comment
        if d.weight is not None:
            payload["weight"] = float(d.weight)
        # the event(s) this decision makes: (key, action, payload, current state), and the
        # version the reviewer saw of each link touched
        steps: list[tuple[LinkKey, str, dict, Optional[dict]]]
        seen: dict[LinkKey, Optional[int]] = {key: d.expected_version}
        if cur is None:
            if d.action != "add":
                return f"no link {key} in the review store (add it with action 'add')"
            if d.expected_version is not None:
                return (f"no link {key} in the review store, but expected_version {d.expected_version}"
                        " was given (a new link has no version: pass None)")
            payload.update(source_title=self._title(con, "source", key.source_scheme, key.source_code),
                           target_title=self._title(con, "target", key.target_scheme, key.target_code))
            steps = [(key, "add", payload, None)]
        elif d.action == "retarget":
            new_key = LinkKey(key.source_scheme, key.source_code, key.target_scheme, d.new_target)
            old_payload = {"expected_version": d.expected_version, "new_target": d.new_target, "role": "old"}
            if d.comment is not None:
                old_payload["comment"] = d.comment
            new_cur = self._state(con, new_key)
            if new_cur is None and d.target_version is not None:
                return (f"no link {new_key} in the review store, but target_version {d.target_version} was"
                        " given (a new link has no version: pass None)")
            # the new link's event records the version of the new link its reviewer saw
            new_payload = {**payload, "expected_version": d.target_version, "role": "new",
                           "replaces": key.target_code}
            if new_cur is None:
                new_payload.update(source_title=cur["source_title"] or self._title(
                    con, "source", key.source_scheme, key.source_code),
                    target_title=self._title(con, "target", key.target_scheme, d.new_target))
            steps = [(key, "retarget", old_payload, cur), (new_key, "retarget", new_payload, new_cur)]
            seen[new_key] = d.target_version
        elif d.action == "second_review":
            return self._second_review(con, d, cur, reviewer, ts)
        else:
            steps = [(key, d.action, payload, cur)]
        effects = [reduce_event(c, a, p, version=0, reviewer=reviewer, ts=ts) for _, a, p, c in steps]
        changes = [c is None or any(e[f] != c[f] for f in _SAME) for (_, _, _, c), e in zip(steps, effects)]
        if not any(changes):
            return "unchanged"
        # checked against the version the reviewer saw of EVERY link the decision touches
        for k, _, _, c in steps:
            if c is None or seen[k] == c["version"]:
                continue
            now = f"version {c['version']}: {c['status']} by {c['updated_by']} at {c['updated_at']}"
            what = "link" if k == key else f"the new target's link {k}"
            reason = (f"{what} already exists ({now}); decide against that version" if seen[k] is None
                      else f"{what} changed since you saw it (version {seen[k]}, now {now})")
            return Conflict(d, _to_link_state(k, c), reason)
        for (k, a, p, c), changed in zip(steps, changes):
            if changed:
                self._record(con, k, a, p, c, ts=ts, reviewer=reviewer, origin=d.origin)
        return "applied"

    def _second_review(self, con, d: Decision, cur: dict, reviewer: str, ts: str):
        """A second-review event: checked like a decision, recorded beside the state."""
        key = d.key
        payload: dict[str, Any] = {"expected_version": d.expected_version, "verdict": d.verdict}
        if d.comment is not None:
            payload["comment"] = d.comment
        # the same verdict (and note) by the same reviewer on the same version again changes nothing
        last = con.execute(f"SELECT payload FROM events WHERE {_KEY_WHERE} AND action = 'second_review'"
                           " AND reviewer = ? ORDER BY id DESC LIMIT 1", (*_key_tuple(key), reviewer)).fetchone()
        if last is not None and json.loads(last[0]) == payload:
            return "unchanged"
        if d.expected_version != cur["version"]:
            now = f"version {cur['version']}: {cur['status']} by {cur['updated_by']} at {cur['updated_at']}"
            return Conflict(d, _to_link_state(key, cur),
                            f"link changed since you saw it (version {d.expected_version}, now {now})")
        if cur["status"] == "pending":
            return f"{key} is pending: a second review needs a decided link"
        row = con.execute(f"SELECT reviewer, id, action FROM events WHERE {_KEY_WHERE} AND action IN"
                          f" ({', '.join('?' * len(STATUS_ACTIONS))}) ORDER BY id DESC LIMIT 1",
                          (*_key_tuple(key), *STATUS_ACTIONS)).fetchone()
        if row is not None and row[0] == reviewer:
            return (f"{reviewer} made the current decision on {key} ({row[2]}, event {row[1]});"
                    " a second review needs another reviewer")
        self._event(con, ts=ts, reviewer=reviewer, action="second_review", key=key, payload=payload,
                    previous=cur, origin=d.origin)
        return "applied"


__all__ = ["ACTIONS", "Conflict", "DECISION_ACTIONS", "Decision", "DecisionResult", "Event", "LinkKey",
           "LinkState", "NETWORK_FS", "ReviewStore", "STATUSES", "STATUS_ACTIONS", "SCHEMA_VERSION",
           "StoreError", "VERDICTS", "reduce_event"]
