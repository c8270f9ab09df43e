"""Which crosswalk source each code of a data column stands for.

A column holds codes of one level — the level most of its rows have among the codes the
crosswalk knows and the damaged codes that can be read at one level only, or the level given.
Finer codes roll up to it (``01.11.1`` → ``01.11`` in a column of classes); a code Excel
damaged (``1.1``, ``110`` — no code of the scheme as written) is read as the one crosswalk code
of that level it can be; a coarser code that is a code in its own right (``10.1`` in a column
of classes) is reported, never passed through, so the output never mixes levels. Every other
code is unmatched with a reason: ``empty``, ``unknown_code``, ``other_level``,
``ambiguous_repair``, ``no_link``, ``dead_end`` (its route stops at a pivot).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

from .codes import FORMATS, code_level, structural_parent, suggest_codes
from .errors import INFO, WARNING, Problem
from .errors import listing as _listing

REASONS = {
    "empty": "no code in the cell",
    "unknown_code": "not a code of the scheme",
    "other_level": "a code of another level than the column holds",
    "ambiguous_repair": "damaged by Excel and could be several codes",
    "no_link": "no link in the crosswalk",
    "dead_end": "its links stop at a pivot of the route with no onward link",
    "no_correspondence": "a reviewer decided it has no correspondence in the target scheme",
}


@dataclass
class Resolved:
    """How the codes of one column were read against a crosswalk's sources."""

    column: str
    scheme: str
    level: Optional[int]                   # the level the column holds (None: no levels known)
    level_name: Optional[str]
    source_of: dict = field(default_factory=dict)      # data code -> crosswalk source
    reason_of: dict = field(default_factory=dict)      # data code -> reason (a key of REASONS)
    detail_of: dict = field(default_factory=dict)      # data code -> the reason in words
    repaired: list = field(default_factory=list)       # {"column", "code", "repaired_to", "rows"}
    rolled_up: list = field(default_factory=list)      # {"column", "code", "rolled_up_to", "rows"}


def _show(code: str, limit: int = 40) -> str:
    """A code as a message shows it: a huge cell never fills the screen."""
    return code if len(code) <= limit else f"{code[:limit]}… ({len(code)} characters)"


def _level(scheme: str, code: str) -> Optional[int]:
    return code_level(scheme, code) if scheme in FORMATS else None


def _level_name(scheme: str, level: Optional[int]) -> Optional[str]:
    if level is None:
        return None
    from .model import get_scheme
    try:
        return get_scheme(scheme).level_name(level)
    except Exception:                      # a scheme without level names
        return f"level {level}"


def _ancestor(scheme: str, code: str, level: int) -> Optional[str]:
    cur = code
    while cur is not None:
        lvl = _level(scheme, cur)
        if lvl == level:
            return cur
        if lvl is None or lvl < level:
            return None
        cur = structural_parent(scheme, cur)
    return None


def column_level(scheme: str, rows_of: Mapping[str, int], sources: set) -> Optional[int]:
    """The level most rows' codes have, counting the codes the crosswalk knows and codes
    Excel damaged at the one level they can be read at (else every well-formed code); a tie
    goes to the finer level."""
    votes: dict[int, int] = {}
    for c, rows in rows_of.items():
        lvl = _level(scheme, c)
        if c in sources and lvl is not None:
            votes[lvl] = votes.get(lvl, 0) + int(rows)
        elif lvl is None and c and all(ch.isdigit() or ch == "." for ch in c):
            read = {_level(scheme, s) for s in suggest_codes(scheme, c) if s in sources}
            if len(read) == 1:
                (one,) = read
                votes[one] = votes.get(one, 0) + int(rows)
    if not votes:
        for c, rows in rows_of.items():
            lvl = _level(scheme, c)
            if lvl is not None:
                votes[lvl] = votes.get(lvl, 0) + int(rows)
    return max(votes, key=lambda k: (votes[k], k)) if votes else None


def resolve(column: str, rows_of: Mapping[str, int], scheme: str, sources: set, *, level: Optional[int] = None,
            dead_ends: frozenset = frozenset(), no_match: frozenset = frozenset(),
            repair: bool = True) -> Resolved:
    """Read each distinct code of a column (``rows_of``: code -> rows) against the crosswalk
    ``sources``; see the module docstring."""
    if level is None:
        level = column_level(scheme, rows_of, sources)
    name = _level_name(scheme, level)
    out = Resolved(column, scheme, level, name)

    def unmatched(code: str, reason: str, detail: str) -> None:
        out.reason_of[code] = reason
        out.detail_of[code] = detail

    for code in sorted(rows_of):
        rows = int(rows_of[code])
        if code == "":
            unmatched(code, "empty", REASONS["empty"])
            continue
        lvl = _level(scheme, code)
        if code in sources and (level is None or lvl is None or lvl == level):
            out.source_of[code] = code
            continue
        if level is not None and lvl is not None and lvl > level:
            up = _ancestor(scheme, code, level)
            if up is not None and up in sources:
                out.source_of[code] = up
                out.rolled_up.append({"column": column, "code": code, "rolled_up_to": up, "rows": rows})
            elif up is not None:
                unmatched(code, "no_link", f"{_level_name(scheme, lvl)} {_show(code)}: its {name} {up} has no link")
            else:
                unmatched(code, "other_level", f"{_level_name(scheme, lvl)} {_show(code)} in a column of {name} codes"
                          " (no code above it at that level)")
            continue
        known = code in sources
        if repair and not known and (lvl is None or lvl != level) and all(ch.isdigit() or ch == "." for ch in code):
            fits = [c for c in suggest_codes(scheme, code) if c in sources and c != code
                    and (level is None or _level(scheme, c) == level)]
            if len(fits) == 1:
                out.source_of[code] = fits[0]
                out.repaired.append({"column": column, "code": code, "repaired_to": fits[0], "rows": rows})
                continue
            if len(fits) > 1:
                unmatched(code, "ambiguous_repair", f"{_show(code)} looks damaged by Excel (lost zeros) and could be"
                          f" {' or '.join(fits)}")
                continue
        if lvl is None:
            unmatched(code, "unknown_code", f"{_show(code)!r} is not a code of {scheme}")
        elif level is not None and lvl != level:
            unmatched(code, "other_level", f"{_level_name(scheme, lvl)} {_show(code)} in a column of {name} codes")
        elif code in no_match:
            unmatched(code, "no_correspondence", f"{_show(code)}: {REASONS['no_correspondence']}")
        elif code in dead_ends:
            unmatched(code, "dead_end", f"{_show(code)}: {REASONS['dead_end']}")
        else:
            unmatched(code, "no_link", f"{_show(code)}: {REASONS['no_link']}")
    return out


def resolution_problems(res: Resolved) -> list[Problem]:
    """Notes on repairs and roll-ups, warnings for ambiguous and other-level codes."""
    problems = []
    col = res.column
    if res.level_name:
        problems.append(Problem("column_level", INFO, f"column {col!r} holds {res.scheme} {res.level_name} codes;"
                                " codes of other levels are rolled up or reported", column=col))
    if res.rolled_up:
        shown = [f"{r['code']} → {r['rolled_up_to']}" for r in res.rolled_up]
        problems.append(Problem("rolled_up", INFO, f"{len(res.rolled_up)} finer code(s) of column {col!r} counted"
                                f" in the {res.level_name} above them: {_listing(shown)}", column=col))
    for kind in ("ambiguous_repair", "other_level"):
        codes = sorted(c for c, r in res.reason_of.items() if r == kind)
        if codes:
            problems.append(Problem(kind, WARNING, f"{len(codes)} code(s) of column {col!r} left unmatched: "
                                    + _listing([res.detail_of[c] for c in codes], 5), column=col))
    return problems


__all__ = ["REASONS", "Resolved", "column_level", "resolution_problems", "resolve"]
