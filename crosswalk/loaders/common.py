"""Helpers the loaders share: JSON that keeps repeated keys, header detection by column
names (also split over two rows), cell text, title presence."""
from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple, Optional

from ..checks import check_title
from ..errors import Report
from ..io.tables import Table, header_index, header_key, read_json


class Pairs(list):
    """A JSON object as a list of (key, value) pairs: repeated keys stay visible."""


def load_json_pairs(path: Path, report: Report) -> Any:
    """Parse JSON keeping objects as :class:`Pairs` (``json.loads`` would silently keep
    only the last of two equal keys)."""
    return read_json(path, report, object_pairs_hook=Pairs)


def cell_text(value: Any) -> Optional[str]:
    """A cell as text (Excel numbers 5.0 -> '5'); None when empty."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


key = header_key


def _is_numbering(values: list) -> bool:
    """A row «1 2 3 4 …» of column numbers, printed under the header of official tables."""
    nums = [cell_text(v) for v in values if cell_text(v)]
    return len(nums) >= 2 and nums == [str(i) for i in range(1, len(nums) + 1)]


class Header(NamedTuple):
    first: int                 # position in table.rows of the first header row; -1: no header
    start: int                 # position of the first data row
    cols: dict[str, int]       # canonical name -> column index
    labels: dict[str, str]     # canonical name -> the heading as the file spells it


def find_header(table: Table, aliases: dict[str, tuple[str, ...]], report: Report) -> Header:
    """Locate the header by its column names. A header split over two rows (merged cells,
    e.g. a merged «Дополнительные сведения» over «Выпуск ЕТКС/ЕКС» and «Код по ОКЗ») is
    joined, and a row of column numbers under it is skipped."""
    names = [n for ns in aliases.values() for n in ns]
    lookup = {key(n): canon for canon, ns in aliases.items() for n in ns}
    pos, _ = header_index(table, names, report)
    if pos < 0:
        return Header(-1, 0, {}, {})
    cols: dict[str, int] = {}
    labels: dict[str, str] = {}
    used = [pos]
    for p in (pos, pos - 1, pos + 1):
        if not 0 <= p < len(table.rows):
            continue
        for c, v in enumerate(table.rows[p].values):
            canon = lookup.get(key(v))
            if canon and canon not in cols and c not in cols.values():
                cols[canon], labels[canon] = c, " ".join(str(v).split())
                if p not in used:
                    used.append(p)
    start = max(used) + 1
    if start < len(table.rows) and _is_numbering(table.rows[start].values):
        start += 1
    return Header(min(used), start, cols, labels)


def report_unread_columns(report: Report, table: Table, h: Header) -> None:
    """Header cells this loader does not read: said once, never silently dropped."""
    for pos in range(h.first, h.start):
        for c, v in enumerate(table.rows[pos].values):
            if c not in h.cols.values() and cell_text(v) and not _is_numbering(table.rows[pos].values):
                report.info("header", f"column {v!r} is not read by this loader", sheet=table.name,
                            row=table.rows[pos].number, column=str(v), value=v)


# -- shared checks of both layouts ---------------------------------------------------
def title_ok(report: Report, title: Any, *, row, column, sheet=None, code=None) -> bool:
    if not isinstance(title, str) or not title.strip():
        report.error("empty_title", f"code {code}: the title is empty or not text; row rejected",
                     sheet=sheet, row=row, column=column, value=title)
        return False
    check_title(report, title, language="ru", row=row, column=column, sheet=sheet, code=code)
    return True
