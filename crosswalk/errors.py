"""Errors and problem reports.

Library errors derive from :class:`CrosswalkError`; the CLI turns them into
``click.ClickException``.  Input problems are *data*: loaders collect every
:class:`Problem` into a :class:`Report` instead of stopping at the first one.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Optional

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)


class CrosswalkError(Exception):
    """Base class of every error the library raises on purpose."""


class UnknownCodeError(CrosswalkError, KeyError):
    """A code looked up in a classification does not exist there."""

    def __init__(self, code: str, scheme: str, hint: str = ""):
        self.code = code
        self.scheme = scheme
        msg = f"code {code!r} is not in {scheme}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would repr() the message otherwise
        return self.args[0]


class UnknownSchemeError(CrosswalkError):
    """The scheme of a file cannot be detected or is not supported."""


class LoadError(CrosswalkError):
    """A file cannot be read at all (unreadable, wrong format, garbled encoding).

    Carries the :class:`Report` collected so far so callers can still show it.
    """

    def __init__(self, message: str, report: "Optional[Report]" = None):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    ``row`` is 1-based as a user sees it: the line of a CSV file (header is
    line 1), the row of a spreadsheet, the position of an entry in a JSON file.
    """

    kind: str
    severity: str
    message: str
    file: str = ""
    sheet: Optional[str] = None
    row: Optional[int] = None
    column: Optional[str] = None
    value: Optional[str] = None

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        where = [self.file or "<input>"]
        if self.sheet is not None:
            where.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = f"{', '.join(where)}: {self.severity} [{self.kind}] {self.message}"
        if self.value is not None:
            text += f" (value: {self.value!r})"
        return text


@dataclass
class Report:
    """Everything a loader found out about one file.

    Invariant (checked by :meth:`check_accounting`): every row read was either
    loaded or rejected; exact duplicates count as rejected (dropped) rows.
    """

    file: str = ""
    scheme: Optional[str] = None
    encoding: Optional[str] = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    problems: list[Problem] = field(default_factory=list)

    # -- collecting ----------------------------------------------------
    def add(self, kind: str, severity: str, message: str, *, sheet=None, row=None,
            column=None, value=None) -> Problem:
        p = Problem(kind=kind, severity=severity, message=message, file=self.file,
                    sheet=sheet, row=row, column=column, value=None if value is None else shown_value(value))
        self.problems.append(p)
        return p

    def error(self, kind: str, message: str, **where) -> Problem:
        return self.add(kind, ERROR, message, **where)

    def warning(self, kind: str, message: str, **where) -> Problem:
        return self.add(kind, WARNING, message, **where)

    def info(self, kind: str, message: str, **where) -> Problem:
        return self.add(kind, INFO, message, **where)

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    # -- reading -------------------------------------------------------
    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def kinds(self, severity: Optional[str] = None) -> dict[str, int]:
        """Count of problems per kind (optionally of one severity)."""
        out: dict[str, int] = {}
        for p in self.problems:
            if severity is None or p.severity == severity:
                out[p.kind] = out.get(p.kind, 0) + 1
        return dict(sorted(out.items()))

    def of_kind(self, kind: str) -> list[Problem]:
        return [p for p in self.problems if p.kind == kind]

    def flatten(self) -> list[dict[str, Any]]:
        """Problems as plain dicts, the form tests and JSON output use."""
        return [p.as_dict() for p in self.problems]

    def check_accounting(self) -> None:
        if self.rows_read != self.rows_loaded + self.rows_rejected:
            raise AssertionError(
                f"{self.file}: rows read {self.rows_read} != loaded {self.rows_loaded}"
                f" + rejected {self.rows_rejected}")


VALUE_SHOWN = 200     # characters of an offending value a problem keeps: a 20,000-character cell is never echoed


def shown_value(value) -> str:
    """A cell value as a problem shows it: at most VALUE_SHOWN characters, then how long it was."""
    text = str(value)
    if len(text) <= VALUE_SHOWN:
        return text
    return f"{text[:VALUE_SHOWN]}… ({len(text):,} characters)"


def listing(items, shown: int = 10) -> str:
    """The first ``shown`` items for a message, then "(+N more)": problems name what is
    wrong without pasting thousands of codes."""
    items = list(items)
    more = f" (+{len(items) - shown} more)" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more
