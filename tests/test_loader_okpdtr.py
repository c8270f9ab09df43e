"""OKPDTR loaders: the trudvsem.ru profession list (JSON) and the Rosstat table layout."""
import json
import random
from pathlib import Path

import pytest
from conftest import flat
from hypothesis import given
from hypothesis import strategies as st

from crosswalk.errors import LoadError
from crosswalk.loaders import detect, load
from crosswalk.loaders.okpdtr import control_number, part_of

RAW = Path(__file__).parent.parent / "raw_classifiers" / "okpdtr"
PORTAL = "okpdtr/trudvsem_profession_list.json"


def snapshot(cls):
    return [(it.code, it.title, it.level, it.parent, dict(it.attrs)) for it in cls]


def at(report, kind, **match):
    """Rows of the problems of one kind (and matching fields)."""
    return [p["row"] for p in flat(report, kind=kind, **match)]


# -- control number ------------------------------------------------------------------
def slow_control_number(code5):
    """The ОК 016-94 rule spelled out step by step."""
    digits = [int(c) for c in code5]
    total = 0
    for i in range(5):
        total += digits[i] * (i + 1)
    rest = total % 11
    if rest == 10:
        total = 0
        for i in range(5):
            total += digits[i] * (i + 3)
        rest = total % 11
        if rest == 10:
            rest = 0
    return rest


@pytest.mark.parametrize("code5, kch", [
    ("10003", 5),   # Авербандщик 100035: 1·1 + 3·5 = 16 ≡ 5
    ("22824", 3),   # Инженер-программист 228243
    ("20252", 5),   # Аэрохимик 202525
    ("11410", 8),   # the first half of the merged entry 1141087
    ("21687", 1),   # the 5-digit portal entry
    ("10004", 9),   # 1 + 20 = 21 ≡ 10, so weights 3–7: 3 + 28 = 31 ≡ 9
    ("10082", 0),   # 1 + 32 + 10 = 43 ≡ 10, then 3 + 48 + 14 = 65 ≡ 10 again: 0
])
def test_control_number_known_examples(code5, kch):
    assert control_number(code5) == kch == slow_control_number(code5)


@given(st.text(alphabet="0123456789", min_size=5, max_size=5))
def test_control_number_matches_the_rule_spelled_out(code5):
    kch = control_number(code5)
    assert kch == slow_control_number(code5)
    assert 0 <= kch <= 9


@pytest.mark.parametrize("bad", ["1000", "100035", "1000a", "", "١٠٠٠٣"])
def test_control_number_needs_five_ascii_digits(bad):
    with pytest.raises(ValueError, match="5 digits"):
        control_number(bad)


def test_parts():
    assert [part_of(c) for c in ("10003", "22824", "30018", "40064")] == [
        "worker", "employee", "non-standard", "non-standard"]


# -- portal JSON: fixtures ---------------------------------------------------------------
def test_portal_defects_each_reported_on_its_row(data_dir):
    path = data_dir / "okpdtr/portal_defects.json"
    assert detect(path) == "okpdtr:portal-json"
    res = load(path)
    rep, cls = res.report, res.classification
    assert rep.scheme == "okpdtr" and rep.file == str(path)
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (21, 12, 9)
    assert rep.kinds("error") == {"code_format": 3, "control_number": 1, "duplicate_code": 1,
                                  "empty_title": 1, "merged_entry": 1}
    # a wrong КЧ keeps the profession under its valid 5-digit code, with a warning
    warned = {p["row"]: p for p in flat(rep, kind="control_number", severity="warning")}
    assert "gives 1 (200411)" in warned[3]["message"] and "loaded as 20041" in warned[3]["message"]
    assert cls["20041"].title == "Агроном (средней квалификации)"
    assert dict(cls["20041"].attrs) == {"kch": "1", "part": "employee", "kch_given": "4"}
    # … unless another row holds the same code with the right КЧ and title: one item, the repeat reported
    assert "row 6 holds 202525 with the correct КЧ and the same title" in warned[5]["message"]
    assert warned[5]["column"] == "code" and warned[5]["value"] == "202526"
    assert cls["20252"].attrs["kch"] == "5"
    wrong = {p["row"]: p for p in flat(rep, kind="control_number", severity="error")}
    assert set(wrong) == {9}
    # a 5-digit code whose base is taken by a full code is rejected, naming that row
    assert "row 1 (100035)" in wrong[9]["message"]
    # a lone 5-digit code is repaired with a warning
    five = [p for p in flat(rep, kind="control_number", severity="warning") if p["row"] == 8]
    assert five[0]["message"].startswith("5-digit code without control number; КЧ computed = 1")
    assert cls["21687"].attrs["kch"] == "1"
    merged = flat(rep, kind="merged_entry")[0]
    assert merged["row"] == 7 and merged["value"] == "1141087"
    assert "«Варщик электроизоляционных лаков, смол и мастик» + «Ватинщик»" in merged["message"]
    assert at(rep, "exact_duplicate") == [11]
    dup = flat(rep, kind="duplicate_code")[0]
    assert dup["row"] == 13 and "rows 12 and 13" in dup["message"]
    assert cls["22446"].title == "Инженер"
    assert at(rep, "empty_title") == [16]
    assert at(rep, "code_format", severity="error") == [17, 18, 19]
    assert at(rep, "code_format", severity="warning") == [14, 15]   # spaces; JSON number
    assert cls["18559"].attrs["kch"] == "9" and cls["19149"].title == "Токарь"
    assert "12345678" in flat(rep, kind="code_format", row=17)[0]["message"]


def test_portal_items_and_attributes(data_dir):
    cls = load(data_dir / "okpdtr/portal_defects.json").classification
    assert cls.counts_by_level() == {"title": 12}
    assert all(it.level == 1 and it.parent is None for it in cls)
    assert dict(cls["10003"].attrs) == {"kch": "5", "part": "worker"}
    assert dict(cls["22824"].attrs) == {"kch": "3", "part": "employee"}
    assert dict(cls["30018"].attrs) == {"kch": "3", "part": "non-standard"}
    assert cls.edition == ""                 # the list names no edition; fetchedAt is a download date
    (note,) = flat(load(data_dir / "okpdtr/portal_defects.json").report, kind="edition_unknown")
    assert "fetchedAt 2026-09-23 is when the portal list was downloaded" in note["message"]
    assert cls.source == "https://opendata.trudvsem.ru/json/profession.json"
    # homonymous titles are legitimate: no problem names them
    assert cls["19614"].title == cls["39623"].title == "Шихтовщик"


def test_non_standard_ranges_one_summary_warning_and_an_info_per_row(data_dir):
    rep = load(data_dir / "okpdtr/portal_defects.json").report
    summary = flat(rep, kind="non_standard_range", severity="warning")
    assert len(summary) == 1 and summary[0]["row"] is None
    assert summary[0]["message"].startswith("3 loaded entries (2 in 3xxxx, 1 in 4xxxx)")
    assert "30018 «Автоклавщик»" in summary[0]["message"]
    assert at(rep, "non_standard_range", severity="info") == [2, 4, 21]


def test_count_field_is_checked(data_dir):
    res = load(data_dir / "okpdtr/portal_count_mismatch.json")
    err = flat(res.report, kind="count_mismatch")
    assert len(err) == 1 and err[0]["severity"] == "error" and err[0]["value"] == "3"
    assert "holds 2 entries" in err[0]["message"]
    assert res.report.rows_loaded == 2


def test_repeated_key_in_an_entry_rejects_the_row(data_dir):
    res = load(data_dir / "okpdtr/portal_repeated_key.json")
    assert (res.report.rows_read, res.report.rows_loaded, res.report.rows_rejected) == (2, 1, 1)
    err = flat(res.report, kind="code_format")[0]
    assert err["row"] == 2 and "repeats the key(s) 'code'" in err["message"]


def test_json_without_professions_list_is_refused(data_dir):
    with pytest.raises(LoadError, match="no 'professions' list") as exc:
        load(data_dir / "okpdtr/portal_no_list.json", "okpdtr:portal-json")
    assert exc.value.report.errors[0].kind == "header"


def test_portal_row_order_does_not_change_the_result(data_dir, tmp_path):
    src = json.loads((data_dir / "okpdtr/portal_defects.json").read_text(encoding="utf-8"))
    # duplicates keep the first row they meet, so shuffle only the unique entries
    unique = src["professions"][:10] + src["professions"][13:]
    random.Random(7).shuffle(unique)
    a_src = dict(src, professions=sorted(unique, key=json.dumps), count=len(unique))
    b_src = dict(src, professions=unique, count=len(unique))
    (tmp_path / "a.json").write_text(json.dumps(a_src, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(b_src, ensure_ascii=False), encoding="utf-8")
    a, b = load(tmp_path / "a.json"), load(tmp_path / "b.json")
    assert snapshot(a.classification) == snapshot(b.classification)
    assert a.report.kinds() == b.report.kinds()


# -- table layout: fixtures ------------------------------------------------------------------
def test_cp1251_table_with_numbering_row(data_dir):
    path = data_dir / "okpdtr/table_cp1251.csv"
    assert detect(path) == "okpdtr:table"
    res = load(path)
    rep, cls = res.report, res.classification
    assert rep.encoding == "cp1251"
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (14, 10, 4)   # numbering row skipped
    assert rep.kinds("error") == {"code_format": 1, "duplicate_code": 1, "empty_title": 1}
    # a wrong or malformed КЧ: the row is kept with the computed КЧ and a warning
    assert at(rep, "control_number", severity="warning") == [5, 6, 16]
    assert "rule gives 1" in flat(rep, kind="control_number", row=5)[0]["message"]
    assert flat(rep, kind="control_number", row=5)[0]["column"] == "КЧ"
    assert cls["20041"].attrs["kch"] == "1" and cls["20041"].attrs["kch_given"] == "4"
    assert "'12' is not one digit" in flat(rep, kind="control_number", row=16)[0]["message"]
    assert "КЧ computed = 7" in flat(rep, kind="control_number", row=6)[0]["message"]
    assert cls["20040"].attrs["kch"] == "7"
    assert at(rep, "duplicate_code") == [8] and at(rep, "exact_duplicate") == [9]
    assert at(rep, "code_format", severity="warning") == [10, 12]   # spaces; ОКЗ «21А»
    assert at(rep, "code_format", severity="error") == [13]
    assert at(rep, "empty_title") == [14]
    assert at(rep, "non_standard_range", severity="info") == [11]
    assert dict(cls["22824"].attrs) == {"kch": "3", "part": "employee", "category": "2",
                                        "okz93": "2132"}
    assert cls["19149"].attrs["okz93"] == "21А"    # a bad reference is kept as found, with a warning
    assert "okz" not in cls["22824"].attrs          # the column is OKZ-93, never OKZ-2014


def test_comma_utf8_table_with_alias_headers(data_dir):
    path = data_dir / "okpdtr/table_aliases_utf8.csv"
    assert detect(path) == "okpdtr:table"
    res = load(path)
    rep, cls = res.report, res.classification
    assert rep.encoding == "utf-8" and rep.ok
    assert (rep.rows_read, rep.rows_loaded) == (3, 3)
    assert dict(cls["10003"].attrs) == {"kch": "5", "part": "worker", "etks": "1", "grades": "2-4"}
    assert cls["22824"].attrs["okz93"] == "2132"
    unread = flat(rep, kind="header", severity="info")
    assert [p["value"] for p in unread] == ["Примечание"]


def test_table_in_one_column_is_refused(data_dir):
    with pytest.raises(LoadError, match="wrong delimiter") as exc:
        load(data_dir / "okpdtr/table_one_column.csv", "okpdtr:table")
    assert exc.value.report.errors[0].kind == "delimiter"
    assert exc.value.report.rows_loaded == 0


def test_table_without_kch_column_is_refused(data_dir):
    path = data_dir / "okpdtr/table_missing_kch.csv"
    assert detect(path) == "okpdtr:table"
    with pytest.raises(LoadError, match="missing column") as exc:
        load(path)
    err = exc.value.report.errors
    assert [e.kind for e in err] == ["header"] and "«КЧ»" in err[0].message


def test_xlsx_numbers_from_excel(data_dir):
    path = data_dir / "okpdtr/table_numeric.xlsx"
    assert detect(path) == "okpdtr:table"
    res = load(path)
    rep, cls = res.report, res.classification
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (4, 3, 1)
    assert cls["10003"].attrs["kch"] == "5"                  # КЧ read as 5.0
    assert cls["22824"].attrs == {"kch": "3", "part": "employee", "okz93": "2132"}   # code 22824.0
    assert cls["19149"].attrs["etks"] == "2"
    bad = flat(rep, kind="excel_damaged_code")
    assert len(bad) == 1 and bad[0]["row"] == 4 and bad[0]["sheet"] == "ОКПДТР"
    assert bad[0]["severity"] == "error"


def test_xlsx_header_over_merged_cells(data_dir):
    path = data_dir / "okpdtr/table_merged_header.xlsx"
    assert detect(path) == "okpdtr:table"
    res = load(path)
    rep, cls = res.report, res.classification
    assert rep.errors == []
    assert (rep.rows_read, rep.rows_loaded) == (3, 3)   # title, 2 header rows, numbering skipped
    assert dict(cls["22824"].attrs) == {"kch": "3", "part": "employee", "okz93": "2132",
                                        "category": "2"}
    assert cls["11442"].title == "Водитель автомобиля"
    assert len(flat(rep, kind="merged_cell")) == 5
    ignored = flat(rep, kind="ignored_sheet")
    assert len(ignored) == 1 and ignored[0]["sheet"] == "Примечания"
    assert not flat(rep, kind="header", severity="info")   # «Дополнительные сведения» is a group heading


# -- bundled excerpts --------------------------------------------------------------------------
def test_rosstat_layout_excerpt():
    path = RAW / "okpdtr_rosstat_layout_excerpt.csv"
    assert detect(path) == "okpdtr:table"
    res = load(path)
    rep, cls = res.report, res.classification
    assert rep.encoding == "cp1251" and rep.errors == [] and not rep.warnings
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (40, 40, 0)
    parts = [it.attrs["part"] for it in cls]
    assert parts.count("worker") == 23 and parts.count("employee") == 17
    # only «Инженер-программист» carries the values PROVENANCE §7 documents; the rest are empty
    assert [it.code for it in cls if len(it.attrs) > 2] == ["22824"]


def test_portal_excerpt():
    path = RAW / "trudvsem_profession_list_excerpt.json"
    assert detect(path) == "okpdtr:portal-json"
    res = load(path)
    rep = res.report
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (16, 16, 0)
    assert rep.errors == []
    # 201336 keeps the portal's broken CSV quote escaping (PROVENANCE §8a)
    assert rep.kinds("warning") == {"control_number": 1, "non_standard_range": 1, "quoting": 1}
    assert at(rep, "control_number") == [10]             # 21687 without КЧ
    assert len(flat(rep, kind="whitespace")) == 3


# -- the full reference list -----------------------------------------------------------------
FAILING = """200414 106456 107478 109670 109965 103200 201084 202464 202498 202526 113182 208384 121519
126848 134603 124845 140216 141855 145105 146544 242480 449004 249321 249336 249355 249361 152657 254578
171460 122349 172822 174794 180806 183703 264177 264310 189151 181829 103078 393595""".split()


TWINS = {"109965": "109966", "202526": "202525", "113182": "113181", "124845": "124843",
         "134603": "134605", "242480": "242486"}


@pytest.fixture(scope="module")
def portal():
    from conftest import reference_file
    path = reference_file(PORTAL)
    return path, load(path)


def test_reference_portal_counts(portal):
    path, res = portal
    rep, cls = res.report, res.classification
    assert detect(path) == "okpdtr:portal-json"
    # issue 13 §5: the 34 professions whose portal КЧ fails are kept (their codes are valid);
    # 6 repeats of a code held by another row with the right КЧ and the merged entry are not
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (8037, 8030, 7)
    assert cls.counts_by_level() == {"title": 8030}
    assert cls["10307"].title == "Упрочнитель деталей" and cls["12151"].title == "Заквасчик"
    parts = [it.attrs["part"] for it in cls]
    assert (parts.count("worker"), parts.count("employee"), parts.count("non-standard")) == (
        5088, 2413, 529)
    assert rep.kinds("error") == {"control_number": 2, "merged_entry": 1}
    assert not flat(rep, kind="count_mismatch")
    strict = load(path, strict=True).report                 # --strict: the old rule
    assert (strict.rows_read, strict.rows_loaded, strict.rows_rejected) == (8037, 7996, 41)


def test_reference_portal_control_numbers(portal):
    rep = portal[1].report
    reported = [p for p in flat(rep, kind="control_number") if p["value"] != "21687"]
    assert sorted(p["value"] for p in reported) == sorted(FAILING)      # every failing КЧ is reported
    named = {p["value"]: p["message"] for p in reported if "with the correct КЧ" in p["message"]}
    assert {v: m.split("holds ")[1][:6] for v, m in named.items()} == TWINS
    # twins under another title are a real conflict (errors); the same title twice is a repeat
    assert sorted(p["value"] for p in reported if p["severity"] == "error") == ["109965", "124845"]
    kept = [p for p in reported if "loaded as" in p["message"]]
    assert len(kept) == 34 and all(p["severity"] == "warning" for p in kept)
    five = [p for p in flat(rep, kind="control_number") if p["value"] == "21687"]
    assert [(p["row"], p["severity"]) for p in five] == [(1611, "warning")]
    assert portal[1].classification["21687"].attrs["kch"] == "1"
    merged = flat(rep, kind="merged_entry")
    assert [(p["row"], p["value"]) for p in merged] == [(920, "1141087")]


def test_reference_portal_ranges_and_titles(portal):
    rep, cls = portal[1].report, portal[1].classification
    summary = flat(rep, kind="non_standard_range", severity="warning")
    assert len(summary) == 1 and summary[0]["value"] == "529"
    assert "(344 in 3xxxx, 185 in 4xxxx)" in summary[0]["message"]
    assert len(flat(rep, kind="non_standard_range", severity="info")) == 529
    # PROVENANCE §8a: 16 «- » line-wrap hyphens, 5 missing spaces after a comma, 1 trailing space
    assert len(flat(rep, kind="whitespace")) == 22
    assert not flat(rep, kind="mixed_script")   # Roman numerals in «Специалист I категории» are fine
    assert not flat(rep, kind="invisible_char") and not flat(rep, kind="split_word")
    # homonyms are legitimate: «Шихтовщик» keeps all its codes
    assert sum(it.title == "Шихтовщик" for it in cls) == 7
    assert cls["22824"].title == "Инженер-программист"


def test_strict_rejects_rows_whose_control_number_fails(data_dir):
    path = data_dir / "okpdtr/portal_defects.json"
    rep = load(path, strict=True).report
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (21, 11, 10)
    assert at(rep, "control_number", severity="error") == [3, 9]
    assert "--strict" in flat(rep, kind="control_number", row=3)[0]["message"]
    table = load(data_dir / "okpdtr/table_cp1251.csv", strict=True).report
    assert at(table, "control_number", severity="error") == [5, 16]
