import os
import zipfile

import openpyxl
import pytest
from hypothesis import given, strategies as st

from crosswalk.errors import CrosswalkError
from crosswalk.safety import (atomic_save_workbook, atomic_write_bytes, cell_text, cell_untext,
                              clean_xml, illegal_xml_chars, safe_path, sheet_name)


# -- cells ---------------------------------------------------------------------
@pytest.mark.parametrize("text", ["=1+1", "+7", "-3", "@SUM(A1)", "\tx", "\rx", "\nx", "\x01x",
                                  "'=x", "''+x"])
def test_cell_text_escapes_what_a_spreadsheet_would_run(text):
    out = cell_text(text)
    assert out == "'" + text
    assert cell_untext(out) == text


@pytest.mark.parametrize("text", ["Сварщик", "01.10", "a=b", "'quoted", "", "x-y"])
def test_cell_text_leaves_plain_text_alone(text):
    assert cell_text(text) == text
    assert cell_untext(text) == text


def test_cell_text_of_non_text():
    assert cell_text(None) == ""
    assert cell_text(-1) == "'-1"      # a negative number written as text stays text
    assert cell_text(0.5) == "0.5"


@given(st.text())
def test_cell_text_round_trips_and_never_starts_risky(text):
    out = cell_text(text)
    assert cell_untext(out) == text
    assert not out[:1] or out[0] not in "=+-@" and ord(out[0]) >= 0x20


def test_clean_xml_replaces_illegal_characters_only():
    assert clean_xml("ok\tline\nnext\r") == ("ok\tline\nnext\r", False)
    assert clean_xml("a\x00b\x0bc\x1fd\ufffee\ud800") == ("a\ufffdb\ufffdc\ufffdd\ufffde\ufffd", True)
    assert illegal_xml_chars("a\x01b\x01\x1f") == ["U+0001", "U+001F"]


def test_clean_xml_output_is_accepted_by_openpyxl(tmp_path):
    nasty = "".join(chr(i) for i in range(0x20)) + "\ufffe\uffff"
    text, changed = clean_xml(nasty)
    assert changed
    wb = openpyxl.Workbook()
    wb.active["A1"] = cell_text(text)      # would raise IllegalCharacterError if any were left
    wb.save(tmp_path / "x.xlsx")


# -- sheet names ---------------------------------------------------------------
def test_sheet_name_sanitises_and_keeps_unique():
    used = {"Summary"}
    assert sheet_name("a[b]c:d*e?f/g\\h", used) == "a_b_c_d_e_f_g_h"
    long = "okpdtr → okz2014 → isco08 → isco88 (composed)"
    first = sheet_name(long, used)
    assert len(first) == 31 and first == long[:31]
    second = sheet_name(long, used)
    assert len(second) == 31 and second.endswith("~2") and second != first
    assert sheet_name("summary", used) == "summary~2"          # case-insensitive, like Excel
    assert sheet_name("", used) == "Sheet"
    assert sheet_name("'quoted'", used) == "quoted"
    assert sheet_name("History", used) == "History_"
    assert sheet_name("tab\there", used) == "tab_here"
    assert {"Summary", first, second, "summary~2", "Sheet", "quoted", "History_", "tab_here"} <= used


def test_sheet_name_is_deterministic_and_valid_for_openpyxl(tmp_path):
    names = ["x" * 40, "x" * 40, "a/b", "a:b", "[]", "?", "'"]
    used_a, used_b = set(), set()
    a = [sheet_name(n, used_a) for n in names]
    b = [sheet_name(n, used_b) for n in names]
    assert a == b and len({n.casefold() for n in a}) == len(a)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for n in a:
        wb.create_sheet(n)
    wb.save(tmp_path / "s.xlsx")
    assert openpyxl.load_workbook(tmp_path / "s.xlsx").sheetnames == a


# -- paths ---------------------------------------------------------------------
def test_safe_path_accepts_names_inside(tmp_path):
    assert safe_path(tmp_path, "a.csv") == tmp_path.resolve() / "a.csv"
    (tmp_path / "sub").mkdir()
    assert safe_path(tmp_path, "sub/b.csv") == tmp_path.resolve() / "sub" / "b.csv"


@pytest.mark.parametrize("name", ["/etc/passwd", "../x.csv", "sub/../../x.csv", "", ".", "a\x00b"])
def test_safe_path_refuses_escapes(tmp_path, name):
    with pytest.raises(CrosswalkError):
        safe_path(tmp_path, name)


def test_safe_path_refuses_symlinks_leading_out(tmp_path):
    outside = tmp_path / "outside"
    base = tmp_path / "base"
    outside.mkdir()
    base.mkdir()
    (base / "link.csv").symlink_to(outside / "victim.csv")      # dangling, but leads out
    (base / "dir").symlink_to(outside, target_is_directory=True)
    (base / "inner.csv").symlink_to(base / "real.csv")           # stays inside: fine
    with pytest.raises(CrosswalkError, match="outside the output folder"):
        safe_path(base, "link.csv")
    with pytest.raises(CrosswalkError, match="outside the output folder"):
        safe_path(base, "dir/x.csv")
    assert safe_path(base, "inner.csv") == base.resolve() / "inner.csv"


# -- atomic writes -------------------------------------------------------------
def test_atomic_write_bytes_replaces_whole_file(tmp_path):
    p = tmp_path / "f.csv"
    p.write_bytes(b"old")
    atomic_write_bytes(p, b"new content")
    assert p.read_bytes() == b"new content"
    assert os.listdir(tmp_path) == ["f.csv"]


def _book(text: str) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    wb.active["A1"] = text
    return wb


def test_atomic_save_workbook_writes_a_valid_file(tmp_path):
    p = tmp_path / "book.xlsx"
    atomic_save_workbook(_book("first"), p)
    atomic_save_workbook(_book("second"), p)
    assert openpyxl.load_workbook(p).active["A1"].value == "second"
    assert os.listdir(tmp_path) == ["book.xlsx"]
    umask = os.umask(0)
    os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask     # not mkstemp's private 0600


def test_atomic_save_workbook_crash_midway_leaves_old_file(tmp_path, monkeypatch):
    p = tmp_path / "book.xlsx"
    atomic_save_workbook(_book("old"), p)
    before = p.read_bytes()

    def half_writer(workbook, filename):
        # a writer that dies after writing part of the archive, as a crash or a full disk would
        with zipfile.ZipFile(filename, "w") as zf:
            zf.writestr("[Content_Types].xml", "<Types/>")
        with open(filename, "ab") as fh:
            fh.write(b"\x00" * 100)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("openpyxl.workbook.workbook.save_workbook", half_writer)
    with pytest.raises(OSError, match="No space left"):
        atomic_save_workbook(_book("new"), p)
    assert p.read_bytes() == before
    assert openpyxl.load_workbook(p).active["A1"].value == "old"
    assert os.listdir(tmp_path) == ["book.xlsx"]        # the temporary file is gone too
