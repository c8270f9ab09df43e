"""`crosswalk match` end to end: files in, a candidates file out that evaluate reads."""
from pathlib import Path

from click.testing import CliRunner

from crosswalk.candidates import read_candidates
from crosswalk.cli import cli

RAW = Path(__file__).parent.parent / "raw_classifiers"
OKVED = str(RAW / "okved2/data-20231201-structure-20180402-excerpt.csv")
NACE = str(RAW / "nace2/nace2_structure_en-excerpt.csv")


def test_match_writes_candidates_a_reviewer_can_read(tmp_path):
    out = tmp_path / "okved2-nace2.csv"
    res = CliRunner().invoke(cli, ["match", OKVED, NACE, "-o", str(out), "--limit", "3"])
    assert res.exit_code == 0, res.output
    assert "candidates for 54 okved2 items → nace2" in res.output
    cset = read_candidates(out)
    assert (cset.source_scheme, cset.target_scheme) == ("okved2", "nace2")
    first = {c.source: c for c in cset.candidates if c.rank == 1}
    assert first["62.01"].target == "62.01" and first["62.01"].evidence["structure"] == 1.0
    assert out.read_text(encoding="utf-8").startswith(
        "source_scheme,source_code,source_title,target_scheme,target_code,target_title,rank,score,evidence")


def test_match_to_stdout_and_json(tmp_path):
    res = CliRunner().invoke(cli, ["match", OKVED, NACE, "--limit", "1"])
    assert res.exit_code == 0
    assert "okved2,62.01," in res.output
    out = tmp_path / "c.json"
    res = CliRunner().invoke(cli, ["match", OKVED, NACE, "-o", str(out)])
    assert res.exit_code == 0 and read_candidates(out).candidates


def test_match_refuses_what_it_cannot_compare():
    isic = str(RAW / "isic4/ISIC_Rev_4_english_structure-excerpt.txt")
    res = CliRunner().invoke(cli, ["match", OKVED, isic])
    assert res.exit_code == 1
    assert "no signal can compare okved2" in res.output


def test_match_then_evaluate_against_the_nace_excerpt_itself(tmp_path):
    out = tmp_path / "c.csv"
    gold = tmp_path / "gold.csv"
    gold.write_text("source_code,target_code\n62.01,62.01\n01.11,01.11\n85.11,85.10\n", encoding="utf-8")
    assert CliRunner().invoke(cli, ["match", OKVED, NACE, "-o", str(out)]).exit_code == 0
    res = CliRunner().invoke(cli, ["evaluate", str(out), str(gold), "--format", "json"])
    assert res.exit_code == 0, res.output
    import json
    data = json.loads(res.output)
    assert data["n"] == 3 and data["top_k"]["1"] == 1.0
