"""DuckDB engine: the conversion as SQL, streaming CSV or parquet files larger than memory.

``run(data, weights_by_column, value_columns, code_columns, *, progress=None, **options)``
with ``data`` a pandas DataFrame or the path of a CSV (any delimiter, UTF-8 or cp1251) or
parquet file, which DuckDB then reads itself in a streaming scan (CSV code columns are read
as text, so ``0110`` keeps its leading zero).

The input is first summed by its code(s) (one streaming pass: memory grows with the number
of distinct codes, not of rows), then joined to the weight tables and summed by target
code(s). Multiplying before or after summing gives the same totals (to rounding, far inside
the 1e-9 the engines must agree to); sums use Kahan summation as pandas does.

A missing code counts as the code ``''`` (unmatched), as in the pandas engine; a text value
column (CSV) is read with blanks dropped and a decimal comma taken as a point. ``progress``
is called as ``progress(stage, fraction)`` (DuckDB's own progress while reading).
``totals(data, value_columns, **options)`` sums the input of a file in one streaming pass.

Options: ``memory_limit`` (default ``"1GB"``), ``threads`` (default: all cores),
``temp_directory`` (spill folder; default a temporary one, removed afterwards),
``delimiter`` and ``encoding`` (CSV; sniffed from the head of the file when not given).
"""
from __future__ import annotations

import codecs
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..errors import CrosswalkError

Progress = Callable[[str, float], None]
OPTIONS = ("memory_limit", "threads", "temp_directory", "delimiter", "encoding")
CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".tab")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
HEAD_BYTES = 1 << 16
PANDAS3 = int(pd.__version__.split(".")[0]) >= 3


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def check_columns(value_columns, code_columns, weights_by_column) -> tuple[list[str], list[str]]:
    codes, values = [str(c) for c in code_columns], [str(v) for v in value_columns]
    if not codes:
        raise CrosswalkError("at least one code column is needed")
    if not values:
        raise CrosswalkError("at least one value column is needed")
    both = sorted(set(codes) & set(values))
    if both:
        raise CrosswalkError(f"column(s) {', '.join(both)} given both as code and value columns")
    for kind, cols in (("code", codes), ("value", values)):
        dup = sorted({c for c in cols if cols.count(c) > 1})
        if dup:
            raise CrosswalkError(f"{kind} column(s) {', '.join(dup)} given twice")
    missing = [c for c in codes if c not in weights_by_column]
    if missing:
        raise CrosswalkError(f"no weights for code column(s) {', '.join(missing)}")
    for col in codes:
        w = weights_by_column[col]
        lack = [c for c in ("source", "target", "weight") if c not in w.columns]
        if lack:
            raise CrosswalkError(f"weights of column {col!r} lack column(s) {', '.join(lack)}")
    return codes, values


def weight_frame(w: pd.DataFrame) -> pd.DataFrame:
    """source/target as text, weight as float64 (the form every engine joins on)."""
    return pd.DataFrame({"source": w["source"].astype(object).map(str).to_numpy(dtype=object),
                         "target": w["target"].astype(object).map(str).to_numpy(dtype=object),
                         "weight": w["weight"].astype("float64").to_numpy()})


def file_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in CSV_SUFFIXES:
        return "csv"
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1":
        return "parquet"
    raise CrosswalkError(f"{path}: the {suffix or 'extensionless'} file is neither CSV nor parquet; "
                         "read it into a DataFrame (xlsx) or save it as CSV or parquet")


def sniff_csv(path: Path) -> tuple[str, str]:
    """(encoding, delimiter) from the head of a CSV file: UTF-8 when it decodes, else cp1251."""
    from ..io.tables import sniff_delimiter
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    enc = "utf-8"
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        enc, text = "cp1251", head.decode("cp1251", errors="replace")
    if len(head) == HEAD_BYTES:                        # drop a line cut short by the head
        text = text[:text.rfind("\n") + 1] or text
    return enc, sniff_delimiter(text)


def to_utf8(path: Path, encoding: str, folder: str) -> Path:
    """A UTF-8 copy of a file in another encoding, written in chunks (any size)."""
    out = Path(folder) / (path.stem + ".utf8.csv")
    with open(path, encoding=encoding, newline="") as src, open(out, "w", encoding="utf-8", newline="") as dst:
        shutil.copyfileobj(src, dst, 1 << 22)
    return out


def text_to_double(expr: str) -> str:
    """A text value as DOUBLE: blanks (also non-breaking) dropped, a decimal comma read as a
    point; '' is NULL. A value that is still not a number stops the run."""
    cleaned = f"replace(replace(replace(trim({expr}), ' ', ''), chr(160), ''), ',', '.')"
    return f"CAST(NULLIF({cleaned}, '') AS DOUBLE)"


def _run_polling(con, sql: str, progress: Progress | None, stage: str):
    """Execute ``sql``; with a progress callback, report DuckDB's own progress as a fraction."""
    if progress is None:
        return con.execute(sql)
    box: dict = {}

    def work():
        try:
            box["res"] = con.execute(sql)
        except BaseException as exc:            # re-raised in the caller's thread
            box["exc"] = exc

    t = threading.Thread(target=work, daemon=True)
    t.start()
    last = -1
    while t.is_alive():
        t.join(0.25)
        try:
            pct = con.query_progress()
        except Exception:                        # older duckdb or no query running
            pct = -1
        if pct is not None and pct >= 0 and int(pct) != last:
            last = int(pct)
            progress(stage, min(last, 99) / 100)
    if "exc" in box:
        raise box["exc"]
    progress(stage, 1.0)
    return box["res"]


def _connect(options: dict):
    """(connection, temporary folder to remove or None) set up with the options."""
    try:
        import duckdb
    except ImportError as exc:      # pragma: no cover - depends on the installation
        raise CrosswalkError("the duckdb engine needs the duckdb package: pip install 'crosswalk[duckdb]'") from exc
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise CrosswalkError(f"unknown duckdb engine option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    own_tmp = options.get("temp_directory") is None
    tmp = tempfile.mkdtemp(prefix="crosswalk-duckdb-") if own_tmp else str(options["temp_directory"])
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = {lit(options.get('memory_limit') or '1GB')}")
    con.execute(f"SET threads = {int(options.get('threads') or os.cpu_count() or 1)}")
    con.execute(f"SET temp_directory = {lit(tmp)}")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    return con, tmp, own_tmp


def _source(con, data, columns: list[str], codes: list[str], values: list[str], tmp: str,
            options: dict, note) -> tuple[str, set[str]]:
    """(the FROM clause reading ``data``, the value columns that arrive as text)."""
    import duckdb
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.is_file():
            raise CrosswalkError(f"{path}: no such file")
        if file_kind(path) == "parquet":
            source = f"read_parquet({lit(path)})"
        else:
            enc, delim = sniff_csv(path)
            enc = options.get("encoding") or enc
            delim = options.get("delimiter") or delim
            if codecs.lookup(enc).name not in ("utf-8", "utf-8-sig"):
                note("transcode", 0.0)
                path = to_utf8(path, enc, tmp)
                note("transcode", 1.0)
            types = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in codes) + "}"
            source = (f"read_csv({lit(path)}, header = true, delim = {lit(delim)}, quote = '\"', "
                      f"types = {types}, sample_size = 20480)")
    elif isinstance(data, pd.DataFrame):
        frame = data
        if any(not isinstance(c, str) for c in frame.columns):
            frame = frame.rename(columns=str)
        con.register("cw_input", frame)
        source = "cw_input"
    else:
        raise CrosswalkError(f"data must be a pandas DataFrame or a file path, not {type(data).__name__}")
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except duckdb.Error as exc:
        what = "the data" if isinstance(data, pd.DataFrame) else str(data)
        raise CrosswalkError(f"cannot read {what}: {exc}") from exc
    types_of = {row[0]: str(row[1]).upper() for row in described}
    missing = [c for c in columns if c not in types_of]
    if missing:
        raise CrosswalkError(f"column(s) {', '.join(missing)} not in the data; it has {', '.join(types_of)}")
    return source, {v for v in values if types_of[v] in ("VARCHAR", "STRING", "TEXT")}


def _value(v: str, text_values: set[str]) -> str:
    return text_to_double(q(v)) if v in text_values else f"CAST({q(v)} AS DOUBLE)"


SHOWN_CELLS = 10


def _not_numbers(con, data, source: str, values: list[str], text_values: set[str], exc) -> CrosswalkError:
    """The error for a text value column holding cells that are not numbers, naming the
    cells by row (as the pandas engine does: the header is row 1 of a file) and value."""
    first = 1 if isinstance(data, pd.DataFrame) else 2
    found = []
    try:
        con.execute("SET preserve_insertion_order = true")   # row_number() in file order
        con.execute("SET threads = 1")
        for v in values:
            if v not in text_values:
                continue
            cleaned = "NULLIF(replace(replace(replace(trim(val), ' ', ''), chr(160), ''), ',', '.'), '')"
            rows = con.execute(
                f"SELECT rn, val FROM (SELECT row_number() OVER () AS rn, {q(v)} AS val FROM {source}) "
                f"WHERE {cleaned} IS NOT NULL AND TRY_CAST({cleaned} AS DOUBLE) IS NULL "
                f"ORDER BY rn LIMIT {SHOWN_CELLS + 1}").fetchall()
            found += [(v, int(rn) - 1 + first, val) for rn, val in rows]
    except Exception:                 # the diagnosis is a courtesy: fall back to DuckDB's message
        found = []
    where = str(data) if not isinstance(data, pd.DataFrame) else "the data"
    if not found:
        return CrosswalkError(f"{where}: a value column holds text that is not a number: {exc}")
    cells = "; ".join(f"row {r}, column {c!r}: {val!r}" for c, r, val in found[:SHOWN_CELLS])
    more = " …" if len(found) > SHOWN_CELLS else ""
    return CrosswalkError(f"{where}: value cells that are not numbers (fix them or use the pandas engine,"
                          f" which counts them as missing): {cells}{more}")


def totals(data, value_columns, **options) -> dict[str, float]:
    """Input total of each value column of a file (or DataFrame), in one streaming pass."""
    values = [str(v) for v in value_columns]
    con, tmp, own_tmp = _connect(options)
    import duckdb
    try:
        source, text_values = _source(con, data, values, [], values, tmp, options, lambda *a: None)
        try:
            row = con.execute("SELECT " + ", ".join(f"COALESCE(fsum({_value(v, text_values)}), 0.0)"
                                                    for v in values) + f" FROM {source}").fetchone()
        except duckdb.ConversionException as exc:
            raise _not_numbers(con, data, source, values, text_values, exc) from None
        except duckdb.Error as exc:
            raise CrosswalkError(f"duckdb could not sum {data if not isinstance(data, pd.DataFrame) else 'the data'}:"
                                 f" {exc}") from None
    finally:
        con.close()
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return {v: float(x) for v, x in zip(values, row)}


def run(data, weights_by_column: dict, value_columns, code_columns, *,
        progress: Progress | None = None, **options):
    """(converted data, unmatched) — see the module docstring."""
    codes, values = check_columns(value_columns, code_columns, weights_by_column)
    note = progress or (lambda stage, fraction: None)
    con, tmp, own_tmp = _connect(options)
    import duckdb
    try:
        source, text_values = _source(con, data, codes + values, codes, values, tmp, options, note)
        for i, col in enumerate(codes):
            con.register(f"cw_w{i}", weight_frame(weights_by_column[col]))

        # a missing code is the code '' (as in the pandas engine): unmatched, never dropped
        keys = [f"COALESCE(CAST({q(c)} AS VARCHAR), '') AS k{i}" for i, c in enumerate(codes)]
        sums = [f"COALESCE(fsum({_value(v, text_values)}), 0.0) AS s{j}" for j, v in enumerate(values)]
        group = ", ".join(f"k{i}" for i in range(len(codes)))
        try:
            _run_polling(con, f"CREATE TEMP TABLE cw_agg AS SELECT {', '.join(keys)}, {', '.join(sums)} "
                              f"FROM {source} GROUP BY {group}", progress, "read")
        except duckdb.ConversionException as exc:
            raise _not_numbers(con, data, source, values, text_values, exc) from None
        except duckdb.Error as exc:
            raise CrosswalkError(f"duckdb could not sum the data by code: {exc}") from exc

        note("convert", 0.0)
        weight = " * ".join(f"w{i}.weight" for i in range(len(codes)))
        joins = " ".join(f"JOIN cw_w{i} AS w{i} ON a.k{i} = w{i}.source" for i in range(len(codes)))
        targets = ", ".join(f"w{i}.target AS {q(c)}" for i, c in enumerate(codes))
        by = ", ".join(str(i + 1) for i in range(len(codes)))
        order = ", ".join(f"{i + 1} ASC NULLS LAST" for i in range(len(codes)))
        out_sums = ", ".join(f"COALESCE(fsum(a.s{j} * {weight}), 0.0) AS {q(v)}" for j, v in enumerate(values))
        converted = con.execute(f"SELECT {targets}, {out_sums} FROM cw_agg AS a {joins} "
                                f"GROUP BY {by} ORDER BY {order}").df()
        note("convert", 0.5)
        lacking = " OR ".join(f"NOT EXISTS (SELECT 1 FROM cw_w{i} AS w WHERE w.source = a.k{i})"
                              for i in range(len(codes)))
        originals = ", ".join(f"a.k{i} AS {q(c)}" for i, c in enumerate(codes))
        un_sums = ", ".join(f"COALESCE(fsum(a.s{j}), 0.0) AS {q(v)}" for j, v in enumerate(values))
        unmatched = con.execute(f"SELECT {originals}, {un_sums} FROM cw_agg AS a WHERE {lacking} "
                                f"GROUP BY {by} ORDER BY {order}").df()
        note("convert", 1.0)
    finally:
        con.close()
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return finish(converted, codes, values), finish(unmatched, codes, values)


def finish(frame: pd.DataFrame, codes: list[str], values: list[str]) -> pd.DataFrame:
    """Codes as text (pandas' ``str`` dtype; a missing code stays missing), values float64,
    a fresh 0..n-1 index."""
    out = {}
    for c in codes:
        col = pd.Series(frame[c].to_numpy(dtype=object), dtype=object)
        col = col.where(col.notna(), None)
        out[c] = col.astype("str") if PANDAS3 or not col.isna().any() else col
    for v in values:
        out[v] = pd.Series(frame[v].to_numpy(dtype="float64"), dtype="float64")
    return pd.DataFrame(out, columns=codes + values)
