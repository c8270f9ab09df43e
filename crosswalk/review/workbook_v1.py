"""Review workbooks of format 1 (a row per link, English headers, link decisions), exported before
the item-centred layout: they still import, as the link decisions they hold."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..candidates import sheet_safe
from ..errors import CrosswalkError
from .store import Decision, LinkKey, ReviewStore, StoreError
from .workbook import (REVIEW_SHEET, ImportReport, _check_rows, _finish, _Importer, _int, _key_list, _key_text,
                       _Reject, _text)
from .workbook_read import Book

# format 1: a row per link, English headers, link decisions
DECISIONS = ("confirm", "reject", "retarget", "weight", "comment")
_WEIGHTED = ("confirm", "retarget", "weight")   # a split weight only on a link that is kept
HEADERS = ("source scheme", "source code", "source title", "data rows", "target scheme", "target code",
           "target title", "score", "evidence", "group", "cardinality", "status", "last change", "weight now",
           "comment now", "decision", "new target", "weight", "comment", "link", "version")
# shown for the reviewer, never read back: a workbook exported before they existed imports too
INFORMATIVE = ("data rows",)


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


class LinkImporter(_Importer):
    """Format 1 rows as link decisions."""

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
        # a retarget is checked against the new target's link too, as it was at the snapshot
        target_version = None
        if target is not None:
            new_key = LinkKey(key.source_scheme, key.source_code, key.target_scheme, target)
            target_version = max((e.id for e in self.store.history(new_key)
                                  if e.id <= self.snap and e.action != "second_review"), default=None)
        origin = self.origin_of(row)
        decision = Decision(key=key, action=action, expected_version=version, new_target=target,
                            weight=weight, comment=comment or None, origin=origin,
                            target_version=target_version)
        # imported before: an event after the snapshot by this reviewer carries this row's origin
        if any(e.id > self.snap and e.origin == origin and e.action == action and e.reviewer == self.reviewer
               for e in history):
            self.already.add(origin)
        return decision


def import_v1(book: Book, store: ReviewStore, path: Path, reviewer: str, snap: int, meta: dict,
               partial: bool, digest: str = "") -> ImportReport:
    """A format 1 workbook (a row per link): its link decisions, as they were made."""
    if REVIEW_SHEET not in book.sheetnames:
        raise CrosswalkError(f"{path}: no {REVIEW_SHEET!r} sheet")
    rows = book.rows(REVIEW_SHEET)
    first = next(rows, (0, []))
    header = [_text(c[0]).lower() if c else "" for c in first[1]] if first[0] == 1 else []
    missing = [h for h in HEADERS if h not in header and h not in INFORMATIVE]
    if missing:
        raise CrosswalkError(f"{path}: sheet {REVIEW_SHEET!r} (a workbook of format 1) lacks the column(s)"
                             f" {', '.join(missing)} in row 1; export a fresh workbook")
    at = {h: header.index(h) for h in HEADERS if h not in INFORMATIVE}
    imp = LinkImporter(store, path, reviewer.strip(), snap, digest=digest)
    rep = imp.report
    rep.partial = partial
    pending: list[tuple[int, Decision]] = []
    exported: list[tuple[LinkKey, int]] = []
    for row, cells in rows:
        if all(c is None or (isinstance(c[0], str) and not c[0].strip()) for c in cells):
            continue   # an empty row is no row
        vals = {h: (cells[i] if i < len(cells) and cells[i] is not None else (None, "n")) for h, i in at.items()}
        rep.rows_read += 1
        key = imp.row_key(vals)
        if key is not None:
            exported.append((key, _int(vals["version"][0])))
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
    _check_rows(imp, meta, exported)
    if pending and rep.rejected and not partial:
        rep.withheld += len(pending)
    elif pending:
        by_origin = {d.origin: row for row, d in pending}
        result = store.decide([d for _, d in pending], reviewer=reviewer, all_or_nothing=not partial)
        rep.applied += len(result.applied)
        rep.decisions += len(result.applied)
        rep.unchanged += len(result.unchanged)
        rep.withheld += len(result.rolled_back)
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
        if len(result) != len(pending):
            raise StoreError(f"store.decide accounted for {len(result)} of {len(pending)} decisions")
    return _finish(imp)
