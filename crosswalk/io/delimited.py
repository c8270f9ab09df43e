"""Delimited text (CSV) as records numbered by the physical line a user finds them on.

Python's csv module (and pandas) let a quoted field run over line breaks, so a title whose
closing quote is missing silently swallows the lines after it, up to the next quote, and a
file that ends inside a quote loses nothing but its closing mark. Here every record knows
the lines it spans:

* a record spanning lines is kept where the layout allows line breaks in fields (one
  warning lists them); where it does not, the line that opened the quote is rejected as an
  error and parsing resumes on the next line, so the lines it had swallowed are read as
  the rows they are;
* a quote still open at the end of the file is always an error: that line is rejected
  and the lines after it are read again.

Rows read = rows kept + lines rejected, counted in physical lines.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Literal, Optional

DELIMITERS = (";", ",", "\t", "|")
LineBreaks = Literal["allow", "warn", "error"]
_FIELD_LIMIT = 1 << 30          # cells are checked against the cell limit instead


@dataclass
class Records:
    rows: list[tuple[int, list[str]]] = field(default_factory=list)      # (first line, values)
    rejected: list[tuple[int, str]] = field(default_factory=list)        # (line, why)
    spans: list[tuple[int, int]] = field(default_factory=list)           # (first, last) kept multi-line


class _Feed:
    """Lines handed to csv.reader one at a time, so the lines each record took are known."""

    def __init__(self, lines: list[str], pos: int):
        self.lines, self.pos = lines, pos

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


def physical_lines(text: str) -> list[str]:
    """Lines with their endings; only \\r, \\n and \\r\\n end a line (as for csv)."""
    return io.StringIO(text, newline="").readlines()


def _still_open(record_lines: list[str], delimiter: str) -> bool:
    """Does this record end inside a quoted field (the file ended before the closing quote)?"""
    try:
        list(csv.reader(record_lines, delimiter=delimiter, quotechar='"', strict=True))
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def parse_records(text: str, delimiter: str, *, line_breaks: LineBreaks = "warn",
                  lines: Optional[list[str]] = None) -> Records:
    """Every record of ``text`` with the line it starts on (blank records included)."""
    lines = physical_lines(text) if lines is None else lines
    out = Records()
    old_limit = csv.field_size_limit(_FIELD_LIMIT)
    try:
        pos = 0
        while pos < len(lines):
            feed = _Feed(lines, pos)
            reader = csv.reader(feed, delimiter=delimiter, quotechar='"')
            restart: Optional[tuple[int, str]] = None
            while True:
                first = feed.pos
                try:
                    values = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    restart = (first, f"not a well-formed CSV line ({exc})")
                    break
                last = feed.pos - 1
                if last == len(lines) - 1 and _still_open(lines[first:last + 1], delimiter):
                    restart = (first, "a quote opened on this line is never closed (the file ends inside it)")
                    break
                if last > first:
                    if line_breaks == "error":
                        restart = (first, f"a quote opened on this line is not closed on it: it would run over"
                                          f" lines {first + 1}–{last + 1} as one record (a missing closing"
                                          " quote?), and this layout has no line breaks in its fields")
                        break
                    out.spans.append((first + 1, last + 1))
                out.rows.append((first + 1, values))
            if restart is None:
                break
            out.rejected.append((restart[0] + 1, restart[1]))
            pos = restart[0] + 1
    finally:
        csv.field_size_limit(old_limit)
    return out


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most consistent columns (>1)."""
    sample = "".join(physical_lines(text[:200_000])[:50])
    best, best_score = ",", (-1, 0)
    for d in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO(sample, newline=""), delimiter=d, quotechar='"'))
        except csv.Error:
            continue
        widths = [len(r) for r in rows if any(v.strip() for v in r)]
        if not widths:
            continue
        mode = max(set(widths), key=widths.count)
        score = (widths.count(mode) if mode > 1 else 0, mode)
        if score > best_score:
            best, best_score = d, score
    return best


__all__ = ["DELIMITERS", "LineBreaks", "Records", "parse_records", "physical_lines", "sniff_delimiter"]
