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
    got = pd.read_csv(out, dtype={"code": str})
    assert dict(zip(got["code"], got["emp"])) == {"0110": 4.0, "0210": 4.0, "0310": 4.0, "1111": 2.0,
                                                  "2511": 2.0, "2512": 2.0}
    assert pd.read_csv(un, dtype={"code": str}).to_dict("list") == {"code": ["9999"], "emp": [1.0]}


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
    assert any(p["kind"] == "not_a_value_column" and p["column"] == "title" for p in rep["problems"])
    got = pd.read_excel(out, dtype={"code": str})
    assert dict(zip(got["code"], got["emp"])) == {"011": 4.0, "021": 4.0, "031": 4.0, "111": 2.0, "251": 4.0}


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
