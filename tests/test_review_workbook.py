"""Review workbook round trip: export → a reviewer edits it in a spreadsheet → import."""
from __future__ import annotations

import json
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from crosswalk.candidates import CandidateSet
from crosswalk.cli import cli
from crosswalk.errors import CrosswalkError
from crosswalk.model import Candidate
from crosswalk.review import workbook
from crosswalk.review.store import Decision, LinkKey, ReviewStore
from crosswalk.review.workbook import (
    HEADERS,
    META_SHEET,
    REVIEW_SHEET,
    export_workbook,
    import_workbook,
    link_groups,
)

SRC, TGT = "okz2014", "isco08"
SOURCE_TITLES = {"0110": "Офицеры вооружённых сил", "0210": '=HYPERLINK("http://evil","x")',
                 "1111": "Законодатели\x07", "1112": "Старшие должностные лица", "2411": "-Бухгалтеры"}
TARGET_TITLES = {"0110": "Commissioned armed forces officers", "0210": "#N/A",
                 "1111": "Legislators", "1112": "+Senior government officials", "2411": "@Accountants"}
CANDIDATES = [("0110", "0110", 0.95, 1), ("0110", "0210", 0.40, 2), ("0210", "0210", 0.90, 1),
              ("1111", "1111", 0.85, 1), ("1111", "1112", 0.60, 2), ("1112", "1111", 0.80, 1),
              ("2411", "2411", 0.70, 1)]


def key(s: str, t: str) -> LinkKey:
    return LinkKey(SRC, s, TGT, t)


@pytest.fixture
def store(tmp_path):
    cset = CandidateSet(SRC, TGT, [Candidate(s, t, sc, r, {"title_tokens": sc, "structure": 1.0 if s == t else 0.0})
                                   for s, t, sc, r in CANDIDATES],
                        source_titles=SOURCE_TITLES, target_titles=TARGET_TITLES)
    with ReviewStore(tmp_path / "review.sqlite") as st:
        st.propose_candidates(cset)
        yield st


def rows_by_link(path) -> tuple[openpyxl.Workbook, dict]:
    wb = openpyxl.load_workbook(path)
    ws = wb[REVIEW_SHEET]
    col = {c.value: c.column for c in ws[1]}
    rows = {(ws.cell(r, col["source code"]).value, ws.cell(r, col["target code"]).value): r
            for r in range(2, ws.max_row + 1)}
    return wb, {"ws": ws, "col": col, "rows": rows}


def edit(path, changes: dict) -> dict:
    """Fill decision columns as a reviewer would: {(src, tgt): {"decision": ..., ...}};
    returns the row number of each edited link."""
    wb, t = rows_by_link(path)
    for link, cells in changes.items():
        for header, value in cells.items():
            t["ws"].cell(t["rows"][link], t["col"][header]).value = value
    wb.save(path)
    return {link: t["rows"][link] for link in changes}


def test_export_is_safe_and_complete(store, tmp_path):
    problems = []
    path = export_workbook(store, tmp_path / "review.xlsx", problems=problems)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [REVIEW_SHEET, META_SHEET]
    for ws in wb.worksheets:   # no formula and no error value anywhere
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type not in ("f", "e"), (ws.title, c.coordinate, c.value)
    ws = wb[REVIEW_SHEET]
    assert tuple(c.value for c in ws[1]) == HEADERS
    col = {c.value: c.column for c in ws[1]}
    got = [(ws.cell(r, col["source code"]).value, ws.cell(r, col["target code"]).value)
           for r in range(2, ws.max_row + 1)]
    assert got == [(s, t) for s, t, _, _ in CANDIDATES]          # sorted by key, byte-identical codes
    for r in range(2, ws.max_row + 1):
        for h in ("source code", "target code", "new target"):
            assert ws.cell(r, col[h]).number_format == "@"
        assert all(isinstance(ws.cell(r, col[h]).value, str) for h in ("source code", "target code"))
    titles = {ws.cell(r, col["source code"]).value: ws.cell(r, col["source title"]).value
              for r in range(2, ws.max_row + 1)}
    assert titles["0110"] == "Офицеры вооружённых сил"
    assert titles["0210"] == "'" + SOURCE_TITLES["0210"]
    assert titles["2411"] == "'-Бухгалтеры"
    assert titles["1111"] == "Законодатели\ufffd"
    targets = {ws.cell(r, col["target code"]).value: ws.cell(r, col["target title"]).value
               for r in range(2, ws.max_row + 1)}
    assert targets["0210"] == "#N/A" and targets["2411"] == "'@Accountants"
    # the illegal character is reported by cell (one per link of source 1111)
    bad = [(p.sheet, p.row, p.column) for p in problems if p.kind == "illegal_xml_character"]
    assert bad == [(REVIEW_SHEET, got.index(("1111", t)) + 2, "source title") for t in ("1111", "1112")]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(HEADERS))}{len(CANDIDATES) + 1}"
    assert ws.column_dimensions[openpyxl.utils.get_column_letter(col["version"])].hidden
    dvs = ws.data_validations.dataValidation
    decision_letter = openpyxl.utils.get_column_letter(col["decision"])
    lists = [dv for dv in dvs if dv.type == "list"]
    assert len(lists) == 1 and "confirm" in lists[0].formula1 and "reject" in lists[0].formula1
    assert str(lists[0].sqref) == f"{decision_letter}2:{decision_letter}{len(CANDIDATES) + 1}"
    # evidence readable, strongest first; cardinality from the links
    ev = {(ws.cell(r, col["source code"]).value, ws.cell(r, col["target code"]).value):
          ws.cell(r, col["evidence"]).value for r in range(2, ws.max_row + 1)}
    assert ev[("0110", "0110")] == "structure 1.00; title_tokens 0.95"
    kinds = {ws.cell(r, col["source code"]).value + ">" + ws.cell(r, col["target code"]).value:
             ws.cell(r, col["cardinality"]).value for r in range(2, ws.max_row + 1)}
    assert kinds == {"0110>0110": "1:1", "0110>0210": "alternative", "0210>0210": "1:1",
                     "1111>1111": "n:1", "1111>1112": "alternative", "1112>1111": "n:1", "2411>2411": "1:1"}
    groups = [ws.cell(r, col["group"]).value for r in range(2, ws.max_row + 1)]
    assert groups == [1, 1, 2, 3, 3, 3, 4]
    meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
    snap_id, checksum = store.snapshot()
    assert meta["snapshot_id"] == str(snap_id) and meta["snapshot_checksum"] == checksum
    assert meta["row_count"] == str(len(CANDIDATES)) and meta["store_name"] == "review.sqlite"
    assert meta["exported_at"].endswith("Z") and meta["tool_version"].startswith("crosswalk ")
    assert json.loads(meta["filters"]) == {"source_scheme": None, "target_scheme": None, "status": None}
    assert len(meta["rows_sha256"]) == 64 and "Review!C" in meta["warnings"]
    assert not list(tmp_path.glob(".review.xlsx.*"))   # atomic write left no temporary file


def test_decisions_apply_with_origin(store, tmp_path):
    path = export_workbook(store, tmp_path / "review.xlsx")
    rows = edit(path, {("0110", "0110"): {"decision": "confirm", "comment": "-- looks right"},
                       ("0110", "0210"): {"decision": "Reject "},
                       ("1111", "1112"): {"decision": "retarget", "new target": "2411"},
                       ("2411", "2411"): {"decision": "comment", "comment": "ask Росстат"},
                       ("1111", "1111"): {"decision": "weight", "weight": "0,75"}})
    rep = import_workbook(store, path, reviewer="anna")
    assert rep.as_dict()["ok"], rep.as_dict()
    assert (rep.rows_read, rep.applied, rep.unchanged, rep.no_decision) == (7, 5, 0, 2)
    assert store.get(key("0110", "0110")).status == "confirmed"
    assert store.get(key("0110", "0110")).comment == "-- looks right"
    assert store.get(key("0110", "0210")).status == "rejected"
    assert store.get(key("2411", "2411")).comment == "ask Росстат"
    assert store.get(key("1111", "1111")).weight == 0.75
    assert store.get(key("0210", "0210")).status == "pending"
    for link, row in rows.items():
        last = store.history(key(*link))[-1] if link != ("1111", "1112") else \
            [e for e in store.history(key(*link)) if e.action == "retarget"][-1]
        assert last.origin == f"workbook:review.xlsx:{row}" and last.reviewer == "anna"
    retargeted = store.get(key("1111", "2411"))
    assert retargeted.status == "confirmed"
    # the same file again adds nothing
    before = store.snapshot()
    again = import_workbook(store, path, reviewer="anna")
    assert (again.applied, again.unchanged, again.conflicts, again.rejected) == (0, 5, [], [])
    assert store.snapshot() == before


def test_round_trip_without_decisions_changes_nothing(store, tmp_path):
    before = store.snapshot()
    path = export_workbook(store, tmp_path / "review.xlsx")
    rep = import_workbook(store, path, reviewer="anna")
    assert (rep.rows_read, rep.no_decision, rep.applied, rep.problems) == (7, 7, 0, [])
    assert store.snapshot() == before


def test_export_reads_one_consistent_snapshot(store, tmp_path, monkeypatch):
    real, calls = store.links, []

    def links(**filters):   # another reviewer commits while the export reads the links
        out = real(**filters)
        if not calls:
            calls.append(1)
            with ReviewStore(store.path) as other:
                k = key("2411", "2411")
                other.decide([Decision(k, "confirm", other.get(k).version)], reviewer="boris")
        return out

    monkeypatch.setattr(store, "links", links)
    path = export_workbook(store, tmp_path / "review.xlsx")
    wb, t = rows_by_link(path)
    meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
    assert meta["snapshot_id"] == str(store.snapshot()[0])
    assert t["ws"].cell(t["rows"][("2411", "2411")], t["col"]["status"]).value == "confirmed"
    edit(path, {("2411", "2411"): {"decision": "reject"}})
    rep = import_workbook(store, path, reviewer="anna")
    assert (rep.applied, rep.rejected, rep.problems) == (1, [], [])


def test_concurrent_change_is_a_conflict_by_row(store, tmp_path):
    path = export_workbook(store, tmp_path / "review.xlsx")
    rows = edit(path, {("0110", "0110"): {"decision": "reject"}, ("0210", "0210"): {"decision": "confirm"}})
    v = store.get(key("0110", "0110")).version
    store.decide([Decision(key("0110", "0110"), "confirm", v, origin="cli")], reviewer="boris")
    rep = import_workbook(store, path, reviewer="anna")
    assert rep.applied == 1 and [c["row"] for c in rep.conflicts] == [rows[("0110", "0110")]]
    c = rep.conflicts[0]
    assert c["link"] == [SRC, "0110", TGT, "0110"] and c["changed_by"] == "boris" and c["expected_version"] == v
    assert store.get(key("0110", "0110")).status == "confirmed"   # boris's decision stands
    assert store.get(key("0210", "0210")).status == "confirmed"


def test_bad_rows_are_rejected_with_where_and_why(store, tmp_path):
    path = export_workbook(store, tmp_path / "review.xlsx")
    rows = edit(path, {("0110", "0110"): {"decision": "approve"},
                       ("0110", "0210"): {"decision": "weight", "weight": 1.5},
                       ("0210", "0210"): {"decision": "retarget"},
                       ("1111", "1111"): {"decision": "retarget", "new target": "9999"},
                       ("1111", "1112"): {"decision": "=1+1"},
                       ("2411", "2411"): {"comment": "forgot the decision"}})
    rep = import_workbook(store, path, reviewer="anna")
    assert rep.applied == 0 and len(rep.rejected) == 6 and rep.rows_read == 7 and rep.no_decision == 1
    got = {(p.row, p.column, p.value, p.kind) for p in rep.problems}
    assert got == {(rows[("0110", "0110")], "decision", "approve", "decision"),
                   (rows[("0110", "0210")], "weight", "1.5", "weight"),
                   (rows[("0210", "0210")], "new target", None, "new_target"),
                   (rows[("1111", "1111")], "new target", "9999", "unknown_code"),
                   (rows[("1111", "1112")], "decision", "=1+1", "formula"),
                   (rows[("2411", "2411")], "decision", None, "decision_missing")}
    assert all(p.sheet == REVIEW_SHEET and p.severity == "error" for p in rep.problems)
    assert "one of confirm" in next(p.message for p in rep.problems if p.kind == "decision")
    assert all(store.get(key(s, t)).status == "pending" for s, t, _, _ in CANDIDATES)


def test_edited_keys_numbers_and_duplicates(store, tmp_path):
    path = export_workbook(store, tmp_path / "review.xlsx")
    wb, t = rows_by_link(path)
    ws, col, rows = t["ws"], t["col"], t["rows"]
    ws.cell(rows[("0110", "0110")], col["target code"]).value = "0210"           # key cell edited
    ws.cell(rows[("0110", "0110")], col["decision"]).value = "confirm"
    ws.cell(rows[("1111", "1111")], col["decision"]).value = "retarget"          # code typed as a number
    ws.cell(rows[("1111", "1111")], col["new target"]).value = 110
    r = rows[("2411", "2411")]
    ws.cell(r, col["decision"]).value = "confirm"
    ws.append([c.value for c in ws[r]])                                          # row copied
    wb.save(path)
    rep = import_workbook(store, path, reviewer="anna")
    by_row = {x["row"]: x for x in rep.rejected}
    assert by_row[rows[("0110", "0110")]]["kind"] == "key_edited"
    assert by_row[rows[("0110", "0110")]]["column"] == "target code"
    assert by_row[rows[("1111", "1111")]]["kind"] == "new_target"
    assert "leading zeros" in by_row[rows[("1111", "1111")]]["reason"]
    assert by_row[ws.max_row]["kind"] == "duplicate_row"
    assert rep.applied == 1 and rep.rows_read == 8
    assert "workbook_changed" in {p.kind for p in rep.problems}                  # a row was added


def test_refuses_foreign_workbooks(store, tmp_path, monkeypatch):
    path = export_workbook(store, tmp_path / "review.xlsx")
    other = ReviewStore(tmp_path / "other.sqlite")
    try:
        other.propose_candidates(CandidateSet(SRC, TGT, [Candidate("0110", "0110", 0.9, 1)]))
        with pytest.raises(CrosswalkError, match="another store"):
            import_workbook(other, path, reviewer="anna")
    finally:
        other.close()
    wb = openpyxl.load_workbook(path)
    del wb[META_SHEET]
    wb.save(tmp_path / "nometa.xlsx")
    with pytest.raises(CrosswalkError, match="Metadata"):
        import_workbook(store, tmp_path / "nometa.xlsx", reviewer="anna")
    (tmp_path / "junk.xlsx").write_bytes(b"not a zip")
    with pytest.raises(CrosswalkError, match="not an xlsx"):
        import_workbook(store, tmp_path / "junk.xlsx", reviewer="anna")
    with pytest.raises(CrosswalkError, match="reviewer"):
        import_workbook(store, path, reviewer=" ")
    with pytest.raises(CrosswalkError, match="exists"):       # may hold decisions not imported yet
        export_workbook(store, path)
    assert export_workbook(store, path, overwrite=True) == path
    bomb = tmp_path / "bomb.xlsx"                            # XML entities: defusedxml refuses them
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w") as out:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + data
            out.writestr(name, data)
    with pytest.raises(CrosswalkError, match="cannot read .*declares entities or a DTD"):
        import_workbook(store, bomb, reviewer="anna")
    zipped = tmp_path / "zipbomb.xlsx"                       # a zip bomb is refused before inflating
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            out.writestr(name, src.read(name))
        out.writestr("xl/media/padding.bin", b"\0" * (8 * 2**20))
    with pytest.raises(CrosswalkError, match="inflates .* times.*limit ratio"):
        import_workbook(store, zipped, reviewer="anna")


def test_filters_and_relations(store, tmp_path):
    decide = [Decision(key("0110", "0210"), "reject", store.get(key("0110", "0210")).version),
              Decision(key("1111", "1111"), "confirm", store.get(key("1111", "1111")).version),
              Decision(key("1111", "1112"), "confirm", store.get(key("1111", "1112")).version, weight=0.3)]
    assert len(store.decide(decide, reviewer="boris").applied) == 3
    path = export_workbook(store, tmp_path / "pending.xlsx", source_scheme=SRC, target_scheme=TGT,
                           status="pending", relations={key("2411", "2411"): "n:1"})
    _, t = rows_by_link(path)
    assert sorted(t["rows"]) == [("0110", "0110"), ("0210", "0210"), ("1112", "1111"), ("2411", "2411")]
    ws, col = t["ws"], t["col"]
    kinds = {link: ws.cell(r, col["cardinality"]).value for link, r in t["rows"].items()}
    # groups come from every live link of the pair, not only the exported (pending) ones
    assert kinds == {("0110", "0110"): "1:1", ("0210", "0210"): "1:1", ("1112", "1111"): "n:m",
                     ("2411", "2411"): "n:1"}                                      # relations override
    groups = link_groups(store.links())
    assert groups[key("1111", "1111")] == groups[key("1111", "1112")] == groups[key("1112", "1111")]
    assert key("0110", "0210") not in groups


def test_cli_export_and_import(store, tmp_path):
    db = str(tmp_path / "review.sqlite")
    out = tmp_path / "cli.xlsx"
    runner = CliRunner()
    r = runner.invoke(cli, ["review", "export", str(out), "--store", db, "--pair", f"{SRC}:{TGT}",
                            "--status", "pending"])
    assert r.exit_code == 0, r.output
    assert "7 links" in r.output and out.exists()
    rows = edit(out, {("0110", "0110"): {"decision": "confirm"}, ("0210", "0210"): {"decision": "nope"}})
    r = runner.invoke(cli, ["review", "import", str(out), "--store", db, "--reviewer", "anna",
                            "--format", "json"])
    assert r.exit_code == 1, r.output
    data = json.loads(r.output)
    assert data["applied"] == 1 and [x["row"] for x in data["rejected"]] == [rows[("0210", "0210")]]
    r = runner.invoke(cli, ["review", "import", str(out), "--store", db, "--reviewer", "anna"])
    assert r.exit_code == 1 and f"row {rows[('0210', '0210')]}" in r.output and "nope" in r.output


def test_second_reviews_before_and_after_the_export_do_not_disturb_the_import(store, tmp_path):
    """A second review leaves the link's version: rows exported before or after one import cleanly."""
    a, b = key("0110", "0110"), key("0210", "0210")
    store.decide([Decision(a, "confirm", store.get(a).version), Decision(b, "confirm", store.get(b).version)],
                 reviewer="anna")
    store.decide([Decision(a, "second_review", store.get(a).version, verdict="reject")], reviewer="boris")
    path = export_workbook(store, tmp_path / "review.xlsx")
    store.decide([Decision(b, "second_review", store.get(b).version, verdict="confirm")], reviewer="boris")
    edit(path, {("0110", "0110"): {"decision": "reject"}, ("0210", "0210"): {"decision": "comment", "comment": "ok"}})
    rep = import_workbook(store, path, reviewer="anna")
    assert (rep.applied, rep.rejected, rep.conflicts) == (2, [], []), rep.as_dict()
    assert store.get(a).status == "rejected" and store.get(b).comment == "ok"
