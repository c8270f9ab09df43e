"""`crosswalk build`: load a set of classifiers, match the configured scheme pairs,
compose the crosswalks no table gives directly, and write everything to one folder.

Output folder::

    candidates/<source>__<target>.csv     every proposed candidate with score and evidence
    crosswalks/<a>__<b>[__<c>].csv         links of each route: score, split weight,
                                           relation (1:1, 1:n, n:1, n:m), via, flags
    summary.json                           coverage, relation counts, review counts
    build.json                             the configuration used (rerun with --config)

A proposed link is flagged ``review`` unless it lies outside a regrouped division and
either joins two items with the same code (or an OKVED2 subclass to the NACE class above it)
or scores at least
the ``auto_accept`` threshold; for such items the first
``review_top`` candidates enter the graph (as alternatives with split weights by score)
so reviewers see them all. Composed links inherit the flags of every step.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .candidates import CandidateSet, atomic_write, sheet_safe, write_candidates
from .errors import CrosswalkError, LoadError
from .graph import CrosswalkGraph, coverage
from .loaders import load, usage
from .match import match
from .match.structure import DESCENDANT_SCORE, regrouped_divisions, shares_codes
from .match.context import MatchContext
from .model import Classification, Correspondence, Link
from .settings import BuildConfig

Progress = Callable[[str, int, int], None]
LINK_COLUMNS = ("source_scheme", "source_code", "source_title", "target_scheme", "target_code",
                "target_title", "score", "weight", "relation", "origin", "via", "flags")


@dataclass
class BuildResult:
    output: Path
    files: dict[str, str] = field(default_factory=dict)          # scheme or table -> file loaded
    candidates: dict[str, CandidateSet] = field(default_factory=dict)
    crosswalks: dict[str, list[Link]] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)       # file -> rows rejected on load
    used: list[dict] = field(default_factory=list)               # classifications: file, items, excerpt


def _load_all(files, result: BuildResult, *, strict: bool = False):
    """Classifications by scheme and correspondences by (source, target); of two files of one
    scheme the larger one is used (the full table over an excerpt), then the first by name.
    ``strict``: see :func:`crosswalk.loaders.load`."""
    classes: dict[str, tuple[int, str, Classification]] = {}
    corrs: dict[tuple[str, str], tuple[int, str, Correspondence]] = {}
    skipped = []

    def offer(table, key, obj, path):
        prev = table.get(key)
        if prev is None or (len(obj), -0) > (prev[0], -0) or (len(obj) == prev[0] and path < prev[1]):
            table[key] = (len(obj), path, obj)

    extras: dict[str, tuple[int, str, Classification]] = {}
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
        if isinstance(res.data, Classification):
            offer(classes, res.data.scheme.id, res.data, path)
        elif isinstance(res.data, Correspondence):
            key = (res.data.source_scheme.id, res.data.target_scheme.id)
            offer(corrs, key, res.data, path)
        for extra in res.extra.values():
            if isinstance(extra, Classification) and len(extra):
                offer(extras, extra.scheme.id, extra, path)
    # a classification a correspondence file carries is used only for a scheme no file of
    # its own gives, whatever the order of the file names
    for scheme, entry in extras.items():
        classes.setdefault(scheme, entry)
    result.files = {**{k: v[1] for k, v in sorted(classes.items())},
                    **{f"{a}-{b}": v[1] for (a, b), v in sorted(corrs.items())}}
    result.used = [usage(k, v[1], v[2]) for k, v in sorted(classes.items())]
    return ({k: v[2] for k, v in classes.items()}, {k: v[2] for k, v in corrs.items()}, skipped)


def _needs_review(cset: CandidateSet, source: Classification, target: Classification,
                  auto_accept: float) -> set[str]:
    regrouped = set()
    if shares_codes(source.scheme.id, target.scheme.id):
        regrouped = set(regrouped_divisions(MatchContext(source, target)))
    out = set()
    for code, cands in cset.by_source().items():
        top = cands[0]
        # the same code (or the class above an OKVED2 subclass) in a division not regrouped
        exact = top.evidence.get("structure", 0.0) >= DESCENDANT_SCORE
        if not (exact or top.score >= auto_accept) or (code[:1].isdigit()
                                                       and code.replace(".", "")[:2] in regrouped):
            out.add(code)
    return out


def _proposed_links(cset: CandidateSet, review: set[str], review_top: int) -> list[Link]:
    """Top candidate of an accepted item; the first ``review_top`` of an item to review,
    split by score."""
    links = []
    for code, cands in cset.by_source().items():
        kept = cands[:review_top] if code in review else cands[:1]
        total = math.fsum(c.score for c in kept)
        flags = ("review",) if code in review else ()
        links += [Link(cset.source_scheme, code, cset.target_scheme, c.target, "proposed", c.score,
                       c.score / total if total > 0 else 1.0 / len(kept), flags=flags) for c in kept]
    return links


def _links_csv(links, relations, s_titles, t_titles) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(LINK_COLUMNS)
    for ln in links:
        w.writerow([ln.source_scheme, ln.source, sheet_safe(s_titles.get(ln.source, "")),
                    ln.target_scheme, ln.target, sheet_safe(t_titles.get(ln.target, "")),
                    f"{ln.score:.4f}", f"{ln.weight:.6f}", relations[(ln.source, ln.target)], ln.origin,
                    " ".join(ln.via), " ".join(ln.flags)])
    return buf.getvalue().encode("utf-8")


def build(config: BuildConfig, *, progress: Optional[Progress] = None, strict: bool = False) -> BuildResult:
    config.check()
    out = Path(config.output)
    out.mkdir(parents=True, exist_ok=True)
    result = BuildResult(out)
    note = progress or (lambda stage, done, total: None)
    classes, corrs, skipped = _load_all(config.files, result, strict=strict)
    if not classes and not corrs:
        more = f" (+{len(skipped) - 5} more)" if len(skipped) > 5 else ""
        raise CrosswalkError("nothing to build: no file could be loaded"
                             + (": " + "; ".join(skipped[:5]) + more if skipped else ""))
    note("load", 1, 1)
    use_embeddings = config.embeddings
    if use_embeddings is None:                      # auto: on when the optional model is installed
        from .embeddings import available
        use_embeddings = available()

    graph = CrosswalkGraph()
    for (a, b), corr in sorted(corrs.items()):
        graph.add_correspondence(corr)
        graph.add_correspondence(corr.reversed())       # official tables are read both ways

    (out / "candidates").mkdir(exist_ok=True)
    pairs = [p for p in config.pairs if p.source in classes and p.target in classes]
    for k, pair in enumerate(pairs, 1):
        src, tgt = classes[pair.source], classes[pair.target]
        ctx = [classes[c] for c in pair.context if c in classes]
        name = f"{pair.source}→{pair.target}"
        cset = match(src, tgt, target_context=ctx, embeddings=use_embeddings, limit=pair.limit,
                     progress=lambda d, t, name=name: note(f"match {name}", d, t),
                     embed_progress=lambda what, d, t, name=name: note(f"embed {name} {what}", d, t))
        write_candidates(out / "candidates" / f"{pair.source}__{pair.target}.csv", cset)
        result.candidates[f"{pair.source}__{pair.target}"] = cset
        review = _needs_review(cset, src, tgt, config.auto_accept)
        graph.add_links(_proposed_links(cset, review, config.review_top))

    (out / "crosswalks").mkdir(exist_ok=True)
    summary = {"files": result.files, "classifications": result.used, "skipped_files": skipped,
               "rejected_rows": dict(sorted(result.rejected.items())), "embeddings": use_embeddings,
               "crosswalks": {}, "candidates": {}}
    for name, cset in result.candidates.items():
        by = cset.by_source()
        summary["candidates"][name] = {
            "sources": len(by), "candidates": len(cset.candidates),
            "top": [{"source": s, "source_title": cset.source_titles.get(s, ""), "target": c[0].target,
                     "target_title": cset.target_titles.get(c[0].target, ""), "score": c[0].score}
                    for s, c in sorted(by.items(), key=lambda kv: (-kv[1][0].score, kv[0]))[:5]]}
    routes = [r for r in config.routes if all(s in graph.schemes() for s in r)]
    for route in routes:
        name = "__".join(route)
        links = graph.compose(route)
        if not links:
            continue
        result.crosswalks[name] = links
        rel = graph.relations(links)
        s_cls, t_cls = classes.get(route[0]), classes.get(route[-1])
        s_titles = {it.code: it.title for it in s_cls} if s_cls else {}
        t_titles = {it.code: it.title for it in t_cls} if t_cls else {}
        atomic_write(out / "crosswalks" / f"{name}.csv", _links_csv(links, rel, s_titles, t_titles))
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
        summary["crosswalks"][name] = entry
        note("compose", routes.index(route) + 1, len(routes))
    result.summary = summary
    atomic_write(out / "summary.json", (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode())
    # file names relative to the output folder, so `build --config OUT/build.json` reruns it
    atomic_write(out / "build.json", (json.dumps(config.to_dict(relative_to=out), indent=2,
                                                 ensure_ascii=False) + "\n").encode())
    return result
