"""Other ways to use meaning, measured against what the matcher does now (run by hand; writes
reports/meaning-alternatives.json). Each is something issue 14 asked to measure before trusting:

* ``navec`` — Russian word vectors (natasha's navec news model, 250k words): each word of an
  OKPDTR title against the Russian words describing an OKZ group (its title and «примеры
  занятий»), IDF-weighted mean of the best cosine per word above a floor — alone, and added to
  the matcher's combined score with weight w (of the current total). Russian only: no figure
  for the English ESCO task.
* ``e5_nearest_titles`` — the e5 vectors of the coding indexes' titles alone: the k nearest
  labelled titles vote (weights exp(p·(cos − 1))); on dev the OKZ examples only, and with ESCO's
  and ISCO-08's English labels added.
* ``e5_linear_probe`` — a ridge classifier (closed form, classes balanced) on the e5 vectors of
  the index titles, the indexes as training data.

The matcher's own figures (``matcher``) are computed here in the same way (no dev label used),
so every row compares like with like. Nothing here changes the product.

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/meaning_alternatives.py \\
        --navec PATH/navec_news_v1_1B_250K_300d_100q.tar [--gold …] [--esco-sample 1000] \\
        [--out reports/meaning-alternatives.json] [--force]

The navec file comes inside the ``natasha`` wheel (natasha/data/emb/); ``pip install navec``
reads it.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import evaluate as ev  # noqa: E402
from crosswalk import normalize  # noqa: E402
from crosswalk.code import code_titles  # noqa: E402
from crosswalk.index import CodingIndex, natural_order  # noqa: E402
from crosswalk.match import DEFAULT_WEIGHTS, match  # noqa: E402

say = ev.say


def _hits(scores: np.ndarray, codes: list[str], gold: list[set]) -> dict:
    order = np.argsort(-scores, axis=1, kind="stable")[:, :3]
    cl = np.array(codes)
    top1 = np.mean([cl[o[0]] in g for o, g in zip(order, gold)])
    top3 = np.mean([bool(set(cl[o]) & g) for o, g in zip(order, gold)])
    return {"top1": round(float(top1), 4), "top3": round(float(top3), 4)}


def _dense(cands_by_source: dict, sources: list[str], codes: list[str]) -> np.ndarray:
    col = {c: j for j, c in enumerate(codes)}
    out = np.zeros((len(sources), len(codes)), dtype=np.float64)
    for i, s in enumerate(sources):
        for c in cands_by_source.get(s, []):
            if c.target in col:
                out[i, col[c.target]] = c.score
    return out


# -- the tasks, as benchmarks/evaluate.py sets them, with every target scored ---------------
def dev_task(d: ev.Data, emb) -> dict:
    src = ev._sub(d.okpdtr, d.gold.primary)
    codes = [it.code for it in d.okz.by_level(4)]
    cset = match(src, d.okz, target_context=[d.isco08], embeddings=True, embedder=emb, indexes=[d.esco],
                 limit=len(codes), population=d.okpdtr)
    sources = sorted(d.gold.primary)
    signals = {n for c in cset.candidates for n in c.evidence}
    return {"sources": sources, "titles": [d.okpdtr.get(s).title for s in sources], "codes": codes,
            "gold": [set(d.gold.acceptable[s]) for s in sources],
            "matcher": _dense(cset.by_source(), sources, codes),
            "weight": sum(DEFAULT_WEIGHTS[n] for n in signals)}


def esco_task(d: ev.Data, emb, sample: int) -> dict:
    rest, gold, keys, _ = ev.esco_split(d, sample)
    codes = [it.code for it in d.isco08.by_level(4)]
    coding = code_titles(keys, d.isco08, context=[d.okz], indexes=[rest], embeddings=True, embedder=emb,
                         limit=len(codes), min_score=0.0)
    by_key = dict(zip(coding.keys, coding.codes))
    return {"titles": keys, "codes": codes, "gold": [gold[k] for k in keys], "rest": rest,
            "matcher": _dense(coding.candidates, [by_key[k] for k in keys], codes)}


# -- navec --------------------------------------------------------------------------------
class NavecWords:
    def __init__(self, path: Path):
        from navec import Navec
        self.nv = Navec.load(str(path))

    def words(self, text: str) -> list[tuple[str, np.ndarray]]:
        out = []
        for surface, lemma in zip(normalize.tokens(text, "ru", lemmas=False), normalize.tokens(text, "ru")):
            for w in (lemma, surface):
                if len(lemma) > 2 and w in self.nv:
                    v = np.asarray(self.nv[w], dtype=np.float64)
                    out.append((lemma, v / max(np.linalg.norm(v), 1e-9)))
                    break
        return out

    def scores(self, titles: list[str], described: dict[str, list[str]], codes: list[str], floor: float):
        desc = {c: [wv for t in described.get(c, []) for wv in self.words(t)] for c in codes}
        df = Counter(w for c in codes for w in {w for w, _ in desc[c]})
        idf = {w: math.log((len(codes) + 1) / (n + 1)) + 1 for w, n in df.items()}
        mats = {c: np.array([v for _, v in desc[c]]) for c in codes if desc[c]}
        out = np.zeros((len(titles), len(codes)))
        covered = 0
        for i, t in enumerate(titles):
            ws = self.words(t)
            if not ws:
                continue
            covered += 1
            w = np.array([idf.get(x, math.log(len(codes) + 1) + 1) for x, _ in ws])
            q = np.array([v for _, v in ws])
            for j, c in enumerate(codes):
                if c in mats:
                    best = (q @ mats[c].T).max(axis=1)
                    out[i, j] = float((w * np.clip((best - floor) / (1 - floor), 0, 1)).sum() / w.sum())
        return out, covered


# -- e5 over the index titles alone -------------------------------------------------------
def _index_vectors(emb, entries, codes):
    keep = [e for e in entries if e.code in set(codes)]
    return emb.embed([natural_order(e.title) for e in keep], kind="query"), [e.code for e in keep]


def nearest_titles(q, vecs, owners, codes, k: int, p: float) -> np.ndarray:
    sims = q @ vecs.T
    kth = -np.partition(-sims, k - 1, axis=1)[:, k - 1:k]
    w = np.where(sims >= kth, np.exp(p * (sims - 1.0)), 0.0)
    col = {c: j for j, c in enumerate(codes)}
    owner = np.array([col[c] for c in owners])
    out = np.zeros((len(q), len(codes)))
    np.add.at(out.T, owner, w.T)
    return out


def linear_probe(q, vecs, owners, codes, lam: float = 1.0) -> np.ndarray:
    col = {c: j for j, c in enumerate(codes)}
    y = np.array([col[c] for c in owners])
    weight = 1.0 / np.sqrt(np.bincount(y, minlength=len(codes))[y])     # classes balanced
    x = np.hstack([vecs, np.ones((len(vecs), 1))]).astype(np.float64)
    onehot = np.zeros((len(y), len(codes)))
    onehot[np.arange(len(y)), y] = 1.0
    a = (x * weight[:, None]).T @ x + lam * np.eye(x.shape[1])
    w = np.linalg.solve(a, (x * weight[:, None]).T @ onehot)
    return np.hstack([q, np.ones((len(q), 1))]) @ w


def main() -> None:
    root, gold_dir = ev._paths()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--navec", type=Path, help="navec_news_v1_1B_250K_300d_100q.tar (inside the natasha wheel)")
    ap.add_argument("--gold", default=str(gold_dir / "okpdtr_okz_dev.csv"))
    ap.add_argument("--esco-sample", type=int, default=1000)
    ap.add_argument("--out", default=str(ROOT / "reports" / "meaning-alternatives.json"))
    ap.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = ap.parse_args()
    out_path = Path(args.out)
    if out_path.exists() and not args.force:
        sys.exit(f"{out_path} exists; pass --force to overwrite it (or --out elsewhere)")
    from crosswalk.embeddings import Embedder
    emb = Embedder(model="e5")
    d = ev.Data(root, Path(args.gold))
    report: dict = {"gold": Path(args.gold).name, "esco_sample": args.esco_sample, "seed": ev.SEED}
    t0 = time.perf_counter()

    say("OKPDTR → OKZ dev: the matcher, every target scored")
    dev = dev_task(d, emb)
    base = dev["matcher"]
    report["okpdtr_dev"] = {"n": len(dev["sources"]), "matcher": _hits(base, dev["codes"], dev["gold"])}
    okz_ix = list(CodingIndex.from_classification(d.okz))
    isco_ix = list(CodingIndex.from_classification(d.isco08))
    q = emb.embed([natural_order(t) for t in dev["titles"]], kind="query")
    for tag, entries in (("okz_examples", okz_ix), ("okz_examples+esco+isco08", okz_ix + list(d.esco) + isco_ix)):
        say(f"dev: e5 nearest titles, {tag}")
        vecs, owners = _index_vectors(emb, entries, dev["codes"])
        report["okpdtr_dev"][f"e5_nearest_titles[{tag}]"] = {
            f"k={k},p={p}": _hits(nearest_titles(q, vecs, owners, dev["codes"], k, p), dev["codes"], dev["gold"])
            for k in (5, 30) for p in (1, 64)}
        report["okpdtr_dev"][f"e5_linear_probe[{tag}]"] = _hits(linear_probe(q, vecs, owners, dev["codes"]),
                                                               dev["codes"], dev["gold"])
    if args.navec:
        say("dev: navec words")
        nv = NavecWords(args.navec)
        described: dict[str, list[str]] = {c: [d.okz.get(c).title] for c in dev["codes"]}
        for e in okz_ix:
            described.setdefault(e.code, []).append(e.title)
        rows = {}
        big_w = dev["weight"]       # the matcher's score is a weighted mean: navec joins it with weight w
        for floor in (0.2, 0.35, 0.5):
            s, covered = nv.scores(dev["titles"], described, dev["codes"], floor)
            rows[f"floor={floor}"] = {"titles_with_a_known_word": covered, "alone": _hits(s, dev["codes"], dev["gold"]),
                                      **{f"added_w={w}": _hits((base * big_w + w * s) / (big_w + w),
                                                               dev["codes"], dev["gold"]) for w in (0.5, 1, 2, 4)}}
        report["okpdtr_dev"]["matcher_weight_total"] = big_w
        report["okpdtr_dev"]["navec"] = rows
        report["navec_vocabulary"] = len(nv.nv.vocab.words)

    say(f"ESCO hold-out ({args.esco_sample} labels): the matcher, every target scored")
    esco = esco_task(d, emb, args.esco_sample)
    report["esco_holdout"] = {"n": len(esco["titles"]), "matcher": _hits(esco["matcher"], esco["codes"], esco["gold"])}
    qe = emb.embed([natural_order(t) for t in esco["titles"]], kind="query")
    vecs, owners = _index_vectors(emb, list(esco["rest"]) + isco_ix + okz_ix, esco["codes"])
    report["esco_holdout"]["e5_nearest_titles"] = {
        f"k={k},p={p}": _hits(nearest_titles(qe, vecs, owners, esco["codes"], k, p), esco["codes"], esco["gold"])
        for k in (5, 30) for p in (1, 64)}
    report["esco_holdout"]["e5_linear_probe"] = _hits(linear_probe(qe, vecs, owners, esco["codes"]),
                                                      esco["codes"], esco["gold"])
    report["seconds"] = round(time.perf_counter() - t0, 1)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    say(f"written {out_path}")
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
