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
REGROUPED_SCORE = 0.0      # a shared code where the data show a deviation: matched by meaning alone
DESCENDANT_SCORE = 0.9     # an OKVED2 subclass under the class whose code the target has


def shares_codes(a: str, b: str) -> bool:
    return a == b or frozenset({a, b}) in SHARED_CODES


def _division(code: str) -> str:
    """The unit whose code sets are compared: the 2-digit division (or ISCO sub-major group)."""
    return code.replace(".", "")[:2]


def _comparable(code: str) -> bool:
    return code[:1].isdigit()


def code_depth(code: str) -> int:
    return len(code.replace(".", ""))


def regrouped_divisions(ctx: MatchContext) -> dict[str, tuple[frozenset, frozenset]]:
    """Divisions the data show were regrouped: division -> (codes only in the source, codes
    only in the target).

    Only like levels are compared (codes of a depth both schemes hold: an OKZ file of unit
    groups is never compared with ISCO's sub-major groups). A division counts as regrouped
    when its codes differ at a level *above* the deepest level both schemes hold — its groups
    changed, so its codes may mean something else (OKVED2 19, 85 and 92 against NACE: 85.41
    is supplementary education in OKVED2, post-secondary in NACE). Codes one scheme adds or
    lacks at the deepest shared level (OKZ's national unit groups 1325, 2121, …) are national
    detail: they have no same code to follow, and the codes beside them keep their meaning."""
    if "regrouped" in ctx.cache:
        return ctx.cache["regrouped"]

    def by_depth(codes):
        out: dict[int, dict[str, set]] = {}
        for c in codes:
            if _comparable(c):
                out.setdefault(code_depth(c), {}).setdefault(_division(c), set()).add(c)
        return out

    s, t = by_depth(ctx.source.codes), by_depth(ctx.target.codes)
    shared = sorted(set(s) & set(t))
    out: dict[str, tuple[frozenset, frozenset]] = {}
    for depth in shared[:-1]:                     # every shared level but the deepest
        for div in sorted(set(s[depth]) | set(t[depth])):
            a, b = s[depth].get(div, set()), t[depth].get(div, set())
            if a and b and a != b:
                only_s, only_t = out.get(div, (frozenset(), frozenset()))
                out[div] = (only_s | (a - b), only_t | (b - a))
    if out and shared:                            # report the deepest level's differences too
        for div in list(out):
            a, b = s[shared[-1]].get(div, set()), t[shared[-1]].get(div, set())
            out[div] = (out[div][0] | (a - b), out[div][1] | (b - a))
    ctx.cache["regrouped"] = out
    return out


def reshuffled_parents(ctx: MatchContext) -> frozenset[str]:
    """Codes both schemes hold whose children differ on both sides — some dropped, some added
    (OKVED2 85.1 splits NACE's single class 85.10 into 85.11–85.14): the code stays, its content
    moved. A parent that only gains children (OKZ adds 1325 beside ISCO's 1321–1324) keeps its
    meaning, and so do the children both hold."""
    if "reshuffled" in ctx.cache:
        return ctx.cache["reshuffled"]
    out = set()
    for code in ctx.source.codes:
        if not _comparable(code) or code not in ctx.target:
            continue
        a = {it.code for it in ctx.source.children(code)}
        b = {it.code for it in ctx.target.children(code)}
        depths = {code_depth(c) for c in a} & {code_depth(c) for c in b}
        a = {c for c in a if code_depth(c) in depths}
        b = {c for c in b if code_depth(c) in depths}
        if a - b and b - a:
            out.add(code)
    ctx.cache["reshuffled"] = frozenset(out)
    return ctx.cache["reshuffled"]


def deviation(ctx: MatchContext, code: str) -> str:
    """Why the same code may not mean the same thing on both sides ("" when nothing shows it):
    its division was regrouped, or it or its parent had its children reshuffled."""
    if not _comparable(code):
        return ""
    if _division(code) in regrouped_divisions(ctx) and code_depth(code) > 2:
        return "regrouped"          # inside the division: the division as a whole keeps its meaning
    shuffled = reshuffled_parents(ctx)
    if code in shuffled:
        return "reshuffled"
    parent = ctx.source.get(code).parent if code in ctx.source else None
    return "reshuffled" if parent in shuffled else ""


def decided_by_code(ctx: MatchContext, blocks) -> np.ndarray:
    """Per source item: does the code structure decide it — the same code (or, for a level the
    target lacks, the nearest ancestor's) among the target items it may match, outside any
    deviation? These are the identities a build accepts by structure (build.draft_links)."""
    out = np.zeros(len(ctx.sources), dtype=bool)
    if not shares_codes(ctx.source.scheme.id, ctx.target.scheme.id):
        return out
    sig = StructureSignal()
    for b in blocks:
        if len(b.src) and len(b.tgt):
            out[b.src] = sig.scores(ctx, b.src, b.tgt).max(axis=1) >= DESCENDANT_SCORE
    return out


class StructureSignal:
    name = "structure"

    def applies(self, ctx: MatchContext) -> bool:
        return shares_codes(ctx.source.scheme.id, ctx.target.scheme.id)

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        out = np.zeros((len(src), len(tgt)), dtype=np.float32)
        col = {ctx.targets[j].code: k for k, j in enumerate(tgt)}
        for r, i in enumerate(src):
            item = ctx.sources[i]
            code, score = item.code, 1.0
            if code not in col:
                # a source level deeper than the target's: use the nearest ancestor it has
                anc = next((a.code for a in ctx.source.ancestors(code) if a.code in col), None)
                if anc is None:
                    continue
                code, score = anc, DESCENDANT_SCORE
            if deviation(ctx, code):
                score *= REGROUPED_SCORE
            out[r, col[code]] = score
        return out
