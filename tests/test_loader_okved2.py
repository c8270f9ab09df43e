"""OKVED2 loaders: the Rosstat open-data CSV and the 2016 JSON with notes."""
import json
import random
from pathlib import Path

import pytest
from conftest import flat

from crosswalk.errors import LoadError
from crosswalk.loaders import detect, isic4, load, nace2, okved2

RAW = Path(__file__).parent.parent / "raw_classifiers" / "okved2"
ROSSTAT = "okved2/rosstat_opendata_2023-12-01/data-20231201-structure-20180402.csv"
SORTED = "okved2/consultantplus_2016_with_notes/sorted.json"
DATA = "okved2/consultantplus_2016_with_notes/data.json"


def snapshot(cls):
    """Everything a classification holds, in its iteration order."""
    return [(it.code, it.title, it.level, it.parent, it.notes, dict(it.attrs)) for it in cls]


# -- Rosstat CSV: fixtures -------------------------------------------------------
def test_cp1251_excerpt_loads_with_hierarchy_and_encoding(data_dir):
    path = data_dir / "okved2/excerpt_cp1251.csv"
    assert detect(path) == "okved2:rosstat-csv"
    res = load(path)
    rep, cls = res.report, res.classification
    assert rep.encoding == "cp1251" and rep.scheme == "okved2" and rep.file == str(path)
    assert flat(rep, kind="encoding", severity="info")
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (14, 14, 0)
    assert rep.errors == []
    assert cls.counts_by_level() == {"section": 2, "division": 3, "group": 3, "class": 3,
                                     "subclass": 2, "type": 1}
    assert cls["01"].parent == "A" and cls["01.11.11"].parent == "01.11.1"
    assert cls["01.1"].parent == "01" and cls["62.01"].parent == "62.0"
    assert cls["A"].title.startswith("СЕЛЬСКОЕ") and cls["A"].level == 1
    assert cls["61.10.2"].attrs["section"] == "J"
    assert [a.code for a in cls.ancestors("01.11.11")] == ["01.11.1", "01.11", "01.1", "01", "A"]
    assert cls.edition == ""          # the fixture's name is not Rosstat's data-…-structure-… name
    mixed = flat(rep, kind="mixed_script")
    assert len(mixed) == 1 and mixed[0]["row"] == 11 and mixed[0]["value"] == "IР"


def test_utf8_bom_copy_gives_the_same_classification(data_dir):
    a = load(data_dir / "okved2/excerpt_cp1251.csv")
    b = load(data_dir / "okved2/excerpt_utf8_bom.csv")
    assert b.report.encoding == "utf-8-sig"
    assert detect(data_dir / "okved2/excerpt_utf8_bom.csv") == "okved2:rosstat-csv"
    assert snapshot(a.classification) == snapshot(b.classification)
    assert not flat(b.report, kind="encoding")


def test_shuffled_rows_give_an_identical_classification(data_dir):
    a = load(data_dir / "okved2/excerpt_cp1251.csv").classification
    b = load(data_dir / "okved2/shuffled.csv").classification
    assert snapshot(a) == snapshot(b)
    assert [it.code for it in b][:3] == ["A", "01", "01.1"]


def test_mojibake_is_rejected_never_loaded(data_dir):
    path = data_dir / "okved2/mojibake.csv"
    assert detect(path) == "okved2:rosstat-csv"      # it looks like OKVED2 …
    with pytest.raises(LoadError) as exc:              # … but is never loaded
        load(path)
    kinds = [p.kind for p in exc.value.report.errors]
    assert kinds == ["garbled_text"]


def test_wrong_delimiter_fails_instead_of_loading_one_column(data_dir):
    with pytest.raises(LoadError, match="delimiter") as exc:
        okved2.load(data_dir / "okved2/excerpt_cp1251.csv", "okved2:rosstat-csv", delimiter=",")
    assert exc.value.report.errors[0].kind == "delimiter"
    # a comma-delimited copy read as the official ';' layout fails the same way, naming ','
    with pytest.raises(LoadError) as exc:
        load(data_dir / "okved2/comma.csv", "okved2:rosstat-csv")
    err = exc.value.report.errors[0]
    assert err.kind == "delimiter" and "','" in err.message


def test_excel_damaged_codes_are_rejected_with_suggestions(data_dir):
    path = data_dir / "okved2/excel_damaged.csv"
    assert detect(path) == "okved2:rosstat-csv"
    rep = load(path).report
    damaged = {p["value"]: p for p in flat(rep, kind="excel_damaged_code", severity="error")}
    assert set(damaged) == {"1", "1.1", "1.11", "01.11.2001", "01.окт", "110"}
    assert "01" in damaged["1"]["message"]
    assert "01.1 or 01.10" in damaged["1.1"]["message"]
    assert "01.11" in damaged["1.11"]["message"]
    assert "01.11.1" in damaged["01.11.2001"]["message"] and "date" in damaged["01.11.2001"]["message"]
    assert "01.10" in damaged["01.окт"]["message"]
    assert all(p["row"] and p["column"] == "code" for p in damaged.values())
    assert damaged["1.1"]["row"] == 3
    # 01.11.11 survives the damage itself but its parent was rejected: orphan
    orphans = flat(rep, kind="missing_parent")
    assert [p["value"] for p in orphans] == ["01.11.11"]
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (8, 1, 7)


@pytest.mark.parametrize("raw,problem,hint", [
    ("01.10", None, ""), ("1.1", "damaged", "01.10"), ("110", "damaged", "11.0"),
    ("01.11.2011", "damaged", "01.11.11"), ("2001-11-01", "damaged", "01.11.1"),
    ("1-Oct", "damaged", "01.10"), ("01.11.х", "format", ""),
])
def test_parse_code_reads_numbers_and_dates_excel_wrote(raw, problem, hint):
    code, got, msg = okved2.parse_code(raw)
    assert got == problem
    assert hint in msg
    assert (code is None) == (problem is not None)


def test_duplicates_and_orphans(data_dir):
    rep = load(data_dir / "okved2/duplicates_orphans.csv").report
    exact = flat(rep, kind="exact_duplicate")
    assert len(exact) == 1 and exact[0]["row"] == 7 and exact[0]["severity"] == "warning"
    dup = flat(rep, kind="duplicate_code")
    assert len(dup) == 1 and dup[0]["row"] == 8 and "rows 3 and 8" in dup[0]["message"]
    orphans = flat(rep, kind="missing_parent")
    assert [(p["value"], p["row"]) for p in orphans] == [("01.31", 10), ("01.31.1", 11)]
    assert "01.3 is not in the file" in orphans[0]["message"]
    assert "01.31 was rejected" in orphans[1]["message"]
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (11, 7, 4)


def test_invisible_characters_and_look_alike_letters(data_dir):
    res = load(data_dir / "okved2/text_defects.csv")
    rep, cls = res.report, res.classification
    assert rep.encoding == "utf-8"
    inv = {p["row"]: p for p in flat(rep, kind="invisible_char")}
    assert set(inv) == {4, 5}
    assert "ZERO WIDTH SPACE" in inv[4]["message"] and "NO-BREAK SPACE" in inv[5]["message"]
    mixed = flat(rep, kind="mixed_script")
    assert [(p["row"], p["value"]) for p in mixed] == [(6, "трюфелeй")]
    # stored titles are never modified
    assert cls["01.11"].title == "Выращивание\u200b зерновых культур"
    assert cls["01.12"].title == "Выращивание\u00a0риса"
    assert rep.errors == []


def test_bad_rows_are_each_reported_and_rejected(data_dir):
    path = data_dir / "okved2/bad_rows.csv"
    assert detect(path) == "okved2:rosstat-csv"
    res = load(path)
    rep, cls = res.report, res.classification
    by_row = {(p["row"], p["kind"]): p for p in rep.flatten()}
    assert by_row[(4, "whitespace")]["severity"] == "warning" and "01.11" in cls
    assert by_row[(5, "code_format")]["column"] == "section"
    assert by_row[(6, "empty_title")]["severity"] == "error"
    assert by_row[(7, "section_mismatch")]["severity"] == "warning"       # B under division 01 (A)
    assert "division 01 (row 2) is in section A" in by_row[(7, "section_mismatch")]["message"]
    assert "no section's range" in by_row[(8, "section_mismatch")]["message"]
    assert by_row[(9, "code_format")]["value"] == "AB"
    assert by_row[(10, "column_count")]["severity"] == "error"
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (10, 6, 4)
    assert cls["04"].parent == "A"      # the file says A: kept, with the warning above


def test_edition_comes_from_rosstat_file_name():
    assert okved2.csv_edition(Path("data-20231201-structure-20180402.csv")) == \
        "2023-12-01 (structure 2018-04-02)"
    assert okved2.csv_edition(Path("okved.csv")) == ""


# -- notes JSON: fixtures ----------------------------------------------------------
def test_flat_notes_json(data_dir):
    path = data_dir / "okved2/notes_flat.json"
    assert detect(path) == "okved2:notes-json"
    res = load(path)
    rep, cls = res.report, res.classification
    assert cls.edition == "2016 (amendments to 26.08.2016)"
    assert "A" not in cls and cls["61"].parent is None            # no fake section items
    assert cls["61"].attrs["section"] == "J"
    assert cls["61.10"].attrs["refs"] == ("61.90", "61.90", "61.20", "см. 61.30")
    assert cls["61.10"].notes.startswith("Эта группировка включает:")
    missing = flat(rep, kind="missing_levels")
    assert len(missing) == 1 and "section rows absent" in missing[0]["message"]
    assert "J, K" in missing[0]["message"]
    refs = flat(rep, kind="bad_reference")
    assert [(p["row"], p["value"]) for p in refs] == [(3, "61.20"), (3, "см. 61.30")]
    assert "not in the file" in refs[0]["message"] and "not an OKVED2 code" in refs[1]["message"]
    lost = flat(rep, kind="lost_line_breaks")
    assert len(lost) == 1 and lost[0]["message"].startswith("1 description(s)")
    assert "сетейЭта группировка" in lost[0]["message"]
    assert [p["value"] for p in flat(rep, kind="mixed_script")] == ["IР"]   # in a description
    mism = flat(rep, kind="section_mismatch")
    assert [(p["row"], p["value"]) for p in mism] == [(6, "K")]
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (6, 6, 0)


def test_flat_notes_json_in_any_key_order(data_dir, tmp_path):
    data = json.loads((data_dir / "okved2/notes_flat.json").read_text(encoding="utf-8"))
    keys = list(data)
    random.Random(1).shuffle(keys)
    shuffled = tmp_path / "shuffled.json"
    shuffled.write_text(json.dumps({k: data[k] for k in keys}), encoding="utf-8")
    a = load(data_dir / "okved2/notes_flat.json").classification
    b = load(shuffled, "okved2:notes-json").classification
    assert snapshot(a) == snapshot(b)


def test_nested_notes_json_has_sections_as_items(data_dir):
    path = data_dir / "okved2/notes_nested.json"
    assert detect(path) == "okved2:notes-json"
    res = load(path)
    rep, cls = res.report, res.classification
    assert cls["A"].title == "Сельское, лесное хозяйство, охота, рыболовство и рыбоводство"
    assert cls["A"].notes.startswith("Этот раздел включает")
    assert cls["01"].parent == "A" and cls["61"].parent == "J"
    assert cls["01.1"].attrs == {"refs": ("01.2",), "section": "A"}
    assert not flat(rep, kind="missing_levels")
    # 01.3 sits inside section J: loaded under 01 (its code says so), reported
    assert cls["01.3"].parent == "01"
    assert [(p["row"], p["value"]) for p in flat(rep, kind="section_mismatch")] == [(7, "J")]
    lost = flat(rep, kind="lost_line_breaks")
    assert len(lost) == 1 and "sorted.json" in lost[0]["message"]
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (7, 7, 0)


@pytest.mark.parametrize("name", ["not_okved_okz_labels.json", "not_okved_okpdtr.json"])
def test_other_loaders_json_is_not_claimed(data_dir, name):
    path = data_dir / "okved2" / name
    head = path.read_text(encoding="utf-8")
    for mod in (okved2, nace2, isic4):
        assert mod.sniff(path, head) is None
    assert not detect(path).startswith(("okved2", "nace2", "isic4"))


# -- excerpt -------------------------------------------------------------------------
def test_rosstat_excerpt():
    path = RAW / "data-20231201-structure-20180402-excerpt.csv"
    assert detect(path) == "okved2:rosstat-csv"
    res = load(path)
    rep, cls = res.report, res.classification
    assert rep.encoding == "cp1251" and rep.errors == []
    assert len(cls) == 54 and cls.edition == "2023-12-01 (structure 2018-04-02)"
    assert cls["62.01"].title == "Разработка компьютерного программного обеспечения"
    assert {"19.31", "85.11"} <= set(cls.codes) and "85.10" not in cls    # OKVED2 departs from NACE
    assert [p["value"] for p in flat(rep, kind="mixed_script")] == ["IР"]
    assert {p["value"] for p in flat(rep, kind="whitespace")} == {"чулочно- носочных", "\t"}


def test_notes_excerpt():
    path = RAW / "sorted-excerpt.json"
    assert detect(path) == "okved2:notes-json"
    res = load(path)
    rep, cls = res.report, res.classification
    assert len(cls) == 17 and rep.errors == []
    assert cls["62.01"].attrs["refs"] == ("58.29", "58.29", "62.02")
    # cross-references leaving the excerpt are reported, as in any partial file
    assert {p["value"] for p in flat(rep, kind="bad_reference")} == {"58.29", "62.02", "61.20", "61.30"}


# -- reference tables --------------------------------------------------------------------
def test_reference_rosstat_csv(ref):
    path = ref(ROSSTAT)
    assert detect(path) == "okved2:rosstat-csv"
    res = load(path)
    rep, cls = res.report, res.classification
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (2899, 2899, 0)
    assert cls.counts_by_level() == {"section": 21, "division": 88, "group": 272, "class": 623,
                                     "subclass": 1228, "type": 667}
    assert rep.encoding == "cp1251" and rep.errors == []
    assert rep.kinds() == {"encoding": 1, "mixed_script": 1, "whitespace": 5}
    mixed = flat(rep, kind="mixed_script")[0]
    assert (mixed["row"], mixed["value"]) == (2251, "IР") and "61.10.2" in mixed["message"]
    assert any("чулочно- носочных" in p["message"] for p in flat(rep, kind="whitespace"))
    assert cls.edition == "2023-12-01 (structure 2018-04-02)"
    assert cls["62.01"].title == "Разработка компьютерного программного обеспечения"
    assert cls["01.11"].title.startswith("Выращивание зерновых (кроме риса)")
    assert {"86.10", "99.00"} <= set(cls.codes)
    assert [it.code for it in cls.roots()] == list("ABCDEFGHIJKLMNOPQRSTU")
    assert cls["06"].parent == "B" and cls["99"].parent == "U"


def test_reference_sorted_json(ref):
    path = ref(SORTED)
    assert detect(path) == "okved2:notes-json"
    res = load(path)
    rep, cls = res.report, res.classification
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (2761, 2761, 0)
    assert cls.counts_by_level() == {"division": 88, "group": 272, "class": 623,
                                     "subclass": 1168, "type": 610}
    # 915 descriptions, and 9 captions that carry their explanation after the title
    # (85.21 «Образование профессиональное среднее\n  Среднее профессиональное образование…»)
    assert sum(1 for it in cls if it.notes.strip()) == 924
    assert cls.get("85.21").title == "Образование профессиональное среднее"
    assert cls.get("85.21").notes.startswith("Среднее профессиональное образование направлено")
    assert cls.get("79.90.21").title.endswith("экскурсионных туристических услуг")   # a wrapped title, joined
    assert rep.errors == []
    assert rep.kinds() == {"bad_reference": 16, "caption_line_break": 1, "caption_with_text": 14,
                           "invisible_char": 2, "lost_line_breaks": 1, "missing_levels": 1, "mixed_script": 1}
    assert flat(rep, kind="lost_line_breaks")[0]["message"].startswith("66 description(s)")
    assert "A, B, C" in flat(rep, kind="missing_levels")[0]["message"]
    assert cls["06"].title == "Добыча сырой нефти и природного газа"
    assert cls["06"].parent is None and cls["06"].attrs["section"] == "B"
    assert cls["62.01"].attrs["refs"] == ("58.29", "58.29", "62.02")
    assert cls.edition == "2016 (amendments to 26.08.2016)"


def test_reference_data_json(ref):
    path = ref(DATA)
    assert detect(path) == "okved2:notes-json"
    res = load(path)
    rep, cls = res.report, res.classification
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (2782, 2782, 0)
    assert cls.counts_by_level() == {"section": 21, "division": 88, "group": 272, "class": 623,
                                     "subclass": 1168, "type": 610}
    assert rep.errors == []
    assert rep.kinds() == {"bad_reference": 16, "caption_line_break": 1, "caption_with_text": 14,
                           "invisible_char": 2, "lost_line_breaks": 1, "mixed_script": 1}
    assert flat(rep, kind="lost_line_breaks")[0]["message"].startswith("80 description(s)")
    assert cls["A"].notes.startswith("Этот раздел включает")
    assert cls["06"].parent == "B"
    # the item text is the same in both layouts
    flat_cls = load(ref(SORTED)).classification
    assert all(cls[it.code].notes == it.notes and cls[it.code].title == it.title for it in flat_cls)
