"""Free-text coding: throughput and accuracy, written to reports/code.json (run by hand).

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/code.py [--repeat 3] [--embeddings] \
        [--out reports/code.json] [--force]

Throughput: a CSV of 1,000,000 vacancy-like rows holding 50,000 distinct titles (after
normalisation; more raw spellings: capitals, stray spaces), made from the OKPDTR titles with
seniority words, grades and places, drawn with Zipf-like frequencies (seeded), coded to OKZ-2014
unit groups with `crosswalk.code()` end to end — read the file, deduplicate, match, write the
coded rows — embeddings off. In the same process: the file read and written without coding (the
I/O floor), and coding without deduplication (every row matched) timed on 20,000 rows and
scaled to the million (the cost the deduplication saves).

Accuracy: the 132 agreed titles of gold/okpdtr_okz_dev.csv coded as free text (no OKPDTR codes,
so no worker/employee prior), top-1/top-3 against the agreed OKZ group.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from crosswalk.code import code, code_frame, code_titles, key_code, load_target, title_key  # noqa: E402
from crosswalk.io.frames import read_data, write_frame  # noqa: E402
from crosswalk.loaders import load  # noqa: E402

SEED = 20261122
FOLDS = 5
T0 = time.perf_counter()


def say(*msg) -> None:
    print(f"[{time.perf_counter() - T0:7.1f} s]", *msg, file=sys.stderr, flush=True)
PREFIX = ["", "старший ", "ведущий ", "главный ", "помощник ", "младший ", "стажер ", "заместитель "]
SUFFIX = ["", " 3 разряда", " 4 разряда", " 5 разряда", " (вахта)", " на склад", " в цех", " в ночную смену",
          " г. Москва", " г. Казань", " с обучением", " без опыта"]


def make_titles(base: list[str], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    seen, out = set(), []
    while len(out) < n:
        t = rng.choice(PREFIX) + rng.choice(base) + rng.choice(SUFFIX)
        t = t[0].upper() + t[1:]
        k = title_key(t)
        if k not in seen:
            seen.add(k)
            out.append(t)
    return out


def make_rows(titles: list[str], n_rows: int, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    # every title at least once, the rest Zipf-like (a few titles cover many rows)
    weights = [1.0 / (r + 1) ** 0.8 for r in range(len(titles))]
    picks = list(range(len(titles))) + rng.choices(range(len(titles)), weights=weights, k=n_rows - len(titles))
    rng.shuffle(picks)
    out = []
    for i in picks:
        t = titles[i]
        r = rng.random()
        if r < 0.05:
            t = t.upper()
        elif r < 0.10:
            t = " " + t.lower() + " "
        elif r < 0.11:
            t = ""
        out.append(t)
    return pd.DataFrame({"id": [str(i) for i in range(1, n_rows + 1)], "title": out,
                         "region": [rng.choice(["77", "16", "50", "78"]) for _ in range(n_rows)]})


def _ranks(res, titles, wanted):
    out = []
    for title, want in zip(titles, wanted):
        cands = res.candidates.get(key_code(title_key(title)), [])
        got = [c.target for c in cands]
        out.append((got.index(want) + 1 if want in got else None, cands[0].score if cands else 0.0))
    return out


def _tops(ranks) -> tuple[float, float]:
    n = len(ranks)
    return (round(sum(r == 1 for r, _ in ranks) / n, 4), round(sum(r is not None and r <= 3 for r, _ in ranks) / n, 4))


def accuracy(root: Path, target, ctx, embeddings: bool) -> dict:
    """Top-1/top-3 of the agreed dev titles as free text; the same with 5-fold learning
    (each fold coded with the other folds' titles as confirmed codings, seeded); and how
    the best score separates right from wrong (share of titles at or above a threshold,
    top-1 precision among them) to choose --min-score."""
    gold = pd.read_csv(root.parent / "gold" / "okpdtr_okz_dev.csv", dtype=str, keep_default_na=False)
    gold = gold[gold["coders_agree"] == "yes"].reset_index(drop=True)
    titles, wanted = list(gold["title"]), list(gold["okz_code"])
    ranks = _ranks(code_titles(titles, target, context=ctx, limit=3, embeddings=embeddings), titles, wanted)
    top1, top3 = _tops(ranks)
    order = list(range(len(titles)))
    random.Random(SEED).shuffle(order)
    cv = []
    for f in range(FOLDS):
        test = sorted(order[f::FOLDS])
        train = [(titles[i], wanted[i]) for i in order if i not in set(test)]
        res = code_titles([titles[i] for i in test], target, context=ctx, limit=3, embeddings=embeddings,
                          confirmed=train)
        cv += _ranks(res, [titles[i] for i in test], [wanted[i] for i in test])
    cv1, cv3 = _tops(cv)
    calibration = []
    for th in (0.1, 0.2, 0.3, 0.4, 0.5):
        sel = [r for r, sc in ranks if sc >= th]
        calibration.append({"min_score": th, "share_coded": round(len(sel) / len(ranks), 4),
                            "top1_precision": round(sum(r == 1 for r in sel) / len(sel), 4) if sel else None})
    return {"n": len(ranks), "top1": top1, "top3": top3, "learned_cv_top1": cv1, "learned_cv_top3": cv3,
            "embeddings": embeddings, "calibration": calibration}


def learning_scale(base: list[str], target, ctx, n_titles: int = 20_000, n_confirmed: int = 5_000) -> dict:
    """Cost of learning from a large coding dictionary: 20,000 distinct titles coded with and
    without 5,000 confirmed codings (random unit groups: the cost, not the quality, is measured)."""
    titles = make_titles(base, n_titles, seed=8)
    rng = random.Random(SEED)
    units = sorted(it.code for it in target if it.level == max(i.level for i in target))
    confirmed = [(t, rng.choice(units)) for t in make_titles(base, n_confirmed, seed=9)]
    t0 = time.perf_counter()
    code_titles(titles, target, context=ctx)
    plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    code_titles(titles, target, context=ctx, confirmed=confirmed)
    learned = time.perf_counter() - t0
    return {"titles": n_titles, "confirmed": n_confirmed, "seconds_plain": round(plain, 2),
            "seconds_with_confirmed": round(learned, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--distinct", type=int, default=50_000)
    ap.add_argument("--embeddings", action="store_true", help="also measure accuracy with embeddings")
    ap.add_argument("--out", default=str(ROOT / "reports" / "code.json"))
    ap.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = ap.parse_args()
    if Path(args.out).exists() and not args.force:
        sys.exit(f"{args.out} exists; pass --force to overwrite it (or --out elsewhere)")
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    root = Path(os.environ.get("CROSSWALK_REFERENCE_DATA", ROOT.parent / "shared" / "classifiers"))
    okz_dir, isco_dir = root / "okz2014", root / "isco08"
    target, ctx = load_target([okz_dir, isco_dir], "okz2014")
    base = sorted({it.title for it in load(root / "okpdtr/trudvsem_profession_list.json").classification})

    titles = make_titles(base, args.distinct, seed=8)
    frame = make_rows(titles, args.rows, seed=8)
    report: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "vacancies.csv"
        frame.to_csv(data, index=False, sep=";")
        raw_distinct = frame["title"].nunique()
        code_frame(frame.head(2000), "title", target, context=ctx)        # warm-up: imports, lemma caches
        full, io_only = [], []
        for k in range(args.repeat):
            say(f"{len(frame):,} rows coded end to end, run {k + 1}/{args.repeat}")
            t0 = time.perf_counter()
            res = code(data, column="title", to="okz2014", classifiers=[okz_dir, isco_dir],
                       output=Path(tmp) / "coded.csv")
            full.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            df, _ = read_data(data, min_columns=1)
            write_frame(df, Path(tmp) / "copy.csv", [])
            io_only.append(time.perf_counter() - t0)
        say("20,000 rows without deduplication")
        sample = frame.head(20_000).copy()
        sample["title"] = [f"{t} #{i}" for i, t in enumerate(sample["title"])]   # every row distinct
        t0 = time.perf_counter()
        code_frame(sample, "title", target, context=ctx)
        per_row = (time.perf_counter() - t0) / len(sample)
    s = res.summary
    report["throughput"] = {
        "rows": s["rows"], "distinct": s["distinct"], "raw_spellings": int(raw_distinct),
        "seconds_median": round(statistics.median(full), 2), "seconds_runs": [round(x, 2) for x in full],
        "io_only_seconds_median": round(statistics.median(io_only), 2),
        "no_dedupe_estimate_seconds": round(per_row * s["rows"], 1),
        "dedupe_speedup": round(per_row * s["rows"] / statistics.median(full), 1),
        "rows_by_status": s["rows_by_status"], "embeddings": False, "repeats": args.repeat,
    }
    report["rows"], report["distinct"] = s["rows"], s["distinct"]
    report["seconds_median"] = report["throughput"]["seconds_median"]
    say("learning from 5,000 confirmed codings")
    report["learning_scale"] = learning_scale(base, target, ctx)
    say("OKPDTR dev titles as free text (core, 5-fold learning)")
    report["okpdtr_titles_to_okz"] = accuracy(root, target, ctx, embeddings=False)
    if args.embeddings:
        say("OKPDTR dev titles as free text (embeddings, 5-fold learning)")
        report["okpdtr_titles_to_okz_embeddings"] = accuracy(root, target, ctx, embeddings=True)
    report["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                         "load_average_at_start": load_at_start,
                         "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
