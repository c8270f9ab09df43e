"""What commands say about the files they read and write: --strict, which classification
files (and whether only bundled excerpts) are used, pass-through columns written back as
read, and no control character from data ever printed raw to a terminal."""
from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from crosswalk.cli import cli
from crosswalk.code import code
from crosswalk.loaders.okpdtr import control_number

RAW = Path(__file__).parent.parent / "raw_classifiers"


def _portal(path, entries):
    path.write_text(json.dumps({"count": len(entries), "professions": [{"code": c, "name": n} for c, n in entries]},
                               ensure_ascii=False), encoding="utf-8")
    return path


def test_strict_rejects_a_failing_control_number_in_validate_build_and_match(tmp_path):
    wrong = f"10307{(control_number('10307') + 1) % 10}"
    p = _portal(tmp_path / "okpdtr.json", [(wrong, "Упрочнитель деталей"),
                                          (f"12151{control_number('12151')}", "Заквасчик")])
    runner = CliRunner()
    res = runner.invoke(cli, ["validate", str(p), "--format", "json"])
    f = json.loads(res.output)["files"][0]
    assert res.exit_code == 0 and (f["rows_loaded"], f["rows_rejected"]) == (2, 0)
    assert [(q["kind"], q["severity"]) for q in f["problems"] if q["kind"] == "control_number"] == [
        ("control_number", "warning")]
    res = runner.invoke(cli, ["validate", str(p), "--strict", "--format", "json"])
    f = json.loads(res.output)["files"][0]
    assert res.exit_code == 1 and (f["rows_loaded"], f["rows_rejected"]) == (1, 1)
    okz = RAW / "okz2014" / "okz_unit_group_labels_pdf_scrape_excerpt.json"
    res = runner.invoke(cli, ["match", str(p), str(okz), "-o", str(tmp_path / "c.csv")])
    assert res.exit_code == 0 and "okpdtr.json (2 items)" in res.output       # both professions matched
    res = runner.invoke(cli, ["match", str(p), str(okz), "-o", str(tmp_path / "c.csv"), "--strict"])
    assert res.exit_code == 0 and "okpdtr.json (1 items)" in res.output


def test_commands_say_which_classifications_they_use_and_when_those_are_excerpts(tmp_path):
    data = tmp_path / "v.csv"
    data.write_text("title\nСтатистик\n", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(cli, ["code", str(data), "--column", "title", "--to", "okz2014", "--classifiers", str(RAW),
                              "-o", str(tmp_path / "o.csv")])
    assert res.exit_code == 0
    assert "okz_unit_group_labels_pdf_scrape_excerpt.json (52 items)" in res.output
    assert "bundled EXCERPT of 52 codes, not the full classification" in res.output
    res = runner.invoke(cli, ["code", str(data), "--column", "title", "--to", "okz2014", "--classifiers", str(RAW),
                              "-o", str(tmp_path / "o.csv"), "--format", "json"])
    used = json.loads(res.output)["classifications"]
    assert {(u["scheme"], u["items"], u["excerpt"]) for u in used} == {("okz2014", 52, True), ("isco08", 59, True)}
    assert any(q["kind"] == "excerpt" for q in json.loads(res.output)["problems"])
    out = tmp_path / "build"
    res = runner.invoke(cli, ["build", "--data", str(RAW), "-o", str(out), "--no-embeddings"])
    assert res.exit_code == 0 and "okpdtr_rosstat_layout_excerpt.csv (40 items)" in res.output
    assert "okz2014 (52 codes)" in res.output and "bundled EXCERPTS" in res.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {u["scheme"]: u["items"] for u in summary["classifications"]}["okved2"] == 54
    okz = RAW / "okz2014" / "okz_unit_group_labels_pdf_scrape_excerpt.json"
    src = RAW / "okpdtr" / "okpdtr_rosstat_layout_excerpt.csv"
    res = runner.invoke(cli, ["match", str(src), str(okz), "-o", str(tmp_path / "m.csv")])
    assert "source okpdtr" in res.output and "target okz2014" in res.output and "(52 items)" in res.output
    res = runner.invoke(cli, ["report", "-o", str(tmp_path / "r.html"), "--store", str(tmp_path / "none.sqlite"),
                              "--data", str(RAW / "okz2014")])              # --data of report, export, serve
    assert "okz_unit_group_labels_pdf_scrape_excerpt.json (52 items)" in res.output


# -- crosswalk code: the user's columns come back as they went in ---------------------------
def test_code_writes_pass_through_columns_as_read(tmp_path):
    data = tmp_path / "v.csv"
    data.write_text("title;delta;note;okpdtr\nСтатистик; -5 ;  padded  ;0110\nПрограммист;-5;=cmd|' /C calc'!A0;1.10\n",
                    encoding="utf-8")
    code(data, column="title", to="okz2014", classifiers=[RAW], output=tmp_path / "o.csv")
    rows = (tmp_path / "o.csv").read_text(encoding="utf-8").splitlines()
    assert rows[1].startswith("Статистик, -5 ,  padded  ,0110,")
    assert rows[2].startswith("Программист,-5,'=cmd|' /C calc'!A0,1.10,")     # a DDE payload stays escaped
    code(data, column="title", to="okz2014", classifiers=[RAW], output=tmp_path / "o.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "o.xlsx").active
    cells = {(r, c.column_letter): c for r, row in enumerate(ws.iter_rows(max_col=4), 1) for c in row}
    assert cells[(3, "B")].value == -5 and cells[(3, "B")].data_type == "n"       # -5 numeric, not '-5
    assert cells[(2, "B")].value == " -5 " and cells[(2, "C")].value == "  padded  "
    assert cells[(3, "C")].value == "=cmd|' /C calc'!A0" and cells[(3, "C")].data_type == "s"   # text, never a formula
    assert cells[(2, "D")].value == "0110" and cells[(3, "D")].value == "1.10"
    code(data, column="title", to="okz2014", classifiers=[RAW], output=tmp_path / "o.parquet")
    back = pd.read_parquet(tmp_path / "o.parquet")
    assert list(back["delta"]) == [" -5 ", "-5"] and back.loc[0, "okz2014_code_1"] == "2122"


def test_code_keeps_numbers_of_an_xlsx_input_numeric(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["title", "count", "region"])
    wb.active.append(["Статистик", -5, "R1"])
    wb.active.append(["Программист", 2.5, " R2 "])
    src = tmp_path / "in.xlsx"
    wb.save(src)
    code(src, column="title", to="okz2014", classifiers=[RAW], output=tmp_path / "o.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "o.xlsx").active
    assert [ws["B2"].value, ws["B3"].value, ws["C3"].value] == [-5, 2.5, " R2 "]
    code(src, column="title", to="okz2014", classifiers=[RAW], output=tmp_path / "o.csv")
    assert (tmp_path / "o.csv").read_text(encoding="utf-8").splitlines()[1].startswith("Статистик,-5,R1,")


OSC = "\x1b]0;pwned\x07"


def test_no_command_prints_a_control_character_raw(tmp_path):
    data = tmp_path / "v.csv"
    data.write_text(f"title;n\n\"Статистик{OSC}\";1\n\u202eПрограммист;2\n", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(cli, ["code", str(data), "--column", "title", "--to", "okz2014", "--classifiers", str(RAW),
                              "-o", str(tmp_path / "o.csv")])
    assert res.exit_code == 0
    assert "\x1b" not in res.output and "\x07" not in res.output and "\u202e" not in res.output
    assert "\\u001b]0;pwned\\u0007" in res.output                       # shown, escaped
    bad = tmp_path / "okz.csv"
    bad.write_text(f"Код;Наименование\n1112;Руководители\n1111;\"Законодатели{OSC}\"\n", encoding="utf-8")
    for args in (["validate", str(bad)], ["inspect", str(bad), "--scheme", "okz2014"],
                 ["validate", str(bad), "--format", "json"]):
        res = runner.invoke(cli, args)
        assert "\x1b" not in res.output and "\x07" not in res.output
    res = runner.invoke(cli, ["inspect", str(bad), "--scheme", "okz2014", "--format", "json"])
    titles = {r["code"]: r["title"] for r in json.loads(res.output)["sample"]}
    assert titles["1111"] == f"Законодатели{OSC}"                           # JSON keeps its meaning
    res = runner.invoke(cli, ["validate", str(tmp_path / f"no{OSC}such.csv")])   # click's own errors too
    assert res.exit_code == 2 and "\x1b" not in res.output


@pytest.mark.parametrize("text", ["\x9b2J", "a\rb", "\x1b[8m", "\u2066x"])
def test_terminal_text_escapes_what_data_may_hold(text):
    from crosswalk.safety import terminal_text
    shown = terminal_text(text, own_sequences=True)
    assert not any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f or c in "\u2066\u202e" for c in shown)
