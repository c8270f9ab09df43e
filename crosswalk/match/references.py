"""References a classifier carries: an item attribute named after the target scheme
(``attrs["isco08"] = "2512"``, or a list of codes) names its counterpart outright.

OKPDTR's «Код по ОКЗ» column refers to ОК 010-93, not ОК 010-2014, and is loaded as
``attrs["okz93"]``: it is never taken for an OKZ-2014 code (2132 is «Программисты» in
OKZ-93 but an agricultural group in OKZ-2014).
"""
from __future__ import annotations

import numpy as np

from .context import MatchContext


def _referenced(item, scheme: str) -> list[str]:
    value = item.attrs.get(scheme)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple, set, frozenset)) else [str(value)]


class ReferenceSignal:
    name = "reference"

    def applies(self, ctx: MatchContext) -> bool:
        scheme = ctx.target.scheme.id
        return any(_referenced(it, scheme) for it in ctx.sources)

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        scheme = ctx.target.scheme.id
        col = {ctx.targets[j].code: k for k, j in enumerate(tgt)}
        out = np.zeros((len(src), len(tgt)), dtype=np.float32)
        for r, i in enumerate(src):
            for code in _referenced(ctx.sources[i], scheme):
                if code in col:
                    out[r, col[code]] = 1.0
        return out
