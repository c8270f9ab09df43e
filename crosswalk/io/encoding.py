"""Decoding text files: strict UTF-8 (with or without BOM) first, then cp1251.

Text that still looks garbled after decoding (mojibake, replacement characters,
runs of question marks left by a lossy conversion) is rejected, never loaded.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import LoadError, Report

# UTF-8 Cyrillic bytes (D0/D1 + 80..BF) read as cp1251 give 'Р'/'С' followed by one of
# these characters: «РџСЂРёРІРµС‚» is «Привет» decoded with the wrong code page.
_CP1251_TAIL = "ЂЃ‚ѓ„…†‡€‰Љ‹ЊЌЋЏђ‘’“”•–—™љ›њќћџ\u00a0ЎўЈ¤Ґ¦§Ё©Є«¬\u00ad®Ї°±Ііґµ¶·ё№є»јЅѕї"
_MOJIBAKE_1251 = re.compile("[РС][" + re.escape(_CP1251_TAIL) + "]")
# The same bytes read as latin-1 / cp1252: 'Ð'/'Ñ' followed by a high character.
_MOJIBAKE_LATIN = re.compile("[ÐÑ][\u0080-\u00bf\u2018-\u203a\u0152-\u0178]")
_QUESTION_RUN = re.compile(r"\?{3,}")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
UTF8_BOM = b"\xef\xbb\xbf"


def garbled_reason(text: str) -> str | None:
    """Why decoded text looks garbled, or None if it looks like real text."""
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
    return None


def decode(data: bytes, report: Report) -> str:
    """Decode bytes, recording the encoding used in ``report.encoding``.

    Raises :class:`LoadError` when neither encoding gives believable text.
    """
    bom = data.startswith(UTF8_BOM)
    body = data[3:] if bom else data
    try:
        text, enc = body.decode("utf-8"), ("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as exc:
        at = exc.start + (3 if bom else 0)      # byte offsets count from the start of the file
        try:
            # a UTF-8 BOM in front of cp1251 bytes (an editor added it, or files were joined):
            # the BOM is not text, so it must not become «п»ї» in the first cell
            text, enc = body.decode("cp1251"), "cp1251"
        except UnicodeDecodeError as exc2:  # cp1251 leaves only 0x98 undefined
            report.error("encoding", f"neither UTF-8 ({exc.reason} at byte {at}) nor cp1251"
                         f" ({exc2.reason} at byte {exc2.start + (3 if bom else 0)})")
            raise LoadError(f"{report.file}: cannot decode as UTF-8 or cp1251", report) from None
        if bom:
            report.warning("encoding", f"the file starts with a UTF-8 byte-order mark but is not"
                           f" UTF-8 ({exc.reason} at byte {at}); the mark was dropped and the rest"
                           " decoded as cp1251")
        else:
            report.info("encoding", f"not valid UTF-8 ({exc.reason} at byte {at}); decoded as cp1251")
    report.encoding = enc
    reason = garbled_reason(text)
    if reason:
        report.error("garbled_text", f"text decoded as {enc} looks garbled: {reason}; nothing loaded")
        raise LoadError(f"{report.file}: garbled text ({reason})", report)
    return text


def decode_head(data: bytes) -> str:
    """The start of a file decoded leniently, for format sniffing (never raises): UTF-8
    (a character cut at the end of the head is dropped), else cp1251; a UTF-8 BOM is
    dropped either way."""
    if data.startswith(UTF8_BOM):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start > len(data) - 4 and exc.reason in ("unexpected end of data",):
            return data[:exc.start].decode("utf-8")
    return data.decode("cp1251", errors="replace")


def read_text(path: str | Path, report: Report) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        report.error("unreadable", f"cannot read file: {exc.strerror or exc}")
        raise LoadError(f"{path}: cannot read file: {exc.strerror or exc}", report) from None
    return decode(data, report)
