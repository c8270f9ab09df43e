"""How fast review is at the scale of thousands (issue 15, item 5). Writes reports/review-speed.json.

    python benchmarks/review_speed.py --build OUT [--replicas 1] [--decisions 60] [--out FILE] [--force]
                                      [--screenshots docs/screenshots]

OUT is a `crosswalk build` output folder of the full reference data (the classifications its
summary names are read for the page's context, as `review serve` does). Steps, each printed:

1. ``review_load_seconds``: `review load` of the build into a fresh store (median of --repeat).
2. ``workbook_export_seconds``: crosswalk.review.workbook.export_workbook of that store (every
   link); ``import_1000_seconds``: 1,000 item decisions typed into a workbook of the OKPDTR items
   (as benchmarks/workbook_speed.py types them), imported with import_workbook (median of
   --repeat, each into a fresh copy of the store).
3. The store grown past 50,000 links and 10,000 items: the build's OKPDTR→OKZ candidates
   replicated --replicas times as free-text titles (the same candidates, ranks and scores;
   seeded data-row counts), as `crosswalk code` would put coded vacancies in.
4. The review app on that store in a thread, Chromium (Debian's, driven by Playwright) on its
   page: --decisions decisions by keyboard (accept mostly; every 5th a pick of candidate 2,
   every 9th no correspondence). ``decide_ms``: time in the server's item decision (store write,
   model refresh, next item) per decision; ``next_item_ms``: from the key's event time to the
   frame after the next item is on screen, measured in the page by a MutationObserver the
   driver installs (not by the app). ``summary_ms``: GET /summary round trips (and the page's
   height in Chromium, ``summary_px``).
5. With --screenshots: the new screens, on a copy of the loaded build (nothing synthetic).

Medians and p95 of each; figures vary with the machine's load (quote ratios, not absolutes):
``machine`` records the CPUs and the load average when the run started and ended.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from crosswalk.review import LinkKey, ReviewStore, load_build_output  # noqa: E402
from crosswalk.review.workbook import export_workbook, import_workbook  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# the driver's own clock in the page: key event time -> the frame after #item-title changed
PROBE = """() => {
  window.__cw = { t0: 0, lat: [] };
  document.addEventListener('keydown', (e) => { window.__cw.t0 = e.timeStamp; }, true);
  new MutationObserver(() => {
    const c = window.__cw;
    if (!c.t0) return;
    const t0 = c.t0; c.t0 = 0;
    requestAnimationFrame(() => setTimeout(() => c.lat.push(performance.now() - t0), 0));
  }).observe(document.getElementById('item-title'), { childList: true, subtree: true, characterData: true });
}"""


def say(msg: str) -> None:
    print(msg, flush=True)


def stats(values: list[float]) -> dict:
    v = sorted(values)
    if not v:
        return {"n": 0}
    p95 = v[min(len(v) - 1, max(0, round(0.95 * len(v)) - 1))]
    return {"n": len(v), "median": round(statistics.median(v), 3), "p95": round(p95, 3), "max": round(v[-1], 3)}


# -- 1, 2: review load, workbook export and import ----------------------------------------
def time_load(build: Path, work: Path, repeat: int) -> tuple[list[float], Path]:
    times = []
    for i in range(repeat):
        path = work / f"load{i}.sqlite"
        t = time.perf_counter()
        with ReviewStore(path) as s:
            load_build_output(s, build)
        times.append(time.perf_counter() - t)
        say(f"  review load #{i + 1}: {times[-1]:.2f} s")
    return times, work / "load0.sqlite"


def time_workbook(store_path: Path, work: Path, repeat: int) -> tuple[dict, dict, int]:
    """export_workbook of every link; import_workbook of 1,000 item decisions typed into a
    workbook of the OKPDTR → OKZ-2014 items as benchmarks/workbook_speed.py types them (60 %
    accept the proposal, 20 % an alternative, 10 % no correspondence, 5 % split, 5 % a typed code)."""
    from workbook_speed import fill
    export_times, import_times = [], []
    applied = 0
    with ReviewStore(store_path, create=False) as s:
        rows = len(s.links())
        for i in range(repeat):
            t = time.perf_counter()
            export_workbook(s, work / f"review{i}.xlsx")
            export_times.append(time.perf_counter() - t)
            say(f"  workbook export #{i + 1}: {export_times[-1]:.2f} s ({rows} links)")
        book = work / "okpdtr.xlsx"
        export_workbook(s, book, source_scheme="okpdtr", target_scheme="okz2014")
    mix = fill(book, 1000, True)
    for i in range(repeat):
        copy = work / f"import{i}.sqlite"
        shutil.copy(store_path, copy)
        with ReviewStore(copy, create=False) as s:
            t = time.perf_counter()
            rep = import_workbook(s, book, reviewer="bench")
            import_times.append(time.perf_counter() - t)
        applied = rep.applied
        say(f"  import of 1,000 decisions {mix} #{i + 1}: {import_times[-1]:.2f} s ({rep.applied} applied)")
    return stats(export_times), stats(import_times), applied


# -- 3: a store past 50,000 links ------------------------------------------------------
def grow(store_path: Path, replicas: int, seed: int) -> None:
    rng = random.Random(seed)
    with ReviewStore(store_path, create=False) as s:
        base = s.links(source_scheme="okpdtr", target_scheme="okz2014")
        for r in range(1, replicas + 1):
            entries, rows = [], {}
            for ln in base:
                title = f"{ln.source_title} (вакансия {r})"
                code = "T" + hashlib.sha1(f"{ln.key.source_code}#{r}".encode()).hexdigest()[:12]
                rows.setdefault(code, rng.choice((1, 1, 2, 3, 5, 8, 20, 60, 300)))
                entries.append({"key": LinkKey("text", code, "okz2014", ln.key.target_code), "score": ln.score,
                                "evidence": ln.evidence, "rank": ln.rank, "role": ln.role, "source_title": title,
                                "target_title": ln.target_title, "flags": (*ln.flags, "free-text")})
            t = time.perf_counter()
            s.propose(entries, origin=f"bench:replica:{r}")
            s.record_text_rows(rows)
            say(f"  replica {r}: {len(entries)} links for {len(rows)} titles in {time.perf_counter() - t:.1f} s")


# -- 4: the app in Chromium ------------------------------------------------------------
def drive(store_path: Path, n: int) -> dict:
    from playwright.sync_api import sync_playwright
    from crosswalk.review.web import make_server, start_in_thread
    t = time.perf_counter()
    server = make_server(store_path, reviewer="bench")
    start_in_thread(server)
    model = server.model
    say(f"  server ready in {time.perf_counter() - t:.1f} s; preparing texts and suggestions …")
    model.wait_prepared()
    say(f"  prepared in {time.perf_counter() - t:.1f} s ({', '.join(sorted(model.classes)) or 'no classifications'})")
    decide_ms: list[float] = []
    inner = model.decide_item

    def timed(*a, **k):
        t0 = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            decide_ms.append(1000 * (time.perf_counter() - t0))
    model.decide_item = timed
    base = f"http://127.0.0.1:{server.server_address[1]}"
    out: dict = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            ctx = browser.new_context(locale="ru-RU", viewport={"width": 1400, "height": 1000}, bypass_csp=True)
            page = ctx.new_page()
            t = time.perf_counter()
            page.goto(base + "/")
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            out["first_page_seconds"] = round(time.perf_counter() - t, 3)
            page.evaluate(PROBE)

            def press(key: str) -> None:
                seq = page.get_attribute("body", "data-seq")
                page.keyboard.press(key)
                page.wait_for_function(f"document.body.dataset.seq !== '{seq}' && document.body.dataset.idle === '1'",
                                       timeout=60_000)
            for i in range(n):
                press("x" if i % 9 == 8 else "2" if i % 5 == 4 else "a")
                if (i + 1) % 10 == 0:
                    say(f"  {i + 1}/{n} decisions")
            lat = page.evaluate("window.__cw.lat")
            out["next_item_ms"] = stats(lat)
            out["decide_ms"] = stats(decide_ms[-n:])
            summary_ms = []
            for _ in range(5):
                t = time.perf_counter()
                with urllib.request.urlopen(base + "/summary?lang=ru", timeout=60) as r:
                    r.read()
                summary_ms.append(1000 * (time.perf_counter() - t))
            out["summary_ms"] = stats(summary_ms)
            page.goto(base + "/summary?lang=ru")
            out["summary_px"] = page.evaluate("document.documentElement.scrollHeight")
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return out


def shoot(store_path: Path, shots: Path) -> None:
    """The new screens on the real reference data (the loaded build, nothing synthetic), for
    docs/screenshots."""
    from playwright.sync_api import sync_playwright
    from crosswalk.review.web import make_server, start_in_thread
    server = make_server(store_path, reviewer="anna")
    start_in_thread(server)
    server.model.wait_prepared()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            ctx = browser.new_context(locale="ru-RU", viewport={"width": 1400, "height": 1000}, bypass_csp=True)
            screenshots(ctx.new_page(), f"http://127.0.0.1:{server.server_address[1]}", shots)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()


def screenshots(page, base: str, shots: Path) -> None:
    shots.mkdir(parents=True, exist_ok=True)

    def settle():
        page.wait_for_function("document.body.dataset.idle === '1'", timeout=60_000)

    def press(key):
        seq = page.get_attribute("body", "data-seq")
        page.keyboard.press(key)
        page.wait_for_function(f"document.body.dataset.seq !== '{seq}' && document.body.dataset.idle === '1'",
                               timeout=60_000)
    page.goto(base + "/summary?lang=ru")
    page.screenshot(path=str(shots / "summary.png"), full_page=True)
    # OKPDTR «Аппаратчик …» items: a few decided, the next shows how they went
    page.goto(base + "/?lang=ru")
    page.wait_for_selector("body[data-ready='1']")
    page.select_option("#i-pair", "okpdtr:okz2014")
    settle()
    page.fill("#i-q", "Аппаратчик")
    page.press("#i-q", "Enter")
    settle()
    for _ in range(4):
        press("a")
    page.screenshot(path=str(shots / "review.png"), full_page=False)
    press("s")
    page.screenshot(path=str(shots / "split.png"), full_page=False)
    page.keyboard.press("Escape")
    # «Кладовщик …»: linked to 4321 by typing «склад» (its OKZ title says «на складе»); the next
    # «Кладовщик …» finds 4321 by «кладовщ», a word no OKZ title holds: the decision taught it
    page.fill("#i-q", "Кладовщик")
    page.press("#i-q", "Enter")
    settle()
    for word, shot in (("склад", None), ("кладовщ", "suggest.png")):
        page.keyboard.press("c")
        page.keyboard.type(word)
        page.wait_for_function("document.querySelectorAll('#suggestions li').length > 0", timeout=30_000)
        settle()
        if shot:
            page.screenshot(path=str(shots / shot), full_page=False)
        page.keyboard.press("Enter")
        settle()
    say(f"  screenshots in {shots}: summary.png, review.png, split.png, suggest.png")


def _load() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the system has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True, type=Path, help="a `crosswalk build` output folder (full reference data)")
    ap.add_argument("--replicas", type=int, default=1, help="copies of the OKPDTR→OKZ candidates as free text")
    ap.add_argument("--decisions", type=int, default=60, help="decisions made in Chromium")
    ap.add_argument("--repeat", type=int, default=3, help="runs of review load, export and import (median)")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--work", type=Path, default=None, help="folder for the stores (default: a temporary one)")
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "review-speed.json")
    ap.add_argument("--force", action="store_true", help="replace an existing report")
    ap.add_argument("--screenshots", type=Path, default=None, help="also write the screenshots here")
    a = ap.parse_args()
    if a.out.exists() and not a.force:
        raise SystemExit(f"{a.out} exists; pass --force to replace it")
    if not (a.build / "candidates").is_dir():
        raise SystemExit(f"{a.build}: not a `crosswalk build` output folder (no candidates/)")
    work = a.work or Path(tempfile.mkdtemp(prefix="review-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    report: dict = {"build": str(a.build), "replicas": a.replicas, "seed": a.seed,
                    "machine": {"cpus": os.cpu_count(), "load_average_start": _load()}}
    say(f"1. review load of {a.build} into a fresh store ({a.repeat}×)")
    load_times, loaded = time_load(a.build, work, a.repeat)
    report["review_load_seconds"] = stats(load_times)
    say("2. workbook export of every link, and import of 1,000 decisions")
    exp, imp, applied = time_workbook(loaded, work, a.repeat)
    with ReviewStore(loaded, create=False) as s:
        report["workbook_links"] = len(s.links())
    report["workbook_export_seconds"], report["import_1000_seconds"] = exp, imp
    report["import_1000_applied"] = applied
    say(f"3. the store grown with {a.replicas} free-text replica(s) of the OKPDTR→OKZ candidates")
    bench = work / "bench.sqlite"
    shutil.copy(loaded, bench)
    grow(bench, a.replicas, a.seed)
    with ReviewStore(bench, create=False) as s:
        report["links"] = len(s.links())
        report["items"] = len(s.items_of())
    say(f"   {report['links']} links, {report['items']} items")
    say(f"4. the review app in Chromium: {a.decisions} decisions by keyboard")
    got = drive(bench, a.decisions)
    report.update(got)
    report["decide_ms_p95"] = got["decide_ms"]["p95"]
    report["next_item_ms_p95"] = got["next_item_ms"]["p95"]
    report["summary_ms_median"] = got["summary_ms"]["median"]
    report["machine"]["load_average_end"] = _load()
    report["goals"] = {"decide_ms_p95 <= 100": report["decide_ms_p95"] <= 100,
                       "next_item_ms_p95 <= 300": report["next_item_ms_p95"] <= 300,
                       "summary_ms <= 1000": got["summary_ms"]["p95"] <= 1000,
                       "review_load_seconds <= 5": report["review_load_seconds"]["median"] <= 5,
                       "workbook_export_seconds <= 5": exp["median"] <= 5,
                       "import_1000_seconds <= 5": imp["median"] <= 5}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    say(json.dumps({k: report[k] for k in ("links", "items", "decide_ms_p95", "next_item_ms_p95", "summary_ms",
                                           "review_load_seconds", "workbook_export_seconds", "import_1000_seconds")},
                   ensure_ascii=False))
    say(f"wrote {a.out}")
    if a.screenshots is not None:
        say("5. screenshots of the review app on the loaded build")
        shots_store = work / "shots.sqlite"
        shutil.copy(loaded, shots_store)
        shoot(shots_store, a.screenshots)
    if a.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
