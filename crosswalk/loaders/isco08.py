"""ISCO-08 from the ILO workbook «ISCO-08 EN Structure and definitions.xlsx».

One sheet holds the table (columns ``Level``, ``ISCO 08 Code``, ``Title EN``,
``Definition``, ``Tasks include``, ``Included occupations``, ``Excluded
occupations``, ``Notes``); it is found by its header, never by position or name.
Codes are text in the ILO file (``0110``); a re-saved workbook may hold numbers
(``110``), which the ``Level`` column lets us pad back unambiguously.

The small workbook helpers at the top are shared with :mod:`.isco88`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Optional

from ..checks import check_text, check_title
from ..codes import cell_code
from ..errors import LoadError, Report
from ..io import Table, read_workbook
from ..io.peek import workbook_head
from ..io.tables import col_letter
from .base import ItemCollector, LoadResult

FORMAT = "isco08:ilo-xlsx"
FORMATS = {FORMAT: "ILO ISCO-08 structure and definitions workbook"
                   " («ISCO-08 EN Structure and definitions.xlsx»)"}

LEVEL, CODE, TITLE = "Level", "ISCO 08 Code", "Title EN"
TEXT_COLUMNS = {"Definition": None, "Tasks include": "tasks", "Included occupations": "included",
                "Excluded occupations": "excluded", "Notes": "notes"}   # header -> attrs key
COLUMNS = (LEVEL, CODE, TITLE, *TEXT_COLUMNS)
_HEADER_SCAN = 10   # the header is looked for among a sheet's first rows


# -- workbook helpers (shared with isco88) -----------------------------------
_NORM = re.compile(r"[\s\-_]+")


def norm(value: Any) -> str:
    """A header cell compared case-, space- and hyphen-insensitively:
    'ISCO 08 Code', 'isco-08 code' and 'ISCO08Code' are the same column."""
    return _NORM.sub("", str(value).casefold()) if value is not None else ""


def find_header(tables: Iterable[Table], required: Iterable[str]
                ) -> Optional[tuple[Table, int, dict[str, int]]]:
    """The first sheet with a header row holding every ``required`` column:
    (table, position of the header in table.rows, normalized name -> column index)."""
    need = {norm(n) for n in required}
    for t in tables:
        for pos, row in enumerate(t.rows[:_HEADER_SCAN]):
            cols: dict[str, int] = {}
            for i, v in enumerate(row.values):
                cols.setdefault(norm(v), i)
            if need <= cols.keys():
                cols.pop("", None)
                return t, pos, cols
    return None


def header_rows(path: Path) -> tuple[frozenset, ...]:
    """Sniffing aid: normalized first rows of every sheet of an xlsx/xls file; () for
    anything else or for a file that cannot be read."""
    return tuple(frozenset(norm(v) for v in row)
                 for sh in workbook_head(path) for row in sh.rows[:_HEADER_SCAN])


def text(value: Any) -> str:
    """A cell as text ('' for empty); numbers in text columns are kept as written."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def report_extra_columns(report: Report, table: Table, header_pos: int, known: Iterable[str]) -> None:
    """Columns the layout does not have: named ones are ignored (info); an unnamed
    column is ignored too, but said when it holds values, so nothing vanishes unseen."""
    header = table.rows[header_pos]
    known_n = {norm(k) for k in known}
    data = table.rows[header_pos + 1:]
    for i, v in enumerate(header.values):
        if norm(v) in known_n:
            continue
        filled = [r.number for r in data if text(r.get(i)).strip()]
        col = col_letter(i)
        if norm(v):
            report.info("header", f"column {v!r} is not part of the layout; ignored"
                        + (f" ({len(filled)} values)" if filled else ""),
                        sheet=table.name, row=header.number, column=col, value=v)
        elif filled:
            report.info("header", f"unnamed column {col} holds {len(filled)} values (first in row"
                        f" {filled[0]}); not part of the layout, ignored", sheet=table.name,
                        row=filled[0], column=col)
    width = len(header.values)
    for i in sorted({i for r in data for i, v in enumerate(r.values) if i >= width and text(v).strip()}):
        filled = [r.number for r in data if text(r.get(i)).strip()]
        report.info("header", f"column {col_letter(i)} has no header but holds {len(filled)} values"
                    f" (first in row {filled[0]}); ignored", sheet=table.name, row=filled[0],
                    column=col_letter(i))


def other_sheet(report: Report, t: Table, used: Table, required: Iterable[str], detail: str = "") -> None:
    """Say that a non-empty sheet is not loaded; a second sheet with the table's header
    is a warning (two tables in one workbook: which one is meant?)."""
    if find_header([t], required) is not None:
        report.warning("other_sheet", f"sheet {t.name!r} has the table's header too ({len(t.rows)} rows)"
                       f" but only the first such sheet, {used.name!r}, is loaded" + detail, sheet=t.name)
    else:
        report.info("other_sheet", f"sheet {t.name!r} holds {len(t.rows)} rows but not the table's"
                    f" header; not loaded" + detail, sheet=t.name)


# -- ISCO-08 -----------------------------------------------------------------
def sniff(path: Path, head: str) -> Optional[str]:
    want = {norm(CODE), norm(TITLE)}
    for names in header_rows(Path(path)):
        # the correspondence table has 'ISCO 08 Code' too, but never a bare 'Title EN'
        if want <= names and norm("ISCO-88 code") not in names:
            return FORMAT
    return None


def load(path, format: Optional[str] = None, *, strict: bool = False) -> LoadResult:
    path = Path(path)
    report = Report(file=str(path), scheme="isco08")
    tables = read_workbook(path, report)
    found = find_header(tables, (CODE, TITLE))
    if found is None:
        report.error("header", f"no sheet has a header row with {CODE!r} and {TITLE!r} (looked at"
                     f" the first {_HEADER_SCAN} rows of {len(tables)} sheets); not an ILO ISCO-08 workbook")
        raise LoadError(f"{path}: no ISCO-08 header row ({CODE!r}, {TITLE!r})", report)
    table, hpos, cols = found
    for t in tables:
        if t is not table and t.rows:
            other_sheet(report, t, table, (CODE, TITLE))
    hrow = table.rows[hpos].number
    for name in (LEVEL, *TEXT_COLUMNS):
        if norm(name) not in cols:
            report.warning("header", f"column {name!r} is missing"
                           + ("; levels are taken from the code length" if name == LEVEL else
                              "; that text is left empty"), sheet=table.name, row=hrow, column=name)
    report_extra_columns(report, table, hpos, COLUMNS)

    rd = _RowReader(report, table.name, cols)
    collector = ItemCollector(report, "isco08", code_column=CODE, title_column=TITLE)
    for row in table.rows[hpos + 1:]:
        collector.read()
        item = rd.item(row)
        if item is None:
            collector.reject()
        else:
            collector.add(**item, row=row.number, sheet=table.name)
    rd.summarize()
    cls = collector.build(edition="ISCO-08", source=path.name)
    return LoadResult(str(path), cls, report)


class _RowReader:
    """Turns one data row into the keyword arguments of ItemCollector.add, reporting
    every problem of the row (not just the first); None means the row is rejected."""

    def __init__(self, report: Report, sheet: Optional[str], cols: dict[str, int]):
        self.report, self.sheet = report, sheet
        self.col = {name: cols.get(norm(name)) for name in COLUMNS}
        self.numeric: list[int] = []    # rows whose code was a number read exactly

    def cell(self, row, name: str) -> Any:
        i = self.col[name]
        return None if i is None else row.get(i)

    def item(self, row) -> Optional[dict]:
        where = dict(sheet=self.sheet, row=row.number)
        level, ok = self.level(row, where)
        code, numeric = self.code(row, level, where)
        title = text(self.cell(row, TITLE))
        if not title.strip():
            self.report.error("empty_title", f"code {code or '?'} has an empty title; row rejected",
                              column=TITLE, value=title, **where)
            ok = False
        if code is None or not ok:
            return None
        if level is not None and len(code) != level:
            self.report.error("level_mismatch", f"code {code} has {len(code)} digits but {LEVEL} says"
                              f" {level}; one of them is wrong, row rejected", column=LEVEL,
                              value=self.cell(row, LEVEL), **where)
            return None
        if numeric:
            self.numeric.append(row.number)
        check_title(self.report, title, language="en", column=TITLE, code=code, **where)
        texts = {}
        for name, key in TEXT_COLUMNS.items():
            texts[name] = text(self.cell(row, name))
            check_text(self.report, texts[name], language="en", column=name, code=code, **where)
        return dict(code=code, title=title, level=len(code), parent=code[:-1] or None,
                    notes=texts["Definition"],
                    attrs={key: texts[name] for name, key in TEXT_COLUMNS.items() if key})

    def level(self, row, where) -> tuple[Optional[int], bool]:
        """(level or None, row still acceptable)."""
        if self.col[LEVEL] is None:
            return None, True
        raw = self.cell(row, LEVEL)
        s = text(raw).strip()
        if not s:
            self.report.warning("level_format", f"{LEVEL} is empty; the level is taken from the code",
                                column=LEVEL, **where)
            return None, True
        if s in ("1", "2", "3", "4"):
            return int(s), True
        self.report.error("level_format", f"{LEVEL} {s!r} is not 1, 2, 3 or 4; row rejected",
                          column=LEVEL, value=raw, **where)
        return None, False

    def code(self, row, level: Optional[int], where) -> tuple[Optional[str], bool]:
        """(code or None, the cell was a number read exactly)."""
        raw = self.cell(row, CODE)
        width = None
        if (level is not None and isinstance(raw, (int, float)) and not isinstance(raw, bool)
                and float(raw).is_integer() and 0 <= raw < 10 ** level):
            width = level    # Level fixes the width: zero-padding is the only possible reading
        code, problem, msg = cell_code("isco08", raw, width=width)
        if problem == "repaired":
            self.report.warning("excel_damaged_code", msg + f" (from {LEVEL} {level})", column=CODE,
                                value=raw, **where)
        elif problem == "damaged":
            self.report.error("excel_damaged_code", msg + "; row rejected", column=CODE, value=raw, **where)
        elif problem == "format":
            self.report.error("code_format", msg + "; row rejected", column=CODE, value=raw, **where)
        elif isinstance(raw, str) and raw != code:
            self.report.warning("code_format", f"code {raw!r} has surrounding spaces; read as {code!r}",
                                column=CODE, value=raw, **where)
        return code, problem is None and not isinstance(raw, str)

    def summarize(self) -> None:
        if self.numeric:
            rows = ", ".join(map(str, self.numeric[:5])) + (", …" if len(self.numeric) > 5 else "")
            self.report.info("numeric_code", f"{len(self.numeric)} code cells are numbers, not text"
                             f" (rows {rows}); their digits match {LEVEL}, so they are read exactly",
                             sheet=self.sheet, column=CODE)
