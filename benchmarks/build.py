"""Wall time of `crosswalk build` on the full reference data, written to reports/build.json
(run by hand). Goal (issue 4): under 30 s on the 2-core machine.

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/build.py [--repeat 3]

Measured with the core signals and, when the optional model is installed, with embeddings
from a warm cache (the first run with an empty cache embeds ~15,000 texts once: timed too).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk.build import build  # noqa: E402
from crosswalk.embeddings import available  # noqa: E402
from crosswalk.settings import BuildConfig  # noqa: E402


def timed(cfg: BuildConfig) -> tuple[float, dict]:
    t0 = time.perf_counter()
    result = build(cfg)
    return time.perf_counter() - t0, result.summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "reports" / "build.json"))
    args = ap.parse_args()
    root = Path(os.environ.get("CROSSWALK_REFERENCE_DATA", ROOT.parent / "shared" / "classifiers"))
    report: dict = {"goal": "crosswalk build on the full reference data in < 30 s",
                    "machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory() as tmp:
        for emb in ([False, True] if available() else [False]):
            key = "with_embeddings" if emb else "core_signals"
            cfg = BuildConfig.discover(root, output=str(Path(tmp) / key), embeddings=emb)
            entry = {}
            if emb:   # a cold cache once: every text embedded by the model
                os.environ["CROSSWALK_CACHE"] = str(Path(tmp) / "cache")
                entry["first_run_empty_cache_seconds"] = round(timed(cfg)[0], 2)
            runs = [timed(cfg) for _ in range(args.repeat)]
            entry["seconds_median"] = round(statistics.median(r[0] for r in runs), 2)
            entry["seconds_all"] = [round(r[0], 2) for r in runs]
            summary = runs[-1][1]
            entry["crosswalks"] = {k: {"links": v["links"], "relations": v["relations"],
                                       "review": v["review"]} for k, v in summary["crosswalks"].items()}
            report[key] = entry
    report["goal_met"] = all(v["seconds_median"] < 30 for k, v in report.items()
                             if isinstance(v, dict) and "seconds_median" in v)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
