"""Spark engine: the conversion on Apache Spark (PySpark) for data that outgrows one machine.

``run(data, weights_by_column, value_columns, code_columns, *, progress=None, **options)``
with ``data`` a pandas DataFrame (sent to Spark row by row: for tests and small data) or the
path (or URI: ``hdfs://``, ``s3a://``) of a CSV or parquet file or folder, which Spark reads
itself. Codes are read as strings (``0110`` keeps its leading zero), values as DoubleType.

The data is summed by its code(s) on the cluster, joined to the crosswalk (small:
broadcast to every executor, ``F.broadcast``) and summed by target code(s); the aggregated
result — as many rows as target codes — is collected to pandas and sorted.

Options: ``session`` (a SparkSession to use; else the active one; else one is started
with ``master`` and stopped at the end), ``master`` (default ``"local[2]"``), ``config`` (extra Spark settings
for a session started here), ``delimiter`` and ``encoding`` (CSV; sniffed from the head of
a local file when not given, else ``,`` and UTF-8), ``format`` (``"csv"`` or ``"parquet"``
when the path does not tell).
"""
from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..errors import CrosswalkError
from .duckdb_engine import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    check_columns,
    finish,
    sniff_csv,
    weight_frame,
)

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


def _read(spark, data, codes: list[str], values: list[str], options: dict):
    """The input as a Spark DataFrame: code columns as strings, value columns as they come."""
    _, _, T = _pyspark()
    if isinstance(data, pd.DataFrame):
        missing = [c for c in codes + values if c not in data.columns]
        if missing:
            raise CrosswalkError(f"column(s) {', '.join(missing)} not in the data; it has "
                                 f"{', '.join(map(str, data.columns))}")
        cols = {}
        for c in codes:
            s = data[c].astype(object)
            cols[c] = [None if pd.isna(x) else str(x) for x in s]
        for v in values:
            try:
                arr = pd.to_numeric(data[v], errors="raise").astype("float64")
            except (TypeError, ValueError) as exc:
                raise CrosswalkError(f"value column {v!r} is not numeric: {exc}") from exc
            cols[v] = [None if math.isnan(x) else float(x) for x in arr]
        schema = T.StructType([T.StructField(c, T.StringType(), True) for c in codes]
                              + [T.StructField(v, T.DoubleType(), True) for v in values])
        rows = list(zip(*(cols[c] for c in codes + values))) if len(data) else []
        return spark.createDataFrame(rows, schema), set()
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
        # every column as a string: codes keep leading zeros, values are parsed below
        frame = (spark.read.option("header", True).option("sep", delim or ",")
                 .option("encoding", enc or "UTF-8").option("quote", '"').option("inferSchema", False)
                 .csv(path))
    missing = [c for c in codes + values if c not in frame.columns]
    if missing:
        raise CrosswalkError(f"column(s) {', '.join(missing)} not in the data; it has {', '.join(frame.columns)}")
    types = dict(frame.dtypes)
    return frame, {v for v in values if types[v] == "string"}


def _value(F, name: str, text: bool):
    col = F.col(name)
    if not text:
        return col.cast("double")
    # as the DuckDB engine: blanks (also non-breaking) dropped, a decimal comma read as a point
    cleaned = F.regexp_replace(F.regexp_replace(F.trim(col), "[ \u00a0]", ""), ",", ".")
    return F.when(cleaned == "", F.lit(None)).otherwise(cleaned).cast("double")


def _check_numbers(F, frame, text: set, path) -> None:
    """Values that are text but not numbers would turn into nulls: refuse them, naming
    them, as the other engines do (Spark keeps no source row numbers: values and counts)."""
    bad = []
    for v in sorted(text):
        name = "`" + v.replace("`", "``") + "`"
        cleaned = f"regexp_replace(regexp_replace(trim({name}), '[ \u00a0]', ''), ',', '.')"
        # try_cast: under ANSI mode (Spark 4) a plain cast throws at the first bad value
        wrong = frame.where(F.expr(f"{cleaned} != '' AND try_cast({cleaned} AS DOUBLE) IS NULL"))
        rows = wrong.groupBy(F.col(v)).count().orderBy(F.col("count").desc(), F.col(v)).limit(5).collect()
        if rows:
            total = wrong.count()
            bad.append(f"column {v!r}: {total} value(s) that are not numbers, e.g. "
                       + ", ".join(f"{r[v]!r} ({r['count']}×)" for r in rows))
    if bad:
        raise CrosswalkError(f"{path}: " + "; ".join(bad))


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


def totals(data, value_columns, **options) -> dict[str, float]:
    """Input total of each value column, summed on Spark."""
    _options(options)
    _, F, _ = _pyspark()
    values = [str(v) for v in value_columns]
    spark, own = _session(options)
    try:
        frame, text = _read(spark, data, [], values, options)
        _check_numbers(F, frame, text, data)
        row = frame.agg(*[F.coalesce(F.sum(_value(F, v, v in text)), F.lit(0.0)).alias(f"s{j}")
                          for j, v in enumerate(values)]).collect()[0]
    finally:
        if own:
            spark.stop()
    return {v: float(row[f"s{j}"]) for j, v in enumerate(values)}


def run(data, weights_by_column: dict, value_columns, code_columns, *,
        progress: Progress | None = None, **options):
    """(converted data, unmatched) — see the module docstring."""
    _options(options)
    codes, values = check_columns(value_columns, code_columns, weights_by_column)
    note = progress or (lambda stage, fraction: None)
    _, F, T = _pyspark()
    note("start", 0.0)
    spark, own = _session(options)
    try:
        note("start", 1.0)
        frame, text = _read(spark, data, codes, values, options)
        _check_numbers(F, frame, text, data)
        # a missing code is the code '' (as in the pandas engine): unmatched, never dropped
        keyed = frame.select(*[F.coalesce(F.col(c).cast("string"), F.lit("")).alias(f"k{i}")
                               for i, c in enumerate(codes)],
                             *[_value(F, v, v in text).alias(f"v{j}") for j, v in enumerate(values)])
        keys = [f"k{i}" for i in range(len(codes))]
        agg = keyed.groupBy(*keys).agg(*[F.coalesce(F.sum(f"v{j}"), F.lit(0.0)).alias(f"s{j}")
                                         for j in range(len(values))]).cache()
        note("read", 0.0)
        agg.count()                                 # the one pass over the data
        note("read", 1.0)

        schema = T.StructType([T.StructField("source", T.StringType(), False),
                               T.StructField("target", T.StringType(), False),
                               T.StructField("weight", T.DoubleType(), False)])
        joined, flagged = agg, agg
        for i, col in enumerate(codes):
            w = weight_frame(weights_by_column[col])
            sw = spark.createDataFrame(list(zip(w["source"], w["target"], w["weight"].astype(float))), schema)
            joined = joined.join(F.broadcast(sw.withColumnRenamed("source", f"k{i}")
                                             .withColumnRenamed("target", f"t{i}")
                                             .withColumnRenamed("weight", f"w{i}")), on=f"k{i}", how="inner")
            present = sw.select(F.col("source").alias(f"k{i}")).distinct().withColumn(f"m{i}", F.lit(True))
            flagged = flagged.join(F.broadcast(present), on=f"k{i}", how="left")
        factor = F.lit(1.0)
        for i in range(len(codes)):
            factor = factor * F.col(f"w{i}")
        note("convert", 0.0)
        converted = (joined.groupBy(*[F.col(f"t{i}").alias(c) for i, c in enumerate(codes)])
                     .agg(*[F.coalesce(F.sum(F.col(f"s{j}") * factor), F.lit(0.0)).alias(v)
                            for j, v in enumerate(values)])
                     .orderBy(*[F.col(c).asc_nulls_last() for c in codes]))
        data_out = _collect(converted, codes, values)
        note("convert", 0.5)
        lacking = None
        for i in range(len(codes)):
            cond = F.col(f"m{i}").isNull()
            lacking = cond if lacking is None else (lacking | cond)
        unmatched = (flagged.where(lacking)
                     .groupBy(*[F.col(f"k{i}").alias(c) for i, c in enumerate(codes)])
                     .agg(*[F.coalesce(F.sum(f"s{j}"), F.lit(0.0)).alias(v) for j, v in enumerate(values)])
                     .orderBy(*[F.col(c).asc_nulls_last() for c in codes]))
        unmatched_out = _collect(unmatched, codes, values)
        agg.unpersist()
        note("convert", 1.0)
    finally:
        if own:
            spark.stop()
    return data_out, unmatched_out


def _collect(frame, codes: list[str], values: list[str]) -> pd.DataFrame:
    """A small aggregated Spark DataFrame to pandas (no pyarrow needed)."""
    rows = frame.collect()
    cols = codes + values
    table = pd.DataFrame({c: pd.Series([r[k] for r in rows], dtype=object) for k, c in enumerate(cols)},
                         columns=cols)
    return finish(table, codes, values)


__all__ = ["run", "start_session", "totals"]
