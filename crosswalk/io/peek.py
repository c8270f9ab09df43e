"""Cheap looks at the start of a file, for format sniffing.

Several loaders sniff the same workbook; the first rows of each sheet are read once
(read-only mode) and cached by path, size and modification time.
"""
from __future__ import annotations

import csv
import functools
import io
from pathlib import Path
from typing import NamedTuple

from ..errors import Report
from .delimited import sniff_delimiter
from .xlsx import SheetRows, iter_sheet, open_workbook

PEEK_ROWS = 25
XLSX_SIGNATURE = b"PK\x03\x04"
XLS_SIGNATURE = b"\xd0\xcf\x11\xe0"


class SheetHead(NamedTuple):
    name: str
    visible: bool
    rows: tuple[tuple, ...]     # the first PEEK_ROWS rows, raw cell values


def signature(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(8)


def is_workbook(path: Path) -> bool:
    return signature(path)[:4] in (XLSX_SIGNATURE, XLS_SIGNATURE)


@functools.lru_cache(maxsize=16)
def _workbook_head(path: str, mtime_ns: int, size: int) -> tuple[SheetHead, ...]:
    sig = signature(Path(path))
    out = []
    if sig.startswith(b"PK"):
        # the bounded reader: a zip bomb is refused here too (the LoadError makes it "not ours";
        # loading it then reports the limit)
        report = Report(file=path)
        wb = open_workbook(path, report)
        try:
            for ws in wb.worksheets:
                rows = tuple(_dense(iter_sheet(wb, ws, report, SheetRows(), max_rows=PEEK_ROWS)))
                out.append(SheetHead(ws.title, ws.sheet_state == "visible", rows))
        finally:
            wb.close()
    elif sig.startswith(XLS_SIGNATURE):
        import xlrd
        book = xlrd.open_workbook(path, on_demand=True)
        try:
            for i in range(book.nsheets):
                sh = book.sheet_by_index(i)
                rows = tuple(tuple(sh.row_values(r)) for r in range(min(PEEK_ROWS, sh.nrows)))
                out.append(SheetHead(sh.name, sh.visibility == 0, rows))
                book.unload_sheet(i)
        finally:
            book.release_resources()
    return tuple(out)


def _dense(rows):
    """Rows numbered as in the sheet (empty rows in between as empty tuples), as openpyxl's
    iter_rows gave them: sniffers look at the first rows by position."""
    expected = 1
    for number, values in rows:
        if number > PEEK_ROWS:
            break
        while expected < number:
            yield ()
            expected += 1
        yield tuple(values)
        expected += 1


def workbook_head(path: Path) -> tuple[SheetHead, ...]:
    """The first rows of every sheet of an xlsx/xls file; () for anything else or for
    a file that cannot be read (sniffing must never raise)."""
    try:
        st = Path(path).stat()
        return _workbook_head(str(path), st.st_mtime_ns, st.st_size)
    except Exception:  # noqa: BLE001 - a broken file is simply not ours
        return ()


def csv_head_rows(head: str, n: int = 12) -> list[list[str]]:
    """The first rows of a delimited text, parsed with the delimiter ``read_csv`` would use."""
    lines = [ln for ln in head.splitlines() if ln.strip()][:n]
    sample = "\n".join(lines)
    return list(csv.reader(io.StringIO(sample), delimiter=sniff_delimiter(sample)))
