"""The review summary: data, inline SVG charts, the static report and `crosswalk report`."""
from __future__ import annotations

import re

from click.testing import CliRunner

from crosswalk.cli import cli
from crosswalk.report import render_html, summary_data, write_report
from crosswalk.review import Decision, LinkKey, ReviewStore
from crosswalk.review.kappa import second_review_decision


def K(src, tgt):
    return LinkKey("okved2", src, "nace2", tgt)


def make(path):
    s = ReviewStore(path)
    s.propose([{"key": K("01.11", "01.11"), "score": 0.95}, {"key": K("01.11", "01.12"), "score": 0.41},
               {"key": K("01.12", "01.12"), "score": 0.55}, {"key": K("62.01", "62.01"), "score": 0.05},
               {"key": K("62.01", "62.02"), "score": 1.0}])
    s.decide([Decision(K("01.11", "01.11"), "confirm", s.get(K("01.11", "01.11")).version),
              Decision(K("62.01", "62.01"), "reject", s.get(K("62.01", "62.01")).version)], reviewer="anna")
    s.decide([Decision(K("01.12", "01.12"), "confirm", s.get(K("01.12", "01.12")).version)], reviewer="boris")
    s.decide([second_review_decision(K("01.11", "01.11"), "confirm", s.get(K("01.11", "01.11")).version),
              second_review_decision(K("62.01", "62.01"), "confirm", s.get(K("62.01", "62.01")).version)],
             reviewer="boris")
    return s


def test_summary_data(tmp_path):
    with make(tmp_path / "r.sqlite") as s:
        d = summary_data(s)
    (p,) = d["pairs"]
    assert p["pair"] == ["okved2", "nace2"]
    assert p["counts"] == {"confirmed": 2, "pending": 2, "rejected": 1}
    # bins of 0.1; 1.0 falls in the last one
    assert [sum(b.values()) for b in p["bins"]] == [1, 0, 0, 0, 1, 1, 0, 0, 0, 2]
    assert p["bins"][9] == {"confirmed": 1, "pending": 1, "rejected": 0}
    # by section (01.x in A, 62.x in J), never one row per code
    assert p["coverage"] == [{"section": "A", "sources": 2, "covered": 2},
                             {"section": "J", "sources": 1, "covered": 0}]
    assert sum(p["cardinality"].values()) == 3      # the kept links; alternatives are not counted
    assert {r: len(ts) for r, ts in d["progress"].items()} == {"anna": 2, "boris": 3}
    (a,) = d["agreement"]
    assert (a["n"], a["agree"], a["disagree"], a["open"]) == (2, 1, 1, 1)


def test_render_is_self_contained_and_escaped(tmp_path):
    with make(tmp_path / "r.sqlite") as s:
        d = summary_data(s)
    d["progress"]["<script>x</script>"] = ["2024-01-01T00:00:00.000Z"]
    page = render_html(d, "ru")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="ru">' in page and "Сводка проверки" in page
    assert page.count("<svg") == 4 and "<script" not in page and "&lt;script&gt;" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)        # nothing fetched from elsewhere
    assert '<td class="kappa">0,000</td>' in page                   # anna c/r, boris c/c: p_o=.5=p_e
    en = render_html(d, "en")
    assert "Review summary" in en and '<td class="kappa">0.000</td>' in en


def test_write_report_and_cli(tmp_path):
    store = tmp_path / "r.sqlite"
    make(store).close()
    out = tmp_path / "report.html"
    with ReviewStore(store, create=False) as s:
        write_report(s, out)
    assert "<svg" in out.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []   # no temp file left
    res = CliRunner().invoke(cli, ["report", "--store", str(store), "-o", str(tmp_path / "ru.html")])   # ru: default
    assert res.exit_code == 0, res.output
    assert "Согласие первого и второго проверяющих" in (tmp_path / "ru.html").read_text(encoding="utf-8")
    # the figures it prints, in Russian: 3 OKVED2 items (01.11 and 01.12 decided, 62.01 open)
    assert "ОКВЭД2 → КДЕС Ред. 2: позиций 3 — решено 2, нет соответствия 0, ждут решения 1" in res.output
    assert "связей 5 — подтверждено 2, ожидают 2, отклонено 1" in res.output
    res = CliRunner().invoke(cli, ["report", "--store", str(store), "-o", str(tmp_path / "en.html"), "--lang", "en"])
    assert "OKVED2 → NACE Rev.2: items 3 — decided 2, no correspondence 0, to decide 1" in res.output
    assert "Agreement between first and second reviewers" in (tmp_path / "en.html").read_text(encoding="utf-8")
    res = CliRunner().invoke(cli, ["report", "--store", str(tmp_path / "missing.sqlite"), "-o", str(out)])
    assert res.exit_code == 1 and "no review store there" in res.output


def test_serve_refuses_a_missing_store(tmp_path):
    res = CliRunner().invoke(cli, ["review", "serve", "--store", str(tmp_path / "missing.sqlite"), "--port", "0"])
    assert res.exit_code == 1 and "no review store there" in res.output


def test_items_relations_and_local_dates(tmp_path, monkeypatch):
    """Items decided (a confirmed link or no correspondence) per pair, relation names and
    reviewer progress in the reader's language, dates in local time (not ISO UTC)."""
    import time

    from crosswalk.review.items import ItemDecision, ItemKey
    monkeypatch.setenv("TZ", "Europe/Moscow")    # UTC+3 all year
    time.tzset()
    try:
        with make(tmp_path / "r.sqlite") as s:
            item = ItemKey("okved2", "62.01", "nace2")
            s._clock = lambda: "2024-01-01T21:30:00.000Z"
            res = s.decide_items([ItemDecision(item, "no_match", s.item(item).version)], reviewer="vera")
            assert len(res.applied) == 1
            d = summary_data(s)
        (p,) = d["pairs"]
        assert p["items"] == {"decided": 2, "no_match": 1, "open": 0}
        assert {r["section"]: r["covered"] for r in p["coverage"]} == {"A": 2, "J": 1}   # no match counts (by section)
        assert len(d["progress"]["vera"]) == 1        # one item decision, however many links it settled
        ru, en = render_html(d, "ru"), render_html(d, "en")
        assert '<td class="no_match">1</td>' in ru and "нет соответствия" in ru
        assert "один к одному" in ru and "многие ко многим" in ru and ">1:1<" not in ru
        assert ">1:1<" in en and "один к одному" not in en
        assert "02.01.2024 00:30" in ru                # 21:30 UTC is past midnight in Moscow
        assert "2024-01-02 00:30" in en and "T21:30" not in ru + en
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
