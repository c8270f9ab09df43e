"""The forecasting team's path end to end on the bundled excerpts: build → review load →
one decision per item → export both routes with the provenance of every step."""
import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosswalk.build import build
from crosswalk.cli import cli
from crosswalk.review import ReviewStore
from crosswalk.review.items import ItemDecision, ItemKey
from crosswalk.settings import BuildConfig

RAW = Path(__file__).parent.parent / "raw_classifiers"


def rows(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """A build of the excerpts in a review store, with decisions of every kind on OKPDTR items."""
    tmp = tmp_path_factory.mktemp("deliver")
    out = tmp / "out"
    build(BuildConfig.discover(RAW, output=str(out), embeddings=False))
    store_path = tmp / "review.sqlite"
    res = CliRunner().invoke(cli, ["review", "load", str(out), "--store", str(store_path)])
    assert res.exit_code == 0, res.output
    with ReviewStore(store_path) as store:
        items = sorted(store.items_of("okpdtr", "okz2014"), key=lambda it: it.key)
        assert all(it.status == "open" and it.proposal.role == "proposal" for it in items)
        # OKZ groups the excerpts carry on to ISCO-08 (the others are dead ends of the route)
        onward = {s.key.source_code for s in store.links(source_scheme="okz2014", target_scheme="isco08")}
        accept = next(it for it in items if it.proposal.key.target_code in onward)
        pick, split, none = [it for it in items if it is not accept][:3]
        other = next(c for c in sorted(onward) if c != pick.proposal.key.target_code)
        decisions = [ItemDecision(accept.key, "accept", accept.version, comment="проверено", origin="test"),
                     ItemDecision(pick.key, "pick", pick.version, ((other, None),), origin="test"),
                     ItemDecision(split.key, "split", split.version, (("2511", 0.6), ("2512", 0.4)), origin="test"),
                     ItemDecision(none.key, "no_match", none.version, origin="test")]
        got = store.decide_items(decisions, reviewer="anna")
        assert len(got.applied) == 4, (got.invalid, got.conflicts)
    return out, store_path, {"accept": accept.key.source_code, "pick": (pick.key.source_code, other),
                             "split": split.key.source_code, "none": none.key.source_code}


def test_review_load_accepts_official_tables_and_identities_and_proposes_the_rest(reviewed):
    out, store_path, _ = reviewed
    with ReviewStore(store_path) as store:
        counts = store.counts()
        # official tables enter both ways, all confirmed
        for pair in (("nace2", "isic4"), ("isic4", "nace2"), ("isco08", "isco88"), ("isco88", "isco08")):
            assert counts[pair]["pending"] == 0 and counts[pair]["confirmed"] > 0, pair
        okved = {s.key.source_code: s for s in store.links(source_scheme="okved2", status="confirmed")}
        assert okved["62.01"].origin == "structure" and okved["62.01"].key.target_code == "62.01"
        # a regrouped class is not accepted: it waits as a proposal with its alternatives
        item = store.item(ItemKey("okved2", "19.31", "nace2"))
        assert item.status == "open" and item.proposal.role == "proposal"
        assert store.schemes()["okved2"]["edition"].startswith("2023")


def test_export_both_routes_with_the_provenance_of_every_step(reviewed, tmp_path):
    out, store_path, codes = reviewed
    res = CliRunner().invoke(cli, ["export", str(tmp_path / "x"), "--store", str(store_path), "--all",
                                   "--route", "okpdtr,okz2014,isco08", "--route", "okved2,nace2,isic4"])
    assert res.exit_code == 0, res.output
    occ = rows(tmp_path / "x" / "okpdtr__okz2014__isco08.csv")
    by = {}
    for r in occ:
        by.setdefault(r["source_code"], []).append(r)
    (acc,) = by[codes["accept"]]
    assert acc["status"] in ("confirmed", "proposed") and acc["step1_status"] == "confirmed"
    assert acc["step1_by"] == "anna" and acc["step1_comment"] == "проверено"
    assert acc["source_scheme"] == "okpdtr" and acc["target_scheme"] == "isco08" and acc["source_edition"]
    split = {r["step1_code"]: float(r["weight"]) for r in by.get(codes["split"], [])}
    assert sum(split.values()) == pytest.approx(1.0)
    assert codes["none"] not in by                       # no correspondence: no link, counted apart
    summary = json.loads((tmp_path / "x" / "okpdtr__okz2014__isco08.json").read_text(encoding="utf-8"))
    assert summary["route"] == ["okpdtr", "okz2014", "isco08"]
    assert "1 items with no correspondence" in res.output
    ind = {r["source_code"]: r for r in rows(tmp_path / "x" / "okved2__nace2__isic4.csv")}
    sure = ind["62.01"]
    assert (sure["status"], sure["target_code"], sure["via"]) == ("confirmed", "6201", "nace2:62.01")
    assert sure["step1_by"] == "same code (structure)"
    assert sure["step2_by"].startswith("official table") and "concordance" in sure["step2_by"]
    # undecided items travel as proposed, naming the step that awaits review
    waiting = [r for r in occ if r["status"] == "proposed"]
    assert waiting and all(r["weakest_step"] == "okpdtr→okz2014" for r in waiting if r["step1_status"] == "pending")
    # confirmed only (the default): nothing unreviewed leaves the store
    res = CliRunner().invoke(cli, ["export", str(tmp_path / "y"), "--store", str(store_path),
                                   "--route", "okpdtr,okz2014,isco08", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert {r["status"] for r in rows(tmp_path / "y" / "okpdtr__okz2014__isco08.csv")} == {"confirmed"}


def test_pair_exports_carry_schemes_editions_and_comments(reviewed, tmp_path):
    _, store_path, codes = reviewed
    res = CliRunner().invoke(cli, ["export", str(tmp_path / "p"), "--store", str(store_path), "--pair",
                                   "okpdtr:okz2014", "--format", "csv"])
    assert res.exit_code == 0, res.output
    got = {r["source_code"]: r for r in rows(tmp_path / "p" / "okpdtr__okz2014.csv")}
    acc = got[codes["accept"]]
    assert (acc["source_scheme"], acc["target_scheme"], acc["comment"]) == ("okpdtr", "okz2014", "проверено")
    assert acc["source_edition"] and acc["target_edition"] and acc["reviewed_by"] == "anna"


def test_apply_employment_by_occupation_industry_and_region_through_both_routes(reviewed, tmp_path):
    """A forecaster's table (OKPDTR × OKVED2 × region) converted to ISCO-08 × ISIC4 with the
    store's routes: totals conserved per region, output columns named by the target schemes,
    every unmatched value accounted for with a reason, statuses counted; --confirmed-only refuses
    the proposals nobody reviewed."""
    from decimal import Decimal

    import pandas as pd

    from crosswalk.review.routes import compose_route
    _, store_path, codes = reviewed
    with ReviewStore(store_path) as store:
        route = compose_route(store, "okpdtr,okz2014,isco08")
        through = sorted({rl.link.source for rl in route.links})
        stuck = sorted(set(route.step_targets[0]) - set(through))    # their OKZ group goes no further
    assert through and stuck
    # 99999: no such profession; codes["none"]: decided as having no correspondence
    occupations = through[:6] + stuck[:1] + ["99999", codes["none"]]
    industries = ("62.01", "01.11", "85.22", "10.1")                  # 10.1: a group in a class column
    rows = [{"okpdtr": o, "okved2": ind, "region": region, "year": 2025, "employed": f"{10 * k + j}.25"}
            for k, o in enumerate(occupations) for j, ind in enumerate(industries)
            for region in ("Москва", "Татарстан")]
    data = tmp_path / "employment.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    out, unmatched = tmp_path / "out.csv", tmp_path / "unmatched.csv"
    args = ["apply", str(data), "--from", "okpdtr", "--to", "isco08", "--code-column", "okpdtr",
            "--second-code-column", "okved2", "--second-from", "okved2", "--second-to", "isic4",
            "--store", str(store_path), "--route", "okpdtr,okz2014,isco08", "--second-route", "okved2,nace2,isic4",
            "--value-column", "employed", "--split-equally", "-o", str(out), "--unmatched", str(unmatched)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "per key (region, year): 2 group(s), in = out + unmatched in 2" in res.output
    assert "confirmed" in res.output and "proposed" in res.output          # the links used, by status
    got = pd.read_csv(out, dtype=str)
    assert {"isco08", "isic4", "region", "year", "employed"} == set(got.columns) and len(got)
    lost = pd.read_csv(unmatched, dtype=str)
    reasons = dict(zip(lost["code"], lost["reason"]))
    assert reasons["99999"] == "unknown_code" and reasons[stuck[0]] == "dead_end"
    assert reasons["10.1"] == "other_level" and reasons[codes["none"]] == "no_correspondence"
    total_in = sum(Decimal(r["employed"]) for r in rows)
    total_out = sum(Decimal(v) for v in got["employed"])
    total_lost = sum(Decimal(v) for v in lost["employed"])
    assert total_in == total_out + total_lost                        # nothing lost, nothing invented
    refused = CliRunner().invoke(cli, args + ["--confirmed-only", "-o", str(tmp_path / "strict.csv")])
    assert refused.exit_code == 1 and "proposed" in refused.output
