"""End to end: Debian's Chromium, driven by Playwright, on the real review page.

Accept, reject, pick a second candidate and undo by keyboard; a second tab gets a visible
conflict; a blind second review by another reviewer; kappa on the summary page; the
disagreements settled; then the export holds exactly the confirmed links. Writes
docs/screenshots/review.png and summary.png.

Needs /usr/bin/chromium (apt-get install chromium) and the `playwright` PyPI package;
never `playwright install`. In CI (CI set) a missing browser fails the test; elsewhere it
is skipped with the reason.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from crosswalk.export import export, load_classifications
from crosswalk.review import LinkKey, ReviewStore
from crosswalk.review.web import make_server, start_in_thread
from crosswalk.review.web.data import REOPEN

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "docs" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

# okved2 source -> [(nace2 target, score)]; queue order: 62.01 (gap .03), 19.20 (.25),
# 85.11 (single, .70), 61.10 (.77), 01.11 (.99)
PROPOSALS = {"62.01": [("62.01", 0.91), ("62.02", 0.88)], "19.20": [("19.20", 0.80), ("19.10", 0.55)],
             "85.11": [("85.10", 0.70)], "61.10": [("61.10", 0.97), ("74.90", 0.20)], "01.11": [("01.11", 0.99)]}
# what anna decides for the links still pending after the keyboard steps, and boris's blind verdicts
ANNA = {"85.11 → 85.10": "a", "61.10 → 61.10": "a", "61.10 → 74.90": "r", "01.11 → 01.11": "a",
        "19.20 → 19.20": "a", "19.20 → 19.10": "r"}
BORIS = {"62.01 → 62.01": "a", "62.01 → 62.02": "r", "19.20 → 19.20": "a", "19.20 → 19.10": "r",
         "85.11 → 85.10": "r", "61.10 → 61.10": "a", "61.10 → 74.90": "a", "01.11 → 01.11": "a"}
CONFIRMED = {("62.01", "62.01"), ("19.20", "19.20"), ("85.11", "85.10"), ("61.10", "61.10"), ("01.11", "01.11")}


def K(src, tgt):
    return LinkKey("okved2", src, "nace2", tgt)


def _playwright():
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            from playwright.sync_api import sync_playwright
            return sync_playwright
        except ImportError:
            reason = "the playwright package is missing (pip install playwright)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser test: {reason}")
    pytest.skip(reason)


@pytest.fixture
def app(tmp_path):
    classes, _ = load_classifications([ROOT / "raw_classifiers" / "okved2", ROOT / "raw_classifiers" / "nace2"])
    path = tmp_path / "review.sqlite"

    def title(scheme, code):
        c = classes[scheme]
        return c.get(code).title if code in c else ""

    with ReviewStore(path) as s:
        s.propose([{"key": K(src, tgt), "score": sc,
                    "evidence": {"title": round(sc * 0.9, 2), "hierarchy": 0.8, "structure": round(sc, 2)},
                    "source_title": title("okved2", src), "target_title": title("nace2", tgt)}
                   for src, cands in PROPOSALS.items() for tgt, sc in cands])
    server = make_server(path, classifications=classes)
    start_in_thread(server)
    try:
        yield path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def shown(page) -> str:
    """The link on screen, as "62.01 → 62.02" (codes only)."""
    t = page.inner_text("#link-title")
    src, tgt = t.split(" → ")
    return f"{src.split(':')[1]} → {tgt.split(':')[1]}"


def press(page, key: str) -> None:
    """Press a key and wait until the page has finished what it started."""
    seq = page.get_attribute("body", "data-seq")
    page.keyboard.press(key)
    page.wait_for_function(f"document.body.dataset.seq !== '{seq}' && document.body.dataset.idle === '1'")


def open_page(ctx, url: str):
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    return page


def set_reviewer(page, name: str) -> None:
    if page.is_hidden("#reviewer-dialog"):
        page.click("#change-reviewer")
    seq = page.get_attribute("body", "data-seq")
    page.fill("#reviewer-input", name)
    page.click("#reviewer-save")
    page.wait_for_function(f"document.body.dataset.seq !== '{seq}' && document.body.dataset.idle === '1'")


def statuses(path) -> dict:
    with ReviewStore(path, create=False) as s:
        return {(ln.key.source_code, ln.key.target_code): ln.status for ln in s.links()}


def decide_all(page, verdicts: dict) -> None:
    for _ in range(50):
        if page.is_visible("#empty"):
            return
        press(page, verdicts[shown(page)])
    raise AssertionError("the queue did not empty")


def test_review_in_the_browser(app):
    sync_playwright = _playwright()
    path, base = app
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            # bypass_csp: the page forbids eval, which wait_for_function uses
            ctx = browser.new_context(locale="ru-RU", viewport={"width": 1360, "height": 900}, bypass_csp=True)
            page = open_page(ctx, base + "/")
            # Russian by default for a Russian browser; the name is asked once
            assert page.get_attribute("html", "lang") == "ru"
            assert page.is_visible("#reviewer-dialog")
            set_reviewer(page, "anna")
            assert page.inner_text("#btn-accept").startswith("Принять")
            page.click("#lang-toggle")
            assert page.inner_text("#btn-accept").startswith("Accept")
            assert shown(page) == "62.01 → 62.01"           # the most uncertain source first
            assert "Computer programming activities" in page.inner_text("#target")
            assert "62.0" in page.inner_text("#source .path")   # hierarchy from the loaded classification

            # a second tab on the same link
            tab2 = open_page(ctx, base + "/")
            assert shown(tab2) == "62.01 → 62.01"

            press(page, "a")                                  # accept
            assert statuses(path)[("62.01", "62.01")] == "confirmed"
            press(tab2, "r")                                  # stale: a visible conflict, nothing applied
            assert tab2.is_visible("#conflict")
            assert "anna" in tab2.inner_text("#conflict")
            assert statuses(path)[("62.01", "62.01")] == "confirmed"
            tab2.close()

            assert shown(page) == "62.01 → 62.02"
            press(page, "r")                                  # reject
            assert statuses(path)[("62.01", "62.02")] == "rejected"
            assert shown(page) == "19.20 → 19.20"
            press(page, "2")                                  # pick the 2nd candidate
            st = statuses(path)
            assert (st[("19.20", "19.20")], st[("19.20", "19.10")]) == ("rejected", "confirmed")
            with ReviewStore(path, create=False) as s:
                n_events = len(s.events())
            press(page, "u")                                  # undo: new events, none deleted
            st = statuses(path)
            want = ("pending", "pending") if REOPEN else ("confirmed", "rejected")
            assert (st[("19.20", "19.20")], st[("19.20", "19.10")]) == want
            with ReviewStore(path, create=False) as s:
                assert len(s.events()) == n_events + 2
            assert shown(page) == "19.20 → 19.20"             # the undone link is back on screen
            page.screenshot(path=str(SHOTS / "review.png"), full_page=True)
            press(page, "n")
            decide_all(page, ANNA)
            assert "pending" not in statuses(path).values()

            # blind second review by another reviewer
            page.goto(base + "/?mode=second")
            page.wait_for_selector("body[data-ready='1']")
            set_reviewer(page, "boris")
            assert page.inner_text("#queue-count") == "(8)"
            assert page.is_hidden("#link-status") and page.is_hidden("#history-box")
            assert "anna" not in page.inner_text("#card")
            with ReviewStore(path, create=False) as s:
                before = {ln.key: ln for ln in s.links()}
            decide_all(page, BORIS)
            with ReviewStore(path, create=False) as s:   # verdicts beside the links, which stay anna's
                assert {ln.key: ln for ln in s.links()} == before
                seconds = [e for e in s.events() if e.action == "second_review"]
                assert len(seconds) == len(BORIS) and {e.reviewer for e in seconds} == {"boris"}

            # kappa on the summary page: anna C5/R3, boris C5/R3, 6 of 8 agree
            # p_o = .75, p_e = (25 + 9) / 64, kappa = (.75 - .53125) / .46875 = .467
            page.goto(base + "/?mode=review")
            page.wait_for_selector("body[data-ready='1']")
            page.click("#nav-summary")
            page.wait_for_selector("#agreement")
            assert page.inner_text("td.kappa") == "0.467"
            page.screenshot(path=str(SHOTS / "summary.png"), full_page=True)

            # the disagreements, settled by anna keeping her decisions
            page.goto(base + "/?mode=settle")
            page.wait_for_selector("body[data-ready='1']")
            set_reviewer(page, "anna")
            assert page.inner_text("#queue-count") == "(2)"
            decide_all(page, {"85.11 → 85.10": "a", "61.10 → 74.90": "r"})
        finally:
            browser.close()

    with ReviewStore(path, create=False) as s:
        confirmed = {(ln.key.source_code, ln.key.target_code) for ln in s.links(status="confirmed")}
        result = export(s, path.parent / "export", formats=("csv",))
    assert confirmed == CONFIRMED
    (csv_file,) = [p for p in result.files if p.name == "okved2__nace2.csv"]
    with csv_file.open(encoding="utf-8-sig", newline="") as fh:
        exported = [(r["source_code"], r["target_code"]) for r in csv.DictReader(fh)]
    assert sorted(exported) == sorted(CONFIRMED)
    for name in ("review.png", "summary.png"):
        assert (SHOTS / name).stat().st_size > 10_000


def test_missing_browser_fails_in_ci_and_skips_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setitem(globals(), "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser test"):
        _playwright()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no-chromium is missing"):
        _playwright()


def test_typing_a_code_no_candidate_named(app):
    """The right NACE class is not among the candidates of 85.11: the reviewer types words of
    its title, picks the suggestion and presses Enter; the store gets a confirmed link to it
    (its title from the loaded classification) and the candidate is rejected."""
    sync_playwright = _playwright()
    path, base = app
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            ctx = browser.new_context(locale="en-GB", viewport={"width": 1360, "height": 900}, bypass_csp=True)
            page = open_page(ctx, base + "/?lang=en&q=85.11")
            set_reviewer(page, "anna")
            page.fill("#f-q", "85.11")
            page.wait_for_function("document.body.dataset.idle === '1'")
            page.wait_for_function("document.querySelector('#link-title').innerText.includes('85.11')")
            assert shown(page) == "85.11 → 85.10"
            seq = page.get_attribute("body", "data-seq")
            page.fill("#retarget-input", "secondary general")
            page.wait_for_function(f"document.body.dataset.seq !== '{seq}' && document.body.dataset.idle === '1'")
            options = page.eval_on_selector_all("#retarget-options option", "els => els.map(e => e.value)")
            assert options == ["85.31 General secondary education"]
            page.fill("#retarget-input", options[0])
            press(page, "Enter")
        finally:
            browser.close()
    with ReviewStore(path, create=False) as s:
        new = s.get(K("85.11", "85.31"))
        assert (new.status, new.target_title.strip(), new.updated_by) == (
            "confirmed", "General secondary education", "anna")
        assert s.get(K("85.11", "85.10")).status == "rejected"


def test_free_text_queue_shows_the_rows_each_title_covers(tmp_path):
    """Coded vacancies in the store: the Russian page lists the title covering the most data
    rows first, with its count, and opens it first."""
    sync_playwright = _playwright()
    path = tmp_path / "review.sqlite"
    with ReviewStore(path) as s:
        s.propose([{"key": LinkKey("text", code, "okz2014", "2411"), "score": 0.3, "evidence": {"embedding": 0.3},
                    "source_title": title, "target_title": "Бухгалтеры", "flags": ("free-text",)}
                   for code, title in [("T000000000001", "Ревизор"), ("T000000000002", "Бухгалтер-кассир")]])
        s.record_text_rows({"T000000000001": 7, "T000000000002": 1250})
    server = make_server(path)
    start_in_thread(server)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                ctx = browser.new_context(locale="ru-RU", viewport={"width": 1360, "height": 900}, bypass_csp=True)
                page = open_page(ctx, f"http://127.0.0.1:{server.server_address[1]}/?lang=ru")
                set_reviewer(page, "anna")
                items = page.eval_on_selector_all("#queue li", "els => els.map(e => e.textContent)")
                assert [it.split("  ")[-1] for it in items] == ["· 1250 строк", "· 7 строк"]
                assert "Бухгалтер-кассир" in items[0] and "T000000000002" in page.inner_text("#link-title")
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
