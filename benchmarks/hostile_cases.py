"""The hostile-input corpus of benchmarks/reliability.py: ≥ 40 cases, each generating its
files into a folder (never committed: some inflate to hundreds of megabytes), naming the
``crosswalk`` command that reads them, and judging the run against the truth (see hostile.py):
refused with a clear message, loaded with a warning, or exact numbers — and a *silent change*
when the output differs from the truth with exit 0 and nothing said.

The judges compute the truth independently of crosswalk (Decimal sums, the rows generated),
never from its output; they do not know how crosswalk reads a file, only what the file holds.
"""
from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Callable, Optional

from hostile import (LAUGHS, MB, OKVED_ROWS, OKZ_ROWS, XXE, Case, Run, Verdict, _dec, _file0, _last, _read_table,
                     _xlsx_bytes, corrupt_deflate, deep_json, inline_string_bomb_bytes, malformed_member,
                     okved_csv, or_refused, refused, sheet_whitespace_bomb, sheet_with_doctype,
                     sheet_with_doctype_bytes, shared_string_bomb, totals, validate_rows, write)


def _validate(path: Path, scheme: Optional[str] = None) -> list[str]:
    return ["validate", str(path), "--format", "json"] + (["--scheme", scheme] if scheme else [])


def cases(ref: Path) -> list[Case]:
    """Every case; ``ref`` is the folder of bundled excerpts (raw_classifiers) that build and
    code use beside the hostile file."""
    out: list[Case] = []

    def case(name, command, expect, what, tags=()):
        def register(make):
            out.append(Case(name, command, expect, what, make, tuple(tags)))
            return make
        return register

    # -- classification files: text ---------------------------------------------------------
    @case("csv-unterminated-quote", "validate", "refused", "a title whose closing quote is missing swallows the next row")
    def _(d):
        rows = [f'"{s}";"{c}";"{t}"' for s, c, t in OKVED_ROWS[:6]]
        rows[3] = rows[3][:-1]                               # 01.11's title never closes
        p = write(d / "okved.csv", ("\r\n".join(rows) + "\r\n").encode("cp1251"))
        return _validate(p, "okved2"), validate_rows(6, flagged_row=4)

    @case("csv-unterminated-quote-last-line", "validate", "refused", "the last line ends inside an open quote (cp1251)")
    def _(d):
        data = okved_csv(OKVED_ROWS[:5])[:-3] + b"\r\n"           # drop the closing quote of the last title
        p = write(d / "okved.csv", data)
        return _validate(p, "okved2"), validate_rows(5, flagged_row=5)

    @case("csv-mixed-encoding-line", "validate", "refused", "a cp1251 file with one line pasted in UTF-8 (mojibake of one title)")
    def _(d):
        body = okved_csv(OKVED_ROWS)
        lines = body.split(b"\r\n")
        s, c, t = OKVED_ROWS[4]
        lines[4] = f'"{s}";"{c}";"{t}"'.encode("utf-8")
        p = write(d / "okved.csv", b"\r\n".join(lines))
        return _validate(p, "okved2"), validate_rows(7, flagged_row=5, kinds=("mojibake", "encoding", "mixed_encoding"))

    @case("csv-utf16", "validate", "exact", "a UTF-16 file (Excel's «Unicode text»): loaded, or refused clearly")
    def _(d):
        p = write(d / "okved.csv", okved_csv(encoding="utf-16"))
        return _validate(p, "okved2"), or_refused(validate_rows(7, loaded=7), "okved.csv")

    @case("csv-koi8r", "validate", "refused", "a KOI8-R file: read as another encoding it is mojibake")
    def _(d):
        p = write(d / "okved.csv", okved_csv(encoding="koi8-r"))

        def judge(run):
            f = _file0(run)
            enc = (f.get("encoding") or "").lower()
            named = [p for p in f.get("problems", []) if p["severity"] in ("error", "warning")]
            if run.traceback:
                return Verdict(False, note="traceback")
            if run.returncode != 0 or enc.replace("-", "").replace("_", "") == "koi8r":
                return Verdict(True, note=f"encoding {enc}; {_last(run)}")
            return Verdict(False, silent=not named, note=f"loaded as {enc} with exit 0")
        return _validate(p, "okved2"), judge

    @case("csv-latin-lookalikes", "validate", "warned", "Cyrillic titles OCR'd into Latin look-alike letters")
    def _(d):
        trans = str.maketrans("аеорсухАЕОРСХКМТВН", "aeopcyxAEOPCXKMTBH")
        rows = [(s, c, t.translate(trans)) for s, c, t in OKVED_ROWS]
        p = write(d / "okved.csv", okved_csv(rows, "utf-8"))
        return _validate(p, "okved2"), validate_rows(7, kinds=("mixed_script", "lookalike", "homoglyph", "latin_lookalike"))

    @case("csv-truncated-utf8", "validate", "warned", "a UTF-8 file cut inside a multi-byte character of its last title")
    def _(d):
        data = okved_csv(encoding="utf-8")
        p = write(d / "okved.csv", data[:-6])                 # …культу + the first byte of «р»
        return _validate(p, "okved2"), or_refused(validate_rows(7, flagged_row=7), "okved.csv")

    @case("csv-huge-line", "validate", "refused", "a 40 MB CSV on one line (no line break)")
    def _(d):
        p = d / "okved.csv"
        with p.open("wb") as fh:
            fh.write(b'"A";"01";"')
            for _ in range(40):
                fh.write("Растениеводство ".encode("cp1251") * (MB // 16))
            fh.write(b'"')
        return _validate(p, "okved2"), refused("line")

    @case("csv-huge-cell", "validate", "refused", "a 5 MB title in a row of an otherwise normal file")
    def _(d):
        rows = list(OKVED_ROWS)
        rows[4] = ("A", "01.12", "рис " * (5 * MB // 4))
        p = write(d / "okved.csv", okved_csv(rows))
        return _validate(p, "okved2"), or_refused(validate_rows(7, flagged_row=5, kinds=("cell_too_long", "too_long")),
                                                  "okved.csv")

    @case("csv-nul-bytes", "validate", "warned", "NUL bytes and control characters inside titles")
    def _(d):
        rows = list(OKVED_ROWS)
        rows[5] = ("A", "01.13", "Выращивание\x00 овощей\x1b[31m")
        p = write(d / "okved.csv", okved_csv(rows))
        return _validate(p, "okved2"), validate_rows(7, flagged_row=6, kinds=("control_characters", "control_character"))

    @case("json-nested-deep", "validate", "refused", "10 KB of nested JSON objects (a RecursionError before)")
    def _(d):
        p = write(d / "labels.json", deep_json(5000))
        return _validate(p), refused("labels.json")

    @case("json-nested-folder", "validate", "exact", "validate FOLDER holding a deeply nested JSON beside a good file")
    def _(d):
        write(d / "data" / "labels.json", deep_json(5000))
        write(d / "data" / "okved.csv", okved_csv())

        def judge(run):
            data = run.json() or {}
            files = {Path(f["path"]).name: f for f in data.get("files", [])}
            good = files.get("okved.csv", {})
            ok = good.get("rows_loaded") == 7 and "labels.json" in run.text and not run.traceback
            return Verdict(ok, note=f"files reported {sorted(files)}; {_last(run)}")
        return ["validate", str(d / "data"), "--format", "json"], judge

    @case("json-huge-string", "validate", "refused", "a labels JSON with one 30 MB title")
    def _(d):
        p = write(d / "labels.json", json.dumps({"2512": "x" * (30 * MB)}).encode())
        return _validate(p, "okz2014:labels-json"), refused("labels.json")

    @case("okz-codes-as-numbers", "validate", "warned", "an OKZ xlsx with codes stored as numbers (2, 25, 251, 2512 …)")
    def _(d):
        rows = [("Код", "Наименование"), (2, "Специалисты высшего уровня квалификации"),
                (25, "Специалисты в области ИКТ"), (251, "Разработчики и аналитики программного обеспечения"),
                (2512, "Разработчики программного обеспечения"), (7, "Квалифицированные рабочие"),
                (72, "Рабочие металлообрабатывающей промышленности"), (721, "Формовщики, сварщики"),
                (7212, "Сварщики и газорезчики")]
        p = write(d / "okz.xlsx", _xlsx_bytes(rows))
        return _validate(p, "okz2014:table"), validate_rows(8, loaded=8, kinds=("excel_damaged", "number_code",
                                                                               "code_repaired", "repaired"))

    # -- classification files: containers --------------------------------------------------
    @case("xlsx-shared-string-400mb", "validate", "refused", "a 0.4 MB xlsx whose shared string unpacks to 400 MB")
    def _(d):
        p = shared_string_bomb(OKZ_ROWS, d / "okz.xlsx", 400 * MB)
        return _validate(p, "okz2014:table"), refused("okz.xlsx")

    @case("xlsx-whitespace-1gb", "validate", "refused", "1 MB of compressed spaces inside the sheet XML (1 GB unpacked)")
    def _(d):
        p = sheet_whitespace_bomb(OKZ_ROWS, d / "okz.xlsx", 1024 * MB)
        return _validate(p, "okz2014:table"), refused("okz.xlsx")

    @case("xlsx-xxe", "validate", "refused", "an external entity (XXE) in the shared strings")
    def _(d):
        p = sheet_with_doctype(OKZ_ROWS, d / "okz.xlsx", *XXE)
        return _validate(p, "okz2014:table"), refused("okz.xlsx", silent_if=lambda r: "root:" in r.text)

    @case("xlsx-billion-laughs", "validate", "refused", "an entity expansion bomb in the shared strings")
    def _(d):
        p = sheet_with_doctype(OKZ_ROWS, d / "okz.xlsx", *LAUGHS)
        return _validate(p, "okz2014:table"), refused("okz.xlsx")

    @case("xlsx-corrupt-deflate", "validate", "refused", "damaged deflate data in the sheet (zlib.error before)")
    def _(d):
        p = corrupt_deflate(_xlsx_bytes(OKZ_ROWS), d / "okz.xlsx", "xl/worksheets/sheet1.xml")
        return _validate(p, "okz2014:table"), refused("okz.xlsx")

    @case("xlsx-malformed-xml", "validate", "refused", "sheet XML cut off mid-tag (ParseError before)")
    def _(d):
        p = malformed_member(_xlsx_bytes(OKZ_ROWS), d / "okz.xlsx", "xl/worksheets/sheet1.xml")
        return _validate(p, "okz2014:table"), refused("okz.xlsx")

    @case("xlsx-truncated", "validate", "refused", "an xlsx cut in half (a failed download)")
    def _(d):
        src = _xlsx_bytes(OKZ_ROWS)
        p = write(d / "okz.xlsx", src[: len(src) // 2])
        return _validate(p, "okz2014:table"), refused("okz.xlsx")

    @case("xlsx-not-a-zip", "validate", "exact", "a CSV renamed to .xlsx: read as what it is, or refused clearly")
    def _(d):
        p = write(d / "okz.xlsx", "Код;Наименование\n2512;Разработчики\n".encode("utf-8"))
        return _validate(p, "okz2014:table"), or_refused(validate_rows(1, loaded=1), "okz.xlsx")

    @case("xlsx-formula-titles", "validate", "warned", "titles that are formulas and DDE payloads (=HYPERLINK, =cmd|)")
    def _(d):
        rows = list(OKZ_ROWS)
        rows[4] = ("2512", '=HYPERLINK("http://evil.example","Разработчики")')
        rows[5] = ("2513", "=cmd|' /C calc'!A0")
        p = write(d / "okz.xlsx", _xlsx_bytes(rows))
        return _validate(p, "okz2014:table"), validate_rows(5, kinds=("formula", "formula_cell", "formula_text"))

    # -- build ------------------------------------------------------------------------------
    def _build_folder(d: Path) -> Path:
        import shutil
        data = d / "data"
        shutil.copytree(ref, data)
        return data

    @case("build-nested-json", "build", "exact", "a build folder holding a deeply nested JSON file")
    def _(d):
        data = _build_folder(d)
        write(data / "okz2014" / "nested.json", deep_json(5000))

        def judge(run):
            ok = run.returncode == 0 and (d / "out" / "summary.json").is_file() and "nested.json" in run.text
            return Verdict(ok and not run.traceback, note=_last(run))
        return ["build", "--data", str(data), "-o", str(d / "out"), "--no-embeddings"], judge

    @case("build-xlsx-bomb", "build", "exact", "a build folder holding an xlsx whose shared string unpacks to 400 MB")
    def _(d):
        data = _build_folder(d)
        shared_string_bomb(OKZ_ROWS, data / "okz2014" / "bomb.xlsx", 400 * MB)

        def judge(run):
            ok = run.returncode == 0 and (d / "out" / "summary.json").is_file() and "bomb.xlsx" in run.text
            return Verdict(ok and not run.traceback, note=_last(run))
        return ["build", "--data", str(data), "-o", str(d / "out"), "--no-embeddings"], judge

    # -- code --------------------------------------------------------------------------------
    def _code_args(d: Path, data: Path, output: str = "coded.csv", *extra: str) -> list[str]:
        return ["code", str(data), "--column", "title", "--to", "okz2014", "--classifiers", str(ref),
                "-o", str(d / output), "--workers", "1", *extra]

    def _passthrough(d: Path, output: str, rows: list[dict], cols: tuple[str, ...]) -> Callable[[Run], Verdict]:
        """Pass-through columns come back as they went in (numbers stay numbers, text keeps its
        spaces); a formula-looking text is escaped in a spreadsheet, never run."""
        def judge(run: Run) -> Verdict:
            if run.traceback or run.returncode != 0:
                return Verdict(False, note=_last(run))
            path = d / output
            if not path.exists():
                return Verdict(False, True, "no output")
            if path.suffix == ".xlsx":
                import openpyxl
                wb = openpyxl.load_workbook(path)
                formulas = [c.coordinate for row in wb.active.iter_rows() for c in row if c.data_type == "f"]
                if formulas:
                    return Verdict(False, True, f"formula cells {formulas[:5]}")
            got = _read_table(path)
            diffs = []
            for want, have in zip(rows, got):
                for c in cols:
                    w, h = want[c], have.get(c)
                    h_txt = "" if h is None else (str(h) if not isinstance(h, float) or not h.is_integer() else str(int(h)))
                    if isinstance(h, str) and h.startswith("'") and w[:1] in "=+-@\t\r":
                        h_txt = h[1:]           # escaped for a spreadsheet: allowed for risky text
                    if h_txt != w and not (_dec(w) is not None and _dec(h_txt) == _dec(w) and path.suffix != ".csv"):
                        diffs.append((c, w, h))
            if len(got) != len(rows):
                diffs.append(("rows", len(rows), len(got)))
            return Verdict(not diffs, silent=bool(diffs), note=f"changed cells {diffs[:4]}" if diffs else "unchanged")
        return judge

    CODE_ROWS = [{"id": "1", "title": "Программист", "amount": "-5", "note": "  с пробелами  "},
                 {"id": "2", "title": "=HYPERLINK(\"http://evil.example\",\"Бухгалтер\")", "amount": "12.50",
                  "note": "=cmd|' /C calc'!A0"},
                 {"id": "3", "title": "+Сварщик", "amount": "007", "note": "@SUM(A1)"},
                 {"id": "4", "title": "Бухгалтер\x1b]0;pwned\x07", "amount": "1e3", "note": "-1+2"}]

    def _code_csv(d: Path) -> Path:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(CODE_ROWS[0]), lineterminator="\r\n")
        w.writeheader()
        w.writerows(CODE_ROWS)
        return write(d / "titles.csv", buf.getvalue().encode("utf-8"))

    @case("code-passthrough-csv", "code", "exact", "pass-through columns (-5, 007, 1e3, spaces, formulas) through code -o csv")
    def _(d):
        return _code_args(d, _code_csv(d)), _passthrough(d, "coded.csv", CODE_ROWS, ("id", "amount", "note"))

    @case("code-formulas-xlsx", "code", "exact", "formula and DDE payloads in titles and notes, code -o xlsx")
    def _(d):
        return _code_args(d, _code_csv(d), "coded.xlsx"), _passthrough(d, "coded.xlsx", CODE_ROWS, ("id", "note"))

    @case("code-parquet", "code", "exact", "code -o x.parquet (a TypeError after writing to --store before)")
    def _(d):
        return _code_args(d, _code_csv(d), "coded.parquet"), _passthrough(d, "coded.parquet", CODE_ROWS, ("id", "note"))

    @case("code-terminal-escape", "code", "exact", "an OSC escape sequence in a title printed to the terminal")
    def _(d):
        def judge(run):
            raw = "\x1b" in run.stdout or "\x07" in run.stdout
            return Verdict(run.returncode == 0 and not raw and not run.traceback,
                           note="raw escape in the output" if raw else _last(run))
        return _code_args(d, _code_csv(d)), judge

    @case("code-huge-cell", "code", "refused", "a 20 MB title in a file to code")
    def _(d):
        p = write(d / "titles.csv", ("id,title\r\n1,Программист\r\n2," + "б" * (20 * MB) + "\r\n").encode("utf-8"))
        return _code_args(d, p), refused("titles.csv")

    @case("code-xlsx-bomb", "code", "refused", "a titles xlsx whose shared string unpacks to 400 MB")
    def _(d):
        p = shared_string_bomb([("id", "title"), ("1", "Программист"), ("2", "Бухгалтер")], d / "titles.xlsx", 400 * MB)
        return _code_args(d, p), refused("titles.xlsx")

    # -- apply -------------------------------------------------------------------------------
    def _cw(d: Path, links: list[tuple[str, str, float]]) -> Path:
        return write(d / "cw.csv", "source_code,target_code,weight\r\n"
                     + "".join(f"{s},{t},{w}\r\n" for s, t, w in links))

    LINKS = [("01.11", "01.11", 1.0), ("01.12", "01.12", 1.0), ("62.01", "62.01", 0.5), ("62.01", "62.02", 0.5)]

    def _apply_args(d: Path, data: Path, engine: str = "pandas", output: str = "out.csv", *extra: str) -> list[str]:
        return ["apply", str(data), "--from", "okved2", "--to", "nace2", "--code-column", "okved2",
                "--value-column", "value", "--crosswalk", str(_cw(d, LINKS)), "-o", str(d / output),
                "--engine", engine, *extra]

    def _truth(rows: list[tuple[str, str]]) -> dict[str, Decimal]:
        by: dict[str, Decimal] = {}
        for code, v in rows:
            for s, t, w in LINKS:
                if s == code.strip().replace("\u00a0", ""):
                    by[t] = by.get(t, Decimal(0)) + Decimal(v) * Decimal(str(w))
        return by

    for engine in ("pandas", "duckdb"):
        @case(f"apply-decimals-after-20480-rows-{engine}", "apply", "exact",
              "integers for 20,480 rows, then decimals (0.4, 1.5): typed from the first rows before", (engine,))
        def _(d, engine=engine):
            rows = [("01.11", "1")] * 20480 + [("01.12", "0.4"), ("01.12", "1.5"), ("62.01", "2.25")] * 100
            p = write(d / "data.csv", "okved2,value\r\n" + "".join(f"{c},{v}\r\n" for c, v in rows))
            return _apply_args(d, p, engine), totals(_truth(rows), code_col="nace2", value_col="value")

        @case(f"apply-thousands-comma-delimited-{engine}", "apply", "exact",
              "\"12,500\" (a thousands separator) in a comma-delimited file: 12.5 before", (engine,))
        def _(d, engine=engine):
            p = write(d / "data.csv", 'okved2,value\r\n01.11,"12,500"\r\n01.12,"1,000,000"\r\n62.01,3\r\n')
            truth = _truth([("01.11", "12500"), ("01.12", "1000000"), ("62.01", "3")])
            return _apply_args(d, p, engine), totals(truth, code_col="nace2", value_col="value")

        @case(f"apply-hex-and-underscores-{engine}", "apply", "refused",
              "0x10 and 1_000 as values (accepted as 16 and 1000 before)", (engine,))
        def _(d, engine=engine):
            p = write(d / "data.csv", "okved2,value\r\n01.11,0x10\r\n01.12,1_000\r\n62.01,3\r\n")
            return _apply_args(d, p, engine), refused("value", silent_if=lambda r: r.returncode == 0)

        @case(f"apply-nan-{engine}", "apply", "refused", "NaN among the values (an empty output cell and rel. error 0 before)",
              (engine,))
        def _(d, engine=engine):
            p = write(d / "data.csv", "okved2,value\r\n01.11,NaN\r\n01.12,2\r\n62.01,3\r\n")
            return _apply_args(d, p, engine), refused("nan", silent_if=lambda r: r.returncode == 0)

        @case(f"apply-padded-codes-{engine}", "apply", "exact", "codes with spaces, NBSP and tabs around them", (engine,))
        def _(d, engine=engine):
            rows = [(" 01.11", "1"), ("01.12\u00a0", "2"), ("\t62.01", "4"), ("01.11 ", "8")]
            p = write(d / "data.csv", "okved2,value\r\n" + "".join(f'"{c}",{v}\r\n' for c, v in rows))
            return _apply_args(d, p, engine), totals(_truth(rows), code_col="nace2", value_col="value")

        @case(f"apply-cp1251-undecodable-{engine}", "apply", "exact",
              "a cp1251 file with a byte no encoding maps (0x98): UnicodeDecodeError before", (engine,))
        def _(d, engine=engine):
            body = "оквэд,регион,value\r\n".encode("cp1251") + b"01.11,\x98\xc0,5\r\n" \
                + "01.12,Москва,7\r\n".encode("cp1251")

            def judge(run):
                if run.traceback:
                    return Verdict(False, note="traceback: " + run.stderr.strip().splitlines()[-1][:160])
                if run.returncode != 0:
                    return Verdict(True, note="refused: " + _last(run))
                return totals({"01.11": Decimal(5), "01.12": Decimal(7)}, code_col="nace2", value_col="value")(run)
            p = write(d / "data.csv", body)
            return (["apply", str(p), "--from", "okved2", "--to", "nace2", "--code-column", "оквэд",
                     "--value-column", "value", "--crosswalk", str(_cw(d, LINKS)), "-o", str(d / "out.csv"),
                     "--engine", engine], judge)

    @case("apply-parquet-nan", "apply", "refused", "a parquet file with NaN in the value column (counted as 0 before)")
    def _(d):
        import pyarrow as pa
        import pyarrow.parquet as pq
        p = d / "data.parquet"
        pq.write_table(pa.table({"okved2": ["01.11", "01.12", "62.01"], "value": [1.0, float("nan"), 3.0]}), p)
        return _apply_args(d, p), refused("nan", silent_if=lambda r: r.returncode == 0 and "nan" not in r.text.lower())

    @case("apply-json-exit-code", "apply", "refused", "--format json with a missing code column: exit 0 before (text: 1)")
    def _(d):
        p = write(d / "data.csv", "code,value\r\n01.11,1\r\n")
        return _apply_args(d, p, "pandas", "out.csv", "--format", "json"), refused("okved2")

    @case("apply-huge-line", "apply", "refused", "a 40 MB single-line CSV (4.7 GB peak and the cell echoed before)")
    def _(d):
        p = d / "data.csv"
        with p.open("wb") as fh:
            fh.write(b"okved2,value\r\n01.11,")
            for _ in range(40):
                fh.write(b"x" * MB)

        def judge(run):
            v = refused("data.csv")(run)
            if len(run.stdout) + len(run.stderr) > 100_000:
                return Verdict(False, note=f"echoed {len(run.stdout) + len(run.stderr)} characters")
            return v
        return _apply_args(d, p), judge

    @case("apply-xlsx-bomb", "apply", "refused", "a data xlsx whose shared string unpacks to 400 MB")
    def _(d):
        p = shared_string_bomb([("okved2", "value"), ("01.11", 1), ("01.12", 2)], d / "data.xlsx", 400 * MB)
        return _apply_args(d, p), refused("data.xlsx")

    @case("apply-xlsx-corrupt-deflate", "apply", "refused", "a data xlsx with damaged deflate data")
    def _(d):
        rows = [("okved2", "value")] + [("01.11", i) for i in range(2000)]
        p = corrupt_deflate(_xlsx_bytes(rows), d / "data.xlsx", "xl/worksheets/sheet1.xml")
        return _apply_args(d, p), refused("data.xlsx")

    @case("apply-formula-keys-xlsx", "apply", "exact", "key columns holding formulas and DDE payloads, output xlsx")
    def _(d):
        p = write(d / "data.csv", 'okved2,region,value\r\n01.11,"=cmd|\' /C calc\'!A0",1\r\n01.12,@SUM(1),2\r\n')

        def judge(run):
            if run.returncode != 0 or run.traceback:
                return Verdict(False, note=_last(run))
            import openpyxl
            wb = openpyxl.load_workbook(d / "out.xlsx")
            formulas = [c.coordinate for row in wb.active.iter_rows() for c in row if c.data_type == "f"]
            return Verdict(not formulas, silent=bool(formulas), note=f"formula cells {formulas}" if formulas else "safe")
        args = ["apply", str(p), "--from", "okved2", "--to", "nace2", "--code-column", "okved2", "--value-column",
                "value", "--crosswalk", str(_cw(d, LINKS)), "-o", str(d / "out.xlsx")]
        return args, judge

    @case("apply-level-mismatch", "apply", "exact", "group codes (10.1, 45.2) in a class column: passed through before")
    def _(d):
        links = LINKS + [("10.11", "10.11", 1.0)]
        p = write(d / "data.csv", "okved2,value\r\n01.11,1\r\n10.1,5\r\n45.2,7\r\n")

        def judge(run):
            if run.traceback:
                return Verdict(False, note="traceback")
            if run.returncode != 0:
                return Verdict(True, note="refused: " + _last(run))
            got = _read_table(d / "out.csv")
            passed = [r for r in got if str(r.get("nace2", "")).strip() in ("10.1", "45.2")]
            return Verdict(not passed, silent=bool(passed), note=f"passed through {passed}" if passed else _last(run))
        return (["apply", str(p), "--from", "okved2", "--to", "nace2", "--code-column", "okved2", "--value-column",
                 "value", "--crosswalk", str(_cw(d, links)), "-o", str(d / "out.csv")], judge)

    # -- review import --------------------------------------------------------------------------
    def _review(d: Path) -> tuple[Path, bytes]:
        from crosswalk.review import LinkKey, ReviewStore
        from crosswalk.review.workbook import export_workbook
        store = d / "review.sqlite"
        with ReviewStore(store) as s:
            s.propose([{"key": LinkKey("okved2", c, "nace2", c), "score": 0.5, "source_title": f"вид {c}",
                        "target_title": f"activity {c}", "rank": 1, "role": "proposal"}
                       for c in ("01.11", "01.12", "01.13", "62.01")])
            path = export_workbook(s, d / "review.xlsx", lang="en")
        return store, path.read_bytes()

    def _import(d: Path, store: Path, path: Path) -> list[str]:
        return ["review", "import", str(path), "--store", str(store), "--reviewer", "anna"]

    def _unchanged_store(store: Path, judge: Callable[[Run], Verdict]) -> Callable[[Run], Verdict]:
        from crosswalk.review import ReviewStore
        with ReviewStore(store) as s:
            before = s.snapshot()

        def check(run: Run) -> Verdict:
            v = judge(run)
            with ReviewStore(store) as s:
                if s.snapshot() != before:
                    return Verdict(False, True, "the store changed: " + v.note)
            return v
        return check

    for name, what, mutate in (
        ("import-xxe", "an external entity in the review workbook", lambda src, p: sheet_with_doctype_bytes(src, p, *XXE)),
        ("import-billion-laughs", "an entity bomb in the review workbook", lambda src, p: sheet_with_doctype_bytes(src, p, *LAUGHS)),
        ("import-corrupt-deflate", "damaged deflate data in the review workbook",
         lambda src, p: corrupt_deflate(src, p, "xl/worksheets/sheet1.xml")),
        ("import-malformed-xml", "the review sheet's XML cut off mid-tag",
         lambda src, p: malformed_member(src, p, "xl/worksheets/sheet1.xml")),
        ("import-truncated", "a review workbook cut in half", lambda src, p: write(p, src[: len(src) // 2])),
        ("import-string-400mb", "a review workbook whose source title unpacks to 400 MB",
         lambda src, p: inline_string_bomb_bytes(src, p, 400 * MB)),
    ):
        @case(name, "review import", "refused", what)
        def _(d, mutate=mutate):
            store, src = _review(d)
            p = mutate(src, d / "filled.xlsx")
            return _import(d, store, p), _unchanged_store(store, refused("filled.xlsx"))

    @case("import-formula-decisions", "review import", "refused", "decision and comment cells typed as formulas")
    def _(d):
        import openpyxl
        store, src = _review(d)
        p = write(d / "filled.xlsx", src)
        wb = openpyxl.load_workbook(p)
        ws = wb["Review"]
        col = {c.value: c.column for c in ws[1]}
        ws.cell(2, col["decision"]).value = '=IF(1,"accept","reject")'
        ws.cell(3, col["comment"]).value = "=cmd|' /C calc'!A0"
        ws.cell(3, col["decision"]).value = "reject"
        wb.save(p)
        return _import(d, store, p), _unchanged_store(store, refused("formula"))

    @case("import-same-name-other-reviewer", "review import", "exact",
          "another reviewer's workbook with the same file name («unchanged», decisions dropped before)")
    def _(d):
        import openpyxl
        from crosswalk.review import ReviewStore
        from crosswalk.review.workbook import import_workbook
        store, src = _review(d)
        for who, comment in (("anna", "верно"), ("boris", "только часть")):
            p = write(d / who / "review.xlsx", src)
            wb = openpyxl.load_workbook(p)
            ws = wb["Review"]
            col = {c.value: c.column for c in ws[1]}
            ws.cell(2, col["decision"]).value = "accept"
            ws.cell(2, col["comment"]).value = comment
            ws.cell(3, col["decision"]).value = "no match" if who == "boris" else None
            wb.save(p)
        with ReviewStore(store) as s:
            import_workbook(s, d / "anna" / "review.xlsx", reviewer="anna")

        def judge(run):
            data = run.json() or {}
            made = 2
            stored = data.get("applied", 0) + data.get("unchanged", 0) + len(data.get("conflicts", []))
            ok = data.get("applied") == 1 and len(data.get("conflicts", [])) == 1 and run.returncode == 1
            silent = run.returncode == 0 and data.get("applied", 0) < 2
            return Verdict(ok, silent, f"applied {data.get('applied')}, unchanged {data.get('unchanged')},"
                                       f" conflicts {len(data.get('conflicts', []))} of {made} decisions ({stored})")
        return ["review", "import", str(d / "boris" / "review.xlsx"), "--store", str(store), "--reviewer", "boris",
                "--format", "json", "--partial"], judge

    return out



__all__ = ["cases"]
