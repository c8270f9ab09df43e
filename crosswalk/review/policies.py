"""The auto-accept policy of a scheme pair: a threshold recorded as an event
(``set_policy``), and ``apply_policy`` confirming every pending link scoring at least it, each
by an ``auto_accept`` event naming the policy. Mixed into :class:`crosswalk.review.store.ReviewStore`;
:mod:`crosswalk.review.policy` reports how well a policy did.
"""
from __future__ import annotations

from typing import Optional

from ..model import SCHEMES
from .records import _KEY_COLS, LinkKey, _check_reviewer, _unit
from .storefile import StoreError


class PolicyMixin:
    def set_policy(self, source_scheme: str, target_scheme: str, threshold: float, *, reviewer: str,
                   origin: str = "cli") -> int:
        """Record the auto-accept threshold of a scheme pair (an event); returns its id."""
        reviewer = _check_reviewer(reviewer)
        for name, s in (("source_scheme", source_scheme), ("target_scheme", target_scheme)):
            if s not in SCHEMES:
                raise StoreError(f"{name} {s!r} is not one of {', '.join(sorted(SCHEMES))}")
        if not _unit(threshold):
            raise StoreError(f"threshold {threshold!r} is not a number in [0, 1]")
        with self._write() as con:
            prev = con.execute("SELECT threshold, set_by, set_at, event_id FROM policies WHERE"
                               " source_scheme = ? AND target_scheme = ?", (source_scheme, target_scheme)).fetchone()
            previous = None if prev is None else dict(zip(("threshold", "set_by", "set_at", "event_id"), prev))
            return self._event(con, ts=self._clock(), reviewer=reviewer, action="policy", key=None,
                               schemes=(source_scheme, target_scheme), origin=origin, previous=previous,
                               payload={"source_scheme": source_scheme, "target_scheme": target_scheme,
                                        "threshold": float(threshold)})

    def policy_info(self, source_scheme: str, target_scheme: str) -> Optional[dict]:
        """{threshold, set_by, set_at, event_id} of the policy in force, or None."""
        row = self._conn().execute("SELECT threshold, set_by, set_at, event_id FROM policies WHERE"
                                   " source_scheme = ? AND target_scheme = ?",
                                   (source_scheme, target_scheme)).fetchone()
        return None if row is None else dict(zip(("threshold", "set_by", "set_at", "event_id"), row))

    def policy(self, source_scheme: str, target_scheme: str) -> Optional[float]:
        info = self.policy_info(source_scheme, target_scheme)
        return None if info is None else info["threshold"]

    def apply_policy(self, source_scheme: str, target_scheme: str, *, reviewer: str = "policy") -> int:
        """Confirm every pending link of the pair scoring at least the threshold, each by an
        ``auto_accept`` event naming the policy event; returns how many."""
        reviewer = _check_reviewer(reviewer)
        ts = self._clock()
        with self._write() as con:
            row = con.execute("SELECT threshold, event_id FROM policies WHERE source_scheme = ? AND"
                              " target_scheme = ?", (source_scheme, target_scheme)).fetchone()
            if row is None:
                raise StoreError(f"no auto-accept policy for {source_scheme} → {target_scheme};"
                                 " set one first (crosswalk review policy set)")
            threshold, policy_event = row
            keys = [LinkKey(*r) for r in con.execute(
                f"SELECT {', '.join(_KEY_COLS)} FROM link_state WHERE source_scheme = ? AND target_scheme = ?"
                f" AND status = 'pending' AND score >= ? ORDER BY {', '.join(_KEY_COLS)}",
                (source_scheme, target_scheme, threshold))]
            for key in keys:
                cur = self._state(con, key)
                self._record(con, key, "auto_accept", {"threshold": threshold, "policy_event": policy_event,
                                                       "score": cur["score"]}, cur,
                             ts=ts, reviewer=reviewer, origin=f"policy:{policy_event}")
        return len(keys)
