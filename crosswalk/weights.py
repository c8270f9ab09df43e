"""Split-weights tables: a crosswalk's links as ``source → target`` pairs with the share of the
source that goes to each target (:class:`Weights`), and how they are read and checked — a
links file (a build's crosswalk, an export, a mapping: with the status of each link), the
weights the links carry, an equal split (only when asked for), user weights and weights
estimated from a double-coded sample. :func:`crosswalk.apply.load_weights` puts them together.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from .errors import INFO, WARNING, CrosswalkError, Problem, Report
from .errors import listing as _listing
from .io.frames import read_data, to_float

TOLERANCE = 1e-9          # a source's weights sum to 1, and in = out + unmatched, to this (relative)
ROUNDING_TOLERANCE = 1e-6  # weights written with 6 decimals: sums this close to 1 (or n targets ×
                           # half a unit of the 6th decimal) are rescaled to 1, others refused
METHODS = ("links", "equal", "user", "estimated")
# a link's status as apply counts it: confirmed (a reviewer), official (a published table),
# accepted (taken by a build without review), proposed (to review), unknown (the file says nothing)
STATUSES = ("confirmed", "official", "accepted", "proposed", "unknown")
CONFIRMED_STATUSES = ("confirmed", "official")          # what --confirmed-only lets through


class WeightsError(CrosswalkError):
    """The split weights cannot be used: unknown for a 1:n source, or not summing to 1.
    ``codes`` are the source codes concerned."""

    def __init__(self, message: str, codes: Sequence[str] = ()):
        super().__init__(message)
        self.codes = list(codes)


# -- code order --------------------------------------------------------------------------
def _sort_key_series(s: pd.Series) -> pd.Series:
    """Vectorised :func:`crosswalk.model.code_sort_key`: letters (sections) first, then text order."""
    s = s.astype(str)
    return pd.Series(np.where(s.str.match(r"[^\W\d_]"), "0", "1"), index=s.index) + s


def sort_codes(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``df`` sorted by code columns the way codes are ordered everywhere in crosswalk,
    with a fresh index."""
    if df.empty:
        return df.reset_index(drop=True)
    return df.sort_values(list(columns), key=_sort_key_series, kind="mergesort").reset_index(drop=True)


# -- weights -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Weights:
    """source code -> [(target code, weight)], each source's weights summing to 1 (checked
    to 1e-9 when built). ``table``: columns source (str), target (str), weight (float64),
    status (one of :data:`STATUSES`; "unknown" when the table has none); sorted by source
    then target; no duplicate pairs. ``method``: where the weights come from — the links
    themselves ("links"), an equal split, user weights or a double-coded sample.
    ``dead_ends``: source codes whose links (along a route) stop at a pivot; ``no_match``: source
    codes reviewers decided have no correspondence."""

    source_scheme: str
    target_scheme: str
    table: pd.DataFrame
    method: str                      # "links" | "equal" | "user" | "estimated"
    problems: tuple = ()             # what loading the weights found (rescaled sums, …)
    dead_ends: frozenset = frozenset()
    no_match: frozenset = frozenset()

    def __post_init__(self):
        if self.method not in METHODS:
            raise CrosswalkError(f"weights method must be one of {METHODS}, not {self.method!r}")
        t = self.table
        missing = [c for c in ("source", "target", "weight") if c not in t.columns]
        if missing:
            raise CrosswalkError(f"a weights table needs the columns source, target, weight; missing {missing}")
        status = (t["status"].astype(str).to_numpy(dtype=object) if "status" in t.columns
                  else np.full(len(t), "unknown", dtype=object))
        unknown_status = sorted(set(status) - set(STATUSES))
        if unknown_status:
            raise CrosswalkError(f"link statuses must be one of {STATUSES}, not {', '.join(unknown_status)}")
        t = pd.DataFrame({"source": t["source"].astype(str).to_numpy(dtype=object),
                          "target": t["target"].astype(str).to_numpy(dtype=object),
                          "weight": pd.to_numeric(t["weight"], errors="coerce").to_numpy(dtype=np.float64),
                          "status": status})
        where = f"{self.source_scheme}→{self.target_scheme}"
        dup = t[t.duplicated(["source", "target"], keep=False)]
        if len(dup):
            pairs = sorted({f"{s}→{g}" for s, g in zip(dup["source"], dup["target"])})
            raise WeightsError(f"{where}: the same pair twice in the weights: {_listing(pairs)}",
                               sorted(set(dup["source"])))
        bad = t[~np.isfinite(t["weight"]) | (t["weight"] < 0) | (t["weight"] > 1 + TOLERANCE)]
        if len(bad):
            shown = [f"{s}→{g}={w!r}" for s, g, w in zip(bad["source"], bad["target"], bad["weight"])]
            raise WeightsError(f"{where}: weights must be numbers in [0, 1]: {_listing(shown)}",
                               sorted(set(bad["source"])))
        sums = t.groupby("source", sort=False)["weight"].sum()
        off = sums[(sums - 1.0).abs() > TOLERANCE]
        if len(off):
            shown = [f"{s} (sum {v:.12g})" for s, v in sorted(off.items())]
            raise WeightsError(f"{where}: the weights of {len(off)} source code(s) do not sum to 1:"
                               f" {_listing(shown)}", sorted(off.index))
        object.__setattr__(self, "table", sort_codes(t, ["source", "target"]))
        object.__setattr__(self, "problems", tuple(self.problems))
        object.__setattr__(self, "dead_ends", frozenset(self.dead_ends))
        object.__setattr__(self, "no_match", frozenset(self.no_match))

    @property
    def statuses(self) -> dict[str, int]:
        """Links by status."""
        return dict(sorted(self.table["status"].value_counts().items()))

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(self.table["source"]))

    def targets_of(self, source: str) -> list[tuple[str, float]]:
        rows = self.table[self.table["source"] == source]
        return list(zip(rows["target"], rows["weight"]))

    def __len__(self) -> int:
        return len(self.table)


def _find_column(df: pd.DataFrame, names: Sequence[str]) -> Optional[str]:
    """The first column of ``df`` named like one of ``names`` (in that order of preference),
    ignoring case, spaces and underscores."""
    def norm(x) -> str:
        return str(x).casefold().replace(" ", "").replace("_", "")
    by_name = {}
    for c in df.columns:
        by_name.setdefault(norm(c), c)
    for n in names:
        if n and norm(n) in by_name:
            return by_name[norm(n)]
    return None


def _strip_codes(s: pd.Series) -> pd.Series:
    return s.fillna("").astype(str).str.strip()


def _read_pairs(path, what: str, source_scheme: str, target_scheme: str, *,
                weight_required: bool = False) -> tuple[pd.DataFrame, Report]:
    """(source, target, weight-or-NaN) rows of a links file: columns source_code, target_code
    and optionally weight (source_scheme/target_scheme columns, when present, must match)."""
    df, report = read_data(path)
    src, tgt = _find_column(df, ["source_code"]), _find_column(df, ["target_code"])
    wcol = _find_column(df, ["weight"])
    if src is None or tgt is None or (weight_required and wcol is None):
        need = "source_code, target_code" + (", weight" if weight_required else "")
        raise CrosswalkError(f"{path}: {what} needs the columns {need}; it has {', '.join(map(str, df.columns))}")
    for col, scheme in (("source_scheme", source_scheme), ("target_scheme", target_scheme)):
        c = _find_column(df, [col])
        if c is not None:
            found = sorted(set(_strip_codes(df[c])) - {""})
            if found and found != [scheme]:
                raise CrosswalkError(f"{path}: {what} holds {col} {', '.join(found)}, not {scheme}")
    wrep = Report(file=str(path))        # an empty weight means "not set": no warning for it
    rows = df.attrs.get("rows", df.index + 2)
    weight = (to_float(df[wcol], wcol, wrep, rows=rows, style=df.attrs.get("number_style"))
              if wcol is not None else pd.Series(np.nan, index=df.index))
    bad = wrep.of_kind("value_not_numeric")
    if bad:
        raise WeightsError(f"{path}: {what} has {len(bad)} weight(s) that are not numbers, first: {bad[0]}")
    out = pd.DataFrame({"source": _strip_codes(df[src]), "target": _strip_codes(df[tgt]), "weight": weight,
                        "status": _link_status(df)})
    empty = out[(out["source"] == "") | (out["target"] == "")]
    if len(empty):
        raise CrosswalkError(f"{path}: {what} has {len(empty)} row(s) without a source or target code"
                             f" (rows {_listing([str(i + 2) for i in empty.index])})")
    rejected = out["status"] == "rejected"
    if rejected.any():
        shown = [f"{a}→{b}" for a, b in zip(out.loc[rejected, "source"], out.loc[rejected, "target"])]
        report.warning("rejected_link", f"{int(rejected.sum())} link(s) with status rejected left out:"
                       f" {_listing(shown)}")
        out = out[~rejected]
    return out.reset_index(drop=True), report


def _link_status(df: pd.DataFrame) -> pd.Series:
    """Each link's status from what a links file says: a ``status`` column (a build's crosswalk,
    an export of all links: pending counts as proposed; confirmed links of origin official
    count as official); else a ``reviewed_by`` column (an export of confirmed
    links); else ``origin`` and ``flags`` (a build's crosswalk: flagged ``review`` is proposed,
    official is official, confirmed is confirmed, the rest was accepted by the build
    unreviewed); else unknown."""
    def col(name):
        c = _find_column(df, [name])
        return None if c is None else _strip_codes(df[c]).str.casefold()
    status, reviewed, origin, flags = col("status"), col("reviewed_by"), col("origin"), col("flags")
    n = len(df)
    if status is not None:
        mapped = status.map({"confirmed": "confirmed", "official": "official", "accepted": "accepted",
                             "pending": "proposed", "proposed": "proposed", "rejected": "rejected"})
        odd = sorted(set(status[mapped.isna()]))
        if odd:
            raise CrosswalkError(f"unknown link status(es) {', '.join(map(repr, odd))}; known: confirmed, official,"
                                 " accepted, proposed, pending, rejected")
        if origin is not None:             # a published table's links, confirmed as such
            mapped = mapped.mask((mapped == "confirmed") & (origin == "official"), "official")
        return mapped.astype(object)
    if reviewed is not None:
        return pd.Series("confirmed", index=df.index, dtype=object)
    if origin is None and flags is None:
        return pd.Series("unknown", index=df.index, dtype=object)
    origin = origin if origin is not None else pd.Series("", index=df.index)
    review = (flags.str.split().map(lambda f: "review" in f) if flags is not None
              else pd.Series(False, index=df.index))
    out = np.where(review.to_numpy(dtype=bool), "proposed",
                   np.where(origin == "official", "official", np.where(origin == "confirmed", "confirmed",
                                                                        "accepted")))
    return pd.Series(out[:n], index=df.index, dtype=object)


def _dedupe(pairs: pd.DataFrame, where: str, problems: list) -> pd.DataFrame:
    dup = pairs.duplicated(["source", "target"], keep=False)
    if not dup.any():
        return pairs
    groups = pairs[dup].groupby(["source", "target"], sort=True)["weight"]
    differ = [f"{s}→{t}" for (s, t), w in groups if w.nunique(dropna=False) > 1]
    if differ:
        raise WeightsError(f"{where}: pairs listed twice with different weights: {_listing(differ)}",
                           sorted({d.split('→')[0] for d in differ}))
    n = int(pairs.duplicated(["source", "target"]).sum())
    problems.append(Problem("duplicate_link", INFO, f"{where}: {n} pair(s) listed twice with the same"
                            " weight; kept once"))
    return pairs.drop_duplicates(["source", "target"]).reset_index(drop=True)


def _check_given(pairs: pd.DataFrame, where: str, problems: list) -> pd.DataFrame:
    """Validate the weights the links carry: per source all set or none; set ones sum to 1
    (within 1e-6 they are rescaled — files hold 6 decimals — beyond that refused)."""
    g = pairs.groupby("source", sort=False)["weight"]
    n_set, n_all = g.count(), g.size()
    partial = sorted(n_set[(n_set > 0) & (n_set < n_all)].index)
    if partial:
        raise WeightsError(f"{where}: {len(partial)} source code(s) have weights for some of their"
                           f" targets only (set all or none): {_listing(partial)}", partial)
    sums = g.sum(min_count=1)
    full = sums[n_set == n_all]
    # 6 decimals leave up to half a unit of the last one per target
    tol = np.maximum(ROUNDING_TOLERANCE, 5e-7 * n_all[n_set == n_all]) + 1e-12
    off = full[(full - 1.0).abs() > tol]
    if len(off):
        shown = [f"{s} (sum {v:.6g})" for s, v in sorted(off.items())]
        raise WeightsError(f"{where}: the weights of {len(off)} source code(s) do not sum to 1: "
                           f"{_listing(shown)}", sorted(off.index))
    rescale = full[((full - 1.0).abs() > 0) & ((full - 1.0).abs() <= tol)]
    if len(rescale):
        pairs = pairs.copy()
        factor = pairs["source"].map(rescale)
        hit = factor.notna()
        pairs.loc[hit, "weight"] = pairs.loc[hit, "weight"] / factor[hit]
        problems.append(Problem("weights_rescaled", INFO,
                                f"{where}: the weights of {len(rescale)} source code(s) sum to 1 only"
                                " within the rounding of 6 decimals; rescaled to sum to 1"))
    return pairs


def _fill_unknown(pairs: pd.DataFrame, split: str, where: str, problems: list) -> tuple[pd.DataFrame, bool]:
    """Sources without weights: one target → 1; several → an equal split if ``split="equal"``,
    else a :class:`WeightsError` naming them. Returns the table and whether anything was
    split equally."""
    unknown = pairs["weight"].isna()
    if not unknown.any():
        return pairs, False
    n_targets = pairs.groupby("source", sort=False)["target"].transform("size")
    pairs = pairs.copy()
    pairs.loc[unknown & (n_targets == 1), "weight"] = 1.0
    multi = unknown & (n_targets > 1)
    if not multi.any():
        return pairs, False
    counts = pairs[multi].groupby("source")["target"].size()
    codes = sorted(counts.index, key=lambda c: (0 if c[:1].isalpha() else 1, c))
    if split != "equal":
        shown = [f"{c} ({counts[c]} targets)" for c in codes]
        raise WeightsError(
            f"{where}: {len(codes)} source code(s) have several targets and no weights: {_listing(shown)}."
            " Give weights (a weight column, user weights --weights FILE, or a double-coded sample"
            " --sample FILE) or split them equally (--split-equally, split=\"equal\")", codes)
    pairs.loc[multi, "weight"] = 1.0 / n_targets[multi]
    problems.append(Problem("equal_split", INFO, f"{where}: {len(codes)} source code(s) split equally"
                            f" among their targets: {_listing(codes)}"))
    return pairs, True


def _estimate(pairs: pd.DataFrame, sample, source_scheme: str, target_scheme: str,
              sample_columns, problems: list) -> tuple[pd.DataFrame, set]:
    """Weights of the crosswalk pairs as shares of each source's total in a double-coded sample.
    Returns the pairs (weights set for the sources the sample covers) and those sources."""
    if isinstance(sample, pd.DataFrame):
        df, report = sample, Report(file="<sample>")
    else:
        df, report = read_data(sample)
    if sample_columns:
        cols = list(sample_columns)
        s_col, t_col = cols[0], cols[1]
        c_col = cols[2] if len(cols) > 2 else None
        for c in filter(None, cols):
            if c not in df.columns:
                raise CrosswalkError(f"the sample has no column {c!r}; it has {', '.join(map(str, df.columns))}")
    else:
        s_col = _find_column(df, ["source_code", source_scheme, "source"])
        t_col = _find_column(df, ["target_code", target_scheme, "target"])
        c_col = _find_column(df, ["count", "n", "weight", "value", "employment", "rows"])
        if s_col is None or t_col is None:
            raise CrosswalkError(f"the sample needs a source code column (source_code or {source_scheme}) and a"
                                 f" target code column (target_code or {target_scheme}); it has"
                                 f" {', '.join(map(str, df.columns))}")
    count = (to_float(df[c_col], c_col, report, rows=df.index + 2) if c_col is not None
             else pd.Series(1.0, index=df.index))
    problems.extend(report.problems)
    if (count < 0).any():
        raise CrosswalkError(f"the sample column {c_col!r} holds negative counts")
    s = pd.DataFrame({"source": _strip_codes(df[s_col]), "target": _strip_codes(df[t_col]),
                      "count": count.fillna(0.0)})
    s = s.groupby(["source", "target"], sort=False, as_index=False)["count"].sum()
    known = s.merge(pairs[["source", "target"]], on=["source", "target"], how="left", indicator=True)
    outside = known[known["_merge"] == "left_only"]
    if len(outside):
        shown = [f"{a}→{b} ({c:g})" for a, b, c in zip(outside["source"], outside["target"], outside["count"])]
        problems.append(Problem("sample_pair_not_in_crosswalk", WARNING,
                                f"{source_scheme}→{target_scheme}: {len(outside)} pair(s) of the sample are not"
                                f" in the crosswalk and are left out of the estimate"
                                f" ({outside['count'].sum():g} of {s['count'].sum():g}): {_listing(sorted(shown))}"))
    est = pairs.merge(s, on=["source", "target"], how="left")
    est["count"] = est["count"].fillna(0.0)
    total = est.groupby("source", sort=False)["count"].transform("sum")
    covered = total > 0
    out = pairs.copy()
    out.loc[covered.to_numpy(), "weight"] = (est["count"] / total)[covered].to_numpy()
    return out, set(out.loc[covered.to_numpy(), "source"])


def _user(pairs: pd.DataFrame, user_weights, source_scheme: str, target_scheme: str,
          problems: list) -> tuple[pd.DataFrame, set]:
    where = f"user weights {source_scheme}→{target_scheme}"
    if isinstance(user_weights, pd.DataFrame):
        u = user_weights.rename(columns={"source_code": "source", "target_code": "target"})
        u = pd.DataFrame({"source": _strip_codes(u["source"]), "target": _strip_codes(u["target"]),
                          "weight": pd.to_numeric(u["weight"], errors="coerce")})
    else:
        u, _ = _read_pairs(user_weights, "a user weights file", source_scheme, target_scheme,
                           weight_required=True)
    if u["weight"].isna().any():
        rows = u[u["weight"].isna()]
        raise WeightsError(f"{where}: weights missing for {_listing([f'{a}→{b}' for a, b in zip(rows['source'], rows['target'])])}",
                           sorted(set(rows["source"])))
    u = _check_given(_dedupe(u, where, problems), where, problems)
    merged = u.merge(pairs[["source", "target"]], on=["source", "target"], how="left", indicator=True)
    foreign = merged[merged["_merge"] == "left_only"]
    if len(foreign):
        raise WeightsError(f"{where}: {len(foreign)} pair(s) are not in the crosswalk:"
                           f" {_listing([f'{a}→{b}' for a, b in zip(foreign['source'], foreign['target'])])}",
                           sorted(set(foreign["source"])))
    sources = set(u["source"])
    out = pairs.copy()
    hit = out["source"].isin(sources)
    given = out[hit].merge(u, on=["source", "target"], how="left", suffixes=("_old", ""))
    zero = int(given["weight"].isna().sum())
    if zero:
        problems.append(Problem("user_weight_zero", INFO, f"{where}: {zero} crosswalk pair(s) of the sources"
                                " the file covers are not in it and get weight 0"))
    out.loc[hit.to_numpy(), "weight"] = given["weight"].fillna(0.0).to_numpy()
    return out, sources


__all__ = ["CONFIRMED_STATUSES", "METHODS", "ROUNDING_TOLERANCE", "STATUSES", "TOLERANCE", "Weights", "WeightsError",
           "sort_codes"]
