"""Code formats of each scheme: which level a code is at, its structural parent,
and what a code damaged by Excel probably was.

Excel turns codes into numbers (``01.10`` → ``1.1``, ``0110`` → ``110``) and dates
(``01.10`` → 1 October). Such values are never padded silently: the loader either
rejects them with the suggested code(s) or, where only one reading is possible
(a fixed-width column), repairs them with a warning.
"""
from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Optional

_DOTTED = [(2, r"[0-9]{2}"), (3, r"[0-9]{2}\.[0-9]"), (4, r"[0-9]{2}\.[0-9]{2}"), (5, r"[0-9]{2}\.[0-9]{2}\.[0-9]"),
           (6, r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}")]
_SECTION = (1, r"[A-U]")

FORMATS: dict[str, list[tuple[int, str]]] = {
    "okved2": [_SECTION] + _DOTTED,
    "nace2": [_SECTION] + _DOTTED[:3],
    "isic4": [_SECTION, (2, r"[0-9]{2}"), (3, r"[0-9]{3}"), (4, r"[0-9]{4}")],
    "isco08": [(n, rf"[0-9]{{{n}}}") for n in range(1, 5)],
    "isco88": [(n, rf"[0-9]{{{n}}}") for n in range(1, 5)],
    "okz2014": [(n, rf"[0-9]{{{n}}}") for n in range(1, 5)],
    "okpdtr": [(1, r"[1-4][0-9]{4}")],
    "text": [(1, r"T[0-9a-f]{12}")],
}
_COMPILED = {k: [(lvl, re.compile(rx)) for lvl, rx in v] for k, v in FORMATS.items()}

FORMAT_HELP = {
    "okved2": "a section letter A–U or XX, XX.X, XX.XX, XX.XX.X, XX.XX.XX",
    "nace2": "a section letter A–U or XX, XX.X, XX.XX",
    "isic4": "a section letter A–U or 2 to 4 digits",
    "isco08": "1 to 4 digits",
    "isco88": "1 to 4 digits",
    "okz2014": "1 to 4 digits",
    "okpdtr": "5 digits (1xxxx workers, 2xxxx employees) plus a control number",
    "text": "T and 12 hex digits (the key `crosswalk code` gives a free-text title)",
}


def code_level(scheme: str, code: str) -> Optional[int]:
    """Level of a well-formed code (1 = top), or None if it fits no level."""
    for lvl, rx in _COMPILED[scheme]:
        if rx.fullmatch(code):
            return lvl
    return None


def structural_parent(scheme: str, code: str) -> Optional[str]:
    """The parent a code's digits imply; None at the top and for divisions, whose
    section is known only from the file."""
    lvl = code_level(scheme, code)
    if lvl is None or lvl <= 1:
        return None
    if scheme in ("okved2", "nace2"):
        if lvl == 2:
            return None
        cut = code[:-1]
        return cut[:-1] if cut.endswith(".") else cut
    if scheme == "isic4":
        return None if lvl == 2 else code[:-1]
    if scheme == "okpdtr":
        return None
    return code[:-1]


def _dotted_from_digits(scheme: str, digits: str) -> list[str]:
    out = []
    if len(digits) >= 2:
        cand = digits[:2] + ("." + digits[2:4] if len(digits) > 2 else "")
        if len(digits) > 4:
            cand += "." + digits[4:]
        out.append(cand)
    return out


def suggest_codes(scheme: str, raw: Any) -> list[str]:
    """Well-formed codes that a damaged value may have been, best first."""
    cands: list[str] = []
    if isinstance(raw, (_dt.datetime, _dt.date)):
        # '01.10' read as 1 October (day.month) or '1.10' as January 10th (month.day)
        d, m = raw.day, raw.month
        cands += [f"{d:02d}.{m:02d}", f"{d:02d}.{m}", f"{m:02d}.{d:02d}", f"{m:02d}.{d}"]
    else:
        text = _number_text(raw) if isinstance(raw, (int, float)) else str(raw).strip()
        if re.fullmatch(r"[0-9]+", text):
            for width in range(len(text) + 1, 5):
                cands.append(text.zfill(width))
            cands += _dotted_from_digits(scheme, text.zfill(2))
        m = re.fullmatch(r"([0-9]{1,2})\.([0-9]{1,2})", text)
        if m:
            a, b = m.group(1).zfill(2), m.group(2)
            cands += [f"{a}.{b}", f"{a}.{b.ljust(2, '0')}"]
            if len(b) == 1:
                cands.append(f"{a}.{b}0")
    seen, out = set(), []
    for c in cands:
        if c not in seen and code_level(scheme, c) is not None:
            seen.add(c)
            out.append(c)
    return out


def _number_text(v: Any) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v) if isinstance(v, float) else str(v)


def cell_code(scheme: str, raw: Any, *, width: Optional[int] = None
              ) -> tuple[Optional[str], Optional[str], str]:
    """Turn a raw cell value into a code.

    Returns ``(code, problem, message)``: ``problem`` is None for a clean code,
    ``"repaired"`` when a number in a fixed-``width`` column was zero-padded
    (the only unambiguous repair), ``"damaged"`` when the value is a number or a
    date that could be several codes (``code`` is then None), ``"format"`` when
    the text fits no level of the scheme.
    """
    if raw is None:
        return None, "format", "empty code"
    if isinstance(raw, (_dt.datetime, _dt.date)):
        sug = suggest_codes(scheme, raw)
        return None, "damaged", (f"code is a date ({raw:%Y-%m-%d}): Excel turned the code into a date"
                                 + (f"; the code was probably {' or '.join(sug)}" if sug else ""))
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        text = _number_text(raw)
        if isinstance(raw, float) and not raw.is_integer():
            sug = suggest_codes(scheme, text)
            return None, "damaged", (f"code {text} is a number: Excel dropped zeros"
                                     + (f"; the code was probably {' or '.join(sug)}" if sug else ""))
        if width is not None and len(text) <= width:
            code = text.zfill(width)
            if code_level(scheme, code) is not None:
                if code != text:
                    return code, "repaired", (f"code {text} is a number with its leading zeros lost;"
                                              f" padded to {width} digits: {code}")
                return code, None, ""
        if code_level(scheme, text) is not None and width is None:
            # a number that is itself a well-formed code, but the zeros may be gone
            sug = [c for c in suggest_codes(scheme, text) if c != text]
            if not sug:
                return text, None, ""
            return None, "damaged", (f"code {text} is stored as a number, so leading zeros may be lost;"
                                     f" it may be {' or '.join([text] + sug)}")
        sug = suggest_codes(scheme, text)
        return None, "damaged", (f"code {text} is a number: Excel dropped its leading zeros"
                                 + (f"; the code was probably {' or '.join(sug)}" if sug else ""))
    text = str(raw)
    code = text.strip()
    if code_level(scheme, code) is None:
        sug = suggest_codes(scheme, code)
        if sug and re.fullmatch(r"[0-9.]+", code):
            return None, "damaged", (f"code {code!r} is not {FORMAT_HELP[scheme]}; it looks damaged by"
                                     f" Excel (leading or trailing zeros lost): probably {' or '.join(sug)}")
        return None, "format", f"code {code!r} is not {FORMAT_HELP[scheme]}"
    return code, None, ""
