"""NACE Rev.2 structure (``nace2:csv``) and the NACE Rev.2 → ISIC Rev.4 table
(``nace2-isic4:csv``).

* ``nace2:csv`` — header ``code,title,level``; levels section/division/group/class.
  A division's section comes from the standard's fixed ranges (see
  :mod:`.sections`), so any row order gives the same classification.
* ``nace2-isic4:csv`` — header ``nace2_code,isic4_code``, one pair a row; each
  code is checked against its own scheme's format.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..codes import cell_code, code_level
from ..errors import LoadError, Report
from ..io import read_csv
from ..io.tables import Table
from ..model import Correspondence, Pair
from .base import LoadResult
from .sections import find_columns, first_row, load_structure, report_code

FORMATS = {
    "nace2:csv": "NACE Rev.2 structure, CSV with header code,title,level",
    "nace2-isic4:csv": "NACE Rev.2 → ISIC Rev.4 correspondence, CSV with header nace2_code,isic4_code",
}
STRUCTURE_COLUMNS = ("code", "title", "level")
PAIR_COLUMNS = ("nace2_code", "isic4_code")


def sniff(path: Path, head: str) -> Optional[str]:
    try:
        cols = first_row(head)
        if cols == list(STRUCTURE_COLUMNS):
            return "nace2:csv"
        if cols[:2] == list(PAIR_COLUMNS):
            return "nace2-isic4:csv"
    except Exception:  # sniffing must never raise
        pass
    return None


def load(path, format: Optional[str] = None, *, strict: bool = False) -> LoadResult:
    path = Path(path)
    fmt = format or "nace2:csv"
    if fmt not in FORMATS:
        raise LoadError(f"{path}: {fmt} is not a NACE format ({', '.join(FORMATS)})")
    report = Report(file=str(path), scheme=fmt.split(":")[0])
    table = read_csv(path, report, min_columns=2, line_breaks="error")
    if fmt == "nace2-isic4:csv":
        return LoadResult(str(path), _pairs(path, table, report), report, kind="correspondence")
    start, cols = find_columns(table, report, STRUCTURE_COLUMNS)
    data = load_structure(report, "nace2", table.rows[start + 1:], cols, source=str(path))
    return LoadResult(str(path), data, report)


def _pairs(path: Path, table: Table, report: Report) -> Correspondence:
    start, cols = find_columns(table, report, PAIR_COLUMNS)
    report.info("header", "the table has no 'partial' column: every pair is loaded as a full"
                " correspondence (partial=False)", row=table.rows[start].number)
    seen: dict[tuple[str, str], int] = {}
    for row in table.rows[start + 1:]:
        report.rows_read += 1
        codes = []
        for scheme, name in (("nace2", "nace2_code"), ("isic4", "isic4_code")):
            raw = row.get(cols[name])
            code, problem, msg = cell_code(scheme, raw)
            if report_code(report, problem, msg, raw, row=row.number, column=name):
                code = None
            codes.append(code)
        if None in codes:
            report.rows_rejected += 1
            continue
        pair = (codes[0], codes[1])
        if pair in seen:
            report.warning("exact_duplicate", f"pair {pair[0]} → {pair[1]} repeats row {seen[pair]};"
                           " the repeat is dropped", row=row.number, column="nace2_code", value=pair[0])
            report.rows_rejected += 1
            continue
        seen[pair] = row.number
        report.rows_loaded += 1
        ls, lt = code_level("nace2", pair[0]), code_level("isic4", pair[1])
        if ls != lt:
            report.warning("level_mismatch", f"NACE {pair[0]} (level {ls}) is paired with ISIC"
                           f" {pair[1]} (level {lt}); both sides are normally at the same level",
                           row=row.number, column="isic4_code", value=pair[1])
    return Correspondence("nace2", "isic4", [Pair(s, t) for s, t in seen], origin=str(path))
