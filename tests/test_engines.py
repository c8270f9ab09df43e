"""The pandas, DuckDB and Spark engines give the same output to the last digit: each reads the
value cells by the rules of crosswalk.io.numbers and sums them exactly; the conversion after
that is shared. Regression tests for what the DuckDB engine got wrong with exit 0 (values typed
from the first 20,480 rows, `12,500` read as 12.5 in a comma-delimited file, `0x10` and `1_000`
accepted, NaN passed as an empty cell, padded codes unmatched, parquet NaN counted as 0), then
random tables (decimals, NaN, thousand separators by delimiter, padded and Excel-damaged codes)
through every engine, checked against a slow exact computation."""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crosswalk.apply import Weights, apply, write_result
from crosswalk.errors import CrosswalkError
from crosswalk.io.numbers import STRIP

from slow_numbers import slow  # noqa: E402  (tests/ is on sys.path)

duckdb = pytest.importorskip("duckdb")

# OKVED2 classes → ISIC Rev.4: 1:1, decimal splits, an equal split in thirds, a group code
LINKS = [("01.11", "0111", 1.0), ("01.12", "0112", 0.6), ("01.12", "0113", 0.4),
         ("10.11", "1010", 1 / 3), ("10.11", "1020", 1 / 3), ("10.11", "1030", 1 / 3),
         ("62.01", "6201", 1.0), ("85.22", "8530", 0.25), ("85.22", "8522", 0.75), ("10.1", "101", 1.0)]
W = Weights("okved2", "isic4", pd.DataFrame(LINKS, columns=["source", "target", "weight"]), "user")
ENGINES = ["pandas", "duckdb"]


def run(data, engine, **kw):
    kw.setdefault("value_columns", ["emp"])
    return apply(data, from_scheme="okved2", to_scheme="isic4", code_column="okved", weights=W, engine=engine,
                 **kw)


VALUE_KINDS = {"value_not_numeric", "value_missing", "value_rounded", "number_format", "blanks_stripped",
               "other_level", "ambiguous_repair", "rolled_up"}


def comparable(result, rows: bool = True) -> list:
    """The problems of reading the cells and codes; without rows (Spark names refused values
    once each, not by row) as a set."""
    found = [(p.kind, p.severity, p.column or "", p.row if rows else None, p.value or "",
              p.message if p.kind != "value_not_numeric" else "")
             for p in result.problems if p.kind in VALUE_KINDS]
    return sorted(found if rows else set(found))


def assert_same(a, b, rows: bool = True) -> None:
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.report, b.report)
    pd.testing.assert_frame_equal(a.unmatched, b.unmatched)
    if a.by_key is not None or b.by_key is not None:
        pd.testing.assert_frame_equal(a.by_key, b.by_key)
    assert a.totals == b.totals and a.rows == b.rows and a.repaired == b.repaired
    assert comparable(a, rows) == comparable(b, rows)


def write_csv(path, rows, delimiter=";", header=("okved", "region", "emp"), encoding="utf-8"):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_parquet(df: pd.DataFrame, path) -> None:
    con = duckdb.connect()
    con.register("d", df)
    con.execute(f"COPY d TO '{path}' (FORMAT parquet)")
    con.close()


# -- what the DuckDB engine got wrong ----------------------------------------------------------
def test_values_are_not_typed_from_the_first_rows(tmp_path):
    """20,480 integers, then decimals: DuckDB used to type the column BIGINT from its sample and
    round 0.4 to 0 and 1.5 to 2, conservation still 'holding'."""
    rows = [("01.11", "77", "1")] * 20480 + [("01.11", "77", "0.4"), ("62.01", "77", "1.5")]
    path = write_csv(tmp_path / "emp.csv", rows)
    results = [run(path, e) for e in ENGINES]
    for r in results:
        assert dict(zip(r.data["isic4"], r.data["emp"])) == {"0111": 20480.4, "6201": 1.5}
        assert r.totals["emp"]["in"] == 20481.9 and r.conserved
    assert_same(*results)


@pytest.mark.parametrize("engine", ENGINES)
def test_thousand_separators_follow_the_delimiter(tmp_path, engine):
    comma = write_csv(tmp_path / "comma.csv", [("01.11", "77", "12,500"), ("62.01", "77", "1,234.5"),
                                               ("62.01", "78", "12,5")], delimiter=",")
    r = run(comma, engine)
    assert dict(zip(zip(r.data["isic4"], r.data["region"]), r.data["emp"])) == {
        ("0111", "77"): 12500.0, ("6201", "77"): 1234.5, ("6201", "78"): 0.0}
    (bad,) = [p for p in r.problems if p.kind == "value_not_numeric"]
    assert bad.value == "12,5" and bad.row == 4 and "comma-delimited" in bad.message
    semicolon = write_csv(tmp_path / "semi.csv", [("01.11", "77", "12,500"), ("62.01", "77", "1 234,5"),
                                                  ("62.01", "77", "0x10"), ("62.01", "77", "1_000")])
    r = run(semicolon, engine)
    assert dict(zip(r.data["isic4"], r.data["emp"])) == {"0111": 12.5, "6201": 1234.5}
    assert sorted(p.value for p in r.problems if p.kind == "value_not_numeric") == ["0x10", "1_000"]


@pytest.mark.parametrize("engine", ENGINES)
def test_nan_is_refused_never_an_empty_cell(tmp_path, engine):
    path = write_csv(tmp_path / "emp.csv", [("01.11", "77", "NaN"), ("01.11", "77", "2"), ("62.01", "77", "inf")])
    r = run(path, engine)
    assert np.isfinite(r.data["emp"]).all() and dict(zip(r.data["isic4"], r.data["emp"])) == {"0111": 2.0,
                                                                                              "6201": 0.0}
    assert r.totals["emp"] == {"in": 2.0, "out": 2.0, "unmatched": 0.0, "rel_error": 0.0}
    assert sorted(p.value for p in r.problems if p.kind == "value_not_numeric") == ["NaN", "inf"]


@pytest.mark.parametrize("engine", ENGINES)
def test_parquet_nan_is_reported_and_null_is_missing(tmp_path, engine):
    import pyarrow as pa
    import pyarrow.parquet as pq
    path = tmp_path / "emp.parquet"
    pq.write_table(pa.table({"okved": ["01.11", "01.11", "62.01"], "region": ["77", "77", "77"],
                             "emp": pa.array([1.5, float("nan"), None], type=pa.float64())}), path)
    r = run(path, engine)
    assert dict(zip(r.data["isic4"], r.data["emp"])) == {"0111": 1.5, "6201": 0.0}
    (bad,) = [p for p in r.problems if p.kind == "value_not_numeric"]
    assert (bad.row, bad.value) == (2, "NaN")
    assert [p.message for p in r.problems if p.kind == "value_missing"] == [
        "1 empty cell(s): counted as missing (they add nothing)"]


@pytest.mark.parametrize("engine", ENGINES)
def test_codes_with_blanks_around_them_match(tmp_path, engine):
    path = write_csv(tmp_path / "emp.csv", [(" 01.11", "77", "1"), ("01.11\u00a0", "77", "2"),
                                            ("\t01.11", " 77", "4"), ("01.11", "77", "8")])
    r = run(path, engine)
    assert dict(zip(r.data["isic4"], r.data["emp"])) == {"0111": 15.0} and r.report.empty
    notes = {p.column: p.message for p in r.problems if p.kind == "blanks_stripped"}
    assert notes["okved"].startswith("3 cell(s)") and notes["region"].startswith("1 cell(s)")


@pytest.mark.parametrize("engine", ENGINES)
def test_decimals_are_exact(tmp_path, engine):
    """100.1 + 26.94 is 127.04, not the 127.03999999999999 of doubles; thirds are thirds."""
    path = write_csv(tmp_path / "emp.csv", [("01.11", "77", "100.1"), ("01.11", "77", "26.94"),
                                            ("10.11", "77", "1"), ("85.22", "77", "0.1")])
    r = run(path, engine)
    got = dict(zip(r.data["isic4"], r.data["emp"]))
    assert got == {"0111": 127.04, "1010": 1 / 3, "1020": 1 / 3, "1030": 1 / 3, "8522": 0.075, "8530": 0.025}
    write_result(r, tmp_path / "out.csv")
    assert "0111,77,127.04" in (tmp_path / "out.csv").read_text()
    rounded = run(path, engine, decimals=2)
    assert dict(zip(rounded.data["isic4"], rounded.data["emp"])) == {
        "0111": 127.04, "1010": 0.33, "1020": 0.33, "1030": 0.33, "8522": 0.08, "8530": 0.03}
    t = rounded.totals["emp"]
    assert t["in"] == t["out"] == 128.14 and t["written"] == 128.14 and t["rounding"] == 0.0


def test_a_byte_the_encoding_lacks_is_a_clear_error(tmp_path):
    path = tmp_path / "emp.csv"
    path.write_bytes("okved;region;emp\n01.11;Москва;1\n".encode("cp1251") + b"62.01;\x98;2\n")
    with pytest.raises(CrosswalkError, match=r"line 3: byte b'\\x98' is not cp1251"):
        run(path, "duckdb")


def test_duckdb_names_the_cells_that_are_not_numbers_by_row(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("okved;region;emp\n01.11;77;1\n62.01;77;1 234,5\n62.01;77;many\n01.11;77;\n", encoding="utf-8")
    r = run(bad, "duckdb")
    (p,) = [p for p in r.problems if p.kind == "value_not_numeric"]
    assert (p.row, p.column, p.value) == (4, "emp", "many")
    assert dict(zip(r.data["isic4"], r.data["emp"])) == {"0111": 1.0, "6201": 1234.5}
    assert_same(run(bad, "pandas"), r)


def test_duckdb_progress_and_clear_errors(tmp_path):
    path = write_csv(tmp_path / "emp.csv", [("01.11", "77", "1")] * 5)
    seen = []
    run(path, "duckdb", progress=lambda stage, fraction: seen.append((stage, fraction)))
    assert seen and all(0.0 <= f <= 1.0 for _, f in seen) and seen[-1] == ("convert", 1.0)
    with pytest.raises(CrosswalkError, match="unknown duckdb engine option"):
        run(path, "duckdb", memory="1GB")
    with pytest.raises(CrosswalkError, match="no value column 'jobs'"):
        run(path, "duckdb", value_columns=["jobs"])
    with pytest.raises(CrosswalkError, match="name the value columns"):
        run(path, "duckdb", value_columns=None)


# -- random tables through every engine ---------------------------------------------------------
PAD = st.sampled_from(["", "", "", " ", "\u00a0", "\t"])
CODE = st.sampled_from(["01.11", "01.12", "10.11", "62.01", "85.22", "1.11", "10.1", "99.99", "", "ZZ"])


def value_text(delimiter: str):
    """Decimals as people write them for that delimiter, and cells that are not numbers."""
    def fmt(d: Decimal, thousands: bool, comma: bool) -> str:
        text = f"{d:f}"
        sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
        whole, _, frac = text.partition(".")
        if thousands and len(whole) > 3:
            sep = "," if delimiter == "," else "\u00a0"
            whole = f"{int(whole):,}".replace(",", sep)
        mark = "," if comma and delimiter != "," else "."
        return sign + whole + (mark + frac if frac else "")
    decimals = st.decimals(min_value=-10**7, max_value=10**7, allow_nan=False, allow_infinity=False, places=3)
    return st.one_of(st.builds(fmt, decimals, st.booleans(), st.booleans()),
                     st.sampled_from(["NaN", "", "0x10", "1_000", "1.5e3", "many", " 7 "]))


@st.composite
def tables(draw):
    delimiter = draw(st.sampled_from([";", ",", "\t"]))
    n = draw(st.integers(0, 25))
    rows = [(draw(PAD) + draw(CODE) + draw(PAD), draw(st.sampled_from(["77", "78", "01"])) + draw(PAD),
             draw(value_text(delimiter))) for _ in range(n)]
    return delimiter, rows


def slow_output(rows, delimiter) -> dict:
    """(isic4, region) -> value: each row's value as an exact fraction times its weights,
    added up, then the nearest double — the obvious way, row by row."""
    style = "point" if delimiter == "," else "comma"
    weights: dict = {}
    for s, t, w in LINKS:
        weights.setdefault(s, []).append((t, Fraction(repr(w))))
    out: dict = {}
    for code, region, value in rows:
        state, unscaled, _ = slow(value, style)
        code, region = code.strip(STRIP), region.strip(STRIP)
        code = {"1.11": "01.11"}.get(code, code)          # Excel dropped the zero of 01.11
        if code not in weights or code == "10.1":
            continue
        total = sum(f for _, f in weights[code])
        for t, f in weights[code]:
            key = (t, region)
            out[key] = out.get(key, Fraction(0)) + Fraction(unscaled or 0, 10 ** 18) * f / total
    return {k: float(v) for k, v in out.items()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(tables())
def test_pandas_and_duckdb_agree_with_a_slow_exact_computation(tmp_path, case):
    delimiter, rows = case
    path = write_csv(tmp_path / "emp.csv", rows, delimiter=delimiter)
    if not rows:
        return
    p, d = run(path, "pandas", code_level="class"), run(path, "duckdb", threads=1, code_level="class")
    assert_same(p, d)
    assert dict(zip(zip(p.data["isic4"], p.data["region"]), p.data["emp"])) == slow_output(rows, delimiter)
    assert p.conserved and p.totals["emp"]["rel_error"] == 0.0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(CODE, st.one_of(st.none(), st.floats(-1e9, 1e9), st.just(float("nan")),
                                          st.decimals(-10**6, 10**6, places=2).map(float),
                                          st.decimals(-10**3, 10**3, places=6).map(float))),
                min_size=1, max_size=25))
def test_pandas_and_duckdb_agree_on_parquet_and_frames(tmp_path, cells):
    """Typed doubles: with few decimals DuckDB reads them without text, else by its shortest
    text of them; pandas by its own; read a chunk at a time or whole: the same sums."""
    frame = pd.DataFrame({"okved": [c for c, _ in cells], "region": ["77"] * len(cells),
                          "emp": pd.array([v for _, v in cells], dtype="float64")})
    path = tmp_path / "emp.parquet"
    con = duckdb.connect()                    # NaN stays NaN and None stays NULL in the file
    con.execute("CREATE TABLE t (okved VARCHAR, region VARCHAR, emp DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", [(c, "77", v) for c, v in cells])
    con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    con.close()
    assert_same(run(path, "pandas"), run(path, "duckdb", threads=1))
    assert_same(run(frame, "pandas"), run(frame, "duckdb", threads=1))
    from crosswalk.engines import pandas_engine
    from crosswalk.engines.scan import Columns
    cols = Columns(("okved",), ("region",), ("emp",))
    whole, chunked = pandas_engine.scan(frame, cols), pandas_engine.scan(frame, cols, chunk=3)
    assert whole.totals == chunked.totals and whole.values == chunked.values
    key = lambda g: sorted(zip(g["okved"], g["emp"], g["__rows"]))
    assert key(whole.groups) == key(chunked.groups)


# -- Spark --------------------------------------------------------------------------------------
def test_spark_fixes_the_same_cases(spark, tmp_path):
    rows = [("01.11", "77", "1")] * 30 + [("01.11", "77", "0.4"), (" 62.01\u00a0", "77", "12,500"),
                                          ("62.01", "78", "NaN"), ("1.11", "78", "0x10"), ("10.1", "77", "5")]
    path = write_csv(tmp_path / "emp.csv", rows, delimiter=",")
    s = run(path, "spark", session=spark)
    assert_same(run(path, "pandas"), s, rows=False)
    assert dict(zip(zip(s.data["isic4"], s.data["region"]), s.data["emp"])) == {
        ("0111", "77"): 30.4, ("0111", "78"): 0.0, ("6201", "77"): 12500.0, ("6201", "78"): 0.0}
    assert list(s.report["code"]) == ["10.1"] and list(s.report["reason"]) == ["other_level"]
    bad = sorted(p.value for p in s.problems if p.kind == "value_not_numeric")
    assert bad == ["0x10", "NaN"] and all("row numbers" in p.message for p in s.problems
                                          if p.kind == "value_not_numeric")
    import pyarrow as pa
    import pyarrow.parquet as pq
    parquet = tmp_path / "emp.parquet"
    for values in ([0.1, float("nan"), 2.82879384806159e17],                  # the text path
                   [1.5, 0.1, 12.25, 100.1, 26.94, 2.82879384806159e17, float("nan"), None, 1e-20, 0.3]):
        pq.write_table(pa.table({"okved": ["01.11", "62.01", "10.11"] * 3 + ["01.11"] * (len(values) - 9)
                                 if len(values) > 9 else ["01.11", "01.11", "62.01"][:len(values)],
                                 "region": ["77"] * len(values), "emp": pa.array(values, type=pa.float64())}),
                       parquet)
        p, s_ = run(parquet, "pandas"), run(parquet, "spark", session=spark)
        assert_same(p, s_, rows=False)
        assert_same(p, run(parquet, "duckdb"))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(tables())
def test_all_three_engines_agree_on_random_tables(spark, tmp_path, case):
    delimiter, rows = case
    if not rows:
        return
    path = write_csv(tmp_path / "emp.csv", rows, delimiter=delimiter)
    p = run(path, "pandas", code_level="class")
    assert_same(p, run(path, "duckdb", threads=1, code_level="class"))
    assert_same(p, run(path, "spark", session=spark, code_level="class"), rows=False)
    assert dict(zip(zip(p.data["isic4"], p.data["region"]), p.data["emp"])) == slow_output(rows, delimiter)
