"""Reliability: hostile inputs, kill -9 and concurrent reviewers (issues 5 and 16).
Writes reports/reliability.json.

    nice python benchmarks/reliability.py [--out reports/reliability.json] [--force]
        [--parts hostile,kill,conflict] [--cases 'apply-*,csv-*'] [--trials 210] [--procs 4]

1. Hostile inputs (benchmarks/hostile.py): ≥ 40 generated cases — zip and XML bombs, XXE,
   truncated and damaged files, wrong and mixed encodings, unterminated quotes, formula and DDE
   payloads, huge cells and lines, a 400 MB shared string, nested JSON, NaN, thousands
   separators and padded codes for apply… — each run as a subprocess through validate, build,
   code, apply or review import, with its peak memory (ru_maxrss of the child) and time, and
   judged against the truth: refused with a clear message, loaded with a warning, or exact
   numbers. A *silent change* is an output that differs from the truth with exit 0.
2. Kill -9 (benchmarks/store_crashes.py): trials over decide, import and export; the store
   and the export folder must hold the state before or after, never one in between.
3. Concurrent reviewers: processes making conflicting decisions (retargets included); no
   update lost, every decision applied or reported as a conflict.

The corpus is generated into a temporary folder (some files unpack to gigabytes: never
committed). An existing report is never overwritten without --force.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import hostile  # noqa: E402
import hostile_cases  # noqa: E402
from store_crashes import KINDS, conflict_run, kill_trials  # noqa: E402

PEAK_GOAL_MB = 512
_OUTPUT_KEPT = 200_000     # characters of a child's stdout/stderr kept for judging (a bomb may echo more)


# The child reports its own peak (VmHWM of its memory map): ru_maxrss from wait4 would
# include the parent's resident size at fork, which the child inherits across exec.
_LAUNCH = """import atexit, os, runpy, sys
def _peak():
    try:
        with open("/proc/self/status") as fh:
            kb = next(line.split()[1] for line in fh if line.startswith("VmHWM:"))
        with open(os.environ["CW_PEAK_FILE"], "w") as out:
            out.write(kb)
    except (OSError, StopIteration):
        pass
atexit.register(_peak)
sys.argv = ["crosswalk"] + sys.argv[1:]
runpy.run_module("crosswalk", run_name="__main__", alter_sys=True)
"""


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return int(next(line.split()[1] for line in fh if line.startswith("VmHWM:")))
    except (OSError, StopIteration, ValueError):
        return 0


def run_child(argv: list[str], cwd: Path, timeout: float) -> hostile.Run:
    """``crosswalk ARGV`` in a child process in ``cwd``: exit status, output, seconds, and the
    child's peak resident memory (its own VmHWM, read at exit and polled meanwhile — a child
    killed at the timeout keeps the last reading; ru_maxrss where /proc is missing), killed
    after ``timeout`` seconds."""
    out, err, peak_file = cwd / ".stdout", cwd / ".stderr", cwd / ".peak"
    t0 = time.perf_counter()
    polled = 0
    with out.open("wb") as o, err.open("wb") as e:
        p = subprocess.Popen([sys.executable, "-c", _LAUNCH, *argv], cwd=cwd, stdout=o, stderr=e,
                             stdin=subprocess.DEVNULL,
                             env={**os.environ, "PYTHONPATH": str(ROOT), "CW_PEAK_FILE": str(peak_file)})
        timed_out = False
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            polled = max(polled, _hwm_kb(p.pid))
            if time.perf_counter() - t0 > timeout:
                p.kill()
                timed_out = True
                pid, status, usage = os.wait4(p.pid, 0)
                break
            time.sleep(0.02)
        p.returncode = os.waitstatus_to_exitcode(status)   # reaped here: Popen must not wait again
    seconds = time.perf_counter() - t0
    try:
        peak_kb = int(peak_file.read_text())
    except (OSError, ValueError):
        peak_kb = polled or usage.ru_maxrss

    def read(path: Path) -> str:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(_OUTPUT_KEPT)
        text = head.decode("utf-8", errors="replace")
        return text + (f"\n[… {size - len(head)} more bytes]" if size > len(head) else "")
    return hostile.Run(None if timed_out else p.returncode, read(out), read(err), seconds,
                       max(peak_kb, polled) / 1024, cwd, timed_out)


def run_hostile(patterns: list[str], folder: Path, timeout: float, progress) -> dict:
    chosen = [c for c in hostile_cases.cases(ROOT / "raw_classifiers")
              if not patterns or any(fnmatch.fnmatch(c.name, p) for p in patterns)]
    rows = []
    for n, case in enumerate(chosen, 1):
        where = folder / case.name
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir(parents=True)
        t0 = time.perf_counter()
        try:
            argv, judge = case.make(where)
        except Exception as exc:    # the harness failed, not crosswalk: say so, go on
            rows.append({"case": case.name, "command": case.command, "expect": case.expect, "what": case.what,
                         "as_expected": False, "silent_change": False, "harness_error": f"{type(exc).__name__}: {exc}"})
            progress(f"[{n}/{len(chosen)}] HARNESS {case.name}: {type(exc).__name__}: {exc}")
            continue
        made = time.perf_counter() - t0
        inputs = sum(p.stat().st_size for p in where.rglob("*") if p.is_file())
        run = run_child(argv, where, timeout)
        try:
            verdict = judge(run)
        except Exception as exc:    # a judge that cannot read the output: the output is wrong
            verdict = hostile.Verdict(False, run.returncode == 0, f"output unreadable: {type(exc).__name__}: {exc}")
        row = {"case": case.name, "command": case.command, "expect": case.expect, "what": case.what,
               "as_expected": verdict.ok, "silent_change": verdict.silent, "exit": run.returncode,
               "traceback": run.traceback, "timed_out": run.timed_out, "peak_mb": round(run.peak_mb, 1),
               "seconds": round(run.seconds, 2), "input_mb": round(inputs / hostile.MB, 2),
               "generate_seconds": round(made, 2), "note": verdict.note}
        rows.append(row)
        mark = "ok " if verdict.ok else ("SILENT" if verdict.silent else "FAIL")
        progress(f"[{n}/{len(chosen)}] {mark:6} {case.name:42} exit {run.returncode} peak {run.peak_mb:7.1f} MB"
                 f" {run.seconds:6.1f} s  {verdict.note[:90]}")
        shutil.rmtree(where, ignore_errors=True)      # gigabyte bombs do not pile up
    refusals = [r for r in rows if r["expect"] == "refused"]
    return {"hostile_cases": len(rows), "as_expected": sum(r["as_expected"] for r in rows),
            "refused_as_expected": sum(r["as_expected"] for r in refusals), "refusals_expected": len(refusals),
            "silent_changes": sum(r["silent_change"] for r in rows),
            "tracebacks": sum(r.get("traceback", False) for r in rows),
            "harness_errors": sum("harness_error" in r for r in rows),
            "max_peak_mb": max((r.get("peak_mb", 0.0) for r in rows), default=0.0),
            "over_peak_goal": [r["case"] for r in rows if r.get("peak_mb", 0.0) >= PEAK_GOAL_MB],
            "cases": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "reports" / "reliability.json"))
    ap.add_argument("--force", action="store_true", help="overwrite an existing report")
    ap.add_argument("--parts", default="hostile,kill,conflict", help="comma-separated: hostile, kill, conflict")
    ap.add_argument("--cases", default="", help="hostile cases to run: comma-separated names or globs")
    ap.add_argument("--case-timeout", type=float, default=180.0, help="seconds before a hostile case is killed")
    ap.add_argument("--trials", type=int, default=210, help="kill -9 trials, split over decide, import, export")
    ap.add_argument("--batch", type=int, default=1000, help="decisions (links) per kill trial")
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--sources", type=int, default=100, help="sources (two candidates each) decided on concurrently")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--slot", type=float, default=0.05,
                    help="seconds between two sources: all processes take up a source at the same moment")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--keep", help="generate the hostile corpus into this folder (default: a temporary one)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"{out} exists (a committed report?); pass --force to overwrite it, or --out elsewhere",
              file=sys.stderr)
        return 2
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = parts - {"hostile", "kill", "conflict"}
    if unknown:
        ap.error(f"unknown parts {sorted(unknown)}")

    def progress(msg: str) -> None:
        print(msg, flush=True)

    t0 = time.perf_counter()
    report: dict = {}
    with tempfile.TemporaryDirectory(prefix="cw-reliability-") as tmp:
        tmp = Path(tmp)
        if "hostile" in parts:
            folder = Path(args.keep) if args.keep else tmp / "hostile"
            h = run_hostile([p for p in args.cases.split(",") if p], folder, args.case_timeout, progress)
            report.update({k: h[k] for k in ("hostile_cases", "refused_as_expected", "silent_changes", "max_peak_mb")})
            report["hostile"] = {k: v for k, v in h.items() if k not in report}
        if "kill" in parts:
            per = [args.trials // len(KINDS) + (i < args.trials % len(KINDS)) for i in range(len(KINDS))]
            kills = {}
            for kind, n in zip(KINDS, per):
                progress(f"kill -9: {n} trials of {kind}")
                kills[kind] = kill_trials(n, args.batch, args.seed, tmp / "kill", kind, progress)
            report["kill_trials"] = sum(k["trials"] for k in kills.values())
            report["kill_bad_states"] = sum(k["bad_states"] for k in kills.values())
            report["kill"] = kills
        if "conflict" in parts:
            progress(f"{args.procs} processes deciding on {args.sources} sources, {args.rounds} rounds")
            c = conflict_run(args.procs, args.sources, args.rounds, args.seed, tmp / "conflict", slot=args.slot)
            report.update({k: c[k] for k in ("lost_updates", "conflict_processes")})
            report["conflicts"] = {k: v for k, v in c.items() if k not in report}
    first = ("hostile_cases", "refused_as_expected", "silent_changes", "max_peak_mb", "kill_trials",
             "kill_bad_states", "lost_updates", "conflict_processes")
    report = {**{k: report[k] for k in first if k in report}, **{k: v for k, v in report.items() if k not in first}}
    report.update(seed=args.seed, seconds=round(time.perf_counter() - t0, 1), sqlite=sqlite3.sqlite_version,
                  command="python benchmarks/reliability.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: report[k] for k in first if k in report}, indent=2))
    print(f"wrote {out}")
    ok = report.get("kill_bad_states", 0) == 0 and report.get("lost_updates", 0) == 0 \
        and report.get("silent_changes", 0) == 0
    return 0 if ok else 1


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
