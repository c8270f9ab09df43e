"""NACE Rev.2 structure and the NACE Rev.2 → ISIC Rev.4 correspondence."""
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import flat

from crosswalk.codes import code_level
from crosswalk.errors import LoadError
from crosswalk.loaders import detect, load
from crosswalk.loaders.sections import RANGES, section_of

RAW = Path(__file__).parent.parent / "raw_classifiers" / "nace2"


def snapshot(cls):
    return [(it.code, it.title, it.level, it.parent, it.notes, dict(it.attrs)) for it in cls]


def test_section_ranges_cover_the_88_divisions_once():
    divisions = [d for s, (a, b) in RANGES.items() for d in range(a, b + 1)]
    assert len(divisions) == len(set(divisions)) == 88
    assert list(RANGES) == list("ABCDEFGHIJKLMNOPQRSTU")
    assert section_of("62.01") == "J" and section_of("04") is None and section_of("99") == "U"


def test_structure(data_dir):
    path = data_dir / "nace2/structure.csv"
    assert detect(path) == "nace2:csv"
    res = load(path)
    rep, cls = res.report, res.classification
    assert rep.scheme == "nace2" and rep.errors == []
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (13, 13, 0)
    assert cls.counts_by_level() == {"section": 3, "division": 3, "group": 3, "class": 4}
    assert cls["05"].parent == "B" and cls["62.01"].parent == "62.0" and cls["01.1"].parent == "01"
    ws = flat(rep, kind="whitespace")
    assert [(p["row"], p["severity"]) for p in ws] == [(14, "info")]
    assert cls["62.02"].title == "Computer consultancy activities "       # stored unchanged
    case = flat(rep, kind="title_case")
    assert len(case) == 1 and case[0]["severity"] == "info" and "(A, B, J)" in case[0]["message"]


def test_shuffled_rows_give_an_identical_classification(data_dir):
    a = load(data_dir / "nace2/structure.csv").classification
    b = load(data_dir / "nace2/shuffled.csv").classification
    assert snapshot(a) == snapshot(b)


def test_row_order_is_checked_against_the_standard_ranges(data_dir):
    res = load(data_dir / "nace2/wrong_order.csv")
    rep, cls = res.report, res.classification
    assert cls["05"].parent == "B"                  # from the standard, not from row order
    order = flat(rep, kind="section_order")
    assert len(order) == 1 and order[0]["severity"] == "warning" and order[0]["row"] == 4
    assert "05 (row 4) follows section A, standard B" in order[0]["message"]


def test_bad_rows(data_dir):
    res = load(data_dir / "nace2/bad_rows.csv")
    rep = res.report
    by_row = {p["row"]: p for p in flat(rep, severity="error")}
    assert by_row[4]["kind"] == "level_mismatch" and "code format says group" in by_row[4]["message"]
    assert by_row[5]["kind"] == "level_mismatch" and "'grup' is not a level name" in by_row[5]["message"]
    assert by_row[6]["kind"] == "non_standard_range" and "04" in by_row[6]["message"]
    assert by_row[7]["kind"] == "excel_damaged_code" and "01.11" in by_row[7]["message"]
    assert by_row[8]["kind"] == "empty_title"
    assert by_row[9]["kind"] == "code_format" and by_row[9]["value"] == "A1"
    assert len(rep.errors) == 6
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (8, 2, 6)


def test_missing_column_makes_the_file_unusable(data_dir):
    with pytest.raises(LoadError) as exc:
        load(data_dir / "nace2/no_level.csv", "nace2:csv")
    err = exc.value.report.errors[0]
    assert err.kind == "header" and "level" in err.message


def test_pairs(data_dir):
    path = data_dir / "nace2/pairs.csv"
    assert detect(path) == "nace2-isic4:csv"
    res = load(path)
    rep, cor = res.report, res.correspondence
    assert res.kind == "correspondence" and rep.scheme == "nace2-isic4" and rep.errors == []
    assert (cor.source_scheme.id, cor.target_scheme.id) == ("nace2", "isic4")
    assert len(cor) == 8 and not any(p.partial for p in cor)
    assert [p.target for p in cor.targets_of("85.20")] == ["8510"]
    assert flat(rep, kind="header")[0]["severity"] == "info"       # no partial column


def test_bad_pairs(data_dir):
    rep = load(data_dir / "nace2/pairs_bad.csv").report
    kinds = [(p["row"], p["kind"], p["severity"]) for p in rep.flatten() if p["kind"] != "header"]
    assert kinds == [(3, "exact_duplicate", "warning"), (4, "excel_damaged_code", "error"),
                     (5, "code_format", "error"), (6, "level_mismatch", "warning")]
    assert flat(rep, kind="code_format")[0]["column"] == "isic4_code"
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (6, 3, 3)


def test_excerpts():
    path = RAW / "nace2_structure_en-excerpt.csv"
    assert detect(path) == "nace2:csv"
    res = load(path)
    assert res.report.errors == [] and len(res.classification) == 34
    assert {"85.10", "85.31"} <= set(res.classification.codes)
    path = RAW / "nace2_isic4_concordance-excerpt.csv"
    assert detect(path) == "nace2-isic4:csv"
    res = load(path)
    assert res.report.errors == [] and len(res.correspondence) == 34


def test_reference_structure(ref):
    path = ref("nace2/nace2_structure_en.csv")
    assert detect(path) == "nace2:csv"
    res = load(path)
    rep, cls = res.report, res.classification
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (996, 996, 0)
    assert cls.counts_by_level() == {"section": 21, "division": 88, "group": 272, "class": 615}
    assert rep.errors == []
    # PROVENANCE names 5 trailing-space titles; the file has 13 (17.2 … 85.32)
    assert rep.kinds() == {"title_case": 1, "whitespace": 13}
    assert {"17.2", "24.10", "24.46", "25.92", "32.99"} <= {
        p["message"].split()[2].rstrip(":") for p in flat(rep, kind="whitespace")}
    assert cls["62.01"].title == "Computer programming activities"
    assert not flat(rep, kind="section_order")
    assert all(cls[d].parent == section_of(d) for d in (it.code for it in cls.by_level(2)))


def test_reference_concordance(ref):
    path = ref("nace2/nace2_isic4_concordance.csv")
    assert detect(path) == "nace2-isic4:csv"
    res = load(path)
    rep, cor = res.report, res.correspondence
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (996, 996, 0)
    assert rep.errors == [] and rep.kinds() == {"header": 1}
    assert len(cor) == 996
    classes = defaultdict(set)
    for p in cor:
        if code_level("nace2", p.source) == 4:
            classes[p.source].add(p.target)
    assert len(classes) == 615
    assert all(len(t) == 1 for t in classes.values())          # each class maps to one ISIC class
    assert all(code_level("isic4", next(iter(t))) == 4 for t in classes.values())
    assert len({next(iter(t)) for t in classes.values()}) == 419
    # every code exists in its own structure
    nace = load(ref("nace2/nace2_structure_en.csv")).classification
    isic = load(ref("isic4/ISIC_Rev_4_english_structure.txt")).classification
    assert all(p.source in nace and p.target in isic for p in cor)
