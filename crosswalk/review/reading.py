"""Reading the review store: a link, the links, counts, the log (history, events), the
snapshot that names a state (event id and checksum), and the check that the derived state
equals the log replayed. Mixed into :class:`crosswalk.review.store.ReviewStore`, whose
``_read``/``_conn``/``_state`` it uses."""
from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Iterable, Optional

from ..model import code_sort_key
from .records import (_KEY_COLS, _KEY_WHERE, _STATE_COLS, STATUSES, Event, LinkKey, LinkState, _json, _key_tuple,
                      _row_state, _to_link_state, reduce_event)
from .storefile import StoreError


class ReadingMixin:
    # -- reading -------------------------------------------------------------------
    def get(self, key: LinkKey) -> LinkState:
        s = self._state(self._conn(), key)
        if s is None:
            raise StoreError(f"no link {key} in the review store {self.path}")
        return _to_link_state(key, s)

    def links(self, *, source_scheme: Optional[str] = None, target_scheme: Optional[str] = None,
              status: Optional[str] = None) -> list[LinkState]:
        if status is not None and status not in STATUSES:
            raise StoreError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        where, args = [], []
        for col, v in (("source_scheme", source_scheme), ("target_scheme", target_scheme), ("status", status)):
            if v is not None:
                where.append(f"{col} = ?")
                args.append(v)
        sql = f"SELECT {', '.join(_KEY_COLS + _STATE_COLS)} FROM link_state"
        if where:
            sql += " WHERE " + " AND ".join(where)
        out = [_to_link_state(LinkKey(*r[:4]), _row_state(r[4:])) for r in self._conn().execute(sql, args)]
        return sorted(out, key=lambda s: s.key.sort_key())

    def counts(self) -> dict[tuple[str, str], dict[str, int]]:
        """(source scheme, target scheme) -> status -> number of links."""
        out: dict[tuple[str, str], dict[str, int]] = {}
        for s, t, st, n in self._conn().execute(
                "SELECT source_scheme, target_scheme, status, COUNT(*) FROM link_state"
                " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"):
            out.setdefault((s, t), {k: 0 for k in STATUSES})[st] = n
        return out

    @staticmethod
    def _events(rows) -> list[Event]:
        out = []
        for r in rows:
            key = LinkKey(r[4], r[5], r[6], r[7]) if r[5] is not None and r[7] is not None else None
            item = (r[4], r[5], r[6]) if r[5] is not None and r[7] is None else None
            out.append(Event(r[0], r[1], r[2], r[3], key, json.loads(r[8]),
                             None if r[9] is None else json.loads(r[9]), r[10], item))
        return out

    _EVENT_SELECT = ("SELECT id, ts, reviewer, action, source_scheme, source_code, target_scheme,"
                     " target_code, payload, previous, origin FROM events")

    def history(self, key: LinkKey) -> list[Event]:
        return self._events(self._conn().execute(
            f"{self._EVENT_SELECT} WHERE {_KEY_WHERE} ORDER BY id", _key_tuple(key)))

    def last_event_id(self) -> int:
        """The id of the store's last event (0: none)."""
        return self._conn().execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]

    def events(self, since: int = 0, *, exclude: Iterable[str] = ()) -> list[Event]:
        """Events after ``since``, in order; ``exclude``: actions left out by SQLite, never read (a
        long review's learning writes hundreds of thousands of ``propose`` events)."""
        ex = tuple(sorted(set(exclude)))
        where = "WHERE id > ?" + (f" AND action NOT IN ({', '.join('?' * len(ex))})" if ex else "")
        return self._events(self._conn().execute(f"{self._EVENT_SELECT} {where} ORDER BY id", (since, *ex)))

    def snapshot(self) -> tuple[int, str]:
        """(last event id, sha256 of the current state: every link and policy, sorted)."""
        with self._read() as con:
            return self._snapshot_in(con)

    @staticmethod
    def _snapshot_in(con, each=None) -> tuple[int, str]:
        """:meth:`snapshot` inside a read transaction; ``each(key tuple, state)`` sees every link
        as it is hashed (one read for the snapshot and what was read at it)."""
        h = hashlib.sha256()
        last = con.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
        lines = []
        for r in con.execute(f"SELECT {', '.join(_KEY_COLS + _STATE_COLS)} FROM link_state"
                             f" ORDER BY {', '.join(_KEY_COLS)}"):
            st = _row_state(r[4:])
            lines.append(_json([*r[:4], st]))
            if each is not None:
                each(r[:4], st)
            if len(lines) >= 4096:
                h.update(("\n".join(lines) + "\n").encode("utf-8"))
                lines = []
        if lines:
            h.update(("\n".join(lines) + "\n").encode("utf-8"))
        for r in con.execute("SELECT source_scheme, target_scheme, threshold, set_by, set_at, event_id"
                             " FROM policies ORDER BY 1, 2"):
            h.update((_json(["policy", *r]) + "\n").encode("utf-8"))
        for r in con.execute("SELECT source_scheme, source_code, target_scheme, status, comment, version,"
                             " updated_by, updated_at FROM item_state ORDER BY 1, 2, 3"):
            h.update((_json(["item", *r]) + "\n").encode("utf-8"))
        return last, h.hexdigest()

    def items_at_snapshot(self, source_scheme: Optional[str] = None,
                          target_scheme: Optional[str] = None) -> tuple[int, str, list]:
        """(:meth:`snapshot`, :meth:`items_of`) read in one pass of one read transaction: the
        items are exactly the state the snapshot names (an export's rows and its checksum)."""
        from .items import ItemKey, item_of
        by: dict[tuple, list] = {}

        def each(k: tuple, st: dict) -> None:
            if (source_scheme is None or k[0] == source_scheme) and (target_scheme is None or k[2] == target_scheme):
                by.setdefault((k[0], k[1], k[2]), []).append(_to_link_state(LinkKey(*k), st))

        with self._read() as con:
            last, checksum = self._snapshot_in(con, each)
            states = {r[:3]: dict(zip(("status", "comment", "version", "updated_by", "updated_at"), r[3:]))
                      for r in con.execute("SELECT source_scheme, source_code, target_scheme, status, comment,"
                                           " version, updated_by, updated_at FROM item_state")}
        order = sorted(by, key=lambda k: (k[0], code_sort_key(k[1]), k[2]))    # as items_of lists them
        return last, checksum, [item_of(by[k], states.get(k), ItemKey(*k)) for k in order]

    @staticmethod
    def _replay(con) -> tuple[dict[tuple, dict], dict[tuple, dict]]:
        """Every link's and every item's state recomputed from the log (key tuple -> state)."""
        from .items import reduce_item
        state: dict[tuple, dict] = {}
        for ev_id, ts, reviewer, action, *key, payload in con.execute(
                "SELECT id, ts, reviewer, action, source_scheme, source_code, target_scheme, target_code,"
                " payload FROM events WHERE source_code IS NOT NULL AND target_code IS NOT NULL"
                " ORDER BY id"):
            k = tuple(key)
            state[k] = reduce_event(state.get(k), action, json.loads(payload), version=ev_id,
                                    reviewer=reviewer, ts=ts)
        items: dict[tuple, dict] = {}
        for ev_id, ts, reviewer, action, *key, payload in con.execute(
                "SELECT id, ts, reviewer, action, source_scheme, source_code, target_scheme, payload"
                " FROM events WHERE source_code IS NOT NULL AND target_code IS NULL ORDER BY id"):
            k = tuple(key)
            items[k] = reduce_item(items.get(k), action, json.loads(payload), version=ev_id,
                                   reviewer=reviewer, ts=ts)
        return state, items

    def rebuild_state(self) -> None:
        """Recompute link_state and item_state from the events (in one transaction)."""
        from .items import ItemKey, put_item_state
        with self._write() as con:
            state, items = self._replay(con)
            con.execute("DELETE FROM link_state")
            for k, s in state.items():
                self._put_state(con, LinkKey(*k), s)
            con.execute("DELETE FROM item_state")
            for k, s in items.items():
                put_item_state(con, ItemKey(*k), s)

    def check(self, *, shown: int = 20) -> list[str]:
        """A full check of the store, writing nothing: ``PRAGMA integrity_check`` (every page,
        every index against its table), foreign keys, and the state of every link and item
        rebuilt from the log compared with ``link_state`` and ``item_state``. Returns the problems
        found (empty: all is well)."""
        problems: list[str] = []
        con = self._conn()
        try:
            rows = [r[0] for r in con.execute(f"PRAGMA integrity_check({int(shown)})")]
            if rows != ["ok"]:
                problems += [f"integrity_check: {r}" for r in rows]
            problems += [f"foreign_key_check: {tuple(r)}" for r in
                         con.execute("PRAGMA foreign_key_check").fetchmany(shown)]
        except sqlite3.DatabaseError as exc:
            return problems + [f"integrity_check: the file cannot be read: {exc}"]
        item_cols = ("status", "comment", "version", "updated_by", "updated_at")
        try:
            with self._read() as con:
                replayed, replayed_items = self._replay(con)
                stored = {tuple(r[:4]): _row_state(r[4:]) for r in con.execute(
                    f"SELECT {', '.join(_KEY_COLS + _STATE_COLS)} FROM link_state")}
                stored_items = {tuple(r[:3]): dict(zip(item_cols, r[3:])) for r in con.execute(
                    f"SELECT source_scheme, source_code, target_scheme, {', '.join(item_cols)} FROM item_state")}
        except (sqlite3.DatabaseError, StoreError, ValueError, KeyError) as exc:
            return problems + [f"the log cannot be replayed: {type(exc).__name__}: {exc}"]
        differ = []
        for k in sorted(set(replayed) | set(stored), key=lambda k: LinkKey(*k).sort_key()):
            a, b = replayed.get(k), stored.get(k)
            if a is None or b is None:
                differ.append(f"{LinkKey(*k)}: " + ("in link_state but no event" if a is None
                                                     else "has events but no link_state row"))
            else:
                fields = [c for c in _STATE_COLS if a[c] != b[c]]
                if fields:
                    differ.append(f"{LinkKey(*k)}: link_state differs from the log in {', '.join(fields)}")
        for k in sorted(set(replayed_items) | set(stored_items)):
            a, b = replayed_items.get(k), stored_items.get(k)
            if a != b:
                what = ("in item_state but no event" if a is None else "has events but no item_state row"
                        if b is None else "item_state differs from the log in "
                        + ", ".join(c for c in item_cols if a[c] != b[c]))
                differ.append(f"item {k[0]}:{k[1]} → {k[2]}: {what}")
        problems += [f"state: {d}" for d in differ[:shown]]
        if len(differ) > shown:
            problems.append(f"state: … {len(differ) - shown} more links or items differ from the log")
        return problems
