"""Routes through the review store: OKPDTR → OKZ-2014 → ISCO-08 as ONE table, each link
with the provenance of every step it took.

Per step (a scheme pair) and per source item, the store gives the links that carry weight:

* the item's **confirmed** links (confirmed by a person, an official table or an identity
  accepted by structure), with their split weights — set on every one of them and summing to
  1, or on none (the targets then share the item equally); anything else is refused, never
  renormalised silently;
* else, unless the item was decided as having **no correspondence**, its **proposal** (the
  pending link of role ``proposal``; in older stores the best-scored pending link), weight 1,
  status proposed — unless ``confirmed_only``;
* alternatives and rejected links never carry weight.

The steps are composed with :class:`crosswalk.graph.CrosswalkGraph` (weights multiply along a
path and add over paths; a composed link is as strong as its weakest step), and each composed
link keeps the link states of the steps of its best path.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional, Sequence

from ..errors import CrosswalkError, Problem, ERROR
from ..graph import CrosswalkGraph
from ..model import Link, code_sort_key, get_scheme
from .store import LinkState, ReviewStore

WEIGHT_TOL = 1e-6


def weight_tolerance(n: int) -> float:
    """How far from 1 the weights of a source with ``n`` targets may sum: 1e-6, or half a
    unit of the 6th decimal per target (three weights typed as 0.333333 sum to 0.999999),
    plus a little for binary floating point. The same rule export and apply use."""
    return max(WEIGHT_TOL, 5e-7 * n) + 1e-12


def split_weights(pair: str, code: str, links: Sequence[LinkState]) -> tuple[dict[str, float], Optional[Problem]]:
    """target -> weight of one item's confirmed links, or the problem with their weights."""
    given = [st for st in links if st.weight is not None]
    if not given:
        return {st.key.target_code: 1.0 / len(links) for st in links}, None
    listing = ", ".join(f"{st.key.target_code}={st.weight:.4f}" if st.weight is not None
                        else f"{st.key.target_code}=unset" for st in links)
    if len(given) < len(links):
        why = f"weights set for {len(given)} of its {len(links)} confirmed targets ({listing}); set all or none"
    elif abs(math.fsum(st.weight for st in links) - 1.0) > weight_tolerance(len(links)):
        why = f"weights {listing} sum to {math.fsum(st.weight for st in links):.6f}, not 1"
    else:
        return {st.key.target_code: float(st.weight) for st in links}, None
    return {}, Problem("weights", ERROR, f"{pair} source {code}: {why}", column="weight", value=code)


def _origin(st: LinkState) -> str:
    if st.status != "confirmed":
        return "proposed"
    return st.origin if st.origin in ("official", "structure") else "confirmed"


@dataclass
class RouteLink:
    link: Link                                  # the composed link (status, weakest step, via)
    steps: list[LinkState]                      # the store's link of each step of its best path


@dataclass
class Route:
    schemes: list[str]
    links: list[RouteLink] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)     # composed links by status
    no_match: list[str] = field(default_factory=list)           # items decided "no correspondence" (1st step)
    step_counts: dict[str, dict[str, int]] = field(default_factory=dict)   # step -> links used by status
    # per step: source code -> the targets it used, and the sources split equally only because
    # no weight was set (a 1:n official table, or a reviewer's confirmed links without weights)
    step_targets: list[dict[str, list[str]]] = field(default_factory=list)
    equal_split: list[set[str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "__".join(self.schemes)


def parse_route(route) -> list[str]:
    schemes = [s.strip() for s in route.split(",")] if isinstance(route, str) else [str(s) for s in route]
    schemes = [s for s in schemes if s]
    if len(schemes) < 2:
        raise CrosswalkError(f"a route names at least two schemes, separated by commas: {route!r}")
    for s in schemes:
        get_scheme(s)
    return schemes


def compose_route(store: ReviewStore, route, *, confirmed_only: bool = False) -> Route:
    """The route's composed links from ``store`` (rules in the module docstring)."""
    schemes = parse_route(route)
    graph = CrosswalkGraph()
    states: dict[tuple[str, str, str, str], LinkState] = {}
    out = Route(schemes)
    problems = []
    for a, b in zip(schemes, schemes[1:]):
        pair = f"{a}→{b}"
        by_item: dict[str, list[LinkState]] = {}
        for st in store.links(source_scheme=a, target_scheme=b):
            by_item.setdefault(st.key.source_code, []).append(st)
        if not by_item:
            have = sorted({f"{s}→{t}" for s, t in store.counts()})
            raise CrosswalkError(f"{store.path}: no {pair} links in the review store for the route"
                                 f" {'→'.join(schemes)} (pairs there: {', '.join(have) or 'none'})")
        no_match = store.no_match_items(a, b)
        links, used = [], Counter()
        targets: dict[str, list[str]] = {}
        equal: set[str] = set()
        for code, sts in by_item.items():
            confirmed = [st for st in sts if st.status == "confirmed"]
            if confirmed:
                weights, problem = split_weights(pair, code, confirmed)
                if problem:
                    problems.append(problem)
                    continue
                chosen = [(st, weights[st.key.target_code]) for st in confirmed]
                if len(confirmed) > 1 and all(st.weight is None for st in confirmed):
                    equal.add(code)
            elif code in no_match:
                if a == schemes[0]:
                    out.no_match.append(code)
                continue
            elif confirmed_only:
                continue
            else:
                pending = [st for st in sts if st.status == "pending"]
                marked = [st for st in pending if st.role == "proposal"]
                if not marked and not any(st.role for st in pending) and pending:   # an older store
                    marked = [min(pending, key=lambda st: (-(st.score or 0.0), code_sort_key(st.key.target_code)))]
                if not marked:
                    continue
                chosen = [(marked[0], 1.0)]
            for st, w in chosen:
                states[(a, st.key.source_code, b, st.key.target_code)] = st
                links.append(Link(a, st.key.source_code, b, st.key.target_code, _origin(st),
                                  1.0 if st.score is None else float(st.score), w, flags=tuple(st.flags)))
                used[_origin(st)] += 1
                targets.setdefault(code, []).append(st.key.target_code)
        out.step_counts[pair] = dict(sorted(used.items()))
        out.step_targets.append(targets)
        out.equal_split.append(equal)
        if links:
            graph.add_links(links)
    if problems:
        shown = "; ".join(p.message for p in problems[:10]) + (f"; … {len(problems) - 10} more"
                                                               if len(problems) > 10 else "")
        raise CrosswalkError(f"the split weights of {len(problems)} item(s) do not add up (fix them with"
                             f" weight decisions): {shown}")
    try:
        composed = graph.compose(schemes)
    except CrosswalkError as exc:
        raise CrosswalkError(f"{store.path}: route {'→'.join(schemes)}: {exc}") from None
    for ln in composed:
        codes = [ln.source, *(v.split(":", 1)[1] for v in ln.via), ln.target]
        steps = [states[(a, s, b, t)] for a, b, s, t in zip(schemes, schemes[1:], codes, codes[1:])]
        out.links.append(RouteLink(ln, steps))
    out.by_status = dict(sorted(Counter(rl.link.status for rl in out.links).items()))
    out.no_match.sort(key=code_sort_key)
    return out


__all__ = ["Route", "RouteLink", "compose_route", "parse_route", "split_weights", "weight_tolerance"]
