"""ISIC Rev.4 structure in the UNSD text layout."""
from pathlib import Path

from conftest import flat

from crosswalk.loaders import detect, load
from crosswalk.loaders.sections import section_of

RAW = Path(__file__).parent.parent / "raw_classifiers" / "isic4"


def snapshot(cls):
    return [(it.code, it.title, it.level, it.parent, it.notes, dict(it.attrs)) for it in cls]


def test_structure(data_dir):
    path = data_dir / "isic4/structure.txt"
    assert detect(path) == "isic4:un-csv"
    res = load(path)
    rep, cls = res.report, res.classification
    assert rep.scheme == "isic4" and rep.encoding == "utf-8" and rep.problems == []
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (9, 9, 0)
    assert cls.counts_by_level() == {"section": 2, "division": 2, "group": 2, "class": 3}
    assert cls["0111"].parent == "011" and cls["011"].parent == "01" and cls["01"].parent == "A"
    assert cls["6201"].title == "Computer programming activities"


def test_shuffled_rows_give_an_identical_classification(data_dir):
    a = load(data_dir / "isic4/structure.txt").classification
    res = load(data_dir / "isic4/shuffled.txt")
    assert snapshot(a) == snapshot(res.classification)
    # the shuffled order puts division 62 after section A: reported, not followed
    order = flat(res.report, kind="section_order")
    assert len(order) == 1 and "62 (row 9) follows section A, standard J" in order[0]["message"]


def test_bad_rows(data_dir):
    res = load(data_dir / "isic4/bad_rows.txt")
    rep, cls = res.report, res.classification
    kinds = sorted((p["row"], p["kind"], p["severity"]) for p in rep.flatten())
    assert kinds == [(5, "missing_parent", "error"), (6, "non_standard_range", "error"),
                     (7, "empty_title", "error"), (8, "code_format", "error"),
                     (9, "exact_duplicate", "warning"), (10, "duplicate_code", "error")]
    orphan = flat(rep, kind="missing_parent")[0]
    assert "'0112' would fit under 011" in orphan["message"]     # a lost leading zero
    assert flat(rep, kind="code_format")[0]["column"] == "Code"
    assert cls["011"].title == "Growing of non-perennial crops"   # the first row is kept
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (9, 3, 6)
    assert cls.codes == ["A", "01", "011"]


def test_excerpt():
    path = RAW / "ISIC_Rev_4_english_structure-excerpt.txt"
    assert detect(path) == "isic4:un-csv"
    res = load(path)
    assert res.report.problems == [] and len(res.classification) == 32
    assert "0111" in res.classification and "8522" in res.classification


def test_reference(ref):
    path = ref("isic4/ISIC_Rev_4_english_structure.txt")
    assert detect(path) == "isic4:un-csv"
    res = load(path)
    rep, cls = res.report, res.classification
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (766, 766, 0)
    assert cls.counts_by_level() == {"section": 21, "division": 88, "group": 238, "class": 419}
    assert rep.encoding == "utf-8" and rep.problems == []
    assert cls["6201"].title == "Computer programming activities"
    assert cls["0111"].title == "Growing of cereals (except rice), leguminous crops and oil seeds"
    assert cls["0111"].parent == "011" and "U" in cls
    assert all(cls[it.code].parent == section_of(it.code) for it in cls.by_level("division"))
