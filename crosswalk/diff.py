"""Edition changes of one classification: what a new edition (OKVED2 2023) did to
each code of an old one (OKVED2 2016).

Every code of either edition appears in exactly one :class:`Change`:

* **unchanged** — same code, titles equal once whitespace is ignored. Titles that
  differ *only* in whitespace (line breaks, tabs, NBSP, double spaces, a line-wrap
  «чулочно- носочных», «т.п.» vs «т. п.») stay unchanged, with ``detail``
  starting ``"whitespace only"`` (see :attr:`EditionDiff.whitespace_only`).
  Rule: the two titles have the same non-space characters in the same order.
* **renamed** — same code, the words differ (spelling fixes and look-alike
  Latin/Cyrillic letters included: the stored text changed). ``detail`` gives
  the title similarity and the words removed/added/replaced; it also says when the
  old title carried a note after a line break that the new one drops, when the
  wording changed a lot (similarity < ``rename_threshold``), and when the old
  title lives on under another code (a reused code: OKVED2 52.10.4 «Хранение и
  складирование прочих грузов» is 52.10.9 in 2023, and 52.10.4 now means
  something else).

Codes in one edition only are paired where the meaning clearly continues:

* **moved** — one old ↔ one new code, title similarity (rapidfuzz
  ``token_sort_ratio`` of :func:`crosswalk.normalize.key`) ≥ ``move_threshold``,
  and either the same level or the same branch (the new code's parent is an
  ancestor of the old code, or the other way round: OKVED2 71.12.46
  «Землеустройство» → 71.12.9). Pairs are taken best first, ties by code.
* **split** — an old code whose title words (:func:`crosswalk.normalize.tokens`)
  are covered (share ≥ ``cover_threshold``) by each of ≥ 2 new codes under the
  old code's parent or below its code (``38.21`` → ``38.21.1``…). An old code that
  still exists and gains children is not a split: its children are *added*.
* **merged** — the mirror: ≥ 2 old codes under the new code's parent (or below
  its code) that each contain the new code's title words.
  A code claimed by both a split and a merge is ambiguous: both groups fall back
  to added/deleted (conservative; keeps ``diff(b, a)`` the mirror of ``diff(a, b)``).
* otherwise **added** / **deleted**. The raw set difference is kept as
  :attr:`EditionDiff.codes_added` / :attr:`EditionDiff.codes_deleted`.

A top level that only one edition has at all (the 2016 notes file carries no
sections, the 2023 CSV has 21) is a difference of file layout, not of edition: its
items are left out of both sides and listed in :attr:`EditionDiff.ignored_levels`
(``ignore_missing_levels=False`` compares them). A level missing *below* the other
file's top level is compared as usual: an edition may really add a level.

The result does not depend on row order (classifications are ordered, ties are
broken by code).
"""
from __future__ import annotations

import csv
import difflib
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from rapidfuzz import fuzz, process

from .candidates import atomic_write, sheet_safe
from .errors import CrosswalkError
from .model import Classification, Item, code_sort_key
from .normalize import key, tokens

__all__ = ["CHANGE_KINDS", "CSV_COLUMNS", "Change", "DiffError", "EditionDiff", "changes_by_code",
           "diff", "greedy_pairs"]

CHANGE_KINDS = ("unchanged", "renamed", "moved", "split", "merged", "added", "deleted")
CSV_COLUMNS = ("kind", "old_codes", "old_title", "new_codes", "new_title", "score", "detail")
WHITESPACE_ONLY = "whitespace only"
_KIND_RANK = {k: i for i, k in enumerate(CHANGE_KINDS)}


class DiffError(CrosswalkError, ValueError):
    """The two classifications cannot be compared (different schemes, bad option)."""


@dataclass(frozen=True)
class Change:
    """One change between editions: ``old``/``new`` codes (``()`` on the side that
    has none), their titles (several joined by `` | ``), a human-readable ``detail``
    and a ``score`` (title similarity or word cover; 1.0 where nothing is compared)."""

    kind: str
    old: tuple[str, ...]
    new: tuple[str, ...]
    old_title: str = ""
    new_title: str = ""
    detail: str = ""
    score: float = 1.0

    def __post_init__(self):
        if self.kind not in _KIND_RANK:
            raise ValueError(f"kind must be one of {CHANGE_KINDS}, not {self.kind!r}")

    def sort_key(self) -> tuple:
        return (_KIND_RANK[self.kind], [code_sort_key(c) for c in self.old],
                [code_sort_key(c) for c in self.new])

    def as_dict(self) -> dict:
        return {"kind": self.kind, "old": list(self.old), "new": list(self.new),
                "old_title": self.old_title, "new_title": self.new_title,
                "score": round(self.score, 4), "detail": self.detail}


@dataclass
class EditionDiff:
    """The changes from ``old_edition`` to ``new_edition`` of ``scheme``, sorted by
    kind (in :data:`CHANGE_KINDS` order), then codes."""

    scheme: str
    old_edition: str
    new_edition: str
    changes: list[Change]
    ignored_levels: dict[str, dict[str, int]] = field(default_factory=dict)  # level -> {"old", "new"}
    codes_added: list[str] = field(default_factory=list)     # raw set difference, ignored levels aside
    codes_deleted: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.changes = sorted(self.changes, key=Change.sort_key)

    def counts(self) -> dict[str, int]:
        """Changes per kind, every kind present (0 when none)."""
        out = dict.fromkeys(CHANGE_KINDS, 0)
        for c in self.changes:
            out[c.kind] += 1
        return out

    def of_kind(self, kind: str) -> list[Change]:
        if kind not in _KIND_RANK:
            raise DiffError(f"unknown change kind {kind!r}; kinds: {', '.join(CHANGE_KINDS)}")
        return [c for c in self.changes if c.kind == kind]

    @property
    def whitespace_only(self) -> list[Change]:
        """Unchanged codes whose titles differ in whitespace only."""
        return [c for c in self.changes if c.kind == "unchanged" and c.detail.startswith(WHITESPACE_ONLY)]

    def as_dict(self) -> dict:
        return {"scheme": self.scheme, "old_edition": self.old_edition, "new_edition": self.new_edition,
                "ignored_levels": {k: dict(v) for k, v in self.ignored_levels.items()},
                "counts": self.counts(), "whitespace_only": len(self.whitespace_only),
                "codes_added": list(self.codes_added), "codes_deleted": list(self.codes_deleted),
                "changes": [c.as_dict() for c in self.changes]}

    def write_csv(self, path: str | Path) -> Path:
        """Every change as a CSV for reviewers: UTF-8 with BOM (Excel shows Cyrillic),
        spreadsheet-safe text, several codes separated by spaces; written atomically."""
        buf = io.StringIO(newline="")
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(CSV_COLUMNS)
        for c in self.changes:
            w.writerow([sheet_safe(v) for v in (c.kind, " ".join(c.old), c.old_title, " ".join(c.new),
                                                c.new_title, f"{c.score:.4f}", c.detail)])
        return atomic_write(path, buf.getvalue().encode("utf-8-sig"))


# -- titles -------------------------------------------------------------------
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_LOOK_LAT, _LOOK_CYR = "ABCEHKMOPTXYaceopxy", "АВСЕНКМОРТХУасеорху"
_TO_CYR = str.maketrans(_LOOK_LAT, _LOOK_CYR)
_EXCLUDED = re.compile(r"\s*(исключен|excluded|deleted)", re.IGNORECASE)


def _squash(title: str) -> str:
    """The title without any whitespace or invisible character."""
    return "".join(title.translate(_INVISIBLE).split())


def _display(title: str) -> str:
    return " ".join(title.translate(_INVISIBLE).split())


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[:n - 1].rstrip() + "…"


def _word_changes(a: str, b: str, limit: int = 4) -> str:
    """'−«сырой»; +«и ветеринарии»; «IP» → «IР» (look-alike letters)': the word runs
    that differ between two titles (words = text between whitespace)."""
    wa, wb = a.translate(_INVISIBLE).split(), b.translate(_INVISIBLE).split()
    parts = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes():
        x, y = " ".join(wa[i1:i2]), " ".join(wb[j1:j2])
        if op == "delete":
            parts.append(f"−«{_clip(x)}»")
        elif op == "insert":
            parts.append(f"+«{_clip(y)}»")
        elif op == "replace":
            same = x != y and x.translate(_TO_CYR) == y.translate(_TO_CYR)
            parts.append(f"«{_clip(x)}» → «{_clip(y)}»" + (" (look-alike letters)" if same else ""))
    extra = len(parts) - limit
    return "; ".join(parts[:limit]) + (f"; … {extra} more" if extra > 0 else "")


def _whitespace_detail(a: str, b: str) -> str:
    words = _word_changes(a, b)
    if words:
        return f"{WHITESPACE_ONLY}: {words}"
    seen = []
    for what, test in (("line break", lambda t: "\n" in t or "\r" in t), ("tab", lambda t: "\t" in t),
                       ("non-breaking space", lambda t: "\xa0" in t),
                       ("invisible character", lambda t: t != t.translate(_INVISIBLE)),
                       ("double space", lambda t: "  " in t), ("leading/trailing space", lambda t: t != t.strip())):
        if test(a) != test(b):
            seen.append(what)
    return f"{WHITESPACE_ONLY}: " + (", ".join(seen) or "spacing")


def _first_line_note(a: str, b: str) -> str:
    """Which side's title is the other plus a note after a line break, if so."""
    for side, long, short in (("old", a, b), ("new", b, a)):
        head, sep, _ = long.partition("\n")
        if sep and _squash(head) == _squash(short) and _squash(long) != _squash(short):
            return f"the {side} title carries a note after a line break; its first line is the other title"
    return ""


class _Titles:
    """Keys, token sets and similarities of titles, cached per title."""

    def __init__(self, language: str):
        self.language = language
        self._keys: dict[str, str] = {}
        self._tokens: dict[str, frozenset] = {}

    def key(self, title: str) -> str:
        k = self._keys.get(title)
        if k is None:
            k = self._keys[title] = key(title, self.language)
        return k

    def words(self, title: str) -> frozenset:
        t = self._tokens.get(title)
        if t is None:
            t = self._tokens[title] = frozenset(tokens(title, self.language))
        return t

    def similarity(self, a: str, b: str) -> float:
        return fuzz.token_sort_ratio(self.key(a), self.key(b)) / 100.0

    def matrix(self, a: list[str], b: list[str]) -> np.ndarray:
        """All similarities at once (rapidfuzz cdist), rows ``a``, columns ``b``."""
        if not a or not b:
            return np.zeros((len(a), len(b)))
        return process.cdist([self.key(t) for t in a], [self.key(t) for t in b],
                             scorer=fuzz.token_sort_ratio, dtype=np.float64) / 100.0

    def cover(self, a: str, b: str) -> float:
        """Share of ``a``'s title words found in ``b``'s."""
        wa = self.words(a)
        return len(wa & self.words(b)) / len(wa) if wa else 0.0


# -- structure ----------------------------------------------------------------
class _Side:
    """One edition with ignored levels cut out: items, parents, ancestor sets."""

    def __init__(self, cl: Classification, ignored: frozenset[int]):
        self.items: dict[str, Item] = {it.code: it for it in cl if it.level not in ignored}
        self.parent: dict[str, Optional[str]] = {}
        self.ancestors: dict[str, frozenset[str]] = {}
        for code in self.items:
            up = [a.code for a in cl.ancestors(code) if a.level not in ignored]
            self.parent[code] = up[0] if up else None
            self.ancestors[code] = frozenset(up)


def _same_branch(o: str, n: str, old: _Side, new: _Side) -> bool:
    """Same level, or one code's parent is an ancestor of the other's place."""
    if old.items[o].level == new.items[n].level:
        return True
    po, pn = old.parent[o], new.parent[n]
    return (pn is not None and pn in old.ancestors[o]) or (po is not None and po in new.ancestors[n])


def _pair_key(score: float, o: str, n: str) -> tuple:
    # symmetric in (o, n), so diff(b, a) pairs exactly what diff(a, b) pairs
    return (-score, sorted([code_sort_key(o), code_sort_key(n)]))


def greedy_pairs(olds: list[str], news: list[str], scores: np.ndarray, threshold: float,
                 allowed: Callable[[str, str], bool]) -> list[tuple[str, str, float]]:
    """One-to-one pairs, best score first (ties by code), each score ≥ threshold."""
    rows, cols = np.nonzero(scores >= threshold)
    cands = [(float(scores[i, j]), olds[i], news[j]) for i, j in zip(rows.tolist(), cols.tolist())
             if allowed(olds[i], news[j])]
    cands.sort(key=lambda t: _pair_key(*t))
    used_o, used_n, out = set(), set(), []
    for s, o, n in cands:
        if o not in used_o and n not in used_n:
            used_o.add(o)
            used_n.add(n)
            out.append((o, n, s))
    return out


def _groups(keys: list[str], members: list[str], fits: Callable[[str, str], float],
            threshold: float) -> dict[str, list[tuple[str, float]]]:
    """Each member goes to the key it fits best (≥ threshold, ties by code);
    keys that got ≥ 2 members."""
    got: dict[str, list[tuple[str, float]]] = {}
    for m in members:
        best = None
        for k in keys:
            f = fits(k, m)
            if f >= threshold and (best is None or f > best[0]):  # keys come in code order
                best = (f, k)
        if best is not None:
            got.setdefault(best[1], []).append((m, best[0]))
    return {k: v for k, v in got.items() if len(v) >= 2}


# -- diff ---------------------------------------------------------------------
def diff(old: Classification, new: Classification, *, rename_threshold: float = 0.5,
         move_threshold: float = 0.9, cover_threshold: float = 0.75,
         ignore_missing_levels: bool = True) -> EditionDiff:
    """What changed from ``old`` to ``new`` (two editions of one scheme); see the
    module docstring for the rules. ``rename_threshold``: renames less similar than
    this are flagged as a change of wording to check; ``move_threshold``: the title
    similarity a moved code (or a title found under another code) needs;
    ``cover_threshold``: the share of title words a split/merge needs."""
    if old.scheme.id != new.scheme.id:
        raise DiffError(f"cannot compare editions of different schemes: {old.scheme.id} vs {new.scheme.id}")
    for name, v in (("rename_threshold", rename_threshold), ("move_threshold", move_threshold),
                    ("cover_threshold", cover_threshold)):
        if not 0.0 <= v <= 1.0 or math.isnan(v):
            raise DiffError(f"{name} must be in [0, 1], not {v}")
    levels_old, levels_new = {it.level for it in old}, {it.level for it in new}
    ignored: frozenset[int] = frozenset()
    if ignore_missing_levels and levels_old and levels_new:
        # only levels above everything the other file has: a file without its top level
        # (sections) is a layout; a level missing below may be a real change
        top = max(min(levels_old), min(levels_new))
        ignored = frozenset(lv for lv in levels_old | levels_new if lv < top)
    ignored_levels = {old.scheme.level_name(lv): {"old": sum(1 for it in old if it.level == lv),
                                                  "new": sum(1 for it in new if it.level == lv)}
                      for lv in sorted(ignored)}
    a, b = _Side(old, ignored), _Side(new, ignored)
    titles = _Titles(old.language)
    level = old.scheme.level_name

    changes, renamed = _same_codes(a, b, titles, rename_threshold)
    only_old = sorted((c for c in a.items if c not in b.items), key=code_sort_key)
    only_new = sorted((c for c in b.items if c not in a.items), key=code_sort_key)

    # moved: one old code ↔ one new code with (nearly) the same title
    pairs = greedy_pairs(only_old, only_new, titles.matrix([a.items[c].title for c in only_old],
                                                           [b.items[c].title for c in only_new]),
                         move_threshold, lambda o, n: _same_branch(o, n, a, b))
    for o, n, s in pairs:
        io_, in_ = a.items[o], b.items[n]
        where = [f"level {level(io_.level)} → {level(in_.level)}" if io_.level != in_.level else "",
                 f"parent {a.parent[o]} → {b.parent[n]}" if a.parent[o] != b.parent[n] else ""]
        changes.append(Change("moved", (o,), (n,), io_.title, in_.title,
                              "; ".join([f"title similarity {s:.2f}", *filter(None, where)]), s))
    paired = {("old", o) for o, _, _ in pairs} | {("new", n) for _, n, _ in pairs}
    rest_o = [c for c in only_old if ("old", c) not in paired]
    rest_n = [c for c in only_new if ("new", c) not in paired]
    for change in _splits_and_merges(rest_o, rest_n, a, b, titles, cover_threshold):
        changes.append(change)
        paired |= {("old", c) for c in change.old} | {("new", c) for c in change.new}
    deleted = [c for c in rest_o if ("old", c) not in paired]
    added = [c for c in rest_n if ("new", c) not in paired]

    notes = _titles_living_on([c for c, _, _ in renamed] + deleted, [c for c, _, _ in renamed] + added,
                              a, b, titles, move_threshold)

    def with_notes(detail: str, *keys: tuple[str, str]) -> str:
        return "; ".join(x for x in (detail, *(t for k in keys for t in notes.get(k, ()))) if x)

    for code, sim, detail in renamed:
        changes.append(Change("renamed", (code,), (code,), a.items[code].title, b.items[code].title,
                              with_notes(detail, ("old", code), ("new", code)), sim))
    for c in added:
        changes.append(Change("added", (), (c,), "", b.items[c].title, with_notes("", ("new", c))))
    for c in deleted:
        t = a.items[c].title
        flag = "the old edition already marks it as excluded" if _EXCLUDED.match(t) else ""
        changes.append(Change("deleted", (c,), (), t, "", with_notes(flag, ("old", c))))
    return EditionDiff(old.scheme.id, old.edition, new.edition, changes, ignored_levels, only_new, only_old)


def _same_codes(a: _Side, b: _Side, titles: _Titles, rename_threshold: float):
    """Unchanged changes, and (code, similarity, detail) of the renamed codes."""
    unchanged: list[Change] = []
    renamed: list[tuple[str, float, str]] = []
    for code, it in a.items.items():
        if code not in b.items:
            continue
        t_old, t_new = it.title, b.items[code].title
        reparented = "" if a.parent[code] == b.parent[code] else f"parent {a.parent[code]} → {b.parent[code]}"
        if _squash(t_old) == _squash(t_new):
            detail = "" if t_old == t_new else _whitespace_detail(t_old, t_new)
            unchanged.append(Change("unchanged", (code,), (code,), t_old, t_new,
                                    "; ".join(x for x in (detail, reparented) if x)))
            continue
        sim = titles.similarity(t_old, t_new)
        note = _first_line_note(t_old, t_new)
        parts = [f"title similarity {sim:.2f}", note, _word_changes(t_old, t_new), reparented]
        if sim < rename_threshold and not note:
            parts.insert(1, "wording changed a lot: check the meaning")
        renamed.append((code, sim, "; ".join(x for x in parts if x)))
    return unchanged, renamed


def _splits_and_merges(rest_o: list[str], rest_n: list[str], a: _Side, b: _Side, titles: _Titles,
                       threshold: float) -> list[Change]:
    def near(up: str, up_side: _Side, down: str, down_side: _Side) -> bool:
        return up_side.parent[up] == down_side.parent[down] or (down.startswith(up) and down != up)

    splits = _groups(rest_o, rest_n, lambda o, n: titles.cover(a.items[o].title, b.items[n].title)
                     if near(o, a, n, b) else 0.0, threshold)
    merges = _groups(rest_n, rest_o, lambda n, o: titles.cover(b.items[n].title, a.items[o].title)
                     if near(n, b, o, a) else 0.0, threshold)
    split_codes = {("old", o) for o in splits} | {("new", n) for v in splits.values() for n, _ in v}
    merge_codes = {("new", n) for n in merges} | {("old", o) for v in merges.values() for o, _ in v}
    clash = split_codes & merge_codes   # ambiguous: neither group is reported
    out = []
    for o, got in splits.items():
        if not {("old", o), *(("new", n) for n, _ in got)} & clash:
            got.sort(key=lambda t: code_sort_key(t[0]))
            s = min(f for _, f in got)
            out.append(Change("split", (o,), tuple(n for n, _ in got), a.items[o].title,
                              " | ".join(b.items[n].title for n, _ in got),
                              f"old title words covered by {len(got)} new codes (least cover {s:.2f})", s))
    for n, got in merges.items():
        if not {("new", n), *(("old", o) for o, _ in got)} & clash:
            got.sort(key=lambda t: code_sort_key(t[0]))
            s = min(f for _, f in got)
            out.append(Change("merged", tuple(o for o, _ in got), (n,),
                              " | ".join(a.items[o].title for o, _ in got), b.items[n].title,
                              f"new title words found in {len(got)} old codes (least cover {s:.2f})", s))
    return out


def _titles_living_on(src: list[str], dst: list[str], a: _Side, b: _Side, titles: _Titles,
                      threshold: float) -> dict[tuple[str, str], list[str]]:
    """Notes for an old title (of ``src``: renamed or deleted codes) that lives on under
    another code (of ``dst``: renamed or added) — a reused or recoded code."""
    m = titles.matrix([a.items[c].title for c in src], [b.items[c].title for c in dst])

    def lives_on(s_code: str, d_code: str, sim: float) -> bool:
        if d_code == s_code or sim < threshold or not _same_branch(s_code, d_code, a, b):
            return False
        if d_code not in a.items:
            return True
        # d's new title must be closer to s's old title than to d's own, and the two old
        # titles must not have been alike already (06.1 and 06.10 both lost «сырой»)
        s_old, d_old, d_new = a.items[s_code].title, a.items[d_code].title, b.items[d_code].title
        return sim > titles.similarity(d_old, d_new) and titles.similarity(s_old, d_old) < threshold

    notes: dict[tuple[str, str], list[str]] = {}
    for i, s_code in enumerate(src):
        best = None
        for j, d_code in enumerate(dst):
            if lives_on(s_code, d_code, m[i, j]) and (
                    best is None or _pair_key(m[i, j], s_code, d_code) < _pair_key(*best)):
                best = (float(m[i, j]), s_code, d_code)
        if best is not None:
            notes.setdefault(("old", s_code), []).append(f"old title now at {best[2]} ({best[0]:.2f})")
            notes.setdefault(("new", best[2]), []).append(f"title was at {s_code} in the old edition")
    return notes


def changes_by_code(d: EditionDiff) -> dict[tuple[str, str], Change]:
    """(``"old"``/``"new"``, code) -> the change that code is part of."""
    out = {}
    for c in d.changes:
        for code in c.old:
            out[("old", code)] = c
        for code in c.new:
            out[("new", code)] = c
    return out

