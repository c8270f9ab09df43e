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
* ``embedding`` — meaning rather than spelling (optional, ``embeddings=True``).

The combined score is the weighted mean of the signals that apply to a level block.
Items are compared only with target items of a compatible level (never a section for a
class), block by block and in chunks of sources, so memory stays bounded.
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping, Optional, Sequence

import numpy as np

from ..candidates import CandidateSet
from ..errors import CrosswalkError
from ..model import Candidate, Classification
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
DEFAULT_WEIGHTS: dict[str, float] = {
    "structure": 4.0, "reference": 4.0, "title_tokens": 1.0, "title_fuzzy": 0.25, "notes": 1.0, "part": 1.0,
    "hierarchy": 1.0, "learned": 2.0, "embedding": 2.0,
}

__all__ = ["DEFAULT_WEIGHTS", "match", "default_signals", "compatible_levels", "regrouped_divisions",
           "shares_codes"]


def top_k(scores: np.ndarray, limit: int, score_cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of each row's best ``limit`` scores above the cutoff, best first, ties
    broken by column (= target code order) — the same as a full stable sort, but only the
    few values at the top are sorted."""
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
    return r[sel], c[sel]


def default_signals(*, confirmed: Optional[Iterable[tuple[str, str]]] = None,
                    embeddings: bool = False, embedder=None) -> list:
    signals = [StructureSignal(), ReferenceSignal(), TitleTokensSignal(), TitleFuzzySignal(), NotesSignal(),
               PartSignal(), HierarchySignal()]
    if confirmed:
        signals.append(LearnedSignal(confirmed, embeddings=embeddings, embedder=embedder))
    if embeddings:
        from .meaning import EmbeddingSignal
        signals.append(EmbeddingSignal(embedder=embedder))
    return signals


def match(source: Classification, target: Classification, *,
          target_context: Sequence[Classification] = (), source_context: Sequence[Classification] = (),
          confirmed: Optional[Iterable[tuple[str, str]]] = None, embeddings: bool = False,
          embedder=None, signals: Optional[Sequence] = None,
          weights: Optional[Mapping[str, float]] = None, limit: int = 5, score_cutoff: float = 0.0,
          workers: int = 1, chunk: int = 2048,
          progress: Optional[Callable[[int, int], None]] = None) -> CandidateSet:
    """Propose, for every source item, up to ``limit`` target items scoring at least
    ``score_cutoff``, best first; ties are broken by target code order.

    ``target_context``: classifications sharing the target's codes whose texts describe
    its items (ISCO-08 definitions for OKZ-2014). ``confirmed``: (source, target) code
    pairs people confirmed, to learn from.
    """
    if limit < 1:
        raise CrosswalkError(f"limit must be a positive number of candidates, not {limit}")
    if not 0.0 <= score_cutoff <= 1.0:
        raise CrosswalkError(f"score_cutoff must lie in [0, 1], not {score_cutoff}")
    w = dict(DEFAULT_WEIGHTS, **(weights or {}))
    ctx = MatchContext(source, target, target_context=tuple(target_context),
                       source_context=tuple(source_context), workers=workers)
    sigs = list(signals) if signals is not None else default_signals(
        confirmed=confirmed, embeddings=embeddings, embedder=embedder)
    active = [s for s in sigs if w.get(s.name, 0.0) > 0 and s.applies(ctx)]
    # priors and hierarchy only refine what a comparing signal found; alone they compare nothing
    if not any(getattr(s, "standalone", True) for s in active):
        raise CrosswalkError(
            f"no signal can compare {source.scheme.id} ({source.language}) with {target.scheme.id}"
            f" ({target.language}): give a target_context in the source's language, confirmed links,"
            " or embeddings=True")
    blocks = ctx.blocks()
    total = sum(len(b.src) for b in blocks)
    done = 0
    out: list[Candidate] = []
    ranked = ctx.cache.setdefault("ranked", {})     # for the hierarchy signal of the next level
    for block in blocks:                       # ascending levels: parents before children
        for start in range(0, len(block.src), chunk):
            src = block.src[start:start + chunk]
            mats = {}
            for s in active:
                m = s.scores(ctx, src, block.tgt)
                if s.name == "hierarchy" and not m.any():
                    continue                   # no parent anchors at this level: not evidence
                mats[s.name] = m
            wsum = sum(w[n] for n in mats)
            combined = sum(w[n] * m for n, m in mats.items()) / wsum
            combined = np.round(combined.astype(np.float64), 6)
            rows, cols = top_k(combined, limit, score_cutoff)
            names = list(mats)
            ev = list(zip(*(np.round(m[rows, cols].astype(np.float64), 4).tolist() for m in mats.values())))
            scores = combined[rows, cols].tolist()
            rank, prev = 0, -1
            for k, (r, c) in enumerate(zip(rows.tolist(), cols.tolist())):
                rank = rank + 1 if r == prev else 1
                prev = r
                code, tcode = ctx.sources[src[r]].code, ctx.targets[block.tgt[c]].code
                out.append(Candidate(code, tcode, scores[k], rank, dict(zip(names, ev[k]))))
                ranked.setdefault(code, []).append((tcode, scores[k]))
            done += len(src)
            if progress:
                progress(done, total)
    order_of = ctx.source_index
    out.sort(key=lambda c: (order_of[c.source], c.rank))
    return CandidateSet(
        source_scheme=source.scheme.id, target_scheme=target.scheme.id, candidates=out,
        source_titles={it.code: it.title for it in source},
        target_titles={it.code: it.title for it in target},
        source_edition=source.edition, target_edition=target.edition)
