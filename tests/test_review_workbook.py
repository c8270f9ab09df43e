"""Review workbook round trip: export → a reviewer fills it in a spreadsheet → import.

The workbook is item-centred (format 2): a row per candidate, grouped per item (the proposal
first, then the alternatives by score), Russian by default, one decision per item."""
from __future__ import annotations

import json
import time
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from crosswalk.candidates import sheet_safe
from crosswalk.cli import cli
from crosswalk.errors import CrosswalkError
from crosswalk.review import workbook_read
from crosswalk.review.items import ItemDecision, ItemKey
from crosswalk.review.store import Decision, LinkKey, ReviewStore
from crosswalk.review.workbook import export_workbook, import_workbook, write_review_workbook
from crosswalk.review.workbook_layout import COLUMNS, header_ids

SRC, TGT = "okz2014", "isco08"
SOURCE_TITLES = {"0110": "Офицеры вооружённых сил", "0210": '=HYPERLINK("http://evil","x")',
                 "1111": "Законодатели\x07", "1112": "Старшие должностные лица", "2411": "-Бухгалтеры"}
TARGET_TITLES = {"0110": "Commissioned armed forces officers", "0210": "#N/A", "1111": "Legislators",
                 "1112": "+Senior government officials", "2411": "@Accountants", "2412": "Financial advisers"}
# (source, target, score, rank): rank 1 is the item's proposal
CANDIDATES = [("0110", "0110", 0.95, 1), ("0110", "0210", 0.40, 2), ("0210", "0210", 0.90, 1),
              ("1111", "1111", 0.85, 1), ("1111", "2411", 0.30, 3), ("1111", "1112", 0.60, 2),
              ("1112", "1111", 0.80, 1), ("2411", "2411", 0.70, 1)]
RU = {c.id: c.ru for c in COLUMNS}
EN = {c.id: c.en for c in COLUMNS}


def key(s: str, t: str) -> LinkKey:
    return LinkKey(SRC, s, TGT, t)


def item(s: str) -> ItemKey:
    return ItemKey(SRC, s, TGT)


@pytest.fixture
def store(tmp_path):
    with ReviewStore(tmp_path / "review.sqlite") as st:
        st._clock = lambda: "2024-03-01T21:30:00.000Z"
        st.propose([{"key": key(s, t), "score": sc, "rank": r, "role": "proposal" if r == 1 else "alternative",
                     "evidence": {"title_tokens": sc, "word_meaning": 0.5, **({"structure": 1.0} if s == t else {})},
                     "source_title": SOURCE_TITLES[s], "target_title": TARGET_TITLES[t]}
                    for s, t, sc, r in CANDIDATES])
        st.register_items(TGT, sorted(TARGET_TITLES.items()))
        yield st


@pytest.fixture
def moscow(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Moscow")     # UTC+3 all year
    time.tzset()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


class Sheet:
    """The review sheet of a workbook file, addressed by column id and (source, target)."""

    def __init__(self, path):
        self.path = path
        self.wb = openpyxl.load_workbook(path)
        self.ws = self.wb.worksheets[0]
        self.col = {cid: i + 1 for cid, i in header_ids([c.value for c in self.ws[1]]).items()}
        self.rows = {(self.get(r, "source_code"), self.get(r, "target_code")): r for r in range(2, self.ws.max_row + 1)}

    def get(self, row: int, cid: str):
        return self.ws.cell(row, self.col[cid]).value

    def column(self, cid: str) -> list:
        return [self.get(r, cid) for r in range(2, self.ws.max_row + 1)]

    def fill(self, changes: dict) -> dict:
        """{(source, target): {column id: value}} as a reviewer types them; row of each."""
        for link, cells in changes.items():
            for cid, value in cells.items():
                self.ws.cell(self.rows[link], self.col[cid]).value = value
        self.wb.save(self.path)
        return {link: self.rows[link] for link in changes}


def test_export_is_russian_by_default(store, tmp_path, moscow):
    path = export_workbook(store, tmp_path / "review.xlsx")
    sh = Sheet(path)
    assert sh.wb.sheetnames == ["Проверка", "Как заполнять", "Метаданные"]
    assert [c.value for c in sh.ws[1]] == [c.ru for c in COLUMNS]
    assert "наименование источника" in RU.values() and "решение" in RU.values()
    (dv,) = [dv for dv in sh.ws.data_validations.dataValidation if dv.type == "list"]
    assert dv.formula1 == '"принять,выбрать код,разделить,нет соответствия,отклонить,вернуть на проверку"'
    r = sh.rows[("1111", "1111")]
    assert sh.get(r, "evidence") == "тот же код 1,00; слова названия 0,85; смысл слов 0,50"
    assert sh.get(r, "role") == "предложение" and sh.get(sh.rows[("1111", "1112")], "role") == "альтернатива"
    assert sh.get(r, "status") == "ожидает" and sh.get(r, "item_status") == "открыта"
    assert sh.get(r, "cardinality") == "многие к одному"            # 1111 and 1112 both propose 1111
    assert sh.get(sh.rows[("1111", "1112")], "cardinality") == "альтернатива"
    assert sh.get(r, "source_scheme") == "ОКЗ-2014" and sh.get(r, "target_scheme") == "МСКЗ-08"
    # the last change as a date in local time, shown the Russian way (21:30 UTC is 00:30 in Moscow)
    when = sh.ws.cell(r, sh.col["changed_at"])
    assert when.value.isoformat() == "2024-03-02T00:30:00" and when.number_format == "DD.MM.YYYY HH:MM"
    meta = {row[0]: row[1] for row in sh.wb["Метаданные"].iter_rows(values_only=True)}
    assert meta["language"] == "ru" and meta["format_version"] == "2" and meta["item_count"] == "5"
    assert "принять" in meta["decisions"]
    help_text = " ".join(c.value for c in sh.wb["Как заполнять"]["A"])
    assert "одно решение" in help_text and "--partial" in help_text


def test_export_in_english_on_request(store, tmp_path, moscow):
    path = export_workbook(store, tmp_path / "review.xlsx", lang="en")
    sh = Sheet(path)
    assert sh.wb.sheetnames == ["Review", "How to fill in", "Metadata"]
    assert [c.value for c in sh.ws[1]] == [c.en for c in COLUMNS]
    (dv,) = [dv for dv in sh.ws.data_validations.dataValidation if dv.type == "list"]
    assert dv.formula1 == '"accept,other code,split,no match,reject,reopen"'
    r = sh.rows[("1111", "1111")]
    assert sh.get(r, "evidence") == "structure 1.00; title_tokens 0.85; word_meaning 0.50"
    assert (sh.get(r, "role"), sh.get(r, "status"), sh.get(r, "cardinality")) == ("proposal", "pending", "n:1")
    assert sh.ws.cell(r, sh.col["changed_at"]).number_format == "YYYY-MM-DD HH:MM"


def test_rows_grouped_per_item_proposal_first_then_by_score(store, tmp_path):
    path = export_workbook(store, tmp_path / "review.xlsx")
    sh = Sheet(path)
    got = list(zip(sh.column("item"), sh.column("source_code"), sh.column("rank"), sh.column("target_code"),
                   sh.column("score")))
    assert got == [(1, "0110", 1, "0110", 0.95), (1, "0110", 2, "0210", 0.40), (2, "0210", 1, "0210", 0.90),
                   (3, "1111", 1, "1111", 0.85), (3, "1111", 2, "1112", 0.60), (3, "1111", 3, "2411", 0.30),
                   (4, "1112", 1, "1111", 0.80), (5, "2411", 1, "2411", 0.70)]
    # alternatives fold under their item's first row; a line above each item
    levels = [sh.ws.row_dimensions[r].outlineLevel for r in range(2, sh.ws.max_row + 1)]
    assert levels == [0, 1, 0, 0, 1, 1, 0, 0]
    tops = [sh.ws.cell(r, 1).border.top.style for r in range(2, sh.ws.max_row + 1)]
    assert tops == ["thin", None, "thin", "thin", None, None, "thin", "thin"]
    # a proposal someone rejected keeps its place: ranks say what the matcher proposed
    k = key("0110", "0110")
    store.decide([Decision(k, "reject", store.get(k).version)], reviewer="boris")
    sh = Sheet(export_workbook(store, tmp_path / "after.xlsx", status="pending"))
    assert list(zip(sh.column("source_code"), sh.column("rank")))[:1] == [("0110", 2)]


def test_source_columns_frozen_and_a_landscape_print_layout(store, tmp_path):
    sh = Sheet(export_workbook(store, tmp_path / "review.xlsx"))
    ws = sh.ws
    assert ws.freeze_panes == "D2"                       # item, source code and title stay in view
    assert [c.value for c in ws[1]][:3] == ["позиция", "код источника", "наименование источника"]
    ps = ws.page_setup
    assert (ps.orientation, ps.paperSize, ps.fitToWidth, ps.fitToHeight) == ("landscape", 9, 1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$1"                 # the header on every page
    last = openpyxl.utils.get_column_letter(sh.col["comment"])
    assert ws.print_area == f"'Проверка'!$A$1:${last}$9"   # through the columns a reviewer fills in
    printed = sum(c.width for c in COLUMNS[:sh.col["comment"]])
    assert printed < 200                                 # about 75 % on A4 landscape: readable
    assert "из" in ws.oddFooter.right.text               # «стр. 1 из 3»


def test_export_is_safe_values_only(store, tmp_path):
    problems = []
    path = export_workbook(store, tmp_path / "review.xlsx", problems=problems)
    with zipfile.ZipFile(path) as zf:
        assert not any(b"<f>" in zf.read(n) or b"<f " in zf.read(n) for n in zf.namelist())
    sh = Sheet(path)
    for ws in sh.wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type not in ("f", "e"), (ws.title, c.coordinate, c.value)
    letter = openpyxl.utils.get_column_letter
    for cid in ("new_target", "decision", "comment"):     # typed into: text, by the column's style
        assert sh.ws.column_dimensions[letter(sh.col[cid])].number_format == "@"
    for r in range(2, sh.ws.max_row + 1):
        for cid in ("source_code", "target_code"):
            assert sh.ws.cell(r, sh.col[cid]).number_format == "@"
        assert all(isinstance(sh.get(r, c), str) for c in ("source_code", "target_code"))
    titles = dict(zip(sh.column("source_code"), sh.column("source_title")))
    assert titles["0110"] == "Офицеры вооружённых сил"
    assert titles["0210"] == "'" + SOURCE_TITLES["0210"] and titles["2411"] == "'-Бухгалтеры"
    assert titles["1111"] == "Законодатели\ufffd"
    targets = dict(zip(sh.column("target_code"), sh.column("target_title")))
    assert targets["0210"] == "#N/A" and targets["2411"] == "'@Accountants"
    bad = [(p.sheet, p.row, p.column) for p in problems if p.kind == "illegal_xml_character"]
    assert bad == [("Проверка", sh.rows[("1111", t)], "наименование источника") for t in ("1111", "1112", "2411")]
    meta = {row[0]: row[1] for row in sh.wb["Метаданные"].iter_rows(values_only=True)}
    assert "Проверка!C5" in meta["warnings"]
    assert not list(tmp_path.glob(".review.xlsx.*"))    # atomic write left no temporary file
    with pytest.raises(CrosswalkError, match="exists"):
        export_workbook(store, path)


def test_one_decision_per_item_settles_the_other_candidates(store, tmp_path):
    path = export_workbook(store, tmp_path / "review.xlsx")
    rows = Sheet(path).fill({
        ("0110", "0110"): {"decision": "принять", "comment": "-- верно"},        # the proposal
        ("1111", "1112"): {"decision": "Принять "},                               # an alternative
        ("1112", "1111"): {"decision": "выбрать код", "new_target": "2412"},      # a code nobody proposed
        ("2411", "2411"): {"decision": "нет соответствия"},
        ("0210", "0210"): {"comment": "уточнить у Росстата"},                      # a comment alone
    })
    rep = import_workbook(store, path, reviewer="anna")
    assert rep.ok and not rep.nothing_applied, rep.as_dict()
    assert (rep.rows_read, rep.applied, rep.decisions, rep.no_decision, rep.withheld) == (8, 5, 5, 3, 0)
    it = store.item(item("0110"))
    assert it.status == "decided" and [s.key.target_code for s in it.confirmed] == ["0110"]
    assert store.get(key("0110", "0210")).status == "rejected"                 # settled, not left pending
    assert store.get(key("0110", "0110")).comment == "-- верно"
    assert [s.key.target_code for s in store.item(item("1111")).confirmed] == ["1112"]
    assert {store.get(key("1111", t)).status for t in ("1111", "2411")} == {"rejected"}
    assert [s.key.target_code for s in store.item(item("1112")).confirmed] == ["2412"]
    assert store.get(key("1112", "2412")).target_title == "Financial advisers"
    assert store.item(item("2411")).status == "no_match" and store.no_match_items(SRC, TGT) == {"2411"}
    assert store.get(key("0210", "0210")).comment == "уточнить у Росстата"
    assert store.item(item("0210")).status == "open"
    # what each decision was, and where it came from
    first = [e for e in store.history(key("0110", "0110")) if e.action == "confirm"][-1]
    assert first.payload["item_decision"] == "accept" and first.reviewer == "anna"
    # an import is the file's content by one reviewer: the origin names the row and the file's digest
    assert first.origin == f"workbook:review.xlsx:{rows[('0110', '0110')]}@{rep.digest[:12]}"
    alt = [e for e in store.history(key("1111", "1112")) if e.action == "confirm"][-1]
    assert alt.payload["item_decision"] == "pick"
    # the same file again changes nothing
    before = store.snapshot()
    again = import_workbook(store, path, reviewer="anna")
    assert (again.applied, again.unchanged, again.conflicts, again.rejected) == (0, 5, [], [])
    assert store.snapshot() == before


def test_split_with_weights_and_english_words_in_a_russian_workbook(store, tmp_path):
    path = export_workbook(store, tmp_path / "review.xlsx")
    Sheet(path).fill({
        ("1111", "1111"): {"decision": "разделить", "weight": "0,6"},      # a Russian decimal comma
        ("1111", "1112"): {"decision": "Split", "weight": 0.25},
        ("1111", "2411"): {"decision": "разделить", "new_target": "2412", "weight": "15%"},   # another code
        ("0110", "0110"): {"decision": "confirm"},                           # format 1's word still reads
        ("0210", "0210"): {"decision": "No match"},
        ("2411", "2411"): {"decision": "отклонить", "comment": "не бухгалтеры"},   # this candidate alone
    })
    rep = import_workbook(store, path, reviewer="anna")
    assert rep.ok, rep.as_dict()
    weights = {s.key.target_code: s.weight for s in store.item(item("1111")).confirmed}
    assert weights == {"1111": 0.6, "1112": 0.25, "2412": 0.15}
    assert store.get(key("1111", "2411")).status == "rejected"
    assert store.item(item("0110")).status == "decided" and store.item(item("0210")).status == "no_match"
    assert store.get(key("2411", "2411")).status == "rejected" and store.item(item("2411")).status == "open"
    assert store.get(key("2411", "2411")).comment == "не бухгалтеры"
    # reopen: back to undecided, every candidate pending again
    path2 = export_workbook(store, tmp_path / "again.xlsx")
    Sheet(path2).fill({("1111", "1111"): {"decision": "вернуть на проверку"}})
    assert import_workbook(store, path2, reviewer="anna").ok
    assert store.item(item("1111")).status == "open"
    assert {s.status for s in store.item(item("1111")).links} == {"pending"}


def test_all_or_nothing_with_every_refused_row_reported(store, tmp_path):
    path = export_workbook(store, tmp_path / "review.xlsx")
    before = store.snapshot()
    rows = Sheet(path).fill({
        ("0110", "0110"): {"decision": "принять"},                                   # fine
        ("0210", "0210"): {"decision": "одобрить"},                                  # not a decision
        ("1111", "1111"): {"decision": "принять"},                                   # two decisions on
        ("1111", "1112"): {"decision": "нет соответствия"},                          # ... one item
        ("1112", "1111"): {"decision": "выбрать код", "new_target": "9999"},         # unknown code
        ("2411", "2411"): {"decision": "принять", "weight": 0.5},                    # weight without split
    })
    rep = import_workbook(store, path, reviewer="anna")
    assert rep.nothing_applied and store.snapshot() == before
    assert (rep.rows_read, rep.applied, rep.withheld, rep.no_decision, len(rep.rejected)) == (8, 0, 1, 2, 5)
    got = {(p.sheet, p.row, p.column, p.value, p.kind) for p in rep.problems if p.severity == "error"}
    assert got == {("Проверка", rows[("0210", "0210")], "решение", "одобрить", "decision"),
                   ("Проверка", rows[("1111", "1111")], "решение", "принять", "one_decision_per_item"),
                   ("Проверка", rows[("1111", "1112")], "решение", "нет соответствия", "one_decision_per_item"),
                   ("Проверка", rows[("1112", "1111")], "другой код", "9999", "unknown_code"),
                   ("Проверка", rows[("2411", "2411")], "вес", "0.5", "weight")}
    messages = {p.kind: p.message for p in rep.problems}
    assert "выберите одно из: «принять»" in messages["decision"]
    assert f"строках {rows[('1111', '1111')]} («принять»), {rows[('1111', '1112')]} («нет соответствия»)" \
        in messages["one_decision_per_item"]
    # --partial: the valid rows go in, the refused ones are still reported
    rep = import_workbook(store, path, reviewer="anna", partial=True)
    assert (rep.applied, len(rep.rejected), rep.withheld) == (1, 5, 0)
    assert store.item(item("0110")).status == "decided" and store.item(item("1111")).status == "open"


@pytest.mark.parametrize("cells, kind, column", [
    ({("1111", "1111"): {"decision": "разделить", "weight": 0.5},
      ("1111", "1112"): {"decision": "разделить", "weight": 0.4}}, "split", "вес"),          # sums to 0.9
    ({("1111", "1111"): {"decision": "разделить", "weight": 1}}, "split", "решение"),       # one row only
    ({("1111", "1111"): {"decision": "разделить", "weight": 0.5},
      ("1111", "1112"): {"decision": "разделить", "new_target": "1111", "weight": 0.5}}, "split", "другой код"),
    ({("1111", "1111"): {"decision": "разделить"}}, "weight", "вес"),                        # no weight
    ({("1111", "1111"): {"decision": "принять", "new_target": "2412"}}, "new_target", "другой код"),
    ({("1111", "1111"): {"decision": "выбрать код"}}, "new_target", "другой код"),            # no code
    ({("1111", "1111"): {"decision": "выбрать код", "new_target": 110}}, "new_target", "другой код"),  # a number
    ({("1111", "1111"): {"new_target": "2412"}}, "decision_missing", "решение"),
    ({("1111", "1111"): {"decision": "=1+1"}}, "formula", "решение"),
])
def test_item_rules(store, tmp_path, cells, kind, column):
    path = export_workbook(store, tmp_path / "review.xlsx")
    Sheet(path).fill(cells)
    before = store.snapshot()
    rep = import_workbook(store, path, reviewer="anna")
    assert rep.nothing_applied and store.snapshot() == before
    assert {(r["kind"], r["column"]) for r in rep.rejected} == {(kind, column)}, rep.rejected


def test_a_split_whose_weights_miss_1_names_each_row_and_its_weight(store, tmp_path):
    path = export_workbook(store, tmp_path / "review.xlsx")
    rows = Sheet(path).fill({("1111", "1111"): {"decision": "разделить", "weight": "0,5"},
                             ("1111", "1112"): {"decision": "разделить", "weight": 0.4}})
    rep = import_workbook(store, path, reviewer="anna")
    got = [(r["row"], r["column"], r["value"]) for r in rep.rejected]
    assert got == [(rows[("1111", "1111")], "вес", "0.5"), (rows[("1111", "1112")], "вес", "0.4")]
    assert all("дают в сумме 0,9, а не 1" in r["reason"] for r in rep.rejected)


def test_a_change_since_the_export_is_a_conflict_and_nothing_applies(store, tmp_path):
    path = export_workbook(store, tmp_path / "review.xlsx")
    rows = Sheet(path).fill({("0110", "0210"): {"decision": "принять"}, ("0210", "0210"): {"decision": "принять"}})
    it = store.item(item("0110"))
    store.decide_items([ItemDecision(it.key, "accept", it.version)], reviewer="boris")
    after_boris = store.snapshot()
    rep = import_workbook(store, path, reviewer="anna")
    assert rep.nothing_applied and store.snapshot() == after_boris
    (c,) = rep.conflicts
    assert c["row"] == rows[("0110", "0210")] and c["changed_by"] == "boris" and c["current_status"] == "decided"
    assert (rep.withheld, rep.applied) == (1, 0)
    rep = import_workbook(store, path, reviewer="anna", partial=True)
    assert len(rep.conflicts) == 1 and rep.applied == 1
    assert [s.key.target_code for s in store.item(item("0110")).confirmed] == ["0110"]   # boris's stands


def test_edited_hidden_cells_keys_and_duplicates(store, tmp_path):
    path = export_workbook(store, tmp_path / "review.xlsx")
    sh = Sheet(path)
    ws, col, rows = sh.ws, sh.col, sh.rows
    ws.cell(rows[("0110", "0110")], col["target_code"]).value = "0210"           # a key cell edited
    ws.cell(rows[("0110", "0110")], col["decision"]).value = "принять"
    ws.cell(rows[("1112", "1111")], col["item_version"]).value = 10 ** 6          # a hidden version edited
    ws.cell(rows[("1112", "1111")], col["decision"]).value = "принять"
    r = rows[("2411", "2411")]
    ws.cell(r, col["decision"]).value = "принять"
    ws.append([c.value for c in ws[r]])                                          # a row copied
    sh.wb.save(path)
    rep = import_workbook(store, path, reviewer="anna", partial=True)
    by_row = {x["row"]: x for x in rep.rejected}
    assert by_row[rows[("0110", "0110")]]["kind"] == "key_edited"
    assert by_row[rows[("0110", "0110")]]["column"] == "код цели"
    assert by_row[rows[("1112", "1111")]]["column"] == "check"
    assert by_row[ws.max_row]["kind"] == "duplicate_row"
    assert rep.applied == 1 and rep.rows_read == 9
    assert "workbook_changed" in {p.kind for p in rep.problems}                  # a row was added


def test_columns_found_by_header_in_either_language_and_missing_ones_named(store, tmp_path):
    path = export_workbook(store, tmp_path / "review.xlsx")
    sh = Sheet(path)
    sh.ws.cell(1, sh.col["decision"]).value = "Decision"       # an English header in a Russian workbook
    sh.ws.cell(sh.rows[("0210", "0210")], sh.col["decision"]).value = "принять"
    sh.wb.save(path)
    assert import_workbook(store, path, reviewer="anna").applied == 1
    sh = Sheet(export_workbook(store, tmp_path / "cut.xlsx"))
    sh.ws.delete_cols(sh.col["weight"])
    sh.wb.save(sh.path)
    with pytest.raises(CrosswalkError, match="lacks the column.*вес"):
        import_workbook(store, sh.path, reviewer="anna")


def test_refuses_foreign_damaged_and_hostile_workbooks(store, tmp_path, monkeypatch):
    path = export_workbook(store, tmp_path / "review.xlsx")
    with ReviewStore(tmp_path / "other.sqlite") as other:
        other.propose([{"key": key("0110", "0110"), "score": 0.9}])
        with pytest.raises(CrosswalkError, match="another store"):
            import_workbook(other, path, reviewer="anna")
    wb = openpyxl.load_workbook(path)
    del wb["Метаданные"]
    wb.save(tmp_path / "nometa.xlsx")
    with pytest.raises(CrosswalkError, match="Metadata.*not a review workbook"):
        import_workbook(store, tmp_path / "nometa.xlsx", reviewer="anna")
    (tmp_path / "junk.xlsx").write_bytes(b"not a zip")
    with pytest.raises(CrosswalkError, match="not an xlsx"):
        import_workbook(store, tmp_path / "junk.xlsx", reviewer="anna")
    with pytest.raises(CrosswalkError, match="reviewer"):
        import_workbook(store, path, reviewer=" ")
    bomb = tmp_path / "bomb.xlsx"                            # XML entities are refused, never expanded
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bomb, "w") as out:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + data
            out.writestr(name, data)
    with pytest.raises(CrosswalkError, match="cannot read the workbook.*declares a document type or entities"):
        import_workbook(store, bomb, reviewer="anna")
    zipped = tmp_path / "zipbomb.xlsx"                       # a zip bomb is refused before inflating
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            out.writestr(name, src.read(name))
        out.writestr("xl/media/padding.bin", b"\0" * (8 * 2**20))
    with pytest.raises(CrosswalkError, match="inflates .* times.*limit ratio"):
        import_workbook(store, zipped, reviewer="anna")


def test_filters_keep_ranks_and_relations_override(store, tmp_path):
    k = key("0110", "0110")
    store.decide([Decision(k, "confirm", store.get(k).version)], reviewer="boris")
    res = write_review_workbook(store, tmp_path / "pending.xlsx", source_scheme=SRC, target_scheme=TGT,
                                status="pending", relations={key("2411", "2411"): "n:1"})
    assert (res.rows, res.items) == (7, 5)
    sh = Sheet(res.path)
    got = dict(zip(zip(sh.column("source_code"), sh.column("target_code")), sh.column("rank")))
    assert got[("0110", "0210")] == 2 and ("0110", "0110") not in got
    kinds = dict(zip(zip(sh.column("source_code"), sh.column("target_code")), sh.column("cardinality")))
    assert kinds[("2411", "2411")] == "многие к одному"           # relations override


def test_cli_export_and_import_in_russian_all_or_nothing(store, tmp_path):
    db = str(tmp_path / "review.sqlite")
    out = tmp_path / "cli.xlsx"
    runner = CliRunner()
    r = runner.invoke(cli, ["review", "export", str(out), "--store", db, "--pair", f"{SRC}:{TGT}"])
    assert r.exit_code == 0, r.output
    assert "позиций 5, строк (кандидатов) 8" in r.output and out.exists()
    rows = Sheet(out).fill({("0110", "0110"): {"decision": "принять"}, ("0210", "0210"): {"decision": "нет"},
                            ("2411", "2411"): {"decision": "ну"}})
    r = runner.invoke(cli, ["review", "import", str(out), "--store", db, "--reviewer", "anna"])
    assert r.exit_code == 1
    assert f"лист Проверка, строка {rows[('2411', '2411')]}, столбец решение" in r.output and "'ну'" in r.output
    assert "Ничего не применено" in r.output and "--partial" in r.output
    assert store.item(item("0110")).status == "open"
    r = runner.invoke(cli, ["review", "import", str(out), "--store", db, "--reviewer", "anna", "--partial",
                            "--format", "json"])
    assert r.exit_code == 1
    data = json.loads(r.output)
    assert (data["applied"], data["decisions"], data["partial"]) == (2, 2, True)
    assert [x["row"] for x in data["rejected"]] == [rows[("2411", "2411")]]
    assert store.item(item("0210")).status == "no_match"
    r = runner.invoke(cli, ["review", "export", str(tmp_path / "en.xlsx"), "--store", db, "--lang", "en"])
    assert r.exit_code == 0 and "5 items, 8 rows" in r.output
    assert openpyxl.load_workbook(tmp_path / "en.xlsx").sheetnames[0] == "Review"


# -- workbooks exported before the item-centred layout (format 1) ---------------------
def write_format1(store: ReviewStore, path) -> dict:
    """A workbook as `crosswalk review export` wrote it before format 2: a row per link, English
    headers, link decisions (the layout and metadata of that exporter)."""
    from crosswalk.review.workbook import FORMAT, rows_checksum, store_identity
    from crosswalk.review.workbook_v1 import HEADERS
    links = store.links()
    snap, checksum = store.snapshot()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Review"
    ws.append(list(HEADERS))
    rows = {}
    for ln in links:
        k = ln.key
        cells = {"source scheme": k.source_scheme, "source code": k.source_code,
                 "source title": ln.source_title.replace("\x07", "\ufffd"),
                 "target scheme": k.target_scheme, "target code": k.target_code, "target title": ln.target_title,
                 "score": ln.score, "status": ln.status, "link": json.dumps([k.source_scheme, k.source_code,
                                                                             k.target_scheme, k.target_code]),
                 "version": ln.version}
        ws.append([sheet_safe(v) if isinstance(v, str) else v for v in (cells.get(h) for h in HEADERS)])
        rows[(k.source_code, k.target_code)] = ws.max_row
    ms = wb.create_sheet("Metadata")
    for kv in {"format": FORMAT, "format_version": "1", "store_id": store_identity(store), "snapshot_id": str(snap),
               "snapshot_checksum": checksum, "row_count": str(len(links)),
               "rows_sha256": rows_checksum((ln.key, ln.version) for ln in links)}.items():
        ms.append(list(kv))
    wb.save(path)
    return rows


def test_a_workbook_of_format_1_still_imports_as_link_decisions(store, tmp_path):
    path = tmp_path / "old.xlsx"
    rows = write_format1(store, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Review"]
    col = {c.value: c.column for c in ws[1]}
    for link, cells in {("0110", "0110"): {"decision": "confirm"},
                        ("1111", "1112"): {"decision": "retarget", "new target": "2412"},
                        ("2411", "2411"): {"decision": "weight", "weight": "0,75"}}.items():
        for h, v in cells.items():
            ws.cell(rows[link], col[h]).value = v
    wb.save(path)
    rep = import_workbook(store, path, reviewer="anna")
    assert rep.ok and (rep.format_version, rep.applied, rep.no_decision) == (1, 3, 5), rep.as_dict()
    assert store.get(key("0110", "0110")).status == "confirmed"
    assert store.get(key("0110", "0210")).status == "pending"      # a link decision settles nothing else
    assert store.get(key("1111", "2412")).status == "confirmed" and store.get(key("1111", "1112")).status == "rejected"
    assert store.get(key("2411", "2411")).weight == 0.75
    assert import_workbook(store, path, reviewer="anna").unchanged == 3     # imported once


def test_a_format_1_workbook_is_all_or_nothing_and_a_missing_column_is_named(store, tmp_path):
    path = tmp_path / "old.xlsx"
    rows = write_format1(store, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Review"]
    col = {c.value: c.column for c in ws[1]}
    ws.cell(rows[("0110", "0110")], col["decision"]).value = "confirm"
    ws.cell(rows[("0210", "0210")], col["decision"]).value = "approve"
    wb.save(path)
    before = store.snapshot()
    rep = import_workbook(store, path, reviewer="anna")
    assert rep.nothing_applied and (rep.withheld, len(rep.rejected)) == (1, 1) and store.snapshot() == before
    assert import_workbook(store, path, reviewer="anna", partial=True).applied == 1
    ws.delete_cols(col["new target"])
    wb.save(path)
    with pytest.raises(CrosswalkError, match=r"format 1\) lacks the column\(s\) new target"):
        import_workbook(store, path, reviewer="anna")


def test_rows_sorted_by_the_reviewer_import_the_same(store, tmp_path):
    """Rows are tied to their item by the hidden link, not by place: a sheet sorted or filtered
    in the spreadsheet gives the same decisions."""
    decisions = {("1111", "2411"): {"decision": "разделить", "weight": 0.3},
                 ("1111", "1111"): {"decision": "разделить", "weight": 0.7},
                 ("0110", "0210"): {"decision": "принять"}, ("2411", "2411"): {"decision": "нет соответствия"}}
    states = []
    for order in ("as exported", "reversed"):
        with ReviewStore(tmp_path / f"{order}.sqlite") as st:
            st._clock = store._clock
            st.propose(store.links())
            st.register_items(TGT, sorted(TARGET_TITLES.items()))
            path = export_workbook(st, tmp_path / f"{order}.xlsx")
            sh = Sheet(path)
            sh.fill(decisions)
            if order == "reversed":
                body = [[c.value for c in row] for row in sh.ws.iter_rows(min_row=2)]
                for r, values in enumerate(reversed(body), 2):
                    for col, v in enumerate(values, 1):
                        sh.ws.cell(r, col).value = v
                sh.wb.save(path)
            rep = import_workbook(st, path, reviewer="anna")
            assert rep.ok and rep.decisions == 3, rep.as_dict()
            states.append({(s.key.source_code, s.key.target_code): (s.status, s.weight) for s in st.links()})
    assert states[0] == states[1]
    assert states[0][("1111", "2411")] == ("confirmed", 0.3) and states[0][("0110", "0110")][0] == "rejected"


def test_another_reviewers_workbook_of_the_same_name_is_its_own_import(store, tmp_path):
    """Anna and Boris each fill a copy of one export, both named review.xlsx. Boris's import
    applies his decisions and reports the one that collides with Anna's as a conflict (before:
    'already imported' was keyed on file name, row and action, so his decisions were dropped)."""
    export_workbook(store, tmp_path / "review.xlsx")
    for who in ("anna", "boris"):
        (tmp_path / who).mkdir()
        (tmp_path / who / "review.xlsx").write_bytes((tmp_path / "review.xlsx").read_bytes())
    a, b = tmp_path / "anna" / "review.xlsx", tmp_path / "boris" / "review.xlsx"
    rows = Sheet(a).fill({("0110", "0110"): {"decision": "принять"}, ("2411", "2411"): {"decision": "принять"}})
    Sheet(b).fill({("0110", "0210"): {"decision": "принять"}, ("0210", "0210"): {"decision": "нет соответствия"}})
    ra = import_workbook(store, a, reviewer="anna")
    assert ra.ok and ra.applied == 2
    r = CliRunner().invoke(cli, ["review", "import", str(b), "--store", str(store.path), "--reviewer", "boris",
                                 "--format", "json", "--partial"])
    rb = json.loads(r.output)
    # his "no correspondence" for 0210 applies; his pick for 0110 was made on the version Anna changed
    assert rb["applied"] == 1 and [c["row"] for c in rb["conflicts"]] == [Sheet(b).rows[("0110", "0210")]], rb
    assert r.exit_code == 1 and rb["digest"] != ra.digest
    assert store.item(item("0210")).status == "no_match"
    assert [s.key.target_code for s in store.item(item("0110")).confirmed] == ["0110"]
    # each import again adds nothing
    before = store.snapshot()
    assert import_workbook(store, a, reviewer="anna").applied == 0
    assert import_workbook(store, b, reviewer="boris", partial=True).applied == 0
    assert store.snapshot() == before and rows


def test_a_workbook_damaged_inside_is_a_clear_error_and_nothing_is_imported(store, tmp_path):
    """The review sheet's XML cut off mid-tag: a clear error naming the file, not a ParseError."""
    path = export_workbook(store, tmp_path / "review.xlsx")
    Sheet(path).fill({("0110", "0110"): {"decision": "принять"}})
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) * 2 // 3] + b"<row r=<<"
            zout.writestr(info, data)
    before = store.snapshot()
    r = CliRunner().invoke(cli, ["review", "import", str(damaged), "--store", str(store.path), "--reviewer", "anna"])
    assert r.exit_code == 1 and "cannot read the workbook" in r.output and "damaged.xlsx" in r.output, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert store.snapshot() == before


def test_item_decisions_and_single_rejects_commit_together(store, tmp_path, monkeypatch):
    """An import writes its item decisions and its rejects of single candidates in one
    transaction: a failure (or a kill -9) between the two leaves the store as it was."""
    path = export_workbook(store, tmp_path / "review.xlsx")
    Sheet(path).fill({("0110", "0110"): {"decision": "принять"}, ("0210", "0210"): {"decision": "отклонить"}})
    before = store.snapshot()

    def crash(*_a, **_kw):
        raise RuntimeError("killed between the item decisions and the rejects")
    with monkeypatch.context() as m:
        m.setattr(store, "decide", crash)
        with pytest.raises(RuntimeError):
            import_workbook(store, path, reviewer="anna")
    assert store.snapshot() == before and store.item(item("0110")).status == "open"
    rep = import_workbook(store, path, reviewer="anna")
    assert (rep.applied, rep.decisions) == (2, 2), rep.as_dict()
    assert store.item(item("0110")).status == "decided" and store.get(key("0210", "0210")).status == "rejected"


def test_a_transaction_nests_writes_as_savepoints(store):
    """store.transaction(): writes inside commit together; an all-or-nothing decide inside it
    rolls back only itself; an exception undoes everything."""
    a = store.item(item("0110"))
    b = store.get(key("0210", "0210"))
    before = store.snapshot()
    with pytest.raises(ZeroDivisionError):
        with store.transaction():
            store.decide_items([ItemDecision(a.key, "accept", a.version)], reviewer="anna")
            1 / 0
    assert store.snapshot() == before
    with store.transaction():
        other = store.get(key("1111", "1112"))
        got = store.decide([Decision(b.key, "reject", b.version), Decision(other.key, "reject", other.version + 99)],
                           reviewer="anna", all_or_nothing=True)
        assert got.rolled_back and not got.applied
        store.decide_items([ItemDecision(a.key, "accept", a.version)], reviewer="anna")
    assert store.item(item("0110")).status == "decided" and store.get(b.key).status == b.status
