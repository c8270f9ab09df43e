"""The ILO ISCO-08 ↔ ISCO-88 correspondence (format isco08-isco88:ilo-xls), loaded
as ISCO-08 → ISCO-88 from either ILO workbook."""
from __future__ import annotations

import random

import openpyxl
import pytest
from conftest import RAW, flat

from crosswalk.errors import LoadError, Report
from crosswalk.io import read_workbook
from crosswalk.loaders import detect, formats, isco08, isco88, load

FMT = "isco08-isco88:ilo-xls"
REF_08_88 = "isco08_isco88/corrtab08-88.xls"
REF_88_08 = "isco08_isco88/corrtab88-08.xls"
EX_08_88 = RAW / "isco08_isco88" / "corrtab08-88 excerpt.xls"
EX_88_08 = RAW / "isco08_isco88" / "corrtab88-08 excerpt.xls"
EX_ISCO08 = RAW / "isco08" / "ISCO-08 EN Structure and definitions excerpt.xlsx"


def _pairs(corr):
    return {(p.source, p.target) for p in corr}


def _accounting(rep):
    return rep.rows_read, rep.rows_loaded, rep.rows_rejected


# -- the reference workbooks ----------------------------------------------------------
def test_reference_08_88(ref):
    path = ref(REF_08_88)
    assert detect(path) == FMT
    res = load(path)
    rep, corr = res.report, res.correspondence
    assert res.kind == "correspondence" and rep.scheme == "isco08-isco88"
    assert (corr.source_scheme.id, corr.target_scheme.id) == ("isco08", "isco88")
    assert _accounting(rep) == (671, 671, 0)
    assert (len(corr), len(corr.sources()), len(corr.targets())) == (671, 436, 389)
    assert sum(p.partial for p in corr) == 451
    assert all(set(p.attrs) <= {"isco88_part", "comment"} for p in corr)
    assert sum(1 for p in corr if "comment" in p.attrs) == 64      # 65 cells, one is a lone space
    assert rep.kinds() == {"missing_levels": 1, "numeric_code": 2, "other_sheet": 2,
                           "partial_flags": 1, "whitespace": 6}
    assert not rep.errors and not rep.warnings
    # 1,336 number cells, all ≥ 1000 (0110/0210/0310 are text): no padding needed
    assert [p["message"].split(";")[0] for p in flat(rep, kind="numeric_code")] == [
        "668 cells of 'ISCO 08 Code' are numbers, not text",
        "668 cells of 'ISCO-88 code' are numbers, not text"]
    # the two change-log sheets are reported, not loaded
    logs = {p["sheet"]: p["message"] for p in flat(rep, kind="other_sheet", severity="info")}
    assert set(logs) == {"Entries added since 15-04-2009", "Deleted since 15-04-200"}
    assert "not in the table 2529 → 2131" in logs["Deleted since 15-04-200"]
    [p2512] = corr.targets_of("2512")
    assert (p2512.target, p2512.partial, dict(p2512.attrs)) == ("2131", True, {"isco88_part": True})
    assert [p.source for p in corr if p.target == "0110"] == ["0110", "0210", "0310"]
    assert corr.source_titles["2512"] == "Software developers"
    assert corr.target_titles["2131"] == "Computer systems designers and analysts"
    assert corr.source_titles["7322"] == "Printers "          # trailing space kept, reported
    isco88_cls = res.extra["isco88"]
    assert len(isco88_cls) == 389 and isco88_cls.counts_by_level() == {"unit": 389}
    assert all(i.parent is None for i in isco88_cls)
    assert isco88_cls["0110"].title == "Armed forces"


def test_reference_88_08(ref):
    path = ref(REF_88_08)
    assert detect(path) == FMT
    res = load(path)
    rep, corr = res.report, res.correspondence
    assert (corr.source_scheme.id, corr.target_scheme.id) == ("isco08", "isco88")
    assert _accounting(rep) == (671, 671, 0)
    assert (len(corr), len(corr.sources()), len(corr.targets())) == (671, 436, 389)
    # this file's one part column is 'ISCO-08 part': a different fact, 356 flags
    assert sum(p.partial for p in corr) == 356
    assert all(set(p.attrs) <= {"isco08_part", "comment"} for p in corr)
    assert rep.kinds() == {"missing_levels": 1, "numeric_code": 2, "partial_flags": 1, "whitespace": 6}
    assert not rep.errors and not rep.warnings
    assert len(res.extra["isco88"]) == 389


def test_both_reference_files_give_the_same_table(ref):
    a = load(ref(REF_08_88)).correspondence
    b = load(ref(REF_88_08)).correspondence
    assert _pairs(a) == _pairs(b) and len(_pairs(a)) == 671
    assert a.source_titles == b.source_titles and a.target_titles == b.target_titles
    assert {(p.source, p.target): p.attrs.get("comment") for p in a} == \
           {(p.source, p.target): p.attrs.get("comment") for p in b}
    # the two part columns together: 136 pairs are whole-to-whole in both directions
    flags = {(p.source, p.target): p.partial for p in b}
    assert sum(1 for p in a if not p.partial and not flags[(p.source, p.target)]) == 136


def test_reference_sources_are_the_isco08_unit_groups(ref):
    corr = load(ref(REF_08_88)).correspondence
    cls = load(ref("isco08/ISCO-08 EN Structure and definitions.xlsx")).classification
    assert corr.sources() == [i.code for i in cls.by_level("unit")]


# -- the excerpts --------------------------------------------------------------------
def test_excerpts_load_with_autodetection():
    a, b = load(EX_08_88), load(EX_88_08)
    for res in (a, b):
        assert detect(res.path) == FMT
        assert _accounting(res.report) == (47, 47, 0)
        assert (len(res.data), len(res.data.sources()), len(res.data.targets())) == (47, 34, 31)
        assert not res.report.errors and not res.report.warnings
    assert _pairs(a.data) == _pairs(b.data)
    assert (sum(p.partial for p in a.data), sum(p.partial for p in b.data)) == (29, 19)
    assert {p["sheet"] for p in flat(a.report, kind="other_sheet")} == {
        "Entries added since 15-04-2009", "Deleted since 15-04-200"}
    # the correspondence excerpt covers exactly the unit groups of the ISCO-08 excerpt
    units = [i.code for i in load(EX_ISCO08).classification.by_level("unit")]
    assert a.data.sources() == units


def test_excerpt_pairs_equal_the_reference(ref):
    for ex, full in ((EX_08_88, REF_08_88), (EX_88_08, REF_88_08)):
        want = {(p.source, p.target): p for p in load(ref(full)).correspondence}
        for p in load(ex).correspondence:
            assert p == want[(p.source, p.target)]


def test_row_order_and_xlsx_resave_do_not_change_the_result(tmp_path):
    sheet = read_workbook(EX_08_88, Report())[0]
    body = [r.values for r in sheet.rows[1:]]
    random.Random(3).shuffle(body)
    wb = openpyxl.Workbook()
    wb.active.title = sheet.name
    for values in [sheet.rows[0].values] + body:
        wb.active.append(values)
    out = tmp_path / "shuffled.xlsx"
    wb.save(out)
    a, b = load(EX_08_88), load(out)
    assert a.data.pairs == b.data.pairs
    assert a.data.source_titles == b.data.source_titles
    assert [(i.code, i.title) for i in a.extra["isco88"]] == [(i.code, i.title) for i in b.extra["isco88"]]


# -- broken inputs ---------------------------------------------------------------------
def test_broken_table_reports_every_problem(data_dir):
    path = data_dir / "isco88" / "broken_08-88.xls"
    res = load(path)
    rep, corr = res.report, res.correspondence
    assert _accounting(rep) == (13, 6, 7)
    assert [(p.source, p.target, p.partial) for p in corr] == [
        ("0310", "0110", True), ("1111", "1110", False), ("1112", "1120", False),
        ("2511", "2131", True), ("2511", "2139", True), ("2514", "2132", True)]
    assert corr.pairs[2].attrs["comment"] == "Mayors of large cities"
    assert rep.kinds("error") == {"code_format": 3, "duplicate_code": 1, "excel_damaged_code": 1,
                                  "part_flag": 1}
    assert rep.kinds("warning") == {"empty_title": 1, "exact_duplicate": 1, "excel_damaged_code": 2,
                                    "title_mismatch": 1}
    where = [(p["severity"], p["kind"], p["row"], p["column"]) for p in flat(rep)
             if p["severity"] != "info"]
    assert where == [
        ("warning", "excel_damaged_code", 4, "ISCO 08 Code"),     # 310 -> 0310
        ("warning", "excel_damaged_code", 4, "ISCO-88 code"),     # 110 -> 0110
        ("warning", "exact_duplicate", 5, "ISCO 08 Code"),
        ("error", "duplicate_code", 6, "ISCO-88 part"),           # same pair, other flag
        ("error", "excel_damaged_code", 7, "ISCO 08 Code"),       # 1111.5
        ("error", "code_format", 8, "ISCO 08 Code"),              # '111' as text
        ("error", "code_format", 9, "ISCO 08 Code"),              # empty
        ("error", "part_flag", 10, "ISCO-88 part"),               # 'x'
        ("warning", "title_mismatch", 12, "ISCO-08 Title EN"),
        ("warning", "empty_title", 13, "ISCO-08 Title EN"),
        ("error", "code_format", 14, "ISCO 08 Code"),             # 12345
    ]
    assert all(p.sheet == "correspondence table ISCO 88-08" for p in rep.problems
               if p.severity != "info" and p.file == str(path))
    assert corr.source_titles["2511"] == "Systems analysts"      # first title kept
    [stray] = flat(rep, kind="header")
    assert (stray["severity"], stray["column"], stray["row"]) == ("info", "F", 11)
    [log] = flat(rep, kind="other_sheet")
    assert "in the table 1111 → 1110; not in the table 2529 → 2131" in log["message"]
    assert [i.code for i in res.extra["isco88"]] == ["0110", "1110", "1120", "2131", "2132", "2139"]


def test_resaved_88_08_xlsx_with_numbers_everywhere(data_dir):
    path = data_dir / "isco88" / "resaved_88-08.xlsx"
    assert detect(path) == FMT           # headers retyped: 'ISCO88 Code', 'isco 08 code', ...
    res = load(path)
    rep, corr = res.report, res.correspondence
    assert _accounting(rep) == (6, 6, 0)
    assert [(p.source, p.target, dict(p.attrs)) for p in corr][:3] == [
        ("0110", "0110", {"isco08_part": False}), ("0210", "0110", {"isco08_part": False}),
        ("0310", "0110", {"isco08_part": False})]
    assert [p.source for p in corr if p.partial] == ["2511", "2512"]
    # each zero-padded cell is a warning of its own, naming its row and column
    assert [(p["row"], p["column"], p["value"]) for p in flat(rep, kind="excel_damaged_code")] == [
        (2, "ISCO 08 Code", "110"), (2, "ISCO-88 code", "110"), (3, "ISCO 08 Code", "210"),
        (3, "ISCO-88 code", "110"), (4, "ISCO 08 Code", "310"), (4, "ISCO-88 code", "110")]
    assert all(p["severity"] == "warning" for p in flat(rep, kind="excel_damaged_code"))
    assert "3 of them zero-padded" in flat(rep, kind="numeric_code")[0]["message"]
    rev = corr.reversed()
    assert (rev.pairs[0].source, rev.pairs[0].target) == ("0110", "0110")
    assert rev.target_titles["0210"] == "Non-commissioned armed forces officers"


def test_a_workbook_without_the_table(data_dir):
    path = data_dir / "isco88" / "no_table.xls"
    assert isco88.sniff(path, "") is None and isco08.sniff(path, "") is None
    with pytest.raises(LoadError) as exc:
        isco88.load(path)
    assert [p.kind for p in exc.value.report.errors] == ["header"]


def test_structure_workbook_is_not_a_correspondence():
    assert isco88.sniff(EX_ISCO08, "") is None
    assert isco08.sniff(EX_08_88, "") is None


def test_format_is_registered():
    assert FMT in formats()
