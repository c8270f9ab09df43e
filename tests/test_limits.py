"""Hostile inputs: every reader of user files refuses what would take gigabytes or minutes,
and damaged containers are clear errors naming the file — never a raw zlib.error or
ParseError. (Peak memory of the big cases is measured by hand: see the io branch report.)"""
from __future__ import annotations

import json
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from crosswalk import api
from crosswalk.cli import cli
from crosswalk.errors import CrosswalkError, LoadError, Report
from crosswalk.io import container, read_csv, read_workbook
from crosswalk.io.frames import read_data
from crosswalk.io.peek import workbook_head
from crosswalk.io.tables import read_json

MiB = 2**20


def _xlsx(path, rows=(("code", "value"), ("0110", 5))):
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(list(r))
    wb.save(path)
    return path


def _replace_part(src, dst, name, write):
    """Copy the xlsx ``src`` to ``dst`` with part ``name`` written by ``write(fh)`` (streamed)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != name:
                zout.writestr(info.filename, zin.read(info.filename))
        with zout.open(name, "w", force_zip64=True) as fh:
            write(fh)
    return dst


_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_PARTS = {
    "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
    b'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType='
    b'"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    "_rels/.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": b'<?xml version="1.0"?><workbook ' + _NS + b' xmlns:r="http://schemas.openxmlformats.org/'
    b'officeDocument/2006/relationships"><sheets><sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
    b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
    b'2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://'
    b'schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    b'</Relationships>',
    "xl/worksheets/sheet1.xml": b'<?xml version="1.0"?><worksheet ' + _NS + b'><sheetData><row r="1"><c r="A1"'
    b' t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row></sheetData></worksheet>',
}


def shared_string_bomb(tmp_path, megabytes=400):
    """An xlsx of 0.4 MB (for 400) whose second shared string inflates to ``megabytes`` MB: built
    part by part as Excel writes it (openpyxl writes inline strings), the big part streamed."""
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in _PARTS.items():
            z.writestr(name, data)
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0"?><sst ' + _NS + b' count="2" uniqueCount="2"><si><t>code</t></si><si><t>')
            chunk = b"a" * MiB
            for _ in range(megabytes):
                fh.write(chunk)
            fh.write(b"</t></si></sst>")
    return path


def test_a_400_mb_shared_string_in_a_small_xlsx_is_refused_before_inflating(tmp_path, monkeypatch):
    bomb = shared_string_bomb(tmp_path)
    assert bomb.stat().st_size < MiB                 # 0.4 MB on disk
    opened = []
    real_open = container.BoundedZip.open
    monkeypatch.setattr(container.BoundedZip, "open", lambda self, name, *a, **k: opened.append(name)
                        or real_open(self, name, *a, **k))
    for read in (lambda: read_workbook(bomb, Report(file=str(bomb))),          # validate, build
                 lambda: read_data(bomb)):                                      # apply, code
        with pytest.raises(LoadError, match=r"inflates .* times.*limit ratio = 100") as exc:
            read()
        assert exc.value.report.errors[0].kind == "limit"
    assert opened == []                              # the directory alone refused it
    assert workbook_head(bomb) == ()                 # sniffing: simply not a classification
    out = api.validate([bomb])
    (p,) = out["files"][0]["problems"]
    assert p["kind"] == "limit" and "CROSSWALK_MAX_RATIO" in p["message"]


def test_a_directory_that_lies_about_sizes_is_bounded_while_inflating(tmp_path):
    good = _xlsx(tmp_path / "g.xlsx", [("code", "title")] + [(str(i), "t" * 50) for i in range(2000)])
    lying = tmp_path / "lying.xlsx"
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    # shrink the declared inflated size in the central directory (and the local header)
    cd = data.rfind(b"PK\x01\x02", 0, data.rfind(b"xl/worksheets/sheet1.xml") + 1)
    data[cd + 24:cd + 28] = (1000).to_bytes(4, "little")
    lh = info.header_offset
    data[lh + 22:lh + 26] = (1000).to_bytes(4, "little")
    lying.write_bytes(bytes(data))
    with pytest.raises(LoadError, match=r"cannot read part 'xl/worksheets/sheet1.xml'.*damaged|cannot read sheet"):
        read_workbook(lying, Report(file=str(lying)))


def _corrupt_deflate(src, dst, name="xl/worksheets/sheet1.xml"):
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        info = z.getinfo(name)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 5, start + min(info.compress_size, 60)):
        data[i] ^= 0xA5
    dst.write_bytes(bytes(data))
    return dst


def test_corrupt_deflate_and_malformed_xml_are_clear_errors_for_every_reader(tmp_path):
    good = _xlsx(tmp_path / "g.xlsx", [("code", "value")] + [(f"{i:04d}", i) for i in range(300)])
    corrupt = _corrupt_deflate(good, tmp_path / "corrupt.xlsx")
    malformed = _replace_part(good, tmp_path / "malformed.xlsx", "xl/worksheets/sheet1.xml",
                              lambda fh: fh.write(b"<worksheet><sheetData><row><c><v>1</v></row>"))
    for bad in (corrupt, malformed):
        with pytest.raises(LoadError) as exc:
            read_workbook(bad, Report(file=str(bad)))
        assert str(bad) in str(exc.value) and "cannot read" in str(exc.value)
        with pytest.raises(LoadError):
            read_data(bad)
        assert workbook_head(bad) == ()
        out = api.validate([bad], scheme="okz2014")
        assert out["files"][0]["problems"][0]["kind"] == "unreadable"
        res = CliRunner().invoke(cli, ["apply", str(bad), "--from", "okz2014", "--to", "isco08", "--code-column",
                                       "code", "--crosswalk", str(tmp_path / "x.csv"), "-o", str(tmp_path / "o.csv")])
        assert res.exception is None or isinstance(res.exception, SystemExit)


def test_review_import_reads_through_the_bounded_reader(tmp_path):
    from crosswalk.candidates import CandidateSet
    from crosswalk.model import Candidate
    from crosswalk.review import ReviewStore
    from crosswalk.review.workbook import export_workbook, import_workbook
    bomb = shared_string_bomb(tmp_path, megabytes=20)
    store = ReviewStore(tmp_path / "s.sqlite")
    try:
        with pytest.raises(CrosswalkError, match="limit ratio"):
            import_workbook(store, bomb, reviewer="anna")
        store.propose_candidates(CandidateSet("okz2014", "isco08", [
            Candidate(f"{i:04d}", f"{i:04d}", 0.9, 1) for i in range(1000, 1300)]))
        path = export_workbook(store, tmp_path / "review.xlsx")
        corrupt = path
        with zipfile.ZipFile(path) as z:
            sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        for i, part in enumerate(sheets):                  # every sheet part: metadata and review
            corrupt = _corrupt_deflate(corrupt, tmp_path / f"corrupt{i}.xlsx", part)
        with pytest.raises(CrosswalkError, match="damaged|cannot read") as exc:
            import_workbook(store, corrupt, reviewer="anna")
        assert "zlib" not in type(exc.value).__name__
    finally:
        store.close()


def test_too_many_zip_parts_are_refused_from_the_end_record(tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSWALK_MAX_PARTS", "5")
    p = _xlsx(tmp_path / "g.xlsx")
    with pytest.raises(LoadError, match="declares .* parts.*CROSSWALK_MAX_PARTS"):
        read_workbook(p, Report(file=str(p)))


def test_cell_and_row_limits_in_a_sheet(tmp_path, monkeypatch):
    # openpyxl cuts what it writes at Excel's 32,767 characters; a hostile file need not
    sheet = (b'<worksheet ' + _NS + b'><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>code</t></is></c>'
             b'</row><row r="2"><c r="A2" t="inlineStr"><is><t>' + b"y" * 40_000 + b'</t></is></c></row></sheetData>'
             b'</worksheet>')
    p = _replace_part(_xlsx(tmp_path / "base.xlsx"), tmp_path / "long.xlsx", "xl/worksheets/sheet1.xml",
                      lambda fh: fh.write(sheet))
    r = Report(file=str(p))
    with pytest.raises(LoadError, match="40,000 characters"):
        read_workbook(p, r)
    assert "yyy" not in str(r.errors[0])
    monkeypatch.setenv("CROSSWALK_MAX_ROWS", "10")
    p = _xlsx(tmp_path / "rows.xlsx", [("code", "v")] + [(str(i), i) for i in range(20)])
    with pytest.raises(LoadError, match="more than 10 rows.*CROSSWALK_MAX_ROWS"):
        read_data(p)


# -- text --------------------------------------------------------------------------------
def test_a_single_line_csv_past_the_line_limit_is_refused_without_echoing_it(tmp_path):
    p = tmp_path / "one_line.csv"
    with open(p, "wb") as fh:
        fh.write(b"code;value\n0110;")
        fh.write(b"9" * (3 * MiB))
        fh.write(b"\n")
    for read in (lambda: read_csv(p, Report(file=str(p))), lambda: read_data(p)):
        with pytest.raises(LoadError, match="line 2 is longer than 1,048,576 bytes") as exc:
            read()
        assert "999" not in str(exc.value)
    res = CliRunner().invoke(cli, ["validate", str(p), "--scheme", "okz2014"])
    assert res.exit_code == 1 and "999999" not in res.output and "line_bytes" in res.output


def test_too_many_lines_and_an_oversized_text_file(tmp_path, monkeypatch):
    p = tmp_path / "rows.csv"
    p.write_text("code;value\n" + "".join(f"{i};1\n" for i in range(30)), encoding="utf-8")
    monkeypatch.setenv("CROSSWALK_MAX_ROWS", "20")
    with pytest.raises(LoadError, match="more than 20 lines.*limit rows = 20"):
        read_data(p)
    monkeypatch.setenv("CROSSWALK_MAX_ROWS", "100")
    monkeypatch.setenv("CROSSWALK_MAX_TEXT_MB", "1")
    big = tmp_path / "big.json"
    big.write_bytes(b"[" + b"1," * MiB + b"1]")
    with pytest.raises(LoadError, match="2 MiB of text.*CROSSWALK_MAX_TEXT_MB"):
        read_json(big, Report(file=str(big)))
    monkeypatch.setenv("CROSSWALK_MAX_ROWS", "oops")
    with pytest.raises(CrosswalkError, match="CROSSWALK_MAX_ROWS='oops'"):
        read_data(p)


NESTED = "[" * 5000 + "]" * 5000          # 10 KB


def test_deeply_nested_json_is_an_error_and_validate_and_build_go_on(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "deep.json").write_text(NESTED, encoding="utf-8")
    (folder / "okz.json").write_text(json.dumps({"1111": "Законодатели", "1112": "Руководители"},
                                                ensure_ascii=False), encoding="utf-8")
    r = Report(file="deep.json")
    with pytest.raises(LoadError, match="nested more than 64 deep.*CROSSWALK_MAX_JSON_DEPTH"):
        read_json(folder / "deep.json", r)
    assert r.errors[0].row == 1
    out = api.validate([folder])
    by = {f["path"].rsplit("/", 1)[1]: f for f in out["files"]}
    assert by["deep.json"]["problems"][0]["kind"] in ("limit", "scheme")
    assert by["okz.json"]["rows_loaded"] == 2
    # with the scheme named the limit itself is reported
    out = api.validate([folder / "deep.json"], scheme="okz2014")
    assert out["files"][0]["problems"][0]["kind"] == "limit"
    from crosswalk.build import build
    from crosswalk.settings import BuildConfig
    res = build(BuildConfig(files=[str(folder / "deep.json"), str(folder / "okz.json")],
                            output=str(tmp_path / "out")))
    assert any("deep.json" in s for s in res.summary["skipped_files"])
    assert res.files["okz2014"].endswith("okz.json")


def test_json_values_and_string_limits(tmp_path, monkeypatch):
    p = tmp_path / "many.json"
    p.write_text("[" + ",".join(["{}"] * 200) + "]", encoding="utf-8")
    monkeypatch.setenv("CROSSWALK_MAX_JSON_VALUES", "100")
    with pytest.raises(LoadError, match="more than 100 values"):
        read_json(p, Report(file=str(p)))
    q = tmp_path / "long.json"
    q.write_text('{"a": "' + "z" * 40_000 + '"}', encoding="utf-8")
    with pytest.raises(LoadError, match="a string of 40,000 characters"):
        read_json(q, Report(file=str(q)))
    # brackets and commas inside strings are text, not structure
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"t": "[" * 500 + "," * 500}), encoding="utf-8")
    assert read_json(ok, Report(file=str(ok)))["t"].startswith("[[[")


def test_a_long_value_is_never_echoed_whole(tmp_path):
    p = tmp_path / "data.csv"
    p.write_text("code;employment\n0110;" + "x" * 20_000 + "\n0111;5\n", encoding="utf-8")
    df, rep = read_data(p, value_columns=["employment"])
    (bad,) = [q for q in rep.problems if q.kind == "value_not_numeric"]
    assert bad.row == 2 and len(bad.value) < 300 and "20,000 characters" in bad.value


def test_candidates_and_build_configs_are_read_within_the_limits(tmp_path):
    from crosswalk.candidates import read_candidates
    from crosswalk.settings import BuildConfig
    deep = tmp_path / "cands.json"
    deep.write_text('{"candidates": ' + NESTED + "}", encoding="utf-8")
    with pytest.raises(LoadError, match="nested more than 64 deep"):
        read_candidates(deep)
    cfg = tmp_path / "build.json"
    cfg.write_text('{"files": ' + NESTED + "}", encoding="utf-8")
    with pytest.raises(CrosswalkError, match="nested more than 64 deep"):
        BuildConfig.load(cfg)


def test_an_xls_workbook_is_read_sheet_by_sheet_within_the_limits(monkeypatch):
    from pathlib import Path
    xls = Path(__file__).parent.parent / "raw_classifiers" / "isco08_isco88" / "corrtab08-88 excerpt.xls"
    assert read_workbook(xls, Report(file=str(xls)))[0].rows
    monkeypatch.setenv("CROSSWALK_MAX_ROWS", "10")
    with pytest.raises(LoadError, match="more than 10 rows.*CROSSWALK_MAX_ROWS"):
        read_workbook(xls, Report(file=str(xls)))


def _sheet_xlsx(tmp_path, name, sheet_xml: bytes, shared: bytes | None = None):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for part, data in _PARTS.items():
            z.writestr(part, sheet_xml if part == "xl/worksheets/sheet1.xml" else data)
        z.writestr("xl/sharedStrings.xml", shared or (b'<?xml version="1.0"?><sst ' + _NS + b'><si><t>code</t></si>'
                                                      b'<si><t>title</t></si></sst>'))
    return path


def test_a_row_of_millions_of_cells_is_refused_while_parsing(tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSWALK_MAX_RATIO", "1000000")        # past the directory check: the parser bounds it
    row = b'<row r="2">' + b"<c/>" * 2_000_000 + b"</row>"           # 8 MB of XML: refused after 16,385 cells
    sheet = b'<worksheet ' + _NS + b'><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>' + row + \
        b"</sheetData></worksheet>"
    p = _sheet_xlsx(tmp_path, "wide.xlsx", sheet)
    r = Report(file=str(p))
    with pytest.raises(LoadError, match="row 2 has a cell in more than 16,384 cells|past Excel's last column"):
        read_workbook(p, r)
    far = b'<worksheet ' + _NS + b'><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="99999999">' \
        b'<c r="A99999999" t="s"><v>1</v></c></row></sheetData></worksheet>'
    with pytest.raises(LoadError, match="past Excel's last row"):
        read_workbook(_sheet_xlsx(tmp_path, "far.xlsx", far), Report(file="far.xlsx"))


def test_a_dtd_in_any_part_is_refused_before_the_parser_sees_it(tmp_path):
    sheet = _PARTS["xl/worksheets/sheet1.xml"]
    laughs = (b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
              b'<sst ' + _NS + b'><si><t>&b;</t></si><si><t>x</t></si></sst>')
    p = _sheet_xlsx(tmp_path, "laughs.xlsx", sheet, laughs)
    with pytest.raises(LoadError, match="declares entities or a DTD"):
        read_workbook(p, Report(file=str(p)))
    xxe = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]><worksheet ' + _NS
           + b'><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&x;</t></is></c></row></sheetData></worksheet>')
    p = _sheet_xlsx(tmp_path, "xxe.xlsx", xxe)
    with pytest.raises(LoadError, match="declares entities or a DTD") as exc:
        read_data(p)
    assert "root:" not in str(exc.value)
