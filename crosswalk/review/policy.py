"""What an auto-accept policy did: how many links it accepted, how many people later
overrode, how many are left to review, and — where a gold table exists — how often
the accepted links are wrong."""
from __future__ import annotations

from typing import Mapping, Optional

from .store import LinkKey, ReviewStore


def policy_report(store: ReviewStore, source_scheme: str, target_scheme: str,
                  gold: Optional[Mapping[str, set[str]]] = None) -> dict:
    """``{threshold, set_by, set_at, accepted, overridden, pending_left, pending_above_threshold,
    error_rate, gold_checked, gold_wrong}``.

    ``accepted``: links auto-accepted and still confirmed (``overridden``: auto-accepted, then
    changed by a reviewer). ``error_rate``: the share of accepted links whose source the gold
    covers but whose target it does not list; None without gold or when gold covers none.
    """
    info = store.policy_info(source_scheme, target_scheme) or {}
    threshold = info.get("threshold")
    auto = {LinkKey(source_scheme, s, target_scheme, t) for s, t in store._conn().execute(
        "SELECT DISTINCT source_code, target_code FROM events WHERE action = 'auto_accept'"
        " AND source_scheme = ? AND target_scheme = ?", (source_scheme, target_scheme))}
    states = {s.key: s for s in store.links(source_scheme=source_scheme, target_scheme=target_scheme)}
    accepted = sorted((k for k in auto if states[k].status == "confirmed"), key=LinkKey.sort_key)
    pending = [s for s in states.values() if s.status == "pending"]
    checked = wrong = 0
    if gold is not None:
        for k in accepted:
            if k.source_code in gold:
                checked += 1
                wrong += k.target_code not in gold[k.source_code]
    return {
        "source_scheme": source_scheme, "target_scheme": target_scheme,
        "threshold": threshold, "set_by": info.get("set_by"), "set_at": info.get("set_at"),
        "accepted": len(accepted), "overridden": len(auto) - len(accepted),
        "pending_left": len(pending),
        "pending_above_threshold": None if threshold is None else sum(
            1 for s in pending if s.score is not None and s.score >= threshold),
        "error_rate": round(wrong / checked, 4) if gold is not None and checked else None,
        "gold_checked": checked if gold is not None else 0, "gold_wrong": wrong,
    }
