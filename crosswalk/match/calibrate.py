"""Scores that mean a precision: an isotonic map from a run's best score to the share of
best candidates that gold says are right, fitted per task and signal set, so that one
threshold means one precision with or without embeddings, indexes or a review store.

``Calibration.fit(scores, correct)`` pools adjacent violators (PAV) into a non-decreasing
step function; ``precision(score)`` reads it (a score between two steps takes the lower
step: never more precise than measured). ``threshold(0.95)`` is the lowest score whose
step reaches the precision, None if none does. ``cross_validated`` reports the precision of
what a threshold chosen on the other folds codes — the honest figure for a small gold set.

The maps ship in ``calibration.json`` beside this module (written by
``benchmarks/evaluate.py``), keyed by :func:`signature`: the source language, the target
scheme, the signals that scored and the embedding model.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from importlib import resources
from typing import Iterable, Optional, Sequence

import numpy as np

CODED_PRECISION = 0.95          # `coded` means at least this precision on gold
MIN_STEP = 5                    # a step holds at least this many gold rows (no 1-row certainties)


_MEANING = {"embedding", "word_meaning"}


def signature(language: str, target_scheme: str, signals: Iterable[str], model: Optional[str] = None,
              indexes: Iterable[str] = ()) -> str:
    """``ru→okz2014:embedding+index+…@e5|ESCO (occupations_en.csv)``: which map applies to a run —
    the embedding model where a meaning signal scored, and the names of the indexes given (a
    precision measured with ESCO's labels says nothing of a run without them)."""
    names = sorted(set(signals) - {"confirmed"})
    tail = f"@{model or 'e5'}" if _MEANING & set(names) else ""
    given = sorted(set(indexes))
    return f"{language}→{target_scheme}:" + "+".join(names) + tail + ("|" + "+".join(given) if given else "")


@dataclass
class Calibration:
    edges: list[float]          # lower score of each step, ascending
    values: list[float]         # precision of each step, non-decreasing
    counts: list[int]           # gold rows in each step

    @classmethod
    def fit(cls, scores: Sequence[float], correct: Sequence[bool], *, min_step: int = MIN_STEP) -> "Calibration":
        order = np.argsort(np.asarray(scores, dtype=np.float64), kind="stable")
        s = np.asarray(scores, dtype=np.float64)[order]
        y = np.asarray(correct, dtype=np.float64)[order]
        # equal scores are one observation: grouped before pooling
        uniq, first = np.unique(s, return_index=True)
        sums = np.add.reduceat(y, first) if len(y) else np.zeros(0)
        counts = np.diff(np.r_[first, len(y)])
        blocks: list[list[float]] = []      # [sum, count, lowest score]
        for v, n, sc in zip(sums, counts, uniq):
            blocks.append([float(v), float(n), float(sc)])
            # merge while the order is violated or the last block is too small to trust
            while len(blocks) > 1 and (blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]
                                       or blocks[-2][1] < min_step):
                b = blocks.pop()
                blocks[-1][0] += b[0]
                blocks[-1][1] += b[1]
        # a small last block joins its neighbour too
        while len(blocks) > 1 and blocks[-1][1] < min_step:
            b = blocks.pop()
            blocks[-1][0] += b[0]
            blocks[-1][1] += b[1]
        # pooling small blocks may have left violations: pool again until monotone
        changed = True
        while changed:
            changed = False
            for i in range(len(blocks) - 1):
                if blocks[i][0] / blocks[i][1] >= blocks[i + 1][0] / blocks[i + 1][1]:
                    blocks[i][0] += blocks[i + 1][0]
                    blocks[i][1] += blocks[i + 1][1]
                    del blocks[i + 1]
                    changed = True
                    break
        return cls([float(b[2]) for b in blocks], [round(float(b[0] / b[1]), 4) for b in blocks],
                   [int(b[1]) for b in blocks])

    def precision(self, score: float) -> float:
        """The measured precision of a best candidate scoring ``score``."""
        if not self.edges:
            return 0.0
        k = int(np.searchsorted(np.asarray(self.edges), score, side="right")) - 1
        return float(self.values[max(k, 0)])

    def threshold(self, precision: float = CODED_PRECISION) -> Optional[float]:
        for edge, v in zip(self.edges, self.values):
            if v >= precision:
                return edge
        return None

    def to_dict(self) -> dict:
        return {"edges": self.edges, "values": self.values, "counts": self.counts}

    @classmethod
    def from_dict(cls, d: dict) -> "Calibration":
        return cls(list(d["edges"]), list(d["values"]), list(d["counts"]))


def curve(scores: Sequence[float], correct: Sequence[bool], points: int = 20) -> list[dict]:
    """Precision and coverage of the best candidates at or above each threshold (the
    precision/coverage curve of a gold set)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(correct, dtype=bool)
    out = []
    for t in np.unique(np.quantile(s, np.linspace(0, 1, points + 1))):
        keep = s >= t
        out.append({"threshold": round(float(t), 4), "coverage": round(float(keep.mean()), 4),
                    "precision": round(float(y[keep].mean()), 4) if keep.any() else None})
    return out


def cross_validated(scores: Sequence[float], correct: Sequence[bool], *, folds: int = 5, seed: int = 0,
                    precision: float = CODED_PRECISION) -> dict:
    """Fit on all folds but one, mark the held-out fold's rows ``coded`` at the fitted
    threshold; the precision and share of coded rows over all held-out folds."""
    n = len(scores)
    idx = list(range(n))
    random.Random(seed).shuffle(idx)
    coded = hit = 0
    for k in range(folds):
        test = set(idx[k::folds])
        train = [i for i in range(n) if i not in test]
        cal = Calibration.fit([scores[i] for i in train], [correct[i] for i in train])
        th = cal.threshold(precision)
        if th is None:
            continue
        for i in test:
            if scores[i] >= th:
                coded += 1
                hit += bool(correct[i])
    return {"coded_precision": round(hit / coded, 4) if coded else None,
            "coded_share": round(coded / n, 4) if n else 0.0, "n": n}


_STORE: Optional[dict] = None


def stored() -> dict:
    """The shipped maps: signature → Calibration."""
    global _STORE
    if _STORE is None:
        try:
            text = resources.files(__package__).joinpath("calibration.json").read_text("utf-8")
            _STORE = {k: Calibration.from_dict(v) for k, v in json.loads(text)["maps"].items()}
        except FileNotFoundError:
            _STORE = {}
    return _STORE


def lookup(language: str, target_scheme: str, signals: Iterable[str], model: Optional[str] = None,
           indexes: Iterable[str] = ()) -> Optional[Calibration]:
    return stored().get(signature(language, target_scheme, signals, model, indexes))


__all__ = ["CODED_PRECISION", "Calibration", "cross_validated", "curve", "lookup", "signature", "stored"]
