"""The one reader of numbers: how a value cell becomes an exact number, with the same rules
in every engine. This module is the rules and their pandas implementation; the DuckDB and
Spark engines render the same patterns (:data:`NUMBER`, :data:`STRIP`, :data:`GROUP`) as SQL,
and tests check that all three read every cell alike.

A cell is text first; a typed number is written as the shortest decimal that reads back as
it (what Python, Excel and DuckDB print: the double 0.1 is 0.1). Then:

* blanks around it are stripped (space, tab, NBSP, figure and narrow NBSP, zero-width
  space, BOM: :data:`STRIP`); an empty cell is **missing** (reported; it adds nothing);
* it must be a plain decimal number, ``[+-]digits[.digits][e±NNN]``. The decimal mark and
  thousand separators depend on the file (:func:`style_for`): in a comma-delimited file
  (style ``point``) ``,`` separates thousands (``12,500`` is 12500) and ``.`` is the
  decimal mark; elsewhere (``;`` or tab files, workbooks, parquet, data frames: style
  ``comma``) a decimal comma or point is read (``12,5`` = ``12.5``) and thousands are
  separated by spaces (``1 234,5``);
* anything else is **refused**, reported with its reason (:func:`why_not_number`) and
  counted as missing: ``NaN``, ``inf``, ``0x10``, ``1_000``, ``(5)``, ``12%``, a decimal
  comma in a comma-delimited file, both marks in one number, more than 20 integer digits;
* values are exact decimals with :data:`SCALE` (18) decimal places — DECIMAL(38, 18) in
  SQL: a cell written with a non-zero digit beyond the 18th decimal is **rounded** half
  away from zero (reported). Sums are exact; nothing goes through binary floating point
  until the result is written.

In Python an exact value is an integer of units of 1e-18 (``unscaled``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Optional

import numpy as np
import pandas as pd

SCALE = 18                      # decimal places kept: DECIMAL(38, 18)
INT_DIGITS = 20                 # integer digits that fit beside them
UNIT = 10 ** SCALE              # one in units of 1e-18
LIMIT = 10 ** (SCALE + INT_DIGITS)   # |unscaled| must stay below this (cells and sums)
STYLES = ("comma", "point")

# blanks stripped around codes, keys and values (every engine strips exactly these)
STRIP = " \t\n\r\x0b\x0c\u00a0\u2007\u202f\u200b\ufeff"
# thousand separators besides the comma of style "point"
GROUP = " \u00a0\u2007\u202f"
_G = f"[{GROUP}]"
_EXP = "([eE][+-]?[0-9]{1,3})?"
# the same text in Python (fullmatch), DuckDB (RE2, regexp_full_match) and Spark (Java, rlike)
NUMBER = {
    "comma": f"^[+-]?(([0-9]+|[0-9]{{1,3}}({_G}[0-9]{{3}})+)([.,][0-9]*)?|[.,][0-9]+){_EXP}$",
    "point": f"^[+-]?(([0-9]+|[0-9]{{1,3}}(,[0-9]{{3}})+|[0-9]{{1,3}}({_G}[0-9]{{3}})+)([.][0-9]*)?|[.][0-9]+){_EXP}$",
}
# a canonical number (separators gone, decimal point) written with a non-zero digit beyond the
# 18th decimal and no exponent; with an exponent :func:`rounds` decides
BEYOND_SCALE = f"[.][0-9]{{{SCALE}}}[0-9]*[1-9]"
_NUMBER_RX = {k: re.compile(v) for k, v in NUMBER.items()}
_FAST_RX = f"[+-]?[0-9]{{1,{SCALE}}}([.][0-9]{{0,{SCALE}}})?"     # exact in int64 components
# the plain form most cells have: valid, canonical, never rounded or too large (a fast path in SQL too)
PLAIN = f"^{_FAST_RX}$"

# cell states
OK, MISSING, REFUSED, TOO_LARGE = 0, 1, 2, 3


def style_for(delimiter: Optional[str]) -> str:
    """``point`` for a comma-delimited file (``,`` separates thousands), else ``comma``."""
    return "point" if delimiter == "," else "comma"


def rounds(canon: str) -> bool:
    """Whether a canonical number has a non-zero digit beyond the 18th decimal place."""
    m = re.fullmatch(r"[+-]?([0-9]*)(?:[.]([0-9]*))?(?:[eE]([+-]?[0-9]+))?", canon)
    digits, frac, exp = (m.group(1) or "") + (m.group(2) or ""), m.group(2) or "", int(m.group(3) or 0)
    kept = digits.rstrip("0")
    return kept != "" and len(frac) - exp - (len(digits) - len(kept)) > SCALE


def unscaled(canon: str) -> Optional[int]:
    """The value of a canonical number in units of 1e-18, rounded half away from zero; None
    when it reaches 10^20 (more than 20 integer digits)."""
    exact = Decimal(canon)
    if exact.is_zero():
        return 0
    if exact.adjusted() >= INT_DIGITS:
        return None
    with localcontext(Context(prec=SCALE + INT_DIGITS + 2)):
        n = int(exact.quantize(Decimal(1).scaleb(-SCALE), rounding=ROUND_HALF_UP).scaleb(SCALE))
    return n if abs(n) < LIMIT else None


def why_not_number(text, style: str) -> str:
    """Why a refused cell is not read as a number, when there is more to say than that it is
    not one (for the report); '' otherwise."""
    t = str(text).strip(STRIP)
    low = t.casefold()
    if low.lstrip("+-") in ("nan", "inf", "infinity", "-nan"):
        return "NaN and infinity are not numbers"
    if re.fullmatch(r"[+-]?0[xXbBoO][0-9a-fA-F_]+", t):
        return "hexadecimal, binary and octal numbers are not read"
    if "_" in t and re.fullmatch(r"[+-]?[0-9_.,]+", t):
        return "'_' is not a thousand separator"
    if re.fullmatch(r"\(\s*[0-9 .,]+\s*\)", t):
        return "a negative number in parentheses is not read: write -5"
    if t.endswith("%"):
        return "a percent sign is not read"
    if _NUMBER_RX[style].fullmatch(t):
        return f"more than {INT_DIGITS} integer digits: exact sums hold {INT_DIGITS}"
    if style == "point" and "," in t and _NUMBER_RX["comma"].fullmatch(t):
        return ("a decimal comma in a comma-delimited file is ambiguous (12,5 is neither 12.5 nor 125):"
                " write 12.5, or save the file with ';' as the delimiter")
    if style == "comma" and "," in t and "." in t and re.fullmatch(r"[+-]?[0-9.,]+", t):
        return ("both ',' and '.' in one number: separate thousands with spaces, or save the file"
                " comma-delimited with a decimal point")
    return ""


def not_a_number(text, style: str) -> str:
    """"not a number", with the reason when there is one."""
    why = why_not_number(text, style)
    return "not a number" + (f" ({why})" if why else "")


# -- typed cells as text -----------------------------------------------------------------
def float_text(values) -> np.ndarray:
    """Doubles as the shortest decimal text that reads back as each (``0.1``, ``1e+20``; a
    float32 as the shortest that reads back as that float32); NaN as ``NaN`` and infinities as
    ``inf``/``-inf`` (refused later); an object array."""
    import pyarrow as pa
    x = np.asarray(values)
    if x.dtype != np.float32:
        x = x.astype(np.float64)
    out = np.empty(len(x), dtype=object)
    finite = np.isfinite(x)
    out[np.isnan(x)] = "NaN"
    out[np.isposinf(x)] = "inf"
    out[np.isneginf(x)] = "-inf"
    if finite.any():
        out[finite] = np.asarray(pa.array(x[finite]).cast(pa.string()).to_pylist(), dtype=object)
    return out


def _float_arrow_text(x: np.ndarray):
    """Finite doubles (or float32s) as Arrow strings of their shortest decimal."""
    import pyarrow as pa
    return pa.array(x).cast(pa.string())


def _float_decimals(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For finite doubles: (N, k) with N/10^k the shortest decimal that reads back as |x|,
    found without text where it is certainly that decimal (k ≤ 17, N < 2^53, the double's
    spacing at most 10^-k/8 so that only one k-decimal number can read back as it and
    rounding x·10^k finds it); k = -1 where it is not found this way."""
    ax = np.abs(x)
    n = np.zeros(len(x), dtype=np.int64)
    k_of = np.full(len(x), -1, dtype=np.int64)
    todo = np.flatnonzero(np.isfinite(ax))
    if len(todo) > 4096:           # full-precision doubles: the text path is faster than 18 tries
        probe = _float_decimals(x[todo[:1024]])[1]
        if (probe >= 0).mean() < 0.5:
            return n, k_of
    with np.errstate(over="ignore", invalid="ignore"):
        spacing = np.spacing(ax)
    for k in range(SCALE):
        if not len(todo):
            break
        p = 10.0 ** k
        a = ax[todo]
        fine = spacing[todo] * 8 * p <= 1.0
        cand = np.rint(a * p)
        ok = fine & (cand < 2.0 ** 53) & (cand / p == a)
        hit = todo[ok]
        n[hit] = cand[ok].astype(np.int64)
        k_of[hit] = k
        todo = todo[~ok & fine]            # where the spacing is too coarse, larger k fails too
    return n, k_of


# -- parsing -----------------------------------------------------------------------------
@dataclass
class Parsed:
    """A value column read by the rules. Per cell: ``state`` (OK, MISSING, REFUSED,
    TOO_LARGE), ``rounded`` and ``reformatted`` (separators or a decimal comma dropped);
    the value of an OK cell is ``sign·(a + f1·1e-9 + f2·1e-18)`` from three int64
    components (``a`` the integer part), plus ``extra`` — position -> unscaled value for
    cells whose value does not fit the components (then a, f1, f2 are 0 there)."""

    state: np.ndarray
    rounded: np.ndarray
    reformatted: np.ndarray
    a: np.ndarray
    f1: np.ndarray
    f2: np.ndarray
    extra: dict = field(default_factory=dict)
    text: object = None      # the cells as text (an array, or an Arrow array), where they were text

    def texts_at(self, positions) -> list:
        """The text of the cells at ``positions`` (None where the cells were not text)."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.text is None:
            return [None] * len(positions)
        if isinstance(self.text, np.ndarray):
            return list(self.text[positions])
        import pyarrow as pa
        return self.text.take(pa.array(positions)).to_pylist()

    def __len__(self) -> int:
        return len(self.state)

    def count(self, state: int) -> int:
        return int((self.state == state).sum())

    def total(self) -> int:
        """The column's exact total in units of 1e-18 (independent of any grouping)."""
        return (int(self.a.sum(dtype=object)) * UNIT + int(self.f1.sum(dtype=object)) * 10 ** 9
                + int(self.f2.sum(dtype=object)) + sum(self.extra.values()))

    def unscaled_cells(self) -> np.ndarray:
        """Each cell's value in units of 1e-18 (Python ints; 0 where not OK)."""
        out = (self.a.astype(object) * UNIT + self.f1.astype(object) * 10 ** 9 + self.f2.astype(object))
        for i, v in self.extra.items():
            out[i] = v
        return out

    def floats(self) -> np.ndarray:
        """Each cell as the nearest double (NaN where not OK)."""
        out = np.array([u / UNIT for u in self.unscaled_cells()], dtype=np.float64) if len(self) else \
            np.zeros(0, dtype=np.float64)
        out[self.state != OK] = np.nan
        return out


def _components(sign: np.ndarray, a: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f1, f2 = f // 10 ** 9, f % 10 ** 9
    s = np.where(sign, -1, 1).astype(np.int64)
    return a * s, f1 * s, f2 * s


def _as_text(s: pd.Series) -> np.ndarray:
    """Cells of an object/str column as text (None where missing); other Python values by
    what a spreadsheet shows (numbers as their shortest decimal, dates ISO)."""
    from .frames import _cell_text
    arr = s.to_numpy(dtype=object, na_value=None) if hasattr(s, "to_numpy") else np.asarray(s, dtype=object)
    out = np.empty(len(arr), dtype=object)
    for i, v in enumerate(arr):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            out[i] = None
        elif isinstance(v, str):
            out[i] = v
        elif isinstance(v, (float, np.floating)):
            out[i] = float_text([float(v)])[0]
        elif isinstance(v, Decimal):
            out[i] = "NaN" if v.is_nan() else ("inf" if v.is_infinite() else str(v))
        else:
            out[i] = _cell_text(v)
    return out


def value_text(s: pd.Series) -> np.ndarray:
    """A value column as text cells (None where missing) for the text rules: what the DuckDB
    and Spark engines are given for a data frame. In a numpy float column NaN is missing (as
    pandas has it); in an Arrow-backed one a null is missing and NaN is refused."""
    dtype = s.dtype
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa
        arr = pa.chunked_array(s.array._pa_array) if hasattr(s.array, "_pa_array") else pa.array(s)
        t = arr.type
        if pa.types.is_floating(t):
            vals = arr.to_numpy(zero_copy_only=False)
            nulls = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            out = float_text(np.where(nulls, 0, vals).astype(np.float32 if pa.types.is_float32(t) else np.float64))
            out[nulls] = None
            return out
        if pa.types.is_integer(t) or pa.types.is_decimal(t):
            return np.asarray([None if v is None else str(v) for v in arr.to_pylist()], dtype=object)
        return _as_text(pd.Series(arr.to_pylist(), dtype=object))
    if pd.api.types.is_bool_dtype(dtype):
        return _as_text(s.astype(object))
    if pd.api.types.is_float_dtype(dtype):
        x = s.to_numpy(dtype=np.float32 if dtype == np.float32 else np.float64, na_value=np.nan)
        out = float_text(x)
        out[np.isnan(x)] = None
        return out
    if pd.api.types.is_integer_dtype(dtype):
        mask = s.isna().to_numpy()
        out = np.asarray([str(int(v)) for v in s.fillna(0).to_numpy()], dtype=object) if len(s) else \
            np.zeros(0, dtype=object)
        out[mask] = None
        return out
    return _as_text(s)


def parse(s: pd.Series, style: str = "comma") -> Parsed:
    """A value column (text, or numbers of any dtype) read by the rules, vectorised."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, not {style!r}")
    dtype = s.dtype
    if not isinstance(dtype, pd.ArrowDtype) and not pd.api.types.is_bool_dtype(dtype):
        if pd.api.types.is_float_dtype(dtype) and dtype != np.float32:
            return _parse_floats(s.to_numpy(dtype=np.float64, na_value=np.nan), style)
        if pd.api.types.is_integer_dtype(dtype) and not s.isna().any():
            x = s.to_numpy()
            if x.dtype.kind == "i" or (x.dtype.kind == "u" and (len(x) == 0 or x.max() < 2 ** 63)):
                n = len(x)
                a = x.astype(np.int64)
                return Parsed(np.zeros(n, np.int8), np.zeros(n, bool), np.zeros(n, bool), a,
                              np.zeros(n, np.int64), np.zeros(n, np.int64))
    arrow = _arrow_strings(s)
    return parse_text(arrow if arrow is not None else value_text(s), style)


def _arrow_strings(s: pd.Series):
    """The Arrow array under a pandas string column (no copy to Python objects), else None."""
    import pyarrow as pa
    arr = getattr(s, "array", None)
    data = getattr(arr, "_pa_array", None)
    if isinstance(data, pa.ChunkedArray) and (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return data
    return None


def _parse_floats(x: np.ndarray, style: str) -> Parsed:
    """numpy doubles (NaN missing, inf refused): exact components where :func:`_float_decimals`
    finds the shortest decimal, the text rules on the shortest text elsewhere."""
    n_cells = len(x)
    n, k = _float_decimals(x)
    found = k >= 0
    p = np.power(10, np.where(found, k, 0).astype(np.int64))
    a = np.where(found, n // p, 0)
    f = np.where(found, (n % p) * np.power(10, (SCALE - np.where(found, k, 0))).astype(np.int64), 0)
    a, f1, f2 = _components(found & (x < 0), a, f)
    state = np.zeros(n_cells, np.int8)
    state[np.isnan(x)] = MISSING
    parsed = Parsed(state, np.zeros(n_cells, bool), np.zeros(n_cells, bool), a, f1, f2)
    rest = np.flatnonzero(~found & ~np.isnan(x))
    if len(rest):
        finite = np.isfinite(x[rest])
        sub = parse_text(_float_arrow_text(x[rest][finite]), style)
        _put(parsed, rest[finite], sub)
        parsed.state[rest[~finite]] = REFUSED          # infinities (NaN is missing in a numpy column)
    return parsed


def _put(parsed: Parsed, where: np.ndarray, sub: Parsed) -> None:
    for name in ("state", "rounded", "reformatted", "a", "f1", "f2"):
        getattr(parsed, name)[where] = getattr(sub, name)
    for i, v in sub.extra.items():
        parsed.extra[int(where[i])] = v


def _arrow_text(text):
    """Cells (None for missing) as an Arrow string array."""
    import pyarrow as pa
    if isinstance(text, (pa.Array, pa.ChunkedArray)):
        return text
    arr = np.asarray(text, dtype=object)
    return pa.array(arr, type=pa.large_string(), from_pandas=True)


def _split_fast(canon, idx: np.ndarray, parsed: Parsed) -> None:
    """Write the components of canonical numbers of the form ``[+-]d{1,18}[.d{0,18}]`` (an
    Arrow array) at positions ``idx``: vectorised, no Python per cell. With at most 15
    digits the number's digits M are rint(x·10^d) of its double x (the error of x·10^d is
    below 1/4 there); longer ones are cut at the point as text."""
    import pyarrow as pa
    import pyarrow.compute as pc
    n = len(canon)
    if not n:
        return
    length = np.asarray(pc.utf8_length(canon).to_numpy(zero_copy_only=False), dtype=np.int64)
    point = np.asarray(pc.find_substring(canon, ".").to_numpy(zero_copy_only=False), dtype=np.int64)
    signed = np.asarray(pc.match_substring_regex(canon, "^[+-]").to_numpy(zero_copy_only=False), dtype=bool)
    decimals = np.where(point >= 0, length - point - 1, 0)
    digits = length - signed - (point >= 0)
    short = digits <= 15
    if short.any():
        x = pc.cast(canon, pa.float64()).to_numpy(zero_copy_only=False)
        d = decimals[short]
        m = np.rint(np.abs(x[short]) * np.power(10.0, d)).astype(np.int64)
        p = np.power(10, d).astype(np.int64)
        neg = np.signbit(x[short])
        a, f1, f2 = _components(neg, m // p, (m % p) * np.power(10, SCALE - d).astype(np.int64))
        where = idx[short]
        parsed.a[where], parsed.f1[where], parsed.f2[where] = a, f1, f2
    if short.all():
        return
    long_ = pc.filter(canon, pa.array(~short))
    neg = np.asarray(pc.starts_with(long_, "-").to_numpy(zero_copy_only=False), dtype=bool)
    body = pc.utf8_ltrim(long_, "+-")
    dot = pa.scalar(".", type=body.type)
    body = pc.if_else(pc.match_substring(body, "."), body,
                      pc.binary_join_element_wise(body, dot, pa.scalar("", type=body.type)))
    parts = pc.split_pattern(body, ".", max_splits=1)
    whole = pc.list_element(parts, 0)
    whole = pc.if_else(pc.equal(whole, ""), pa.scalar("0", type=whole.type), whole)
    frac = pc.utf8_rpad(pc.list_element(parts, 1), SCALE, "0")
    ints = pc.cast(whole, pa.int64()).to_numpy(zero_copy_only=False)
    fracs = pc.cast(frac, pa.int64()).to_numpy(zero_copy_only=False)
    a, f1, f2 = _components(neg, ints, fracs)
    where = idx[~short]
    parsed.a[where], parsed.f1[where], parsed.f2[where] = a, f1, f2


def parse_text(text, style: str = "comma") -> Parsed:
    """Text cells (None for missing) read by the rules, vectorised with Arrow compute; the
    common plain form (``-123.45``) takes one regular expression and two casts, cells beyond
    int64 components (exponents, 19+ digits, 19+ decimals) go through Decimal."""
    import pyarrow as pa
    import pyarrow.compute as pc
    raw = np.asarray(text, dtype=object) if not isinstance(text, (pa.Array, pa.ChunkedArray)) else None
    arr = _arrow_text(text if raw is None else raw)
    n_cells = len(arr)
    parsed = Parsed(np.zeros(n_cells, np.int8), np.zeros(n_cells, bool), np.zeros(n_cells, bool),
                    np.zeros(n_cells, np.int64), np.zeros(n_cells, np.int64), np.zeros(n_cells, np.int64), {},
                    raw if raw is not None else arr)
    if not n_cells:
        return parsed
    state = parsed.state
    stripped = pc.fill_null(pc.utf8_trim(arr, STRIP), "")
    empty = np.asarray(pc.equal(stripped, "").to_numpy(zero_copy_only=False), dtype=bool)
    state[empty] = MISSING
    plain = np.asarray(pc.match_substring_regex(stripped, f"^{_FAST_RX}$").to_numpy(zero_copy_only=False), dtype=bool)
    idx = np.flatnonzero(plain)
    if len(idx):
        _split_fast(pc.take(stripped, pa.array(idx)), idx, parsed)
    rest = np.flatnonzero(~plain & ~empty)
    if not len(rest):
        return parsed
    body = pc.take(stripped, pa.array(rest))
    valid = np.asarray(pc.match_substring_regex(body, NUMBER[style]).to_numpy(zero_copy_only=False), dtype=bool)
    state[rest[~valid]] = REFUSED
    rest, body = rest[valid], pc.filter(body, pa.array(valid))
    if not len(rest):
        return parsed
    canon = pc.replace_substring_regex(body, _G, "")
    canon = pc.replace_substring(canon, ",", "" if style == "point" else ".")
    parsed.reformatted[rest] = np.asarray(pc.not_equal(canon, body).to_numpy(zero_copy_only=False), dtype=bool)
    fast = np.asarray(pc.match_substring_regex(canon, f"^{_FAST_RX}$").to_numpy(zero_copy_only=False), dtype=bool)
    if fast.any():
        _split_fast(pc.filter(canon, pa.array(fast)), rest[fast], parsed)
    for pos, c in zip(rest[~fast], pc.filter(canon, pa.array(~fast)).to_pylist()):
        u = unscaled(c)
        if u is None:
            state[pos] = TOO_LARGE
            continue
        parsed.rounded[pos] = rounds(c)
        if u:
            parsed.extra[int(pos)] = u
    return parsed


__all__ = ["BEYOND_SCALE", "GROUP", "INT_DIGITS", "LIMIT", "MISSING", "NUMBER", "OK", "Parsed", "REFUSED",
           "PLAIN", "SCALE", "STRIP", "STYLES", "TOO_LARGE", "UNIT", "float_text", "parse", "parse_text",
           "not_a_number", "rounds", "style_for", "unscaled", "value_text", "why_not_number"]
