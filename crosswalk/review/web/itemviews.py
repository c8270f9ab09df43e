"""The item-centred review of the app: the queue of items, one item in detail with context
beside every candidate, and ONE decision per item through ``ReviewStore.decide_items`` —
accept the proposal, pick a candidate or a typed code, split with weights, no correspondence,
or reopen (the undo). The answer to a decision names what was decided and carries the next
item in the reviewer's queue, so the page shows it without a second round trip.

A mixin of :class:`~.data.Model` (which holds the caches and the lock).
"""
from __future__ import annotations

import time

import math
from typing import Any, Optional

from ..items import CHOICES, ItemDecision, ItemKey
from ..store import LinkState, ReviewStore
from .groups import group_options
from .itemcache import STATUSES, Entry

_HISTORY = 40        # events of an item shown (the newest)
_DETAIL_KEYS = ("comment", "weight", "settled", "item_decision", "new_target", "replaces", "verdict", "threshold")


def parse_item_key(value: Any) -> ItemKey:
    from .data import WebError
    if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, str) and v for v in value)):
        raise WebError(400, f"an item key is [source_scheme, source_code, target_scheme], not {value!r}")
    return ItemKey(*value)


def _group_filter(value: str) -> tuple[str, str]:
    """'okpdtr:1' -> ('okpdtr', '1'); the scheme keeps groups of different schemes apart."""
    scheme, _, group = (value or "").partition(":")
    return (scheme, group) if group else ("", "")


class ItemViews:
    # -- the queue ---------------------------------------------------------------
    def summary_of(self, e: Entry) -> dict:
        it = e.item
        k = it.key
        p = it.proposal
        return {"key": [k.source_scheme, k.source_code, k.target_scheme], "title": e.title, "rows": e.rows,
                "group": e.group, "status": it.status, "version": it.version, "gap": e.gap, "top": e.top,
                "n": len(it.links), "targets": list(e.targets),
                "proposal": None if p is None else {"code": p.key.target_code, "title": p.target_title,
                                                    "score": p.score},
                "decided_by": it.decided_by, "decided_at": it.decided_at}

    def _filter(self, f: dict):
        """(pair, predicate) of the filters ``f``: pair, status, sgroup, tgroup, q."""
        from .data import WebError
        status = f.get("status", "open")
        if status and status not in STATUSES:
            raise WebError(400, f"status {status!r} is not one of {', '.join(STATUSES)}")
        ss, sg = _group_filter(f.get("sgroup", ""))
        ts, tg = _group_filter(f.get("tgroup", ""))
        ok = self.cache.matcher(status=status, source_group=sg, target_group=tg, q=f.get("q", ""))
        if ss or ts:
            inner = ok

            def ok(e: Entry) -> bool:
                return (not ss or e.key.source_scheme == ss) and (not ts or e.key.target_scheme == ts) and inner(e)
        return f.get("pair", ""), ok

    def item_queue(self, f: dict, *, offset: int = 0, limit: int = 100) -> dict:
        """Items passing the filters ``f`` (pair, status, sgroup, tgroup, q) in queue order, with
        the counts and the filter options (the top groups of the source and target schemes of
        the items in the pair and status chosen, each with its number of items)."""
        pair, ok = self._filter(f)
        status = f.get("status", "open")
        sel = []
        src: dict[str, dict[str, int]] = {}
        tgt: dict[str, dict[str, int]] = {}
        for e in self.cache.in_order(pair):
            if ok(e):
                sel.append(e)
            if status and e.item.status != status:
                continue
            c = src.setdefault(e.key.source_scheme, {})
            c[e.group] = c.get(e.group, 0) + 1
            c = tgt.setdefault(e.key.target_scheme, {})
            for g in e.tgroups:
                c[g] = c.get(g, 0) + 1

        def options(groups: dict[str, dict[str, int]]) -> list[dict]:
            return [{**o, "value": f"{scheme}:{o['value']}", "scheme": scheme, "group": o["value"]}
                    for scheme in sorted(groups) for o in group_options(scheme, groups[scheme], self.classes)]

        counts = self.cache.counts()
        return {"total": len(sel), "offset": offset, "items": [self.summary_of(e) for e in sel[offset:offset + limit]],
                "counts": counts, "pairs": list(counts), "source_groups": options(src), "target_groups": options(tgt)}

    def next_after(self, key: ItemKey, order: tuple, f: dict) -> Optional[Entry]:
        """The item after ``key`` (whose queue position was ``order``) in the filtered queue;
        from the top again when it was the last."""
        pair, ok = self._filter(f)
        for after in (order, None):
            e = next((e for e in self.cache.in_order(pair, after) if e.key != key and ok(e)), None)
            if e is not None:
                return e
        return None

    # -- one item ------------------------------------------------------------------
    def _candidate(self, e: Entry, s: LinkState) -> dict:
        k = s.key
        fan = self.cache.fan_in.get((e.pair, k.target_code), 0) - (k.target_code in e.targets)
        return {"code": k.target_code, "title": s.target_title, "score": s.score, "rank": s.rank, "role": s.role,
                "status": s.status, "weight": s.weight, "version": s.version, "origin": s.origin,
                "flags": list(s.flags), "evidence": s.evidence, "comment": s.comment, "others": fan,
                "target": self.describer.describe(k.target_scheme, k.target_code, s.target_title)}

    def relation(self, e: Entry) -> str:
        """1:1, 1:n (a split), n:1 (other items stand for the same target) or n:m, for the
        item's current targets; '' for an item with none."""
        if not e.targets:
            return ""
        many_targets = len(e.targets) > 1
        shared = any(self.cache.fan_in.get((e.pair, t), 0) > 1 for t in e.targets)
        return {(False, False): "1:1", (True, False): "1:n", (False, True): "n:1", (True, True): "n:m"}[
            (many_targets, shared)]

    def history_of(self, store: ReviewStore, key: ItemKey) -> list[dict]:
        # the item's events (its links' and its own) in one indexed read
        con = store._conn()
        rows = con.execute(f"{store._EVENT_SELECT} WHERE source_scheme = ? AND source_code = ? AND target_scheme = ?"
                           " ORDER BY id DESC LIMIT ?", (key.source_scheme, key.source_code, key.target_scheme,
                                                        _HISTORY)).fetchall()
        return [{"id": ev.id, "ts": ev.ts, "reviewer": ev.reviewer, "action": ev.action, "origin": ev.origin,
                 "target": ev.key.target_code if ev.key else "",
                 "detail": {k: v for k, v in sorted(ev.payload.items()) if k in _DETAIL_KEYS}}
                for ev in reversed(store._events(rows))]

    def item_detail(self, store: ReviewStore, key: ItemKey) -> dict:
        from .data import WebError
        e = self.cache.get(key)
        if e is None:
            raise WebError(404, f"no item {key} in the review store")
        self.on_screen[key] = time.monotonic()       # learning leaves it alone while it is shown
        titles = {s.key.target_code: s.target_title for s in e.item.links}
        known = self.titles_of(store, key.target_scheme)
        return {"item": {**self.summary_of(e), "comment": e.item.comment, "relation": self.relation(e)},
                "source": self.describer.describe(key.source_scheme, key.source_code, e.title),
                "candidates": [self._candidate(e, s) for s in e.item.links],
                "similar": self.similar.of(key, e.title, {**known, **titles}),
                "history": self.history_of(store, key)}

    def titles_of(self, store: ReviewStore, scheme: str) -> dict[str, str]:
        """code -> title of every ``scheme`` code the store knows (read once, kept)."""
        got = self._titles.get(scheme)
        if got is None:
            got = self._titles[scheme] = store.items(scheme)
        return got

    # -- one decision ----------------------------------------------------------------
    def _targets(self, store: ReviewStore, key: ItemKey, choice: str, raw: Any) -> tuple:
        from .data import WebError
        if choice not in ("pick", "split"):
            if raw:
                raise WebError(400, f"{choice} takes no targets")
            return ()
        if not isinstance(raw, list) or not raw:
            raise WebError(400, f"{choice} needs targets: [[code, weight or null], …]")
        out = []
        for t in raw:
            if not (isinstance(t, list) and len(t) == 2 and isinstance(t[0], str)):
                raise WebError(400, f"a target is [code, weight or null], not {t!r}")
            w = t[1]
            if w is not None and (isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w)):
                raise WebError(400, f"the weight of {t[0]} must be a number or null, not {w!r}")
            out.append((t[0].strip(), None if w is None else float(w)))
        e = self.cache.get(key)
        cands = {s.key.target_code for s in e.item.links} if e else set()
        new = [c for c, _ in out if c not in cands]
        if new:
            cls = self.classes.get(key.target_scheme)
            missing = [c for c in new if c not in store.known_codes(key.target_scheme)]
            for c in missing:
                if cls is None or c not in cls:
                    raise WebError(400, f"{key.target_scheme} code {c!r} is neither a candidate of this item nor a"
                                        " code the store or the loaded classification knows (a typo?)")
            if missing:   # a code of the classification the server loaded: into the catalogue, title and all
                store.register_items(key.target_scheme, [(c, cls.get(c).title.strip()) for c in missing])
                self._titles.pop(key.target_scheme, None)
        return tuple(out)

    def decide_item(self, store: ReviewStore, body: dict, reviewer: str) -> dict:
        """One item decision (module docstring). Answers {outcome, decided, item, undo, next}; a
        stale version is a 409 carrying the item as it is now."""
        from .data import WebError
        key = parse_item_key(body.get("key"))
        choice = body.get("choice")
        if choice not in CHOICES:
            raise WebError(400, f"choice {choice!r} is not one of {', '.join(CHOICES)}")
        version = body.get("version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise WebError(400, f"version must be the item's version shown (an integer), not {version!r}")
        comment = body.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise WebError(400, f"comment must be text, not {comment!r}")
        f = body.get("next") if isinstance(body.get("next"), dict) else None
        before = self.cache.get(key)
        if before is None:
            raise WebError(404, f"no item {key} in the review store")
        order = before.order
        targets = self._targets(store, key, choice, body.get("targets"))
        origin = "browser:undo" if body.get("undo") and choice == "reopen" else "browser"
        d = ItemDecision(key, choice, version, targets, comment=comment or None, origin=origin)
        res = store.decide_items([d], reviewer=reviewer)
        self.refresh(store)
        if res.invalid:
            raise WebError(400, f"{key}: {res.invalid[0][1]}")
        if res.conflicts:
            raise WebError(409, res.conflicts[0].reason, item=self.item_detail(store, key))
        after = self.cache.get(key)
        if res.applied:
            for hook in self.after_decision:
                hook(after.item, d, reviewer)
        titles = {s.key.target_code: s.target_title for s in after.item.links}
        out: dict[str, Any] = {
            "outcome": "applied" if res.applied else "unchanged", "events": res.events,
            "decided": {"choice": choice, "key": [key.source_scheme, key.source_code, key.target_scheme],
                        "title": after.title,
                        "targets": [{"code": s.key.target_code, "title": titles.get(s.key.target_code, ""),
                                     "weight": s.weight} for s in after.item.links if s.status == "confirmed"]},
            "item": self.summary_of(after), "counts": self.cache.counts()}
        if res.applied and choice != "reopen":
            out["undo"] = {"key": out["decided"]["key"], "version": after.item.version}
        if f is not None:
            nxt = after if choice == "reopen" else self.next_after(key, order, f)
            out["next"] = None if nxt is None else self.item_detail(store, nxt.key)
        return out


__all__ = ["ItemViews", "parse_item_key"]
