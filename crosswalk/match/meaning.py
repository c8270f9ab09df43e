"""Meaning rather than spelling: multilingual e5 embeddings of source titles (queries)
against target texts (passages), so «Аппаратчик гидролиза» can reach a chemical-plant
operators' group with no shared word, and Russian titles can meet English definitions.

A target is described by two kinds of passage: short *labels* (its title, the titles of
same-coded items in its context classifications — the English ISCO-08 titles for
OKZ-2014 groups — and each example occupation they list) and *definitions*. Cosines
are calibrated per kind with a fixed floor (unrelated pairs sit near 0.82 for labels
and 0.77 for definitions: reports/embeddings_probe.json), the best passage of each kind
is taken, and the kinds a target has are averaged. Optional: needs
``crosswalk[embeddings]``; vectors are cached on disk.

Inside a division the data show was regrouped (OKVED2 19, 85, 92 against NACE) a class cannot
follow its code, and plain cosines there are ruled by what every class of the division shares
(«образование» / "education"): «Образование высшее» came out nearest general secondary. There a
class is compared with its division's target classes by what sets each apart from its siblings
(:func:`_contrast`: vectors less their division's mean on each side, both sides read under their
parent, e5's "query" form for like-with-like text). Measured (reports/regrouped.json,
benchmarks/regrouped.py): with EVERY division counted as regrouped, so that 601 classes whose
answer is known must be found among their division's by meaning, the right NACE class comes first
for 428 → 531 of 601 (top 3: 527 → 589); the 22 regrouped classes of the gold 18 → 20 at top 1.
"""
from __future__ import annotations

import numpy as np

from .context import MatchContext
from .structure import _division, deviation, regrouped_divisions, shares_codes

_DEFINITION_CHARS = 400     # e5-small reads 512 tokens; the start of a definition says most
FLOORS = {"label": 0.82, "definition": 0.77}


def _occupations(text: str) -> list[str]:
    out = []
    for occ in str(text or "").splitlines():
        occ = occ.strip(" -•\t;.")
        if occ and len(occ) < 120 and not occ.lower().startswith(("occupations", "examples")):
            out.append(occ)
    return out


def passages(ctx: MatchContext) -> list[tuple[str, str, int]]:
    """(kind, text, target index) for every passage describing a target."""
    out = []
    for j, it in enumerate(ctx.targets):
        described = [it] + [c.get(it.code) for c in ctx.target_context if it.code in c]
        for d in described:
            out.append(("label", d.title, j))
            if d.notes:
                out.append(("definition", f"{d.title}. {d.notes[:_DEFINITION_CHARS]}", j))
            out += [("label", occ, j) for occ in _occupations(d.attrs.get("included"))]
    return out


def query_text(ctx: MatchContext, item) -> str:
    """A source item as the model reads it: in its parent's context («Образование
    профессиональное: Подготовка кадров высшей квалификации»), as a class is meant to be read.
    The bare title of an OKVED2 doctoral-training class finds no English class; read under its
    parent it reaches tertiary education (regrouped OKVED2 classes with the right ISIC class
    in the top 3: 21/22 → 22/22; ISCO-88→ISCO-08 and the flat OKPDTR list unchanged)."""
    return read_under_parent(ctx.source, item)


def read_under_parent(cls, item) -> str:
    """«parent: title», or the title alone where there is no parent or it says the same."""
    parent = cls.parent(item.code) if item.parent else None
    if parent is None or parent.title.strip() == item.title.strip():
        return item.title
    return f"{parent.title}: {item.title}"


class EmbeddingSignal:
    name = "embedding"
    meaning = True  # computed only for the sources the code structure does not decide (MatchContext.meaning_rows)
    memo = True     # scores kept on disk between runs (match/memo.py)

    def __init__(self, *, embedder=None):
        self.embedder = embedder

    def applies(self, ctx: MatchContext) -> bool:
        return True

    def _embedder(self, ctx: MatchContext):
        """The given embedder, else one default model per match (kept in the context, not on
        the signal, whose settings name its memo key)."""
        if self.embedder is not None:
            return self.embedder
        if "meaning:embedder" not in ctx.cache:
            from ..embeddings import Embedder
            ctx.cache["meaning:embedder"] = Embedder()
        return ctx.cache["meaning:embedder"]

    def _prepare(self, ctx: MatchContext):
        if "meaning" not in ctx.cache:
            from ..embeddings import cosine_scores
            emb = self._embedder(ctx)
            ps = passages(ctx)
            rows = ctx.compared()
            vecs = ctx.embed(emb, [t for _, t, _ in ps], kind="passage", what="descriptions")
            queries = np.zeros((len(ctx.sources), vecs.shape[1]), dtype=np.float32)   # rows never asked about stay 0
            if len(rows):
                queries[rows] = ctx.embed(emb, [query_text(ctx, ctx.sources[i]) for i in rows], kind="query",
                                          what="titles")
            kinds = np.array([k for k, _, _ in ps])
            owner = np.array([j for _, _, j in ps])
            ctx.cache["meaning"] = (queries, vecs, kinds, owner, cosine_scores)
        return ctx.cache["meaning"]

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        out = self._scores(ctx, src, tgt)
        _contrast(ctx, self._prepare(ctx), self._embedder(ctx), src, tgt, out)
        return out

    def _scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        queries, vecs, kinds, owner, cosine = self._prepare(ctx)
        col = {j: c for c, j in enumerate(tgt)}
        total = np.zeros((len(src), len(tgt)), dtype=np.float32)
        count = np.zeros(len(tgt), dtype=np.float32)
        for kind, floor in FLOORS.items():
            keep = np.isin(owner, tgt) & (kinds == kind)
            if not keep.any():
                continue
            sims = cosine(queries[src], vecs[keep], floor=floor)
            cols = np.array([col[j] for j in owner[keep]])
            best = np.zeros((len(tgt), len(src)), dtype=np.float32)
            np.maximum.at(best, cols, sims.T)        # best passage of this kind per target
            total += best.T
            count[np.unique(cols)] += 1
        return np.where(count > 0, total / np.maximum(count, 1), 0.0).astype(np.float32)


def _siblings(items, idx: np.ndarray) -> dict[str, np.ndarray]:
    """division -> the given item indices under it (comparable codes only)."""
    out: dict[str, list[int]] = {}
    for i in idx.tolist():
        code = items[i].code
        if code[:1].isdigit():
            out.setdefault(_division(code), []).append(i)
    return {d: np.array(v, dtype=np.int64) for d, v in out.items()}


def _contrast(ctx: MatchContext, prepared, embedder, src: np.ndarray, tgt: np.ndarray, out: np.ndarray) -> None:
    """Inside a division the data show was regrouped (structure.py), a source item is compared
    with the target items of its division by what sets each apart from its siblings: every
    vector less the mean of its side's items of that level in the division, then the cosine
    (clipped at 0). Plain cosines there are ruled by what all siblings share («образование» /
    "education"), and the model's weak cross-language ranking of the rest comes out as noise.
    The siblings are the whole classification's, never the sources matched with it, so a
    source's scores do not depend on which others are matched."""
    if not shares_codes(ctx.source.scheme.id, ctx.target.scheme.id) or not regrouped_divisions(ctx):
        return
    queries = prepared[0]
    rows = [r for r, i in enumerate(src) if deviation(ctx, ctx.sources[i].code) == "regrouped"]
    if not rows:
        return
    t_div = _siblings(ctx.targets, tgt)
    if "meaning:contrast" not in ctx.cache:
        ctx.cache["meaning:contrast"] = {}
    read = ctx.cache["meaning:contrast"]
    need = sorted({int(j) for d in {_division(ctx.sources[src[r]].code) for r in rows} for j in t_div.get(d, ())}
                  - set(read))
    if need:
        vecs = ctx.embed(embedder, [read_under_parent(ctx.target, ctx.targets[j]) for j in need], kind="query",
                         what="regrouped targets")
        read.update(zip(need, vecs))
    level = {ctx.sources[src[r]].level for r in rows}
    s_div = {lvl: _siblings(ctx.sources, np.array([i for i, it in enumerate(ctx.sources) if it.level == lvl],
                                                  dtype=np.int64)) for lvl in level}
    col = {int(j): c for c, j in enumerate(tgt)}

    def centred(m: np.ndarray) -> np.ndarray:
        m = m - m.mean(axis=0, keepdims=True)
        return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-6)

    for r in rows:
        i = int(src[r])
        div = _division(ctx.sources[i].code)
        sib, tj = s_div[ctx.sources[i].level].get(div), t_div.get(div)
        if sib is None or tj is None or len(sib) < 2 or len(tj) < 2:
            continue            # one item on a side: nothing to set apart, the plain cosine stays
        q = centred(queries[sib])[int(np.flatnonzero(sib == i)[0])]
        p = centred(np.array([read[int(j)] for j in tj]))
        out[r, [col[int(j)] for j in tj]] = np.clip(p @ q, 0.0, 1.0)
