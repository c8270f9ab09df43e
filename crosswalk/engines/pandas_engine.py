"""The pandas engine: the data in memory, read by :mod:`crosswalk.io.numbers` and summed by
code(s) and key(s) with int64 components (exact; no Python loop over rows).

``scan(data, columns, *, progress=None)`` with ``data`` a DataFrame (cells as text, or
typed numbers) or a file path (read with :func:`crosswalk.io.frames.read_data`). The
reference the DuckDB and Spark engines are tested against.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import pandas as pd

from ..io.numbers import MISSING, OK, REFUSED, TOO_LARGE, parse, value_text
from .scan import ROWS, SHOWN, Columns, Scan, ValueStats, unscaled_column


def text_cells(s: pd.Series) -> np.ndarray:
    """A code or key column as text as the file shows it (numbers as a spreadsheet shows
    them: ``110``, ``1.1``), '' where missing; not stripped (:meth:`Scan.strip_blanks` does). Only distinct values are looked at."""
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


def scan(data, columns: Columns, *, progress: Optional[Callable[[str, float], None]] = None,
         rows=None) -> Scan:
    """(see the module docstring). ``rows``: each row's number as the user sees it (default
    ``data.attrs["rows"]``, else 1, 2, …)."""
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
    tick("read", 0.0)
    parts: dict[str, np.ndarray] = {c: text_cells(df[c]) for c in columns.texts}
    stats: dict[str, ValueStats] = {}
    totals: dict[str, int] = {}
    for j, v in enumerate(columns.values):
        p = parse(df[v], columns.style)
        bad = np.flatnonzero((p.state == REFUSED) | (p.state == TOO_LARGE))[:SHOWN]
        shown = p.texts_at(bad) if p.text is not None else value_text(df[v].iloc[bad])
        examples = [(int(rows[i]), str(t)) for i, t in zip(bad, shown)]
        stats[v] = ValueStats(cells=n, missing=p.count(MISSING), refused=p.count(REFUSED),
                              too_large=p.count(TOO_LARGE), rounded=int(p.rounded.sum()),
                              reformatted=int((p.reformatted & (p.state == OK)).sum()), examples=examples)
        totals[v] = p.total()
        a, f1, f2 = p.a, p.f1, p.f2
        if float(np.abs(a).sum(dtype=np.float64)) >= 2.0 ** 62:     # int64 sums could overflow: exact ints
            a = a.astype(object)
        parts[f"a{j}"], parts[f"f{j}"], parts[f"g{j}"] = a, f1, f2
        if p.extra:
            e = np.zeros(n, dtype=object)
            for i, u in p.extra.items():
                e[i] = u
            parts[f"e{j}"] = e
        tick("read", (j + 1) / (len(columns.values) + 1))
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
    tick("read", 1.0)
    return Scan(columns, out, n, totals, stats, {}, "pandas")


__all__ = ["scan", "text_cells"]
