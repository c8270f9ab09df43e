"""What the hostile-input corpus of benchmarks/reliability.py is made of (the cases are in
hostile_cases.py): the run of a case, its verdict, the judges, and writers of hostile files
(xlsx parts rewritten, members that inflate to gigabytes streamed, never held in memory).

Every case writes its files, names one ``crosswalk`` command line, and judges the run:

* ``refused``  — exit 1 with a clear message (the words given) and no traceback;
* ``warned``   — exit 0, the data loaded, and a problem names what was repaired;
* ``exact``    — exit 0 and the output equals the truth (totals by code, rows, cells).

A *silent change* is a run that exits 0 with an output that differs from the truth and
says nothing about it: the worst defect (a wrong number with exit 0). The judges compute
the truth independently of crosswalk (Decimal sums, the rows generated), never from its output.
"""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, Optional

MB = 1 << 20


@dataclass
class Run:
    """What a case's command did."""
    returncode: Optional[int]
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float
    folder: Path
    timed_out: bool = False

    @property
    def text(self) -> str:
        return self.stdout + "\n" + self.stderr

    @property
    def traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.stderr

    def json(self) -> Optional[dict]:
        try:
            return json.loads(self.stdout)
        except ValueError:
            return None


@dataclass
class Verdict:
    ok: bool                  # the outcome expected
    silent: bool = False      # exit 0 with an output that differs from the truth, unannounced
    note: str = ""


@dataclass
class Case:
    name: str
    command: str              # validate | build | code | apply | review import
    expect: str               # refused | warned | exact
    what: str                 # the hostile input, in words
    make: Callable[[Path], tuple[list[str], Callable[[Run], Verdict]]]
    tags: tuple[str, ...] = field(default_factory=tuple)


# -- judges -------------------------------------------------------------------------------
def refused(*words: str, silent_if: Optional[Callable[[Run], bool]] = None) -> Callable[[Run], Verdict]:
    """Exit 1, no traceback, and a message naming each of ``words`` (any case)."""
    def judge(run: Run) -> Verdict:
        if run.timed_out:
            return Verdict(False, note="timed out")
        if run.traceback:
            return Verdict(False, note="traceback: " + run.stderr.strip().splitlines()[-1][:200])
        missing = [w for w in words if w.lower() not in run.text.lower()]
        if run.returncode == 0:
            silent = bool(silent_if and silent_if(run))
            return Verdict(False, silent, "accepted with exit 0" + (" and a wrong output" if silent else ""))
        if missing:
            return Verdict(False, note=f"refused, but the message lacks {missing}: {_last(run)}")
        return Verdict(True, note=_last(run))
    return judge


def or_refused(judge: Callable[[Run], Verdict], *words: str) -> Callable[[Run], Verdict]:
    """Either outcome is right: refused with a clear message (exit 1, the words), or (exit 0)
    what ``judge`` checks."""
    def either(run: Run) -> Verdict:
        return refused(*words)(run) if run.returncode != 0 or run.traceback or run.timed_out else judge(run)
    return either


def _last(run: Run) -> str:
    """The message a user would read: the last line of stderr (else of stdout); for a JSON
    report, its first error or warning."""
    data = run.json()
    if isinstance(data, dict):
        probs = [p for f in data.get("files") or [] for p in f.get("problems", [])
                 if p.get("severity") in ("error", "warning")] + [p for p in data.get("problems") or []
                                                               if isinstance(p, dict)]
        if probs:
            p = probs[0]
            return f"{p.get('severity', '')} {p.get('kind', '')}: {p.get('message', '')}"[:240]
    for text in (run.stderr, run.stdout):
        lines = [ln for ln in text.strip().splitlines() if ln.strip()]
        if lines:
            return lines[-1][:240]
    return ""


def _problems(run: Run) -> list[dict]:
    data = run.json() or {}
    files = data.get("files") or []
    return [p for f in files for p in f.get("problems", [])]


def _file0(run: Run) -> dict:
    data = run.json() or {}
    files = data.get("files") or [{}]
    return files[0]


def validate_rows(total: int, *, flagged_row: Optional[int] = None, kinds: tuple[str, ...] = (),
                  loaded: Optional[int] = None) -> Callable[[Run], Verdict]:
    """`validate --format json` of a file of ``total`` data rows: every row accounted for
    (read = loaded + rejected = total), and the hostile row named by a problem (error or
    warning, its row, or one of ``kinds``). Exit 0 with rows missing or the row unnamed is silent."""
    def judge(run: Run) -> Verdict:
        if run.traceback or run.timed_out:
            return Verdict(False, note="traceback" if run.traceback else "timed out")
        f = _file0(run)
        if not f:
            return Verdict(run.returncode != 0, note=f"no report; {_last(run)}")
        read, ok_rows, rej = f.get("rows_read", 0), f.get("rows_loaded", 0), f.get("rows_rejected", 0)
        named = [p for p in f.get("problems", []) if p["severity"] in ("error", "warning")
                 and ((flagged_row is not None and p.get("row") == flagged_row) or p["kind"] in kinds)]
        counted = read == total and read == ok_rows + rej
        if loaded is not None:
            counted = counted and ok_rows == loaded
        note = f"rows read {read} = loaded {ok_rows} + rejected {rej} (truth: {total} rows); " \
               f"problems naming it: {[p['kind'] for p in named]}"
        if counted and (named or (flagged_row is None and not kinds)):
            return Verdict(True, note=note)
        return Verdict(False, silent=run.returncode == 0 and not named, note=note)
    return judge


def _read_table(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return list(csv.DictReader(fh))
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq
        return pq.read_table(path).to_pylist()
    import openpyxl
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def _dec(v) -> Optional[Decimal]:
    if v is None or v == "":
        return None
    try:
        d = Decimal(str(v).replace("\u00a0", "").strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def totals(truth: dict[str, Decimal], *, code_col: str, value_col: str, output: str = "out.csv",
           unmatched: Optional[dict[str, Decimal]] = None, warn_words: tuple[str, ...] = ()) \
        -> Callable[[Run], Verdict]:
    """`apply`: the output's totals by target code equal ``truth`` (Decimal, to 1e-9 relative);
    ``unmatched`` codes may instead be reported unmatched. Refusing with a clear message (the
    input cannot be read exactly) is also right; exit 0 with other totals is silent."""
    def judge(run: Run) -> Verdict:
        if run.traceback or run.timed_out:
            return Verdict(False, note="traceback" if run.traceback else "timed out")
        if run.returncode != 0:
            return Verdict(True, note="refused: " + _last(run))
        path = run.folder / output
        if not path.exists():
            return Verdict(False, True, "exit 0 without an output file")
        got: dict[str, Decimal] = {}
        bad = []
        for row in _read_table(path):
            v = _dec(row.get(value_col))
            if v is None:
                bad.append(row.get(value_col))
                continue
            code = str(row.get(code_col) or "").strip()
            got[code] = got.get(code, Decimal(0)) + v
        wrong = {c: (str(got.get(c)), str(t)) for c, t in truth.items()
                 if got.get(c) is None or abs(got[c] - t) > abs(t) * Decimal("1e-9") + Decimal("1e-9")}
        extra = sorted(set(got) - set(truth))
        if unmatched:
            wrong = {c: w for c, w in wrong.items() if c not in unmatched}
        said = all(w.lower() in run.text.lower() for w in warn_words)
        if not wrong and not extra and not bad and said:
            return Verdict(True, note=f"totals of {len(truth)} codes exact")
        note = f"wrong totals {dict(list(wrong.items())[:4])}; extra codes {extra[:4]}; non-numbers {bad[:3]}" \
               + ("" if said else f"; no mention of {warn_words}")
        return Verdict(False, silent=bool(wrong or extra or bad), note=note)
    return judge


# -- writers ------------------------------------------------------------------------------
OKVED_ROWS = [("A", " ", "СЕЛЬСКОЕ, ЛЕСНОЕ ХОЗЯЙСТВО, ОХОТА, РЫБОЛОВСТВО И РЫБОВОДСТВО"),
              ("A", "01", "Растениеводство и животноводство, охота и предоставление соответствующих услуг"),
              ("A", "01.1", "Выращивание однолетних культур"),
              ("A", "01.11", "Выращивание зерновых (кроме риса), зернобобовых культур и семян масличных культур"),
              ("A", "01.12", "Выращивание риса"),
              ("A", "01.13", "Выращивание овощей, бахчевых, корнеплодных и клубнеплодных культур, грибов и трюфелей"),
              ("A", "01.19", "Выращивание прочих однолетних культур")]


def okved_csv(rows=OKVED_ROWS, encoding="cp1251") -> bytes:
    return "".join(f'"{s}";"{c}";"{t}"\r\n' for s, c, t in rows).encode(encoding)


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _col(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _xlsx_bytes(rows: list[tuple]) -> bytes:
    """A minimal xlsx written by hand (so each case knows its parts): text in shared strings
    (xl/sharedStrings.xml, cells t="s"), numbers as numbers, one sheet."""
    from xml.sax.saxutils import escape
    strings: dict[str, int] = {}
    cells = []
    for r, row in enumerate(rows, 1):
        xs = []
        for c, v in enumerate(row, 1):
            ref = f"{_col(c)}{r}"
            if v is None:
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                xs.append(f'<c r="{ref}"><v>{v}</v></c>')
            else:
                i = strings.setdefault(str(v), len(strings))
                xs.append(f'<c r="{ref}" t="s"><v>{i}</v></c>')
        cells.append(f'<row r="{r}">{"".join(xs)}</row>')
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.'
        'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml"'
        ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="' + rel + '/officeDocument"'
        ' Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {ns} xmlns:r="{rel}">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns='
        '"http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="' + rel
        + '/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="' + rel + '/sharedStrings"'
        ' Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {ns}>'
        f'<sheetData>{"".join(cells)}</sheetData></worksheet>',
        "xl/sharedStrings.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst {ns} count='
        f'"{len(strings)}" uniqueCount="{len(strings)}">'
        + "".join(f"<si><t>{escape(t)}</t></si>" for t in strings) + "</sst>",
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text.encode("utf-8"))
    return buf.getvalue()


OKZ_ROWS = [("Код", "Наименование"), ("2", "Специалисты высшего уровня квалификации"),
            ("25", "Специалисты в области информационно-коммуникационных технологий"),
            ("251", "Разработчики и аналитики программного обеспечения и приложений"),
            ("2512", "Разработчики программного обеспечения"), ("2513", "Разработчики Web и мультимедийных приложений")]


def rezip(src: bytes, path: Path, replace: dict[str, object], *, level: int = 9) -> Path:
    """Copy an xlsx (zip) with some members replaced: bytes, or a callable writing into a
    stream (so a member may inflate to gigabytes without holding them in memory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED,
                                                                compresslevel=level) as zout:
        for info in zin.infolist():
            new = replace.get(info.filename, None)
            if new is None:
                zout.writestr(info, zin.read(info.filename))
            elif callable(new):
                with zout.open(zipfile.ZipInfo(info.filename, info.date_time), "w", force_zip64=True) as fh:
                    new(fh)
            else:
                zout.writestr(info.filename, new, compress_type=zipfile.ZIP_DEFLATED, compresslevel=level)
    return path


def _repeat(head: bytes, filler: bytes, size: int, tail: bytes) -> Callable:
    def fill(fh):
        fh.write(head)
        block = filler * (MB // len(filler))
        left = size
        while left > 0:
            fh.write(block[:min(left, len(block))])
            left -= len(block)
        fh.write(tail)
    return fill


def shared_string_bomb(rows: list[tuple], path: Path, size: int) -> Path:
    """An xlsx whose last shared string (the last text cell: a title) is ``size`` bytes of 'A'."""
    src = _xlsx_bytes(rows)
    with zipfile.ZipFile(io.BytesIO(src)) as z:
        sst = z.read("xl/sharedStrings.xml")
    last = sst.rindex(b"<si><t>") + len(b"<si><t>")
    return rezip(src, path, {"xl/sharedStrings.xml": _repeat(sst[:last], b"A", size, b"</t></si></sst>")})


def sheet_whitespace_bomb(rows: list[tuple], path: Path, size: int) -> Path:
    src = _xlsx_bytes(rows)
    with zipfile.ZipFile(io.BytesIO(src)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    cut = sheet.index(b"<sheetData>") + len(b"<sheetData>")
    return rezip(src, path, {"xl/worksheets/sheet1.xml": _repeat(sheet[:cut], b" ", size, sheet[cut:])})


def sheet_with_doctype(rows: list[tuple], path: Path, doctype: bytes, entity_ref: bytes) -> Path:
    src = _xlsx_bytes(rows)
    with zipfile.ZipFile(io.BytesIO(src)) as z:
        sst = z.read("xl/sharedStrings.xml")
    decl_end = sst.index(b"?>") + 2
    first_t = sst.index(b"<t>") + 3
    new = sst[:decl_end] + doctype + sst[decl_end:first_t] + entity_ref + sst[first_t:]
    return rezip(src, path, {"xl/sharedStrings.xml": new})


XXE = (b'<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', b"&xxe;")
LAUGHS = (b'<!DOCTYPE sst [<!ENTITY a "' + b"ha" * 50 + b'">'
          + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8))
          + b"]>", b"&i;")


def corrupt_deflate(src: bytes, path: Path, member: str) -> Path:
    """The xlsx with the compressed bytes of ``member`` damaged in the middle (CRC left as is)."""
    buf = bytearray(src)
    with zipfile.ZipFile(io.BytesIO(src)) as z:
        info = z.getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    mid = start + info.compress_size // 2
    for i in range(mid, min(mid + 16, start + info.compress_size)):
        buf[i] ^= 0x5A
    return write(path, bytes(buf))


def malformed_member(src: bytes, path: Path, member: str) -> Path:
    with zipfile.ZipFile(io.BytesIO(src)) as z:
        data = z.read(member)
    return rezip(src, path, {member: data[: len(data) * 2 // 3] + b"<row r=<<"})


def deep_json(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


_TEXT_OPEN = re.compile(rb"<t(?:\s[^>]*)?>")         # <t> or <t xml:space="preserve">


def _text_start(data: bytes, at: int = 0) -> int:
    """Where the text of the first ``<t>`` element at or after ``at`` begins."""
    m = _TEXT_OPEN.search(data, at)
    if m is None:
        raise ValueError(f"no <t> element after byte {at}")
    return m.end()


def inline_string_bomb_bytes(src: bytes, path: Path, size: int, cell: bytes = b'<c r="C2"') -> Path:
    """A workbook whose ``cell`` text is followed by ``size`` bytes of 'A': in the cell
    itself (an inline string) or in the shared string it points to (t="s")."""
    member = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(src)) as z:
        sheet = z.read(member)
        sst = z.read("xl/sharedStrings.xml") if "xl/sharedStrings.xml" in z.namelist() else b""
    start = sheet.index(cell)
    head = sheet[start:sheet.index(b">", start)]
    if b't="s"' not in head:
        at = _text_start(sheet, start)
        return rezip(src, path, {member: _repeat(sheet[:at], b"A", size, sheet[at:])})
    index = int(re.search(rb"<v>(\d+)</v>", sheet[start:]).group(1))
    si = -1
    for _ in range(index + 1):
        si = sst.index(b"<si>", si + 1)
    at = _text_start(sst, si)
    return rezip(src, path, {"xl/sharedStrings.xml": _repeat(sst[:at], b"A", size, sst[at:])})


def sheet_with_doctype_bytes(src: bytes, path: Path, doctype: bytes, entity_ref: bytes) -> Path:
    """:func:`sheet_with_doctype` for an existing workbook's bytes (its shared strings)."""
    with zipfile.ZipFile(io.BytesIO(src)) as z:
        member = "xl/sharedStrings.xml" if "xl/sharedStrings.xml" in z.namelist() else "xl/worksheets/sheet1.xml"
        data = z.read(member)
    decl_end = data.index(b"?>") + 2 if data.startswith(b"<?xml") else 0
    first_t = _text_start(data) if _TEXT_OPEN.search(data) else data.index(b"<v>") + 3
    return rezip(src, path, {member: data[:decl_end] + doctype + data[decl_end:first_t] + entity_ref + data[first_t:]})
