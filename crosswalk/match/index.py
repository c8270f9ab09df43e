"""The ``index`` signal: the nearest labelled titles of the coding indexes (crosswalk.index),
by words and by meaning, in any language.

For a source title, every index entry coding to a target code is compared with it:

* by words, where the entry is in the source's language: the IDF-weighted Jaccard of the
  lemmatised tokens and the rapidfuzz ``token_sort_ratio`` of the normalised titles (the
  latter only for pairs sharing a token), averaged;
* by meaning (with embeddings): the cosine of the two titles' vectors, mapped to [0, 1]
  above the floor where unrelated titles sit — in any language, so a Russian title meets
  an English ESCO label.

An entry's similarity is the mean of the parts it has. A target scores its best entry's
similarity mixed with its share of the votes of the source's k nearest entries (each vote
the squared similarity), so a group that many close titles name beats one a single
look-alike names; only the entries and the source decide it, never the other sources.
Head-first index titles («Cook, vegetable») are read in natural order. The entries'
tokens and vectors are computed once per index version: adding entries (reviewers'
decisions while they review) costs only the new entries, and a rescoring compares the
sources with them — nothing is refit.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from rapidfuzz import fuzz, process

from .. import normalize
from ..index import CodingIndex, IndexEntry, natural_order
from .context import MatchContext
from .text import _csr, _gather, _mass, item_tokens, weights

# e5 cosine of two unrelated occupation titles sits near 0.83 (reports/embeddings_probe.json,
# okz_sym: median 0.831, p95 0.866): the scale starts a little above it, as learned.TITLE_FLOOR
TITLE_FLOOR = 0.85
FUZZY_CUTOFF = 50          # token_sort_ratio below this counts 0
MAX_PAIRS = 8_000_000       # source × entry pairs compared at once (float32 blocks of 32 MB)


class IndexSignal:
    """Nearest labelled titles of ``indexes`` (CodingIndex objects coding to the target's
    codes, or to a scheme sharing them)."""
    name = "index"
    memo = True     # scores kept on disk between runs (match/memo.py)
    meaning = True  # computed only for the sources the code structure does not decide (MatchContext.meaning_rows)
    # the k nearest entries vote (squared similarity) besides the best entry's own score:
    # a target many close titles name beats one a single look-alike names. Chosen on the ESCO
    # hold-out (1,000 labels, embeddings, index weight 4): max alone 44.4/66.2 % top-1/3,
    # k = 30, mix 0.7, power 2: 49.1/67.1 %; on the dev gold 25.0/39.4 → 26.5/43.2 %
    knn = 30
    mix = 0.7
    power = 2.0
    fuzzy_cutoff = FUZZY_CUTOFF

    # attractors (a CSLS of this signal over a fixed population of titles like the sources,
    # ``population=``): a target's attraction is the mean of its best scores over the
    # population, hub_k × its expected share of them; by hub_beta × as much as it exceeds the
    # median target's, its scores are lowered. Measured only where each target expects at
    # least min_share of the population's titles (a title list, not one item per concept).
    # Chosen before measuring (5 × the share, CSLS's β = 1). OKPDTR → OKZ dev with e5:
    # 26.5/43.2 → 26.5/45.5 % top-1/top-3, 5-fold learning 31.8/50.0 → 31.8/56.1 %; the ten
    # largest attractors take 15.6 % of the titles first, not 21.1 % (8155 «Аппаратчик
    # дубления» 362 → out of the top ten). ISCO-88 → ISCO-08 (one item per concept, share
    # < 1) would lose 92.5/97.4 → 91.8/97.2 %: there nothing is measured.
    hub_k = 5.0
    hub_beta = 1.0
    min_share = 5.0

    def __init__(self, indexes: Sequence[CodingIndex], *, embeddings: bool = False, embedder=None,
                 population=None):
        self.indexes = list(indexes)
        self.embeddings = embeddings or embedder is not None
        self.embedder = embedder
        self.population = population

    # entries -------------------------------------------------------------------------------
    def _indexes(self, ctx: MatchContext) -> list[CodingIndex]:
        return self.indexes

    def entries(self, ctx: MatchContext) -> list[IndexEntry]:
        """The entries coding to a target; in another language than the source's (compared by
        meaning alone: only with embeddings) only the primary labels — variants add cost and
        chance look-alikes."""
        lang = ctx.source.language
        return [e for ix in self._indexes(ctx) for e in ix if e.code in ctx.target_index
                and (e.language == lang or (self.embeddings and e.primary))]

    def applies(self, ctx: MatchContext) -> bool:
        ixs = self._indexes(ctx)
        if not any(e.code in ctx.target_index for ix in ixs for e in ix):
            return False
        return self.embeddings or ctx.source.language in {e.language for ix in ixs for e in ix}

    def _key(self, ctx: MatchContext):
        return (self.name, tuple((id(ix), ix.version, len(ix)) for ix in self._indexes(ctx)))

    def _prepare(self, ctx: MatchContext):
        key = self._key(ctx)
        if key in ctx.cache:
            return ctx.cache[key]
        ents = self.entries(ctx)
        order = sorted(range(len(ents)), key=lambda k: ctx.target_index[ents[k].code])
        ents = [ents[k] for k in order]
        owner = np.array([ctx.target_index[e.code] for e in ents], dtype=np.int64)
        texts = [natural_order(e.title) for e in ents]
        lang = ctx.source.language
        same = np.array([e.language == lang for e in ents], dtype=bool)
        toks = [normalize.tokens(t, lang) if s else [] for t, s in zip(texts, same)]
        idf = weights(ctx)
        vocab = {t: k for k, t in enumerate(sorted({t for d in toks for t in d}))}
        ptr, ids = _csr(toks, vocab)
        wvec = np.array([idf[t] for t in vocab], dtype=np.float32)
        mass = _mass(toks, idf)
        keys = np.array([" ".join(sorted(d)) for d in toks], dtype=object)
        vecs = None
        if self.embeddings and ents:
            from ..embeddings import Embedder
            emb = self.embedder or Embedder()
            vecs = ctx.embed(emb, texts, kind="query", what="index titles")
        items = np.array([ctx.source_index.get(e.item, -1) if e.item else -1 for e in ents], dtype=np.int64)
        # postings: for each token, the same-language entries holding it (as positions among them)
        cols = np.flatnonzero(same)
        e_rows, e_ids = _gather(ptr, ids, cols)
        order = np.argsort(e_ids, kind="stable")
        postings = (np.r_[0, np.cumsum(np.bincount(e_ids, minlength=len(vocab)))].astype(np.int64),
                    e_rows[order].astype(np.int64))
        prep = dict(ents=ents, owner=owner, same=same, ptr=ptr, ids=ids, vocab=vocab, wvec=wvec, mass=mass,
                    keys=keys, vecs=vecs, items=items, postings=postings)
        ctx.cache[key] = prep
        return prep

    def _source_parts(self, ctx: MatchContext, prep):
        key = (self._key(ctx), "sources")
        if key not in ctx.cache:
            toks = item_tokens(ctx, "source")
            ptr, ids = _csr(toks, prep["vocab"])
            keys = np.array([" ".join(sorted(set(d))) for d in toks], dtype=object)
            vecs = None
            if prep["vecs"] is not None:
                from ..embeddings import Embedder
                emb = self.embedder or Embedder()
                rows = ctx.compared()
                vecs = np.zeros((len(ctx.sources), prep["vecs"].shape[1]), dtype=np.float32)   # others never asked
                if len(rows):
                    vecs[rows] = ctx.embed(emb, [natural_order(ctx.sources[i].title) for i in rows],
                                           kind="query", what="titles")
            ctx.cache[key] = (ptr, ids, _mass(toks, weights(ctx)), keys, vecs)
        return ctx.cache[key]

    # scores --------------------------------------------------------------------------------
    def similarity(self, ctx: MatchContext, src: np.ndarray) -> np.ndarray:
        """Similarity in [0, 1] of each source (rows) with each entry (columns): the mean of
        the IDF-weighted Jaccard of the tokens, the spelling similarity (``token_sort_ratio``)
        and the meaning (cosine above the floor) for an entry in the source's language; the
        meaning alone for an entry in another language."""
        prep = self._prepare(ctx)
        s_ptr, s_ids, s_mass, s_keys, s_vecs = self._source_parts(ctx, prep)
        n_e = len(prep["ents"])
        same = prep["same"]
        sim = np.zeros((len(src), n_e), dtype=np.float32)
        cols = np.flatnonzero(same)
        if len(cols):
            # Σ idf of the shared tokens, through the entries holding each source token (an
            # inverted index): the cost is the postings touched, not sources × vocabulary × entries
            p_ptr, p_ids = prep["postings"]
            r, tok = _gather(s_ptr, s_ids, src)
            r2, e = _gather(p_ptr, p_ids, tok)
            flat = r[r2] * len(cols) + e
            inter = np.bincount(flat, weights=prep["wvec"][tok[r2]].astype(np.float64),
                                minlength=len(src) * len(cols)).reshape(len(src), len(cols)).astype(np.float32)
            union = s_mass[src][:, None] + prep["mass"][cols][None, :] - inter
            with np.errstate(invalid="ignore", divide="ignore"):
                tok = np.where(union > 0, inter / union, 0.0)
            # spelling of every pair («газосварщик» and «сварщик» share no token); below half
            # alike it is noise, and the best of a thousand noisy entries would favour big groups
            fz = process.cdist(s_keys[src], prep["keys"][cols], scorer=fuzz.ratio, workers=ctx.workers,
                               dtype=np.float32, score_cutoff=self.fuzzy_cutoff or None) / np.float32(100.0)
            sim[:, cols] = np.clip(tok, 0.0, 1.0) + fz
        if prep["vecs"] is not None:
            from ..embeddings import cosine_scores
            cos = cosine_scores(s_vecs[src], prep["vecs"], floor=TITLE_FLOOR)
            sim = np.where(same[None, :], (sim + cos) / 3.0, cos)
        else:
            sim = sim / 2.0
        # a confirmed decision never teaches the item it was about
        own = prep["items"]
        if (own >= 0).any():
            sim[own[None, :] == src[:, None]] = 0.0
        return sim.astype(np.float32)

    def _vote(self, sim: np.ndarray, starts: np.ndarray, best: np.ndarray) -> np.ndarray:
        k = min(self.knn, sim.shape[1])
        kth = -np.partition(-sim, k - 1, axis=1)[:, k - 1:k]
        near = np.where(sim >= kth, sim, 0.0) ** self.power
        votes = np.add.reduceat(near, starts, axis=1)
        share = votes / np.maximum(votes.sum(axis=1, keepdims=True), 1e-9)
        return ((1 - self.mix) * best + self.mix * share * (best > 0)).astype(np.float32)

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        if self.population is None or not len(src):
            return self._raw(ctx, src, tgt)
        pen = self._attraction(ctx)[tgt]
        whole = ctx.cache.get((self._key(ctx), "population scores"))
        out = whole[np.ix_(src, tgt)] if whole is not None else self._raw(ctx, src, tgt)
        if len(out):
            out = np.where(out > 0, np.clip(out - pen[None, :], 0.0, 1.0), 0.0).astype(np.float32)
        return out

    def _raw(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        prep = self._prepare(ctx)
        n_e = max(len(prep["ents"]), 1)
        step = max(1, MAX_PAIRS // n_e)
        return np.vstack([self._scores(ctx, src[i:i + step], tgt) for i in range(0, len(src), step)]) \
            if len(src) else np.zeros((0, len(tgt)), dtype=np.float32)

    def _attraction(self, ctx: MatchContext) -> np.ndarray:
        """Per target, how far its scores over the population's titles (like the sources: the
        whole source classification) run above the typical target's — the mean
        of its hub_k × (expected share) best, less the median of that over the targets, times
        hub_beta; never below 0. A CSLS over a fixed population: «Аппаратчик дубления» gives
        8155 a third of its score for 500 «Аппаратчик …» titles, far beyond its share."""
        key = (self._key(ctx), "attraction")
        if key not in ctx.cache:
            every = np.arange(len(ctx.targets))
            if self.population is ctx.source:       # the sources are the population: scored once
                # (those compared by meaning: the code structure decides the others, never asked about)
                rows = ctx.compared()
                raw = self._raw(ctx, rows, every)
                whole = raw
                if len(rows) < len(ctx.sources):    # rows by source index; the others stay 0, never read
                    whole = np.zeros((len(ctx.sources), len(every)), dtype=np.float32)
                    whole[rows] = raw
                ctx.cache[(key[0], "population scores")] = whole
            else:
                ref = MatchContext(self.population, ctx.target, target_context=ctx.target_context,
                                   workers=ctx.workers, embed_progress=ctx.embed_progress, indexes=ctx.indexes)
                ref.cache["idf"] = weights(ctx)
                raw = self._raw(ref, np.arange(len(ref.sources)), every)
            named = np.flatnonzero(raw.max(axis=0) > 0) if len(raw) else every[:0]
            pen = np.zeros(len(every), dtype=np.float32)
            if len(named) and len(raw) >= self.min_share * len(named):
                k = int(min(len(raw), max(1, round(self.hub_k * len(raw) / len(named)))))
                r = -np.partition(-raw[:, named], k - 1, axis=0)[:k].mean(axis=0)
                pen[named] = np.maximum(self.hub_beta * (r - np.median(r)), 0.0)
            ctx.cache[key] = pen
        return ctx.cache[key]

    def _scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        prep = self._prepare(ctx)
        out = np.zeros((len(src), len(tgt)), dtype=np.float32)
        owner = prep["owner"]
        if not len(owner):
            return out
        sim = self.similarity(ctx, src)
        # best entry per target (entries are sorted by target: one reduceat over the runs),
        # mixed with the share of the k nearest entries' votes it gets
        starts = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
        best = np.maximum.reduceat(sim, starts, axis=1)
        if self.knn:
            best = self._vote(sim, starts, best)
        run_target = owner[starts]
        col = np.full(len(ctx.targets), -1, dtype=np.int64)
        col[tgt] = np.arange(len(tgt))
        keep = col[run_target] >= 0
        out[:, col[run_target[keep]]] = best[:, keep]
        return out


def confirmed_index(ctx: MatchContext, confirmed: Sequence[tuple[str, str]], scheme: str,
                    ) -> tuple[CodingIndex, list[str]]:
    """Reviewers' decisions as an index: the confirmed source item's title under its target
    code; and the confirmed sources not among the items matched (their titles are unknown)."""
    entries, missing = [], []
    for s, t in confirmed:
        if s not in ctx.source_index:
            missing.append(s)
            continue
        it = ctx.sources[ctx.source_index[s]]
        entries.append(IndexEntry(it.title, t, "confirmed", ctx.source.language, item=s))
    return CodingIndex(scheme, entries, name="confirmed"), missing


__all__ = ["IndexSignal", "confirmed_index", "TITLE_FLOOR"]
