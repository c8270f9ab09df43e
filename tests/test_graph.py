"""The correspondence graph: composition checked against brute-force path enumeration,
relations against an obvious fixpoint grouping, the rules for adding links, and the real
NACE2→ISIC4 and ISCO-08→ISCO-88 tables."""
import itertools
import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crosswalk
from crosswalk.candidates import CandidateSet
from crosswalk.errors import CrosswalkError, UnknownSchemeError
from crosswalk.graph import CrosswalkGraph, coverage
from crosswalk.model import (SCHEMES, Candidate, Classification, Correspondence, Item, Link, Pair,
                             code_sort_key)

CODES = ["A", "B", "01", "1", "10", "2", "02"]      # letters sort before digits, "01" ≠ "1"


def L(ss, s, ts, t, score=1.0, weight=1.0, origin="proposed", flags=()):
    return Link(ss, s, ts, t, origin, score, weight, flags=flags)


# -- composition vs brute force ------------------------------------------------
@st.composite
def layered(draw, exact=True):
    """Schemes in a path and random links between consecutive ones. ``exact``: scores k/4
    (ties are common) and weights that split 16/16 into parts: products of ≤ 3 such are exact
    floats, so equal scores are real ties and a tie is broken the same way by any correct
    algorithm. Otherwise weights k/(sum of k) and scores k/100, whose sums round."""
    path = draw(st.permutations(sorted(SCHEMES)))[:draw(st.integers(3, 4))]
    codes = {s: draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=4, unique=True)) for s in path}
    links = []
    for a, b in zip(path, path[1:]):
        for s in codes[a]:
            targets = draw(st.lists(st.sampled_from(codes[b]), max_size=len(codes[b]), unique=True))
            if not targets:
                continue   # a dead end (or a source that reaches nothing)
            if exact:
                cuts = sorted(draw(st.lists(st.integers(1, 15), min_size=len(targets) - 1,
                                            max_size=len(targets) - 1, unique=True)))
                parts = [(hi - lo) / 16 for lo, hi in zip([0] + cuts, cuts + [16])]
            else:
                ks = draw(st.lists(st.integers(1, 9), min_size=len(targets), max_size=len(targets)))
                parts = [k / sum(ks) for k in ks]
            for t, part in zip(targets, parts):
                score = draw(st.integers(1, 4)) / 4 if exact else draw(st.integers(0, 100)) / 100
                links.append(L(a, s, b, t, score, part, draw(st.sampled_from(["proposed", "official", "confirmed"])),
                               flags=tuple(draw(st.sets(st.sampled_from(["partial", "review"]))))))
        if not any(ln.source_scheme == a for ln in links):   # every step must have some link
            links.append(L(a, codes[a][0], b, codes[b][0]))
    return path, links


def brute_compose(path, links):
    """Every sequence of codes (one per scheme) whose consecutive pairs are all links."""
    edge = {((ln.source_scheme, ln.source), (ln.target_scheme, ln.target)): ln for ln in links}
    codes = {s: sorted({ln.source for ln in links if ln.source_scheme == s}
                       | {ln.target for ln in links if ln.target_scheme == s}) for s in path}

    def chain(seq):
        nodes = list(zip(path, seq))
        if all((u, v) in edge for u, v in zip(nodes, nodes[1:])):
            return [edge[u, v] for u, v in zip(nodes, nodes[1:])]
        return None

    dead = {seq[0] for i in range(2, len(path)) for seq in itertools.product(*(codes[s] for s in path[:i]))
            if chain(seq) is not None and not any(
                (tuple(zip(path, seq))[-1], (path[i], c)) in edge for c in codes[path[i]])}
    paths: dict = {}
    for seq in itertools.product(*(codes[s] for s in path)):
        hops = chain(seq)
        if hops is not None:
            score = weight = 1.0
            for h in hops:                     # left to right, as a chain is followed
                score, weight = score * h.score, weight * h.weight
            paths.setdefault(seq[0], {}).setdefault(seq[-1], []).append((score, weight, seq, hops))
    out = []
    for src, by_target in paths.items():
        total = math.fsum(w for ps in by_target.values() for _, w, _, _ in ps)
        for tgt, ps in by_target.items():
            score, _, seq, hops = min(ps, key=lambda p: (-p[0], -p[1], [code_sort_key(c) for c in p[2]]))
            flags = ({f for h in hops for f in h.flags} | ({"dead_end"} if src in dead else set())
                     | ({"redundant"} if len(ps) > 1 else set()))     # reached by several paths
            # a chain is as strong as its weakest step: the lowest-scored unconfirmed one, first on ties
            weak = [(h.score, k, f"{path[k]}→{path[k + 1]}") for k, h in enumerate(hops) if h.status != "confirmed"]
            out.append((src, tgt, score, math.fsum(p[1] for p in ps) / total,
                        tuple(f"{s}:{c}" for s, c in zip(path[1:-1], seq[1:-1])), tuple(sorted(flags)),
                        "proposed" if weak else "confirmed", min(weak)[2] if weak else ""))
    return sorted(out, key=lambda r: (code_sort_key(r[0]), code_sort_key(r[1])))


def build(links, seed=None):
    """A graph from ``links``, added in a shuffled order and in per-step batches."""
    links = list(links)
    if seed is not None:
        random.Random(seed).shuffle(links)
    g = CrosswalkGraph()
    for pair in sorted({(ln.source_scheme, ln.target_scheme) for ln in links}, reverse=seed is not None):
        g.add_links(ln for ln in links if (ln.source_scheme, ln.target_scheme) == pair)
    return g


@settings(max_examples=300, deadline=None)
@given(layered(), st.integers(0, 2**32))
def test_compose_equals_brute_force_and_ignores_insertion_order(case, seed):
    path, links = case
    got = build(links).compose(path)
    expect = brute_compose(path, links)
    assert [(ln.source, ln.target, ln.score, ln.via, ln.flags, ln.status, ln.weakest) for ln in got] == \
        [(s, t, score, via, flags, status, weakest) for s, t, score, _, via, flags, status, weakest in expect]
    for ln, (*_, weight, _, _, _, _) in zip(got, expect):
        assert ln.weight == pytest.approx(weight, abs=1e-12)
        assert (ln.source_scheme, ln.target_scheme, ln.origin) == (path[0], path[-1], "derived")
    for src in {ln.source for ln in got}:
        assert math.fsum(ln.weight for ln in got if ln.source == src) == pytest.approx(1.0, abs=1e-12)
    assert build(links, seed).compose(path) == got          # identical, floats included


@settings(max_examples=200, deadline=None)
@given(layered(exact=False), st.integers(0, 2**32))
def test_compose_is_the_same_for_any_insertion_order_when_sums_round(case, seed):
    path, links = case
    got = build(links).compose(path)
    assert build(links, seed).compose(path) == got
    assert {ln.source for ln in got} <= {ln.source for ln in links if ln.source_scheme == path[0]}


# -- relations vs an obvious grouping ----------------------------------------------------
def obvious_relations(links):
    """Grow every link's group by scanning all links until nothing changes."""
    groups = [{(ln.source, ln.target)} for ln in links]
    changed = True
    while changed:
        changed = False
        for g in groups:
            srcs, tgts = {s for s, _ in g}, {t for _, t in g}
            more = {(ln.source, ln.target) for ln in links if ln.source in srcs or ln.target in tgts} - g
            if more:
                g |= more
                changed = True
    out, comps = {}, set()
    for g in groups:
        ns, nt = len({s for s, _ in g}), len({t for _, t in g})
        kind = "1:1" if ns == nt == 1 else "1:n" if ns == 1 else "n:1" if nt == 1 else "n:m"
        comps.add((frozenset(g), kind))
        out.update({pair: kind for pair in g})
    return out, comps


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from(CODES)), max_size=20, unique=True))
def test_relations_equal_an_obvious_grouping(pairs):
    links = [L("nace2", s, "isic4", t) for s, t in pairs]
    g = CrosswalkGraph()
    expect, comps = obvious_relations(links)
    assert g.relations(links) == expect
    assert list(g.relations(links)) == sorted(expect, key=lambda p: (code_sort_key(p[0]), code_sort_key(p[1])))
    counts = g.relation_counts(links)
    assert list(counts) == ["1:1", "1:n", "n:1", "n:m"]
    assert counts == {k: sum(kind == k for _, kind in comps) for k in counts}


def test_relations_of_each_kind_and_of_mixed_scheme_pairs():
    links = [L("nace2", "01", "isic4", "A"),                                       # 1:1
             L("nace2", "02", "isic4", "B", weight=0.5), L("nace2", "02", "isic4", "1", weight=0.5),  # 1:n
             L("nace2", "10", "isic4", "2"), L("nace2", "1", "isic4", "2"),        # n:1
             L("nace2", "A", "isic4", "01", weight=.5), L("nace2", "A", "isic4", "02", weight=.5),
             L("nace2", "B", "isic4", "02")]                                       # n:m
    g = CrosswalkGraph()
    assert g.relations(links)[("02", "1")] == "1:n" and g.relations(links)[("B", "02")] == "n:m"
    assert g.relation_counts(links) == {"1:1": 1, "1:n": 1, "n:1": 1, "n:m": 1}
    assert g.relation_counts([]) == {"1:1": 0, "1:n": 0, "n:1": 0, "n:m": 0}
    with pytest.raises(CrosswalkError, match="one scheme pair"):
        g.relations(links + [L("okved2", "01", "nace2", "01")])


# -- composition: small cases ---------------------------------------------------
def _chain_graph():
    g = CrosswalkGraph()
    g.add_links([L("okved2", "01.11", "nace2", "01.11"), L("okved2", "01.12", "nace2", "01.12"),
                 L("okved2", "01.13", "nace2", "01.13", 0.5, 0.5), L("okved2", "01.13", "nace2", "01.19", 0.8, 0.5)])
    g.add_links([L("nace2", "01.11", "isic4", "0111", origin="official"),
                 L("nace2", "01.13", "isic4", "0113", origin="official"),
                 L("nace2", "01.19", "isic4", "0119", 1.0, 0.25, "official"),
                 L("nace2", "01.19", "isic4", "0113", 1.0, 0.75, "official", ("partial",))])
    return g


def test_compose_scores_weights_via_and_a_missing_middle_edge():
    got = {(ln.source, ln.target): ln for ln in _chain_graph().compose(["okved2", "nace2", "isic4"])}
    assert set(got) == {("01.11", "0111"), ("01.13", "0113"), ("01.13", "0119")}   # 01.12: nace 01.12 has no link
    two = got["01.13", "0113"]    # 0.5·1 directly, 0.5·0.75 through 01.19: weights add, best score wins
    assert two.weight == pytest.approx(0.875) and got["01.13", "0119"].weight == pytest.approx(0.125)
    # two paths reach the same pair: a redundant link (Eurostat's Redundancy flag)
    assert (two.score, two.via, two.flags) == (0.8, ("nace2:01.19",), ("partial", "redundant"))
    assert got["01.11", "0111"] == Link("okved2", "01.11", "isic4", "0111", "derived", 1.0, 1.0, ("nace2:01.11",),
                                        status="proposed", weakest="okved2→nace2")


def test_dead_end_share_is_rescaled_and_flagged():
    g = CrosswalkGraph()
    g.add_links([L("okz2014", "2512", "isco08", "2512", weight=0.25), L("okz2014", "2512", "isco08", "2511", weight=0.75)])
    g.add_links([L("isco08", "2512", "isco88", "2131")])        # isco08 2511 goes nowhere
    (ln,) = g.compose(["okz2014", "isco08", "isco88"], origin="proposed")
    assert (ln.target, ln.weight, ln.flags, ln.origin) == ("2131", 1.0, ("dead_end",), "proposed")


def test_path_errors_name_the_problem():
    g = _chain_graph()
    with pytest.raises(UnknownSchemeError, match="'okved3'"):
        g.compose(["okved2", "okved3", "isic4"])
    with pytest.raises(CrosswalkError, match="visits nace2 twice"):     # a path is acyclic by construction
        g.compose(["nace2", "isic4", "nace2"])
    with pytest.raises(CrosswalkError, match=r"no links from isic4 to nace2.*reversed"):
        g.compose(["isic4", "nace2", "okved2"])
    with pytest.raises(CrosswalkError, match="no links from okved2 to isco08"):
        g.compose(["okved2", "isco08"])
    with pytest.raises(CrosswalkError, match="two schemes"):
        g.compose(["okved2"])
    assert g.compose(["okved2", "nace2"]) == g.links("okved2", "nace2")   # one step: the links as stored
    assert [ln.origin for ln in g.links("okved2", "nace2")] == ["proposed"] * 4


def test_compose_routes_union_averages_and_flags_disagreement():
    g = CrosswalkGraph()
    g.add_links([L("okpdtr", "11111", "okz2014", "7212"), L("okpdtr", "22222", "okz2014", "2512"),
                 L("okpdtr", "33333", "okz2014", "9112")])
    g.add_links([L("okz2014", "7212", "isco08", "7212", origin="confirmed"),
                 L("okz2014", "2512", "isco08", "2512", origin="confirmed"),
                 L("okz2014", "9112", "isco08", "9112", origin="confirmed")])
    g.add_links([L("okpdtr", "11111", "isco08", "7212", 0.9), L("okpdtr", "22222", "isco08", "2511", 0.6, 0.75),
                 L("okpdtr", "22222", "isco08", "2512", 0.3, 0.25), L("okpdtr", "44444", "isco08", "5120", 0.4)])
    routes = [["okpdtr", "okz2014", "isco08"], ["okpdtr", "isco08"]]
    got = {(ln.source, ln.target): ln for ln in g.compose_routes(routes)}
    assert g.compose_routes(routes[::-1]) == list(got.values())
    # the first step is the matcher's, the second confirmed: the chain is proposed, its weak step named
    assert got["11111", "7212"] == Link("okpdtr", "11111", "isco08", "7212", "derived", 1.0, 1.0, ("okz2014:7212",),
                                        status="proposed", weakest="okpdtr→okz2014")
    assert got["22222", "2512"].weight == pytest.approx((1 + 0.25) / 2) and got["22222", "2511"].weight == 0.375
    assert got["22222", "2511"].flags == got["22222", "2512"].flags == ("paths_disagree",)
    assert got["22222", "2511"].origin == "proposed" and got["22222", "2512"].origin == "derived"
    assert got["33333", "9112"].flags == () and got["44444", "5120"].weight == 1.0   # one route each
    g.add_links([L("okpdtr", "55555", "isco08", "1111", weight=0.3333), L("okpdtr", "55555", "isco08", "1112", weight=0.6667),
                 L("okpdtr", "66666", "isco08", "1111", weight=0.4), L("okpdtr", "66666", "isco08", "1112", weight=0.6000004)])
    rounded = [ln for ln in g.compose_routes(routes) if ln.source in ("55555", "66666")]
    assert [ln.weight for ln in rounded] == pytest.approx([0.3333, 0.6667, 0.4, 0.6])
    with pytest.raises(CrosswalkError, match="same two schemes"):
        g.compose_routes([["okpdtr", "isco08"], ["okpdtr", "okz2014"]])
    with pytest.raises(CrosswalkError, match="twice"):
        g.compose_routes([["okpdtr", "isco08"], ["okpdtr", "isco08"]])


# -- adding ----------------------------------------------------------------------
def test_add_correspondence_splits_equally_or_by_shares():
    corr = Correspondence("isco08", "isco88", [Pair("2512", "2131", True), Pair("2512", "2139", True),
                                               Pair("2512", "3121"), Pair("1111", "1110")])
    g = CrosswalkGraph()
    links = g.add_correspondence(corr)
    assert [(ln.source, ln.target, ln.weight, ln.flags) for ln in links] == [
        ("1111", "1110", 1.0, ()), ("2512", "2131", 1 / 3, ("partial",)),
        ("2512", "2139", 1 / 3, ("partial",)), ("2512", "3121", 1 / 3, ())]
    assert {(ln.origin, ln.score) for ln in links} == {("official", 1.0)}
    assert g.links("isco08", "isco88") == links and g.links("isco88", "isco08") == []
    back = g.add_correspondence(corr.reversed())
    assert [(ln.source, ln.target, ln.weight) for ln in back][:2] == [("1110", "1111", 1.0), ("2131", "2512", 1.0)]
    shares = {("2512", "2131"): 6, ("2512", "2139"): 2, ("2512", "3121"): 0, ("1111", "1110"): 5}
    again = g.add_correspondence(corr, weights=shares, replace=True)
    assert [ln.weight for ln in again] == [1.0, 0.75, 0.25, 0.0]
    with pytest.raises(CrosswalkError, match="no share for 2512→3121"):
        CrosswalkGraph().add_correspondence(corr, weights={k: 1 for k in shares if k != ("2512", "3121")})
    with pytest.raises(CrosswalkError, match="weights must be"):
        CrosswalkGraph().add_correspondence(corr, weights="by_score")


def test_add_candidates_keeps_top_above_min_score_with_normalised_weights():
    cset = CandidateSet("okpdtr", "okz2014", [
        Candidate("11111", "7212", 0.6, 1), Candidate("11111", "7213", 0.2, 2), Candidate("11111", "7214", 0.1, 3),
        Candidate("22222", "2512", 0.0, 1), Candidate("22222", "2511", 0.0, 2),
        Candidate("33333", "9112", 0.05, 1)])
    g = CrosswalkGraph()
    links = g.add_candidates(cset, top=2, min_score=0.0)
    assert [(ln.source, ln.target, ln.score, ln.origin) for ln in links] == [
        ("11111", "7212", 0.6, "proposed"), ("11111", "7213", 0.2, "proposed"), ("22222", "2511", 0.0, "proposed"),
        ("22222", "2512", 0.0, "proposed"), ("33333", "9112", 0.05, "proposed")]
    assert [ln.weight for ln in links] == pytest.approx([0.75, 0.25, 0.5, 0.5, 1.0])   # 0 and 0: equal
    top1 = CrosswalkGraph().add_candidates(cset, min_score=0.1)
    assert [(ln.source, ln.target, ln.weight) for ln in top1] == [("11111", "7212", 1.0)]
    with pytest.raises(CrosswalkError, match="top"):
        g.add_candidates(cset, top=0)


def test_add_links_rules():
    g = CrosswalkGraph()
    with pytest.raises(CrosswalkError, match=r"isco08:2512→isco88 weights sum to 0.5"):
        g.add_links([L("isco08", "2512", "isco88", "2131", weight=0.5)])
    with pytest.raises(CrosswalkError, match="twice"):
        g.add_links([L("isco08", "2512", "isco88", "2131", weight=.5)] * 2)
    with pytest.raises(CrosswalkError, match="inside okved2"):
        g.add_links([L("okved2", "01", "okved2", "01")])
    with pytest.raises(UnknownSchemeError, match="'isco68'"):
        g.add_links([L("isco68", "2512", "isco88", "2131")])
    assert g.links("isco08", "isco88") == []                  # a refused call adds nothing
    g.add_links([L("isco08", "2512", "isco88", "2131")])
    with pytest.raises(CrosswalkError, match="already has links to isco88"):
        g.add_links([L("isco08", "2512", "isco88", "2139")])
    g.add_links([L("isco08", "2512", "isco88", "2139", origin="confirmed")], replace=True)
    assert [(ln.target, ln.origin) for ln in g.links("isco08", "isco88")] == [("2139", "confirmed")]
    assert g.schemes() == ["isco08", "isco88"]


def test_coverage_counts_levels_and_unknown_codes():
    items = [Item("A", "Sec", 1), Item("01", "Div", 2, "A"), Item("01.1", "Grp", 3, "01"),
             Item("01.11", "C1", 4, "01.1"), Item("01.12", "C2", 4, "01.1")]
    nace = Classification("nace2", items)
    isic = Classification("isic4", [Item("A", "Sec", 1), Item("01", "Div", 2, "A"), Item("011", "Grp", 3, "01"),
                                    Item("0111", "C1", 4, "011"), Item("0112", "C2", 4, "011")])
    links = [L("nace2", "01.11", "isic4", "0111"), L("nace2", "01.12", "isic4", "0111"),
             L("nace2", "01", "isic4", "01"), L("nace2", "99.99", "isic4", "9999")]
    cv = coverage(nace, isic, links, levels=["class"])
    assert (cv.source_total, cv.source_matched, cv.target_total, cv.target_matched) == (2, 2, 2, 1)
    assert (cv.source_unmatched, cv.target_unmatched, cv.source_share, cv.target_share) == ([], ["0112"], 1.0, 0.5)
    assert (cv.source_unknown, cv.target_unknown) == (["99.99"], ["9999"])
    every = coverage(nace, isic, links)
    assert every.source_unmatched == ["A", "01.1"] and every.target_share == pytest.approx(2 / 5)
    assert coverage(nace, isic, links, levels=[2], target_levels=["class"]).target_unmatched == ["0112"]
    with pytest.raises(CrosswalkError, match="links of"):
        coverage(nace, isic, [L("okved2", "01", "nace2", "01")])


# -- real tables -------------------------------------------------------------------
def test_okved2_through_nace2_to_isic4_on_the_official_tables(ref):
    corr = crosswalk.load(ref("nace2/nace2_isic4_concordance.csv")).correspondence
    nace = crosswalk.load(ref("nace2/nace2_structure_en.csv")).classification
    okved = crosswalk.load(ref("okved2/rosstat_opendata_2023-12-01/data-20231201-structure-20180402.csv")).classification
    isic = crosswalk.load(ref("isic4/ISIC_Rev_4_english_structure.txt")).classification
    g = CrosswalkGraph()
    official = g.add_correspondence(corr)
    nace_classes = {it.code for it in nace.by_level("class")}
    classes = [ln for ln in official if ln.source in nace_classes]
    assert (len(classes), len({ln.target for ln in classes})) == (615, 419)
    # each NACE class goes to one ISIC class: 312 alone, the other 303 in 107 merged groups
    assert g.relation_counts(classes) == {"1:1": 312, "1:n": 0, "n:1": 107, "n:m": 0}
    assert g.relation_counts(official) == {"1:1": 638, "1:n": 0, "n:1": 128, "n:m": 0}

    shared = [it.code for it in okved.by_level("class") if it.code in nace_classes]
    assert len(shared) == 605            # 623 OKVED2 classes less 19.3x, 85.xx, 92.xx
    g.add_links(L("okved2", c, "nace2", c, origin="confirmed") for c in shared)
    derived = g.compose(["okved2", "nace2", "isic4"])
    target = {p.source: p.target for p in corr}
    assert [ln.source for ln in derived] == shared
    assert all((ln.target, ln.weight, ln.score, ln.via, ln.flags) == (target[ln.source], 1.0, 1.0,
                                                                     (f"nace2:{ln.source}",), ()) for ln in derived)
    cv = coverage(okved, isic, derived, levels=["class"])
    assert (cv.source_total, cv.source_matched, cv.target_total, cv.target_matched) == (623, 605, 419, 411)
    # the ISIC classes only reached through NACE classes OKVED2 splits differently
    assert cv.target_unmatched == ["8510", "8521", "8522", "8541", "8542", "8549", "8550", "9200"]
    assert coverage(nace, isic, classes, levels=["class"]).target_unmatched == []


def test_isco08_isco88_official_table_both_ways(ref):
    corr = crosswalk.load(ref("isco08_isco88/corrtab08-88.xls")).correspondence
    g = CrosswalkGraph()
    there, back = g.add_correspondence(corr), g.add_correspondence(corr.reversed())
    assert len(there) == len(back) == 671
    assert sum("partial" in ln.flags for ln in there) == 451
    assert g.relation_counts(there) == {"1:1": 137, "1:n": 13, "n:1": 25, "n:m": 27}
    assert g.relation_counts(back) == {"1:1": 137, "1:n": 25, "n:1": 13, "n:m": 27}
    for links in (there, back):
        sums = {}
        for ln in links:
            sums[ln.source] = sums.get(ln.source, Fraction(0)) + Fraction(ln.weight)
        assert all(abs(s - 1) < 1e-12 for s in sums.values())
