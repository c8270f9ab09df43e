"""The review workbook round trip: export the store's items to an xlsx reviewers fill in
(:mod:`.workbook_export`, format 2: a row per candidate, grouped per item, Russian first),
import their decisions back into the :class:`ReviewStore`.

Import reads values only (a formula a reviewer typed is refused, never evaluated), checks every
row first and reports each refused one by sheet, row, column, value and rule. By default it is
all or nothing: one refused or conflicting row and nothing is applied (``partial=True`` applies
the valid rows). An item-centred workbook gives one decision per item
(:mod:`.workbook_items`), applied with :meth:`ReviewStore.decide_items`; a workbook exported
before (format 1: a row per link, English) still imports, as the link decisions it holds.
Importing the same file again changes nothing.

The file is safe to open: every cell is a value (never a formula), codes are text (``0110``
keeps its zero), text a spreadsheet would run (``= + - @``, control characters) is escaped
with :func:`crosswalk.candidates.sheet_safe`, characters XML cannot hold are replaced and
reported.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..codes import FORMAT_HELP, cell_code
from ..errors import CrosswalkError, Problem, Report
from ..model import SCHEMES
from .items import ItemDecision
from .labels import DEFAULT_LANG, LANGS
from .store import LinkKey, ReviewStore, StoreError
from .workbook_export import (FORMAT, FORMAT_VERSION, ExportResult, display_order, export_workbook, key_list,
                              key_text, link_groups, parse_key_text, row_check, rows_checksum, rows_digest,
                              store_identity,
                              write_review_workbook)
from .workbook_items import Reject, Say, Unit, check_key_cells, item_units, parse_entry, text
from .workbook_layout import BY_ID, REQUIRED, SHEETS, header_ids
from .workbook_read import Book, open_book

REVIEW_SHEET, META_SHEET = SHEETS["review"][1], SHEETS["meta"][1]     # English names (format 1 has only these)
_REVIEW_NAMES, _META_NAMES = SHEETS["review"], SHEETS["meta"]

_Reject = Reject
_key_list, _key_text, _text = key_list, key_text, text


# -- the import report -----------------------------------------------------------
@dataclass
class ImportReport:
    """What an import did with every row: ``rows_read = applied + unchanged + len(conflicts)
    + len(rejected) + no_decision + withheld``. ``withheld``: valid rows not applied because
    the import is all or nothing and another row was refused or conflicted. ``decisions``:
    the decisions (one per item, or per link) the applied rows made, each stored."""

    file: str
    snapshot_id: int
    digest: str = ""          # sha256 of the file: with the reviewer, the identity of the import
    rows_read: int = 0
    applied: int = 0
    unchanged: int = 0
    conflicts: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    no_decision: int = 0
    problems: list[Problem] = field(default_factory=list)
    withheld: int = 0
    decisions: int = 0
    partial: bool = False
    format_version: int = FORMAT_VERSION
    language: str = DEFAULT_LANG

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.rejected

    @property
    def nothing_applied(self) -> bool:
        """All or nothing, and something was refused: the store is as it was."""
        return not self.partial and not self.ok

    def check_accounting(self) -> None:
        total = (self.applied + self.unchanged + len(self.conflicts) + len(self.rejected) + self.no_decision
                 + self.withheld)
        if self.rows_read != total:
            raise AssertionError(f"{self.file}: rows read {self.rows_read} != applied {self.applied} +"
                                 f" unchanged {self.unchanged} + conflicts {len(self.conflicts)} + rejected"
                                 f" {len(self.rejected)} + no decision {self.no_decision} + withheld {self.withheld}")

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "snapshot_id": self.snapshot_id, "digest": self.digest, "ok": self.ok,
                "format_version": self.format_version, "language": self.language, "partial": self.partial,
                "rows_read": self.rows_read, "applied": self.applied, "unchanged": self.unchanged,
                "conflicts": self.conflicts, "rejected": self.rejected, "no_decision": self.no_decision,
                "withheld": self.withheld, "decisions": self.decisions,
                "problems": [p.as_dict() for p in self.problems]}


# -- the file --------------------------------------------------------------------
def _sheet(book: Book, names: tuple[str, ...]) -> Optional[str]:
    return next((n for n in names if n in book.sheetnames), None)


def _read_metadata(book: Book, path: Path) -> dict[str, str]:
    name = _sheet(book, _META_NAMES)
    if name is None:
        raise CrosswalkError(f"{path}: no {' / '.join(repr(n) for n in _META_NAMES)} sheet, so this is not a"
                             " review workbook exported by `crosswalk review export` (export one from the store)")
    meta: dict[str, str] = {}
    for _, cells in book.rows(name):
        a = cells[0] if cells else None
        if a is not None and isinstance(a[0], str):
            b = cells[1] if len(cells) > 1 else None
            meta[a[0].strip()] = "" if b is None else str(b[0])
    if meta.get("format") != FORMAT:
        raise CrosswalkError(f"{path}: sheet {name!r} does not say format={FORMAT!r}; not a review workbook")
    if not meta.get("format_version", "").isdigit() or int(meta["format_version"]) > FORMAT_VERSION:
        raise CrosswalkError(f"{path}: review workbook format version {meta.get('format_version')!r};"
                             f" this crosswalk reads up to {FORMAT_VERSION} (upgrade crosswalk)")
    if not meta.get("snapshot_id", "").isdigit():
        raise CrosswalkError(f"{path}: sheet {name!r}: snapshot_id {meta.get('snapshot_id')!r}"
                             " is not a number; the metadata was edited")
    meta["_sheet"] = name
    return meta


def _check_store(meta: dict[str, str], store: ReviewStore, path: Path) -> tuple[int, list]:
    """The snapshot the workbook was exported at, and the store's events since."""
    snap = int(meta["snapshot_id"])
    mine = store_identity(store)
    if meta.get("store_id") != mine:
        raise CrosswalkError(
            f"{path}: exported from another store ({meta.get('store_name') or '?'}, id"
            f" {meta.get('store_id')!r}); this store is {Path(str(getattr(store, 'path', ''))).name}"
            f" (id {mine!r}). Import into the store it came from, or export again from this one")
    since = store.events(snap - 1) if snap else store.events(0)
    if snap and (not since or since[0].id != snap):
        last = since[-1].id if since else max((e.id for e in store.events(0)[-1:]), default=0)
        raise CrosswalkError(f"{path}: exported at event {snap} but this store ends at event {last}"
                             " (restored from an older backup?); export again")
    after = [e for e in since if e.id > snap]
    if not after and meta.get("snapshot_checksum") != store.snapshot()[1]:
        raise CrosswalkError(f"{path}: same event {snap} as the store but a different state checksum;"
                             " the workbook does not come from this store's history")
    return snap, after


class _Importer:
    """What importing rows of either format shares: the report, refused rows, the origin of a
    decision, a typed target code; format 1 rows (:mod:`.workbook_v1`) and format 2 rows
    (:class:`_ItemImporter`) are read by its subclasses."""

    def __init__(self, store: ReviewStore, path: Path, reviewer: str, snap: int, sheet: str = REVIEW_SHEET,
                 digest: str = ""):
        self.store, self.path, self.reviewer, self.snap, self.sheet = store, path, reviewer, snap, sheet
        self.digest = digest
        self.report = ImportReport(file=path.name, snapshot_id=snap, digest=digest, format_version=1, language="en")
        self.problems = Report(str(path))
        self.known_codes: dict[str, set[str]] = {}
        self.seen: dict[LinkKey, int] = {}
        self.already: set[str] = set()

    def codes_of(self, scheme: str) -> set[str]:
        if scheme not in self.known_codes:
            self.known_codes[scheme] = self.store.known_codes(scheme)
        return self.known_codes[scheme]

    def column_name(self, column: Optional[str]) -> Optional[str]:
        return column      # format 1: columns are named by their header

    def reject(self, row: int, key: LinkKey | None, r: _Reject) -> None:
        column = self.column_name(r.column)
        self.problems.error(r.kind, r.message, sheet=self.sheet, row=row, column=column, value=r.value)
        self.report.rejected.append({"row": row, "link": None if key is None else _key_list(key),
                                     "kind": r.kind, "column": column,
                                     "value": None if r.value is None else str(r.value), "reason": r.message})

    def origin_of(self, row: int) -> str:
        """An import is this file's content imported by this reviewer: the origin names the row and
        the file's digest, so another reviewer's file of the same name is another import."""
        return f"workbook:{self.path.name}:{row}@{self.digest[:12]}"

    def new_target(self, key: LinkKey, value: Any) -> str:
        scheme = key.target_scheme
        if isinstance(value, str):
            value = value.strip()
        if value in ("", None):
            raise _Reject("new_target", "new target", None, "decision 'retarget' needs a new target code")
        code, problem, msg = cell_code(scheme, value) if scheme in SCHEMES else (str(value), None, "")
        if problem is not None or code is None:
            raise _Reject("new_target", "new target", value,
                          f"{msg or 'not a code'}; a {scheme} code is {FORMAT_HELP.get(scheme, 'text')}"
                          " (type it in a text cell)")
        if code == key.target_code:
            raise _Reject("new_target", "new target", value, "the new target is the current target")
        if code not in self.codes_of(scheme):
            raise _Reject("unknown_code", "new target", value,
                          f"{scheme} code {code} is in no link and no item of the store (a typo?)")
        return code


class _ItemImporter(_Importer):
    """Format 2 rows (candidates grouped per item) as one decision per item (module docstring)."""

    def __init__(self, store: ReviewStore, path: Path, reviewer: str, snap: int, sheet: str, *, meta: dict,
                 lang: str, after: list, digest: str = ""):
        super().__init__(store, path, reviewer, snap, sheet, digest)
        self.report.format_version, self.report.language = int(meta["format_version"]), lang
        self.checksum = meta.get("snapshot_checksum", "")
        self.say = Say(lang)
        self.lang = lang
        # the origins of decisions this reviewer imported since the export (this file before)
        self.after_origins = {e.origin for e in after if e.reviewer == reviewer}
        self.proposals: dict = {}

    def column_name(self, column: Optional[str]) -> Optional[str]:
        return BY_ID[column].label(self.lang) if column in BY_ID else column

    def imported_before(self, origin: str) -> bool:
        """An event after the snapshot already carries this row's origin: this file was imported."""
        return origin in self.after_origins

    def proposal_of(self, item) -> Optional[str]:
        if item not in self.proposals:
            try:
                p = self.store.item(item).proposal
            except StoreError:
                p = None
            self.proposals[item] = None if p is None else p.key.target_code
        return self.proposals[item]

    def parse_row(self, row: int, key: Optional[LinkKey], cells: dict[str, tuple[Any, str]]):
        say = self.say
        for cid, (value, dtype) in cells.items():
            if dtype == "f":
                raise Reject("formula", cid, value, say("формулы не читаются (и не вычисляются); впишите само"
                                                        " значение", "formula cells are not read (never"
                                                        " evaluated); type the value itself"))
        if key is None:
            raise Reject("key_edited", "link", cells["link"][0], say(
                "скрытая ячейка link пуста или изменена; строки должны быть из выгрузки",
                "the hidden link cell is missing or edited; rows must come from the export"))
        check_key_cells(key, cells, say)
        version, item_version = (_int(cells[c][0]) for c in ("version", "item_version"))
        if version is None or item_version is None or not 0 < version <= item_version <= self.snap \
                or text(cells["check"][0]) != row_check(self.checksum, key, version, item_version):
            raise Reject("key_edited", "check", cells["check"][0], say(
                "скрытые ячейки version, item version или check изменены; строки должны быть из выгрузки",
                "the hidden version, item version or check cell is edited; rows must come from the export"))
        if key in self.seen:
            raise Reject("duplicate_row", "link", key_text(key), say(
                f"та же связь уже в строке {self.seen[key]}; одна строка на связь",
                f"the same link is already in row {self.seen[key]}; one row per link"))
        self.seen[key] = row
        return parse_entry(row, key, cells, version=version, item_version=item_version, say=say,
                           codes_of=self.codes_of)

    def read(self, rows, at: dict[str, int]) -> tuple[list, list[tuple[str, Any]]]:
        """The rows' entries, and (link cell, version) of every row for the rows digest."""
        entries, exported = [], []
        rep = self.report
        edits = [at[c] for c in ("decision", "new_target", "weight", "comment")]
        li, vi = at["link"], at["version"]
        empty = (None, "n")
        for row, cells in rows:
            n = len(cells)
            link = cells[li] if li < n else None
            if row == 1 or link is None and all(c is None or (isinstance(c[0], str) and not c[0].strip())
                                                for c in cells):
                continue   # the header; an empty row is no row
            rep.rows_read += 1
            version = cells[vi] if vi < n and cells[vi] is not None else empty
            exported.append((link[0] if link else None, version[0]))
            if all(i >= n or cells[i] is None or cells[i][0] is None
                   or (isinstance(cells[i][0], str) and not cells[i][0].strip()) for i in edits):
                rep.no_decision += 1     # nothing written in the columns a reviewer fills: nothing to check
                continue
            vals = {cid: (cells[i] if i < n and cells[i] is not None else empty) for cid, i in at.items()}
            key = parse_key_text(vals["link"][0])
            try:
                entry = self.parse_row(row, key, vals)
            except Reject as r:
                self.reject(row, key, r)
                continue
            if entry is None:
                rep.no_decision += 1
            else:
                entries.append(entry)
        return entries, exported

    def units(self, entries: list) -> list[Unit]:
        by_item: dict = {}
        for e in entries:
            by_item.setdefault(e.item, []).append(e)
        units: list[Unit] = []
        for group in by_item.values():
            made, refused = item_units(group, say=self.say, proposal_of=self.proposal_of, origin_of=self.origin_of)
            units += made
            for e, r in refused:
                self.reject(e.row, e.key, r)
        return units

    def apply(self, units: list[Unit], partial: bool) -> None:
        rep = self.report
        if not partial and rep.rejected:
            rep.withheld += sum(len(u.rows) for u in units)
            return
        todo = []
        for u in units:
            if self.imported_before(u.decision.origin):
                rep.unchanged += len(u.rows)
            else:
                todo.append(u)
        items = [u for u in todo if isinstance(u.decision, ItemDecision)]
        links = [u for u in todo if not isinstance(u.decision, ItemDecision)]
        if not partial:   # a link decision already stale: found before anything is written
            stale = [u for u in links if self._link_version(u.decision.key) != u.decision.expected_version]
            if stale:
                for u in stale:
                    self._conflict(u, "link changed since you saw it" if self.lang == "en"
                                   else "связь изменилась после выгрузки")
                rep.withheld += sum(len(u.rows) for u in todo if u not in stale)
                return
        # item decisions and single-candidate verdicts commit together: a crash or a stale link
        # leaves the store as it was (all or nothing), not the items applied without the rest
        try:
            with self.store.transaction():
                ok = self._apply_items(items, partial)
                if ok or partial:
                    if not self._apply_links(links, partial) and not partial and rep.decisions:
                        raise _Undo
                else:
                    rep.withheld += sum(len(u.rows) for u in links)
        except _Undo:
            rep.withheld += rep.applied
            rep.applied = rep.decisions = 0

    def _link_version(self, key: LinkKey) -> Optional[int]:
        try:
            return self.store.get(key).version
        except StoreError:
            return None

    def _conflict(self, u: Unit, reason: str, current=None) -> None:
        d = u.decision
        if current is None and isinstance(d, ItemDecision):
            try:
                current = self.store.item(d.item)
            except StoreError:
                current = None
        elif current is None:
            try:
                current = self.store.get(d.key)
            except StoreError:
                current = None
        for e in u.entries:
            self.report.conflicts.append({
                "row": e.row, "link": key_list(e.key), "decision": e.decision,
                "expected_version": e.item_version if isinstance(d, ItemDecision) else e.version,
                "current_version": None if current is None else current.version,
                "current_status": None if current is None else current.status,
                "changed_by": None if current is None else (getattr(current, "decided_by", None)
                                                            or getattr(current, "updated_by", None)),
                "reason": reason})

    def _outcomes(self, units: list[Unit], result, key_of, partial: bool) -> bool:
        by = {key_of(u.decision): u for u in units}
        rep = self.report
        for d in result.applied:
            rep.applied += len(by[key_of(d)].rows)
            rep.decisions += 1
        for d in result.unchanged:
            rep.unchanged += len(by[key_of(d)].rows)
        for c in result.conflicts:
            self._conflict(by[key_of(c.decision)], c.reason, c.current)
        for d, reason in result.invalid:
            u = by[key_of(d)]
            for e in u.entries:
                self.reject(e.row, e.key, Reject("invalid", "decision", e.raw, reason))
        for d in result.rolled_back:
            rep.withheld += len(by[key_of(d)].rows)
        accounted = len(result)
        if accounted != len(units):
            raise StoreError(f"the store accounted for {accounted} of {len(units)} decisions")
        return not (result.conflicts or result.invalid)

    def _apply_items(self, units: list[Unit], partial: bool) -> bool:
        if not units:
            return True
        result = self.store.decide_items([u.decision for u in units], reviewer=self.reviewer,
                                         all_or_nothing=not partial)
        return self._outcomes(units, result, lambda d: d.item, partial)

    def _apply_links(self, units: list[Unit], partial: bool) -> bool:
        if not units:
            return True
        result = self.store.decide([u.decision for u in units], reviewer=self.reviewer, all_or_nothing=not partial)
        return self._outcomes(units, result, lambda d: d.key, partial)


class _Undo(Exception):
    """Raised inside the import's transaction to undo the item decisions it wrote."""


def _int(value: Any) -> Optional[int]:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def import_workbook(store: ReviewStore, path: str | Path, *, reviewer: str, partial: bool = False,
                    lang: Optional[str] = None) -> ImportReport:
    """Apply the decisions of a review workbook to ``store`` and account for every row.

    All or nothing by default: if any row is refused (its sheet, row, column, value and rule
    are in the report) or conflicts with a change made since the export, nothing is applied;
    ``partial=True`` applies the valid rows. ``lang`` (ru | en) words the messages; by default
    the workbook's own language. Refuses (CrosswalkError) a file that is not a review workbook
    of this store, naming what is missing."""
    path = Path(path)
    if not reviewer or not reviewer.strip():
        raise CrosswalkError("name the reviewer (--reviewer): every decision records who made it")
    if lang is not None and lang not in LANGS:
        raise CrosswalkError(f"language {lang!r}: choose one of {', '.join(LANGS)}")
    digest = _digest(path)
    book = open_book(path)
    try:
        meta = _read_metadata(book, path)
        snap, after = _check_store(meta, store, path)
        if int(meta["format_version"]) < 2:
            from .workbook_v1 import import_v1
            return import_v1(book, store, path, reviewer, snap, meta, partial, digest)
        name = _sheet(book, _REVIEW_NAMES)
        if name is None:
            raise CrosswalkError(f"{path}: no {' / '.join(repr(n) for n in _REVIEW_NAMES)} sheet")
        language = lang or (meta.get("language") if meta.get("language") in LANGS else DEFAULT_LANG)
        header = next(book.rows(name), (0, []))
        at = header_ids([c[0] if c else "" for c in header[1]]) if header[0] == 1 else {}
        missing = [BY_ID[c].label(language) for c in REQUIRED if c not in at]
        if missing:
            raise CrosswalkError(f"{path}: sheet {name!r} lacks the column(s) {', '.join(missing)} in row 1;"
                                 " export a fresh workbook")
        rows = book.rows(name, {i + 1 for i in at.values()})
        imp = _ItemImporter(store, path, reviewer.strip(), snap, name, meta=meta, lang=language, after=after,
                            digest=digest)
        entries, exported = imp.read(rows, at)
    finally:
        book.close()
    rep = imp.report
    rep.partial = partial
    _check_rows(imp, meta, exported)
    imp.apply(imp.units(entries), partial)
    return _finish(imp)


def _check_rows(imp: _Importer, meta: dict, exported: list) -> None:
    rep = imp.report
    digest = (rows_checksum if int(meta["format_version"]) < 2 else rows_digest)(exported)
    if digest != meta.get("rows_sha256") or str(rep.rows_read) != meta.get("row_count"):
        say = getattr(imp, "say", None) or Say("en")
        imp.problems.warning("workbook_changed", say(
            f"строки отличаются от выгрузки (выгружено {meta.get('row_count')}, прочитано {rep.rows_read}):"
            " строки добавлены, удалены или изменены их скрытые ячейки; каждая строка проверена отдельно",
            f"the rows differ from the export ({meta.get('row_count')} rows exported, {rep.rows_read} read):"
            " rows were added, removed or their key/version cells edited; each row was checked on its own"),
            sheet=imp.sheet)


def _finish(imp: _Importer) -> ImportReport:
    rep = imp.report
    rep.conflicts.sort(key=lambda c: c["row"])
    rep.rejected.sort(key=lambda r: r["row"])
    rep.problems = sorted(imp.problems.problems, key=lambda p: (p.row or 0, p.kind))
    rep.check_accounting()
    return rep


def _digest(path: Path) -> str:
    """sha256 of the workbook file: with the reviewer, what identifies one import."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise CrosswalkError(f"{path}: cannot read the workbook ({exc.strerror or exc})") from None
    return h.hexdigest()


__all__ = ["ExportResult", "FORMAT", "FORMAT_VERSION", "ImportReport",
           "META_SHEET", "REVIEW_SHEET", "display_order", "export_workbook", "import_workbook", "link_groups",
           "rows_checksum", "store_identity", "write_review_workbook"]
