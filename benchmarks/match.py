"""Speed of candidate generation, written to reports/match.json (run by hand).

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/match.py [--repeat 3]

OKPDTR (~8,000 titles) × OKZ-2014 unit groups with the core signals (the vectorised
engine: token matrices + rapidfuzz ``process.cdist``), against the naive way a user
would write it with RapidFuzz's API — a Python loop of ``process.extract`` per title,
normalising with the same processor — in the same process. Medians of the repeats.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process  # noqa: E402

from crosswalk import load, normalize  # noqa: E402
from crosswalk.match import match  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "reports" / "match.json"))
    args = ap.parse_args()
    root = Path(os.environ.get("CROSSWALK_REFERENCE_DATA", ROOT.parent / "shared" / "classifiers"))
    okpdtr = load(root / "okpdtr/trudvsem_profession_list.json").classification
    okz = load(root / "okz2014/okz_unit_group_labels_pdf_scrape.json").classification
    isco = load(root / "isco08/ISCO-08 EN Structure and definitions.xlsx").classification
    titles = [it.title for it in okpdtr]
    labels = [it.title for it in okz]
    proc = partial(normalize.key, language="ru")
    match(okpdtr, okz, target_context=[isco])        # warm-up: imports, lemma caches

    fast, naive = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        cset = match(okpdtr, okz, target_context=[isco], limit=5, workers=-1)
        fast.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for t in titles:
            process.extract(t, labels, scorer=fuzz.token_set_ratio, processor=proc, limit=5)
        naive.append(time.perf_counter() - t0)
    report = {
        "okpdtr_okz_seconds_median": round(statistics.median(fast), 3),
        "naive_seconds_median": round(statistics.median(naive), 3),
        "speedup": round(statistics.median(naive) / statistics.median(fast), 1),
        "sources": len(titles), "targets": len(labels), "candidates": len(cset.candidates),
        "repeats": args.repeat,
        "engine": "core signals (title_tokens, title_fuzzy via process.cdist with workers=-1, part), no embeddings",
        "naive": "for each title: process.extract(title, okz_labels, scorer=token_set_ratio,"
                 " processor=normalize.key, limit=5)",
        "goal": "< 5 s and >= 10x faster than naive",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
