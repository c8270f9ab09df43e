"""The README's "What to expect" table quotes reports/evaluation.json: rerunning the
benchmark and forgetting the README would show users figures the code no longer reaches."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def test_readme_quality_table_matches_the_committed_evaluation_report():
    rep = json.loads((ROOT / "reports" / "evaluation.json").read_text(encoding="utf-8"))
    core = rep["without_embeddings"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {m.group(1).split()[0]: m.group(2) for m in re.finditer(r"^\| ((?:ISCO-88|OKPDTR|ESCO) [^|]*)\|(.*)\|$",
                                                                    readme, re.M)}
    isco, okz, esco = rep["isco88_to_isco08"], rep["okpdtr_to_okz"], rep["esco_holdout"]
    want = {
        "ISCO-88": [f"{_pct(core['isco88_to_isco08']['top1'])} / {_pct(core['isco88_to_isco08']['top3'])} %",
                    f"{_pct(isco['top1'])} / {_pct(isco['top3'])} %"],
        "OKPDTR": [f"{_pct(core['okpdtr_to_okz']['top1'])} / {_pct(core['okpdtr_to_okz']['top3'])} %",
                   f"{_pct(okz['top1'])} / {_pct(okz['top3'])} %",
                   f"{_pct(okz['learned_cv_top1'])} / {_pct(okz['learned_cv_top3'])} %"],
        "ESCO": [f"{_pct(core['esco_holdout']['top1'])} / {_pct(core['esco_holdout']['top3'])} %",
                 f"{_pct(esco['top1'])} / {_pct(esco['top3'])} %"],
    }
    for task, figures in want.items():
        cells = [c.strip() for c in rows[task].split("|")]
        assert [c for c in cells if c] == figures, (task, cells)


def test_readme_review_speed_matches_the_committed_report():
    rep = json.loads((ROOT / "reports" / "review-speed.json").read_text(encoding="utf-8"))
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    m = re.search(r"OKPDTR candidates: ([\d,]+) links, ([\d,]+) items\): a decision is saved in (\d+) ms \(p95,"
                  r".*? on screen (\d+) ms \(p95\) after the key in Chromium; the summary takes (\d+) ms", readme)
    assert m, "the README's review speed sentence is missing"
    assert m.groups() == (f"{rep['links']:,}", f"{rep['items']:,}", f"{round(rep['decide_ms_p95'])}",
                          f"{round(rep['next_item_ms_p95'])}", f"{round(rep['summary_ms']['median'])}")
    m = re.search(r"`review load` of the build takes ([\d.]+) s, the workbook of its ([\d,]+) links ([\d.]+) s to"
                  r" export, and an import of 1,000 item decisions ([\d.]+) s", readme)
    assert m, "the README's review load / workbook speed sentence is missing"
    assert m.groups() == (f"{rep['review_load_seconds']['median']:.1f}", f"{rep['workbook_links']:,}",
                          f"{rep['workbook_export_seconds']['median']:.1f}", f"{rep['import_1000_seconds']['median']:.1f}")
