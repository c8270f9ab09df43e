"""OKVED2 (ОК 029-2014, КДЕС Ред. 2): Rosstat open-data CSV and the 2016 JSON with notes.

* ``okved2:rosstat-csv`` — Rosstat dataset 7708234640-okved2: cp1251, ``;``, every
  field quoted, no header; columns section letter, code (a single space on section
  rows), title.
* ``okved2:notes-json`` — the КонсультантПлюс 2016 text with explanatory notes:
  flat ``{code: {caption, description, notes, section}}`` (sorted.json) or nested
  ``{section: {caption, description, items: {code: {...}}}}`` (data.json). Its
  ``notes`` field is the list of cross-referenced codes, kept in ``attrs["refs"]``;
  the explanatory text (``description``) becomes ``Item.notes``.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from pathlib import Path
from typing import Any, Optional

from ..checks import check_text, check_title
from ..codes import cell_code, code_level, structural_parent, suggest_codes
from ..errors import LoadError, Report
from ..io import read_csv, read_json
from ..io.encoding import decode_head
from ..model import code_sort_key
from .base import ItemCollector, LoadResult
from .sections import RANGES, report_code, section_of

FORMATS = {
    "okved2:rosstat-csv": "OKVED2, Rosstat open-data CSV (cp1251, ';', no header: section; code; title)",
    "okved2:notes-json": "OKVED2 2016 with explanatory notes, JSON ({code: {caption, description,"
                         " notes, section}} or nested by section)",
}
SCHEME = "okved2"
NOTES_EDITION = "2016 (amendments to 26.08.2016)"

_EDITION_RX = re.compile(r"data-(\d{4})(\d{2})(\d{2})-structure-(\d{4})(\d{2})(\d{2})")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_LETTER = re.compile("[A-U]")
# Line breaks lost in the source glue sentences: «животныхЭта группировка».
_RUN_ON = re.compile("[а-яё][А-ЯЁ]")
_FLAT_HEAD = re.compile(r'\A\s*\{\s*"\d{2}(?:\.\d{1,2}){0,2}"\s*:\s*\{')
_NESTED_HEAD = re.compile(r'\A\s*\{\s*"[A-U]"\s*:\s*\{')
_MONTHS = {m: i for i, names in enumerate(
    ("jan янв", "feb фев", "mar мар", "apr апр", "may май мая", "jun июн", "jul июл",
     "aug авг", "sep сен", "oct окт", "nov ноя", "dec дек"), start=1) for m in names.split()}
_DATE_RXS = (
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})"), "dmy"),
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00)?)?"), "ymd"),
    (re.compile(r"(\d{1,2})[.\- /]([^\W\d_]{3,})\.?(?:[.\- /](\d{2,4}))?"), "dMy"),
)


# -- sniffing ----------------------------------------------------------------
def sniff(path: Path, head: str) -> Optional[str]:
    try:
        text = head.lstrip("\ufeff")
        if text.lstrip().startswith("{"):
            if '"caption"' in text and (_FLAT_HEAD.match(text)
                                        or (_NESTED_HEAD.match(text) and '"items"' in text)):
                return "okved2:notes-json"
            return None
        return "okved2:rosstat-csv" if _looks_like_rosstat(text) else None
    except Exception:  # sniffing must never raise
        return None


def _looks_like_rosstat(text: str) -> bool:
    lines = [ln for ln in text.splitlines()[:21] if ln.strip()]
    if len(lines) > 1 and len(text) >= 65536:
        lines = lines[:-1]  # the last line of a full head may be cut
    if not lines:
        return False
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=";"))
    good = sum(1 for r in rows if len(r) == 3 and _LETTER.fullmatch(r[0].strip())
               and _CYRILLIC.search(r[2]))
    return good >= max(1, 0.6 * len(rows))  # lenient: a damaged file must still get its report


# -- loading -----------------------------------------------------------------
def load(path, format: Optional[str] = None, *, delimiter: str = ";", strict: bool = False) -> LoadResult:
    """Load one OKVED2 file. ``delimiter`` applies to the CSV layout (the official
    one is ';'; another value exists to show what a wrong one does)."""
    path = Path(path)
    fmt = format or sniff(path, _head(path)) or "okved2:rosstat-csv"
    report = Report(file=str(path), scheme=SCHEME)
    if fmt == "okved2:notes-json":
        data = _load_json(path, report)
    elif fmt == "okved2:rosstat-csv":
        data = _load_csv(path, report, delimiter)
    else:
        raise LoadError(f"{path}: {fmt} is not an OKVED2 format ({', '.join(FORMATS)})", report)
    return LoadResult(str(path), data, report)


def _head(path: Path) -> str:
    with open(path, "rb") as fh:
        return decode_head(fh.read(65536))


def csv_edition(path: Path) -> str:
    """'2023-12-01 (structure 2018-04-02)' from Rosstat's file name, else ''."""
    m = _EDITION_RX.search(path.name)
    if not m:
        return ""
    y, mo, d, sy, smo, sd = m.groups()
    return f"{y}-{mo}-{d} (structure {sy}-{smo}-{sd})"


def parse_code(raw: Any) -> tuple[Optional[str], Optional[str], str]:
    """:func:`cell_code` for OKVED2, also recognising the text Excel writes for a
    code it turned into a date (``01.11.1`` → ``01.11.2001``, ``01.10`` → ``01.окт``)."""
    code, problem, msg = cell_code(SCHEME, raw)
    if problem != "format" or not isinstance(raw, str):
        return code, problem, msg
    date = _date_text(raw.strip())
    if date is None:
        return code, problem, msg
    d, m, y = date
    sug = []
    if y is not None:  # the year may hold the code's last digits (01.11.1 → 2001)
        sug += [f"{d:02d}.{m:02d}.{y % 100}", f"{d:02d}.{m:02d}.{y % 100:02d}"]
    try:
        sug += suggest_codes(SCHEME, _dt.date(y or 2000, m, d))
    except ValueError:
        pass
    sug = [c for c in dict.fromkeys(sug) if code_level(SCHEME, c) is not None]
    return None, "damaged", (f"code {raw.strip()!r} is a date as Excel writes it: Excel turned the"
                             " code into a date" + (f"; the code was probably {' or '.join(sug)}"
                                                    if sug else ""))


def _date_text(text: str) -> Optional[tuple[int, int, Optional[int]]]:
    for rx, order in _DATE_RXS:
        m = rx.fullmatch(text)
        if not m:
            continue
        if order == "dmy":
            d, mo, y = int(m[1]), int(m[2]), int(m[3])
        elif order == "ymd":
            y, mo, d = int(m[1]), int(m[2]), int(m[3])
        else:
            mo = _MONTHS.get(m[2][:3].lower())
            if mo is None:
                return None
            d, y = int(m[1]), int(m[3]) if m[3] else None
        if y is not None and y < 100:
            y += 2000
        if 1 <= d <= 31 and 1 <= mo <= 12:
            return d, mo, y
    return None


# -- Rosstat CSV ---------------------------------------------------------------
def _load_csv(path: Path, report: Report, delimiter: str):
    table = read_csv(path, report, delimiter=delimiter, min_columns=3, line_breaks="error")
    col = ItemCollector(report, SCHEME)
    letters: dict[str, tuple[str, int]] = {}      # division -> (section column, row)
    below: list[tuple[str, str, int]] = []         # (code, section column, row) under divisions
    for row in table.rows:
        col.read()
        got = _csv_row(row, report)
        if got is None:
            col.reject()
            continue
        code, level, letter, title = got
        parent = letter if level == 2 else structural_parent(SCHEME, code)
        if not col.add(code, title, level, parent, attrs={"section": letter}, row=row.number):
            continue
        check_title(report, title, language="ru", row=row.number, column="title", code=code)
        if level == 2:
            letters[code] = (letter, row.number)
            _check_standard_section(report, code, letter, row.number)
        elif level > 2:
            below.append((code, letter, row.number))
    for code, letter, rownum in below:
        div = letters.get(code[:2])
        if div and div[0] != letter:
            report.warning("section_mismatch", f"{code} is in section {letter} by column 1, but its"
                           f" division {code[:2]} (row {div[1]}) is in section {div[0]}",
                           row=rownum, column="section", value=letter)
    return col.build(edition=csv_edition(path), source=str(path))


def _csv_row(row, report: Report):
    """(code, level, section letter, title) of one CSV row, or None (reported)."""
    where = dict(row=row.number)
    values = row.values
    if len(values) < 3 or any(v.strip() for v in values[3:]):
        report.error("column_count", f"row has {len(values)} column(s); 3 expected (section;"
                     " code; title); row rejected", value=";".join(values), **where)
        return None
    letter_raw, raw, title = values[0], values[1], values[2]
    letter = letter_raw.strip()
    if not _LETTER.fullmatch(letter):
        report.error("code_format", f"section column holds {letter_raw!r}, not a letter A–U;"
                     " row rejected", column="section", value=letter_raw, **where)
        return None
    if raw.strip() == "":      # section rows: the code is the letter in column 1
        code, level = letter, 1
    else:
        code, problem, msg = parse_code(raw)
        if report_code(report, problem, msg, raw, column="code", **where):
            return None
        level = code_level(SCHEME, code)
        if level == 1 and code != letter:
            report.error("section_mismatch", f"section row {code} is marked section {letter} in"
                         " column 1; row rejected", column="section", value=letter, **where)
            return None
    if not title.strip():
        report.error("empty_title", f"{code} has no title; row rejected", column="title",
                     value=title, **where)
        return None
    return code, level, letter, title


def _check_standard_section(report: Report, code: str, letter: str, row: Optional[int]) -> None:
    std = section_of(code)
    if std != letter:
        where = (f"the standard puts it in section {std}" if std
                 else "it lies in no section's range of the standard")
        report.warning("section_mismatch", f"division {code} is in section {letter} here, but {where}",
                       row=row, column="section", value=letter)


# -- JSON with notes -----------------------------------------------------------
def _load_json(path: Path, report: Report):
    data = read_json(path, report)
    entries = _json_entries(data, report)
    col = ItemCollector(report, SCHEME, code_column="key", title_column="caption")
    nested = any(e[3] for e in entries)
    run_on: list[tuple[str, re.Match]] = []
    divisions = 0
    refs: list[tuple[str, list, int]] = []
    letters: set[str] = set()
    for pos, key, entry, is_section, section in entries:
        col.read()
        got = _json_item(report, pos, key, entry, is_section, section)
        if got is None:
            col.reject()
            continue
        code, level, title, desc, item_refs, sec = got
        if level == 1:
            parent = None
        elif level == 2:
            parent = sec if nested else None
        else:
            parent = structural_parent(SCHEME, code)
        attrs = {"refs": tuple(item_refs)}
        if sec:
            attrs["section"] = sec
            letters.add(sec)
        if not col.add(code, title, level, parent, notes=desc, attrs=attrs, row=pos):
            continue
        check_title(report, title, language="ru", row=pos, column="caption", code=code)
        check_text(report, desc, language="ru", row=pos, column="description", code=code)
        divisions += level == 2
        glued = _RUN_ON.search(desc)
        if glued:
            run_on.append((code, glued))
        refs.append((code, item_refs, pos))
    _check_refs(report, col, refs)
    if run_on:
        first, m = min(run_on, key=lambda t: code_sort_key(t[0]))
        advice = (" The flat layout (sorted.json) is the recommended source of the notes text."
                  if nested else "")
        report.warning("lost_line_breaks", f"{len(run_on)} description(s) have sentences run together"
                       f" where the source lost its line breaks (e.g. {first}: …"
                       f"{m.string[max(0, m.start() - 12):m.end() + 15]}…); the text is kept as is,"
                       " but glued words will not match a dictionary." + advice,
                       column="description", value=first)
    if not nested and divisions:
        report.warning("missing_levels", "section rows absent; sections known only by letter: "
                       + (", ".join(sorted(letters)) or "none") + " (kept in attrs 'section');"
                       " divisions are top-level items")
    return col.build(edition=NOTES_EDITION, source=str(path))


def _key(raw: Any) -> str:
    return raw.strip() if isinstance(raw, str) else str(raw)


def _json_entries(data: Any, report: Report) -> list[tuple[int, str, Any, bool, Optional[str]]]:
    """(position, key, entry, is_section, section from nesting) in document order."""
    if not isinstance(data, dict):
        report.error("json_layout", f"top level is a {type(data).__name__}; an object keyed by"
                     " OKVED2 codes (or by section letters) is expected")
        raise LoadError(f"{report.file}: not an OKVED2 notes JSON", report)
    nested = data and all(isinstance(v, dict) and "items" in v for v in data.values())
    out = []
    pos = 0
    for key, entry in data.items():
        pos += 1
        if not nested:
            out.append((pos, key, entry, False, None))
            continue
        out.append((pos, key, entry, True, _key(key)))
        items = entry.get("items")
        for k, v in (items.items() if isinstance(items, dict) else ()):
            pos += 1
            out.append((pos, k, v, False, _key(key)))
    return out


def _json_item(report: Report, pos: int, key: str, entry: Any, is_section: bool,
               section: Optional[str]):
    """(code, level, title, description, refs, section) of one entry, or None (reported)."""
    where = dict(row=pos)
    if not isinstance(entry, dict):
        report.error("json_layout", f"entry {key!r} is a {type(entry).__name__}, not an object"
                     " with caption/description/notes; entry rejected", column="key", value=key, **where)
        return None
    code, problem, msg = parse_code(key)
    if report_code(report, problem, msg, key, column="key", **where):
        return None
    level = code_level(SCHEME, code)
    if is_section != (level == 1):
        what = "a section key" if is_section else "an item inside a section"
        report.error("code_format", f"{code} is {what} but is a level-{level} code; entry rejected",
                     column="key", value=key, **where)
        return None
    title = entry.get("caption")
    if not isinstance(title, str) or not title.strip():
        report.error("empty_title", f"{code} has no caption; entry rejected", column="caption",
                     value=title, **where)
        return None
    desc = entry.get("description") or ""
    if not isinstance(desc, str):
        report.warning("json_layout", f"description of {code} is not text; ignored",
                       column="description", value=desc, **where)
        desc = ""
    if "\n" in title.strip():
        # the source put an explanatory paragraph into the caption (85.21 «Образование
        # профессиональное среднее\n  Среднее профессиональное образование направлено…»):
        # the first line is the title, the rest belongs with the notes
        first, rest = (part.strip() for part in title.strip().split("\n", 1))
        if rest[:1].islower():       # a title wrapped at a line end («…туристических\n  услуг»)
            report.warning("caption_line_break", f"the caption of {code} is broken over lines; joined",
                           column="caption", value=title, **where)
            title = f"{first} {' '.join(rest.split())}"
        else:
            report.warning("caption_with_text", f"the caption of {code} runs on past its title into an"
                           " explanation; the title is its first line, the rest joins the notes",
                           column="caption", value=title, **where)
            title = first
            desc = rest + ("\n" + desc if desc.strip() else "")
    refs = entry.get("notes", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        report.warning("json_layout", f"notes of {code} is not a list of codes; ignored",
                       column="notes", value=refs, **where)
        refs = []
    sec = section if level == 1 else _item_section(report, code, entry, section, pos)
    return code, level, title, desc, refs, sec


def _item_section(report: Report, code: str, entry: dict, nesting: Optional[str],
                  pos: int) -> Optional[str]:
    given = entry.get("section")
    given = given.strip() if isinstance(given, str) else None
    sec = nesting or given
    if nesting and given and given != nesting:
        report.warning("section_mismatch", f"{code} says section {given} but sits in section"
                       f" {nesting}; {nesting} is used", row=pos, column="section", value=given)
    if sec is None:
        return None
    if sec not in RANGES:
        report.warning("section_mismatch", f"{code} has section {sec!r}, not a letter A–U",
                       row=pos, column="section", value=sec)
    elif section_of(code) != sec:
        std = section_of(code)
        report.warning("section_mismatch", f"{code} is in section {sec} here, but the standard"
                       f" puts division {code[:2]} in section {std}" if std else
                       f"{code} lies in no section's range of the standard",
                       row=pos, column="section", value=sec)
    return sec


def _check_refs(report: Report, col: ItemCollector, refs: list[tuple[str, list, int]]) -> None:
    """Each cross-referenced code («см. XX.XX») must exist in the file."""
    for code, item_refs, pos in refs:
        for ref in dict.fromkeys(item_refs):
            target = ref.strip()
            if target in col:
                continue
            if code_level(SCHEME, target) is not None:
                msg = f"{code} cross-references {target}, which is not in the file"
            else:
                msg = f"{code} has a cross-reference {ref!r} that is not an OKVED2 code"
            report.warning("bad_reference", msg, row=pos, column="notes", value=ref)
