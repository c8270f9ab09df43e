"""`crosswalk diff` as a user runs it, on the fixtures of tests/test_diff.py (expected
result counted by hand there) and on the OKVED2 reference editions."""
import csv
import json
from pathlib import Path

from click.testing import CliRunner

from conftest import reference_file
from crosswalk.cli import cli

HERE = Path(__file__).parent / "data" / "diff"
OLD = str(HERE / "data-20160826-structure-20140101.csv")
NEW = str(HERE / "data-20231201-structure-20180402.csv")


def run(*args):
    return CliRunner().invoke(cli, ["diff", *map(str, args)])


def test_help_explains_the_kinds_and_options():
    res = run("--help")
    assert res.exit_code == 0
    for word in ("OLD NEW", "unchanged", "renamed", "moved", "split", "merged", "added / deleted",
                 "--old-scheme", "--new-scheme", "--format", "--csv", "--show", "whitespace"):
        assert word in res.output


def test_text_output_counts_and_changes():
    res = run(OLD, NEW)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[:9] == [
        "okved2: 2016-08-26 (structure 2014-01-01) → 2023-12-01 (structure 2018-04-02)",
        "unchanged 14 (whitespace only 3)", "renamed   2", "moved     2", "split     1", "merged    1",
        "added     4", "deleted   2", "codes only in new 9, only in old 7"]
    assert "moved     01.13.31 → 01.13.4: «Выращивание картофеля»" in lines
    assert ("split     01.13.1 → 01.13.7, 01.13.8: «Выращивание овощей» → «Выращивание овощей открытого"
            " грунта | Выращивание овощей защищенного грунта»") in lines
    assert "          whitespace only: «чулочно-носочных» → «чулочно- носочных»" in lines
    assert "deleted   01.15.1: «Выращивание табака»" in lines
    assert not any(ln.startswith("unchanged 01.12:") for ln in lines)  # plain unchanged not listed


def test_show_json_and_csv(tmp_path):
    out = tmp_path / "changes.csv"
    res = run(OLD, NEW, "--show", "renamed", "--show", "added", "--format", "json", "--csv", out)
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["counts"]["split"] == 1 and data["whitespace_only"] == 3
    assert [(c["kind"], c["new"]) for c in data["changes"]] == [
        ("renamed", ["01.1"]), ("renamed", ["01.11.2"]), ("added", ["01.11.6"]), ("added", ["01.16"]),
        ("added", ["14.31.1"]), ("added", ["14.31.2"])]
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert len(rows) == 26  # every change, unchanged included
    assert {"kind": "merged", "old_codes": "01.14.1 01.14.2", "new_codes": "01.14.9"}.items() <= rows[19].items()
    text = run(OLD, NEW, "--show", "whitespace")
    assert [ln.split(":")[0] for ln in text.output.splitlines()[9::2]] == [
        "unchanged 01.11", "unchanged 01.13", "unchanged 14.31"]


def test_reference_editions_and_an_explicit_scheme():
    old = reference_file("okved2/consultantplus_2016_with_notes/sorted.json")
    new = reference_file("okved2/rosstat_opendata_2023-12-01/data-20231201-structure-20180402.csv")
    res = run(old, new, "--old-scheme", "okved2:notes-json", "--new-scheme", "okved2", "--show", "moved")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[1:10] == [
        "left out: level section (old 0, new 21 items) — only one edition has it",
        "unchanged 2645 (whitespace only 13)", "renamed   112", "moved     1", "split     0", "merged    0",
        "added     120", "deleted   3", "codes only in new 121, only in old 4"]
    assert lines[10:] == ["moved     71.12.46 → 71.12.9: «Землеустройство»",
                          "          title similarity 1.00; level type → subclass; parent 71.12.4 → 71.12"]


def test_a_file_that_is_not_a_classification_is_refused(tmp_path):
    res = run(OLD, NEW, "--old-scheme", "isic4")
    assert res.exit_code != 0 and "Error" in res.output
