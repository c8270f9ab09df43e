"""The review store: append-only event log, derived state, optimistic concurrency,
durability settings, network file systems, policies, crashes and concurrent writers."""
from __future__ import annotations

import copy
import json
import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crosswalk.candidates import CandidateSet, write_candidates
from crosswalk.cli import cli
from crosswalk.errors import LoadError
from crosswalk.model import Candidate
from crosswalk.review import (
    Decision, LinkKey, ReviewStore, StoreError, load_build_output, policy_report,
)
from crosswalk.review import store as store_mod

ROOT = Path(__file__).resolve().parent.parent


def K(src: str, tgt: str) -> LinkKey:
    return LinkKey("okved2", src, "nace2", tgt)


def proposal(src, tgt, score=0.5, flags=(), **kw):
    return {"key": K(src, tgt), "score": score, "evidence": {"title_tokens": score}, "flags": flags,
            "source_title": f"деятельность {src}", "target_title": f"activity {tgt}", **kw}


@pytest.fixture
def store(tmp_path):
    with ReviewStore(tmp_path / "review.sqlite") as s:
        yield s


def as_dict(link) -> dict:
    return {"status": link.status, "score": link.score, "evidence": link.evidence, "origin": link.origin,
            "weight": link.weight, "comment": link.comment, "source_title": link.source_title,
            "target_title": link.target_title, "flags": list(link.flags), "version": link.version,
            "updated_by": link.updated_by, "updated_at": link.updated_at, "rank": link.rank, "role": link.role}


def slow_replay(events) -> dict:
    """The state, recomputed from the log by a separate, plain reading of the rules."""
    links: dict = {}
    for e in events:
        if e.action in ("policy", "second_review"):   # a second review leaves the link as it is
            continue
        p, s = e.payload, copy.deepcopy(links.get(e.key))
        if e.action == "propose":
            if s is None:
                s = {"status": "pending", "origin": p["origin"], "weight": None, "comment": "",
                     "source_title": "", "target_title": "", "flags": [], "rank": None, "role": ""}
            elif s["origin"] != "confirmed":
                s["origin"] = p["origin"]
            s["score"], s["evidence"] = p["score"], p["evidence"]
            for t in ("source_title", "target_title"):
                if p[t]:
                    s[t] = p[t]
            flags = p["flags"] + [f for f in s["flags"] if f.startswith("replaced_by:")]
            s["flags"] = [f for i, f in enumerate(flags) if f not in flags[:i]]
            s["rank"], s["role"] = p.get("rank"), p.get("role", "")     # the latest proposal's
        else:
            if s is None:
                s = {"status": "confirmed", "score": None, "evidence": {}, "origin": "confirmed", "weight": None,
                     "comment": "", "source_title": p.get("source_title", ""),
                     "target_title": p.get("target_title", ""), "flags": [], "rank": None, "role": ""}
            status = {"confirm": "confirmed", "add": "confirmed", "auto_accept": "confirmed",
                      "reject": "rejected", "reopen": "pending"}.get(e.action)
            if e.action == "retarget":
                status = "confirmed" if p["role"] == "new" else "rejected"
                if p["role"] == "old":
                    s["flags"] = [f for f in s["flags"] if not f.startswith("replaced_by:")] \
                        + ["replaced_by:" + p["new_target"]]
            if status:
                s["status"] = status
            for f in ("weight", "comment"):
                if f in p:
                    s[f] = p[f]
        s.update(version=e.id, updated_by=e.reviewer, updated_at=e.ts)
        links[e.key] = s
    return links


def state_of(store) -> dict:
    return {ln.key: as_dict(ln) for ln in store.links()}


# -- the log and the state derived from it ---------------------------------------------
SRC = ("01.11", "01.12", "02.10")
TGT = ("01.11", "01.12", "01.13", "02.10")
decision_st = st.tuples(st.sampled_from(("confirm", "reject", "retarget", "add", "weight", "comment", "reopen",
                                         "second_review", "second_review")),
                        st.sampled_from(SRC), st.sampled_from(TGT),
                        st.sampled_from(("current", "current", "current", "stale", "none")),
                        st.sampled_from((None, "ok", "доп. проверить")), st.sampled_from((None, 0.0, 0.25, 1.0)),
                        st.sampled_from(TGT), st.sampled_from(("confirm", "reject", "confirm", None)))
op_st = st.one_of(
    st.tuples(st.just("propose"), st.lists(st.tuples(st.sampled_from(SRC), st.sampled_from(TGT),
                                                     st.sampled_from((0.1, 0.6, 0.95)),
                                                     st.sampled_from(((), ("review",)))), max_size=4)),
    st.tuples(st.just("decide"), st.lists(decision_st, min_size=1, max_size=4), st.sampled_from(("anna", "boris"))),
    st.tuples(st.just("policy"), st.sampled_from((0.5, 0.9))),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op_st, min_size=3, max_size=12))
def test_random_decisions_incremental_state_equals_rebuild_and_replay(tmp_path_factory, ops):
    path = tmp_path_factory.mktemp("h") / "review.sqlite"
    with ReviewStore(path) as store:
        store.propose([proposal(s, t, 0.7) for s in SRC for t in TGT[:2]])
        for op in ops:
            if op[0] == "propose":
                props = {K(s, t): proposal(s, t, score, flags) for s, t, score, flags in op[1]}
                store.propose(list(props.values()))
            elif op[0] == "policy":
                store.set_policy("okved2", "nace2", op[1], reviewer="lead")
                store.apply_policy("okved2", "nace2")
            else:
                decisions = []
                for action, s, t, vmode, comment, weight, new, verdict in op[1]:
                    try:
                        v = store.get(K(s, t)).version
                    except StoreError:
                        v = 1
                    version = {"current": v, "stale": v - 1, "none": None}[vmode]
                    if action == "weight" and weight is None:
                        weight = 0.5
                    if action == "comment" and comment is None:
                        comment = "note"
                    decisions.append(Decision(K(s, t), action, version, comment=comment, origin="test",
                                              weight=weight if action in ("weight", "confirm", "add") else None,
                                              new_target=new if action == "retarget" else None,
                                              verdict=verdict if action == "second_review" else None))
                before = state_of(store)
                last, checksum = store.snapshot()
                res = store.decide(decisions, reviewer=op[2])
                assert len(res) == len(decisions)          # every decision accounted for
                for kind in ("applied", "unchanged", "conflicts", "invalid"):
                    if getattr(res, kind):
                        event(kind)                        # --hypothesis-show-statistics: what was covered
                if any(d.action == "retarget" for d in res.applied):
                    event("retarget applied")
                if any(d.action == "second_review" for d in res.applied):
                    event("second review applied")
                if all(d.action == "second_review" for d in res.applied):   # the state is untouched
                    assert state_of(store) == before and store.snapshot()[1] == checksum
                for c in res.conflicts:                    # a conflict is a stale version, and changed nothing
                    assert c.current is not None and c.decision.expected_version != c.current.version
                new_events = store.events(last)
                assert bool(new_events) == bool(res.applied)
                for e in new_events:                       # applied against the version the reviewer saw
                    if e.previous is not None and e.payload.get("role") != "new":
                        assert e.payload["expected_version"] == e.previous["version"]
                if not res.applied:
                    assert state_of(store) == before
        events = store.events()
        incremental, snap = state_of(store), store.snapshot()
        assert {k: v for k, v in slow_replay(events).items()} == incremental
        # every event's `previous` is the state the log had just before it
        seen: dict = {}
        for e in events:
            if e.key is not None:
                assert e.previous == seen.get(e.key)
                seen[e.key] = slow_replay([x for x in events if x.key == e.key and x.id <= e.id])[e.key]
        store.rebuild_state()
        assert store.snapshot() == snap and state_of(store) == incremental


def test_schema_pragmas_and_timestamps(store):
    assert store.pragma("journal_mode") == "wal" and store.journal_mode == "wal"
    assert store.pragma("synchronous") == 2            # FULL
    assert store.pragma("busy_timeout") == 30000
    assert store.pragma("foreign_keys") == 1
    assert store.pragma("user_version") == store_mod.SCHEMA_VERSION
    store.propose([proposal("01.11", "01.11")])
    ev = store.events()[0]
    assert ev.ts.endswith("Z") and ev.ts[10] == "T" and ev.reviewer == "crosswalk" and ev.origin == "build"
    tables = {r[0] for r in store._conn().execute("SELECT name FROM sqlite_master")}
    assert {"events", "link_state", "policies", "events_no_update", "events_no_delete"} <= tables


def test_events_are_append_only(store):
    store.propose([proposal("01.11", "01.11")])
    con = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.DatabaseError, match="events are append-only"):
        con.execute("UPDATE events SET reviewer = 'mallory'")
    with pytest.raises(sqlite3.DatabaseError, match="events are append-only"):
        con.execute("DELETE FROM events")
    con.close()
    assert [e.reviewer for e in store.events()] == ["crosswalk"]


# -- decisions ------------------------------------------------------------------------
def test_decisions_each_action(store):
    store.propose([proposal("01.11", "01.11", 0.8, ("review",)), proposal("01.12", "01.12"),
                   proposal("01.13", "01.13")])
    v = {k: store.get(k).version for k in (K("01.11", "01.11"), K("01.12", "01.12"), K("01.13", "01.13"))}
    res = store.decide([
        Decision(K("01.11", "01.11"), "retarget", v[K("01.11", "01.11")], new_target="01.19", comment="wrong class",
                 origin="workbook:r.xlsx:2"),
        Decision(K("01.12", "01.12"), "weight", v[K("01.12", "01.12")], weight=0.4, origin="browser"),
        Decision(K("01.13", "01.13"), "comment", v[K("01.13", "01.13")], comment="ask Rosstat"),
        Decision(K("02.10", "02.10"), "add", None, weight=1.0, comment="missing"),
    ], reviewer="anna")
    assert len(res.applied) == 4 and not (res.conflicts or res.invalid or res.unchanged)
    old, new = store.get(K("01.11", "01.11")), store.get(K("01.11", "01.19"))
    assert old.status == "rejected" and old.flags == ("review", "replaced_by:01.19")
    assert new.status == "confirmed" and new.origin == "confirmed" and new.comment == "wrong class"
    assert new.source_title == "деятельность 01.11" and new.score is None
    h_old, h_new = store.history(old.key), store.history(new.key)
    assert h_old[-1].id + 1 == h_new[0].id and h_new[0].ts == h_old[-1].ts   # one transaction, two events
    assert h_old[-1].previous["status"] == "pending" and h_new[0].previous is None
    assert h_old[-1].origin == "workbook:r.xlsx:2"
    w = store.get(K("01.12", "01.12"))
    assert (w.status, w.weight) == ("pending", 0.4)
    c = store.get(K("01.13", "01.13"))
    assert (c.status, c.comment) == ("pending", "ask Rosstat")
    added = store.get(K("02.10", "02.10"))
    assert (added.status, added.origin, added.weight, added.updated_by) == ("confirmed", "confirmed", 1.0, "anna")


def test_stale_version_is_a_conflict_and_nothing_is_applied(store):
    store.propose([proposal("01.11", "01.11"), proposal("01.12", "01.12")])
    k1, k2 = K("01.11", "01.11"), K("01.12", "01.12")
    seen = store.get(k1).version
    store.decide([Decision(k1, "reject", seen, comment="no")], reviewer="bob")
    before = store.snapshot()
    res = store.decide([Decision(k1, "confirm", seen, origin="workbook:a.xlsx:7")], reviewer="anna")
    assert not res.applied and len(res.conflicts) == 1
    c = res.conflicts[0]
    assert c.current.status == "rejected" and c.current.updated_by == "bob"
    assert f"version {seen}" in c.reason and "bob" in c.reason
    assert store.snapshot() == before
    # a stale and a fresh decision in one batch: the fresh one applies, the stale one does not
    res = store.decide([Decision(k1, "confirm", seen), Decision(k2, "confirm", store.get(k2).version)],
                       reviewer="anna")
    assert [d.key for d in res.applied] == [k2] and [c.decision.key for c in res.conflicts] == [k1]
    assert store.get(k1).status == "rejected"
    # adding a link someone else has meanwhile created is a conflict too
    res = store.decide([Decision(k1, "add", None)], reviewer="anna")
    assert res.conflicts and "already exists" in res.conflicts[0].reason


def test_a_retarget_is_checked_against_the_new_targets_version_too(store):
    """Anna saw 01.11 → 01.11 and its candidate 01.12 → both pending; Boris rejects 01.12; Anna's
    retarget onto 01.12 must be a conflict (before: applied, overturning his rejection, since
    only the old link's version was checked)."""
    store.propose([proposal("01.11", "01.11"), proposal("01.11", "01.12")])
    old, new = K("01.11", "01.11"), K("01.11", "01.12")
    seen_old, seen_new = store.get(old).version, store.get(new).version
    store.decide([Decision(new, "reject", seen_new, comment="другая группа")], reviewer="boris")
    before = store.snapshot()
    res = store.decide([Decision(old, "retarget", seen_old, new_target="01.12", target_version=seen_new)],
                       reviewer="anna")
    assert not res.applied and len(res.conflicts) == 1
    c = res.conflicts[0]
    assert c.current.key == new and c.current.status == "rejected" and "boris" in c.reason
    assert store.snapshot() == before
    # without the new link's version (it existed): a conflict, as an 'add' of an existing link
    res = store.decide([Decision(old, "retarget", seen_old, new_target="01.12")], reviewer="anna")
    assert len(res.conflicts) == 1 and "already exists" in res.conflicts[0].reason
    # against the version now: applied, and the new link's event records the version it was based on
    now = store.get(new).version
    res = store.decide([Decision(old, "retarget", seen_old, new_target="01.12", target_version=now)],
                       reviewer="anna")
    assert len(res.applied) == 1 and store.get(new).status == "confirmed"
    assert store.history(new)[-1].payload["expected_version"] == now
    # a version for a new link that does not exist, or with another action: invalid
    res = store.decide([Decision(new, "retarget", store.get(new).version, new_target="01.19", target_version=3),
                        Decision(new, "confirm", store.get(new).version, target_version=3)], reviewer="anna")
    assert [why for _, why in res.invalid] == [
        f"no link {K('01.11', '01.19')} in the review store, but target_version 3 was given (a new link has"
        " no version: pass None)", "target_version only goes with retarget, not confirm"]


def test_reapplying_is_idempotent(store):
    links = [proposal("01.11", "01.11", 0.7, ("review",)), proposal("01.12", "01.13", 0.3)]
    assert store.propose(links) == 2
    assert store.propose(links) == 0 and store.propose(list(reversed(links))) == 0
    k = K("01.11", "01.11")
    batch = [Decision(k, "retarget", store.get(k).version, new_target="01.12", comment="c"),
             Decision(K("01.12", "01.13"), "confirm", store.get(K("01.12", "01.13")).version, weight=0.5)]
    first = store.decide(batch, reviewer="anna")
    snap = store.snapshot()
    again = store.decide(batch, reviewer="anna")     # the same workbook imported twice
    assert len(first.applied) == 2 and len(again.unchanged) == 2 and store.snapshot() == snap
    # a proposal with a new score updates the link but keeps the reviewer's decision and flags
    assert store.propose([proposal("01.11", "01.11", 0.9)]) == 1
    s = store.get(k)
    assert (s.status, s.score, s.flags) == ("rejected", 0.9, ("replaced_by:01.12",))


@pytest.mark.parametrize("decision, why", [
    (Decision(K("01.11", "01.11"), "confirm", None), "needs expected_version"),
    (Decision(K("01.11", "01.11"), "approve", 1), "not one of"),
    (Decision(K("09.99", "09.99"), "confirm", 1), "no link"),
    (Decision(K("1.1", "01.11"), "add", None), "not a okved2 code"),
    (Decision(K("01.11", "01.11"), "retarget", 1, new_target="1.2"), "not a nace2 code"),
    (Decision(K("01.11", "01.11"), "retarget", 1), "needs new_target"),
    (Decision(K("01.11", "01.11"), "weight", 1, weight=1.5), "not a number in [0, 1]"),
    (Decision(K("01.11", "01.11"), "reject", 1, weight=0.5), "a weight goes with"),
    (Decision(K("01.11", "01.11"), "comment", 1), "needs a comment"),
    (Decision(K("01.11", "01.11"), "second_review", 1), "second_review needs a verdict"),
    (Decision(K("01.11", "01.11"), "second_review", 1, verdict="maybe"), "second_review needs a verdict"),
    (Decision(K("01.11", "01.11"), "confirm", 1, verdict="confirm"), "only goes with second_review"),
    (Decision(K("01.11", "01.11"), "second_review", 1, verdict="confirm"), "is pending"),
    (Decision(K("01.11", "01.11"), "second_review", 1, verdict="reject", weight=0.5), "a weight goes with"),
    (Decision(LinkKey("okved", "01.11", "nace2", "01.11"), "confirm", 1), "source_scheme 'okved'"),
    (Decision(K("01.11", "01.11"), "confirm", 1, origin=" "), "origin"),
])
def test_invalid_decisions_are_listed_with_the_rule(store, decision, why):
    store.propose([proposal("01.11", "01.11")])
    before = store.snapshot()
    res = store.decide([decision], reviewer="anna")
    assert len(res.invalid) == 1 and why in res.invalid[0][1] and store.snapshot() == before


def test_bad_input_raises_clear_errors(store, tmp_path):
    with pytest.raises(StoreError, match="reviewer name is required"):
        store.decide([], reviewer="  ")
    with pytest.raises(StoreError, match=r"no link okved2:01\.11 → nace2:01\.11"):
        store.get(K("01.11", "01.11"))
    with pytest.raises(StoreError, match=r"proposal 2 .*score 1\.5"):
        store.propose([proposal("01.11", "01.11"), proposal("01.12", "01.12", 1.5)])
    assert store.events() == []                      # all or nothing
    with pytest.raises(StoreError, match="no review store there"):
        ReviewStore(tmp_path / "missing.sqlite", create=False)
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE budget (x)")
    with pytest.raises(StoreError, match="not a crosswalk review store"):
        ReviewStore(foreign)
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as con:
        con.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="schema version 99, newer"):
        ReviewStore(newer)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="junk.sqlite"):
        ReviewStore(junk)


def test_a_failure_mid_batch_rolls_back_the_whole_batch(store, monkeypatch):
    store.propose([proposal("01.11", "01.11"), proposal("01.12", "01.12")])
    before = store.snapshot()
    calls = []
    real = ReviewStore._record

    def failing(self, *a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk gone")
        return real(self, *a, **kw)

    monkeypatch.setattr(ReviewStore, "_record", failing)
    with pytest.raises(OSError):
        store.decide([Decision(K(c, c), "confirm", store.get(K(c, c)).version) for c in ("01.11", "01.12")],
                     reviewer="anna")
    assert store.snapshot() == before


# -- files and file systems --------------------------------------------------------------
def test_network_file_system_is_refused(tmp_path, monkeypatch):
    share = tmp_path / "my share"
    share.mkdir()
    (share / "local").mkdir()
    esc = str(share).replace(" ", "\\040")
    mounts = (f"/dev/vda / ext4 rw 0 0\nserver:/export {esc} nfs4 rw,vers=4.2 0 0\n"
              f"/dev/vdb {esc}/local ext4 rw 0 0\n")
    monkeypatch.setattr(store_mod, "read_mounts", lambda: mounts)
    with pytest.raises(StoreError, match=r"network file system \(nfs4\); SQLite WAL needs shared memory"):
        ReviewStore(share / "review.sqlite")
    assert not (share / "review.sqlite").exists()
    with pytest.warns(RuntimeWarning, match="rollback-journal"):
        s = ReviewStore(share / "review.sqlite", allow_network_fs=True)
    assert s.journal_mode == "delete" and s.pragma("journal_mode") == "delete" and "nfs4" in s.notice
    s.close()
    with ReviewStore(share / "local" / "review.sqlite") as s:  # a local disk mounted inside the share
        assert s.journal_mode == "wal" and s.notice is None
    monkeypatch.setattr(store_mod, "read_mounts", lambda: None)   # no /proc/mounts (macOS)
    with ReviewStore(tmp_path / "review.sqlite") as s:
        assert s.journal_mode == "wal"


def test_a_busy_store_times_out_with_a_clear_error(tmp_path):
    path = tmp_path / "review.sqlite"
    with ReviewStore(path) as a, ReviewStore(path, busy_timeout=0.2) as b:
        a.propose([proposal("01.11", "01.11")])
        a._conn().execute("BEGIN IMMEDIATE")            # someone holds the write lock
        with pytest.raises(StoreError, match="another process held the store"):
            b.propose([proposal("01.12", "01.12")])
        assert b.get(K("01.11", "01.11")).status == "pending"   # readers are not blocked (WAL)
        a._conn().execute("ROLLBACK")


def test_two_connections_in_two_threads_lose_nothing(tmp_path):
    path = tmp_path / "review.sqlite"
    keys = [K(f"{i:02d}.11", f"{i:02d}.11") for i in range(10, 40)]
    with ReviewStore(path) as s:
        s.propose([{"key": k, "score": 0.5} for k in keys])
    start = threading.Barrier(2)
    out: dict = {}

    def work(name):
        applied, conflicts = [], 0
        with ReviewStore(path) as s:
            start.wait()
            for k in keys:
                for attempt in range(50):
                    token = f"{name}-{k.source_code}-{attempt}"
                    res = s.decide([Decision(k, "comment", s.get(k).version, comment=token)], reviewer=name)
                    if res.applied:
                        applied.append(token)
                        break
                    conflicts += len(res.conflicts)
        out[name] = (applied, conflicts)

    threads = [threading.Thread(target=work, args=(n,)) for n in ("anna", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with ReviewStore(path) as s:
        logged = [e.payload["comment"] for e in s.events() if e.action == "comment"]
        assert sorted(logged) == sorted(out["anna"][0] + out["bob"][0])
        assert len(logged) == 2 * len(keys)
        for k in keys:                                   # each edit was based on the one before it
            h = s.history(k)
            assert all(b.previous["version"] == a.id for a, b in zip(h, h[1:]))
        snap = s.snapshot()
        s.rebuild_state()
        assert s.snapshot() == snap


# -- policies ----------------------------------------------------------------------------
def test_policy_events_apply_and_report(store):
    store.propose([proposal("01.11", "01.11", 0.95), proposal("01.12", "01.12", 0.91),
                   proposal("01.13", "01.13", 0.5), proposal("01.14", "01.19", 0.97)])
    store.decide([Decision(K("01.14", "01.19"), "reject", store.get(K("01.14", "01.19")).version)],
                 reviewer="anna")
    with pytest.raises(StoreError, match="no auto-accept policy"):
        store.apply_policy("okved2", "nace2")
    assert store.policy("okved2", "nace2") is None
    first = store.set_policy("okved2", "nace2", 0.8, reviewer="lead")
    second = store.set_policy("okved2", "nace2", 0.9, reviewer="anna")
    assert store.policy("okved2", "nace2") == 0.9 and store.policy("okz2014", "isco08") is None
    pol = [e for e in store.events() if e.action == "policy"]
    assert [(e.id, e.reviewer, e.key) for e in pol] == [(first, "lead", None), (second, "anna", None)]
    assert pol[1].previous["threshold"] == 0.8 and pol[1].payload["source_scheme"] == "okved2"
    with pytest.raises(StoreError, match="threshold"):
        store.set_policy("okved2", "nace2", 1.2, reviewer="lead")
    assert store.apply_policy("okved2", "nace2") == 2   # not the rejected one, not the 0.5 one
    assert store.apply_policy("okved2", "nace2") == 0
    acc = store.get(K("01.11", "01.11"))
    assert acc.status == "confirmed" and acc.updated_by == "policy"
    assert store.history(acc.key)[-1].payload["policy_event"] == second
    assert store.get(K("01.14", "01.19")).status == "rejected"
    # a reviewer overrides one accepted link
    store.decide([Decision(K("01.12", "01.12"), "reject", store.get(K("01.12", "01.12")).version)],
                 reviewer="anna")
    rep = policy_report(store, "okved2", "nace2", {"01.11": {"01.11"}, "01.12": {"01.12"}})
    assert rep["threshold"] == 0.9 and rep["set_by"] == "anna" and rep["set_at"].endswith("Z")
    assert (rep["accepted"], rep["overridden"], rep["pending_left"]) == (1, 1, 1)
    assert (rep["gold_checked"], rep["error_rate"]) == (1, 0.0)
    rep = policy_report(store, "okved2", "nace2", {"01.11": {"01.13"}})
    assert (rep["gold_checked"], rep["gold_wrong"], rep["error_rate"]) == (1, 1, 1.0)
    assert policy_report(store, "okved2", "nace2")["error_rate"] is None
    snap = store.snapshot()
    store.rebuild_state()
    assert store.snapshot() == snap


# -- build output and the command line ----------------------------------------------------
def _build_folder(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    (out / "candidates").mkdir(parents=True)
    (out / "crosswalks").mkdir()
    cands = [Candidate("01.11", "01.11", 0.93, 1, {"structure": 1.0}), Candidate("01.11", "01.12", 0.4, 2),
             Candidate("01.11", "01.13", 0.3, 3), Candidate("01.11", "01.19", 0.2, 4),
             Candidate("62.01", "62.01", 0.6, 1)]
    write_candidates(out / "candidates" / "okved2__nace2.csv", CandidateSet(
        "okved2", "nace2", cands, {"01.11": "=Выращивание", "62.01": "Разработка ПО"}, {"01.11": "Growing"}))
    (out / "crosswalks" / "okved2__nace2__isic4.csv").write_text(
        "source_scheme,source_code,source_title,target_scheme,target_code,target_title,score,weight,relation,"
        "origin,via,flags\r\nokved2,62.01,x,isic4,6201,y,0.6,1,1:1,derived,nace2:62.01,review\r\n", encoding="utf-8")
    return out


def test_load_build_output_of_a_build_without_drafts(tmp_path, store):
    """A build written before drafts: each item's best candidate is its proposal, the next
    ones (rank ≤ top) its alternatives, all pending."""
    out = _build_folder(tmp_path)
    got = load_build_output(store, out)
    assert got.files == {"okved2__nace2.csv": {"accepted": 0, "proposals": 2, "alternatives": 2, "events": 4}}
    assert load_build_output(store, out).files["okved2__nace2.csv"]["events"] == 0
    s = store.get(K("62.01", "62.01"))
    assert (s.role, s.rank, s.status) == ("proposal", 1, "pending") and s.source_title == "Разработка ПО"
    assert store.get(K("01.11", "01.11")).source_title == "=Выращивание"   # the text itself, unescaped
    assert [(st.key.target_code, st.role) for st in store.links() if st.key.source_code == "01.11"] == [
        ("01.11", "proposal"), ("01.12", "alternative"), ("01.13", "alternative")]
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError, match="no candidates"):
        load_build_output(store, tmp_path / "empty")
    with pytest.raises(LoadError, match="column 'rank' is missing"):   # not a candidates file
        load_build_output(store, tmp_path / "out" / "crosswalks" / "okved2__nace2__isic4.csv")


def test_load_build_output_accepts_identities_and_never_overrides_a_person(tmp_path, store):
    out = _build_folder(tmp_path)
    (out / "crosswalks" / "okved2__nace2.csv").write_text(
        "source_scheme,source_code,source_title,target_scheme,target_code,target_title,score,weight,relation,"
        "origin,status,weakest_step,via,flags\r\n"
        "okved2,01.11,x,nace2,01.11,y,1.0000,1.000000,1:1,structure,confirmed,,,identity\r\n"
        "okved2,62.01,x,nace2,62.01,y,0.6000,1.000000,1:1,proposed,proposed,,,review\r\n", encoding="utf-8")
    got = load_build_output(store, out).files["okved2__nace2.csv"]
    # 01.11: the identity, proposed and accepted (2 events), no alternatives; 62.01: its proposal
    assert got == {"accepted": 1, "proposals": 1, "alternatives": 0, "events": 3}
    ident = store.get(K("01.11", "01.11"))
    assert (ident.status, ident.origin, ident.flags) == ("confirmed", "structure", ("identity",))
    assert [e.action for e in store.history(K("01.11", "01.11"))] == ["propose", "auto_accept"]
    assert store.history(K("01.11", "01.11"))[1].payload == {"rule": "structure"}
    prop = store.get(K("62.01", "62.01"))
    assert (prop.status, prop.role, prop.flags) == ("pending", "proposal", ("review",))
    # a reviewer rejects the identity; loading the build again leaves the rejection standing
    store.decide([Decision(K("01.11", "01.11"), "reject", ident.version)], reviewer="anna")
    assert load_build_output(store, out).files["okved2__nace2.csv"]["events"] == 0
    assert store.get(K("01.11", "01.11")).status == "rejected"


def test_cli_review_commands(tmp_path, monkeypatch):
    out = _build_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    run = CliRunner().invoke
    r = run(cli, ["review", "status"])
    assert r.exit_code == 1 and "no review store there" in r.output
    r = run(cli, ["review", "load", str(out), "--reviewer", "builder"])
    assert r.exit_code == 0 and "4 new" in r.output and (tmp_path / "crosswalk-review.sqlite").exists()
    store = ["--store", "crosswalk-review.sqlite"]
    r = run(cli, ["review", "status", *store, "--format", "json"])
    pairs = json.loads(r.output)["pairs"]
    assert pairs == [{"source_scheme": "okved2", "target_scheme": "nace2", "pending": 4, "confirmed": 0,
                      "rejected": 0, "policy": None}]
    r = run(cli, ["review", "decide", "okved2:01.11", "nace2:01.12", "reject", "--reviewer", "anna", *store,
                  "--comment", "другая группа"])
    assert r.exit_code == 0 and "rejected" in r.output
    r = run(cli, ["review", "decide", "okved2:01.11", "nace2:01.12", "confirm", "--reviewer", "bob", *store,
                  "--expected-version", "2"])
    assert r.exit_code == 1 and "conflict, nothing changed" in r.output and "anna" in r.output
    r = run(cli, ["review", "decide", "okved2:01.11", "nace2:01.12", "confirm", *store])
    assert r.exit_code == 2 and "--reviewer" in r.output
    r = run(cli, ["review", "history", "okved2:01.11", "nace2:01.12", *store, "--format", "json"])
    hist = json.loads(r.output)
    assert [e["action"] for e in hist[0]["events"]] == ["propose", "reject"]
    assert hist[0]["events"][1]["payload"]["comment"] == "другая группа"
    r = run(cli, ["review", "history", "okved2:01.11", *store])
    assert r.exit_code == 2
    r = run(cli, ["review", "policy", "set", "okved2", "nace2", "0.9", "--reviewer", "lead", *store])
    assert r.exit_code == 0 and "0.9" in r.output
    r = run(cli, ["review", "policy", "apply", "okved2", "nace2", "--reviewer", "lead", *store])
    assert r.exit_code == 0 and "1 links auto-accepted" in r.output
    gold = tmp_path / "gold.csv"
    gold.write_text("source_code,target_code\n01.11,01.11\n62.01,62.02\n", encoding="utf-8")
    r = run(cli, ["review", "policy", "show", "okved2", "nace2", *store, "--gold", str(gold), "--format", "json"])
    rep = json.loads(r.output)
    assert (rep["accepted"], rep["gold_checked"], rep["error_rate"], rep["set_by"]) == (1, 1, 0.0, "lead")
    r = run(cli, ["review", "policy", "show", "okved2", "nace2", *store])
    assert r.exit_code == 0 and "accepted 1" in r.output


@pytest.mark.parametrize("start", [1, 2])
def test_an_older_store_is_migrated_and_keeps_its_log(tmp_path, start):
    """Schema v2 widened the log's action CHECK for 'reopen', v3 for 'second_review', each by
    copying the log into a new table: every event keeps its id, the triggers still refuse
    UPDATE/DELETE, and a verdict written the old way (a comment marker) still counts."""
    from crosswalk.review.kappa import ReviewIndex
    from crosswalk.review.migrations import _V1, _V2, SCHEMA_VERSION
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path, isolation_level=None)
    for stmt in _V1 + (_V2 if start == 2 else ()):
        con.execute(stmt)
    con.execute(f"PRAGMA user_version = {start}")
    link = ("okved2", "01.11", "nace2", "01.11")
    log = [("anna", "propose", {"score": 0.9, "evidence": {}, "origin": "proposed", "flags": [],
                                "source_title": "a", "target_title": "b"}, None),
           ("anna", "confirm", {"expected_version": 1}, {"status": "pending", "version": 1})]
    if start == 2:   # an undo and a new decision, as the browser writes them in v2
        log += [("anna", "reopen", {"expected_version": 2}, {"status": "confirmed", "version": 2}),
                ("anna", "confirm", {"expected_version": 3}, {"status": "pending", "version": 3})]
    n = len(log)
    log.append(("boris", "comment", {"expected_version": n, "comment": '{"second_review": "reject"}'},
                {"status": "confirmed", "version": n, "updated_by": "anna"}))
    for who, action, payload, previous in log:
        con.execute("INSERT INTO events (ts, reviewer, action, source_scheme, source_code, target_scheme,"
                    " target_code, payload, previous, origin) VALUES ('2026-01-01T00:00:00Z', ?, ?, ?, ?, ?, ?,"
                    " ?, ?, 'test')", (who, action, *link, json.dumps(payload),
                                       None if previous is None else json.dumps(previous)))
    con.close()
    store = ReviewStore(path)
    store.rebuild_state()
    assert store.pragma("user_version") == SCHEMA_VERSION == 8
    key = LinkKey(*link)
    assert [(e.id, e.action) for e in store.events()] == [(i, a) for i, (_, a, _, _) in enumerate(log, start=1)]
    st = store.get(key)
    assert (st.status, st.version, st.updated_by) == ("confirmed", len(log), "boris")
    idx = ReviewIndex()
    idx.feed(store.events())
    r = idx.links[key]
    assert (r.first, r.first_by, r.second, r.second_by) == ("confirm", "anna", "reject", "boris")
    res = store.decide([Decision(key, "second_review", st.version, verdict="confirm")], reviewer="carla")
    assert len(res.applied) == 1 and store.get(key) == st
    idx.feed(store.events(idx.last_id))
    assert (idx.links[key].second, idx.links[key].second_by) == ("confirm", "carla")
    res = store.decide([Decision(key, "reopen", st.version)], reviewer="anna")
    assert len(res.applied) == 1 and store.get(key).status == "pending"
    assert [e.action for e in store.events()][-2:] == ["second_review", "reopen"]
    raw = sqlite3.connect(path)
    for stmt in ("DELETE FROM events", "UPDATE events SET reviewer = 'x'"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute(stmt)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        raw.execute("INSERT INTO events (ts, reviewer, action, payload, origin) VALUES ('t', 'x', 'bogus', '{}', 'x')")
    raw.close()
    store.close()


def test_the_v2_migration_is_what_was_released():
    """v2 and v3 are built by one function; v2 must stay what it was for stores not yet at v2."""
    from crosswalk.review.migrations import _V1, _V2, _V3
    assert _V2[1].count("'reopen'") == 1 and "second_review" not in _V2[1]
    assert "'auto_accept',\n" + " " * 47 + "'reopen')" in _V2[1]
    assert _V2[1].startswith("CREATE TABLE events_v2 (") and _V3[1].startswith("CREATE TABLE events_v3 (")
    assert _V2[2:] == ("INSERT INTO events_v2 SELECT * FROM events", "DROP TABLE events",
                       "ALTER TABLE events_v2 RENAME TO events", _V1[1], _V1[2], _V1[3], _V1[4], _V1[7])
    assert _V2[1].replace("events_v2", "events_v3").replace("'reopen')", "'reopen',\n" + " " * 47
                                                            + "'second_review')") == _V3[1]


# -- second review ----------------------------------------------------------------------
def test_a_second_review_is_logged_but_leaves_the_link_as_it_is(store, tmp_path):
    from crosswalk.export import export
    k = K("01.11", "01.11")
    store.propose([proposal("01.11", "01.11")])
    store.decide([Decision(k, "confirm", store.get(k).version, comment="ok")], reviewer="anna")
    seen = store.get(k)                     # anna's tab and boris's blind tab both show this
    last, checksum = store.snapshot()

    def second(verdict, version, **kw):
        return store.decide([Decision(k, "second_review", version, verdict=verdict, origin="browser:second",
                                      **kw)], reviewer="boris")

    assert len(second("reject", seen.version).applied) == 1
    assert store.get(k) == seen and store.snapshot() == (last + 1, checksum)
    ev = store.history(k)[-1]
    assert (ev.action, ev.reviewer, ev.origin) == ("second_review", "boris", "browser:second")
    assert ev.payload == {"expected_version": seen.version, "verdict": "reject"}
    assert ev.previous["status"] == "confirmed" and ev.previous["updated_by"] == "anna"
    # the same verdict again is unchanged; another verdict or a note is a new event
    assert len(second("reject", seen.version).unchanged) == 1 and store.snapshot()[0] == last + 1
    assert len(second("confirm", seen.version).applied) == 1
    assert len(second("confirm", seen.version, comment="on reflection").applied) == 1
    # anna's tab does not conflict: her version is still current
    res = store.decide([Decision(k, "weight", seen.version, weight=1.0)], reviewer="anna")
    assert len(res.applied) == 1
    now = store.get(k)
    assert len(second("confirm", seen.version, comment="on reflection").unchanged) == 1   # sent twice
    res = second("reject", seen.version)                                          # stale: a conflict
    assert len(res.conflicts) == 1 and "changed since you saw it" in res.conflicts[0].reason
    assert len(second("confirm", now.version).applied) == 1                      # a later version
    store.rebuild_state()
    assert store.get(k) == now
    # the export's reviewed_by is the one who decided, not the second reviewer
    result = export(store, tmp_path / "export", formats=("csv",))
    (csv_file,) = [p for p in result.files if p.suffix == ".csv"]
    text = csv_file.read_text(encoding="utf-8-sig")
    assert "anna" in text and "boris" not in text


def test_a_second_review_needs_a_decided_link_and_another_reviewer(store):
    a, p, auto = K("01.11", "01.11"), K("01.12", "01.12"), K("02.10", "02.10")
    store.propose([proposal("01.11", "01.11"), proposal("01.12", "01.12"), proposal("02.10", "02.10", 0.95)])
    store.decide([Decision(a, "confirm", store.get(a).version)], reviewer="anna")
    store.decide([Decision(a, "comment", store.get(a).version, comment="see notes")], reviewer="boris")
    store.set_policy("okved2", "nace2", 0.9, reviewer="lead")
    store.apply_policy("okved2", "nace2")
    res = store.decide([Decision(a, "second_review", store.get(a).version, verdict="confirm"),
                        Decision(p, "second_review", store.get(p).version, verdict="confirm")], reviewer="anna")
    assert [why for _, why in res.invalid] == [
        f"anna made the current decision on {a} (confirm, event 4); a second review needs another reviewer",
        f"{p} is pending: a second review needs a decided link"]
    # boris's comment is not a decision: he may second-review; so may anyone after the policy
    res = store.decide([Decision(a, "second_review", store.get(a).version, verdict="reject"),
                        Decision(auto, "second_review", store.get(auto).version, verdict="confirm")],
                       reviewer="boris")
    assert len(res.applied) == 2
    store.decide([Decision(a, "reopen", store.get(a).version)], reviewer="carla")
    res = store.decide([Decision(a, "second_review", store.get(a).version, verdict="reject")], reviewer="boris")
    assert "pending" in res.invalid[0][1]


def test_decide_all_or_nothing_rolls_back_the_batch_on_a_conflict(tmp_path):
    from crosswalk.review.store import Decision, LinkKey, ReviewStore
    a, b = LinkKey("okved2", "01.11", "nace2", "01.11"), LinkKey("okved2", "01.12", "nace2", "01.12")
    with ReviewStore(tmp_path / "r.sqlite") as s:
        s.propose([{"key": a, "score": 0.5}, {"key": b, "score": 0.5}])
        va, vb = s.get(a).version, s.get(b).version
        before = s.snapshot()
        res = s.decide([Decision(a, "confirm", va), Decision(b, "confirm", vb + 100)], reviewer="anna",
                       all_or_nothing=True)
        assert res.applied == [] and [d.key for d in res.rolled_back] == [a] and len(res.conflicts) == 1
        assert len(res) == 2 and s.snapshot() == before and s.get(a).status == "pending"
        # without it (the workbook import) the good decision goes through
        res = s.decide([Decision(a, "confirm", va), Decision(b, "confirm", vb + 100)], reviewer="anna")
        assert [d.key for d in res.applied] == [a] and s.get(a).status == "confirmed"


def test_the_catalogue_of_items_lets_a_reviewer_retarget_to_a_code_no_link_names(store):
    """Free text coded to OKZ proposes three groups; the right one may be a fourth. The store's
    catalogue (schema v4) knows every group, so the retarget is checked and gets its title."""
    store.propose([{"key": LinkKey("text", "T0123456789ab", "okz2014", "4311"), "score": 0.1,
                    "source_title": "Главный бухгалтер", "target_title": "Служащие по учёту"}])
    assert "1211" not in store.known_codes("okz2014")
    assert store.register_items("okz2014", [("1211", "Управляющие финансовой деятельностью"),
                                            ("4311", "Служащие по учёту")]) == 2
    assert store.register_items("okz2014", [("1211", "Управляющие финансовой деятельностью")]) == 0
    assert {"1211", "4311"} <= store.known_codes("okz2014")
    link = store.get(LinkKey("text", "T0123456789ab", "okz2014", "4311"))
    res = store.decide([Decision(link.key, "retarget", link.version, new_target="1211")], reviewer="anna")
    assert len(res.applied) == 1
    new = store.get(LinkKey("text", "T0123456789ab", "okz2014", "1211"))
    assert (new.status, new.target_title) == ("confirmed", "Управляющие финансовой деятельностью")
    with pytest.raises(StoreError, match=r"item 1: code '1.1' is not a okz2014 code"):
        store.register_items("okz2014", [("1.1", "x")])
    with pytest.raises(StoreError, match="item 1: scheme 'okz'"):
        store.register_items("okz", [("1211", "x")])


def test_rows_of_free_text_titles_add_up_over_files_not_over_reruns(store):
    """Schema v5: a coded batch's row counts, named by their digest — coding the same file
    twice counts it once, a second file adds; bad codes and counts are refused by name."""
    a, b = "T0123456789ab", "Tba9876543210"
    batch = store.record_text_rows({a: 5, b: 1})
    assert store.record_text_rows({b: 1, a: 5}) == batch and store.text_rows() == {a: 5, b: 1}
    assert store.record_text_rows({a: 2}) != batch and store.text_rows() == {a: 7, b: 1}
    with pytest.raises(StoreError, match=r"text rows of 'Главный': code 'Главный' is not a text code"):
        store.record_text_rows({"Главный": 1})
    with pytest.raises(StoreError, match=r"text rows of 'T0123456789ab': rows -1 is not a count"):
        store.record_text_rows({a: -1})
    assert store.text_rows() == {a: 7, b: 1}


def test_loading_a_build_fills_the_catalogue_with_the_target_levels(tmp_path, monkeypatch):
    """After `review load OUT`, a reviewer may retarget an OKPDTR→OKZ link to any OKZ unit
    group of the classification the build loaded, not only to the candidates' groups."""
    from crosswalk.build import build
    from crosswalk.settings import BuildConfig
    raw = Path(__file__).parent.parent / "raw_classifiers"
    monkeypatch.chdir(raw.parent)                  # summary.json names files as the build found them
    out = tmp_path / "out"
    build(BuildConfig.discover("raw_classifiers", output=str(out), embeddings=False))
    r = CliRunner().invoke(cli, ["review", "load", str(out), "--store", str(tmp_path / "s.sqlite")])
    assert r.exit_code == 0, r.output
    assert "okz2014: 52 items added to the catalogue" in r.output
    with ReviewStore(tmp_path / "s.sqlite") as store:
        units = store.known_codes("okz2014")
        assert "9321" in units and "93" not in units            # unit groups, not their parents
        assert load_build_output(store, out).catalogue["okz2014"] == 0   # loading again changes nothing


def test_load_build_output_offers_the_codes_a_combined_file_added(tmp_path, store):
    """The build combined the OKZ label list with the examples extract (which adds codes the list
    lacks); review load rebuilds the same classification, so reviewers may type those codes too."""
    data = ROOT / "tests" / "data" / "okz"
    out = tmp_path / "out"
    (out / "candidates").mkdir(parents=True)
    (out / "candidates" / "okpdtr__okz2014.csv").write_text(
        "source_scheme,source_code,source_title,target_scheme,target_code,target_title,rank,score,evidence\r\n"
        "okpdtr,11442,Водитель автомобиля,okz2014,1111,Законодатели,1,0.3,{}\r\n", encoding="utf-8")
    summary = {"files": {"okz2014": str(data / "labels_defects.json")},
               "combined": {"okz2014": [{"file": str(data / "examples_extract.json"),
                                         "codes_added": ["1114", "2266", "4313", "7323", "8131"]}]}}
    (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    got = load_build_output(store, out)
    assert got.catalogue == {"okz2014": 11}
    assert {"1111", "1114", "8131"} <= set(store.items("okz2014"))
    # the review app reads the classification as the build had it: the joined file's codes and texts
    from crosswalk.review.web.data import recorded_classifications
    assert store.schemes()["okz2014"]["joined"] == str(data / "examples_extract.json")
    classes, notes = recorded_classifications(store)
    assert notes == [] and classes["okz2014"].get("1114").attrs.get("examples")
