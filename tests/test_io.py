"""Reading bytes safely: encodings, garbled text, delimiters, workbook quirks."""
import openpyxl
import pytest

from crosswalk.errors import LoadError, Report
from crosswalk.io import read_csv, read_workbook
from crosswalk.io.encoding import decode, garbled_reason

RU = "Разработка компьютерного программного обеспечения"


def test_utf8_with_and_without_bom_and_cp1251():
    for data, enc in ((RU.encode("utf-8"), "utf-8"), (b"\xef\xbb\xbf" + RU.encode("utf-8"), "utf-8-sig"),
                      (RU.encode("cp1251"), "cp1251")):
        r = Report(file="x")
        assert decode(data, r) == RU
        assert r.encoding == enc


def test_mojibake_is_rejected_never_loaded():
    garbled = RU.encode("utf-8").decode("cp1251")       # «Р Р°Р·СЂР°Р±...»
    r = Report(file="bad.csv")
    with pytest.raises(LoadError, match="garbled"):
        decode(garbled.encode("utf-8"), r)
    assert r.errors[0].kind == "garbled_text"
    assert "wrong code page" in r.errors[0].message


def test_real_text_with_rare_pairs_is_not_called_garbled():
    assert garbled_reason("Сёмга, Сёла и Рёбра — обычные слова " * 3) is None
    assert garbled_reason("Вопрос??? ответ") is None
    assert garbled_reason("?????? ??? ???? ?????") is not None


def test_semicolon_file_read_with_comma_fails(tmp_path):
    p = tmp_path / "okved.csv"
    p.write_text('"A";" ";"СЕЛЬСКОЕ ХОЗЯЙСТВО"\n"A";"01";"Растениеводство"\n', encoding="utf-8")
    r = Report(file=str(p))
    with pytest.raises(LoadError, match="wrong delimiter ','"):
        read_csv(p, r, delimiter=",")
    assert r.errors[0].kind == "delimiter" and "';'-delimited" in r.errors[0].message
    t = read_csv(p, Report(file=str(p)))          # sniffed
    assert [row.values for row in t.rows][1] == ["A", "01", "Растениеводство"]


def test_csv_row_numbers_count_multiline_fields(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text('code,title\n01,"two\nlines"\n02,after\n', encoding="utf-8")
    t = read_csv(p, Report(file=str(p)))
    assert [(r.number, r.values[0]) for r in t.rows] == [(1, "code"), (2, "01"), (4, "02")]


def test_workbook_quirks_are_reported(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append(["Code", "Title", None])
    ws.merge_cells("B1:C1")
    ws.append(["0110", "Officers", None])
    ws.append(["=A2", "formula", None])
    hidden = wb.create_sheet("secret")
    hidden.append(["x"])
    hidden.sheet_state = "hidden"
    p = tmp_path / "w.xlsx"
    wb.save(p)
    r = Report(file=str(p))
    tables = read_workbook(p, r)
    assert [t.name for t in tables] == ["data", "secret"]
    kinds = r.kinds()
    assert kinds == {"formula_cell": 1, "hidden_sheet": 1, "merged_cell": 1}
    f = r.of_kind("formula_cell")[0]
    assert (f.sheet, f.row, f.column, f.value) == ("data", 3, "A", "=A2")
    # openpyxl writes no cached value: the cell reads as empty, never as the formula text
    assert tables[0].rows[2].values[0] is None


def test_not_a_workbook(tmp_path):
    p = tmp_path / "x.xlsx"
    p.write_text("hello")
    r = Report(file=str(p))
    with pytest.raises(LoadError, match="not an xlsx or xls"):
        read_workbook(p, r)
