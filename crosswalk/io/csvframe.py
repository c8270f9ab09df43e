"""A delimited data file as a DataFrame of text, within the limits, each row numbered by the
line it starts on.

pandas' C parser is fast but, like the csv module, lets a quoted field run over line breaks
and numbers rows by record. Its result is used when every record is one physical line (the
usual case, checked by counting); otherwise, or when it stops on a quote left open, the
line-aware parser of :mod:`.delimited` reads the file, names the lines of every record that
spans several, and rejects a line whose quote is never closed instead of losing it.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from ..errors import LoadError, Report, listing
from . import limits as _limits
from .delimited import parse_records, physical_lines, sniff_delimiter
from .encoding import UTF8_BOM, decode_lines, read_bytes


def _count_lines(data: bytes) -> int:
    n = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    return n + (1 if data and data[-1:] not in (b"\r", b"\n") else 0)


def _fast(data: bytes, delimiter: str) -> Optional[pd.DataFrame]:
    """pandas' parse of UTF-8 ``data`` when every record is one physical line, else None."""
    try:
        # bytes, not a StringIO: pandas' C parser reads them several times faster
        df = pd.read_csv(io.BytesIO(data), encoding="utf-8", sep=delimiter, dtype=str,
                         keep_default_na=False, na_filter=False, skip_blank_lines=False, header=None,
                         quotechar='"', engine="c")
    except pd.errors.EmptyDataError:
        raise
    except (pd.errors.ParserError, ValueError):
        return None
    return df if len(df) == _count_lines(data) else None


def read_csv_frame(path: Path, report: Report, *, delimiter: Optional[str] = None,
                   min_columns: int = 2) -> tuple[pd.DataFrame, np.ndarray, str, str]:
    """(every record as text including the header, the line each starts on, the delimiter
    used, the delimiter sniffed).
    Blank records are dropped. Lines whose text stays garbled are reported as errors with
    their row (the rows are kept: a data file's rows are never dropped silently)."""
    raw = read_bytes(path, report, lines=True)
    text, garbled = decode_lines(raw, report)
    sniffed = sniff_delimiter(text)
    used = delimiter or sniffed
    # a UTF-8 file decoded as it is: pandas reads its own bytes (no second copy of the text)
    as_is = report.encoding in ("utf-8", "utf-8-sig") and not report.of_kind("mojibake_repaired") \
        and not report.of_kind("mixed_encoding")
    if as_is:
        data = raw[3:] if raw.startswith(UTF8_BOM) else raw
        text = None                  # decoded again only if the fast parse does not apply (peak memory)
    else:
        data = text.encode("utf-8")
    del raw
    try:
        df = _fast(data, used)
    except pd.errors.EmptyDataError:
        report.error("empty", "the file is empty")
        raise LoadError(f"{path}: the file is empty", report) from None
    if df is None and text is None:
        text = data.decode("utf-8")
    del data
    spans: list[tuple[int, int]] = []
    if df is not None:
        del text
        lines = np.arange(1, len(df) + 1)
    else:
        lines_text = physical_lines(text)
        recs = parse_records(text, used, line_breaks="warn", lines=lines_text)
        del lines_text
        width = max((len(v) for _, v in recs.rows[:1]), default=0)
        wide = [(n, len(v)) for n, v in recs.rows if len(v) > width]
        if wide:
            n, w = wide[0]
            hint = ("; a one-column file whose texts hold the delimiter: quote those cells or give"
                    " another delimiter (e.g. a tab)") if min_columns < 2 else ""
            report.error("csv_syntax", f"cannot parse as CSV with delimiter {used!r}: line {n} has {w} fields, the"
                         f" header {width}{hint}", row=n)
            raise LoadError(f"{path}: cannot parse as CSV: line {n} has {w} fields, the header {width}", report)
        if not recs.rows:
            report.error("empty", "the file is empty")
            raise LoadError(f"{path}: the file is empty", report)
        df = pd.DataFrame([v + [""] * (width - len(v)) for _, v in recs.rows], dtype=object)
        lines = np.asarray([n for n, _ in recs.rows], dtype=np.int64)
        for line, why in recs.rejected:
            report.error("csv_syntax", f"{why}; line rejected", row=line)
        report.rows_read += len(recs.rejected)
        report.rows_rejected += len(recs.rejected)
        spans = recs.spans
        if spans:
            report.warning("line_break_in_field", f"{len(spans)} record(s) run over several lines (a quoted field"
                           f" holds line breaks): lines {listing([f'{a}–{b}' for a, b in spans], 5)}; if a closing"
                           " quote is missing, the lines after it were read into that field", row=spans[0][0])
    keep = (df != "").any(axis=1).to_numpy()
    if not keep.all():                     # blank lines: most files have none, and a copy costs
        df, lines = df[keep], lines[keep]
    lim = _limits.current()
    for c in range(df.shape[1]):
        col = df.iloc[:, c]
        lengths = col.str.len().to_numpy()
        if len(lengths) and lengths.max() > lim.cell_chars:
            i = int(np.argmax(lengths))
            raise _limits.refuse(report, "cell_chars", f"line {int(lines[i])}, column {c + 1} holds"
                                 f" {int(lengths[i]):,} characters", row=int(lines[i]))
    if garbled:
        ends = dict(spans)
        for n in lines:
            bad = next((k for k in range(int(n), ends.get(int(n), int(n)) + 1) if k in garbled), None)
            if bad is not None:
                report.error("garbled_text", f"line {bad} looks garbled ({garbled[bad]}); read as it is",
                             row=int(n))
    return df, lines, used, sniffed


def check_parquet(path: Path, report: Report) -> None:
    """Refuse a parquet file whose metadata declares more rows, or more data once decompressed,
    than the limits allow (read from the footer: nothing is decompressed)."""
    try:
        import pyarrow.parquet as pq
        meta = pq.ParquetFile(path).metadata
    except ImportError:
        return
    except Exception as exc:  # pyarrow raises its own error types for broken files
        report.error("unreadable", f"not a readable parquet file: {exc}")
        raise LoadError(f"{path}: not a readable parquet file: {exc}", report) from None
    lim = _limits.current()
    if meta.num_rows > lim.rows:
        raise _limits.refuse(report, "rows", f"the file declares {meta.num_rows:,} rows")
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if size > lim.unpacked_bytes:
        raise _limits.refuse(report, "unpacked_mb", f"its data decompresses to {size / _limits.MiB:,.0f} MiB")


__all__ = ["check_parquet", "read_csv_frame"]
