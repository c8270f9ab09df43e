"""The fast parts of the review workbook checked against slow obvious versions: the streamed
XML writer and reader against openpyxl, the union-find cardinality groups against networkx."""
from __future__ import annotations

import io
from datetime import datetime

import networkx as nx
import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from crosswalk.candidates import sheet_safe
from crosswalk.review.store import LinkKey, LinkState
from crosswalk.review.workbook import link_groups
from crosswalk.review.workbook_layout import COLUMNS, POSITION
from crosswalk.review.workbook_read import Book
from crosswalk.review.workbook_write import MAX_CELL, Row, write_rows

TEXT_COLUMNS = [c.id for c in COLUMNS if c.kind in ("text", "edit")]
NUMBER_COLUMNS = [c.id for c in COLUMNS if c.kind in ("int", "num", "score")]
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30) | st.sampled_from(
    ["=1+1", "+7 (495)", "-Бухгалтеры", "@SUM(A1)", "'=x", "0110", "a\x07b", "\r\n", " padded ", "x" * (MAX_CELL + 3)])
numbers = st.one_of(st.integers(0, 10 ** 9), st.floats(0, 1, allow_nan=False))
rows_ = st.lists(st.fixed_dictionaries({}, optional={**{c: texts for c in TEXT_COLUMNS},
                                                       **{c: numbers for c in NUMBER_COLUMNS}}), max_size=8)


def _expected(value):
    if isinstance(value, str):
        text = "".join("\ufffd" if (ord(ch) < 32 and ch not in "\t\n\r") or ch in "\ufffe\uffff" else ch
                       for ch in value)
        safe = sheet_safe(text)
        return safe if len(safe) <= MAX_CELL else sheet_safe(text[:MAX_CELL - (len(safe) - len(text))])
    return value


@settings(max_examples=60, deadline=None)
@given(rows_, st.sampled_from(["ru", "en"]))
def test_streamed_rows_read_back_as_written_by_openpyxl_and_our_reader(rows, lang):
    w = write_rows([Row(v, first=i == 0) for i, v in enumerate(rows)], lang=lang, meta={"format": "x"},
                   title="t", file="t.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(w.data))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == [c.label(lang) for c in COLUMNS]
    theirs = {}
    for r, values in enumerate(rows, 2):
        for cid, value in values.items():
            cell = ws.cell(r, POSITION[cid])
            want = _expected(value)
            if want == "":
                assert cell.value is None
                continue
            assert cell.value == want, (cid, value)
            assert cell.data_type == ("s" if isinstance(value, str) else "n")
            theirs[(r, POSITION[cid])] = cell.value
    book = Book(io.BytesIO(w.data))           # our reader over the same bytes
    ours = {}
    for r, cells in book.rows(book.sheetnames[0]):
        for col, cell in enumerate(cells, 1):
            if cell is not None and r > 1:
                ours[(r, col)] = cell[0]
    assert ours == theirs
    changed = {p.kind for p in w.problems}
    assert ("cell_too_long" in changed) == any(len(sheet_safe(v)) > MAX_CELL for row in rows for v in row.values()
                                               if isinstance(v, str))


def test_dates_are_excel_dates():
    w = write_rows([Row({"changed_at": datetime(2024, 3, 2, 0, 30)})], lang="ru", meta={}, title="t", file="t")
    cell = openpyxl.load_workbook(io.BytesIO(w.data)).worksheets[0].cell(2, POSITION["changed_at"])
    assert cell.value == datetime(2024, 3, 2, 0, 30) and cell.number_format == "DD.MM.YYYY HH:MM"


def _groups_slow(links):
    """link_groups as it was written first: networkx components of the kept links."""
    by_source = {}
    for ln in sorted(links, key=lambda ln: (ln.key.source_scheme, ln.key.target_scheme, ln.key.source_code,
                                            ln.key.target_code)):
        if ln.status != "rejected":
            k = ln.key
            by_source.setdefault((k.source_scheme, k.target_scheme, k.source_code), []).append(ln)
    kept = []
    for lns in by_source.values():
        confirmed = [ln for ln in lns if ln.status == "confirmed"]
        proposal = [ln for ln in lns if ln.role == "proposal"]
        kept += confirmed or proposal[:1] or [min(lns, key=lambda ln: -1.0 if ln.score is None else -ln.score)]
    g = nx.Graph()
    for ln in kept:
        k = ln.key
        g.add_edge(("s", k.source_scheme, k.target_scheme, k.source_code), ("t", k.source_scheme, k.target_scheme,
                                                                             k.target_code))
    comp_of, kinds = {}, []
    for comp in nx.connected_components(g):
        n_s = sum(1 for node in comp if node[0] == "s")
        n_t = len(comp) - n_s
        kinds.append({(True, True): "1:1", (True, False): "1:n", (False, True): "n:1",
                      (False, False): "n:m"}[n_s == 1, n_t == 1])
        comp_of.update((node, len(kinds) - 1) for node in comp)
    number, out = {}, {}
    kept_keys = {ln.key for ln in kept}
    for source, lns in by_source.items():
        c = comp_of[("s", *source)]
        number.setdefault(c, len(number) + 1)
        for ln in lns:
            out[ln.key] = (number[c], kinds[c] if ln.key in kept_keys else "alternative")
    return out


def _link(s, t, status, role, score):
    return LinkState(LinkKey("okved2", s, "nace2", t), status, score, {}, "proposed", None, "", "", "", 1, "", "",
                     role=role)


links_ = st.lists(st.tuples(st.sampled_from(["01", "02", "03", "04", "05", "06"]),
                            st.sampled_from(["01", "02", "03", "04", "05"]),
                            st.sampled_from(["pending", "confirmed", "rejected"]),
                            st.sampled_from(["", "proposal", "alternative"]),
                            st.none() | st.floats(0, 1)), max_size=25, unique_by=lambda x: (x[0], x[1]))


@settings(max_examples=200, deadline=None)
@given(links_)
def test_union_find_groups_match_networkx(rows):
    links = [_link(*r) for r in rows]
    assert link_groups(links) == _groups_slow(links)
    assert link_groups(reversed(links)) == link_groups(links)      # any row order


@given(st.lists(st.text(max_size=8), min_size=4, max_size=4))
def test_link_cells_read_back_as_the_key_written(parts):
    from crosswalk.review.workbook_export import key_text, parse_key_text
    k = LinkKey(*parts)
    assert parse_key_text(key_text(k)) == k
    import json
    assert json.loads(key_text(k)) == parts               # the fast path writes what json.dumps writes
