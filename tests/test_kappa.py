"""Cohen's kappa and the agreement figures folded from the review store's events."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crosswalk.review import Decision, LinkKey, ReviewStore
from crosswalk.review.kappa import (
    ReviewIndex,
    cohen_kappa,
    marker,
    second_review_decision,
    second_verdict,
    settle_comment,
)


def slow_kappa(pairs):
    """Kappa from the confusion matrix, in exact fractions (a separate reading of the formula)."""
    labels = sorted({x for p in pairs for x in p}, key=repr)
    n = len(pairs)
    m = {(a, b): sum(1 for p in pairs if p == (a, b)) for a in labels for b in labels}
    p_o = Fraction(sum(m[a, a] for a in labels), n)
    p_e = sum(Fraction(sum(m[a, b] for b in labels), n) * Fraction(sum(m[b, a] for b in labels), n)
              for a in labels)
    return None if p_e == 1 else (p_o - p_e) / (1 - p_e)


def test_hand_computed_example():
    # 10 links: both confirm 4, both reject 3, first confirm/second reject 2, first reject/second confirm 1
    pairs = [("c", "c")] * 4 + [("r", "r")] * 3 + [("c", "r")] * 2 + [("r", "c")]
    # p_o = 7/10; first: c 6, r 4; second: c 5, r 5; p_e = (6*5 + 4*5)/100 = 1/2; kappa = .2/.5
    assert cohen_kappa(pairs) == pytest.approx(0.4)


def test_edge_cases():
    assert cohen_kappa([]) is None
    assert cohen_kappa([("c", "c")] * 5) is None          # one label for everything: undefined
    assert cohen_kappa([("c", "c"), ("r", "r")]) == 1.0
    assert cohen_kappa([("c", "r"), ("r", "c")]) == -1.0
    assert cohen_kappa([("c", "c"), ("c", "r")]) == 0.0   # the second rater's spread explains nothing


@given(st.lists(st.tuples(st.sampled_from("crx"), st.sampled_from("crx")), min_size=1, max_size=60))
def test_matches_the_slow_formula(pairs):
    want = slow_kappa(pairs)
    got = cohen_kappa(pairs)
    if want is None:
        assert got is None
    else:
        assert got == pytest.approx(float(want), abs=1e-12)
        assert -1.0 - 1e-12 <= got <= 1.0 + 1e-12
        assert cohen_kappa([(b, a) for a, b in pairs]) == pytest.approx(got, abs=1e-12)  # symmetric


def test_markers():
    assert marker('{"second_review": "confirm"}') == {"second_review": "confirm"}
    assert marker(settle_comment("reject")) == {"settled": "reject"}
    for text in ("", "looks fine", "{not json", '{"second_review": "maybe"}', "[1]"):
        assert marker(text) is None
    with pytest.raises(ValueError):
        second_review_decision(LinkKey("okved2", "01.11", "nace2", "01.11"), "maybe", 1)


def test_agreement_from_store_events(tmp_path):
    keys = [LinkKey("okved2", f"0{i}.11", "nace2", f"0{i}.11") for i in range(1, 7)]
    with ReviewStore(tmp_path / "r.sqlite") as s:
        s.propose([{"key": k, "score": 0.5} for k in keys])
        first = ["confirm", "confirm", "confirm", "reject", "reject", "confirm"]
        second = ["confirm", "reject", "confirm", "reject", "confirm", None]
        s.decide([Decision(k, a, s.get(k).version) for k, a in zip(keys, first)], reviewer="anna")
        s.decide([second_review_decision(k, b, s.get(k).version) for k, b in zip(keys, second) if b],
                 reviewer="boris")
        idx = ReviewIndex()
        idx.feed(s.events())
        agr = idx.agreement()[("okved2", "nace2")]
        pairs = [(a, b) for a, b in zip(first, second) if b]
        assert agr == {"n": 5, "agree": 3, "disagree": 2, "open": 2, "kappa": pytest.approx(cohen_kappa(pairs)),
                       "reviewers": ["anna", "boris"]}
        # settling one disagreement (even keeping the status) closes it; kappa keeps the original verdicts
        k = keys[1]
        s.decide([Decision(k, "confirm", s.get(k).version, comment=settle_comment("confirm"))], reviewer="carla")
        idx.feed(s.events(idx.last_id))
        assert idx.agreement()[("okved2", "nace2")]["open"] == 1
        assert idx.links[k].first == "confirm" and idx.links[k].second == "reject"
        # a second review of a still pending link is refused, and an old-style one is not a pair
        s.propose([{"key": LinkKey("okved2", "09.11", "nace2", "09.11"), "score": 0.1}])
        p = LinkKey("okved2", "09.11", "nace2", "09.11")
        res = s.decide([second_review_decision(p, "confirm", s.get(p).version)], reviewer="boris")
        assert "pending" in res.invalid[0][1]
        s.decide([Decision(p, "comment", s.get(p).version, comment='{"second_review": "confirm"}')],
                 reviewer="boris")
        idx.feed(s.events(idx.last_id))
        assert idx.agreement()[("okved2", "nace2")]["n"] == 5


def test_second_reviews_are_their_own_events_and_old_comment_markers_still_count(tmp_path):
    keys = [LinkKey("okved2", f"0{i}.11", "nace2", f"0{i}.11") for i in range(1, 4)]
    with ReviewStore(tmp_path / "r.sqlite") as s:
        s.propose([{"key": k, "score": 0.5} for k in keys])
        s.decide([Decision(k, "confirm", s.get(k).version, comment="looks right") for k in keys], reviewer="anna")
        before = {k: s.get(k) for k in keys}
        d = second_review_decision(keys[0], "reject", before[keys[0]].version)
        assert (d.action, d.verdict, d.comment, d.origin) == ("second_review", "reject", None, "browser:second")
        s.decide([d], reviewer="boris")
        assert s.get(keys[0]) == before[keys[0]]              # comment, reviewer, version: all anna's
        # a store written before the second_review action: the verdict is a comment marker
        s.decide([Decision(keys[1], "comment", before[keys[1]].version, comment='{"second_review": "confirm"}',
                           origin="browser:second")], reviewer="carla")
        events = s.events()
        assert [second_verdict(e) for e in events[-2:]] == ["reject", "confirm"]
        assert all(second_verdict(e) is None for e in events[:-2])
        idx = ReviewIndex()
        idx.feed(events)
        got = {k: (r.first, r.first_by, r.second, r.second_by) for k, r in idx.links.items() if r.second}
        assert got == {keys[0]: ("confirm", "anna", "reject", "boris"),
                       keys[1]: ("confirm", "anna", "confirm", "carla")}
        assert idx.agreement()[("okved2", "nace2")]["reviewers"] == ["anna", "boris", "carla"]


def test_reopen_withdraws_the_first_verdict_until_the_link_is_decided_again(tmp_path):
    k = LinkKey("okved2", "01.11", "nace2", "01.11")
    with ReviewStore(tmp_path / "r.sqlite") as s:
        s.propose([{"key": k, "score": 0.5}])
        s.decide([Decision(k, "confirm", s.get(k).version)], reviewer="anna")
        s.decide([second_review_decision(k, "reject", s.get(k).version)], reviewer="boris")
        idx = ReviewIndex()
        idx.feed(s.events())
        assert idx.links[k].open_disagreement and idx.agreement()[("okved2", "nace2")]["n"] == 1
        s.decide([Decision(k, "reopen", s.get(k).version, comment="undo")], reviewer="anna")   # the undo
        idx.feed(s.events(idx.last_id))
        assert k not in idx.links and idx.agreement() == {}     # no first verdict: no pair, nothing open
        s.decide([Decision(k, "reject", s.get(k).version)], reviewer="anna")
        idx.feed(s.events(idx.last_id))
        r = idx.links[k]
        assert (r.decided_by, r.second, r.second_at) == ("anna", "", 0)   # back in the second-review queue
        s.decide([second_review_decision(k, "reject", s.get(k).version)], reviewer="boris")
        idx.feed(s.events(idx.last_id))
        assert idx.agreement()[("okved2", "nace2")] == {"n": 1, "agree": 1, "disagree": 0, "open": 0,
                                                         "kappa": None, "reviewers": ["anna", "boris"]}
        # replayed from scratch, the log gives the same facts
        fresh = ReviewIndex()
        fresh.feed(s.events())
        assert fresh.links == idx.links
