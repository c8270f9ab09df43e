"""The fast paths of review at scale give what the slow obvious ones give (issue 15, item 5):
the export's one-pass read of items and snapshot, item decisions planned from the states read
with the item, the look-up of a typed code, the workbook import against the same decisions
made directly, the writer's memo of texts and the candidates reader's memo of codes. Content,
never timing."""
from __future__ import annotations

import io
import shutil
import sqlite3

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from crosswalk.candidates import read_candidates
from crosswalk.errors import LoadError
from crosswalk.review import ReviewStore
from crosswalk.review.items import ItemDecision, ItemKey
from crosswalk.review.records import reduce_event
from crosswalk.review.workbook import export_workbook, import_workbook
from crosswalk.review.workbook_layout import header_ids
from crosswalk.review.workbook_write import Row, write_rows


def _entries(code, cands, title="Аппаратчик гидролиза"):
    return [{"source_scheme": "okpdtr", "source_code": code, "target_scheme": "okz2014", "target_code": t,
             "score": sc, "origin": "proposed", "rank": r, "role": "proposal" if r == 1 else "alternative",
             "source_title": title, "target_title": f"группа {t}", "evidence": {"title_tokens": sc, "part": 1.0},
             "flags": ("review",) if r == 1 else ()}
            for r, (t, sc) in enumerate(cands, 1)]


def _fill(s: ReviewStore) -> None:
    s._clock = lambda: "2024-03-01T21:30:00.000Z"
    s.propose(_entries("13110", (("8131", 0.41), ("8112", 0.40), ("3116", 0.2)))
              + _entries("13111", (("8131", 0.5), ("8112", 0.3)), "Аппаратчик обжига")
              + _entries("13112", (("3116", 0.6), ("8112", 0.3)), "Аппаратчик сушки"))
    s.register_items("okz2014", [("8131", "Операторы"), ("8112", "x"), ("3116", "y"), ("2145", "Инженеры-химики")])
    s.propose([{"source_scheme": "okz2014", "source_code": c, "target_scheme": "isco08", "target_code": c,
                "score": 1.0, "origin": "structure", "accept": "structure"} for c in ("8131", "8112", "2145")])


def _replayed_previous(s: ReviewStore) -> None:
    """Every link event's ``previous`` is the link's state just before it, replayed from the log."""
    state: dict = {}
    for e in s.events():
        if e.key is None:
            continue
        k = (e.key.source_scheme, e.key.source_code, e.key.target_scheme, e.key.target_code)
        before = state.get(k)
        if e.action != "policy":
            assert e.previous == before, (e.id, e.action, k)
        state[k] = reduce_event(before, e.action, e.payload, version=e.id, reviewer=e.reviewer, ts=e.ts)


CHOICE = st.sampled_from(["accept", "pick", "split", "no_match", "reopen"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(["13110", "13111", "13112"]), CHOICE,
                              st.sampled_from(["8131", "8112", "2145", "3116"]), st.booleans()),
                    min_size=1, max_size=8))
def test_item_decisions_and_the_one_pass_read_match_the_slow_reads(tmp_path_factory, ops):
    with ReviewStore(tmp_path_factory.mktemp("f") / "r.sqlite") as s:
        _fill(s)
        batch = []
        for code, choice, target, together in ops:
            key = ItemKey("okpdtr", code, "okz2014")
            targets = (((target, None),) if choice == "pick" else
                       ((target, 0.25), ("8131" if target != "8131" else "8112", 0.75)) if choice == "split" else ())
            d = ItemDecision(key, choice, s.item(key).version, targets)
            if together:             # several decisions in one transaction, on the same item too
                batch.append(d)
                continue
            s.decide_items(batch + [d], reviewer="anna")
            batch = []
        s.decide_items(batch, reviewer="boris")
        _replayed_previous(s)
        for pair in ((None, None), ("okpdtr", "okz2014"), ("okz2014", "isco08"), ("okpdtr", None)):
            last, checksum, items = s.items_at_snapshot(*pair)
            assert (last, checksum) == s.snapshot()
            assert items == s.items_of(*pair)
        snap = s.snapshot()
        s.rebuild_state()
        assert s.snapshot() == snap


def test_a_typed_code_is_known_by_the_catalogue_or_a_links_target_only(tmp_path):
    """knows_code_in answers what a scan of the catalogue and of the links' targets answers: a code
    only a link's *source* names (OKZ 8112 as the source of an okz2014 → isco08 link, dropped from
    the catalogue here) is not a code a reviewer may pick."""
    with ReviewStore(tmp_path / "r.sqlite") as s:
        _fill(s)
        con = s._conn()
        con.execute("BEGIN IMMEDIATE")
        con.execute("DELETE FROM items WHERE code = '8112'")
        slow = {r[0] for r in con.execute("SELECT code FROM items WHERE scheme = 'okz2014'")} | {
            r[0] for r in con.execute("SELECT target_code FROM link_state WHERE target_scheme = 'okz2014'")}
        for code in ("8131", "8112", "3116", "2145", "9999", "13110"):
            assert s.knows_code_in(con, "okz2014", code) == (code in slow), code
        assert s.knows_code_in(con, "isco08", "8112") and not s.knows_code_in(con, "isco08", "3116")
        con.execute("ROLLBACK")
        plan = " ".join(r[-1] for r in con.execute(
            "EXPLAIN QUERY PLAN SELECT 1 FROM link_state WHERE target_scheme = ? AND target_code = ?", ("a", "b")))
        assert "link_state_by_target" in plan          # a look-up, not a scan of every link


def test_a_store_of_schema_7_gains_the_index_of_targets(tmp_path):
    from crosswalk.review.migrations import MIGRATIONS
    path = tmp_path / "v7.sqlite"
    con = sqlite3.connect(path, isolation_level=None)
    for _, stmts in MIGRATIONS[:7]:
        for stmt in stmts:
            con.execute(stmt)
    con.execute("PRAGMA user_version = 7")
    con.close()
    with ReviewStore(path) as s:
        assert s.pragma("user_version") == 8
        names = {r[0] for r in s._conn().execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "link_state_by_target" in names and s.check() == []


def test_a_workbook_import_stores_what_the_same_decisions_made_directly_store(tmp_path):
    """Accept, an alternative, a typed code, a split and no correspondence written in the workbook
    leave the store exactly as the same item decisions made through decide_items (same events,
    same states, same snapshot), the workbook's origins aside."""
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    with ReviewStore(a) as s:
        _fill(s)
        s.propose(_entries("13113", (("8131", 0.7), ("3116", 0.6))) + _entries("13114", (("8112", 0.9), ("8131", 0.2))))
    shutil.copy(a, b)
    book = tmp_path / "review.xlsx"
    with ReviewStore(a) as s:
        export_workbook(s, book, source_scheme="okpdtr", target_scheme="okz2014")
        before = {k: s.item(ItemKey("okpdtr", k, "okz2014")).version for k in ("13110", "13111", "13112", "13113", "13114")}
    wb = openpyxl.load_workbook(book)
    ws = wb.worksheets[0]
    col = {cid: i + 1 for cid, i in header_ids([c.value for c in ws[1]]).items()}
    at = {(ws.cell(r, col["source_code"]).value, ws.cell(r, col["target_code"]).value): r for r in range(2, ws.max_row + 1)}
    for (src, tgt), cells in {("13110", "8131"): {"decision": "принять"},
                              ("13111", "8112"): {"decision": "принять", "comment": "альтернатива"},
                              ("13112", "3116"): {"decision": "выбрать код", "new_target": "2145"},
                              ("13113", "8131"): {"decision": "разделить", "weight": "0,7"},
                              ("13113", "3116"): {"decision": "разделить", "weight": "0,3"},
                              ("13114", "8112"): {"decision": "нет соответствия"}}.items():
        for cid, v in cells.items():
            ws.cell(at[src, tgt], col[cid]).value = v
    wb.save(book)
    with ReviewStore(a) as s:
        s._clock = lambda: "2024-03-02T10:00:00.000Z"
        rep = import_workbook(s, book, reviewer="anna")
        assert rep.ok and rep.decisions == 5 and rep.applied == 6
        via_book = s.snapshot(), [(e.action, e.key, e.item, e.payload, e.previous) for e in s.events()]
    i = lambda code: ItemKey("okpdtr", code, "okz2014")     # noqa: E731
    with ReviewStore(b) as s:
        s._clock = lambda: "2024-03-02T10:00:00.000Z"
        res = s.decide_items([ItemDecision(i("13110"), "accept", before["13110"]),
                              ItemDecision(i("13111"), "pick", before["13111"], (("8112", None),), "альтернатива"),
                              ItemDecision(i("13112"), "pick", before["13112"], (("2145", None),)),
                              ItemDecision(i("13113"), "split", before["13113"], (("8131", 0.7), ("3116", 0.3))),
                              ItemDecision(i("13114"), "no_match", before["13114"])], reviewer="anna")
        assert len(res.applied) == 5
        direct = s.snapshot(), [(e.action, e.key, e.item, e.payload, e.previous) for e in s.events()]
    assert via_book == direct


def test_a_text_written_twice_is_one_shared_string_and_a_repaired_one_is_reported_at_each_cell():
    rows = [Row({"source_title": "Аппаратчик", "comment_now": "bad\x07"}, first=True),
            Row({"source_title": "Аппаратчик", "comment_now": "bad\x07"})]
    w = write_rows(rows, lang="ru", meta={"format": "x"}, title="t", file="t.xlsx")
    z = __import__("zipfile").ZipFile(io.BytesIO(w.data))
    shared = z.read("xl/sharedStrings.xml").decode("utf-8")
    assert shared.count("Аппаратчик") == 1
    assert len([p for p in w.problems if p.kind == "illegal_xml_character"]) == 2 and len(w.changed) == 2
    ws = openpyxl.load_workbook(io.BytesIO(w.data)).worksheets[0]
    assert [ws.cell(r, 3).value for r in (2, 3)] == ["Аппаратчик", "Аппаратчик"]


def test_a_malformed_code_is_reported_at_every_row_it_is_in(tmp_path):
    """The candidates reader remembers valid codes only: a bad one is refused at each row."""
    head = "source_scheme,source_code,source_title,target_scheme,target_code,target_title,rank,score,evidence\n"
    rows = ["okpdtr,13110,a,okz2014,8131,x,1,0.5,{}", "okpdtr,13110,a,okz2014,81.31,x,2,0.4,{}",
            "okpdtr,13111,b,okz2014,81.31,x,1,0.4,{}", "okpdtr,13111,b,okz2014,8131,x,2,0.3,{}"]
    path = tmp_path / "c.csv"
    path.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(LoadError) as exc:
        read_candidates(path)
    rep = exc.value.report
    assert [(p.row, p.kind) for p in rep.errors] == [(3, "code_format"), (4, "code_format")]
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (4, 2, 2)
    path.write_text(head + "\n".join(r.replace("81.31", "8112") for r in rows) + "\n", encoding="utf-8")
    got = read_candidates(path)
    assert [(c.source, c.target) for c in got.candidates] == [("13110", "8131"), ("13110", "8112"),
                                                              ("13111", "8112"), ("13111", "8131")]
    assert dict(got.candidates[0].evidence) == {}


@pytest.mark.parametrize("evidence, loaded", [
    ('{"a": 0.5, "b": 1.0}', {"a": 0.5, "b": 1.0}), ('{"a": 1, "b": 0}', {"a": 1.0, "b": 0.0}), ("{}", {}),
    ('{"a": -0.0}', {"a": 0.0}), ('{"a": NaN}', None), ('{"a": 0.5, "b": NaN}', None), ('{"a": true}', None),
    ('{"a": 1.5}', None), ('{"a": Infinity}', None), ('[0.5]', None), ('{"a": "0.5"}', None)])
def test_evidence_read_on_the_fast_path_keeps_every_rule(tmp_path, evidence, loaded):
    """Floats in [0, 1] are checked at once; anything else (NaN, a bool, text, out of range) is
    refused as before, and whole numbers become floats."""
    import csv
    path = tmp_path / "c.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source_scheme", "source_code", "source_title", "target_scheme", "target_code", "target_title",
                    "rank", "score", "evidence"])
        w.writerow(["okpdtr", "13110", "a", "okz2014", "8131", "x", "1", "0.5", evidence])
    if loaded is None:
        with pytest.raises(LoadError) as exc:
            read_candidates(path)
        assert [(p.row, p.kind, p.value) for p in exc.value.report.errors] == [(2, "evidence", evidence)]
    else:
        got = dict(read_candidates(path).candidates[0].evidence)
        assert got == loaded and all(type(v) is float for v in got.values())
