"""ISCO-08 from the ILO structure-and-definitions workbook (format isco08:ilo-xlsx)."""
from __future__ import annotations

import random
import zipfile

import openpyxl
import pytest
from conftest import RAW, flat

from crosswalk.errors import LoadError
from crosswalk.loaders import detect, formats, isco08, isco88, load

REF = "isco08/ISCO-08 EN Structure and definitions.xlsx"
EXCERPT = RAW / "isco08" / "ISCO-08 EN Structure and definitions excerpt.xlsx"
SHEET = "ISCO-08 EN Struct and defin"


def _where(report, kind):
    """(row, column, value) of every problem of one kind, in report order."""
    return [(p["row"], p["column"], p["value"]) for p in flat(report, kind=kind)]


# -- the reference workbook ---------------------------------------------------
def test_reference_workbook_loads_exactly(ref):
    path = ref(REF)
    assert detect(path) == "isco08:ilo-xlsx"
    res = load(path)
    rep, cls = res.report, res.classification
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (619, 619, 0)
    assert cls.counts_by_level() == {"major": 10, "sub-major": 43, "minor": 130, "unit": 436}
    assert rep.scheme == "isco08" and rep.file == str(path)
    # a clean file: the empty hidden sheet, two numeric code cells read exactly
    # (421, 4213: their digits match Level) and two titles with a double space
    assert rep.kinds() == {"hidden_sheet": 1, "numeric_code": 1, "whitespace": 2}
    assert not rep.errors and not rep.warnings
    assert _where(rep, "whitespace") == [(254, "Title EN", "  "), (447, "Title EN", "  ")]
    assert "rows 295, 298" in flat(rep, kind="numeric_code")[0]["message"]
    # checks.check_text does not report whitespace, so the 446 double spaces in
    # «Tasks include» do not flood the report
    assert cls["2512"].title == "Software Developers"
    assert cls["1"].title == "Managers"
    assert cls["9629"].title == "Elementary Workers Not Elsewhere Classified"
    assert [i.code for i in cls.ancestors("0110")] == ["011", "01", "0"]
    assert cls["421"].level == 3 and cls["4213"].parent == "421"
    assert all(i.notes for i in cls)                         # every row has a Definition
    assert sum(1 for i in cls if i.attrs["tasks"]) == 603
    assert all(i.attrs["included"] for i in cls)
    assert cls["2512"].notes.startswith("Software developers research, analyse")


# -- the excerpt in raw_classifiers --------------------------------------------
def test_excerpt_loads_with_autodetection():
    assert detect(EXCERPT) == "isco08:ilo-xlsx"
    res = load(EXCERPT)
    rep, cls = res.report, res.classification
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (59, 59, 0)
    assert cls.counts_by_level() == {"major": 6, "sub-major": 9, "minor": 10, "unit": 34}
    assert rep.kinds() == {"hidden_sheet": 1, "numeric_code": 1, "whitespace": 2}
    assert [i.code for i in cls.children("0")] == ["01", "02", "03"]
    assert [i.code for i in cls.children("251")] == ["2511", "2512", "2513", "2514", "2519"]
    assert cls["0110"].title == "Commissioned Armed Forces Officers"
    assert "Software developer" in cls["2512"].attrs["included"]


def test_excerpt_items_equal_the_reference(ref):
    full = load(ref(REF)).classification
    part = load(EXCERPT).classification
    for item in part:
        assert item == full[item.code]
        assert (item.notes, dict(item.attrs)) == (full[item.code].notes, dict(full[item.code].attrs))


def test_row_order_does_not_change_the_result(tmp_path):
    wb = openpyxl.load_workbook(EXCERPT)
    rows = [list(r) for r in wb[SHEET].iter_rows(values_only=True)]
    body = rows[1:]
    random.Random(7).shuffle(body)
    out = openpyxl.Workbook()
    for r in [rows[0]] + body:
        out.active.append(r)
    shuffled = tmp_path / "shuffled.xlsx"
    out.save(shuffled)
    a, b = load(EXCERPT).classification, load(shuffled).classification
    assert [(i.code, i.title, i.level, i.parent, i.notes) for i in a] == \
           [(i.code, i.title, i.level, i.parent, i.notes) for i in b]


# -- codes stored as numbers -------------------------------------------------------
def test_numeric_codes_are_padded_from_level(data_dir):
    res = load(data_dir / "isco08" / "numeric_codes.xlsx")
    rep, cls = res.report, res.classification
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (10, 8, 2)
    assert cls.codes == ["0", "01", "011", "0110", "2", "25", "251", "2512"]
    repaired = flat(rep, kind="excel_damaged_code", severity="warning")
    assert [(p["row"], p["value"]) for p in repaired] == [(3, "1"), (4, "11"), (5, "110")]
    assert "padded to 4 digits: 0110" in repaired[2]["message"]
    # no Level: 210 may be 210 or 0210, so the row is rejected with both suggestions
    [damaged] = flat(rep, kind="excel_damaged_code", severity="error")
    assert (damaged["row"], damaged["column"]) == (10, "ISCO 08 Code")
    assert "210 or 0210" in damaged["message"]
    assert _where(rep, "level_format") == [(10, "Level", None)]
    [mismatch] = flat(rep, kind="level_mismatch", severity="error")
    assert (mismatch["row"], mismatch["value"]) == (11, "3") and "2513 has 4 digits" in mismatch["message"]
    assert "5 code cells are numbers" in flat(rep, kind="numeric_code")[0]["message"]


# -- every defect the loader checks ------------------------------------------------
def test_broken_workbook_reports_every_problem(data_dir):
    path = data_dir / "isco08" / "broken.xlsx"
    assert detect(path) == "isco08:ilo-xlsx"     # found by header on sheet 'Structure', row 2
    res = load(path)
    rep, cls = res.report, res.classification
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (14, 6, 8)
    assert cls.codes == ["1", "11", "111", "1111", "1113", "1114"]
    assert rep.kinds("error") == {"code_format": 1, "duplicate_code": 1, "empty_title": 1,
                                  "level_format": 1, "level_mismatch": 1, "missing_parent": 2}
    assert rep.kinds("warning") == {"code_format": 1, "exact_duplicate": 1, "formula_cell": 1,
                                    "header": 1, "hidden_sheet": 1, "merged_cell": 2, "other_sheet": 1}
    assert all(p.sheet in ("Structure", "Read me", "old") and p.file == str(path) for p in rep.problems)
    assert _where(rep, "level_mismatch") == [(7, "Level", "3")]
    assert _where(rep, "duplicate_code") == [(9, "ISCO 08 Code", "1113")]
    assert _where(rep, "exact_duplicate") == [(10, "ISCO 08 Code", "1111")]
    assert _where(rep, "missing_parent") == [(11, "ISCO 08 Code", "311"), (16, "ISCO 08 Code", "3111")]
    assert "parent 311 was rejected" in flat(rep, kind="missing_parent")[1]["message"]
    assert _where(rep, "empty_title") == [(12, "Title EN", "")]
    assert _where(rep, "level_format") == [(13, "Level", "x")]
    assert [(p["row"], p["severity"], p["value"]) for p in flat(rep, kind="code_format")] == \
           [(14, "error", "12A1"), (15, "warning", " 1114 ")]
    assert _where(rep, "formula_cell")[0][:2] == (6, "D")
    assert cls["1111"].notes == ""                     # the formula had no cached value
    assert cls["1113"].title == "Traditional Chiefs and Heads of Villages "   # never modified
    assert _where(rep, "whitespace") == [(8, "Title EN", "Traditional Chiefs and Heads of Villages ")]
    # merged header F2:G2 hides 'Excluded occupations'; its values sit in unnamed column G
    assert _where(rep, "header") == [(2, "Excluded occupations", None), (11, "G", None)]
    assert {p["column"] for p in flat(rep, kind="merged_cell")} == {"A1:H1", "F2:G2"}
    others = {p["sheet"]: p["severity"] for p in flat(rep, kind="other_sheet")}
    assert others == {"Read me": "info", "old": "warning"}   # 'old' is hidden and has the header
    assert flat(rep, kind="hidden_sheet", severity="warning")[0]["sheet"] == "old"


def test_files_that_are_not_isco08(data_dir):
    no_header = data_dir / "isco08" / "no_header.xlsx"
    assert isco08.sniff(no_header, "") is None and isco88.sniff(no_header, "") is None
    with pytest.raises(LoadError) as exc:
        isco08.load(no_header)
    assert [p.kind for p in exc.value.report.errors] == ["header"]
    text = data_dir / "isco08" / "not_a_workbook.xlsx"
    assert isco08.sniff(text, text.read_text()) is None
    with pytest.raises(LoadError) as exc:
        isco08.load(text)
    assert [p.kind for p in exc.value.report.errors] == ["unreadable"]


def test_sniff_never_raises(tmp_path):
    broken_zip = tmp_path / "broken.xlsx"
    broken_zip.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    with zipfile.ZipFile(tmp_path / "empty.xlsx", "w"):
        pass
    for p in (broken_zip, tmp_path / "empty.xlsx", tmp_path / "missing.xlsx", tmp_path):
        assert isco08.sniff(p, "") is None
        assert isco88.sniff(p, "") is None


def test_format_is_registered():
    assert "isco08:ilo-xlsx" in formats()
