"""`crosswalk apply` on the command line: totals printed, files written, refusals exit 1."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from crosswalk.cli import cli

DATA = Path(__file__).parent / "data" / "apply"
CROSSWALK = DATA / "isco88_isco08.csv"


def _data(tmp_path) -> Path:
    path = tmp_path / "emp.csv"
    path.write_text("code;emp;title\n0110;9;a\n110;3;b\n1110;2;c\n2131;4;d\n9999;1;e\n", encoding="utf-8")
    return path


def test_apply_converts_and_prints_totals(tmp_path):
    out, un = tmp_path / "out.csv", tmp_path / "unmatched.csv"
    res = CliRunner().invoke(cli, ["apply", str(_data(tmp_path)), "--from", "isco88", "--to", "isco08",
                                   "--code-column", "code", "--value-column", "emp", "--crosswalk", str(CROSSWALK),
                                   "--split-equally", "-o", str(out), "--unmatched", str(un)])
    assert res.exit_code == 0, res.output
    assert "emp: in 19 = out 18 + unmatched 1" in res.output
    assert "repaired code '110' → '0110' in 1 row(s)" in res.output
    assert "code 9999: no_link, 1 row(s), emp 1" in res.output
    got = pd.read_csv(out, dtype={"isco08": str})
    assert dict(zip(got["isco08"], got["emp"])) == {"0110": 4.0, "0210": 4.0, "0310": 4.0, "1111": 2.0,
                                                    "2511": 2.0, "2512": 2.0}
    assert pd.read_csv(un, dtype={"code": str}).to_dict("list") == {
        "column": ["code"], "code": ["9999"], "reason": ["no_link"], "rows": [1],
        "detail": ["9999: no link in the crosswalk"], "emp": [1.0]}


def test_apply_refuses_one_to_many_without_weights(tmp_path):
    res = CliRunner().invoke(cli, ["apply", str(_data(tmp_path)), "--from", "isco88", "--to", "isco08",
                                   "--code-column", "code", "--value-column", "emp", "--crosswalk", str(CROSSWALK),
                                   "-o", str(tmp_path / "out.csv")])
    assert res.exit_code == 1
    assert "2131 (2 targets)" in res.output and "--split-equally" in res.output
    assert not (tmp_path / "out.csv").exists()


def test_apply_user_weights_level_and_json(tmp_path):
    weights = tmp_path / "w.csv"
    weights.write_text("source_code,target_code,weight\n2131,2511,0.25\n2131,2512,0.75\n", encoding="utf-8")
    isco = Path(__file__).parent.parent / "raw_classifiers" / "isco08" / "ISCO-08 EN Structure and definitions excerpt.xlsx"
    out = tmp_path / "out.xlsx"
    res = CliRunner().invoke(cli, ["apply", str(_data(tmp_path)), "--from", "isco88", "--to", "isco08",
                                   "--code-column", "code", "--crosswalk", str(CROSSWALK), "--weights", str(weights),
                                   "--split-equally", "--level", "minor", "--target-classification", str(isco),
                                   "-o", str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["conserved"] and rep["totals"]["emp"]["out"] == 18.0
    assert rep["weights"]["code"]["method"] == "user"
    assert rep["columns"]["left_out"] == {"title": "it restates the source codes' titles, which do not describe"
                                                   " the target codes"}
    got = pd.read_excel(out, dtype={"isco08": str})
    assert dict(zip(got["isco08"], got["emp"])) == {"011": 4.0, "021": 4.0, "031": 4.0, "111": 2.0, "251": 4.0}


def test_apply_unknown_engine_extra_message(tmp_path, monkeypatch):
    import builtins
    real = builtins.__import__

    def no_duckdb(name, *args, **kw):
        if name == "duckdb" or name.startswith("duckdb."):
            raise ImportError("No module named 'duckdb'")
        return real(name, *args, **kw)
    monkeypatch.setattr(builtins, "__import__", no_duckdb)
    import sys
    monkeypatch.delitem(sys.modules, "duckdb", raising=False)
    monkeypatch.delitem(sys.modules, "crosswalk.engines.duckdb_engine", raising=False)
    res = CliRunner().invoke(cli, ["apply", str(_data(tmp_path)), "--from", "isco88", "--to", "isco08",
                                   "--code-column", "code", "--value-column", "emp", "--crosswalk", str(CROSSWALK),
                                   "--split-equally", "--engine", "duckdb", "-o", str(tmp_path / "o.csv")])
    assert res.exit_code == 1
    assert "pip install 'crosswalk[duckdb]'" in res.output


def test_unreadable_values_are_named_and_exit_1(tmp_path):
    """A value that is not a number counts as missing; the run says which cell and exits 1."""
    path = tmp_path / "emp.csv"
    path.write_text("code;emp\n0110;9\n1110;many\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(cli, ["apply", str(path), "--from", "isco88", "--to", "isco08", "--code-column",
                                   "code", "--value-column", "emp", "--crosswalk", str(CROSSWALK),
                                   "--split-equally", "-o", str(out)])
    assert res.exit_code == 1
    assert "many" in res.output and "row 3" in res.output
    assert out.is_file()            # the readable part is still converted and written


def test_json_output_exits_as_the_text_output(tmp_path):
    """--format json used to exit 0 where the text output exits 1 (a value that is not a number)."""
    path = tmp_path / "emp.csv"
    path.write_text("code;emp\n0110;9\n1110;NaN\n", encoding="utf-8")
    args = ["apply", str(path), "--from", "isco88", "--to", "isco08", "--code-column", "code", "--value-column",
            "emp", "--crosswalk", str(CROSSWALK), "--split-equally", "-o", str(tmp_path / "out.csv")]
    text = CliRunner().invoke(cli, args)
    js = CliRunner().invoke(cli, args + ["--format", "json"])
    assert text.exit_code == js.exit_code == 1, (text.output, js.output)
    rep = json.loads(js.output)
    (bad,) = [p for p in rep["problems"] if p["kind"] == "value_not_numeric"]
    assert (bad["row"], bad["value"]) == (3, "NaN") and "NaN and infinity are not numbers" in bad["message"]
    assert rep["totals"]["emp"] == {"in": 9.0, "out": 9.0, "unmatched": 0.0, "rel_error": 0.0}


def test_code_json_output_exits_as_the_text_output(tmp_path):
    """English titles coded to OKPDTR (Russian only) are an error: exit 1 in both formats."""
    path = tmp_path / "titles.csv"
    path.write_text("title\nSoftware developer\nСлесарь\n", encoding="utf-8")
    raw = Path(__file__).parent.parent / "raw_classifiers"
    args = ["code", str(path), "--column", "title", "--to", "okpdtr", "--classifiers", str(raw),
            "-o", str(tmp_path / "coded.csv")]
    text = CliRunner().invoke(cli, args)
    js = CliRunner().invoke(cli, args + ["--format", "json"])
    assert text.exit_code == js.exit_code == 1, (text.output, js.output)
    assert any(p["kind"] == "language" and p["severity"] == "error" for p in json.loads(js.output)["problems"])


def test_a_huge_cell_is_never_echoed_whole(tmp_path):
    path = tmp_path / "emp.csv"
    path.write_text(f"code;emp\n0110;9\n{'7' * 1_000_000};1\n1110;{'x' * 1_000_000}\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["apply", str(path), "--from", "isco88", "--to", "isco08", "--code-column", "code",
                                   "--value-column", "emp", "--crosswalk", str(CROSSWALK), "--split-equally",
                                   "--delimiter", ";", "-o", str(tmp_path / "out.csv")])
    assert res.exit_code == 1 and len(res.output) < 5000, len(res.output)
    # the reader's cell limit refuses it, naming the place and the size, never the cell
    assert "1,000,000 characters" in res.output and "line 3" in res.output
