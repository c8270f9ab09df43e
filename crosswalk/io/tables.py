"""Rows out of CSV, xlsx, xls and JSON files, each with the row number a user sees.

Workbook quirks are reported, not hidden: hidden sheets, formula cells (the
cached value is used, with a warning) and merged cells in the header rows.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from ..errors import LoadError, Report
from .encoding import read_text

DELIMITERS = (";", ",", "\t", "|")


@dataclass
class Row:
    number: int                      # 1-based line/row as a user sees it
    values: list[Any]

    def get(self, i: int, default: Any = None) -> Any:
        return self.values[i] if i < len(self.values) else default


@dataclass
class Table:
    name: Optional[str]              # sheet name; None for CSV
    rows: list[Row]
    hidden: bool = False
    merged: list[str] = field(default_factory=list)   # merged ranges, e.g. "A1:C1"
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col0) -> formula


# -- CSV -------------------------------------------------------------------
def _parse(text: str, delimiter: str) -> list[Row]:
    rows = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    start = 1
    try:
        for values in reader:
            rows.append(Row(start, values))
            start = reader.line_num + 1
    except csv.Error as exc:
        err = ValueError(f"line {reader.line_num}: {exc}")
        err.line = start          # the first line of the record that failed
        raise err from None
    return [r for r in rows if any(v.strip() for v in r.values)]


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most consistent columns (>1)."""
    sample = "\n".join(text.splitlines()[:50])
    best, best_score = ",", (-1, 0)
    for d in DELIMITERS:
        try:
            rows = _parse(sample, d)
        except ValueError:
            continue
        widths = [len(r.values) for r in rows]
        if not widths:
            continue
        mode = max(set(widths), key=widths.count)
        score = (widths.count(mode) if mode > 1 else 0, mode)
        if score > best_score:
            best, best_score = d, score
    return best


def read_csv(path: str | Path, report: Report, *, delimiter: Optional[str] = None,
             min_columns: int = 2) -> Table:
    """Read a delimited text file into rows (blank lines skipped).

    A parse that yields fewer than ``min_columns`` columns is an error: a ``;``
    file read with ``,`` must not pass as a one-column table.
    """
    text = read_text(path, report)
    sniffed = sniff_delimiter(text)
    used = delimiter or sniffed
    try:
        rows = _parse(text, used)
    except ValueError as exc:
        hint = ("; a quote opened and never closed runs into the following lines"
                if "field larger than field limit" in str(exc) else "")
        report.error("csv_syntax", f"cannot parse as CSV with delimiter {used!r}: {exc}{hint}",
                     row=getattr(exc, "line", None))
        raise LoadError(f"{path}: cannot parse as CSV: {exc}", report) from None
    widths = [len(r.values) for r in rows]
    mode = max(set(widths), key=widths.count) if widths else 0
    if rows and mode < min_columns:
        hint = f"; the file looks {sniffed!r}-delimited" if sniffed != used else ""
        report.error("delimiter", f"parsing with delimiter {used!r} gives {mode} column(s), "
                     f"at least {min_columns} expected{hint}", value=used)
        raise LoadError(f"{path}: wrong delimiter {used!r}{hint}", report)
    return Table(None, rows)


# -- workbooks ---------------------------------------------------------------
def _xlsx(path: Path, report: Report) -> list[Table]:
    import openpyxl  # defusedxml, when installed, makes openpyxl refuse XML bombs
    try:
        wb = openpyxl.load_workbook(path, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        report.error("unreadable", f"not a readable xlsx workbook: {exc}")
        raise LoadError(f"{path}: not a readable xlsx workbook: {exc}", report) from None
    cached = None
    tables = []
    for ws in wb.worksheets:
        formulas: dict[tuple[int, int], str] = {}
        rows = []
        for r_idx, cells in enumerate(ws.iter_rows(values_only=True), start=1):
            values = list(cells)
            for c_idx, v in enumerate(values):
                if isinstance(v, str) and v.startswith("=") and len(v) > 1:
                    if cached is None:  # formulas are rare: only then read the cached values
                        cached = openpyxl.load_workbook(path, data_only=True)
                    formulas[(r_idx, c_idx)] = v
                    values[c_idx] = cached[ws.title].cell(r_idx, c_idx + 1).value
            if any(v is not None and str(v).strip() for v in values):
                rows.append(Row(r_idx, values))
        tables.append(Table(ws.title, rows, hidden=ws.sheet_state != "visible",
                            merged=sorted(str(m) for m in ws.merged_cells.ranges),
                            formulas=formulas))
    return tables


def _xls(path: Path, report: Report) -> list[Table]:
    import xlrd
    try:
        book = xlrd.open_workbook(str(path), formatting_info=True)
    except Exception as exc:  # xlrd raises bare XLRDError/CompDocError for bad files
        report.error("unreadable", f"not a readable xls workbook: {exc}")
        raise LoadError(f"{path}: not a readable xls workbook: {exc}", report) from None
    tables = []
    for sh in book.sheets():
        rows = []
        for r in range(sh.nrows):
            values = []
            for cell in sh.row(r):
                if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    values.append(None)
                elif cell.ctype == xlrd.XL_CELL_DATE:
                    values.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
                elif cell.ctype == xlrd.XL_CELL_ERROR:
                    values.append(f"#ERROR{cell.value}")
                else:
                    values.append(cell.value)
            if any(v is not None and str(v).strip() for v in values):
                rows.append(Row(r + 1, values))
        merged = sorted(f"{col_letter(c)}{a + 1}:{col_letter(d - 1)}{b}" for a, b, c, d in sh.merged_cells)
        tables.append(Table(sh.name, rows, hidden=sh.visibility != 0, merged=merged))
    return tables


def read_workbook(path: str | Path, report: Report) -> list[Table]:
    """All sheets of an xlsx/xls workbook; hidden sheets and formulas are reported."""
    path = Path(path)
    head = path.read_bytes()[:8]
    if head.startswith(b"PK"):
        tables = _xlsx(path, report)
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        tables = _xls(path, report)
    else:
        report.error("unreadable", "not an xlsx or xls workbook (no zip or OLE2 signature)")
        raise LoadError(f"{path}: not an xlsx or xls workbook", report)
    for t in tables:
        if t.hidden:
            sev = report.warning if t.rows else report.info
            sev("hidden_sheet", f"sheet {t.name!r} is hidden"
                + (f" and holds {len(t.rows)} non-empty rows" if t.rows else " (empty)"), sheet=t.name)
        for rng in t.merged:
            report.warning("merged_cell", f"merged cells {rng}: only the first cell of a merge holds"
                           " the value; the others read as empty", sheet=t.name, column=rng)
        for (r, c), f in sorted(t.formulas.items()):
            report.warning("formula_cell", f"cell holds a formula; its cached value "
                           f"{t.rows and _cell_value(t, r, c)!r} is used", sheet=t.name, row=r,
                           column=col_letter(c), value=f)
    return tables


def _cell_value(t: Table, r: int, c: int):
    for row in t.rows:
        if row.number == r:
            return row.get(c)
    return None


def col_letter(c: int) -> str:
    s = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        s = chr(65 + rem) + s
    return s


def header_index(table: Table, names: Sequence[str], report: Report, *,
                 max_scan: int = 10) -> tuple[int, dict[str, int]]:
    """Find the header row among the first rows: the one holding the most of ``names``
    (case- and space-insensitive). Returns (position in table.rows, name -> column)."""
    want = {n.casefold().replace(" ", ""): n for n in names}
    best = (-1, 0, {})
    for pos, row in enumerate(table.rows[:max_scan]):
        found = {}
        for c, v in enumerate(row.values):
            key = str(v).casefold().replace(" ", "").replace("\n", "") if v is not None else ""
            if key in want and want[key] not in found:
                found[want[key]] = c
        if len(found) > best[1]:
            best = (pos, len(found), found)
    return best[0], best[2]


def read_json(path: str | Path, report: Report) -> Any:
    text = read_text(path, report)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        report.error("json_syntax", f"invalid JSON: {exc.msg}", row=exc.lineno,
                     column=f"char {exc.colno}")
        raise LoadError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}", report) from None


def is_date(value: Any) -> bool:
    return isinstance(value, (_dt.date, _dt.datetime))
