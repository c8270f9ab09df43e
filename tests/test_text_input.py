"""Text files as users have them: a quote never closed, a line pasted in the other encoding,
mojibake on one line, Cyrillic OCR'd into Latin look-alikes. Nothing is swallowed or
garbled silently: rows read = loaded + rejected, counted in the lines a user can find."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from crosswalk import api, load
from crosswalk.cli import cli
from crosswalk.errors import LoadError, Report
from crosswalk.io import read_csv
from crosswalk.io.encoding import decode_lines
from crosswalk.io.frames import read_data
from crosswalk.loaders.okpdtr import control_number

HEADER = "Код;КЧ;Наименование профессий рабочих и должностей служащих\r\n"
TITLES = ["Аккумуляторщик", "Слесарь-ремонтник", "Токарь", "Водитель автомобиля", "Сварщик", "Оператор котельной"]
CODES = ["10047", "18559", "19149", "11442", "19756", "15643"]


def _okpdtr_lines(titles=TITLES):
    return [f'{c};{control_number(c)};"{t}"\r\n' for c, t in zip(CODES, titles)]


def test_a_title_whose_closing_quote_is_missing_swallows_no_row(tmp_path):
    lines = _okpdtr_lines()
    lines[1] = lines[1].replace('ремонтник"', "ремонтник")          # line 3: the quote is never closed
    p = tmp_path / "okpdtr.csv"
    p.write_bytes((HEADER + "".join(lines)).encode("cp1251"))
    res = load(p, "okpdtr:table")
    rep = res.report
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (6, 5, 1)
    (err,) = rep.errors
    assert err.kind == "csv_syntax" and err.row == 3 and "not closed" in err.message
    assert sorted(res.classification.codes) == sorted(c for c in CODES if c != "18559")
    assert all("\n" not in it.title for it in res.classification)


def test_a_cp1251_file_ending_inside_a_quote_is_an_error(tmp_path):
    lines = _okpdtr_lines()
    lines[-1] = lines[-1].rstrip('"\r\n')                            # the last line ends inside the quote
    p = tmp_path / "okpdtr.csv"
    p.write_bytes((HEADER + "".join(lines)).encode("cp1251"))
    rep = load(p, "okpdtr:table").report
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (6, 5, 1)
    (err,) = rep.errors
    assert err.kind == "csv_syntax" and err.row == 7 and "never closed" in err.message


def test_line_breaks_in_fields_are_a_warning_where_the_layout_allows_them(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text('code,title\n01,"two\nlines"\n02,after\n03,"open\n', encoding="utf-8")
    r = Report(file=str(p))
    t = read_csv(p, r)
    assert [(row.number, row.values[0]) for row in t.rows] == [(1, "code"), (2, "01"), (4, "02")]
    (warn,) = r.warnings
    assert warn.kind == "line_break_in_field" and "lines 2–3" in warn.message
    (err,) = r.errors                                                # the open quote at the end: rejected
    assert err.row == 5 and (r.rows_read, r.rows_rejected) == (1, 1)
    r2 = Report(file=str(p))
    t2 = read_csv(p, r2, line_breaks="error")                        # a layout without line breaks
    assert [row.number for row in t2.rows] == [1, 3, 4]
    assert [e.row for e in r2.errors] == [2, 5]


def test_data_files_number_rows_by_their_first_line_and_keep_count(tmp_path):
    p = tmp_path / "vac.csv"
    p.write_text('title;n\n"Слесарь\nремонтник";1\nТокарь;2\n"Сварщик;3\n', encoding="utf-8")
    df, rep = read_data(p, value_columns=["n"])
    assert list(df["title"]) == ["Слесарь\nремонтник", "Токарь"]
    assert list(df.attrs["rows"]) == [2, 4]                          # the lines a user finds them on
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (3, 2, 1)
    kinds = {(q.kind, q.row) for q in rep.problems}
    assert ("line_break_in_field", 2) in kinds and ("csv_syntax", 5) in kinds


# -- encodings, line by line ----------------------------------------------------------------
def test_a_utf8_line_in_a_cp1251_file_is_decoded_as_utf8_with_a_warning(tmp_path):
    lines = _okpdtr_lines()
    body = (HEADER + "".join(lines[:3])).encode("cp1251") + lines[3].encode("utf-8") \
        + "".join(lines[4:]).encode("cp1251")
    p = tmp_path / "okpdtr.csv"
    p.write_bytes(body)
    res = load(p, "okpdtr:table")
    assert res.report.encoding == "cp1251" and res.report.ok
    assert res.classification["11442"].title == "Водитель автомобиля"      # not «Р’РѕРґРёС‚РµР»СЊ…»
    (w,) = res.report.of_kind("mixed_encoding")
    assert w.severity == "warning" and w.row == 5 and "lines 5" in w.message


def test_a_cp1251_line_in_a_utf8_file_is_decoded_as_cp1251_with_a_warning():
    text = "Код;Наименование\n1111;Законодатели\n1112;Старшие должностные лица\n"
    data = text.encode("utf-8") + "1113;Руководители общин\n".encode("cp1251")
    r = Report(file="x.csv")
    out, bad = decode_lines(data, r)
    assert out.endswith("1113;Руководители общин\n") and not bad and r.encoding == "utf-8"
    assert r.of_kind("mixed_encoding")[0].row == 4


def test_a_mojibake_line_is_repaired_when_certain_else_its_row_rejected(tmp_path):
    lines = _okpdtr_lines()
    lines[2] = lines[2].replace("Токарь", "Токарь-расточник".encode("utf-8").decode("cp1251"))   # repairable
    broken = "Оператор котельной".encode("utf-8").decode("cp1251")
    lines[5] = lines[5].replace("Оператор котельной", broken[:5] + broken[6:])                # a byte lost
    p = tmp_path / "okpdtr.csv"
    p.write_text(HEADER + "".join(lines), encoding="utf-8")
    res = load(p, "okpdtr:table")
    rep = res.report
    assert res.classification["19149"].title == "Токарь-расточник"
    assert rep.of_kind("mojibake_repaired")[0].row == 4
    (err,) = rep.errors
    assert err.kind == "garbled_text" and err.row == 7
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (6, 5, 1)
    assert "15643" not in res.classification.codes


def test_a_mojibake_title_in_json_is_repaired_or_rejected_by_the_collector(tmp_path):
    import json
    good = "Слесарь-ремонтник".encode("utf-8").decode("cp1251")
    bad = "Оператор котельной".encode("utf-8").decode("cp1251")
    bad = bad[:5] + bad[6:]
    entries = [{"code": f"18559{control_number('18559')}", "name": good},
               {"code": f"15643{control_number('15643')}", "name": bad},
               {"code": f"19149{control_number('19149')}", "name": "Токарь"}]
    others = [(f"{20000 + i}", f"Специалист по направлению деятельности номер {i}") for i in range(12)]
    entries += [{"code": c + str(control_number(c)), "name": t} for c, t in others]
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"count": len(entries), "professions": entries}, ensure_ascii=False), encoding="utf-8")
    res = load(p, "okpdtr:portal-json")
    assert res.classification["18559"].title == "Слесарь-ремонтник"
    assert "15643" not in res.classification.codes
    assert res.report.of_kind("garbled_text")[0].row == 2
    assert (res.report.rows_read, res.report.rows_loaded, res.report.rows_rejected) == (15, 14, 1)


LOOKALIKE = str.maketrans("АВЕКМНОРСТХаеорсух", "ABEKMHOPCTXaeopcyx")


def test_cyrillic_ocrd_into_latin_lookalikes_is_named_as_such(tmp_path):
    text = ("Код;Наименование\n1111;Законодатели\n1112;Старшие должностные лица органов власти\n"
            "1113;Руководители общин и деревень\n1114;Руководители общественных организаций\n")
    p = tmp_path / "okz.csv"
    p.write_text(text.translate(LOOKALIKE), encoding="utf-8")
    out = api.validate([p])
    (prob,) = out["files"][0]["problems"]
    assert prob["kind"] == "garbled_text" and "Latin look-alike" in prob["message"]
    res = CliRunner().invoke(cli, ["validate", str(p), "--scheme", "okz2014"])
    assert res.exit_code == 1 and "look-alike" in res.output
    # the layout named: the header «Koд;Haимeнoвaниe» is found, every row read and each title flagged
    res = load(p, "okz2014:table")
    rep = res.report
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (4, 4, 0)
    file_warning, *per_row = rep.of_kind("mixed_script")
    assert file_warning.row is None and "Latin look-alike" in file_warning.message
    assert [p.row for p in per_row] == [2, 3, 4, 5] and all(p.severity == "warning" for p in per_row)
    assert "«Старшие должностные лица»" in per_row[1].message


def test_an_okved_file_ocrd_into_latin_is_read_and_every_row_named(tmp_path):
    # the hostile corpus's case: no header, some words wholly Latin («OXOTA», «Bыpaщивaниe» mixed)
    rows = [("A", "", "СЕЛЬСКОЕ, ЛЕСНОЕ ХОЗЯЙСТВО, ОХОТА, РЫБОЛОВСТВО И РЫБОВОДСТВО"),
            ("A", "01", "Растениеводство и животноводство, охота и предоставление соответствующих услуг"),
            ("A", "01.1", "Выращивание однолетних культур"), ("A", "01.11", "Выращивание зерновых культур"),
            ("A", "01.12", "Выращивание риса"), ("A", "01.13", "Выращивание овощей"), ("A", "01.19", "Выращивание прочих культур")]
    ocr = str.maketrans("аеорсухАЕОРСХКМТВН", "aeopcyxAEOPCXKMTBH")
    p = tmp_path / "okved.csv"
    p.write_text("".join(f'"{s}";"{c}";"{t.translate(ocr)}"\r\n' for s, c, t in rows), encoding="utf-8")
    out = api.validate([p], scheme="okved2")["files"][0]
    assert (out["rows_read"], out["rows_loaded"], out["rows_rejected"]) == (7, 7, 0)
    named = {p["row"] for p in out["problems"] if p["kind"] == "mixed_script" and p["severity"] == "warning"}
    assert named == {None, 1, 2, 3, 4, 5, 6, 7}
    first = next(p for p in out["problems"] if p["kind"] == "mixed_script" and p["row"] == 1)
    assert "'OXOTA'" in first["message"] and "wholly in Latin" in first["message"]


def test_real_text_is_not_called_lookalike():
    from crosswalk.io.encoding import garbled_reason
    assert garbled_reason("Производство IP-телефонии и Wi-Fi оборудования; ПК и ЭВМ") is None
    assert garbled_reason("Инженер-программист; Software engineer; Оператор ЭВМ") is None
