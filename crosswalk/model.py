"""The typed data model shared by every stage: schemes, items, classifications,
correspondences.

A :class:`Classification` is immutable once built and always iterates in the same
order (hierarchical pre-order, children sorted by code), whatever the order of the
rows it was loaded from.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Iterator, Mapping, Optional

from .errors import CrosswalkError, UnknownCodeError, UnknownSchemeError


@dataclass(frozen=True)
class Scheme:
    """A classification standard: its id, names and the names of its levels."""

    id: str
    name: str
    language: str
    levels: tuple[str, ...]          # level names, index 0 = level 1
    publisher: str = ""

    def level_name(self, level: int) -> str:
        if 1 <= level <= len(self.levels):
            return self.levels[level - 1]
        return str(level)


SCHEMES: dict[str, Scheme] = {s.id: s for s in (
    Scheme("okpdtr", "ОК 016-94 ОКПДТР (профессии рабочих, должности служащих)", "ru",
           ("title",), "Росстандарт"),
    Scheme("okz2014", "ОК 010-2014 ОКЗ (МСКЗ-08)", "ru",
           ("major", "sub-major", "minor", "unit"), "Росстандарт"),
    Scheme("isco08", "ISCO-08", "en", ("major", "sub-major", "minor", "unit"), "ILO"),
    Scheme("isco88", "ISCO-88", "en", ("major", "sub-major", "minor", "unit"), "ILO"),
    Scheme("okved2", "ОК 029-2014 ОКВЭД2 (КДЕС Ред. 2)", "ru",
           ("section", "division", "group", "class", "subclass", "type"), "Росстат"),
    Scheme("nace2", "NACE Rev.2", "en", ("section", "division", "group", "class"), "Eurostat"),
    Scheme("isic4", "ISIC Rev.4", "en", ("section", "division", "group", "class"), "UN Statistics Division"),
    # free text coded by `crosswalk code`: a code is T + 12 hex digits of the normalised
    # title's SHA-1, so the same title is the same review-store item in every run
    Scheme("text", "Free text (job titles, activity descriptions)", "ru", ("title",), ""),
)}


def get_scheme(scheme_id: str) -> Scheme:
    try:
        return SCHEMES[scheme_id]
    except KeyError:
        raise UnknownSchemeError(
            f"unknown scheme {scheme_id!r}; known: {', '.join(sorted(SCHEMES))}") from None


_NUM = re.compile(r"\d+|\D+")


def code_sort_key(code: str) -> tuple:
    """Orders codes as people expect: sections (letters) before digits,
    '01.1' < '01.11' < '01.2', numbers compared as text so leading zeros count."""
    return (0 if code[:1].isalpha() else 1, code)


@dataclass(frozen=True, eq=True)
class Item:
    """One item of a classification.

    ``attrs`` holds scheme-specific extras, e.g. OKPDTR ``kch`` (control number),
    ``etks`` (ETKS/EKS issue), ``category``, ``okz`` (referenced OKZ code);
    ISCO ``tasks``, ``included``, ``excluded``; OKVED2 ``section``, ``refs``.
    """

    code: str
    title: str
    level: int
    parent: Optional[str] = None
    notes: str = ""
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))

    def __hash__(self) -> int:
        return hash((self.code, self.title, self.level, self.parent))


class Classification:
    """A loaded classification: scheme, edition, language and items.

    Every item's parent is either ``None`` (a root) or present in the
    classification; loaders guarantee it (orphans are reported, not loaded).
    """

    def __init__(self, scheme: str | Scheme, items: Iterable[Item], *, edition: str = "",
                 language: Optional[str] = None, source: str = ""):
        self.scheme = scheme if isinstance(scheme, Scheme) else get_scheme(scheme)
        self.edition = edition
        self.language = language or self.scheme.language
        self.source = source
        by_code: dict[str, Item] = {}
        for it in items:
            if it.code in by_code:
                raise CrosswalkError(f"{self.scheme.id}: duplicate code {it.code!r} in items")
            by_code[it.code] = it
        kids: dict[Optional[str], list[str]] = {}
        for it in by_code.values():
            if it.parent is not None and it.parent not in by_code:
                raise CrosswalkError(
                    f"{self.scheme.id}: item {it.code!r} has parent {it.parent!r}, which is not loaded")
            kids.setdefault(it.parent, []).append(it.code)
        for v in kids.values():
            v.sort(key=code_sort_key)
        self._children = kids
        order: list[str] = []
        stack = list(reversed(kids.get(None, [])))
        while stack:  # iterative pre-order: deep hierarchies never hit the recursion limit
            c = stack.pop()
            order.append(c)
            stack.extend(reversed(kids.get(c, [])))
        if len(order) != len(by_code):   # a parent cycle: those items hang from no root
            lost = sorted(set(by_code) - set(order), key=code_sort_key)
            raise CrosswalkError(f"{self.scheme.id}: items {', '.join(lost[:5])} form a parent cycle"
                                 " and reach no root")
        self._items = {c: by_code[c] for c in order}

    # -- lookup ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self._items.values())

    def __contains__(self, code: object) -> bool:
        return code in self._items

    @property
    def codes(self) -> list[str]:
        return list(self._items)

    def get(self, code: str) -> Item:
        """The item with this code; raises :class:`UnknownCodeError` if absent."""
        try:
            return self._items[code]
        except (KeyError, TypeError):
            raise UnknownCodeError(str(code), self.scheme.id, self._hint(code)) from None

    __getitem__ = get

    def _hint(self, code) -> str:
        s = str(code).strip()
        if s != code and s in self._items:
            return f"did you mean {s!r} without the surrounding spaces?"
        if s.isdigit():
            for cand in (s.zfill(len(s) + 1), s.zfill(4)):
                if cand in self._items and cand != s:
                    return f"lost a leading zero? {cand!r} exists"
        return f"{len(self)} codes loaded"

    # -- navigation --------------------------------------------------------
    def parent(self, code: str) -> Optional[Item]:
        p = self.get(code).parent
        return None if p is None else self._items[p]

    def children(self, code: Optional[str]) -> list[Item]:
        """Direct children; ``children(None)`` gives the roots."""
        if code is not None:
            self.get(code)
        return [self._items[c] for c in self._children.get(code, [])]

    def ancestors(self, code: str) -> list[Item]:
        """From the parent up to the root."""
        out = []
        it = self.get(code)
        while it.parent is not None:
            it = self._items[it.parent]
            out.append(it)
        return out

    def descendants(self, code: str) -> list[Item]:
        """All items below ``code``, in pre-order."""
        self.get(code)
        out: list[Item] = []
        stack = list(reversed(self._children.get(code, [])))
        while stack:
            c = stack.pop()
            out.append(self._items[c])
            stack.extend(reversed(self._children.get(c, [])))
        return out

    def roots(self) -> list[Item]:
        return self.children(None)

    def by_level(self, level: int | str) -> list[Item]:
        """Items of one level, by number (1 = top) or by name ('class')."""
        if isinstance(level, str) and not level.isdigit():
            if level not in self.scheme.levels:
                raise CrosswalkError(
                    f"{self.scheme.id} has no level {level!r}; levels: {', '.join(self.scheme.levels)}")
            level = self.scheme.levels.index(level) + 1
        level = int(level)
        return [it for it in self if it.level == level]

    def counts_by_level(self) -> dict[str, int]:
        counts: dict[int, int] = {}
        for it in self:
            counts[it.level] = counts.get(it.level, 0) + 1
        return {self.scheme.level_name(k): counts[k] for k in sorted(counts)}

    def __repr__(self) -> str:
        return (f"Classification({self.scheme.id!r}, edition={self.edition!r}, "
                f"items={len(self)}, levels={self.counts_by_level()})")


@dataclass(frozen=True)
class Pair:
    """One row of an official correspondence table."""

    source: str
    target: str
    partial: bool = False
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))

    def __hash__(self) -> int:
        return hash((self.source, self.target, self.partial))


class Correspondence:
    """An official correspondence table between two schemes (e.g. ISCO-08 → ISCO-88).

    Pairs are kept sorted by (source, target) so output never depends on row order.
    ``source_titles``/``target_titles`` hold titles the table itself carries.
    """

    def __init__(self, source: str, target: str, pairs: Iterable[Pair], *, edition: str = "",
                 source_titles: Optional[Mapping[str, str]] = None,
                 target_titles: Optional[Mapping[str, str]] = None, origin: str = ""):
        self.source_scheme = get_scheme(source)
        self.target_scheme = get_scheme(target)
        self.pairs = sorted(pairs, key=lambda p: (code_sort_key(p.source), code_sort_key(p.target)))
        self.edition = edition
        self.origin = origin
        self.source_titles = dict(source_titles or {})
        self.target_titles = dict(target_titles or {})

    def __len__(self) -> int:
        return len(self.pairs)

    def __iter__(self) -> Iterator[Pair]:
        return iter(self.pairs)

    def sources(self) -> list[str]:
        return sorted({p.source for p in self.pairs}, key=code_sort_key)

    def targets(self) -> list[str]:
        return sorted({p.target for p in self.pairs}, key=code_sort_key)

    def targets_of(self, source: str) -> list[Pair]:
        out = [p for p in self.pairs if p.source == source]
        if not out:
            raise UnknownCodeError(source, f"{self.source_scheme.id}→{self.target_scheme.id} sources")
        return out

    def reversed(self) -> "Correspondence":
        return Correspondence(self.target_scheme.id, self.source_scheme.id,
                              [Pair(p.target, p.source, p.partial, p.attrs) for p in self.pairs],
                              edition=self.edition, source_titles=self.target_titles,
                              target_titles=self.source_titles, origin=self.origin)

    def counts_by_level(self) -> dict[str, int]:
        """A correspondence has no levels of its own: it reports its pair count."""
        return {"pairs": len(self.pairs)}

    def __repr__(self) -> str:
        return (f"Correspondence({self.source_scheme.id!r}→{self.target_scheme.id!r}, "
                f"pairs={len(self)})")


@dataclass(frozen=True)
class Candidate:
    """A proposed correspondence from the matcher: a target for one source item, its
    combined score in [0, 1], its rank among that source's candidates (1 = best) and
    the evidence — every signal's own score — so a reviewer can see why."""

    source: str
    target: str
    score: float
    rank: int
    evidence: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score {self.score} of {self.source}→{self.target} is outside [0, 1]")
        if self.rank < 1:
            raise ValueError(f"rank {self.rank} of {self.source}→{self.target} is not a positive integer")
        object.__setattr__(self, "evidence", MappingProxyType(dict(sorted(self.evidence.items()))))

    def __hash__(self) -> int:
        return hash((self.source, self.target, self.score, self.rank))

    @classmethod
    def trusted(cls, source: str, target: str, score: float, rank: int,
                evidence: dict[str, float]) -> "Candidate":
        """A candidate from values the caller has already checked in bulk (the matcher
        checks every score matrix at once) and evidence already in key order: skips the
        per-object checks, which dominate when tens of thousands of candidates are made."""
        obj = object.__new__(cls)
        obj.__dict__.update(source=source, target=target, score=score, rank=rank,
                            evidence=MappingProxyType(evidence))
        return obj


ORIGINS = ("official", "structure", "derived", "proposed", "confirmed")
# How far a link can be trusted. ``confirmed``: published (official), accepted by structure
# (the same code in schemes built alike, no deviation in the data) or confirmed by a person;
# ``proposed``: the matcher's best candidate, waiting for review. A composed link is as
# strong as its weakest step.
LINK_STATUSES = ("confirmed", "proposed")
_STATUS_OF_ORIGIN = {"official": "confirmed", "structure": "confirmed", "confirmed": "confirmed",
                     "proposed": "proposed", "derived": "proposed"}


def status_of(origin: str) -> str:
    """The status a link of this origin has unless told otherwise."""
    return _STATUS_OF_ORIGIN[origin]


@dataclass(frozen=True)
class Link:
    """An edge of the correspondence graph: ``source`` (a code of ``source_scheme``) maps to
    ``target`` with a confidence ``score`` in [0, 1] and a split ``weight`` in [0, 1] (the
    share of the source that goes to this target; a source's weights sum to 1).

    ``origin``: official (a published table), structure (identity of codes in schemes built
    alike), proposed (the matcher), confirmed (a reviewer), derived (composed through pivot
    schemes, listed in ``via``). ``status``: confirmed or proposed (default: from the origin;
    a derived link takes its weakest step's). ``weakest``: for a proposed composed link, the
    unreviewed step ("okpdtr→okz2014") with the lowest score.
    """

    source_scheme: str
    source: str
    target_scheme: str
    target: str
    origin: str
    score: float = 1.0
    weight: float = 1.0
    via: tuple[str, ...] = ()          # pivot codes "scheme:code" the composition went through
    flags: tuple[str, ...] = ()        # e.g. "paths_disagree", "regrouped", "review"
    status: str = ""
    weakest: str = ""

    def __post_init__(self):
        if self.origin not in ORIGINS:
            raise ValueError(f"origin must be one of {ORIGINS}, not {self.origin!r}")
        if not self.status:
            object.__setattr__(self, "status", status_of(self.origin))
        elif self.status not in LINK_STATUSES:
            raise ValueError(f"status must be one of {LINK_STATUSES}, not {self.status!r}")
        for name in ("score", "weight"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0 + 1e-9:
                raise ValueError(f"{name} {v} of {self.source}→{self.target} is outside [0, 1]")


RELATIONS = ("1:1", "1:n", "n:1", "n:m")
