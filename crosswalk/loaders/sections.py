"""The fixed division → section table of NACE Rev.2, ISIC Rev.4 and OKVED2.

The three classifications share their 21 sections and 88 divisions (OKVED2 is
harmonised with NACE Rev.2, which is harmonised with ISIC Rev.4), and the
standards fix which divisions each section holds. Loaders take a division's
section from this table, never from row order: a file sorted differently (or
shuffled) must give the same classification. Row order and explicit section
columns are only *checked* against the table.

Also here: the row loop the NACE Rev.2 and ISIC Rev.4 structure loaders share
(:func:`load_structure`) and small CSV helpers used by all three.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Optional, Sequence

from ..checks import check_title
from ..codes import cell_code, code_level, structural_parent
from ..errors import LoadError, Report
from ..io import Row, Table
from ..io.tables import header_index
from ..model import Classification, get_scheme
from .base import ItemCollector

# section -> (first division, last division), both inclusive
RANGES: dict[str, tuple[int, int]] = {
    "A": (1, 3), "B": (5, 9), "C": (10, 33), "D": (35, 35), "E": (36, 39),
    "F": (41, 43), "G": (45, 47), "H": (49, 53), "I": (55, 56), "J": (58, 63),
    "K": (64, 66), "L": (68, 68), "M": (69, 75), "N": (77, 82), "O": (84, 84),
    "P": (85, 85), "Q": (86, 88), "R": (90, 93), "S": (94, 96), "T": (97, 98),
    "U": (99, 99),
}
_BY_DIVISION = {f"{d:02d}": s for s, (a, b) in RANGES.items() for d in range(a, b + 1)}


def section_of(code: str) -> Optional[str]:
    """Section letter of a division or any code below it (by its first two digits),
    or None when the two digits fall in no section's range (e.g. '04')."""
    return _BY_DIVISION.get(code[:2])


def ranges_text() -> str:
    return ", ".join(f"{s}: {a:02d}–{b:02d}" if a != b else f"{s}: {a:02d}"
                     for s, (a, b) in RANGES.items())


def check_row_order(report: Report, divisions: Iterable[tuple[str, Optional[str], int]], *,
                    column: str = "code") -> None:
    """Compare the section the row order implies with the standard one.

    ``divisions``: (division code, last section row above it or None, row).
    One aggregated warning (``section_order``): a shuffled file would otherwise
    flood the report with one warning per division.
    """
    bad = [(code, got, row) for code, got, row in divisions
           if got is not None and section_of(code) not in (None, got)]
    if not bad:
        return
    bad.sort(key=lambda t: t[2])
    sample = "; ".join(f"{c} (row {r}) follows section {g}, standard {section_of(c)}"
                       for c, g, r in bad[:5])
    report.warning("section_order",
                   f"row order puts {len(bad)} division(s) under another section than the"
                   f" standard ranges ({sample}{'; …' if len(bad) > 5 else ''}); sections are"
                   " assigned from the standard ranges, not from row order",
                   row=bad[0][2], column=column, value=bad[0][0])


# -- shared by the structure loaders (OKVED2, NACE Rev.2, ISIC Rev.4) ----------
def report_code(report: Report, problem: Optional[str], msg: str, raw: Any, **where) -> bool:
    """Report what :func:`~crosswalk.codes.cell_code` found; True = reject the row."""
    if problem == "damaged":
        report.error("excel_damaged_code", msg + "; row rejected", value=raw, **where)
        return True
    if problem == "format":
        report.error("code_format", msg + "; row rejected", value=raw, **where)
        return True
    if problem == "repaired":
        report.warning("excel_damaged_code", msg, value=raw, **where)
    if isinstance(raw, str) and raw != raw.strip():
        report.warning("whitespace", f"code {raw.strip()} has surrounding spaces; stripped",
                       value=raw, **where)
    return False


def load_structure(report: Report, scheme: str, rows: Sequence[Row], cols: dict[str, int], *,
                   edition: str = "", source: str = "") -> Classification:
    """Items from rows holding a code, a title and optionally a level; ``cols`` maps
    the header names to column indexes, in the order code, title[, level].
    Divisions get their section from :data:`RANGES`; the row order is only checked."""
    names = get_scheme(scheme).levels
    (code_name, code_i), (title_name, title_i), *rest = cols.items()
    level_i = rest[0][1] if rest else None
    col = ItemCollector(report, scheme, code_column=code_name, title_column=title_name)
    last_section: Optional[str] = None
    divisions: list[tuple[str, Optional[str], int]] = []
    upper = []
    for row in rows:
        col.read()
        where = dict(row=row.number)
        raw = row.get(code_i)
        code, problem, msg = cell_code(scheme, raw)
        if report_code(report, problem, msg, raw, column=col.code_column, **where):
            col.reject()
            continue
        level = code_level(scheme, code)
        if level_i is not None and not _level_agrees(report, code, level, names,
                                                     row.get(level_i), rest[0][0], where):
            col.reject()
            continue
        title = row.get(title_i)
        title = "" if title is None else str(title)
        if not title.strip():
            report.error("empty_title", f"{code} has no title; row rejected",
                         column=col.title_column, value=title, **where)
            col.reject()
            continue
        parent = structural_parent(scheme, code)
        if level == 2:
            parent = section_of(code)
            if parent is None:
                report.error("non_standard_range", f"division {code} lies in no section's range"
                             f" of the standard ({ranges_text()}); row rejected",
                             column=col.code_column, value=code, **where)
                col.reject()
                continue
            divisions.append((code, last_section, row.number))
        elif level == 1:
            last_section = code
        if not col.add(code, title, level, parent, row=row.number):
            continue
        check_title(report, title, language="en", row=row.number, column=col.title_column,
                    code=code)
        if level == 1 and title.isupper():
            upper.append(code)
    check_row_order(report, divisions, column=code_name)
    if upper:
        report.info("title_case", f"{len(upper)} section title(s) are in upper case ({', '.join(sorted(upper))}),"
                    " the style of the publication; stored unchanged", column=col.title_column)
    return col.build(edition=edition, source=source)


def _level_agrees(report: Report, code: str, level: int, names: Sequence[str], given: Any,
                  column: str, where: dict) -> bool:
    want = names[level - 1]
    text = "" if given is None else str(given).strip().lower()
    if text == want:
        return True
    why = (f"{text!r} is not a level name ({', '.join(names)})" if text not in names
           else f"the code format says {want}")
    report.error("level_mismatch", f"level column says {given!r} for {code}, but {why}; row rejected",
                 column=column, value=given, **where)
    return False


def first_row(head: str) -> list[str]:
    """The first line of a CSV head as case-folded cells (the header, if any)."""
    first = head.lstrip("\ufeff").split("\n", 1)[0].strip()
    try:
        return [v.strip().casefold() for v in next(csv.reader(io.StringIO(first)))]
    except (csv.Error, StopIteration):
        return []


def find_columns(table: Table, report: Report, names: tuple[str, ...]) -> tuple[int, dict[str, int]]:
    """Header position and name -> column, in the order of ``names``; a missing
    column makes the file unusable, an unknown one is reported."""
    start, found = header_index(table, names, report)
    missing = [n for n in names if n not in found]
    if missing:
        report.error("header", f"column(s) {', '.join(missing)} not found; the header must hold"
                     f" {', '.join(names)}", row=table.rows[max(start, 0)].number if table.rows else None)
        raise LoadError(f"{report.file}: missing column(s) {', '.join(missing)}", report)
    hrow = table.rows[start]
    for c, v in enumerate(hrow.values):
        if c not in found.values() and str(v or "").strip():
            report.warning("header", f"unknown column {v!r} ignored", row=hrow.number, column=str(v))
    return start, {n: found[n] for n in names}
