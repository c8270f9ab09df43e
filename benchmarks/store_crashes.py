"""The review store and exports under kill -9 and under concurrent reviewers (used by
benchmarks/reliability.py; run there).

1. Kill trials, three kinds. A child process does one thing — ``decide`` (a batch of
   decisions in ONE transaction), ``import`` (a filled review workbook) or ``export`` (every
   format into a folder holding an earlier export) — and the parent kills it with SIGKILL at a
   random (seeded) moment. Afterwards the store must pass ``PRAGMA integrity_check``, its state
   rebuilt from the log must equal its stored state, and it must hold exactly the state before
   or the state after the work (snapshot checksums from a dry run that was not killed; the
   child uses a fixed clock so both runs write identical events). The export folder must hold
   exactly the files before or the files after, once an interrupted move is finished from its
   journal as the next export would (counted apart: ``export_moves_finished``). The decide
   child keeps a tiny page cache, so SQLite spills uncommitted pages into the WAL
   mid-transaction: the kill then also hits a WAL holding half a transaction.
2. Conflicting decisions: several processes decide on the same links at once — confirm,
   reject, comment, weight, and retargets between a source's two candidates (a retarget
   touches two links and is checked against both) — each reading versions, deciding, retrying
   on conflict. From the log alone: no update lost (every applied decision is in the log; every
   event was based on the state just before it; no two decisions based on one version; the
   state equals the replay of the log), and every attempt made against a superseded version
   of any link it touched — and only those — was reported as a conflict. Decisions made =
   applied + conflicts.
"""
from __future__ import annotations

import hashlib
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crosswalk.review import Decision, LinkKey, ReviewStore  # noqa: E402

FIXED_TS = "2024-01-01T00:00:00.000Z"
KINDS = ("decide", "import", "export")


def _code(i: int) -> str:
    """The i-th two-level code, valid in OKVED2 and NACE Rev.2 (10.00, 10.01, …)."""
    return f"{10 + i // 100:02d}.{i % 100:02d}"


def make_store(path: Path, n_links: int, seed: int, *, alternatives: bool = False) -> list[LinkKey]:
    """A store with ``n_links`` proposed okved2→nace2 links (and with ``alternatives`` a second
    candidate per source), a few already decided."""
    rng = random.Random(seed)
    keys = [LinkKey("okved2", _code(i), "nace2", _code(i)) for i in range(n_links)]
    if alternatives:
        keys += [LinkKey("okved2", _code(i), "nace2", _code(n_links + i)) for i in range(n_links)]
    with ReviewStore(path) as store:
        store._clock = lambda: FIXED_TS
        store.propose([{"key": k, "score": round(rng.random(), 4), "rank": 1 if n < n_links else 2,
                        "role": "proposal" if n < n_links else "alternative",
                        "evidence": {"title_tokens": round(rng.random(), 4)},
                        "source_title": f"вид деятельности {k.source_code}",
                        "target_title": f"activity {k.target_code}",
                        "flags": ("review",) if rng.random() < 0.3 else ()} for n, k in enumerate(keys)])
        store.decide([Decision(k, "confirm", store.get(k).version) for k in keys[:n_links:7]], reviewer="seed")
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


# -- what a kill trial compares -----------------------------------------------------------
def _store_snapshot(path: Path) -> tuple[int, str]:
    with ReviewStore(path, create=False) as store:
        return store.snapshot()


def _xlsx_digest(path: Path) -> str:
    """A digest of the cells of every sheet (an xlsx's bytes carry zip timestamps)."""
    import openpyxl
    wb = openpyxl.load_workbook(path, read_only=True)
    h = hashlib.sha256()
    for ws in wb.worksheets:
        h.update(ws.title.encode())
        for row in ws.iter_rows(values_only=True):
            h.update(repr(row).encode())
    wb.close()
    return h.hexdigest()


def folder_state(folder: Path) -> dict[str, str]:
    """name -> content digest of every entry of an export folder (hidden ones too)."""
    out = {}
    for p in sorted(folder.iterdir()):
        if p.is_dir():
            out[p.name] = "folder"
        elif p.suffix == ".xlsx":
            out[p.name] = _xlsx_digest(p)
        else:
            out[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _fresh_copy(base: Path, to: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(to) + suffix).unlink(missing_ok=True)
    shutil.copyfile(base, to)


# -- the children ------------------------------------------------------------------------
def child(kind: str, store_path: str, seed: int, n: int, extra: str) -> None:
    """A kill trial's child: prepare, say "ready", do the work, say "done <seconds>"."""
    store = ReviewStore(store_path, create=False)
    store._clock = lambda: FIXED_TS
    if kind == "decide":
        store._conn().execute("PRAGMA cache_size = 8")   # spill uncommitted pages into the WAL
        keys = [s.key for s in store.links()][:n]
        decisions = batch(store, keys, seed)
        work: Callable[[], object] = lambda: store.decide(decisions, reviewer="importer")
    elif kind == "import":
        from crosswalk.review.workbook import import_workbook
        store._conn().execute("PRAGMA cache_size = 8")
        work = lambda: import_workbook(store, extra, reviewer="importer")
    elif kind == "export":
        from crosswalk.export import export
        work = lambda: export(store, extra, exported_at="2024-01-01T00:00:00Z")
    else:
        raise SystemExit(f"unknown kind {kind}")
    t0 = 0.0

    def mark(inner: Callable) -> Callable:
        """Say when the commit phase starts (the transaction; the export's moves)."""
        def wrapped(*a, **kw):
            print(f"commit {time.perf_counter() - t0:.4f}", flush=True)
            return inner(*a, **kw)
        return wrapped
    if kind == "export":
        from crosswalk import staging
        staging.Staging.__exit__ = mark(staging.Staging.__exit__)
    else:
        store.decide = mark(store.decide)
    print("ready", flush=True)
    t0 = time.perf_counter()
    work()
    print(f"done {time.perf_counter() - t0:.4f}", flush=True)
    store.close()


def _run_child(kind: str, store: Path, seed: int, n: int, extra: str = "") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "child", kind, str(store), str(seed),
                             str(n), extra], stdout=subprocess.PIPE, text=True)


def _filled_workbook(store: Path, path: Path, seed: int) -> Path:
    """A review workbook of ``store`` (English) with one decision (seeded) on most items: on the
    proposal's row, accept, no correspondence or a comment alone."""
    import openpyxl
    from crosswalk.review.workbook import export_workbook
    from crosswalk.review.workbook_layout import header_ids
    rng = random.Random(seed)
    with ReviewStore(store, create=False) as s:
        export_workbook(s, path, overwrite=True, lang="en")
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    col = {cid: i + 1 for cid, i in header_ids([c.value for c in ws[1]]).items()}
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, col["role"]).value not in ("proposal", "предложение"):
            continue                      # one decision per item: on its proposal's row
        x = rng.random()
        if x < 0.45:
            ws.cell(r, col["decision"]).value = "accept"
        elif x < 0.75:
            ws.cell(r, col["decision"]).value = "no match"
            ws.cell(r, col["comment"]).value = f"нет {r}"
        elif x < 0.85:
            ws.cell(r, col["comment"]).value = f"проверить {r}"
    wb.save(path)
    return path


def kill_trials(trials: int, size: int, seed: int, folder: Path, kind: str = "decide",
                progress: Optional[Callable[[str], None]] = None) -> dict:
    """``trials`` kill -9 trials of one kind; returns counts and every bad state found."""
    from crosswalk.staging import finish_pending
    folder.mkdir(parents=True, exist_ok=True)
    base, work = folder / f"base-{kind}.sqlite", folder / f"trial-{kind}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(base) + suffix).unlink(missing_ok=True)
    make_store(base, size, seed)
    extra = ""
    out_base = out = None
    if kind == "import":
        extra = str(_filled_workbook(base, folder / "filled.xlsx", seed))
    elif kind == "export":
        from crosswalk.export import export
        out_base, out = folder / "export-before", folder / "export"
        shutil.rmtree(out_base, ignore_errors=True)
        with ReviewStore(base, create=False) as s:      # an earlier export, then more decisions
            export(s, out_base, exported_at="2023-12-31T00:00:00Z")
            s._clock = lambda: FIXED_TS
            later = [ln for ln in s.links() if ln.status == "pending"][: size // 2]
            s.decide([Decision(ln.key, ("confirm", "reject")[i % 3 == 0], ln.version, comment=f"later {i}")
                      for i, ln in enumerate(later)], reviewer="later")
            s._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        extra = str(out)
    before = _store_snapshot(base)

    def reset() -> None:
        _fresh_copy(base, work)
        if out is not None:
            shutil.rmtree(out, ignore_errors=True)
            shutil.copytree(out_base, out)

    reset()                                       # the dry run: never killed
    c = _run_child(kind, work, seed, size, extra)
    text, _ = c.communicate(timeout=600)
    if c.returncode != 0 or "done" not in text:
        raise RuntimeError(f"dry run of {kind} failed: {text!r}")
    duration = float(text.split("done")[1].split()[0])
    commit = float(text.split("commit")[1].split()[0])
    after = _store_snapshot(work)
    files_before = folder_state(out_base) if out is not None else None
    files_after = folder_state(out) if out is not None else None
    if kind != "export":
        assert after != before, f"the {kind} changed nothing"
    else:
        after = before                            # an export leaves the store as it was
        assert files_after != files_before, "the export changed no file"
    rng = random.Random(f"{seed}-{kind}")
    outcome: Counter = Counter()
    bad: list[dict] = []
    delays = []
    for t in range(trials):
        reset()
        c = _run_child(kind, work, seed, size, extra)
        assert c.stdout.readline().strip() == "ready"
        # half the trials anywhere in the work (and a little after), half in its commit phase
        delay = rng.uniform(0, duration * 1.3) if t % 2 else rng.uniform(commit, duration * 1.05)
        delays.append(round(delay, 4))
        time.sleep(delay)
        c.send_signal(signal.SIGKILL)
        c.wait()
        rest = c.stdout.read()
        c.stdout.close()
        wal = Path(str(work) + "-wal")
        wal_bytes = wal.stat().st_size if wal.exists() else 0
        with sqlite3.connect(work) as con:       # opening recovers from the WAL
            integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        snap = _store_snapshot(work)
        state = "before" if snap == before else "after" if snap == after else "other"
        with ReviewStore(work, create=False) as store:   # the derived state matches the log too
            replay_ok = store.check() == []
        files = None
        if out is not None:
            journals = list(out.glob(".crosswalk-staging-*.json"))
            outcome["export_moves_finished"] += bool(journals)
            finish_pending(out)                   # as the next export would
            now = folder_state(out)
            files = "before" if now == files_before else "after" if now == files_after else "other"
            outcome[f"files {files}"] += 1
        if integrity != "ok" or state == "other" or not replay_ok or files == "other":
            bad.append({"trial": t, "integrity": integrity, "state": state, "replay_matches": replay_ok,
                        "files": files, "delay": round(delay, 4)})
        if kind != "export":
            outcome[state] += 1
        outcome["finished before the kill"] += "done" in rest
        outcome["killed mid-transaction with frames in the WAL"] += kind != "export" and state == "before" \
            and wal_bytes > 32
        if progress and (t + 1) % 10 == 0:
            progress(f"kill {kind}: {t + 1}/{trials} trials, {len(bad)} bad")
    return {"kind": kind, "trials": trials, "bad_states": len(bad), "work_items": size,
            "dry_run_seconds": round(duration, 4), "commit_starts_at_seconds": round(commit, 4), "outcomes": dict(sorted(outcome.items())),
            "kill_delay_seconds": {"min": min(delays, default=0), "max": max(delays, default=0)}, "bad": bad}


# -- conflicting decisions ----------------------------------------------------------------------
def child_edit(store_path: str, proc: int, rounds: int, seed: int, start_at: float, out_path: str,
               retries: int, think: float, slot: float) -> None:
    """One of the concurrent reviewers: decide on every source ``rounds`` times, retrying on conflict."""
    rng = random.Random(seed * 100 + proc)
    store = ReviewStore(store_path, create=False)
    links = store.links()
    by_source: dict[str, list[LinkKey]] = {}
    for s in links:
        by_source.setdefault(s.key.source_code, []).append(s.key)
    sources = sorted(by_source)
    attempts = []
    for r in range(rounds):
        for i, src in enumerate(sources):
            # every process takes up source i at the same moment: they all read one version,
            # so all but one of them must get a conflict, then retry against the new one
            time.sleep(max(0.0, start_at + (r * len(sources) + i) * slot - time.time()))
            for a in range(retries + 1):
                keys = by_source[src]
                token = f"p{proc}-r{r}-s{i}-a{a}"   # every decision unique: never "unchanged"
                action = rng.choice(("confirm", "reject", "comment", "weight", "retarget", "retarget"))
                key = rng.choice(keys)
                seen = {k: store.get(k).version for k in keys}
                if action == "retarget" and len(keys) > 1:
                    other = next(k for k in keys if k != key)
                    d = Decision(key, "retarget", seen[key], new_target=other.target_code, comment=token,
                                 target_version=seen[other], origin=f"bench:{proc}")
                    touched = [key, other]
                else:
                    action = "confirm" if action == "retarget" else action
                    d = Decision(key, action, seen[key], comment=token, origin=f"bench:{proc}",
                                 weight=round(rng.random(), 3) if action == "weight" else None)
                    touched = [key]
                time.sleep(rng.uniform(0, think))  # think time: the window for another's decision
                res = store.decide([d], reviewer=f"reviewer{proc}")
                got = ("applied" if res.applied else "conflict" if res.conflicts else
                       "unchanged" if res.unchanged else "invalid")
                attempts.append({"links": [list(k.__dict__.values()) for k in touched],
                                 "seen": [seen[k] for k in touched], "round": r, "source": src,
                                 "token": token, "outcome": got})
                if got != "conflict":
                    break
    store.close()
    Path(out_path).write_text(json.dumps(attempts))


def conflict_run(procs: int, n_sources: int, rounds: int, seed: int, folder: Path, retries: int = 50,
                 think: float = 0.002, slot: float = 0.01) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "conflicts.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    make_store(path, n_sources, seed, alternatives=True)
    with ReviewStore(path) as store:
        first_bench_event = store.snapshot()[0]
        last_version = {tuple(s.key.__dict__.values()): s.version for s in store.links()}
    start_at = time.time() + 1.0
    t0 = time.perf_counter()
    children = [subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "child-edit", str(path), str(p),
                                  str(rounds), str(seed), repr(start_at), str(folder / f"edits{p}.json"),
                                  str(retries), repr(think), repr(slot)])
                for p in range(procs)]
    for c in children:
        if c.wait(timeout=900) != 0:
            raise RuntimeError(f"a deciding process failed (exit {c.returncode})")
    seconds = time.perf_counter() - t0 - 1.0
    attempts = [dict(a, proc=p) for p in range(procs)
                for a in json.loads((folder / f"edits{p}.json").read_text())]
    with ReviewStore(path, create=False) as store:
        events = store.events(first_bench_event)
        state = store.snapshot()
        replay_problems = store.check()
        final = {tuple(s.key.__dict__.values()): s for s in store.links()}
    # the log, per link: each event based on the state just before it, on the version its
    # decision saw of that link
    chain_breaks = 0
    successor: dict[tuple, str] = {}        # (link, version) -> token of the event based on it
    double = 0
    by_token = Counter(e.payload.get("comment") for e in events)
    for e in events:
        link = tuple(e.key.__dict__.values())
        prev = e.previous["version"] if e.previous else None
        if prev != last_version.get(link):
            chain_breaks += 1
        if e.payload.get("expected_version") != prev:
            chain_breaks += 1
        if (link, prev) in successor:
            double += 1
        successor[(link, prev)] = e.payload.get("comment")
        last_version[link] = e.id
    applied = [a for a in attempts if a["outcome"] == "applied"]
    want = {a["token"]: len(a["links"]) for a in applied}          # a retarget writes one event per link
    missing = sum(1 for t, n in want.items() if by_token[t] != n)
    extra = sum(1 for t in by_token if t not in want)
    # an attempt conflicts exactly when another decision was already based on a version it saw
    stale = {a["token"] for a in attempts
             if any(successor.get((tuple(k), v)) not in (None, a["token"]) for k, v in zip(a["links"], a["seen"]))}
    reported = {a["token"] for a in attempts if a["outcome"] == "conflict"}
    final_ok = all(final[k].version == v for k, v in last_version.items())
    last_try = {(a["proc"], a["round"], a["source"]): a["outcome"] for a in attempts}
    outcomes = Counter(a["outcome"] for a in attempts)
    lost = missing + extra + double + chain_breaks + (0 if not replay_problems and final_ok else 1)
    return {"conflict_processes": procs, "decisions_made": len(attempts), "conflicting_decisions": len(stale),
            "lost_updates": lost, "conflicts_reported": len(reported),
            "details": {"sources": n_sources, "links": 2 * n_sources, "rounds_per_process": rounds,
                        "applied": len(applied), "retargets_applied": sum(1 for a in applied if len(a["links"]) > 1),
                        "events_in_log": len(events), "outcomes": dict(sorted(outcomes.items())),
                        "made_equals_applied_plus_conflicts": len(attempts) == outcomes["applied"] + outcomes["conflict"],
                        "conflicts_not_stale": len(reported - stale), "stale_not_reported": len(stale - reported),
                        "applied_missing_from_log": missing, "log_events_not_applied": extra,
                        "two_applied_on_one_version": double, "chain_breaks": chain_breaks,
                        "state_equals_replay": not replay_problems, "last_state": list(state),
                        "gave_up_after_retries": sum(1 for o in last_try.values() if o == "conflict"),
                        "think_seconds_max": think, "slot_seconds": slot, "retries_max": retries,
                        "seconds": round(seconds, 2)}}


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    elif sys.argv[1] == "child-edit":
        a = sys.argv[2:]
        child_edit(a[0], int(a[1]), int(a[2]), int(a[3]), float(a[4]), a[5], int(a[6]), float(a[7]), float(a[8]))
