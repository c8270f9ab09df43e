"""Reliability of the review store under crashes and concurrent reviewers (issue 5).
Writes reports/review-reliability.json.

    python benchmarks/reliability.py [--trials 50] [--batch 2000] [--links 200] [--seed 5]

1. Kill trials: a child process applies a batch of decisions in ONE transaction; the
   parent kills it with SIGKILL at a random (seeded) moment. Afterwards the store must
   pass ``PRAGMA integrity_check`` and hold exactly the state before or the state after the
   batch (snapshot checksums from a dry run that was not killed; the child uses a fixed
   clock so both runs write identical events). The child keeps a tiny page cache so SQLite
   spills uncommitted pages into the WAL mid-transaction: the kill then also hits a WAL
   holding half a transaction.
2. Conflicting edits: four processes edit the same links at once, each reading a link's
   version, deciding, and retrying on conflict. From the log alone we then check that no
   update was lost (every applied decision is an event; every event was based on the state
   just before it; no two decisions based on one version were both applied; the state equals
   the replay of the log) and that every attempt made against a superseded version — and
   only those — was reported as a conflict.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk.review import Decision, LinkKey, ReviewStore  # noqa: E402

FIXED_TS = "2024-01-01T00:00:00.000Z"


def _code(i: int) -> str:
    """The i-th two-level code, valid in OKVED2 and NACE Rev.2 (10.00, 10.01, …)."""
    return f"{10 + i // 100:02d}.{i % 100:02d}"


def make_store(path: Path, n_links: int, seed: int) -> list[LinkKey]:
    """A store with ``n_links`` proposed okved2→nace2 links, a few already decided."""
    rng = random.Random(seed)
    keys = [LinkKey("okved2", _code(i), "nace2", _code(i)) for i in range(n_links)]
    with ReviewStore(path) as store:
        store._clock = lambda: FIXED_TS
        store.propose([{"key": k, "score": round(rng.random(), 4),
                        "evidence": {"title_tokens": round(rng.random(), 4)},
                        "source_title": f"вид деятельности {k.source_code}",
                        "target_title": f"activity {k.target_code}",
                        "flags": ("review",) if rng.random() < 0.3 else ()} for k in keys])
        store.decide([Decision(k, "confirm", store.get(k).version) for k in keys[::7]], reviewer="seed")
        store._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return keys


def batch(store: ReviewStore, keys: list[LinkKey], seed: int) -> list[Decision]:
    """One decision per link, deterministic for a store and a seed."""
    rng = random.Random(seed)
    out = []
    for i, k in enumerate(keys):
        v = store.get(k).version
        r = rng.random()
        if r < 0.4:
            out.append(Decision(k, "confirm", v, comment=f"ok {i}", origin=f"workbook:bench.xlsx:{i + 2}"))
        elif r < 0.6:
            out.append(Decision(k, "reject", v, comment=f"no {i}", origin=f"workbook:bench.xlsx:{i + 2}"))
        elif r < 0.75:
            out.append(Decision(k, "weight", v, weight=round(rng.random(), 3), origin="browser"))
        elif r < 0.9:
            out.append(Decision(k, "comment", v, comment=f"look again {i}", origin="browser"))
        elif r < 0.95:
            out.append(Decision(k, "retarget", v, new_target=_code(len(keys) + i), origin="browser"))
        else:
            new = LinkKey(k.source_scheme, k.source_code, k.target_scheme, _code(2 * len(keys) + i))
            out.append(Decision(new, "add", None, comment="missing", origin="cli"))
    return out


def child_import(store_path: str, seed: int, n: int) -> None:
    """The child of a kill trial: prepare the batch, say "ready", apply it in one transaction."""
    store = ReviewStore(store_path)
    store._clock = lambda: FIXED_TS
    store._conn().execute("PRAGMA cache_size = 8")  # spill uncommitted pages into the WAL
    keys = [s.key for s in store.links()][:n]
    decisions = batch(store, keys, seed)
    print("ready", flush=True)
    t0 = time.perf_counter()
    res = store.decide(decisions, reviewer="importer")
    print(f"done {time.perf_counter() - t0:.4f} {len(res.applied)}", flush=True)
    store.close()


def _run_child(store: Path, seed: int, n: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "child-import", str(store),
                             str(seed), str(n)], stdout=subprocess.PIPE, text=True)


def _snapshot(path: Path) -> tuple[int, str]:
    with ReviewStore(path, create=False) as store:
        return store.snapshot()


def _fresh_copy(base: Path, to: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(to) + suffix).unlink(missing_ok=True)
    shutil.copyfile(base, to)


def kill_trials(trials: int, size: int, seed: int, folder: Path) -> dict:
    base, work = folder / "base.sqlite", folder / "trial.sqlite"
    make_store(base, size, seed)
    before = _snapshot(base)
    _fresh_copy(base, work)                      # the dry run: never killed
    child = _run_child(work, seed, size)
    out, _ = child.communicate(timeout=120)
    if child.returncode != 0 or "done" not in out:
        raise RuntimeError(f"dry run failed: {out!r}")
    duration = float(out.split("done")[1].split()[0])
    after = _snapshot(work)
    assert after != before, "the batch changed nothing"
    rng = random.Random(seed)
    outcome: Counter = Counter()
    bad: list[dict] = []
    delays = []
    for t in range(trials):
        _fresh_copy(base, work)
        child = _run_child(work, seed, size)
        assert child.stdout.readline().strip() == "ready"
        delay = rng.uniform(0, duration * 1.3)   # mostly inside the transaction, some after it
        delays.append(round(delay, 4))
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        rest = child.stdout.read()
        child.stdout.close()
        wal = Path(str(work) + "-wal")
        wal_bytes = wal.stat().st_size if wal.exists() else 0
        with sqlite3.connect(work) as con:       # opening recovers from the WAL
            integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        snap = _snapshot(work)
        state = "before" if snap == before else "after" if snap == after else "other"
        with ReviewStore(work, create=False) as store:   # the derived state matches the log too
            store.rebuild_state()
            rebuilt = store.snapshot()
        if integrity != "ok" or state == "other" or rebuilt != snap:
            bad.append({"trial": t, "integrity": integrity, "state": state, "snapshot": snap,
                        "rebuilt_matches": rebuilt == snap})
        outcome[state] += 1
        outcome["child finished before the kill"] += "done" in rest
        outcome["killed mid-transaction with frames in the WAL"] += state == "before" and wal_bytes > 32
    return {"kill_trials": trials, "kill_bad_states": len(bad), "batch_decisions": size,
            "batch_seconds_dry_run": round(duration, 4), "outcomes": dict(sorted(outcome.items())),
            "kill_delay_seconds": {"min": min(delays), "max": max(delays)},
            "before": {"last_event": before[0], "checksum": before[1]},
            "after": {"last_event": after[0], "checksum": after[1]}, "bad": bad}


# -- conflicting edits ------------------------------------------------------------------
def child_edit(store_path: str, proc: int, rounds: int, seed: int, start_at: float, out_path: str,
               retries: int, think: float, slot: float) -> None:
    """One of the concurrent reviewers: edit every link ``rounds`` times, retrying on conflict."""
    rng = random.Random(seed * 100 + proc)
    store = ReviewStore(store_path, create=False)
    keys = [s.key for s in store.links()]
    attempts = []
    for r in range(rounds):
        for i, key in enumerate(keys):
            # every process takes up link i at the same moment: they all read one version,
            # so all but one of them must get a conflict, then retry against the new one
            time.sleep(max(0.0, start_at + (r * len(keys) + i) * slot - time.time()))
            for a in range(retries + 1):
                seen = store.get(key).version
                action = rng.choice(("confirm", "reject", "comment", "weight"))
                token = f"p{proc}-r{r}-l{i}-a{a}"   # every decision unique: never "unchanged"
                d = Decision(key, action, seen, comment=token, origin=f"bench:{proc}",
                             weight=round(rng.random(), 3) if action == "weight" else None)
                time.sleep(rng.uniform(0, think))  # think time: the window for another's edit
                res = store.decide([d], reviewer=f"reviewer{proc}")
                got = ("applied" if res.applied else "conflict" if res.conflicts else
                       "unchanged" if res.unchanged else "invalid")
                attempts.append({"link": key.source_code, "round": r, "seen": seen, "token": token,
                                 "outcome": got})
                if got != "conflict":
                    break
    store.close()
    Path(out_path).write_text(json.dumps(attempts))


def conflict_run(procs: int, n_links: int, rounds: int, seed: int, folder: Path, retries: int = 50,
                 think: float = 0.002, slot: float = 0.01) -> dict:
    path = folder / "conflicts.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    keys = make_store(path, n_links, seed)
    with ReviewStore(path) as store:
        first_bench_event = store.snapshot()[0]
        last_version = {s.key.source_code: s.version for s in store.links()}
    start_at = time.time() + 1.0
    t0 = time.perf_counter()
    children = [subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "child-edit", str(path), str(p),
                                  str(rounds), str(seed), repr(start_at), str(folder / f"edits{p}.json"),
                                  str(retries), repr(think), repr(slot)])
                for p in range(procs)]
    for c in children:
        if c.wait(timeout=600) != 0:
            raise RuntimeError(f"an editing process failed (exit {c.returncode})")
    seconds = time.perf_counter() - t0 - 1.0
    attempts = [dict(a, proc=p) for p in range(procs)
                for a in json.loads((folder / f"edits{p}.json").read_text())]
    with ReviewStore(path, create=False) as store:
        events = [e for e in store.events(first_bench_event)]
        state = store.snapshot()
        store.rebuild_state()
        replayed = store.snapshot()
        final = {s.key: s for s in store.links()}
    # the log, per link: each event must be based on the state just before it
    chain_breaks = 0
    successor: dict[tuple, str] = {}                # (link, version) -> token of the event based on it
    by_token = Counter(e.payload.get("comment") for e in events)
    for e in events:
        link, prev = e.key.source_code, e.previous["version"]
        if prev != last_version[link]:
            chain_breaks += 1
        last_version[link] = e.id
        successor[(link, prev)] = e.payload.get("comment")
        if e.payload.get("expected_version") != prev:
            chain_breaks += 1
    applied = [a for a in attempts if a["outcome"] == "applied"]
    missing = sum(1 for a in applied if by_token[a["token"]] != 1)
    extra = sum(1 for t in by_token if t not in {a["token"] for a in applied})
    per_base = Counter((a["link"], a["seen"]) for a in applied)
    double = sum(n - 1 for n in per_base.values() if n > 1)
    # an attempt conflicts exactly when another decision was already based on the version it saw
    stale = {a["token"] for a in attempts if successor.get((a["link"], a["seen"])) not in (None, a["token"])}
    reported = {a["token"] for a in attempts if a["outcome"] == "conflict"}
    final_ok = all(final[k].version == last_version[k.source_code] for k in keys)
    last_try = {(a["proc"], a["round"], a["link"]): a["outcome"] for a in attempts}
    lost = missing + extra + double + chain_breaks + (0 if state == replayed and final_ok else 1)
    return {"conflict_processes": procs, "conflicting_edits": len(stale), "lost_updates": lost,
            "conflicts_reported": len(reported),
            "details": {"links": n_links, "rounds_per_process": rounds, "attempts": len(attempts),
                        "applied": len(applied), "events_in_log": len(events),
                        "outcomes": dict(sorted(Counter(a["outcome"] for a in attempts).items())),
                        "conflicts_not_stale": len(reported - stale), "stale_not_reported": len(stale - reported),
                        "applied_missing_from_log": missing, "log_events_not_applied": extra,
                        "two_applied_on_one_version": double, "chain_breaks": chain_breaks,
                        "state_equals_replay": state == replayed,
                        "gave_up_after_retries": sum(1 for o in last_try.values() if o == "conflict"),
                        "think_seconds_max": think, "slot_seconds": slot, "retries_max": retries,
                        "seconds": round(seconds, 2)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--links", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "reports" / "review-reliability.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        kills = kill_trials(args.trials, args.batch, args.seed, Path(tmp))
        conflicts = conflict_run(args.procs, args.links, args.rounds, args.seed, Path(tmp))
    report = {k: kills[k] for k in ("kill_trials", "kill_bad_states")}
    report.update({k: conflicts[k] for k in ("conflict_processes", "conflicting_edits", "lost_updates",
                                             "conflicts_reported")})
    report["kill_details"] = {k: v for k, v in kills.items() if k not in report}
    report["conflict_details"] = conflicts["details"]
    report["seed"] = args.seed
    report["seconds"] = round(time.perf_counter() - t0, 1)
    report["sqlite"] = sqlite3.sqlite_version
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=2))
    ok = (report["kill_bad_states"] == 0 and report["lost_updates"] == 0
          and report["conflicts_reported"] == report["conflicting_edits"]
          and conflicts["details"]["conflicts_not_stale"] == 0)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child-import":
        child_import(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "child-edit":
        a = sys.argv[2:]
        child_edit(a[0], int(a[1]), int(a[2]), int(a[3]), float(a[4]), a[5], int(a[6]), float(a[7]), float(a[8]))
    else:
        main()
