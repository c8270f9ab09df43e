"""`crosswalk apply`: move data between classifications through a crosswalk.

Employment by OKPDTR profession into ISCO-08 groups, output by OKVED2 activity into
ISIC Rev.4, an occupation × industry matrix into the international layout in one pass.

* :func:`load_weights` — where the links come from (a crosswalk CSV, or the confirmed links
  of a review store, composed through pivot schemes along a route) and how a source code is
  split among its targets: the links' own weights, an equal split (only when asked for),
  user weights, or weights estimated from a double-coded sample. A source whose split is
  unknown is refused, naming the codes. Every source's weights are in [0, 1] and sum to 1
  (1e-9).
* :func:`read_data` — CSV (any delimiter, UTF-8 or cp1251), xlsx/xls, parquet; every cell
  read as text first, value columns turned into float64 with a problem for each cell that
  is not a number (such cells count as missing; nothing is dropped silently).
* :func:`apply` / :func:`convert_frame` — each row's value times the weight of every
  (source → target) pair of each code column, summed by target code(s); rows whose code has
  no crosswalk entry go to ``unmatched``. Codes damaged by Excel (``110`` for ``0110``,
  ``1.1`` for ``01.10``) are repaired only when exactly one crosswalk source code fits.
  **Conservation** is checked for every value column: in = out + unmatched to 1e-9
  relative, or :class:`ConservationError`.
* :func:`round_trip` — A→B→A: what comes back to each code and what is lost.
* :func:`write_result` — CSV, xlsx or parquet by suffix; atomic; codes stay text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from .codes import FORMATS, _number_text, suggest_codes
from .errors import ERROR, INFO, WARNING, CrosswalkError, Problem, Report
from .errors import listing as _listing
from .io.frames import codes_as_text, read_data, to_float, write_frame
from .model import Classification, Link, get_scheme

TOLERANCE = 1e-9          # a source's weights sum to 1, and in = out + unmatched, to this (relative)
ROUNDING_TOLERANCE = 1e-6  # weights written with 6 decimals: sums this close to 1 (or n targets ×
                           # half a unit of the 6th decimal) are rescaled to 1, others refused
METHODS = ("confirmed", "equal", "user", "estimated")
SPLITS = ("refuse", "equal")


class WeightsError(CrosswalkError):
    """The split weights cannot be used: unknown for a 1:n source, or not summing to 1.
    ``codes`` are the source codes concerned."""

    def __init__(self, message: str, codes: Sequence[str] = ()):
        super().__init__(message)
        self.codes = list(codes)


class ConservationError(CrosswalkError):
    """Total in != total out + unmatched (beyond 1e-9 relative) for some value column;
    ``result`` holds what was computed."""

    def __init__(self, message: str, result: "ApplyResult"):
        super().__init__(message)
        self.result = result


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
    to 1e-9 when built). ``table``: columns source (str), target (str), weight (float64);
    sorted by source then target; no duplicate pairs."""

    source_scheme: str
    target_scheme: str
    table: pd.DataFrame
    method: str                      # "confirmed" | "equal" | "user" | "estimated"
    problems: tuple = ()             # what loading the weights found (rescaled sums, …)

    def __post_init__(self):
        if self.method not in METHODS:
            raise CrosswalkError(f"weights method must be one of {METHODS}, not {self.method!r}")
        t = self.table
        missing = [c for c in ("source", "target", "weight") if c not in t.columns]
        if missing:
            raise CrosswalkError(f"a weights table needs the columns source, target, weight; missing {missing}")
        t = pd.DataFrame({"source": t["source"].astype(str).to_numpy(dtype=object),
                          "target": t["target"].astype(str).to_numpy(dtype=object),
                          "weight": pd.to_numeric(t["weight"], errors="coerce").to_numpy(dtype=np.float64)})
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
    weight = (to_float(df[wcol], wcol, wrep, rows=df.index + 2) if wcol is not None
              else pd.Series(np.nan, index=df.index))
    bad = wrep.of_kind("value_not_numeric")
    if bad:
        raise WeightsError(f"{path}: {what} has {len(bad)} weight(s) that are not numbers, first: {bad[0]}")
    out = pd.DataFrame({"source": _strip_codes(df[src]), "target": _strip_codes(df[tgt]), "weight": weight})
    empty = out[(out["source"] == "") | (out["target"] == "")]
    if len(empty):
        raise CrosswalkError(f"{path}: {what} has {len(empty)} row(s) without a source or target code"
                             f" (rows {_listing([str(i + 2) for i in empty.index])})")
    return out.reset_index(drop=True), report


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


def _route(route, source_scheme: str, target_scheme: str) -> list[str]:
    if isinstance(route, str):
        route = [r.strip() for r in route.split(",") if r.strip()]
    route = list(route)
    if route and route[0] != source_scheme:
        route = [source_scheme] + route
    if route and route[-1] != target_scheme:
        route = route + [target_scheme]
    if len(route) < 2:
        raise CrosswalkError(f"a route needs at least two schemes, got {route}")
    for s in route:
        get_scheme(s)
    return route


def _store_pairs(store, a: str, b: str) -> pd.DataFrame:
    states = store.links(source_scheme=a, target_scheme=b, status="confirmed")
    return pd.DataFrame({"source": [st.key.source_code for st in states],
                         "target": [st.key.target_code for st in states],
                         "weight": [np.nan if st.weight is None else float(st.weight) for st in states]},
                        columns=["source", "target", "weight"])


def _suggest_route(store, a: str, b: str) -> Optional[list[str]]:
    import networkx as nx
    g = nx.DiGraph()
    for (s, t), counts in store.counts().items():
        if counts.get("confirmed"):
            g.add_edge(s, t)
    try:
        return nx.shortest_path(g, a, b)
    except (nx.NetworkXException, nx.NodeNotFound):
        return None


def _from_store(store, source_scheme: str, target_scheme: str, route, problems: list) -> pd.DataFrame:
    """Pairs (source, target, weight — NaN where unknown) of the store's confirmed links, composed
    along ``route`` with :class:`CrosswalkGraph` when one is given."""
    from .graph import CrosswalkGraph
    from .review import ReviewStore
    own = not hasattr(store, "links")
    if own:
        store = ReviewStore(store, create=False)
    try:
        if route is None:
            pairs = _store_pairs(store, source_scheme, target_scheme)
            if pairs.empty:
                hint = _suggest_route(store, source_scheme, target_scheme)
                raise CrosswalkError(
                    f"{store.path}: no confirmed {source_scheme}→{target_scheme} links"
                    + (f"; compose them through pivot schemes with route={','.join(hint)}"
                       f" (--route {','.join(hint)})" if hint and len(hint) > 2 else ""))
            where = f"{source_scheme}→{target_scheme}"
            return _check_given(_dedupe(pairs, where, problems), where, problems)
        path = _route(route, source_scheme, target_scheme)
        if len(path) == 2:
            return _from_store(store, source_scheme, target_scheme, None, problems)
        graph = CrosswalkGraph()
        provisional: list[set[str]] = []     # per hop: sources split equally only for composing
        hops = []
        for a, b in zip(path, path[1:]):
            where = f"{a}→{b}"
            pairs = _store_pairs(store, a, b)
            if pairs.empty:
                raise CrosswalkError(f"{store.path}: no confirmed {where} links for the route {'→'.join(path)}")
            pairs = _check_given(_dedupe(pairs, where, problems), where, problems)
            unknown = pairs["weight"].isna()
            n_t = pairs.groupby("source", sort=False)["target"].transform("size")
            provisional.append(set(pairs.loc[unknown & (n_t > 1), "source"]))
            pairs.loc[unknown, "weight"] = 1.0 / n_t[unknown]
            hops.append(pairs)
            graph.add_links([Link(a, s, b, t, "confirmed", 1.0, min(1.0, max(0.0, w)))
                             for s, t, w in zip(pairs["source"], pairs["target"], pairs["weight"])])
        links = graph.compose(path)
        dead = sorted({ln.source for ln in links if "dead_end" in ln.flags})
        if dead:
            problems.append(Problem("dead_end", WARNING,
                                    f"{'→'.join(path)}: part of {len(dead)} source code(s) reaches a pivot"
                                    f" with no onward confirmed link; the rest is rescaled to sum to 1:"
                                    f" {_listing(dead)}"))
        out = pd.DataFrame({"source": [ln.source for ln in links], "target": [ln.target for ln in links],
                            "weight": [ln.weight for ln in links]}, columns=["source", "target", "weight"])
        # sources whose flow passes a pivot split equally only provisionally: their split is unknown
        reach = hops[0][["source", "target"]].rename(columns={"target": "node"})
        unsure = set(reach.loc[reach["source"].isin(provisional[0]), "source"])
        for hop, prov in zip(hops[1:], provisional[1:]):
            unsure |= set(reach.loc[reach["node"].isin(prov), "source"])
            reach = reach.merge(hop[["source", "target"]].rename(columns={"source": "node"}), on="node")
            reach = reach[["source", "target"]].rename(columns={"target": "node"}).drop_duplicates()
        multi = out.groupby("source")["target"].transform("size") > 1
        out.loc[out["source"].isin(unsure) & multi, "weight"] = np.nan
        return out
    finally:
        if own:
            store.close()


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


def load_weights(*, source_scheme: str, target_scheme: str, crosswalk=None, store=None,
                 route: Union[str, Sequence[str], None] = None, split: str = "refuse",
                 user_weights=None, sample=None, sample_columns: Optional[Sequence[str]] = None) -> Weights:
    """The split weights from ``source_scheme`` to ``target_scheme``.

    Links: ``crosswalk`` — a CSV/xlsx/parquet file with ``source_code, target_code[, weight]``
    (an exported mapping, ``mappings/*.csv``, or a build's ``out/crosswalks/*.csv``; codes read
    as text); or ``store`` — a review store (path or :class:`ReviewStore`): its confirmed links
    of the pair, or composed along ``route`` (``"okpdtr,okz2014,isco08"``) through pivot schemes.

    Weights: those the links carry (a weight column, reviewer-set weights; sums within 1e-6 of 1
    are rescaled, others refused); then a ``sample`` (double-coded data: shares of each pair in
    its source's total, restricted to crosswalk pairs; ``sample_columns`` = (source, target
    [, count]) when the names are not ``source_code``/scheme id, ``target_code``/scheme id,
    ``count``) replaces them for the sources it covers; then ``user_weights`` (a file
    ``source_code,target_code,weight`` or a DataFrame) for the sources it names (their other
    crosswalk pairs get 0). A source left with several targets and no weights is refused with
    a :class:`WeightsError` naming the codes, unless ``split="equal"``.
    """
    if split not in SPLITS:
        raise CrosswalkError(f"split must be one of {SPLITS}, not {split!r}")
    get_scheme(source_scheme), get_scheme(target_scheme)
    if (crosswalk is None) == (store is None):
        raise CrosswalkError("give the links as exactly one of crosswalk=FILE or store=FILE")
    if route is not None and store is None:
        raise CrosswalkError("a route composes the confirmed links of a review store: give store=FILE")
    problems: list[Problem] = []
    where = f"{source_scheme}→{target_scheme}"
    if crosswalk is not None:
        pairs, report = _read_pairs(crosswalk, "a crosswalk file", source_scheme, target_scheme)
        problems.extend(p for p in report.problems if p.severity != INFO)
        if pairs.empty:
            raise CrosswalkError(f"{crosswalk}: the crosswalk holds no links")
        pairs = _check_given(_dedupe(pairs, where, problems), where, problems)
        method = "confirmed"
    else:
        pairs = _from_store(store, source_scheme, target_scheme, route, problems)
        method = "confirmed"
    if sample is not None:
        pairs, covered = _estimate(pairs, sample, source_scheme, target_scheme, sample_columns, problems)
        method = "estimated"
        multi = pairs.groupby("source")["target"].transform("size") > 1
        not_covered = sorted(set(pairs.loc[multi & ~pairs["source"].isin(covered), "source"]))
        if not_covered:
            # the links' own weights do not count here: the sample was asked for
            pairs.loc[pairs["source"].isin(not_covered), "weight"] = np.nan
            problems.append(Problem("sample_missing_source", WARNING if split == "equal" else ERROR,
                                    f"{where}: {len(not_covered)} source code(s) with several targets are not"
                                    f" in the sample: {_listing(not_covered)}"))
    if user_weights is not None:
        pairs, _ = _user(pairs, user_weights, source_scheme, target_scheme, problems)
        method = "user"
    pairs, equal = _fill_unknown(pairs, split, where, problems)
    if equal and method == "confirmed":
        method = "equal"
    return Weights(source_scheme, target_scheme, pairs, method, tuple(problems))


# -- conversion --------------------------------------------------------------------------
@dataclass
class ApplyResult:
    data: pd.DataFrame               # target code column(s) (input names) + value columns, summed, sorted
    unmatched: pd.DataFrame          # input code(s) without a crosswalk entry + value totals, sorted
    totals: dict[str, dict]          # value column -> {"in", "out", "unmatched", "rel_error"}
    repaired: list[dict] = field(default_factory=list)   # {"column", "code", "repaired_to", "rows"}
    problems: list = field(default_factory=list)         # crosswalk.errors.Problem
    engine: str = "pandas"
    weights: dict = field(default_factory=dict)          # code column -> Weights used
    scales: dict = field(default_factory=dict, repr=False)  # value column -> Σ|in| (relative error base)

    @property
    def max_rel_error(self) -> float:
        errs = [t["rel_error"] for t in self.totals.values() if t.get("rel_error") is not None]
        return max(errs) if errs else 0.0

    @property
    def conserved(self) -> bool:
        return all(t.get("rel_error") is not None and t["rel_error"] <= TOLERANCE for t in self.totals.values())

    def as_dict(self) -> dict:
        return {"engine": self.engine, "rows_out": len(self.data), "unmatched_codes": len(self.unmatched),
                "totals": self.totals, "max_rel_error": self.max_rel_error, "conserved": self.conserved,
                "repaired": self.repaired, "problems": [p.as_dict() for p in self.problems],
                "weights": {c: {"source_scheme": w.source_scheme, "target_scheme": w.target_scheme,
                                "method": w.method, "links": len(w)} for c, w in self.weights.items()}}


def _repairs(codes: Iterable[str], sources: set, scheme: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Damaged code -> the one crosswalk source it fits; and damaged codes fitting several."""
    repaired, ambiguous = {}, {}
    if scheme not in FORMATS:
        return repaired, ambiguous
    for code in codes:
        if not code or code in sources or not re.fullmatch(r"[0-9.]+", code):
            continue
        fits = [c for c in suggest_codes(scheme, code) if c in sources and c != code]
        if len(fits) == 1:
            repaired[code] = fits[0]
        elif len(fits) > 1:
            ambiguous[code] = fits
    return repaired, ambiguous


def _damaged_forms(sources: Iterable[str]) -> list[str]:
    """What Excel makes of codes that look like numbers: ``0110`` → ``110``, ``01.10`` → ``1.1``."""
    out = set()
    for s in sources:
        if re.fullmatch(r"[0-9]+", s):
            out.add(str(int(s)))
        elif re.fullmatch(r"[0-9]+\.[0-9]+", s):
            out.add(_number_text(float(s)))
    return sorted(out)


def _input_totals(frame: pd.DataFrame, value_columns: Sequence[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for v in value_columns:
        col = frame[v].to_numpy(dtype=np.float64)
        out[v] = (float(np.nansum(col)), float(np.nansum(np.abs(col))))
    return out


def _check_totals(totals_in: Mapping[str, tuple], data: pd.DataFrame, unmatched: pd.DataFrame,
                  value_columns: Sequence[str]) -> dict[str, dict]:
    """value column -> {"in", "out", "unmatched", "rel_error"}; the error is relative to the
    larger of |in|, Σ|in| (so values of both signs that cancel out do not inflate it) and
    |out| + |unmatched|."""
    out = {}
    for v in value_columns:
        total_in, scale = totals_in.get(v, (None, None))
        o = float(np.nansum(data[v].to_numpy(dtype=np.float64)))
        u = float(np.nansum(unmatched[v].to_numpy(dtype=np.float64)))
        if total_in is None:
            out[v] = {"in": None, "out": o, "unmatched": u, "rel_error": None}
            continue
        scale = max(abs(total_in), scale or 0.0, abs(o) + abs(u))
        err = abs(total_in - (o + u)) / scale if scale > 0 else 0.0
        out[v] = {"in": total_in, "out": o, "unmatched": u, "rel_error": err}
    return out


def _prepare(frame: pd.DataFrame, code_columns: Sequence[str], value_columns: Sequence[str],
             report: Report) -> pd.DataFrame:
    missing = [c for c in [*code_columns, *value_columns] if c not in frame.columns]
    if missing:
        raise CrosswalkError(f"the data has no column {', '.join(map(repr, missing))}; columns:"
                             f" {', '.join(map(str, frame.columns))}")
    out = {}
    for c in code_columns:
        out[c] = codes_as_text(frame[c])
    for v in value_columns:
        col = frame[v]
        out[v] = col if col.dtype == np.float64 else to_float(col, v, report)
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


def convert_frame(df, weights_by_column: Mapping[str, Weights], *, value_columns: Sequence[str],
                  engine: str = "pandas", repair_codes: bool = True,
                  progress: Optional[Callable[[str, float], None]] = None, **engine_options) -> ApplyResult:
    """Convert ``df`` (a DataFrame, or a file path the engine reads itself — DuckDB and Spark
    stream it) through the weights of each code column (``{column: Weights}``; two columns =
    a matrix converted in one pass). Checks conservation (:class:`ConservationError`)."""
    from .engines import get_engine
    if not weights_by_column:
        raise CrosswalkError("no code column given")
    value_columns = [value_columns] if isinstance(value_columns, str) else list(value_columns)
    if not value_columns:
        raise CrosswalkError("no value column given")
    code_columns = list(weights_by_column)
    overlap = sorted(set(code_columns) & set(value_columns))
    if overlap:
        raise CrosswalkError(f"column(s) {', '.join(overlap)} given both as code and as value columns")
    module = get_engine(engine)
    report = Report(file="<data>")
    problems: list[Problem] = []
    for w in weights_by_column.values():
        problems.extend(w.problems)
    streaming = not isinstance(df, pd.DataFrame)
    if streaming and engine == "pandas":
        df, rep = read_data(df, value_columns=value_columns)
        problems.extend(rep.problems)
        streaming = False
    tables, repaired = {}, []
    if not streaming:
        frame = _prepare(df, code_columns, value_columns, report)
        totals_in = _input_totals(frame, value_columns)
    else:
        frame = df
        totals_in = {}
        if hasattr(module, "totals"):
            t = module.totals(df, value_columns, **engine_options)
            totals_in = {v: (float(t[v]), None) for v in value_columns}
    for col, w in weights_by_column.items():
        table = w.table
        if repair_codes:
            sources = set(table["source"])
            codes = pd.unique(frame[col]) if not streaming else _damaged_forms(sources)
            fix, ambiguous = _repairs([c for c in codes if c not in sources], sources, w.source_scheme)
            if fix:
                alias = pd.DataFrame({"damaged": list(fix), "source": list(fix.values())})
                extra = alias.merge(table, on="source")[["damaged", "target", "weight"]].rename(
                    columns={"damaged": "source"})
                table = pd.concat([table, extra], ignore_index=True)
                if streaming:       # which of them occur is unknown without reading the file here
                    shown = [f"{d} → {s}" for d, s in sorted(fix.items())]
                    problems.append(Problem("repair_forms", INFO,
                                            f"codes of column {col!r} as Excel damages them are read as the one"
                                            f" crosswalk code they fit ({len(fix)}: {_listing(shown, 5)});"
                                            " row counts are not known when the engine streams the file",
                                            column=col))
                else:
                    counts = frame[col].value_counts()
                    for d, s in sorted(fix.items()):
                        repaired.append({"column": col, "code": d, "repaired_to": s, "rows": int(counts.get(d, 0))})
            if not streaming:
                counts = frame[col].value_counts() if ambiguous else None
                for d, fits in sorted(ambiguous.items()):
                    problems.append(Problem(
                        "ambiguous_code", WARNING,
                        f"code {d!r} looks damaged by Excel (lost zeros) but fits several crosswalk codes"
                        f" ({' or '.join(fits)}); left as it is (unmatched) in {int(counts[d])} row(s)",
                        column=col, value=d))
        tables[col] = table
    options = dict(engine_options)
    if progress is not None:
        import inspect
        if "progress" in inspect.signature(module.run).parameters:
            options["progress"] = progress
    data, unmatched = module.run(frame, tables, value_columns, code_columns, **options)
    data = _normalise(data, code_columns, value_columns)
    unmatched = _normalise(unmatched, code_columns, value_columns)
    if streaming and repair_codes:       # ambiguous damaged codes show up among the unmatched
        for col, w in weights_by_column.items():
            sources = set(w.table["source"])
            _, ambiguous = _repairs(pd.unique(unmatched[col]), sources, w.source_scheme)
            for d, fits in sorted(ambiguous.items()):
                problems.append(Problem("ambiguous_code", WARNING,
                                        f"code {d!r} looks damaged by Excel (lost zeros) but fits several"
                                        f" crosswalk codes ({' or '.join(fits)}); left as it is (unmatched)",
                                        column=col, value=d))
    problems = report.problems + problems
    if streaming and not totals_in:
        problems.append(Problem("conservation_unchecked", WARNING,
                                f"the {engine} engine streamed the file without reporting its input totals;"
                                " conservation could not be checked"))
    result = ApplyResult(data, unmatched, _check_totals(totals_in, data, unmatched, value_columns),
                         repaired, problems, engine, dict(weights_by_column), dict(totals_in))
    _assert_conserved(result)
    return result


def _assert_conserved(result: ApplyResult) -> None:
    bad = [f"{v}: in {t['in']!r}, out {t['out']!r} + unmatched {t['unmatched']!r} (relative error"
           f" {t['rel_error']:.3g})" for v, t in result.totals.items()
           if t["rel_error"] is not None and not t["rel_error"] <= TOLERANCE]
    if bad:
        raise ConservationError("conservation failed (in != out + unmatched beyond 1e-9 relative): "
                                + "; ".join(bad), result)


def _normalise(df: pd.DataFrame, code_columns: Sequence[str], value_columns: Sequence[str]) -> pd.DataFrame:
    df = df.reset_index() if not set(code_columns) <= set(df.columns) else df
    out = pd.DataFrame({c: df[c].astype(object).to_numpy() for c in code_columns})
    for v in value_columns:
        out[v] = df[v].to_numpy(dtype=np.float64)
    return sort_codes(out, code_columns)


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


def aggregate_to_level(data: pd.DataFrame, column: str, cls: Classification, level: Union[int, str],
                       value_columns: Sequence[str], problems: list) -> pd.DataFrame:
    """Target codes of ``column`` replaced by their ancestor at ``level`` and summed. Codes the
    classification lacks, or above the level, are kept as they are (and reported), so totals
    never change."""
    n = level_number(cls, level)
    name = cls.scheme.level_name(n)
    mapping, unknown, coarse = {}, [], []
    for code in pd.unique(data[column]):
        if code not in cls:
            unknown.append(code)
            mapping[code] = code
            continue
        item = cls.get(code)
        if item.level == n:
            mapping[code] = code
        elif item.level < n:
            coarse.append(code)
            mapping[code] = code
        else:
            up = [a for a in cls.ancestors(code) if a.level == n]
            if up:
                mapping[code] = up[0].code
            else:
                unknown.append(code)
                mapping[code] = code
    if unknown:
        problems.append(Problem("level_unknown_code", WARNING,
                                f"{len(unknown)} {cls.scheme.id} code(s) of column {column!r} are not in the"
                                f" classification (or have no {name} above them) and are kept as they are:"
                                f" {_listing(sorted(map(str, unknown)))}", column=column))
    if coarse:
        problems.append(Problem("level_above", WARNING,
                                f"{len(coarse)} code(s) of column {column!r} are above the {name} level and"
                                f" cannot be split down; kept as they are: {_listing(sorted(coarse))}",
                                column=column))
    out = data.copy()
    out[column] = out[column].map(mapping)
    keys = [c for c in out.columns if c not in value_columns]
    out = out.groupby(keys, sort=False, dropna=False)[list(value_columns)].sum().reset_index()
    return sort_codes(out, keys)


def _check_targets(w: Weights, cls: Classification, column: str, problems: list) -> None:
    if cls.scheme.id != w.target_scheme:
        raise CrosswalkError(f"the target classification is {cls.scheme.id}, the crosswalk goes to {w.target_scheme}")
    missing = sorted(set(w.table["target"]) - set(cls.codes))
    if missing:
        problems.append(Problem("target_code_unknown", WARNING,
                                f"{len(missing)} target code(s) of the crosswalk are not in {cls.scheme.id}"
                                f" {cls.edition}: {_listing(missing)}", column=column))


def apply(data, *, from_scheme: str, to_scheme: str, code_column: str,
          value_columns: Union[str, Sequence[str], None] = None, weights: Weights,
          second_code_column: Optional[str] = None, second_weights: Optional[Weights] = None,
          level: Union[int, str, None] = None, target: Optional[Classification] = None,
          second_level: Union[int, str, None] = None, second_target: Optional[Classification] = None,
          engine: str = "pandas", repair_codes: bool = True,
          progress: Optional[Callable[[str, float], None]] = None,
          sheet: Optional[str] = None, delimiter: Optional[str] = None) -> ApplyResult:
    """Convert ``data`` (a DataFrame or a CSV/xlsx/parquet path) from ``from_scheme`` to
    ``to_scheme`` through ``weights`` (see :func:`load_weights`); with ``second_code_column``
    and ``second_weights`` a matrix (e.g. occupation × industry) in one pass. ``value_columns``
    default to every other column. ``level`` aggregates the output to that level of ``target``
    (a :class:`Classification`, which also validates the crosswalk's target codes)."""
    if weights.source_scheme != from_scheme or weights.target_scheme != to_scheme:
        raise CrosswalkError(f"the weights go {weights.source_scheme}→{weights.target_scheme}, not"
                             f" {from_scheme}→{to_scheme}")
    by_column = {code_column: weights}
    if (second_code_column is None) != (second_weights is None):
        raise CrosswalkError("a second code column needs its own weights (second_weights) and vice versa")
    if second_code_column is not None:
        if second_code_column == code_column:
            raise CrosswalkError(f"the second code column is the first one ({code_column!r})")
        by_column[second_code_column] = second_weights
    if level is not None and target is None:
        raise CrosswalkError("aggregating to a level needs the target classification (target=…,"
                             " --target-classification FILE)")
    if second_level is not None and second_target is None:
        raise CrosswalkError("aggregating the second code column to a level needs second_target")
    problems: list[Problem] = []
    tick = progress or (lambda stage, fraction: None)
    streaming = not isinstance(data, pd.DataFrame) and engine != "pandas"
    if not isinstance(data, pd.DataFrame) and not streaming:
        tick("read", 0.0)
        data, rep = read_data(data, sheet=sheet, delimiter=delimiter,
                              value_columns=[] if value_columns is None else
                              ([value_columns] if isinstance(value_columns, str) else list(value_columns)))
        problems.extend(rep.problems)
        tick("read", 1.0)
    if value_columns is None:
        if streaming:
            raise CrosswalkError("name the value columns when an engine streams a file")
        value_columns = []
        for c in data.columns:
            if c in by_column:
                continue
            probe = Report()
            vals = to_float(data[c], c, probe)
            if vals.notna().any():
                value_columns.append(c)
                data = data.assign(**{c: vals})
                problems.extend(probe.problems)
            else:
                problems.append(Problem("not_a_value_column", WARNING, f"column {c!r} holds no numbers;"
                                        " left out (name value columns to choose them)", column=str(c)))
    value_columns = [value_columns] if isinstance(value_columns, str) else list(value_columns)
    for cls, w, col in ((target, weights, code_column), (second_target, second_weights, second_code_column)):
        if cls is not None and w is not None:
            _check_targets(w, cls, col, problems)
    result = convert_frame(data, by_column, value_columns=value_columns, engine=engine,
                           repair_codes=repair_codes, progress=progress)
    result.problems = problems + result.problems
    for lvl, cls, col in ((level, target, code_column), (second_level, second_target, second_code_column)):
        if lvl is not None:
            result.data = aggregate_to_level(result.data, col, cls, lvl, value_columns, result.problems)
    if level is not None or second_level is not None:
        result.totals = _check_totals(result.scales, result.data, result.unmatched, value_columns)
        _assert_conserved(result)
    return result


# -- round trip --------------------------------------------------------------------------
def round_trip(data, *, code_column: str, value_columns: Union[str, Sequence[str]], forward: Weights,
               backward: Weights, engine: str = "pandas", repair_codes: bool = True) -> dict:
    """A→B→A: convert ``data`` with ``forward`` (A→B), then back with ``backward`` (B→A).

    Per A code and value column: ``before`` (its total in the data), ``after`` (its total after
    the round trip, including what flows in from other codes), ``retained`` (the part of its own
    value that comes back to it: before × Σ_b f(a,b)·g(b,a)) and ``lost`` (before − retained:
    what comes back to other codes or drops out unmatched on the way). Totals per column with
    ``share_preserved`` = Σ retained / Σ before."""
    if forward.target_scheme != backward.source_scheme or forward.source_scheme != backward.target_scheme:
        raise CrosswalkError(f"a round trip needs A→B and B→A weights, got {forward.source_scheme}→"
                             f"{forward.target_scheme} and {backward.source_scheme}→{backward.target_scheme}")
    value_columns = [value_columns] if isinstance(value_columns, str) else list(value_columns)
    a, b = forward.source_scheme, forward.target_scheme
    there = apply(data, from_scheme=a, to_scheme=b, code_column=code_column, value_columns=value_columns,
                  weights=forward, engine=engine, repair_codes=repair_codes)
    back = apply(there.data, from_scheme=b, to_scheme=a, code_column=code_column, value_columns=value_columns,
                 weights=backward, engine=engine, repair_codes=False)
    # the input as the forward pass saw it: codes as text, repairs applied
    frame, _ = (read_data(data, value_columns=value_columns) if not isinstance(data, pd.DataFrame)
                else (data, None))
    frame = _prepare(frame, [code_column], value_columns, Report())
    fix = {r["code"]: r["repaired_to"] for r in there.repaired}
    if fix:
        frame[code_column] = frame[code_column].map(lambda c: fix.get(c, c))
    before = frame.groupby(code_column, sort=False)[value_columns].sum()
    loop = forward.table.merge(backward.table, left_on="target", right_on="source", suffixes=("", "_back"))
    diag = (loop[loop["source"] == loop["target_back"]].assign(w=lambda d: d["weight"] * d["weight_back"])
            .groupby("source")["w"].sum())
    after = back.data.set_index(code_column)[value_columns]
    codes = sort_codes(pd.DataFrame({"code": sorted(set(before.index) | set(after.index))}), ["code"])["code"]
    keep = diag.reindex(codes).fillna(0.0).to_numpy()
    rows, totals = [], {}
    for v in value_columns:
        bv = before[v].reindex(codes).fillna(0.0).to_numpy()
        av = after[v].reindex(codes).fillna(0.0).to_numpy()
        rv = bv * keep
        totals[v] = {"before": float(bv.sum()), "after": float(av.sum()), "retained": float(rv.sum()),
                     "lost": float(bv.sum() - rv.sum()),
                     "share_preserved": float(rv.sum() / bv.sum()) if bv.sum() else None,
                     "unmatched_forward": there.totals[v]["unmatched"],
                     "unmatched_backward": back.totals[v]["unmatched"]}
        for i, code in enumerate(codes):
            if v == value_columns[0]:
                rows.append({"code": code})
            rows[i][v] = {"before": float(bv[i]), "after": float(av[i]), "retained": float(rv[i]),
                          "lost": float(bv[i] - rv[i])}
    return {"schemes": [a, b, a], "value_columns": value_columns, "totals": totals, "codes": rows,
            "unmatched_forward": there.unmatched, "unmatched_backward": back.unmatched}


def write_result(result: ApplyResult, out_path, *, unmatched_path=None) -> list[Path]:
    """Write the converted data (and the unmatched codes with their totals) as CSV, xlsx or
    parquet by suffix: atomic, codes as text, spreadsheet-safe. Returns the paths written;
    cells that had to be changed (characters XML cannot hold) are added to ``result.problems``
    as warnings naming the cells."""
    codes = list(result.weights) or [c for c in result.data.columns if c not in result.totals]
    written = [write_frame(result.data, Path(out_path), codes, result.problems)]
    if unmatched_path is not None:
        written.append(write_frame(result.unmatched, Path(unmatched_path), codes, result.problems))
    return written


__all__ = ["ApplyResult", "ConservationError", "METHODS", "TOLERANCE", "Weights", "WeightsError",
           "aggregate_to_level", "apply", "codes_as_text", "convert_frame", "level_number", "load_weights",
           "read_data", "round_trip", "sort_codes", "write_result"]
