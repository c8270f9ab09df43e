"""Small versions of benchmarks/reliability.py (the full run is by hand, into
reports/reliability.json): kill -9 during decide, import and export leaves the state before
or after; two processes deciding on the same links (retargets included) lose nothing; the
hostile-input harness measures a child's own peak memory and judges against the truth."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    try:
        yield {name: importlib.import_module(name) for name in ("store_crashes", "reliability", "hostile")}
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.parametrize("kind", ["decide", "import", "export"])
def test_killed_mid_work_leaves_the_state_before_or_after(bench, tmp_path, kind):
    res = bench["store_crashes"].kill_trials(2, 200, seed=11, folder=tmp_path, kind=kind)
    assert res["trials"] == 2 and res["bad_states"] == 0, res["bad"]
    out = res["outcomes"]
    if kind == "export":
        assert out.get("files before", 0) + out.get("files after", 0) == 2
    else:
        assert out.get("before", 0) + out.get("after", 0) == 2


def test_two_processes_deciding_on_the_same_links_lose_nothing(bench, tmp_path):
    # both read a source at the same moment, then think up to 0.1 s: the later one must conflict
    res = bench["store_crashes"].conflict_run(2, 8, 1, seed=3, folder=tmp_path, slot=0.25, think=0.1)
    d = res["details"]
    assert res["lost_updates"] == 0 and d["state_equals_replay"] and d["made_equals_applied_plus_conflicts"]
    assert d["applied"] == 2 * 8 and d["retargets_applied"] > 0
    assert res["conflicts_reported"] == res["conflicting_decisions"] > 0
    assert d["conflicts_not_stale"] == d["stale_not_reported"] == 0


def test_hostile_harness_measures_the_childs_own_peak_and_judges(bench, tmp_path):
    ballast = b"\x01" * (300 << 20)     # the parent is large; the child must not inherit its size
    # import-xxe edits the XML of the workbook review export writes today (shared strings, <t xml:space=…>)
    res = bench["reliability"].run_hostile(["import-same-name-other-reviewer", "import-malformed-xml", "import-xxe"],
                                           tmp_path, 120, lambda msg: None)
    del ballast
    rows = {r["case"]: r for r in res["cases"]}
    assert res["hostile_cases"] == 3 and res["harness_errors"] == 0 and res["silent_changes"] == 0 and res["tracebacks"] == 0
    assert all(r["as_expected"] for r in rows.values()), rows
    assert all(20 < r["peak_mb"] < 250 for r in rows.values()), rows


def test_an_existing_report_is_not_overwritten_without_force(bench, tmp_path, capsys):
    out = tmp_path / "reliability.json"
    out.write_text("{}", encoding="utf-8")
    assert bench["reliability"].main(["--out", str(out), "--parts", "conflict", "--sources", "2"]) == 2
    assert out.read_text(encoding="utf-8") == "{}" and "--force" in capsys.readouterr().err
