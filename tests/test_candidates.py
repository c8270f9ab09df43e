"""Candidate files: exact layout, round trips, spreadsheet safety, atomic writes and
problems reported with file, row, column, value and rule."""
import json
import os
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crosswalk.candidates import (CSV_COLUMNS, CandidateSet, read_candidates, sheet_safe, sheet_unsafe,
                                  write_candidates)
from crosswalk.errors import CrosswalkError, LoadError
from crosswalk.model import Candidate

HERE = Path(__file__).parent / "data" / "evaluate"
FIXTURE = HERE / "candidates.csv"

# codes of each scheme, leading zeros included
CODES = {
    "isco08": st.from_regex(r"0[0-9]{0,3}|[0-9]{1,4}", fullmatch=True),
    "okz2014": st.from_regex(r"0?[0-9]{3}", fullmatch=True),
    "okved2": st.from_regex(r"[A-U]|0[0-9](\.[0-9]([0-9](\.[0-9]{1,2})?)?)?", fullmatch=True),
    "isic4": st.from_regex(r"[A-U]|0[0-9]{1,3}", fullmatch=True),
    "okpdtr": st.from_regex(r"[1-4][0-9]{4}", fullmatch=True),
}
TITLES = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20),
    st.sampled_from(["=cmd|' /C calc'!A0", "'=already quoted", "''+two", "'plain quote", "+7 495", "-минус",
                     "@SUM(A1)", "\tтаб", "\r\nперевод", 'Слесарь "ремонтник", 5 разряд', "строка\nдве",
                     "Оператор ЭВМ; ПК", "  spaces  "]))
UNIT = st.integers(0, 10_000).map(lambda i: i / 10_000)   # scores as written: 4 decimals


@st.composite
def candidate_sets(draw, editions: bool):
    ss, ts = draw(st.sampled_from(sorted(CODES))), draw(st.sampled_from(sorted(CODES)))
    pairs = draw(st.lists(st.tuples(CODES[ss], CODES[ts]), min_size=1, max_size=25,
                          unique=True))
    seen: dict[str, int] = {}
    cands = []
    for s, t in pairs:
        seen[s] = seen.get(s, 0) + draw(st.integers(1, 3))   # ranks need not be contiguous
        cands.append(Candidate(s, t, draw(UNIT), seen[s],
                               draw(st.dictionaries(st.text(min_size=1, max_size=8), UNIT, max_size=3))))

    def titles(codes):
        return {c: draw(TITLES) for c in sorted(codes) if draw(st.booleans())}

    ed = st.text(max_size=10) if editions else st.just("")
    return CandidateSet(ss, ts, cands, titles({s for s, _ in pairs}), titles({t for _, t in pairs}),
                        draw(ed), draw(ed))


def test_fixture_reads_with_codes_as_text_and_writes_back_byte_for_byte(tmp_path):
    cset = read_candidates(FIXTURE)
    assert (cset.source_scheme, cset.target_scheme) == ("okpdtr", "okz2014")
    assert len(cset) == 12 and len(cset.by_source()) == 5
    assert [c.target for c in cset.by_source()["12222"]] == ["8160", "8131", "8189"]
    assert cset.candidates[6] == Candidate("21111", "2412", 0.95, 1, {"structure": 1.0, "title": 0.9})
    assert cset.target_titles["2654"] == "Режиссеры кино, театра"
    out = write_candidates(tmp_path / "again.csv", cset)
    assert out.read_bytes() == FIXTURE.read_bytes()


def test_csv_layout_matches_the_spec(tmp_path):
    cset = CandidateSet("isco08", "isco88", [Candidate("0110", "0110", 0.81234, 1, {"title": 0.812345, "a": 1})],
                        {"0110": "Commissioned armed forces officers"}, {"0110": "Armed forces"})
    text = write_candidates(tmp_path / "c.csv", cset).read_bytes().decode("utf-8")
    assert text == (",".join(CSV_COLUMNS) + "\r\n"
                    'isco08,0110,Commissioned armed forces officers,isco88,0110,Armed forces,1,0.8123,'
                    '"{""a"":1.0,""title"":0.8123}"\r\n')


@settings(max_examples=60, deadline=None)
@given(cset=candidate_sets(editions=False))
def test_csv_round_trip(tmp_path_factory, cset):
    path = tmp_path_factory.mktemp("rt") / "c.csv"
    assert read_candidates(write_candidates(path, cset)) == cset


@settings(max_examples=60, deadline=None)
@given(cset=candidate_sets(editions=True))
def test_json_round_trip(tmp_path_factory, cset):
    path = tmp_path_factory.mktemp("rt") / "c.json"
    assert read_candidates(write_candidates(path, cset)) == cset


@settings(max_examples=30, deadline=None)
@given(cset=candidate_sets(editions=True), seed=st.integers(0, 2**32))
def test_output_does_not_depend_on_input_order(tmp_path_factory, cset, seed):
    shuffled = list(cset.candidates)
    random.Random(seed).shuffle(shuffled)
    other = CandidateSet(cset.source_scheme, cset.target_scheme, shuffled,
                         dict(reversed(cset.source_titles.items())), dict(reversed(cset.target_titles.items())),
                         cset.source_edition, cset.target_edition)
    d = tmp_path_factory.mktemp("order")
    for fmt in ("csv", "json"):
        a = write_candidates(d / f"a.{fmt}", cset).read_bytes()
        assert write_candidates(d / f"b.{fmt}", other).read_bytes() == a


@pytest.mark.parametrize("title, written", [
    ("=cmd", "'=cmd"), ("+1", "'+1"), ("-x", "'-x"), ("@a", "'@a"), ("\tx", "'\tx"),
    ("'=x", "''=x"), ("'plain", "'plain"), ("plain", "plain"), ("a=b", "a=b")])
def test_spreadsheet_safety_is_reversible(title, written):
    assert sheet_safe(title) == written
    assert sheet_unsafe(written) == title


def test_formula_titles_are_quoted_in_csv_and_read_back(tmp_path):
    cset = CandidateSet("okpdtr", "okz2014", [Candidate("12345", "7212", 0.5, 1, {})],
                        {"12345": "=HYPERLINK(\"http://x\")"}, {"7212": "@SUM(A1)"})
    path = write_candidates(tmp_path / "c.csv", cset)
    assert "'=HYPERLINK" in path.read_text(encoding="utf-8") and ",'@SUM(A1)," in path.read_text(encoding="utf-8")
    assert read_candidates(path) == cset


def test_write_refuses_what_read_would_reject(tmp_path):
    ok = Candidate("12345", "7212", 0.5, 1, {})
    for bad in ([Candidate("=1234", "7212", 0.5, 1, {})], [Candidate("12345", "72.12", 0.5, 1, {})],
                [ok, Candidate("12345", "7212", 0.4, 2, {})], [ok, Candidate("12345", "7213", 0.4, 1, {})],
                [Candidate("12345", "7212", 0.5, 1, {"title": 1.5})]):
        with pytest.raises(CrosswalkError):
            write_candidates(tmp_path / "c.csv", CandidateSet("okpdtr", "okz2014", bad))
    with pytest.raises(CrosswalkError, match="suffix"):
        write_candidates(tmp_path / "c.txt", CandidateSet("okpdtr", "okz2014", [ok]))
    assert write_candidates(tmp_path / "c.txt", CandidateSet("okpdtr", "okz2014", [ok]), format="json").exists()
    assert not list(tmp_path.glob("c.csv*")) and not list(tmp_path.glob(".*"))


def test_a_crash_while_writing_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "c.csv"
    path.write_text("old contents", encoding="utf-8")
    cset = read_candidates(FIXTURE)

    def crash(fd):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        write_candidates(path, cset)
    assert path.read_text(encoding="utf-8") == "old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["c.csv"]


def _problems(path):
    with pytest.raises(LoadError) as info:
        read_candidates(path)
    return info.value, [(p.row, p.column, p.value, p.kind) for p in info.value.report.errors]


def test_missing_column_is_named():
    exc, problems = _problems(HERE / "bad_candidates.csv")
    assert problems == [(1, "evidence", None, "header")]
    assert "bad_candidates.csv" in str(exc) and "'evidence' is missing" in str(exc)


def test_every_bad_row_is_reported_with_row_column_value_and_rule():
    exc, problems = _problems(HERE / "bad_rows.csv")
    assert problems == [(3, "rank", "0", "rank"), (4, "score", "1.5000", "score"),
                        (5, "evidence", "{title:0.7}", "evidence"), (6, "target_code", "8.13", "code_format")]
    assert exc.report.rows_read == 5 and exc.report.rows_loaded == 1 and exc.report.rows_rejected == 4
    assert "row 3, column rank" in str(exc) and "bad_rows.csv" in str(exc)


def test_json_problems_name_the_entry_and_key(tmp_path):
    doc = {"source_scheme": "isco08", "target_scheme": "isco88", "candidates": [
        {"source_code": "0110", "target_code": "0110", "rank": 1, "score": 0.5},
        {"source_code": 110, "target_code": "0110", "rank": 1, "score": 0.5},
        {"source_code": "0210", "target_code": "0110", "score": 0.5},
        {"source_code": "0210", "target_code": "0110", "rank": True, "score": 0.5, "evidence": [1]},
        {"source_code": "0110", "target_code": "0110", "rank": 2, "score": 0.4},
        {"source_code": "0110", "source_title": "Officers", "target_code": "0120", "rank": 1, "score": 0.4}]}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    _, problems = _problems(path)
    assert problems == [(2, "source_code", "110", "code_type"), (3, "rank", None, "missing_key"),
                        (4, "rank", "True", "rank"), (4, "evidence", "[1]", "evidence"),
                        (5, "target_code", "0110", "duplicate_pair"), (6, "rank", "1", "duplicate_rank")]


def test_conflicting_titles_and_mixed_schemes_are_errors(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(",".join(CSV_COLUMNS) + "\r\n"
                    "isco08,0110,Officers,isco88,0110,A,1,0.5,{}\n"
                    "isco08,0110,Other title,isco88,0120,B,2,0.5,{}\n"
                    "isco88,0210,X,isco88,0130,C,1,0.5,\n", encoding="utf-8")
    _, problems = _problems(path)
    assert problems == [(3, "source_title", "Other title", "title_conflict"),
                        (4, "source_scheme", "isco88", "mixed_schemes")]


def test_empty_and_header_only_files_are_load_errors(tmp_path):
    for text in ("", ",".join(CSV_COLUMNS) + "\r\n"):
        (tmp_path / "c.csv").write_text(text, encoding="utf-8")
        _, problems = _problems(tmp_path / "c.csv")
        assert [p[3] for p in problems] == ["empty"]


def test_a_file_resaved_as_cp1251_with_bom_less_excel_is_still_read(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(FIXTURE.read_text(encoding="utf-8").encode("cp1251"))
    assert read_candidates(path) == read_candidates(FIXTURE)
    path.write_bytes(FIXTURE.read_text(encoding="utf-8").encode("utf-8-sig"))
    assert read_candidates(path) == read_candidates(FIXTURE)
