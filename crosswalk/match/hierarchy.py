"""Hierarchy coherence: a child should land under the group its parent landed in
(01.11.1 under the target of 01.11). Levels are matched top-down, so the parent's best
target is known when its children are scored.

Inside a division the data show was regrouped (see structure.py) the parent's match is
no anchor — OKVED2 85.2 is not NACE 85.2 — so there the signal only keeps the child in
its division, whose code both schemes share, and leaves the choice to the other signals.
"""
from __future__ import annotations

import numpy as np

from .context import MatchContext
from .structure import _comparable, _division, regrouped_divisions, shares_codes


class HierarchySignal:
    name = "hierarchy"
    standalone = False

    def applies(self, ctx: MatchContext) -> bool:
        return len({it.level for it in ctx.source}) > 1 and len({it.level for it in ctx.target}) > 1

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        ranked = ctx.cache.setdefault("ranked", {})  # source code -> [(target, score)], best first
        regrouped = (regrouped_divisions(ctx)
                     if shares_codes(ctx.source.scheme.id, ctx.target.scheme.id) else {})
        out = np.zeros((len(src), len(tgt)), dtype=np.float32)
        t_codes = [ctx.targets[j].code for j in tgt]
        lineage = [{c} | {a.code for a in ctx.target.ancestors(c)} for c in t_codes]
        t_div = np.array([_division(c) if _comparable(c) else "" for c in t_codes])
        for r, i in enumerate(src):
            item = ctx.sources[i]
            if item.parent is None:
                continue
            if _comparable(item.code) and _division(item.code) in regrouped:
                out[r] = t_div == _division(item.code)
                continue
            cands = ranked.get(item.parent)
            if cands:
                anchor = cands[0][0]
                out[r] = [anchor in line for line in lineage]
        return out
