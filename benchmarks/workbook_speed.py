"""The review workbook at full scale, written to reports/workbook-speed.json (run by hand):

    python benchmarks/workbook_speed.py --store STORE.sqlite [--output reports/workbook-speed.json]
        [--runs 3] [--decisions 1000] [--force]

STORE is a review store loaded from a full build (`crosswalk build --data ../shared/classifiers
--embeddings -o OUT`, then `crosswalk review load OUT --store STORE`); it is copied, never
changed. Measured, as the median of ``--runs`` runs (wall and CPU seconds, so a busy machine
shows as wall ≫ CPU; the load averages before and after are recorded too):

* ``export_seconds`` — ``export_workbook`` of every link of the store (Russian);
* ``import_seconds`` — ``import_workbook`` of a workbook of the OKPDTR → OKZ-2014 items with
  ``--decisions`` item decisions filled in as a reviewer would: 60 % accept the proposal, 20 %
  accept an alternative, 10 % no correspondence, 5 % split between two candidates, 5 % a code
  no candidate names (typed) — each run into a fresh copy of the store;
* ``import_seconds_no_typed_codes`` — the same without typed codes (those go through the
  store's catalogue lookups, measured apart);
* ``reimport_seconds`` — the same file again (every decision already imported: unchanged).

The goals (issue 15): export of ~34,000 links ≤ 5 s, import of 1,000 decisions ≤ 5 s.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk.review import ReviewStore  # noqa: E402
from crosswalk.review.workbook import import_workbook, write_review_workbook  # noqa: E402
from crosswalk.review.workbook_layout import header_ids  # noqa: E402


def timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def median(runs: list[tuple[float, float]]) -> dict:
    return {"wall": round(statistics.median(w for w, _ in runs), 3), "cpu": round(statistics.median(c for _, c in runs), 3),
            "runs": [round(w, 3) for w, _ in runs]}


def fill(path: Path, n: int, typed: bool, seed: int = 15) -> dict:
    """Write ``n`` item decisions into the workbook at ``path`` as a reviewer would."""
    import openpyxl
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    col = {cid: i + 1 for cid, i in header_ids([c.value for c in ws[1]]).items()}
    items: dict[int, list[int]] = {}
    for r in range(2, ws.max_row + 1):
        items.setdefault(ws.cell(r, col["item"]).value, []).append(r)
    targets = sorted({ws.cell(r, col["target_code"]).value for r in range(2, ws.max_row + 1)})
    rng = random.Random(seed)
    chosen = rng.sample(sorted(k for k, rows in items.items() if len(rows) >= 2), n)
    mix = {"accept": 0, "alternative": 0, "no_match": 0, "split": 0, "typed": 0}
    for k in chosen:
        rows = items[k]
        x = rng.random()
        if x < 0.60:
            ws.cell(rows[0], col["decision"]).value, kind = "принять", "accept"
        elif x < 0.80:
            ws.cell(rows[1], col["decision"]).value, kind = "принять", "alternative"
        elif x < 0.90:
            ws.cell(rows[0], col["decision"]).value, kind = "нет соответствия", "no_match"
        elif x < 0.95 or not typed:
            for r, w in zip(rows[:2], ("0,7", "0,3")):
                ws.cell(r, col["decision"]).value, ws.cell(r, col["weight"]).value = "разделить", w
            kind = "split"
        else:
            own = {ws.cell(r, col["target_code"]).value for r in rows}
            ws.cell(rows[0], col["decision"]).value = "выбрать код"
            ws.cell(rows[0], col["new_target"]).value = rng.choice([t for t in targets if t not in own])
            kind = "typed"
        mix[kind] += 1
    wb.save(path)
    return mix


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", required=True, type=Path, help="A review store loaded from a full build (copied).")
    ap.add_argument("--output", type=Path, default=ROOT / "reports" / "workbook-speed.json")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--decisions", type=int, default=1000)
    ap.add_argument("--force", action="store_true", help="Overwrite an existing report.")
    a = ap.parse_args(argv)
    if a.output.exists() and not a.force:
        ap.error(f"{a.output} exists; --force to overwrite it")
    work = Path(tempfile.mkdtemp(prefix="workbook-speed-"))
    try:
        base = work / "base.sqlite"
        shutil.copy(a.store, base)
        out: dict = {"store": a.store.name, "python": platform.python_version(), "machine": platform.machine(),
                     "cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in os.getloadavg()]}
        with ReviewStore(base) as st:
            out["links"] = sum(sum(c.values()) for c in st.counts().values())
            out["items"] = len(st.items_of())
            runs = []
            for i in range(a.runs):
                res, w, c = timed(lambda: write_review_workbook(st, work / f"all{i}.xlsx"))
                runs.append((w, c))
                print(f"export {i + 1}/{a.runs}: {res.rows} rows, {res.items} items in {w:.2f} s (cpu {c:.2f})", flush=True)
            out["export_rows"], out["export_items"] = res.rows, res.items
            out["export_mb"] = round((work / "all0.xlsx").stat().st_size / 2**20, 2)
            out["export_seconds"] = median(runs)
            pair = write_review_workbook(st, work / "pair.xlsx", source_scheme="okpdtr", target_scheme="okz2014")
        for typed, name in ((True, "import_seconds"), (False, "import_seconds_no_typed_codes")):
            book = work / f"filled-{typed}.xlsx"
            shutil.copy(pair.path, book)
            mix = fill(book, a.decisions, typed)
            runs, again = [], []
            for i in range(a.runs):
                db = work / f"run-{typed}-{i}.sqlite"
                shutil.copy(base, db)
                with ReviewStore(db) as st:
                    rep, w, c = timed(lambda: import_workbook(st, book, reviewer="benchmark"))
                    if not rep.ok or rep.decisions != a.decisions:
                        raise SystemExit(f"import did not apply every decision: {rep.as_dict()}")
                    runs.append((w, c))
                    rep2, w2, c2 = timed(lambda: import_workbook(st, book, reviewer="benchmark"))
                    again.append((w2, c2))
                    if rep2.applied:
                        raise SystemExit("a second import changed the store")
                print(f"{name} {i + 1}/{a.runs}: {rep.decisions} decisions ({rep.rows_read} rows) in {w:.2f} s"
                      f" (cpu {c:.2f}); again {w2:.2f} s", flush=True)
            out[name] = median(runs)
            out[name]["mix"] = mix
            if typed:
                out["reimport_seconds"] = median(again)
            out["import_rows"] = rep.rows_read
        out["decisions"] = a.decisions
        out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]   # wall ≫ cpu: a busy machine
        a.output.parent.mkdir(parents=True, exist_ok=True)
        a.output.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(out, ensure_ascii=False, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
