"""JSON within the limits: nesting depth, number of values and string length are measured
on the text before it is parsed, so a 10 KB file nested ten thousand deep is an error
naming its line (not a ``RecursionError`` that aborts a whole ``validate FOLDER``), and a
document of millions of tiny objects is refused before it takes gigabytes."""
from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from ..errors import LoadError, Report
from . import limits as _limits

# a string, or an unterminated one up to the end (so the scan stays linear whatever the text)
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)', re.S)
_CHUNK = 1 << 22
_OPEN = (ord("["), ord("{"))
_CLOSE = (ord("]"), ord("}"))


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def check_shape(text: str, report: Report) -> None:
    """Refuse (``limit`` error, :class:`LoadError`) a document past the limits."""
    lim = _limits.current()
    longest = [0, 0]

    def blank(m: re.Match) -> str:
        n = m.end() - m.start() - 2
        if n > longest[0]:
            longest[0], longest[1] = n, m.start()
        return '""'
    # strings out (their brackets and commas are text); strings hold no raw line breaks in
    # valid JSON, so line numbers stay those of the file
    bare = _STRING.sub(blank, text)
    if longest[0] > lim.cell_chars:
        line = _line_of(text, longest[1])
        raise _limits.refuse(report, "cell_chars", f"line {line}: a string of {longest[0]:,} characters", row=line)
    data = bare.encode("utf-8", "surrogatepass")
    depth = containers = commas = 0
    for start in range(0, len(data), _CHUNK):
        arr = np.frombuffer(data, dtype=np.uint8, count=min(_CHUNK, len(data) - start), offset=start)
        opens = (arr == _OPEN[0]) | (arr == _OPEN[1])
        closes = (arr == _CLOSE[0]) | (arr == _CLOSE[1])
        commas += int(np.count_nonzero(arr == ord(",")))
        containers += int(np.count_nonzero(opens))
        at = np.flatnonzero(opens | closes)
        if len(at):
            steps = np.where(opens[at], 1, -1).astype(np.int64)
            levels = depth + np.cumsum(steps)
            deepest = int(levels.max())
            if deepest > lim.json_depth:
                pos = start + int(at[int(np.argmax(levels > lim.json_depth))])
                line = data.count(b"\n", 0, pos) + 1
                raise _limits.refuse(report, "json_depth", f"line {line}: arrays and objects nested more"
                                     f" than {lim.json_depth} deep", row=line)
            depth = int(levels[-1])
        if containers + commas + 1 > lim.json_values:
            raise _limits.refuse(report, "json_values", f"the document holds more than {lim.json_values:,}"
                                 " values")


def parse_json(text: str, report: Report, *, object_pairs_hook=None) -> Any:
    """Parse a JSON document after :func:`check_shape`; a syntax error is reported with its
    line and column and raised as :class:`LoadError`."""
    check_shape(text, report)
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as exc:
        report.error("json_syntax", f"invalid JSON: {exc.msg}", row=exc.lineno, column=f"char {exc.colno}")
        raise LoadError(f"{report.file}: invalid JSON at line {exc.lineno}: {exc.msg}", report) from None
    except RecursionError:      # only past Python's own limit, if json_depth was raised that far
        report.error("json_syntax", "nested too deep for the parser")
        raise LoadError(f"{report.file}: JSON nested too deep", report) from None


__all__ = ["check_shape", "parse_json"]
