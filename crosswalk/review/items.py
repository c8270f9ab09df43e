"""Items, not links, are what people review: a source item (an OKPDTR profession, an OKVED2
class, a free-text title) with its ranked candidates in one target scheme, and ONE decision:

* ``accept`` — the item's proposal (its best candidate) is right;
* ``pick`` — another candidate, or a code nobody proposed (``targets=(("8131", None),)``; a code
  must be in the store's catalogue or already linked);
* ``split`` — several targets with weights summing to 1;
* ``no_match`` — the item has no correspondence in the target scheme (recorded as such, so
  coverage counts it as decided, and routes leave it out);
* ``reopen`` — back to undecided (an undo): every link the item's decisions touched returns
  to pending, nothing is deleted.

A decision *settles* the item's other candidates: each becomes rejected by its own event
(payload ``settled``), so the log says why. It is checked against the item's version — the
latest event on any of its links or on the item itself — so a decision made on a stale view
(another reviewer changed any candidate of the item) is a conflict, never applied.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from .store import (Conflict, LinkKey, LinkState, StoreError, _check_reviewer, _code_problem, _json,
                    _key_tuple, _to_link_state, _unit, reduce_event)

CHOICES = ("accept", "pick", "split", "no_match", "reopen")
ITEM_STATUSES = ("open", "decided", "no_match")
_TOL = 1e-6


@dataclass(frozen=True, order=True)
class ItemKey:
    source_scheme: str
    source_code: str
    target_scheme: str

    def __str__(self) -> str:
        return f"{self.source_scheme}:{self.source_code} → {self.target_scheme}"

    def link(self, target: str) -> LinkKey:
        return LinkKey(self.source_scheme, self.source_code, self.target_scheme, target)


@dataclass(frozen=True)
class ItemDecision:
    item: ItemKey
    choice: str                                           # one of CHOICES
    expected_version: int                                 # the item's version the reviewer saw
    targets: tuple[tuple[str, Optional[float]], ...] = ()  # pick: one (code, None); split: (code, weight)…
    comment: Optional[str] = None
    origin: str = "cli"


@dataclass
class Item:
    """An item and its candidates as the store holds them now."""
    key: ItemKey
    status: str                                   # open | decided | no_match
    version: int
    links: list[LinkState] = field(default_factory=list)   # proposal first, then by rank and score
    comment: str = ""
    decided_by: str = ""
    decided_at: str = ""

    @property
    def proposal(self) -> Optional[LinkState]:
        open_ = [s for s in self.links if s.status != "rejected"] or self.links
        return next((s for s in open_ if s.role == "proposal"), open_[0] if open_ else None)

    @property
    def confirmed(self) -> list[LinkState]:
        return [s for s in self.links if s.status == "confirmed"]


def candidate_order(s: LinkState) -> tuple:
    """The proposal first, then by rank (the matcher's), then score, then code."""
    return (s.role != "proposal", s.rank if s.rank is not None else 1 << 30, -(s.score or 0.0),
            s.key.sort_key())


def item_of(links: list[LinkState], state: Optional[dict], key: ItemKey) -> Item:
    links = sorted(links, key=candidate_order)
    versions = [s.version for s in links] + ([state["version"]] if state else [])
    if state and state["status"] == "no_match":
        status = "no_match"
    elif any(s.status == "confirmed" for s in links):
        status = "decided"
    else:
        status = "open"
    deciders = [(s.version, s.updated_by, s.updated_at) for s in links if s.status == "confirmed"]
    if state and status == "no_match":
        deciders.append((state["version"], state["updated_by"], state["updated_at"]))
    _, by, at = max(deciders) if deciders else (0, "", "")
    return Item(key, status, max(versions) if versions else 0, links,
                (state or {}).get("comment", ""), by, at)


def _problem(d: Any) -> Optional[str]:
    if not isinstance(d, ItemDecision):
        return f"expected an ItemDecision, not {type(d).__name__}"
    if d.choice not in CHOICES:
        return f"choice {d.choice!r} is not one of {', '.join(CHOICES)}"
    if isinstance(d.expected_version, bool) or not isinstance(d.expected_version, int):
        return f"expected_version must be the item's version (an event id), not {d.expected_version!r}"
    if d.choice in ("pick", "split"):
        if not d.targets:
            return f"{d.choice} needs the target code(s)"
        for code, w in d.targets:
            bad = _code_problem(d.item.target_scheme, code, "target")
            if bad:
                return bad
            if w is not None and not _unit(w):
                return f"weight {w!r} of {code} is not a number in [0, 1]"
        codes = [c for c, _ in d.targets]
        if len(set(codes)) != len(codes):
            return "a target is named twice"
        if d.choice == "pick" and len(d.targets) != 1:
            return "pick takes one target (split takes several)"
        if d.choice == "split":
            if len(d.targets) < 2 or any(w is None for _, w in d.targets):
                return "split takes two or more targets, each with a weight"
            total = math.fsum(w for _, w in d.targets)
            if abs(total - 1.0) > max(_TOL, 5e-7 * len(d.targets)):
                return f"the weights of a split sum to {total:.6f}, not 1"
    elif d.targets:
        return f"{d.choice} takes no targets"
    if d.comment is not None and not isinstance(d.comment, str):
        return f"comment must be text, not {d.comment!r}"
    if not isinstance(d.origin, str) or not d.origin.strip():
        return "origin must name where the decision came from (browser, workbook:<file>:<row>, cli)"
    return None


@dataclass
class ItemResult:
    applied: list[ItemDecision] = field(default_factory=list)
    unchanged: list[ItemDecision] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    invalid: list[tuple[ItemDecision, str]] = field(default_factory=list)
    rolled_back: list[ItemDecision] = field(default_factory=list)
    events: int = 0

    def __len__(self) -> int:
        return len(self.applied) + len(self.unchanged) + len(self.conflicts) + len(self.invalid) + len(self.rolled_back)


class _RollBack(Exception):
    pass


def read_item(con, key: ItemKey) -> Item:
    return _read_item(con, key)[0]


def _read_item(con, key: ItemKey) -> tuple[Item, dict[str, dict], Optional[dict]]:
    """The item, the state of each of its links (target code -> the row as the store's
    ``_state`` reads it) and the item's own state: one read for what a decision needs."""
    from .store import _KEY_COLS, _STATE_COLS, _row_state
    rows = con.execute(f"SELECT {', '.join(_KEY_COLS + _STATE_COLS)} FROM link_state WHERE source_scheme = ?"
                       " AND source_code = ? AND target_scheme = ?",
                       (key.source_scheme, key.source_code, key.target_scheme)).fetchall()
    states = {r[3]: _row_state(r[4:]) for r in rows}
    links = [_to_link_state(LinkKey(*r[:4]), states[r[3]]) for r in rows]
    istate = item_state(con, key)
    return item_of(links, istate, key), states, istate


def item_state(con, key: ItemKey) -> Optional[dict]:
    row = con.execute("SELECT status, comment, version, updated_by, updated_at FROM item_state WHERE"
                      " source_scheme = ? AND source_code = ? AND target_scheme = ?",
                      (key.source_scheme, key.source_code, key.target_scheme)).fetchone()
    return None if row is None else dict(zip(("status", "comment", "version", "updated_by", "updated_at"), row))


def reduce_item(state: Optional[dict], action: str, payload: dict, *, version: int, reviewer: str, ts: str) -> dict:
    """The state of an item after an item event (no_match, or reopen with no target)."""
    if action not in ("no_match", "reopen"):
        raise StoreError(f"event action {action!r} does not change an item")
    return {"status": "no_match" if action == "no_match" else "open",
            "comment": payload.get("comment", (state or {}).get("comment", "")),
            "version": version, "updated_by": reviewer, "updated_at": ts}


def put_item_state(con, key: ItemKey, s: dict) -> None:
    con.execute("INSERT OR REPLACE INTO item_state (source_scheme, source_code, target_scheme, status, comment,"
                " version, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key.source_scheme, key.source_code, key.target_scheme, s["status"], s["comment"], s["version"],
                 s["updated_by"], s["updated_at"]))


def _plan(store, con, d: ItemDecision, item: Item, states: dict[str, dict],
          istate: Optional[dict]) -> tuple[list, Optional[str]]:
    """The events a decision makes: [(link key | None, action, payload, current state)].
    ``states`` and ``istate``: the item's link and item states read in this transaction."""
    base: dict[str, Any] = {"expected_version": d.expected_version, "item_decision": d.choice}
    if d.comment is not None:
        base["comment"] = d.comment
    by_target = {s.key.target_code: s for s in item.links}
    steps: list[tuple[Optional[LinkKey], str, dict, Optional[dict]]] = []

    def state(s: LinkState) -> dict:
        return states[s.key.target_code]

    def settle(keep: set[str]) -> None:
        for s in item.links:
            if s.key.target_code not in keep and s.status != "rejected":
                steps.append((s.key, "reject", {**base, "settled": True}, state(s)))

    if d.choice == "reopen":
        for s in item.links:
            if s.status != "pending":
                steps.append((s.key, "reopen", dict(base), state(s)))
        if istate and istate["status"] == "no_match":
            steps.append((None, "reopen", dict(base), istate))
        return steps, None
    if d.choice == "no_match":
        settle(set())
        if not istate or istate["status"] != "no_match":
            steps.append((None, "no_match", dict(base), istate))
        return steps, None
    if d.choice == "accept":
        prop = item.proposal
        if prop is None:
            return [], f"{item.key} has no proposal to accept"
        chosen = [(prop.key.target_code, None)]
    else:
        chosen = list(d.targets)
    for code, w in chosen:
        cur = by_target.get(code)
        # a single target takes the whole item: a weight left by an earlier split is cleared
        payload = {**base, "weight": None if w is None else float(w)}
        if cur is None:
            if not store.knows_code_in(con, item.key.target_scheme, code):
                return [], (f"{item.key.target_scheme} code {code!r} is neither a candidate of {item.key} nor in the"
                            " store's catalogue (load the classification with `review load`)")
            payload.update(source_title=store._title(con, "source", item.key.source_scheme, item.key.source_code),
                           target_title=store._title(con, "target", item.key.target_scheme, code))
            steps.append((item.key.link(code), "add", payload, None))
        elif cur.status != "confirmed" or cur.weight != (None if w is None else float(w)):
            steps.append((cur.key, "confirm", payload, state(cur)))
    settle({c for c, _ in chosen})
    if istate and istate["status"] == "no_match":
        steps.append((None, "reopen", dict(base), istate))
    return steps, None


def decide_items(store, decisions: Iterable[ItemDecision], *, reviewer: str,
                 all_or_nothing: bool = False) -> ItemResult:
    """Apply item decisions in order, in one transaction (rules in the module docstring)."""
    reviewer = _check_reviewer(reviewer)
    decisions = list(decisions)
    result = ItemResult()
    ts = store._clock()
    try:
        with store._write() as con:
            for d in decisions:
                bad = _problem(d)
                if bad:
                    result.invalid.append((d, bad))
                    continue
                item, states, istate = _read_item(con, d.item)
                if not item.links and d.choice != "pick":
                    result.invalid.append((d, f"no item {d.item} in the review store"))
                    continue
                if d.expected_version != item.version:
                    now = f"version {item.version}, {item.status}" + (f" by {item.decided_by}" if item.decided_by else "")
                    result.conflicts.append(Conflict(d, None, f"{d.item} changed since you saw it (version"
                                                              f" {d.expected_version}, now {now})"))
                    continue
                steps, bad = _plan(store, con, d, item, states, istate)
                if bad:
                    result.invalid.append((d, bad))
                    continue
                if not steps:
                    result.unchanged.append(d)
                    continue
                for k, action, payload, cur in steps:
                    if k is None:
                        ev = store._event(con, ts=ts, reviewer=reviewer, action=action, key=None,
                                          item=d.item, payload=payload, previous=cur, origin=d.origin)
                        put_item_state(con, d.item, reduce_item(cur, action, payload, version=ev,
                                                                reviewer=reviewer, ts=ts))
                    else:
                        store._record(con, k, action, payload, cur, ts=ts, reviewer=reviewer, origin=d.origin)
                    result.events += 1
                result.applied.append(d)
            if all_or_nothing and result.applied and (result.conflicts or result.invalid):
                raise _RollBack
    except _RollBack:
        result.rolled_back, result.applied, result.events = result.applied, [], 0
    return result


__all__ = ["CHOICES", "ITEM_STATUSES", "Item", "ItemDecision", "ItemKey", "ItemResult", "candidate_order",
           "decide_items", "item_of", "read_item", "reduce_item"]
