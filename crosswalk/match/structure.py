"""Code structure: two schemes that share codes (OKZ-2014 and ISCO-08; OKVED2 and NACE
Rev.2 at 2–4 digits) give a strong hint where a code exists on both sides.

A shared code is evidence, not proof. Where a scheme regrouped a division (OKVED2 19,
85 and 92 against NACE), the same code may mean something else (OKVED2 85.41/85.42).
Such divisions are found from the data — the codes under a division differ between the
two schemes — and the structural score is lowered there; nothing is hard-coded.
"""
from __future__ import annotations

import numpy as np

from .context import MatchContext

# Scheme pairs whose codes are built the same way. Every scheme shares codes with itself
# (another edition). ISCO-88 and ISCO-08 do not: equal codes there mean different groups.
SHARED_CODES = {frozenset({"okz2014", "isco08"}), frozenset({"okved2", "nace2"})}
REGROUPED_SCORE = 0.5      # a shared code inside a regrouped division
DESCENDANT_SCORE = 0.9     # an OKVED2 subclass under the class whose code the target has


def shares_codes(a: str, b: str) -> bool:
    return a == b or frozenset({a, b}) in SHARED_CODES


def _division(code: str) -> str:
    """The unit whose code sets are compared: the 2-digit division (or ISCO sub-major group)."""
    return code.replace(".", "")[:2]


def _comparable(code: str) -> bool:
    return code[:1].isdigit()


def regrouped_divisions(ctx: MatchContext) -> dict[str, tuple[frozenset, frozenset]]:
    """Divisions whose codes differ between source and target (at the depths both have):
    division -> (codes only in the source, codes only in the target)."""
    if "regrouped" in ctx.cache:
        return ctx.cache["regrouped"]
    # a side with no numeric codes (a file of sections only) has no divisions to compare
    t_depth = max((len(c.replace(".", "")) for c in ctx.target.codes if _comparable(c)), default=0)
    s_depth = max((len(c.replace(".", "")) for c in ctx.source.codes if _comparable(c)), default=0)
    depth = min(t_depth, s_depth)

    def by_division(codes):
        out: dict[str, set] = {}
        for c in codes:
            if _comparable(c) and len(c.replace(".", "")) <= depth:
                out.setdefault(_division(c), set()).add(c)
        return out

    s, t = by_division(ctx.source.codes), by_division(ctx.target.codes)
    out = {}
    for div in sorted(set(s) & set(t)):
        if s[div] != t[div]:
            out[div] = (frozenset(s[div] - t[div]), frozenset(t[div] - s[div]))
    ctx.cache["regrouped"] = out
    return out


class StructureSignal:
    name = "structure"

    def applies(self, ctx: MatchContext) -> bool:
        return shares_codes(ctx.source.scheme.id, ctx.target.scheme.id)

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        out = np.zeros((len(src), len(tgt)), dtype=np.float32)
        col = {ctx.targets[j].code: k for k, j in enumerate(tgt)}
        regrouped = regrouped_divisions(ctx)
        for r, i in enumerate(src):
            item = ctx.sources[i]
            code, score = item.code, 1.0
            if code not in col:
                # a source level deeper than the target's: use the nearest ancestor it has
                anc = next((a.code for a in ctx.source.ancestors(code) if a.code in col), None)
                if anc is None:
                    continue
                code, score = anc, DESCENDANT_SCORE
            if _comparable(code) and _division(code) in regrouped:
                score *= REGROUPED_SCORE
            out[r, col[code]] = score
        return out
