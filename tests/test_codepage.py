"""A file that is not UTF-8 is cp1251 or KOI8-R: told apart by its letters, KOI8-R read with a
warning naming it, a text too short to tell refused — never loaded as mojibake with exit 0."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosswalk import load
from crosswalk.cli import cli
from crosswalk.errors import LoadError, Report
from crosswalk.io import codepage
from crosswalk.io.encoding import decode, decode_head

RAW = Path(__file__).resolve().parent.parent / "raw_classifiers"
OKVED_CSV = RAW / "okved2" / "data-20231201-structure-20180402-excerpt.csv"


def _okved_titles() -> list[str]:
    with OKVED_CSV.open(encoding="cp1251", newline="") as fh:
        return [row[-1] for row in csv.reader(fh, delimiter=";")]


def test_a_koi8r_okved_file_loads_its_real_titles_and_says_koi8r(tmp_path):
    p = tmp_path / "okved.csv"
    p.write_bytes(OKVED_CSV.read_bytes().decode("cp1251").encode("koi8-r"))
    res = load(p, "okved2")
    ref = load(OKVED_CSV, "okved2")
    assert res.report.encoding == "koi8-r" and ref.report.encoding == "cp1251"
    assert [(i.code, i.title) for i in res.classification] == [(i.code, i.title) for i in ref.classification]
    (warn,) = res.report.of_kind("encoding")
    assert warn.severity == "warning" and "decoded as KOI8-R" in warn.message
    assert [str(p) for p in ref.report.of_kind("encoding")] == [str(p) for p in ref.report.of_kind("encoding")
                                                                if p.severity == "info"]
    # the same problems otherwise (the excerpt's own defects), row for row
    assert [(p.kind, p.row) for p in res.report.problems if p.kind != "encoding"] == \
        [(p.kind, p.row) for p in ref.report.problems if p.kind != "encoding"]
    out = CliRunner().invoke(cli, ["validate", str(p)])
    assert out.exit_code == 0 and "encoding koi8-r" in out.output and "decoded as KOI8-R" in out.output


@pytest.mark.parametrize("enc", ["cp1251", "koi8-r"])
def test_every_real_title_alone_is_read_in_its_own_code_page(enc):
    # each title of the excerpt, on its own: the sign of the score never points the wrong way,
    # and a title long enough (≥ 12 letters) is decided without refusal
    titles = [t for t in _okved_titles() if any("\u0400" <= c <= "\u04ff" for c in t)]
    assert len(titles) > 40
    for t in titles:
        v = codepage.detect(t.encode(enc))
        assert v.encoding in (enc, None), (t, v)
        if enc == "cp1251" or v.letters >= 12:
            assert v.encoding == enc, (t, v)


def test_an_all_capitals_title_is_told_apart_too():
    # «СЕЛЬСКОЕ» in KOI8-R read as cp1251 is «сельское»-like small letters: the case pattern
    # alone cannot tell, the letters' frequencies do
    title = "СЕЛЬСКОЕ, ЛЕСНОЕ ХОЗЯЙСТВО, ОХОТА, РЫБОЛОВСТВО И РЫБОВОДСТВО"
    assert codepage.detect(title.encode("koi8-r")).encoding == "koi8-r"
    assert codepage.detect(title.encode("cp1251")).encoding == "cp1251"


def test_a_text_too_short_to_tell_is_refused_with_both_readings():
    report = Report(file="nanny.csv")
    with pytest.raises(LoadError, match="cp1251 or KOI8-R"):
        decode("Код;Няня\n".encode("koi8-r")[4:], report)      # one short word of KOI8-R
    (err,) = report.errors
    assert err.kind == "encoding" and "Няня" in err.message and "save the file as UTF-8" in err.message


def test_a_utf8_line_in_a_koi8r_file_is_decoded_as_utf8_with_a_warning():
    lines = ["Код;Наименование", "1111;Законодатели", "1112;Старшие должностные лица органов власти",
             "1113;Руководители общин и деревень"]
    data = b"\n".join(ln.encode("utf-8" if i == 2 else "koi8-r") for i, ln in enumerate(lines)) + b"\n"
    report = Report(file="okz.csv")
    assert decode(data, report) == "\n".join(lines) + "\n"
    assert report.encoding == "koi8-r" and report.of_kind("mixed_encoding")[0].row == 3


def test_sniffing_and_the_duckdb_engine_read_koi8r_as_such(tmp_path):
    from crosswalk.engines.duckdb_engine import sniff_csv
    text = "код;значение;наименование\n01.11;12;Выращивание зерновых культур\n"
    p = tmp_path / "data.csv"
    p.write_bytes(text.encode("koi8-r"))
    assert decode_head(p.read_bytes()) == text
    assert sniff_csv(p) == ("koi8-r", ";")
    p.write_bytes(text.encode("cp1251"))
    assert sniff_csv(p) == ("cp1251", ";")
