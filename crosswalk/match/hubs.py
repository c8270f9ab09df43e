"""Attractors: targets that many sources take as their best candidate, far beyond their
share. A target proposed for 392 OKPDTR titles when each of 446 groups would expect 18
says more about that target's text (long, generic, many words) than about the titles.

:func:`attractors` measures it on a candidate set: per target, the sources that take it
as top-1 against the expected count (sources / targets that could be proposed), the
ratio, and a few sources as examples. ``crosswalk build`` lists the top ones in
summary.json (``attractors``).
"""
from __future__ import annotations

from ..candidates import CandidateSet


def attractors(cset: CandidateSet, n_targets: int, *, top: int = 10, examples: int = 3) -> list[dict]:
    by = cset.by_source()
    if not by or n_targets <= 0:
        return []
    taken: dict[str, list[str]] = {}
    for s, cands in by.items():
        taken.setdefault(cands[0].target, []).append(s)
    expected = len(by) / n_targets
    rows = sorted(taken.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
    return [{"target": t, "target_title": cset.target_titles.get(t, ""), "top1": len(srcs),
             "expected": round(expected, 2), "ratio": round(len(srcs) / expected, 2),
             "examples": [cset.source_titles.get(s, s) for s in srcs[:examples]]}
            for t, srcs in rows]


def concentration(cset: CandidateSet, n_targets: int) -> dict:
    """How unevenly the top-1 proposals spread: the share of sources the 10 largest
    attractors take, and the number of targets no source takes first."""
    by = cset.by_source()
    counts: dict[str, int] = {}
    for cands in by.values():
        counts[cands[0].target] = counts.get(cands[0].target, 0) + 1
    big = sorted(counts.values(), reverse=True)[:10]
    return {"sources": len(by), "targets": n_targets, "targets_taken": len(counts),
            "top10_share": round(sum(big) / len(by), 4) if by else 0.0}


__all__ = ["attractors", "concentration"]
