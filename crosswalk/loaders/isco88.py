"""The ILO correspondence table ISCO-08 ↔ ISCO-88 (``corrtab08-88.xls`` sorted by
ISCO-08, ``corrtab88-08.xls`` sorted by ISCO-88; an .xlsx re-save reads the same).

Either file loads into one orientation, ISCO-08 → ISCO-88. The table sheet is
found by its header. Codes are 4-digit unit groups stored as numbers (``1111.0``;
``0110`` as text), so a number is zero-padded to 4 digits.

Partial flags. Each file has ONE 'part' column and the two files flag different
things: ``ISCO-88 part`` = 'p' (corrtab08-88) says this ISCO-08 group matches only
part of the ISCO-88 group; ``ISCO-08 part`` (corrtab88-08) says the ISCO-88 group
matches only part of the ISCO-08 group. Each pair keeps the flag it was given in
``attrs["isco88_part"]`` / ``attrs["isco08_part"]`` (names survive
``Correspondence.reversed()``); ``Pair.partial`` is True when a given flag is set.

ISCO-88 has no structure file here, so ``LoadResult.extra["isco88"]`` holds a
:class:`Classification` of the ISCO-88 unit groups with the titles the table gives.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..checks import check_title
from ..codes import cell_code
from ..errors import LoadError, Report
from ..io import Table, read_workbook
from ..model import Classification, Correspondence, Item, Pair
from .base import LoadResult
from .isco08 import (
    find_header,
    header_rows,
    norm,
    other_sheet,
    report_extra_columns,
    text,
)

FORMAT = "isco08-isco88:ilo-xls"
FORMATS = {FORMAT: "ILO correspondence table ISCO-08 ↔ ISCO-88 (corrtab08-88.xls or"
                   " corrtab88-08.xls; .xls or an .xlsx re-save), loaded as ISCO-08 → ISCO-88"}

CODE = {"isco08": "ISCO 08 Code", "isco88": "ISCO-88 code"}
TITLE = {"isco08": "ISCO-08 Title EN", "isco88": "ISCO-88 Title EN"}
PART = {"isco08": "ISCO-08 part", "isco88": "ISCO-88 part"}
COMMENTS = "Comments"
KNOWN = (*CODE.values(), *TITLE.values(), *PART.values(), COMMENTS)
SIDES = ("isco08", "isco88")


def sniff(path: Path, head: str) -> Optional[str]:
    want = {norm(CODE["isco08"]), norm(CODE["isco88"])}
    if any(want <= names for names in header_rows(Path(path))):
        return FORMAT
    return None


def load(path, format: Optional[str] = None, *, strict: bool = False) -> LoadResult:
    path = Path(path)
    report = Report(file=str(path), scheme="isco08-isco88")
    tables = read_workbook(path, report)
    found = find_header(tables, CODE.values())
    if found is None:
        report.error("header", f"no sheet has a header row with {CODE['isco08']!r} and"
                     f" {CODE['isco88']!r}; not an ILO ISCO-08/ISCO-88 correspondence table")
        raise LoadError(f"{path}: no correspondence header row", report)
    table, hpos, cols = found
    reader = _TableReader(report, table, hpos, cols)
    for row in table.rows[hpos + 1:]:
        reader.row(row)
    reader.summarize()
    for t in tables:
        if t is not table and t.rows:
            _report_other_sheet(report, t, table, reader)
    corr = Correspondence("isco08", "isco88", reader.pairs.values(), origin=path.name,
                          source_titles=reader.titles_of("isco08"),
                          target_titles=reader.titles_of("isco88"))
    isco88 = Classification("isco88", [Item(c, corr.target_titles.get(c, ""), 4) for c in corr.targets()],
                            edition="ISCO-88 (unit groups named in the correspondence table)",
                            source=path.name)
    report.info("missing_levels", f"the table names only ISCO-88 unit groups ({len(isco88)});"
                " major, sub-major and minor groups are not in it, so extra['isco88'] has unit"
                " groups without parents", sheet=table.name)
    return LoadResult(str(path), corr, report, kind="correspondence", extra={"isco88": isco88})


class _TableReader:
    """Reads the table sheet row by row, keeping the accounting exact:
    every data row is loaded (a new pair) or rejected (bad row or dropped repeat)."""

    def __init__(self, report: Report, table: Table, hpos: int, cols: dict[str, int]):
        self.report, self.sheet = report, table.name
        self.idx = {name: cols.get(norm(name)) for name in KNOWN}
        self.parts = [s for s in SIDES if self.idx[PART[s]] is not None]
        self.pairs: dict[tuple[str, str], Pair] = {}
        self.first_row: dict[tuple[str, str], int] = {}
        self.titles: dict[str, dict[str, tuple[str, int]]] = {s: {} for s in SIDES}
        self.numeric = {s: 0 for s in SIDES}   # cells holding numbers, not text
        self.padded = {s: 0 for s in SIDES}    # ... of which were zero-padded
        hrow = table.rows[hpos].number
        for name in (*TITLE.values(), COMMENTS):
            if self.idx[name] is None:
                report.warning("header", f"column {name!r} is missing", sheet=self.sheet,
                               row=hrow, column=name)
        if not self.parts:
            report.warning("header", f"neither {PART['isco88']!r} nor {PART['isco08']!r} is there:"
                           " no pair is marked partial", sheet=self.sheet, row=hrow)
        report_extra_columns(report, table, hpos, KNOWN)

    def cell(self, row, name: str) -> Any:
        i = self.idx[name]
        return None if i is None else row.get(i)

    def row(self, row) -> None:
        rep = self.report
        rep.rows_read += 1
        where = dict(sheet=self.sheet, row=row.number)
        codes = {s: self.code(row, s, where) for s in SIDES}
        flags = {s: self.flag(row, s, where) for s in self.parts}
        if None in codes.values() or None in flags.values():
            rep.rows_rejected += 1
            return
        for s in SIDES:
            self.title(row, s, codes[s], where)
        key = (codes["isco08"], codes["isco88"])
        comment = text(self.cell(row, COMMENTS))
        attrs = {f"{s}_part": f for s, f in flags.items()}
        if comment.strip():
            attrs["comment"] = comment
        pair = Pair(*key, partial=any(flags.values()), attrs=attrs)
        prev = self.pairs.get(key)
        if prev is None:
            self.pairs[key] = pair
            self.first_row[key] = row.number
            rep.rows_loaded += 1
            return
        rep.rows_rejected += 1
        first = self.first_row[key]
        if all(prev.attrs[k] == v for k, v in attrs.items() if k != "comment"):
            lost = comment.strip() and comment != prev.attrs.get("comment")
            rep.warning("exact_duplicate", f"pair {key[0]} → {key[1]} repeats row {first}; the repeat"
                        " is dropped" + (f", with its comment {comment!r}" if lost else ""),
                        column=CODE["isco08"], value=f"{key[0]} → {key[1]}", **where)
        else:
            rep.error("duplicate_code", f"pair {key[0]} → {key[1]} is in rows {first} and {row.number}"
                      f" with different part flags; row {first} is kept, this row rejected",
                      column=PART[self.parts[0]], value=f"{key[0]} → {key[1]}", **where)

    def code(self, row, side: str, where) -> Optional[str]:
        col = CODE[side]
        raw = self.cell(row, col)
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and abs(raw) >= 10000:
            self.report.error("code_format", f"code {text(raw)} has more than 4 digits; row rejected",
                              column=col, value=raw, **where)
            return None
        code, problem, msg = cell_code(side, raw, width=4)
        if problem == "repaired":
            self.report.warning("excel_damaged_code", msg, column=col, value=raw, **where)
            self.padded[side] += 1
        elif problem is not None:
            kind = "excel_damaged_code" if problem == "damaged" else "code_format"
            self.report.error(kind, f"{msg}; row rejected", column=col, value=raw, **where)
            return None
        elif len(code) != 4:
            # text cells are not padded: '111' typed as text is not proof of a lost zero
            self.report.error("code_format", f"code {code!r} is not a 4-digit unit group; the table"
                              " links unit groups only; row rejected", column=col, value=raw, **where)
            return None
        elif isinstance(raw, str) and raw != code:
            self.report.warning("code_format", f"code {raw!r} has surrounding spaces; read as {code!r}",
                                column=col, value=raw, **where)
        if not isinstance(raw, str):
            self.numeric[side] += 1
        return code

    def flag(self, row, side: str, where) -> Optional[bool]:
        raw = self.cell(row, PART[side])
        s = text(raw).strip()
        if s.casefold() in ("p", ""):
            return bool(s)
        self.report.error("part_flag", f"{PART[side]} holds {s!r}; only 'p' (partial) or empty is"
                          " known; row rejected", column=PART[side], value=raw, **where)
        return None

    def title(self, row, side: str, code: str, where) -> None:
        col = TITLE[side]
        if self.idx[col] is None:
            return
        title = text(self.cell(row, col))
        seen = self.titles[side].get(code)
        if seen is None or (not seen[0].strip() and title.strip()):   # a later row may fill a blank
            self.titles[side][code] = (title, row.number)
            if not title.strip():
                self.report.warning("empty_title", f"{side} {code} has an empty title", column=col,
                                    value=title, **where)
            check_title(self.report, title, language="en", column=col, code=code, **where)
        elif seen[0] != title:
            self.report.warning("title_mismatch", f"{side} {code} is titled {seen[0]!r} in row {seen[1]}"
                                f" but {title!r} here; the first title is kept", column=col,
                                value=title, **where)

    def titles_of(self, side: str) -> dict[str, str]:
        i = SIDES.index(side)
        used = {k[i] for k in self.pairs}
        return {c: t for c, (t, _) in self.titles[side].items() if c in used}

    def summarize(self) -> None:
        for side, n in self.numeric.items():
            if n:
                self.report.info("numeric_code", f"{n} cells of {CODE[side]!r} are numbers, not text;"
                                 f" read as 4-digit codes, {self.padded[side]} of them zero-padded"
                                 " (a warning each)", sheet=self.sheet, column=CODE[side])
        for side in self.parts:
            n = sum(1 for p in self.pairs.values() if p.attrs[f"{side}_part"])
            other = "ISCO-88" if side == "isco88" else "ISCO-08"
            self.report.info("partial_flags", f"{n} of {len(self.pairs)} pairs are flagged 'p' in"
                             f" {PART[side]!r}: the pair covers only part of the {other} group"
                             f" (kept as attrs['{side}_part'])", sheet=self.sheet, column=PART[side])


def _report_other_sheet(report: Report, t: Table, table: Table, reader: _TableReader) -> None:
    """The ILO workbook keeps change logs on other sheets. They are not part of the
    table; say so, and say how their pairs relate to the table, as a reviewer would ask."""
    pairs = []
    for r in t.rows:
        codes = [cell_code(s, reader.cell(r, CODE[s]), width=4)[:2] for s in SIDES]
        if all(p is None and c and len(c) == 4 for c, p in codes):
            pairs.append((codes[0][0], codes[1][0]))
    detail = ""
    if pairs:
        inside = sorted({f"{a} → {b}" for a, b in pairs if (a, b) in reader.pairs})
        outside = sorted({f"{a} → {b}" for a, b in pairs if (a, b) not in reader.pairs})
        detail = (f"; read in the table's columns (as in the ILO change-log sheets) it lists"
                  f" {len(pairs)} pairs: in the table {', '.join(inside) or 'none'};"
                  f" not in the table {', '.join(outside) or 'none'}")
    other_sheet(report, t, table, CODE.values(), detail)
