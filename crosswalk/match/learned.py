"""Learning from confirmed links: a source item is proposed the targets of the confirmed
items whose titles are most like its own (nearest confirmed neighbours).

The neighbours are found with the same IDF-weighted token overlap as the title signal,
blended with the rapidfuzz spelling score, so «Аппаратчик гидролиза» learns from a
confirmed «Аппаратчик гидролиза древесины» but not from «Аппаратчик» alone. With
``embeddings=True`` the meaning of the two titles (e5 cosine, query/query) is a third,
equal part of the blend: «Аппаратчик деаэрации» then learns from «Аппаратчик
дегазации», with which it shares no word (5-fold cross-validation on the OKPDTR→OKZ
dev gold, embeddings on: top-1 26 % → 31 %, top-3 40 % → 43 %).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
from rapidfuzz import fuzz, process

from .context import MatchContext
from .text import _Vocab, _mass, item_tokens, weights

# e5 cosine of two unrelated occupation titles sits near 0.83 (reports/embeddings_probe.json,
# okz_sym all pairs: median 0.831, p95 0.866); the scale starts a little above it
TITLE_FLOOR = 0.85
MAX_PAIRS = 4_000_000     # source × confirmed pairs compared at once (float32 matrices of 16 MB)


class LearnedSignal:
    name = "learned"

    def __init__(self, confirmed: Iterable[tuple[str, str]], *, embeddings: bool = False, embedder=None):
        # (source code, target code) pairs people confirmed; sorted for determinism
        self.confirmed = sorted(set(confirmed))
        self.embeddings = embeddings or embedder is not None
        self.embedder = embedder

    def applies(self, ctx: MatchContext) -> bool:
        return any(s in ctx.source_index and t in ctx.target_index for s, t in self.confirmed)

    def _train(self, ctx: MatchContext):
        key = ("learned:train", tuple(self.confirmed))   # another confirmed set, another model
        if key not in ctx.cache:
            pairs = [(s, t) for s, t in self.confirmed if s in ctx.source_index and t in ctx.target_index]
            srcs = sorted({s for s, _ in pairs})
            row = {s: k for k, s in enumerate(srcs)}
            link = np.zeros((len(srcs), len(ctx.targets)), dtype=np.float32)
            for s, t in pairs:
                link[row[s], ctx.target_index[t]] = 1.0
            toks = item_tokens(ctx, "source")
            docs = [toks[ctx.source_index[s]] for s in srcs]
            ctx.cache[key] = (srcs, docs, _Vocab(docs, weights(ctx)), link)
        return ctx.cache[key]

    def _title_vectors(self, ctx: MatchContext) -> np.ndarray:
        if "learned:vectors" not in ctx.cache:
            from ..embeddings import Embedder
            emb = self.embedder or Embedder()
            ctx.cache["learned:vectors"] = ctx.embed(emb, [it.title for it in ctx.sources], kind="query",
                                                     what="titles")
        return ctx.cache["learned:vectors"]

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        srcs = self._train(ctx)[0]
        # sources × confirmed items are compared at once: bound that matrix (a coding dictionary
        # of 20,000 confirmed titles must not take gigabytes per chunk of 8,192 titles)
        step = max(1, MAX_PAIRS // max(len(srcs), 1))
        if len(src) <= step:
            return self._scores(ctx, src, tgt)
        return np.vstack([self._scores(ctx, src[i:i + step], tgt) for i in range(0, len(src), step)])

    def _scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        srcs, train_docs, vocab, link = self._train(ctx)
        toks = item_tokens(ctx, "source")
        docs = [toks[i] for i in src]
        inter = vocab.rows(docs) @ vocab.matrix.T        # Σ idf of shared tokens, vs every confirmed item
        union = _mass(docs, weights(ctx))[:, None] + vocab.mass[None, :] - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            sim = np.where(union > 0, inter / union, 0.0)
        fz = process.cdist([" ".join(d) for d in docs], [" ".join(d) for d in train_docs],
                           scorer=fuzz.token_sort_ratio, workers=ctx.workers, dtype=np.float32) / 100.0
        if self.embeddings and len(srcs):
            from ..embeddings import cosine_scores
            vecs = self._title_vectors(ctx)
            train_rows = np.array([ctx.source_index[s] for s in srcs])
            cos = cosine_scores(vecs[src], vecs[train_rows], floor=TITLE_FLOOR)
            sim = (sim + fz + cos) / 3.0
        else:
            sim = 0.5 * sim + 0.5 * fz
        # an item never learns from itself (cross-validation and re-matching confirmed items)
        own = {s: k for k, s in enumerate(srcs)}
        for r, i in enumerate(src):
            k = own.get(ctx.sources[i].code)
            if k is not None:
                sim[r, k] = 0.0
        # score of a target = similarity of the nearest confirmed item linked to it: one max
        # over the confirmed items of each target (a few hundred targets, not thousands of items)
        out = np.zeros((len(src), len(tgt)), dtype=np.float32)
        sub = link[:, tgt]
        for c in np.flatnonzero(sub.any(axis=0)):
            out[:, c] = sim[:, np.flatnonzero(sub[:, c])].max(axis=1)
        return out
