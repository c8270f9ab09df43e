"""Writing the review workbook fast: openpyxl builds a small skeleton (styles, the header,
drop-downs, frozen panes, print layout, the help and metadata sheets) and the rows of the
review sheet are streamed into its XML here — 34,000 links in about a second instead of the
half a minute openpyxl takes to build and serialise a cell object per value.

Every value is written as a value (shared strings and numbers, never a formula); text goes
through :func:`crosswalk.safety.clean_xml` (characters XML cannot hold) and
:func:`crosswalk.candidates.sheet_safe` (a leading ``= + - @`` is quoted), and is cut to
Excel's 32,767 characters; each change is reported with its sheet, row and column.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from ..candidates import sheet_safe, sheet_unsafe
from ..errors import Report
from ..safety import clean_xml
from .labels import DATE_FORMATS, decision_labels
from .workbook_layout import COLUMNS, FROZEN_AFTER, HELP, POSITION, PRINTED_THROUGH, sheet_title

MAX_CELL = 32767                      # Excel's limit on the characters of a cell
_HEADER_FILL, _EDIT_FILL, _BORDER = "D9D9D9", "DDEBF7", "808080"
BANDS = ((0.8, "C6EFCE", "hi"), (0.5, "FFEB9C", "mid"), (0.0, "FFC7CE", "lo"))   # score ≥ bound → fill
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SST_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_EPOCH = datetime(1899, 12, 30)       # Excel's day 0 (the 1900 date system)
_RISKY_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")   # as safety.clean_xml


def _letter(col: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(col)


@dataclass
class Row:
    """One row of the review sheet: column id -> value (str, int, float, datetime or None)."""
    values: dict[str, Any]
    first: bool = False         # the item's first row (a line above it)
    alternative: bool = False   # folds under the item's first row (Excel's outline)


@dataclass
class Written:
    data: bytes
    problems: list = field(default_factory=list)
    changed: list[str] = field(default_factory=list)    # cells written other than given, as Sheet!A1


class _Strings:
    """The shared string table of the rows (deduplicated)."""

    def __init__(self, existing: list[str]):
        self.items = list(existing)
        self.index = {s: i for i, s in reversed(list(enumerate(existing)))}

    def __call__(self, text: str) -> int:
        i = self.index.get(text)
        if i is None:
            i = self.index[text] = len(self.items)
            self.items.append(text)
        return i

    def xml(self) -> bytes:
        out = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{_MAIN}"'
               f' uniqueCount="{len(self.items)}">']
        for s in self.items:
            out.append(f'<si><t xml:space="preserve">{_escape(s)}</t></si>')
        out.append("</sst>")
        return "".join(out).encode("utf-8")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _kinds() -> list[str]:
    """Every cell style the rows use: a column kind (score: per band), plain or under a line."""
    base = ["text", "int", "num", "date", "edit", "edit_num"] + [f"score_{b}" for _, _, b in BANDS]
    return [k + top for k in base for top in ("", "_top")] + ["row_top"]


def _style(cell, kind: str, lang: str, number_format: str = "") -> None:
    from openpyxl.styles import Border, PatternFill, Side
    top = kind.endswith("_top")
    kind = kind.removesuffix("_top")
    cell.number_format = number_format or {"text": "@", "edit": "@", "int": "0", "num": "0.00", "edit_num": "General",
                                           "date": DATE_FORMATS[lang][1]}.get(kind, "0.00")
    if kind.startswith("edit"):
        cell.fill = PatternFill("solid", fgColor=_EDIT_FILL)
    for bound, color, name in BANDS:
        if kind == f"score_{name}":
            cell.fill = PatternFill("solid", fgColor=color)
    if top:
        cell.border = Border(top=Side(style="thin", color=_BORDER))


def _skeleton(lang: str, n_rows: int, meta: dict[str, str], title: str) -> tuple[bytes, list[str]]:
    """The workbook without its rows, and the style kinds prototyped in row 2 of the sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.page import PageMargins

    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title("review", lang)
    bold = Font(bold=True)
    for col, c in enumerate(COLUMNS, 1):
        cell = ws.cell(row=1, column=col, value=c.label(lang))
        cell.data_type = "s"
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor=_EDIT_FILL if c.editable else _HEADER_FILL)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        dim = ws.column_dimensions[_letter(col)]
        dim.width = c.width
        dim.hidden = c.hidden
        if c.editable:     # the column's style: cells a reviewer types into stay text (0110 keeps its zero)
            _style(dim, c.kind, lang)
    kinds = _kinds()
    for col, kind in enumerate(kinds, 1):           # style prototypes, replaced by the rows
        cell = ws.cell(row=2, column=col, value=0)
        if kind == "row_top":                        # a first row's empty cells: the line only
            _style(cell, "text_top", lang, number_format="General")
        else:
            _style(cell, kind, lang)
    last = n_rows + 1
    ws.freeze_panes = f"{_letter(POSITION[FROZEN_AFTER] + 1)}2"
    ws.auto_filter.ref = f"A1:{_letter(len(COLUMNS))}{max(last, 1)}"
    ws.sheet_properties.outlinePr.summaryBelow = False    # an item's alternatives fold under its first row
    if n_rows:
        choices = decision_labels(lang)
        col = _letter(POSITION["decision"])
        err = ("Выберите одно из: " if lang == "ru" else "Choose one of: ") + ", ".join(choices)
        dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
                            showErrorMessage=True, errorTitle=COLUMNS[POSITION["decision"] - 1].label(lang),
                            error=err + (" — или оставьте пустым." if lang == "ru" else " — or leave it blank."))
        dv.add(f"{col}2:{col}{last}")
        wcol = _letter(POSITION["weight"])
        wv = DataValidation(type="decimal", operator="between", formula1="0", formula2="1", allow_blank=True,
                            showErrorMessage=True, errorTitle=COLUMNS[POSITION["weight"] - 1].label(lang),
                            error="Вес — число от 0 до 1." if lang == "ru" else "A weight is a number from 0 to 1.")
        wv.add(f"{wcol}2:{wcol}{last}")
        ws.add_data_validation(dv)
        ws.add_data_validation(wv)
    # print: landscape A4, the decided columns fitted to the page width, the header on every page
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.print_area = f"A1:{_letter(POSITION[PRINTED_THROUGH])}{max(last, 1)}"
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    ws.oddHeader.left.text = title.replace("&", "&&")
    ws.oddFooter.right.text = ("стр. &P из &N" if lang == "ru" else "page &P of &N")

    hs = wb.create_sheet(sheet_title("help", lang))
    hs.column_dimensions["A"].width = 120
    for row, line in enumerate(HELP[lang], 1):
        c = hs.cell(row=row, column=1, value=line)
        c.data_type = "s"
        c.alignment = Alignment(wrap_text=True, vertical="top")
    hs.page_setup.orientation = "landscape"

    ms = wb.create_sheet(sheet_title("meta", lang))
    for row, (k, v) in enumerate(meta.items(), 1):
        a, b = ms.cell(row=row, column=1, value=k), ms.cell(row=row, column=2, value=v)
        a.font = bold
        a.data_type = b.data_type = "s"
    ms.column_dimensions["A"].width = 20
    ms.column_dimensions["B"].width = 70
    ms.protection.sheet = True   # no password: a reminder, the importer checks the values anyway
    wb.properties.creator = "crosswalk"
    when = meta.get("exported_at", "")
    if when:
        wb.properties.created = wb.properties.modified = datetime.fromisoformat(when.replace("Z", ""))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), kinds


_ROW2 = re.compile(r'<row r="2"[^>]*>(.*?)</row>', re.S)
_CELL = re.compile(r'<c r="([A-Z]+)2"([^>]*?)/?>')
_S = re.compile(r'\bs="(\d+)"')


def _sheet_parts(zf: zipfile.ZipFile, name: str) -> str:
    """The zip part of the sheet named ``name`` (workbook.xml order = sheetN.xml order for openpyxl)."""
    wbxml = ET.fromstring(zf.read("xl/workbook.xml"))
    names = [s.get("name") for s in wbxml.iter(f"{{{_MAIN}}}sheet")]
    return f"xl/worksheets/sheet{names.index(name) + 1}.xml"


def write_rows(rows: list[Row], *, lang: str, meta: dict[str, str], title: str, file: str,
               warnings=None, placeholder: str = "") -> Written:
    """The bytes of a review workbook holding ``rows`` under the header. A metadata value equal
    to ``placeholder`` becomes ``warnings(changed cells)`` once the rows are written."""
    skeleton, kinds = _skeleton(lang, len(rows), meta, title)
    zin = zipfile.ZipFile(io.BytesIO(skeleton))
    part = _sheet_parts(zin, sheet_title("review", lang))
    sheet = zin.read(part).decode("utf-8")
    m = _ROW2.search(sheet)
    style = {}
    for letter, attrs in _CELL.findall(m.group(1)):
        s = _S.search(attrs)
        style[kinds[_col_number(letter) - 1]] = s.group(1) if s else "0"
    if "xl/sharedStrings.xml" in zin.namelist():      # openpyxl writes its strings inline
        raise RuntimeError("the workbook skeleton already has a shared string table")
    strings = _Strings([])
    report = Report(file)
    changed: list[str] = []
    review = sheet_title("review", lang)

    letters = [_letter(n) for n in range(1, len(COLUMNS) + 1)]
    # per column: id, the cell's opening up to its row number, label, style when plain / under a
    # line (score: per band), empty cells kept
    plan = []
    for n, c in enumerate(COLUMNS):
        if c.kind == "score":
            st = ({b: style[f"score_{b}"] for _, _, b in BANDS} | {None: style["text"]},
                  {b: style[f"score_{b}_top"] for _, _, b in BANDS} | {None: style["text_top"]})
        else:
            st = (style[c.kind], style[c.kind + "_top"])
        plan.append((c.id, f'<c r="{letters[n]}', letters[n], c.label(lang), c.kind == "score", st, c.editable))
    row_top = style["row_top"]

    def band(v) -> str:
        return next(b for bound, _, b in BANDS if v >= bound)
    # a text written before: its shared string (only texts that needed no change: a changed one
    # is reported at every cell it is in)
    known: dict[str, int] = {}
    out: list[str] = []
    for r, row in enumerate(rows, 2):
        first = row.first
        cells = []
        vals = row.values
        for cid, opening, letter, label, is_score, st, keep_empty in plan:
            v = vals.get(cid)
            s = st[first]
            if is_score:
                s = s[None if v is None else band(v)]
            if v is None or v == "":
                if keep_empty and first:     # else the column's style (editable) or the row's (a line)
                    cells.append(f'{opening}{r}" s="{s}"/>')
                continue
            if v.__class__ is str:
                i = known.get(v)
                if i is None:
                    if _RISKY_XML.search(v) or len(v) > MAX_CELL:
                        i = strings(sheet_safe(_clean(v, report, changed, review, letter, r, label)))
                    else:
                        i = known[v] = strings(sheet_safe(v))
                cells.append(f'{opening}{r}" s="{s}" t="s"><v>{i}</v></c>')
            elif v.__class__ is int or v.__class__ is float:
                cells.append(f'{opening}{r}" s="{s}"><v>{v!r}</v></c>')
            elif isinstance(v, datetime):
                serial = (v - _EPOCH).total_seconds() / 86400
                cells.append(f'{opening}{r}" s="{s}"><v>{serial!r}</v></c>')
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                cells.append(f'{opening}{r}" s="{s}"><v>{v!r}</v></c>')
            else:
                raise TypeError(f"{cid}: {type(v).__name__} is not a value a review workbook cell holds")
        if first:
            out.append(f'<row r="{r}" s="{row_top}" customFormat="1">')
        else:
            out.append(f'<row r="{r}" outlineLevel="1">' if row.alternative else f'<row r="{r}">')
        out.append("".join(cells))
        out.append("</row>")

    fill = _escape(warnings(changed)) if placeholder and warnings is not None else None
    header = re.search(r'<row r="1"[^>]*>.*?</row>', sheet, re.S).group(0)
    start, end = sheet.index("<sheetData>"), sheet.index("</sheetData>")
    body = sheet[:start] + "<sheetData>" + header + "".join(out) + sheet[end:]
    body = re.sub(r'<dimension ref="[^"]*"\s*/>',
                  f'<dimension ref="A1:{letters[-1]}{len(rows) + 1}"/>', body, count=1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == part:
                data = body.encode("utf-8")
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="'
                                    + _SST_TYPE + b'"/></Types>')
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Type="' + _SST_REL
                                    + b'" Target="sharedStrings.xml" Id="rIdStrings"/></Relationships>')
            elif fill is not None and info.filename.startswith("xl/worksheets/"):
                data = data.replace(_escape(placeholder).encode("utf-8"), fill.encode("utf-8"))
            # level 4: twice as fast as the default, the file 10 % bigger
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=4)
        zout.writestr(zipfile.ZipInfo("xl/sharedStrings.xml", date_time=zin.infolist()[0].date_time),
                      strings.xml(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=4)
    return Written(buf.getvalue(), list(report.problems), changed)


def _clean(v: str, report: Report, changed: list, sheet: str, letter: str, r: int, label: str) -> str:
    """Text XML can hold and Excel keeps whole; each change reported by cell."""
    text, bad = clean_xml(v)
    if bad:
        changed.append(f"{sheet}!{letter}{r}")
        report.warning("illegal_xml_character", f"{sheet}!{letter}{r}: characters XML cannot hold"
                       " (control characters) replaced by \ufffd", value=repr(v), sheet=sheet, row=r, column=label)
    if len(sheet_safe(text)) > MAX_CELL:
        changed.append(f"{sheet}!{letter}{r}")
        report.warning("cell_too_long", f"{sheet}!{letter}{r}: text cut to {MAX_CELL} characters (Excel's limit)",
                       value=text[:60] + "…", sheet=sheet, row=r, column=label)
        text = sheet_unsafe(sheet_safe(text)[:MAX_CELL])
    return text


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


__all__ = ["BANDS", "MAX_CELL", "Row", "Written", "write_rows"]
