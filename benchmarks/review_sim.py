"""The review simulation: does the matcher learn while people review? (run by hand)

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/review_sim.py \\
        [--gold ../shared/gold/okpdtr_okz_dev.csv] [--out reports/review-sim.json] \\
        [--png docs/review-sim.png] [--force] [--seed N] [--every N] [--order shuffle|queue] \\
        [--esco-sample N] [--no-embeddings] [--full-okpdtr N]

A simulated reviewer works through a review store item by item, following a gold table:

* items come in a seeded shuffle (``--order shuffle``, the default) or as the app's queue
  orders them (``--order queue``: the smallest gap between the two best open candidates
  first, then the lowest top score — no data rows are known here);
* at each item the reviewer sees the item as the store holds it now: its proposal and
  candidates. The proposal right → accept (1 key); candidate k right → pick it (1 key);
  otherwise the code is typed: a key to open the code box, the code's characters, Enter
  (``len(code) + 2`` keys);
* with learning, a :class:`crosswalk.review.learning.Reranker` pass runs after every
  ``--every`` decisions (the app re-ranks within about a second of a decision, while a
  reviewer takes several seconds per item, so 1 is what the app does);
* without learning, the proposals stay the build's.

Reported, over the sequence of decisions: the share of items whose first proposal was
already right when the reviewer reached them, and keystrokes per item, with and without
learning, on

* ``okpdtr_dev`` — the agreed rows of the OKPDTR → OKZ-2014 dev gold (132 titles: tiny);
  candidates from the matcher as benchmarks/evaluate.py runs it (ISCO-08 as context, the
  ESCO labels and the OKZ examples as indexes);
* ``esco`` — English job titles → ISCO-08: the labels of the ESCO occupations held out whole
  by benchmarks/evaluate.py's seeded split (those no remaining occupation carries) are the
  items; the remaining ESCO labels, ISCO-08's and OKZ's examples are the indexes.

``--full-okpdtr N`` also times passes on a store of every OKPDTR title (≈ 8,000 items):
N decisions on seeded random items (the proposal accepted, or the second candidate picked),
a pass after each.

The learning's two constants (review/learning.py STRENGTH, review/taught.py FLOOR) were
chosen on a tuning split disjoint from the ``esco`` hold-out (a quarter of the remaining
ESCO occupations, by another hash), never on these figures.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from crosswalk.candidates import CandidateSet  # noqa: E402
from crosswalk.model import code_sort_key  # noqa: E402
from crosswalk.review import ReviewStore  # noqa: E402
from crosswalk.review.items import ItemDecision, ItemKey, candidate_order  # noqa: E402
from crosswalk.review.learning import Reranker  # noqa: E402

SEED = 20261122
TOP = 3             # candidates per item in the store (`review load --top` default)
T0 = time.perf_counter()


def say(*msg) -> None:
    print(f"[{time.perf_counter() - T0:7.1f} s]", *msg, file=sys.stderr, flush=True)


# -- the store the reviewer works in ---------------------------------------------------
def make_store(path: Path, cset: CandidateSet, catalogue: dict[str, str], *, top: int = TOP) -> int:
    """A review store holding each item's first ``top`` candidates (the best one its
    proposal), as `review load` puts a build, and the target codes reviewers may type."""
    entries = []
    for c in cset.candidates:
        if c.rank > top:
            continue
        entries.append({"source_scheme": cset.source_scheme, "source_code": c.source,
                        "target_scheme": cset.target_scheme, "target_code": c.target, "score": c.score,
                        "evidence": dict(c.evidence), "origin": "proposed", "rank": c.rank,
                        "role": "proposal" if c.rank == 1 else "alternative",
                        "source_title": cset.source_titles.get(c.source, ""),
                        "target_title": cset.target_titles.get(c.target, "")})
    with ReviewStore(path) as store:
        n = store.propose(entries, origin="build:review-sim")
        store.register_items(cset.target_scheme, sorted(catalogue.items()))
    return n


def _live(item) -> list:
    return sorted((s for s in item.links if s.status != "rejected"), key=candidate_order)


def _queue_key(item) -> tuple:
    """The app's queue order without data rows: small gap between the two best first."""
    scores = sorted((s.score or 0.0 for s in item.links if s.status != "rejected"), reverse=True)
    top = scores[0] if scores else 0.0
    gap = top - scores[1] if len(scores) > 1 else top
    return (round(gap, 6), round(top, 6), code_sort_key(item.key.source_code))


class _View:
    """The items of one pair as the store holds them, kept current from the log."""

    def __init__(self, store: ReviewStore, source: str, target: str):
        self.store, self.s, self.t = store, source, target
        self.items = {it.key.source_code: it for it in store.items_of(source, target)}
        self.last = store._conn().execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]

    def refresh(self) -> int:
        con = self.store._conn()
        rows = con.execute("SELECT DISTINCT source_code FROM events WHERE id > ? AND source_scheme = ?"
                           " AND target_scheme = ?", (self.last, self.s, self.t)).fetchall()
        self.last = con.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
        for (code,) in rows:
            self.items[code] = self.store.item(ItemKey(self.s, code, self.t))
        return len(rows)


def simulate(store_path: Path, gold: dict[str, tuple[frozenset, str]], *, source: str, target: str,
             learner: Optional[Reranker] = None, every: int = 1, order: str = "shuffle", seed: int = SEED,
             limit: Optional[int] = None, progress: Optional[Callable[[str], None]] = None) -> dict:
    """Replay a reviewer following ``gold`` (source code -> (acceptable codes, the code typed
    when none is shown)) through the store; returns the decisions and the passes."""
    if order not in ("shuffle", "queue"):
        raise ValueError(f"order must be shuffle or queue, not {order!r}")
    records, passes = [], []
    with ReviewStore(store_path, create=False) as store:
        view = _View(store, source, target)
        todo = sorted((c for c in view.items if c in gold and view.items[c].status == "open"), key=code_sort_key)
        if order == "shuffle":
            random.Random(seed).shuffle(todo)
        left = set(todo)
        total = len(todo) if limit is None else min(limit, len(todo))
        for n in range(total):
            code = todo[n] if order == "shuffle" else min(left, key=lambda c: _queue_key(view.items[c]))
            left.discard(code)
            item = view.items[code]
            ok, typed = gold[code]
            live = _live(item)
            at = next((k for k, s in enumerate(live) if s.key.target_code in ok), None)
            if at == 0:
                choice, targets, keys = "accept", (), 1
            elif at is not None and at < 9:
                choice, targets, keys = "pick", ((live[at].key.target_code, None),), 1
            else:
                choice, targets, keys = "pick", ((typed, None),), len(typed) + 2
            res = store.decide_items([ItemDecision(item.key, choice, item.version, targets, origin="review-sim")],
                                     reviewer="review-sim")
            if not res.applied:
                raise RuntimeError(f"{item.key}: the decision was not applied: {res.invalid or res.conflicts}")
            records.append({"item": code, "first_right": at == 0, "shown_at": None if at is None else at + 1,
                            "choice": choice, "keys": keys})
            view.refresh()
            if learner is not None and ((n + 1) % every == 0 or n + 1 == total):
                r = learner.run_once()
                passes.append({"after": n + 1, "seconds": r.seconds, "events": r.events, "changed": r.changed,
                               "checked": r.checked})
                view.refresh()
            if progress and (n + 1) % 250 == 0:
                right = sum(x["first_right"] for x in records[-250:]) / len(records[-250:])
                progress(f"{n + 1}/{total} decisions, first proposal right in the last 250: {right:.1%}")
    return {"records": records, "passes": passes}


# -- figures -----------------------------------------------------------------------------
def _share(records: list[dict], key: str = "first_right") -> Optional[float]:
    return round(sum(r[key] for r in records) / len(records), 4) if records else None


def _keys(records: list[dict]) -> Optional[float]:
    return round(sum(r["keys"] for r in records) / len(records), 3) if records else None


def blocks(records: list[dict], size: int) -> list[list]:
    """[decisions so far, share first right in the block, keys per item in the block]."""
    out = []
    for i in range(0, len(records), size):
        b = records[i:i + size]
        out.append([i + len(b), _share(b), _keys(b)])
    return out


def timing(passes: list[dict]) -> dict:
    if not passes:
        return {}
    secs = sorted(p["seconds"] for p in passes)
    ev = [p["events"] for p in passes]
    return {"passes": len(passes), "seconds_median": round(statistics.median(secs), 4),
            "seconds_p95": round(secs[min(len(secs) - 1, int(0.95 * len(secs)))], 4), "seconds_max": round(secs[-1], 4),
            "events_total": sum(ev), "events_per_pass_median": statistics.median(ev), "events_per_pass_max": max(ev),
            "items_changed_total": sum(p["changed"] for p in passes)}


def summary(run: dict, *, after: int, block: int) -> dict:
    rec = run["records"]
    return {"decisions": len(rec), "first_right": _share(rec), f"first_right_after_{after}": _share(rec[after:]),
            f"first_right_first_{after}": _share(rec[:after]), "keys_per_item": _keys(rec),
            f"keys_per_item_after_{after}": _keys(rec[after:]),
            "choices": {c: sum(r["choice"] == c for r in rec) for c in ("accept", "pick")},
            "typed": sum(r["shown_at"] is None for r in rec), "curve": blocks(rec, block),
            "timing": timing(run["passes"])}


def run_both(name: str, cset: CandidateSet, catalogue: dict[str, str], gold: dict, learner_kw: dict, *,
             folder: Path, every: int, order: str, seed: int, after: int, block: int) -> dict:
    """The same store reviewed twice: with learning and without."""
    base = folder / f"{name}.sqlite"
    make_store(base, cset, catalogue)
    out = {"items": len(gold), "order": order, "every": every}
    for tag in ("learning", "no_learning"):
        path = folder / f"{name}-{tag}.sqlite"
        shutil.copyfile(base, path)
        learner = Reranker(path, **learner_kw) if tag == "learning" else None
        t0 = time.perf_counter()
        if learner is not None:
            first = learner.run_once()      # reads the store, the build's scores, the titles
            say(f"{name}: first pass (nothing decided yet) {first.seconds:.2f} s, {first.events} events")
        say(f"{name}: reviewing with{'out' if learner is None else ''} learning")
        try:
            run = simulate(path, gold, source=cset.source_scheme, target=cset.target_scheme, learner=learner,
                           every=every, order=order, seed=seed, progress=lambda m: say(f"{name} {tag}: {m}"))
        finally:
            if learner is not None:
                learner.close()
        out[tag] = summary(run, after=after, block=block)
        out[tag]["seconds"] = round(time.perf_counter() - t0, 1)
        say(f"{name} {tag}: first proposal right {out[tag]['first_right']:.1%}"
            f" (after {after}: {out[tag][f'first_right_after_{after}']}), {out[tag]['keys_per_item']} keys per item")
    return out


# -- the data ----------------------------------------------------------------------------
def okpdtr_dev(d, embedder, wide: int):
    """OKPDTR → OKZ candidates of the dev gold's titles, as benchmarks/evaluate.py matches them."""
    from evaluate import _sub
    from crosswalk.match import match
    gold = d.gold
    src = _sub(d.okpdtr, gold.primary)
    cset = match(src, d.okz, target_context=[d.isco08], embeddings=embedder is not None, embedder=embedder,
                 indexes=[d.esco], limit=wide)
    want = {s: (frozenset(gold.acceptable[s]), sorted(gold.primary[s], key=code_sort_key)[0]) for s in gold.primary}
    level = max(it.level for it in d.okz)
    catalogue = {it.code: it.title for it in d.okz if it.level == level}
    kw = dict(classifications={"okz2014": d.okz, "isco08": d.isco08}, indexes=[d.esco], embedder=embedder,
              candidates={("okpdtr", "okz2014"): cset})
    return cset, catalogue, want, kw


def esco_split(d, embedder, wide: int, sample: int = 0, seed: int = SEED):
    """The ESCO hold-out of benchmarks/evaluate.py: its split (``_held_out``), its items."""
    from evaluate import esco_split as split
    from crosswalk.code import code_titles, key_code
    rest, gold, keys, held = split(d, sample, seed)
    coding = code_titles(keys, d.isco08, context=[d.okz], indexes=[rest], embeddings=embedder is not None,
                         embedder=embedder, limit=wide, min_score=0.0)
    cset = coding.candidate_set()
    want = {key_code(k): (frozenset(gold[k]), sorted(gold[k], key=code_sort_key)[0]) for k in keys}
    level = max(it.level for it in d.isco08)
    catalogue = {it.code: it.title for it in d.isco08 if it.level == level}
    kw = dict(classifications={"isco08": d.isco08, "okz2014": d.okz}, indexes=[rest], embedder=embedder,
              candidates={("text", "isco08"): cset})
    return cset, catalogue, want, kw, len(held)


def full_okpdtr(d, embedder, wide: int, decisions: int, folder: Path, seed: int) -> dict:
    """Pass times on a store of every OKPDTR title: ``decisions`` decisions on seeded random
    items (accept, or pick the second candidate, alternately), a pass after each."""
    from crosswalk.match import match
    t0 = time.perf_counter()
    cset = match(d.okpdtr, d.okz, target_context=[d.isco08], embeddings=embedder is not None, embedder=embedder,
                 indexes=[d.esco], limit=wide)
    say(f"full OKPDTR matched in {time.perf_counter() - t0:.1f} s")
    path = folder / "okpdtr-full.sqlite"
    level = max(it.level for it in d.okz)
    make_store(path, cset, {it.code: it.title for it in d.okz if it.level == level})
    learner = Reranker(path, classifications={"okz2014": d.okz, "isco08": d.isco08}, indexes=[d.esco],
                       embedder=embedder, candidates={("okpdtr", "okz2014"): cset})
    first = learner.run_once()
    again = learner.run_once()
    say(f"full OKPDTR: first pass {first.seconds:.2f} s, a pass with nothing new {again.seconds:.4f} s")
    rng = random.Random(seed)
    passes = []
    with ReviewStore(path, create=False) as store:
        items = {it.key.source_code: it for it in store.items_of("okpdtr", "okz2014")}
        n_links = sum(len(it.links) for it in items.values())
        codes = sorted(items, key=code_sort_key)
        for n in range(decisions):
            code = rng.choice(codes)
            codes.remove(code)
            it = store.item(ItemKey("okpdtr", code, "okz2014"))
            live = _live(it)
            d_ = (ItemDecision(it.key, "pick", it.version, ((live[1].key.target_code, None),), origin="review-sim")
                  if n % 2 and len(live) > 1 else ItemDecision(it.key, "accept", it.version, origin="review-sim"))
            store.decide_items([d_], reviewer="review-sim")
            r = learner.run_once()
            passes.append({"after": n + 1, "seconds": r.seconds, "events": r.events, "changed": r.changed,
                           "checked": r.checked, "stages": r.stages})
            if (n + 1) % 25 == 0:
                say(f"full OKPDTR: {n + 1}/{decisions} decisions; pass median"
                    f" {statistics.median(p['seconds'] for p in passes):.3f} s")
    learner.close()
    return {"items": len(items), "links": n_links, "decisions": decisions,
            "first_pass_seconds": first.seconds, "idle_pass_seconds": again.seconds, **timing(passes),
            "checked_per_pass_median": statistics.median(p["checked"] for p in passes)}


# -- the picture -----------------------------------------------------------------------
def plot(report: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    panels = (("esco", "ESCO hold-out → ISCO-08"), ("okpdtr_dev", "OKPDTR dev → OKZ-2014"))
    for ax, (name, title) in zip(axes, panels):
        sec = report.get(name)
        if not sec:
            ax.set_visible(False)
            continue
        for tag, label, style in (("learning", "learning", "-"), ("no_learning", "no learning", "--")):
            curve = sec[tag]["curve"]
            ax.plot([c[0] for c in curve], [100 * c[1] for c in curve], style, marker="o", ms=3, label=label)
        if name == "esco":
            ax.axhline(80, color="grey", lw=0.8, ls=":")
            ax.axvline(500, color="grey", lw=0.8, ls=":")
        ax.set_title(f"{title} ({sec['items']} items)")
        ax.set_xlabel("decisions made")
        ax.set_ylabel(f"first proposal right, % (blocks of {sec['block']})")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    from evaluate import Data, _paths
    root, gold_dir = _paths()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", default=str(gold_dir / "okpdtr_okz_dev.csv"), help="the OKPDTR→OKZ dev gold")
    ap.add_argument("--out", default=str(ROOT / "reports" / "review-sim.json"))
    ap.add_argument("--png", default=str(ROOT / "docs" / "review-sim.png"))
    ap.add_argument("--force", action="store_true", help="overwrite --out and --png if they exist")
    ap.add_argument("--seed", type=int, default=SEED, help="the order of the items (shuffle)")
    ap.add_argument("--every", type=int, default=1, help="decisions between two re-ranking passes")
    ap.add_argument("--order", choices=("shuffle", "queue"), default="shuffle")
    ap.add_argument("--esco-sample", type=int, default=0, help="review this many held-out ESCO labels (0: all)")
    ap.add_argument("--no-embeddings", action="store_true", help="words and spelling only")
    ap.add_argument("--full-okpdtr", type=int, default=200, metavar="N",
                    help="time passes over N decisions on a store of every OKPDTR title (0: skip)")
    ap.add_argument("--skip", default="", help="comma-separated sections to skip: okpdtr_dev, esco")
    ap.add_argument("--work", default="", help="folder for the stores (default: a temporary one, removed)")
    args = ap.parse_args()
    out_path, png_path = Path(args.out), Path(args.png)
    for p in (out_path, png_path):
        if p.exists() and not args.force:
            sys.exit(f"{p} exists; pass --force to overwrite it (or --out/--png elsewhere)")
    from crosswalk.embeddings import available
    embedder = None
    if not args.no_embeddings and available("e5"):
        from crosswalk.embeddings import Embedder
        embedder = Embedder(model="e5")
    from crosswalk.review.learning import STRENGTH, WIDE
    from crosswalk.review.taught import FLOOR
    skip = {s for s in args.skip.split(",") if s}
    d = Data(root, Path(args.gold))
    report: dict = {"config": {"seed": args.seed, "order": args.order, "every": args.every, "top": TOP,
                               "embeddings": embedder is not None, "strength": STRENGTH, "floor": FLOOR,
                               "wide": WIDE, "gold": Path(args.gold).name,
                               "keys": "accept 1, pick a shown candidate 1, a typed code len(code) + 2"}}
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="review-sim-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        common = dict(folder=work, every=args.every, order=args.order, seed=args.seed)
        if "okpdtr_dev" not in skip:
            say("OKPDTR dev: matching")
            cset, cat, gold, kw = okpdtr_dev(d, embedder, WIDE)
            sec = run_both("okpdtr_dev", cset, cat, gold, kw, after=50, block=22, **common)
            sec.update(block=22, first_right=sec["learning"]["first_right"],
                       first_right_no_learning=sec["no_learning"]["first_right"])
            report["okpdtr_dev"] = sec
        if "esco" not in skip:
            say("ESCO hold-out: coding the held-out labels")
            cset, cat, gold, kw, n_held = esco_split(d, embedder, WIDE, args.esco_sample, args.seed)
            sec = run_both("esco", cset, cat, gold, kw, after=500, block=250, **common)
            sec.update(block=250, occupations_held_out=n_held,
                       first_right_after_500=sec["learning"]["first_right_after_500"],
                       first_right_after_500_no_learning=sec["no_learning"]["first_right_after_500"])
            report["esco"] = sec
        if args.full_okpdtr:
            say("full OKPDTR store: pass times")
            report["okpdtr_full_passes"] = full_okpdtr(d, embedder, WIDE, args.full_okpdtr, work, args.seed)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    png_path.parent.mkdir(parents=True, exist_ok=True)
    plot(report, png_path)
    say(f"written {out_path} and {png_path}")
    print(json.dumps({k: {x: v for x, v in s.items() if x.startswith("first_right") or x.endswith("seconds_median")}
                      for k, s in report.items() if isinstance(s, dict) and k != "config"}, indent=1))


if __name__ == "__main__":
    main()
