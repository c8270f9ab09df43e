"""`crosswalk evaluate` as a user runs it (numbers: see the hand count in test_evaluate.py)."""
import json
from pathlib import Path

from click.testing import CliRunner

from conftest import reference_file
from crosswalk.candidates import CandidateSet, write_candidates
from crosswalk.cli import cli
from crosswalk.model import Candidate

HERE = Path(__file__).parent / "data" / "evaluate"
CANDS, GOLD = str(HERE / "candidates.csv"), str(HERE / "gold.csv")


def run(*args):
    return CliRunner().invoke(cli, ["evaluate", *map(str, args)])


def test_help_explains_the_gold_files_and_options():
    res = run("--help")
    assert res.exit_code == 0
    for word in ("PREDICTED GOLD", "okpdtr_okz_dev.csv", "--reverse", "--all-rows", "--k", "--misses", "--format"):
        assert word in res.output


def test_text_output():
    res = run(CANDS, GOLD)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == "gold gold.csv: okpdtr → okz2014, 5 items"
    assert ("  all          n     5  top-1 0.4000  top-3 0.6000  top-5 0.8000  precision 0.5000"
            "  recall 0.3333") in lines
    assert any(ln.startswith("  worker       n     2  top-1 0.5000  top-3 1.0000") for ln in lines)
    assert lines[-1] == "misses (top-1 wrong): 3"


def test_json_output_k_min_score_and_misses_file(tmp_path):
    misses = tmp_path / "misses.csv"
    res = run(CANDS, GOLD, "--format", "json", "--k", "2,1", "--min-score", "0.5", "--misses", misses)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["top_k"] == {"1": 0.4, "2": 0.6} and (out["precision"], out["recall"]) == (0.375, 0.5)
    assert out["min_score"] == 0.5 and [m["source_code"] for m in out["misses"]] == ["12222", "22222", "23333"]
    text = misses.read_bytes().decode("utf-8-sig")
    assert text.startswith("source_code,source_title,gold_targets,predicted,rank_of_first_correct\r\n")
    assert "Звукооператор" in text


def test_bad_input_gives_a_clear_error_not_a_traceback(tmp_path):
    res = run(CANDS, GOLD, "--k", "0,x")
    assert res.exit_code == 2 and "positive integers" in res.output
    res = run(HERE / "bad_rows.csv", GOLD)
    assert res.exit_code == 1 and "row 3, column rank" in res.output and "Traceback" not in res.output
    res = run(CANDS, HERE / "bad_rows.csv")
    assert res.exit_code == 1 and "Error:" in res.output


def test_reverse_and_all_rows_on_the_real_gold(tmp_path):
    ilo = reference_file("isco08_isco88/corrtab08-88.xls")
    cands = tmp_path / "c.csv"
    write_candidates(cands, CandidateSet("isco88", "isco08", [Candidate("1110", "1111", 0.9, 1, {})]))
    res = run(cands, ilo)
    assert res.exit_code == 1 and "--reverse" in res.output
    res = run(cands, ilo, "--reverse", "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["n"] == 389 and out["precision"] == 1.0 and out["by_section"]["1"]["correct_pairs"] == 1
    okz = reference_file("../gold/okpdtr_okz_dev.csv")
    write_candidates(cands, CandidateSet("okpdtr", "okz2014", [Candidate("22271", "1111", 0.9, 1, {})]))
    agreed = json.loads(run(cands, okz, "--format", "json").output)
    every = json.loads(run(cands, okz, "--all-rows", "--format", "json").output)
    assert (agreed["n"], agreed["top_k"]["1"]) == (132, 0.0)
    assert (every["n"], every["precision"], every["recall"]) == (150, 1.0, 0.0)
