"""Decoding text files: UTF-8 (with or without BOM), cp1251 or KOI8-R — decided per file
(the two single-byte code pages told apart by their letters, see codepage.py), then checked
line by line.

* A whole file that still looks garbled after decoding (mojibake, replacement characters,
  runs of question marks left by a lossy conversion) is rejected, never loaded.
* Cyrillic OCR'd into Latin look-alike letters is named by a warning on the file; its rows
  are read, and every title holding such words is flagged by the checks (``mixed_script``):
  the codes are intact, only the titles need retyping.
* One line in the other encoding (a title pasted from a UTF-8 page into a cp1251 file, or
  the reverse) is decoded in its own encoding when that is certain — the line is valid in it
  and reads as Cyrillic text, while the file's encoding would turn it into mojibake — and a
  warning names the line. A line that stays garbled (mojibake pasted as such) is reported
  as an error with its line number; callers reading rows reject the rows on those lines.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from ..errors import LoadError, Report
from . import codepage as _codepage
from . import limits as _limits

# UTF-8 Cyrillic bytes (D0/D1 + 80..BF) read as cp1251 give 'Р'/'С' followed by one of
# these characters: «РџСЂРёРІРµС‚» is «Привет» decoded with the wrong code page.
_CP1251_TAIL = "ЂЃ‚ѓ„…†‡€‰Љ‹ЊЌЋЏђ‘’“”•–—™љ›њќћџ\u00a0ЎўЈ¤Ґ¦§Ё©Є«¬\u00ad®Ї°±Ііґµ¶·ё№є»јЅѕї"
_MOJIBAKE_1251 = re.compile("[РС][" + re.escape(_CP1251_TAIL) + "]")
# The same bytes read as latin-1 / cp1252: 'Ð'/'Ñ' followed by a high character.
_MOJIBAKE_LATIN = re.compile("[ÐÑ][\u0080-\u00bf\u2018-\u203a\u0152-\u0178]")
_QUESTION_RUN = re.compile(r"\?{3,}")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
# Latin letters that look like Cyrillic ones (OCR and font conversions swap them) inside a
# word that also holds Cyrillic letters: «Haимeнoвaниe» is «Наименование» with H, a, e, o
LOOKALIKE_LATIN = "AaBCcEeHKMOoPpTXxyk"
_LOOKALIKE = LOOKALIKE_LATIN
_MIXED_WORD = re.compile(r"\b(?=\w*[\u0400-\u04ff])(?=\w*[" + _LOOKALIKE + r"])[\u0400-\u04ff"
                         + _LOOKALIKE + r"]+\b")
_WORD = re.compile(r"[^\W\d_]{2,}")
UTF8_BOM = b"\xef\xbb\xbf"
LOOKALIKE_SAMPLE = 1_000_000       # characters judged for Latin look-alikes
_LINE_END = re.compile(r"\r\n|\r|\n")


def garbled_reason(text: str, *, lookalikes: bool = True) -> str | None:
    """Why decoded text looks garbled, or None if it looks like real text. ``lookalikes``:
    also when it reads as Cyrillic OCR'd into Latin look-alike letters (a file-wide
    judgement: one title with such a word gets the ``mixed_script`` warning instead)."""
    if "\ufffd" in text:
        return f"{text.count(chr(0xfffd))} replacement characters (U+FFFD)"
    n1251 = len(_MOJIBAKE_1251.findall(text))
    # counting every Cyrillic letter of a large file is slow: only when the pairs could matter
    if n1251 >= 3 and n1251 >= 0.2 * len(_CYRILLIC.findall(text)):
        # in mojibake nearly every letter becomes such a pair; real text ('Сё…') has a few
        sample = _MOJIBAKE_1251.search(text)
        return (f"{n1251} UTF-8 byte pairs read as cp1251 (e.g. {text[sample.start():sample.start()+12]!r}):"
                " the file was converted with the wrong code page")
    nlat = len(_MOJIBAKE_LATIN.findall(text))
    if nlat >= 3:
        sample = _MOJIBAKE_LATIN.search(text)
        return (f"{nlat} UTF-8 byte pairs read as latin-1 (e.g. {text[sample.start():sample.start()+12]!r})")
    runs = _QUESTION_RUN.findall(text)
    if len(runs) >= 3:
        return f"{len(runs)} runs of '???' where letters were lost in a lossy conversion"
    # a text OCR'd into look-alikes shows it from its first lines: a sample keeps this cheap
    return lookalike_reason(text[:LOOKALIKE_SAMPLE]) if lookalikes else None


def may_be_garbled(text: str) -> bool:
    """A cheap first look (one search per pattern): only such texts need :func:`garbled_reason`
    without look-alikes (a loader asks this for every title)."""
    return ("\ufffd" in text or "???" in text or _MOJIBAKE_1251.search(text) is not None
            or _MOJIBAKE_LATIN.search(text) is not None)


def lookalike_reason(text: str) -> str | None:
    """Why a text looks like Cyrillic OCR'd (or font-converted) into Latin look-alike letters:
    most of its Cyrillic words hold Latin letters that look the same (none if it does not)."""
    mixed = _MIXED_WORD.findall(text)
    if len(mixed) < 3:
        return None
    cyrillic_words = sum(1 for w in _WORD.findall(text) if _CYRILLIC.search(w))
    if len(mixed) < 0.3 * cyrillic_words:
        return None
    sample = max(mixed[:50], key=len)
    return (f"{len(mixed)} of {cyrillic_words} Cyrillic words hold Latin look-alike letters (e.g. {sample!r}):"
            " the text was OCR'd or converted into Latin letters that look like Cyrillic ones")


def repair_mojibake(line: str) -> Optional[str]:
    """The text a mojibake line was, when undoing the wrong decoding gives clean UTF-8."""
    for wrong in ("cp1251", "cp1252", "latin-1"):
        try:
            fixed = line.encode(wrong).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if fixed != line and _CYRILLIC.search(fixed) and garbled_reason(fixed, lookalikes=False) is None:
            return fixed
    return None


def _lines_bytes(body: bytes) -> list[bytes]:
    return body.splitlines(keepends=True)        # bytes split on \r, \n and \r\n only


# UTF-8 Cyrillic letters: D0/D1 then a continuation byte. A cp1251 file without such a pair
# holds no UTF-8 Cyrillic line and is decoded whole (fast).
_UTF8_CYRILLIC = re.compile(rb"[\xd0\xd1][\x80-\xbf]")


def legacy_codepage(body: bytes, report: Report) -> str:
    """cp1251 or KOI8-R for bytes that are not UTF-8, told apart by their letters; KOI8-R is
    chosen with a warning saying so, a text whose letters cannot tell is refused (a wrong
    guess would load every title as mojibake)."""
    verdict = _codepage.detect(body)
    if verdict.encoding == "cp1251":
        return "cp1251"
    seen = _codepage.readings(body)
    as_1251, as_koi = (_codepage.sample_words(seen[e]) for e in ("cp1251", "koi8-r"))
    if verdict.encoding == "koi8-r":
        report.warning("encoding", f"not valid UTF-8, and its letters read as Russian in KOI8-R, not in cp1251"
                       f" (as cp1251: «{as_1251}»; as KOI8-R: «{as_koi}»): decoded as KOI8-R; to be sure,"
                       " save the file as UTF-8")
        return "koi8-r"
    report.error("encoding", f"not valid UTF-8, and its {verdict.letters} Cyrillic letters are too few to tell"
                 f" cp1251 from KOI8-R (as cp1251: «{as_1251}»; as KOI8-R: «{as_koi}»); nothing loaded:"
                 " save the file as UTF-8")
    raise LoadError(f"{report.file}: cannot tell the encoding (cp1251 or KOI8-R); save the file as UTF-8", report)


def _reads_as_mojibake(text: str, codepage: str) -> bool:
    """Whether ``text`` (UTF-8 bytes decoded in ``codepage``) shows the marks of it: 'Р'/'С'
    and a symbol in cp1251, box-drawing and maths signs in KOI8-R."""
    rx = _MOJIBAKE_1251 if codepage == "cp1251" else _codepage.ODD_SYMBOL_RX
    return rx.search(text) is not None


def _decode_mixed(body: bytes, report: Report, offset: int) -> tuple[str, str]:
    """Decode a file that is not valid UTF-8 as a whole, line by line: the file's encoding is
    the one most of its non-ASCII lines are valid in; a line valid only in the other one is
    decoded in it with a warning when it then reads as Cyrillic text. The single-byte code
    page (cp1251 or KOI8-R) is told from the lines that are not UTF-8."""
    if not _UTF8_CYRILLIC.search(body) and b"\x98" not in body:
        legacy = legacy_codepage(body, report)
        if not offset and legacy == "cp1251":
            report.info("encoding", "not valid UTF-8; decoded as cp1251")
        return body.decode(legacy), legacy
    lines = _lines_bytes(body)
    utf8_ok: list[Optional[str]] = []
    n_utf8 = n_bad = 0
    for ln in lines:
        if ln.isascii():
            utf8_ok.append(ln.decode("ascii"))
            continue
        try:
            utf8_ok.append(ln.decode("utf-8"))
            n_utf8 += 1
        except UnicodeDecodeError:
            utf8_ok.append(None)
            n_bad += 1
    legacy = legacy_codepage(b"".join(raw for raw, t in zip(lines, utf8_ok) if t is None), report)
    main = "utf-8" if n_utf8 > n_bad else legacy
    out, switched = [], []
    for i, (raw, as_utf8) in enumerate(zip(lines, utf8_ok), 1):
        if as_utf8 is not None and (raw.isascii() or main == "utf-8"):
            out.append(as_utf8)
            continue
        try:
            as_legacy = raw.decode(legacy)
        except UnicodeDecodeError as exc:       # cp1251 leaves only 0x98 undefined
            if as_utf8 is not None:
                out.append(as_utf8)
                continue
            report.error("encoding", f"line {i} is neither UTF-8 nor {legacy} ({exc.reason})", row=i)
            raise LoadError(f"{report.file}: line {i}: cannot decode as UTF-8 or {legacy}", report) from None
        if main == legacy:
            # a UTF-8 line in a cp1251/KOI8-R file: certain when it is valid UTF-8 with Cyrillic
            # letters, reads cleanly so, and its single-byte reading is mojibake
            if (as_utf8 is not None and len(_CYRILLIC.findall(as_utf8)) >= 2 and garbled_reason(as_utf8, lookalikes=False) is None
                    and _reads_as_mojibake(as_legacy, legacy)):
                out.append(as_utf8)
                switched.append(i)
            else:
                out.append(as_legacy)
        else:
            # a cp1251/KOI8-R line in a UTF-8 file: it is not UTF-8, and that is the only other reading
            if _CYRILLIC.search(as_legacy) and garbled_reason(as_legacy, lookalikes=False) is None:
                out.append(as_legacy)
                switched.append(i)
            else:
                out.append(raw.decode("utf-8", errors="replace"))
    other = "UTF-8" if main == legacy else legacy
    if switched:
        report.warning("mixed_encoding", f"{len(switched)} line(s) of this {main} file are in {other}: decoded"
                       f" as {other} (lines {_lines_listing(switched)})", row=switched[0])
    elif main == "cp1251" and not offset:
        first = next(i for i, t in enumerate(utf8_ok, 1) if t is None)
        report.info("encoding", f"not valid UTF-8 (from line {first}); decoded as cp1251", row=first)
    return "".join(out), ("utf-8-sig" if offset and main == "utf-8" else main)


def _lines_listing(numbers: list[int]) -> str:
    from ..errors import listing
    return listing([str(n) for n in numbers])


def decode_lines(data: bytes, report: Report) -> tuple[str, dict[int, str]]:
    """Decode bytes, recording the encoding used in ``report.encoding``; return the text and
    the lines (1-based) that stay garbled, each with the reason (the caller reports them:
    a reader of rows rejects the rows on those lines).

    Raises :class:`LoadError` when the file as a whole is not believable text."""
    bom = data.startswith(UTF8_BOM)
    body = data[3:] if bom else data
    try:
        text, enc = body.decode("utf-8"), ("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as exc:
        if bom:
            at = exc.start + 3
            report.warning("encoding", f"the file starts with a UTF-8 byte-order mark but is not wholly"
                           f" UTF-8 ({exc.reason} at byte {at}); the mark was dropped")
        text, enc = _decode_mixed(body, report, 3 if bom else 0)
    report.encoding = enc
    reason = garbled_reason(text, lookalikes=False)
    if reason:
        report.error("garbled_text", f"text decoded as {enc} looks garbled: {reason}; nothing loaded")
        raise LoadError(f"{report.file}: garbled text ({reason})", report)
    looks = lookalike_reason(text[:LOOKALIKE_SAMPLE])
    if looks:
        report.warning("mixed_script", f"{looks}; the rows are read (codes are intact), the titles holding"
                       " such words are flagged and need retyping")
    text, bad = _garbled_lines(text, report)
    return text, bad


def _garbled_lines(text: str, report: Report) -> tuple[str, dict[int, str]]:
    """Lines that are mojibake although the file is not: repaired when undoing the wrong
    decoding gives clean text (warning), else returned as bad (error)."""
    hits = [m.start() for m in _MOJIBAKE_1251.finditer(text)] + [m.start() for m in _MOJIBAKE_LATIN.finditer(text)]
    if len(hits) < 3:
        return text, {}
    hits.sort()
    spans: dict[int, tuple[int, int]] = {}        # line number -> (start, end) in text
    line, pos = 1, 0
    for h in hits:
        line += text.count("\n", pos, h)
        pos = h
        if line not in spans:
            start = text.rfind("\n", 0, h) + 1
            end = text.find("\n", h)
            spans[line] = (start, len(text) if end < 0 else end)
    fixes: dict[int, tuple[int, int, str]] = {}
    bad: dict[int, str] = {}
    for n, (a, b) in spans.items():
        body = text[a:b]
        reason = garbled_reason(body, lookalikes=False)
        if reason is None:
            continue
        fixed = repair_mojibake(body)
        if fixed is not None:
            fixes[n] = (a, b, fixed)
        else:
            bad[n] = reason
    if fixes:
        report.warning("mojibake_repaired", f"{len(fixes)} line(s) held UTF-8 text decoded with the wrong code"
                       f" page and were repaired (lines {_lines_listing(sorted(fixes))}); check them",
                       row=min(fixes))
        parts, last = [], 0
        for n in sorted(fixes):
            a, b, fixed = fixes[n]
            parts += [text[last:a], fixed]
            last = b
        parts.append(text[last:])
        text = "".join(parts)
    return text, bad


def report_garbled(report: Report, bad: dict[int, str]) -> None:
    for n, reason in sorted(bad.items()):
        report.error("garbled_text", f"line {n} looks garbled: {reason}", row=n)


def decode(data: bytes, report: Report) -> str:
    """Decode bytes (see :func:`decode_lines`); garbled lines are reported as errors."""
    text, bad = decode_lines(data, report)
    report_garbled(report, bad)
    return text


def decode_head(data: bytes) -> str:
    """The start of a file decoded leniently, for format sniffing (never raises): UTF-8
    (a character cut at the end of the head is dropped), else cp1251 or KOI8-R (whichever
    its letters read as, cp1251 when they cannot tell); a UTF-8 BOM is dropped either way."""
    if data.startswith(UTF8_BOM):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start > len(data) - 4 and exc.reason in ("unexpected end of data",):
            return data[:exc.start].decode("utf-8")
    return data.decode(_codepage.detect(data).encoding or "cp1251", errors="replace")


# -- reading files within the limits ---------------------------------------------------
_CHUNK = 4 * _limits.MiB


def scan_lines(path: Path, report: Report, lim: _limits.Limits) -> int:
    """Count the physical lines of a text file and check their length, streaming (a 200 MB
    single-line file is refused without being loaded). Returns the number of lines."""
    import numpy as np
    lines, run, longest, at_line = 0, 0, 0, 1
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                break
            arr = np.frombuffer(chunk, dtype=np.uint8)
            nl = arr == 10
            cr_alone = arr == 13                  # \r\n ends one line, at its \n
            cr_alone[:-1] &= ~nl[1:]
            ends = np.flatnonzero(nl | cr_alone)
            if not len(ends):
                run += len(chunk)
            else:
                gaps = np.diff(ends) - 1
                first = run + int(ends[0])
                widest = max(first, int(gaps.max()) if len(gaps) else 0)
                if widest > longest:
                    longest = widest
                    at_line = lines + 1 + (0 if first >= widest else int(np.argmax(gaps)) + 1)
                lines += len(ends)
                run = len(chunk) - int(ends[-1]) - 1
            if max(longest, run) > lim.line_bytes:
                line = at_line if longest > lim.line_bytes else lines + 1
                raise _limits.refuse(report, "line_bytes", f"line {line} is longer than {lim.line_bytes:,} bytes"
                                     " (a table line that long is not a table, or a quote was never closed)",
                                     row=line)
            if lines > lim.rows + 1:
                raise _limits.refuse(report, "rows", f"the file has more than {lim.rows:,} lines")
    return lines + (1 if run else 0)


def read_bytes(path: str | Path, report: Report, *, lines: bool = False) -> bytes:
    """The bytes of a text file after its size (and, for delimited text, ``lines``, the
    length and number of its lines) passed the limits."""
    path = Path(path)
    lim = _limits.current()
    try:
        size = path.stat().st_size
        if size > lim.text_bytes:
            raise _limits.refuse(report, "text_mb", f"the file holds {size / _limits.MiB:,.0f} MiB of text")
        if lines:
            scan_lines(path, report, lim)
        return path.read_bytes()
    except OSError as exc:
        report.error("unreadable", f"cannot read file: {exc.strerror or exc}")
        raise LoadError(f"{path}: cannot read file: {exc.strerror or exc}", report) from None


def read_text_lines(path: str | Path, report: Report, *, lines: bool = False) -> tuple[str, dict[int, str]]:
    """A text file within the limits, decoded (see :func:`decode_lines`)."""
    return decode_lines(read_bytes(path, report, lines=lines), report)


def read_text(path: str | Path, report: Report, *, lines: bool = False) -> str:
    """A text file within the limits, decoded; garbled lines are reported as errors."""
    text, bad = read_text_lines(path, report, lines=lines)
    report_garbled(report, bad)
    return text
