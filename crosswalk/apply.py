"""`crosswalk apply`: move data between classifications through a crosswalk.

Employment by OKPDTR profession into ISCO-08 groups, output by OKVED2 activity into
ISIC Rev.4, an occupation × industry × region table into the international layout in one pass.

* :func:`load_weights` — where the links come from (a crosswalk CSV, or the confirmed links
  of a review store, composed through pivot schemes along a route), each link's status
  (confirmed, official, accepted, proposed, unknown) and how a source code is split among its
  targets: the links' own weights, an equal split (only when asked for), user weights, or
  weights estimated from a double-coded sample (:mod:`crosswalk.weights`). A source whose
  split is unknown is refused, naming the codes.
* :func:`apply` / :func:`convert_frame` — which columns are codes, keys and values
  (:mod:`crosswalk.roles`); an engine reads the values by the one reader of numbers
  (:mod:`crosswalk.io.numbers`) and sums them exactly by code(s) and keys
  (:mod:`crosswalk.engines`); each code is read at the level of its column
  (:mod:`crosswalk.resolve`) and converted exactly (:mod:`crosswalk.conversion`). Output
  code columns are named by the target scheme; unmatched codes are reported with their
  column, rows, totals and reason. **Conservation**: in = out + unmatched exactly, overall
  and per key, or :class:`ConservationError`.
* :func:`round_trip` — A→B→A: what comes back to each code and what is lost.
* :func:`write_result` — CSV, xlsx or parquet by suffix; atomic; codes and keys stay text.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from .errors import ERROR, INFO, WARNING, CrosswalkError, Problem, Report
from .errors import listing as _listing
from .io.frames import codes_as_text, read_data, write_frame
from .model import Classification, get_scheme
from .conversion import (as_text_columns, check_targets, input_order, level_number, link_counts, output_names,
                         refuse_unconfirmed, scheme_level, target_level_map, value_problems)
from .weights import (CONFIRMED_STATUSES, METHODS, STATUSES, TOLERANCE, Weights, WeightsError, _check_given,
                      _dedupe, _estimate, _fill_unknown, _read_pairs, _user, sort_codes)

SPLITS = ("refuse", "equal")


class ConservationError(CrosswalkError):
    """Total in != total out + unmatched (beyond 1e-9 relative) for some value column;
    ``result`` holds what was computed."""

    def __init__(self, message: str, result: "ApplyResult"):
        super().__init__(message)
        self.result = result


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


def _suggest_route(store, a: str, b: str) -> Optional[list[str]]:
    import networkx as nx
    g = nx.DiGraph()
    for (s, t), counts in store.counts().items():
        if counts.get("confirmed") or counts.get("pending"):
            g.add_edge(s, t)
    try:
        return nx.shortest_path(g, a, b)
    except (nx.NetworkXException, nx.NodeNotFound):
        return None


# a link's status as apply counts it: a published table's (official); confirmed by a person or
# by the same-code rule, or composed of such steps (confirmed); some step still the matcher's
# proposal (proposed)
_STEP_STATUS = {"official": "official", "structure": "confirmed", "confirmed": "confirmed", "proposed": "proposed"}


def _from_store(store, source_scheme: str, target_scheme: str, route, problems: list) -> pd.DataFrame:
    """Pairs (source, target, weight — NaN where unknown, status) of the store's links that carry
    weight — each item's confirmed links, else its proposal (:mod:`crosswalk.review.routes`) —
    composed along ``route`` through pivot schemes when one is given. An item decided as having
    no correspondence has no pair; a source split equally only because no weight was set (on the
    way, where it reaches several targets) gets NaN weights, so ``split`` decides."""
    from .review import ReviewStore
    from .review.routes import compose_route
    own = not hasattr(store, "links")
    if own:
        store = ReviewStore(store, create=False)
    try:
        path = _route(route, source_scheme, target_scheme) if route is not None else [source_scheme, target_scheme]
        if len(path) == 2 and not store.links(source_scheme=path[0], target_scheme=path[1]):
            hint = _suggest_route(store, source_scheme, target_scheme)
            raise CrosswalkError(
                f"{store.path}: no {source_scheme}→{target_scheme} links"
                + (f"; compose them through pivot schemes with route={','.join(hint)}"
                   f" (--route {','.join(hint)})" if hint and len(hint) > 2 else ""))
        composed = compose_route(store, path)
        links = [rl.link for rl in composed.links]
        status = ["proposed" if ln.status != "confirmed" else
                  (_STEP_STATUS[rl.steps[0].origin] if len(rl.steps) == 1 and rl.steps[0].origin in _STEP_STATUS
                   and rl.steps[0].status == "confirmed" else "confirmed")
                  for ln, rl in zip(links, composed.links)]
        out = pd.DataFrame({"source": [ln.source for ln in links], "target": [ln.target for ln in links],
                            "weight": [ln.weight for ln in links], "status": status},
                           columns=["source", "target", "weight", "status"])
        dead = sorted({ln.source for ln in links if "dead_end" in ln.flags})
        if dead:
            problems.append(Problem("dead_end", WARNING,
                                    f"{'→'.join(path)}: part of {len(dead)} source code(s) reaches a pivot"
                                    f" with no onward link; the rest is rescaled to sum to 1: {_listing(dead)}"))
        if composed.no_match:
            problems.append(Problem("no_correspondence", INFO,
                                    f"{path[0]}→{path[1]}: {len(composed.no_match)} item(s) decided as having no"
                                    f" correspondence: {_listing(composed.no_match)}"))
        # sources whose flow passes an equal split nobody set: their split is unknown
        reach = {s: {s} for s in composed.step_targets[0]}
        unsure = set()
        for targets, equal in zip(composed.step_targets, composed.equal_split):
            unsure |= {s for s, nodes in reach.items() if nodes & equal}
            reach = {s: {t for n in nodes for t in targets.get(n, ())} for s, nodes in reach.items()}
        multi = out.groupby("source")["target"].transform("size") > 1
        out.loc[out["source"].isin(unsure) & multi, "weight"] = np.nan
        out.attrs["dead_ends"] = frozenset(set(composed.step_targets[0]) - set(out["source"]))
        out.attrs["no_match"] = frozenset(composed.no_match)
        return out
    finally:
        if own:
            store.close()


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
    dead_ends = no_match = frozenset()
    if crosswalk is not None:
        pairs, report = _read_pairs(crosswalk, "a crosswalk file", source_scheme, target_scheme)
        problems.extend(p for p in report.problems if p.severity != INFO)
        if pairs.empty:
            raise CrosswalkError(f"{crosswalk}: the crosswalk holds no links")
        pairs = _check_given(_dedupe(pairs, where, problems), where, problems)
        method = "links"
    else:
        pairs = _from_store(store, source_scheme, target_scheme, route, problems)
        dead_ends = pairs.attrs.get("dead_ends", frozenset())    # every path stops at a pivot
        no_match = pairs.attrs.get("no_match", frozenset())      # reviewers: no correspondence
        method = "links"
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
    if equal and method == "links":
        method = "equal"
    return Weights(source_scheme, target_scheme, pairs, method, tuple(problems), dead_ends, no_match)


# -- conversion --------------------------------------------------------------------------
@dataclass
class ApplyResult:
    data: pd.DataFrame               # code columns named by their target scheme, keys, values; sorted
    unmatched: pd.DataFrame          # unmatched rows by input code(s) and keys: column, reason, rows, values
    totals: dict[str, dict]          # value column -> {"in", "out", "unmatched", "rel_error"[, "written", "rounding"]}
    repaired: list[dict] = field(default_factory=list)   # {"column", "code", "repaired_to", "rows"}
    problems: list = field(default_factory=list)         # crosswalk.errors.Problem
    engine: str = "pandas"
    weights: dict = field(default_factory=dict)          # code column -> Weights used
    report: Optional[pd.DataFrame] = None                # unmatched by column, code, reason: rows, totals
    by_key: Optional[pd.DataFrame] = None                # per key: in, out, unmatched; conserved
    columns: dict = field(default_factory=dict)          # codes (input -> output), keys, values, left_out
    links: dict = field(default_factory=dict)            # code column -> {"all": {status: n}, "used": {status: n}}
    rolled_up: list[dict] = field(default_factory=list)  # {"column", "code", "rolled_up_to", "rows"}
    rows: int = 0                                        # rows read

    @property
    def max_rel_error(self) -> float:
        errs = [t["rel_error"] for t in self.totals.values() if t.get("rel_error") is not None]
        return max(errs) if errs else 0.0

    @property
    def conserved(self) -> bool:
        keys_ok = self.by_key is None or bool(self.by_key["conserved"].all())
        return keys_ok and all(t.get("rel_error") == 0.0 for t in self.totals.values())

    def as_dict(self) -> dict:
        return {"engine": self.engine, "rows_read": self.rows, "rows_out": len(self.data),
                "columns": self.columns, "totals": self.totals, "max_rel_error": self.max_rel_error,
                "conserved": self.conserved,
                "keys": None if self.by_key is None else {"groups": len(self.by_key),
                                                          "conserved": int(self.by_key["conserved"].sum())},
                "unmatched": [] if self.report is None else
                _records(self.report),
                "repaired": self.repaired, "rolled_up": self.rolled_up,
                "problems": [p.as_dict() for p in self.problems],
                "weights": {c: {"source_scheme": w.source_scheme, "target_scheme": w.target_scheme,
                                "method": w.method, "links": len(w), **self.links.get(c, {})}
                            for c, w in self.weights.items()}}


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in df.to_dict("records")]


def convert_frame(df, weights_by_column: Mapping[str, Weights], *, value_columns: Sequence[str],
                  key_columns: Sequence[str] = (), engine: str = "pandas", repair_codes: bool = True,
                  progress: Optional[Callable[[str, float], None]] = None, decimals: Optional[int] = None,
                  code_levels: Optional[Mapping[str, Union[int, str]]] = None,
                  target_maps: Optional[Mapping[str, Mapping[str, str]]] = None, style: Optional[str] = None,
                  confirmed_only: bool = False, **engine_options) -> ApplyResult:
    """Convert ``df`` (a DataFrame, or a CSV/parquet path the DuckDB and Spark engines read
    themselves) through the weights of each code column (``{column: Weights}``; two columns =
    a matrix in one pass), grouped by ``key_columns``. The engine reads and sums the data
    exactly by code(s) and keys; the rest is :mod:`crosswalk.conversion`, the same for every
    engine. Raises :class:`ConservationError` unless in = out + unmatched exactly."""
    from .conversion import Plan, convert, exact_weights
    from .resolve import resolution_problems, resolve
    from .engines import get_engine
    from .engines.scan import ROWS, Columns
    from .io.numbers import style_for
    if not weights_by_column:
        raise CrosswalkError("no code column given")
    value_columns = [value_columns] if isinstance(value_columns, str) else list(value_columns)
    if not value_columns:
        raise CrosswalkError("no value column given")
    if decimals is not None and not 0 <= int(decimals) <= 18:
        raise CrosswalkError(f"round to 0 to 18 decimals, not {decimals}")
    module = get_engine(engine)
    report = Report(file="<data>" if isinstance(df, pd.DataFrame) else str(df))
    problems: list[Problem] = []
    for w in weights_by_column.values():
        problems.extend(w.problems)
    options = dict(engine_options)
    if not isinstance(df, pd.DataFrame) and engine == "pandas":
        df, rep = read_data(df, raw=True)
        problems.extend(rep.problems)
    if isinstance(df, pd.DataFrame):
        style = style or df.attrs.get("number_style", "comma")
    elif style is None:
        style = style_for(module.delimiter(df, **options)) if hasattr(module, "delimiter") else "comma"
    columns = Columns(tuple(weights_by_column), tuple(key_columns), tuple(value_columns), style)
    if progress is not None:
        import inspect
        if "progress" in inspect.signature(module.scan).parameters:
            options["progress"] = progress
    scan = module.scan(df, columns, **options)
    scan.check()
    scan = scan.strip_blanks()
    value_problems(scan, report)

    plans, repaired, rolled_up = [], [], []
    names = output_names(weights_by_column, [*key_columns, *value_columns])
    levels = dict(code_levels or {})
    for col, w in weights_by_column.items():
        rows_of = scan.groups.groupby(col, sort=False)[ROWS].sum().to_dict()
        level = levels.get(col)
        if level is not None and not isinstance(level, int):
            level = scheme_level(w.source_scheme, level)
        res = resolve(col, rows_of, w.source_scheme, set(w.table["source"]), level=level, dead_ends=w.dead_ends,
                      no_match=w.no_match,
                      repair=repair_codes)
        problems.extend(resolution_problems(res))
        repaired += res.repaired
        rolled_up += res.rolled_up
        plans.append(Plan(col, names[col], res, exact_weights(w.table, (target_maps or {}).get(col))))
    conv = convert(scan, plans, decimals=decimals)
    links = {c: link_counts(w, conv.used_sources[c]) for c, w in weights_by_column.items()}
    if confirmed_only:
        refuse_unconfirmed(weights_by_column, conv.used_sources)
    data, unmatched, report_frame, by_key = _sorted_tables(
        conv, input_order(df, scan.columns, module, options), names, list(weights_by_column), key_columns,
        value_columns)
    result = ApplyResult(data, unmatched, conv.totals, repaired, report.problems + problems, engine,
                         dict(weights_by_column), report=report_frame, by_key=by_key,
                         columns={"codes": names, "keys": list(key_columns), "values": value_columns},
                         links=links, rolled_up=rolled_up, rows=scan.rows)
    _assert_conserved(result, conv.exact)
    return result


def _sorted_tables(conv, file_order: list, names: Mapping[str, str], code_columns: list, key_columns: Sequence[str],
                   value_columns: Sequence[str]) -> tuple:
    """The output, the unmatched rows, the unmatched report and the totals per key: columns in
    the order of the data (code columns named by their target scheme), texts as strings,
    rows in code order — the same whatever the engine."""
    order = [names.get(c, c) for c in file_order]
    data = as_text_columns(conv.data[[c for c in order if c in conv.data.columns]], value_columns)
    data = sort_codes(data, [c for c in order if c in data.columns and c not in value_columns])
    un_order = [c for c in file_order if c not in value_columns]
    unmatched = as_text_columns(conv.unmatched[un_order + ["column", "reason", "rows", *value_columns]],
                                ["rows", *value_columns])
    unmatched = sort_codes(unmatched, un_order)
    rank = {c: f"{i:03d}" for i, c in enumerate(code_columns)}
    report = as_text_columns(conv.report, ["rows", *value_columns])
    report = sort_codes(report.assign(_rank=report["column"].map(rank)), ["_rank", "code", "reason"]).drop(
        columns="_rank")
    by_key = None
    if conv.by_key is not None:
        by_key = sort_codes(as_text_columns(conv.by_key, [c for c in conv.by_key.columns if c not in key_columns]),
                            list(key_columns))
    return data, unmatched, report, by_key


def _assert_conserved(result: ApplyResult, exact: Mapping[str, tuple]) -> None:
    bad = [f"{v}: in {float(i)!r}, out {float(o)!r} + unmatched {float(u)!r}"
           for v, (i, o, u) in exact.items() if i != o + u]
    if result.by_key is not None and not result.by_key["conserved"].all():
        n = int((~result.by_key["conserved"]).sum())
        bad.append(f"{n} key group(s) where in != out + unmatched")
    if bad:
        raise ConservationError("conservation failed (in != out + unmatched, exactly): " + "; ".join(bad), result)


def apply(data, *, from_scheme: str, to_scheme: str, code_column: str,
          value_columns: Union[str, Sequence[str], None] = None, weights: Weights,
          second_code_column: Optional[str] = None, second_weights: Optional[Weights] = None,
          level: Union[int, str, None] = None, target: Optional[Classification] = None,
          second_level: Union[int, str, None] = None, second_target: Optional[Classification] = None,
          engine: str = "pandas", repair_codes: bool = True,
          progress: Optional[Callable[[str, float], None]] = None,
          sheet: Optional[str] = None, delimiter: Optional[str] = None,
          key_columns: Optional[Sequence[str]] = None, decimals: Optional[int] = None,
          code_level: Union[int, str, None] = None, second_code_level: Union[int, str, None] = None,
          confirmed_only: bool = False, **engine_options) -> ApplyResult:
    """Convert ``data`` (a DataFrame or a CSV/xlsx/parquet path) from ``from_scheme`` to
    ``to_scheme`` through ``weights`` (see :func:`load_weights`); with ``second_code_column``
    and ``second_weights`` a matrix (e.g. occupation × industry) in one pass.

    Columns (:mod:`crosswalk.roles`): ``value_columns`` are summed (default: the columns that
    hold numbers); every other column is a key (region, year …), kept and grouped by, unless
    ``key_columns`` names the keys. Output code columns are named by the target scheme.
    ``code_level`` is the level the code column holds (default: the level most rows have).
    ``level`` aggregates the output to that level of ``target`` (a :class:`Classification`,
    which also validates the crosswalk's target codes). ``decimals`` rounds every output
    value (half away from zero). ``confirmed_only`` refuses links the data uses that are not
    confirmed or official."""
    from .roles import assign
    if weights.source_scheme != from_scheme or weights.target_scheme != to_scheme:
        raise CrosswalkError(f"the weights go {weights.source_scheme}→{weights.target_scheme}, not"
                             f" {from_scheme}→{to_scheme}")
    by_column = {str(code_column): weights}
    if (second_code_column is None) != (second_weights is None):
        raise CrosswalkError("a second code column needs its own weights (second_weights) and vice versa")
    if second_code_column is not None:
        if second_code_column == code_column:
            raise CrosswalkError(f"the second code column is the first one ({code_column!r})")
        by_column[str(second_code_column)] = second_weights
    if level is not None and target is None:
        raise CrosswalkError("aggregating to a level needs the target classification (target=…,"
                             " --target-classification FILE)")
    if second_level is not None and second_target is None:
        raise CrosswalkError("aggregating the second code column to a level needs second_target")
    problems: list[Problem] = []
    tick = progress or (lambda stage, fraction: None)
    named = None if value_columns is None else ([value_columns] if isinstance(value_columns, str)
                                                else list(value_columns))
    streaming = not isinstance(data, pd.DataFrame) and engine != "pandas" and _streamable(data)
    frame, names, style = None, None, None
    if isinstance(data, pd.DataFrame):
        frame = data
    elif not streaming:
        tick("read", 0.0)
        frame, rep = read_data(data, sheet=sheet, delimiter=delimiter, raw=True)
        problems.extend(rep.problems)
        tick("read", 1.0)
    else:
        from .engines import get_engine
        module = get_engine(engine)
        if delimiter is not None:
            engine_options["delimiter"] = delimiter
        names = module.column_names(data, **engine_options)
    roles = assign(names if frame is None else list(map(str, frame.columns)), list(by_column), values=named,
                   keys=key_columns, frame=frame, style=(frame.attrs.get("number_style", "comma")
                                                          if frame is not None else "comma"))
    problems.extend(roles.problems)
    if frame is not None and any(not isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    targets = {}
    for lvl, cls, w, col in ((level, target, weights, code_column), (second_level, second_target, second_weights,
                                                                    second_code_column)):
        if cls is not None and w is not None:
            check_targets(w, cls, col, problems)
            if lvl is not None:
                targets[str(col)] = target_level_map(w.table["target"], cls, lvl, str(col), problems)
    levels = {str(c): lv for c, lv in ((code_column, code_level), (second_code_column, second_code_level))
              if c is not None and lv is not None}
    result = convert_frame(frame if frame is not None else data, by_column, value_columns=roles.values,
                           key_columns=roles.keys, engine=engine, repair_codes=repair_codes, progress=progress,
                           decimals=decimals, code_levels=levels, target_maps=targets, style=style,
                           confirmed_only=confirmed_only, **engine_options)
    result.problems = problems + result.problems
    result.columns["left_out"] = roles.left_out
    return result


def _streamable(path) -> bool:
    """CSV and parquet files the DuckDB and Spark engines read themselves (workbooks are read here)."""
    suffix = Path(str(path)).suffix.lower()
    return suffix not in (".xlsx", ".xlsm", ".xls")


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
                  key_columns=[], weights=forward, engine=engine, repair_codes=repair_codes)
    mid = there.columns["codes"][str(code_column)]
    back = apply(there.data, from_scheme=b, to_scheme=a, code_column=mid, value_columns=value_columns,
                 key_columns=[], weights=backward, engine=engine, repair_codes=False)
    home = back.columns["codes"][mid]
    before = _totals_by_code(data, str(code_column), value_columns, there)
    loop = forward.table.merge(backward.table, left_on="target", right_on="source", suffixes=("", "_back"))
    diag = (loop[loop["source"] == loop["target_back"]].assign(w=lambda d: d["weight"] * d["weight_back"])
            .groupby("source")["w"].sum())
    after = back.data.set_index(home)[value_columns]
    codes = sort_codes(pd.DataFrame({"code": sorted(set(before.index) | set(after.index))}), ["code"])["code"]
    keep = diag.reindex(codes).fillna(0.0).to_numpy()
    rows, totals = [], {}
    for v in value_columns:
        bv = before[v].reindex(codes).fillna(0.0).to_numpy()
        av = after[v].reindex(codes).fillna(0.0).to_numpy()
        rv = bv * keep
        totals[v] = {"before": math.fsum(bv), "after": math.fsum(av), "retained": math.fsum(rv),
                     "lost": math.fsum(bv) - math.fsum(rv),
                     "share_preserved": math.fsum(rv) / math.fsum(bv) if math.fsum(bv) else None,
                     "unmatched_forward": there.totals[v]["unmatched"],
                     "unmatched_backward": back.totals[v]["unmatched"]}
        for i, code in enumerate(codes):
            if v == value_columns[0]:
                rows.append({"code": code})
            rows[i][v] = {"before": float(bv[i]), "after": float(av[i]), "retained": float(rv[i]),
                          "lost": float(bv[i] - rv[i])}
    return {"schemes": [a, b, a], "value_columns": value_columns, "totals": totals, "codes": rows,
            "unmatched_forward": there.unmatched, "unmatched_backward": back.unmatched}


def _totals_by_code(data, code_column: str, value_columns: Sequence[str], forward: ApplyResult) -> pd.DataFrame:
    """Each code's exact total in the data as the forward pass read it (repairs and roll-ups
    applied), as doubles."""
    from .engines.pandas_engine import scan
    from .engines.scan import Columns
    from .io.numbers import UNIT
    frame = data if isinstance(data, pd.DataFrame) else read_data(data, raw=True)[0]
    found = scan(frame, Columns((code_column,), (), tuple(value_columns),
                                frame.attrs.get("number_style", "comma"))).groups
    fix = {r["code"]: r["repaired_to"] for r in forward.repaired}
    fix.update({r["code"]: r["rolled_up_to"] for r in forward.rolled_up})
    found[code_column] = found[code_column].map(lambda c: fix.get(c, c))
    out = {}
    for v in value_columns:
        sums = found.groupby(code_column, sort=False)[v].agg(lambda s: sum(s.tolist()))
        out[v] = sums.map(lambda u: u / UNIT)
    return pd.DataFrame(out)


def write_result(result: ApplyResult, out_path, *, unmatched_path=None) -> list[Path]:
    """Write the converted data (and the unmatched report: column, code, reason, detail,
    rows and totals) as CSV, xlsx or parquet by suffix: atomic, codes as text,
    spreadsheet-safe. Returns the paths written; cells that had to be changed (characters XML
    cannot hold) are added to ``result.problems`` as warnings naming the cells."""
    codes = list(result.columns.get("codes", {}).values()) + list(result.columns.get("keys", []))
    written = [write_frame(result.data, Path(out_path), codes, result.problems)]
    if unmatched_path is not None:
        report = result.report if result.report is not None else result.unmatched
        written.append(write_frame(report, Path(unmatched_path), ["column", "code", "reason", "detail"],
                                   result.problems))
    return written


__all__ = ["ApplyResult", "CONFIRMED_STATUSES", "ConservationError", "METHODS", "STATUSES", "TOLERANCE",
           "Weights", "WeightsError", "apply", "codes_as_text", "convert_frame", "level_number", "load_weights",
           "read_data", "round_trip", "sort_codes", "target_level_map", "write_result"]
