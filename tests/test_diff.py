"""Edition diff (crosswalk/diff.py): the hand-made fixtures, the OKVED2 2016 → 2023
reference editions, the rules one by one, and properties checked with hypothesis
against a slow obvious version.

Fixture tests/data/diff/ (Rosstat layout: cp1251, ';', quoted, no header), expected
result worked out by hand from the two files:

  unchanged 14: A, C, 01, 01.11 (whitespace only: double space), 01.11.1, 01.12,
                01.13 (whitespace only: NBSP), 01.13.3, 01.13.39, 01.14, 01.15, 14, 14.3,
                14.31 (whitespace only: «чулочно-носочных» → «чулочно- носочных»)
  renamed    2: 01.1 (+«сельскохозяйственных»), 01.11.2 («зернобобовых культур» →
                «гречихи»; its old title is now 01.11.6)
  moved      2: 01.11.3 → 01.11.5 (same title, same level), 01.13.31 → 01.13.4
                («Выращивание картофеля», type → subclass, same branch 01.13)
  split      1: 01.13.1 «Выращивание овощей» → 01.13.7, 01.13.8 (… открытого / защищенного
                грунта, same parent 01.13)
  merged     1: 01.14.1, 01.14.2 (… для производства сахара / кормов) → 01.14.9
                «Выращивание сахарного тростника»
  added      4: 01.11.6 (the old title of 01.11.2), 01.16, 14.31.1, 14.31.2 (14.31 still
                exists and gains children: added, not a split)
  deleted    2: 01.12.1 («Исключено…»: already marked excluded), 01.15.1
  raw set difference: 9 codes only in new, 7 only in old.
"""
from __future__ import annotations

import csv
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from conftest import DATA, reference_file
from crosswalk.diff import CHANGE_KINDS, Change, DiffError, EditionDiff, changes_by_code, diff
from crosswalk.errors import CrosswalkError
from crosswalk.loaders import load
from crosswalk.model import Classification, Item, code_sort_key
from crosswalk.normalize import key

OLD = DATA / "diff" / "data-20160826-structure-20140101.csv"
NEW = DATA / "diff" / "data-20231201-structure-20180402.csv"


def _okved_level(code: str) -> int:
    return {2: 2, 4: 3, 5: 4, 7: 5, 8: 6}[len(code)]


def _okved_parent(code: str):
    return None if len(code) == 2 else code[:-1].rstrip(".")


def okved(titles: dict[str, str], edition: str = "") -> Classification:
    """An OKVED2 classification without sections from {code: title}."""
    return Classification("okved2", [Item(c, t, _okved_level(c), _okved_parent(c)) for c, t in titles.items()],
                          edition=edition)


def kinds(d: EditionDiff) -> list[tuple]:
    return [(c.kind, c.old, c.new) for c in d.changes]


# -- the fixtures, against the hand count above -----------------------------------
@pytest.fixture(scope="module")
def fixture_diff() -> EditionDiff:
    return diff(load(OLD).classification, load(NEW).classification)


def test_fixture_changes_match_the_hand_count(fixture_diff):
    d = fixture_diff
    assert d.counts() == {"unchanged": 14, "renamed": 2, "moved": 2, "split": 1, "merged": 1,
                          "added": 4, "deleted": 2}
    assert [(c.kind, c.old, c.new) for c in d.changes if c.kind != "unchanged"] == [
        ("renamed", ("01.1",), ("01.1",)),
        ("renamed", ("01.11.2",), ("01.11.2",)),
        ("moved", ("01.11.3",), ("01.11.5",)),
        ("moved", ("01.13.31",), ("01.13.4",)),
        ("split", ("01.13.1",), ("01.13.7", "01.13.8")),
        ("merged", ("01.14.1", "01.14.2"), ("01.14.9",)),
        ("added", (), ("01.11.6",)),
        ("added", (), ("01.16",)),
        ("added", (), ("14.31.1",)),
        ("added", (), ("14.31.2",)),
        ("deleted", ("01.12.1",), ()),
        ("deleted", ("01.15.1",), ()),
    ]
    assert [c.old[0] for c in d.of_kind("unchanged")] == [
        "A", "C", "01", "01.11", "01.11.1", "01.12", "01.13", "01.13.3", "01.13.39", "01.14", "01.15",
        "14", "14.3", "14.31"]
    assert d.codes_added == ["01.11.5", "01.11.6", "01.13.4", "01.13.7", "01.13.8", "01.14.9", "01.16",
                             "14.31.1", "14.31.2"]
    assert d.codes_deleted == ["01.11.3", "01.12.1", "01.13.1", "01.13.31", "01.14.1", "01.14.2", "01.15.1"]
    assert (d.scheme, d.old_edition, d.new_edition) == (
        "okved2", "2016-08-26 (structure 2014-01-01)", "2023-12-01 (structure 2018-04-02)")
    assert d.ignored_levels == {}  # both files carry their sections


def test_fixture_details(fixture_diff):
    by = changes_by_code(fixture_diff)
    assert {c.old[0]: c.detail for c in fixture_diff.whitespace_only} == {
        "01.11": "whitespace only: double space",
        "01.13": "whitespace only: non-breaking space",
        "14.31": "whitespace only: «чулочно-носочных» → «чулочно- носочных»"}
    assert by["old", "01.1"].detail == "title similarity 0.75; +«сельскохозяйственных»"
    assert "old title now at 01.11.6 (1.00)" in by["old", "01.11.2"].detail
    assert by["new", "01.11.6"].detail == "title was at 01.11.2 in the old edition"
    assert by["old", "01.13.31"].detail == "title similarity 1.00; level type → subclass; parent 01.13.3 → 01.13"
    assert by["old", "01.12.1"].detail == "the old edition already marks it as excluded"
    assert by["old", "01.15.1"].detail == ""
    split = by["old", "01.13.1"]
    assert split.new_title == "Выращивание овощей открытого грунта | Выращивание овощей защищенного грунта"
    assert split.score == 1.0 and "covered by 2 new codes" in split.detail


# -- the reference editions -------------------------------------------------------
@pytest.fixture(scope="module")
def okved_2016_2023() -> EditionDiff:
    old = load(reference_file("okved2/consultantplus_2016_with_notes/sorted.json")).classification
    new = load(reference_file("okved2/rosstat_opendata_2023-12-01/data-20231201-structure-20180402.csv")).classification
    return diff(old, new)


def test_reference_okved2_2016_to_2023(okved_2016_2023):
    d = okved_2016_2023
    # PROVENANCE: 121 new codes, 4 gone, 140 captions differ; sections only in the 2023 CSV
    assert d.ignored_levels == {"section": {"old": 0, "new": 21}}
    assert len(d.codes_added) == 121 and {"03.22.7", "10.86.7", "17.12.11"} <= set(d.codes_added)
    assert d.codes_deleted == ["06.10.4", "71.12.46", "72.19.2", "84.23.16"]
    # 140 captions differ as stored; 15 of them only because the 2016 caption runs on into its
    # explanation (14) or wraps over two lines (79.90.21), which the loader separates
    assert len(d.of_kind("renamed")) + len(d.whitespace_only) == 140 - 15
    # 71.12.46 «Землеустройство» (type under 71.12.4) is 71.12.9 (subclass under 71.12) in
    # 2023; 06.10.4 and 72.19.2 were «Исключено…» rows in 2016; 84.23.16 (Высший
    # арбитражный суд) has no successor by title: the other three stay deleted
    assert d.counts() == {"unchanged": 2645, "renamed": 112, "moved": 1, "split": 0, "merged": 0,
                          "added": 120, "deleted": 3}
    assert len(d.whitespace_only) == 13
    by = changes_by_code(d)
    assert (by["old", "71.12.46"].kind, by["old", "71.12.46"].new) == ("moved", ("71.12.9",))
    assert [by["old", c].detail for c in ("06.10.4", "72.19.2")] == ["the old edition already marks it as excluded"] * 2
    assert by["old", "06"].kind == "renamed" and by["old", "06"].detail == "title similarity 0.90; −«сырой»"
    for code in ("14.31.1", "18.14", "96.04", "07.29.42", "74.90.92"):
        assert by["old", code].kind == "unchanged" and by["old", code].detail.startswith("whitespace only")
    # a reused code: the 2016 meaning of 52.10.4 is 52.10.9 in 2023
    assert "old title now at 52.10.9 (1.00)" in by["old", "52.10.4"].detail
    assert by["new", "52.10.9"].detail == "title was at 52.10.4 in the old edition"
    assert "(look-alike letters)" in by["old", "61.10.2"].detail
    for code in ("03.21.1", "79.90.21", "85.21"):     # the caption's explanation or line break: no rename
        assert by["old", code].kind == "unchanged" and by["old", code].detail == ""
    every_old = [c for ch in d.changes for c in ch.old]
    assert len(every_old) == len(set(every_old)) == 2761


# -- the rules ----------------------------------------------------------------------
@pytest.mark.parametrize("old_title, new_title, kind, detail", [
    ("Торговля  оптовая", "Торговля оптовая", "unchanged", "whitespace only: double space"),
    ("Торговля\nоптовая", "Торговля оптовая", "unchanged", "whitespace only: line break"),
    ("Торговля\u00a0оптовая ", "Торговля оптовая", "unchanged",
     "whitespace only: non-breaking space, leading/trailing space"),
    ("Торговля опто\u200bвая", "Торговля оптовая", "unchanged", "whitespace only: invisible character"),
    ("мыла и т.п.", "мыла и т. п.", "unchanged", "whitespace only: «т.п.» → «т. п.»"),
    ("чулочно-носочных изделий", "чулочно- носочных изделий", "unchanged",
     "whitespace only: «чулочно-носочных» → «чулочно- носочных»"),
    ("Торговля оптовая", "Торговля оптовая", "unchanged", ""),
    # a hyphen removed is a change of spelling, not of whitespace
    ("валютно-фондовых бирж", "валютнофондовых бирж", "renamed", "«валютно-фондовых» → «валютнофондовых»"),
    ("IP-телефония", "IР-телефония", "renamed", "«IP-телефония» → «IР-телефония» (look-alike letters)"),
    ("Добыча сырой нефти", "Добыча нефти", "renamed", "−«сырой»"),
])
def test_whitespace_only_is_not_a_rename(old_title, new_title, kind, detail):
    d = diff(okved({"01": old_title}), okved({"01": new_title}))
    (change,) = d.changes
    assert change.kind == kind
    assert change.detail == detail if kind == "unchanged" else change.detail.endswith(detail)


def test_low_similarity_rename_is_flagged():
    d = diff(okved({"01": "Хранение и складирование прочих грузов"}),
             okved({"01": "Хранение ядерных материалов и радиоактивных веществ"}), rename_threshold=0.5)
    assert "wording changed a lot: check the meaning" in d.changes[0].detail
    d = diff(okved({"01": "Хранение и складирование прочих грузов"}),
             okved({"01": "Хранение ядерных материалов и радиоактивных веществ"}), rename_threshold=0.1)
    assert "wording" not in d.changes[0].detail


def test_a_level_only_one_edition_has_is_left_out_and_reported():
    new = load(NEW).classification
    old = okved({it.code: it.title for it in load(OLD).classification if it.level > 1})
    d = diff(old, new)
    assert d.ignored_levels == {"section": {"old": 0, "new": 2}}
    assert not any(c in ("A", "C") for ch in d.changes for c in ch.old + ch.new)
    assert d.counts()["added"] == 4
    raw = diff(old, new, ignore_missing_levels=False)
    assert raw.ignored_levels == {} and raw.counts()["added"] == 6
    # divisions got a section parent in the new file: said where it is not ignored
    assert changes_by_code(raw)["old", "01"].detail == "parent None → A"


def test_moves_need_the_same_level_or_branch():
    old = okved({"01": "a", "01.1": "b", "01.11": "c", "01.11.1": "Выращивание картофеля", "02": "d", "02.1": "e"})
    across = okved({"01": "a", "01.1": "b", "01.11": "c", "02": "d", "02.1": "e", "02.10": "Выращивание картофеля"})
    assert kinds(diff(old, across))[-2:] == [("added", (), ("02.10",)), ("deleted", ("01.11.1",), ())]
    same_level = okved({"01": "a", "01.1": "b", "01.11": "c", "02": "d", "02.1": "e", "02.10": "f",
                        "02.10.1": "Выращивание картофеля"})
    assert ("moved", ("01.11.1",), ("02.10.1",)) in kinds(diff(old, same_level))


def test_a_code_in_both_a_split_and_a_merge_is_left_alone():
    # 01.1 → 01.2, 01.3 is a split; 01.4 ← 01.1, 01.5 a merge: 01.1 is in both, so neither
    old = okved({"01": "x", "01.1": "Выращивание овощей", "01.5": "Выращивание цветов"})
    new = okved({"01": "x", "01.2": "Выращивание овощей открытого грунта",
                 "01.3": "Выращивание овощей защищенного грунта", "01.4": "Выращивание"})
    assert kinds(diff(old, new)) == [("unchanged", ("01",), ("01",)), ("added", (), ("01.2",)),
                                     ("added", (), ("01.3",)), ("added", (), ("01.4",)),
                                     ("deleted", ("01.1",), ()), ("deleted", ("01.5",), ())]
    without_merge = okved({"01": "x", "01.2": "Выращивание овощей открытого грунта",
                           "01.3": "Выращивание овощей защищенного грунта"})
    assert ("split", ("01.1",), ("01.2", "01.3")) in kinds(diff(old, without_merge))


def test_errors():
    isic = Classification("isic4", [Item("A", "Agriculture", 1)])
    with pytest.raises(DiffError, match="different schemes"):
        diff(okved({"01": "a"}), isic)
    with pytest.raises(CrosswalkError, match="move_threshold"):
        diff(okved({"01": "a"}), okved({"01": "a"}), move_threshold=1.5)
    with pytest.raises(DiffError, match="unknown change kind 'gone'"):
        diff(okved({"01": "a"}), okved({"01": "a"})).of_kind("gone")
    with pytest.raises(ValueError):
        Change("gone", (), ())


def test_csv_and_dict(tmp_path, fixture_diff):
    d = diff(okved({"01": "=HYPERLINK(1)", "02": "x"}), okved({"01": "-HYPERLINK(1)", "03": "@y"}))
    path = d.write_csv(tmp_path / "diff.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and list(tmp_path.iterdir()) == [path]  # no temp file left
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == ["kind", "old_codes", "old_title", "new_codes", "new_title", "score", "detail"]
    assert rows[1][:5] == ["renamed", "01", "'=HYPERLINK(1)", "01", "'-HYPERLINK(1)"]
    assert rows[2][:5] == ["added", "", "", "03", "'@y"] and rows[3][:3] == ["deleted", "02", "x"]
    out = fixture_diff.as_dict()
    assert json.loads(json.dumps(out, ensure_ascii=False)) == out
    assert list(out["counts"]) == list(CHANGE_KINDS) and out["whitespace_only"] == 3
    split = next(c for c in out["changes"] if c["kind"] == "split")
    assert split == {"kind": "split", "old": ["01.13.1"], "new": ["01.13.7", "01.13.8"],
                     "old_title": "Выращивание овощей",
                     "new_title": "Выращивание овощей открытого грунта | Выращивание овощей защищенного грунта",
                     "score": 1.0, "detail": "old title words covered by 2 new codes (least cover 1.00)"}


# -- properties ------------------------------------------------------------------------
# A small code tree and titles that share words, so every kind of change turns up
# (splits and merges in a few per cent of the examples).
_TREE = ["01", "01.1", "01.11", "01.11.1", "01.11.2", "01.11.3", "01.12", "01.12.1", "01.12.2", "01.2",
         "01.21", "01.21.1", "01.21.2", "01.21.3", "01.21.4", "02", "02.1", "02.10", "02.10.1", "02.10.2"]
_NOUNS = ("овощей", "картофеля", "сахарной свеклы")
_QUALIFIERS = ("открытого грунта", "в теплицах", "для кормов", "на экспорт")
_titles = st.builds(lambda noun, qs, space: "Выращивание" + space + noun + "".join(" " + q for q in qs),
                    st.sampled_from(_NOUNS), st.lists(st.sampled_from(_QUALIFIERS), max_size=2, unique=True),
                    st.sampled_from([" ", "  ", "\n"]))


@st.composite
def editions(draw):
    """Two editions over _TREE: each code in neither, both, only the old or only the new
    one (plus the ancestors it needs), titles drawn for each edition. Half the time a
    split (or, the other way round, a merge) is planted among a class's subclasses."""
    codes: tuple[set, set] = (set(), set())
    planted: dict[str, tuple[str, str]] = {}     # code -> (side "old"/"new", title)
    if draw(st.booleans()):
        parent = draw(st.sampled_from(["01.11", "01.21"]))
        kids = draw(st.permutations([c for c in _TREE if _okved_parent(c) == parent]))
        noun = draw(st.sampled_from(_NOUNS))
        one, many = draw(st.sampled_from([("old", "new"), ("new", "old")]))
        planted[kids[0]] = (one, f"Выращивание {noun}")
        for kid, q in zip(kids[1:draw(st.integers(3, len(kids)))], _QUALIFIERS):
            planted[kid] = (many, f"Выращивание {noun} {q}")
    for code in _TREE:
        if code in planted:
            where = planted[code][0]
        else:
            where = draw(st.sampled_from(["none", "both", "old", "new"]))
        for side, wanted in zip(codes, (("both", "old"), ("both", "new"))):
            c = code if where in wanted else None
            while c is not None:  # with every ancestor, so the hierarchy is whole
                side.add(c)
                c = _okved_parent(c)
    return tuple({c: planted[c][1] if c in planted else draw(_titles) for c in sorted(side)}
                 for side in codes)


def _slow_moves(old: dict, new: dict) -> list[tuple[str, str]]:
    """Moved pairs, the obvious way: score every (old-only, new-only) pair one at a time,
    then repeatedly take the best remaining pair (ties: the smaller codes)."""
    a, b = okved(old), okved(new)

    def branch(o, n):
        if a[o].level == b[n].level:
            return True
        po, pn = a[o].parent, b[n].parent
        return (pn is not None and pn in {x.code for x in a.ancestors(o)}) or \
            (po is not None and po in {x.code for x in b.ancestors(n)})

    cands = {(o, n): fuzz.token_sort_ratio(key(old[o]), key(new[n])) / 100
             for o in old if o not in new for n in new if n not in old}
    cands = {p: s for p, s in cands.items() if s >= 0.9 and branch(*p)}
    out = []
    while cands:
        (o, n), _ = min(cands.items(), key=lambda kv: (-kv[1], sorted(map(code_sort_key, kv[0]))))
        out.append((o, n))
        cands = {p: s for p, s in cands.items() if p[0] != o and p[1] != n}
    return sorted(out, key=lambda p: code_sort_key(p[0]))


_fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_fast
@given(editions(), st.randoms(use_true_random=False))
def test_every_code_once_any_order_and_moves_match_the_slow_version(pair, rnd):
    old, new = pair
    d = diff(okved(old), okved(new))
    assert sorted(c for ch in d.changes for c in ch.old) == sorted(old)
    assert sorted(c for ch in d.changes for c in ch.new) == sorted(new)
    assert d.codes_added == sorted(set(new) - set(old), key=code_sort_key)
    assert d.codes_deleted == sorted(set(old) - set(new), key=code_sort_key)
    assert sorted((c.old[0], c.new[0]) for c in d.of_kind("moved")) == sorted(_slow_moves(old, new))
    shuffled = [list(old.items()), list(new.items())]
    for items in shuffled:
        rnd.shuffle(items)
    assert diff(okved(dict(shuffled[0])), okved(dict(shuffled[1]))).changes == d.changes


_MIRROR = {"unchanged": "unchanged", "renamed": "renamed", "moved": "moved", "split": "merged",
           "merged": "split", "added": "deleted", "deleted": "added"}


@_fast
@given(editions())
def test_the_reverse_diff_is_the_mirror(pair):
    old, new = pair
    forward, backward = diff(okved(old), okved(new)), diff(okved(new), okved(old))
    assert sorted((_MIRROR[c.kind], c.new, c.old) for c in forward.changes) == \
        sorted((c.kind, c.old, c.new) for c in backward.changes)


def test_an_edition_against_itself_is_all_unchanged():
    cl = load(NEW).classification
    d = diff(cl, cl)
    assert d.counts()["unchanged"] == len(cl) and not d.whitespace_only and not d.codes_added
