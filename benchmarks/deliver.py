"""What the forecasting team gets from one build on the full reference data, written to
reports/deliver.json (run by hand):

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/deliver.py [--no-embeddings]
        [--data DIR] [--gold DIR] [--output reports/deliver.json] [--work DIR] [--force]

* ``okz_isco`` — OKZ-2014 → ISCO-08: unit groups both hold (``shared_codes``), identities the
  build accepted by structure (``identity_accepted``), groups sent to review (``to_review``).
* ``okpdtr_isco08`` — the draft OKPDTR → OKZ-2014 → ISCO-08: links per source (median), the
  number of connected groups and the largest, and top-1 against the dev gold (OKZ-2014 codes
  equal ISCO-08 codes there) next to the OKPDTR → OKZ-2014 step's own top-1: composition must
  lose nothing.
* ``okved2_isic4`` — the draft OKVED2 → NACE2 → ISIC4: the 22 regrouped classes of
  gold/okved2_isic4_regrouped.csv (the heaviest ISIC target is right: ``regrouped_top1``) and the
  classes outside divisions 19/85/92 (``outside_correct`` of ``outside_n``: NACE2→ISIC4 of the
  same code).

Counts are integers, shares fractions in [0, 1]. The build runs into ``--work`` (a temporary
folder by default); an existing report is kept unless ``--force``.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk import load  # noqa: E402
from crosswalk.analyse import analyse  # noqa: E402
from crosswalk.build import build  # noqa: E402
from crosswalk.evaluate import load_gold  # noqa: E402
from crosswalk.settings import BuildConfig  # noqa: E402


def _heaviest(links) -> dict[str, str]:
    """source -> its heaviest target (then the best-scored, then the lowest code)."""
    best: dict[str, tuple] = {}
    for ln in links:
        key = (-ln.weight, -ln.score, ln.target)
        if ln.source not in best or key < best[ln.source][0]:
            best[ln.source] = (key, ln.target)
    return {s: v[1] for s, v in best.items()}


def okz_isco(result, classes) -> dict:
    okz, isco = classes["okz2014"], classes["isco08"]
    units = {it.code for it in isco.by_level("unit")}
    draft = result.drafts["okz2014__isco08"]
    return {"okz_groups": len(okz), "shared_codes": len(set(okz.codes) & units),
            "identity_accepted": sum(1 for ln in draft if ln.origin == "structure" and "identity" in ln.flags),
            "to_review": sum(1 for ln in draft if "review" in ln.flags),
            "by_status": dict(Counter(ln.status for ln in draft))}


def okpdtr_isco08(result, classes, gold_dir: Path) -> dict:
    gold = load_gold(gold_dir / "okpdtr_okz_dev.csv")
    route = result.crosswalks["okpdtr__okz2014__isco08"]
    per_source = Counter(ln.source for ln in route)
    checks = analyse(route, source=classes["okpdtr"], target=classes["isco08"])
    composed, step = _heaviest(route), _heaviest(result.drafts["okpdtr__okz2014"])

    def top1(pred: dict) -> float:
        return sum(1 for s, ok in gold.acceptable.items() if pred.get(s) in ok) / len(gold.acceptable)

    return {"sources": len(per_source), "links": len(route),
            "links_per_source_median": statistics.median(per_source.values()),
            "links_per_source_max": max(per_source.values()),
            "groups": checks.groups["count"], "largest_group": checks.groups["largest"],
            "largest_group_targets": checks.groups["largest_targets_sample"],
            "group_sizes": checks.groups["sizes"], "by_status": checks.by_status,
            "dev_n": len(gold.acceptable), "top1_dev": round(top1(composed), 4),
            "okpdtr_okz_top1_dev": round(top1(step), 4)}


def okved2_isic4(result, classes, conc, gold_dir: Path) -> dict:
    route = result.crosswalks["okved2__nace2__isic4"]
    pred = _heaviest(route)
    n2i = {p.source: p.target for p in conc}
    with open(gold_dir / "okved2_isic4_regrouped.csv", encoding="utf-8") as fh:
        regrouped = list(csv.DictReader(fh))
    hits, misses = 0, []
    for row in regrouped:
        ok = {row["isic4_code"]} | {x for x in row["also_acceptable"].replace(";", "|").split("|") if x}
        if pred.get(row["okved2_code"]) in ok:
            hits += 1
        else:
            misses.append(f"{row['okved2_code']}→{pred.get(row['okved2_code'])} (gold {'|'.join(sorted(ok))})")
    outside = [it.code for it in classes["okved2"].by_level("class") if it.code[:2] not in ("19", "85", "92")]
    correct = sum(1 for c in outside if pred.get(c) == n2i.get(c))
    statuses = Counter(ln.status for ln in route if ln.source in set(outside))
    return {"regrouped_n": len(regrouped), "regrouped_top1": hits, "regrouped_misses": misses,
            "outside_n": len(outside), "outside_correct": correct,
            "outside_confirmed": statuses.get("confirmed", 0),
            "regrouped_to_review": sum(1 for ln in route if ln.source in {r["okved2_code"] for r in regrouped}
                                       and ln.status == "proposed")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_data = Path(os.environ.get("CROSSWALK_REFERENCE_DATA", ROOT.parent / "shared" / "classifiers"))
    ap.add_argument("--data", type=Path, default=default_data, help="the reference classifiers folder")
    ap.add_argument("--gold", type=Path, default=None, help="the gold folder (default: DATA/../gold)")
    ap.add_argument("--output", type=Path, default=ROOT / "reports" / "deliver.json")
    ap.add_argument("--work", type=Path, default=None, help="build output folder (default: a temporary one)")
    ap.add_argument("--no-embeddings", action="store_true")
    ap.add_argument("--force", action="store_true", help="overwrite an existing report")
    args = ap.parse_args(argv)
    if args.output.exists() and not args.force:
        print(f"{args.output} exists; pass --force to overwrite it", file=sys.stderr)
        return 2
    gold = args.gold or args.data.parent / "gold"
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp) / "out"
        cfg = BuildConfig.discover(args.data, output=str(work), embeddings=not args.no_embeddings)
        t0 = time.perf_counter()
        last = [""]

        def progress(stage, done, total):
            if stage != last[0] or done == total:
                print(f"  {stage}: {done}/{total}", file=sys.stderr, flush=True)
                last[0] = stage

        print(f"building {args.data} into {work} …", file=sys.stderr)
        result = build(cfg, progress=progress)
        seconds = time.perf_counter() - t0
        classes = result.classifications
        conc = load(result.files["nace2-isic4"]).correspondence
        report = {"data": str(args.data), "embeddings": not args.no_embeddings,
                  "build_seconds": round(seconds, 1),
                  "okz_isco": okz_isco(result, classes),
                  "okpdtr_isco08": okpdtr_isco08(result, classes, gold),
                  "okved2_isic4": okved2_isic4(result, classes, conc, gold),
                  "unused_files": result.summary["unused_files"]}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "unused_files"}, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
