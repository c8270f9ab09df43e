"""Calibrated scores (match/calibrate.py) and attractors (match/hubs.py)."""
import random

import pytest
from hypothesis import given, settings, strategies as st

from crosswalk.candidates import CandidateSet
from crosswalk.match.calibrate import Calibration, cross_validated, curve, signature
from crosswalk.match.hubs import attractors, concentration
from crosswalk.model import Candidate


def test_steps_are_the_measured_precision_and_never_promise_more():
    # low scores mostly wrong, high scores all right
    scores = [0.1] * 10 + [0.5] * 10 + [0.9] * 10
    correct = [False] * 9 + [True] + [True] * 5 + [False] * 5 + [True] * 10
    cal = Calibration.fit(scores, correct)
    assert cal.values == sorted(cal.values) and sum(cal.counts) == 30
    assert cal.precision(0.95) == 1.0 and cal.precision(0.1) == 0.1
    assert cal.precision(0.7) == cal.precision(0.5) == 0.5      # between steps: the lower one
    assert cal.threshold(0.95) == 0.9 and cal.threshold(1.01) is None
    assert Calibration.from_dict(cal.to_dict()) == cal


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=60))
def test_isotonic_steps_match_an_obvious_check(rows):
    """Monotone, every step at least 5 rows (unless there are fewer), and each step's value is
    exactly the share of right rows among the scores it covers."""
    scores, correct = [r[0] for r in rows], [r[1] for r in rows]
    cal = Calibration.fit(scores, correct)
    assert cal.values == sorted(cal.values) and sum(cal.counts) == len(rows)
    assert all(n >= 5 for n in cal.counts) or len(cal.counts) == 1
    edges = cal.edges + [float("inf")]
    for k, (lo, hi) in enumerate(zip(edges, edges[1:])):
        inside = [c for s, c in rows if lo <= s < hi or (k == 0 and s < lo)]
        assert abs(cal.values[k] - sum(inside) / len(inside)) < 1e-4


def test_cross_validated_precision_and_share():
    rng = random.Random(1)
    scores = [rng.random() for _ in range(400)]
    correct = [s > 0.6 or rng.random() < 0.2 for s in scores]   # right above 0.6, rarely below
    cv = cross_validated(scores, correct, folds=5, seed=3)
    assert cv["coded_precision"] >= 0.95 and 0.3 < cv["coded_share"] < 0.45 and cv["n"] == 400
    assert cross_validated([0.5] * 20, [False] * 20)["coded_precision"] is None    # never precise enough
    pts = curve(scores, correct)
    assert pts[0]["coverage"] == 1.0 and pts[-1]["precision"] == 1.0


def test_signature_names_language_target_and_signals():
    assert signature("ru", "okz2014", ["notes", "index", "confirmed", "index"]) == "ru→okz2014:index+notes"
    assert signature("en", "isco08", ["embedding", "index"], "use") == "en→isco08:embedding+index@use"
    assert signature("en", "isco08", ["embedding", "index"]) == "en→isco08:embedding+index@e5"
    assert signature("en", "isco08", ["index"], indexes=["esco", "past.csv"]) == "en→isco08:index|esco+past.csv"


def test_attractors_count_top1_against_the_expected_share():
    cands = [Candidate(f"T{i}", "8112" if i < 6 else f"{7000 + i}", 0.5, 1, {"x": 0.5}) for i in range(8)]
    cset = CandidateSet("text", "okz2014", cands, source_titles={f"T{i}": f"t{i}" for i in range(8)},
                        target_titles={"8112": "Операторы"})
    top = attractors(cset, n_targets=4, top=2)
    assert top[0] == {"target": "8112", "target_title": "Операторы", "top1": 6, "expected": 2.0, "ratio": 3.0,
                      "examples": ["t0", "t1", "t2"]}
    assert len(top) == 2
    assert concentration(cset, 4) == {"sources": 8, "targets": 4, "targets_taken": 3, "top10_share": 1.0}


def test_hubness_probes_lower_a_target_that_attracts_other_groups_titles():
    """Opt-in correction: probes are the index's titles (never the sources); a target whose
    score for titles of other groups is high gives way, and a source scores the same alone."""
    from crosswalk.index import CodingIndex, IndexEntry
    from crosswalk.match import match
    from crosswalk.model import Classification, Item
    okz = Classification("okz2014", [Item("8131", "Операторы установок по переработке химического сырья", 4),
                                     Item("8155", "Операторы машин по выделке меха и кожи", 4),
                                     Item("8311", "Машинисты локомотивов", 4)])
    rows = [("Аппаратчик дубления", "8155"), ("Аппаратчик гидролиза", "8131"), ("Аппаратчик сушки", "8131"),
            ("Аппаратчик синтеза", "8131"), ("Машинист тепловоза", "8311"), ("Машинист электровоза", "8311"),
            ("Аппаратчик абсорбции", "8131"), ("Аппаратчик окисления", "8131"), ("Машинист паровоза", "8311"),
            ("Аппаратчик дубления кожи", "8155"), ("Аппаратчик", "8155"), ("Машинист дизельпоезда", "8311")]
    ix = CodingIndex("okz2014", [IndexEntry(t, c, "t", "ru") for t, c in rows])
    src = Classification("okpdtr", [Item("10001", "Аппаратчик деаэрации", 1), Item("10002", "Машинист", 1)])
    plain = {(c.source, c.target): c.score for c in match(src, okz, indexes=[ix]).candidates}
    fixed = {(c.source, c.target): c.score for c in match(src, okz, indexes=[ix], hubness=True).candidates}
    assert fixed[("10001", "8155")] < plain[("10001", "8155")]         # the bare «Аппаратчик» group gives way
    alone = match(Classification("okpdtr", [src.get("10001")]), okz, indexes=[ix], hubness=True)
    assert {(c.source, c.target): c.score for c in alone.candidates} == {
        k: v for k, v in fixed.items() if k[0] == "10001"}
