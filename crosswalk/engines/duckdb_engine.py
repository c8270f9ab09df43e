"""DuckDB engine: reading and summing the data as SQL, streaming CSV or parquet files larger
than memory.

``scan(data, columns, *, progress=None, **options)`` with ``data`` a pandas DataFrame or the
path of a CSV (any delimiter, UTF-8 or cp1251) or parquet file, which DuckDB reads itself in a
streaming scan. Every CSV cell is read as text (no column is typed from a sample of rows);
code and key texts are grouped as read (:meth:`Scan.strip_blanks` strips them on the groups);
values follow the rules of :mod:`crosswalk.io.numbers`, rendered here as SQL: the same
patterns, then ``TRY_CAST(… AS DECIMAL(38, 18))`` — exact sums, rounded half away from zero
beyond 18 decimals, NULL beyond 20 integer digits. A typed double of a parquet file is its
shortest decimal (0.1 is 0.1): with up to 6 decimals found without text (an integer of units
of 1e-18), else through DuckDB's shortest text of it; NaN is refused, a null is missing.

One streaming pass sums each value column by code(s) and key(s) and, as a second grouping
set, over all rows (the total the grouping is checked against); refused cells are then looked
up by row number only when there are any. Memory grows with the number of distinct code and
key combinations, not with rows.

Options: ``memory_limit`` (default ``"1GB"``), ``threads`` (default: all cores),
``temp_directory`` (spill folder; default a temporary one, removed afterwards),
``delimiter`` and ``encoding`` (CSV; sniffed from the head of the file when not given).
``column_names(data)`` and ``delimiter(data)`` tell what the engine will read.
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
from ..io.numbers import BEYOND_SCALE, GROUP, NUMBER, PLAIN, SCALE, STRIP

Progress = Callable[[str, float], None]
OPTIONS = ("memory_limit", "threads", "temp_directory", "delimiter", "encoding")
CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".tab")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
HEAD_BYTES = 1 << 16


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


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
    """(encoding, delimiter) from the head of a CSV file: UTF-8 when it decodes, else cp1251
    or KOI8-R, told apart by the letters (as every reader of text does)."""
    from ..io.codepage import detect
    from ..io.tables import sniff_delimiter
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    enc = "utf-8"
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        enc = detect(head).encoding or "cp1251"
        text = head.decode(enc, errors="replace")
    if len(head) == HEAD_BYTES:                        # drop a line cut short by the head
        text = text[:text.rfind("\n") + 1] or text
    return enc, sniff_delimiter(text)


def to_utf8(path: Path, encoding: str, folder: str) -> Path:
    """A UTF-8 copy of a file in another encoding, written in chunks (any size); a byte the
    encoding lacks is a :class:`CrosswalkError` naming its line."""
    out = Path(folder) / (path.stem + ".utf8.csv")
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    with open(path, "rb") as src, open(out, "w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 22):
            try:
                dst.write(decoder.decode(chunk))
            except UnicodeDecodeError as exc:
                line = lines + chunk[:exc.start].count(b"\n") + 1
                raise CrosswalkError(f"{path}: line {line}: byte {chunk[exc.start:exc.start + 1]!r} is not"
                                     f" {encoding}: the file mixes encodings; save it as UTF-8") from None
            lines += chunk.count(b"\n")
        dst.write(decoder.decode(b"", final=True))
    return out


def _run_polling(con, sql: str, progress: Progress | None, stage: str):
    """The Arrow table of ``sql``; with a progress callback, DuckDB's own progress reported
    as a fraction while it runs."""
    if progress is None:
        return con.sql(sql).to_arrow_table()
    box: dict = {}

    def work():
        try:
            box["res"] = con.sql(sql).to_arrow_table()
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


# -- the rules of crosswalk.io.numbers as SQL -----------------------------------------------
def _rounds_sql(c: str) -> str:
    """SQL of :func:`crosswalk.io.numbers.rounds` on a canonical number ``c``."""
    m = f"regexp_extract({c}, '^[+-]?([0-9]*[.]?[0-9]*)', 1)"
    digits = f"replace({m}, '.', '')"
    kept = f"rtrim({digits}, '0')"
    frac = f"(CASE WHEN strpos({m}, '.') > 0 THEN length({m}) - strpos({m}, '.') ELSE 0 END)"
    exp = f"COALESCE(TRY_CAST(regexp_extract({c}, '[eE]([+-]?[0-9]+)$', 1) AS INTEGER), 0)"
    return (f"(CASE WHEN NOT regexp_matches({c}, '[eE]') THEN regexp_matches({c}, {lit(BEYOND_SCALE)})"
            f" ELSE length({kept}) > 0 AND {frac} - {exp} - (length({digits}) - length({kept})) > {SCALE} END)")


def _canonical_sql(t: str, style: str) -> str:
    if style == "point":
        return f"regexp_replace({t}, {lit('[' + GROUP + ',]')}, '', 'g')"
    return f"replace(regexp_replace({t}, {lit('[' + GROUP + ']')}, '', 'g'), ',', '.')"


def _text_sql(col: str, dtype: str) -> str:
    """A code or key column as the text pandas shows (a number as a spreadsheet shows it),
    '' when missing; not stripped."""
    c, t = q(col), dtype.upper()
    if t in ("DOUBLE", "FLOAT", "REAL"):
        return (f"CASE WHEN {c} IS NULL THEN '' WHEN isfinite({c}) AND {c} = trunc({c}) AND abs({c}) < 1e38"
                f" THEN CAST(CAST({c} AS HUGEINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END")
    if t == "BOOLEAN":
        return f"CASE WHEN {c} IS NULL THEN '' WHEN {c} THEN 'TRUE' ELSE 'FALSE' END"
    return f"COALESCE(CAST({c} AS VARCHAR), '')"


def _value_text_sql(col: str, dtype: str) -> str:
    """A value column as text for the rules: a double as its shortest decimal, NaN and
    infinities by name (refused), NULL when missing."""
    c, t = q(col), dtype.upper()
    if t in ("DOUBLE", "FLOAT", "REAL"):
        # by isfinite and equality with the infinities: DuckDB's isnan misses a NaN read from some
        # parquet files, and orders NaN above every number
        return (f"CASE WHEN {c} IS NULL THEN NULL WHEN isfinite({c}) THEN CAST({c} AS VARCHAR)"
                f" WHEN {c} = 'Infinity'::{t} THEN 'inf' WHEN {c} = '-Infinity'::{t} THEN '-inf' ELSE 'NaN' END")
    if t == "BOOLEAN":
        return f"CASE WHEN {c} IS NULL THEN NULL WHEN {c} THEN 'TRUE' ELSE 'FALSE' END"
    return f"CAST({c} AS VARCHAR)"


def _bad_sql(t: str, style: str) -> str:
    """A stripped value text ``t`` that is refused (not a number, or too large)."""
    ok = f"regexp_full_match({t}, {lit(NUMBER[style])})"
    return (f"({t} IS NOT NULL AND {t} <> '' AND (NOT {ok} OR"
            f" TRY_CAST({_canonical_sql(t, style)} AS DECIMAL(38, {SCALE})) IS NULL))")


def _typed(dtype: str) -> str:
    """text | float | exact (integers, decimals) | other: how a value column's cells are read."""
    t = dtype.upper()
    if t in ("DOUBLE", "FLOAT", "REAL"):
        return "float"
    if t.startswith("DECIMAL") or t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                                        "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"):
        return "exact"
    return "text" if t in ("VARCHAR", "STRING", "TEXT") else "other"


FAST_DECIMALS = 6        # a double with up to this many decimals is read without text


def _fast_sql(col: str) -> str:
    """A typed number as HUGEINT units of 1e-18 without going through text, where that is
    certainly its shortest decimal (:func:`crosswalk.io.numbers._float_decimals`: k ≤ 6
    decimals, N = round(|x|·10^k) < 2^53 with N/10^k = |x|, the double's spacing at most
    10^-k/8); NULL elsewhere (the text path reads it)."""
    x = q(col)
    ax, ulp = f"abs({x})", f"(nextafter(abs({x}), 'Infinity'::DOUBLE) - abs({x}))"
    branches = []
    for k in range(FAST_DECIMALS + 1):
        p = f"1e{k}"
        branches.append(f"WHEN {ulp} * 8 * {p} <= 1 AND round({ax} * {p}) < 9007199254740992"
                        f" AND round({ax} * {p}) / {p} = {ax}"
                        f" THEN sign({x}) * CAST(round({ax} * {p}) AS HUGEINT) * CAST(1e{SCALE - k} AS HUGEINT)")
    return f"CASE WHEN {x} IS NULL OR NOT isfinite({x}) THEN NULL {' '.join(branches)} ELSE NULL END"


def _worth_it(con, source: str, column: str) -> bool:
    """Whether most of the first rows of a double column have few decimals (the integer path
    reads them); full-precision doubles go straight to their text. Either way each value is
    its shortest decimal: this only chooses the faster way."""
    row = con.execute(f"SELECT avg(CASE WHEN ({_fast_sql(column)}) IS NULL THEN 0 ELSE 1 END) FROM"
                      f" (SELECT {q(column)} FROM {source} WHERE {q(column)} IS NOT NULL LIMIT 2048)").fetchall()[0]
    return row[0] is not None and row[0] >= 0.5


INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")


def _value_layers(j: int, col: str, dtype: str, style: str, fast: bool) -> tuple[list, dict]:
    """The SQL of value column ``j`` as four layers of a SELECT (each a list of expressions;
    what a layer names, the next one reads) and its aggregates: ``n`` (HUGEINT units of 1e-18)
    and ``d`` (DECIMAL(38, 18)) summed, the counts of missing, refused, too large, rounded and
    reformatted cells."""
    x, t = q(col), dtype.upper()
    if t in INTEGERS:                  # exact as they are
        layers = [[f"CAST({x} AS HUGEINT) * CAST(1e{SCALE} AS HUGEINT) AS n{j}", f"{x} IS NULL AS z{j}"],
                  [f"n{j}", f"z{j}"], [f"n{j}", f"z{j}"], [f"n{j}", f"z{j}"]]
        return layers, {"w": f"sum(n{j})", "v": "NULL::DECIMAL(38, 18)", "miss": f"count_if(z{j})", "ref": "0",
                        "big": "0", "rnd": "0", "fmt": "0"}
    if t in ("DOUBLE", "FLOAT", "REAL"):   # its shortest decimal: without text where few decimals, else its text
        n = _fast_sql(col) if fast else "NULL::HUGEINT"
        layers = [[f"{x} AS x{j}", f"{n} AS n{j}"],
                  [f"x{j}", f"n{j}", f"CASE WHEN n{j} IS NULL AND isfinite(x{j}) THEN"
                                     f" TRY_CAST(CAST(x{j} AS VARCHAR) AS DECIMAL(38, {SCALE})) END AS d{j}"],
                  [f"x{j}", f"n{j}", f"d{j}"], [f"x{j}", f"n{j}", f"d{j}"]]
        return layers, {"w": f"sum(n{j})", "v": f"sum(d{j})", "miss": f"count_if(x{j} IS NULL)",
                        "ref": f"count_if(x{j} IS NOT NULL AND NOT isfinite(x{j}))",
                        "big": f"count_if(isfinite(x{j}) AND n{j} IS NULL AND d{j} IS NULL)",
                        # more than 18 decimals in at most 17 significant digits: below 0.01
                        "rnd": f"count_if(d{j} IS NOT NULL AND abs(x{j}) < 0.01 AND"
                               f" {_rounds_sql(f'CAST(x{j} AS VARCHAR)')})", "fmt": "0"}
    # text (and every other type by its text): the plain form by one pattern, the rest by the rules
    u = _value_text_sql(col, dtype)
    layers = [[f"{u} AS u{j}"],
              [f"u{j}", f"COALESCE(regexp_full_match(u{j}, {lit(PLAIN)}), false) AS p{j}"],
              [f"u{j}", f"p{j}", f"CASE WHEN p{j} THEN u{j} ELSE trim(u{j}, {lit(STRIP)}) END AS t{j}"],
              [f"p{j}", f"t{j}", f"CASE WHEN p{j} THEN true ELSE regexp_full_match(t{j}, {lit(NUMBER[style])}) END"
                                 f" AS ok{j}",
               f"CASE WHEN p{j} THEN u{j} ELSE {_canonical_sql(f't{j}', style)} END AS c{j}"]]
    return layers, {"w": "NULL::HUGEINT", "v": f"sum(d{j})", "miss": f"count_if(t{j} IS NULL OR t{j} = '')",
                    "ref": f"count_if(t{j} <> '' AND NOT ok{j})", "big": f"count_if(ok{j} AND d{j} IS NULL)",
                    "rnd": f"count_if(NOT p{j} AND d{j} IS NOT NULL AND {_rounds_sql(f'c{j}')})",
                    "fmt": f"count_if(NOT p{j} AND d{j} IS NOT NULL AND c{j} <> t{j})",
                    "last": [f"p{j}", f"t{j}", f"ok{j}", f"c{j}",
                             f"CASE WHEN p{j} THEN CAST(c{j} AS DECIMAL(38, {SCALE})) WHEN ok{j} THEN"
                             f" TRY_CAST(c{j} AS DECIMAL(38, {SCALE})) END AS d{j}"]}


def _scan_sql(source: str, types: dict, texts: list, values: list, style: str, kind: str,
              fast: frozenset = frozenset()) -> str:
    """One streaming pass: the texts of the code and key columns as read (stripped later, in
    Python, on the groups), each value cell by the rules (:func:`_value_layers`) — typed
    integers as they are, a typed double with few decimals as an integer and others by their
    shortest text, the plain form of a text cell (``-123.45``, most cells) by one pattern and a
    cast, the rest stripped, matched, made canonical — summed exactly by texts and over all
    rows (a second grouping set), with the counts of how the cells were read."""
    from .scan import ROWS
    keys = [f"k{i}" for i in range(len(texts))]
    layers = [[f"{_text_sql(c, types[c])} AS k{i}" for i, c in enumerate(texts)], list(keys), list(keys),
              list(keys), list(keys)]
    aggs_of = []
    for j, v in enumerate(values):
        parts, aggs = _value_layers(j, v, types[v], style, v in fast)
        for n, part in enumerate(parts):
            layers[n] += part
        layers[4] += aggs.pop("last", [e.split(" AS ")[-1] if " AS " in e else e for e in parts[3]])
        aggs_of.append(aggs)
    where = ""
    if kind == "csv":         # a line of delimiters only is no row (as pandas reads the file)
        where = " WHERE NOT (" + " AND ".join(f"COALESCE({q(c)}, '') = ''" for c in types) + ")"
    group = ", ".join(keys)
    out = [f"count(*) AS {q(ROWS)}", f"grouping({group}) AS cw_total"]
    for j, aggs in enumerate(aggs_of):
        out += [f"{aggs['w']} AS w{j}", f"{aggs['v']} AS v{j}"]
        out += [f"{aggs[k]} AS {k}{j}" for k in ("miss", "ref", "big", "rnd", "fmt")]
    sql = f"SELECT {', '.join(layers[0])} FROM {source}{where}"
    for layer in layers[1:]:
        sql = f"SELECT {', '.join(layer)} FROM ({sql})"
    return f"SELECT {group}, {', '.join(out)} FROM ({sql}) GROUP BY GROUPING SETS (({group}), ())"


# -- reading ---------------------------------------------------------------------------
def _source(con, data, tmp: str, options: dict, note) -> tuple[str, dict, str]:
    """(the FROM clause reading ``data``, column -> type, kind: csv | parquet | frame)."""
    import duckdb
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.is_file():
            raise CrosswalkError(f"{path}: no such file")
        kind = file_kind(path)
        if kind == "parquet":
            source = f"read_parquet({lit(path)})"
        else:
            enc, delim = sniff_csv(path)
            enc = options.get("encoding") or enc
            delim = options.get("delimiter") or delim
            if codecs.lookup(enc).name not in ("utf-8", "utf-8-sig"):
                note("transcode", 0.0)
                path = to_utf8(path, enc, tmp)
                note("transcode", 1.0)
            # every cell as text: no column is typed from a sample of its first rows
            source = (f"read_csv({lit(path)}, header = true, delim = {lit(delim)}, quote = '\"', escape = '\"',"
                      f" all_varchar = true, null_padding = true)")
    elif isinstance(data, pd.DataFrame):
        kind = "frame"
        con.register("cw_input", data)
        source = "cw_input"
    else:
        raise CrosswalkError(f"data must be a pandas DataFrame or a file path, not {type(data).__name__}")
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except duckdb.Error as exc:
        what = "the data" if isinstance(data, pd.DataFrame) else str(data)
        raise CrosswalkError(f"cannot read {what}: {_first_line(exc)}") from None
    return source, {row[0]: str(row[1]) for row in described}, kind


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:500] if str(exc).strip() else type(exc).__name__


def _as_text_frame(df: pd.DataFrame, columns) -> pd.DataFrame:
    """A data frame as the text cells the rules read: what every engine is given."""
    from ..io.numbers import value_text
    from .pandas_engine import text_cells
    out = {c: text_cells(df[c]) for c in columns.texts}
    out.update({v: value_text(df[v]) for v in columns.values})
    return pd.DataFrame({c: pd.Series(out[c], dtype=object) for c in columns.all})


def column_names(data, **options) -> list[str]:
    """The columns DuckDB reads from ``data``."""
    if isinstance(data, pd.DataFrame):
        return [str(c) for c in data.columns]
    con, tmp, own_tmp = _connect(options)
    try:
        _, types, _ = _source(con, data, tmp, options, lambda *a: None)
    finally:
        con.close()
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return list(types)


def delimiter(data, **options):
    """The CSV delimiter the engine reads ``data`` with (None for parquet and data frames)."""
    if isinstance(data, pd.DataFrame):
        return None
    path = Path(data)
    if not path.is_file() or file_kind(path) != "csv":
        return None
    return options.get("delimiter") or sniff_csv(path)[1]


def scan(data, columns, *, progress: Progress | None = None, **options):
    """The data read by the rules and summed exactly by code(s) and key(s): a
    :class:`crosswalk.engines.scan.Scan` (see the module docstring)."""
    import duckdb

    from .scan import ROWS, SHOWN, Scan, ValueStats, decimal_ints, too_large_sum
    note = progress or (lambda stage, fraction: None)
    rows_of = None
    if isinstance(data, pd.DataFrame):
        missing = [c for c in columns.all if c not in data.columns]
        if missing:
            raise CrosswalkError(f"column(s) {', '.join(map(repr, missing))} not in the data; it has"
                                 f" {', '.join(map(str, data.columns))}")
        rows_of = data.attrs.get("rows")
        data = _as_text_frame(data, columns)
    con, tmp, own_tmp = _connect(options)
    try:
        source, types, kind = _source(con, data, tmp, options, note)
        missing = [c for c in columns.all if c not in types]
        if missing:
            raise CrosswalkError(f"column(s) {', '.join(map(repr, missing))} not in the data; it has"
                                 f" {', '.join(types)}")
        style = columns.style
        texts, values = list(columns.texts), list(columns.values)
        fast = frozenset(v for v in values if _typed(types[v]) == "float" and _worth_it(con, source, v))
        sql = _scan_sql(source, types, texts, values, style, kind, fast)
        try:
            table = _run_polling(con, sql, progress, "read")
        except duckdb.OutOfRangeException as exc:
            if "overflow" in str(exc).casefold():
                raise too_large_sum(", ".join(values)) from None
            raise CrosswalkError(f"duckdb could not read {_where(data)}: {_first_line(exc)}") from None
        except duckdb.Error as exc:
            raise CrosswalkError(f"duckdb could not read {_where(data)}: {_first_line(exc)}"
                                 + _encoding_hint(exc)) from None
        note("convert", 0.5)
        total_row = table.column("cw_total").to_numpy() != 0
        whole = table.filter(total_row)
        part = table.filter(~total_row)
        n = int(whole.column(ROWS)[0].as_py()) if whole.num_rows else 0
        frame = pd.DataFrame({c: pd.Series(part.column(f"k{i}").to_pylist(), dtype=object)
                              for i, c in enumerate(texts)})
        stats, totals = {}, {}
        for j, v in enumerate(values):
            frame[v] = decimal_ints(part.column(f"v{j}")) + decimal_ints(part.column(f"w{j}"))
            totals[v] = (int(decimal_ints(whole.column(f"v{j}"))[0]) + int(decimal_ints(whole.column(f"w{j}"))[0])
                         if whole.num_rows else 0)
            get = lambda name: int(whole.column(f"{name}{j}")[0].as_py() or 0) if whole.num_rows else 0
            stats[v] = ValueStats(cells=n, missing=get("miss"), refused=get("ref"), too_large=get("big"),
                                  rounded=get("rnd"), reformatted=get("fmt"))
        frame[ROWS] = part.column(ROWS).to_numpy().astype("int64") if part.num_rows else pd.Series([], dtype="int64")
        for j, v in enumerate(values):
            if stats[v].refused or stats[v].too_large:
                stats[v].examples = _examples(con, source, v, types[v], style, kind, rows_of, SHOWN)
    finally:
        con.close()
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    note("convert", 1.0)
    return Scan(columns, frame, n, totals, stats, {}, "duckdb")


def _examples(con, source: str, column: str, dtype: str, style: str, kind: str, rows_of, limit: int) -> list:
    """(row as the user sees it, text) of the first refused cells of a value column."""
    try:
        con.execute("SET preserve_insertion_order = true")   # row_number() in file order
        con.execute("SET threads = 1")
        t = f"trim(val, {lit(STRIP)})"
        found = con.execute(f"SELECT rn, val FROM (SELECT row_number() OVER () AS rn, {_value_text_sql(column, dtype)}"
                            f" AS val FROM {source}) WHERE {_bad_sql(t, style)} ORDER BY rn LIMIT {limit}").fetchall()
    except Exception:                 # naming the cells is a courtesy: the counts stand without it
        return []
    out = []
    for rn, val in found:
        rn = int(rn)
        if kind == "csv":
            row = rn + 1                                  # the header is line 1
        elif kind == "frame" and rows_of is not None and rn - 1 < len(rows_of):
            row = int(rows_of[rn - 1])
        else:
            row = rn
        out.append((row, str(val)))
    return out


def _where(data) -> str:
    return "the data" if isinstance(data, pd.DataFrame) else str(data)


def _encoding_hint(exc: BaseException) -> str:
    text = str(exc).casefold()
    if "unicode" in text or "utf-8" in text or "utf8" in text:
        return " (the start of the file is UTF-8, a later part is not: save the whole file as UTF-8)"
    return ""


__all__ = ["column_names", "delimiter", "scan", "sniff_csv"]
