"""What every engine hands back: the data read by the rules of :mod:`crosswalk.io.numbers`
and summed exactly by code(s) and key(s) — the one part of `apply` that touches every row.
Everything after it (repairs, weights, the output, conservation) is shared Python
(:mod:`crosswalk.conversion`), so the engines cannot disagree there."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from ..errors import CrosswalkError
from ..io.numbers import INT_DIGITS, LIMIT, STRIP, STYLES

ROWS = "__rows"           # the rows of each group (a column of Scan.groups)
SHOWN = 20                # refused cells named per value column (the rest counted)


@dataclass(frozen=True)
class Columns:
    """The roles of the input columns: code columns (converted), key columns (kept, grouped
    by), value columns (read as numbers, summed); ``style`` of the numbers
    (:func:`crosswalk.io.numbers.style_for`)."""

    codes: tuple[str, ...]
    keys: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    style: str = "comma"

    def __post_init__(self):
        for name in ("codes", "keys", "values"):
            object.__setattr__(self, name, tuple(str(c) for c in getattr(self, name)))
        if not self.codes:
            raise CrosswalkError("at least one code column is needed")
        if not self.values:
            raise CrosswalkError("at least one value column is needed")
        if self.style not in STYLES:
            raise CrosswalkError(f"number style must be one of {STYLES}, not {self.style!r}")
        seen: dict[str, str] = {}
        for role in ("codes", "keys", "values"):
            for c in getattr(self, role):
                if c in seen:
                    raise CrosswalkError(f"column {c!r} given as {seen[c]} and as {role}" if seen[c] != role
                                         else f"column {c!r} given twice as {role}")
                seen[c] = role
        if ROWS in seen:
            raise CrosswalkError(f"a column may not be named {ROWS!r}")

    @property
    def texts(self) -> tuple[str, ...]:
        """Code and key columns: text, blanks stripped, grouped by."""
        return self.codes + self.keys

    @property
    def all(self) -> tuple[str, ...]:
        return self.codes + self.keys + self.values


@dataclass
class ValueStats:
    """How the cells of one value column were read."""

    cells: int = 0
    missing: int = 0          # empty: counted as missing
    refused: int = 0          # not numbers by the rules: counted as missing
    too_large: int = 0        # more than 20 integer digits: counted as missing
    rounded: int = 0          # a non-zero digit beyond the 18th decimal: rounded
    reformatted: int = 0      # thousand separators or a decimal comma dropped
    examples: list = field(default_factory=list)   # (row or None, text) of refused cells, first by row

    def as_tuple(self) -> tuple:
        return (self.cells, self.missing, self.refused, self.too_large, self.rounded, self.reformatted)


@dataclass
class Scan:
    """``groups``: one row per distinct combination of code and key texts (as read, a missing
    one as ''; :meth:`strip_blanks` strips them), each value column's exact sum as a Python int
    in units of 1e-18 (an object column) and the group's row count (:data:`ROWS`). ``rows`` and
    ``totals`` are counted apart from the grouping (the rows read; each value column's exact
    total) so the grouping itself is checked."""

    columns: Columns
    groups: pd.DataFrame
    rows: int
    totals: dict[str, int]
    values: dict[str, ValueStats]
    stripped: dict[str, int]          # code/key column -> cells that had blanks around them (strip_blanks)
    engine: str
    row_numbers: bool = True          # examples carry the row a user sees (not on Spark)

    def strip_blanks(self) -> "Scan":
        """The groups keyed by code and key texts without blanks around them (:data:`STRIP`):
        groups whose texts differ only by blanks merged (exact sums added), and per column the
        rows that had blanks. Engines group by the texts as read; this one step strips them,
        so every engine strips alike."""
        g = self.groups
        texts = list(self.columns.texts)
        rows = g[ROWS].to_numpy(dtype=np.int64)
        out = g.copy()
        stripped, any_change = {}, False
        for c in texts:
            raw = g[c].to_numpy(dtype=object)
            new = np.array([t.strip(STRIP) for t in raw], dtype=object)
            changed = raw != new
            stripped[c] = int(rows[changed].sum())
            any_change |= bool(changed.any())
            out[c] = new
        if any_change:
            gid, first = group_ids(out, texts)
            merged = first.copy()
            for v in self.columns.values:
                merged[v] = sum_by(gid, len(first), out[v].to_numpy(dtype=object))
            merged[ROWS] = np.bincount(gid, weights=rows, minlength=len(first)).astype(np.int64)
            out = merged
        return Scan(self.columns, out.reset_index(drop=True), self.rows, self.totals, self.values, stripped,
                    self.engine, self.row_numbers)

    def check(self) -> None:
        """Rows read = rows in the groups; each total = the sum of its groups."""
        g = self.groups
        if int(g[ROWS].sum()) != self.rows:
            raise CrosswalkError(f"the {self.engine} engine grouped {int(g[ROWS].sum())} rows of {self.rows} read")
        for v in self.columns.values:
            if any(abs(u) >= LIMIT for u in g[v].tolist()) or abs(self.totals[v]) >= LIMIT:
                raise too_large_sum(v)
            got = sum(g[v].tolist()) if len(g) else 0
            if got != self.totals[v]:
                raise CrosswalkError(f"the {self.engine} engine's sums of column {v!r} by code ({got}) differ from"
                                     f" its total ({self.totals[v]}) in units of 1e-18")


def group_ids(frame: pd.DataFrame, keys) -> tuple[np.ndarray, pd.DataFrame]:
    """(group id of each row, the distinct key rows in first-seen order)."""
    keys = list(keys)
    if not keys:
        return np.zeros(len(frame), dtype=np.int64), pd.DataFrame(index=range(1 if len(frame) else 0))
    gid = frame.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(frame))).groupby(gid).min().sort_index().to_numpy()
    return gid, frame.iloc[first][keys].reset_index(drop=True)


def sum_by(gid: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """Exact sums of Python ints (an object array) per group id 0..n_groups-1."""
    out = np.zeros(n_groups, dtype=object)
    if not len(values):
        return out
    order = np.argsort(gid, kind="stable")
    g = gid[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    out[g[starts]] = np.add.reduceat(values[order].astype(object), starts)
    return out


def too_large_sum(column: str) -> CrosswalkError:
    """The same refusal from every engine when a sum outgrows DECIMAL(38, 18)."""
    return CrosswalkError(f"the values of column {column!r} add up to 10^{INT_DIGITS} or more: exact sums hold"
                          f" {INT_DIGITS} integer digits (give the values in thousands, or split the file)")


def unscaled_column(frame: pd.DataFrame, a: str, f1: str, f2: str, extra: Optional[str] = None) -> np.ndarray:
    """Python ints a·1e18 + f1·1e9 + f2 (+ extra) from summed components (an object array)."""
    from ..io.numbers import UNIT
    out = (frame[a].to_numpy().astype(object) * UNIT + frame[f1].to_numpy().astype(object) * 10 ** 9
           + frame[f2].to_numpy().astype(object))
    if extra is not None:
        out = out + frame[extra].to_numpy(dtype=object)
    return out


def decimal_ints(arr) -> np.ndarray:
    """An Arrow decimal128(38, 18) array (or chunked array) as Python ints in units of 1e-18
    (its unscaled values; a null is 0), an object array: int64 where every value fits,
    128-bit arithmetic otherwise."""
    import pyarrow as pa
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=object)
    words = np.frombuffer(arr.buffers()[1], dtype="<i8", count=2 * (arr.offset + n))[2 * arr.offset:].reshape(n, 2)
    low, high = words[:, 0], words[:, 1]
    valid = np.ones(n, dtype=bool) if arr.null_count == 0 else np.asarray(arr.is_valid().to_numpy(
        zero_copy_only=False), dtype=bool)
    small = high == (low >> 63)                     # the value fits a signed int64
    out = low.astype(object)
    for i in np.flatnonzero(~small):
        out[i] = (int(high[i]) << 64) | (int(low[i]) & 0xFFFFFFFFFFFFFFFF)
    out[~valid] = 0
    return out


__all__ = ["Columns", "ROWS", "SHOWN", "Scan", "ValueStats", "decimal_ints", "group_ids", "sum_by", "too_large_sum",
           "unscaled_column"]
