"""Match quality against gold, written to reports/evaluation.json (run by hand).

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/evaluate.py \\
        [--gold ../shared/gold/okpdtr_okz_dev.csv] [--out reports/evaluation.json] [--force]
        [--no-embeddings] [--esco-sample N] [--calibration crosswalk/match/calibration.json]

* isco88_to_isco08 — ISCO-88 unit-group titles matched to ISCO-08 with the official ILO
  table hidden from the matcher, scored against that table (389 ISCO-88 groups).
* okpdtr_to_okz — OKPDTR titles matched to OKZ-2014 unit groups (the examples extract
  combined with the label scrape; ISCO-08 definitions as target context; OKZ examples and
  ISCO-08 "included occupations" as coding indexes; the ESCO labels too), scored on the
  agreed rows of the dev gold; no dev label is used for the top-k figures.
  ``learned_cv_*``: 5-fold cross-validation (seeded) where the matcher learns from the
  other folds' labels.
* esco_holdout — English job titles → ISCO-08: 20 % of ESCO occupations held out whole
  (seeded hash of conceptUri); their labels (those no remaining occupation also carries)
  coded with everything else as indexes (ESCO remainder, ISCO-08 examples, OKZ examples).
* calibration — the isotonic map from the best score to precision, per gold set: the
  precision and share of the rows `coded` (calibrated precision ≥ 95 %), cross-validated
  (5 folds), and the precision/coverage curve. The maps fitted on all rows are written to
  ``--calibration`` (read by `crosswalk code` for its `coded` status).
* okved2_to_isic4, okved2_editions — as before.

Word weights come from the target classification and the indexes only, so every figure
is the same whatever other sources are matched with the gold ones.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk import Classification, load  # noqa: E402
from crosswalk.candidates import CandidateSet  # noqa: E402
from crosswalk.embeddings import available  # noqa: E402
from crosswalk.evaluate import evaluate, load_gold  # noqa: E402
from crosswalk.loaders.combine import combine  # noqa: E402
from crosswalk.match import match  # noqa: E402
from crosswalk.match.calibrate import Calibration, cross_validated, curve, signature  # noqa: E402
from crosswalk.match.hubs import attractors, concentration  # noqa: E402

SEED = 20261122
FOLDS = 5
T0 = time.perf_counter()


def say(*msg) -> None:
    print(f"[{time.perf_counter() - T0:7.1f} s]", *msg, file=sys.stderr, flush=True)


def _paths():
    root = Path(os.environ.get("CROSSWALK_REFERENCE_DATA", ROOT.parent / "shared" / "classifiers"))
    return root, root.parent / "gold"


def _subset(cset: CandidateSet, sources) -> CandidateSet:
    keep = set(sources)
    return CandidateSet(cset.source_scheme, cset.target_scheme,
                        [c for c in cset.candidates if c.source in keep],
                        cset.source_titles, cset.target_titles)


def _sub(cls: Classification, codes) -> Classification:
    return Classification(cls.scheme, [cls.get(c) for c in sorted(set(codes)) if c in cls], edition=cls.edition)


class Data:
    def __init__(self, root: Path, gold_path: Path):
        say("loading the reference tables")
        self.root = root
        self.okpdtr = load(root / "okpdtr/trudvsem_profession_list.json").classification
        extract = load(root / "okz2014/okz_occupations_pdf_extract.json").classification
        scrape = load(root / "okz2014/okz_unit_group_labels_pdf_scrape.json").classification
        self.okz, self.okz_added = combine(extract, scrape)          # + the 10 national groups
        self.isco08 = load(root / "isco08/ISCO-08 EN Structure and definitions.xlsx").classification
        self.esco = load(root / "esco/occupations_en.csv").data
        self.gold = load_gold(gold_path)


# -- OKPDTR → OKZ ------------------------------------------------------------------------
def okpdtr_to_okz(d: Data, embeddings: bool, *, learned: bool = True, indexes=None, **kw) -> dict:
    gold = d.gold
    indexes = [d.esco] if indexes is None else indexes
    src = _sub(d.okpdtr, gold.primary)
    t0 = time.perf_counter()
    # attractors measured against the whole of OKPDTR (a fixed population, as a build matches it)
    kw.setdefault("population", d.okpdtr)
    cset = match(src, d.okz, target_context=[d.isco08], embeddings=embeddings, indexes=indexes, limit=5, **kw)
    ev = evaluate(cset, gold, ks=(1, 3, 5))
    out = {"gold_pairs": ev.n, "top1": round(ev.top_k[1], 4), "top3": round(ev.top_k[3], 4),
           "top5": round(ev.top_k[5], 4), "seconds": round(time.perf_counter() - t0, 2)}
    top = {s: cs[0] for s, cs in cset.by_source().items()}
    scores = [top[s].score if s in top else 0.0 for s in sorted(gold.primary)]
    correct = [s in top and top[s].target in gold.acceptable[s] for s in sorted(gold.primary)]
    out["_calibration"] = (scores, correct, _signals(cset))
    if not learned:
        return out
    # cross-validation: learn from 4/5 of the labels, score the held-out fifth
    sources = sorted(gold.primary)
    random.Random(SEED).shuffle(sources)
    hits1 = hits3 = 0
    l_scores, l_correct, l_sig = [], [], set()
    for k in range(FOLDS):
        test = set(sources[k::FOLDS])
        confirmed = [(s, t) for s in sources if s not in test for t in sorted(gold.primary[s])]
        sub = match(src, d.okz, target_context=[d.isco08], embeddings=embeddings, indexes=indexes,
                    confirmed=confirmed, limit=5, **kw)
        fold = evaluate(_subset(sub, test), type(gold)(gold.source_scheme, gold.target_scheme,
                        {s: gold.acceptable[s] for s in test}, {s: gold.primary[s] for s in test},
                        gold.name), ks=(1, 3))
        hits1 += round(fold.top_k[1] * fold.n)
        hits3 += round(fold.top_k[3] * fold.n)
        top = {s: cs[0] for s, cs in sub.by_source().items()}
        for s in sorted(test):
            l_scores.append(top[s].score if s in top else 0.0)
            l_correct.append(s in top and top[s].target in gold.acceptable[s])
        l_sig |= set(_signals(_subset(sub, test)))
    out["_calibration_learned"] = (l_scores, l_correct, sorted(l_sig))
    out["learned_cv_top1"] = round(hits1 / len(sources), 4)
    out["learned_cv_top3"] = round(hits3 / len(sources), 4)
    out["learned_cv_folds"] = FOLDS
    return out


def _signals(cset: CandidateSet) -> list[str]:
    names = set()
    for c in cset.candidates:
        names |= set(c.evidence)
    return sorted(names)


def okpdtr_as_text(d: Data, embeddings: bool, **kw) -> dict:
    """The dev titles coded as free text (`crosswalk code`): no OKPDTR code, so no worker/employee
    prior — the calibration `crosswalk code` reads for Russian titles."""
    from crosswalk.code import code_titles, title_key
    gold = d.gold
    titles = {d.okpdtr.get(s).title: s for s in gold.primary if s in d.okpdtr}
    coding = code_titles(sorted(titles), d.okz, context=[d.isco08], indexes=[d.esco], embeddings=embeddings,
                         limit=5, min_score=0.0, **kw)
    by_key = {k: c for k, c in zip(coding.keys, coding.codes)}
    h1 = h3 = 0
    scores, correct = [], []
    for t, s in sorted(titles.items()):
        cands = coding.candidates.get(by_key[title_key(t)], [])
        got = [c.target for c in cands]
        ok = gold.acceptable[s]
        h1 += bool(set(got[:1]) & ok)
        h3 += bool(set(got[:3]) & ok)
        scores.append(cands[0].score if cands else 0.0)
        correct.append(bool(set(got[:1]) & ok))
    sig = sorted({n for cs in coding.candidates.values() for c in cs for n in c.evidence})
    return {"n": len(titles), "top1": round(h1 / len(titles), 4), "top3": round(h3 / len(titles), 4),
            "_calibration": (scores, correct, sig)}


def model_speed(d: Data, models: list[str], n: int = 512) -> dict:
    """Texts per second of each model on an empty cache (ESCO labels and OKZ examples, half each)."""
    import tempfile
    from crosswalk.embeddings import Embedder
    from crosswalk.index import CodingIndex
    rng = random.Random(SEED)
    ru = [e.title for e in rng.sample(list(CodingIndex.from_classification(d.okz)), n // 2)]
    en = [e.title for e in rng.sample(list(d.esco), n // 2)]
    out = {}
    for m in models:
        if "+" in m:
            continue
        with tempfile.TemporaryDirectory() as tmp, Embedder(cache_dir=tmp, model=m) as emb:
            t0 = time.perf_counter()
            emb.embed(ru + en, kind="query")
            out[m] = {"texts": n, "texts_per_second": round(n / (time.perf_counter() - t0), 1)}
    return out


def okpdtr_attractors(d: Data, embeddings: bool, **kw) -> dict:
    """Every OKPDTR title matched, as a build matches them (OKPDTR the population the index
    signal measures attractors against): how the best candidates spread over the OKZ groups,
    and how many titles take each national group (1325, 1432, …) first; ``uncorrected``: the
    same without the correction."""
    out = {}
    for tag, population in (("corrected", d.okpdtr), ("uncorrected", None)):
        cset = match(d.okpdtr, d.okz, target_context=[d.isco08], embeddings=embeddings, indexes=[d.esco],
                     limit=1, population=population, memo=True, **kw)
        n = len(d.okz.by_level(4))
        first = {}
        for cs in cset.by_source().values():
            first[cs[0].target] = first.get(cs[0].target, 0) + 1
        out[tag] = {**concentration(cset, n), "top": attractors(cset, n, top=10),
                    "national_groups_top1": {c: first.get(c, 0) for c in d.okz_added}}
    return {**out.pop("corrected"), **out}


# -- ESCO hold-out -----------------------------------------------------------------------
def _held_out(uri: str) -> bool:
    return int(hashlib.sha1(f"{SEED}:{uri}".encode()).hexdigest(), 16) % 5 == 0


def esco_split(d: Data, sample: int = 0, seed: int = SEED):
    """The hold-out: (the remaining ESCO index, gold codes per title key, the held-out title keys
    to code — ``sample`` of them, seeded, when given)."""
    from crosswalk.code import title_key
    held = {e.group for e in d.esco if _held_out(e.group)}
    rest = d.esco.without_groups(held)
    gold: dict[str, set] = {}
    for e in d.esco:
        if e.group in held:
            gold.setdefault(title_key(e.title), set()).add(e.code)
    known = {title_key(e.title) for e in rest}          # a label a remaining occupation carries is not new
    keys = sorted(k for k in gold if k and k not in known)
    if sample and sample < len(keys):
        keys = sorted(random.Random(seed).sample(keys, sample))
    return rest, gold, keys, held


def esco_holdout(d: Data, embeddings: bool, sample: int = 0, **kw) -> dict:
    from crosswalk.code import code_titles
    rest, gold, keys, held = esco_split(d, sample)
    t0 = time.perf_counter()
    # ISCO-08 examples and OKZ examples come with the classifications (their own indexes)
    coding = code_titles(keys, d.isco08, context=[d.okz], indexes=[rest], embeddings=embeddings, limit=5,
                         min_score=0.0, **kw)
    h1 = h3 = 0
    scores, correct = [], []
    for k, c in zip(coding.keys, coding.codes):
        cands = coding.candidates.get(c, [])
        got = [x.target for x in cands]
        h1 += bool(set(got[:1]) & gold[k])
        h3 += bool(set(got[:3]) & gold[k])
        scores.append(cands[0].score if cands else 0.0)
        correct.append(bool(set(got[:1]) & gold[k]))
    sig = sorted({n for cs in coding.candidates.values() for c in cs for n in c.evidence})
    return {"n": len(keys), "occupations_held_out": len(held), "top1": round(h1 / len(keys), 4),
            "top3": round(h3 / len(keys), 4), "seconds": round(time.perf_counter() - t0, 2),
            "_calibration": (scores, correct, sig)}


# -- ISCO-88 → ISCO-08, OKVED2 → ISIC4, editions -----------------------------------------
def isco88_to_isco08(root: Path, embeddings: bool, **kw) -> dict:
    corr = load(root / "isco08_isco88/corrtab08-88.xls")
    isco88 = corr.extra["isco88"]
    isco08 = load(root / "isco08/ISCO-08 EN Structure and definitions.xlsx").classification
    gold = load_gold(root / "isco08_isco88/corrtab08-88.xls", reverse=True)
    t0 = time.perf_counter()
    cset = match(isco88, isco08, embeddings=embeddings, limit=5, **kw)
    ev = evaluate(cset, gold, ks=(1, 3, 5))
    return {"top1": round(ev.top_k[1], 4), "top3": round(ev.top_k[3], 4), "top5": round(ev.top_k[5], 4),
            "n": ev.n, "seconds": round(time.perf_counter() - t0, 2)}


def okved2_to_isic4(root: Path, gold_dir: Path, embeddings: bool, **kw) -> dict:
    """OKVED2 classes → ISIC4 through NACE2, as `crosswalk build` composes them. Outside
    divisions 19/85/92 the gold is NACE2→ISIC4 of the same code; inside, the regrouped gold."""
    import csv
    from crosswalk.build import draft_links
    from crosswalk.graph import CrosswalkGraph
    okved = load(root / "okved2/rosstat_opendata_2023-12-01/data-20231201-structure-20180402.csv").classification
    nace = load(root / "nace2/nace2_structure_en.csv").classification
    conc = load(root / "nace2/nace2_isic4_concordance.csv").correspondence
    t0 = time.perf_counter()
    cset = match(okved, nace, embeddings=embeddings, limit=5, population=okved, **kw)
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
    # the draft keeps one link per item: the top 3 are the ISIC classes of the three best NACE
    # candidates (what a reviewer sees beside the draft link), through the concordance
    nace_to_isic: dict[str, list] = {}
    for pr in conc:
        nace_to_isic.setdefault(pr.source, []).append(pr.target)
    best3 = {s: [i for c in cs[:3] for i in sorted(nace_to_isic.get(c.target, []))]
             for s, cs in cset.by_source().items()}
    top3 = 0
    for row in regrouped:
        ok = {row["isic4_code"]} | {x for x in row["also_acceptable"].replace(";", "|").split("|") if x}
        top3 += bool(ok & set(best3.get(row["okved2_code"], [])))
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


# -- calibration -------------------------------------------------------------------------
def calibrate(section: dict, language: str, target: str, maps: dict, key: str = "_calibration",
              model=None, indexes=()) -> dict:
    scores, correct, signals = section.pop(key)
    cal = Calibration.fit(scores, correct)
    sig = signature(language, target, signals, model, indexes)
    maps[sig] = cal.to_dict()
    cv = cross_validated(scores, correct, folds=FOLDS, seed=SEED)
    return {**cv, "threshold_all_rows": cal.threshold(), "curve": curve(scores, correct), "signature": sig}


def main() -> None:
    root, gold_dir = _paths()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", default=str(gold_dir / "okpdtr_okz_dev.csv"), help="the OKPDTR→OKZ dev gold")
    ap.add_argument("--out", default=str(ROOT / "reports" / "evaluation.json"))
    ap.add_argument("--calibration", default=str(ROOT / "crosswalk" / "match" / "calibration.json"),
                    help="where the calibration maps fitted on all gold rows are written")
    ap.add_argument("--force", action="store_true", help="overwrite --out and --calibration if they exist")
    ap.add_argument("--no-embeddings", action="store_true", help="core signals only")
    ap.add_argument("--esco-sample", type=int, default=0, help="code this many held-out ESCO labels (0: all)")
    ap.add_argument("--models", default="e5,use,e5+use",
                    help="embedding models to measure besides the core signals (comma-separated; the"
                         " last available one is reported at the top level)")
    args = ap.parse_args()
    out_path, cal_path = Path(args.out), Path(args.calibration)
    for p in (out_path, cal_path):
        if p.exists() and not args.force:
            sys.exit(f"{p} exists; pass --force to overwrite it (or --out/--calibration elsewhere)")
    from crosswalk.embeddings import DEFAULT_MODEL, Embedder
    models = [] if args.no_embeddings else [m for m in args.models.split(",") if m and available(m)]
    d = Data(root, Path(args.gold))
    maps: dict = {}
    report: dict = {"config": {"embedding_models": models, "default_model": DEFAULT_MODEL, "seed": SEED,
                               "gold": Path(args.gold).name, "okz_national_groups_added": d.okz_added}}
    results = {}
    for m in [None] + models:
        tag = m or "core"
        emb = Embedder(model=m) if m else None
        kw = {"embedder": emb} if emb else {}
        e = emb is not None
        say(f"ISCO-88 → ISCO-08 ({tag})")
        i88 = isco88_to_isco08(root, e, **kw)
        say(f"OKPDTR → OKZ ({tag}), learning 5-fold")
        okp = okpdtr_to_okz(d, e, **kw)
        say(f"OKPDTR dev titles as free text ({tag})")
        txt = okpdtr_as_text(d, e, **kw)
        say(f"ESCO hold-out ({tag})")
        esc = esco_holdout(d, e, args.esco_sample, **kw)
        say(f"OKVED2 → ISIC4 ({tag})")
        okv = okved2_to_isic4(root, gold_dir, e, **kw)
        esco = [d.esco.name]       # every run below has ESCO's labels (the hold-out: the rest of them)
        cal = {"okpdtr_dev": calibrate(okp, "ru", "okz2014", maps, model=m, indexes=esco),
               "okpdtr_dev_learned_cv": calibrate(okp, "ru", "okz2014", maps, key="_calibration_learned", model=m,
                                                  indexes=esco),
               "okpdtr_dev_free_text": calibrate(txt, "ru", "okz2014", maps, model=m, indexes=esco),
               "esco_holdout": calibrate(esc, "en", "isco08", maps, model=m, indexes=esco)}
        results[tag] = {"isco88_to_isco08": i88, "okpdtr_to_okz": okp, "okpdtr_dev_free_text": txt,
                        "esco_holdout": esc, "okved2_to_isic4": okv, "calibration": cal}
    best = DEFAULT_MODEL if DEFAULT_MODEL in results else list(results)[-1]
    report.update(results[best])
    report["config"]["reported_at_top_level"] = best
    report["by_model"] = {tag: {"okpdtr_to_okz": {k: r["okpdtr_to_okz"][k] for k in
                                                  ("top1", "top3", "learned_cv_top1", "learned_cv_top3")},
                                "esco_holdout": {k: r["esco_holdout"][k] for k in ("n", "top1", "top3")},
                                "isco88_to_isco08": {k: r["isco88_to_isco08"][k] for k in ("top1", "top3")},
                                "calibration": {k: {x: v[x] for x in ("coded_precision", "coded_share")}
                                                for k, v in r["calibration"].items()}}
                          for tag, r in results.items()}
    if "core" in results and best != "core":
        report["without_embeddings"] = results["core"]
    report["model_speed"] = model_speed(d, models)
    emb = best != "core"
    say("OKPDTR attractors (every title)")
    report["okpdtr_attractors"] = okpdtr_attractors(d, emb, **({"embedder": Embedder(model=best)} if emb else {}))
    report["okved2_editions"] = okved2_editions(root)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    cal_path.write_text(json.dumps({"note": "isotonic maps best score → precision on gold, fitted by"
                                            " benchmarks/evaluate.py; keys: source language→target scheme:"
                                            " signals", "maps": dict(sorted(maps.items()))},
                                   indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    say(f"written {out_path} and {cal_path}")
    print(json.dumps(report["by_model"], indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
