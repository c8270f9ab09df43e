"""One decision per item: accept the proposal, pick another candidate or any catalogued code,
split, or "no correspondence" — each settling the item's other candidates — checked against
the item's version, undone by reopen, and read the same way by routes and exports."""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from crosswalk.review import ReviewStore, StoreError
from crosswalk.review.items import ItemDecision, ItemKey
from crosswalk.review.routes import compose_route

ITEM = ItemKey("okpdtr", "13110", "okz2014")


def _entries(code="13110", cands=(("8131", 0.41), ("8112", 0.40), ("3116", 0.2))):
    return [{"source_scheme": "okpdtr", "source_code": code, "target_scheme": "okz2014", "target_code": t,
             "score": sc, "origin": "proposed", "rank": r, "role": "proposal" if r == 1 else "alternative",
             "source_title": "Аппаратчик гидролиза", "target_title": f"группа {t}", "flags": ("review",) if r == 1 else ()}
            for r, (t, sc) in enumerate(cands, 1)]


@pytest.fixture
def store(tmp_path):
    with ReviewStore(tmp_path / "r.sqlite") as s:
        s.propose(_entries() + _entries("13111", (("8131", 0.5), ("8112", 0.3))))
        s.register_items("okz2014", [("8131", "Операторы"), ("8112", "x"), ("3116", "y"), ("2145", "Инженеры-химики")])
        s.propose([{"source_scheme": "okz2014", "source_code": c, "target_scheme": "isco08", "target_code": c,
                    "score": 1.0, "origin": "structure", "accept": "structure"} for c in ("8131", "8112", "3116", "2145")])
        yield s


def test_accepting_the_proposal_settles_the_alternatives(store):
    item = store.item(ITEM)
    assert item.status == "open" and [s.key.target_code for s in item.links] == ["8131", "8112", "3116"]
    assert item.proposal.key.target_code == "8131"
    res = store.decide_items([ItemDecision(ITEM, "accept", item.version, origin="browser")], reviewer="anna")
    assert len(res.applied) == 1 and res.events == 3        # one confirm, two settled rejections
    after = store.item(ITEM)
    assert after.status == "decided" and after.decided_by == "anna"
    assert {s.key.target_code: s.status for s in after.links} == {"8131": "confirmed", "8112": "rejected",
                                                                 "3116": "rejected"}
    settled = [e for e in store.events() if e.key and e.key.target_code == "8112"][-1]
    assert settled.action == "reject" and settled.payload["settled"] is True
    # a second reviewer working from the old view gets a conflict; nothing changes
    res = store.decide_items([ItemDecision(ITEM, "pick", item.version, (("8112", None),))], reviewer="boris")
    assert len(res.conflicts) == 1 and "changed since you saw it" in res.conflicts[0].reason
    assert store.item(ITEM).status == "decided" and store.item(ITEM).version == after.version


def test_pick_a_code_nobody_proposed_split_and_invalid_choices(store):
    v = store.item(ITEM).version
    res = store.decide_items([ItemDecision(ITEM, "pick", v, (("9999", None),))], reviewer="anna")
    assert res.invalid and "catalogue" in res.invalid[0][1]
    res = store.decide_items([ItemDecision(ITEM, "pick", v, (("2145", None),), comment="химик")], reviewer="anna")
    assert res.applied
    item = store.item(ITEM)
    assert [(s.key.target_code, s.status) for s in item.confirmed] == [("2145", "confirmed")]
    assert item.confirmed[0].target_title == "Инженеры-химики" and item.confirmed[0].comment == "химик"
    bad = store.decide_items([ItemDecision(ITEM, "split", item.version, (("8131", 0.5), ("8112", 0.4)))],
                             reviewer="anna")
    assert "sum to 0.900000" in bad.invalid[0][1]
    res = store.decide_items([ItemDecision(ITEM, "split", item.version, (("8131", 0.7), ("8112", 0.3)))],
                             reviewer="anna")
    assert res.applied
    item = store.item(ITEM)
    assert sorted((s.key.target_code, s.weight) for s in item.confirmed) == [("8112", 0.3), ("8131", 0.7)]
    assert {s.key.target_code: s.status for s in item.links}["2145"] == "rejected"   # the earlier pick settled
    # the route reads the split: 13110 flows 70/30 into ISCO through the identities
    route = compose_route(store, "okpdtr,okz2014,isco08", confirmed_only=True)
    got = {(rl.link.source, rl.link.target): rl.link.weight for rl in route.links}
    assert got == {("13110", "8131"): pytest.approx(0.7), ("13110", "8112"): pytest.approx(0.3)}


def test_no_correspondence_is_a_decision_routes_respect_and_reopen_undoes(store):
    v = store.item(ITEM).version
    res = store.decide_items([ItemDecision(ITEM, "no_match", v, comment="нет в ОКЗ")], reviewer="anna")
    assert res.applied
    item = store.item(ITEM)
    assert item.status == "no_match" and item.comment == "нет в ОКЗ"
    assert all(s.status == "rejected" for s in item.links)
    assert store.no_match_items("okpdtr", "okz2014") == {"13110"}
    route = compose_route(store, "okpdtr,okz2014,isco08")
    assert route.no_match == ["13110"] and {rl.link.source for rl in route.links} == {"13111"}
    ev = [e for e in store.events() if e.item == ("okpdtr", "13110", "okz2014")]
    assert [e.action for e in ev] == ["no_match"]
    snap = store.snapshot()
    store.rebuild_state()                      # the item's state is derived from the log too
    assert store.snapshot() == snap
    res = store.decide_items([ItemDecision(ITEM, "reopen", item.version)], reviewer="anna")
    assert res.applied
    back = store.item(ITEM)
    assert back.status == "open" and all(s.status == "pending" for s in back.links)
    assert store.no_match_items("okpdtr", "okz2014") == set()
    # the proposal is proposed again on the route
    route = compose_route(store, "okpdtr,okz2014,isco08")
    assert {(rl.link.source, rl.link.target, rl.link.status) for rl in route.links} >= {("13110", "8131", "proposed")}


def test_unknown_items_and_malformed_decisions_are_refused(store):
    with pytest.raises(StoreError, match="no item"):
        store.item(ItemKey("okpdtr", "99999", "okz2014"))
    res = store.decide_items([ItemDecision(ITEM, "accept", store.item(ITEM).version, (("8131", None),)),
                              ItemDecision(ITEM, "maybe", 1)], reviewer="anna")
    assert [why for _, why in res.invalid] == ["accept takes no targets", "choice 'maybe' is not one of accept,"
                                               " pick, split, no_match, reopen"]
    with pytest.raises(StoreError, match="reviewer"):
        store.decide_items([], reviewer=" ")


CHOICE = st.sampled_from(["accept", "pick", "split", "no_match", "reopen"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(["13110", "13111"]), CHOICE, st.sampled_from(["8131", "8112", "2145"]),
                              st.booleans()), min_size=1, max_size=10))
def test_any_sequence_of_item_decisions_keeps_state_derivable_and_counts_every_decision(tmp_path_factory, ops):
    with ReviewStore(tmp_path_factory.mktemp("i") / "r.sqlite") as s:
        s.propose(_entries() + _entries("13111", (("8131", 0.5), ("8112", 0.3))))
        s.register_items("okz2014", [("2145", "Инженеры-химики")])
        for code, choice, target, stale in ops:
            key = ItemKey("okpdtr", code, "okz2014")
            v = s.item(key).version - (1 if stale else 0)
            targets = (((target, None),) if choice == "pick" else
                       ((target, 0.25), ("3116" if target != "3116" else "8131", 0.75)) if choice == "split" else ())
            res = s.decide_items([ItemDecision(key, choice, v, targets)], reviewer="anna")
            assert len(res) == 1                              # every decision accounted for
            item = s.item(key)
            if res.applied and choice in ("accept", "pick", "split"):
                assert item.status == "decided"
                assert all(l.status == "rejected" for l in item.links if l not in item.confirmed)
                total = sum(l.weight if l.weight is not None else 1.0 / len(item.confirmed) for l in item.confirmed)
                assert total == pytest.approx(1.0)
            if res.applied and choice == "no_match":
                assert item.status == "no_match" and not item.confirmed
            if stale:
                assert not res.applied
        snap = s.snapshot()
        s.rebuild_state()
        assert s.snapshot() == snap
