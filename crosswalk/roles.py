"""Which columns of the data `crosswalk apply` converts, keeps and sums.

* **code columns** — named; converted and renamed after the target scheme (``isco08``);
* **value columns** — named (``--value-column``), else every column whose cells are mostly
  numbers by :mod:`crosswalk.io.numbers` and whose name is no key's (``year``, ``region``,
  ``пол`` …: :data:`KEY_WORDS`) and which holds no code-like number with a leading zero
  (``01``);
* **key columns** — every other column (region, year, sex …): kept as they are, grouped by,
  never summed; naming value columns keeps the rest as keys. ``--key-column`` names them
  instead, and the remaining columns are left out (reported).

A column that only restates the source codes' titles (a title-like name, one value per code)
cannot be carried to the target codes: it is left out with a note (name it as a key to keep
it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from .errors import INFO, WARNING, CrosswalkError, Problem
from .errors import listing as _listing
from .io.numbers import MISSING, OK, STRIP, parse

KEY_WORDS = frozenset("""year years год года period период month месяц quarter квартал date дата week неделя
region регион regions регионы subject субъект okato окато oktmo октмо district округ район territory
территория municipality муниципалитет country страна city город sex gender пол age возраст id code код
group группа""".split())
TITLE_WORDS = frozenset("title name names наименование название description описание label".split())
_LEADING_ZERO = re.compile(r"0[0-9]+")


@dataclass
class Roles:
    codes: list[str]
    keys: list[str]
    values: list[str]
    left_out: dict = field(default_factory=dict)     # column -> why it is not in the output
    problems: list = field(default_factory=list)


def _words(name: str) -> set[str]:
    return set(re.findall(r"\w+", str(name).casefold()))


def _describes(frame: pd.DataFrame, column: str, codes: Sequence[str]) -> bool:
    """A title-like column holding one value per code of some code column."""
    if not (_words(column) & TITLE_WORDS):
        return False
    text = frame[column].astype(object).where(frame[column].notna(), "")
    if text.nunique() < 2:
        return False
    return any(int(pd.DataFrame({"c": frame[c].astype(object), "t": text}).groupby("c", dropna=False)["t"]
                   .nunique().max()) <= 1 for c in codes)


def _numeric(frame: pd.DataFrame, column: str, style: str) -> bool:
    """Mostly numbers (at least one, and at least half of the non-empty cells), no code-like
    number with a leading zero."""
    p = parse(frame[column], style)
    filled = int((p.state != MISSING).sum())
    ok = int((p.state == OK).sum())
    if not ok or 2 * ok < filled:
        return False
    if p.text is not None:
        texts = pd.Series(p.texts_at(np.arange(len(p))), dtype=object).dropna().astype(str).str.strip(STRIP)
        if texts.str.fullmatch(_LEADING_ZERO.pattern).any():
            return False
    return True


def assign(columns: Sequence[str], codes: Sequence[str], *, values: Optional[Sequence[str]] = None,
           keys: Optional[Sequence[str]] = None, frame: Optional[pd.DataFrame] = None,
           style: str = "comma") -> Roles:
    """The roles of ``columns`` (see the module docstring). Without ``frame`` (an engine
    streams the file) the value columns must be named."""
    columns = [str(c) for c in columns]
    codes = [str(c) for c in codes]
    named_values = None if values is None else [str(v) for v in values]
    named_keys = None if keys is None else [str(k) for k in keys]
    for what, given in (("code", codes), ("value", named_values or []), ("key", named_keys or [])):
        missing = [c for c in given if c not in columns]
        if missing:
            raise CrosswalkError(f"the data has no {what} column {', '.join(map(repr, missing))}; columns:"
                                 f" {', '.join(columns)}")
    both = sorted(set(codes) & set(named_values or []) | set(codes) & set(named_keys or [])
                  | set(named_values or []) & set(named_keys or []))
    if both:
        raise CrosswalkError(f"column(s) {', '.join(map(repr, both))} given in two roles (code, key, value)")
    others = [c for c in columns if c not in codes]
    roles = Roles(list(codes), [], [])
    for c in others:
        if named_values is not None and c in named_values:
            roles.values.append(c)
        elif named_keys is not None:
            if c in named_keys:
                roles.keys.append(c)
            elif named_values is None and frame is not None and _numeric(frame, c, style):
                roles.values.append(c)
            else:
                roles.left_out[c] = "not named as a key (--key-column)"
        elif frame is not None and _describes(frame, c, codes):
            roles.left_out[c] = "it restates the source codes' titles, which do not describe the target codes"
        elif named_values is not None:
            roles.keys.append(c)
        elif frame is None:
            continue
        elif _words(c) & KEY_WORDS:
            roles.keys.append(c)
        elif _numeric(frame, c, style):
            roles.values.append(c)
        else:
            roles.keys.append(c)
    if named_values is None and frame is None:
        raise CrosswalkError("name the value columns (--value-column) when an engine streams the file:"
                             " columns are not guessed from a sample")
    if not roles.values:
        raise CrosswalkError("no value column: none holds numbers" + (f" (columns: {', '.join(others)})" if others
                                                                      else "") + "; name them with --value-column")
    roles.problems.append(Problem("columns", INFO, f"codes: {', '.join(roles.codes)}; keys: "
                                  f"{', '.join(roles.keys) or '(none)'}; values: {', '.join(roles.values)}"))
    if roles.left_out:
        shown = [f"{c!r} ({why})" for c, why in roles.left_out.items()]
        roles.problems.append(Problem("column_left_out", WARNING, f"{len(shown)} column(s) not in the output: "
                                      f"{_listing(shown, 5)}; name them with --key-column to keep them"))
    if named_values is None and frame is not None:
        by_name = [c for c in roles.keys if _words(c) & KEY_WORDS and _numeric(frame, c, style)]
        if by_name:
            roles.problems.append(Problem("key_by_name", INFO, f"column(s) {', '.join(map(repr, by_name))} hold"
                                          " numbers but are kept as keys by their name; name the value columns"
                                          " (--value-column) to sum them"))
    return roles


__all__ = ["KEY_WORDS", "Roles", "TITLE_WORDS", "assign"]
