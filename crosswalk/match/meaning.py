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
"""
from __future__ import annotations

import numpy as np

from .context import MatchContext

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
    parent = ctx.source.parent(item.code) if item.parent else None
    if parent is None or parent.title.strip() == item.title.strip():
        return item.title
    return f"{parent.title}: {item.title}"


class EmbeddingSignal:
    name = "embedding"
    memo = True     # scores kept on disk between runs (match/memo.py)

    def __init__(self, *, embedder=None):
        self.embedder = embedder

    def applies(self, ctx: MatchContext) -> bool:
        return True

    def _prepare(self, ctx: MatchContext):
        if "meaning" not in ctx.cache:
            from ..embeddings import Embedder, cosine_scores
            emb = self.embedder or Embedder()
            ps = passages(ctx)
            queries = ctx.embed(emb, [query_text(ctx, it) for it in ctx.sources], kind="query", what="titles")
            vecs = ctx.embed(emb, [t for _, t, _ in ps], kind="passage", what="descriptions")
            kinds = np.array([k for k, _, _ in ps])
            owner = np.array([j for _, _, j in ps])
            ctx.cache["meaning"] = (queries, vecs, kinds, owner, cosine_scores)
        return ctx.cache["meaning"]

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
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
