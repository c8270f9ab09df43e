"""The pandas engine: the data in memory, read by :mod:`crosswalk.io.numbers` and summed by
code(s) and key(s) with int64 components (exact; no Python loop over rows), a million rows at
a time (the intermediate arrays of the reader stay that size).

``scan(data, columns, *, progress=None)`` with ``data`` a DataFrame (cells as text, or
typed numbers) or a file path (read with :func:`crosswalk.io.frames.read_data`). The
reference the DuckDB and Spark engines are tested against.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import pandas as pd

from ..io.numbers import MISSING, OK, REFUSED, TOO_LARGE, parse, value_text
from .scan import ROWS, SHOWN, Columns, Scan, ValueStats, group_ids, sum_by, unscaled_column


def text_cells(s: pd.Series) -> np.ndarray:
    """A code or key column as text as the file shows it (numbers as a spreadsheet shows
    them: ``110``, ``1.1``), '' where missing; not stripped (:meth:`Scan.strip_blanks` does).
    Only distinct values are looked at."""
    from ..io.frames import _cell_text
    if len(s) == 0:
        return np.zeros(0, dtype=object)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    texts = np.array([u if isinstance(u, str) else _cell_text(u) for u in uniques] + [""], dtype=object)
    return texts[codes]          # the sentinel -1 picks the trailing ''


def _frame(data) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    from ..io.frames import read_data
    df, _report = read_data(data, raw=True)
    return df


CHUNK = 1_000_000         # rows read and summed at a time: memory grows with the chunk, not the file


def _chunk(df: pd.DataFrame, columns: Columns, rows: np.ndarray, stats: dict, totals: dict) -> pd.DataFrame:
    """One chunk of rows read by the rules and summed by code(s) and key(s): texts, one column
    of Python ints (units of 1e-18) per value column, and the rows of each group."""
    parts: dict[str, np.ndarray] = {c: text_cells(df[c]) for c in columns.texts}
    n = len(df)
    for j, v in enumerate(columns.values):
        p = parse(df[v], columns.style)
        st = stats[v]
        bad = np.flatnonzero((p.state == REFUSED) | (p.state == TOO_LARGE))[:max(0, SHOWN - len(st.examples))]
        if len(bad):
            shown = p.texts_at(bad) if p.text is not None else value_text(df[v].iloc[bad])
            st.examples += [(int(rows[i]), str(t)) for i, t in zip(bad, shown)]
        st.cells += n
        st.missing += p.count(MISSING)
        st.refused += p.count(REFUSED)
        st.too_large += p.count(TOO_LARGE)
        st.rounded += int(p.rounded.sum())
        st.reformatted += int((p.reformatted & (p.state == OK)).sum())
        totals[v] += p.total()
        a = p.a
        if float(np.abs(a).sum(dtype=np.float64)) >= 2.0 ** 62:     # int64 sums could overflow: exact ints
            a = a.astype(object)
        parts[f"a{j}"], parts[f"f{j}"], parts[f"g{j}"] = a, p.f1, p.f2
        if p.extra:
            e = np.zeros(n, dtype=object)
            for i, u in p.extra.items():
                e[i] = u
            parts[f"e{j}"] = e
    frame = pd.DataFrame(parts)
    keys = list(columns.texts)
    agg_cols = [c for c in frame.columns if c not in keys]
    grouped = frame.groupby(keys, sort=False, dropna=False)
    groups = grouped[agg_cols].sum() if agg_cols else pd.DataFrame(index=grouped.size().index)
    groups[ROWS] = grouped.size()
    groups = groups.reset_index()
    out = pd.DataFrame({c: groups[c].astype(object).to_numpy() for c in keys})
    for j, v in enumerate(columns.values):
        out[v] = unscaled_column(groups, f"a{j}", f"f{j}", f"g{j}", f"e{j}" if f"e{j}" in groups else None)
    out[ROWS] = groups[ROWS].to_numpy(dtype=np.int64)
    return out


def scan(data, columns: Columns, *, progress: Optional[Callable[[str, float], None]] = None,
         rows=None, chunk: int = CHUNK) -> Scan:
    """(see the module docstring). ``rows``: each row's number as the user sees it (default
    ``data.attrs["rows"]``, else 1, 2, …); the rows are read ``chunk`` at a time."""
    from ..errors import CrosswalkError
    tick = progress or (lambda stage, fraction: None)
    df = _frame(data)
    missing = [c for c in columns.all if c not in df.columns]
    if missing:
        raise CrosswalkError(f"column(s) {', '.join(map(repr, missing))} not in the data; it has"
                             f" {', '.join(map(str, df.columns))}")
    n = len(df)
    if rows is None:
        rows = df.attrs.get("rows")
    rows = np.arange(1, n + 1) if rows is None or len(rows) != n else np.asarray(rows)
    stats = {v: ValueStats() for v in columns.values}
    totals = {v: 0 for v in columns.values}
    parts = []
    for start in range(0, max(n, 1), chunk):
        tick("read", start / max(n, 1))
        part = df.iloc[start:start + chunk]
        parts.append(_chunk(part, columns, rows[start:start + chunk], stats, totals))
    if len(parts) == 1:
        out = parts[0]
    else:                            # the chunks' sums of the same texts added up, exactly
        whole = pd.concat(parts, ignore_index=True)
        gid, out = group_ids(whole, list(columns.texts))
        out = out.copy()
        for v in columns.values:
            out[v] = sum_by(gid, len(out), whole[v].to_numpy(dtype=object))
        out[ROWS] = np.bincount(gid, weights=whole[ROWS].to_numpy(), minlength=len(out)).astype(np.int64)
    tick("read", 1.0)
    return Scan(columns, out, n, totals, stats, {}, "pandas")


__all__ = ["scan", "text_cells"]
