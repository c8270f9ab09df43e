"""Text signals: titles compared as normalised keys (rapidfuzz, vectorised with
``process.cdist``) and as IDF-weighted token sets, and source titles looked up in the
target's definitions, notes and example occupations.

Token overlaps are computed with matrix products over the target vocabulary, never with
Python loops over all pairs; a slow obvious version lives in the tests.
"""
from __future__ import annotations

import re
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
    """IDF over the target's titles and the titles of its coding indexes (in its language):
    a word rare among them decides a match. Never over the sources: a source item scores the
    same whatever else is matched with it."""
    if "idf" not in ctx.cache:
        from ..index import natural_order
        lang = _language(ctx, "target")
        docs = item_tokens(ctx, "target") + [normalize.tokens(natural_order(e.title), lang)
                                             for ix in ctx.indexes for e in ix if e.language == lang]
        ctx.cache["idf"] = normalize.TokenWeights.fit(docs)
    return ctx.cache["idf"]


def _csr(docs: Sequence[Sequence[str]], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Docs as rows of column ids (CSR: row r holds ids[ptr[r]:ptr[r + 1]]), each token once;
    tokens outside ``index`` dropped. Built once per match, so no chunk loops over words."""
    ids: list[int] = []
    ptr = [0]
    for d in docs:
        ids.extend({index[t] for t in d if t in index})
        ptr.append(len(ids))
    return np.array(ptr, dtype=np.int64), np.array(ids, dtype=np.int64)


def _gather(ptr: np.ndarray, ids: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, id) of every entry of the given CSR rows, rows renumbered 0..len(rows)-1."""
    starts = ptr[rows]
    lens = ptr[rows + 1] - starts
    r = np.repeat(np.arange(len(rows)), lens)
    # position of each entry in ``ids``: its row's start plus its offset inside the row
    pos = np.arange(len(r)) + np.repeat(starts - (np.cumsum(lens) - lens), lens)
    return r, ids[pos]


def _dense(n_rows: int, n_cols: int, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    m = np.zeros((n_rows, n_cols), dtype=np.float32)
    m[r, c] = 1.0
    return m


def _mass(docs: Sequence[Sequence[str]], w: normalize.TokenWeights) -> np.ndarray:
    get = w.__getitem__     # the same sums, in the same order, as sum(w[t] for t in set(d))
    return np.array([sum(map(get, set(d))) for d in docs], dtype=np.float32)


class _Vocab:
    """Targets' token sets as a weighted 0/1 matrix, for overlaps by matrix product."""

    def __init__(self, docs: Sequence[Sequence[str]], w: normalize.TokenWeights):
        self.index = {t: k for k, t in enumerate(sorted({t for d in docs for t in d}))}
        self.w = w
        self.matrix = self.rows(docs) * np.array([w[t] for t in self.index], dtype=np.float32)
        self.mass = _mass(docs, w)

    def rows(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        ptr, ids = _csr(docs, self.index)
        return _dense(len(docs), len(self.index), *_gather(ptr, ids, np.arange(len(docs))))

    def shared_mass(self, docs: Sequence[Sequence[str]], tgt: np.ndarray) -> np.ndarray:
        """Σ idf of the tokens each doc shares with each target (rows: docs, cols: tgt)."""
        return self.rows(docs) @ self.matrix[tgt].T

    def shared_mass_ids(self, ptr: np.ndarray, ids: np.ndarray, rows: np.ndarray,
                        tgt: np.ndarray) -> np.ndarray:
        """:meth:`shared_mass` of docs given once as CSR ids of this vocabulary (rows of it):
        the same 0/1 matrix, filled by one vectorised scatter per chunk."""
        return _dense(len(rows), len(self.index), *_gather(ptr, ids, rows)) @ self.matrix[tgt].T


def _source_ids(ctx: MatchContext, key: str, vocab: _Vocab) -> tuple[np.ndarray, np.ndarray]:
    """Every source's title tokens as CSR ids of ``vocab`` (cached per match)."""
    ck = f"ids:source:{key}"
    if ck not in ctx.cache:
        ctx.cache[ck] = _csr(item_tokens(ctx, "source"), vocab.index)
    return ctx.cache[ck]


def _source_mass(ctx: MatchContext) -> np.ndarray:
    """Σ idf of each source title's tokens (cached per match)."""
    if "mass:source" not in ctx.cache:
        ctx.cache["mass:source"] = _mass(item_tokens(ctx, "source"), weights(ctx))
    return ctx.cache["mass:source"]


def _shared(inter: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flat index, row, column and overlap of the pairs that share a token (a few percent)."""
    idx = np.flatnonzero(inter)
    r, c = np.divmod(idx, inter.shape[1])
    return idx, r, c, inter.ravel()[idx]


def _ratio(shape: tuple, idx: np.ndarray, num: np.ndarray, denom: np.ndarray) -> np.ndarray:
    """num / denom (where denom > 0) at the flat positions ``idx``, 0 elsewhere, in [0, 1].
    The same float32 operations as ``np.where(d > 0, inter / d, 0)`` over the full matrix,
    where a pair sharing no token gives 0 either way, so only the shared pairs are divided."""
    out = np.zeros(shape, dtype=np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(denom > 0, num / denom, 0.0)
    out.ravel()[idx] = np.clip(q, 0.0, 1.0)
    return out


class TitleTokensSignal:
    """IDF-weighted Jaccard of the lemmatised title tokens: «сварщик» decides, «по» not."""
    name = "title_tokens"
    memo = True     # scores kept on disk between runs (match/memo.py)

    def applies(self, ctx: MatchContext) -> bool:
        return ctx.source.language == ctx.target.language

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        if "vocab:titles" not in ctx.cache:
            ctx.cache["vocab:titles"] = _Vocab(item_tokens(ctx, "target"), weights(ctx))
        vocab = ctx.cache["vocab:titles"]
        inter = vocab.shared_mass_ids(*_source_ids(ctx, "titles", vocab), src, tgt)
        idx, r, c, num = _shared(inter)
        union = _source_mass(ctx)[src][r] + vocab.mass[tgt][c] - num
        return _ratio(inter.shape, idx, num, union)


PREFIX = 5   # blocking key: a word's first letters (catches «газосварщик»/«электрогазосварщика» stems)


def _prefixes(docs: Sequence[Sequence[str]]) -> list[set[str]]:
    return [{t[:PREFIX] for t in d} for d in docs]


_OTHER_SPACE = re.compile(r"[^\S ]")    # whitespace other than the space between tokens


def _sorted_key(key: str) -> Optional[str]:
    """What ``token_sort_ratio`` compares: the words sorted and joined by one space, so
    that ``ratio(_sorted_key(a), _sorted_key(b)) == token_sort_ratio(a, b)``. None for a
    key holding other whitespace (rapidfuzz splits on fewer kinds than Python; normalised
    titles never hold any)."""
    return None if _OTHER_SPACE.search(key) else " ".join(sorted(key.split()))


class _StemIndex:
    """Which targets hold each stem (an inverted index), and each source's stems among
    them: the pairs sharing a stem, by gathers rather than a product of 0/1 matrices."""

    def __init__(self, ctx: MatchContext):
        t_pref = _prefixes(item_tokens(ctx, "target"))
        index = {p: k for k, p in enumerate(sorted({p for d in t_pref for p in d}))}
        t_ptr, t_ids = _csr(t_pref, index)
        t_row = np.repeat(np.arange(len(t_pref)), np.diff(t_ptr))
        order = np.argsort(t_ids, kind="stable")
        self.holders = t_row[order]                                   # targets, stem by stem
        self.h_ptr = np.r_[0, np.cumsum(np.bincount(t_ids, minlength=len(index)))]
        self.s_ptr, self.s_ids = _csr(_prefixes(item_tokens(ctx, "source")), index)
        self.n_targets = len(t_pref)

    def pairs(self, src: np.ndarray, tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of the src × tgt pairs sharing a stem, in row-major order."""
        r, stem = _gather(self.s_ptr, self.s_ids, src)
        r2, t = _gather(self.h_ptr, self.holders, stem)   # every target holding each stem
        col = np.full(self.n_targets, -1, dtype=np.int64)
        col[tgt] = np.arange(len(tgt))
        c = col[t]
        hit = np.zeros((len(src), len(tgt)), dtype=bool)
        hit[r[r2][c >= 0], c[c >= 0]] = True
        return np.nonzero(hit)


class TitleFuzzySignal:
    """Spelling-level similarity of the normalised titles (rapidfuzz). With ``blocking``
    (the default) only pairs whose titles share a word stem (its first letters) are
    compared — a few percent of all pairs — with ``process.cpdist``; other pairs score 0.
    Without it, every pair is compared at once with ``process.cdist``."""
    name = "title_fuzzy"
    memo = True     # scores kept on disk between runs (match/memo.py)

    def __init__(self, *, scorer: Callable = fuzz.token_sort_ratio, score_cutoff: Optional[float] = None,
                 blocking: bool = True):
        self.scorer = scorer
        self.score_cutoff = score_cutoff
        self.blocking = blocking

    def applies(self, ctx: MatchContext) -> bool:
        return ctx.source.language == ctx.target.language

    def _keys(self, ctx: MatchContext, side: str, array: bool = False):
        """Each item's normalised title; ``array``: as an object array, to gather pairs at once."""
        key = f"keys:{side}"
        if key not in ctx.cache:
            ctx.cache[key] = [" ".join(toks) for toks in item_tokens(ctx, side)]
        if not array:
            return ctx.cache[key]
        if key + ":array" not in ctx.cache:
            ctx.cache[key + ":array"] = np.array(ctx.cache[key], dtype=object)
        return ctx.cache[key + ":array"]

    def _sorted_keys(self, ctx: MatchContext, side: str, array: bool = True) -> Optional[np.ndarray]:
        """:func:`_sorted_key` of every key as an object array; None if any key has none."""
        key = f"keys:{side}:sorted"
        if key not in ctx.cache:
            keys = [_sorted_key(k) for k in self._keys(ctx, side)]
            ctx.cache[key] = None if None in keys else np.array(keys, dtype=object)
        return ctx.cache[key]

    def _block(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) pairs sharing a stem."""
        if "index:stems" not in ctx.cache:
            ctx.cache["index:stems"] = _StemIndex(ctx)
        return ctx.cache["index:stems"].pairs(src, tgt)

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        s_keys, t_keys = self._keys(ctx, "source"), self._keys(ctx, "target")
        if not self.blocking:
            m = process.cdist([s_keys[i] for i in src], [t_keys[j] for j in tgt], scorer=self.scorer,
                              score_cutoff=self.score_cutoff, workers=ctx.workers, dtype=np.float32)
            return (m / 100.0).astype(np.float32)
        out = np.zeros((len(src), len(tgt)), dtype=np.float32)
        rows, cols = self._block(ctx, src, tgt)
        if len(rows):
            scorer, side_keys = self.scorer, self._keys
            if scorer is fuzz.token_sort_ratio and self._sorted_keys(ctx, "source") is not None \
                    and self._sorted_keys(ctx, "target") is not None:
                # words sorted once per title, not once per pair: plain ratio gives the same
                scorer, side_keys = fuzz.ratio, self._sorted_keys
            s_arr, t_arr = side_keys(ctx, "source", array=True), side_keys(ctx, "target", array=True)
            vals = process.cpdist(s_arr[src[rows]], t_arr[tgt[cols]], scorer=scorer,
                                  score_cutoff=self.score_cutoff, workers=ctx.workers, dtype=np.float32)
            out[rows, cols] = vals / 100.0
        return out


class NotesSignal:
    """How much of the source title the target's definition, notes and example
    occupations cover (IDF-weighted containment)."""
    name = "notes"
    memo = True     # scores kept on disk between runs (match/memo.py)

    def applies(self, ctx: MatchContext) -> bool:
        if ctx.source.language != ctx.target.language:
            return False
        return any(note_text(ctx, it, "target") for it in ctx.targets)

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        if "vocab:notes" not in ctx.cache:
            ctx.cache["vocab:notes"] = _Vocab(note_tokens(ctx), weights(ctx))
        vocab = ctx.cache["vocab:notes"]
        inter = vocab.shared_mass_ids(*_source_ids(ctx, "notes", vocab), src, tgt)
        idx, r, _, num = _shared(inter)
        return _ratio(inter.shape, idx, num, _source_mass(ctx)[src][r])
