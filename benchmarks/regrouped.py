"""Regrouped OKVED2 classes matched by meaning, written to reports/regrouped.json (run by hand):

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/regrouped.py [--data DIR]
        [--gold DIR] [--output reports/regrouped.json] [--no-embeddings] [--embedding-model e5]
        [--force]

Builds OKVED2 → NACE Rev.2 → ISIC Rev.4 only (the build's own loading, notes joined), twice:

* ``as_built`` — the divisions the data show were regrouped (19, 85, 92): the draft's ISIC class
  for the 22 classes of gold/okved2_isic4_regrouped.csv (``regrouped_top1``; ``regrouped_top3``
  from the three best NACE candidates) and for the classes outside them (``outside_correct``:
  NACE2→ISIC4 of the same code).
* ``every_division_regrouped`` — the same build with EVERY division counted as regrouped, so no
  class may follow its code and each is matched by meaning among its division's NACE classes.
  Outside 19/85/92 OKVED2 keeps NACE's meanings, so the right answer is known for 601 classes:
  ``same_code`` (the NACE class of the same code; ``same_code_top3``: among the three best
  candidates) and ``isic`` (its ISIC class). This measures
  the method on classes it was never tuned on; the 22 regrouped rows are a sample.

An existing report is kept unless ``--force``.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk import load  # noqa: E402
from crosswalk.build import build  # noqa: E402
from crosswalk.match import memo, structure  # noqa: E402
from crosswalk.settings import BuildConfig, PairConfig  # noqa: E402

REGROUPED = ("19", "85", "92")


@contextmanager
def every_division_regrouped():
    """structure.regrouped_divisions, wherever crosswalk imported it, also lists every division
    the source holds (nothing else changes: the signals read it as they read the real ones)."""
    original = structure.regrouped_divisions

    def patched(ctx):
        out = dict(original(ctx))
        for code in ctx.source.codes:
            if structure._comparable(code):
                out.setdefault(structure._division(code), (frozenset(), frozenset()))
        return out

    mods = [m for name, m in sorted(sys.modules.items())
            if name.startswith("crosswalk") and getattr(m, "regrouped_divisions", None) is original]
    for m in mods:
        m.regrouped_divisions = patched
    # score blocks kept on disk were computed under the real divisions: none is read or kept
    key = memo.signal_key
    memo.signal_key = lambda signal, ctx: None
    try:
        yield
    finally:
        for m in mods:
            m.regrouped_divisions = original
        memo.signal_key = key


def run(data: Path, work: Path, embeddings: bool, model: str):
    cfg = BuildConfig.discover(data, output=str(work), embeddings=embeddings)
    cfg.pairs = [PairConfig("okved2", "nace2")]
    cfg.routes = [["okved2", "nace2", "isic4"]]
    cfg.embedding_model = model
    last = [""]

    def progress(stage, done, total):
        if stage != last[0] or done == total:
            print(f"  {stage}: {done}/{total}", file=sys.stderr, flush=True)
            last[0] = stage

    t0 = time.perf_counter()
    result = build(cfg, progress=progress)
    return result, time.perf_counter() - t0


def measure(result, gold_rows) -> tuple[dict, dict]:
    n2i = {p.source: p.target for p in load(result.files["nace2-isic4"]).correspondence}
    draft = {ln.source: ln.target for ln in result.drafts["okved2__nace2"]}
    top3 = {s: [c.target for c in cands[:3]] for s, cands in result.candidates["okved2__nace2"].by_source().items()}
    hits, hits3, misses = 0, 0, []
    for row in gold_rows:
        ok = {row["isic4_code"]} | {x for x in row["also_acceptable"].replace(";", "|").split("|") if x}
        code = row["okved2_code"]
        if n2i.get(draft.get(code)) in ok:
            hits += 1
        else:
            misses.append(f"{code}→{draft.get(code)} ({n2i.get(draft.get(code))}; gold {'|'.join(sorted(ok))})")
        hits3 += any(n2i.get(t) in ok for t in top3.get(code, []))
    outside = [it.code for it in result.classifications["okved2"].by_level("class") if it.code[:2] not in REGROUPED]
    regrouped = {"regrouped_n": len(gold_rows), "regrouped_top1": hits, "regrouped_top3": hits3,
                 "regrouped_misses": misses}
    outside_fig = {"outside_n": len(outside),
                   "same_code": sum(1 for c in outside if draft.get(c) == c),
                   "same_code_top3": sum(1 for c in outside if c in top3.get(c, [])),
                   "isic": sum(1 for c in outside if n2i.get(draft.get(c)) == n2i.get(c))}
    return regrouped, outside_fig


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_data = Path(os.environ.get("CROSSWALK_REFERENCE_DATA", ROOT.parent / "shared" / "classifiers"))
    ap.add_argument("--data", type=Path, default=default_data, help="the reference classifiers folder")
    ap.add_argument("--gold", type=Path, default=None, help="the gold folder (default: DATA/../gold)")
    ap.add_argument("--output", type=Path, default=ROOT / "reports" / "regrouped.json")
    ap.add_argument("--no-embeddings", action="store_true")
    ap.add_argument("--embedding-model", default="e5", choices=("e5", "use", "e5+use"))
    ap.add_argument("--force", action="store_true", help="overwrite an existing report")
    args = ap.parse_args(argv)
    if args.output.exists() and not args.force:
        print(f"{args.output} exists; pass --force to overwrite it", file=sys.stderr)
        return 2
    gold = args.gold or args.data.parent / "gold"
    with open(gold / "okved2_isic4_regrouped.csv", encoding="utf-8") as fh:
        gold_rows = list(csv.DictReader(fh))
    report = {"data": str(args.data), "embeddings": not args.no_embeddings,
              "embedding_model": args.embedding_model if not args.no_embeddings else None}
    with tempfile.TemporaryDirectory() as tmp:
        print("build as the data show it …", file=sys.stderr)
        result, secs = run(args.data, Path(tmp) / "a", not args.no_embeddings, args.embedding_model)
        regrouped, outside = measure(result, gold_rows)
        report["as_built"] = {**regrouped, "outside_n": outside["outside_n"], "outside_correct": outside["isic"],
                              "regrouped_divisions": result.summary["pairs"]["okved2__nace2"]["regrouped_divisions"],
                              "seconds": round(secs, 1)}
        print("build with every division counted as regrouped …", file=sys.stderr)
        with every_division_regrouped():
            result, secs = run(args.data, Path(tmp) / "b", not args.no_embeddings, args.embedding_model)
        _, outside = measure(result, gold_rows)
        report["every_division_regrouped"] = {**outside, "seconds": round(secs, 1)}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
