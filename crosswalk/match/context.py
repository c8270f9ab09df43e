"""What every signal sees: the two classifications, their items in a fixed order,
the level blocks that may be compared, and text caches shared by the signals."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..model import Classification, Item

# Which part of a classification is comparable with which: levels are matched by name
# ("class" with "class"); a level the target lacks (OKVED2 subclass vs NACE) goes to the
# target's deepest level; a flat list (OKPDTR titles) goes to the deepest level too.


def compatible_levels(source: Classification, target: Classification) -> dict[int, list[int]]:
    """source level -> target levels its items may match (never a section for a class)."""
    s_levels = sorted({it.level for it in source})
    t_levels = sorted({it.level for it in target})
    if not t_levels:
        return {lvl: [] for lvl in s_levels}     # nothing to compare with
    deepest = t_levels[-1:]
    out: dict[int, list[int]] = {}
    for lvl in s_levels:
        name = source.scheme.level_name(lvl)
        same = [t for t in t_levels if target.scheme.level_name(t) == name]
        if same:
            out[lvl] = same
        elif len(s_levels) == 1 or len(t_levels) == 1:
            out[lvl] = deepest          # flat lists: compare with the most detailed groups
        else:
            # a level deeper than any the target has (OKVED2 subclass/type → NACE class)
            deeper = lvl > max(t_levels) or source.scheme.levels.index(name) >= len(target.scheme.levels)
            out[lvl] = deepest if deeper else []
    return out


@dataclass
class Block:
    """Sources of one level and the target items they may match."""
    source_level: int
    src: np.ndarray      # indices into MatchContext.sources
    tgt: np.ndarray      # indices into MatchContext.targets


@dataclass
class MatchContext:
    source: Classification
    target: Classification
    # classifications whose codes are the target's codes (ISCO-08 for OKZ-2014): their
    # definitions and notes describe the target items too
    target_context: Sequence[Classification] = ()
    source_context: Sequence[Classification] = ()
    workers: int = 1
    cache: dict[str, Any] = field(default_factory=dict)
    # (what, done, total) while the embedding model computes vectors no cache holds: the
    # first run with embeddings embeds thousands of texts, minutes with a still bar otherwise
    embed_progress: Optional[Callable[[str, int, int], None]] = None
    # coding indexes (crosswalk.index.CodingIndex) whose codes are the target's
    indexes: Sequence[Any] = ()
    # the sources signals comparing meaning (``meaning = True``) are asked about; None: all.
    # Where the code structure decides an item (same code, no deviation) its meaning is not
    # computed: a first build embeds a quarter fewer tokens (OKVED2 → NACE, OKZ → ISCO-08)
    meaning_rows: Optional[np.ndarray] = None

    def compared(self) -> np.ndarray:
        """Indices of the sources meaning signals may be asked about (ascending)."""
        return np.arange(len(self.sources)) if self.meaning_rows is None else self.meaning_rows

    def embed(self, embedder, texts: Sequence[str], *, kind: str, what: str):
        """``embedder.embed(texts, kind=kind)``, reporting progress as ``what`` when asked to
        (an embedder given by the caller needs the ``progress=`` keyword only then)."""
        cb = self.embed_progress
        if cb is None:
            return embedder.embed(texts, kind=kind)
        return embedder.embed(texts, kind=kind, progress=lambda done, total: cb(what, done, total))

    @cached_property
    def sources(self) -> list[Item]:
        return list(self.source)

    @cached_property
    def targets(self) -> list[Item]:
        return list(self.target)

    @cached_property
    def target_index(self) -> dict[str, int]:
        return {it.code: i for i, it in enumerate(self.targets)}

    @cached_property
    def source_index(self) -> dict[str, int]:
        return {it.code: i for i, it in enumerate(self.sources)}

    def blocks(self, only_levels: Optional[Sequence[int]] = None) -> list[Block]:
        levels = compatible_levels(self.source, self.target)
        t_level = np.array([it.level for it in self.targets])
        s_level = np.array([it.level for it in self.sources])
        out = []
        for lvl in sorted(levels):
            if only_levels is not None and lvl not in only_levels:
                continue
            tgt = np.flatnonzero(np.isin(t_level, levels[lvl]))
            src = np.flatnonzero(s_level == lvl)
            if len(src) and len(tgt):
                out.append(Block(lvl, src, tgt))
        return out

    def context_items(self, side: str, code: str) -> list[Item]:
        """Items with the same code in the context classifications of one side."""
        ctx = self.target_context if side == "target" else self.source_context
        return [c.get(code) for c in ctx if code in c]
