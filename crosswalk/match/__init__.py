"""The matching engine: for every source item, ranked candidate target items, each
with a score in [0, 1] and the evidence (every signal's own score).

Signals (each applies only where it can say something):

* ``structure`` — the same code in two schemes built alike (OKZ↔ISCO-08, OKVED2↔NACE),
  lowered in divisions the data show were regrouped;
* ``reference`` — a code the source item itself names in the target scheme;
* ``title_tokens`` / ``title_fuzzy`` — normalised, lemmatised titles (IDF-weighted
  token overlap; rapidfuzz spelling similarity);
* ``notes`` — the source title found in the target's definitions and example occupations;
* ``part`` — OKPDTR's worker/employee split against ISCO major groups;
* ``hierarchy`` — a child lands under its parent's match;
* ``learned`` — targets of the most similar confirmed links (``confirmed=``);
* ``embedding`` — meaning rather than spelling (optional, ``embeddings=True``);
* ``word_meaning`` — each title word by meaning against the words describing a target,
  in any language (optional, with ``embedding``).

The combined score is the weighted mean of the signals that apply to a level block.
Items are compared only with target items of a compatible level (never a section for a
class), block by block and in chunks of sources, so memory stays bounded.
"""
from __future__ import annotations

import contextlib
import gc
from typing import Callable, Iterable, Mapping, Optional, Sequence

import numpy as np

from ..candidates import CandidateSet
from ..errors import CrosswalkError
from ..model import Candidate, Classification, code_sort_key
from .context import MatchContext, compatible_levels
from .hierarchy import HierarchySignal
from .learned import LearnedSignal
from .priors import PartSignal
from .references import ReferenceSignal
from .structure import StructureSignal, regrouped_divisions, shares_codes
from .text import NotesSignal, TitleFuzzySignal, TitleTokensSignal

# Measured on ISCO-88→ISCO-08 (official table) and OKPDTR→OKZ (dev gold): word-level
# evidence (lemmas, IDF) beats spelling similarity, which keeps a small weight for
# spelling variants; meaning (embeddings) is the strongest single signal where present.
# The nearest labelled titles of the coding indexes weigh most (4): on the ESCO hold-out
# weight 2 → 4 gives 42.0/62.4 → 44.4/66.2 % top-1/top-3, dev 27.3/42.4 → 25.0/39.4 % alone
# but 26.5/43.2 % with the k-nearest vote; ISCO-88→08 stays at 92.5/97.4 %.
DEFAULT_WEIGHTS: dict[str, float] = {
    "structure": 4.0, "reference": 4.0, "title_tokens": 1.0, "title_fuzzy": 0.25, "notes": 1.0, "part": 1.0,
    "hierarchy": 1.0, "learned": 2.0, "embedding": 2.0, "word_meaning": 2.0, "index": 4.0,
}

__all__ = ["DEFAULT_WEIGHTS", "match", "default_signals", "compatible_levels", "regrouped_divisions",
           "shares_codes", "top_k", "top_k_ranks", "top_k_rounded"]


@contextlib.contextmanager
def _gc_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def top_k(scores: np.ndarray, limit: int, score_cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of each row's best ``limit`` scores above the cutoff, best first, ties
    broken by column (= target code order) — the same as a full stable sort, but only the
    few values at the top are sorted. ``top_k_ranks`` also gives each one's rank."""
    r, c, _ = top_k_ranks(scores, limit, score_cutoff)
    return r, c


def top_k_ranks(scores: np.ndarray, limit: int, score_cutoff: float):
    n_rows, n_cols = scores.shape
    k = min(limit, n_cols)
    if n_cols > 4 * k:
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1:k]     # k-th best of each row
        keep = scores >= kth                                         # ties at the edge kept
    else:
        keep = np.ones_like(scores, dtype=bool)
    keep &= (scores >= score_cutoff) & (scores > 0.0)
    r, c = np.nonzero(keep)                                          # row-major: c ascending
    order = np.lexsort((c, -scores[r, c], r))
    r, c = r[order], c[order]
    first = np.r_[0, np.flatnonzero(np.diff(r)) + 1]                 # where each row starts
    pos = np.arange(len(r)) - np.repeat(first, np.diff(np.r_[first, len(r)]))
    sel = pos < k
    return r[sel], c[sel], pos[sel] + 1


def top_k_rounded(scores: np.ndarray, limit: int, score_cutoff: float, decimals: int = 6):
    """``top_k_ranks(np.round(scores.astype(np.float64), decimals), ...)`` and the rounded
    scores picked, for ``scores`` in [0, 1], without rounding or sorting the whole matrix.

    Rounding is monotone, so the k-th best rounded score of a row is its k-th best score
    rounded, and any score that rounds to at least that lies less than two units of the
    last decimal below the k-th best: only those are rounded. Fewer than k of them round
    above it and all are taken; those rounding to it tie, and fill the remaining places in
    column order, as the stable sort would (a flat prior can make hundreds tie per row)."""
    n_rows, n_cols = scores.shape
    k = min(limit, n_cols)
    if n_cols <= 4 * k:
        rounded = np.round(scores.astype(np.float64), decimals)
        r, c, rank = top_k_ranks(rounded, limit, score_cutoff)
        return r, c, rank, rounded[r, c]
    kth = np.partition(scores, n_cols - k, axis=1)[:, n_cols - k]              # k-th best of each row
    near = scores >= (kth - 2 * 10.0 ** -decimals)[:, None]
    near &= scores > 0
    r, c = np.nonzero(near)                                                    # row-major
    vals = np.round(scores[r, c].astype(np.float64), decimals)
    kth_r = np.round(kth.astype(np.float64), decimals)
    edge = kth_r[r]
    above = vals > edge                                                        # < k per row
    above &= (vals >= score_cutoff) & (vals > 0.0)
    tie = vals == edge
    tie &= (edge >= score_cutoff) & (edge > 0.0)
    # place of each tie among its row's ties (column order), and the places left for ties
    before = np.cumsum(tie) - tie
    row_start = np.r_[0, np.cumsum(np.bincount(r, minlength=n_rows))[:-1]]
    tie &= before - before[row_start[r]] < k - np.bincount(r[above], minlength=n_rows)[r]
    keep = above | tie                                                         # <= k per row
    r, c, vals = r[keep], c[keep], vals[keep]
    order = np.lexsort((c, -vals, r))
    r, c, vals = r[order], c[order], vals[order]
    first = np.r_[0, np.flatnonzero(np.diff(r)) + 1]                 # where each row starts
    rank = np.arange(len(r)) - np.repeat(first, np.diff(np.r_[first, len(r)])) + 1
    return r, c, rank, vals


def default_signals(*, confirmed: Optional[Iterable[tuple[str, str]]] = None,
                    embeddings: bool = False, embedder=None, indexes: Sequence = (), population=None) -> list:
    signals = [StructureSignal(), ReferenceSignal(), TitleTokensSignal(), TitleFuzzySignal(), NotesSignal(),
               PartSignal(), HierarchySignal()]
    if indexes:
        from .index import IndexSignal
        signals.append(IndexSignal(indexes, embeddings=embeddings, embedder=embedder, population=population))
    if confirmed:
        signals.append(LearnedSignal(confirmed, embeddings=embeddings, embedder=embedder))
    if embeddings:
        from .meaning import EmbeddingSignal
        from .words import WordMeaningSignal
        signals += [EmbeddingSignal(embedder=embedder), WordMeaningSignal(embedder=embedder)]
    return signals


def match(source: Classification, target: Classification, *,
          target_context: Sequence[Classification] = (), source_context: Sequence[Classification] = (),
          confirmed: Optional[Iterable[tuple[str, str]]] = None, embeddings: bool = False,
          embedder=None, signals: Optional[Sequence] = None, indexes: Sequence = (), examples: bool = True,
          weights: Optional[Mapping[str, float]] = None, limit: int = 5, score_cutoff: float = 0.0,
          workers: int = 1, chunk: int = 8192, idf=None, hubness: bool = False, memo: bool = False,
          population: Optional[Classification] = None,
          progress: Optional[Callable[[int, int], None]] = None,
          embed_progress: Optional[Callable[[str, int, int], None]] = None) -> CandidateSet:
    """Propose, for every source item, up to ``limit`` target items scoring at least
    ``score_cutoff``, best first; ties are broken by target code order.

    ``target_context``: classifications sharing the target's codes whose texts describe
    its items (ISCO-08 definitions for OKZ-2014). ``confirmed``: (source, target) code
    pairs people confirmed, to learn from. ``idf``: token weights (``normalize.TokenWeights``)
    to use instead of fitting them on both sides' titles — fitted on the target alone, a
    source item scores the same whatever the other source items are (free-text coding).
    ``indexes``: coding indexes (crosswalk.index.CodingIndex: labelled titles → codes of the
    target's scheme or one sharing its codes) for the ``index`` signal, besides the example
    occupations the target and its context list (``examples=False``: not those); the word weights are
    fitted on the target's titles and these indexes' titles when ``idf`` is not given.
    ``hubness``: lower the scores of targets that attract the probes drawn from the indexes'
    titles (match/hubs.py). Off by default: measured, it costs accuracy (below).
    ``population``: titles like the sources (the whole source classification when only some
    of its items are matched) against which the ``index`` signal measures attractors and
    lowers them (IndexSignal._attraction); a fixed set, so a source's scores never depend on
    which other sources are matched.
    ``memo``: keep the expensive signals' score blocks on disk and read them back when every
    input is the same (match/memo.py): a build run again costs reading, not computing.
    ``progress(done, total)``: sources matched; ``embed_progress(what, done, total)``: texts
    the embedding model computes because no cache holds them (a first run's long part).
    """
    if limit < 1:
        raise CrosswalkError(f"limit must be a positive number of candidates, not {limit}")
    if not 0.0 <= score_cutoff <= 1.0:
        raise CrosswalkError(f"score_cutoff must lie in [0, 1], not {score_cutoff}")
    for side, cls in (("source", source), ("target", target)):
        if not len(cls):
            raise CrosswalkError(f"the {side} ({cls.scheme.id}{', ' + cls.source if cls.source else ''})"
                                 " holds no items: nothing to match (run `crosswalk validate` on it)")
    w = dict(DEFAULT_WEIGHTS, **(weights or {}))
    from ..index import CodingIndex, indexes_for
    # the example occupations the target and its context list are an index of their own
    own = [CodingIndex.from_classification(c) for c in (target, *target_context)
           if any(it.attrs.get("examples") or it.attrs.get("included") for it in c)] if examples else []
    indexes = indexes_for(target, [*indexes, *(ix for ix in own if len(ix))])
    ctx = MatchContext(source, target, target_context=tuple(target_context),
                       source_context=tuple(source_context), workers=workers, embed_progress=embed_progress,
                       indexes=tuple(indexes))
    if idf is not None:
        ctx.cache["idf"] = idf
    sigs = list(signals) if signals is not None else default_signals(
        confirmed=confirmed, embeddings=embeddings, embedder=embedder, indexes=indexes, population=population)
    active = [s for s in sigs if w.get(s.name, 0.0) > 0 and s.applies(ctx)]
    # priors and hierarchy only refine what a comparing signal found; alone they compare nothing
    if not any(getattr(s, "standalone", True) for s in active):
        raise CrosswalkError(
            f"no signal can compare {source.scheme.id} ({source.language}) with {target.scheme.id}"
            f" ({target.language}): give a target_context in the source's language, confirmed links,"
            " or embeddings=True")
    prior = {s.name: getattr(s, "prior", False) for s in active}
    hub = None
    if hubness and any(s.name == "index" for s in active):
        from .hubs import BETA, hubness as _hubness
        r = _hubness(source, target, target_context=target_context, indexes=indexes, weights=weights,
                     embeddings=embeddings, embedder=embedder, workers=workers)
        if r:
            med = float(np.median([r.get(it.code, 0.0) for it in ctx.targets]))
            hub = np.array([BETA * (r.get(it.code, 0.0) - med) for it in ctx.targets], dtype=np.float32)
    store = None
    if memo:
        from .memo import Memo, signal_key
        store = Memo()
        keys = {s.name: signal_key(s, ctx) for s in active}
    blocks = ctx.blocks()
    # where the code structure decides an item (shared codes, no deviation) meaning is not computed
    # for it: its identity stands on the code (build.draft_links), and a first build embeds a quarter
    # fewer tokens. Its candidates are scored by the other signals.
    decided = None
    if any(getattr(s, "meaning", False) for s in active) and any(s.name == "structure" for s in active):
        from .structure import decided_by_code
        decided = decided_by_code(ctx, blocks)
        if decided.any():
            ctx.meaning_rows = np.flatnonzero(~decided)
        else:
            decided = None
    plain = [s for s in active if not getattr(s, "meaning", False)]
    total = sum(len(b.src) for b in blocks)
    done = 0
    out: list[Candidate] = []
    out_src, out_rank = [], []                 # source index and rank of each candidate, for the order
    # for the hierarchy signal of the next level (nothing else reads it)
    ranked = ctx.cache.setdefault("ranked", {}) if any(s.name == "hierarchy" for s in active) else None
    for block in blocks:                       # ascending levels: parents before children
        for src, signals_here in _chunks(block.src, decided, active, plain, chunk):
            mats = {}
            for s in signals_here:
                key = keys[s.name] if store is not None else None
                m = store.get(key, src, block.tgt) if key else None
                if m is None:
                    m = s.scores(ctx, src, block.tgt)
                    if key:
                        store.put(key, src, block.tgt, m)
                if s.name == "hierarchy" and not m.any():
                    continue                   # no parent anchors at this level: not evidence
                mats[s.name] = m
            combined = _weighted_mean(mats, w)
            # a prior (OKPDTR's worker/employee split) only refines what another signal found: a
            # pair nothing else scores is no candidate (else the first code of the prior's favoured
            # majors becomes the top candidate of every title nothing describes)
            if any(prior[n] for n in mats):
                evidence = None
                for n, m in mats.items():
                    if not prior[n]:
                        evidence = m > 0 if evidence is None else evidence | (m > 0)
                combined = np.where(evidence, combined, 0).astype(combined.dtype) if evidence is not None \
                    else np.zeros_like(combined)
            if hub is not None:     # hubness: targets attracting the probes give way
                combined = np.clip(combined - hub[block.tgt][None, :], 0.0, 1.0) * (combined > 0)
            # scores are rounded to 6 decimals (top_k_rounded); rounding is monotone, so the
            # rounded extremes are the extremes rounded
            if combined.size and not (np.round(np.float64(combined.min()), 6) >= 0.0
                                      and np.round(np.float64(combined.max()), 6) <= 1.0):
                raise CrosswalkError("a signal gave scores outside [0, 1]: " + ", ".join(
                    n for n, m in mats.items() if m.size and (m.min() < 0 or m.max() > 1)))
            rows, cols, ranks, scores = top_k_rounded(combined, limit, score_cutoff)
            names = sorted(mats)                    # evidence in key order, as Candidate keeps it
            ev = zip(*(np.round(mats[n][rows, cols].astype(np.float64), 4).tolist() for n in names))
            scores = scores.tolist()
            s_codes = [ctx.sources[i].code for i in src[rows]]
            t_codes = [ctx.targets[j].code for j in block.tgt[cols]]
            # scores were checked in bulk (weighted means of [0, 1] signals): no per-object checks
            with _gc_paused():    # tens of thousands of small objects: no cyclic GC passes meanwhile
                out += [Candidate.trusted(a, b, sc, rk, dict(zip(names, e)))
                        for a, b, sc, rk, e in zip(s_codes, t_codes, scores, ranks.tolist(), ev)]
            out_src.append(src[rows])
            out_rank.append(ranks)
            if ranked is not None:
                for a, b, sc in zip(s_codes, t_codes, scores):
                    ranked.setdefault(a, []).append((b, sc))
            done += len(src)
            if progress:
                progress(done, total)
    return CandidateSet(
        source_scheme=source.scheme.id, target_scheme=target.scheme.id,
        candidates=_in_code_order(ctx, out, out_src, out_rank), presorted=True,
        source_titles={it.code: it.title for it in source},
        target_titles={it.code: it.title for it in target},
        source_edition=source.edition, target_edition=target.edition)


def _chunks(src: np.ndarray, decided: Optional[np.ndarray], active: list, plain: list, chunk: int):
    """(sources, signals) to score together: a block's sources in chunks, those the code structure
    decides (``decided``) apart, with the signals that do not compare meaning (``plain``)."""
    parts = [(src, active)] if decided is None else [(src[~decided[src]], active), (src[decided[src]], plain)]
    for part, signals in parts:
        for start in range(0, len(part), chunk):
            yield part[start:start + chunk], signals


def _weighted_mean(mats: Mapping[str, np.ndarray], w: Mapping[str, float]) -> np.ndarray:
    """Σ w·m / Σ w, term by term in the signals' order, as ``sum(...) / wsum`` computes it
    (in the matrices' own float32), but adding in place: no new 8,000 × 436 matrix per term."""
    acc = None
    for n, m in mats.items():
        term = w[n] * m
        if acc is None:
            acc = term + 0    # sum() starts from 0: the same -0.0 → 0.0 as before
        elif np.result_type(acc, term) == acc.dtype:
            acc += term
        else:
            acc = acc + term
    wsum = sum(w[n] for n in mats)
    return np.divide(acc, wsum, out=acc) if np.result_type(acc, wsum) == acc.dtype else acc / wsum


def _in_code_order(ctx: MatchContext, cands: list[Candidate], src: list, rank: list) -> list[Candidate]:
    """The candidates in CandidateSet's order (source code as code_sort_key orders it, then
    rank), by a numpy sort of integer keys; usually they already are (flat or code-ordered
    sources), then nothing moves."""
    if not cands:
        return cands
    codes = [it.code for it in ctx.sources]
    pos = np.empty(len(codes), dtype=np.int64)
    pos[sorted(range(len(codes)), key=lambda i: code_sort_key(codes[i]))] = np.arange(len(codes))
    p, r = pos[np.concatenate(src)], np.concatenate(rank)
    if np.all((np.diff(p) > 0) | ((np.diff(p) == 0) & (np.diff(r) > 0))):
        return cands
    return [cands[i] for i in np.lexsort((r, p)).tolist()]
