"""The records of the review store and the one rule that derives a link's state from its
events: keys, states, decisions, events (:class:`LinkKey`, :class:`LinkState`,
:class:`Decision`, :class:`Event`), :func:`reduce_event`, and the checks every proposal and
decision passes before anything is written. :mod:`crosswalk.review.store` keeps them in SQLite.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any, Optional

from ..codes import FORMAT_HELP, cell_code
from ..model import ORIGINS, SCHEMES, code_sort_key
from .storefile import StoreError

ACTIONS = ("propose", "confirm", "reject", "retarget", "add", "weight", "comment", "policy", "auto_accept",
           "reopen", "second_review", "no_match")
ROLES = ("", "proposal", "alternative")     # a candidate's role in its item ("": not said, older stores)
ACCEPT_RULES = ("official", "structure")    # links accepted without a person: a published table, same code
STATUSES = ("pending", "confirmed", "rejected")
DECISION_ACTIONS = ("confirm", "reject", "retarget", "add", "weight", "comment", "reopen", "second_review")
VERDICTS = ("confirm", "reject")      # of a second review
# the events that set a link's status (a retarget sets both of its links'); the reviewer of
# the latest one made the link's current decision
STATUS_ACTIONS = ("confirm", "reject", "retarget", "add", "auto_accept", "reopen")
_WEIGHT_ACTIONS = ("confirm", "add", "retarget", "weight")  # a weight only makes sense on a kept link



@dataclass(frozen=True, order=True)
class LinkKey:
    source_scheme: str
    source_code: str
    target_scheme: str
    target_code: str

    def __str__(self) -> str:
        return f"{self.source_scheme}:{self.source_code} → {self.target_scheme}:{self.target_code}"

    def sort_key(self) -> tuple:
        return (self.source_scheme, code_sort_key(self.source_code),
                self.target_scheme, code_sort_key(self.target_code))


@dataclass(frozen=True)
class LinkState:
    """The current state of one link, derived from its events."""

    key: LinkKey
    status: str
    score: Optional[float]
    evidence: dict
    origin: str
    weight: Optional[float]
    comment: str
    source_title: str
    target_title: str
    version: int
    updated_by: str
    updated_at: str
    flags: tuple[str, ...] = ()
    rank: Optional[int] = None          # the candidate's rank for its item (1 = the matcher's best)
    role: str = ""                      # proposal | alternative | "" (not said)


@dataclass(frozen=True)
class Decision:
    key: LinkKey
    action: str                        # one of DECISION_ACTIONS
    expected_version: Optional[int]    # the version the reviewer saw; None only to add a new link
    new_target: Optional[str] = None   # retarget: the target code chosen instead
    weight: Optional[float] = None     # weight (also allowed with confirm, add, retarget)
    comment: Optional[str] = None      # (second_review: a note kept in the event, not on the link)
    origin: str = "cli"
    verdict: Optional[str] = None      # second_review only: confirm | reject
    # retarget only: the version of the new target's link the reviewer saw (None: there was no
    # such link). A retarget touches two links and is checked against both: onto a candidate
    # someone rejected (or re-proposed) since, it is a conflict, never a silent overturn.
    target_version: Optional[int] = None


@dataclass(frozen=True)
class Conflict:
    decision: Decision
    current: Optional[LinkState]
    reason: str


@dataclass
class DecisionResult:
    applied: list[Decision] = field(default_factory=list)
    unchanged: list[Decision] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    invalid: list[tuple[Decision, str]] = field(default_factory=list)
    # decide(all_or_nothing=True) only: decisions that would have applied, rolled back
    # because another decision of the batch was a conflict or invalid
    rolled_back: list[Decision] = field(default_factory=list)

    def __len__(self) -> int:
        return (len(self.applied) + len(self.unchanged) + len(self.conflicts) + len(self.invalid)
                + len(self.rolled_back))


class _RollBack(Exception):
    """Raised inside a write transaction to undo it (decide(all_or_nothing=True))."""


@dataclass(frozen=True)
class Event:
    id: int
    ts: str
    reviewer: str
    action: str
    key: Optional[LinkKey]
    payload: dict
    previous: Optional[dict]
    origin: str
    item: Optional[tuple[str, str, str]] = None    # (source scheme, code, target scheme) of an item event


# -- the reducer: one event applied to one link's state -------------------------------
# Shared by the incremental path and rebuild_state, so both derive state the same way.
# A state is a dict of the link_state columns except the key.

def _new_link(payload: dict, status: str, origin: str) -> dict:
    return {"status": status, "score": None, "evidence": {}, "origin": origin, "weight": None,
            "comment": "", "source_title": payload.get("source_title", ""),
            "target_title": payload.get("target_title", ""), "flags": [], "rank": None, "role": ""}


def reduce_event(state: Optional[dict], action: str, payload: dict, *, version: int, reviewer: str,
                 ts: str) -> dict:
    """The state of a link after one event (``state`` is not modified)."""
    s = dict(state) if state is not None else None
    if action == "propose":
        p = payload
        if s is None:
            s = _new_link(p, "pending", p["origin"])
        elif s["origin"] != "confirmed":  # a link a reviewer added stays the reviewer's
            s["origin"] = p["origin"]
        s["score"], s["evidence"] = p["score"], dict(p["evidence"])
        for side in ("source_title", "target_title"):
            if p.get(side):
                s[side] = p[side]
        kept = [f for f in s["flags"] if f.startswith("replaced_by:")]  # reviewer flags survive
        s["flags"] = list(dict.fromkeys(list(p["flags"]) + kept))
        s["rank"], s["role"] = p.get("rank"), p.get("role", "")
    elif action in ("confirm", "auto_accept", "add") or (action == "retarget" and payload["role"] == "new"):
        if s is None:
            s = _new_link(payload, "confirmed", "confirmed")
        s["status"] = "confirmed"
    elif action == "reject":
        s["status"] = "rejected"
    elif action == "reopen":      # back to pending (an undo): the decision stays in the log
        s["status"] = "pending"
    elif action == "retarget":  # the old link
        s["status"] = "rejected"
        s["flags"] = [f for f in s["flags"] if not f.startswith("replaced_by:")] \
            + [f"replaced_by:{payload['new_target']}"]
    elif action == "second_review":   # a verdict beside the link's state, which it leaves as it is
        if s is None:
            raise StoreError("a second review needs an existing link")
        return s
    elif action not in ("weight", "comment"):
        raise StoreError(f"event action {action!r} does not change a link")
    if "weight" in payload and action != "propose":
        s["weight"] = payload["weight"]
    if "comment" in payload and action != "propose":
        s["comment"] = payload["comment"]
    s.update(version=version, updated_by=reviewer, updated_at=ts)
    return s


# -- helpers --------------------------------------------------------------------------
_STATE_COLS = ("status", "score", "evidence", "origin", "weight", "comment", "source_title",
               "target_title", "flags", "version", "updated_by", "updated_at", "rank", "role")
_KEY_COLS = ("source_scheme", "source_code", "target_scheme", "target_code")
_KEY_WHERE = " AND ".join(f"{c} = ?" for c in _KEY_COLS)
_SAME = ("status", "score", "evidence", "origin", "weight", "comment", "source_title", "target_title", "flags")


def _utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# one encoder for every JSON text the store writes (json.dumps with these options builds a new
# one per call: a third of the time of encoding a small payload)
_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def _json(v: Any) -> str:
    return _ENCODE(v)


def _key_tuple(key: LinkKey) -> tuple[str, str, str, str]:
    return (key.source_scheme, key.source_code, key.target_scheme, key.target_code)


_STATE_VALUES = itemgetter(*_STATE_COLS)
_EVIDENCE_AT, _FLAGS_AT = _STATE_COLS.index("evidence"), _STATE_COLS.index("flags")


def _state_row(s: dict) -> tuple:
    """A state's link_state columns (_STATE_COLS order), evidence and flags as JSON: the inverse
    of :func:`_row_state`."""
    row = list(_STATE_VALUES(s))
    row[_EVIDENCE_AT], row[_FLAGS_AT] = _json(row[_EVIDENCE_AT]), _json(row[_FLAGS_AT])
    return tuple(row)


def _row_state(row) -> dict:
    d = dict(zip(_STATE_COLS, row))
    d["evidence"] = json.loads(d["evidence"])
    d["flags"] = json.loads(d["flags"])
    return d


def _to_link_state(key: LinkKey, s: dict) -> LinkState:
    return LinkState(key=key, status=s["status"], score=s["score"], evidence=dict(s["evidence"]),
                     origin=s["origin"], weight=s["weight"], comment=s["comment"],
                     source_title=s["source_title"], target_title=s["target_title"],
                     version=s["version"], updated_by=s["updated_by"], updated_at=s["updated_at"],
                     flags=tuple(s["flags"]), rank=s.get("rank"), role=s.get("role") or "")


def _check_reviewer(reviewer: Any) -> str:
    if not isinstance(reviewer, str) or not reviewer.strip():
        raise StoreError(f"a reviewer name is required (got {reviewer!r}): every decision records who made it")
    return reviewer.strip()


def _unit(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v) and 0.0 <= v <= 1.0


def _key_problem(key: Any) -> Optional[str]:
    if not isinstance(key, LinkKey):
        return f"key must be a LinkKey, not {type(key).__name__}"
    for col in _KEY_COLS:
        v = getattr(key, col)
        if not isinstance(v, str) or not v.strip() or v != v.strip():
            return f"{col} {v!r} must be non-empty text without surrounding spaces"
    for col in ("source_scheme", "target_scheme"):
        if getattr(key, col) not in SCHEMES:
            return f"{col} {getattr(key, col)!r} is not one of {', '.join(sorted(SCHEMES))}"
    return None


def _code_problem(scheme: str, code: Any, what: str) -> Optional[str]:
    """Codes a reviewer types (add, retarget) must fit the scheme: '1.1' is not '01.10'."""
    if not isinstance(code, str):
        return f"{what} must be text (a number loses leading zeros), not {code!r}"
    got, problem, msg = cell_code(scheme, code)
    if problem is not None or got != code:
        return f"{what} {code!r} is not a {scheme} code ({msg or FORMAT_HELP[scheme]})"
    return None


def _decision_problem(d: Decision) -> Optional[str]:
    if d.action not in DECISION_ACTIONS:
        return f"action {d.action!r} is not one of {', '.join(DECISION_ACTIONS)}"
    bad = _key_problem(d.key)
    if bad:
        return bad
    if d.expected_version is not None and (isinstance(d.expected_version, bool)
                                           or not isinstance(d.expected_version, int)):
        return f"expected_version must be an event id (an integer), not {d.expected_version!r}"
    if d.expected_version is None and d.action != "add":
        return f"{d.action} needs expected_version: the version of the link the reviewer saw"
    if d.action == "add":
        bad = (_code_problem(d.key.source_scheme, d.key.source_code, "source code")
               or _code_problem(d.key.target_scheme, d.key.target_code, "target code"))
        if bad:
            return bad
    if d.action == "retarget":
        if not d.new_target:
            return "retarget needs new_target: the target code chosen instead"
        bad = _code_problem(d.key.target_scheme, d.new_target, "new target")
        if bad:
            return bad
        if d.new_target == d.key.target_code:
            return f"retarget to the same target {d.new_target!r}"
        if d.target_version is not None and (isinstance(d.target_version, bool)
                                             or not isinstance(d.target_version, int)):
            return f"target_version must be an event id (an integer), not {d.target_version!r}"
    elif d.new_target is not None:
        return f"new_target only goes with retarget, not {d.action}"
    elif d.target_version is not None:
        return f"target_version only goes with retarget, not {d.action}"
    if d.weight is not None and not _unit(d.weight):
        return f"weight {d.weight!r} is not a number in [0, 1]"
    if d.action == "weight" and d.weight is None:
        return "weight needs a weight in [0, 1]"
    if d.weight is not None and d.action not in _WEIGHT_ACTIONS:
        return f"a weight goes with {', '.join(_WEIGHT_ACTIONS)}, not {d.action}"
    if d.comment is not None and not isinstance(d.comment, str):
        return f"comment must be text, not {d.comment!r}"
    if d.action == "comment" and d.comment is None:
        return "comment needs a comment"
    if d.action == "second_review" and d.verdict not in VERDICTS:
        return f"second_review needs a verdict, {' or '.join(VERDICTS)}, not {d.verdict!r}"
    if d.action != "second_review" and d.verdict is not None:
        return f"a verdict only goes with second_review, not {d.action}"
    if not isinstance(d.origin, str) or not d.origin.strip():
        return "origin must name where the decision came from (browser, workbook:<file>:<row>@<sha256>, cli)"
    return None


def _proposal(entry: Any, n: int) -> tuple[LinkKey, dict, Optional[str]]:
    """A proposal (LinkState or dict) checked and turned into a propose payload, with the rule
    that accepts it without a person (``accept``: official, structure) if any."""
    if isinstance(entry, LinkState):
        e = {"key": entry.key, "score": entry.score, "evidence": entry.evidence, "origin": entry.origin,
             "source_title": entry.source_title, "target_title": entry.target_title, "flags": entry.flags,
             "rank": entry.rank, "role": entry.role}
    elif isinstance(entry, dict):
        e = dict(entry)
        if "key" not in e:
            try:
                e["key"] = LinkKey(*(e[c] for c in _KEY_COLS))
            except KeyError as exc:
                raise StoreError(f"proposal {n}: missing {exc.args[0]!r} (or a 'key')") from None
    else:
        raise StoreError(f"proposal {n}: expected a LinkState or a dict, not {type(entry).__name__}")
    key = e["key"]
    bad = _key_problem(key)
    origin = e.get("origin") or "proposed"
    score = e.get("score")
    evidence = e.get("evidence") or {}
    flags = e.get("flags") or ()
    if isinstance(flags, str):
        flags = tuple(flags.split())
    if bad is None and score is not None and not _unit(score):
        bad = f"score {score!r} is not a number in [0, 1]"
    if bad is None and (not isinstance(evidence, dict) or not all(
            (v.__class__ is float and 0.0 <= v <= 1.0 or _unit(v)) and isinstance(k, str)
            for k, v in evidence.items())):
        bad = f"evidence {evidence!r} is not an object of signal -> number in [0, 1]"
    if bad is None and origin not in ORIGINS:
        bad = f"origin {origin!r} is not one of {', '.join(ORIGINS)}"
    if bad is None and not all(isinstance(f, str) and f and not f.isspace() for f in flags):
        bad = f"flags {flags!r} must be non-empty texts"
    titles = {s: e.get(s) or "" for s in ("source_title", "target_title")}
    if bad is None and not all(isinstance(t, str) for t in titles.values()):
        bad = "titles must be text"
    rank, role, accept = e.get("rank"), e.get("role") or "", e.get("accept")
    if bad is None and rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or rank < 1):
        bad = f"rank {rank!r} is not a positive whole number"
    if bad is None and role not in ROLES:
        bad = f"role {role!r} is not one of {', '.join(r for r in ROLES if r)}"
    if bad is None and accept is not None and accept not in ACCEPT_RULES:
        bad = f"accept {accept!r} is not one of {', '.join(ACCEPT_RULES)}"
    if bad:
        where = str(key) if isinstance(key, LinkKey) else repr(key)
        raise StoreError(f"proposal {n} ({where}): {bad}")
    payload = {"score": None if score is None else float(score),
               "evidence": {k: float(v) for k, v in sorted(evidence.items())},
               "origin": origin, "flags": list(dict.fromkeys(flags)), **titles}
    if rank is not None:
        payload["rank"] = rank
    if role:
        payload["role"] = role
    return key, payload, accept
