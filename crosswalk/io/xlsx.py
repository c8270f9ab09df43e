"""Reading xlsx workbooks within the limits, one sheet row at a time, over the bounded
container of :mod:`.container`.

openpyxl reads the workbook's small parts (the workbook, its relationships, the styles that
say which cells are dates); the big ones — shared strings and sheets — are parsed here with
the C ElementTree parser:

* no DTD ever reaches the parser: every chunk of a part is checked for ``<!DOCTYPE`` and
  ``<!ENTITY`` on its way in, so entity bombs and external entities are refused (an error
  naming the file and the sheet), and undeclared entities are a parse error;
* a row, a cell, a sheet are bounded while parsing (16,384 cells per row, 1,048,576 rows,
  the cell and row limits): a row of 25 million empty cells is refused after 16,385, not
  built in memory; processed rows and other parts of the sheet are dropped as they end;
* merged ranges, formulas with their cached values and hidden sheets come from the same
  pass (full-mode openpyxl kept an object per cell: ~400 MB for 200,000 rows of four
  columns; openpyxl's read-only mode first parsed a whole sheet looking for a
  ``<dimension>`` that openpyxl-written files lack, then parsed it again in Python).
"""
from __future__ import annotations

import datetime as _dt
import functools
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from ..errors import LoadError, Report
from . import limits as _limits
from .container import open_zip

MAX_COLUMNS = 16_384        # Excel's last column, XFD
MAX_ROW = 1_048_576         # Excel's last row
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
ROW, CELL, VALUE, FORMULA, INLINE = _NS + "row", _NS + "c", _NS + "v", _NS + "f", _NS + "is"
TEXT, RUN, SI = _NS + "t", _NS + "r", _NS + "si"
SHEET_DATA, MERGES, MERGE = _NS + "sheetData", _NS + "mergeCells", _NS + "mergeCell"
_DTD = (b"<!DOCTYPE", b"<!ENTITY")
_LETTERS = re.compile(r"[A-Z]{1,3}")


@dataclass
class SheetRows:
    """What one pass over a sheet found besides its rows."""

    merged: list[str] = field(default_factory=list)                      # "A1:C1"
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)   # (row, col0) -> formula
    rows: int = 0                                                        # non-empty rows yielded


class DTDRefused(ValueError):
    """An XML part declares a document type (where entities would be declared)."""


class NoDTD(io.RawIOBase):
    """A part's bytes on their way to the parser, refused at the first DTD declaration."""

    def __init__(self, inner):
        super().__init__()
        self._inner, self._tail = inner, b""

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self._inner.read(n)
        window = self._tail + data
        if any(mark in window for mark in _DTD):
            raise DTDRefused("its XML declares a document type or entities (refused: XML bombs,"
                             " external entities)")
        self._tail = window[-8:]
        return data

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


def _damaged(report: Report, what: str, exc: BaseException, sheet: Optional[str] = None) -> LoadError:
    root = exc if isinstance(exc, (ET.ParseError, DTDRefused)) else (exc.__cause__ or exc.__context__ or exc)
    kind = type(root).__name__
    if isinstance(root, DTDRefused) or kind in ("EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden"):
        why = f"its XML declares entities or a DTD ({kind}); refused (XML bombs, external entities)"
    else:
        why = f"{kind}: {str(root)[:200]}"
    msg = f"cannot read {what}: {why}"
    report.error("unreadable", msg, sheet=sheet)
    return LoadError(f"{report.file}: {msg}", report)


def element_text(node, shared: bool = False) -> str:
    """The text of an ``<si>``/``<is>`` element: its ``<t>`` and the ``<t>`` of its rich-text
    runs (phonetic guides left out), as openpyxl's Text.content gives it."""
    parts = []
    for child in node:
        if child.tag == TEXT:
            parts.append(child.text or "")
        elif child.tag == RUN:
            t = child.find(TEXT)
            if t is not None and t.text:
                parts.append(t.text)
    text = "".join(parts)
    return text.replace("x005F_", "") if shared else text


def _shared_strings(src, report: Report) -> list[str]:
    lim = _limits.current()
    out: list[str] = []
    root = None
    for event, el in ET.iterparse(NoDTD(src), events=("start", "end")):
        if event == "start":
            if root is None:
                root = el
            continue
        if el.tag == SI:
            text = element_text(el, shared=True)
            if len(text) > lim.cell_chars:
                raise _limits.refuse(report, "cell_chars", f"shared string #{len(out)} has {len(text):,} characters")
            out.append(text)
            root.remove(el)
    return out


def open_workbook(path: str | Path, report: Report):
    """A read-only openpyxl workbook over the bounded container (sheets parsed here, see the
    module); the caller closes it (``wb.close()``). Raises :class:`LoadError` for anything
    unreadable."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS

    zf = open_zip(path, report)

    class _Reader(ExcelReader):
        def __init__(self):       # ExcelReader's own __init__ would open the file unbounded
            self.archive = zf
            self.valid_files = zf.namelist()
            self.read_only = True
            self.keep_vba = False
            self.data_only = False
            self.keep_links = False
            self.rich_text = False
            self.shared_strings = []

        def read_strings(self):
            ct = self.package.find(SHARED_STRINGS)
            if ct is not None:
                with self.archive.open(ct.PartName[1:]) as src:
                    self.shared_strings = _shared_strings(src, report)

        def read_worksheets(self):
            for sheet, rel in self.parser.find_sheets():
                if rel.target not in self.valid_files or "chartsheet" in rel.Type:
                    continue
                ws = _sheet_class()(self.wb, sheet.name, rel.target, self.shared_strings)
                ws.sheet_state = sheet.state
                ws._report = report
                self.wb._sheets.append(ws)

    reader = _Reader()
    try:
        reader.read()
    except LoadError:
        zf.close()
        raise
    except Exception as exc:   # openpyxl raises many kinds on a damaged file; name the root one
        zf.close()
        raise _damaged(report, "the workbook", exc) from None
    return reader.wb


class _Styles:
    """What decides a number cell's Python value: date styles and the workbook's epoch."""

    def __init__(self, wb):
        self.dates = wb._date_formats
        self.timedeltas = wb._timedelta_formats
        self.epoch = wb.epoch


def _number(text: str):
    return float(text) if ("." in text or "e" in text or "E" in text) else int(text)


def _value(text: Optional[str], data_type: str, style: int, shared: list, styles: _Styles):
    """A cell's value (for a formula: the value cached when the file was saved)."""
    from openpyxl.utils.datetime import from_ISO8601, from_excel
    if data_type == "inlineStr":
        return text
    if text is None or text == "":
        return None
    if data_type == "s":
        return shared[int(text)]
    if data_type == "b":
        return text.strip() not in ("0", "")
    if data_type in ("str", "e"):
        return text
    if data_type == "d":
        return from_ISO8601(text)
    number = _number(text)
    if style in styles.dates:
        try:
            return from_excel(number, styles.epoch, timedelta=style in styles.timedeltas)
        except (OverflowError, ValueError):
            return number
    return number


def _column(ref: Optional[str], previous: int) -> int:
    if ref:
        m = _LETTERS.match(ref)
        if m:
            n = 0
            for ch in m.group():
                n = n * 26 + ord(ch) - 64
            return n
    return previous + 1


def parse_rows(source, shared: list, styles: _Styles, report: Report, sheet: str, found: SheetRows
               ) -> Iterator[tuple[int, list[tuple[int, Any, str, Optional[str]]]]]:
    """(row number, [(column, value, data type, formula or None)]) of every row element of a
    sheet part, streamed and bounded; merged ranges land in ``found.merged``."""
    lim = _limits.current()
    stack: list = []
    number = 0
    cells_in_row = merges = 0
    for event, el in ET.iterparse(NoDTD(source), events=("start", "end")):
        if event == "start":
            stack.append(el)
            if el.tag == ROW:
                cells_in_row = 0
            continue
        stack.pop()
        tag = el.tag
        if tag == CELL:
            cells_in_row += 1
            if cells_in_row > MAX_COLUMNS:
                raise _wide(report, sheet, number + 1)
        elif tag == ROW:
            r = el.get("r")
            number = int(float(r)) if r else number + 1
            if not 1 <= number <= MAX_ROW:
                msg = f"row number {number:,} is past Excel's last row ({MAX_ROW:,})"
                report.error("unreadable", msg, sheet=sheet)
                raise LoadError(f"{report.file}: sheet {sheet!r}: {msg}", report)
            cells, col = [], 0
            for c in el:
                if c.tag != CELL:
                    continue
                col = _column(c.get("r"), col)
                if col > MAX_COLUMNS:
                    raise _wide(report, sheet, number, col)
                data_type = c.get("t", "n")
                style = int(c.get("s") or 0)
                f = c.find(FORMULA)
                if data_type == "inlineStr":
                    node = c.find(INLINE)
                    text = element_text(node) if node is not None else None
                else:
                    text = c.findtext(VALUE)
                value = _value(text, data_type, style, shared, styles)
                if isinstance(value, str) and len(value) > lim.cell_chars:
                    from openpyxl.utils import get_column_letter
                    letter = get_column_letter(col)
                    raise _limits.refuse(report, "cell_chars", f"sheet {sheet!r} cell {letter}{number} has"
                                         f" {len(value):,} characters", sheet=sheet, row=number, column=letter)
                formula = None
                if f is not None:
                    formula = "=" + (f.text or "") if f.text else f"=(shared formula {f.get('si', '?')})"
                cells.append((col, value, "s" if data_type in ("inlineStr", "str") else data_type, formula))
            yield number, cells
            if stack:
                stack[-1].remove(el)              # the row is done: its elements go
        elif tag == MERGE:
            merges += 1
            if merges > lim.cells:
                raise _limits.refuse(report, "cells", f"sheet {sheet!r} declares more than {lim.cells:,} merged ranges",
                                     sheet=sheet)
            found.merged.append(el.get("ref", "?"))
            stack[-1].remove(el)
        elif len(stack) in (1, 2) and stack[-1].tag not in (SHEET_DATA, MERGES, ROW):
            stack[-1].remove(el)                  # anything else of the sheet: not kept


def _wide(report: Report, sheet: str, number: int, col: Optional[int] = None) -> LoadError:
    at = f"column {col:,}" if col else f"more than {MAX_COLUMNS:,} cells"
    msg = f"row {number} has a cell in {at}, past Excel's last column ({MAX_COLUMNS:,})"
    report.error("unreadable", msg, sheet=sheet, row=number)
    return LoadError(f"{report.file}: sheet {sheet!r}: {msg}", report)


def _guard(rows: Iterator, report: Report, sheet: str) -> Iterator:
    """Errors of a parse turned into a :class:`LoadError` naming the sheet."""
    try:
        yield from rows
    except LoadError:
        raise
    except Exception as exc:    # malformed XML, a DTD, a shared string index out of range, …
        raise _damaged(report, f"sheet {sheet!r}", exc, sheet=sheet) from None


def iter_sheet(wb, ws, report: Report, found: SheetRows, *, max_rows: Optional[int] = None
               ) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cell values) of every non-empty row of ``ws`` in file order: formulas
    give their cached value (recorded in ``found.formulas``), merged ranges are collected in
    ``found.merged`` once the sheet is read through. ``max_rows`` stops early (a peek)."""
    lim = _limits.current()
    n_cells = 0
    src = ws._get_source()
    try:
        for number, cells in _guard(parse_rows(src, ws._shared_strings, _Styles(wb), report, ws.title, found),
                                    report, ws.title):
            if not cells:
                continue
            width = max(c[0] for c in cells)
            values: list[Any] = [None] * width
            for col, value, _, formula in cells:
                if formula is not None:
                    found.formulas[(number, col - 1)] = formula
                values[col - 1] = value
            if not any(v is not None and str(v).strip() for v in values):
                continue
            found.rows += 1
            n_cells += width
            if found.rows > lim.rows:
                raise _limits.refuse(report, "rows", f"sheet {ws.title!r} holds more than {lim.rows:,} rows",
                                     sheet=ws.title)
            if n_cells > lim.cells:
                raise _limits.refuse(report, "cells", f"sheet {ws.title!r} holds more than {lim.cells:,} cells"
                                     " (rows × columns up to the last cell of each row)", sheet=ws.title)
            yield number, values
            if max_rows is not None and found.rows >= max_rows:
                return
    finally:
        src.close()


@functools.lru_cache(maxsize=1)
def _sheet_class():
    """openpyxl's read-only worksheet, read by :func:`parse_rows` (for callers that use its
    API: ``wb[name].iter_rows()``, e.g. review import)."""
    from openpyxl.cell.read_only import EMPTY_CELL, ReadOnlyCell
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class _Sheet(ReadOnlyWorksheet):
        _report: Report

        def _get_size(self):
            pass            # openpyxl would parse the whole sheet looking for <dimension>

        def _cells_by_row(self, min_col, min_row, max_col, max_row, values_only=False):
            filler = None if values_only else EMPTY_CELL
            counter = min_row
            src = self._get_source()
            try:
                rows = parse_rows(src, self._shared_strings, _Styles(self.parent), self._report, self.title,
                                  SheetRows())
                for number, cells in _guard(rows, self._report, self.title):
                    if max_row is not None and number > max_row:
                        break
                    if number < min_row:
                        continue
                    while counter < number:          # rows the file skips read as empty rows
                        counter += 1
                        yield ()
                    last = max_col or (cells[-1][0] if cells else 0)
                    out = [filler] * max(0, last + 1 - min_col)
                    for col, value, data_type, formula in cells:
                        if min_col <= col <= last:
                            if formula is not None:  # as openpyxl gives it with data_only=False
                                value, data_type = formula, "f"
                            out[col - min_col] = value if values_only else ReadOnlyCell(
                                self, number, col, value, data_type)
                    counter += 1
                    yield tuple(out)
            finally:
                src.close()

    return _Sheet


def guarded(rows: Iterator, report: Report, sheet: str) -> Iterator:
    """Rows of a sheet iterated by a caller (``ws.iter_rows()``), with any parse error turned
    into a :class:`LoadError` naming the sheet."""
    return _guard(rows, report, sheet)


def is_date(value: Any) -> bool:
    return isinstance(value, (_dt.date, _dt.datetime, _dt.time))


__all__ = ["DTDRefused", "NoDTD", "element_text", "SheetRows", "guarded", "iter_sheet", "open_workbook", "parse_rows"]
