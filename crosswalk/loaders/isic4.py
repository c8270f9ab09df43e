"""ISIC Rev.4 structure as the UN Statistics Division publishes it (``isic4:un-csv``):
``ISIC_Rev_4_english_structure.Txt``, header ``"Code","Description"``, comma,
every field quoted, CRLF. Levels section/division/group/class (A, 01, 011, 0111).
A division's section comes from the standard's fixed ranges (see :mod:`.sections`).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from ..errors import LoadError, Report
from ..io import read_csv
from .base import LoadResult
from .sections import find_columns, first_row, load_structure

FORMATS = {"isic4:un-csv": "ISIC Rev.4 structure, UNSD text file with header \"Code\",\"Description\""}
COLUMNS = ("code", "description")
_FIRST_CODE = re.compile(r'\s*"?(?:[A-U]|\d{2,4})"?\s*,')


def sniff(path: Path, head: str) -> Optional[str]:
    try:
        if first_row(head) != list(COLUMNS):
            return None
        lines = head.lstrip("\ufeff").splitlines()
        second = next((ln for ln in lines[1:] if ln.strip()), "")
        return "isic4:un-csv" if _FIRST_CODE.match(second) else None
    except Exception:  # sniffing must never raise
        return None


def load(path, format: Optional[str] = None, *, strict: bool = False) -> LoadResult:
    path = Path(path)
    if format not in (None, "isic4:un-csv"):
        raise LoadError(f"{path}: {format} is not an ISIC Rev.4 format ({', '.join(FORMATS)})")
    report = Report(file=str(path), scheme="isic4")
    table = read_csv(path, report, min_columns=2, line_breaks="error")
    start, cols = find_columns(table, report, COLUMNS)
    data = load_structure(report, "isic4", table.rows[start + 1:],
                          {"Code": cols["code"], "Description": cols["description"]},
                          source=str(path))
    return LoadResult(str(path), data, report)
