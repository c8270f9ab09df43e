"""The matcher learns while people review: after each decision, the items still waiting are
re-ranked in the background from everything reviewers have confirmed.

**What teaches.** Every decided item's confirmed codes (an accepted proposal, a picked or
typed code, each code of a split; not the links a rule accepted: official tables, the same
code) are a coding index that grows (review/taught.py): an open
item's learned score for a code is its similarity to the nearest confirmed title of that
code. "No correspondence" teaches nothing: the store cannot propose "no correspondence", and
an item resembling one that has none may still have one.

**How an item is re-scored.** A pass never re-runs the matcher. Each candidate keeps the
score the build gave it (the latest ``propose`` event not written by learning) and gains
what reviewers taught, as a noisy-or: ``score = base + (1 − base) · strength · learned``.
Where nothing was learned the score is the build's, so scores stay on one scale across the
queue. A code reviewers taught that is not among the item's candidates joins them with the
matcher's own score for it when the matcher ranked it among its ``wide`` best (computed
once, with the classifications), else with the learned part alone. The candidates are
ranked by score, then the build's rank, then code.

**What is written.** Only items whose proposal or candidates (the first ``n`` by score, ``n``
being as many as the build proposed) change get ``propose`` events (origin ``learning``),
for the links whose rank, role, score or evidence change (an order of the alternatives
alone is not worth an event) — never a decided item, never a
rejected link, never an item a reviewer has on screen (``skip``), and never an item that
changed since the pass read it (checked inside the write transaction). Writes go in short
transactions of ``batch`` items through the store's busy timeout, so a reviewer's decision
waits at most one batch. Learning withdrawn (an undo) restores the build's ranking.

**Incremental.** The first pass reads the store and the build's scores; later passes read
only the events since, and re-rank only the items whose learned scores changed (a new
confirmed title reaches the items that resemble it, review/taught.py) or whose links
changed. Each item's proposal and candidates depend on the set of decisions alone, not on
their order or the passes they came in.
"""
from __future__ import annotations

import json
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Optional, Sequence

from ..model import Classification, code_sort_key
from .items import ItemKey, read_item
from .store import ACCEPT_RULES, LinkKey, LinkState, ReviewStore, StoreError, _proposal
from .taught import FLOOR, MemoEmbedder, Taught, source_classification

ORIGIN = "learning"
# learned evidence counts this much of the room a base score leaves (chosen on an ESCO tuning
# split disjoint from the benchmark's hold-out: benchmarks/review_sim.py, README)
STRENGTH = 0.9
WIDE = 20           # the matcher's best candidates per item kept for codes reviewers teach
BATCH = 200         # items written per transaction


@dataclass
class PassResult:
    """What one pass did."""
    pairs: dict[str, dict] = field(default_factory=dict)   # "src→tgt" -> counts
    events: int = 0             # propose events written
    changed: int = 0            # items whose ranking changed (written)
    checked: int = 0            # open items re-ranked in memory
    held: int = 0               # items skipped: on a reviewer's screen, or changed meanwhile
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)


@dataclass
class _Base:
    """A candidate's score before learning: the build's (or the wide matcher's)."""
    score: float
    evidence: dict
    rank: int
    flags: tuple = ()


class _Pair:
    """What the re-ranker keeps of one scheme pair between passes."""

    def __init__(self, source_scheme: str, target_scheme: str):
        self.s, self.t = source_scheme, target_scheme
        self.items: dict[str, object] = {}                 # source code -> Item (review/items.py)
        self.base: dict[tuple[str, str], _Base] = {}       # (source, target) -> the build's proposal
        self.wide: Optional[dict[str, dict[str, _Base]]] = None
        self.taught: Optional[Taught] = None
        self.titles: dict[str, str] = {}                   # source code -> title
        self.target_titles: Optional[dict[str, str]] = None

    @property
    def name(self) -> str:
        return f"{self.s}→{self.t}"


class Reranker:
    """Re-ranks the open items of a review store from reviewers' confirmed decisions.

    ``classifications``: scheme -> Classification (titles, word weights, and the matcher's
    wider candidates); without them the store's titles and candidates are used.
    ``indexes``: coding indexes the build used. ``candidates``: (source, target) -> the
    CandidateSet the matcher gave already (with ``wide`` or more per item), not matched again.
    ``embedding_model``: "e5" etc. for meaning
    (None: words and spelling only). ``skip()``: the item keys reviewers have on screen now.

    ``run_once()`` makes one pass (synchronously); ``notify()`` (any arguments, so it can be
    the app's after-decision hook) asks for a pass in a background thread, ``debounce``
    seconds after the last call; ``wait()`` waits until no pass is due; ``close()`` stops."""

    def __init__(self, store_path, classifications: Optional[Mapping[str, Classification]] = None,
                 indexes: Sequence = (), *, embedding_model: Optional[str] = None, embedder=None,
                 pairs: Optional[Iterable[tuple[str, str]]] = None, strength: float = STRENGTH,
                 floor: float = FLOOR, wide: int = WIDE, batch: int = BATCH, debounce: float = 0.5,
                 reviewer: str = "crosswalk", skip: Optional[Callable[[], Iterable[ItemKey]]] = None,
                 allow_network_fs: bool = False, log: Optional[Callable[[str], None]] = None,
                 candidates: Optional[Mapping[tuple[str, str], object]] = None):
        if not 0.0 <= strength <= 1.0 or not 0.0 <= floor < 1.0:
            raise StoreError(f"strength must lie in [0, 1] and floor in [0, 1), not {strength}, {floor}")
        self.store_path = str(store_path)
        self.classes = dict(classifications or {})
        self.indexes = list(indexes)
        self.embedding_model = embedding_model
        self._embedder = embedder
        self.only = set(pairs) if pairs is not None else None
        self.strength, self.floor, self.wide, self.batch = strength, floor, wide, batch
        self.debounce = debounce
        self.reviewer = reviewer
        self.skip = skip
        self.allow_network_fs = allow_network_fs
        self.log = log or (lambda msg: None)
        self.pairs: dict[tuple[str, str], _Pair] = {}
        self.candidates = dict(candidates or {})    # (source, target) -> CandidateSet matched already
        self.last_event = 0
        self.last: Optional[PassResult] = None
        self.errors: list[str] = []
        self._run_lock = threading.Lock()
        self._cv = threading.Condition()
        self._due: Optional[float] = None
        self._busy = False
        self._stop = False
        self._thread: Optional[threading.Thread] = None
        self._checked = False

    # -- the background thread ------------------------------------------------------
    def notify(self, *_args, **_kw) -> None:
        """A decision was made: re-rank ``debounce`` seconds after the last notice (never blocks)."""
        with self._cv:
            if self._stop:
                return
            self._due = time.monotonic() + self.debounce
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="crosswalk-reranker", daemon=True)
                self._thread.start()
            self._cv.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._stop and (self._due is None or time.monotonic() < self._due):
                    self._cv.wait(None if self._due is None else max(0.0, self._due - time.monotonic()))
                if self._stop:
                    return
                self._due, self._busy = None, True
            try:
                self.run_once()
            except Exception as exc:       # the app goes on without learning; the error is kept
                self.errors.append(f"{type(exc).__name__}: {exc}")
                self.log("re-ranking failed: " + "".join(traceback.format_exception_only(type(exc), exc)).strip())
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait until no pass is due or running; False if ``timeout`` passed first."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while self._due is not None or self._busy:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def close(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def __enter__(self) -> "Reranker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- one pass ----------------------------------------------------------------------
    def run_once(self) -> PassResult:
        """Bring every open item's ranking up to the decisions in the store now."""
        with self._run_lock:
            t0 = time.perf_counter()
            res = PassResult()
            with ReviewStore(self.store_path, create=False, allow_network_fs=self.allow_network_fs,
                             quick_check=not self._checked) as store:
                self._checked = True
                touched = self._read(store, res)
                t1 = time.perf_counter()
                res.stages["read"] = round(t1 - t0, 4)
                plans = []
                for key in sorted(self.pairs):
                    pair = self.pairs[key]
                    if not any(it.status == "open" for it in pair.items.values()):
                        continue
                    plans += self._rerank(pair, touched.get(key, set()), res)
                t2 = time.perf_counter()
                res.stages["rerank"] = round(t2 - t1, 4)
                self._write(store, plans, res)
                res.stages["write"] = round(time.perf_counter() - t2, 4)
            res.seconds = round(time.perf_counter() - t0, 4)
            self.last = res
            return res

    # reading ---------------------------------------------------------------------------
    def _read(self, store: ReviewStore, res: PassResult) -> dict[tuple[str, str], set[str]]:
        """The store's items (all of them the first time, then those events touched since)
        and the build's scores; returns pair -> source codes touched."""
        touched: dict[tuple[str, str], set[str]] = {}
        with store._read() as con:
            last = con.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
            if last == self.last_event:
                return touched
            first = self.last_event == 0
            rows = con.execute(
                "SELECT source_scheme, source_code, target_scheme, target_code, action, origin, payload FROM events"
                " WHERE id > ? AND id <= ? AND source_code IS NOT NULL ORDER BY id", (self.last_event, last))
            for s, sc, t, tc, action, origin, payload in rows:
                if self.only is not None and (s, t) not in self.only:
                    continue
                touched.setdefault((s, t), set()).add(sc)
                if action == "propose" and origin != ORIGIN and tc is not None:
                    p = json.loads(payload)
                    pair = self.pairs.get((s, t)) or self.pairs.setdefault((s, t), _Pair(s, t))
                    pair.base[sc, tc] = _Base(p.get("score") or 0.0, dict(p.get("evidence") or {}),
                                              p.get("rank") or 1 << 20, tuple(p.get("flags") or ()))
            for (s, t), codes in touched.items():
                pair = self.pairs.setdefault((s, t), _Pair(s, t))
                if first:
                    from .items import item_of
                    by: dict[str, list[LinkState]] = {}
                    states = {}
                    for r in con.execute("SELECT source_code, status, comment, version, updated_by, updated_at"
                                         " FROM item_state WHERE source_scheme = ? AND target_scheme = ?", (s, t)):
                        states[r[0]] = dict(zip(("status", "comment", "version", "updated_by", "updated_at"), r[1:]))
                    for st in store.links(source_scheme=s, target_scheme=t):
                        by.setdefault(st.key.source_code, []).append(st)
                    for sc, links in by.items():
                        pair.items[sc] = item_of(links, states.get(sc), ItemKey(s, sc, t))
                else:
                    for sc in codes:
                        pair.items[sc] = read_item(con, ItemKey(s, sc, t))
            self.last_event = last
        return touched

    # re-ranking ------------------------------------------------------------------------
    def _rerank(self, pair: _Pair, touched: set[str], res: PassResult) -> list:
        t0 = time.perf_counter()
        open_ = {c for c, it in pair.items.items() if it.status == "open" and it.links}
        # what people decided: links accepted by a rule (a published table, the same code) are
        # where the build was sure already, and teaching from them would re-rank items nobody decided
        entries = {(c, s.key.target_code) for c, it in pair.items.items() if it.status == "decided"
                   for s in it.links if s.status == "confirmed" and s.origin not in ACCEPT_RULES}
        for c in (touched if pair.titles else pair.items):
            if c in pair.items:
                pair.titles[c] = _title(pair.items[c]) or pair.titles.get(c, "")
        if pair.taught is None or any(not pair.taught.knows(c) for c in touched if c in pair.items):
            pair.taught = self._taught(pair, pair.titles)   # new items (a load meanwhile): start again
        if pair.wide is None:
            pair.wide = self._wide(pair, pair.titles, open_)
        learned_changed = pair.taught.update(entries, open_)
        t1 = time.perf_counter()
        todo = sorted((learned_changed | touched) & open_, key=code_sort_key)
        plans = []
        for c in todo:
            plan = self._plan(pair, pair.items[c])
            if plan is not None:
                plans.append(plan)
        res.checked += len(todo)
        res.pairs[pair.name] = {"open": len(open_), "confirmed": len(entries), "learned_changed": len(learned_changed),
                                "rechecked": len(todo), "to_write": len(plans),
                                "learn_seconds": round(t1 - t0, 4), "rank_seconds": round(time.perf_counter() - t1, 4)}
        return plans

    def _embedder_once(self):
        if self._embedder is None and self.embedding_model:
            self._embedder = MemoEmbedder(model=self.embedding_model)
        elif self._embedder is not None and not isinstance(self._embedder, MemoEmbedder):
            self._embedder = MemoEmbedder(self._embedder)
        return self._embedder

    def _target(self, pair: _Pair) -> Classification:
        cls = self.classes.get(pair.t)
        if cls is not None:
            return cls
        from ..model import Item
        return Classification(pair.t, [Item(c, t or c, 1) for c, t in self._target_titles(pair).items()])

    def _target_titles(self, pair: _Pair) -> dict[str, str]:
        """code -> title of the target scheme: the store's catalogue and links (read once)."""
        if pair.target_titles is None:
            with ReviewStore(self.store_path, create=False, allow_network_fs=self.allow_network_fs,
                             quick_check=False) as store:
                pair.target_titles = store.items(pair.t)
            cls = self.classes.get(pair.t)
            if cls is not None:
                pair.target_titles.update({it.code: it.title for it in cls if it.code not in pair.target_titles})
        return pair.target_titles

    def _context(self, pair: _Pair) -> list[Classification]:
        """Classifications describing the target's codes (ISCO-08 for OKZ-2014, and back)."""
        from ..match.structure import shares_codes
        return [c for k, c in sorted(self.classes.items()) if k not in (pair.s, pair.t) and shares_codes(k, pair.t)]

    def _taught(self, pair: _Pair, titles: dict[str, str]) -> Taught:
        src = self.classes.get(pair.s)
        lang = src.language if src is not None else None
        return Taught(source_classification(pair.s, titles, lang), self._target(pair),
                      target_context=self._context(pair), indexes=self.indexes, embedder=self._embedder_once(),
                      floor=self.floor)

    def _wide(self, pair: _Pair, titles: dict[str, str], open_: set[str]) -> dict[str, dict[str, _Base]]:
        """The matcher's ``wide`` best candidates of every open item (once): the scores of codes
        reviewers teach that the build did not propose. Needs the classifications."""
        out: dict[str, dict[str, _Base]] = {}
        given = self.candidates.get((pair.s, pair.t))
        if given is not None:
            for c in given.candidates:
                if c.rank <= self.wide:
                    out.setdefault(c.source, {})[c.target] = _Base(c.score, dict(c.evidence), c.rank)
            return out
        target = self.classes.get(pair.t)
        if not self.wide or target is None or not open_:
            return {}
        from ..code import code_titles, key_code, title_key
        from ..match import match
        memo = self._embedder_once()
        emb = memo.inner() if memo is not None else None      # index titles once: not kept in memory
        kw = dict(indexes=self.indexes, embeddings=emb is not None, embedder=emb, limit=self.wide)
        if pair.s == "text":
            want = {c: titles[c] for c in open_ if key_code(title_key(titles[c])) == c}
            coding = code_titles(sorted(want.values()), target, context=self._context(pair), min_score=0.0, **kw)
            for code, cands in coding.candidates.items():
                if code in want:
                    out[code] = {x.target: _Base(x.score, dict(x.evidence), x.rank) for x in cands}
            return out
        source = self.classes.get(pair.s)
        if source is None:
            return {}
        if not any(c in source for c in open_):
            return {}
        # the whole classification, as the build matched it (a part would lose the parents the
        # hierarchy signal reads, and a parent its children)
        cset = match(source, target, target_context=self._context(pair), **kw)
        for c in cset.candidates:
            if c.source in open_:
                out.setdefault(c.source, {})[c.target] = _Base(c.score, dict(c.evidence), c.rank)
        return out

    def _plan(self, pair: _Pair, item) -> Optional[tuple]:
        """The propose entries that bring one open item to its ranking now (None: no change)."""
        code = item.key.source_code
        learned = pair.taught.scores.get(code, {})
        live = [s for s in item.links if s.status != "rejected"]
        if not live:
            return None
        shown = [s.key.target_code for s in sorted(live, key=_order)]
        built = {s.key.target_code for s in item.links if (code, s.key.target_code) in pair.base}
        n = max(1, len(built))
        wide = (pair.wide or {}).get(code, {})
        rejected = {s.key.target_code for s in item.links if s.status == "rejected"}
        cands: dict[str, tuple[_Base, float]] = {}
        for t in [*shown, *(t for t in learned if t not in rejected)]:
            if t in cands:
                continue
            b = pair.base.get((code, t)) or wide.get(t) or _Base(0.0, {}, 1 << 20)
            cands[t] = (b, learned.get(t, 0.0))

        def score(t: str) -> float:
            b, l = cands[t]
            return round(b.score + (1.0 - b.score) * self.strength * l, 6)

        ranked = sorted(cands, key=lambda t: (-score(t), cands[t][0].rank, code_sort_key(t)))
        # a code joins the item's links only while it ranks among the first n
        keep = [t for k, t in enumerate(ranked) if t in shown or k < n]
        if keep[0] == shown[0] and set(keep[:n]) == set(shown[:n]):
            return None         # the same proposal and candidates: nothing is written
        return (item.key, item.version, [self._payload(pair, code, t, cands[t], score(t), k)
                                         for k, t in enumerate(keep, 1)])

    @staticmethod
    def _payload(pair: _Pair, code: str, t: str, cand: tuple, score: float, rank: int) -> tuple:
        b, learned = cand
        ev = dict(b.evidence)
        if learned > 0:
            ev["learned"] = round(learned, 4)
        return (LinkKey(pair.s, code, pair.t, t),
                {"score": score, "evidence": ev, "rank": rank, "role": "proposal" if rank == 1 else "alternative",
                 "flags": b.flags})

    # writing ---------------------------------------------------------------------------
    def _write(self, store: ReviewStore, plans: list, res: PassResult) -> None:
        skip = set(self.skip() if self.skip else ())
        titles = {}
        for key, _, _ in plans:
            pk = (key.source_scheme, key.target_scheme)
            if pk not in titles:
                titles[pk] = self._target_titles(self.pairs[pk])
        for i in range(0, len(plans), self.batch):
            chunk = plans[i:i + self.batch]
            ts = store._clock()
            with store._write() as con:
                for key, version, entries in chunk:
                    if key in skip:
                        res.held += 1
                        continue
                    now = read_item(con, key)
                    if now.status != "open" or now.version != version:
                        res.held += 1       # decided or changed since this pass read it
                        continue
                    states = {s.key.target_code: s for s in now.links}
                    n = 0
                    for k, (link, p) in enumerate(entries, 1):
                        cur = states.get(link.target_code)
                        if cur is not None and cur.status == "rejected":
                            continue
                        if cur is not None and _same(cur, link, p):
                            continue
                        entry = {"key": link, "score": p["score"], "evidence": p["evidence"], "rank": p["rank"],
                                 "role": p["role"], "origin": cur.origin if cur is not None else "proposed",
                                 "flags": [f for f in (cur.flags if cur is not None else p["flags"])
                                           if not f.startswith("replaced_by:")],
                                 "source_title": cur.source_title if cur is not None else _title(now),
                                 "target_title": cur.target_title if cur is not None
                                 else titles[link.source_scheme, link.target_scheme].get(link.target_code, "")}
                        _, payload, _ = _proposal(entry, k)
                        state = store._state(con, link)
                        store._record(con, link, "propose", payload, state, ts=ts, reviewer=self.reviewer,
                                      origin=ORIGIN)
                        n += 1
                    if n:
                        res.changed += 1
                        res.events += n


def _order(s: LinkState) -> tuple:
    from .items import candidate_order
    return candidate_order(s)


def _title(item) -> str:
    return next((s.source_title for s in item.links if s.source_title), "")


def _same(cur: LinkState, link: LinkKey, p: dict) -> bool:
    """The link already says what the payload would (rank, role, score, evidence)."""
    return (cur.rank == p["rank"] and (cur.role or "") == p["role"] and cur.score is not None
            and abs(cur.score - p["score"]) < 5e-7 and dict(cur.evidence) == p["evidence"])


def learn_once(store_path, classifications: Optional[Mapping[str, Classification]] = None, indexes: Sequence = (),
               **kw) -> PassResult:
    """One pass of :class:`Reranker` (what `crosswalk review learn` runs)."""
    r = Reranker(store_path, classifications, indexes, **kw)
    try:
        return r.run_once()
    finally:
        r.close()


__all__ = ["ORIGIN", "PassResult", "Reranker", "STRENGTH", "WIDE", "learn_once"]
