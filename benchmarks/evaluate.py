"""Match quality against gold, written to reports/evaluation.json (run by hand).

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/evaluate.py [--no-embeddings]

* isco88_to_isco08 — ISCO-88 unit-group titles matched to ISCO-08 with the official ILO
  table hidden from the matcher, scored against that table (389 ISCO-88 groups).
* okpdtr_to_okz — OKPDTR titles matched to OKZ-2014 unit groups (ISCO-08 definitions as
  target context), scored on the agreed rows of gold/okpdtr_okz_dev.csv; no training on
  those labels. ``learned_cv_*``: 5-fold cross-validation (seeded) where the matcher
  learns from the other folds' labels.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk import load  # noqa: E402
from crosswalk.candidates import CandidateSet  # noqa: E402
from crosswalk.embeddings import available  # noqa: E402
from crosswalk.evaluate import evaluate, load_gold  # noqa: E402
from crosswalk.match import match  # noqa: E402

SEED = 20261122
FOLDS = 5


def _paths():
    root = Path(os.environ.get("CROSSWALK_REFERENCE_DATA", ROOT.parent / "shared" / "classifiers"))
    return root, root.parent / "gold"


def _subset(cset: CandidateSet, sources) -> CandidateSet:
    keep = set(sources)
    return CandidateSet(cset.source_scheme, cset.target_scheme,
                        [c for c in cset.candidates if c.source in keep],
                        cset.source_titles, cset.target_titles)


def isco88_to_isco08(root: Path, embeddings: bool) -> dict:
    corr = load(root / "isco08_isco88/corrtab08-88.xls")
    isco88 = corr.extra["isco88"]
    isco08 = load(root / "isco08/ISCO-08 EN Structure and definitions.xlsx").classification
    gold = load_gold(root / "isco08_isco88/corrtab08-88.xls", reverse=True)
    t0 = time.perf_counter()
    cset = match(isco88, isco08, embeddings=embeddings, limit=5)
    ev = evaluate(cset, gold, ks=(1, 3, 5))
    return {"top1": round(ev.top_k[1], 4), "top3": round(ev.top_k[3], 4), "top5": round(ev.top_k[5], 4),
            "n": ev.n, "seconds": round(time.perf_counter() - t0, 2)}


def okpdtr_to_okz(root: Path, gold_dir: Path, embeddings: bool) -> dict:
    okpdtr = load(root / "okpdtr/trudvsem_profession_list.json").classification
    okz = load(root / "okz2014/okz_unit_group_labels_pdf_scrape.json").classification
    isco08 = load(root / "isco08/ISCO-08 EN Structure and definitions.xlsx").classification
    gold = load_gold(gold_dir / "okpdtr_okz_dev.csv")
    t0 = time.perf_counter()
    cset = match(okpdtr, okz, target_context=[isco08], embeddings=embeddings, limit=5)
    ev = evaluate(cset, gold, ks=(1, 3, 5))
    out = {"gold_pairs": ev.n, "top1": round(ev.top_k[1], 4), "top3": round(ev.top_k[3], 4),
           "top5": round(ev.top_k[5], 4), "seconds": round(time.perf_counter() - t0, 2)}
    # cross-validation: learn from 4/5 of the labels, score the held-out fifth
    sources = sorted(gold.primary)
    random.Random(SEED).shuffle(sources)
    hits1 = hits3 = 0
    sub = okpdtr_sub = None
    for k in range(FOLDS):
        test = set(sources[k::FOLDS])
        confirmed = [(s, t) for s in sources if s not in test for t in sorted(gold.primary[s])]
        # match only the held-out items: their scores do not depend on the other sources
        from crosswalk import Classification
        okpdtr_sub = Classification(okpdtr.scheme, [okpdtr.get(c) for c in sorted(set(sources))
                                                    if c in okpdtr], edition=okpdtr.edition)
        sub = match(okpdtr_sub, okz, target_context=[isco08], embeddings=embeddings,
                    confirmed=confirmed, limit=5)
        fold = evaluate(_subset(sub, test), type(gold)(gold.source_scheme, gold.target_scheme,
                        {s: gold.acceptable[s] for s in test}, {s: gold.primary[s] for s in test},
                        gold.name), ks=(1, 3))
        hits1 += round(fold.top_k[1] * fold.n)
        hits3 += round(fold.top_k[3] * fold.n)
    out["learned_cv_top1"] = round(hits1 / len(sources), 4)
    out["learned_cv_top3"] = round(hits3 / len(sources), 4)
    out["learned_cv_folds"] = FOLDS
    return out


def okved2_to_isic4(root: Path, gold_dir: Path, embeddings: bool) -> dict:
    """OKVED2 classes → ISIC4 through NACE2, as `crosswalk build` composes them. Outside
    divisions 19/85/92 the gold is NACE2→ISIC4 of the same code; inside, the regrouped gold."""
    import csv
    from crosswalk.build import draft_links
    from crosswalk.graph import CrosswalkGraph
    okved = load(root / "okved2/rosstat_opendata_2023-12-01/data-20231201-structure-20180402.csv").classification
    nace = load(root / "nace2/nace2_structure_en.csv").classification
    conc = load(root / "nace2/nace2_isic4_concordance.csv").correspondence
    t0 = time.perf_counter()
    cset = match(okved, nace, embeddings=embeddings, limit=5)
    graph = CrosswalkGraph()
    graph.add_correspondence(conc)
    graph.add_links(draft_links(cset, okved, nace, 0.95)[0])
    links = graph.compose(["okved2", "nace2", "isic4"])
    seconds = time.perf_counter() - t0
    by: dict[str, list] = {}
    for ln in links:
        by.setdefault(ln.source, []).append(ln)
    ranked = {s: [ln.target for ln in sorted(v, key=lambda ln: (-ln.score, -ln.weight, ln.target))]
              for s, v in by.items()}
    flagged = {s for s, v in by.items() if any("review" in ln.flags for ln in v)}
    n2i = {p.source: p.target for p in conc}
    outside = [it.code for it in okved.by_level("class") if it.code[:2] not in ("19", "85", "92")]
    correct = sum(1 for c in outside if ranked.get(c, [None])[0] == n2i.get(c))
    with open(gold_dir / "okved2_isic4_regrouped.csv", encoding="utf-8") as fh:
        regrouped = list(csv.DictReader(fh))
    top3 = 0
    for row in regrouped:
        ok = {row["isic4_code"]} | {x for x in row["also_acceptable"].replace(";", "|").split("|") if x}
        top3 += bool(ok & set(ranked.get(row["okved2_code"], [])[:3]))
    return {"outside_regrouped_correct": round(correct / len(outside), 4), "outside_regrouped_n": len(outside),
            "regrouped_top3": round(top3 / len(regrouped), 4), "regrouped_n": len(regrouped),
            "regrouped_marked_for_review": sum(1 for r in regrouped if r["okved2_code"] in flagged),
            "outside_regrouped_auto_accepted": sum(1 for c in outside if c not in flagged),
            "seconds": round(seconds, 2)}


def okved2_editions(root: Path) -> dict:
    """`crosswalk diff` of the OKVED2 2016 edition (with notes) against the 2023 Rosstat one."""
    from crosswalk.diff import diff
    old = load(root / "okved2/consultantplus_2016_with_notes/sorted.json").classification
    new = load(root / "okved2/rosstat_opendata_2023-12-01/data-20231201-structure-20180402.csv").classification
    d = diff(old, new)
    counts = d.counts()
    return {"added": len(d.codes_added), "deleted": len(d.codes_deleted), "renamed": counts["renamed"],
            "whitespace_only": len(d.whitespace_only), "moved": counts["moved"],
            "split": counts["split"], "merged": counts["merged"],
            "note": "added/deleted = codes only in one edition; renamed excludes whitespace-only"
                    " caption differences; moved pairs are also among added/deleted"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-embeddings", action="store_true", help="core signals only")
    ap.add_argument("--out", default=str(ROOT / "reports" / "evaluation.json"))
    args = ap.parse_args()
    root, gold_dir = _paths()
    emb = available() and not args.no_embeddings
    out_path = Path(args.out)
    report = json.loads(out_path.read_text(encoding="utf-8")) if out_path.is_file() else {}
    report["isco88_to_isco08"] = isco88_to_isco08(root, emb)
    report["okpdtr_to_okz"] = okpdtr_to_okz(root, gold_dir, emb)
    report["okved2_to_isic4"] = okved2_to_isic4(root, gold_dir, emb)
    report["okved2_editions"] = okved2_editions(root)
    report["config"] = {"embeddings": emb, "seed": SEED}
    if emb:   # the same runs without the optional model, to show what it adds
        report["without_embeddings"] = {
            "isco88_to_isco08": isco88_to_isco08(root, False),
            "okpdtr_to_okz": okpdtr_to_okz(root, gold_dir, False),
            "okved2_to_isic4": okved2_to_isic4(root, gold_dir, False)}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
