"""`crosswalk build` on the bundled excerpts: what a user gets in the output folder."""
import csv
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosswalk.build import build
from crosswalk.candidates import read_candidates
from crosswalk.cli import cli
from crosswalk.errors import CrosswalkError
from crosswalk.settings import BuildConfig, PairConfig

RAW = Path(__file__).parent.parent / "raw_classifiers"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    return build(BuildConfig.discover(RAW, output=str(out), embeddings=False))


def rows(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_output_folder_holds_candidates_crosswalks_and_summary(built):
    out = built.output
    assert sorted(p.name for p in (out / "candidates").iterdir()) == [
        "okpdtr__okz2014.csv", "okved2__nace2.csv", "okz2014__isco08.csv"]
    assert {p.name for p in (out / "crosswalks").iterdir()} >= {
        "okved2__nace2__isic4.csv", "okpdtr__okz2014__isco08.csv", "isco88__isco08.csv"}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary == json.loads(json.dumps(built.summary))
    assert read_candidates(out / "candidates" / "okved2__nace2.csv").target_scheme == "nace2"
    assert BuildConfig.load(out / "build.json").pairs == built_config_pairs()


def built_config_pairs():
    return BuildConfig(files=[]).pairs


def test_okved2_reaches_isic4_through_nace2(built):
    links = {(r["source_code"], r["target_code"]): r
             for r in rows(built.output / "crosswalks" / "okved2__nace2__isic4.csv")}
    sure = links[("62.01", "6201")]
    assert sure["via"] == "nace2:62.01" and sure["relation"] == "1:1" and sure["flags"] == "identity"
    # the same code outside a regrouped division, then the official NACE2→ISIC4 table: confirmed
    assert sure["status"] == "confirmed" and sure["weakest_step"] == ""
    assert float(sure["weight"]) == 1.0
    # a class of a regrouped division is never auto-accepted
    regrouped = [r for (s, _), r in links.items() if s.startswith(("19.3", "85.1", "85.2"))]
    assert regrouped and all("review" in r["flags"] and r["status"] == "proposed"
                             and r["weakest_step"] == "okved2→nace2" for r in regrouped)


def test_split_weights_of_every_source_sum_to_one(built):
    for path in (built.output / "crosswalks").iterdir():
        total = {}
        for r in rows(path):
            total[r["source_code"]] = total.get(r["source_code"], 0.0) + float(r["weight"])
        assert all(math.isclose(v, 1.0, abs_tol=1e-5) for v in total.values()), path.name


def test_build_is_deterministic(built, tmp_path):
    again = build(BuildConfig.discover(RAW, output=str(tmp_path), embeddings=False))
    for sub in ("candidates", "crosswalks"):
        for p in (built.output / sub).iterdir():
            assert p.read_bytes() == (again.output / sub / p.name).read_bytes(), p.name


def test_config_round_trips_and_never_overwrites(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)     # "a.csv" names ./a.csv; saved next to it, it reads back as that file
    cfg = BuildConfig(files=["a.csv"], pairs=[PairConfig("okved2", "nace2")], output="o")
    path = cfg.save(tmp_path / "build.json")
    back = BuildConfig.load(path)
    assert back.pairs == cfg.pairs and back.routes == cfg.routes and back.output == "o"
    assert back.files == [str(tmp_path / "a.csv")]          # relative to the file
    with pytest.raises(CrosswalkError, match="exists; not overwritten"):
        cfg.save(path)
    cfg.save(path, overwrite=True)
    path.write_text('{"files": [], "colour": "red"}', encoding="utf-8")
    with pytest.raises(CrosswalkError, match="unknown setting"):
        BuildConfig.load(path)


def test_cli_build_prints_a_summary(tmp_path):
    res = CliRunner().invoke(cli, ["build", "--data", str(RAW), "-o", str(tmp_path / "out"),
                                   "--no-embeddings"])
    assert res.exit_code == 0, res.output
    assert "crosswalk okved2 → nace2 → isic4" in res.output and "coverage" in res.output
    cfg = tmp_path / "b.json"
    assert CliRunner().invoke(cli, ["build", "--data", str(RAW), "--write-config", str(cfg)]).exit_code == 0
    res = CliRunner().invoke(cli, ["build", "--data", str(RAW), "--write-config", str(cfg)])
    assert res.exit_code == 1 and "not overwritten" in res.output


def test_the_draft_proposes_one_link_per_item_and_accepts_identities_by_structure(built):
    for name in ("okpdtr__okz2014", "okz2014__isco08", "okved2__nace2"):
        got = rows(built.output / "crosswalks" / f"{name}.csv")
        per_source = {}
        for r in got:
            per_source.setdefault(r["source_code"], []).append(r)
        # one link per item, weight 1: the alternatives stay in candidates/, not in the draft
        assert all(len(v) == 1 and float(v[0]["weight"]) == 1.0 for v in per_source.values()), name
        cands = read_candidates(built.output / "candidates" / f"{name}.csv")
        assert set(per_source) == set(cands.by_source())
        for code, (r,) in per_source.items():
            if r["origin"] == "proposed":      # the proposal is the best candidate
                assert r["target_code"] == cands.by_source()[code][0].target
    okz = {r["source_code"]: r for r in rows(built.output / "crosswalks" / "okz2014__isco08.csv")}
    # the same unit group in OKZ-2014 and ISCO-08: an identity accepted by structure
    assert okz["2512"]["target_code"] == "2512" and okz["2512"]["origin"] == "structure"
    assert okz["2512"]["status"] == "confirmed" and okz["2512"]["flags"] == "identity"
    # every unit group both hold is an identity; the others are the matcher's, for review
    from crosswalk import load
    isco = set(load(RAW / "isco08" / "ISCO-08 EN Structure and definitions excerpt.xlsx").classification.codes)
    okz_codes = set(read_candidates(built.output / "candidates" / "okz2014__isco08.csv").source_titles)
    assert {c for c, r in okz.items() if r["flags"] == "identity"} == okz_codes & isco
    assert all(r["origin"] == "proposed" and "review" in r["flags"] for c, r in okz.items() if c not in isco)
    stats = built.summary["pairs"]["okz2014__isco08"]
    assert stats["identity"] == sum(1 for r in okz.values() if r["flags"] == "identity") > 0
    assert stats["identity"] + stats["proposed"] == len(okz)


def test_summary_reports_checks_groups_and_unused_files(built):
    s = built.summary
    route = s["crosswalks"]["okpdtr__okz2014__isco08"]["checks"]
    assert route["by_status"] == {"proposed": route["links"]}          # OKPDTR links all await review
    assert route["groups"]["largest"] >= 2 and sum(route["groups"]["sizes"].values()) == route["groups"]["count"]
    # titles sharing no word with any OKZ label get no candidate without embeddings: unmatched
    assert route["sources"] + route["unmatched_sources"] == route["source_items"] == 40
    assert route["reference_violations"] == 0
    okved = s["crosswalks"]["okved2__nace2__isic4"]["checks"]
    assert okved["by_status"]["confirmed"] > 0 and 0.0 <= okved["mismatch"] < 1.0
    unused = {Path(u["file"]).name: u["reason"] for u in s["unused_files"]}
    # the 2016 OKVED2 excerpt is not the table used, but its notes join the 2023 items
    assert "notes were joined" in unused["sorted-excerpt.json"]
    assert "another okpdtr file is used" in unused["trudvsem_profession_list_excerpt.json"]


def test_notes_of_another_edition_join_items_of_the_same_code():
    from crosswalk.build import BuildResult, _load_all
    classes, _, _ = _load_all([str(p) for p in sorted((RAW / "okved2").iterdir())], BuildResult(Path(".")))
    okved = classes["okved2"]
    assert okved.edition.startswith("2023")
    noted = [it for it in okved if it.notes]
    assert noted and all(it.attrs["notes_edition"].startswith("2016") for it in noted)


def test_max_unmatched_fails_the_build_after_writing(tmp_path):
    cfg = BuildConfig.discover(RAW, output=str(tmp_path / "out"), embeddings=False, max_unmatched=0.0)
    with pytest.raises(CrosswalkError, match="exceeds max_unmatched 0.0%.*okpdtr→okz2014"):
        build(cfg)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["crosswalks"]["okpdtr__okz2014"]["checks"]["mismatch"] > 0
    res = CliRunner().invoke(cli, ["build", "--data", str(RAW), "-o", str(tmp_path / "o2"), "--no-embeddings",
                                   "--max-unmatched", "0.99"])
    assert res.exit_code == 0, res.output


def test_build_with_an_index_lists_attractors_and_the_index(tmp_path, data_dir):
    """A coding index given on the command line is read for the pairs whose target shares its
    codes; the summary names it and lists the attractors of every candidate set."""
    idx = tmp_path / "past.csv"
    idx.write_text("title,okz2014_code\nПрограммист 1С,2514\nГлавный бухгалтер,1211\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["build", "--data", str(RAW), "-o", str(tmp_path / "out"), "--no-embeddings",
                                   "--index", str(idx)])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["indexes"]["past.csv"] == {"past.csv": 2}
    top = summary["attractors"]["okpdtr__okz2014"][0]
    assert top["top1"] >= 1 and abs(top["ratio"] - top["top1"] / top["expected"]) < 0.1
    cfg = BuildConfig.load(tmp_path / "out" / "build.json")
    assert cfg.indexes == [str(idx)]


def test_config_indexes_and_model_are_checked(tmp_path):
    with pytest.raises(CrosswalkError, match="'indexes' must be a list"):
        BuildConfig(files=[], indexes="esco.csv").check()
    with pytest.raises(CrosswalkError, match="'embedding_model'"):
        BuildConfig(files=[], embedding_model="bert").check()
