"""`crosswalk build`: load a set of classifiers, match the configured scheme pairs,
compose the crosswalks no table gives directly, and write everything to one folder.

Output folder::

    candidates/<source>__<target>.csv     every proposed candidate with score and evidence
    crosswalks/<a>__<b>[__<c>].csv         links of each route: score, split weight,
                                           relation (1:1, 1:n, n:1, n:m), via, flags
    summary.json                           coverage, relation counts, review counts
    build.json                             the configuration used (rerun with --config)

The draft: each source item gets ONE link. Where two schemes share codes (OKZ-2014 and
ISCO-08, OKVED2 and NACE Rev.2) and the data show no deviation — the same code at the same
level (an OKVED2 subclass: the NACE class above it), outside the divisions the data show were
regrouped — the link is an identity accepted by structure (origin ``structure``, status
confirmed, flag ``identity``/``descendant``). Everywhere else it is the matcher's best
candidate (origin ``proposed``, weight 1), flagged ``review`` unless it scores at least
``auto_accept``; the other candidates are alternatives for reviewers (candidates/*.csv and the
review store), never split weights. Official tables enter as published (status confirmed).
A composed link is as strong as its weakest step (``status``, ``weakest_step``).

``summary.json`` holds, per matched pair, how many items are identities, proposals, to
review and the regrouped divisions; per route, the checks of :mod:`crosswalk.analyse`
(unmatched items on both sides, mismatch share, redundant links, reference violations,
connected groups by kind and size); the files loaded but not used, and why. With
``max_unmatched`` a route whose mismatch share exceeds it fails the build (after writing, so
the output can be read).
"""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

from .analyse import analyse
from .candidates import CandidateSet, atomic_write, sheet_safe, write_candidates
from .errors import CrosswalkError, LoadError
from .graph import CrosswalkGraph, coverage
from .index import CodingIndex
from .loaders import load, usage
from .loaders.combine import combine
from .match import match
from .match.context import MatchContext
from .match.hubs import attractors
from .match.structure import DESCENDANT_SCORE, deviation, regrouped_divisions, reshuffled_parents, shares_codes
from .model import Classification, Correspondence, Link
from .settings import BuildConfig

Progress = Callable[[str, int, int], None]
LINK_COLUMNS = ("source_scheme", "source_code", "source_title", "target_scheme", "target_code",
                "target_title", "score", "weight", "relation", "origin", "status", "weakest_step", "via", "flags")


@dataclass
class BuildResult:
    output: Path
    files: dict[str, str] = field(default_factory=dict)          # scheme or table -> file loaded
    candidates: dict[str, CandidateSet] = field(default_factory=dict)
    drafts: dict[str, list[Link]] = field(default_factory=dict)  # "<source>__<target>" -> one link per item
    crosswalks: dict[str, list[Link]] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)       # file -> rows rejected on load
    unused: list[dict] = field(default_factory=list)             # files loaded but not used, and why
    indexes: list[CodingIndex] = field(default_factory=list)     # coding indexes among the files
    combined: dict[str, list] = field(default_factory=dict)      # scheme -> files whose codes were added
    classifications: dict[str, Classification] = field(default_factory=dict)   # as matched (combined, notes joined)
    used: list[dict] = field(default_factory=list)               # classifications: file, items, excerpt


def _problems(res) -> int:
    return sum(1 for p in res.report.problems if p.severity in ("error", "warning"))


def _join_notes(chosen: Classification, others: list[tuple[str, Classification]]) -> tuple[Classification, dict]:
    """``chosen`` with the explanatory notes of other editions of its scheme added to its
    items that have none and carry the same code (the 2016 OKVED2 notes for the 2023 items).
    Returns the classification and file -> items that got notes from it."""
    got: dict[str, int] = {}
    items = []
    for it in chosen:
        offers = [(path, other) for path, other in others if it.code in other and other.get(it.code).notes.strip()]
        if not it.notes.strip() and offers:
            # of two copies of a note, the one whose line breaks survived (the 2016 data.json
            # runs sentences together: «…животныхЭта группировка…»), then the first file
            path, other = max(offers, key=lambda o: o[1].get(it.code).notes.count("\n"))
            it = replace(it, notes=other.get(it.code).notes,
                         attrs={**it.attrs, "notes_edition": other.edition or path})
            got[path] = got.get(path, 0) + 1
        items.append(it)
    if not got:
        return chosen, got
    return Classification(chosen.scheme, items, edition=chosen.edition, language=chosen.language,
                          source=chosen.source), got


def _load_all(files, result: BuildResult, *, strict: bool = False):
    """Classifications by scheme and correspondences by (source, target). Of several files of
    one scheme the larger one is used (the full table over an excerpt), then the one with fewer
    problems, then the first by name; the others are listed in ``result.unused`` with the
    reason, and their notes join the used classification's items of the same code.
    ``strict``: see :func:`crosswalk.loaders.load`."""
    loaded: dict[str, list[tuple[tuple, str, Classification]]] = {}
    corrs: dict[tuple[str, str], list[tuple[tuple, str, Correspondence]]] = {}
    extras: dict[str, list[tuple[tuple, str, Classification]]] = {}
    skipped = []
    for path in sorted(str(f) for f in files):
        try:
            res = load(path, strict=strict)
        except (LoadError, CrosswalkError) as exc:
            msg = str(exc)
            skipped.append(msg if msg.startswith(path) else f"{path}: {msg}")
            continue
        if res.data is None or not len(res.data):
            rep = res.report
            skipped.append(f"{path}: nothing loaded ({rep.rows_read} rows read, {rep.rows_rejected}"
                           " rejected; run `crosswalk validate` on it)")
            continue
        if res.report.rows_rejected:
            result.rejected[path] = res.report.rows_rejected
        rank = (-len(res.data), _problems(res), path)
        if isinstance(res.data, Classification):
            loaded.setdefault(res.data.scheme.id, []).append((rank, path, res.data))
        elif isinstance(res.data, Correspondence):
            key = (res.data.source_scheme.id, res.data.target_scheme.id)
            corrs.setdefault(key, []).append((rank, path, res.data))
        elif isinstance(res.data, CodingIndex):
            result.indexes.append(res.data)
            result.files[f"index:{res.data.name}"] = path
        for extra in res.extra.values():
            if isinstance(extra, Classification) and len(extra):
                extras.setdefault(extra.scheme.id, []).append(((-len(extra), 0, path), path, extra))
    classes: dict[str, Classification] = {}
    for scheme, offers in sorted(loaded.items()):
        offers.sort(key=lambda o: o[0])
        (_, path, chosen), rest = offers[0], offers[1:]
        # files of one scheme and edition that complement each other combine (loaders/combine.py:
        # the OKZ examples extract and the label scrape with the ten national groups)
        kept = []
        for offer in rest:
            merged, added = combine(chosen, offer[2])
            if merged is not chosen:
                chosen = merged
                result.combined.setdefault(scheme, []).append({"file": offer[1], "codes_added": added})
            else:
                kept.append(offer)
        rest = kept
        chosen, joined = _join_notes(chosen, [(p, c) for _, p, c in sorted(rest, key=lambda o: o[0][1:])])
        classes[scheme] = chosen
        result.files[scheme] = path
        for _, other, cls in rest:
            reason = (f"another {scheme} file is used: {path} ({len(chosen)} items"
                      f"{', edition ' + chosen.edition if chosen.edition else ''}) over this one ({len(cls)}"
                      f" items{', edition ' + cls.edition if cls.edition else ''})")
            if joined.get(other):
                reason += f"; its notes were joined to {joined[other]} items of the same code"
            result.unused.append({"file": other, "scheme": scheme, "reason": reason})
    for key, offers in sorted(corrs.items()):
        offers.sort(key=lambda o: o[0])
        result.files[f"{key[0]}-{key[1]}"] = offers[0][1]
        for _, other, corr in offers[1:]:
            result.unused.append({"file": other, "scheme": f"{key[0]}-{key[1]}",
                                  "reason": f"another table is used: {offers[0][1]} ({len(offers[0][2])} pairs)"
                                            f" over this one ({len(corr)} pairs)"})
    # a classification a correspondence file carries is used only for a scheme no file of
    # its own gives, whatever the order of the file names
    for scheme, offers in sorted(extras.items()):
        offers.sort(key=lambda o: o[0])
        if scheme not in classes:
            classes[scheme] = offers[0][2]
            result.files[scheme] = offers[0][1]
    result.files = dict(sorted(result.files.items(), key=lambda kv: (":" in kv[0], "-" in kv[0], kv[0])))
    result.used = [dict(usage(k, result.files[k], c), edition=c.edition, language=c.language)
                   for k, c in sorted(classes.items())]
    return classes, {k: v[0][2] for k, v in corrs.items()}, skipped


def draft_links(cset: CandidateSet, source: Classification, target: Classification,
                auto_accept: float) -> tuple[list[Link], dict]:
    """One link per source item (rules in the module docstring) and the counts by kind."""
    shared = shares_codes(source.scheme.id, target.scheme.id)
    ctx = MatchContext(source, target)
    regrouped = regrouped_divisions(ctx) if shared else {}
    links, counts = [], Counter()
    for code, cands in cset.by_source().items():
        # the code the structure signal followed: the item's own, or its nearest ancestor's
        followed = next((a.code for a in [source.get(code), *source.ancestors(code)]
                         if a.code in target), code) if code in source else code
        deviates = deviation(ctx, followed) if shared else ""
        same = next((c for c in cands if c.evidence.get("structure", 0.0) >= DESCENDANT_SCORE), None)
        if same is not None and not deviates:
            kind = "identity" if same.target == code else "descendant"
            links.append(Link(cset.source_scheme, code, cset.target_scheme, same.target, "structure",
                              1.0, 1.0, flags=(kind,)))
            counts[kind] += 1
            continue
        top = cands[0]
        flags = ((deviates, "review") if deviates else ("review",) if top.score < auto_accept else ())
        links.append(Link(cset.source_scheme, code, cset.target_scheme, top.target, "proposed",
                          top.score, 1.0, flags=flags))
        counts["review" if "review" in flags else "proposed_accepted"] += 1
    stats = {"sources": len(links), "identity": counts["identity"], "descendant": counts["descendant"],
             "proposed": counts["review"] + counts["proposed_accepted"], "review": counts["review"],
             "regrouped_divisions": sorted(regrouped),
             "reshuffled_codes": sorted(reshuffled_parents(ctx)) if shared else []}
    return links, stats


def _links_csv(links, relations, s_titles, t_titles) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(LINK_COLUMNS)
    for ln in links:
        w.writerow([ln.source_scheme, ln.source, sheet_safe(s_titles.get(ln.source, "")),
                    ln.target_scheme, ln.target, sheet_safe(t_titles.get(ln.target, "")),
                    f"{ln.score:.4f}", f"{ln.weight:.6f}", relations[(ln.source, ln.target)], ln.origin,
                    ln.status, ln.weakest, " ".join(ln.via), " ".join(ln.flags)])
    return buf.getvalue().encode("utf-8")


def _titles(cls: Optional[Classification]) -> dict[str, str]:
    return {it.code: it.title for it in cls} if cls is not None else {}


def _route_entry(links: list[Link], graph: CrosswalkGraph, s_cls, t_cls) -> dict:
    entry = {"links": len(links), "relations": graph.relation_counts(links),
             "review": len({ln.source for ln in links if "review" in ln.flags}),
             "paths_disagree": len({ln.source for ln in links if "paths_disagree" in ln.flags})}
    if s_cls and t_cls:
        cov = coverage(s_cls, t_cls, links)
        entry["coverage"] = {"source_items": cov.source_total, "source_linked": cov.source_matched,
                             "source_share": round(cov.source_share, 4),
                             "target_items": cov.target_total, "target_linked": cov.target_matched,
                             "target_share": round(cov.target_share, 4),
                             "source_unlinked_sample": cov.source_unmatched[:10]}
    entry["checks"] = analyse(links, source=s_cls, target=t_cls).as_dict()
    return entry


def build(config: BuildConfig, *, progress: Optional[Progress] = None, strict: bool = False) -> BuildResult:
    config.check()
    out = Path(config.output)
    out.mkdir(parents=True, exist_ok=True)
    result = BuildResult(out)
    note = progress or (lambda stage, done, total: None)
    classes, corrs, skipped = _load_all(config.files, result, strict=strict)
    result.classifications = classes
    if not classes and not corrs:
        more = f" (+{len(skipped) - 5} more)" if len(skipped) > 5 else ""
        raise CrosswalkError("nothing to build: no file could be loaded"
                             + (": " + "; ".join(skipped[:5]) + more if skipped else ""))
    note("load", 1, 1)
    from .api import read_indexes
    indexes = result.indexes + read_indexes(config.indexes)
    use_embeddings = config.embeddings
    if use_embeddings is None:                      # auto: on when the optional model is installed
        from .embeddings import available
        use_embeddings = available(config.embedding_model)
    embedder = None
    if use_embeddings and config.embedding_model != "e5":
        from .embeddings import Embedder
        embedder = Embedder(model=config.embedding_model)

    graph = CrosswalkGraph()
    for (a, b), corr in sorted(corrs.items()):
        graph.add_correspondence(corr)
        graph.add_correspondence(corr.reversed())       # official tables are read both ways

    (out / "candidates").mkdir(exist_ok=True)
    (out / "crosswalks").mkdir(exist_ok=True)
    pairs = [p for p in config.pairs if p.source in classes and p.target in classes]
    pair_stats = {}
    for k, pair in enumerate(pairs, 1):
        src, tgt = classes[pair.source], classes[pair.target]
        ctx = [classes[c] for c in pair.context if c in classes]
        name = f"{pair.source}→{pair.target}"
        cset = match(src, tgt, target_context=ctx, embeddings=use_embeddings, limit=pair.limit, indexes=indexes,
                     embedder=embedder, memo=True, population=src,
                     progress=lambda d, t, name=name: note(f"match {name}", d, t),
                     embed_progress=lambda what, d, t, name=name: note(f"embed {name} {what}", d, t))
        key = f"{pair.source}__{pair.target}"
        write_candidates(out / "candidates" / f"{key}.csv", cset)
        result.candidates[key] = cset
        links, pair_stats[key] = draft_links(cset, src, tgt, config.auto_accept)
        result.drafts[key] = links
        graph.add_links(links)

    summary = {"files": result.files, "classifications": result.used,
               "unused_files": result.unused, "skipped_files": skipped,
               "rejected_rows": dict(sorted(result.rejected.items())), "embeddings": use_embeddings,
               "pairs": pair_stats, "crosswalks": {}, "candidates": {}}
    for name, cset in result.candidates.items():
        by = cset.by_source()
        summary["candidates"][name] = {
            "sources": len(by), "candidates": len(cset.candidates),
            "top": [{"source": s, "source_title": cset.source_titles.get(s, ""), "target": c[0].target,
                     "target_title": cset.target_titles.get(c[0].target, ""), "score": c[0].score}
                    for s, c in sorted(by.items(), key=lambda kv: (-kv[1][0].score, kv[0]))[:5]]}
    # targets many sources take first, far beyond their share (match/hubs.py)
    summary["attractors"] = {name: attractors(cset, len(classes[name.split("__")[1]].by_level(
        max(it.level for it in classes[name.split("__")[1]]))), top=10)
        for name, cset in result.candidates.items()}
    summary["indexes"] = {ix.name: ix.counts_by_source() for ix in indexes}
    if result.combined:
        summary["combined"] = result.combined
    # every matched pair is written as it stands (one link per item), then every route
    steps = [[p.source, p.target] for p in pairs]
    routes = steps + [r for r in config.routes if r not in steps and all(s in graph.schemes() for s in r)]
    over = []
    for n, route in enumerate(routes, 1):
        name = "__".join(route)
        try:
            links = graph.compose(route)
        except CrosswalkError:          # a step of the route has no links (nothing matched there)
            continue
        if not links:
            continue
        result.crosswalks[name] = links
        s_cls, t_cls = classes.get(route[0]), classes.get(route[-1])
        atomic_write(out / "crosswalks" / f"{name}.csv",
                     _links_csv(links, graph.relations(links), _titles(s_cls), _titles(t_cls)))
        entry = _route_entry(links, graph, s_cls, t_cls)
        summary["crosswalks"][name] = entry
        mismatch = entry["checks"]["mismatch"]
        if config.max_unmatched is not None and mismatch > config.max_unmatched:
            over.append(f"{'→'.join(route)} {mismatch:.1%}")
        note("compose", n, len(routes))
    result.summary = summary
    atomic_write(out / "summary.json", (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode())
    # file names relative to the output folder, so `build --config OUT/build.json` reruns it
    atomic_write(out / "build.json", (json.dumps(config.to_dict(relative_to=out), indent=2,
                                                 ensure_ascii=False) + "\n").encode())
    if over:
        raise CrosswalkError(f"the share of unmatched items exceeds max_unmatched {config.max_unmatched:.1%}"
                             f" on {', '.join(over)} (the output is written to {out}; see checks in"
                             " summary.json)")
    return result
