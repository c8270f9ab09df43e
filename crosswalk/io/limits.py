"""Limits on what one input file may make the tool do: every reader of user files checks
them, so a small hostile file (a zip bomb, a 200 MB line, JSON nested ten thousand deep)
is refused with a clear error naming the file and the limit instead of taking gigabytes
or minutes.

The defaults are far above what real classification tables and data files hold (the
largest reference JSON string is 5,422 characters, its deepest nesting 5 levels; Excel
itself caps a cell at 32,767 characters). A genuine file past a limit can be read by
raising it through the environment variable the error names.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields

from ..errors import LoadError, Report

MiB = 2**20


@dataclass(frozen=True)
class Limits:
    unpacked_mb: int = 256        # total inflated size of the parts of a zip container (xlsx)
    ratio: int = 100              # inflated / compressed size of any part larger than 1 MiB
    parts: int = 10_000           # entries of a zip container
    cell_chars: int = 32_767      # characters of one cell, string or JSON value (Excel's own limit)
    line_bytes: int = 1 * MiB     # bytes of one physical line of a delimited text file
    text_mb: int = 256            # size of a text file read into memory (CSV, JSON)
    rows: int = 2_000_000         # rows (lines, sheet rows, records) of one file read into memory
    cells: int = 20_000_000       # cells of a sheet (each row counted to its last cell)
    json_depth: int = 64          # nesting of JSON arrays and objects
    json_values: int = 5_000_000  # values (and containers) of one JSON document

    @property
    def unpacked_bytes(self) -> int:
        return self.unpacked_mb * MiB

    @property
    def text_bytes(self) -> int:
        return self.text_mb * MiB


ENV = {f.name: "CROSSWALK_MAX_" + f.name.upper() for f in fields(Limits)}


def current() -> Limits:
    """The limits in force: the defaults, each overridable by its environment variable
    (``CROSSWALK_MAX_ROWS=5000000``); read at every call so a test or a wrapper script may
    change them."""
    given = {}
    for name, var in ENV.items():
        raw = os.environ.get(var)
        if raw is None or not raw.strip():
            continue
        try:
            value = int(raw.replace("_", ""))
        except ValueError:
            value = 0
        if value <= 0:
            from ..errors import CrosswalkError
            raise CrosswalkError(f"{var}={raw!r}: give a positive whole number")
        given[name] = value
    return Limits(**given)


def refuse(report: Report, limit: str, message: str, **where) -> LoadError:
    """Record a ``limit`` error (``message`` says what the file holds, never the offending
    content) and return the :class:`LoadError` to raise."""
    value = getattr(current(), limit)
    text = (f"{message}; refused (limit {limit} = {value:,}; if the file is genuine, raise it with"
            f" {ENV[limit]})")
    report.error("limit", text, **where)
    return LoadError(f"{report.file}: {text}", report)


__all__ = ["ENV", "Limits", "MiB", "current", "refuse"]
