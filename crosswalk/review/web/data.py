"""What the review app shows, computed from the review store: the queue (ordered by
uncertainty, filtered), one link in detail, and the decisions and undos it sends back.

Writes go through :meth:`ReviewStore.decide` only. Undo is a new decision, never a
deleted event: a link that had a status before gets it back; a link that was pending
gets the opposite of its current status (confirm ↔ reject), because the store has no
action that returns a link to pending — with a ``reopen`` action in
:data:`~crosswalk.review.store.DECISION_ACTIONS` it is reopened instead.
"""
from __future__ import annotations

import threading
from typing import Any, Optional

from ...model import Classification, code_sort_key
from ..kappa import ReviewIndex, second_review_decision, settle_comment
from ..store import DECISION_ACTIONS, Decision, LinkKey, LinkState, ReviewStore
from ..workbook import link_groups

BANDS = (("high", 0.8, 1.01), ("mid", 0.5, 0.8), ("low", 0.0, 0.5))
REOPEN = "reopen" in DECISION_ACTIONS
MODES = ("review", "second", "settle")
_BLIND = ("status", "comment", "updated_by", "updated_at", "flags", "version_by")


class WebError(Exception):
    """A request the app refuses: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.extra = status, extra


def band(score: Optional[float]) -> str:
    if score is None:
        return "none"
    return next(name for name, lo, hi in BANDS if lo <= score < hi)


def section(scheme: str, code: str, classes: dict[str, Classification]) -> str:
    """The top group of a source code: its root item when the classification is loaded
    (OKVED2 01.11 → section A), else the section letter, the 2-digit division of an
    activity code, or the first digit (major group) of an occupation code. Free-text titles
    (scheme ``text``) have no hierarchy: one section, "text"."""
    if scheme == "text":
        return "text"
    c = classes.get(scheme)
    if c is not None and code in c:
        anc = c.ancestors(code)
        return anc[-1].code if anc else code
    if code[:1].isalpha():
        return code[:1]
    return code[:2] if scheme in ("okved2", "nace2", "isic4") else code[:1]


def key_list(k: LinkKey) -> list[str]:
    return [k.source_scheme, k.source_code, k.target_scheme, k.target_code]


def parse_key(value: Any) -> LinkKey:
    if not (isinstance(value, list) and len(value) == 4 and all(isinstance(v, str) and v for v in value)):
        raise WebError(400, f"a link key is [source_scheme, source_code, target_scheme, target_code], not {value!r}")
    return LinkKey(*value)


def state_dict(s: LinkState) -> dict:
    return {"key": key_list(s.key), "status": s.status, "score": s.score, "evidence": s.evidence,
            "origin": s.origin, "weight": s.weight, "comment": s.comment, "source_title": s.source_title,
            "target_title": s.target_title, "version": s.version, "updated_by": s.updated_by,
            "updated_at": s.updated_at, "flags": list(s.flags)}


class Model:
    """The store's links and review facts, cached until the next event (thread-safe)."""

    def __init__(self, store_path: str, *, allow_network_fs: bool = False,
                 classifications: Optional[dict[str, Classification]] = None):
        self.store_path = store_path
        self.allow_network_fs = allow_network_fs
        self.classes = dict(classifications or {})
        # one request at a time reads or rebuilds the cache (a local app: a few reviewers)
        self.lock = threading.RLock()
        self.index = ReviewIndex()
        self.links: list[LinkState] = []
        self.by_key: dict[LinkKey, LinkState] = {}
        self.by_source: dict[tuple, list[LinkState]] = {}
        self.groups: dict[LinkKey, tuple[int, str]] = {}
        self.gap: dict[tuple, tuple[float, float]] = {}
        self.text_rows: dict[str, int] = {}     # free-text title -> data rows it covers
        self.text_rows_sig: tuple[int, int] = (0, 0)

    def open(self, check: bool = False) -> ReviewStore:
        # one connection per request: a ReviewStore is not shared between threads; the page
        # check (quick_check) runs once when the server starts, not on every request
        return ReviewStore(self.store_path, create=False, allow_network_fs=self.allow_network_fs,
                           quick_check=check)

    def refresh(self, store: ReviewStore) -> None:
        with self.lock:
            new = store.events(self.index.last_id)
            sig = store.text_rows_signature()     # counts recorded by `crosswalk code` meanwhile
            if sig != self.text_rows_sig:
                self.text_rows, self.text_rows_sig = store.text_rows(), sig
            if not new and self.links:
                return
            self.index.feed(new)
            self.links = store.links()
            self.by_key = {s.key: s for s in self.links}
            self.by_source = {}
            for s in self.links:
                self.by_source.setdefault(_src(s.key), []).append(s)
            for lns in self.by_source.values():
                lns.sort(key=lambda s: (-(s.score if s.score is not None else -1.0), s.key.sort_key()))
            self.groups = link_groups(self.links)
            # uncertainty of a source: a small gap between its two best open candidates, a low top score
            self.gap = {}
            for src, lns in self.by_source.items():
                sc = [s.score or 0.0 for s in lns if s.status != "rejected"] or [0.0]
                self.gap[src] = (sc[0] - (sc[1] if len(sc) > 1 else 0.0), sc[0])

    # -- the queue -------------------------------------------------------------
    def rows(self, k: LinkKey) -> Optional[int]:
        """Data rows a free-text source covers (None for a classification item)."""
        return self.text_rows.get(k.source_code, 0) if k.source_scheme == "text" else None

    def item(self, s: LinkState, blind: bool) -> dict:
        k = s.key
        d = {"key": key_list(k), "source_title": s.source_title, "target_title": s.target_title,
             "score": s.score, "status": s.status, "version": s.version, "updated_by": s.updated_by,
             "section": section(k.source_scheme, k.source_code, self.classes),
             "cardinality": self.groups.get(k, (0, "-"))[1], "band": band(s.score),
             "rows": self.rows(k)}
        if blind:
            for f in _BLIND:
                d.pop(f, None)
            d["status"] = ""
        return d

    def queue(self, reviewer: str, mode: str = "review", *, pair: str = "", status: str = "pending",
              band_: str = "", cardinality: str = "", section_: str = "", by: str = "", q: str = "",
              offset: int = 0, limit: int = 200) -> dict:
        if mode not in MODES:
            raise WebError(400, f"mode {mode!r} is not one of {', '.join(MODES)}")
        idx = self.index.links
        pairs = sorted({(s.key.source_scheme, s.key.target_scheme) for s in self.links})
        sel = [s for s in self.links if not pair or f"{s.key.source_scheme}:{s.key.target_scheme}" == pair]
        in_pair = sel
        if mode == "second":   # decided by someone else, not yet second-reviewed
            sel = [s for s in sel if s.status != "pending" and s.key in idx and idx[s.key].decided_by
                   and idx[s.key].decided_by != reviewer and not idx[s.key].second_at]
        elif mode == "settle":
            sel = [s for s in sel if s.key in idx and idx[s.key].open_disagreement]
        elif status:
            sel = [s for s in sel if s.status == status]
        if band_:
            sel = [s for s in sel if band(s.score) == band_]
        if cardinality:
            sel = [s for s in sel if self.groups.get(s.key, (0, "-"))[1] == cardinality]
        if section_:
            sel = [s for s in sel if section(s.key.source_scheme, s.key.source_code, self.classes) == section_]
        if by and mode != "second":
            sel = [s for s in sel if s.updated_by == by]
        if q:
            ql = q.casefold()
            sel = [s for s in sel if ql in s.key.source_code.casefold() or ql in s.key.target_code.casefold()
                   or ql in s.source_title.casefold() or ql in s.target_title.casefold()]
        # free-text titles covering the most data rows first, then the most uncertain sources
        sel.sort(key=lambda s: (-(self.rows(s.key) or 0), *self.gap[_src(s.key)], _src(s.key),
                                -(s.score if s.score is not None else -1.0), s.key.sort_key()))
        blind = mode == "second"
        counts = {st: 0 for st in ("pending", "confirmed", "rejected")}
        for s in in_pair:
            counts[s.status] += 1
        return {
            "total": len(sel), "offset": offset,
            "items": [self.item(s, blind) for s in sel[offset:offset + limit]],
            "progress": {"total": len(in_pair), **counts},
            "pairs": [f"{a}:{b}" for a, b in pairs],
            "sections": sorted({section(s.key.source_scheme, s.key.source_code, self.classes) for s in in_pair}),
            "reviewers": sorted({s.updated_by for s in in_pair if s.updated_by}),
        }

    # -- one link --------------------------------------------------------------
    def _side(self, scheme: str, code: str, title: str) -> dict:
        out = {"scheme": scheme, "code": code, "title": title, "notes": "", "path": []}
        c = self.classes.get(scheme)
        if c is not None and code in c:
            it = c.get(code)
            out["title"] = title or it.title
            notes = [it.notes] + [f"{k}: {v}" for k, v in sorted(it.attrs.items())
                                  if k in ("tasks", "included", "excluded") and v]
            out["notes"] = "\n".join(n for n in notes if n)
            out["path"] = [{"code": a.code, "title": a.title} for a in reversed(c.ancestors(code))]
        return out

    def detail(self, store: ReviewStore, key: LinkKey, reviewer: str, mode: str = "review") -> dict:
        s = self.by_key.get(key)
        if s is None:
            raise WebError(404, f"no link {key} in the review store")
        blind = mode == "second"
        cands = [{"target_code": c.key.target_code, "target_title": c.target_title, "score": c.score,
                  "status": "" if blind else c.status, "version": c.version, "current": c.key == key}
                 for c in self.by_source.get(_src(key), [])]
        out = {"link": self.item(s, blind), "evidence": s.evidence, "candidates": cands,
               "source": self._side(key.source_scheme, key.source_code, s.source_title),
               "target": self._side(key.target_scheme, key.target_code, s.target_title)}
        if not blind:
            out["link"].update(comment=s.comment, flags=list(s.flags), updated_at=s.updated_at,
                               weight=s.weight, origin=s.origin)
            out["history"] = [{"id": e.id, "ts": e.ts, "reviewer": e.reviewer, "action": e.action,
                               "origin": e.origin,
                               "detail": {k: v for k, v in sorted(e.payload.items()) if k in (
                                   "comment", "weight", "new_target", "replaces", "score", "verdict")}}
                              for e in store.history(key)]
            r = self.index.links.get(key)
            if r is not None and r.second:
                out["second_review"] = {"first": r.first, "first_by": r.first_by, "second": r.second,
                                        "second_by": r.second_by, "open": r.open_disagreement}
        return out

    def items(self, store: ReviewStore, scheme: str, q: str, limit: int = 30) -> dict:
        """Codes a reviewer may retarget to: those of ``scheme`` the store knows (and the
        loaded classification's), whose code starts with ``q`` or whose title holds every
        word of it (case and ё ignored), in code order."""
        known = store.items(scheme)
        cls = self.classes.get(scheme)
        if cls is not None:
            for it in cls:
                known.setdefault(it.code, it.title)
        words = q.casefold().replace("ё", "е").split()
        hits = [(c, t) for c, t in known.items()
                if not words or c.startswith(q.strip()) or all(w in t.casefold().replace("ё", "е") for w in words)]
        hits.sort(key=lambda ct: code_sort_key(ct[0]))
        return {"scheme": scheme, "items": [{"code": c, "title": t.strip()} for c, t in hits[:limit]],
                "total": len(hits)}

    # -- writes ----------------------------------------------------------------
    def decide(self, store: ReviewStore, body: dict, reviewer: str) -> dict:
        key = parse_key(body.get("key"))
        action = body.get("action")
        version = body.get("version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise WebError(400, f"version must be the link version shown (an integer), not {version!r}")
        comment = body.get("comment") or None
        if action in ("confirm", "reject"):
            decisions = [Decision(key, action, version, comment=comment, origin="browser")]
        elif action == "retarget":
            new = body.get("new_target")
            cls = self.classes.get(key.target_scheme)
            if isinstance(new, str) and new not in store.known_codes(key.target_scheme):
                if cls is None or new not in cls:
                    raise WebError(400, f"{key.target_scheme} code {new!r} is in no link and no item of the"
                                   " store (a typo?)")
                # a code of the classification the server loaded: into the catalogue, title and all
                store.register_items(key.target_scheme, [(new, cls.get(new).title.strip())])
            # the version of the new target's link the page showed (null: no such link then)
            seen = body.get("target_version")
            if seen is not None and (isinstance(seen, bool) or not isinstance(seen, int)):
                raise WebError(400, f"target_version must be the version shown of the new target's link"
                                    f" (an integer) or null, not {seen!r}")
            decisions = [Decision(key, "retarget", version, new_target=new, comment=comment, origin="browser",
                                  target_version=seen)]
        elif action == "second":   # the store refuses a second review by the link's decider
            try:
                decisions = [second_review_decision(key, body.get("verdict"), version)]
            except ValueError as exc:
                raise WebError(400, str(exc)) from None
        elif action == "settle":
            verdict = body.get("verdict")
            if verdict not in ("confirm", "reject"):
                raise WebError(400, f"settle verdict {verdict!r} is not confirm or reject")
            decisions = [Decision(key, verdict, version, comment=settle_comment(verdict), origin="browser:settle")]
        else:
            raise WebError(400, f"action {action!r} is not confirm, reject, retarget, second or settle")
        touched = [key]
        if action == "retarget" and isinstance(body.get("new_target"), str):
            touched.append(LinkKey(key.source_scheme, key.source_code, key.target_scheme, body["new_target"]))
        before = {k: self.by_key[k].status if k in self.by_key else None for k in touched}
        if action == "second":     # blind: neither the answer nor a conflict shows the first decision
            try:
                res = self._apply(store, decisions, reviewer)
            except WebError as exc:
                if exc.status == 409:
                    raise WebError(409, f"{key}: the link changed since you saw it; it is shown again",
                                   current=None) from None
                raise
            res["links"] = [{"key": ln["key"], "version": ln["version"]} for ln in res["links"]]
        else:
            res = self._apply(store, decisions, reviewer)
        if res["outcome"] == "applied" and action in ("confirm", "reject", "retarget"):
            res["undo"] = [{"key": key_list(k), "before": before[k], "version": store.get(k).version}
                           for k in touched]
        return res

    def undo(self, store: ReviewStore, body: dict, reviewer: str) -> dict:
        """Restore what one decision changed, by new decisions checked against the versions
        the decision left (someone deciding since → conflict, nothing changed)."""
        steps = body.get("steps")
        if not isinstance(steps, list) or not steps:
            raise WebError(400, "undo needs steps: [{key, before, version}] as the decision returned them")
        decisions = []
        for st in steps:
            if not isinstance(st, dict):
                raise WebError(400, f"an undo step is an object, not {st!r}")
            k = parse_key(st.get("key"))
            v = st.get("version")
            if isinstance(v, bool) or not isinstance(v, int):
                raise WebError(400, f"undo step version must be an integer, not {v!r}")
            cur = self.by_key.get(k)
            if cur is None:
                raise WebError(404, f"no link {k} in the review store")
            before = st.get("before")
            if before is not None and before not in ("pending", "confirmed", "rejected"):
                raise WebError(400, f"undo step before must be pending, confirmed, rejected or null, not {before!r}")
            if before in ("confirmed", "rejected"):
                action = "confirm" if before == "confirmed" else "reject"
            elif REOPEN:
                action = "reopen"
            else:  # no way back to pending: the inverse decision
                action = "reject" if cur.status == "confirmed" else "confirm"
            decisions.append(Decision(k, action, v, comment="undo", origin="browser:undo"))
        # all or nothing: a conflict on one link of a retarget must not half-undo it
        return self._apply(store, decisions, reviewer, all_or_nothing=True)

    def _apply(self, store: ReviewStore, decisions: list[Decision], reviewer: str, *,
               all_or_nothing: bool = False) -> dict:
        res = store.decide(decisions, reviewer=reviewer, all_or_nothing=all_or_nothing)
        self.refresh(store)
        if res.invalid:
            raise WebError(400, "; ".join(f"{d.key}: {why}" for d, why in res.invalid))
        if res.conflicts:
            c = res.conflicts[0]
            raise WebError(409, f"{c.decision.key}: {c.reason}",
                           current=None if c.current is None else state_dict(c.current))
        keys = list(dict.fromkeys(d.key for d in decisions))
        return {"outcome": "applied" if res.applied else "unchanged",
                "links": [state_dict(store.get(k)) for k in keys]}


def _src(k: LinkKey) -> tuple:
    return (k.source_scheme, k.target_scheme, k.source_code)


__all__ = ["BANDS", "MODES", "Model", "REOPEN", "WebError", "band", "parse_key", "section", "state_dict"]
