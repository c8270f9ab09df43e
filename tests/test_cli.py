"""The command line as a user drives it: help, exit codes, JSON other tools can read."""
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosswalk.cli import cli

RAW = Path(__file__).parent.parent / "raw_classifiers"
EXCERPTS = sorted(str(p) for p in RAW.rglob("*") if p.is_file() and p.suffix.lower() != ".md")
FILE_KEYS = {"path", "scheme", "encoding", "rows_read", "rows_loaded", "rows_rejected",
             "items_by_level", "problems"}
PROBLEM_KEYS = {"severity", "kind", "sheet", "row", "column", "value", "message"}


@pytest.mark.parametrize("args", [[], ["inspect"], ["validate"], ["formats"]])
def test_every_command_has_help(args):
    res = CliRunner().invoke(cli, args + ["--help"])
    assert res.exit_code == 0
    assert "Usage:" in res.output and len(res.output.splitlines()) > 4


def test_validate_json_over_the_excerpts():
    res = CliRunner().invoke(cli, ["validate", "--format", "json", *EXCERPTS])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [f["path"] for f in out["files"]] == EXCERPTS
    for f in out["files"]:
        assert FILE_KEYS <= set(f)
        assert f["rows_read"] == f["rows_loaded"] + f["rows_rejected"]
        assert sum(f["items_by_level"].values()) > 0
        for p in f["problems"]:
            assert PROBLEM_KEYS <= set(p)


def test_validate_exits_1_and_names_the_row_on_errors(tmp_path):
    bad = tmp_path / "isic.csv"
    bad.write_text('"Code","Description"\n"A","Agriculture"\n"01","Crop"\n"01","Other crop"\n',
                   encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", str(bad)])
    assert res.exit_code == 1
    assert "duplicate_code" in res.output and "row 4" in res.output
    assert "1 file(s) checked, 1 with errors" in res.output


def test_garbled_file_is_an_error_not_a_crash(tmp_path):
    bad = tmp_path / "okved.csv"
    text = '"A";" ";"СЕЛЬСКОЕ ХОЗЯЙСТВО"\n"A";"01";"Растениеводство и животноводство"\n'
    bad.write_bytes(text.encode("utf-8").decode("cp1251").encode("utf-8"))
    res = CliRunner().invoke(cli, ["validate", "--format", "json", "--scheme", "okved2", str(bad)])
    assert res.exit_code == 1
    problems = json.loads(res.output)["files"][0]["problems"]
    assert problems[-1]["kind"] == "garbled_text"


def test_unknown_file_asks_for_a_scheme(tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["inspect", str(odd)])
    assert res.exit_code == 1
    assert "--scheme" in res.output


def test_inspect_text_shows_counts_and_sample():
    isic = next(p for p in EXCERPTS if "isic4" in p)
    res = CliRunner().invoke(cli, ["inspect", isic])
    assert res.exit_code == 0, res.output
    assert "scheme isic4" in res.output and "rows read" in res.output and "sample:" in res.output


def test_formats_lists_every_layout():
    res = CliRunner().invoke(cli, ["formats"])
    for fid in ("okpdtr:portal-json", "okved2:rosstat-csv", "isco08:ilo-xlsx", "isic4:un-csv"):
        assert fid in res.output
