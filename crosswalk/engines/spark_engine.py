"""Spark engine: reading and summing the data on Apache Spark (PySpark) for data that outgrows
one machine.

``scan(data, columns, *, progress=None, **options)`` with ``data`` a pandas DataFrame (sent to
Spark as text: for tests and small data) or the path (or URI: ``hdfs://``, ``s3a://``) of a CSV
or parquet file or folder, which Spark reads itself. Every CSV cell is read as a string; a
typed double of a parquet file is written as its shortest decimal by the same Python function
the pandas engine uses (a pandas UDF: Java would print some doubles longer), NaN as ``NaN``
(refused). Code and key texts are grouped as read (stripped afterwards, on the groups), values
read by the rules of :mod:`crosswalk.io.numbers` as Spark SQL (the same patterns, then
``try_cast(… AS DECIMAL(38, 18))``) and summed exactly by code(s) and key(s) on the cluster,
with the total over all rows as a second grouping set; the sums — one row per distinct code
and key combination — are collected. Spark keeps no row numbers of a file: refused cells are
named by value.

Options: ``session`` (a SparkSession to use; else the active one; else one is started
with ``master`` and stopped at the end), ``master`` (default ``"local[2]"``), ``config`` (extra Spark settings
for a session started here), ``delimiter`` and ``encoding`` (CSV; sniffed from the head of
a local file when not given, else ``,`` and UTF-8), ``format`` (``"csv"`` or ``"parquet"``
when the path does not tell).
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import CrosswalkError
from ..io.numbers import BEYOND_SCALE, GROUP, NUMBER, SCALE, STRIP
from .duckdb_engine import CSV_SUFFIXES, PARQUET_SUFFIXES, sniff_csv

Progress = Callable[[str, float], None]
OPTIONS = ("session", "master", "config", "delimiter", "encoding", "format")
DEFAULT_CONFIG = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "1g",
}
last_startup_seconds: float | None = None     # how long the last session started here took


def _pyspark():
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
        from pyspark.sql import functions as F
        from pyspark.sql import types as T
    except ImportError as exc:      # pragma: no cover - depends on the installation
        raise CrosswalkError("the spark engine needs pyspark (and Java 17+): pip install 'crosswalk[spark]'") from exc
    return SparkSession, F, T


def start_session(master: str = "local[2]", config: dict | None = None):
    """A Spark session for the engine (``getOrCreate``: an active one is reused)."""
    global last_startup_seconds
    SparkSession, _, _ = _pyspark()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    t0 = time.perf_counter()
    builder = SparkSession.builder.master(master).appName("crosswalk-apply")
    for key, value in {**DEFAULT_CONFIG, **(config or {})}.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:        # no Java, port trouble, …
        raise CrosswalkError(f"cannot start a Spark session ({master}): {exc}") from exc
    spark.sparkContext.setLogLevel("ERROR")
    last_startup_seconds = time.perf_counter() - t0
    return spark


def _kind(path: str, options: dict) -> str:
    fmt = options.get("format")
    if fmt:
        if fmt not in ("csv", "parquet"):
            raise CrosswalkError(f"format must be 'csv' or 'parquet', not {fmt!r}")
        return fmt
    suffix = Path(path.rstrip("/")).suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in CSV_SUFFIXES:
        return "csv"
    local = Path(path)
    if local.is_file():
        with open(local, "rb") as fh:
            if fh.read(4) == b"PAR1":
                return "parquet"
    if local.is_dir() and any(local.glob("*.parquet")):
        return "parquet"
    raise CrosswalkError(f"{path}: cannot tell whether it is CSV or parquet; pass format='csv' or 'parquet'")


def _read(spark, data, options: dict):
    """(the input as a Spark DataFrame, column -> Spark type name, row numbers of a data frame
    or None). A data frame goes over as the text cells every engine reads, with its row
    numbers in a column ``cw_rn``."""
    if isinstance(data, pd.DataFrame):
        from pyspark.sql import types as T
        rows_of = data.attrs.get("rows")
        names = [str(c) for c in data.columns]
        frame = data.copy()
        frame.columns = names
        frame["cw_rn"] = np.arange(1, len(frame) + 1, dtype=np.int64)
        schema = T.StructType([T.StructField(c, T.StringType(), True) for c in names]
                              + [T.StructField("cw_rn", T.LongType(), False)])
        cols = [frame[c].tolist() for c in names] + [frame["cw_rn"].tolist()]
        rows = list(zip(*cols)) if len(frame) else []
        sdf = spark.createDataFrame(rows, schema)
        return sdf, {c: "string" for c in names}, rows_of
    path = str(data)
    kind = _kind(path, options)
    if "://" not in path and not Path(path).exists():
        raise CrosswalkError(f"{path}: no such file")
    if kind == "parquet":
        frame = spark.read.parquet(path)
    else:
        enc, delim = options.get("encoding"), options.get("delimiter")
        if (enc is None or delim is None) and Path(path).is_file():
            s_enc, s_delim = sniff_csv(Path(path))
            enc, delim = enc or s_enc, delim or s_delim
        # every column as a string, quotes doubled as in RFC 4180, records over several lines
        frame = (spark.read.option("header", True).option("sep", delim or ",")
                 .option("encoding", enc or "UTF-8").option("quote", '"').option("escape", '"')
                 .option("multiLine", True).option("inferSchema", False).option("mode", "FAILFAST").csv(path))
        names = frame.columns
        from pyspark.sql import functions as F
        blank = None
        for c in names:
            cond = F.coalesce(F.col(_bq(c)), F.lit("")) == ""
            blank = cond if blank is None else (blank & cond)
        if blank is not None:             # a line of delimiters only is no row (as pandas reads it)
            frame = frame.where(~blank)
    return frame, dict(frame.dtypes), None

def _options(options: dict) -> None:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise CrosswalkError(f"unknown spark engine option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")


def _session(options: dict):
    """(session, whether to stop it at the end): the one passed in, else the active one (left
    running), else a new one with ``master`` (stopped at the end)."""
    if options.get("session") is not None:
        return options["session"], False
    SparkSession, _, _ = _pyspark()
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    return start_session(options.get("master") or "local[2]", options.get("config")), True


def _bq(name: str) -> str:
    """A column name quoted for Spark."""
    return "`" + str(name).replace("`", "``") + "`"


def _lit(text: str) -> str:
    """A Spark SQL string literal (the patterns here hold no backslash)."""
    if "\\" in text:
        raise ValueError("a Spark SQL literal with a backslash")
    return "'" + text.replace("'", "\\'") + "'"


_STRIP_RX = f"^[{STRIP}]+|[{STRIP}]+$"


def _code_texts(values: pd.Series) -> pd.Series:
    """Typed code cells as the text pandas shows (the pandas engine's own function)."""
    from .pandas_engine import text_cells
    return pd.Series(text_cells(values), dtype=object)


def _float_texts(values: pd.Series) -> pd.Series:
    """Doubles as their shortest decimal text (the pandas engine's own function), as Arrow
    strings: no Python object per value. NaN and infinities are named by the caller."""
    import pyarrow as pa
    import pyarrow.compute as pc
    x = values.to_numpy()
    finite = np.isfinite(x)
    text = pa.array(np.where(finite, x, 0.0).astype(x.dtype if x.dtype == np.float32 else np.float64)).cast(pa.string())
    text = pc.if_else(pa.array(finite), text, pa.scalar(None, pa.string()))
    return pd.Series(pd.arrays.ArrowStringArray(text))


def _text_col(F, c: str, dtype: str, udf_code):
    col = F.col(_bq(c))
    if dtype == "string":
        return F.coalesce(col, F.lit(""))
    if dtype in ("double", "float"):
        return udf_code(col)
    if dtype == "boolean":
        return F.when(col.isNull(), F.lit("")).when(col, F.lit("TRUE")).otherwise(F.lit("FALSE"))
    return F.coalesce(col.cast("string"), F.lit(""))


def _value_col(F, c: str, dtype: str, udf_float, only=None):
    col = F.col(_bq(c))
    if dtype == "string":
        return col
    if dtype in ("double", "float"):
        arg = col if only is None else F.when(only, col)       # the UDF reads nulls where not needed
        text = (F.when(col.isNull(), F.lit(None).cast("string")).when(F.isnan(col), F.lit("NaN"))
                .when(col == float("inf"), F.lit("inf")).when(col == float("-inf"), F.lit("-inf"))
                .otherwise(udf_float(arg)))
        return text if only is None else F.when(only, text)
    if dtype == "boolean":
        return F.when(col.isNull(), F.lit(None).cast("string")).when(col, F.lit("TRUE")).otherwise(F.lit("FALSE"))
    return col.cast("string")


FAST_DECIMALS = 6


def _fast_col(F, c: str):
    """A double as DECIMAL(38, 0) units of 1e-18 without text where that is certainly its
    shortest decimal (k ≤ 6 decimals, N = round(|x|·10^k) with N/10^k = |x|, |x|·8·10^k ≤
    2^52 — so the double's spacing is at most 10^-k/8); NULL elsewhere."""
    x = F.col(_bq(c))
    ax = F.abs(x)
    out = F.when(x.isNull() | F.isnan(x) | (ax == float("inf")), F.lit(None).cast("decimal(38,0)"))
    for k in range(FAST_DECIMALS + 1):
        p = float(10 ** k)
        n = F.round(ax * p)
        out = out.when((ax * 8 * p <= 2.0 ** 52) & (n < 2.0 ** 53) & (n / p == ax),
                       (F.signum(x) * n).cast("decimal(38,0)") * F.lit(10 ** (SCALE - k)).cast("decimal(38,0)"))
    return out.otherwise(F.lit(None).cast("decimal(38,0)"))


def _worth_it(F, frame, c: str) -> bool:
    """Whether most of the first non-null values of a double column have few decimals (the
    integer path); the result is the same either way, only faster."""
    sample = frame.where(F.col(_bq(c)).isNotNull()).select(_fast_col(F, c).isNotNull().alias("f")).limit(2048)
    rows = sample.collect()
    return bool(rows) and sum(1 for r in rows if r["f"]) >= len(rows) / 2


def _canonical_sql(t: str, style: str) -> str:
    if style == "point":
        return f"regexp_replace({t}, {_lit('[' + GROUP + ',]')}, '')"
    return f"replace(regexp_replace({t}, {_lit('[' + GROUP + ']')}, ''), ',', '.')"


def _rounds_sql(c: str) -> str:
    """Spark SQL of :func:`crosswalk.io.numbers.rounds` on a canonical number ``c``."""
    m = f"regexp_extract({c}, '^[+-]?([0-9]*[.]?[0-9]*)', 1)"
    digits = f"replace({m}, '.', '')"
    kept = f"TRIM(TRAILING '0' FROM {digits})"
    frac = f"(CASE WHEN instr({m}, '.') > 0 THEN length({m}) - instr({m}, '.') ELSE 0 END)"
    exp = f"COALESCE(try_cast(regexp_extract({c}, '[eE]([+-]?[0-9]+)$', 1) AS INT), 0)"
    return (f"(CASE WHEN NOT ({c} RLIKE '[eE]') THEN {c} RLIKE {_lit(BEYOND_SCALE)}"
            f" ELSE length({kept}) > 0 AND {frac} - {exp} - (length({digits}) - length({kept})) > {SCALE} END)")


def _bad_sql(t: str, style: str) -> str:
    return (f"({t} IS NOT NULL AND {t} <> '' AND (NOT ({t} RLIKE {_lit(NUMBER[style])}) OR"
            f" try_cast({_canonical_sql(t, style)} AS DECIMAL(38, {SCALE})) IS NULL))")


def column_names(data, **options) -> list[str]:
    """The columns of ``data``: a local file's header is read here (no Spark session)."""
    if isinstance(data, pd.DataFrame):
        return [str(c) for c in data.columns]
    path = str(data)
    kind = _kind(path, options)
    local = Path(path)
    if "://" not in path and local.is_file():
        if kind == "parquet":
            import pyarrow.parquet as pq
            return list(pq.read_schema(local).names)
        import csv
        enc, delim = sniff_csv(local)
        with open(local, encoding=options.get("encoding") or enc, newline="") as fh:
            return next(csv.reader(fh, delimiter=options.get("delimiter") or delim, quotechar='"'), [])
    _options(options)
    spark, own = _session(options)
    try:
        frame, types, _ = _read(spark, data, options)
        return list(types)
    finally:
        if own:
            spark.stop()


def delimiter(data, **options):
    """The CSV delimiter Spark reads ``data`` with (None for parquet and data frames)."""
    if isinstance(data, pd.DataFrame):
        return None
    path = str(data)
    if _kind(path, options) != "csv":
        return None
    if options.get("delimiter"):
        return options["delimiter"]
    return sniff_csv(Path(path))[1] if Path(path).is_file() else ","


def scan(data, columns, *, progress: Progress | None = None, **options):
    """The data read by the rules and summed exactly by code(s) and key(s) on Spark: a
    :class:`crosswalk.engines.scan.Scan` (see the module docstring)."""
    from .duckdb_engine import _as_text_frame
    from .scan import ROWS, SHOWN, Scan, ValueStats, decimal_ints, too_large_sum
    _options(options)
    note = progress or (lambda stage, fraction: None)
    _, F, T = _pyspark()
    if isinstance(data, pd.DataFrame):
        missing = [c for c in columns.all if c not in data.columns]
        if missing:
            raise CrosswalkError(f"column(s) {', '.join(map(repr, missing))} not in the data; it has"
                                 f" {', '.join(map(str, data.columns))}")
        rows_of = data.attrs.get("rows")
        text = _as_text_frame(data, columns)
        text.attrs["rows"] = rows_of
        data = text
    note("start", 0.0)
    spark, own = _session(options)
    view = f"cw_cells_{os.getpid()}_{id(columns)}"
    try:
        note("start", 1.0)
        frame, types, rows_of = _read(spark, data, options)
        missing = [c for c in columns.all if c not in types]
        if missing:
            raise CrosswalkError(f"column(s) {', '.join(map(repr, missing))} not in the data; it has"
                                 f" {', '.join(types)}")
        udf_code = F.pandas_udf(_code_texts, T.StringType())
        udf_float = F.pandas_udf(_float_texts, T.StringType())
        texts, values, style = list(columns.texts), list(columns.values), columns.style
        # code and key texts as read: Scan.strip_blanks strips them on the groups, as for every engine
        cells = [_text_col(F, c, types[c], udf_code).alias(f"k{i}") for i, c in enumerate(texts)]
        fast = {v for v in values if types[v] in ("double", "float") and _worth_it(F, frame, v)}
        for j, v in enumerate(values):
            n = _fast_col(F, v) if v in fast else F.lit(None).cast("decimal(38,0)")
            # the text path only where the integer path found nothing (a Python UDF sees every row)
            raw = _value_col(F, v, types[v], udf_float, only=n.isNull() if v in fast else None)
            cells += [n.alias(f"n{j}"), raw.alias(f"u{j}"), F.regexp_replace(raw, _STRIP_RX, "").alias(f"t{j}")]
        if "cw_rn" in frame.columns:
            cells.append(F.col("cw_rn"))
        frame.select(*cells).createOrReplaceTempView(view)
        middle = [f"k{i}" for i in range(len(texts))]
        outer = list(middle)
        for j in range(len(values)):
            middle += [f"n{j}", f"t{j}", f"t{j} RLIKE {_lit(NUMBER[style])} AS ok{j}",
                       f"{_canonical_sql(f't{j}', style)} AS c{j}"]
            outer += [f"n{j}", f"t{j}", f"ok{j}", f"c{j}",
                      f"CASE WHEN n{j} IS NULL AND ok{j} THEN try_cast(c{j} AS DECIMAL(38, {SCALE})) END AS d{j}"]
        keys = ", ".join(f"k{i}" for i in range(len(texts)))
        aggs = [f"count(1) AS {_bq(ROWS)}", "grouping_id() AS cw_total"]
        for j in range(len(values)):
            text = f"n{j} IS NULL"
            aggs += [f"sum(n{j}) AS w{j}", f"sum(d{j}) AS v{j}",
                     f"count_if({text} AND (t{j} IS NULL OR t{j} = '')) AS miss{j}",
                     f"count_if({text} AND t{j} <> '' AND NOT ok{j}) AS ref{j}",
                     f"count_if({text} AND ok{j} AND d{j} IS NULL) AS big{j}",
                     f"count_if(d{j} IS NOT NULL AND {_rounds_sql(f'c{j}')}) AS rnd{j}",
                     f"count_if(d{j} IS NOT NULL AND c{j} <> t{j}) AS fmt{j}"]
        sql = (f"SELECT {keys}, {', '.join(aggs)} FROM (SELECT {', '.join(outer)} FROM (SELECT {', '.join(middle)}"
               f" FROM {view})) GROUP BY GROUPING SETS (({keys}), ())")
        note("read", 0.0)
        try:
            table = _arrow(spark.sql(sql))
        except Exception as exc:                   # Spark's own error types (py4j, analysis, arithmetic)
            if "overflow" in str(exc).casefold():
                raise too_large_sum(", ".join(values)) from None
            raise CrosswalkError(f"spark could not read {_where(data)}: {str(exc).strip().splitlines()[0][:500]}") \
                from None
        note("read", 1.0)
        total_row = table.column("cw_total").to_numpy(zero_copy_only=False) != 0
        whole, part = table.filter(total_row), table.filter(~total_row)
        n = int(whole.column(ROWS)[0].as_py()) if whole.num_rows else 0
        out = pd.DataFrame({c: pd.Series(part.column(f"k{i}").to_pylist(), dtype=object) for i, c in enumerate(texts)})
        stats, totals = {}, {}
        for j, v in enumerate(values):
            out[v] = decimal_ints(part.column(f"v{j}")) + decimal_ints(part.column(f"w{j}"))
            totals[v] = (int(decimal_ints(whole.column(f"v{j}"))[0]) + int(decimal_ints(whole.column(f"w{j}"))[0])
                         if whole.num_rows else 0)
            get = lambda name: int(whole.column(f"{name}{j}")[0].as_py() or 0) if whole.num_rows else 0
            stats[v] = ValueStats(cells=n, missing=get("miss"), refused=get("ref"), too_large=get("big"),
                                  rounded=get("rnd"), reformatted=get("fmt"))
            if stats[v].refused or stats[v].too_large:
                stats[v].examples = _examples(spark, view, j, style, rows_of, SHOWN)
        out[ROWS] = (part.column(ROWS).to_numpy(zero_copy_only=False).astype("int64") if part.num_rows
                     else pd.Series([], dtype="int64"))
        spark.catalog.dropTempView(view)
    finally:
        if own:
            spark.stop()
    return Scan(columns, out, n, totals, stats, {}, "spark", row_numbers=rows_of is not None)


def _examples(spark, view: str, j: int, style: str, rows_of, limit: int) -> list:
    """(row or None, text) of refused cells: by row for a data frame, else by value."""
    bad = _bad_sql(f"t{j}", style)
    if rows_of is not None:
        found = spark.sql(f"SELECT cw_rn, u{j} FROM {view} WHERE {bad} ORDER BY cw_rn LIMIT {limit}").collect()
        return [(int(rows_of[r[0] - 1]) if r[0] - 1 < len(rows_of) else int(r[0]), str(r[1])) for r in found]
    found = spark.sql(f"SELECT DISTINCT u{j} FROM {view} WHERE {bad} ORDER BY u{j} LIMIT {limit}").collect()
    return [(None, str(r[0])) for r in found]


def _arrow(frame):
    """A small Spark result as an Arrow table (decimals stay exact)."""
    if hasattr(frame, "toArrow"):
        return frame.toArrow()
    import pyarrow as pa                                # Spark < 4: rows through Python
    rows = frame.collect()
    return pa.table({name: [r[i] for r in rows] for i, name in enumerate(frame.columns)})


def _where(data) -> str:
    return "the data" if isinstance(data, pd.DataFrame) else str(data)


__all__ = ["column_names", "delimiter", "scan", "start_session"]
