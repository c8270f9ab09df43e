"""What the review app shows, computed from the review store and kept current from its event
log (a new event re-reads only the items it touched, :mod:`.itemcache`):

* the item queue, one item in detail and item decisions (:mod:`.itemviews`) — what reviewers
  work through;
* the link queue, one link in detail and link decisions and undos — the blind second review
  and the settling of disagreements, which are verdicts on links;
* suggestions for a typed code (:mod:`.suggest`) and the summary page (:mod:`.summary`).

Writes go through the store's ``decide`` / ``decide_items`` only. Undo is a new decision,
never a deleted event: a link that had a status before gets it back; a link that was pending
is reopened.
"""
from __future__ import annotations

import inspect
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

from ...model import Classification
from ..items import ItemKey
from ..kappa import ReviewIndex, second_review_decision, second_verdict, settle_comment
from ..store import DECISION_ACTIONS, Decision, Event, LinkKey, LinkState, ReviewStore
from ..workbook import link_groups
from .context import Describer
from .groups import section
from .itemcache import ItemCache
from .itemviews import ItemViews
from .similar import Similar
from .suggest import SuggestIndex, labels_of

BANDS = (("high", 0.8, 1.01), ("mid", 0.5, 0.8), ("low", 0.0, 0.5))
REOPEN = "reopen" in DECISION_ACTIONS
MODES = ("review", "second", "settle")
_BLIND = ("status", "comment", "updated_by", "updated_at", "flags", "version_by")
# events a person made (the summary's progress): a retarget's new link is the same decision as
# its old one; a rule's acceptance (auto_accept) is nobody's
_DECISIONS = ("confirm", "reject", "retarget", "add", "no_match")


_QUICK_CHECK = "quick_check" in inspect.signature(ReviewStore.__init__).parameters


class WebError(Exception):
    """A request the app refuses: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.extra = status, extra


def band(score: Optional[float]) -> str:
    if score is None:
        return "none"
    return next(name for name, lo, hi in BANDS if lo <= score < hi)


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


def catalogue_signature(store: ReviewStore, scheme: str) -> tuple[int, int]:
    """Changes when codes of ``scheme`` are added to the store's catalogue or retitled (the
    catalogue is written outside the event log, e.g. by a `review load` while the app runs)."""
    return tuple(store._conn().execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(code) + LENGTH(title)), 0)"
                                       " FROM items WHERE scheme = ?", (scheme,)).fetchone())


def recorded_classifications(store: ReviewStore) -> tuple[dict[str, Classification], list[str]]:
    """The classifications `review load` recorded in the store (their files, where they still
    are), so definitions and hierarchy show without --data; and a note per file not used."""
    from ...loaders import load
    classes: dict[str, Classification] = {}
    notes: list[str] = []
    loaded: dict[str, Any] = {}
    for scheme, info in sorted(store.schemes().items()):
        where = info.get("source") or ""
        if not where or scheme == "text":
            continue
        if not Path(where).is_file():
            notes.append(f"{scheme}: {where} is not there any more; its texts are not shown")
            continue
        try:
            res = loaded[where] if where in loaded else loaded.setdefault(where, load(where))
        except Exception as exc:    # a file that changed since: the app works without its texts
            notes.append(f"{scheme}: {where} could not be read ({type(exc).__name__}: {exc})")
            loaded[where] = None
            continue
        if res is None:
            continue
        found = [c for c in [res.data, *res.extra.values()] if isinstance(c, Classification) and c.scheme.id == scheme]
        if found:
            c = found[0]
            if info.get("edition") and c.edition and c.edition != info["edition"]:
                notes.append(f"{scheme}: {where} now holds edition {c.edition!r}, the store was loaded from"
                             f" {info['edition']!r}; its texts are not shown")
                continue
            classes[scheme] = _joined(c, scheme, info.get("joined") or "", loaded, notes)
    return classes, notes


def _joined(cls: Classification, scheme: str, joined: str, loaded: dict, notes: list[str]) -> Classification:
    """``cls`` with the files the build joined into it (their codes and texts), as the build had it."""
    from ...loaders import load
    from ...loaders.combine import combine
    for where in filter(None, joined.splitlines()):
        if not Path(where).is_file():
            notes.append(f"{scheme}: {where} is not there any more; the texts it added are not shown")
            continue
        try:
            res = loaded[where] if where in loaded else loaded.setdefault(where, load(where))
        except Exception as exc:    # as above: the app works without its texts
            notes.append(f"{scheme}: {where} could not be read ({type(exc).__name__}: {exc})")
            loaded[where] = None
            continue
        if res is not None and isinstance(res.data, Classification) and res.data.scheme.id == scheme:
            cls, _ = combine(cls, res.data)
    return cls


class Model(ItemViews):
    """The store's items, links and review facts, current to the last event (thread-safe:
    one request at a time reads or updates it)."""

    def __init__(self, store_path: str, *, allow_network_fs: bool = False,
                 classifications: Optional[dict[str, Classification]] = None):
        self.store_path = store_path
        self.allow_network_fs = allow_network_fs
        self.lock = threading.RLock()
        self.classes: dict[str, Classification] = dict(classifications or {})
        # none given (no --data): read those the store names, in the background (prepare_in_background)
        self.load_recorded = not classifications
        self.notes: list[str] = []
        self.index = ReviewIndex()
        self.cache = ItemCache(self.classes)
        self.similar = Similar()
        self.cache.watchers.append(self.similar.watch)
        self.cache.watchers.append(self._watch_suggest)
        self.describer = Describer(self.classes)
        self.suggesters: dict[str, SuggestIndex] = {}
        self._titles: dict[str, dict[str, str]] = {}  # scheme -> code -> title the store knows
        self.progress: dict[str, list[str]] = {}     # reviewer -> times of their decisions
        self._last_decision: tuple = ()
        self.text_rows_sig: tuple[int, int] = (0, 0)
        self.loaded = False
        self._groups: Optional[dict[LinkKey, tuple[int, str]]] = None
        # called after each applied item decision with (item after it, the decision, reviewer):
        # where the matcher learns from reviewers (queue the work; never block the request)
        self.after_decision: list = []
        self.on_screen: dict = {}                    # ItemKey -> when a reviewer last opened it

    def shown_items(self, within: float = 900.0) -> list:
        """Items a reviewer opened in the last ``within`` seconds: re-ranking them under the
        reviewer's eyes would turn their decision into a conflict."""
        now = time.monotonic()
        return [k for k, t in list(self.on_screen.items()) if now - t <= within]

    def open(self, check: bool = False) -> ReviewStore:
        # one connection per request: a ReviewStore is not shared between threads; a store that
        # checks its pages on open (quick_check) does so once at start (check), not per request
        kw = {"quick_check": check} if _QUICK_CHECK else {}
        return ReviewStore(self.store_path, create=False, allow_network_fs=self.allow_network_fs, **kw)

    # -- keeping current -------------------------------------------------------
    def refresh(self, store: ReviewStore) -> None:
        with self.lock:
            sig = store.text_rows_signature()     # counts recorded by `crosswalk code` meanwhile
            top = None
            if not self.loaded:
                # the cache reads the links' state itself: of the history, only what is no proposal
                # matters here (a long review's learning leaves hundreds of thousands of proposals)
                top = store.last_event_id()
                new = store.events(self.index.last_id, exclude=("propose",))
                self.cache.load(store)
                self.loaded = True
                self.prepare_in_background()
            else:
                new = store.events(self.index.last_id)
                if new:
                    self.cache.update(store, new)
            if sig != self.text_rows_sig:
                self.cache.set_text_rows(store.text_rows())
                self.text_rows_sig = sig
            if new:
                self.index.feed(new)
                self._progress(new)
                self._groups = None
            if top is not None:
                self.index.last_id = max(self.index.last_id, top)   # the proposals up to here are read

    def _progress(self, events: list[Event]) -> None:
        """Count decisions, not events: an item decision's events (its confirms, the settled
        rejections of its other candidates) are one decision."""
        for e in events:
            human = e.action in _DECISIONS and not (e.action == "retarget" and e.payload.get("role") == "new")
            if e.payload.get("item_decision"):
                k = e.key or LinkKey(*e.item, "")
                once = (e.reviewer, e.ts, k.source_scheme, k.source_code, k.target_scheme)
                if once == self._last_decision or e.payload.get("settled"):
                    continue
                self._last_decision = once
            if human or second_verdict(e) is not None:
                self.progress.setdefault(e.reviewer, []).append(e.ts)

    def set_classifications(self, classes: dict[str, Classification], notes: list[str] = ()) -> None:
        with self.lock:
            self.classes = dict(classes)
            self.cache.classes = self.classes
            self.describer = Describer(self.classes)
            self.suggesters = {}
            self.notes = list(notes)
            # entries keep their groups: the top groups come from codes alone (OKVED2 sections from
            # the standard's division ranges), so a hierarchy read later changes none of them

    def prepare_in_background(self) -> threading.Thread:
        """Read the classifications the store names (unless given) and build the suggestion
        indexes of the schemes reviewers link to, without holding up the first page."""

        def run():
            try:
                with self.open() as store:
                    if self.load_recorded:
                        classes, notes = recorded_classifications(store)
                        for n in notes:
                            print(f"crosswalk review serve: {n}", file=sys.stderr)
                        if classes or notes:
                            self.set_classifications(classes, notes)
                    with self.lock:
                        schemes = sorted({e.key.target_scheme for e in self.cache.entries.values()
                                          if e.item.status == "open"})
                    for scheme in schemes:
                        self.warm_suggester(store, scheme)
            except Exception as exc:     # the app works without them; say why once
                print(f"crosswalk review serve: texts and suggestions not prepared: {type(exc).__name__}: {exc}",
                      file=sys.stderr)

        t = threading.Thread(target=run, name="crosswalk-prepare", daemon=True)
        self._prepare = t
        t.start()
        return t

    def warm_suggester(self, store: ReviewStore, scheme: str) -> None:
        """Build a suggestion index outside the lock; install it unless one came first."""
        with self.lock:
            if scheme in self.suggesters:
                return
            classes = self.classes
        sig = catalogue_signature(store, scheme)
        titles = store.items(scheme)
        idx = SuggestIndex(scheme, labels_of(scheme, titles, classes), titles)
        idx.signature = sig
        with self.lock:
            if scheme in self.suggesters or classes is not self.classes:
                return
            self._adopt(idx)

    def _adopt(self, idx: SuggestIndex) -> None:
        for e in self.cache.entries.values():
            if e.key.target_scheme == idx.scheme and e.item.status == "decided":
                for t in e.targets:
                    idx.add_decided(t, e.title)
        self.suggesters[idx.scheme] = idx

    def wait_prepared(self, timeout: Optional[float] = None) -> None:
        """For tests and benchmarks: until the background preparation is done."""
        t = getattr(self, "_prepare", None)
        if t is not None:
            t.join(timeout)

    # -- links (the second review and the settling of disagreements) -----------
    def all_links(self):
        for e in self.cache.entries.values():
            yield from e.item.links

    def _entry_of(self, k: LinkKey):
        return self.cache.get(ItemKey(k.source_scheme, k.source_code, k.target_scheme))

    def link(self, key: LinkKey) -> Optional[LinkState]:
        e = self._entry_of(key)
        return None if e is None else next((s for s in e.item.links if s.key == key), None)

    def source_links(self, key: LinkKey) -> list[LinkState]:
        """The candidates of the link's item, best score first."""
        e = self._entry_of(key)
        lns = list(e.item.links) if e is not None else []
        lns.sort(key=lambda s: (-(s.score if s.score is not None else -1.0), s.key.sort_key()))
        return lns

    @property
    def groups(self) -> dict[LinkKey, tuple[int, str]]:
        """Cardinality groups of the current links (computed when a link view needs them)."""
        if self._groups is None:
            self._groups = link_groups(list(self.all_links()))
        return self._groups

    def rows(self, k: LinkKey) -> Optional[int]:
        """Data rows a free-text source covers (None for a classification item)."""
        return self.cache.text_rows.get(k.source_code, 0) if k.source_scheme == "text" else None

    # -- the link queue --------------------------------------------------------
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
        links = list(self.all_links())
        pairs = sorted({(s.key.source_scheme, s.key.target_scheme) for s in links})
        sel = [s for s in links if not pair or f"{s.key.source_scheme}:{s.key.target_scheme}" == pair]
        in_pair = sel
        if mode == "second":   # decided by someone else (a person: not a published table's or a
            # same-code rule's acceptance), not yet second-reviewed
            sel = [s for s in sel if s.status != "pending" and s.key in idx and idx[s.key].decided_by
                   and idx[s.key].decided_by != reviewer and not idx[s.key].second_at
                   and s.origin not in ("official", "structure")]
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
        order = {}
        for s in sel:
            k = _src(s.key)
            if k not in order:
                e = self._entry_of(s.key)
                order[k] = (-(self.rows(s.key) or 0), e.gap, e.top, k)
        sel.sort(key=lambda s: (order[_src(s.key)], -(s.score if s.score is not None else -1.0), s.key.sort_key()))
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
        d = self.describer.describe(scheme, code, title)
        texts = [d["definition"]] + [f"{t['name']}: {t['text']}" for t in d["texts"]]
        rel = d.get("related")
        if rel and not any(texts):
            texts = [rel["definition"]] + [f"{t['name']}: {t['text']}" for t in rel["texts"]]
        return {"scheme": scheme, "code": code, "title": title or d["title"],
                "notes": "\n".join(t for t in texts if t), "path": d["path"]}

    def detail(self, store: ReviewStore, key: LinkKey, reviewer: str, mode: str = "review") -> dict:
        s = self.link(key)
        if s is None:
            raise WebError(404, f"no link {key} in the review store")
        blind = mode == "second"
        cands = [{"target_code": c.key.target_code, "target_title": c.target_title, "score": c.score,
                  "status": "" if blind else c.status, "version": c.version, "current": c.key == key}
                 for c in self.source_links(key)]
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

    def suggester(self, store: ReviewStore, scheme: str) -> SuggestIndex:
        """The suggestion index of ``scheme``'s codes, built on first use."""
        idx = self.suggesters.get(scheme)
        sig = catalogue_signature(store, scheme)
        if idx is None or idx.signature != sig:    # items added to the catalogue since (review load)
            self._titles.pop(scheme, None)
            titles = self.titles_of(store, scheme)
            idx = SuggestIndex(scheme, labels_of(scheme, titles, self.classes), titles)
            idx.signature = sig
            self._adopt(idx)
        return idx

    def _watch_suggest(self, old, new) -> None:
        """A decided item's title becomes a label of the code(s) it went to (and stops being
        one when the item is reopened or decided otherwise); a code first named by a new link
        is found by its title."""
        if new is not None and old is None:
            idx = self.suggesters.get(new.key.target_scheme)
            if idx is not None:
                for s in new.item.links:
                    idx.add_title(s.key.target_code, s.target_title)
        for e, add in ((old, False), (new, True)):
            if e is None or e.item.status != "decided":
                continue
            idx = self.suggesters.get(e.key.target_scheme)
            if idx is not None:
                for t in e.targets:
                    (idx.add_decided if add else idx.remove_decided)(t, e.title)

    def suggest(self, store: ReviewStore, scheme: str, q: str, limit: int = 30) -> dict:
        """Codes for what a reviewer typed (:mod:`.suggest`), each with the label that matched."""
        return self.suggester(store, scheme).search(q, limit=limit)

    def items(self, store: ReviewStore, scheme: str, q: str, limit: int = 30) -> dict:
        """Codes a reviewer may link to: those of ``scheme`` the store knows (and the loaded
        classification's) whose code starts with ``q`` or one of whose labels holds every
        word of it, by lemma or word beginning (:mod:`.suggest`)."""
        got = self.suggester(store, scheme).search(q, limit=limit, all_words=True)
        return {"scheme": scheme, "items": [{"code": it["code"], "title": it["title"]} for it in got["items"]],
                "total": got["total"]}

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
                self._titles.pop(key.target_scheme, None)
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
        before = {k: (lambda ln: ln.status if ln is not None else None)(self.link(k)) for k in touched}
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
            cur = self.link(k)
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
