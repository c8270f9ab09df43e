"""Regressions found in review: encodings, empty inputs, build configuration."""
import json
from pathlib import Path

import pytest

from crosswalk import Classification, CrosswalkError, Item, load
from crosswalk.build import build
from crosswalk.errors import Report
from crosswalk.io.encoding import decode
from crosswalk.match import match
from crosswalk.settings import BuildConfig

RAW = Path(__file__).parent.parent / "raw_classifiers"
OKVED_ROWS = '"A";" ";"СЕЛЬСКОЕ ХОЗЯЙСТВО"\n"A";"01";"Растениеводство и животноводство"\n'


# -- a UTF-8 byte-order mark in front of cp1251 bytes -----------------------------------
def test_bom_before_cp1251_is_dropped_not_decoded_as_text():
    r = Report(file="x.csv")
    text = decode(b"\xef\xbb\xbf" + "Код;Наименование".encode("cp1251"), r)
    assert text == "Код;Наименование"           # not «п»їКод…»
    assert r.encoding == "cp1251"
    (p,) = r.of_kind("encoding")
    assert p.severity == "warning" and "byte-order mark" in p.message
    assert "at byte 3" in p.message             # offsets count from the file's first byte


def test_bom_cp1251_file_is_detected_and_loads_every_row(tmp_path):
    f = tmp_path / "okved.csv"
    f.write_bytes(b"\xef\xbb\xbf" + OKVED_ROWS.encode("cp1251"))
    res = load(f)                                # sniffed: the BOM no longer hides the layout
    assert res.report.scheme == "okved2"
    assert res.report.rows_loaded == 2 and res.report.ok
    assert res.classification.codes == ["A", "01"]


# -- empty classifications ---------------------------------------------------------------
def _cls(scheme, items):
    return Classification(scheme, items)


def test_match_against_an_empty_classification_is_a_clear_error():
    okved = _cls("okved2", [Item("A", "Сельское хозяйство", 1), Item("01", "Растениеводство", 2, "A")])
    empty = _cls("nace2", [])
    with pytest.raises(CrosswalkError, match="target .*holds no items"):
        match(okved, empty)
    with pytest.raises(CrosswalkError, match="source .*holds no items"):
        match(_cls("okved2", []), _cls("nace2", [Item("A", "AGRICULTURE", 1)]))


def test_match_of_sections_only_does_not_crash():
    src = _cls("okved2", [Item("A", "Сельское хозяйство", 1), Item("C", "Обрабатывающие производства", 1)])
    tgt = _cls("nace2", [Item("A", "AGRICULTURE", 1), Item("01", "Crop", 2, "A")])
    cset = match(src, tgt)
    assert [(c.source, c.target) for c in cset.candidates if c.rank == 1] == [("A", "A")]


# -- build configuration -------------------------------------------------------------------
@pytest.mark.parametrize("text, msg", [
    ("[1, 2]", "JSON object of settings, not a list"),
    ('{"files": "a.csv"}', "'files' must be a list"),
    ('{"files": [], "review_top": 0}', "'review_top' must be a positive"),
    ('{"files": [], "auto_accept": 2}', "'auto_accept' must be a number in"),
    ('{"files": [], "routes": [["okved2", "nace3"]]}', "unknown scheme 'nace3'"),
    ('{"files": [], "pairs": ["okved2"]}', "'pairs' must be a list of objects"),
    ('{"files": [], "pairs": [{"source": "okved2", "target": "nace2", "limit": 0}]}', "limit"),
])
def test_bad_configuration_is_refused_with_a_clear_error(tmp_path, text, msg):
    path = tmp_path / "build.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CrosswalkError, match=msg):
        BuildConfig.load(path)


def test_configuration_not_utf8_is_a_clear_error(tmp_path):
    path = tmp_path / "build.json"
    path.write_bytes('{"files": ["файл.csv"]}'.encode("cp1251"))
    with pytest.raises(CrosswalkError, match="not UTF-8"):
        BuildConfig.load(path)


def test_config_saved_in_another_folder_still_names_the_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "okved.csv").write_bytes(OKVED_ROWS.encode("cp1251"))
    (tmp_path / "conf").mkdir()
    cfg = BuildConfig.discover("data")                     # names relative to the working folder
    saved = cfg.save("conf/build.json")
    assert json.loads(saved.read_text("utf-8"))["files"] == ["../data/okved.csv"]
    back = BuildConfig.load(saved)
    assert [Path(f).resolve() for f in back.files] == [(tmp_path / "data" / "okved.csv").resolve()]


def test_config_save_into_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CrosswalkError, match="does not exist"):
        BuildConfig(files=[]).save(tmp_path / "nope" / "build.json")
    assert not list(tmp_path.iterdir())


def test_build_json_in_the_output_folder_reruns_the_build(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "okved.csv").write_bytes(OKVED_ROWS.encode("cp1251"))
    first = build(BuildConfig.discover("data", output="out", embeddings=False))
    again = BuildConfig.load(first.output / "build.json")
    assert [Path(f).resolve() for f in again.files] == [(tmp_path / "data" / "okved.csv").resolve()]


def test_build_with_nothing_loadable_fails_and_empty_files_are_skipped(tmp_path):
    (tmp_path / "nace.csv").write_text("code,title,level\n", encoding="utf-8")   # header only
    with pytest.raises(CrosswalkError, match="nothing to build.*nace.csv: nothing loaded"):
        build(BuildConfig(files=[str(tmp_path / "nace.csv")], output=str(tmp_path / "out"),
                          embeddings=False))


def test_build_summary_counts_rejected_rows(tmp_path):
    f = tmp_path / "okved.csv"
    f.write_bytes((OKVED_ROWS + '"A";"1.1";"Выращивание"\n').encode("cp1251"))
    res = build(BuildConfig(files=[str(f)], output=str(tmp_path / "out"), embeddings=False))
    assert res.summary["rejected_rows"] == {str(f): 1}


@pytest.mark.parametrize("name, body, scheme", [
    ("nace.csv", "code,title,level\n", None),
    ("okz.json", "{}", "okz2014:labels-json"),
    ("okved.json", "{}", "okved2:notes-json"),
])
def test_a_file_without_data_rows_is_an_error(tmp_path, name, body, scheme):
    from crosswalk.api import validate
    f = tmp_path / name
    f.write_text(body, encoding="utf-8")
    out = validate([f], scheme)
    assert not out["ok"]
    assert [p["kind"] for p in out["files"][0]["problems"]] == ["empty"]


def test_an_oversized_cell_names_the_row_not_its_text(tmp_path):
    from crosswalk.errors import LoadError
    from crosswalk.io import read_csv
    f = tmp_path / "x.csv"
    f.write_text('code,title,level\nA,AGRI,section\n01,"' + "x" * 200_000 + '",division\n', encoding="utf-8")
    r = Report(file=str(f))
    with pytest.raises(LoadError, match="200,000 characters"):
        read_csv(f, r)
    (p,) = r.errors
    assert p.kind == "limit" and p.row == 3 and "cell_chars" in p.message and "xxx" not in str(p)


def test_a_parent_cycle_is_refused_not_silently_dropped():
    with pytest.raises(CrosswalkError, match="parent cycle"):
        Classification("okz2014", [Item("1", "A", 1), Item("11", "B", 2, "12"), Item("12", "C", 2, "11")])
