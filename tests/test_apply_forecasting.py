"""`apply` as a forecasting team uses it (issue 13 §4) and the status of the links it uses:
region, year and sex kept as keys and never summed, output code columns named by the target
scheme, an unmatched report with column, code, rows, totals and reason, totals conserved per
key; links counted by status, never all called confirmed, and --confirmed-only refusing
proposed ones."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from crosswalk.apply import Weights, apply, load_weights
from crosswalk.cli import cli
from crosswalk.errors import CrosswalkError

OCC = Weights("okz2014", "isco08", pd.DataFrame([("2511", "2511", 1.0), ("2512", "2512", 1.0), ("8322", "8322", 1.0),
                                                 ("9329", "9321", 0.5), ("9329", "9329", 0.5)],
                                                columns=["source", "target", "weight"]), "user")
IND = Weights("okved2", "isic4", pd.DataFrame([("62.01", "6201", 1.0), ("49.32", "4922", 1.0), ("10.1", "101", 1.0),
                                               ("10.11", "1010", 1.0), ("85.22", "8530", 1.0)],
                                              columns=["source", "target", "weight"]), "user")


def employment() -> pd.DataFrame:
    """Occupation × industry × region × year × sex, as a forecasting team holds it."""
    rows = [("2511", "62.01", "77", 2023, "м", "120.5"), ("2511", "62.01", "78", 2023, "ж", "80.25"),
            ("2512", "62.01", "77", 2023, "м", "10"), ("8322", "49.32", "77", 2023, "м", "55"),
            ("9329", "10.11", "78", 2023, "ж", "7"), ("9329", "10.1", "78", 2023, "ж", "3"),
            ("9999", "62.01", "77", 2023, "м", "2"), ("2511", "99.99", "78", 2023, "м", "4"),
            ("8322", "", "77", 2023, "ж", "1.5"), ("2511", "62.01", "77", 2024, "м", "130")]
    return pd.DataFrame(rows, columns=["okz", "okved", "region", "year", "sex", "employed"])


def convert(df, **kw):
    return apply(df, from_scheme="okz2014", to_scheme="isco08", code_column="okz", weights=OCC,
                 second_code_column="okved", second_weights=IND, **kw)


def test_keys_are_kept_and_never_summed():
    res = convert(employment())
    assert res.columns["keys"] == ["region", "year", "sex"] and res.columns["values"] == ["employed"]
    assert list(res.data.columns) == ["isco08", "isic4", "region", "year", "sex", "employed"]
    got = {tuple(r[:5]): r[5] for r in res.data.itertuples(index=False, name=None)}
    assert got == {("2511", "6201", "77", "2023", "м"): 120.5, ("2511", "6201", "78", "2023", "ж"): 80.25,
                   ("2512", "6201", "77", "2023", "м"): 10.0, ("8322", "4922", "77", "2023", "м"): 55.0,
                   ("9321", "1010", "78", "2023", "ж"): 3.5, ("9329", "1010", "78", "2023", "ж"): 3.5,
                   ("2511", "6201", "77", "2024", "м"): 130.0}
    note = [p for p in res.problems if p.kind == "key_by_name"]
    assert note and "'region', 'year'" in note[0].message


def test_naming_the_value_column_keeps_the_other_columns_as_keys():
    res = convert(employment(), value_columns=["employed"])
    assert res.columns["keys"] == ["region", "year", "sex"]
    named_keys = convert(employment(), value_columns=["employed"], key_columns=["region"])
    assert list(named_keys.data.columns) == ["isco08", "isic4", "region", "employed"]
    assert named_keys.columns["left_out"] == {"year": "not named as a key (--key-column)",
                                              "sex": "not named as a key (--key-column)"}


def test_unmatched_report_and_conservation_per_key():
    res = convert(employment())
    report = [(r["column"], r["code"], r["reason"], r["rows"], r["employed"]) for r in res.report.to_dict("records")]
    assert report == [("okz", "9999", "no_link", 1, 2.0), ("okved", "", "empty", 1, 1.5),
                      ("okved", "10.1", "other_level", 1, 3.0), ("okved", "99.99", "no_link", 1, 4.0)]
    t = res.totals["employed"]
    assert (t["in"], t["out"], t["unmatched"], t["rel_error"]) == (413.25, 402.75, 10.5, 0.0)
    by_key = res.by_key.set_index(["region", "year", "sex"])
    assert by_key["conserved"].all() and len(by_key) == 5
    assert by_key.loc[("78", "2023", "ж")].to_dict() == {"employed in": 90.25, "employed out": 87.25,
                                                         "employed unmatched": 3.0, "conserved": True}


def test_dead_end_on_a_route_is_its_own_reason(tmp_path):
    from crosswalk.review import Decision, LinkKey, ReviewStore
    store = ReviewStore(tmp_path / "review.sqlite")
    store.decide([Decision(LinkKey(*k), "add", None) for k in [
        ("okpdtr", "10003", "okz2014", "9321"), ("okpdtr", "11111", "okz2014", "8152"),
        ("okz2014", "9321", "isco08", "9321")]], reviewer="anna")
    w = load_weights(source_scheme="okpdtr", target_scheme="isco08", store=store, route="okpdtr,okz2014,isco08")
    store.close()
    assert w.dead_ends == {"11111"}
    df = pd.DataFrame({"okpdtr": ["10003", "11111", "12345"], "emp": [1.0, 2.0, 4.0]})
    res = apply(df, from_scheme="okpdtr", to_scheme="isco08", code_column="okpdtr", weights=w)
    assert dict(zip(res.report["code"], res.report["reason"])) == {"11111": "dead_end", "12345": "no_link"}


# -- links by status ------------------------------------------------------------------------
BUILD_CSV = ("source_scheme,source_code,source_title,target_scheme,target_code,target_title,score,weight,relation,"
             "origin,via,flags\n"
             "okved2,62.01,a,isic4,6201,b,0.9900,1.000000,1:1,proposed,,\n"
             "okved2,49.32,a,isic4,4922,b,0.6100,0.600000,1:n,proposed,,review\n"
             "okved2,49.32,a,isic4,4923,b,0.4000,0.400000,1:n,proposed,,review\n"
             "okved2,85.22,a,isic4,8530,b,1.0000,1.000000,1:1,official,,\n")


def test_links_of_a_build_are_counted_by_status_and_none_is_called_confirmed(tmp_path):
    cw = tmp_path / "okved2__isic4.csv"
    cw.write_text(BUILD_CSV, encoding="utf-8")
    w = load_weights(source_scheme="okved2", target_scheme="isic4", crosswalk=cw)
    assert w.method == "links" and w.statuses == {"accepted": 1, "official": 1, "proposed": 2}
    data = tmp_path / "emp.csv"
    data.write_text("okved;emp\n62.01;10\n49.32;5\n", encoding="utf-8")
    args = ["apply", str(data), "--from", "okved2", "--to", "isic4", "--code-column", "okved", "--crosswalk", str(cw),
            "-o", str(tmp_path / "out.csv")]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "4 links (accepted 1, official 1, proposed 2), used by the data: 3 (accepted 1, proposed 2)" in res.output
    assert "confirmed" not in res.output
    refused = CliRunner().invoke(cli, args + ["--confirmed-only"])
    assert refused.exit_code == 1 and not (tmp_path / "refused.csv").exists()
    assert "3 link(s) the data uses are not confirmed (accepted 1, proposed 2)" in refused.output
    assert "49.32→4922 (proposed)" in refused.output
    data.write_text("okved;emp\n85.22;10\n", encoding="utf-8")
    ok = CliRunner().invoke(cli, args + ["--confirmed-only", "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["weights"]["okved"]["used"] == {"official": 1}


def test_a_build_crosswalk_with_a_status_column(tmp_path):
    """A build that writes each link's status (confirmed: official, structure; proposed):
    the status column decides; confirmed links of an official table count as official."""
    cw = tmp_path / "okved2__isic4.csv"
    cw.write_text("source_code,target_code,weight,origin,status,flags\n62.01,6201,1,structure,confirmed,identity\n"
                  "49.32,4922,1,proposed,proposed,\n85.22,8530,1,official,confirmed,\n", encoding="utf-8")
    w = load_weights(source_scheme="okved2", target_scheme="isic4", crosswalk=cw)
    assert w.statuses == {"confirmed": 1, "official": 1, "proposed": 1}


def test_an_export_of_all_links_says_which_are_confirmed(tmp_path):
    cw = tmp_path / "all.csv"
    cw.write_text("source_code,target_code,weight,status\n62.01,6201,1,confirmed\n49.32,4922,1,pending\n"
                  "49.32,4923,,rejected\n", encoding="utf-8")
    w = load_weights(source_scheme="okved2", target_scheme="isic4", crosswalk=cw)
    assert w.statuses == {"confirmed": 1, "proposed": 1} and len(w) == 2
    df = pd.DataFrame({"okved": ["62.01", "49.32"], "emp": [1.0, 2.0]})
    with pytest.raises(CrosswalkError, match=r"1 link\(s\) the data uses are not confirmed \(proposed 1\)"):
        apply(df, from_scheme="okved2", to_scheme="isic4", code_column="okved", weights=w, confirmed_only=True)
    res = apply(df.iloc[:1], from_scheme="okved2", to_scheme="isic4", code_column="okved", weights=w,
                confirmed_only=True)
    assert res.links["okved"] == {"all": {"confirmed": 1, "proposed": 1}, "used": {"confirmed": 1}}


def test_a_plain_links_file_has_links_of_unknown_status(tmp_path):
    cw = Path(__file__).parent / "data" / "apply" / "isco88_isco08.csv"
    w = load_weights(source_scheme="isco88", target_scheme="isco08", crosswalk=cw, split="equal")
    assert set(w.statuses) == {"unknown"}
