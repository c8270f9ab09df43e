"""Evaluation against gold: numbers computed by hand on a tiny fixture, the fast
counts checked against a slow recount, and the gold loaders on the real files."""
import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crosswalk.candidates import CandidateSet, read_candidates
from crosswalk.errors import CrosswalkError, LoadError
from crosswalk.evaluate import MISS_COLUMNS, Gold, evaluate, load_gold, normalise_code
from crosswalk.model import Candidate
from conftest import reference_file

HERE = Path(__file__).parent / "data" / "evaluate"

# The fixture, by hand (gold.csv: okpdtr → okz2014; candidates.csv ranks in brackets):
#   11111 worker   gold 7212          cands 7212(.90) 7213(.50)                 correct at 1
#   12222 worker   gold 8131          cands 8160(.80) 8131(.70) 8189(.30)       correct at 2
#   21111 employee gold 2411 + 2412   cands 2412(.95) 3313(.60)                 correct at 1
#   22222 employee gold 3521          cands 2654(.60) 2655(.50) 3435(.40) 3521  correct at 4
#   23333 employee gold 1349 (1439 also acceptable, not primary)  no candidates
#   14444 has candidates but is not in the gold: not judged.
# n = 5; top-1 = 2/5, top-3 = 3/5, top-5 = 4/5.
# Rank-1 pairs: 7212 ok, 8160 no, 2412 ok, 2654 no -> precision 2/4; primary pairs 1+1+2+1+1 = 6,
# found 7212 and 2412 -> recall 2/6.
# score >= 0.5: 7212 7213 | 8160 8131 | 2412 3313 | 2654 2655 -> 8 pairs, 3 correct (7212, 8131, 2412)
# -> precision 3/8; primary found 7212, 8131, 2412 -> recall 3/6.
# Workers: n 2, top-1 1/2, top-3 2/2. Employees: n 3, top-1 1/3, top-3 1/3, top-5 2/3.


@pytest.fixture
def fixture_eval():
    return read_candidates(HERE / "candidates.csv"), load_gold(HERE / "gold.csv")


def test_hand_computed_numbers(fixture_eval):
    cset, gold = fixture_eval
    e = evaluate(cset, gold)
    assert e.n == 5
    assert e.top_k == pytest.approx({1: 2 / 5, 3: 3 / 5, 5: 4 / 5})
    assert (e.precision, e.recall) == pytest.approx((2 / 4, 2 / 6))
    assert list(e.by_level) == ["title"] and e.by_level["title"]["top_k"] == e.top_k
    assert list(e.by_section) == ["employee", "worker"]
    assert e.by_section["worker"]["top_k"] == pytest.approx({1: 1 / 2, 3: 1.0, 5: 1.0})
    assert e.by_section["employee"]["top_k"] == pytest.approx({1: 1 / 3, 3: 1 / 3, 5: 2 / 3})
    e2 = evaluate(cset, gold, min_score=0.5)
    assert (e2.precision, e2.recall) == pytest.approx((3 / 8, 3 / 6))
    assert e2.top_k == e.top_k


def test_misses_rows(fixture_eval):
    cset, gold = fixture_eval
    misses = evaluate(cset, gold).misses
    assert [(m["source_code"], m["rank_of_first_correct"]) for m in misses] == [
        ("12222", 2), ("22222", 4), ("23333", None)]
    assert misses[0]["source_title"] == "Машинист насосных установок"
    assert misses[0]["gold_targets"] == "8131 Операторы установок по переработке химического сырья"
    assert misses[0]["predicted"] == ("8160 0.8000 Операторы машин по производству пищевой продукции"
                                      " | 8131 0.7000 Операторы установок по переработке химического сырья"
                                      " | 8189 0.3000 Операторы промышленных установок")
    assert misses[2]["gold_targets"] == "1349 | 1439" and misses[2]["predicted"] == ""


def test_write_misses_is_excel_friendly_and_spreadsheet_safe(fixture_eval, tmp_path):
    cset, gold = fixture_eval
    cset.source_titles["22222"] = "=cmd()"
    path = evaluate(cset, gold).write_misses(tmp_path / "misses.csv")
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == list(MISS_COLUMNS)
    assert rows[2][:2] == ["22222", "'=cmd()"] and rows[3][4] == "" and rows[1][4] == "2"
    assert [p.name for p in tmp_path.iterdir()] == ["misses.csv"]


def test_as_dict_is_json_ready_and_rounded(fixture_eval):
    d = evaluate(*fixture_eval).as_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["top_k"] == {"1": 0.4, "3": 0.6, "5": 0.8} and d["recall"] == 0.3333
    assert d["by_section"]["employee"]["top_k"]["1"] == 0.3333


def test_scheme_mismatch_says_to_reverse(fixture_eval):
    cset, _ = fixture_eval
    gold = Gold("okz2014", "okpdtr", {"7212": frozenset({"11111"})}, {"7212": frozenset({"11111"})}, "g")
    with pytest.raises(CrosswalkError, match="--reverse"):
        evaluate(cset, gold)


def test_sections_from_target_major_group_and_section_letter():
    isco = Gold("isco88", "isco08", {"1110": frozenset({"1111"}), "2111": frozenset({"2111", "3111"})},
                {"1110": frozenset({"1111"}), "2111": frozenset({"3111", "2111"})})
    pred = CandidateSet("isco88", "isco08", [Candidate("1110", "1111", 1.0, 1, {})])
    e = evaluate(pred, isco, ks=(1,))
    assert {k: v["n"] for k, v in e.by_section.items()} == {"1": 1, "2": 1}
    assert {k: v["top_k"][1] for k, v in e.by_section.items()} == {"1": 1.0, "2": 0.0}
    assert list(e.by_level) == ["unit"]
    nace = Gold("nace2", "isic4", *[{"A": frozenset({"A"}), "01.1": frozenset({"011"}),
                                     "62.01": frozenset({"6201"})}] * 2)
    e = evaluate(CandidateSet("nace2", "isic4", []), nace)
    assert {k: v["n"] for k, v in e.by_section.items()} == {"A": 2, "J": 1}
    assert list(e.by_level) == ["section", "group", "class"]
    assert e.top_k == {1: 0.0, 3: 0.0, 5: 0.0} and len(e.misses) == 3


def test_bad_ks_are_refused(fixture_eval):
    for ks in ((), (0, 1), (1.5,)):
        with pytest.raises(CrosswalkError, match="ks"):
            evaluate(*fixture_eval, ks=ks)


# -- fast counts against a slow recount -------------------------------------------
CODES = st.sampled_from(["0110", "1111", "1112", "2111", "2112", "3111", "9999"])


@st.composite
def gold_and_predictions(draw):
    sources = draw(st.lists(st.sampled_from([f"{i:04d}" for i in range(1, 30)]), min_size=1, max_size=12,
                            unique=True))
    acceptable, primary = {}, {}
    for s in sources:
        acc = draw(st.lists(CODES, min_size=1, max_size=3, unique=True))
        acceptable[s] = frozenset(acc)
        primary[s] = frozenset(acc[:draw(st.integers(1, len(acc)))])
    cands = []
    for s in draw(st.lists(st.sampled_from(sources + ["0500"]), unique=True)):
        targets = draw(st.lists(CODES, max_size=7, unique=True))
        ranks = sorted(draw(st.lists(st.integers(1, 20), min_size=len(targets), max_size=len(targets),
                                     unique=True)))
        cands += [Candidate(s, t, draw(st.integers(0, 100)) / 100, r, {}) for t, r in zip(targets, ranks)]
    return (Gold("isco88", "isco08", acceptable, primary, "h"), CandidateSet("isco88", "isco08", cands),
            draw(st.lists(st.integers(1, 8), min_size=1, max_size=4)),
            draw(st.none() | st.integers(0, 100).map(lambda i: i / 100)))


def slow_top_k(gold, cset, k):
    hits = 0
    for s, ok in gold.acceptable.items():
        mine = sorted((c for c in cset.candidates if c.source == s), key=lambda c: c.rank)
        hits += any(c.target in ok for c in mine[:k])
    return hits / len(gold.acceptable)


def slow_precision_recall(gold, cset, min_score):
    pairs = set()
    for s in gold.acceptable:
        mine = sorted((c for c in cset.candidates if c.source == s), key=lambda c: c.rank)
        chosen = mine[:1] if min_score is None else [c for c in mine if c.score >= min_score]
        pairs |= {(c.source, c.target) for c in chosen}
    correct = sum(1 for s, t in pairs if t in gold.acceptable[s])
    primary = {(s, t) for s, ts in gold.primary.items() for t in ts}
    return (correct / len(pairs) if pairs else 0.0), len(pairs & primary) / len(primary)


@settings(max_examples=150, deadline=None)
@given(gold_and_predictions())
def test_counts_match_a_slow_recount_and_top_k_is_monotone(case):
    gold, cset, ks, min_score = case
    e = evaluate(cset, gold, ks=ks, min_score=min_score)
    assert e.n == len(gold.acceptable)
    assert list(e.top_k) == sorted(set(ks))
    for k in e.top_k:
        assert e.top_k[k] == pytest.approx(slow_top_k(gold, cset, k))
    values = list(e.top_k.values())
    assert values == sorted(values)
    assert (e.precision, e.recall) == pytest.approx(slow_precision_recall(gold, cset, min_score))
    assert len(e.misses) == e.n - round(slow_top_k(gold, cset, 1) * e.n)
    assert sum(g["n"] for g in e.by_section.values()) == e.n == sum(g["n"] for g in e.by_level.values())


# -- gold loaders ------------------------------------------------------------------
def test_generic_gold_normalises_codes_and_reverses(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("source_code,target_code\n0111,01.11\n01.1,011\n01.11,0112\n", encoding="utf-8")
    gold = load_gold(path, source_scheme="nace2", target_scheme="isic4")
    assert gold.acceptable == {"01.1": frozenset({"011"}), "01.11": frozenset({"0111", "0112"})}
    back = load_gold(path, source_scheme="isic4", target_scheme="nace2", reverse=True)
    assert back.acceptable == {"011": frozenset({"01.1"}), "0111": frozenset({"01.11"}),
                               "0112": frozenset({"01.11"})}
    assert normalise_code("okved2", "011101") == "01.11.01" and normalise_code("isic4", "x") is None


def test_generic_gold_problems(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("source_code,target_code\n0111,01.11\n", encoding="utf-8")
    with pytest.raises(CrosswalkError, match="needs its schemes"):
        load_gold(path)
    path.write_text("source_code,target_code\n1111,1112\n12345,1\n99,abc\n", encoding="utf-8")
    with pytest.raises(LoadError) as info:
        load_gold(path, source_scheme="isco88", target_scheme="isco08")
    assert [(p.row, p.column, p.value) for p in info.value.report.errors] == [
        (3, "source_code", "12345"), (4, "target_code", "abc")]
    with pytest.raises(CrosswalkError, match="says okpdtr but isco08 was asked for"):
        load_gold(HERE / "gold.csv", target_scheme="okz2014", source_scheme="isco08")


def test_ilo_table_reversed_has_the_389_isco88_unit_groups():
    path = reference_file("isco08_isco88/corrtab08-88.xls")
    gold = load_gold(path, reverse=True)
    assert (gold.source_scheme, gold.target_scheme, len(gold)) == ("isco88", "isco08", 389)
    assert sum(map(len, gold.acceptable.values())) == 671
    assert gold.acceptable["0110"] == {"0110", "0210", "0310"}
    assert gold.source_titles["1110"] == "Legislators"
    assert len(load_gold(path)) == 436
    with pytest.raises(CrosswalkError, match="reverse"):
        load_gold(path, source_scheme="isco88", target_scheme="isco08")


def test_nace2_isic4_concordance_has_996_sources():
    gold = load_gold(reference_file("nace2/nace2_isic4_concordance.csv"))
    assert (gold.source_scheme, gold.target_scheme, len(gold)) == ("nace2", "isic4", 996)
    assert gold.acceptable["01.11"] == {"0111"} and gold.acceptable["A"] == {"A"}
    # the gold itself as predictions scores perfectly, at every level and section
    perfect = CandidateSet("nace2", "isic4", [Candidate(s, min(t), 1.0, 1, {}) for s, t in gold.primary.items()])
    e = evaluate(perfect, gold)
    assert (e.n, e.top_k[1], e.precision, e.recall, e.misses) == (996, 1.0, 1.0, 1.0, [])
    assert len(e.by_section) == 21 and {v["n"] for v in e.by_level.values()} == {21, 88, 272, 615}


def test_okpdtr_okz_dev_agreed_rows():
    path = reference_file("../gold/okpdtr_okz_dev.csv")
    gold = load_gold(path)
    assert (gold.source_scheme, gold.target_scheme, len(gold)) == ("okpdtr", "okz2014", 132)
    assert gold.acceptable == gold.primary and "22271" not in gold.acceptable
    assert gold.source_titles["22321"] == "Звукооператор" and gold.acceptable["22321"] == {"3521"}
    everything = load_gold(path, agreed_only=False)
    assert len(everything) == 150
    assert everything.acceptable["22271"] == {"1112", "1111"} and everything.primary["22271"] == {"1112"}


def test_okved2_isic4_regrouped_rows():
    gold = load_gold(reference_file("../gold/okved2_isic4_regrouped.csv"))
    assert (gold.source_scheme, gold.target_scheme, len(gold)) == ("okved2", "isic4", 22)
    assert sum(map(len, gold.acceptable.values())) == 29
    assert gold.primary["85.41"] == {"8549"} and gold.acceptable["85.41"] == {"8549", "8541", "8542"}
    assert gold.acceptable["19.31"] == {"1920", "0510"}
