"""Coding indexes: labelled title lists (title → code, with where each title comes from).

Whatever a list comes from — a classification's own examples (OKZ «примеры занятий»,
ISCO-08 "Included occupations"), ESCO occupation labels, an office's past codings, the
decisions reviewers confirmed — it is one kind of input: :class:`CodingIndex`. The
``index`` match signal reads all of them the same way (the nearest labelled titles, by
words and by meaning). An index grows by :meth:`CodingIndex.add`; nothing else is refit.

Index titles written head first, as printed coding indexes do («Cook, vegetable»,
«Operator, press: textile»), are read in natural order («vegetable cook», «textile press
operator») by :func:`natural_order`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

from .errors import CrosswalkError, LoadError, Report
from .model import Classification, code_sort_key, get_scheme

# a head-first index title: one or two words, a comma, then modifiers (optionally «: more»);
# no «and»/«of» in the head (a list of groups is not a head-first title)
_HEAD_FIRST = re.compile(r"^\s*([^\W\d_][\w'-]*(?: [^\W\d_][\w'-]*)?)\s*,\s*([^,:;()]+?)"
                         r"(?:\s*:\s*([^,:;()]+?))?\s*$")
_NOT_HEAD = {"and", "or", "of", "in", "for", "the", "и", "или"}


def natural_order(title: str) -> str:
    """«Cook, vegetable» → «vegetable cook»; «Operator, press: textile» → «textile press
    operator»; other titles unchanged."""
    m = _HEAD_FIRST.match(title)
    if not m or set(m.group(1).casefold().split()) & _NOT_HEAD:
        return title
    head, mod, more = m.group(1), m.group(2), m.group(3)
    if head[:1].isupper() and head[1:].islower() and mod[:1].islower():
        head = head.lower()             # «Cook, vegetable»: the head was capitalised as the first word
    if set(mod.casefold().split()) & {"and", "or", "и", "или"} and len(mod.split()) > 3:
        return title        # «Cleaners, helpers and …»: a list, not modifiers of a head
    return " ".join(p for p in (more, mod, head) if p)


@dataclass(frozen=True)
class IndexEntry:
    """One labelled title. ``source``: where it comes from (``okz-examples``, ``esco``,
    ``isco08-included``, a file name, ``confirmed``); ``group``: what entries belong together
    (an ESCO occupation's URI: its preferred and alternative labels), for held-out splits;
    ``item``: the source item a confirmed decision was about (it never teaches itself);
    ``primary``: False for a variant label (ESCO's alternative labels) — read by meaning across
    languages only when primary (one label per occupation; 2,942 ESCO labels to embed, not 32,381)."""
    title: str
    code: str
    source: str
    language: str
    group: str = ""
    item: str = ""
    primary: bool = True        # the main label of its group (ESCO's preferred label), not a variant


class CodingIndex:
    """Labelled titles coding to one scheme's codes."""

    def __init__(self, scheme: str, entries: Iterable[IndexEntry] = (), *, name: str = ""):
        self.scheme = get_scheme(scheme)
        self.name = name or scheme
        self.entries: list[IndexEntry] = []
        self._seen: set[tuple[str, str, str]] = set()
        self.version = 0            # grows with every add(): caches of the signal key on it
        self.add(entries)

    def add(self, entries: Iterable[IndexEntry]) -> int:
        """Append entries (a title already listed under the same code and language counts
        once); returns how many were new. Cheap: nothing is refit."""
        n = 0
        for e in entries:
            if not e.title.strip():
                continue
            key = (e.title.strip().casefold(), e.code, e.item)
            if key in self._seen:
                continue
            self._seen.add(key)
            self.entries.append(e)
            n += 1
        if n:
            self.version += 1
        return n

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[IndexEntry]:
        return iter(self.entries)

    def codes(self) -> set[str]:
        return {e.code for e in self.entries}

    def languages(self) -> set[str]:
        return {e.language for e in self.entries}

    def counts_by_level(self) -> dict[str, int]:
        """Titles by the level of the code they are coded to (what `crosswalk inspect` shows)."""
        from .codes import code_level
        out: dict[str, int] = {}
        for e in self.entries:
            lvl = code_level(self.scheme.id, e.code)
            name = self.scheme.level_name(lvl) if lvl else "?"
            out[name] = out.get(name, 0) + 1
        return out

    def counts_by_source(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.entries:
            out[e.source] = out.get(e.source, 0) + 1
        return dict(sorted(out.items()))

    def without_groups(self, groups: set[str]) -> "CodingIndex":
        return CodingIndex(self.scheme.id, (e for e in self.entries if e.group not in groups), name=self.name)

    @classmethod
    def from_classification(cls, c: Classification, *, level: Optional[int] = None) -> "CodingIndex":
        """The example occupations a classification lists for its items (OKZ «примеры
        занятий» in ``attrs['examples']``, ISCO-08 "Included occupations" in ``attrs['included']``)."""
        out = []
        for it in c:
            if level is not None and it.level != level:
                continue
            for key, source in (("examples", f"{c.scheme.id}-examples"), ("included", f"{c.scheme.id}-included")):
                for title in example_titles(it.attrs.get(key)):
                    out.append(IndexEntry(title, it.code, source, c.language))
        return cls(c.scheme.id, out, name=f"{c.scheme.id} examples")


def example_titles(text) -> list[str]:
    """The titles of an example list: lines (or list items), bullets and the list's own
    heading («Examples of the occupations classified here:») dropped."""
    if not text:
        return []
    lines = text if isinstance(text, (list, tuple)) else str(text).splitlines()
    out = []
    for line in lines:
        t = str(line).strip(" -•\t;.")
        if not t or len(t) > 120 or t.endswith(":"):
            continue
        if t.casefold().startswith(("examples of", "some related", "note", "occupations")):
            continue
        out.append(t)
    return out


# -- reading an index file ----------------------------------------------------------------
_TITLE_COLS = ("title", "text", "name", "наименование", "название", "должность", "профессия")
_CODE_COLS = ("code", "код")
_SOURCE_COLS = ("source", "источник")


def read_index(path: str | Path, scheme: Optional[str] = None) -> tuple[CodingIndex, Report]:
    """A coding index from a file: an ESCO occupations CSV, or a CSV/xlsx of past codings
    with a title column and a code column (``title``/``code``, or ``<scheme>_code``; an
    optional ``source``). Every row is loaded or rejected with its reason in the report."""
    from .io.frames import read_data
    path = Path(path)
    from .loaders import esco as _esco
    from .loaders import _head
    if path.is_file() and _esco.sniff(path, _head(path)):
        res = _esco.load(path)
        return res.data, res.report
    df, report = read_data(path, min_columns=2)
    cols = {str(c).strip().casefold(): c for c in df.columns}
    title_col = next((cols[c] for c in _TITLE_COLS if c in cols), None)
    code_cols = [cols[c] for c in _CODE_COLS if c in cols]
    if scheme:
        code_cols = [cols[k] for k in (f"{scheme}_code", f"{scheme}_code_1") if k in cols] + code_cols
    else:
        code_cols += [c for k, c in cols.items() if k.endswith("_code") and k[:-5] in _schemes()]
    if title_col is None or not code_cols:
        report.error("header", "a coding index needs a title column (title, text, наименование …) and a code"
                     f" column (code, код, <scheme>_code); columns: {', '.join(map(str, df.columns))}")
        raise LoadError(f"{path}: not a coding index (no title or code column)", report)
    code_col = code_cols[0]
    if scheme is None:
        k = str(code_col).strip().casefold()
        scheme = k[:-5] if k.endswith("_code") and k[:-5] in _schemes() else None
    if scheme is None:
        report.error("scheme", f"which classification the codes of column {code_col!r} belong to is not"
                     " said: name the column <scheme>_code (e.g. okz2014_code) or pass the scheme")
        raise LoadError(f"{path}: the scheme of the codes is unknown", report)
    from .codes import cell_code
    from .code import language_of
    src_col = next((cols[c] for c in _SOURCE_COLS if c in cols), None)
    rows = df.attrs.get("rows")
    entries = []
    report.rows_read, report.rows_loaded, report.rows_rejected = len(df), 0, 0
    for i, (title, raw) in enumerate(zip(df[title_col], df[code_col])):
        row = int(rows[i]) if rows is not None else i + 2
        title = title.strip() if isinstance(title, str) else ""
        code, problem, msg = cell_code(scheme, raw)
        if not title:
            report.error("empty_title", "no title; row rejected", row=row, column=str(title_col), value=title)
        elif problem not in (None, "repaired"):
            report.error("code_format", f"{msg}; row rejected", row=row, column=str(code_col), value=raw)
        else:
            if problem == "repaired":
                report.warning("excel_damaged_code", msg, row=row, column=str(code_col), value=raw)
            src = str(df[src_col].iloc[i]).strip() if src_col is not None else ""
            entries.append(IndexEntry(title, code, src or path.name, language_of(title)))
            report.rows_loaded += 1
            continue
        report.rows_rejected += 1
    report.check_accounting()
    return CodingIndex(scheme, entries, name=path.name), report


def _schemes() -> set[str]:
    from .model import SCHEMES
    return set(SCHEMES)


def indexes_for(target: Classification, indexes: Sequence[CodingIndex]) -> list[CodingIndex]:
    """The indexes whose codes are the target's: its own scheme's, and those of a scheme
    sharing its codes by design (ISCO-08 labels for OKZ-2014 groups)."""
    from .match.structure import shares_codes
    out = []
    for ix in indexes:
        if ix.scheme.id == target.scheme.id or shares_codes(ix.scheme.id, target.scheme.id):
            out.append(ix)
    return out


def check_codes(ix: CodingIndex, target: Classification) -> list[str]:
    """Codes of the index the target lacks (reported, not learned from)."""
    return sorted({e.code for e in ix if e.code not in target}, key=code_sort_key)


__all__ = ["CodingIndex", "IndexEntry", "example_titles", "indexes_for", "natural_order", "read_index"]
