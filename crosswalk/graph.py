"""The correspondence graph: nodes are items ``(scheme, code)``, edges are :class:`Link`\\ s.
It composes links through pivot schemes (OKVED2 → NACE Rev.2 → ISIC Rev.4), merges several
routes between the same two schemes, tells the shape of a link set (1:1, 1:n, n:1, n:m) and
how much of two classifications a link set covers.

The rules, the same everywhere:

* **Direction.** An edge is stored in the direction it was added and composition follows
  it. Nothing is inverted implicitly — an A→B table's split weights say nothing about B→A
  shares; to go the other way add the reversed table, ``add_correspondence(corr.reversed())``.
* **Weights.** The links from one source code into one target scheme arrive in one call and
  their weights sum to 1 (checked). A later call may replace them (``replace=True``), never
  extend them. Official tables split a source equally among its targets (1:n) unless given
  explicit shares; the matcher's kept candidates split by score.
* **Composition** along a path of schemes. One path's *score* is the product of its edge
  scores (the confidence of a chain), its *weight* the product of its edge weights (the
  share of the source that flows along it). For a (source, target) reached by several paths
  the weight is the **sum** over the paths (flows add up), the score the **maximum** (the
  best evidence: confidences of alternative routes do not add), and ``via`` the pivots of
  the best path — highest score, then highest weight, then the lowest pivot codes; its
  flags are the union of that path's edge flags. Share that stops at a pivot with no onward
  link is lost: the source's remaining weights are rescaled to sum to 1 and all its links
  flagged ``dead_end``.

Every result is sorted and does not depend on the order links were added in.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace as _replace
from typing import Iterable, Mapping, Optional, Sequence, Union

import networkx as nx

from .candidates import CandidateSet
from .errors import CrosswalkError
from .model import ORIGINS, RELATIONS, Classification, Correspondence, Link, code_sort_key, get_scheme

Node = tuple[str, str]          # (scheme, code)
_TOL = 1e-6                     # input weights of a source must sum to 1 within this


def _node_key(node: Node) -> tuple:
    return (node[0], code_sort_key(node[1]))


def link_key(link: Link) -> tuple:
    """The order of links in every result: by scheme pair, source code, target code."""
    return (link.source_scheme, link.target_scheme, code_sort_key(link.source), code_sort_key(link.target))


def _better_first(score: float, weight: float, codes: Sequence[str]) -> tuple:
    """Sort key of alternatives, best first: higher score, higher weight, lower codes."""
    return (-score, -weight, tuple(code_sort_key(c) for c in codes))


class CrosswalkGraph:
    """Links between the items of several schemes (a networkx ``DiGraph``)."""

    def __init__(self):
        self.graph = nx.DiGraph()
        self._out: dict[tuple[Node, str], list[Link]] = {}    # sorted out-links, rebuilt lazily
        self._pairs: Counter = Counter()                      # (scheme, scheme) -> edge count

    # -- adding ------------------------------------------------------------
    def add_links(self, links: Iterable[Link], *, replace: bool = False) -> None:
        """Add links. All links of one source into one target scheme come in one call and
        their weights sum to 1; with ``replace`` they replace that source's earlier links
        into that scheme (a reviewer's decision over the matcher's), otherwise a source
        that already has links there is an error."""
        groups: dict[tuple[Node, str], dict[Node, Link]] = {}
        for ln in links:
            for scheme in (ln.source_scheme, ln.target_scheme):
                get_scheme(scheme)
            if ln.source_scheme == ln.target_scheme:
                raise CrosswalkError(f"link {ln.source}→{ln.target} stays inside {ln.source_scheme};"
                                     " the graph links different schemes")
            u, v = (ln.source_scheme, ln.source), (ln.target_scheme, ln.target)
            group = groups.setdefault((u, ln.target_scheme), {})
            if v in group:
                raise CrosswalkError(f"{ln.source_scheme}:{ln.source}→{ln.target_scheme}:{ln.target} twice")
            group[v] = ln
        bad = []
        for (u, scheme), group in sorted(groups.items(), key=lambda kv: (_node_key(kv[0][0]), kv[0][1])):
            total = math.fsum(ln.weight for ln in group.values())
            if abs(total - 1.0) > _TOL:
                bad.append(f"{u[0]}:{u[1]}→{scheme} weights sum to {total:.6g}")
            elif not replace and self._links_from(u, scheme):
                bad.append(f"{u[0]}:{u[1]} already has links to {scheme} (pass replace=True)")
        if bad:
            more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
            raise CrosswalkError("cannot add links: " + "; ".join(bad[:5]) + more)
        for (u, scheme), group in groups.items():
            for old in self._links_from(u, scheme):
                self.graph.remove_edge(u, (old.target_scheme, old.target))
                self._pairs[old.source_scheme, old.target_scheme] -= 1
            for v, ln in group.items():
                self.graph.add_edge(u, v, link=ln)
                self._pairs[ln.source_scheme, ln.target_scheme] += 1
        self._out.clear()

    def add_correspondence(self, corr: Correspondence, *, origin: str = "official",
                           weights: Union[str, Mapping[tuple[str, str], float]] = "equal",
                           replace: bool = False) -> list[Link]:
        """Add an official table: score 1.0 for every pair. ``weights="equal"`` splits a
        source equally among its targets (1:n); a mapping ``(source, target) -> share``
        (e.g. employment) gives explicit shares, normalised per source. Pairs the table
        marks partial are flagged ``partial``. Returns the links added."""
        if origin not in ORIGINS:
            raise CrosswalkError(f"origin must be one of {ORIGINS}, not {origin!r}")
        by_source: dict[str, list] = {}
        for p in corr.pairs:
            by_source.setdefault(p.source, []).append(p)
        out = []
        for source, pairs in by_source.items():
            if weights == "equal":
                shares = [1.0] * len(pairs)
            elif isinstance(weights, Mapping):
                missing = [p.target for p in pairs if (source, p.target) not in weights]
                if missing:
                    raise CrosswalkError(f"weights has no share for {source}→{missing[0]}")
                shares = [float(weights[source, p.target]) for p in pairs]
                if any(not s >= 0 for s in shares) or not sum(shares) > 0:
                    raise CrosswalkError(f"shares of {source} must be ≥ 0 with a positive sum: {shares}")
            else:
                raise CrosswalkError(f'weights must be "equal" or a mapping (source, target) -> share,'
                                     f" not {weights!r}")
            total = math.fsum(shares)
            out += [Link(corr.source_scheme.id, source, corr.target_scheme.id, p.target, origin, 1.0,
                         s / total, flags=("partial",) if p.partial else ())
                    for p, s in zip(pairs, shares)]
        self.add_links(out, replace=replace)
        return sorted(out, key=link_key)

    def add_candidates(self, cset: CandidateSet, *, origin: str = "proposed", top: int = 1,
                       min_score: float = 0.0, replace: bool = False) -> list[Link]:
        """Add the matcher's candidates: per source the first ``top`` by rank among those
        scoring ≥ ``min_score``; score = the candidate's score, weight = the kept scores
        normalised to sum 1 per source (equal when all are 0). Returns the links added."""
        if top < 1:
            raise CrosswalkError(f"top must be at least 1, not {top}")
        if origin not in ORIGINS:
            raise CrosswalkError(f"origin must be one of {ORIGINS}, not {origin!r}")
        out = []
        for source, cands in cset.by_source().items():
            kept = [c for c in cands if c.score >= min_score][:top]
            total = math.fsum(c.score for c in kept)
            out += [Link(cset.source_scheme, source, cset.target_scheme, c.target, origin, c.score,
                         c.score / total if total > 0 else 1.0 / len(kept)) for c in kept]
        self.add_links(out, replace=replace)
        return sorted(out, key=link_key)

    # -- reading -----------------------------------------------------------
    def _links_from(self, node: Node, scheme: str) -> list[Link]:
        """The links of ``node`` into ``scheme``, sorted by target code."""
        key = (node, scheme)
        if key not in self._out:
            succ = self.graph.succ.get(node, {})
            self._out[key] = sorted((d["link"] for v, d in succ.items() if v[0] == scheme),
                                    key=lambda ln: code_sort_key(ln.target))
        return self._out[key]

    def links(self, source_scheme: str, target_scheme: str) -> list[Link]:
        """The stored links from ``source_scheme`` to ``target_scheme``, sorted."""
        return sorted((d["link"] for u, v, d in self.graph.edges(data=True)
                       if u[0] == source_scheme and v[0] == target_scheme), key=link_key)

    def schemes(self) -> list[str]:
        return sorted({n[0] for n in self.graph})

    def _check_path(self, path: Sequence[str]) -> list[str]:
        path = list(path)
        if len(path) < 2:
            raise CrosswalkError(f"a path needs at least two schemes, got {path}")
        for s in path:
            get_scheme(s)      # UnknownSchemeError (a CrosswalkError) names it
        twice = sorted(s for s, n in Counter(path).items() if n > 1)
        if twice:
            raise CrosswalkError(f"path {'→'.join(path)} visits {', '.join(twice)} twice")
        for a, b in zip(path, path[1:]):
            if not self._pairs[a, b]:
                hint = (f"; there are links {b}→{a}: add the reversed table to go this way"
                        if self._pairs[b, a] else "")
                raise CrosswalkError(f"no links from {a} to {b} in the graph{hint}")
        return path

    # -- composing ---------------------------------------------------------
    def compose(self, path: Sequence[str], *, origin: str = "derived") -> list[Link]:
        """Links from ``path[0]`` to ``path[-1]`` through the pivot schemes between them
        (rules in the module docstring). A two-scheme path gives the stored links as they
        are. Sources that reach nothing get no link."""
        path = self._check_path(path)
        if origin not in ORIGINS:
            raise CrosswalkError(f"origin must be one of {ORIGINS}, not {origin!r}")
        if len(path) == 2:
            return self.links(*path)
        sources = sorted({u for u, v in self.graph.edges if u[0] == path[0] and v[0] == path[1]},
                         key=_node_key)
        out: list[Link] = []
        for src in sources:
            out += self._compose_from(src, path, origin)
        return out

    def _compose_from(self, src: Node, path: list[str], origin: str) -> list[Link]:
        # per node reached: [flow (summed weight), score, weight, codes, flags, weakest, paths] of
        # its best path; codes = the path's codes from the source on; weakest = (score, step) of
        # the path's lowest-scored unconfirmed step, or None when every step is confirmed;
        # paths = how many paths reach it (more than one: a redundant link, as Eurostat's
        # correspondenceTables calls it). Layers are visited in code order, so the float sums
        # never depend on insertion order.
        front: dict[Node, list] = {src: [1.0, 1.0, 1.0, (src[1],), frozenset(), None, 1]}
        dead = False
        prev_scheme = src[0]
        for scheme in path[1:]:
            nxt: dict[Node, list] = {}
            step = f"{prev_scheme}→{scheme}"
            for node in sorted(front, key=_node_key):
                flow, score, weight, codes, flags, weakest, paths = front[node]
                out = self._links_from(node, scheme)
                dead |= not out
                for ln in out:
                    v = (scheme, ln.target)
                    weak = weakest
                    if ln.status != "confirmed" and (weak is None or ln.score < weak[0]):
                        weak = (ln.score, step)
                    cand = [score * ln.score, weight * ln.weight, codes + (ln.target,), flags | set(ln.flags), weak]
                    cur = nxt.get(v)
                    if cur is None:
                        nxt[v] = [flow * ln.weight] + cand + [paths]
                        continue
                    cur[0] += flow * ln.weight
                    cur[6] += paths
                    if _better_first(*cand[:3]) < _better_first(*cur[1:4]):
                        cur[1:6] = cand
            front = nxt
            prev_scheme = scheme
        if not front:
            return []
        total = math.fsum(e[0] for e in front.values())
        extra = {"dead_end"} if dead else set()
        links = [Link(src[0], src[1], path[-1], v[1], origin, score,
                      flow / total if total > 0 else 1.0 / len(front),   # all that arrived had weight 0
                      tuple(f"{s}:{c}" for s, c in zip(path[1:-1], codes[1:-1])),
                      tuple(sorted(flags | extra | ({"redundant"} if paths > 1 else set()))),
                      status="confirmed" if weakest is None else "proposed",
                      weakest="" if weakest is None else weakest[1])
                 for v, (flow, score, weight, codes, flags, weakest, paths) in front.items()]
        assert abs(math.fsum(ln.weight for ln in links) - 1.0) <= 1e-9, (src, links)
        return sorted(links, key=link_key)

    def compose_routes(self, routes: Sequence[Sequence[str]]) -> list[Link]:
        """The union of several routes between the same two schemes (e.g. okpdtr→okz2014→isco08
        and okpdtr→isco08). A source's weights are averaged over the routes that reach it (each
        route trusted alike, so they still sum to 1); a (source, target) found by several
        routes keeps the best route's link (score, weight, then the shorter and lower ``via``)
        with that averaged weight (divided by the summed weights, not the route count, so stored
        links whose weights sum to 1 only within rounding still give exact sums). A source whose best target (highest score, then weight,
        then lowest code) differs between routes gets the flag ``paths_disagree`` on all its links."""
        routes = [list(r) for r in routes]
        if not routes:
            raise CrosswalkError("compose_routes needs at least one route")
        ends = {(r[0], r[-1]) for r in routes if r}
        if len(ends) != 1 or any(not r for r in routes):
            raise CrosswalkError(f"routes must all run between the same two schemes, got {sorted(ends)}")
        if len({tuple(r) for r in routes}) != len(routes):
            raise CrosswalkError("the same route is given twice")
        per_source: dict[str, list[list[Link]]] = {}
        for r in routes:
            by_src: dict[str, list[Link]] = {}
            for ln in self.compose(r):
                by_src.setdefault(ln.source, []).append(ln)
            for s, lns in by_src.items():
                per_source.setdefault(s, []).append(lns)

        def rank(ln: Link) -> tuple:
            return _better_first(ln.score, ln.weight, ()) + (
                len(ln.via), tuple((v.split(":", 1)[0], code_sort_key(v.split(":", 1)[1])) for v in ln.via),
                ln.origin)

        out: list[Link] = []
        for src, found in per_source.items():
            bests = {min(lns, key=lambda ln: _better_first(ln.score, ln.weight, (ln.target,))).target
                     for lns in found}
            flow: dict[str, list[float]] = {}
            best: dict[str, Link] = {}
            for lns in found:
                for ln in lns:
                    flow.setdefault(ln.target, []).append(ln.weight)
                    if ln.target not in best or rank(ln) < rank(best[ln.target]):
                        best[ln.target] = ln
            disagree = {"paths_disagree"} if len(bests) > 1 else set()
            total = math.fsum(w for ws in flow.values() for w in ws)   # ≈ len(found): each route sums to 1
            links = [_replace(ln, weight=math.fsum(flow[t]) / total,
                              flags=tuple(sorted(set(ln.flags) | disagree))) for t, ln in best.items()]
            assert abs(math.fsum(ln.weight for ln in links) - 1.0) <= 1e-9, (src, links)
            out += links
        return sorted(out, key=link_key)

    # -- shape -------------------------------------------------------------
    @staticmethod
    def _components(links: Sequence[Link]) -> list[tuple[set, set]]:
        pairs = {(ln.source_scheme, ln.target_scheme) for ln in links}
        if len(pairs) > 1:
            raise CrosswalkError(f"links of one scheme pair expected, got {sorted(pairs)}")
        g = nx.Graph()
        g.add_edges_from((("s", ln.source), ("t", ln.target)) for ln in links)
        return [({c for side, c in comp if side == "s"}, {c for side, c in comp if side == "t"})
                for comp in nx.connected_components(g)]

    @staticmethod
    def _kind(sources: set, targets: set) -> str:
        return {(True, True): "1:1", (True, False): "1:n", (False, True): "n:1",
                (False, False): "n:m"}[len(sources) == 1, len(targets) == 1]

    def relations(self, links: Sequence[Link]) -> dict[tuple[str, str], str]:
        """(source, target) -> the kind of its connected component in the bipartite
        source–target graph of ``links`` (one scheme pair): 1:1, 1:n, n:1 or n:m."""
        kind_of = {s: self._kind(sources, targets)
                   for sources, targets in self._components(links) for s in sources}
        out = {(ln.source, ln.target): kind_of[ln.source] for ln in links}
        return dict(sorted(out.items(), key=lambda kv: (code_sort_key(kv[0][0]), code_sort_key(kv[0][1]))))

    def relation_counts(self, links: Sequence[Link]) -> dict[str, int]:
        """How many connected components of each kind."""
        counts = Counter(self._kind(s, t) for s, t in self._components(links))
        return {k: counts[k] for k in RELATIONS}


@dataclass(frozen=True)
class Coverage:
    """How much of two classifications a link set touches. An item counts as matched when
    some link names it; ``*_unknown`` are link codes the classification lacks (another
    edition?)."""

    source_total: int
    source_matched: int
    target_total: int
    target_matched: int
    source_unmatched: list[str]
    target_unmatched: list[str]
    source_unknown: list[str]
    target_unknown: list[str]
    source_share: float
    target_share: float


def coverage(source: Classification, target: Classification, links: Sequence[Link], *,
             levels: Optional[Sequence[Union[str, int]]] = None,
             target_levels: Optional[Sequence[Union[str, int]]] = None) -> Coverage:
    """Coverage of ``source`` and ``target`` by ``links`` (all from source's scheme to
    target's). ``levels`` (names or numbers, e.g. ``["class"]``) limits the items counted;
    ``target_levels`` defaults to ``levels``."""
    ss, ts = source.scheme.id, target.scheme.id
    wrong = sorted({(ln.source_scheme, ln.target_scheme) for ln in links} - {(ss, ts)})
    if wrong:
        raise CrosswalkError(f"coverage of {ss}→{ts} got links of {wrong}")

    def side(cls: Classification, lv, linked: set[str]):
        items = [it.code for it in cls] if lv is None else \
            sorted({it.code for level in lv for it in cls.by_level(level)}, key=code_sort_key)
        unmatched = [c for c in items if c not in linked]
        unknown = sorted((c for c in linked if c not in cls), key=code_sort_key)
        return len(items), len(items) - len(unmatched), sorted(unmatched, key=code_sort_key), unknown

    st, sm, su, sx = side(source, levels, {ln.source for ln in links})
    tt, tm, tu, tx = side(target, levels if target_levels is None else target_levels,
                          {ln.target for ln in links})
    return Coverage(st, sm, tt, tm, su, tu, sx, tx, sm / st if st else 0.0, tm / tt if tt else 0.0)


__all__ = ["Coverage", "CrosswalkGraph", "coverage", "link_key"]
