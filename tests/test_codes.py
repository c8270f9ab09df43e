"""Code formats and codes damaged by Excel: suggested, never padded silently."""
import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from crosswalk.codes import cell_code, code_level, structural_parent, suggest_codes


def test_levels_and_parents():
    assert code_level("okved2", "A") == 1
    assert code_level("okved2", "01.11.1") == 5
    assert code_level("okved2", "1.1") is None
    assert code_level("isic4", "0111") == 4
    assert code_level("okpdtr", "10003") == 1
    assert code_level("okpdtr", "100035") is None
    assert structural_parent("okved2", "01.11.11") == "01.11.1"
    assert structural_parent("okved2", "01.11") == "01.1"
    assert structural_parent("okved2", "01.1") == "01"
    assert structural_parent("okved2", "01") is None   # its section comes from the file
    assert structural_parent("isco08", "0110") == "011"


def test_excel_numbers_in_a_hierarchical_column_are_errors_with_suggestions():
    code, problem, msg = cell_code("okved2", 1.1)
    assert code is None and problem == "damaged"
    assert "01.1 or 01.10" in msg
    code, problem, msg = cell_code("isco08", 110)
    assert code is None and problem == "damaged" and "0110" in msg


def test_excel_dates_are_errors_with_the_code_they_were():
    code, problem, msg = cell_code("okved2", dt.datetime(2024, 10, 1))
    assert code is None and problem == "damaged"
    assert "01.10" in msg


def test_fixed_width_numbers_are_repaired_with_a_message():
    assert cell_code("isco08", 110.0, width=4) == (
        "0110", "repaired", "code 110 is a number with its leading zeros lost; padded to 4 digits: 0110")
    assert cell_code("isco08", 1111.0, width=4) == ("1111", None, "")


def test_text_codes():
    assert cell_code("okved2", " 62.01 ")[0] == "62.01"
    code, problem, msg = cell_code("okved2", "1.1")
    assert problem == "damaged" and "01.10" in msg
    assert cell_code("okved2", "62-01")[1] == "format"
    assert cell_code("isco08", None)[1] == "format"


@given(st.from_regex(r"[0-9]{2}\.[0-9]{2}", fullmatch=True))
def test_a_class_code_turned_into_a_number_is_among_the_suggestions(code):
    as_number = float(code)             # what Excel stores for «01.10»
    if as_number.is_integer():
        return                          # «05.00» → 5: a division-looking number; covered below
    assert code in suggest_codes("okved2", as_number)


@given(st.from_regex(r"[0-9]{4}", fullmatch=True))
def test_four_digit_codes_survive_the_number_round_trip_when_width_is_known(code):
    assert cell_code("isco08", int(code), width=4)[0] == code
