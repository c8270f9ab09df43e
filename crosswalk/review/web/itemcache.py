"""The items of a review store as the app needs them — one entry per source item (or free-text
title) with its ranked candidates — kept current from the event log: a new event re-reads the
items it touched, never every link (a store of 50,000 links answers a decision in
milliseconds).

The queue orders open items by value: the data rows a free-text title covers first, then
uncertainty — a small gap between the two best candidates still open, then a low top score.
Filters name the top levels of the schemes (:mod:`.groups`), never single codes.
"""
from __future__ import annotations

import bisect
import heapq
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Optional

from ...model import Classification, code_sort_key
from ..items import Item, ItemKey
from ..store import Event, LinkState, ReviewStore, StoreError
from .groups import section, target_groups

FULL_RELOAD = 2000      # more items touched than this since the last look: read everything again
STATUSES = ("open", "decided", "no_match")


def pair_of(key: ItemKey) -> str:
    return f"{key.source_scheme}:{key.target_scheme}"


def current_targets(item: Item) -> tuple[str, ...]:
    """What the item stands for now: its confirmed targets, else its proposal (none when
    decided as having no correspondence)."""
    if item.status == "no_match":
        return ()
    conf = [s.key.target_code for s in item.links if s.status == "confirmed"]
    if conf:
        return tuple(conf)
    p = item.proposal
    return (p.key.target_code,) if p is not None and p.status != "rejected" else ()


@dataclass
class Entry:
    item: Item
    title: str                  # the source's title
    group: str                  # the source's top group
    rows: Optional[int]         # data rows a free-text title covers (None: a classification item)
    gap: float                  # between the two best candidates still open
    top: float                  # the best open candidate's score
    targets: tuple[str, ...]    # current_targets
    tgroups: frozenset          # groups of the targets (filters)
    key: ItemKey = field(init=False)
    pair: str = field(init=False)
    order: tuple = field(init=False)    # the queue position: (-rows, gap, top, source code)

    def __post_init__(self) -> None:
        self.key = self.item.key
        self.pair = pair_of(self.key)
        self.set_order()

    def set_order(self) -> None:
        self.order = (-(self.rows or 0), self.gap, self.top, code_sort_key(self.key.source_code))


def _uncertainty(links: list[LinkState]) -> tuple[float, float]:
    sc = sorted((s.score or 0.0 for s in links if s.status != "rejected"), reverse=True) or [0.0]
    return sc[0] - (sc[1] if len(sc) > 1 else 0.0), sc[0]


class ItemCache:
    """Items by key, with what queues and filters need (see the module docstring). Not
    thread-safe by itself: the app's Model serialises access."""

    def __init__(self, classes: Optional[dict[str, Classification]] = None):
        self.classes = dict(classes or {})
        self.entries: dict[ItemKey, Entry] = {}
        self._sorted: dict[str, list[tuple[tuple, ItemKey]]] = {}   # pair -> (order, key), in queue order
        self._counts: dict[str, Counter] = {}                        # pair -> status -> items
        self.text_rows: dict[str, int] = {}
        # (pair, target code) -> items standing for that target now (n:1 seen from the target)
        self.fan_in: Counter = Counter()
        # called with (old entry or None, new entry or None) for every item that changed
        self.watchers: list[Callable[[Optional[Entry], Optional[Entry]], None]] = []

    # -- building and keeping current -------------------------------------------
    def _entry(self, item: Item) -> Entry:
        k = item.key
        src = next((s.source_title for s in item.links if s.source_title), "")
        gap, top = _uncertainty(item.links)
        targets = current_targets(item)
        tg = frozenset(g for t in targets for g in target_groups(k.target_scheme, t, self.classes))
        rows = self.text_rows.get(k.source_code, 0) if k.source_scheme == "text" else None
        return Entry(item, src, section(k.source_scheme, k.source_code, self.classes), rows, gap, top, targets, tg)

    def _put(self, key: ItemKey, item: Optional[Item]) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self._unlist(old)
        new = None
        if item is not None and (item.links or item.status == "no_match"):
            new = self.entries[key] = self._entry(item)
            self._list(new)
        for w in self.watchers:
            w(old, new)

    def _list(self, e: Entry) -> None:
        bisect.insort(self._sorted.setdefault(e.pair, []), (e.order, e.key))
        self._counts.setdefault(e.pair, Counter())[e.item.status] += 1
        for t in e.targets:
            self.fan_in[(e.pair, t)] += 1

    def _unlist(self, e: Entry) -> None:
        lst = self._sorted[e.pair]
        i = bisect.bisect_left(lst, (e.order, e.key))
        if i < len(lst) and lst[i][1] == e.key:
            del lst[i]
        self._counts[e.pair][e.item.status] -= 1
        for t in e.targets:
            self.fan_in[(e.pair, t)] -= 1

    def load(self, store: ReviewStore) -> None:
        """Read every item (at start, or after a bulk change such as a new `review load`)."""
        for key in list(self.entries):
            self._put(key, None)
        self.fan_in.clear()
        self.text_rows = store.text_rows()
        for item in store.items_of():
            new = self.entries[item.key] = self._entry(item)
            for t in new.targets:
                self.fan_in[(new.pair, t)] += 1
            self._counts.setdefault(new.pair, Counter())[item.status] += 1
            for w in self.watchers:
                w(None, new)
        self._sorted = {}
        for e in self.entries.values():
            self._sorted.setdefault(e.pair, []).append((e.order, e.key))
        for lst in self._sorted.values():
            lst.sort()

    def touched(self, events: Iterable[Event]) -> set[ItemKey]:
        out = set()
        for e in events:
            if e.key is not None:
                out.add(ItemKey(e.key.source_scheme, e.key.source_code, e.key.target_scheme))
            elif e.item is not None:
                out.add(ItemKey(*e.item))
        return out

    def update(self, store: ReviewStore, events: list[Event]) -> set[ItemKey]:
        """Re-read the items the events touched; returns their keys."""
        keys = self.touched(events)
        if len(keys) > FULL_RELOAD:
            self.load(store)
            return keys
        for key in sorted(keys):
            try:
                item = store.item(key)
            except StoreError:       # no link and no item state: gone
                item = None
            self._put(key, item)
        return keys

    def set_text_rows(self, rows: dict[str, int]) -> None:
        self.text_rows = dict(rows)
        for e in self.entries.values():
            if e.key.source_scheme == "text" and e.rows != self.text_rows.get(e.key.source_code, 0):
                self._unlist(e)
                e.rows = self.text_rows.get(e.key.source_code, 0)
                e.set_order()
                self._list(e)

    # -- reading ------------------------------------------------------------------
    def get(self, key: ItemKey) -> Optional[Entry]:
        return self.entries.get(key)

    def in_order(self, pair: str = "", after: Optional[tuple] = None) -> Iterator[Entry]:
        """Entries of ``pair`` (every pair: ''), in queue order; from just after the queue
        position ``after`` when given."""
        lists = [self._sorted.get(pair, [])] if pair else [self._sorted[p] for p in sorted(self._sorted)]
        its = []
        for lst in lists:
            start = 0 if after is None else bisect.bisect_right(lst, (after, ItemKey("\uffff", "", "")))
            its.append(lst[start:] if start else lst)
        for _, key in (its[0] if len(its) == 1 else heapq.merge(*its)):
            yield self.entries[key]

    def matcher(self, *, status: str = "open", source_group: str = "", target_group: str = "",
                q: str = "") -> Callable[[Entry], bool]:
        if status and status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        ql = q.casefold().replace("ё", "е").strip()

        def ok(e: Entry) -> bool:
            if status and e.item.status != status:
                return False
            if source_group and e.group != source_group:
                return False
            if target_group and target_group not in e.tgroups:
                return False
            return not ql or e.key.source_code.casefold().startswith(ql) or ql in e.title.casefold().replace("ё", "е")
        return ok

    def select(self, *, pair: str = "", status: str = "open", source_group: str = "", target_group: str = "",
               q: str = "") -> list[Entry]:
        """Entries passing the filters, in queue order."""
        ok = self.matcher(status=status, source_group=source_group, target_group=target_group, q=q)
        return [e for e in self.in_order(pair) if ok(e)]

    def counts(self, pair: str = "") -> dict[str, dict[str, int]]:
        """pair -> {items, open, decided, no_match}."""
        return {p: {"items": sum(c.values()), **{s: c[s] for s in STATUSES}}
                for p, c in sorted(self._counts.items()) if (not pair or p == pair) and sum(c.values())}


__all__ = ["Entry", "FULL_RELOAD", "ItemCache", "STATUSES", "current_targets", "pair_of"]
