"""Columns a command carries from its input to its output unchanged (the columns of the
user's file beside the codes ``crosswalk code`` adds): written as they were read.

* CSV: the text as read — surrounding spaces kept, ``-5`` stays ``-5``; only a cell that a
  spreadsheet would run as a formula and that is not a plain number (``=cmd|…``, ``@SUM``,
  ``+7 (495) …``) gets the ``'`` every cell we write gets, so opening the output is safe.
* xlsx: numbers (and texts of a CSV that are plain numbers, as Excel would read them) as
  numeric cells, every other text as a text cell — never a formula, so nothing needs escaping.
* parquet: the columns' own types; a column mixing numbers and texts (an xlsx column) as text.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

import pandas as pd

# a number Excel reads back as the same text: no leading zeros (0110 is a code), no trailing
# zeros after the point (1.10), no spaces, at most 15 significant digits
_PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?")
_RISKY = re.compile(r"'*[=+\-@\x00-\x1f]")


def plain_number(text: str):
    """The number a text cell holds when it is a plain number (else None)."""
    if not _PLAIN_NUMBER.fullmatch(text) or text == "-0" or len(text.replace("-", "").replace(".", "")) > 15:
        return None
    return float(text) if "." in text else int(text)


def _text(v: Any) -> str:
    from .frames import _cell_text
    return v if isinstance(v, str) else _cell_text(v)


def csv_column(s: pd.Series) -> pd.Series:
    """A pass-through column as CSV text (only the cells that may run as a formula are looked at
    in Python; the others are written as they are)."""
    from ..safety import cell_text
    from .frames import risky_first
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        s = s.astype(object).map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else _text(v))
    out = s.fillna("")
    risky = risky_first(out)
    if risky.any():
        out = out.copy()
        out[risky] = out[risky].map(lambda t: cell_text(t) if _RISKY.match(t) and plain_number(t) is None else t)
    return out


def xlsx_value(v: Any) -> tuple[Any, bool]:
    """(value, is_text) of a pass-through cell for a write-only sheet."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None, False
    if isinstance(v, bool) or (isinstance(v, (int, float)) and not isinstance(v, bool)):
        return v, False
    if hasattr(v, "item") and not isinstance(v, str):          # numpy scalars
        return xlsx_value(v.item())
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v, False
    text = _text(v)
    number = plain_number(text)
    return (number, False) if number is not None else (text, True)


def parquet_ready(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without attrs (pandas stores them as JSON in parquet metadata; an array there
    made ``code -o x.parquet`` crash) and with mixed object columns as text."""
    out = df.copy()
    out.attrs = {}
    for c in out.columns:
        if out[c].dtype == object:
            kind = pd.api.types.infer_dtype(out[c], skipna=True)
            if kind not in ("string", "empty", "integer", "floating", "mixed-integer-float", "boolean"):
                out[c] = out[c].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v))
                                    else _text(v))
    return out


def write_parquet(df: pd.DataFrame, path: str, *, rows_per_group: int = 50_000) -> None:
    """``df`` as a parquet file, one row group at a time: object columns of repeated texts
    (a coded million rows) are turned into Arrow strings a slice at a time, never all at once."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    ready = parquet_ready(df)
    # the schema without converting whole columns: object columns typed from their values
    schema = pa.Schema.from_pandas(ready.iloc[:0], preserve_index=False)
    for i, name in enumerate(ready.columns):
        if ready[name].dtype == object:
            kind = pd.api.types.infer_dtype(ready[name], skipna=True)
            typ = {"integer": pa.int64(), "floating": pa.float64(), "mixed-integer-float": pa.float64(),
                   "boolean": pa.bool_()}.get(kind, pa.string())
            schema = schema.set(i, pa.field(str(name), typ))
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, max(len(ready), 1), rows_per_group):
            part = ready.iloc[start:start + rows_per_group]
            writer.write_table(pa.Table.from_pandas(part, schema=schema, preserve_index=False))


__all__ = ["csv_column", "parquet_ready", "plain_number", "write_parquet", "xlsx_value"]
