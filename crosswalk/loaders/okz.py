"""OKZ ОК 010-2014 (МСКЗ-08): occupations, codes of 1–4 digits as in ISCO-08.

Two layouts:

* ``okz2014:labels-json`` — ``{"4-digit code": "title"}``, the unit-group labels scraped
  from the PDF of the classifier (the only machine-readable OKZ we know of);
* ``okz2014:table`` — a code/title table (CSV or XLSX) at any depth, with the columns
  «Код» and «Наименование» (or an office's own «Название», "code", "title"), or headerless with
  two columns.

The hierarchy follows the code: the parent of ``2512`` is ``251``. When a whole level is
absent (a unit-group-only list) items attach to the nearest level present, or have no
parent, and ``missing_levels`` says so; single missing parents are orphans
(``missing_parent``). Unit groups are compared with the 436 unit groups of ISCO-08,
whose codes OKZ-2014 shares by design.
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, Optional

from ..codes import cell_code, code_level
from ..errors import LoadError, Report
from ..io import read_csv, read_workbook
from ..io.peek import csv_head_rows, is_workbook, workbook_head
from ..io.tables import Table
from ..model import get_scheme
from .base import ItemCollector, LoadResult
from .common import (
    Header,
    Pairs,
    cell_text,
    find_header,
    load_json_pairs,
    report_unread_columns,
    title_ok,
)

FORMATS = {
    "okz2014:labels-json": "OKZ-2014 unit-group labels as a JSON object {code: title}"
                           " (scraped from the PDF of ОК 010-2014)",
    "okz2014:table": "OKZ-2014 code/title table at any depth (CSV or XLSX): Код, Наименование"
                     " (or code, title; or two columns without a header)",
}

SCHEME = "okz2014"
# the official headers, and the plain ones an office's own CSV has («Код;Название», "code;title")
_COLUMNS = {"code": ("Код", "Код ОКЗ", "Код группы", "code"),
            "title": ("Наименование", "Наименование группы", "Наименование группы занятий", "Название",
                      "title")}
_CYRILLIC = re.compile("[\u0400-\u04ff]")


@lru_cache(maxsize=1)
def isco08_unit_groups() -> frozenset[str]:
    """The 436 ISCO-08 unit-group codes (package data taken from the ILO structure workbook)."""
    text = resources.files(__package__).joinpath("isco08_unit_groups.txt").read_text("ascii")
    return frozenset(text.split())


class _Entry(NamedTuple):
    row: int
    code: Any
    title: Any
    sheet: Optional[str]


# -- codes -------------------------------------------------------------------------------
def _digits(raw: Any) -> Optional[str]:
    """The digits of a code cell (text or whole number), for the width analysis."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)) and float(raw).is_integer():
        return str(int(raw))
    text = raw.strip() if isinstance(raw, str) else ""
    return text if text.isascii() and text.isdigit() else None


def fixed_width(entries: list[_Entry]) -> Optional[int]:
    """The code width of a flat list (no code is the prefix of another) where most codes
    have the greatest length, e.g. 4 in a unit-group-only list; None in a hierarchy, where
    a short code is a real upper level and padding it would be a guess."""
    codes = {d for d in (_digits(e.code) for e in entries) if d and len(d) <= 4}
    if not codes:
        return None
    width = max(len(c) for c in codes)
    prefixes = {c[:k] for c in codes for k in range(1, len(c))}
    if width > 4 or codes & prefixes or 2 * sum(len(c) == width for c in codes) < len(codes):
        return None
    return width


def _is_number(raw: Any) -> bool:
    return isinstance(raw, (int, float)) and not isinstance(raw, bool) and float(raw).is_integer() and raw >= 0


def resolve_by_hierarchy(entries: list[_Entry]) -> dict[str, str]:
    """Codes stored as numbers (Excel dropped their leading zeros: 0110 → 110, or kept them as
    they were: 2512) in a hierarchy, read by the one reading that keeps it whole.

    Each number may be itself or itself with up to 3 leading zeros (``2`` → 2, 02, 002, 0002).
    A reading stays possible while its parent (the code one digit shorter) is a code the file
    holds as text or a possible reading of another number, and while no text cell holds that
    code already; repeated to a fixed point. Returns number → code for the numbers left with
    exactly one reading (``2, 25, 251, 2512`` → themselves: «02» would need a group 0)."""
    fixed = {e.code.strip() for e in entries if isinstance(e.code, str) and e.code.strip().isdigit()}
    readings: dict[str, set[str]] = {}
    for e in entries:
        if _is_number(e.code):
            digits = str(int(e.code))
            if len(digits) <= 4:
                readings[digits] = {digits.zfill(w) for w in range(len(digits), 5)} - fixed
    changed = True
    while changed:
        changed = False
        for value, rs in readings.items():
            pool = fixed.union(*(r for v, r in readings.items() if v != value))
            keep = {r for r in rs if len(r) == 1 or r[:-1] in pool}
            if keep != rs:
                readings[value], changed = keep, True
    return {v: next(iter(rs)) for v, rs in readings.items() if len(rs) == 1}


def _code(e: _Entry, width: Optional[int], col: str, report: Report,
          resolved: Optional[dict[str, str]] = None) -> Optional[str]:
    where = dict(sheet=e.sheet, row=e.row, column=col, value=e.code)
    raw = e.code
    if width is None and resolved and _is_number(raw) and str(int(raw)) in resolved:
        code = resolved[str(int(raw))]
        if code != str(int(raw)):           # a zero restored: said on its row (as written: the column's note)
            report.warning("excel_damaged_code", f"code {int(raw)} is stored as a number and lost its leading"
                           f" zero: read as {code}, the only reading whose parent group ({code[:-1]}) the file"
                           " holds", **where)
        return code
    if isinstance(raw, str):
        text = raw.strip()
        if raw != text and text:
            report.warning("code_format", f"code {raw!r} has surrounding spaces; stripped", **where)
        if width and text.isascii() and text.isdigit() and len(text) < width:
            fixed = text.zfill(width)
            report.warning("excel_damaged_code", f"code {text!r} is shorter than the {width} digits of"
                           f" every other code: its leading zero was lost (e.g. the file passed"
                           f" through Excel); padded to {fixed}", **where)
            return fixed
        raw = text
    digits = _digits(raw)
    if digits and len(digits) > 4:   # no zero was lost: the code is simply too long
        report.error("code_format", f"code {digits} has {len(digits)} digits; OKZ codes have 1 to 4;"
                     " row rejected", **where)
        return None
    code, problem, msg = cell_code(SCHEME, raw, width=width)
    if problem == "repaired":
        report.warning("excel_damaged_code", msg, **where)
    elif problem == "damaged":
        if width is None and isinstance(raw, (int, float)):
            msg += " (the code column holds codes of several lengths, so the width is unknown)"
        report.error("excel_damaged_code", msg + "; row rejected", **where)
    elif problem == "format":
        report.error("code_format", msg + "; row rejected", **where)
    return code if problem in (None, "repaired") else None


# -- hierarchy ---------------------------------------------------------------------------
def _parents(codes: list[str], report: Report) -> dict[str, Optional[str]]:
    """Parent of each code: code[:-1], or the nearest level present when whole levels are
    absent (reported once as ``missing_levels``)."""
    levels = {len(c) for c in codes}
    scheme = get_scheme(SCHEME)
    absent = [k for k in range(1, max(levels, default=0)) if k not in levels]
    if absent:
        names = [scheme.level_name(k) for k in absent]
        counts = [f"{len({c[:k] for c in codes if len(c) > k})} {scheme.level_name(k)} ({k} digit"
                  f"{'s' if k > 1 else ''})" for k in absent]
        fates = []
        for n in sorted(k for k in levels if k - 1 in absent):
            up = [k for k in levels if k < n]
            fates.append(f"the {scheme.level_name(n)} groups are "
                         + (f"attached to their {scheme.level_name(max(up))} group" if up
                            else "loaded without parents"))
        report.warning("missing_levels", f"the file holds no {_and(names, 'or')} groups: {_and(counts)}"
                       f" group codes implied by the codes present are missing; {'; '.join(fates)}",
                       value=", ".join(names))
    out = {}
    for c in codes:
        up = [k for k in levels if k < len(c)]
        out[c] = c[:max(up)] if up else None
    return out


def _and(words: list[str], conj: str = "and") -> str:
    return ", ".join(words[:-1]) + f" {conj} " + words[-1] if len(words) > 1 else "".join(words)


def _compare_with_isco(data, rows: dict[str, tuple], report: Report) -> None:
    units = {it.code for it in data.by_level(4)}
    if not units:
        return
    isco = isco08_unit_groups()
    absent = sorted(isco - units)
    shared = len(units & isco)
    if 2 * shared < len(isco):   # an excerpt or a partial table: listing 400 codes helps nobody
        report.info("missing_against_reference", f"the file holds {shared} of the {len(isco)} ISCO-08"
                    f" unit groups; the other {len(absent)} are absent (an excerpt or a partial table?)",
                    value=str(len(absent)))
    elif absent:
        report.warning("missing_against_reference", f"OKZ-2014 uses the ISCO-08 codes, but"
                       f" {len(absent)} of the {len(isco)} ISCO-08 unit groups are absent (lost, or"
                       f" merged/split in the national version): {', '.join(absent)}",
                       value=", ".join(absent))
    for code in sorted(units - isco):
        sheet, row = rows[code]
        report.info("not_in_reference", f"unit group {code} is not an ISCO-08 unit group (a national"
                    " OKZ deviation, or a wrong code)", sheet=sheet, row=row, value=code)


def _report_number_codes(report: Report, as_written: list[tuple[str, _Entry]], col: str, *,
                         hierarchy: bool) -> None:
    """Codes stored as numbers and read as written: legitimate (no zero was lost), but the
    user is told once for the column — how many cells, which rows — since a number cell can
    lose a leading zero the next time the file is saved."""
    if not as_written:
        return
    from ..errors import listing
    first = as_written[0][1]
    how = ("each is the only reading whose parent group the file holds" if hierarchy
           else "each has the width of the other codes")
    report.warning("number_code", f"column {col!r}: {len(as_written)} code(s) are stored as numbers, not text"
                   f" ({listing([c for c, _ in as_written], 6)}); read as written ({how}), no leading zero"
                   " lost; format the column as text so that a zero cannot be dropped later",
                   sheet=first.sheet, row=first.row, column=col, value=str(len(as_written)))


def _load_entries(entries: list[_Entry], report: Report, *, code_col: str, title_col: str,
                  source: str) -> LoadResult:
    width = fixed_width(entries)
    resolved = resolve_by_hierarchy(entries) if width is None else {}
    col = ItemCollector(report, SCHEME, code_column=code_col, title_column=title_col)
    good: list[tuple[str, _Entry]] = []
    as_written: list[tuple[str, _Entry]] = []        # codes stored as numbers, read as written
    for e in entries:
        col.read()
        code = _code(e, width, code_col, report, resolved)
        if code and _is_number(e.code) and code == str(int(e.code)):
            as_written.append((code, e))
        good_title = title_ok(report, e.title, row=e.row, column=title_col, sheet=e.sheet,
                             code=code or e.code)
        if code and good_title:
            good.append((code, e))
        else:
            col.reject()
    _report_number_codes(report, as_written, code_col, hierarchy=width is None)
    parents = _parents(sorted({c for c, _ in good}), report)
    for code, e in good:
        col.add(code, e.title, code_level(SCHEME, code), parents[code], row=e.row, sheet=e.sheet)
    data = col.build(edition="ОК 010-2014", source=source)
    rows = {}
    for code, e in good:
        rows.setdefault(code, (e.sheet, e.row))
    _compare_with_isco(data, rows, report)
    return LoadResult(source, data, report)


# -- okz2014:labels-json -----------------------------------------------------------------
def _load_labels(path: Path, report: Report) -> LoadResult:
    data = load_json_pairs(path, report)
    if not isinstance(data, Pairs):
        report.error("header", "expected a JSON object {code: title}")
        raise LoadError(f"{path}: not a JSON object of OKZ codes and titles", report)
    entries = [_Entry(i, k, v if not isinstance(v, (Pairs, list)) else None, None)
               for i, (k, v) in enumerate(data, 1)]
    return _load_entries(entries, report, code_col="code", title_col="title", source=str(path))


# -- okz2014:table -----------------------------------------------------------------------
def _is_code_cell(v: Any) -> bool:
    return _digits(v) is not None and len(_digits(v)) <= 4


def _pick_sheet(tables: list[Table], report: Report) -> tuple[Table, Header]:
    """The first visible sheet with a «Код»/«Наименование» header, else the first visible
    sheet whose first row is already data (a headerless code/title table)."""
    visible = [t for t in tables if t.rows and not t.hidden]
    for t in visible:
        h = find_header(t, _COLUMNS, report)
        if h.first >= 0:
            if len(h.cols) < 2:
                name = _COLUMNS["title" if "code" in h.cols else "code"][0]
                report.error("header", f"the header row has no «{name}» column", sheet=t.name,
                             row=t.rows[h.first].number)
                raise LoadError(f"{report.file}: OKZ table without a «{name}» column", report)
            return t, h
    for t in visible:
        row = t.rows[0]
        if _is_code_cell(row.get(0)) and isinstance(row.get(1), str):
            return t, Header(-1, 0, {"code": 0, "title": 1}, {"code": "1", "title": "2"})
    t = visible[0] if visible else None
    report.error("header", "no header with «Код» and «Наименование», and the first row is not a"
                 " code and a title", sheet=t.name if t else None,
                 row=t.rows[0].number if t else None)
    raise LoadError(f"{report.file}: not an OKZ code/title table", report)


def _load_table(path: Path, report: Report) -> LoadResult:
    tables = read_workbook(path, report) if is_workbook(path) else [read_csv(path, report, line_breaks="error")]
    t, h = _pick_sheet(tables, report)
    for other in tables:
        if other is not t and other.rows and not other.hidden:
            report.warning("ignored_sheet", f"sheet {other.name!r} is not read (only one OKZ table"
                           f" per file); its {len(other.rows)} non-empty rows are ignored",
                           sheet=other.name)
    if h.first >= 0:
        report_unread_columns(report, t, h)
    else:
        extra = [r.number for r in t.rows if any(cell_text(v) for v in r.values[2:])]
        if extra:
            report.warning("header", f"headerless table: only the first two columns (code, title)"
                           f" are read; {len(extra)} rows have more, the first is row {extra[0]}",
                           sheet=t.name, row=extra[0])
    entries = [_Entry(r.number, r.get(h.cols["code"]), r.get(h.cols["title"]), t.name)
               for r in t.rows[h.start:]]
    return _load_entries(entries, report, code_col=h.labels["code"], title_col=h.labels["title"],
                         source=str(path))


# -- registry hooks ------------------------------------------------------------------------
_LABELS_HEAD = re.compile(r'^\s*\{\s*"\s*\d{1,4}\s*"\s*:\s*"[^"]*[\u0400-\u04ff]')


def _looks_like_table(rows: list[list]) -> bool:
    """A «Код»/«Наименование» header (no «КЧ»: that is OKPDTR) over rows that are mostly
    1–4 digit codes with Cyrillic titles; without a header, every first row must be one."""
    rows = [r for r in rows if any(cell_text(v) for v in r)]
    keys = [{str(v).casefold().strip() for v in r if v is not None} for r in rows[:3]]
    if not rows or any("кч" in k for k in keys):
        return False
    codes, titles = ({n.casefold() for n in _COLUMNS[c]} for c in ("code", "title"))
    head = next((i for i, k in enumerate(keys) if k & codes and k & titles), None)
    data = rows[(head + 1) if head is not None else 0:][:20]
    good = sum(1 for r in data if _is_code_cell(r[0]) and len(r) > 1 and isinstance(r[1], str)
               and _CYRILLIC.search(r[1]) and not any(cell_text(v) for v in r[2:]))
    if head is None:
        return bool(data) and good == len(data)
    return 2 * good > len(data) and good >= 2


def sniff(path: Path, head: str) -> Optional[str]:
    try:
        if head:
            if _LABELS_HEAD.match(head[:4096]):
                return "okz2014:labels-json"
            return "okz2014:table" if _looks_like_table(csv_head_rows(head, 25)) else None
        sheets = [list(sh.rows) for sh in workbook_head(Path(path)) if sh.visible and sh.rows]
        return "okz2014:table" if sheets and _looks_like_table(sheets[0]) else None
    except Exception:   # sniffing must never raise
        return None


def load(path, format: Optional[str] = None, *, strict: bool = False) -> LoadResult:
    path = Path(path)
    if format is None:
        from . import _head
        format = sniff(path, _head(path)) or "okz2014:table"
    if format not in FORMATS:
        raise LoadError(f"{path}: unknown OKZ format {format!r}; known: {', '.join(FORMATS)}")
    report = Report(file=str(path), scheme=SCHEME)
    if format == "okz2014:labels-json":
        return _load_labels(path, report)
    return _load_table(path, report)
