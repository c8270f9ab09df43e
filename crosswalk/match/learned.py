"""Learning from confirmed links: reviewers' decisions are a coding index that grows — each
confirmed source item's title under the target it was confirmed to — read by the same
nearest-labelled-titles machinery as every other index (match/index.py). A source item is
proposed the targets of the confirmed items whose titles are most like its own, by words
and (with embeddings) by meaning; an item never learns from itself.

Learning is never skipped silently: confirmed links whose source items are not among the
items matched have no title to learn from — a warning names how many, and an error is
raised when that leaves nothing to learn from.
"""
from __future__ import annotations

import warnings
from typing import Iterable

from ..errors import CrosswalkError
from .context import MatchContext
from .index import TITLE_FLOOR, IndexSignal, confirmed_index

__all__ = ["LearnedSignal", "TITLE_FLOOR", "LearningWarning"]


class LearningWarning(UserWarning):
    """Some confirmed links could not be learned from (their source items were not matched)."""


class LearnedSignal(IndexSignal):
    name = "learned"
    memo = False        # decisions change while people review; a hit would also hide the warning below
    knn = 0             # the nearest confirmed item decides (a few hundred decisions: no vote)
    fuzzy_cutoff = 0    # and its spelling counts in full («Фасовщик» inside «Старший упаковщик-фасовщик»)

    def __init__(self, confirmed: Iterable[tuple[str, str]], *, embeddings: bool = False, embedder=None):
        # (source code, target code) pairs people confirmed; sorted for determinism
        self.confirmed = sorted(set(confirmed))
        super().__init__([], embeddings=embeddings, embedder=embedder)

    def _index(self, ctx: MatchContext):
        key = ("learned:index", tuple(self.confirmed))
        if key not in ctx.cache:
            pairs = [(s, t) for s, t in self.confirmed if t in ctx.target_index]
            ix, missing = confirmed_index(ctx, pairs, ctx.target.scheme.id)
            if missing:
                example = missing[0]
                msg = (f"{len(missing)} of {len(pairs)} confirmed links name source items that are not among"
                       f" the {len(ctx.sources)} items matched (e.g. {example}): their titles are unknown,"
                       " so they cannot be learned from; match them together with the items")
                if not len(ix):
                    raise CrosswalkError("nothing to learn from: " + msg)
                warnings.warn(msg, LearningWarning, stacklevel=4)
            ctx.cache[key] = ix
        return ctx.cache[key]

    def _indexes(self, ctx: MatchContext):
        return [self._index(ctx)]
