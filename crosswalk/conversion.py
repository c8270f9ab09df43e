"""The exact conversion of scanned data through crosswalk weights, shared by every engine.

An engine hands over the data summed exactly by code(s) and key(s) (:class:`Scan`); from there
on everything is Python integers and fractions, so the pandas, DuckDB and Spark engines give
the same output to the last digit:

* :func:`exact_weights` — each link's weight as the decimal it prints as (``0.6``), each
  source's weights scaled to sum to exactly 1 (thirds are thirds);
* :func:`convert` — each group's exact value times the product of its codes' weights
  (:mod:`crosswalk.resolve` tells which source each code stands for), summed by target
  code(s) and keys with a common denominator; written as the nearest double, or rounded
  half away from zero to ``decimals`` places. In = out + unmatched is checked exactly,
  overall and per key;
* what :func:`crosswalk.apply.apply` reports around it: output column names, the problems of
  the value cells (the same from every engine), links used by status, the target level map.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from .engines.scan import ROWS, Scan, group_ids, sum_by
from .errors import WARNING, CrosswalkError, Problem, Report
from .errors import listing as _listing
from .io.numbers import UNIT
from .model import Classification, get_scheme
from .resolve import REASONS, Resolved
from .weights import CONFIRMED_STATUSES, Weights

MAX_DENOMINATOR_BITS = 4096      # beyond this common denominator, fractions are added cell by cell


# -- exact weights ----------------------------------------------------------------------
def exact_weights(table: pd.DataFrame, target_of: Optional[Mapping[str, str]] = None) -> pd.DataFrame:
    """``source, target, num, den`` (Python ints): each weight read as the decimal it prints
    as, each source's weights divided by their sum so that they add up to exactly 1; with
    ``target_of`` the targets replaced (by their ancestor at a level) and merged."""
    src = table["source"].to_numpy(dtype=object)
    tgt = table["target"].to_numpy(dtype=object)
    if target_of is not None:
        tgt = np.array([target_of.get(t, t) for t in tgt], dtype=object)
    frac = [Fraction(repr(float(w))) for w in table["weight"]]
    sums: dict[str, Fraction] = {}
    merged: dict[tuple[str, str], Fraction] = {}
    for s, t, f in zip(src, tgt, frac):
        sums[s] = sums.get(s, Fraction(0)) + f
        merged[(s, t)] = merged.get((s, t), Fraction(0)) + f
    zero = sorted(s for s, total in sums.items() if total == 0)
    if zero:
        raise CrosswalkError(f"the weights of {len(zero)} source code(s) are all 0: {_listing(zero)}")
    rows = [(s, t, (f / sums[s]).numerator, (f / sums[s]).denominator) for (s, t), f in merged.items()]
    out = pd.DataFrame(rows, columns=["source", "target", "num", "den"])
    for c in ("num", "den"):
        out[c] = out[c].astype(object)
    return out


def to_floats(num: np.ndarray, den: int, decimals: Optional[int] = None) -> np.ndarray:
    """Exact fractions num/den as the nearest doubles, or rounded half away from zero to
    ``decimals`` places first."""
    if not len(num):
        return np.zeros(0, dtype=np.float64)
    num = num.astype(object)
    if decimals is None:
        return np.array([n / den for n in num], dtype=np.float64)
    scale = 10 ** decimals
    out = np.empty(len(num), dtype=np.float64)
    for i, n in enumerate(num):
        r = (2 * abs(n) * scale + den) // (2 * den)
        out[i] = (-r if n < 0 else r) / scale
    return out


def rounded_total(num: np.ndarray, den: int, decimals: int) -> Fraction:
    """The exact sum of the values as written when rounded to ``decimals`` places."""
    scale = 10 ** decimals
    total = 0
    for n in num.astype(object):
        r = (2 * abs(n) * scale + den) // (2 * den)
        total += -r if n < 0 else r
    return Fraction(total, scale)


# -- the conversion ---------------------------------------------------------------------
@dataclass
class Plan:
    """One code column to convert: its resolution, exact weights and output name."""

    column: str
    output: str
    resolved: Resolved
    weights: pd.DataFrame          # exact_weights(...)


@dataclass
class Converted:
    data: pd.DataFrame             # output columns: code columns renamed, keys, values (float64)
    unmatched: pd.DataFrame        # unmatched groups: input code columns, keys, column, reason, rows, values
    report: pd.DataFrame           # per (column, code, reason): rows and value totals
    totals: dict                   # value column -> {"in", "out", "unmatched", "rel_error"[, "written", ...]}
    by_key: Optional[pd.DataFrame]  # per key: in, out, unmatched of each value column (None without keys)
    used_sources: dict             # code column -> set of crosswalk sources the data used
    exact: dict                    # value column -> (in, out, unmatched) as Fractions


def convert(scan: Scan, plans: Sequence[Plan], *, decimals: Optional[int] = None) -> Converted:
    cols = scan.columns
    g = scan.groups
    values = list(cols.values)
    keys = list(cols.keys)
    n = len(g)
    matched = np.ones(n, dtype=bool)
    fail_col = np.full(n, None, dtype=object)
    fail_code = np.full(n, None, dtype=object)
    fail_reason = np.full(n, None, dtype=object)
    sources = {}
    for plan in plans:
        codes = g[plan.column].to_numpy(dtype=object)
        src = np.array([plan.resolved.source_of.get(c) for c in codes], dtype=object)
        ok = np.array([s is not None for s in src], dtype=bool)
        first = matched & ~ok
        fail_col[first] = plan.column
        fail_code[first] = codes[first]
        fail_reason[first] = [plan.resolved.reason_of.get(c, "no_link") for c in codes[first]]
        matched &= ok
        sources[plan.column] = src
    used = {p.column: set(sources[p.column][matched]) for p in plans}

    # matched groups × the links of each code column
    m = pd.DataFrame({p.column: sources[p.column][matched] for p in plans})
    for k in keys:
        m[k] = g[k].to_numpy(dtype=object)[matched]
    for v in values:
        m[v] = g[v].to_numpy(dtype=object)[matched]
    out_cols = []
    for i, p in enumerate(plans):
        w = p.weights.rename(columns={"source": p.column, "target": f"__t{i}", "num": f"__n{i}", "den": f"__d{i}"})
        m = m.merge(w, on=p.column, how="inner")
        out_cols.append(f"__t{i}")
    term_den = np.ones(len(m), dtype=object)
    term_num = np.ones(len(m), dtype=object)
    for i in range(len(plans)):
        term_den = term_den * m[f"__d{i}"].to_numpy(dtype=object)
        term_num = term_num * m[f"__n{i}"].to_numpy(dtype=object)
    dens = set(term_den.tolist())
    common = 1
    for d in dens:
        common = common * d // math.gcd(common, d)
    group_keys = out_cols + keys
    gid, out_keys = group_ids(m, group_keys)
    n_out = len(out_keys)
    nums: dict[str, np.ndarray] = {}
    if common.bit_length() <= MAX_DENOMINATOR_BITS:
        factor = np.array([common // d for d in term_den], dtype=object)
        for v in values:
            nums[v] = sum_by(gid, n_out, m[v].to_numpy(dtype=object) * term_num * factor)
    else:                          # many unrelated denominators: add fractions cell by cell
        acc = {}
        for v in values:
            acc[v] = [Fraction(0)] * n_out
            for i, t, d in zip(gid, m[v].to_numpy(dtype=object) * term_num, term_den):
                acc[v][i] += Fraction(t, d)
        common = 1
        for fs in acc.values():
            for f in fs:
                common = common * f.denominator // math.gcd(common, f.denominator)
        for v in values:
            nums[v] = np.array([f.numerator * (common // f.denominator) for f in acc[v]], dtype=object)
    den = common * UNIT

    data = pd.DataFrame({p.output: out_keys[f"__t{i}"].to_numpy(dtype=object) if n_out else np.zeros(0, object)
                         for i, p in enumerate(plans)})
    for k in keys:
        data[k] = out_keys[k].to_numpy(dtype=object) if n_out else np.zeros(0, object)
    for v in values:
        data[v] = to_floats(nums[v], den, decimals)

    # unmatched groups and the report by column, code and reason
    um = ~matched
    unmatched = pd.DataFrame({c: g[c].to_numpy(dtype=object)[um] for c in list(cols.codes) + keys})
    unmatched["column"] = fail_col[um]
    unmatched["reason"] = fail_reason[um]
    unmatched["rows"] = g[ROWS].to_numpy(dtype=np.int64)[um]
    for v in values:
        unmatched[v] = to_floats(g[v].to_numpy(dtype=object)[um], UNIT, decimals)
    rep_frame = pd.DataFrame({"column": fail_col[um], "code": fail_code[um], "reason": fail_reason[um]})
    rgid, report = group_ids(rep_frame, ["column", "code", "reason"])
    report = report.copy()
    report["rows"] = np.bincount(rgid, weights=g[ROWS].to_numpy()[um], minlength=len(report)).astype(np.int64) \
        if len(report) else np.zeros(0, np.int64)
    details = {(p.column, c): p.resolved.detail_of.get(c, "") for p in plans for c in p.resolved.detail_of}
    report["detail"] = [details.get((c, k), REASONS.get(r, "")) for c, k, r in
                        zip(report["column"], report["code"], report["reason"])]
    for v in values:
        report[v] = to_floats(sum_by(rgid, len(report), g[v].to_numpy(dtype=object)[um]), UNIT, decimals)

    # conservation, exact: in (counted apart from the grouping) = out + unmatched
    totals, exact = {}, {}
    for v in values:
        t_in = Fraction(scan.totals[v], UNIT)
        t_out = Fraction(int(sum(nums[v].tolist())), den)
        t_un = Fraction(int(sum(g[v].to_numpy(dtype=object)[um].tolist())), UNIT)
        scale = max(abs(t_in), abs(t_out) + abs(t_un))
        err = abs(t_in - t_out - t_un) / scale if scale else Fraction(0)
        exact[v] = (t_in, t_out, t_un)
        totals[v] = {"in": float(t_in), "out": float(t_out), "unmatched": float(t_un), "rel_error": float(err)}
        if decimals is not None:
            written = rounded_total(nums[v], den, decimals) + rounded_total(g[v].to_numpy(dtype=object)[um], UNIT,
                                                                            decimals)
            totals[v]["written"] = float(written)
            totals[v]["rounding"] = float(written - t_out - t_un)
    by_key = _by_key(g, keys, values, matched, gid, out_keys, nums, den) if keys else None
    return Converted(data, unmatched, report, totals, by_key, used, exact)


def _by_key(g, keys, values, matched, gid, out_keys, nums, den) -> pd.DataFrame:
    """Per key: in, out and unmatched of each value column, and whether in = out + unmatched
    exactly (``conserved``)."""
    kgid, kframe = group_ids(g, keys)
    n_k = len(kframe)
    index = {tuple(r): i for i, r in enumerate(kframe.itertuples(index=False, name=None))}
    okey = np.array([index[tuple(r)] for r in out_keys[keys].itertuples(index=False, name=None)], dtype=np.int64) \
        if len(out_keys) else np.zeros(0, np.int64)
    out = kframe.copy()
    conserved = np.ones(n_k, dtype=bool)
    for v in values:
        u = g[v].to_numpy(dtype=object)
        t_in = sum_by(kgid, n_k, u)
        t_un = sum_by(kgid[~matched], n_k, u[~matched])
        t_out = sum_by(okey, n_k, nums[v])
        conserved &= np.array([a * (den // UNIT) == b + c * (den // UNIT) for a, b, c in zip(t_in, t_out, t_un)],
                              dtype=bool)
        out[f"{v} in"] = to_floats(t_in, UNIT)
        out[f"{v} out"] = to_floats(t_out, den)
        out[f"{v} unmatched"] = to_floats(t_un, UNIT)
    out["conserved"] = conserved
    return out


# -- around the conversion: names, problems, links, levels -----------------------------------
def level_number(cls: Classification, level: Union[int, str]) -> int:
    """A level by number (1 = top) or name (``"minor"``, ``"division"``; case-insensitive)."""
    names = [n.casefold() for n in cls.scheme.levels]
    if isinstance(level, str) and not level.strip().isdigit():
        if level.strip().casefold() not in names:
            raise CrosswalkError(f"{cls.scheme.id} has no level {level!r}; levels: {', '.join(cls.scheme.levels)}")
        return names.index(level.strip().casefold()) + 1
    n = int(level)
    if not 1 <= n <= len(names):
        raise CrosswalkError(f"{cls.scheme.id} has levels 1 to {len(names)} ({', '.join(cls.scheme.levels)}), not {n}")
    return n


def target_level_map(codes: Iterable[str], cls: Classification, level: Union[int, str], column: str,
                     problems: list) -> dict[str, str]:
    """Target code -> its ancestor at ``level`` of ``cls``. Codes the classification lacks,
    or above the level, stay as they are (reported), so totals never change."""
    n = level_number(cls, level)
    name = cls.scheme.level_name(n)
    mapping, unknown, coarse = {}, [], []
    for code in sorted(set(codes)):
        if code not in cls:
            unknown.append(code)
            continue
        item = cls.get(code)
        if item.level < n:
            coarse.append(code)
        elif item.level > n:
            up = [a for a in cls.ancestors(code) if a.level == n]
            if up:
                mapping[code] = up[0].code
            else:
                unknown.append(code)
    if unknown:
        problems.append(Problem("level_unknown_code", WARNING,
                                f"{len(unknown)} {cls.scheme.id} code(s) of column {column!r} are not in the"
                                f" classification (or have no {name} above them) and are kept as they are:"
                                f" {_listing(unknown)}", column=column))
    if coarse:
        problems.append(Problem("level_above", WARNING,
                                f"{len(coarse)} code(s) of column {column!r} are above the {name} level and"
                                f" cannot be split down; kept as they are: {_listing(coarse)}", column=column))
    return mapping


def check_targets(w: Weights, cls: Classification, column: str, problems: list) -> None:
    if cls.scheme.id != w.target_scheme:
        raise CrosswalkError(f"the target classification is {cls.scheme.id}, the crosswalk goes to {w.target_scheme}")
    missing = sorted(set(w.table["target"]) - set(cls.codes))
    if missing:
        problems.append(Problem("target_code_unknown", WARNING,
                                f"{len(missing)} target code(s) of the crosswalk are not in {cls.scheme.id}"
                                f" {cls.edition}: {_listing(missing)}", column=column))


def output_names(weights_by_column: Mapping[str, Weights], others: Sequence[str]) -> dict[str, str]:
    """Each code column's output name: its target scheme (``isco08``), or ``column_scheme``
    where two would clash."""
    wanted = {c: w.target_scheme for c, w in weights_by_column.items()}
    taken = set(others)
    names = {}
    for c, name in wanted.items():
        if name in taken or list(wanted.values()).count(name) > 1:
            name = f"{c}_{name}"
        if name in taken:
            raise CrosswalkError(f"the output column {name!r} of code column {c!r} clashes with a column of the data")
        names[c] = name
        taken.add(name)
    return names


def value_problems(scan, report: Report) -> None:
    """The problems of the value cells, the same from every engine."""
    from .engines.scan import SHOWN
    from .io.numbers import SCALE, not_a_number
    where = "" if scan.row_numbers else " (this engine does not know row numbers)"
    for v, st in scan.values.items():
        if st.missing:
            report.warning("value_missing", f"{st.missing} empty cell(s): counted as missing (they add nothing)",
                           column=v)
        if st.reformatted:
            report.info("number_format", f"{st.reformatted} value(s) read with thousand separators or a decimal"
                        " comma", column=v)
        if st.rounded:
            report.warning("value_rounded", f"{st.rounded} value(s) have digits beyond the {SCALE}th decimal"
                           f" place: rounded to {SCALE} decimals", column=v)
        bad = st.refused + st.too_large
        for row, text in st.examples:
            report.error("value_not_numeric", not_a_number(text, scan.columns.style)
                         + f": counted as missing{where}", row=row, column=v, value=_shorten(text))
        if bad > SHOWN:
            report.error("value_not_numeric", f"{bad} cells in all are not numbers (the first {SHOWN}"
                         f" {'listed' if scan.row_numbers else 'distinct ones listed'}); counted as missing",
                         column=v)
    for c, n in scan.stripped.items():
        if n:
            report.info("blanks_stripped", f"{n} cell(s) had spaces, tabs or non-breaking spaces around them;"
                        " stripped", column=c)


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def link_counts(w: Weights, used: set) -> dict:
    status = w.table["status"]
    return {"all": dict(sorted(status.value_counts().items())),
            "used": dict(sorted(status[w.table["source"].isin(used)].value_counts().items()))}


def input_order(df, columns, module, options) -> list[str]:
    """The roles' columns in the order the data has them."""
    wanted = set(columns.all)
    names = (list(map(str, df.columns)) if isinstance(df, pd.DataFrame) else
             module.column_names(df, **{k: v for k, v in options.items() if k != "progress"}))
    order = [c for c in names if c in wanted]
    return order + [c for c in columns.all if c not in order]


def as_text_columns(df: pd.DataFrame, other: Sequence[str]) -> pd.DataFrame:
    """Every column but ``other`` as pandas' string dtype, whatever the engine built."""
    out = df.copy()
    for c in out.columns:
        if c not in other and c != "conserved":
            out[c] = out[c].astype(object).astype(str)
    return out


def scheme_level(scheme: str, level: Union[int, str]) -> int:
    sch = get_scheme(scheme)
    names = [n.casefold() for n in sch.levels]
    text = str(level).strip()
    if text.isdigit() and 1 <= int(text) <= len(names):
        return int(text)
    if text.casefold() in names:
        return names.index(text.casefold()) + 1
    raise CrosswalkError(f"{scheme} has no level {level!r}; levels: {', '.join(sch.levels)}")


def refuse_unconfirmed(weights_by_column: Mapping[str, Weights], used: Mapping[str, set]) -> None:
    bad = []
    for col, w in weights_by_column.items():
        t = w.table[w.table["source"].isin(used[col]) & ~w.table["status"].isin(CONFIRMED_STATUSES)]
        if len(t):
            counts = ", ".join(f"{s} {n}" for s, n in sorted(t["status"].value_counts().items()))
            shown = [f"{a}→{b} ({s})" for a, b, s in zip(t["source"], t["target"], t["status"])]
            bad.append(f"column {col!r} ({w.source_scheme}→{w.target_scheme}): {len(t)} link(s) the data uses are"
                       f" not confirmed ({counts}): {_listing(shown, 5)}")
    if bad:
        raise CrosswalkError("--confirmed-only: " + "; ".join(bad) + ". Review them first, or leave out"
                             " --confirmed-only to apply proposed links")


__all__ = ["Converted", "MAX_DENOMINATOR_BITS", "Plan", "as_text_columns", "check_targets", "convert",
           "exact_weights", "input_order", "level_number", "link_counts", "output_names", "refuse_unconfirmed",
           "scheme_level", "target_level_map", "to_floats", "value_problems"]
