"""What every loader shares: the result type and the collector that turns rows into
items while checking duplicates, code formats and parents.

Accounting rule: each data row a loader reads is counted once in ``rows_read`` and
ends either loaded or rejected (exact duplicates are rejected rows: dropped, counted).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

from ..codes import code_level, structural_parent
from ..errors import Report
from ..io.encoding import garbled_reason, may_be_garbled, repair_mojibake
from ..model import Classification, Correspondence, Item, code_sort_key, get_scheme


@dataclass
class LoadResult:
    """A loaded file: the classification or correspondence, and the report."""

    path: str
    data: Union[Classification, Correspondence, None]
    report: Report
    kind: str = "classification"          # or "correspondence"
    extra: dict[str, Any] = field(default_factory=dict)   # e.g. a classification a bridge carries

    @property
    def classification(self) -> Classification:
        if not isinstance(self.data, Classification):
            raise TypeError(f"{self.path} holds a {self.kind}, not a classification")
        return self.data

    @property
    def correspondence(self) -> Correspondence:
        if not isinstance(self.data, Correspondence):
            raise TypeError(f"{self.path} holds a {self.kind}, not a correspondence")
        return self.data


@dataclass
class _Pending:
    item: Item
    row: Optional[int]
    sheet: Optional[str]


class ItemCollector:
    """Collects items row by row; :meth:`build` checks parents and makes the
    :class:`Classification`.

    The loader calls :meth:`read` once per data row, then exactly one of
    :meth:`add` (which may itself reject the row) or :meth:`reject`.
    """

    def __init__(self, report: Report, scheme: str, *, code_column: str = "code",
                 title_column: str = "title"):
        self.report = report
        self.scheme = get_scheme(scheme)
        self.code_column = code_column
        self.title_column = title_column
        self._items: dict[str, _Pending] = {}

    def read(self, n: int = 1) -> None:
        self.report.rows_read += n

    def reject(self, n: int = 1) -> None:
        self.report.rows_rejected += n

    def add(self, code: str, title: str, level: int, parent: Optional[str] = None, *,
            notes: str = "", attrs: Optional[Mapping[str, Any]] = None, row: Optional[int] = None,
            sheet: Optional[str] = None) -> bool:
        """Add one item; returns False (row rejected, problem reported) on a duplicate or a
        title that is garbled beyond certain repair. A title that is UTF-8 text decoded with
        the wrong code page (mojibake) is repaired with a warning when undoing that gives
        clean Cyrillic text."""
        title = self._title(code, title, row=row, sheet=sheet)
        if title is None:
            self.reject()
            return False
        prev = self._items.get(code)
        if prev is not None:
            if prev.item.title == title:
                self.report.warning(
                    "exact_duplicate", f"code {code} repeats row {prev.row} exactly; the repeat is dropped",
                    sheet=sheet, row=row, column=self.code_column, value=code)
            else:
                self.report.error(
                    "duplicate_code", f"code {code} appears in rows {prev.row} and {row} with different"
                    f" titles ({prev.item.title!r} vs {title!r}); row {prev.row} is kept, row {row} rejected",
                    sheet=sheet, row=row, column=self.code_column, value=code)
            self.reject()
            return False
        self._items[code] = _Pending(Item(code, title, level, parent, notes, attrs or {}), row, sheet)
        self.report.rows_loaded += 1
        return True

    def _title(self, code: str, title: str, *, row, sheet) -> Optional[str]:
        if not isinstance(title, str) or not may_be_garbled(title):
            return title
        reason = garbled_reason(title, lookalikes=False)
        if reason is None:
            return title
        where = dict(sheet=sheet, row=row, column=self.title_column)
        fixed = repair_mojibake(title)
        if fixed is not None:
            self.report.warning("mojibake_repaired", f"code {code}: the title is UTF-8 text decoded with the wrong"
                                f" code page; repaired to {fixed!r}", value=title, **where)
            return fixed
        self.report.error("garbled_text", f"code {code}: the title looks garbled ({reason}); row rejected",
                          value=title, **where)
        return None

    def __contains__(self, code: str) -> bool:
        return code in self._items

    def __len__(self) -> int:
        return len(self._items)

    def build(self, *, edition: str = "", language: Optional[str] = None,
              source: str = "") -> Classification:
        """Reject items whose parent is missing (and, in turn, their descendants), then build."""
        items = self._items
        missing: dict[str, str] = {}
        changed = True
        while changed:   # cascade: a rejected parent orphans its children too
            changed = False
            for code in sorted(items, key=code_sort_key):
                p = items[code]
                par = p.item.parent
                if code in missing or par is None:
                    continue
                if par not in items or par in missing:
                    why = (f"its parent {par} was rejected" if par in missing
                           else f"its parent {par} is not in the file")
                    missing[code] = why
                    changed = True
        for code in sorted(missing, key=code_sort_key):
            p = items[code]
            hint = ""
            padded = "0" + code
            if (code[:1].isdigit() and code_level(self.scheme.id, padded) is not None
                    and structural_parent(self.scheme.id, padded) in items):
                hint = f"; a leading zero lost? '{padded}' would fit under {structural_parent(self.scheme.id, padded)}"
            self.report.error("missing_parent", f"item {code} is an orphan: {missing[code]}{hint};"
                              " row rejected", sheet=p.sheet, row=p.row, column=self.code_column,
                              value=code)
            self.report.rows_loaded -= 1
            self.report.rows_rejected += 1
        kept = [p.item for c, p in items.items() if c not in missing]
        return Classification(self.scheme, kept, edition=edition, language=language,
                              source=source)

