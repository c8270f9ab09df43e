"""The one reader of numbers (crosswalk.io.numbers): the rules cell by cell, the vectorised
reader against a slow obvious one (Decimal per cell), typed doubles read as their shortest
decimal, and the rules as DuckDB SQL agreeing with Python on random text."""
from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crosswalk.io.numbers import MISSING, OK, REFUSED, TOO_LARGE, UNIT, float_text, parse, parse_text, why_not_number

from slow_numbers import slow  # noqa: E402  (tests/ is on sys.path)

CASES = [  # text, style, state, value
    ("12,500", "point", OK, Decimal("12500")),           # thousands in a comma-delimited file
    ("12,500", "comma", OK, Decimal("12.5")),            # a decimal comma elsewhere
    ("1,234.5", "point", OK, Decimal("1234.5")),
    ("1 234,5", "comma", OK, Decimal("1234.5")),
    ("1\u00a0234\u202f567,25", "comma", OK, Decimal("1234567.25")),
    (" \t127.04\u00a0", "comma", OK, Decimal("127.04")),
    ("-0.5", "point", OK, Decimal("-0.5")),
    ("+3", "comma", OK, Decimal("3")),
    (".5", "point", OK, Decimal("0.5")),
    ("1.5e3", "point", OK, Decimal("1500")),
    ("1,5E-2", "comma", OK, Decimal("0.015")),
    ("99999999999999999999.5", "point", OK, Decimal("99999999999999999999.5")),
    ("", "comma", MISSING, None),
    ("  \u00a0", "comma", MISSING, None),
    (None, "comma", MISSING, None),
    ("12,5", "point", REFUSED, None),                    # a decimal comma in a comma-delimited file
    ("1,234.5", "comma", REFUSED, None),                 # both marks
    ("12,50,0", "point", REFUSED, None),
    ("0x10", "point", REFUSED, None),
    ("1_000", "comma", REFUSED, None),
    ("NaN", "comma", REFUSED, None),
    ("-inf", "point", REFUSED, None),
    ("Infinity", "comma", REFUSED, None),
    ("(5)", "comma", REFUSED, None),
    ("12%", "comma", REFUSED, None),
    ("1.234.567", "comma", REFUSED, None),
    ("12 34", "comma", REFUSED, None),
    ("1e5000", "point", REFUSED, None),
    ("100000000000000000000", "point", TOO_LARGE, None),
]


@pytest.mark.parametrize("text,style,state,value", CASES)
def test_rules_cell_by_cell(text, style, state, value):
    p = parse_text([text], style)
    assert p.state[0] == state, (text, style)
    if state == OK:
        assert p.unscaled_cells()[0] == int(value * UNIT)


def test_reasons_name_what_is_wrong():
    assert "NaN and infinity" in why_not_number("NaN", "comma")
    assert "hexadecimal" in why_not_number("0x10", "point")
    assert "'_'" in why_not_number("1_000", "point")
    assert "comma-delimited" in why_not_number("12,5", "point")
    assert "both ',' and '.'" in why_not_number("1,234.5", "comma")
    assert "parentheses" in why_not_number("(5)", "comma")
    assert "20 integer digits" in why_not_number("100000000000000000000", "point")
    assert why_not_number("many", "comma") == ""


def test_more_than_18_decimals_are_rounded_half_away_from_zero():
    p = parse_text(["0.0000000000000000005", "-0.0000000000000000005", "0.0000000000000000004", "1e-30", "0e-30"],
                   "point")
    assert list(p.state) == [OK] * 5
    assert list(p.unscaled_cells()) == [1, -1, 0, 0, 0]
    assert list(p.rounded) == [True, True, True, True, False]


# -- the vectorised reader against Decimal per cell ------------------------------------------
digits = st.text("0123456789", min_size=1, max_size=22)
number_text = st.one_of(
    st.builds(lambda s, a, b, e: f"{s}{a}{b}{e}", st.sampled_from(["", "-", "+"]), digits,
              st.one_of(st.just(""), st.builds(lambda m, d: m + d, st.sampled_from([".", ","]),
                                               st.text("0123456789", max_size=22))),
              st.one_of(st.just(""), st.builds(lambda e: f"e{e}", st.integers(-40, 40)))),
    st.builds(lambda a, b: f"{a} {b}", st.integers(1, 999), st.integers(0, 999).map(lambda x: f"{x:03d}")),
    st.builds(lambda a, b: f"{a},{b:03d}", st.integers(1, 999), st.integers(0, 999)),
    st.sampled_from(["NaN", "inf", "0x1F", "1_000", " 5 ", "\u00a05,5\t", "", None, "1.2.3", "(4)", "--1"]),
    st.text(max_size=6),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(number_text, max_size=30), st.sampled_from(["comma", "point"]))
def test_fast_reader_equals_the_slow_one(cells, style):
    p = parse_text(cells, style)
    got = p.unscaled_cells()
    for i, text in enumerate(cells):
        state, value, rounded = slow(text, style)
        assert p.state[i] == state, (text, style)
        if state == OK:
            assert got[i] == value and bool(p.rounded[i]) == rounded, (text, style)
    assert p.total() == sum(v for v in got)


# -- typed doubles ------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                          st.decimals(min_value=-10**6, max_value=10**6, places=4, allow_nan=False).map(float)),
                max_size=40))
def test_doubles_are_read_as_their_shortest_decimal(values):
    x = np.array(values, dtype=np.float64)
    p = parse(pd.Series(x))
    texts = float_text(x)
    q = parse_text(texts, "point")
    for i, v in enumerate(values):
        if math.isnan(v):
            assert p.state[i] == MISSING           # NaN in a numpy column is pandas' missing value
        elif math.isinf(v):
            assert p.state[i] == REFUSED
        else:
            assert Decimal(texts[i]) == Decimal(repr(v))      # Arrow's shortest decimal is Python's
            assert p.state[i] == q.state[i] and p.unscaled_cells()[i] == q.unscaled_cells()[i], v


def test_double_noise_is_gone():
    """100.1 + 26.94 in doubles is 127.03999999999999; read as decimals it is 127.04."""
    p = parse(pd.Series([100.1, 26.94]))
    assert p.total() / UNIT == 127.04 and 100.1 + 26.94 != 127.04


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=50))
def test_duckdb_writes_doubles_as_python_does(values):
    """The DuckDB engine reads a parquet double by DuckDB's own text of it: the same decimal."""
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.register("x", pd.DataFrame({"x": np.array(values, dtype=np.float64)}))
    texts = [r[0] for r in con.execute("SELECT CAST(x AS VARCHAR) FROM x").fetchall()]
    assert [Decimal(t) for t in texts] == [Decimal(repr(v)) for v in values]


# -- the rules as DuckDB SQL ------------------------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(number_text, min_size=1, max_size=30), st.sampled_from(["comma", "point"]))
def test_duckdb_reads_every_cell_as_python_does(cells, style):
    pytest.importorskip("duckdb")
    from crosswalk.engines import duckdb_engine, pandas_engine
    from crosswalk.engines.scan import Columns
    df = pd.DataFrame({"code": [f"{i:02d}" for i in range(len(cells))], "v": pd.Series(cells, dtype=object)})
    cols = Columns(("code",), (), ("v",), style)
    a, b = pandas_engine.scan(df, cols), duckdb_engine.scan(df, cols, threads=1)
    assert a.values["v"].as_tuple() == b.values["v"].as_tuple(), cells
    assert a.totals == b.totals
    ga = a.groups.sort_values("code").reset_index(drop=True)
    gb = b.groups.sort_values("code").reset_index(drop=True)
    assert ga["v"].tolist() == gb["v"].tolist()
