"""What a correspondence table looks like as a whole — the checks statisticians know from
Eurostat's correspondenceTables (``analyseCorrespondenceTable``, ``newCorrespondenceTable``):

* **unmatched** — source items with no link (*NoMatchFromA*) and target items no link
  reaches (*NoMatchFromB*), and the mismatch share: those items among all rows of the
  table (links + unmatched items), which ``max_unmatched`` (*MismatchTolerance*) bounds;
* **redundant** — links reached by more than one path through the pivots (flag
  ``redundant``, set by :meth:`CrosswalkGraph.compose`);
* **reference violations** — when the target is the reference (hierarchically superior:
  ISCO-08 for OKPDTR, ISIC for OKVED2), each source item should map to one target; a source
  with several is flagged for review (*Review*);
* **groups** — connected groups of linked codes: their kinds (1:1, 1:n, n:1, n:m) and sizes.
  One huge n:m group means the table says little; the draft keeps groups small by proposing
  one target per source.

Only links that carry weight (proposed and confirmed) are analysed; alternatives shown to
reviewers are not links.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Optional, Sequence

import networkx as nx

from .errors import CrosswalkError
from .model import Classification, Link, code_sort_key

# upper bounds of the group-size bins (items in a group: sources + targets)
SIZE_BINS = (2, 3, 5, 10, 25, 50, 100, 500)


def _bin(n: int) -> str:
    """The label of the size bin of a group of ``n`` items: "2", "3", "4-5", … ">500"."""
    lo = 1
    for hi in SIZE_BINS:
        if n <= hi:
            return str(hi) if hi == lo + 1 else f"{lo + 1}-{hi}"
        lo = hi
    return f">{SIZE_BINS[-1]}"


@dataclass
class Analysis:
    source_scheme: str
    target_scheme: str
    links: int
    by_status: dict[str, int]
    sources: int                              # source codes with a link
    targets: int
    unmatched_sources: list[str] = field(default_factory=list)    # NoMatchFromA (needs the classification)
    unreached_targets: list[str] = field(default_factory=list)    # NoMatchFromB
    source_items: Optional[int] = None
    target_items: Optional[int] = None
    redundant: int = 0
    reference_violations: list[str] = field(default_factory=list)  # sources with several targets
    relations: dict[str, int] = field(default_factory=dict)
    groups: dict = field(default_factory=dict)

    @property
    def mismatch(self) -> float:
        """Rows without a code on one side among all rows (links + unmatched items)."""
        lonely = len(self.unmatched_sources) + len(self.unreached_targets)
        rows = self.links + lonely
        return lonely / rows if rows else 0.0

    def as_dict(self, sample: int = 10) -> dict:
        return {
            "links": self.links, "by_status": dict(self.by_status), "sources": self.sources,
            "targets": self.targets, "source_items": self.source_items, "target_items": self.target_items,
            "unmatched_sources": len(self.unmatched_sources),
            "unmatched_sources_sample": self.unmatched_sources[:sample],
            "unreached_targets": len(self.unreached_targets),
            "unreached_targets_sample": self.unreached_targets[:sample],
            "mismatch": round(self.mismatch, 4), "redundant": self.redundant,
            "reference_violations": len(self.reference_violations),
            "reference_violations_sample": self.reference_violations[:sample],
            "relations": dict(self.relations), "groups": dict(self.groups)}


def groups(links: Sequence[Link]) -> list[tuple[list[str], list[str]]]:
    """Connected groups of the bipartite source–target graph: (sources, targets), each sorted,
    largest group first (then by its first source code)."""
    g = nx.Graph()
    g.add_edges_from((("s", ln.source), ("t", ln.target)) for ln in links)
    out = []
    for comp in nx.connected_components(g):
        s = sorted((c for side, c in comp if side == "s"), key=code_sort_key)
        t = sorted((c for side, c in comp if side == "t"), key=code_sort_key)
        out.append((s, t))
    out.sort(key=lambda st: (-(len(st[0]) + len(st[1])), code_sort_key(st[0][0])))
    return out


def _kind(n_s: int, n_t: int) -> str:
    return {(True, True): "1:1", (True, False): "1:n", (False, True): "n:1",
            (False, False): "n:m"}[n_s == 1, n_t == 1]


def analyse(links: Sequence[Link], *, source: Optional[Classification] = None,
            target: Optional[Classification] = None, reference: str = "target",
            source_levels: Optional[Sequence[int]] = None,
            target_levels: Optional[Sequence[int]] = None) -> Analysis:
    """The checks of the module docstring on ``links`` (one scheme pair). ``source`` /
    ``target`` classifications give the unmatched items (of ``*_levels`` only, default: the
    levels the links use); ``reference``: ``"target"`` (each source should reach one target),
    ``"source"`` (each target should be reached by one source) or ``"none"``."""
    if reference not in ("target", "source", "none"):
        raise CrosswalkError(f"reference must be target, source or none, not {reference!r}")
    pairs = {(ln.source_scheme, ln.target_scheme) for ln in links}
    if len(pairs) > 1:
        raise CrosswalkError(f"links of one scheme pair expected, got {sorted(pairs)}")
    ss, ts = next(iter(pairs)) if pairs else (source.scheme.id if source else "",
                                             target.scheme.id if target else "")
    out = Analysis(ss, ts, len(links), dict(sorted(Counter(ln.status for ln in links).items())),
                   len({ln.source for ln in links}), len({ln.target for ln in links}))
    out.redundant = sum(1 for ln in links if "redundant" in ln.flags)

    def lonely(cls: Optional[Classification], linked: set[str], levels) -> Optional[tuple[int, list[str]]]:
        if cls is None:
            return None
        lv = set(levels) if levels is not None else {cls.get(c).level for c in linked if c in cls}
        items = [it.code for it in cls if it.level in lv] if lv else []
        return len(items), [c for c in items if c not in linked]

    got = lonely(source, {ln.source for ln in links}, source_levels)
    if got:
        out.source_items, out.unmatched_sources = got
    got = lonely(target, {ln.target for ln in links}, target_levels)
    if got:
        out.target_items, out.unreached_targets = got
    per_source = Counter(ln.source for ln in links)
    per_target = Counter(ln.target for ln in links)
    if reference == "target":
        out.reference_violations = sorted((s for s, n in per_source.items() if n > 1), key=code_sort_key)
    elif reference == "source":
        out.reference_violations = sorted((t for t, n in per_target.items() if n > 1), key=code_sort_key)
    comps = groups(links)
    kinds = Counter(_kind(len(s), len(t)) for s, t in comps)
    out.relations = {k: kinds[k] for k in ("1:1", "1:n", "n:1", "n:m")}
    sizes = [len(s) + len(t) for s, t in comps]
    bins = Counter(_bin(n) for n in sizes)
    order = [_bin(hi) for hi in SIZE_BINS] + [f">{SIZE_BINS[-1]}"]
    largest = comps[0] if comps else ([], [])
    out.groups = {"count": len(comps), "largest": len(largest[0]) + len(largest[1]),
                  "largest_sources": len(largest[0]), "largest_targets": len(largest[1]),
                  "largest_targets_sample": largest[1][:5],
                  "sizes": {b: bins[b] for b in dict.fromkeys(order) if bins[b]}}
    return out


__all__ = ["Analysis", "SIZE_BINS", "analyse", "groups"]
