"""What reviewers taught the matcher: their confirmed decisions as a coding index that grows.

Each confirmed decision is an entry — the item's title under the code it was confirmed to
(a split: under each of its codes) — and an open item's *learned score* for a code is its
similarity to the nearest entry of that code: match's ``learned`` signal (match/learned.py,
the nearest labelled titles by words, spelling and, with embeddings, meaning), rescaled
above ``floor``, where titles with nothing in common sit (on ESCO labels, pairs of
different codes: median 0.12, 99th percentile 0.27). Below the floor a title teaches
nothing, so a decision reaches the few hundred items that resemble it, not all of them.

Kept incrementally: a new entry is compared with the open items once; an entry withdrawn
(an undo, a changed decision) recomputes the codes it named; an item that opens again is
compared with every entry. A score is a maximum over a set of entries, so it depends on
the decisions alone, never on the order they came in.
"""
from __future__ import annotations

import threading
from typing import Iterable, Optional, Sequence

import numpy as np

from ..index import CodingIndex, indexes_for
from ..match.context import MatchContext
from ..match.learned import LearnedSignal
from ..model import Classification

# above this similarity a confirmed title teaches (chosen on an ESCO tuning split disjoint
# from the benchmark's hold-out: benchmarks/review_sim.py, README)
FLOOR = 0.2
_PAIRS = 4_000_000      # items × entries compared at once (float32 blocks of 16 MB)


class MemoEmbedder:
    """Vectors kept in memory: a pass compares the same titles again and again (the open
    items with each new entry), and the disk cache costs a lookup per title. Given a
    ``model`` name, each thread opens its own :class:`~crosswalk.embeddings.Embedder` (its
    disk cache is an SQLite connection, which stays in the thread that opened it); a given
    ``embedder`` is used as it is."""

    def __init__(self, embedder=None, *, model: Optional[str] = None):
        if embedder is None and model is None:
            raise ValueError("MemoEmbedder needs an embedder or a model name")
        self._given = embedder
        self.model = getattr(embedder, "model", None) if embedder is not None else model
        self._local = threading.local()
        self._memo: dict[tuple[str, str], np.ndarray] = {}
        self._lock = threading.Lock()

    def inner(self):
        """The embedder itself (this thread's), without the memory: for one-off work."""
        if self._given is not None:
            return self._given
        emb = getattr(self._local, "embedder", None)
        if emb is None:
            from ..embeddings import Embedder
            emb = self._local.embedder = Embedder(model=self.model)
        return emb

    def embed(self, texts: Sequence[str], *, kind: str = "passage", progress=None) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if (kind, t) not in self._memo]
            if missing:
                vecs = self.inner().embed(missing, kind=kind, **({"progress": progress} if progress else {}))
                for t, v in zip(missing, vecs):
                    self._memo[kind, t] = v
            if not texts:
                return np.zeros((0, 0), dtype=np.float32)
            return np.stack([self._memo[kind, t] for t in texts])


class _Learned(LearnedSignal):
    """match's learned signal, with what it computes of the open items' titles (their word
    mass, spelling keys and vectors) kept across passes: only the new entries are new."""

    def _source_parts(self, ctx: MatchContext, prep):
        from ..index import natural_order
        from ..match.text import _csr, _mass, item_tokens, weights
        toks = item_tokens(ctx, "source")
        fixed = ctx.cache.get("taught:sources")
        if fixed is None or (prep["vecs"] is not None and fixed[2] is None):
            vecs = None
            if prep["vecs"] is not None:
                vecs = ctx.embed(self.embedder, [natural_order(it.title) for it in ctx.sources], kind="query",
                                 what="titles")
            fixed = ctx.cache["taught:sources"] = (_mass(toks, weights(ctx)),
                                                   np.array([" ".join(sorted(set(d))) for d in toks], dtype=object),
                                                   vecs)
        return (*_csr(toks, prep["vocab"]), *fixed)


class Taught:
    """Learned scores of the open items of one scheme pair.

    ``source``: every item of the pair (open and decided) with its title; ``target``: the
    target classification (its titles and the indexes' weigh the words, as in match)."""

    def __init__(self, source: Classification, target: Classification, *,
                 target_context: Sequence[Classification] = (), indexes: Sequence[CodingIndex] = (),
                 embedder=None, floor: float = FLOOR):
        own = [CodingIndex.from_classification(c) for c in (target, *target_context)
               if any(it.attrs.get("examples") or it.attrs.get("included") for it in c)]
        ixs = indexes_for(target, [*indexes, *(ix for ix in own if len(ix))])
        self.ctx = MatchContext(source, target, target_context=tuple(target_context), indexes=tuple(ixs))
        self.embedder = embedder
        self.floor = floor
        self.entries: set[tuple[str, str]] = set()          # (source code, target code) confirmed
        self.open: set[str] = set()
        self.scores: dict[str, dict[str, float]] = {}        # open item -> code -> learned score

    def knows(self, code: str) -> bool:
        return code in self.ctx.source_index

    def update(self, entries: Iterable[tuple[str, str]], open_items: Iterable[str]) -> set[str]:
        """Bring the scores to ``entries`` (every confirmed (source, target) pair of the
        pair's decided items) for ``open_items``; returns the open items whose scores changed."""
        ctx = self.ctx
        entries = {(s, t) for s, t in entries if s in ctx.source_index and t in ctx.target_index}
        open_items = {c for c in open_items if c in ctx.source_index}
        added, removed = entries - self.entries, self.entries - entries
        fresh, stay = open_items - self.open, open_items & self.open
        for c in self.open - open_items:
            self.scores.pop(c, None)
        rows = sorted(stay)
        changed: set[str] = set()
        if removed:                 # the codes an entry withdrawn named: computed again from the rest
            gone = {t for _, t in removed}
            for c in rows:
                sc = self.scores.get(c)
                if sc and gone & sc.keys():
                    changed.add(c)
                    for t in gone & sc.keys():
                        del sc[t]
            self._max_into(rows, sorted(e for e in entries if e[1] in gone))
        if added:
            changed |= self._max_into(rows, sorted(added))
        changed |= self._max_into(sorted(fresh), sorted(entries))
        self.entries, self.open = entries, open_items
        for c in [c for c, sc in self.scores.items() if not sc]:
            del self.scores[c]
        return changed

    def _max_into(self, rows: list[str], pairs: list[tuple[str, str]]) -> set[str]:
        """scores[row][code] = max(itself, rescaled similarity with each entry of ``pairs``);
        returns the rows whose scores rose."""
        changed: set[str] = set()
        if not rows or not pairs:
            return changed
        ctx = self.ctx
        sig = _Learned(pairs, embeddings=self.embedder is not None, embedder=self.embedder)
        src = np.array([ctx.source_index[c] for c in rows], dtype=np.int64)
        try:
            ents = sig._prepare(ctx)["ents"]        # the similarity's columns, in this order
            code = np.array([e.code for e in ents], dtype=object)
            step = max(1, _PAIRS // max(len(ents), 1))
            for i in range(0, len(src), step):
                sim = sig.similarity(ctx, src[i:i + step])
                v = np.round(np.clip((sim - self.floor) / (1.0 - self.floor), 0.0, 1.0), 6)
                r, k = np.nonzero(v)
                for row, col, val in zip(r.tolist(), k.tolist(), v[r, k].tolist()):
                    sc = self.scores.setdefault(rows[i + row], {})
                    t = code[col]
                    if val > sc.get(t, 0.0):
                        sc[t] = val
                        changed.add(rows[i + row])
        finally:
            # the entries' caches are this call's; the titles' tokens and word weights stay
            for key in [k for k in ctx.cache if not isinstance(k, str)]:
                del ctx.cache[key]
        return changed


def source_classification(scheme: str, titles: dict[str, str], language: Optional[str] = None) -> Classification:
    """The items of a pair as a flat classification of their titles (codes the store holds)."""
    from ..model import Item
    if language is None:
        from ..code import language_of
        langs = [language_of(t) for t in titles.values() if t]
        language = max(("ru", "en"), key=langs.count) if langs else None
    return Classification(scheme, [Item(c, t or c, 1) for c, t in sorted(titles.items())], language=language)


__all__ = ["FLOOR", "MemoEmbedder", "Taught", "source_classification"]
