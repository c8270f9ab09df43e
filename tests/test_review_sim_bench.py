"""A small run of benchmarks/review_sim.py (the full run is by hand, into
reports/review-sim.json): a reviewer following a gold table through a real review store,
with and without learning, keystrokes counted as the benchmark says."""
from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from crosswalk.candidates import CandidateSet
from crosswalk.model import Candidate
from crosswalk.review import ReviewStore

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"

# families of titles: the hydrolysis operators go to 8160, which the build never proposes;
# the accountants' proposal 2411 is right; the crane drivers' right code is the second one
FAMILIES = {
    "Аппаратчик гидролиза": ("8160", ["8131", "8112", "3116"]),
    "Бухгалтер": ("2411", ["2411", "3313", "4311"]),
    "Машинист крана": ("8343", ["8332", "8343", "9333"]),
}
KINDS = ["древесины", "крахмала", "целлюлозы", "торфа", "соломы", "жмыха"]


@pytest.fixture(scope="module")
def sim():
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("review_sim")
    finally:
        sys.path.remove(str(BENCH))


def data():
    cands, titles, gold = [], {}, {}
    n = 0
    for head, (right, proposed) in FAMILIES.items():
        for kind in KINDS:
            n += 1
            code = f"{n:05d}"
            titles[code] = f"{head} {kind}"
            gold[code] = (frozenset({right}), right)
            for r, t in enumerate(proposed, 1):
                cands.append(Candidate(code, t, round(0.5 - 0.05 * r, 4), r, {"title_tokens": 0.5}))
    cset = CandidateSet("okpdtr", "okz2014", cands, source_titles=titles,
                        target_titles={t: f"группа {t}" for t in ("8131", "8112", "3116", "8160", "2411", "3313",
                                                                  "4311", "8332", "8343", "9333")})
    return cset, {t: f"группа {t}" for t in cset.target_titles}, gold


def test_a_small_review_simulation_learns_and_counts_keys(sim, tmp_path):
    cset, catalogue, gold = data()
    out = sim.run_both("tiny", cset, catalogue, gold, {}, folder=tmp_path, every=1, order="shuffle", seed=7,
                       after=6, block=6)
    none, learn = out["no_learning"], out["learning"]
    assert none["decisions"] == learn["decisions"] == 18
    # without learning the build's proposals stand: only the accountants' are right
    assert none["first_right"] == round(6 / 18, 4)
    assert none["choices"] == {"accept": 6, "pick": 12} and none["typed"] == 6
    # accept 1, pick the second candidate 1, type "8160" + open + Enter = 6
    assert none["keys_per_item"] == round((6 * 1 + 6 * 1 + 6 * 6) / 18, 3)
    # with learning, once a hydrolysis operator is typed and a crane driver picked, their
    # families are proposed the right code
    assert learn["first_right"] > none["first_right"] + 0.3
    assert learn["typed"] < none["typed"] and learn["keys_per_item"] < none["keys_per_item"]
    assert learn["timing"]["passes"] == 18 and learn["timing"]["events_total"] > 0
    assert [c[0] for c in learn["curve"]] == [6, 12, 18]
    # every decision is in the store: one decided item per simulated decision
    with ReviewStore(tmp_path / "tiny-learning.sqlite") as s:
        assert sum(it.status == "decided" for it in s.items_of("okpdtr", "okz2014")) == 18


def test_queue_order_reviews_every_item_once(sim, tmp_path):
    cset, catalogue, gold = data()
    path = tmp_path / "q.sqlite"
    sim.make_store(path, cset, catalogue)
    run = sim.simulate(path, gold, source="okpdtr", target="okz2014", order="queue")
    assert sorted(r["item"] for r in run["records"]) == sorted(gold)


def test_the_benchmark_refuses_to_overwrite_a_report(tmp_path):
    out = tmp_path / "review-sim.json"
    out.write_text("{}")
    res = subprocess.run([sys.executable, str(BENCH / "review_sim.py"), "--out", str(out), "--png",
                          str(tmp_path / "x.png")], capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "exists; pass --force" in res.stderr
    assert out.read_text() == "{}"


def test_readme_quotes_the_committed_review_simulation_report():
    import json
    import re
    root = BENCH.parent
    rep = json.loads((root / "reports" / "review-sim.json").read_text(encoding="utf-8"))
    readme = (root / "README.md").read_text(encoding="utf-8")
    rows = {m.group(1): [c.strip() for c in m.group(2).split("|")]
            for m in re.finditer(r"^\| reviewing the (ESCO hold-out|OKPDTR dev)[^|]*\|(.*)\|$", readme, re.M)}
    e, o = rep["esco"], rep["okpdtr_dev"]

    def pct(x):
        return f"{100 * x:.1f}"

    assert rows["ESCO hold-out"] == [f"{e['items']:,}", f"{pct(e['first_right_after_500'])} /"
                                     f" {pct(e['first_right_after_500_no_learning'])} %",
                                     f"{e['learning']['keys_per_item_after_500']:.2f} /"
                                     f" {e['no_learning']['keys_per_item_after_500']:.2f}"]
    assert rows["OKPDTR dev"] == [f"{o['items']:,}", f"{pct(o['first_right'])} / {pct(o['first_right_no_learning'])} %",
                                  f"{o['learning']['keys_per_item']:.2f} / {o['no_learning']['keys_per_item']:.2f}"]
    # the goal of issue 15: ≥ 80 % after the first 500 decisions, ≥ 10 points over no learning
    assert e["first_right_after_500"] >= 0.8
    assert e["first_right_after_500"] - e["first_right_after_500_no_learning"] >= 0.1
