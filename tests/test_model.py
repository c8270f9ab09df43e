"""The shared data model: navigation, clear errors for unknown codes, stable order."""
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crosswalk import Classification, CrosswalkError, Item, UnknownCodeError
from crosswalk.model import Correspondence, Pair

ITEMS = [
    Item("1", "Managers", 1),
    Item("11", "Chief executives", 2, "1"),
    Item("111", "Legislators and senior officials", 3, "11"),
    Item("1111", "Legislators", 4, "111"),
    Item("1112", "Senior government officials", 4, "111"),
    Item("0", "Armed forces occupations", 1),
    Item("01", "Commissioned armed forces officers", 2, "0"),
    Item("011", "Commissioned armed forces officers", 3, "01"),
    Item("0110", "Commissioned armed forces officers", 4, "011"),
]


@pytest.fixture
def isco():
    return Classification("isco08", ITEMS, edition="test")


def test_navigation(isco):
    assert isco.get("1111").title == "Legislators"
    assert isco.parent("1111").code == "111"
    assert isco.parent("1") is None
    assert [i.code for i in isco.children("111")] == ["1111", "1112"]
    assert [i.code for i in isco.roots()] == ["0", "1"]
    assert [i.code for i in isco.ancestors("1112")] == ["111", "11", "1"]
    assert [i.code for i in isco.descendants("1")] == ["11", "111", "1111", "1112"]
    assert [i.code for i in isco.by_level("unit")] == ["0110", "1111", "1112"]
    assert isco.by_level(4) == isco.by_level("unit")
    assert isco.counts_by_level() == {"major": 2, "sub-major": 2, "minor": 2, "unit": 3}


def test_unknown_code_is_an_error_not_an_empty_result(isco):
    with pytest.raises(UnknownCodeError, match="'9999' is not in isco08"):
        isco.get("9999")
    for call in (isco.children, isco.ancestors, isco.descendants, isco.parent):
        with pytest.raises(UnknownCodeError):
            call("9999")
    with pytest.raises(CrosswalkError, match="no level 'class'"):
        isco.by_level("class")


def test_unknown_code_hints_at_a_lost_leading_zero(isco):
    with pytest.raises(UnknownCodeError, match="leading zero.*'0110'"):
        isco.get("110")


def test_items_are_read_only(isco):
    item = isco.get("1111")
    with pytest.raises(AttributeError):
        item.title = "x"
    with pytest.raises(TypeError):
        Item("1", "t", 1, attrs={"kch": "5"}).attrs["kch"] = "6"


def test_inconsistent_items_are_refused():
    with pytest.raises(CrosswalkError, match="duplicate code '1'"):
        Classification("isco08", [Item("1", "a", 1), Item("1", "b", 1)])
    with pytest.raises(CrosswalkError, match="parent '11', which is not loaded"):
        Classification("isco08", [Item("111", "a", 3, "11")])


@settings(max_examples=50, deadline=None)
@given(st.randoms(use_true_random=False))
def test_same_classification_in_any_row_order(rnd):
    shuffled = ITEMS[:]
    rnd.shuffle(shuffled)
    a = Classification("isco08", ITEMS)
    b = Classification("isco08", shuffled)
    assert [(i.code, i.title, i.parent) for i in a] == [(i.code, i.title, i.parent) for i in b]


def test_correspondence_sorted_and_reversible():
    pairs = [Pair("2512", "2131", True), Pair("0110", "0110"), Pair("2512", "2139", True)]
    random.Random(1).shuffle(pairs)
    c = Correspondence("isco08", "isco88", pairs)
    assert [(p.source, p.target) for p in c] == [("0110", "0110"), ("2512", "2131"), ("2512", "2139")]
    assert [p.target for p in c.targets_of("2512")] == ["2131", "2139"]
    r = c.reversed()
    assert r.source_scheme.id == "isco88" and r.sources() == ["0110", "2131", "2139"]
    with pytest.raises(UnknownCodeError):
        c.targets_of("9999")
