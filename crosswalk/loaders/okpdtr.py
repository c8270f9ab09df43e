"""OKPDTR (ОК 016-94): occupations of workers (1xxxx) and positions of employees (2xxxx).

Two layouts:

* ``okpdtr:portal-json`` — the open-data profession list of the job portal trudvsem.ru:
  ``{"count": N, "professions": [{"code": "100035", "name": "Авербандщик"}]}`` where the
  6-digit code is the 5-digit OKPDTR code followed by its control number (КЧ);
* ``okpdtr:table`` — the Rosstat table layout (CSV or XLSX) with the columns «Код», «КЧ»,
  «Наименование профессий рабочих и должностей служащих», «Выпуск ЕТКС/ЕКС», «Код по ОКЗ».

OKPDTR is a flat list: every item is level 1 without a parent. Item.code is the 5-digit
code; the КЧ is kept in ``attrs["kch"]`` and checked with the ОК 016-94 rule.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Optional

from ..codes import cell_code
from ..errors import LoadError, Report
from ..io import read_csv, read_workbook
from ..io.peek import csv_head_rows, is_workbook, workbook_head
from ..io.tables import Table
from .base import ItemCollector, LoadResult
from .common import (
    Header,
    Pairs,
    cell_text,
    find_header,
    key,
    load_json_pairs,
    report_unread_columns,
    title_ok,
)

FORMATS = {
    "okpdtr:portal-json": "OKPDTR profession list of the trudvsem.ru open-data portal (JSON;"
                          " 6-digit code = 5-digit code + control number)",
    "okpdtr:table": "OKPDTR table in the Rosstat layout (CSV or XLSX): Код, КЧ, Наименование,"
                    " Выпуск ЕТКС/ЕКС, Код по ОКЗ",
}

PARTS = {"1": "worker", "2": "employee"}   # ОК 016-94 ranges; anything else is "non-standard"
_EXAMPLES = 5                                # examples named in summary problems

# Column aliases of the table layout, compared case- and space-insensitively.
_COLUMNS = {
    "code": ("Код",),
    "kch": ("КЧ", "Контрольное число"),
    "title": ("Наименование профессий рабочих и должностей служащих", "Наименование",
              "Наименование профессий рабочих", "Наименование должностей служащих"),
    "etks": ("Выпуск ЕТКС/ЕКС", "Выпуск ЕТКС", "ЕТКС/ЕКС", "Выпуск ЕКС"),
    "okz": ("Код по ОКЗ", "Код ОКЗ", "ОКЗ"),
    "category": ("Категория", "Код категории"),
    "grades": ("Диапазон разрядов",),
}
_REQUIRED = ("code", "kch", "title")

# A capitalised word right after a lower-case one: where two run-together titles meet
# («…смол и мастик Ватинщик»). Proper nouns match too, so it only counts with a bad code.
_TITLE_JOIN = re.compile(r"(?<=[а-яё]) (?=[А-ЯЁ][а-яё])")


def control_number(code5: str) -> int:
    """The КЧ of a 5-digit OKPDTR code: digits weighted 1–5, sum mod 11; if that gives 10,
    weights 3–7 mod 11; if 10 again, 0. ``control_number("10003") == 5``."""
    if not (len(code5) == 5 and code5.isascii() and code5.isdigit()):
        raise ValueError(f"an OKPDTR code has 5 digits, not {code5!r}")
    digits = [int(c) for c in code5]
    for first_weight in (1, 3):
        rest = sum(d * w for w, d in enumerate(digits, first_weight)) % 11
        if rest < 10:
            return rest
    return 0


def part_of(code5: str) -> str:
    return PARTS.get(code5[:1], "non-standard")


class _NonStandard:
    """Codes 3xxxx/4xxxx: one info per row, one summary warning per file."""

    def __init__(self, report: Report):
        self.report = report
        self.seen: list[tuple[str, str]] = []

    def note(self, code5: str, title: str, *, row, column, sheet=None) -> None:
        if part_of(code5) != "non-standard":
            return
        self.seen.append((code5, title))
        self.report.info("non_standard_range", f"code {code5} is outside the ОК 016-94 ranges"
                         " (1xxxx workers, 2xxxx employees); loaded with part 'non-standard'",
                         sheet=sheet, row=row, column=column, value=code5)

    def summarise(self) -> None:
        if not self.seen:
            return
        firsts = [c[0] for c, _ in self.seen]
        by_digit = {d: firsts.count(d) for d in sorted(set(firsts))}
        ex = ", ".join(f"{c} «{t}»" for c, t in sorted(self.seen)[:_EXAMPLES])
        counts = ", ".join(f"{n} in {d}xxxx" for d, n in by_digit.items())
        self.report.warning(
            "non_standard_range", f"{len(self.seen)} loaded entries ({counts}) have codes outside the"
            " ОК 016-94 ranges (1xxxx workers, 2xxxx employees); they are not OKPDTR codes of the"
            f" official publication (sectoral or portal additions?) and are loaded with part"
            f" 'non-standard'; e.g. {ex}; each row is listed as info", value=str(len(self.seen)))


# -- okpdtr:portal-json --------------------------------------------------------------
def _portal_entries(data: Any, report: Report) -> tuple[dict, list]:
    if not isinstance(data, Pairs):
        report.error("header", "expected a JSON object with a 'professions' list")
        raise LoadError(f"{report.file}: not an OKPDTR profession list", report)
    top: dict[str, Any] = {}
    for k, v in data:
        if k in top:
            report.error("json_syntax", f"top-level key {k!r} appears twice; the file is ambiguous",
                         column=k)
            raise LoadError(f"{report.file}: top-level key {k!r} appears twice", report)
        top[k] = v
    entries = top.get("professions")
    if not isinstance(entries, list):
        report.error("header", "no 'professions' list in the JSON object", column="professions")
        raise LoadError(f"{report.file}: no 'professions' list", report)
    return top, entries


def _entry_fields(entry: Any, report: Report, row: int) -> Optional[tuple[Any, Any]]:
    if not isinstance(entry, Pairs):
        report.error("code_format", "entry is not an object with 'code' and 'name'; row rejected",
                     row=row, value=json.dumps(entry, ensure_ascii=False)[:80])
        return None
    keys = [k for k, _ in entry]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        report.error("code_format", f"entry repeats the key(s) {', '.join(map(repr, repeated))};"
                     " row rejected", row=row, column=repeated[0])
        return None
    fields = dict(entry)
    return fields.get("code"), fields.get("name")


def _portal_code(raw: Any, report: Report, row: int) -> Optional[str]:
    """The code as digits, or None (error reported) when it is not a string of digits."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        report.warning("code_format", f"code {raw} is a JSON number, not a string; read as '{raw}'",
                       row=row, column="code", value=raw)
        return str(raw)
    if not isinstance(raw, str) or not raw.strip().isdigit() or not raw.strip().isascii():
        report.error("code_format", f"code {raw!r} is not a string of digits (5-digit OKPDTR code"
                     " + control number); row rejected", row=row, column="code", value=raw)
        return None
    if raw != raw.strip():
        report.warning("code_format", f"code {raw!r} has surrounding spaces; stripped",
                       row=row, column="code", value=raw)
    return raw.strip()


def _split_portal_code(code: str, name: str, bases: dict[str, list[tuple[int, str, str]]],
                       report: Report, row: int, strict: bool = False) -> Optional[tuple[str, str]]:
    """(5-digit code, КЧ) of a portal code, or None with the problem reported.

    A wrong КЧ does not make the code wrong: the row is kept under its 5-digit code with a
    warning (``strict``: rejected), unless another row holds the same code with the right
    КЧ — then that row is the item and this one is reported and left out."""
    where = dict(row=row, column="code", value=code)
    if len(code) == 6 and code[0] in "1234":
        base, given = code[:5], int(code[5])
        want = control_number(base)
        if given == want:
            return base, code[5]
        msg = (f"code {code}: control number {given} is wrong for {base}, the ОК 016-94 rule gives"
               f" {want} ({base}{want})")
        twins = [(r, c, t) for r, c, t in bases.get(base, []) if r != row and int(c[5]) == want]
        if twins:
            r, c, t = twins[0]
            if t == name:
                report.warning("control_number", f"{msg}; row {r} holds {c} with the correct КЧ and the same"
                               " title: that row is the item, this repeat is left out", **where)
            else:
                report.error("control_number", f"{msg}; row {r} holds {c} with the correct КЧ but another title"
                             f" ({t!r}): that row is the item {base}, this row rejected", **where)
            return None
        if strict:
            report.error("control_number", f"{msg}; row rejected (--strict)", **where)
            return None
        report.warning("control_number", f"{msg}; loaded as {base} (the 5-digit code is valid; the wrong КЧ is"
                       " kept as kch_given; --strict rejects such rows)", **where)
        return base, str(want)
    if len(code) == 5 and code[0] in "1234":
        kch = control_number(code)
        others = [(r, c) for r, c, _ in bases.get(code, []) if r != row]
        if others:
            report.error("control_number", f"5-digit code {code} without control number, and the base"
                         f" {code} is also in " + ", ".join(f"row {r} ({c})" for r, c in others)
                         + "; row rejected", **where)
            return None
        report.warning("control_number", f"5-digit code without control number; КЧ computed = {kch}"
                       f" (loaded as {code}, КЧ {kch})", **where)
        return code, str(kch)
    parts = _TITLE_JOIN.split(name)
    if len(code) > 6 and len(parts) > 1:
        first, second = " ".join(parts[:-1]), parts[-1]
        hint = ""
        if code[0] in "1234" and control_number(code[:5]) == int(code[5]):
            hint = f"; its first 6 digits {code[:6]} would be code {code[:5]} with a correct КЧ"
        report.error("merged_entry", f"code {code} has {len(code)} digits and the title looks like two"
                     f" titles run together («{first}» + «{second}»): two entries merged into one"
                     f"{hint}; row rejected", **where)
        return None
    report.error("code_format", f"code {code} is not a 5-digit OKPDTR code starting 1–4 followed by"
                 " its control number; row rejected", **where)
    return None


def _load_portal(path: Path, report: Report, strict: bool = False) -> LoadResult:
    top, entries = _portal_entries(load_json_pairs(path, report), report)
    count = top.get("count")
    if count is not None and count != len(entries):
        report.error("count_mismatch", f"the file says count = {count!r} but holds {len(entries)}"
                     " entries", column="count", value=count)
    # 6-digit codes by base, so a wrong КЧ can name the row that holds the right one
    bases: dict[str, list[tuple[int, str, str]]] = {}
    for i, e in enumerate(entries, 1):
        fields = dict(e) if isinstance(e, Pairs) else {}
        code = fields.get("code")
        if isinstance(code, str) and len(code.strip()) == 6:
            bases.setdefault(code.strip()[:5], []).append((i, code.strip(), fields.get("name")))
    col = ItemCollector(report, "okpdtr", code_column="code", title_column="name")
    odd = _NonStandard(report)
    for row, e in enumerate(entries, 1):
        col.read()
        f = _entry_fields(e, report, row)
        if f is None:
            col.reject()
            continue
        raw, name = f
        code = _portal_code(raw, report, row)
        good_title = title_ok(report, name, row=row, column="name", code=code or raw)
        split = (_split_portal_code(code, name if good_title else "", bases, report, row, strict)
                 if code else None)
        if not (split and good_title):
            col.reject()
            continue
        base, kch = split
        odd.note(base, name, row=row, column="code")
        attrs = {"kch": kch, "part": part_of(base)}
        if len(code) == 6 and code[5] != kch:
            attrs["kch_given"] = code[5]
        col.add(base, name, 1, None, attrs=attrs, row=row)
    odd.summarise()
    fetched = top.get("fetchedAt")
    report.info("edition_unknown", "the list does not name the edition (amendment) of ОК 016-94 it follows;"
                " edition unknown" + (f" (fetchedAt {fetched} is when the portal list was downloaded, not an"
                                      " edition)" if fetched else ""), column="fetchedAt" if fetched else None)
    data = col.build(edition="", source=str(top.get("source") or path))
    return LoadResult(str(path), data, report)


# -- okpdtr:table ---------------------------------------------------------------------
def _tables(path: Path, report: Report) -> list[Table]:
    return read_workbook(path, report) if is_workbook(path) else [read_csv(path, report, line_breaks="error")]


def _table_code(raw: Any, report: Report, where: dict) -> Optional[str]:
    code, problem, msg = cell_code("okpdtr", raw)
    if problem == "damaged":
        report.error("excel_damaged_code", msg + "; row rejected", **where)
        return None
    if problem is not None:
        report.error("code_format", msg + "; row rejected", **where)
        return None
    if isinstance(raw, str) and raw != raw.strip():
        report.warning("code_format", f"code {raw!r} has surrounding spaces; stripped", **where)
    return code


def _table_kch(code: str, raw: Any, report: Report, where: dict, strict: bool = False) -> Optional[str]:
    """The КЧ of a table row: a wrong or malformed one is reported and the computed one used
    (the code itself is valid), or the row rejected with ``strict``."""
    want = control_number(code)
    text = cell_text(raw)
    if text is None:
        report.warning("control_number", f"code {code}: the КЧ cell is empty; КЧ computed = {want}",
                       **where)
        return str(want)
    if len(text) == 1 and text.isdigit() and int(text) == want:
        return text
    what = (f"КЧ {text!r} is not one digit" if not (len(text) == 1 and text.isdigit())
            else f"control number {text} is wrong, the ОК 016-94 rule gives {want}")
    if strict:
        report.error("control_number", f"code {code}: {what}; row rejected (--strict)", **where)
        return None
    report.warning("control_number", f"code {code}: {what}; loaded with the computed КЧ {want} (the code is"
                   " valid; --strict rejects such rows)", **where)
    return str(want)


def _okz93(raw: Any, code: str, report: Report, where: dict) -> Optional[str]:
    text = cell_text(raw)
    if text is not None and not re.fullmatch(r"\d{4}", text):
        report.warning("code_format", f"code {code}: ОКЗ code {text!r} is not 4 digits; stored as is",
                       **where)
    return text


def _load_sheet(table: Table, h: Header, col: ItemCollector, odd: _NonStandard,
                report: Report, strict: bool = False) -> None:
    cols, names = h.cols, h.labels
    for r in table.rows[h.start:]:
        col.read()
        at = lambda canon: dict(sheet=table.name, row=r.number, column=names[canon],   # noqa: E731
                                value=r.get(cols[canon]))
        code = _table_code(r.get(cols["code"]), report, at("code"))
        title = r.get(cols["title"])
        good_title = title_ok(report, title, row=r.number, column=names["title"], sheet=table.name,
                             code=code or cell_text(r.get(cols["code"])))
        kch = _table_kch(code, r.get(cols["kch"]), report, at("kch"), strict) if code else None
        if not (code and kch and good_title):
            col.reject()
            continue
        attrs = {"kch": kch, "part": part_of(code)}
        given = cell_text(r.get(cols["kch"]))
        if given is not None and given != kch:
            attrs["kch_given"] = given
        for canon in ("etks", "category", "grades"):
            if canon in cols and cell_text(r.get(cols[canon])) is not None:
                attrs[canon] = cell_text(r.get(cols[canon]))
        if "okz" in cols:
            okz = _okz93(r.get(cols["okz"]), code, report, at("okz"))
            if okz is not None:
                # ОК 016-94 was published with ОК 010-93 codes and its amendments kept them:
                # this is an OKZ-93 code, not an ОК 010-2014 one (2132 differs between them).
                attrs["okz93"] = okz
        odd.note(code, title, row=r.number, column=names["code"], sheet=table.name)
        col.add(code, title, 1, None, attrs=attrs, row=r.number, sheet=table.name)


def _load_table(path: Path, report: Report, strict: bool = False) -> LoadResult:
    tables = _tables(path, report)
    col = ItemCollector(report, "okpdtr", code_column="Код", title_column=_COLUMNS["title"][0])
    odd = _NonStandard(report)
    found = [(t, find_header(t, _COLUMNS, report)) for t in tables]
    ours = [(t, h) for t, h in found if {"code", "title"} <= h.cols.keys()]
    for t, h in ours:
        if t.hidden:
            report.warning("hidden_sheet", f"hidden sheet {t.name!r} has the OKPDTR header but is"
                           " not loaded", sheet=t.name)
    ours = [(t, h) for t, h in ours if not t.hidden]
    if not ours:
        t, h = next(((t, h) for t, h in found if t.rows and not t.hidden), (None, Header(-1, 0, {}, {})))
        _missing_columns(report, t, [c for c in _REQUIRED if c not in h.cols] or ["code"])
    for t, h in ours:
        _missing_columns(report, t, [c for c in _REQUIRED if c not in h.cols])
        report_unread_columns(report, t, h)
        for opt, attr in (("etks", "etks"), ("okz", "okz93")):
            if opt not in h.cols:
                report.info("header", f"no «{_COLUMNS[opt][0]}» column; the items carry no"
                            f" {attr} attribute", sheet=t.name)
        _load_sheet(t, h, col, odd, report, strict)
    for t, h in found:
        if t.rows and not t.hidden and not {"code", "title"} <= h.cols.keys():
            report.warning("ignored_sheet", f"sheet {t.name!r} has no OKPDTR header; its"
                           f" {len(t.rows)} non-empty rows are not read", sheet=t.name)
    odd.summarise()
    return LoadResult(str(path), col.build(edition="ОК 016-94", source=str(path)), report)


def _missing_columns(report: Report, table: Optional[Table], missing: list[str]) -> None:
    if not missing:
        return
    want = ", ".join(f"«{_COLUMNS[c][0]}»" for c in missing)
    seen = ""
    if table is not None and table.rows:
        cells = (repr(v) for v in table.rows[0].values if v is not None)
        seen = "; the first row holds " + ", ".join(cells)
    report.error("header", f"required column(s) {want} not found{seen}",
                 sheet=table.name if table else None)
    raise LoadError(f"{report.file}: not an OKPDTR table: missing column(s) {want}", report)


# -- registry hooks --------------------------------------------------------------------
_PORTAL_LIST = re.compile(r'"professions"\s*:\s*\[')


def _header_cells(rows) -> list[set[str]]:
    return [{key(v) for v in row if v is not None} for row in rows]


_OWN_HEADERS = {key(n) for n in ("КЧ",) + _COLUMNS["title"][:1] + _COLUMNS["etks"]}


def _is_table_header(rows) -> bool:
    """A header with «Код» and a column only OKPDTR has («КЧ», «Выпуск ЕТКС/ЕКС», the full
    title heading), so a table missing «КЧ» is still ours and fails with a clear message."""
    return any("код" in cells and cells & _OWN_HEADERS for cells in _header_cells(rows))


def sniff(path: Path, head: str) -> Optional[str]:
    try:
        if head:
            if head.lstrip().startswith("{") and _PORTAL_LIST.search(head) and '"code"' in head:
                return "okpdtr:portal-json"
            return "okpdtr:table" if _is_table_header(csv_head_rows(head)) else None
        return ("okpdtr:table" if any(_is_table_header(sh.rows[:12]) for sh in workbook_head(Path(path)) if sh.visible)
                else None)
    except Exception:   # sniffing must never raise: an unreadable file is simply not ours
        return None


def load(path, format: Optional[str] = None, *, strict: bool = False) -> LoadResult:
    """``strict``: rows whose control number (КЧ) fails are rejected instead of kept with a
    warning."""
    path = Path(path)
    if format is None:
        from . import _head
        format = sniff(path, _head(path)) or "okpdtr:table"
    if format not in FORMATS:
        raise LoadError(f"{path}: unknown OKPDTR format {format!r}; known: {', '.join(FORMATS)}")
    report = Report(file=str(path), scheme="okpdtr")
    if format == "okpdtr:portal-json":
        return _load_portal(path, report, strict)
    return _load_table(path, report, strict)
