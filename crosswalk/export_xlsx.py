"""The export's workbook, ``crosswalks.xlsx``: a Summary sheet (links, relation counts, coverage,
the routes' checks, the snapshot) and a sheet per scheme pair and route, every cell written safely
(no formulas, risky leading characters escaped, characters XML cannot hold replaced with a warning
naming the cell); and the check that a new export does not drop an earlier export's sheets."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Optional, Sequence

from .errors import WARNING, Problem
from .export import SUMMARY_SHEET, ExportError, _Table, _values
from .safety import cell_text, clean_xml, illegal_xml_chars, sheet_name


class _Sheet:
    """Writes safe cells into one worksheet, collecting a warning per altered cell."""

    def __init__(self, ws, path: Path, warnings: list[Problem]):
        self.ws, self.path, self.warnings = ws, path, warnings
        self.widths: dict[int, int] = {}

    def put(self, row: int, col: int, value: Any, header: str, number_format: Optional[str] = None, *,
            fit: bool = True):
        if isinstance(value, str):
            text, changed = clean_xml(value)
            if changed:
                self.warnings.append(Problem(
                    "illegal_xml_character", WARNING,
                    f"characters an xlsx file cannot hold ({', '.join(illegal_xml_chars(value))})"
                    " replaced with U+FFFD", file=str(self.path), sheet=self.ws.title, row=row,
                    column=header, value=value))
            if "\r" in text:     # XML reads a carriage return as a line feed: say so, don't lose it silently
                self.warnings.append(Problem(
                    "carriage_return", WARNING, "carriage return stored as a line feed (xlsx cannot keep it)",
                    file=str(self.path), sheet=self.ws.title, row=row, column=header, value=value))
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            value = cell_text(text)
        cell = self.ws.cell(row=row, column=col, value=value)
        if isinstance(value, str):
            cell.data_type = "s"      # text, whatever it looks like
        if number_format:
            cell.number_format = number_format
        if fit:
            shown = len(value) if isinstance(value, str) else 10
            self.widths[col] = max(self.widths.get(col, 0), min(shown, 60))

    def finish(self, header_rows: int = 1):
        from openpyxl.utils import get_column_letter
        for col, width in self.widths.items():
            self.ws.column_dimensions[get_column_letter(col)].width = width + 2
        self.ws.freeze_panes = self.ws.cell(row=header_rows + 1, column=1)


_SUMMARY_COLUMNS = ("pair", "source", "source edition", "target", "target edition", "confirmed links",
                    "sources", "targets", "1:1", "1:n", "n:1", "n:m", "pending", "rejected",
                    "source items", "source linked", "source coverage", "target items", "target linked",
                    "target coverage")


_ROUTE_SUMMARY_COLUMNS = ("route", "source edition", "target edition", "links", "confirmed", "proposed",
                          "no correspondence", "largest group", "unmatched sources", "unreached targets",
                          "mismatch")


def _workbook(path: Path, tables: list[_Table], columns, summary: dict, snapshot, exported_at: str,
              classifications, warnings: list[Problem], routes=(), route_summary: Optional[dict] = None):
    """The workbook to be saved as ``path`` (named in warnings), unsaved."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    bold = Font(bold=True)
    wb = Workbook()
    ws = wb.active
    ws.title = SUMMARY_SHEET
    used = {SUMMARY_SHEET}
    sheet = _Sheet(ws, path, warnings)
    for c, name in enumerate(_SUMMARY_COLUMNS, 1):
        sheet.put(1, c, name, name)
        ws.cell(row=1, column=c).font = bold
    for r, t in enumerate(tables, 2):
        e, cov = summary[t.name], summary[t.name]["coverage"] or {}
        vals = [t.name, t.source, t.source_edition, t.target, t.target_edition, e["links"], e["sources"],
                e["targets"], *e["relations"].values(), e["pending"], e["rejected"],
                cov.get("source_items"), cov.get("source_linked"), cov.get("source_share"),
                cov.get("target_items"), cov.get("target_linked"), cov.get("target_share")]
        for c, (name, v) in enumerate(zip(_SUMMARY_COLUMNS, vals), 1):
            sheet.put(r, c, v, name, "0.0%" if name.endswith("coverage") else None)
    if tables:
        ws.auto_filter.ref = f"A1:{ws.cell(row=len(tables) + 1, column=len(_SUMMARY_COLUMNS)).coordinate}"
    r = len(tables) + 3
    if routes:
        for c, name in enumerate(_ROUTE_SUMMARY_COLUMNS, 1):
            sheet.put(r, c, name, name)
            ws.cell(row=r, column=c).font = bold
        for route, _, _ in routes:
            r += 1
            e = route_summary[route.name]
            ch = e["checks"] or {}
            vals = [" → ".join(route.schemes), e["source_edition"], e["target_edition"], e["links"],
                    e["by_status"].get("confirmed", 0), e["by_status"].get("proposed", 0), e["no_match"],
                    (ch.get("groups") or {}).get("largest"), ch.get("unmatched_sources"),
                    ch.get("unreached_targets"), ch.get("mismatch")]
            for c, (name, v) in enumerate(zip(_ROUTE_SUMMARY_COLUMNS, vals), 1):
                sheet.put(r, c, v, name, "0.0%" if name == "mismatch" else None)
        r += 2
    notes = [("snapshot event", snapshot[0]), ("snapshot checksum", snapshot[1]), ("exported at", exported_at),
             ("links", "all, with their status" if "status" in columns else "confirmed only"),
             ("coverage", "linked items among the items of the levels the links use"
                          " (needs the classifications)"),
             ("weights", "unset weights: a source's confirmed targets share it equally"),
             ("text", "a leading ' was added to text starting with = + - @ or a control character")]
    for k, (label, v) in enumerate(notes):
        sheet.put(r + k, 1, label, "note")
        ws.cell(row=r + k, column=1).font = bold
        sheet.put(r + k, 2, v, label, fit=False)     # long notes overflow; they don't widen the table
    sheet.finish()
    sheet.widths.clear()

    formats = {"source_code": "@", "target_code": "@", "weight": "0.000000", "score": "0.0000"}
    for t in tables:
        ws = wb.create_sheet(sheet_name(f"{t.source} → {t.target}", used))
        sheet = _Sheet(ws, path, warnings)
        for c, name in enumerate(columns, 1):
            sheet.put(1, c, name, name)
            ws.cell(row=1, column=c).font = bold
        for r, row in enumerate(t.rows, 2):
            vals = _values(row, columns, t, classifications)
            for c, name in enumerate(columns, 1):
                sheet.put(r, c, vals[name], name, formats.get(name))
        ws.auto_filter.ref = f"A1:{ws.cell(row=max(len(t.rows), 1) + 1, column=len(columns)).coordinate}"
        sheet.finish()
    for route, cols, rows in routes:
        ws = wb.create_sheet(sheet_name(" → ".join(route.schemes), used))
        sheet = _Sheet(ws, path, warnings)
        for c, name in enumerate(cols, 1):
            sheet.put(1, c, name, name)
            ws.cell(row=1, column=c).font = bold
        for r, row in enumerate(rows, 2):
            for c, name in enumerate(cols, 1):
                fmt = "@" if name.endswith("_code") else formats.get(name)
                sheet.put(r, c, row[name], name, fmt)
        ws.auto_filter.ref = f"A1:{ws.cell(row=max(len(rows), 1) + 1, column=len(cols)).coordinate}"
        sheet.finish()
    wb.properties.creator = "crosswalk"
    wb.properties.created = datetime.fromisoformat(exported_at.replace("Z", "+00:00")).replace(tzinfo=None)
    return wb



def _keeps_sheets(path: Path, new: Sequence[str]) -> None:
    """Refuse (writing nothing) to replace a workbook of an earlier export that holds sheets the new
    one lacks: `export OUT --route A` then `export OUT --route B` would leave only B in it."""
    if not path.exists():
        return
    from .errors import LoadError, Report
    from .io.xlsx import open_workbook
    hint = (" Export every pair and route in one call (--route A --route B), write into another"
            " folder, or pass --replace to replace the workbook.")
    try:
        wb = open_workbook(path, Report())
    except LoadError as exc:
        raise ExportError(f"nothing was written: {path} is there but is not a workbook crosswalk can read"
                          f" ({exc}).{hint}") from None
    try:
        old = list(wb.sheetnames)
    finally:
        wb.close()
    lost = [n for n in old if n not in set(new)]
    if lost:
        writes = ", ".join(n for n in new if n != SUMMARY_SHEET) or "no tables"
        raise ExportError(f"nothing was written: {path} holds {len(lost)} sheet(s) this export would drop:"
                          f" {', '.join(lost)} (it writes {writes}).{hint}")
