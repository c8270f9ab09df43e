"""The forecasting team's path on the full reference data (core signals, so CI needs no model):
build → review load → decisions → export both routes → apply an employment table."""
from decimal import Decimal

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import reference_file
from crosswalk.build import build
from crosswalk.cli import cli
from crosswalk.review import ReviewStore
from crosswalk.review.items import ItemDecision, ItemKey
from crosswalk.review.routes import compose_route
from crosswalk.settings import BuildConfig


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    data = reference_file("isco08/ISCO-08 EN Structure and definitions.xlsx").parent.parent
    tmp = tmp_path_factory.mktemp("ref")
    result = build(BuildConfig.discover(data, output=str(tmp / "out"), embeddings=False))
    store_path = tmp / "review.sqlite"
    res = CliRunner().invoke(cli, ["review", "load", str(tmp / "out"), "--store", str(store_path)])
    assert res.exit_code == 0, res.output
    return result, store_path, tmp


def test_identities_where_codes_agree_and_one_proposal_per_item(delivered):
    result, store_path, _ = delivered
    okz = result.summary["pairs"]["okz2014__isco08"]
    # every unit group both hold is an identity; the 10 national ones are the matcher's (in core,
    # without the meaning model, a Russian title finds no English one: they stay unmatched)
    assert okz["identity"] == 436 and okz["proposed"] <= 10
    checks = result.summary["crosswalks"]["okz2014__isco08"]["checks"]
    assert checks["sources"] + checks["unmatched_sources"] == 446
    okved = result.summary["pairs"]["okved2__nace2"]
    assert okved["regrouped_divisions"] == ["19", "85", "92"]
    route = result.summary["crosswalks"]["okpdtr__okz2014__isco08"]["checks"]
    assert route["reference_violations"] == 0                        # one target per profession
    assert route["groups"]["count"] > 100                            # no single tangle
    with ReviewStore(store_path) as store:
        counts = store.counts()
        assert counts[("okz2014", "isco08")]["confirmed"] == 436
        assert counts[("nace2", "isic4")]["confirmed"] == counts[("nace2", "isic4")]["confirmed"] > 900
        assert counts[("okved2", "nace2")]["confirmed"] == okved["identity"] + okved["descendant"]


def test_decisions_export_and_apply_through_both_routes(delivered):
    _, store_path, tmp = delivered
    with ReviewStore(store_path) as store:
        items = sorted(store.items_of("okpdtr", "okz2014"), key=lambda it: it.key)[:50]
        got = store.decide_items([ItemDecision(it.key, "accept", it.version, origin="test") for it in items[:40]]
                                 + [ItemDecision(items[40].key, "no_match", items[40].version, origin="test")],
                                 reviewer="anna")
        assert len(got.applied) == 41
        route = compose_route(store, "okpdtr,okz2014,isco08", confirmed_only=True)
        assert {rl.link.source for rl in route.links} == {it.key.source_code for it in items[:40]}
        assert route.no_match == [items[40].key.source_code]
        assert all(rl.steps[0].updated_by == "anna" for rl in route.links)
    res = CliRunner().invoke(cli, ["export", str(tmp / "x"), "--store", str(store_path), "--format", "csv",
                                   "--route", "okpdtr,okz2014,isco08", "--route", "okved2,nace2,isic4"])
    assert res.exit_code == 0, res.output
    occ = pd.read_csv(tmp / "x" / "okpdtr__okz2014__isco08.csv", dtype=str)
    assert len(occ) == 40 and set(occ["status"]) == {"confirmed"} and set(occ["step1_by"]) == {"anna"}
    assert set(occ["step2_by"]) == {"same code (structure)"}
    ind = pd.read_csv(tmp / "x" / "okved2__nace2__isic4.csv", dtype=str)
    assert len(ind) > 2800 and ind.loc[ind["source_code"] == "62.01", "target_code"].tolist() == ["6201"]
    # an employment table: professions × industries × regions
    professions = [it.key.source_code for it in items]
    rows = [{"okpdtr": p, "okved2": ind_, "region": reg, "employed": f"{7 * k + j}.5"}
            for k, p in enumerate(professions) for j, ind_ in enumerate(("62.01", "86.10", "85.22", "19.31"))
            for reg in ("Москва", "Пермский край", "Якутия")]
    data = tmp / "employment.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    res = CliRunner().invoke(cli, [
        "apply", str(data), "--from", "okpdtr", "--to", "isco08", "--code-column", "okpdtr",
        "--second-code-column", "okved2", "--second-from", "okved2", "--second-to", "isic4",
        "--store", str(store_path), "--route", "okpdtr,okz2014,isco08", "--second-route", "okved2,nace2,isic4",
        "-o", str(tmp / "emp_isco.csv"), "--unmatched", str(tmp / "lost.csv")])
    assert res.exit_code == 0, res.output
    assert "per key (region): 3 group(s), in = out + unmatched in 3" in res.output
    out = pd.read_csv(tmp / "emp_isco.csv", dtype=str)
    assert set(out.columns) == {"isco08", "isic4", "region", "employed"}
    lost = pd.read_csv(tmp / "lost.csv", dtype=str)
    # the item decided as no correspondence reaches nothing; every unmatched value has a reason
    assert items[40].key.source_code in set(lost["code"]) and lost["reason"].notna().all()
    total_in = sum(Decimal(r["employed"]) for r in rows)
    assert total_in == sum(Decimal(v) for v in out["employed"]) + sum(Decimal(v) for v in lost["employed"])
