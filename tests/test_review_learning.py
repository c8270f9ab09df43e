"""The matcher learns while people review (crosswalk/review/learning.py, taught.py): a
decision re-ranks the waiting items that resemble it, in a real review store; decided items
and unchanged rankings are never written; the ranking depends on the decisions, not their
order; an undo restores the build's ranking; the app's hook runs it in the background."""
from __future__ import annotations

import itertools
import sqlite3
import threading

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from crosswalk.cli import cli
from crosswalk.review import ReviewStore
from crosswalk.review.items import ItemDecision, ItemKey
from crosswalk.review.learning import ORIGIN, Reranker
from crosswalk.review.taught import Taught, source_classification
from crosswalk.model import Classification, Item

# (title, build candidates best first); none of them proposes 8160, the code reviewers know
ITEMS = {
    "100": ("Аппаратчик гидролиза", [("8131", .41), ("8112", .40), ("3116", .20)]),
    "101": ("Аппаратчик гидролиза древесины", [("8112", .45), ("8131", .40), ("3116", .20)]),
    "102": ("Аппаратчик гидролиза крахмала", [("3116", .45), ("8112", .40), ("8131", .30)]),
    "200": ("Бухгалтер", [("2411", .60), ("3313", .50), ("4311", .30)]),
    "201": ("Бухгалтер-ревизор", [("2411", .50), ("3313", .45), ("4311", .30)]),
    "300": ("Водитель погрузчика", [("8344", .55), ("8332", .50), ("9333", .30)]),
}
CATALOGUE = ["8131", "8112", "3116", "2411", "3313", "4311", "8160", "8344", "8332", "9333"]


def key(code: str) -> ItemKey:
    return ItemKey("okpdtr", code, "okz2014")


def make(path, items=ITEMS):
    entries = []
    for code, (title, cands) in items.items():
        for r, (t, sc) in enumerate(cands, 1):
            entries.append({"source_scheme": "okpdtr", "source_code": code, "target_scheme": "okz2014",
                            "target_code": t, "score": sc, "evidence": {"title_tokens": sc}, "origin": "proposed",
                            "rank": r, "role": "proposal" if r == 1 else "alternative", "source_title": title,
                            "target_title": f"группа {t}", "flags": ["review"] if r == 1 else []})
    with ReviewStore(path) as s:
        s.propose(entries)
        s.register_items("okz2014", [(t, f"группа {t}") for t in CATALOGUE])
    return path


@pytest.fixture
def store_path(tmp_path):
    return make(tmp_path / "r.sqlite")


def decide(path, code, choice, target=None):
    with ReviewStore(path) as s:
        it = s.item(key(code))
        res = s.decide_items([ItemDecision(it.key, choice, it.version, ((target, None),) if target else ())],
                             reviewer="anna")
        assert res.applied, (res.conflicts, res.invalid)


def ranking(path, code):
    with ReviewStore(path) as s:
        it = s.item(key(code))
    return [l.key.target_code for l in it.links if l.status != "rejected"]


def learning_events(path):
    with ReviewStore(path) as s:
        return [e for e in s.events() if e.origin == ORIGIN]


def n_events(path):
    with ReviewStore(path) as s:
        return len(s.events())


def test_a_decision_re_ranks_the_waiting_items_that_resemble_it(store_path):
    r = Reranker(store_path)
    assert r.run_once().events == 0                       # nothing decided: nothing to learn
    decide(store_path, "100", "pick", "8160")             # a code no candidate named
    res = r.run_once()
    assert ranking(store_path, "101")[0] == "8160" and ranking(store_path, "102")[0] == "8160"
    assert res.changed == 2
    with ReviewStore(store_path) as s:
        it = s.item(key("101"))
        top = it.proposal
        assert top.role == "proposal" and top.rank == 1 and top.status == "pending"
        assert top.evidence["learned"] > 0 and top.target_title == "группа 8160"
        # the build's candidates stay, below it, with their build scores and evidence
        assert [(l.key.target_code, l.rank, l.score) for l in it.links if l.key.target_code != "8160"] == \
            [("8112", 2, 0.45), ("8131", 3, 0.4), ("3116", 4, 0.2)]
    # unrelated items were not written to
    assert {e.key.source_code for e in learning_events(store_path)} == {"101", "102"}
    assert ranking(store_path, "200") == ["2411", "3313", "4311"]


def test_decided_items_are_never_touched(store_path):
    decide(store_path, "100", "pick", "8160")
    decide(store_path, "102", "accept")                   # decided before the pass: never re-ranked

    def on_screen():                                      # a reviewer decides 101 while the pass runs
        decide(store_path, "101", "accept")
        return set()

    res = Reranker(store_path, skip=on_screen).run_once()
    assert res.events == 0 and res.held == 1
    with ReviewStore(store_path) as s:
        assert s.item(key("101")).confirmed[0].key.target_code == "8112"
        assert s.item(key("102")).confirmed[0].key.target_code == "3116"
    assert learning_events(store_path) == []


def test_an_item_on_a_reviewers_screen_waits(store_path):
    decide(store_path, "100", "pick", "8160")
    r = Reranker(store_path, skip=lambda: {key("101")})
    res = r.run_once()
    assert res.held == 1 and ranking(store_path, "101")[0] == "8112" and ranking(store_path, "102")[0] == "8160"


def test_nothing_changed_nothing_written(store_path):
    r = Reranker(store_path)
    r.run_once()
    before = n_events(store_path)
    assert r.run_once().events == 0
    decide(store_path, "200", "accept")                   # teaches 2411, which 201 proposes already
    after_decision = n_events(store_path)
    res = r.run_once()
    assert res.events == 0 and n_events(store_path) == after_decision > before
    decide(store_path, "100", "pick", "8160")
    assert r.run_once().events > 0
    settled = n_events(store_path)
    assert r.run_once().events == 0 and n_events(store_path) == settled


DECISIONS = [("100", "pick", "8160"), ("200", "pick", "3313"), ("300", "pick", "8332")]


def open_rankings(path):
    """Each open item's proposal and the set of its first three candidates."""
    with ReviewStore(path) as s:
        out = {}
        for it in s.items_of("okpdtr", "okz2014"):
            if it.status == "open":
                live = [l.key.target_code for l in it.links if l.status != "rejected"]
                out[it.key.source_code] = (live[0], frozenset(live[:3]))
        return out


def test_the_same_decisions_in_any_order_give_the_same_ranking(tmp_path):
    results = []
    for k, order in enumerate(itertools.permutations(DECISIONS)):
        path = make(tmp_path / f"r{k}.sqlite")
        r = Reranker(path)
        for n, (code, choice, target) in enumerate(order):
            decide(path, code, choice, target)
            if k % 2 == 0 or n == len(order) - 1:          # a pass after each decision, or one at the end
                r.run_once()
        results.append(open_rankings(path))
    assert all(x == results[0] for x in results)
    assert results[0]["101"][0] == "8160" and results[0]["201"][0] == "3313"


def test_an_undo_restores_the_builds_ranking(store_path):
    r = Reranker(store_path)
    decide(store_path, "100", "pick", "8160")
    r.run_once()
    assert ranking(store_path, "101")[0] == "8160"
    decide(store_path, "100", "reopen")
    r.run_once()
    with ReviewStore(store_path) as s:
        it = s.item(key("101"))
    # the build's order and scores; the code learning brought stays below them, pending
    assert [(l.key.target_code, l.rank, l.score) for l in it.links] == \
        [("8112", 1, 0.45), ("8131", 2, 0.4), ("3116", 3, 0.2), ("8160", 4, 0.0)]
    assert it.proposal.key.target_code == "8112" and "learned" not in it.proposal.evidence


def test_the_apps_hook_re_ranks_in_the_background(store_path):
    with Reranker(store_path, debounce=0.05) as r:
        decide(store_path, "100", "pick", "8160")
        r.notify("item", "decision", "anna")              # as the app calls its after-decision hooks
        assert r.wait(timeout=60)
        assert r.last is not None and r.errors == []
        assert ranking(store_path, "101")[0] == "8160"


def test_a_pass_waits_for_a_reviewers_write_instead_of_failing(store_path):
    decide(store_path, "100", "pick", "8160")
    con = sqlite3.connect(store_path, timeout=0, isolation_level=None, check_same_thread=False)
    con.execute("BEGIN IMMEDIATE")                        # a reviewer's decision holds the write lock
    release = threading.Timer(0.3, lambda: con.execute("COMMIT"))
    release.start()
    try:
        res = Reranker(store_path).run_once()             # waits (the store's busy timeout), then writes
    finally:
        release.join()
        con.close()
    assert res.changed == 2 and ranking(store_path, "101")[0] == "8160"


def test_review_learn_cli(store_path):
    decide(store_path, "100", "pick", "8160")
    out = CliRunner().invoke(cli, ["review", "learn", "--store", str(store_path)])
    assert out.exit_code == 0, out.output
    assert "okpdtr→okz2014: 5 items waiting, 1 confirmed decisions to learn from; 2 re-ranked" in out.output
    again = CliRunner().invoke(cli, ["review", "learn", "--store", str(store_path)])
    assert again.exit_code == 0 and "0 items re-ranked, 0 events written" in again.output
    missing = CliRunner().invoke(cli, ["review", "learn", "--store", str(store_path.parent / "none.sqlite")])
    assert missing.exit_code != 0 and "no review store there" in missing.output


# -- the incremental scores against a fresh computation (hypothesis) ------------------------
TITLES = {"a1": "Аппаратчик гидролиза", "a2": "Аппаратчик гидролиза древесины", "a3": "Аппаратчик сушки",
          "b1": "Бухгалтер", "b2": "Бухгалтер-ревизор", "b3": "Главный бухгалтер", "c1": "Водитель погрузчика",
          "c2": "Водитель автомобиля", "c3": "Машинист крана"}
CODES = ["8131", "8160", "2411", "8332", "8343"]
TARGET = Classification("okz2014", [Item(c, f"группа {c}", 1) for c in CODES])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sets(st.tuples(st.sampled_from(sorted(TITLES)), st.sampled_from(CODES)), max_size=5),
                min_size=1, max_size=4))
def test_incremental_learned_scores_equal_a_fresh_computation(steps):
    src = source_classification("okpdtr", TITLES, "ru")
    inc = Taught(src, TARGET)
    for entries in steps:
        decided = {s for s, _ in entries}
        inc.update(entries, set(TITLES) - decided)
        fresh = Taught(src, TARGET)
        fresh.update(entries, set(TITLES) - decided)
        assert inc.scores.keys() == fresh.scores.keys()
        for c, sc in fresh.scores.items():
            assert inc.scores[c] == pytest.approx(sc, abs=1e-6)


def test_links_a_rule_accepted_do_not_teach(store_path):
    with ReviewStore(store_path) as s:          # an identity the build accepted by structure
        s.propose([{"source_scheme": "okpdtr", "source_code": "103", "target_scheme": "okz2014",
                    "target_code": "8160", "score": 1.0, "origin": "structure", "accept": "structure",
                    "source_title": "Аппаратчик гидролиза сырья", "target_title": "группа 8160"}])
        assert s.item(key("103")).status == "decided"
    assert Reranker(store_path).run_once().events == 0
    assert ranking(store_path, "101")[0] == "8112"


def test_the_review_app_learns_in_the_background_and_leaves_the_item_on_screen_alone(store_path):
    """`review serve` (learning on): a reviewer picks 8160 for «Аппаратчик гидролиза» in the
    browser; within seconds the other «Аппаратчик гидролиза …» titles propose 8160 — except the
    one the reviewer has open, which waits until it leaves the screen."""
    import json
    import time
    import urllib.request
    from urllib.parse import quote

    from crosswalk.review.web import make_server, start_in_thread
    server = make_server(store_path, port=0, learning=True)
    start_in_thread(server)
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def call(path, body=None):
        h = {"X-Reviewer": "anna"}
        data = None
        if body is not None:
            h.update({"Content-Type": "application/json", "X-Crosswalk": "1"})
            data = json.dumps(body).encode()
        with urllib.request.urlopen(urllib.request.Request(base + path, data=data, headers=h), timeout=10) as r:
            return json.loads(r.read())

    try:
        assert server.reranker is not None
        shown = call("/api/item?key=" + quote(json.dumps(["okpdtr", "102", "okz2014"])))   # 102 is on screen
        first = call("/api/item?key=" + quote(json.dumps(["okpdtr", "100", "okz2014"])))
        res = call("/api/item/decide", {"key": ["okpdtr", "100", "okz2014"], "choice": "pick",
                                        "version": first["item"]["version"], "targets": [["8160", None]]})
        assert res["outcome"] == "applied"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and ranking(store_path, "101")[0] != "8160":
            time.sleep(0.1)
        assert ranking(store_path, "101")[0] == "8160"           # re-ranked without anyone asking
        assert ranking(store_path, "102")[0] == "3116" and shown  # the item on screen was left alone
        assert not server.reranker.errors
    finally:
        server.shutdown()
        server.server_close()
