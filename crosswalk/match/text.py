"""Text signals: titles compared as normalised keys (rapidfuzz, vectorised with
``process.cdist``) and as IDF-weighted token sets, and source titles looked up in the
target's definitions, notes and example occupations.

Token overlaps are computed with matrix products over the target vocabulary, never with
Python loops over all pairs; a slow obvious version lives in the tests.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np
from rapidfuzz import fuzz, process

from .. import normalize
from ..model import Item
from .context import MatchContext


def _language(ctx: MatchContext, side: str) -> str:
    return (ctx.source if side == "source" else ctx.target).language


def item_tokens(ctx: MatchContext, side: str) -> list[list[str]]:
    key = f"tokens:{side}"
    if key not in ctx.cache:
        items = ctx.sources if side == "source" else ctx.targets
        lang = _language(ctx, side)
        ctx.cache[key] = [normalize.tokens(it.title, lang) for it in items]
    return ctx.cache[key]


def note_text(ctx: MatchContext, item: Item, side: str) -> str:
    """Definition, notes and example occupations of an item, and of the item with the same
    code in a context classification of the same language (ISCO-08 for OKZ-2014 codes)."""
    lang = _language(ctx, side)
    parts = [item.notes, item.attrs.get("included", ""), item.attrs.get("tasks", "")]
    for c in (ctx.target_context if side == "target" else ctx.source_context):
        if c.language == lang and item.code in c:
            other = c.get(item.code)
            parts += [other.title, other.notes, other.attrs.get("included", "")]
    return "\n".join(p for p in parts if isinstance(p, str) and p)


def note_tokens(ctx: MatchContext) -> list[list[str]]:
    if "tokens:target-notes" not in ctx.cache:
        lang = _language(ctx, "target")
        ctx.cache["tokens:target-notes"] = [
            normalize.tokens(note_text(ctx, it, "target"), lang) for it in ctx.targets]
    return ctx.cache["tokens:target-notes"]


def weights(ctx: MatchContext) -> normalize.TokenWeights:
    """IDF over every title of both sides: a word rare among the titles decides a match."""
    if "idf" not in ctx.cache:
        ctx.cache["idf"] = normalize.TokenWeights.fit(
            item_tokens(ctx, "source") + item_tokens(ctx, "target"))
    return ctx.cache["idf"]


class _Vocab:
    """Targets' token sets as a weighted 0/1 matrix, for overlaps by matrix product."""

    def __init__(self, docs: Sequence[Sequence[str]], w: normalize.TokenWeights):
        self.index = {t: k for k, t in enumerate(sorted({t for d in docs for t in d}))}
        self.w = w
        self.matrix = self.rows(docs) * np.array([w[t] for t in self.index], dtype=np.float32)
        self.mass = np.array([sum(w[t] for t in set(d)) for d in docs], dtype=np.float32)

    def rows(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        m = np.zeros((len(docs), len(self.index)), dtype=np.float32)
        for r, d in enumerate(docs):
            cols = [self.index[t] for t in set(d) if t in self.index]
            m[r, cols] = 1.0
        return m

    def shared_mass(self, docs: Sequence[Sequence[str]], tgt: np.ndarray) -> np.ndarray:
        """Σ idf of the tokens each doc shares with each target (rows: docs, cols: tgt)."""
        return self.rows(docs) @ self.matrix[tgt].T


def _mass(docs: Sequence[Sequence[str]], w: normalize.TokenWeights) -> np.ndarray:
    return np.array([sum(w[t] for t in set(d)) for d in docs], dtype=np.float32)


class TitleTokensSignal:
    """IDF-weighted Jaccard of the lemmatised title tokens: «сварщик» decides, «по» not."""
    name = "title_tokens"

    def applies(self, ctx: MatchContext) -> bool:
        return ctx.source.language == ctx.target.language

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        w = weights(ctx)
        if "vocab:titles" not in ctx.cache:
            ctx.cache["vocab:titles"] = _Vocab(item_tokens(ctx, "target"), w)
        vocab = ctx.cache["vocab:titles"]
        docs = [item_tokens(ctx, "source")[i] for i in src]
        inter = vocab.shared_mass(docs, tgt)
        union = _mass(docs, w)[:, None] + vocab.mass[tgt][None, :] - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(union > 0, inter / union, 0.0)
        return np.clip(out, 0.0, 1.0).astype(np.float32)


PREFIX = 5   # blocking key: a word's first letters (catches «газосварщик»/«электрогазосварщика» stems)


def _prefixes(docs: Sequence[Sequence[str]]) -> list[set[str]]:
    return [{t[:PREFIX] for t in d} for d in docs]


class TitleFuzzySignal:
    """Spelling-level similarity of the normalised titles (rapidfuzz). With ``blocking``
    (the default) only pairs whose titles share a word stem (its first letters) are
    compared — a few percent of all pairs — with ``process.cpdist``; other pairs score 0.
    Without it, every pair is compared at once with ``process.cdist``."""
    name = "title_fuzzy"

    def __init__(self, *, scorer: Callable = fuzz.token_sort_ratio, score_cutoff: Optional[float] = None,
                 blocking: bool = True):
        self.scorer = scorer
        self.score_cutoff = score_cutoff
        self.blocking = blocking

    def applies(self, ctx: MatchContext) -> bool:
        return ctx.source.language == ctx.target.language

    def _keys(self, ctx: MatchContext, side: str) -> list[str]:
        key = f"keys:{side}"
        if key not in ctx.cache:
            ctx.cache[key] = [" ".join(toks) for toks in item_tokens(ctx, side)]
        return ctx.cache[key]

    def _block(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) pairs sharing a stem, by a product of 0/1 stem matrices."""
        if "vocab:prefixes" not in ctx.cache:
            t_pref = _prefixes(item_tokens(ctx, "target"))
            # an empty corpus weighs every stem 1: any shared stem counts
            ctx.cache["vocab:prefixes"] = _Vocab(t_pref, normalize.TokenWeights({}, 0))
        vocab = ctx.cache["vocab:prefixes"]
        s_pref = _prefixes([item_tokens(ctx, "source")[i] for i in src])
        return np.nonzero(vocab.shared_mass(s_pref, tgt) > 0)

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        s_keys, t_keys = self._keys(ctx, "source"), self._keys(ctx, "target")
        if not self.blocking:
            m = process.cdist([s_keys[i] for i in src], [t_keys[j] for j in tgt], scorer=self.scorer,
                              score_cutoff=self.score_cutoff, workers=ctx.workers, dtype=np.float32)
            return (m / 100.0).astype(np.float32)
        out = np.zeros((len(src), len(tgt)), dtype=np.float32)
        rows, cols = self._block(ctx, src, tgt)
        if len(rows):
            vals = process.cpdist([s_keys[src[r]] for r in rows], [t_keys[tgt[c]] for c in cols],
                                  scorer=self.scorer, score_cutoff=self.score_cutoff,
                                  workers=ctx.workers, dtype=np.float32)
            out[rows, cols] = vals / 100.0
        return out


class NotesSignal:
    """How much of the source title the target's definition, notes and example
    occupations cover (IDF-weighted containment)."""
    name = "notes"

    def applies(self, ctx: MatchContext) -> bool:
        if ctx.source.language != ctx.target.language:
            return False
        return any(note_text(ctx, it, "target") for it in ctx.targets)

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        w = weights(ctx)
        if "vocab:notes" not in ctx.cache:
            ctx.cache["vocab:notes"] = _Vocab(note_tokens(ctx), w)
        vocab = ctx.cache["vocab:notes"]
        docs = [item_tokens(ctx, "source")[i] for i in src]
        inter = vocab.shared_mass(docs, tgt)
        mass = _mass(docs, w)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(mass > 0, inter / mass, 0.0)
        return np.clip(out, 0.0, 1.0).astype(np.float32)

