"""The pandas engine: the whole conversion in memory, vectorised (no Python loop over rows).

1. rows whose code(s) all have crosswalk entries are summed per code combination first
   (millions of rows collapse into as many rows as there are distinct codes);
2. merged with the weights table of each code column, the values multiplied by the
   product of the weights;
3. summed per target code(s).

Rows with a code the crosswalk lacks are summed per original code(s) into ``unmatched``.
Missing values (NaN) count as 0 in every sum, as SQL's SUM ignores NULL.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd


def _frame(df_or_path, code_columns: Sequence[str], value_columns: Sequence[str]) -> pd.DataFrame:
    if isinstance(df_or_path, pd.DataFrame):
        return df_or_path
    from ..apply import read_data            # a path: read it (text first, values checked)
    df, _report = read_data(df_or_path, value_columns=list(value_columns))
    return df


def run(df_or_path, weights_by_column: dict[str, pd.DataFrame], value_columns: Sequence[str],
        code_columns: Sequence[str], *, progress: Optional[Callable[[str, float], None]] = None
        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    code_columns, value_columns = list(code_columns), list(value_columns)
    df = _frame(df_or_path, code_columns, value_columns)
    tick = progress or (lambda stage, fraction: None)
    tick("convert", 0.0)
    codes = df[code_columns].astype(object).where(df[code_columns].notna(), "")
    values = df[value_columns].astype(np.float64)
    matched = np.ones(len(df), dtype=bool)
    for col in code_columns:
        matched &= codes[col].isin(weights_by_column[col]["source"]).to_numpy()
    frame = pd.concat([codes, values], axis=1)

    unmatched = (frame[~matched].groupby(code_columns, sort=False, dropna=False)[value_columns]
                 .sum(min_count=0).reset_index())
    tick("convert", 0.3)
    agg = frame[matched].groupby(code_columns, sort=False)[value_columns].sum().reset_index()
    tick("convert", 0.6)
    targets = []
    for i, col in enumerate(code_columns):
        w = weights_by_column[col][["source", "target", "weight"]]
        t, wc = f"__target_{i}", f"__weight_{i}"
        agg = agg.merge(w.rename(columns={"source": col, "target": t, "weight": wc}), on=col, how="inner")
        targets.append(t)
    factor = np.ones(len(agg), dtype=np.float64)
    for i in range(len(code_columns)):
        factor = factor * agg[f"__weight_{i}"].to_numpy(dtype=np.float64)
    out = pd.DataFrame({col: agg[t].to_numpy() for col, t in zip(code_columns, targets)})
    for v in value_columns:
        out[v] = agg[v].to_numpy(dtype=np.float64) * factor
    data = out.groupby(code_columns, sort=False)[value_columns].sum().reset_index()
    tick("convert", 1.0)
    return data, unmatched


__all__ = ["run"]
