"""The review workbook round trip: export links to an xlsx reviewers fill in, import
their decisions back into the :class:`ReviewStore`.

Sheet «Review», one row per link: the link (schemes, codes, titles), what the matcher
saw (score, evidence), its cardinality group, its current state, then the columns a
reviewer edits (decision from a drop-down, new target, weight, comment) and two hidden
columns the importer needs: the link key and its version (the id of the event the
reviewer saw; a decision made against an older version is a conflict, never applied).
Sheet «Metadata»: which store and snapshot the rows come from, and a sha256 of the
sorted (key, version) list, so an importer can tell rows were added, removed or edited.

The file is safe to open: every cell is a value (never a formula), codes are text
(``0110`` keeps its zero), text that a spreadsheet would run (``= + - @``, control
characters) is escaped with :func:`crosswalk.candidates.sheet_safe`, characters XML
cannot hold are replaced and reported. Importing reads values only: a formula a
reviewer typed is rejected, never evaluated.
"""
from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import networkx as nx

from ..candidates import atomic_write, sheet_safe
from ..codes import FORMAT_HELP, cell_code
from ..errors import CrosswalkError, Problem, Report
from ..model import SCHEMES, code_sort_key
from .store import Decision, LinkKey, LinkState, ReviewStore, StoreError

FORMAT = "crosswalk-review-workbook"
FORMAT_VERSION = 1
REVIEW_SHEET = "Review"
META_SHEET = "Metadata"
DECISIONS = ("confirm", "reject", "retarget", "weight", "comment")
_WEIGHTED = ("confirm", "retarget", "weight")   # a split weight only on a link that is kept
_MAX_CELL = 32767             # Excel's limit on the characters of a cell

# (header, width, hidden); the importer finds columns by header, so reordering is harmless
COLUMNS = (
    ("source scheme", 9, False), ("source code", 11, False), ("source title", 40, False),
    ("data rows", 9, False),
    ("target scheme", 9, False), ("target code", 11, False), ("target title", 40, False),
    ("score", 7, False), ("evidence", 32, False), ("group", 7, False), ("cardinality", 10, False),
    ("status", 10, False), ("last change", 22, False), ("weight now", 8, False),
    ("comment now", 24, False),
    ("decision", 11, False), ("new target", 11, False), ("weight", 8, False), ("comment", 40, False),
    ("link", 12, True), ("version", 8, True),
)
HEADERS = tuple(c[0] for c in COLUMNS)
EDITABLE = ("decision", "new target", "weight", "comment")
# shown for the reviewer, never read back: a workbook exported before they existed imports too
INFORMATIVE = ("data rows",)
_COL = {h: i + 1 for i, h in enumerate(HEADERS)}

_HEADER_FILL, _EDIT_FILL = "D9D9D9", "DDEBF7"
_BANDS = ((0.8, "C6EFCE"), (0.5, "FFEB9C"), (0.0, "FFC7CE"))   # score ≥ bound → fill


def _letter(col: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(col)


# -- identity and checksums ------------------------------------------------------
def store_identity(store: ReviewStore) -> str:
    """An id that stays with a store file (moved or renamed) and differs between two
    stores: the store's own ``store_id`` if it has one, else a hash of its first event."""
    own = getattr(store, "store_id", None)
    if own:
        return str(own)
    first = next(iter(store.events(0)), None)
    if first is None:
        return "empty"
    key = None if first.key is None else [first.key.source_scheme, first.key.source_code,
                                          first.key.target_scheme, first.key.target_code]
    blob = json.dumps([first.id, first.ts, first.reviewer, first.action, key, first.payload],
                      sort_keys=True, ensure_ascii=False, default=str)
    return "first-event:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def _key_list(key: LinkKey) -> list[str]:
    return [key.source_scheme, key.source_code, key.target_scheme, key.target_code]


def _key_text(key: LinkKey) -> str:
    return json.dumps(_key_list(key), ensure_ascii=False, separators=(",", ":"))


def rows_checksum(pairs: Iterable[tuple[LinkKey, int]]) -> str:
    """sha256 of the sorted (key, version) list: row order (a reviewer sorting) does not count."""
    lines = sorted(json.dumps(_key_list(k) + [v], ensure_ascii=False) for k, v in pairs)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


# -- cardinality -----------------------------------------------------------------
def _kind(n_sources: int, n_targets: int) -> str:
    return {(True, True): "1:1", (True, False): "1:n", (False, True): "n:1",
            (False, False): "n:m"}[n_sources == 1, n_targets == 1]


def link_groups(links: Iterable[LinkState]) -> dict[LinkKey, tuple[int, str]]:
    """LinkKey -> (group number, 1:1/1:n/n:1/n:m or "alternative").

    The groups are the connected components (per scheme pair) of the correspondence the
    links stand for now: each source's confirmed links, or, for a source with none, its
    best-scoring pending link. All pending candidates together would tie everything into
    one n:m knot. A source's other pending links are its "alternative"s and carry its
    group number, so filtering on a group shows them too; rejected links have no group.
    Groups are numbered in key order of their first link, so the numbering is stable."""
    by_source: dict[tuple, list[LinkState]] = {}
    for ln in sorted(links, key=lambda ln: _sort_key(ln.key)):
        if ln.status != "rejected":
            k = ln.key
            by_source.setdefault((k.source_scheme, k.target_scheme, k.source_code), []).append(ln)
    kept: list[LinkState] = []
    for lns in by_source.values():
        confirmed = [ln for ln in lns if ln.status == "confirmed"]
        kept += confirmed or [min(lns, key=lambda ln: -1.0 if ln.score is None else -ln.score)]
    g = nx.Graph()
    for ln in kept:
        k = ln.key
        g.add_edge(("s", k.source_scheme, k.target_scheme, k.source_code),
                   ("t", k.source_scheme, k.target_scheme, k.target_code))
    comp_of: dict[tuple, int] = {}
    kinds: list[str] = []
    for comp in nx.connected_components(g):
        n_s = sum(1 for node in comp if node[0] == "s")
        kinds.append(_kind(n_s, len(comp) - n_s))
        comp_of.update((node, len(kinds) - 1) for node in comp)
    number: dict[int, int] = {}
    out: dict[LinkKey, tuple[int, str]] = {}
    kept_keys = {ln.key for ln in kept}
    for source, lns in by_source.items():   # key order
        c = comp_of[("s", *source)]
        number.setdefault(c, len(number) + 1)
        for ln in lns:
            out[ln.key] = (number[c], kinds[c] if ln.key in kept_keys else "alternative")
    return out


def _sort_key(k: LinkKey) -> tuple:
    return (k.source_scheme, k.target_scheme, code_sort_key(k.source_code), code_sort_key(k.target_code))


# -- export ----------------------------------------------------------------------
class _Writer:
    """Puts values into cells safely and collects warnings about what it had to change."""

    def __init__(self, file: str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        self.illegal = ILLEGAL_CHARACTERS_RE
        self.report = Report(file)
        self.changed: list[str] = []   # cells written other than given, as Sheet!A1

    def put(self, ws, row: int, col: int, value: Any, *, fmt: str | None = None):
        cell = ws.cell(row=row, column=col)
        if isinstance(value, str):
            clean = self.illegal.sub("\ufffd", value)
            name = HEADERS[col - 1] if ws.title == REVIEW_SHEET else ("key", "value")[col - 1]
            where = {"sheet": ws.title, "row": row, "column": name}
            if clean != value:
                self.changed.append(f"{ws.title}!{_letter(col)}{row}")
                self.report.warning("illegal_xml_character",
                                    f"{ws.title}!{_letter(col)}{row}: characters XML cannot hold"
                                    " (control characters) replaced by \ufffd", value=repr(value), **where)
            value = sheet_safe(clean)
            if len(value) > _MAX_CELL:
                self.changed.append(f"{ws.title}!{_letter(col)}{row}")
                self.report.warning("cell_too_long", f"{ws.title}!{_letter(col)}{row}: text cut to"
                                    f" {_MAX_CELL} characters (Excel's limit)", value=value[:60] + "…", **where)
                value = value[:_MAX_CELL]
            cell.value = value
            cell.data_type = "s"   # never a formula or an error value such as "#N/A"
            cell.number_format = "@"
        else:
            cell.value = value
        if fmt:
            cell.number_format = fmt
        return cell


def _evidence_text(evidence: dict) -> str:
    """'structure 1.00; title_tokens 0.81': strongest signal first."""
    items = sorted(evidence.items(), key=lambda kv: (-float(kv[1]), kv[0]))
    return "; ".join(f"{k} {float(v):.2f}" for k, v in items)


@dataclass
class ExportResult:
    path: Path
    rows: int
    snapshot_id: int
    problems: list[Problem] = field(default_factory=list)   # cells that had to be changed


def export_workbook(store: ReviewStore, path: str | Path, *, source_scheme: str | None = None,
                    target_scheme: str | None = None, status: str | None = None,
                    relations: dict | None = None, problems: list | None = None,
                    overwrite: bool = False) -> Path:
    """Write the links of ``store`` (optionally of one scheme pair / one status) as a review
    workbook at ``path`` (atomically) and return the path.

    ``relations`` (LinkKey or (source code, target code) -> "1:n", …) overrides the
    cardinality computed from the store's links. Warnings about cells that had to be
    changed (illegal XML characters, over-long text) are appended to ``problems`` as
    :class:`Problem` and listed on the Metadata sheet. An existing file is replaced only
    with ``overwrite`` (it may hold a reviewer's unimported decisions).
    """
    res = write_review_workbook(store, path, source_scheme=source_scheme, target_scheme=target_scheme,
                                status=status, relations=relations, overwrite=overwrite)
    if problems is not None:
        problems.extend(res.problems)
    return res.path


def write_review_workbook(store: ReviewStore, path: str | Path, *, source_scheme: str | None = None,
                          target_scheme: str | None = None, status: str | None = None,
                          relations: dict | None = None, overwrite: bool = False) -> ExportResult:
    """:func:`export_workbook`, returning the row count, snapshot and warnings too."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise CrosswalkError(f"{path}: a review workbook is an .xlsx file")
    if not path.parent.is_dir():
        raise CrosswalkError(f"{path}: folder {path.parent} does not exist")
    if path.exists() and not overwrite:
        raise CrosswalkError(f"{path} exists and may hold decisions not imported yet; import it first,"
                             " choose another name, or overwrite it (--force)")
    for _ in range(5):   # the rows must be exactly the snapshot's: nothing committed in between
        snapshot_id, checksum = store.snapshot()
        links = store.links(source_scheme=source_scheme, target_scheme=target_scheme, status=status)
        if store.snapshot()[0] == snapshot_id:
            break
    else:
        raise CrosswalkError(f"{getattr(store, 'path', 'the review store')}: kept changing while it was"
                             " read for the workbook; export again")
    # cardinality from every live link of the pairs shown, not only the filtered ones
    everything = links if status is None else [
        ln for pair in sorted({(ln.key.source_scheme, ln.key.target_scheme) for ln in links})
        for ln in store.links(source_scheme=pair[0], target_scheme=pair[1])]
    groups = link_groups(everything)
    text_rows = store.text_rows() if any(ln.key.source_scheme == "text" for ln in links) else {}

    w = _Writer(path.name)
    wb = Workbook()
    ws = wb.active
    ws.title = REVIEW_SHEET
    bold = Font(bold=True)
    for col, (header, width, hidden) in enumerate(COLUMNS, 1):
        c = w.put(ws, 1, col, header)
        c.font = bold
        c.fill = PatternFill("solid", fgColor=_EDIT_FILL if header in EDITABLE else _HEADER_FILL)
        c.alignment = Alignment(wrap_text=True, vertical="top")
        dim = ws.column_dimensions[_letter(col)]
        dim.width = width
        dim.hidden = hidden
    fills = {bound: PatternFill("solid", fgColor=color) for bound, color in _BANDS}

    for row, ln in enumerate(links, 2):
        k = ln.key
        group, kind = groups.get(k, (None, ""))
        if relations:
            kind = relations.get(k, relations.get((k.source_code, k.target_code), kind))
        values = {
            "source scheme": k.source_scheme, "source code": k.source_code, "source title": ln.source_title,
            "target scheme": k.target_scheme, "target code": k.target_code, "target title": ln.target_title,
            "evidence": _evidence_text(ln.evidence or {}), "cardinality": kind, "status": ln.status,
            "last change": f"{ln.updated_by} {ln.updated_at}".strip(), "comment now": ln.comment or "",
            "link": _key_text(k),
        }
        for header, value in values.items():
            w.put(ws, row, _COL[header], value)
        if ln.score is not None:
            c = w.put(ws, row, _COL["score"], float(ln.score), fmt="0.00")
            c.fill = next(f for bound, f in fills.items() if ln.score >= bound)
        if group is not None:
            w.put(ws, row, _COL["group"], group)
        if k.source_scheme == "text":      # how many data rows the free-text title covers
            w.put(ws, row, _COL["data rows"], int(text_rows.get(k.source_code, 0)))
        if ln.weight is not None:
            w.put(ws, row, _COL["weight now"], float(ln.weight), fmt="0.00")
        w.put(ws, row, _COL["version"], int(ln.version))
        for header in ("new target", "comment"):   # typed codes stay text: 0110 keeps its zero
            ws.cell(row=row, column=_COL[header]).number_format = "@"

    last = len(links) + 1
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{_letter(len(COLUMNS))}{last}"
    if links:
        dv = DataValidation(type="list", formula1='"' + ",".join(DECISIONS) + '"', allow_blank=True,
                            showErrorMessage=True, errorTitle="decision",
                            error="Choose " + ", ".join(DECISIONS) + " or leave it blank.")
        dv.add(f"{_letter(_COL['decision'])}2:{_letter(_COL['decision'])}{last}")
        wv = DataValidation(type="decimal", operator="between", formula1="0", formula2="1",
                            allow_blank=True, showErrorMessage=True, errorTitle="weight",
                            error="A weight is a number from 0 to 1.")
        wv.add(f"{_letter(_COL['weight'])}2:{_letter(_COL['weight'])}{last}")
        ws.add_data_validation(dv)
        ws.add_data_validation(wv)

    exported_at = datetime.now(timezone.utc).replace(microsecond=0)
    meta = {
        "format": FORMAT, "format_version": str(FORMAT_VERSION),
        "store_id": store_identity(store),
        "store_name": Path(str(getattr(store, "path", ""))).name,
        "store_path": str(Path(str(getattr(store, "path", ""))).resolve()),
        "snapshot_id": str(snapshot_id), "snapshot_checksum": checksum,
        "exported_at": exported_at.isoformat().replace("+00:00", "Z"),
        "filters": json.dumps({"source_scheme": source_scheme, "target_scheme": target_scheme,
                               "status": status}, sort_keys=True),
        "row_count": str(len(links)),
        "rows_sha256": rows_checksum((ln.key, ln.version) for ln in links),
        "tool_version": _tool_version(),
        "decisions": ", ".join(DECISIONS),
        "warnings": ("cells changed to be safe: " + ", ".join(w.changed)) if w.changed else "none",
    }
    ms = wb.create_sheet(META_SHEET)
    for row, (k, v) in enumerate(meta.items(), 1):
        w.put(ms, row, 1, k).font = bold
        w.put(ms, row, 2, v)
    ms.column_dimensions["A"].width = 20
    ms.column_dimensions["B"].width = 70
    ms.protection.sheet = True   # no password: a reminder, the importer checks the values anyway
    wb.properties.creator = "crosswalk"
    wb.properties.created = wb.properties.modified = exported_at.replace(tzinfo=None)

    buf = io.BytesIO()
    wb.save(buf)
    atomic_write(path, buf.getvalue())
    return ExportResult(path, len(links), snapshot_id, list(w.report.problems))


def _tool_version() -> str:
    from .. import __version__
    return f"crosswalk {__version__}"


# -- import ----------------------------------------------------------------------
@dataclass
class ImportReport:
    """What an import did with every row: ``rows_read = applied + unchanged +
    len(conflicts) + len(rejected) + no_decision``."""

    file: str
    snapshot_id: int
    rows_read: int = 0
    applied: int = 0
    unchanged: int = 0
    conflicts: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    no_decision: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.rejected

    def check_accounting(self) -> None:
        total = self.applied + self.unchanged + len(self.conflicts) + len(self.rejected) + self.no_decision
        if self.rows_read != total:
            raise AssertionError(f"{self.file}: rows read {self.rows_read} != applied {self.applied} +"
                                 f" unchanged {self.unchanged} + conflicts {len(self.conflicts)} + rejected"
                                 f" {len(self.rejected)} + no decision {self.no_decision}")

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "snapshot_id": self.snapshot_id, "ok": self.ok,
                "rows_read": self.rows_read, "applied": self.applied, "unchanged": self.unchanged,
                "conflicts": self.conflicts, "rejected": self.rejected, "no_decision": self.no_decision,
                "problems": [p.as_dict() for p in self.problems]}


class _Reject(Exception):
    """One row cannot be applied; carries where and why."""

    def __init__(self, kind: str, column: str | None, value: Any, message: str):
        super().__init__(message)
        self.kind, self.column, self.value, self.message = kind, column, value, message


def _read_metadata(wb, path: Path) -> dict[str, str]:
    if META_SHEET not in wb.sheetnames:
        raise CrosswalkError(f"{path}: no {META_SHEET!r} sheet, so this is not a review workbook"
                             " exported by `crosswalk review export` (export one from the store)")
    meta: dict[str, str] = {}
    for row in wb[META_SHEET].iter_rows(min_row=1, max_col=2, values_only=True):
        if row and isinstance(row[0], str):
            meta[row[0].strip()] = "" if row[1] is None else str(row[1])
    if meta.get("format") != FORMAT:
        raise CrosswalkError(f"{path}: sheet {META_SHEET!r} does not say format={FORMAT!r};"
                             " not a review workbook")
    if not meta.get("format_version", "").isdigit() or int(meta["format_version"]) > FORMAT_VERSION:
        raise CrosswalkError(f"{path}: review workbook format version {meta.get('format_version')!r};"
                             f" this crosswalk reads up to {FORMAT_VERSION} (upgrade crosswalk)")
    if not meta.get("snapshot_id", "").isdigit():
        raise CrosswalkError(f"{path}: sheet {META_SHEET!r}: snapshot_id {meta.get('snapshot_id')!r}"
                             " is not a number; the metadata was edited")
    return meta


def _check_store(meta: dict[str, str], store: ReviewStore, path: Path) -> int:
    snap = int(meta["snapshot_id"])
    mine = store_identity(store)
    if meta.get("store_id") != mine:
        raise CrosswalkError(
            f"{path}: exported from another store ({meta.get('store_name') or '?'}, id"
            f" {meta.get('store_id')!r}); this store is {Path(str(getattr(store, 'path', ''))).name}"
            f" (id {mine!r}). Import into the store it came from, or export again from this one")
    last, checksum = store.snapshot()
    if snap > last:
        raise CrosswalkError(f"{path}: exported at event {snap} but this store ends at event {last}"
                             " (restored from an older backup?); export again")
    if snap == last and meta.get("snapshot_checksum") != checksum:
        raise CrosswalkError(f"{path}: same event {snap} as the store but a different state checksum;"
                             " the workbook does not come from this store's history")
    return snap


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _weight(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    raw = value
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))   # 0,5 from a Russian locale
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise _Reject("weight", "weight", raw, "weight must be a number from 0 to 1")
    return float(value)


class _Importer:
    def __init__(self, store: ReviewStore, path: Path, reviewer: str, snap: int):
        self.store, self.path, self.reviewer, self.snap = store, path, reviewer, snap
        self.report = ImportReport(file=path.name, snapshot_id=snap)
        self.problems = Report(str(path))
        self.known_codes: dict[str, set[str]] = {}
        self.seen: dict[LinkKey, int] = {}
        self.already: set[str] = set()

    def codes_of(self, scheme: str) -> set[str]:
        if scheme not in self.known_codes:
            self.known_codes[scheme] = self.store.known_codes(scheme)
        return self.known_codes[scheme]

    def reject(self, row: int, key: LinkKey | None, r: _Reject) -> None:
        self.problems.error(r.kind, r.message, sheet=REVIEW_SHEET, row=row, column=r.column,
                            value=r.value)
        self.report.rejected.append({"row": row, "link": None if key is None else _key_list(key),
                                     "kind": r.kind, "column": r.column,
                                     "value": None if r.value is None else str(r.value), "reason": r.message})

    @staticmethod
    def row_key(cells: dict[str, Any]) -> LinkKey | None:
        """The link of the row, from its hidden link cell (None: missing or edited)."""
        raw = cells["link"][0]
        try:
            parts = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            return None
        ok = isinstance(parts, list) and len(parts) == 4 and all(isinstance(x, str) for x in parts)
        return LinkKey(*parts) if ok else None

    def parse(self, row: int, key: LinkKey | None, cells: dict[str, Any]) -> Decision | None:
        """The row's decision (None: no decision), or _Reject with the first problem found.
        A decision this row already made in an earlier import is noted in ``self.already``."""
        for header, (value, dtype) in cells.items():
            if dtype == "f":
                raise _Reject("formula", header, value, "formula cells are not read (never evaluated);"
                              " type the value itself")
        if key is None:
            raise _Reject("key_edited", "link", cells["link"][0], "the hidden link cell is missing or"
                          " edited; rows must come from the export")
        for header, part in zip(("source scheme", "source code", "target scheme", "target code"),
                                _key_list(key)):
            if cells[header][0] != sheet_safe(part):
                raise _Reject("key_edited", header, cells[header][0],
                              f"key columns must not be edited (exported {part!r}); to point the link"
                              " elsewhere choose 'retarget' and fill 'new target'")
        version = cells["version"][0]
        if isinstance(version, float) and version.is_integer():
            version = int(version)
        if isinstance(version, bool) or not isinstance(version, int) or not 0 < version <= self.snap:
            raise _Reject("key_edited", "version", version, "the hidden version cell is edited;"
                          f" it must be the event id exported (≤ snapshot {self.snap})")
        if key in self.seen:
            raise _Reject("duplicate_row", "link", _key_text(key),
                          f"the same link is already in row {self.seen[key]}; one row per link")
        self.seen[key] = row

        action = _text(cells["decision"][0]).lower()
        raw_target = cells["new target"][0]
        comment = _text(cells["comment"][0])
        if not action:
            filled = [h for h in ("new target", "weight", "comment") if _text(cells[h][0])]
            if filled:
                raise _Reject("decision_missing", "decision", None,
                              f"{', '.join(filled)} filled but no decision; choose one of {', '.join(DECISIONS)}")
            return None
        if action not in DECISIONS:
            raise _Reject("decision", "decision", cells["decision"][0],
                          f"unknown decision; choose one of {', '.join(DECISIONS)} or leave it blank")
        weight = _weight(cells["weight"][0])
        if action == "weight" and weight is None:
            raise _Reject("weight", "weight", None, "decision 'weight' needs a weight from 0 to 1")
        if weight is not None and action not in _WEIGHTED:
            raise _Reject("weight", "weight", cells["weight"][0],
                          f"a weight goes with the decisions {', '.join(_WEIGHTED)}, not {action}")
        if action == "comment" and not comment:
            raise _Reject("comment", "comment", None, "decision 'comment' needs a comment")
        target = None
        if action == "retarget":
            target = self.new_target(key, raw_target)
        elif _text(raw_target):
            raise _Reject("new_target", "new target", raw_target,
                          "a new target is read only with the decision 'retarget'")
        try:
            self.store.get(key)
        except StoreError:
            raise _Reject("unknown_link", "link", _key_text(key), "this link is not in the store") from None
        history = self.store.history(key)
        # the link's version then: its last event up to the snapshot (a second review leaves it)
        exported = max((e.id for e in history if e.id <= self.snap and e.action != "second_review"),
                       default=None)
        if exported != version:
            raise _Reject("key_edited", "version", version, "the hidden version cell is edited: the link"
                          f" was at version {exported} when exported")
        origin = f"workbook:{self.path.name}:{row}"
        decision = Decision(key=key, action=action, expected_version=version, new_target=target,
                            weight=weight, comment=comment or None, origin=origin)
        # imported before: an event after the snapshot already carries this row's origin
        if any(e.id > self.snap and e.origin == origin and e.action == action for e in history):
            self.already.add(origin)
        return decision

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


def import_workbook(store: ReviewStore, path: str | Path, *, reviewer: str) -> ImportReport:
    """Apply the decisions of a review workbook to ``store`` (one transaction) and account
    for every row. Refuses (CrosswalkError) a file that is not a review workbook of this store."""
    from ..io.xlsx import guarded, open_workbook   # the bounded reader: size, ratio, cells, XML bombs

    path = Path(path)
    if not reviewer or not reviewer.strip():
        raise CrosswalkError("name the reviewer (--reviewer): every decision records who made it")
    wb = open_workbook(path, Report(file=str(path)))
    try:
        meta = _read_metadata(wb, path)
        snap = _check_store(meta, store, path)
        if REVIEW_SHEET not in wb.sheetnames:
            raise CrosswalkError(f"{path}: no {REVIEW_SHEET!r} sheet")
        ws = wb[REVIEW_SHEET]
        ws.reset_dimensions()   # read every row, whatever the file claims its size is
        rows = guarded(ws.iter_rows(min_row=1), Report(file=str(path)), REVIEW_SHEET)
        header = [_text(c.value).lower() for c in next(rows, ())]
        missing = [h for h in HEADERS if h not in header and h not in INFORMATIVE]
        if missing:
            raise CrosswalkError(f"{path}: sheet {REVIEW_SHEET!r} lacks the column(s) {', '.join(missing)}"
                                 " in row 1; export a fresh workbook")
        at = {h: header.index(h) for h in HEADERS if h not in INFORMATIVE}
        imp = _Importer(store, path, reviewer, snap)
        rep = imp.report
        pending: list[tuple[int, Decision]] = []
        exported: list[tuple[LinkKey, int]] = []
        for row, cells in enumerate(rows, 2):
            if all(c.value is None or (isinstance(c.value, str) and not c.value.strip()) for c in cells):
                continue   # an empty row is no row
            vals = {h: ((cells[i].value, getattr(cells[i], "data_type", "n")) if i < len(cells) else (None, "n"))
                    for h, i in at.items()}
            rep.rows_read += 1
            key = imp.row_key(vals)
            if key is not None:
                v = vals["version"][0]
                exported.append((key, int(v) if isinstance(v, float) and v.is_integer() else v))
            try:
                decision = imp.parse(row, key, vals)
            except _Reject as r:
                imp.reject(row, key, r)
                continue
            if decision is None:
                rep.no_decision += 1
            elif decision.origin in imp.already:
                rep.unchanged += 1
            else:
                pending.append((row, decision))
    finally:
        wb.close()

    if rows_checksum(exported) != meta.get("rows_sha256") or str(rep.rows_read) != meta.get("row_count"):
        imp.problems.warning("workbook_changed",
                             f"the rows differ from the export ({meta.get('row_count')} rows exported,"
                             f" {rep.rows_read} read): rows were added, removed or their key/version cells"
                             " edited; each row was checked on its own",
                             sheet=REVIEW_SHEET)
    if pending:
        by_origin = {d.origin: row for row, d in pending}
        result = store.decide([d for _, d in pending], reviewer=reviewer)
        rep.applied += len(result.applied)
        rep.unchanged += len(result.unchanged)
        for c in result.conflicts:
            cur = c.current
            rep.conflicts.append({"row": by_origin[c.decision.origin], "link": _key_list(c.decision.key),
                                  "decision": c.decision.action, "expected_version": c.decision.expected_version,
                                  "current_version": None if cur is None else cur.version,
                                  "current_status": None if cur is None else cur.status,
                                  "changed_by": None if cur is None else cur.updated_by,
                                  "reason": c.reason})
        for d, reason in result.invalid:
            imp.reject(by_origin[d.origin], d.key, _Reject("invalid", "decision", d.action, reason))
        accounted = len(result.applied) + len(result.unchanged) + len(result.conflicts) + len(result.invalid)
        if accounted != len(pending):
            raise StoreError(f"store.decide accounted for {accounted} of {len(pending)} decisions")
    rep.conflicts.sort(key=lambda c: c["row"])
    rep.rejected.sort(key=lambda r: r["row"])
    rep.problems = sorted(imp.problems.problems, key=lambda p: (p.row or 0, p.kind))
    rep.check_accounting()
    return rep
