"""Rows out of CSV, xlsx, xls and JSON files, each with the row number a user sees.

Workbook quirks are reported, not hidden: hidden sheets, formula cells (the
cached value is used, with a warning) and merged cells in the header rows.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from ..errors import LoadError, Report, listing
from . import limits as _limits
from .delimited import DELIMITERS, LineBreaks, parse_records, sniff_delimiter
from .encoding import read_text, read_text_lines
from .jsontext import parse_json
from .xlsx import SheetRows, iter_sheet, open_workbook


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
def _check_cells(report: Report, rows: list[Row], lim) -> None:
    for r in rows:
        for c, v in enumerate(r.values):
            if len(v) > lim.cell_chars:
                raise _limits.refuse(report, "cell_chars", f"line {r.number}, column {c + 1} holds"
                                     f" {len(v):,} characters", row=r.number, column=col_letter(c))


def read_csv(path: str | Path, report: Report, *, delimiter: Optional[str] = None,
             min_columns: int = 2, line_breaks: LineBreaks = "warn") -> Table:
    """Read a delimited text file into rows (blank lines skipped).

    A parse that yields fewer than ``min_columns`` columns is an error: a ``;``
    file read with ``,`` must not pass as a one-column table. ``line_breaks`` says whether
    the layout has line breaks in quoted fields ("allow", "warn": kept, one warning;
    "error": the line opening such a field is rejected and the next lines read on their
    own — see :mod:`.delimited`). Rejected lines are counted in ``report.rows_read`` and
    ``rows_rejected``; the loader counts the rows it gets.
    """
    text, garbled = read_text_lines(path, report, lines=True)
    sniffed = sniff_delimiter(text)
    used = delimiter or sniffed
    recs = parse_records(text, used, line_breaks=line_breaks)
    rows = [Row(n, v) for n, v in recs.rows if any(x.strip() for x in v)]
    widths = [len(r.values) for r in rows]
    mode = max(set(widths), key=widths.count) if widths else 0
    if rows and mode < min_columns:
        hint = f"; the file looks {sniffed!r}-delimited" if sniffed != used else ""
        report.error("delimiter", f"parsing with delimiter {used!r} gives {mode} column(s), "
                     f"at least {min_columns} expected{hint}", value=used)
        raise LoadError(f"{path}: wrong delimiter {used!r}{hint}", report)
    _check_cells(report, rows, _limits.current())
    for line, why in recs.rejected:
        report.error("csv_syntax", f"{why}; line rejected", row=line)
    if recs.spans and line_breaks == "warn":
        shown = listing([f"{a}–{b}" for a, b in recs.spans], 5)
        report.warning("line_break_in_field", f"{len(recs.spans)} record(s) run over several lines (a quoted field"
                       f" holds line breaks): lines {shown}; if a closing quote is missing, the lines after it"
                       " were read into that field", row=recs.spans[0][0])
    if garbled:
        kept = []
        for r in rows:
            last = next((b for a, b in recs.spans if a == r.number), r.number)
            bad = next((n for n in range(r.number, last + 1) if n in garbled), None)
            if bad is None:
                kept.append(r)
            else:
                report.error("garbled_text", f"line {bad} looks garbled ({garbled[bad]}); row rejected", row=r.number)
                report.rows_read += 1
                report.rows_rejected += 1
        rows = kept
    report.rows_read += len(recs.rejected)
    report.rows_rejected += len(recs.rejected)
    return Table(None, rows)


# -- workbooks ---------------------------------------------------------------
def _xlsx(path: Path, report: Report) -> list[Table]:
    wb = open_workbook(path, report)
    tables = []
    try:
        for ws in wb.worksheets:
            found = SheetRows()
            rows = [Row(n, values) for n, values in iter_sheet(wb, ws, report, found)]
            tables.append(Table(ws.title, rows, hidden=ws.sheet_state != "visible",
                                merged=found.merged, formulas=found.formulas))
    finally:
        wb.close()
    return tables


def _xls(path: Path, report: Report) -> list[Table]:
    """An old binary workbook, one sheet at a time (xlrd on demand), within the limits."""
    import xlrd
    lim = _limits.current()
    size = path.stat().st_size
    if size > lim.unpacked_bytes:
        raise _limits.refuse(report, "unpacked_mb", f"the xls workbook is {size / _limits.MiB:,.0f} MiB")
    try:
        book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
    except Exception as exc:  # xlrd raises bare XLRDError/CompDocError for bad files
        report.error("unreadable", f"not a readable xls workbook: {exc}")
        raise LoadError(f"{path}: not a readable xls workbook: {exc}", report) from None
    tables, total = [], 0
    try:
        for i in range(book.nsheets):
            try:
                sh = book.sheet_by_index(i)
            except Exception as exc:
                report.error("unreadable", f"sheet {i + 1} of the xls workbook cannot be read: {exc}")
                raise LoadError(f"{path}: sheet {i + 1} cannot be read: {exc}", report) from None
            total += sh.nrows
            if total > lim.rows:
                raise _limits.refuse(report, "rows", f"the workbook holds more than {lim.rows:,} rows", sheet=sh.name)
            if sh.nrows * sh.ncols > lim.cells:
                raise _limits.refuse(report, "cells", f"sheet {sh.name!r} holds {sh.nrows * sh.ncols:,} cells",
                                     sheet=sh.name)
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
                        if isinstance(cell.value, str) and len(cell.value) > lim.cell_chars:
                            raise _limits.refuse(report, "cell_chars", f"sheet {sh.name!r} cell"
                                                 f" {col_letter(len(values))}{r + 1} has {len(cell.value):,} characters",
                                                 sheet=sh.name, row=r + 1)
                        values.append(cell.value)
                if any(v is not None and str(v).strip() for v in values):
                    rows.append(Row(r + 1, values))
            merged = sorted(f"{col_letter(c)}{a + 1}:{col_letter(d - 1)}{b}" for a, b, c, d in sh.merged_cells)
            tables.append(Table(sh.name, rows, hidden=sh.visibility != 0, merged=merged))
            book.unload_sheet(i)
    finally:
        book.release_resources()
    return tables


def read_workbook(path: str | Path, report: Report) -> list[Table]:
    """All sheets of an xlsx/xls workbook; hidden sheets and formulas are reported."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        report.error("unreadable", f"cannot read file: {exc.strerror or exc}")
        raise LoadError(f"{path}: cannot read file: {exc.strerror or exc}", report) from None
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


def header_key(value: Any) -> str:
    """A heading as compared with the names a loader knows: case, spaces and line breaks
    ignored, and a word of Latin look-alikes mixed with Cyrillic letters («Koд», OCR'd)
    read in one script (the file-wide ``mixed_script`` warning says the text is so)."""
    if value is None:
        return ""
    text = str(value).casefold().replace(" ", "").replace("\n", "")
    if text.isascii():
        return text
    from ..normalize import one_script
    return one_script(text)


def header_index(table: Table, names: Sequence[str], report: Report, *,
                 max_scan: int = 10) -> tuple[int, dict[str, int]]:
    """Find the header row among the first rows: the one holding the most of ``names``
    (see :func:`header_key`). Returns (position in table.rows, name -> column)."""
    want = {header_key(n): n for n in names}
    best = (-1, 0, {})
    for pos, row in enumerate(table.rows[:max_scan]):
        found = {}
        for c, v in enumerate(row.values):
            key = header_key(v)
            if key in want and want[key] not in found:
                found[want[key]] = c
        if len(found) > best[1]:
            best = (pos, len(found), found)
    return best[0], best[2]


def read_json(path: str | Path, report: Report, *, object_pairs_hook=None) -> Any:
    """A JSON file within the limits (size, nesting depth, number of values, string length);
    a syntax error or a limit is reported and raised as :class:`LoadError`."""
    text = read_text(path, report)
    return parse_json(text, report, object_pairs_hook=object_pairs_hook)


def is_date(value: Any) -> bool:
    return isinstance(value, (_dt.date, _dt.datetime))
