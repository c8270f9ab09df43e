"""Data files as tables of text: reading CSV (any delimiter, UTF-8 or cp1251), xlsx/xls and
parquet into a DataFrame with a :class:`Report` (every cell text first, so codes keep what
the file holds; value columns checked as numbers cell by cell), and writing a DataFrame
back as CSV, xlsx or parquet — atomic, codes as text, cells that would run as formulas
escaped. Shared by ``crosswalk apply`` and ``crosswalk code``."""
from __future__ import annotations

import csv
import datetime as _dt
import math
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from ..codes import _number_text
from ..errors import WARNING, CrosswalkError, LoadError, Problem, Report
from ..errors import listing as _listing
from .csvframe import check_parquet, read_csv_frame
from .tables import read_workbook

MAX_CELL_PROBLEMS = 100    # non-numeric cells listed one by one per column; the rest counted
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit minus the header row


# -- reading data ------------------------------------------------------------------------
def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float, np.integer, np.floating)):
        if isinstance(v, (float, np.floating)) and not math.isfinite(v):
            return ""
        return _number_text(v.item() if isinstance(v, (np.integer, np.floating)) else v)
    if isinstance(v, _dt.datetime):
        return v.date().isoformat() if v.time() == _dt.time() else v.isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()
    return str(v)


def codes_as_text(s: pd.Series) -> pd.Series:
    """A code column as text: numbers as Excel shows them (``110``, ``1.1``), missing as "",
    surrounding spaces stripped. Vectorised: only the distinct values are looked at."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.map({u: _cell_text(u) for u in pd.unique(s)}).fillna("").astype(object)
    out = s.astype(object)
    missing = out.isna()
    if missing.any():
        out = out.where(~missing, "")
    fix = {u: _cell_text(u).strip() for u in pd.unique(out) if not isinstance(u, str) or u != u.strip()}
    if fix:
        hit = out.isin(list(fix)).to_numpy()        # map only the cells that change
        out = out.copy()
        out[hit] = out[hit].map(fix)
    return out


def to_float(s: pd.Series, column: str, report: Report, *, rows=None, decimal_comma: bool = True,
             sheet: Optional[str] = None, style: Optional[str] = None) -> pd.Series:
    """A value column as float64 by the rules of :mod:`crosswalk.io.numbers` (``style``: the
    file's number style; without it ``decimal_comma`` chooses ``comma`` or ``point``). Cells
    that are not numbers become NaN (missing) and each is an error with its row, column, value
    and reason; empty cells are counted in one warning, rounded ones in another."""
    from .numbers import MISSING, OK, REFUSED, SCALE, TOO_LARGE, not_a_number, parse, value_text
    style = style or ("comma" if decimal_comma else "point")
    p = parse(s, style)
    out = pd.Series(p.floats(), index=s.index, dtype=np.float64)
    rows = np.asarray(pd.RangeIndex(1, len(s) + 1) if rows is None else rows)
    missing = p.count(MISSING)
    if missing:
        report.warning("value_missing", f"{missing} empty cell(s): counted as missing (0 in every sum)",
                       column=str(column), sheet=sheet)
    reformatted = int((p.reformatted & (p.state == OK)).sum())
    if reformatted:
        report.info("number_format", f"{reformatted} value(s) read with thousand separators or a decimal comma",
                    column=str(column), sheet=sheet)
    if p.rounded.any():
        report.warning("value_rounded", f"{int(p.rounded.sum())} value(s) have digits beyond the {SCALE}th"
                       f" decimal place: rounded to {SCALE} decimals", column=str(column), sheet=sheet)
    where = np.flatnonzero((p.state == REFUSED) | (p.state == TOO_LARGE))
    if len(where):
        shown = where[:MAX_CELL_PROBLEMS]
        raw = p.texts_at(shown) if p.text is not None else value_text(s.iloc[shown])
        for i, text in zip(shown, raw):
            report.error("value_not_numeric", not_a_number(text, style) + ": counted as missing (0 in every sum)",
                         row=int(rows[i]), column=str(column), value=text, sheet=sheet)
        if len(where) > MAX_CELL_PROBLEMS:
            report.error("value_not_numeric", f"{len(where)} cells in all are not numbers (the first"
                         f" {MAX_CELL_PROBLEMS} listed); counted as missing", column=str(column), sheet=sheet)
    return out


def _header(names: Sequence[Any], path, report: Report) -> list[str]:
    out = [(_cell_text(n).strip() or f"Unnamed: {i}") for i, n in enumerate(names)]
    seen, dups = set(), []
    for n in out:
        if n in seen:
            dups.append(n)
        seen.add(n)
    if dups:
        report.error("duplicate_column", f"column name(s) used twice: {', '.join(sorted(set(dups)))}")
        raise LoadError(f"{path}: column name(s) used twice: {', '.join(sorted(set(dups)))}", report)
    return out


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return "workbook"
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise LoadError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK") or head.startswith(b"\xd0\xcf\x11\xe0"):
        return "workbook"
    return "csv"


def read_data(path, *, sheet: Optional[str] = None, delimiter: Optional[str] = None,
              value_columns: Sequence[str] = (), min_columns: int = 2, raw: bool = False,
              as_read: bool = False) -> tuple[pd.DataFrame, Report]:
    """A data file as a DataFrame and a :class:`Report`.

    CSV (delimiter sniffed unless given; UTF-8 or cp1251, garbled text refused), xlsx/xls (the
    first visible sheet or ``sheet``), parquet. The first row is the header. Every cell is read
    as text (numbers as Excel shows them, so a code keeps what the file holds); the
    ``value_columns`` are then turned into float64, each cell that is not a number reported
    (row as the user sees it: the line of a CSV file, the row of a sheet, the record of a
    parquet file) and counted as missing. Numbers follow :mod:`crosswalk.io.numbers`; the
    style of the file (``point`` when comma-delimited) is in ``df.attrs["number_style"]``.

    ``raw``: every cell as the file holds it — text unstripped, parquet columns typed (Arrow
    types: a null is missing, NaN is NaN) — for ``apply``, whose engines read codes and values
    themselves. ``as_read``: the columns other than ``value_columns`` keep what the file holds
    (CSV text with its spaces, workbook numbers as numbers, parquet types), for commands that
    write them back (``crosswalk code``).
    """
    path = Path(path)
    report = Report(file=str(path))
    kind = _kind(path)
    rows = None
    used_sheet = None
    style = "comma"
    if kind == "csv":
        df, lines, used, sniffed = read_csv_frame(path, report, delimiter=delimiter, min_columns=min_columns)
        style = "point" if used == "," else "comma"
        if df.shape[1] < min_columns:
            hint = f"; the file looks {sniffed!r}-delimited" if sniffed != used else ""
            report.error("delimiter", f"parsing with delimiter {used!r} gives 1 column, at least {min_columns}"
                         f" expected (a code and a value){hint}", value=used)
            raise LoadError(f"{path}: wrong delimiter {used!r}{hint}", report)
        if df.empty:
            report.error("empty", "the file has no header row")
            raise LoadError(f"{path}: the file is empty", report)
        names = _header(list(df.iloc[0]), path, report)
        df = df.iloc[1:].reset_index(drop=True)
        df.columns = names
        rows = lines[1:]
    elif kind == "workbook":
        tables = read_workbook(path, report)
        if sheet is not None:
            chosen = [t for t in tables if t.name == sheet]
            if not chosen:
                report.error("sheet", f"no sheet {sheet!r}; sheets: {', '.join(t.name for t in tables)}")
                raise LoadError(f"{path}: no sheet {sheet!r} (sheets: {', '.join(t.name for t in tables)})", report)
        else:
            chosen = [t for t in tables if not t.hidden and t.rows] or [t for t in tables if t.rows]
            if not chosen:
                report.error("empty", "no sheet holds data")
                raise LoadError(f"{path}: no sheet holds data", report)
        table = chosen[0]
        used_sheet = table.name
        if not table.rows:
            report.error("empty", f"sheet {table.name!r} is empty", sheet=table.name)
            raise LoadError(f"{path}: sheet {table.name!r} is empty", report)
        width = max(len(r.values) for r in table.rows)
        names = _header(table.rows[0].values + [None] * (width - len(table.rows[0].values)), path, report)
        body = table.rows[1:]
        dates: dict[int, list[int]] = {}
        cells = []
        for r in body:
            vals = r.values + [None] * (width - len(r.values))
            for c, v in enumerate(vals):
                if isinstance(v, (_dt.date, _dt.datetime)):
                    dates.setdefault(c, []).append(r.number)
            cells.append(list(vals) if as_read else [_cell_text(v) for v in vals])
        df = pd.DataFrame(cells, columns=names, dtype=object) if cells else pd.DataFrame(columns=names, dtype=object)
        rows = np.asarray([r.number for r in body], dtype=np.int64)
        for c, rr in sorted(dates.items()):
            report.warning("date_cell", f"{len(rr)} cell(s) hold dates (rows {_listing([str(x) for x in rr], 5)}):"
                           " if this is a code column, Excel turned codes into dates", sheet=table.name,
                           column=names[c])
    else:
        check_parquet(path, report)
        try:
            df = pd.read_parquet(path, dtype_backend="pyarrow") if raw else pd.read_parquet(path)
        except ImportError:
            raise CrosswalkError("reading parquet needs pyarrow: pip install pyarrow") from None
        except Exception as exc:  # pyarrow raises its own error types for broken files
            report.error("unreadable", f"not a readable parquet file: {exc}")
            raise LoadError(f"{path}: not a readable parquet file: {exc}", report) from None
        df = df.reset_index(drop=True)
        df.columns = _header(list(df.columns), path, report)
        rows = np.arange(1, len(df) + 1)
    df.attrs["rows"] = np.asarray(rows)      # each row's line/row/record as the user sees it
    df.attrs["number_style"] = style
    missing = [c for c in value_columns if c not in df.columns]
    if missing:
        raise CrosswalkError(f"{path}: no column {', '.join(map(repr, missing))}; columns:"
                             f" {', '.join(map(str, df.columns))}")
    for c in df.columns if not raw else ():
        if c in value_columns:
            df[c] = to_float(df[c], c, report, rows=rows, style=style, sheet=used_sheet)
        elif as_read:
            continue                              # pass-through: as the file holds it
        elif df[c].dtype != object or kind == "parquet":
            df[c] = codes_as_text(df[c])
    report.rows_loaded = len(df)
    report.rows_read = len(df) + report.rows_rejected      # lines rejected while parsing (CSV)
    return df, report


# -- writing -----------------------------------------------------------------------------
# first characters that make a spreadsheet run a cell (``candidates._RISKY``): = + - @, a
# control character, or a quote (which may lead to one of them)
_RISKY_FIRST = frozenset("=+-@'") | frozenset(map(chr, range(32)))


def risky_first(s: pd.Series) -> np.ndarray:
    """Which cells of a text column start with a character that may make a spreadsheet run
    the cell (``_RISKY_FIRST``), without a Python object per cell: Arrow for string arrays,
    the distinct values for object columns (a million rows of coded titles repeat a few
    thousand texts; a copy of every cell took gigabytes for the evidence columns)."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage.startswith("pyarrow"):
        import pyarrow as pa
        import pyarrow.compute as pc
        arr = pa.array(s.array)
        first = pc.utf8_slice_codeunits(pc.fill_null(arr, ""), 0, 1)
        hit = pc.is_in(first, value_set=pa.array(sorted(_RISKY_FIRST), type=first.type))
        return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    first = np.fromiter((isinstance(u, str) and bool(u) and u[0] in _RISKY_FIRST for u in uniques),
                        dtype=bool, count=len(uniques))
    return np.where(codes >= 0, first[np.maximum(codes, 0)], False) if len(uniques) else np.zeros(len(s), bool)


def _sheet_safe_column(s: pd.Series) -> pd.Series:
    """``cell_text`` of every cell, looking only at the cells that need it."""
    from ..safety import cell_text
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        s = s.map(lambda v: v if isinstance(v, str) else "" if v is None or v != v else cell_text(v))
    text = s.fillna("")
    risky = risky_first(text)
    if risky.any():
        text = text.copy()
        text[risky] = text[risky].map(cell_text)
    return text


def write_frame(df: pd.DataFrame, path: Path, code_columns: Sequence[str],
                 problems: Optional[list] = None, *, passthrough: Sequence[str] = ()) -> Path:
    """Write ``df`` as CSV, xlsx or parquet by suffix (atomic; codes as text; cells that would
    run as formulas escaped). ``passthrough``: columns carried from the input, written as
    they were read (see :mod:`.passthrough`)."""
    from openpyxl.utils import get_column_letter

    from . import passthrough as _pass

    from ..safety import atomic_replace, atomic_save_workbook, cell_text, clean_xml, illegal_xml_chars
    suffix = path.suffix.lower()
    if not path.parent.is_dir():
        raise CrosswalkError(f"{path}: the folder {path.parent} does not exist")
    if suffix == ".csv":
        out = df.copy()
        for c in out.columns:
            if c in passthrough and c not in code_columns:
                out[c] = _pass.csv_column(out[c])
            elif c in code_columns or out[c].dtype == object or pd.api.types.is_string_dtype(out[c].dtype):
                out[c] = _sheet_safe_column(out[c])
        out.columns = [cell_text(str(c)) for c in out.columns]   # a header "=x" is text too

        def fill(tmp: str) -> None:      # straight into the file, in chunks: never the whole text in memory
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                out.to_csv(fh, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL, chunksize=50_000)
        return atomic_replace(path, fill)
    if suffix == ".parquet":
        try:
            return atomic_replace(path, lambda tmp: _pass.write_parquet(df, tmp))
        except ImportError:
            raise CrosswalkError("writing parquet needs pyarrow: pip install pyarrow") from None
    if suffix == ".xlsx":
        if len(df) > XLSX_MAX_ROWS:
            raise CrosswalkError(f"{path}: {len(df)} rows do not fit in an Excel sheet ({XLSX_MAX_ROWS});"
                                 " write .csv or .parquet")
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("data")
        replaced: list[tuple[str, str, str]] = []   # (cell, column, original) of every replaced cell

        def safe(v: Any, r: int, i: int, column: str) -> str:
            text = cell_text(v)
            clean, changed = clean_xml(text)
            if changed:
                replaced.append((f"{get_column_letter(i + 1)}{r}", column, text))
            return clean

        names = [str(c) for c in df.columns]
        ws.append([safe(c, 1, i, c) for i, c in enumerate(names)])
        code_idx = {i for i, c in enumerate(df.columns) if c in code_columns}
        pass_idx = {i for i, c in enumerate(df.columns) if c in passthrough and i not in code_idx}
        for r, row in enumerate(df.itertuples(index=False, name=None), start=2):
            cells = []
            for i, v in enumerate(row):
                if i in pass_idx:
                    value, is_text = _pass.xlsx_value(v)
                    if is_text:
                        clean, changed = clean_xml(value)
                        if changed:
                            replaced.append((f"{get_column_letter(i + 1)}{r}", names[i], value))
                        cell = WriteOnlyCell(ws, value=clean)
                        cell.data_type = "s"                # a text cell: never run as a formula
                    else:
                        cell = WriteOnlyCell(ws, value=value)
                elif i in code_idx or isinstance(v, str):
                    cell = WriteOnlyCell(ws, value=safe(v, r, i, names[i]))
                    cell.number_format = "@"
                else:
                    cell = WriteOnlyCell(ws, value=None if v is None or (isinstance(v, float) and math.isnan(v))
                                         else float(v))
                cells.append(cell)
            ws.append(cells)
        written = atomic_save_workbook(wb, path)
        if replaced and problems is not None:
            shown = _listing(f"data!{c}" for c, _, _ in replaced)
            chars = sorted({ch for _, _, t in replaced for ch in illegal_xml_chars(t)})
            problems.append(Problem("illegal_xml_character", WARNING,
                                    f"{path.name}: characters an xlsx file cannot hold ({', '.join(chars)})"
                                    f" replaced with U+FFFD in {len(replaced)} cell(s): {shown}",
                                    file=str(path), sheet="data", column=replaced[0][1], value=replaced[0][2]))
        return written
    raise CrosswalkError(f"{path}: write .csv, .xlsx or .parquet")
