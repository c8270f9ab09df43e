"""Blind second review and agreement between reviewers (Cohen's kappa).

A blind second-review verdict is a ``second_review`` event (``Decision(key,
"second_review", version, verdict="confirm" | "reject")``, origin ``browser:second``):
the store checks it against the link's version but leaves the link's state alone, so the
status, comment, ``updated_by`` (the export's ``reviewed_by``) and version stay the first
reviewer's. The event's ``previous`` state holds the status the first reviewer had set,
so both verdicts come from one event. The store refuses a second review of a pending link
and one by the reviewer of the link's current decision.

Stores written before the ``second_review`` action (schema version 2 and older) hold
verdicts as ``comment`` events whose text is the JSON ``{"second_review": "confirm"}``;
those still count, read the same way (see :func:`second_verdict`).

A disagreement is open while no status-setting event follows its latest second review.
It is settled by a normal confirm/reject decision, by anyone (the first reviewer too),
whose comment is ``{"settled": "confirm"}``: the comment makes an event even when the
status stays, and names the decision as a settlement in the link's history. Kappa keeps
the original pair of verdicts.

A ``reopen`` (the browser's undo back to pending) withdraws the first verdict: the link
has no first decision until it is decided again, so its pair no longer counts and it goes
back to the second-review queue once decided anew (a second review made against the
withdrawn verdict compared it with something that no longer stands).
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Hashable, Iterable, Optional

from .store import STATUS_ACTIONS, VERDICTS, Decision, Event, LinkKey

SECOND = "second_review"
SETTLED = "settled"
_STATUS_VERDICT = {"confirmed": "confirm", "rejected": "reject"}


def cohen_kappa(pairs: Iterable[tuple[Hashable, Hashable]]) -> Optional[float]:
    """Cohen's kappa of two raters' labels, one (first, second) pair per rated item.

    ``(p_o - p_e) / (1 - p_e)`` with p_o the observed agreement and p_e the agreement
    expected from each rater's label frequencies. None when undefined: no items, or
    both raters used one and the same label for everything (p_e = 1)."""
    pairs = list(pairs)
    n = len(pairs)
    if not n:
        return None
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    p_o = sum(1 for a, b in pairs if a == b) / n
    p_e = sum(first[k] * second[k] for k in first) / (n * n)
    if p_e >= 1.0:
        return None
    return (p_o - p_e) / (1.0 - p_e)


def marker(text: str) -> Optional[dict]:
    """The marker object of a comment written by the review app, or None."""
    if not text or not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if isinstance(obj, dict) and (obj.get(SECOND) in VERDICTS or obj.get(SETTLED) in VERDICTS):
        return obj
    return None


def second_review_decision(key: LinkKey, verdict: str, version: int, origin: str = "browser:second") -> Decision:
    if verdict not in VERDICTS:
        raise ValueError(f"second-review verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    return Decision(key, "second_review", version, verdict=verdict, origin=origin)


def second_verdict(e: Event) -> Optional[str]:
    """The verdict of a second-review event (a ``second_review`` event, or a ``comment``
    event holding the marker of stores written before that action), else None."""
    if e.action == SECOND:
        v = e.payload.get("verdict")
        return v if v in VERDICTS else None
    if e.action == "comment":
        m = marker(e.payload.get("comment", ""))
        if m and m.get(SECOND) in VERDICTS:
            return m[SECOND]
    return None


def settle_comment(verdict: str) -> str:
    return json.dumps({SETTLED: verdict})


@dataclass
class LinkReview:
    """What the event log says about one link's reviews."""

    decided_by: str = ""              # reviewer of the last status-changing event
    decided_at: int = 0               # its event id
    second_by: str = ""               # reviewer of the latest second review
    second_at: int = 0
    second: str = ""                  # its verdict
    first: str = ""                   # the status (as a verdict) it was compared with
    first_by: str = ""

    @property
    def disagrees(self) -> bool:
        return bool(self.second and self.first and self.second != self.first)

    @property
    def open_disagreement(self) -> bool:
        return self.disagrees and self.decided_at < self.second_at


class ReviewIndex:
    """Per-link review facts, folded from the event log (fed incrementally)."""

    def __init__(self) -> None:
        self.links: dict[LinkKey, LinkReview] = {}
        self.last_id = 0

    def feed(self, events: Iterable[Event]) -> None:
        for e in events:
            self.last_id = max(self.last_id, e.id)
            if e.key is None:
                continue
            if e.action == "reopen":       # the first verdict is withdrawn (see the module notes)
                self.links.pop(e.key, None)
            elif e.action in STATUS_ACTIONS:
                r = self.links.setdefault(e.key, LinkReview())
                r.decided_by, r.decided_at = e.reviewer, e.id
            else:
                verdict = second_verdict(e)
                first = _STATUS_VERDICT.get((e.previous or {}).get("status", ""))
                if verdict and first:
                    r = self.links.setdefault(e.key, LinkReview())
                    r.second_by, r.second_at, r.second = e.reviewer, e.id, verdict
                    r.first, r.first_by = first, r.decided_by or (e.previous or {}).get("updated_by", "")

    def agreement(self) -> dict[tuple[str, str], dict]:
        """(source scheme, target scheme) -> {n, agree, disagree, open, kappa, reviewers}."""
        pairs: dict[tuple[str, str], list[tuple[str, str]]] = {}
        open_: Counter = Counter()
        who: dict[tuple[str, str], set] = {}
        for key, r in self.links.items():
            if not r.second:
                continue
            pair = (key.source_scheme, key.target_scheme)
            pairs.setdefault(pair, []).append((r.first, r.second))
            open_[pair] += r.open_disagreement
            who.setdefault(pair, set()).update(x for x in (r.first_by, r.second_by) if x)
        out = {}
        for pair in sorted(pairs):
            ps = pairs[pair]
            agree = sum(1 for a, b in ps if a == b)
            out[pair] = {"n": len(ps), "agree": agree, "disagree": len(ps) - agree, "open": open_[pair],
                         "kappa": cohen_kappa(ps), "reviewers": sorted(who[pair])}
        return out


__all__ = ["LinkReview", "ReviewIndex", "SECOND", "SETTLED", "STATUS_ACTIONS", "VERDICTS", "cohen_kappa",
           "marker", "second_review_decision", "second_verdict", "settle_comment"]
