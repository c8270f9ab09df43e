"""Reading xlsx workbooks within the limits: openpyxl in read-only (streaming) mode over the
bounded container of :mod:`.container`, one sheet row at a time.

Full-mode openpyxl keeps an object per cell (about 400 MB for 200,000 rows of four
columns); streaming keeps one row. What full mode gave for free is read here from the
same pass over the sheet XML: merged ranges, formulas with their cached values, hidden
sheets. Every string cell is checked against the cell limit, rows against the row limit,
and malformed XML (or XML with entities or a DTD, refused by defusedxml) is an error
naming the file and the sheet instead of a ``ParseError`` traceback.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional
from xml.etree.ElementTree import ParseError

from ..errors import LoadError, Report
from . import limits as _limits
from .container import open_zip

MAX_COLUMNS = 16_384        # Excel's last column, XFD


@dataclass
class SheetRows:
    """What one pass over a sheet found besides its rows."""

    merged: list[str] = field(default_factory=list)                      # "A1:C1"
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)   # (row, col0) -> formula
    rows: int = 0                                                        # non-empty rows yielded


def _damaged(report: Report, what: str, exc: BaseException, sheet: Optional[str] = None) -> LoadError:
    root = exc if isinstance(exc, ParseError) else (exc.__cause__ or exc.__context__ or exc)
    kind = type(root).__name__
    if kind in ("EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden", "NotSupportedError"):
        why = f"its XML declares entities or a DTD ({kind}); refused (XML bombs, external entities)"
    else:
        why = f"{kind}: {str(root)[:200]}"
    msg = f"cannot read {what}: {why}"
    report.error("unreadable", msg, sheet=sheet)
    return LoadError(f"{report.file}: {msg}", report)


def open_workbook(path: str | Path, report: Report):
    """A read-only openpyxl workbook over the bounded container; the caller closes it
    (``wb.close()``). Raises :class:`LoadError` for anything unreadable."""
    from openpyxl.reader.excel import ExcelReader

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

    reader = _Reader()
    try:
        reader.read()
    except LoadError:
        zf.close()
        raise
    except Exception as exc:   # openpyxl raises many kinds on a damaged file; name the root one
        zf.close()
        raise _damaged(report, "the workbook", exc) from None
    wb = reader.wb
    lim = _limits.current()
    for i, s in enumerate(reader.shared_strings):
        if isinstance(s, str) and len(s) > lim.cell_chars:
            wb.close()
            raise _limits.refuse(report, "cell_chars", f"shared string #{i} has {len(s):,} characters")
    return wb


def _parser_class():
    from openpyxl.utils.datetime import from_excel
    from openpyxl.worksheet._reader import VALUE_TAG, WorkSheetParser, _cast_number

    class _Parser(WorkSheetParser):
        """openpyxl's sheet parser that also keeps a formula's cached value and no row
        dimensions (a styled million-row sheet would keep a dict per row)."""

        def parse_row(self, row):
            r = row.get("r")
            if r is not None:
                try:
                    self.row_counter = int(r)
                except ValueError:
                    self.row_counter = int(float(r))
            else:
                self.row_counter += 1
            self.col_counter = 0
            return self.row_counter, [self.parse_cell(el) for el in row]

        def parse_cell(self, element):
            cell = super().parse_cell(element)
            if cell["data_type"] == "f":
                cell["cached"] = self._cached(element.findtext(VALUE_TAG), element.get("t", "n"),
                                              cell["style_id"])
            return cell

        def _cached(self, value, data_type, style_id):
            if not value:                        # openpyxl writes <v></v>: no value cached
                return None
            if data_type == "b":
                return value.strip() not in ("0", "")
            if data_type == "s":
                return self.shared_strings[int(value)]
            if data_type != "n":
                return value                     # str, e (an error such as #N/A)
            try:
                number = _cast_number(value)
            except ValueError:
                return value
            if style_id in self.date_formats:
                try:
                    return from_excel(number, self.epoch, timedelta=style_id in self.timedelta_formats)
                except (OverflowError, ValueError):
                    return number
            return number

    return _Parser


def iter_sheet(wb, ws, report: Report, found: SheetRows, *, max_rows: Optional[int] = None
               ) -> Iterator[tuple[int, list[Any]]]:
    """(row number, cell values) of every non-empty row of ``ws`` in file order: formulas
    give their cached value (recorded in ``found.formulas``), merged ranges are collected in
    ``found.merged`` once the sheet is read through. ``max_rows`` stops early (a peek)."""
    lim = _limits.current()
    parser = _parser_class()(ws._get_source(), ws._shared_strings, data_only=False, epoch=wb.epoch,
                             date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
    n_cells = 0
    try:
        for number, cells in parser.parse():
            if not cells:
                continue
            width = max(c["column"] for c in cells)
            if width > MAX_COLUMNS:
                msg = f"row {number} has a cell in column {width:,}, past Excel's last column ({MAX_COLUMNS:,})"
                report.error("unreadable", msg, sheet=ws.title, row=number)
                raise LoadError(f"{report.file}: sheet {ws.title!r}: {msg}", report)
            values: list[Any] = [None] * width
            for c in cells:
                v = c["value"]
                if c["data_type"] == "f":
                    found.formulas[(number, c["column"] - 1)] = v if isinstance(v, str) else str(getattr(v, "text", v))
                    v = c.get("cached")
                if isinstance(v, str) and len(v) > lim.cell_chars:
                    from openpyxl.utils import get_column_letter
                    raise _limits.refuse(report, "cell_chars", f"sheet {ws.title!r} cell"
                                         f" {get_column_letter(c['column'])}{number} has {len(v):,} characters",
                                         sheet=ws.title, row=number, column=get_column_letter(c["column"]))
                values[c["column"] - 1] = v
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
        if parser.merged_cells is not None:
            found.merged = sorted(str(m.ref) for m in parser.merged_cells.mergeCell)
    except LoadError:
        raise
    except Exception as exc:    # malformed XML, a shared string index out of range, …
        raise _damaged(report, f"sheet {ws.title!r}", exc, sheet=ws.title) from None
    finally:
        parser.source.close()


def guarded(rows: Iterator, report: Report, sheet: str) -> Iterator:
    """Rows of an openpyxl read-only sheet iterated by a caller (``ws.iter_rows()``), with
    malformed XML or a damaged part turned into a :class:`LoadError` naming the sheet."""
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except LoadError:
            raise
        except Exception as exc:
            raise _damaged(report, f"sheet {sheet!r}", exc, sheet=sheet) from None
        yield row


def is_date(value: Any) -> bool:
    return isinstance(value, (_dt.date, _dt.datetime, _dt.time))


__all__ = ["SheetRows", "guarded", "iter_sheet", "open_workbook"]
