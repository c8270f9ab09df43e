import csv
import json
import os

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF, SKOS

from crosswalk.cli import cli
from crosswalk.errors import CrosswalkError
from crosswalk.export import (COLUMNS, MAPPING_COLUMNS, ExportError, export, mapping_meta_path,
                              write_mapping_csv)
from crosswalk.model import Classification, Item
from crosswalk.review import Decision, LinkKey, ReviewStore
from crosswalk.safety import cell_untext

XKOS = Namespace("http://rdf-vocabulary.ddialliance.org/xkos#")
OKZ, OKVED = ("okz2014", "isco08"), ("okved2", "nace2")

# (source scheme, source code, source title, target scheme, target code, target title, score, status, weight)
LINKS = [
    ("okz2014", "0110", "=SUM(1,2) офицеры", "isco08", "0110", "Commissioned armed forces officers", 0.99,
     "confirmed", None),
    ("okz2014", "1111", "+7 законодатели", "isco08", "1111", "Legislators", 0.95, "confirmed", 0.7),
    ("okz2014", "1111", "+7 законодатели", "isco08", "1112", "Senior government officials", 0.6,
     "confirmed", 0.3),
    ("okz2014", "1120", "-руководители", "isco08", "1120", "Managing directors", 0.8, "pending", None),
    ("okz2014", "1211", "@финансы", "isco08", "1211", "Finance managers", 0.4, "rejected", None),
    ("okved2", "01.10", "\tВыращивание", "nace2", "01.10", "Growing of crops", 0.9, "confirmed", None),
    ("okved2", "01.11", "\x01Зерновые", "nace2", "01.11", "Growing of cereals", 0.9, "confirmed", None),
    ("okved2", "01.12", "Рис\rвыращивание", "nace2", "01.11", "Growing of cereals", 0.7, "confirmed", None),
    ("okved2", "01.13", "'=уже с кавычкой", "nace2", "01.13", "Growing of vegetables", 0.5, "pending", None),
]
CONFIRMED = [ln for ln in LINKS if ln[7] == "confirmed"]


def key(ln) -> LinkKey:
    return LinkKey(ln[0], ln[1], ln[3], ln[4])


def _fill(store: ReviewStore, links=LINKS) -> None:
    store.propose([{"key": key(ln), "score": ln[6], "source_title": ln[2], "target_title": ln[5],
                    "evidence": {"title_fuzzy": ln[6]}} for ln in links])
    decisions = []
    for ln in links:
        if ln[7] != "pending":
            decisions.append(Decision(key(ln), "confirm" if ln[7] == "confirmed" else "reject",
                                      store.get(key(ln)).version, weight=ln[8]))
    result = store.decide(decisions, reviewer="anna")
    assert len(result.applied) == len(decisions), result


@pytest.fixture
def store(tmp_path):
    with ReviewStore(tmp_path / "review.sqlite") as s:
        _fill(s)
        yield s


def _classifications():
    okz = Classification("okz2014", [Item("0", "Военнослужащие", 1), Item("01", "Офицеры", 2, "0"),
                                     Item("011", "Офицеры", 3, "01"), Item("0110", "Офицеры", 4, "011"),
                                     Item("1", "Руководители", 1), Item("11", "Законодатели", 2, "1"),
                                     Item("111", "Законодатели", 3, "11"), Item("1111", "Законодатели", 4, "111"),
                                     Item("1112", "Служащие", 4, "111")], edition="ОК 010-2014")
    isco = Classification("isco08", [Item("0", "Armed forces", 1), Item("01", "Officers", 2, "0"),
                                     Item("011", "Officers", 3, "01"), Item("0110", "Officers", 4, "011"),
                                     Item("1", "Managers", 1), Item("11", "Chief executives", 2, "1"),
                                     Item("111", "Legislators", 3, "11"), Item("1111", "Legislators", 4, "111"),
                                     Item("1112", "Senior officials", 4, "111"),
                                     Item("1113", "Traditional chiefs", 4, "111")], edition="ISCO-08 (2012)")
    return {"okz2014": okz, "isco08": isco}


def _formula_cells(path) -> list[str]:
    wb = openpyxl.load_workbook(path)
    return [f"{ws.title}!{c.coordinate}" for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]


def _sheet_rows(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def _xlsx_expected(title: str) -> str:
    return title.replace("\x01", "\ufffd").replace("\r", "\n")


# -- the mapping workbook ------------------------------------------------------------
def test_workbook_has_no_formulas_text_codes_and_reversible_titles(store, tmp_path):
    out = tmp_path / "out"
    result = export(store, out, exported_at="2024-05-01T10:00:00Z")
    book = out / "crosswalks.xlsx"
    assert book in result.files
    assert _formula_cells(book) == []
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["Summary", "okved2 → nace2", "okz2014 → isco08"]
    for (src, tgt), name in ((OKVED, "okved2 → nace2"), (OKZ, "okz2014 → isco08")):
        ws = wb[name]
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
        assert ws.column_dimensions["B"].width > 10
        rows = _sheet_rows(ws)
        want = [ln for ln in CONFIRMED if ln[0] == src]
        assert list(rows[0]) == [c for c in COLUMNS if c != "status"]
        assert [(r["source_code"], r["target_code"]) for r in rows] == [(ln[1], ln[4]) for ln in want]
        for r, ln in zip(rows, want):
            assert isinstance(r["source_code"], str) and isinstance(r["target_code"], str)
            assert cell_untext(r["source_title"]) == _xlsx_expected(ln[2])
            assert cell_untext(r["target_title"]) == ln[5]
            assert r["reviewed_by"] == "anna" and r["origin"] == "proposed"
        code_cols = [chr(ord("A") + list(rows[0]).index(c)) for c in ("source_code", "target_code")]
        for c in ws[code_cols[0]][1:] + ws[code_cols[1]][1:]:
            assert c.data_type == "s" and c.number_format == "@"
    okz = _sheet_rows(wb["okz2014 → isco08"])
    assert okz[0]["source_title"] == "'=SUM(1,2) офицеры"          # escaped, shown as text
    assert [r["weight"] for r in okz] == [1.0, 0.7, 0.3]
    assert {r["relation"] for r in okz} == {"1:1", "1:n"}
    okv = _sheet_rows(wb["okved2 → nace2"])
    assert [r["relation"] for r in okv] == ["1:1", "n:1", "n:1"]
    assert [r["weight"] for r in okv] == [1.0, 1.0, 1.0]


def test_workbook_warnings_list_the_altered_cells(store, tmp_path):
    result = export(store, tmp_path / "out", formats=["xlsx"])
    kinds = {(p.kind, p.sheet, p.row, p.column, p.value) for p in result.warnings}
    assert ("illegal_xml_character", "okved2 → nace2", 3, "source_title", "\x01Зерновые") in kinds
    assert ("carriage_return", "okved2 → nace2", 4, "source_title", "Рис\rвыращивание") in kinds
    p = next(p for p in result.warnings if p.kind == "illegal_xml_character")
    assert "U+0001" in p.message and p.file.endswith("crosswalks.xlsx")
    assert len([p for p in result.warnings if p.kind in ("illegal_xml_character", "carriage_return")]) == 2


def test_summary_sheet_counts_relations_and_coverage(store, tmp_path):
    result = export(store, tmp_path / "out", formats=["xlsx"], classifications=_classifications(),
                    exported_at="2024-05-01T10:00:00Z")
    okz = result.summary["okz2014__isco08"]
    assert okz["links"] == 3 and okz["sources"] == 2 and okz["targets"] == 3
    assert okz["relations"] == {"1:1": 1, "1:n": 1, "n:1": 0, "n:m": 0}
    assert okz["pending"] == 1 and okz["rejected"] == 1
    # the links use level 4 only: 3 of the 3 OKZ unit groups, 3 of the 4 ISCO unit groups
    assert okz["coverage"] == {"source_items": 3, "source_linked": 2, "source_share": 0.6667,
                               "target_items": 4, "target_linked": 3, "target_share": 0.75}
    assert result.summary["okved2__nace2"]["coverage"] is None          # no classification given
    assert result.summary["okved2__nace2"]["relations"] == {"1:1": 1, "1:n": 0, "n:1": 1, "n:m": 0}
    ws = openpyxl.load_workbook(tmp_path / "out" / "crosswalks.xlsx")["Summary"]
    rows = _sheet_rows(ws)
    row = next(r for r in rows if r["pair"] == "okz2014__isco08")
    assert (row["source edition"], row["confirmed links"], row["1:n"], row["target coverage"]) == \
        ("ОК 010-2014", 3, 1, 0.75)
    notes = {r["pair"]: r["source"] for r in rows if r["pair"] and r["pair"].startswith("snapshot")}
    assert notes["snapshot event"] == store.snapshot()[0]
    assert notes["snapshot checksum"] == store.snapshot()[1]
    assert ws.freeze_panes == "A2"


def test_unknown_codes_are_a_warning(store, tmp_path):
    classes = _classifications()
    classes["isco08"] = Classification("isco08", [Item("0", "Armed forces", 1)], edition="x")
    result = export(store, tmp_path / "out", formats=["csv"], classifications=classes)
    (w,) = [p for p in result.warnings if p.kind == "unknown_code"]
    assert "0110, 1111, 1112" in w.message and w.column == "target_code"


# -- CSV, JSON, Turtle -----------------------------------------------------------------
def test_csv_keeps_codes_as_text_and_titles_reversible(store, tmp_path):
    out = tmp_path / "out"
    export(store, out, formats=["csv"])
    assert sorted(os.listdir(out)) == ["okved2__nace2.csv", "okz2014__isco08.csv"]
    for (src, tgt) in (OKVED, OKZ):
        path = out / f"{src}__{tgt}.csv"
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        want = [ln for ln in CONFIRMED if ln[0] == src]
        assert list(df.columns) == [c for c in COLUMNS if c != "status"]
        assert list(df["source_code"]) == [ln[1] for ln in want]
        assert list(df["target_code"]) == [ln[4] for ln in want]
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert [cell_untext(r["source_title"]) for r in rows] == [ln[2] for ln in want]   # exact, \r and \x01 too
        assert all(not r["source_title"][:1] in "=+-@\t\r\x01" or r["source_title"] == "" for r in rows)
    okz = pd.read_csv(out / "okz2014__isco08.csv", dtype=str, keep_default_na=False)
    assert list(okz["weight"]) == ["1.000000", "0.700000", "0.300000"]
    assert list(okz["score"]) == ["0.9900", "0.9500", "0.6000"]


def test_json_has_numbers_editions_and_snapshot(store, tmp_path):
    export(store, tmp_path, formats=["json"], classifications=_classifications())
    doc = json.loads((tmp_path / "okz2014__isco08.json").read_text(encoding="utf-8"))
    assert doc["source_edition"] == "ОК 010-2014" and doc["target_edition"] == "ISCO-08 (2012)"
    assert doc["snapshot"] == {"event_id": store.snapshot()[0], "checksum": store.snapshot()[1]}
    assert doc["content"] == "confirmed"
    assert [(ln["source_code"], ln["target_code"], ln["weight"]) for ln in doc["links"]] == \
        [("0110", "0110", 1.0), ("1111", "1111", 0.7), ("1111", "1112", 0.3)]
    assert doc["links"][0]["source_title"] == "=SUM(1,2) офицеры"     # JSON is not a spreadsheet: raw text


def test_turtle_is_xkos_with_one_association_per_link(store, tmp_path):
    export(store, tmp_path, formats=["ttl"], base_uri="https://stat.example/id/")
    for (src, tgt) in (OKVED, OKZ):
        g = Graph()
        g.parse(tmp_path / f"{src}__{tgt}.ttl", format="turtle")
        corr = URIRef(f"https://stat.example/id/correspondence/{src}__{tgt}")
        assert (corr, RDF.type, XKOS.Correspondence) in g
        assocs = set(g.subjects(RDF.type, XKOS.ConceptAssociation))
        want = [ln for ln in CONFIRMED if ln[0] == src]
        assert len(assocs) == len(want) and set(g.objects(corr, XKOS.madeOf)) == assocs
        pairs = set()
        for a in assocs:
            (s,) = g.objects(a, XKOS.sourceConcept)
            (t,) = g.objects(a, XKOS.targetConcept)
            pairs.add((str(next(g.objects(s, SKOS.notation))), str(next(g.objects(t, SKOS.notation)))))
        assert pairs == {(ln[1], ln[4]) for ln in want}
    g = Graph()
    g.parse(tmp_path / "okved2__nace2.ttl", format="turtle")
    concept = URIRef("https://stat.example/id/okved2/01.11")
    assert str(next(g.objects(concept, SKOS.prefLabel))) == "\x01Зерновые"     # RDF keeps the text
    assert next(g.objects(concept, SKOS.prefLabel)).language == "ru"


def test_turtle_by_default_names_concepts_with_a_urn_not_a_borrowed_domain(store, tmp_path):
    export(store, tmp_path, formats=["ttl"])
    g = Graph()
    g.parse(tmp_path / "okved2__nace2.ttl", format="turtle")
    assert (URIRef("urn:crosswalk:correspondence/okved2__nace2"), RDF.type, XKOS.Correspondence) in g
    assert URIRef("urn:crosswalk:okved2/01.11") in set(g.subjects())
    with pytest.raises(CrosswalkError, match="must end with"):
        export(store, tmp_path / "x", formats=["ttl"], base_uri="https://stat.example/id")


def test_turtle_percent_encodes_codes():
    from crosswalk.export import _Row, _Table, _ttl_bytes
    from crosswalk.review import LinkState
    st = LinkState(LinkKey("okved2", "01 10/x", "nace2", "01.10"), "confirmed", 0.5, {}, "confirmed",
                   None, "", "a", "b", 1, "anna", "2024-01-01T00:00:00Z")
    t = _Table("okved2", "nace2", [_Row(st, 1.0, "1:1")], {"confirmed": 1, "pending": 0, "rejected": 0}, [])
    g = Graph()
    g.parse(data=_ttl_bytes(t, COLUMNS, (1, "x"), None, "https://e.example/").decode(), format="turtle")
    ((assoc, s),) = g.subject_objects(XKOS.sourceConcept)
    assert str(s) == "https://e.example/okved2/01%2010%2Fx"
    assert str(assoc) == "https://e.example/correspondence/okved2__nace2/01%2010%2Fx__01.10"


def test_outputs_are_deterministic(store, tmp_path):
    export(store, tmp_path / "a", formats=["csv", "json", "ttl"])
    export(store, tmp_path / "b", formats=["csv", "json", "ttl"])
    names = sorted(os.listdir(tmp_path / "a"))
    assert len(names) == 6
    for n in names:
        assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes(), n


# -- what is exported ------------------------------------------------------------------
def test_confirmed_only_excludes_pending_and_rejected(store, tmp_path):
    export(store, tmp_path / "c", formats=["csv"])
    df = pd.read_csv(tmp_path / "c" / "okz2014__isco08.csv", dtype=str, keep_default_na=False)
    assert "1120" not in set(df["source_code"]) and "1211" not in set(df["source_code"])
    export(store, tmp_path / "all", formats=["csv", "xlsx", "ttl"], confirmed_only=False)
    df = pd.read_csv(tmp_path / "all" / "okz2014__isco08.csv", dtype=str, keep_default_na=False)
    assert list(df.columns) == list(COLUMNS)
    assert list(df["status"]) == ["confirmed", "confirmed", "confirmed", "pending", "rejected"]
    assert list(df["relation"]) == ["1:1", "1:n", "1:n", "", ""]
    assert list(df["weight"]) == ["1.000000", "0.700000", "0.300000", "", ""]
    assert list(df["reviewed_by"]) == ["anna", "anna", "anna", "", "anna"]     # pending: never reviewed
    ws = openpyxl.load_workbook(tmp_path / "all" / "crosswalks.xlsx")["okz2014 → isco08"]
    assert [r["status"] for r in _sheet_rows(ws)] == ["confirmed", "confirmed", "confirmed", "pending", "rejected"]
    g = Graph()
    g.parse(tmp_path / "all" / "okz2014__isco08.ttl", format="turtle")
    assert len(set(g.subjects(RDF.type, XKOS.ConceptAssociation))) == 5


def test_reviewed_by_survives_a_new_proposal(store, tmp_path):
    ln = LINKS[0]
    reviewed_at = store.get(key(ln)).updated_at
    # a later build proposes the confirmed link again with a new score: the store's last event is
    # the proposal, but the export still names who confirmed it
    assert store.propose([{"key": key(ln), "score": 0.5, "source_title": ln[2], "target_title": ln[5]}],
                         reviewer="crosswalk") == 1
    assert store.get(key(ln)).updated_by == "crosswalk"
    export(store, tmp_path, formats=["csv"], pairs=["okz2014:isco08"])
    df = pd.read_csv(tmp_path / "okz2014__isco08.csv", dtype=str, keep_default_na=False)
    assert (df["reviewed_by"][0], df["reviewed_at"][0], df["score"][0]) == ("anna", reviewed_at, "0.5000")


def test_pairs_select_and_unknown_pairs_are_refused(store, tmp_path):
    result = export(store, tmp_path / "p", formats=["csv"], pairs=["okz2014:isco08"])
    assert [p.name for p in result.files] == ["okz2014__isco08.csv"]
    with pytest.raises(ExportError, match="no links for okpdtr:okz2014.*okved2:nace2, okz2014:isco08"):
        export(store, tmp_path / "q", pairs=[("okpdtr", "okz2014")])
    with pytest.raises(CrosswalkError, match="SOURCE:TARGET"):
        export(store, tmp_path / "q", pairs=["okz2014"])
    with pytest.raises(CrosswalkError, match="unknown export format"):
        export(store, tmp_path / "q", formats=["pdf"])


def test_pair_with_nothing_confirmed_writes_header_and_warns(tmp_path):
    with ReviewStore(tmp_path / "s.sqlite") as s:
        _fill(s, [ln for ln in LINKS if ln[7] == "pending"])
        result = export(s, tmp_path / "out", formats=["csv"], pairs=["okved2:nace2"])
    assert (tmp_path / "out" / "okved2__nace2.csv").read_text(encoding="utf-8").count("\n") == 1
    assert [p.kind for p in result.warnings] == ["empty_pair"]


# -- weights ---------------------------------------------------------------------------
def _weighted_store(tmp_path, weights):
    s = ReviewStore(tmp_path / "w.sqlite")
    links = [("okved2", "01.10", "a", "nace2", t, "t", 0.9, "confirmed", w) for t, w in zip(
        ("01.10", "01.11", "01.13"), weights)]
    _fill(s, links)
    return s


def test_missing_weights_split_equally(tmp_path):
    with _weighted_store(tmp_path, [None, None, None]) as s:
        export(s, tmp_path / "out", formats=["json"])
    doc = json.loads((tmp_path / "out" / "okved2__nace2.json").read_text(encoding="utf-8"))
    assert [ln["weight"] for ln in doc["links"]] == [1 / 3] * 3
    assert {ln["relation"] for ln in doc["links"]} == {"1:n"}


@pytest.mark.parametrize("weights, why", [([0.5, 0.3, 0.1], "sum to 0.900000"),
                                          ([0.5, None, 0.5], "weights set for 2 of its 3")])
def test_weights_not_adding_up_refuse_the_export(tmp_path, weights, why):
    out = tmp_path / "out"
    out.mkdir()
    (out / "okved2__nace2.csv").write_bytes(b"old")
    with _weighted_store(tmp_path, weights) as s:
        with pytest.raises(ExportError, match="source 01.10") as err:
            export(s, out)
    assert why in str(err.value) and "nothing was written" in str(err.value)
    assert [p.value for p in err.value.problems] == ["01.10"]
    assert os.listdir(out) == ["okved2__nace2.csv"] and (out / "okved2__nace2.csv").read_bytes() == b"old"


def test_explicit_weights_summing_to_one_are_kept(tmp_path):
    with _weighted_store(tmp_path, [0.5, 0.25, 0.25]) as s:
        export(s, tmp_path / "out", formats=["csv"])
    df = pd.read_csv(tmp_path / "out" / "okved2__nace2.csv", dtype=str)
    assert list(df["weight"]) == ["0.500000", "0.250000", "0.250000"]


# -- paths -----------------------------------------------------------------------------
def test_output_paths_never_escape_the_folder(store, tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (outside / "victim.xlsx").write_bytes(b"keep me")
    (out / "crosswalks.xlsx").symlink_to(outside / "victim.xlsx")
    with pytest.raises(CrosswalkError, match="outside the output folder"):
        export(store, out)
    assert (outside / "victim.xlsx").read_bytes() == b"keep me"
    assert sorted(os.listdir(out)) == ["crosswalks.xlsx"]     # refused before the first write
    (out / "crosswalks.xlsx").unlink()
    (out / "okz2014__isco08.ttl").symlink_to(outside / "x.ttl")
    with pytest.raises(CrosswalkError, match="outside the output folder"):
        export(store, out)
    assert sorted(os.listdir(outside)) == ["victim.xlsx"]


# -- the committed form ------------------------------------------------------------------
def test_mapping_csv_names_editions_and_stays_stable(store, tmp_path):
    path = tmp_path / "mappings" / "okz2014__isco08.csv"
    path.parent.mkdir()
    result = write_mapping_csv(store, "okz2014:isco08", path, classifications=_classifications(),
                               exported_at="2024-05-01T10:00:00Z")
    assert result.files == sorted([path.resolve(), mapping_meta_path(path).resolve()])
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(df.columns) == list(MAPPING_COLUMNS)
    assert set(df["source_edition"]) == {"ОК 010-2014"} and set(df["target_edition"]) == {"ISCO-08 (2012)"}
    assert list(zip(df["source_code"], df["target_code"])) == [("0110", "0110"), ("1111", "1111"), ("1111", "1112")]
    meta = json.loads(mapping_meta_path(path).read_text(encoding="utf-8"))
    assert meta["snapshot"]["event_id"] == store.snapshot()[0] and meta["links"] == 3
    assert meta["exported_at"] == "2024-05-01T10:00:00Z" and meta["source_edition"] == "ОК 010-2014"
    before = (path.read_bytes(), mapping_meta_path(path).read_bytes())

    # another pair's decision changes the snapshot, not this table: nothing is rewritten
    ln = next(ln for ln in LINKS if ln[1] == "01.13")
    store.decide([Decision(key(ln), "confirm", store.get(key(ln)).version)], reviewer="boris")
    again = write_mapping_csv(store, ("okz2014", "isco08"), path, classifications=_classifications())
    assert again.files == [] and len(again.unchanged) == 2
    assert (path.read_bytes(), mapping_meta_path(path).read_bytes()) == before

    ln = next(ln for ln in LINKS if ln[1] == "1120")
    store.decide([Decision(key(ln), "confirm", store.get(key(ln)).version)], reviewer="boris")
    third = write_mapping_csv(store, ("okz2014", "isco08"), path, classifications=_classifications())
    assert len(third.files) == 2 and "1120" in path.read_text(encoding="utf-8")


def test_mapping_csv_without_editions_warns(store, tmp_path):
    result = write_mapping_csv(store, "okved2:nace2", tmp_path / "okved2__nace2.csv")
    assert [p.kind for p in result.warnings] == ["edition_unknown", "edition_unknown"]
    with pytest.raises(CrosswalkError, match=r"\.csv"):
        write_mapping_csv(store, "okved2:nace2", tmp_path / "okved2__nace2.txt")


# -- command line -------------------------------------------------------------------------
def test_cli_export(store, tmp_path):
    out = tmp_path / "cli"
    res = CliRunner().invoke(cli, ["export", "--store", str(store.path), str(out), "--format", "csv",
                                   "--format", "ttl", "--pair", "okz2014:isco08", "--mappings",
                                   str(tmp_path / "mappings")])
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(out)) == ["okz2014__isco08.csv", "okz2014__isco08.ttl"]
    assert sorted(os.listdir(tmp_path / "mappings")) == ["okz2014__isco08.csv", "okz2014__isco08.meta.json"]
    assert "okz2014 → isco08: 3 links" in res.output
    res = CliRunner().invoke(cli, ["export", "--store", str(store.path), str(out), "--all"])
    assert res.exit_code == 0, res.output
    assert "crosswalks.xlsx" in os.listdir(out) and "warning" in res.output     # the \x01 title


def test_cli_export_reports_weight_errors(tmp_path):
    with _weighted_store(tmp_path, [0.5, 0.3, 0.1]) as s:
        path = s.path
    res = CliRunner().invoke(cli, ["export", "--store", str(path), str(tmp_path / "out")])
    assert res.exit_code == 1 and "source 01.10" in res.output
    res = CliRunner().invoke(cli, ["export", "--store", str(tmp_path / "none.sqlite"), str(tmp_path / "o")])
    assert res.exit_code != 0


def test_weights_rounded_to_six_decimals_export_as_apply_accepts_them(tmp_path):
    # three thirds typed as 0.333333 sum to 0.999999 (1 - 1.00000000003e-6 in floating point):
    # apply rescales such sums, so the export must not refuse them
    with _weighted_store(tmp_path, [0.333333, 0.333333, 0.333333]) as s:
        export(s, tmp_path / "out", formats=["csv"])
    df = pd.read_csv(tmp_path / "out" / "okved2__nace2.csv", dtype=str)
    assert list(df["weight"]) == ["0.333333"] * 3
    (tmp_path / "x").mkdir()
    with _weighted_store(tmp_path / "x", [0.33, 0.33, 0.33]) as s:   # 0.99 is not rounding: refused
        with pytest.raises(ExportError, match="sum to 0.990000"):
            export(s, tmp_path / "out2", formats=["csv"])


# -- one folder, several exports -------------------------------------------------------
def test_second_export_of_other_pairs_into_the_same_folder_keeps_the_first_workbook(store, tmp_path):
    """`export OUT --pair A` then `export OUT --pair B`: the workbook of the first holds A's sheet,
    which the second would drop; it is refused, naming the sheet, and nothing in OUT changes."""
    out = tmp_path / "out"
    export(store, out, pairs=["okz2014:isco08"], exported_at="2024-05-01T10:00:00Z")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(ExportError, match=r"okz2014 → isco08.*--replace") as err:
        export(store, out, pairs=["okved2:nace2"], exported_at="2024-05-01T11:00:00Z")
    assert "nothing was written" in str(err.value)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # the same selection again replaces its own workbook; both pairs in one call keep both
    export(store, out, pairs=["okz2014:isco08"], exported_at="2024-05-01T12:00:00Z")
    export(store, out, pairs=["okz2014:isco08", "okved2:nace2"], exported_at="2024-05-01T13:00:00Z")
    assert openpyxl.load_workbook(out / "crosswalks.xlsx").sheetnames == \
        ["Summary", "okved2 → nace2", "okz2014 → isco08"]
    # asked to, it replaces the workbook; the other pair's CSV stays beside it
    export(store, out, pairs=["okved2:nace2"], replace=True)
    assert openpyxl.load_workbook(out / "crosswalks.xlsx").sheetnames == ["Summary", "okved2 → nace2"]
    assert (out / "okz2014__isco08.csv").exists()


def test_cli_export_refuses_to_drop_an_earlier_routes_sheet(store, tmp_path):
    out = tmp_path / "out"
    run = CliRunner().invoke
    args = ["export", str(out), "--store", str(tmp_path / "review.sqlite")]
    first = run(cli, args + ["--pair", "okz2014:isco08"])
    assert first.exit_code == 0, first.output
    second = run(cli, args + ["--pair", "okved2:nace2"])
    assert second.exit_code != 0
    assert "okz2014 → isco08" in second.output and "--replace" in second.output
    assert not (out / "okved2__nace2.csv").exists()
    third = run(cli, args + ["--pair", "okved2:nace2", "--replace"])
    assert third.exit_code == 0, third.output
    assert (out / "okved2__nace2.csv").exists()


def test_a_file_in_the_workbooks_place_that_is_no_workbook_is_not_overwritten(store, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "crosswalks.xlsx").write_bytes(b"my notes, not a workbook")
    with pytest.raises(ExportError, match="not a workbook crosswalk can read"):
        export(store, out)
    assert (out / "crosswalks.xlsx").read_bytes() == b"my notes, not a workbook"
