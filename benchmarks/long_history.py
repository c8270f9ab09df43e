"""Does a review store stay fast when its history grows long? (run by hand; writes
reports/long-history.json)

While people review, the matcher re-ranks the open items and writes ``propose`` events (origin
``learning``): over the first 200 OKPDTR decisions 86 a pass (reports/review-sim.json), so a
whole review may leave hundreds of thousands. This copies a store (``review load`` of a full
build), times what reviewers and the export do on it, adds ``--events`` such re-proposals to a
second copy and times the same again, in the same process: the export of a route, the review
summary, the app's first read of the store, the snapshot, reading every link.

    python benchmarks/long_history.py --store crosswalk-review.sqlite [--events 300000]
        [--out reports/long-history.json] [--force]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk.export import export  # noqa: E402
from crosswalk.report import summary_data  # noqa: E402
from crosswalk.review import ReviewStore  # noqa: E402
from crosswalk.review.web.data import Model  # noqa: E402

T0 = time.perf_counter()


def say(*msg) -> None:
    print(f"[{time.perf_counter() - T0:7.1f} s]", *msg, file=sys.stderr, flush=True)


def _median(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 3)


def measure(path: Path, work: Path, route: str, repeat: int) -> dict:
    out: dict = {}
    with ReviewStore(path) as st:
        out["events"] = st.last_event_id()
        out["store_mb"] = round(os.path.getsize(path) / 1e6, 1)
        out["snapshot_s"] = _median(st.snapshot, repeat)
        out["links_s"] = _median(st.links, repeat)
        out["export_route_csv_s"] = _median(
            lambda: export(st, work / "export", routes=[route], formats=["csv"], confirmed_only=False), repeat)
        out["review_summary_s"] = _median(lambda: summary_data(st), repeat)

    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        model = Model(str(path))
        with model.open() as st:
            model.refresh(st)
        t.append(time.perf_counter() - t0)
        model.wait_prepared()     # its background work done before the next run starts
    out["app_first_read_s"] = round(statistics.median(t), 3)
    return out


def lengthen(path: Path, events: int, seed: int) -> float:
    """Add ``events`` re-proposals of open OKPDTR links (origin learning), as learning writes them."""
    rng = random.Random(seed)
    t0 = time.perf_counter()
    with ReviewStore(path) as st:
        links = sorted((s for s in st.links() if s.status == "pending"),
                       key=lambda s: (s.key.source_scheme, s.key.source_code, s.key.target_scheme, s.key.target_code))
        if not links:
            sys.exit(f"{path}: no pending links to re-propose")
        n = 0
        while n < events:
            batch = rng.sample(links, min(5000, len(links)))
            n += st.propose([{"key": s.key, "score": round(rng.random(), 6),
                              "evidence": {**dict(s.evidence), "learned": round(rng.random(), 4)},
                              "source_title": s.source_title, "target_title": s.target_title} for s in batch],
                            origin="learning")
            say(f"  {n:,} of {events:,} events added")
    return round(time.perf_counter() - t0, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True, type=Path, help="a review store (`review load` of a full build)")
    ap.add_argument("--events", type=int, default=300_000, help="re-proposals added to the long copy")
    ap.add_argument("--route", default="okpdtr,okz2014,isco08")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--out", default=str(ROOT / "reports" / "long-history.json"))
    ap.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = ap.parse_args()
    out_path = Path(args.out)
    if out_path.exists() and not args.force:
        sys.exit(f"{out_path} exists; pass --force to overwrite it (or --out elsewhere)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        short, long_ = work / "short.sqlite", work / "long.sqlite"
        shutil.copy(args.store, short)
        shutil.copy(args.store, long_)
        say(f"adding {args.events:,} re-proposals to a copy of {args.store}")
        added_s = lengthen(long_, args.events, args.seed)
        say("timing the store as it is")
        base = measure(short, work / "a", args.route, args.repeat)
        say("timing the store with the long history")
        grown = measure(long_, work / "b", args.route, args.repeat)
    ratio = {k: round(grown[k] / base[k], 2) for k in base if k.endswith("_s") and base[k] > 0}
    report = {"goal": "a long review history (learning's re-proposals) slows neither the export, the summary nor"
                      " the app's first read", "store": Path(args.store).name, "route": args.route,
              "events_added": args.events, "seconds_to_add": added_s, "repeat": args.repeat,
              "machine": {"cpus": os.cpu_count(), "load_average": list(os.getloadavg())},
              "as_it_is": base, "long_history": grown, "ratio_long_to_as_it_is": ratio}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    say(f"written {out_path}")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
