"""Word by word, by meaning: each word of a source title is compared, through e5 word
vectors, with every word that describes a target — its title, and the titles,
definitions, tasks, example occupations and notes of the same-coded items in the
context classifications, in whichever language they are written. A target scores the
IDF-weighted mean, over the source's words, of the best match each word finds there.

This is what the whole-title embedding misses: «Аппаратчик гидролиза» shares no word
with «Операторы установок по переработке химического сырья», but «гидролиз» sits next
to "chemical" and «аппаратчик» next to «оператор» and "operator"; «абразивных» in a
title finds the "abrasive wheels" in ISCO 8114's notes. e5 compresses cosines: over all
pairs of OKPDTR title words and OKZ/ISCO description words (almost all unrelated) the
median is 0.815 and the 95th percentile 0.85, while common trade-word translations have
a median of 0.878 (reports/word_floor.json). FLOOR = 0.85 maps a pair to [0, 1] so that
unrelated words count for nothing. e5-small knows single words only in part and partly by
spelling: 8 of 30 translations fall below the floor (сварщик/"welder" 0.83) and false
friends (клей/"clay") add noise that the other signals outvote.

Measured (reports/evaluation.json, embeddings on): OKPDTR→OKZ top-1/top-3 21.2/36.4 %
→ 25.0/42.4 %; ISCO-88→ISCO-08 90.5/94.6 % → 92.3/97.2 %; OKVED2→ISIC4 unchanged.
Part of the embeddings extra, as EmbeddingSignal; word vectors are cached on disk.
"""
from __future__ import annotations

import re
import numpy as np

from .. import normalize
from ..model import Item
from .context import MatchContext
from .text import _csr, weights

FLOOR = 0.85
# a word describing more than this share of the targets ("occupations", "tasks",
# "include") tells them apart by nothing: dropped, by the classification's own counts
COMMON = 0.5
_ROWS = 256                                     # source words compared per block
_WORD = re.compile(r"[^\W\d_][\w-]{2,}")        # a word: 3+ characters, starts with a letter


def words(text: str, language: str) -> list[tuple[str, str]]:
    """(form to embed, form to weigh) of each word: the lemma of a Russian word is a word
    itself; an English one is embedded as written and weighed by its stem, as the IDF
    of the title signals counts it."""
    if not text:
        return []
    surface = normalize.tokens(text, language, lemmas=False)
    lemmas = normalize.tokens(text, language)
    out = []
    for s, lem in zip(surface, lemmas):
        shown = lem if language == "ru" else s
        if _WORD.fullmatch(shown):
            out.append((shown, lem))
    return out


def described_by(ctx: MatchContext, item: Item) -> list[tuple[str, str]]:
    """(text, language) of everything describing a target item."""
    out = []
    for d, lang in [(item, ctx.target.language)] + [(c.get(item.code), c.language)
                                                     for c in ctx.target_context if item.code in c]:
        for text in (d.title, d.notes, d.attrs.get("tasks"), d.attrs.get("included"), d.attrs.get("notes")):
            if isinstance(text, str) and text.strip():
                out.append((text, lang))
    return out


class WordMeaningSignal:
    name = "word_meaning"
    meaning = True  # computed only for the sources the code structure does not decide (MatchContext.meaning_rows)
    memo = True     # scores kept on disk between runs (match/memo.py)

    def __init__(self, *, embedder=None):
        self.embedder = embedder

    def applies(self, ctx: MatchContext) -> bool:
        return True

    def _prepare(self, ctx: MatchContext):
        if "word_meaning" in ctx.cache:
            return ctx.cache["word_meaning"]
        from ..embeddings import Embedder, cosine_scores
        emb = self.embedder or Embedder()
        # targets: the set of words describing each, common words dropped
        t_words = [{w for text, lang in described_by(ctx, it) for w, _ in words(text, lang)}
                   for it in ctx.targets]
        df: dict[str, int] = {}
        for ws in t_words:
            for w in ws:
                df[w] = df.get(w, 0) + 1
        limit = COMMON * len(t_words)
        t_vocab = sorted(w for w, n in df.items() if n <= limit)
        t_index = {w: k for k, w in enumerate(t_vocab)}
        ptr, flat = _csr(t_words, t_index)
        has_words = np.flatnonzero(np.diff(ptr) > 0)  # reduceat would give an empty row a neighbour's value
        starts = ptr[has_words]
        # sources: their title words and each word's weight
        lang = ctx.source.language
        asked = set(ctx.compared().tolist())
        s_words = [words(it.title, lang) if i in asked else [] for i, it in enumerate(ctx.sources)]
        s_vocab = sorted({w for ws in s_words for w, _ in ws})
        s_index = {w: k for k, w in enumerate(s_vocab)}
        # best calibrated similarity of every source word in every target's words
        best = np.zeros((len(s_vocab), len(ctx.targets)), dtype=np.float32)
        if s_vocab and t_vocab:
            # words against words: one kind on both sides
            q = ctx.embed(emb, s_vocab, kind="query", what="title words")
            p = ctx.embed(emb, t_vocab, kind="query", what="description words")
            for start in range(0, len(s_vocab), _ROWS):
                sims = cosine_scores(q[start:start + _ROWS], p, floor=FLOOR)
                best[start:start + _ROWS, has_words] = np.maximum.reduceat(sims[:, flat], starts, axis=1)
        # each source's words (each once, in word order) and their IDF weights
        idf = weights(ctx)
        per_source = []
        for ws in s_words:
            seen = {}
            for shown, lem in ws:
                seen.setdefault(shown, idf[lem])
            order = sorted(seen)
            per_source.append((np.array([s_index[w] for w in order], dtype=np.int64),
                               np.array([seen[w] for w in order], dtype=np.float32)))
        ctx.cache["word_meaning"] = (best, per_source)
        return ctx.cache["word_meaning"]

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        best, per_source = self._prepare(ctx)
        out = np.zeros((len(src), len(tgt)), dtype=np.float32)
        rows = [r for r, i in enumerate(src) if len(per_source[i][0])]
        if not rows:
            return out
        ids = np.concatenate([per_source[src[r]][0] for r in rows])
        wts = np.concatenate([per_source[src[r]][1] for r in rows])
        starts = np.r_[0, np.cumsum([len(per_source[src[r]][0]) for r in rows])[:-1]]
        sub = best[ids][:, tgt] * wts[:, None]
        mass = np.add.reduceat(wts, starts)
        out[rows] = np.add.reduceat(sub, starts, axis=0) / mass[:, None]
        return np.clip(out, 0.0, 1.0)
