"""Hierarchy coherence: a child should land under the group its parent landed in
(01.11.1 under the target of 01.11). Levels are matched top-down, so the parent's best
target is known when its children are scored."""
from __future__ import annotations

import numpy as np

from .context import MatchContext


class HierarchySignal:
    name = "hierarchy"
    standalone = False

    def applies(self, ctx: MatchContext) -> bool:
        return len({it.level for it in ctx.source}) > 1 and len({it.level for it in ctx.target}) > 1

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        best = ctx.cache.setdefault("best", {})      # source code -> its top-1 target code
        out = np.zeros((len(src), len(tgt)), dtype=np.float32)
        lineage = [{ctx.targets[j].code} | {a.code for a in ctx.target.ancestors(ctx.targets[j].code)}
                   for j in tgt]
        for r, i in enumerate(src):
            parent = ctx.sources[i].parent
            anchor = best.get(parent) if parent is not None else None
            if anchor is not None:
                out[r] = [anchor in line for line in lineage]
        return out
