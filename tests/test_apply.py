"""Applying crosswalks to data: hand-computed conversions (1:1, 1:n with equal, user and
estimated weights, n:1, n:m, a two-column matrix), refusal without weights, conservation
(property-based), Excel-damaged codes, level aggregation on the real ISCO-08 excerpt, the
A→B→A round trip, and the readers (cp1251 `;` CSV, xlsx, parquet)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crosswalk
from crosswalk.apply import (ConservationError, Weights, WeightsError, apply, convert_frame, load_weights,
                             read_data, round_trip, write_result)
from crosswalk.errors import CrosswalkError

DATA = Path(__file__).parent / "data" / "apply"
RAW = Path(__file__).parent.parent / "raw_classifiers"
ISCO08 = RAW / "isco08" / "ISCO-08 EN Structure and definitions excerpt.xlsx"


def W(rows, source="isco88", target="isco08", method="user") -> Weights:
    return Weights(source, target, pd.DataFrame(rows, columns=["source", "target", "weight"]), method)


def frame(codes, values, column="code", value="emp") -> pd.DataFrame:
    return pd.DataFrame({column: codes, value: values})


def as_dict(df: pd.DataFrame, code="code", value="emp") -> dict:
    """code -> value of an output (its code column is named by the target scheme) or of the
    unmatched rows (the input's code column)."""
    if code not in df.columns:
        code = next(c for c in df.columns if c in ("isco08", "isco88", "isic4", "okz2014", "nace2"))
    return dict(zip(df[code], df[value]))


def run(df, w, **kw) -> crosswalk.apply.ApplyResult:
    return apply(df, from_scheme=w.source_scheme, to_scheme=w.target_scheme, code_column="code",
                 value_columns=["emp"], weights=w, **kw)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- hand-computed conversions ---------------------------------------------------------
def test_one_to_one_renames_codes_and_keeps_totals():
    w = W([("1110", "1111", 1.0), ("2131", "2511", 1.0)])
    res = run(frame(["1110", "2131", "1110"], [3.0, 4.0, 5.0]), w)
    assert as_dict(res.data) == {"1111": 8.0, "2511": 4.0}
    assert res.unmatched.empty
    assert res.totals["emp"] == {"in": 12.0, "out": 12.0, "unmatched": 0.0, "rel_error": 0.0}
    assert list(res.data.columns) == ["isco08", "emp"]          # named by the target scheme


def test_one_to_many_equal_split(tmp_path):
    cw = write_csv(tmp_path / "cw.csv", "source_code,target_code\n0110,0110\n0110,0210\n0110,0310\n1110,1111\n")
    w = load_weights(source_scheme="isco88", target_scheme="isco08", crosswalk=cw, split="equal")
    assert w.method == "equal"
    res = run(frame(["0110", "1110"], [9.0, 2.0]), w)
    assert as_dict(res.data) == pytest.approx({"0110": 3.0, "0210": 3.0, "0310": 3.0, "1111": 2.0})


def test_one_to_many_user_weights(tmp_path):
    cw = write_csv(tmp_path / "cw.csv", "source_code,target_code\n0110,0110\n0110,0210\n0110,0310\n1110,1111\n")
    uw = write_csv(tmp_path / "w.csv", "source_code,target_code,weight\n0110,0110,0.5\n0110,0210,0.25\n0110,0310,0.25\n")
    w = load_weights(source_scheme="isco88", target_scheme="isco08", crosswalk=cw, user_weights=uw)
    assert w.method == "user"
    res = run(frame(["0110", "1110"], [8.0, 2.0]), w)
    assert as_dict(res.data) == {"0110": 4.0, "0210": 2.0, "0310": 2.0, "1111": 2.0}


def test_user_weights_naming_a_pair_outside_the_crosswalk_are_refused(tmp_path):
    cw = write_csv(tmp_path / "cw.csv", "source_code,target_code\n0110,0110\n0110,0210\n")
    uw = write_csv(tmp_path / "w.csv", "source_code,target_code,weight\n0110,0110,0.5\n0110,9999,0.5\n")
    with pytest.raises(WeightsError, match="0110→9999"):
        load_weights(source_scheme="isco88", target_scheme="isco08", crosswalk=cw, user_weights=uw)


def test_one_to_many_weights_estimated_from_a_double_coded_sample(tmp_path):
    cw = write_csv(tmp_path / "cw.csv", "source_code,target_code\n0110,0110\n0110,0210\n0110,0310\n"
                   "1110,1111\n2131,2511\n2131,2512\n")
    # 0110: 6 and 2 of 8 in crosswalk pairs (0310 never seen: 0); 0110→9999 is not a crosswalk pair
    sample = write_csv(tmp_path / "sample.csv", "isco88,isco08,count\n0110,0110,4\n0110,0110,2\n"
                       "0110,0210,2\n0110,9999,5\n1110,1111,1\n")
    with pytest.raises(WeightsError, match="2131"):      # 1:n source missing from the sample
        load_weights(source_scheme="isco88", target_scheme="isco08", crosswalk=cw, sample=sample)
    w = load_weights(source_scheme="isco88", target_scheme="isco08", crosswalk=cw, sample=sample, split="equal")
    assert w.method == "estimated"
    assert dict(zip(zip(w.table["source"], w.table["target"]), w.table["weight"])) == pytest.approx({
        ("0110", "0110"): 0.75, ("0110", "0210"): 0.25, ("0110", "0310"): 0.0, ("1110", "1111"): 1.0,
        ("2131", "2511"): 0.5, ("2131", "2512"): 0.5})
    outside = [p for p in w.problems if p.kind == "sample_pair_not_in_crosswalk"]
    assert len(outside) == 1 and "0110→9999 (5)" in outside[0].message
    res = run(frame(["0110"], [100.0]), w)
    assert as_dict(res.data) == pytest.approx({"0110": 75.0, "0210": 25.0, "0310": 0.0})


def test_many_to_one_sums():
    w = W([("1110", "1111", 1.0), ("1120", "1111", 1.0), ("2131", "2511", 1.0)])
    res = run(frame(["1110", "1120", "2131"], [3.0, 4.0, 1.0]), w)
    assert as_dict(res.data) == {"1111": 7.0, "2511": 1.0}


def test_many_to_many():
    # A→x 0.5, A→y 0.5; B→y 0.2, B→z 0.8: x = A/2, y = A/2 + B/5, z = 4B/5
    w = W([("1110", "1111", 0.5), ("1110", "1112", 0.5), ("1120", "1112", 0.2), ("1120", "1113", 0.8)])
    res = run(frame(["1110", "1120"], [10.0, 20.0]), w)
    assert as_dict(res.data) == pytest.approx({"1111": 5.0, "1112": 9.0, "1113": 16.0})


def test_two_code_columns_convert_a_matrix_in_one_pass():
    occ = W([("0110", "0110", 0.75), ("0110", "0210", 0.25), ("1110", "1111", 1.0)])
    ind = W([("01.11", "0111", 1.0), ("01.12", "0111", 0.5), ("01.12", "0112", 0.5)], "okved2", "isic4")
    df = pd.DataFrame({"occ": ["0110", "0110", "1110", "1110"], "ind": ["01.11", "01.12", "01.12", "99.99"],
                       "emp": [8.0, 4.0, 2.0, 7.0]})
    res = apply(df, from_scheme="isco88", to_scheme="isco08", code_column="occ", value_columns="emp",
                weights=occ, second_code_column="ind", second_weights=ind)
    got = {(o, i): v for o, i, v in res.data.itertuples(index=False)}
    assert got == pytest.approx({("0110", "0111"): 8 * .75 + 4 * .75 * .5, ("0110", "0112"): 4 * .75 * .5,
                                 ("0210", "0111"): 8 * .25 + 4 * .25 * .5, ("0210", "0112"): 4 * .25 * .5,
                                 ("1111", "0111"): 1.0, ("1111", "0112"): 1.0})
    assert list(res.data.columns) == ["isco08", "isic4", "emp"]
    assert res.unmatched[["occ", "ind", "column", "reason", "emp"]].values.tolist() == [
        ["1110", "99.99", "ind", "no_link", 7.0]]
    assert res.totals["emp"]["in"] == 21.0 and res.conserved


def test_output_sorted_sections_first_and_unmatched_keeps_empty_codes():
    w = W([("A", "A", 1.0), ("B", "B", 1.0), ("01", "01", 1.0)], "okved2", "isic4")
    df = pd.DataFrame({"code": ["B", "A", None, "ZZ", ""], "emp": [1.0, 2.0, 3.0, 4.0, 5.0]})
    res = run(df, w)
    assert list(res.data["isic4"]) == ["A", "B"]
    assert as_dict(res.unmatched) == {"": 8.0, "ZZ": 4.0}
    assert dict(zip(res.unmatched["code"], res.unmatched["reason"])) == {"": "empty", "ZZ": "unknown_code"}
    assert res.conserved


# -- refusal and weight checks -----------------------------------------------------------
def test_one_to_many_without_weights_is_refused_naming_the_codes(tmp_path):
    lines = ["source_code,target_code"] + [f"{1110 + i},{1111 + i % 3}" for i in range(12)] + \
            [f"{1110 + i},2511" for i in range(12)] + ["2131,2512"]
    cw = write_csv(tmp_path / "cw.csv", "\n".join(lines) + "\n")
    with pytest.raises(WeightsError) as exc:
        load_weights(source_scheme="isco88", target_scheme="isco08", crosswalk=cw)
    msg = str(exc.value)
    assert "12 source code(s) have several targets and no weights" in msg
    assert "1110 (2 targets)" in msg and "(+2 more)" in msg and "1121" not in msg
    assert "--split-equally" in msg and "2131" not in msg
    assert exc.value.codes[:2] == ["1110", "1111"] and len(exc.value.codes) == 12


def test_rounded_file_weights_are_rescaled_and_bad_sums_refused():
    w = load_weights(source_scheme="isco88", target_scheme="isco08", crosswalk=DATA / "isco88_isco08.csv",
                     split="equal")
    sums = w.table.groupby("source")["weight"].sum()
    assert (sums - 1).abs().max() <= 1e-12
    assert {p.kind for p in w.problems} >= {"weights_rescaled", "equal_split"}
    with pytest.raises(WeightsError, match="2131"):
        load_weights(source_scheme="isco88", target_scheme="isco08", crosswalk=DATA / "isco88_isco08.csv")
    with pytest.raises(WeightsError, match="do not sum to 1.*0110"):
        W([("0110", "0110", 0.5), ("0110", "0210", 0.4)])
    with pytest.raises(WeightsError, match=r"in \[0, 1\]"):
        W([("0110", "0110", 1.5), ("0110", "0210", -0.5)])


def test_partial_weights_are_refused(tmp_path):
    cw = write_csv(tmp_path / "cw.csv", "source_code,target_code,weight\n0110,0110,0.5\n0110,0210,\n")
    with pytest.raises(WeightsError, match="some of their targets only.*0110"):
        load_weights(source_scheme="isco88", target_scheme="isco08", crosswalk=cw, split="equal")


def test_build_output_crosswalk_is_read_with_codes_as_text(tmp_path):
    from crosswalk.build import build
    from crosswalk.settings import BuildConfig
    raw = Path(__file__).parent.parent / "raw_classifiers"
    build(BuildConfig.discover(raw, output=str(tmp_path / "out"), embeddings=False))
    cw = tmp_path / "out" / "crosswalks" / "isco88__isco08.csv"
    w = load_weights(source_scheme="isco88", target_scheme="isco08", crosswalk=cw)
    assert "0110" in set(w.table["source"]) and (w.table.groupby("source")["weight"].sum() - 1).abs().max() < 1e-9


# -- the review store, composed along a route ----------------------------------------------
def _store(tmp_path, links):
    from crosswalk.review import Decision, LinkKey, ReviewStore
    store = ReviewStore(tmp_path / "review.sqlite")
    store.decide([Decision(LinkKey(*k), "add", None, weight=w) for k, w in links], reviewer="anna")
    return store


def test_store_links_composed_through_a_pivot(tmp_path):
    store = _store(tmp_path, [
        (("okpdtr", "10003", "okz2014", "9321"), 0.6), (("okpdtr", "10003", "okz2014", "8152"), 0.4),
        (("okpdtr", "11111", "okz2014", "9321"), None),
        (("okz2014", "9321", "isco08", "9321"), None), (("okz2014", "8152", "isco08", "8152"), None)])
    with pytest.raises(CrosswalkError, match="route=okpdtr,okz2014,isco08"):
        load_weights(source_scheme="okpdtr", target_scheme="isco08", store=store)
    w = load_weights(source_scheme="okpdtr", target_scheme="isco08", store=store, route="okpdtr,okz2014,isco08")
    assert list(w.table[["source", "target", "weight"]].itertuples(index=False, name=None)) == [
        ("10003", "8152", pytest.approx(0.4)), ("10003", "9321", pytest.approx(0.6)), ("11111", "9321", 1.0)]
    assert w.statuses == {"confirmed": 3}
    store.close()
    w2 = load_weights(source_scheme="okpdtr", target_scheme="okz2014", store=tmp_path / "review.sqlite")
    assert len(w2) == 3 and w2.method == "links" and w2.statuses == {"confirmed": 3}


def test_store_route_through_an_unweighted_split_pivot_is_refused(tmp_path):
    store = _store(tmp_path, [
        (("okpdtr", "10003", "okz2014", "9321"), None),
        (("okz2014", "9321", "isco08", "9321"), None), (("okz2014", "9321", "isco08", "9329"), None)])
    with pytest.raises(WeightsError, match="10003"):
        load_weights(source_scheme="okpdtr", target_scheme="isco08", store=store, route=["okz2014"])
    w = load_weights(source_scheme="okpdtr", target_scheme="isco08", store=store, route=["okz2014"], split="equal")
    assert list(w.table["weight"]) == [0.5, 0.5]
    store.close()


# -- conservation, as a property -----------------------------------------------------------
CODES = [f"{i:04d}" for i in range(1, 13)]
TARGETS = [f"{i:04d}" for i in range(100, 108)]


@st.composite
def crosswalk_and_data(draw):
    rows = []
    for s in draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=8, unique=True)):
        targets = draw(st.lists(st.sampled_from(TARGETS), min_size=1, max_size=4, unique=True))
        raw = draw(st.lists(st.floats(0.01, 10), min_size=len(targets), max_size=len(targets)))
        total = math.fsum(raw)
        rows += [(s, t, r / total) for t, r in zip(targets, raw)]
    codes = draw(st.lists(st.sampled_from(CODES + ["9999", ""]), min_size=1, max_size=40))
    values = draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=len(codes), max_size=len(codes)))
    seed = draw(st.integers(0, 2**32 - 1))
    return rows, codes, values, seed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crosswalk_and_data())
def test_conservation_and_row_order_independence(case):
    """in = out + unmatched exactly (the sums are exact), and any row order gives the same
    output to the last bit."""
    rows, codes, values, seed = case
    w = W(rows)
    df = frame(codes, values)
    res = convert_frame(df, {"code": w}, value_columns=["emp"])
    t = res.totals["emp"]
    assert t["rel_error"] == 0.0 and res.conserved
    # the doubles as their shortest decimals, each exact to 18 decimal places
    slack = 1e-9 * math.fsum(abs(v) for v in values) + len(values) * 5e-19
    assert abs(math.fsum(values) - (t["out"] + t["unmatched"])) <= slack
    shuffled = df.sample(frac=1.0, random_state=seed % 2**32).reset_index(drop=True)
    again = convert_frame(shuffled, {"code": w}, value_columns=["emp"])
    pd.testing.assert_frame_equal(res.data, again.data)
    pd.testing.assert_frame_equal(res.unmatched, again.unmatched)


def test_conservation_failure_is_an_error(monkeypatch):
    """A conversion that loses value (here: weights halved behind the check's back) is refused."""
    import crosswalk.conversion as conversion
    w = W([("1110", "1111", 1.0)])
    real = conversion.exact_weights

    def leaky(*args, **kw):
        table = real(*args, **kw)
        table["den"] = table["den"] * 2
        return table
    monkeypatch.setattr(conversion, "exact_weights", leaky)
    with pytest.raises(ConservationError, match="emp") as exc:
        run(frame(["1110"], [4.0]), w)
    assert exc.value.result.totals["emp"]["rel_error"] == pytest.approx(0.5)


# -- Excel-damaged codes ---------------------------------------------------------------------
def test_lost_leading_zeros_repaired_only_when_unambiguous():
    w = W([("0110", "0110", 1.0), ("1111", "1111", 1.0)])
    df = pd.DataFrame({"code": [110, 110, 1111, 210], "emp": [1.0, 2.0, 3.0, 4.0]})   # numbers, as Excel left them
    res = run(df, w)
    assert as_dict(res.data) == {"0110": 3.0, "1111": 3.0}
    assert res.repaired == [{"column": "code", "code": "110", "repaired_to": "0110", "rows": 2}]
    assert as_dict(res.unmatched) == {"210": 4.0}          # no crosswalk code fits 210
    assert list(res.unmatched["reason"]) == ["other_level"]
    res = run(df, w, repair_codes=False)
    assert as_dict(res.unmatched) == {"110": 3.0, "210": 4.0} and not res.repaired


def test_damaged_code_of_a_column_whose_level_is_unknown_is_ambiguous():
    """Only damaged codes: no level to go by, so «1.1» (group 01.1 or class 01.10) is reported."""
    w = W([("01.1", "011", 1.0), ("01.10", "0111", 1.0), ("62.01", "6201", 1.0)], "okved2", "isic4")
    res = run(pd.DataFrame({"code": ["1.1", "1.1"], "emp": [5.0, 2.0]}), w)
    assert as_dict(res.unmatched) == {"1.1": 7.0} and list(res.unmatched["reason"]) == ["ambiguous_repair"]
    (p,) = [p for p in res.problems if p.kind == "ambiguous_repair"]
    assert "01.1 or 01.10" in p.message


def test_a_class_column_gets_classes_only():
    """«1.1» is repaired to the class 01.10, not the group 01.1; the group codes «10.1» and
    «45.2» are reported (other level), so the output holds 4-digit ISIC classes only."""
    w = W([("01.1", "011", 1.0), ("01.10", "0111", 1.0), ("10.1", "101", 1.0), ("10.11", "1010", 1.0),
           ("45.2", "452", 1.0), ("45.20", "4520", 1.0), ("62.01", "6201", 1.0)], "okved2", "isic4")
    df = pd.DataFrame({"okved": ["1.1", "10.11", "10.1", "45.2", "62.01", "62.01", "45.20"],
                       "emp": [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]})
    res = apply(df, from_scheme="okved2", to_scheme="isic4", code_column="okved", weights=w)
    assert dict(zip(res.data["isic4"], res.data["emp"])) == {"0111": 1.0, "1010": 2.0, "4520": 64.0, "6201": 48.0}
    assert {len(c) for c in res.data["isic4"]} == {4}
    assert res.repaired == [{"column": "okved", "code": "1.1", "repaired_to": "01.10", "rows": 1}]
    report = {r["code"]: (r["reason"], r["rows"], r["emp"]) for r in res.report.to_dict("records")}
    assert report == {"10.1": ("other_level", 1, 4.0), "45.2": ("other_level", 1, 8.0)}
    assert all("group" in d and "class" in d for d in res.report["detail"])
    assert res.totals["emp"]["in"] == 127.0 and res.totals["emp"]["unmatched"] == 12.0 and res.conserved


def test_finer_codes_roll_up_to_the_level_of_the_column():
    w = W([("01.11", "0111", 1.0), ("01.12", "0112", 1.0)], "okved2", "isic4")
    df = pd.DataFrame({"code": ["01.11", "01.11.1", "01.11.2", "01.12", "01.13.1"], "emp": [1.0, 2.0, 4.0, 8.0, 16.0]})
    res = run(df, w)
    assert as_dict(res.data) == {"0111": 7.0, "0112": 8.0}
    assert [(r["code"], r["rolled_up_to"]) for r in res.rolled_up] == [("01.11.1", "01.11"), ("01.11.2", "01.11")]
    assert as_dict(res.unmatched) == {"01.13.1": 16.0} and list(res.unmatched["reason"]) == ["no_link"]


# -- level aggregation with the real ISCO-08 excerpt ---------------------------------------------
def test_level_aggregation_unit_to_minor_group():
    isco = crosswalk.load(ISCO08).classification
    w = W([("2131", "2511", 0.5), ("2131", "2512", 0.5), ("2132", "2521", 1.0), ("4211", "4211", 1.0),
           ("9999", "9999", 1.0)], "isco88", "isco08")
    df = frame(["2131", "2132", "4211", "9999"], [10.0, 4.0, 3.0, 1.0])
    for level in ("minor", 3, "3"):
        res = run(df, w, level=level, target=isco)
        assert as_dict(res.data) == {"251": 10.0, "252": 4.0, "421": 3.0, "9999": 1.0}
        assert list(res.data.columns) == ["isco08", "emp"]
        assert res.conserved
    kinds = {p.kind for p in res.problems}
    assert {"level_unknown_code", "target_code_unknown"} <= kinds     # 9999 is not in ISCO-08: kept, reported
    res = run(df, w, level="major", target=isco)
    assert as_dict(res.data) == {"2": 14.0, "4": 3.0, "9999": 1.0}
    with pytest.raises(CrosswalkError, match="levels"):
        run(df, w, level="division", target=isco)
    with pytest.raises(CrosswalkError, match="target classification"):
        run(df, w, level=3)


# -- round trip ----------------------------------------------------------------------------
def test_round_trip_reports_what_is_lost():
    # forward A→B: a1→b1 1; a2→b1 0.5, a2→b2 0.5.  backward B→A: b1→a1 0.5, b1→a2 0.5; b2→a2 1.
    # a1: 10 → b1 10 → a1 5 (retained 5, lost 5).  a2: 20 → b1 10, b2 10 → a2 5 + 10 = 15 retained.
    # after: a1 = 5 + (a2's b1 share 10)·0.5 = 10; a2 = 10·0.5 + 10·0.5 + 10 = 20.
    fwd = W([("1110", "1111", 1.0), ("1120", "1111", 0.5), ("1120", "1112", 0.5)], "isco88", "isco08")
    bwd = W([("1111", "1110", 0.5), ("1111", "1120", 0.5), ("1112", "1120", 1.0)], "isco08", "isco88")
    rep = round_trip(frame(["1110", "1120"], [10.0, 20.0]), code_column="code", value_columns="emp",
                     forward=fwd, backward=bwd)
    assert rep["codes"] == [{"code": "1110", "emp": {"before": 10.0, "after": 10.0, "retained": 5.0, "lost": 5.0}},
                            {"code": "1120", "emp": {"before": 20.0, "after": 20.0, "retained": 15.0, "lost": 5.0}}]
    tot = rep["totals"]["emp"]
    assert tot["before"] == tot["after"] == 30.0 and tot["lost"] == 10.0
    assert tot["share_preserved"] == pytest.approx(2 / 3)


# -- readers -------------------------------------------------------------------------------
def test_read_cp1251_semicolon_csv_with_decimal_comma():
    df, rep = read_data(DATA / "employment_cp1251.csv", value_columns=["Занятые"])
    assert rep.encoding == "cp1251"
    assert list(df.columns) == ["Код ОКЗ", "Наименование", "Занятые"]
    assert list(df["Код ОКЗ"]) == ["0110", "1111", "2511"]
    assert df["Занятые"].tolist()[:2] == [1200.5, 30.0] and math.isnan(df["Занятые"][2])
    (bad,) = rep.of_kind("value_not_numeric")
    assert (bad.row, bad.column, bad.value) == (4, "Занятые", "нет данных")
    w = W([("0110", "0110", 1.0), ("1111", "1111", 1.0), ("2511", "2511", 1.0)], "isco08", "isco88")
    res = apply(DATA / "employment_cp1251.csv", from_scheme="isco08", to_scheme="isco88", code_column="Код ОКЗ",
                value_columns=["Занятые"], weights=w)
    assert res.totals["Занятые"]["in"] == 1230.5 and any(p.kind == "value_not_numeric" for p in res.problems)


def test_read_xlsx_codes_as_text_and_numbers_checked(tmp_path):
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "data"
    for row in (["code", "emp"], [110, 2.5], ["0210", 3], ["1111", "n/a"]):
        ws.append(row)
    wb.create_sheet("other").append(["x", "y"])
    wb.save(tmp_path / "d.xlsx")
    df, rep = read_data(tmp_path / "d.xlsx", value_columns=["emp"])
    assert list(df["code"]) == ["110", "0210", "1111"] and df["emp"].tolist()[:2] == [2.5, 3.0]
    (bad,) = rep.of_kind("value_not_numeric")
    assert (bad.row, bad.value, bad.sheet) == (4, "n/a", "data")
    df2, _ = read_data(tmp_path / "d.xlsx", sheet="other")
    assert list(df2.columns) == ["x", "y"]


def test_read_parquet_and_write_results(tmp_path):
    pytest.importorskip("pyarrow")
    pd.DataFrame({"code": ["0110", "1111", "0110"], "emp": [1.0, 2.0, 3.0], "n": [1, 2, 3]}).to_parquet(
        tmp_path / "d.parquet")
    df, _ = read_data(tmp_path / "d.parquet", value_columns=["emp"])
    assert list(df["code"]) == ["0110", "1111", "0110"] and df["emp"].dtype == np.float64
    assert list(df["n"]) == ["1", "2", "3"]                  # every other column is text
    w = W([("0110", "0110", 0.5), ("0110", "0210", 0.5), ("1111", "=1+1", 1.0)], "isco08", "isco88")
    res = apply(tmp_path / "d.parquet", from_scheme="isco08", to_scheme="isco88", code_column="code",
                value_columns=["emp"], key_columns=[], weights=w)
    for suffix in ("csv", "xlsx", "parquet"):
        out = tmp_path / f"out.{suffix}"
        write_result(res, out, unmatched_path=tmp_path / f"un.{suffix}")
        back, _ = read_data(out, value_columns=["emp"])
        assert list(back["isco88"])[:2] == ["0110", "0210"] and back["emp"].sum() == 6.0
    assert "'=1+1" in (tmp_path / "out.csv").read_text()       # never a formula in a spreadsheet


def test_written_results_are_spreadsheet_safe_and_name_the_replaced_cells(tmp_path):
    import openpyxl
    data = pd.DataFrame({"code": ["0110", "bad\x01code"], "=region": ["=1", "2"], "emp": [1.0, 2.0]})
    w = W([("0110", "0110", 1.0)], "isco08", "isco88")
    res = apply(data, from_scheme="isco08", to_scheme="isco88", code_column="code", value_columns=["emp"],
                weights=w)
    write_result(res, tmp_path / "out.csv", unmatched_path=tmp_path / "un.xlsx")
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()[:2] == ["isco88,'=region,emp",
                                                                                  "0110,'=1,1.0"]
    ws = openpyxl.load_workbook(tmp_path / "un.xlsx")["data"]
    assert [c.value for c in ws[1]] == ["column", "code", "reason", "rows", "detail", "emp"]
    assert ws["B2"].value == "bad\ufffdcode" and ws["B2"].data_type == "s"
    warn = [p for p in res.problems if p.kind == "illegal_xml_character"]
    assert len(warn) == 1 and "data!B2" in warn[0].message and "U+0001" in warn[0].message
