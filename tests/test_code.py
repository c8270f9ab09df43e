"""`crosswalk code`: free-text titles coded to a classification (issue 8).

The bundled excerpts (raw_classifiers/) hold OKZ-2014 and ISCO-08 unit groups such as 2512
«Разработчики программного обеспечения» / «Software Developers», 2122 «Статистики» and 8153
«Операторы швейного оборудования», so the expected codes below are the ones a statistician
would pick, not values copied from a run.
"""
from __future__ import annotations

import io
import json
import random
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DATA, RAW
from crosswalk.cli import cli
from crosswalk.code import code, code_frame, code_titles, key_code, language_of, load_target, title_key
from crosswalk.errors import CrosswalkError
from crosswalk.review import Decision, LinkKey, ReviewStore

EXAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "vacancies.csv"


@pytest.fixture(scope="module")
def okz():
    return load_target([RAW], "okz2014")


def _frame(titles):
    return pd.DataFrame({"id": [str(i) for i in range(1, len(titles) + 1)], "title": titles})


def test_spelling_variants_are_one_title_and_every_row_comes_back(okz):
    target, ctx = okz
    # case, ё, surrounding spaces, a Latin «а» hidden in a Cyrillic word: one title
    titles = ["Статистик", "статистик ", "СТАТИСТИК", "Стaтистик", "Программист", ""]
    res = code_frame(_frame(titles), "title", target, context=ctx)
    assert list(res.rows["id"]) == ["1", "2", "3", "4", "5", "6"]            # input order kept
    assert list(res.rows["okz2014_code_1"][:4]) == ["2122"] * 4
    assert res.rows["text_key"][:4].nunique() == 1
    assert res.summary["rows"] == 6 and res.summary["distinct"] == 3        # статистик, программист, ""
    stat = res.titles[res.titles["title"] == "Статистик"].iloc[0]
    assert stat["rows"] == 4 and stat["okz2014_status"] == "coded"
    assert sum(res.summary["rows_by_status"].values()) == 6
    assert res.rows["okz2014_status"].iloc[-1] == "empty"


def test_same_output_in_any_row_order(okz):
    target, ctx = okz
    titles = ["Статистик", "Программист", "программист", "Упаковщик", "Бухгалтер", "Software developer",
              "Инженер-программист", "", "Оператор швейного оборудования"] * 3
    a = code_frame(_frame(titles), "title", target, context=ctx)
    order = list(range(len(titles)))
    random.Random(7).shuffle(order)
    shuffled = pd.DataFrame({"id": [str(i + 1) for i in order], "title": [titles[i] for i in order]})
    b = code_frame(shuffled, "title", target, context=ctx)
    back = b.rows.set_index("id").loc[a.rows["id"]].reset_index()
    pd.testing.assert_frame_equal(a.rows, back)
    pd.testing.assert_frame_equal(a.titles, b.titles)


_POOL = ["Статистик", "Программист", "Упаковщик", "Бухгалтер", "Software developer", "Инженер-программист"]


@st.composite
def _variant(draw):
    t = draw(st.sampled_from(_POOL + [""]))
    if draw(st.booleans()):
        t = t.upper()
    return " " * draw(st.integers(0, 2)) + t + " " * draw(st.integers(0, 2))


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_variant(), min_size=1, max_size=30))
def test_rows_get_their_titles_coding_as_a_plain_loop_would(okz, titles):
    """The vectorised row mapping against the obvious version: each row looked up by its key."""
    target, ctx = okz
    res = code_frame(_frame(titles), "title", target, context=ctx)
    by_code = {c: (res.coding.candidates.get(c, []), res.coding.status[c]) for c in res.coding.codes}
    for i, t in enumerate(titles):
        cands, status = by_code[key_code(title_key(t.strip()))]
        row = res.rows.iloc[i]
        assert row["okz2014_status"] == status
        assert row["okz2014_code_1"] == (cands[0].target if cands else "")
        assert row["text_key"] == key_code(title_key(t))
    counts = res.titles.set_index("text_key")["rows"]
    for c in res.coding.codes:
        assert counts[c] == sum(key_code(title_key(t)) == c for t in titles)


def test_english_titles_use_isco_and_russian_titles_reach_isco_through_okz(okz):
    target, ctx = okz
    ru = code_titles(["Software developer"], target, context=ctx)
    assert ru.languages == ["en"]
    assert ru.candidates[ru.codes[0]][0].target == "2512"
    assert ru.target_titles["2512"] == "Разработчики программного обеспечения"   # OKZ's own title shown
    isco, isco_ctx = load_target([RAW], "isco08")
    en = code_titles(["Разработчик программного обеспечения"], isco, context=isco_ctx)
    assert en.candidates[en.codes[0]][0].target == "2512"
    assert en.target_titles["2512"] == "Software Developers"


def test_titles_of_a_language_nothing_describes_are_reported_not_guessed():
    okpdtr, ctx = load_target([RAW], "okpdtr")
    assert ctx == []
    res = code_frame(_frame(["Accountant", "Бухгалтер"]), "title", okpdtr)
    assert list(res.rows["okpdtr_status"]) == ["no_match", "coded"]
    assert res.rows["okpdtr_code_1"].iloc[1] == "20336"
    errors = [p for p in res.report.flatten() if p["kind"] == "language"]
    assert len(errors) == 1 and "English" in errors[0]["message"] and "'Accountant'" in errors[0]["message"]


def test_low_scores_go_to_the_review_store_once_and_confirmed_codings_are_learned(okz, tmp_path):
    target, ctx = okz
    store = ReviewStore(tmp_path / "review.sqlite")
    titles = ["Главный бухгалтер", "Статистик"]
    first = code_frame(_frame(titles), "title", target, context=ctx, min_score=0.3, store=store)
    assert list(first.rows["okz2014_status"]) == ["review", "coded"]
    pending = store.links(source_scheme="text", status="pending")
    key = key_code(title_key("Главный бухгалтер"))
    assert {s.key.source_code for s in pending} == {key}
    assert pending[0].source_title == "Главный бухгалтер" and "free-text" in pending[0].flags
    assert pending[0].key.target_code == "4311"
    # the rows each title covers are kept for the review queue's order
    assert store.text_rows() == {key: 1, key_code(title_key("Статистик")): 1}
    # the same file again proposes nothing new, nor counts its rows twice
    again = code_frame(_frame(titles), "title", target, context=ctx, min_score=0.3, store=store)
    assert again.proposed == 0 and store.text_rows()[key] == 1
    # a reviewer settles it: the title is then coded as confirmed, with score 1
    link = store.get(LinkKey("text", key, "okz2014", "4311"))
    store.decide([Decision(link.key, "confirm", link.version)], reviewer="anna")
    later = code_frame(_frame(["ГЛАВНЫЙ БУХГАЛТЕР", "Бухгалтер"]), "title", target, context=ctx,
                       min_score=0.3, store=store)
    row = later.rows.iloc[0]
    assert (row["okz2014_status"], row["okz2014_code_1"], row["okz2014_score_1"]) == ("confirmed", "4311", 1.0)
    assert json.loads(row["okz2014_evidence_1"]) == {"confirmed": 1.0}
    # and a similar title learns from it (the learned signal)
    learned = json.loads(later.rows.iloc[1]["okz2014_evidence_1"])
    assert later.rows.iloc[1]["okz2014_code_1"] == "4311" and learned["learned"] > 0
    assert later.summary["learned_from"] == 1
    store.close()


def test_confirmed_links_of_a_classification_teach_free_text(okz):
    """An OKPDTR title confirmed to an OKZ group is training data for vacancy titles."""
    target, ctx = okz
    plain = code_titles(["Старший упаковщик-фасовщик"], target, context=ctx)
    taught = code_titles(["Старший упаковщик-фасовщик"], target, context=ctx,
                         confirmed=[("Фасовщик", "9329"), ("Фасовщица", "9329")])
    assert plain.candidates[plain.codes[0]][0].target == "9321"
    top = taught.candidates[taught.codes[0]]
    assert "9329" in [c.target for c in top[:2]] and top[0].evidence.get("learned", 0) > 0 \
        or top[0].target == "9329"


def test_files_in_and_out(tmp_path):
    out = tmp_path / "coded.xlsx"
    titles = tmp_path / "titles.csv"
    res = code(DATA / "code" / "vacancies_cp1251.csv", column="title", to="okz2014", classifiers=[RAW],
               output=out, titles_output=titles)
    assert res.report.encoding == "cp1251"
    back = pd.read_excel(out, dtype=str, keep_default_na=False)
    assert list(back["vacancy_id"]) == [str(i) for i in range(101, 113)]
    assert back.loc[back["title"] == "Статистик", "okz2014_code_1"].item() == "2122"
    t = pd.read_csv(titles, dtype=str, keep_default_na=False)
    assert t["rows"].astype(int).sum() == 12
    assert t.iloc[0]["rows"] == "2"                              # most frequent first
    # a parquet file in, a CSV out
    pq = tmp_path / "in.parquet"
    pd.DataFrame({"t": ["=SUM(A1:A2)", "Статистик"]}).to_parquet(pq)
    code(pq, column="t", to="okz2014", classifiers=[RAW], output=tmp_path / "o.csv")
    text = (tmp_path / "o.csv").read_text(encoding="utf-8")
    assert "'=SUM(A1:A2)" in text                                # a title never runs as a formula


def test_one_column_file_and_clear_errors(tmp_path):
    one = tmp_path / "one.csv"
    one.write_text("title\nСтатистик\nПрограммист\n", encoding="utf-8")
    res = code(one, column="title", to="okz2014", classifiers=[RAW])
    assert list(res.rows["okz2014_code_1"]) == ["2122", "2514"]
    with pytest.raises(CrosswalkError, match=r"no column 'name'; columns: title"):
        code(one, column="name", to="okz2014", classifiers=[RAW])
    clash = tmp_path / "clash.csv"
    clash.write_text("title;okz2014_status\nСтатистик;x\n", encoding="utf-8")
    with pytest.raises(CrosswalkError, match="okz2014_status already exist"):
        code(clash, column="title", to="okz2014", classifiers=[RAW])
    with pytest.raises(CrosswalkError, match="no okved2 classification"):
        code(one, column="title", to="okved2", classifiers=[RAW / "okz2014"])


def test_empty_rows_are_named_by_their_line(okz):
    res = code(EXAMPLE, column="title", to="okz2014", classifiers=[RAW])
    empty = [p for p in res.report.flatten() if p["kind"] == "empty_title"]
    assert len(empty) == 1 and "rows 12" in empty[0]["message"]        # line 12 of the file
    assert res.summary["rows_by_status"]["empty"] == 1


def test_language_of():
    assert language_of("Инженер-программист") == "ru"
    assert language_of("Software developer") == "en"
    assert language_of("Менеджер по продажам B2B") == "ru"


def test_cli_code(tmp_path):
    out = tmp_path / "coded.csv"
    store = tmp_path / "s.sqlite"
    r = CliRunner().invoke(cli, ["code", str(EXAMPLE), "--column", "title", "--to", "okz2014",
                                 "--classifiers", str(RAW), "-o", str(out), "--min-score", "0.3",
                                 "--store", str(store)])
    assert r.exit_code == 0, r.output
    assert "12 rows, 10 distinct titles coded to okz2014 (unit)" in r.output
    assert "proposed to review" in r.output
    coded = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(coded) == 12 and coded.loc[coded["title"] == "Software developer", "okz2014_code_1"].item() == "2512"
    j = CliRunner().invoke(cli, ["code", str(EXAMPLE), "--column", "title", "--to", "okz2014",
                                 "--classifiers", str(RAW), "-o", str(out), "--format", "json"])
    assert j.exit_code == 0, j.output
    s = json.loads(j.output)
    assert s["rows"] == 12 and s["distinct"] == 10 and sum(s["rows_by_status"].values()) == 12
    bad = CliRunner().invoke(cli, ["code", str(EXAMPLE), "--column", "nope", "--to", "okz2014",
                                   "--classifiers", str(RAW), "-o", str(out)])
    assert bad.exit_code == 1 and "no column 'nope'" in bad.output


def test_reference_okpdtr_titles_coded_as_free_text(ref):
    """The OKPDTR dev titles without their codes: the agreed OKZ group among the top 3 for a
    fair share (the benchmark reports the exact figures; this guards against a collapse)."""
    gold = pd.read_csv(ref("../gold/okpdtr_okz_dev.csv"), dtype=str, keep_default_na=False)
    gold = gold[gold["coders_agree"] == "yes"]
    target, ctx = load_target([ref("okz2014/okz_unit_group_labels_pdf_scrape.json").parent, ref("isco08/ISCO-08 EN Structure and"
                                                                          " definitions.xlsx").parent], "okz2014")
    res = code_titles(gold["title"], target, context=ctx, limit=3)
    hits = sum(t in [c.target for c in res.candidates.get(key_code(title_key(title)), [])]
               for title, t in zip(gold["title"], gold["okz_code"]))
    assert hits / len(gold) >= 0.15


def test_cli_and_api_share_the_review_threshold():
    """Both default to the calibrated rule (None), falling back to the same plain threshold."""
    import inspect
    from crosswalk.code import code
    opt = next(p for p in cli.commands["code"].params if p.name == "min_score")
    assert opt.default is None and inspect.signature(code).parameters["min_score"].default is None


def test_the_readme_example_is_what_the_command_prints(tmp_path, monkeypatch):
    """The README shows `crosswalk code` on docs/examples/vacancies.csv and its output: keep it true."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("$ crosswalk code ", 1)[1].split("```", 1)[0].splitlines()
    args, printed = block[0].split(), [ln.rstrip() for ln in block[1:] if ln.strip()]
    (tmp_path / "docs" / "examples").mkdir(parents=True)
    (tmp_path / "docs" / "examples" / "vacancies.csv").write_bytes(EXAMPLE.read_bytes())
    (tmp_path / "raw_classifiers").symlink_to(RAW)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["code", *args])
    assert r.exit_code == 0, r.output
    assert [ln.rstrip() for ln in r.output.splitlines() if ln.strip()] == printed
    table = readme.split("`text_key` (here the first code only", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    shown = pd.read_csv(io.StringIO(table), dtype=str, keep_default_na=False)
    coded = pd.read_csv(tmp_path / "coded.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(coded[list(shown.columns)], shown)


def test_a_reviewer_retargets_a_free_text_title_in_the_workbook_and_the_next_run_uses_it(okz, tmp_path):
    """The whole loop: code → pending links in the store → review workbook → import → code again."""
    from crosswalk.review.workbook import export_workbook, import_workbook
    from test_review_workbook import Sheet
    target, ctx = okz
    store = ReviewStore(tmp_path / "review.sqlite")
    frame = _frame(["Главный бухгалтер"])
    code_frame(frame, "title", target, context=ctx, min_score=0.3, store=store)
    key = key_code(title_key("Главный бухгалтер"))
    path = export_workbook(store, tmp_path / "review.xlsx")
    sheet = Sheet(path)
    assert set(sheet.column("data_rows")) == {1}              # «строк данных»: the rows the title covers
    sheet.fill({(key, "4311"): {"decision": "выбрать код", "new_target": "1211"}})
    # the row count only informs: a workbook without that column imports too
    sheet.ws.delete_cols(sheet.col["data_rows"])
    sheet.wb.save(path)
    rep = import_workbook(store, path, reviewer="anna")
    assert rep.as_dict()["ok"], rep.as_dict()
    again = code_frame(frame, "title", target, context=ctx, min_score=0.3, store=store)
    assert (again.rows["okz2014_code_1"].item(), again.rows["okz2014_status"].item()) == ("1211", "confirmed")
    store.close()


def test_activity_descriptions_code_to_okved2_classes_in_both_languages():
    """Register entries describe activities: coded to OKVED2 classes (not the subclasses only
    some classes have), English descriptions through NACE Rev.2's same codes."""
    okved, ctx = load_target([RAW], "okved2")
    assert [c.scheme.id for c in ctx] == ["nace2"]
    res = code_titles(["Производство нефтепродуктов", "Computer programming", "Начальное общее образование"],
                      okved, context=ctx)
    top = {t: res.candidates[c][0].target for c, t in zip(res.codes, res.titles)}
    assert top == {"Производство нефтепродуктов": "19.20", "Computer programming": "62.01",
                   "Начальное общее образование": "85.12"}
    assert res.target_titles["62.01"].startswith("Разработка компьютерного")


def test_coding_to_another_level_and_a_level_the_file_lacks(okz):
    isco, ctx = load_target([RAW], "isco08")
    res = code_titles(["Software developer"], isco, context=ctx, level="minor")
    assert res.candidates[res.codes[0]][0].target == "251"
    target, ctx = okz                                     # the OKZ PDF scrape holds unit groups only
    with pytest.raises(CrosswalkError, match=r"no minor items to code to; it holds unit 52"):
        code_titles(["Статистик"], target, context=ctx, level="minor")


def test_a_title_gets_the_same_codes_and_scores_in_any_file(okz):
    """January's vacancies and February's are coded alike: word weights come from the
    classification, not from the other titles of the file."""
    target, ctx = okz
    probe = ["Главный бухгалтер", "Оператор швейного оборудования", "Software developer"]
    others = [f"{w} {x}" for w in ("Старший", "Главный", "Ведущий", "Помощник") for x in
              ("бухгалтер", "программист", "статистик", "упаковщик", "оператор", "developer")]
    alone = code_titles(probe, target, context=ctx)
    crowd = code_titles(probe + others, target, context=ctx)
    for t in probe:
        k = key_code(title_key(t))
        assert [(c.target, c.score, dict(c.evidence)) for c in alone.candidates[k]] == \
            [(c.target, c.score, dict(c.evidence)) for c in crowd.candidates[k]]


def test_coded_means_a_calibrated_precision_where_a_map_fits_the_run(okz, monkeypatch):
    """With a calibration map for the run's language, target and signals, `coded` is a measured
    precision of at least 95 % — not a raw score; without one, the plain 0.5 threshold (said)."""
    from crosswalk.match import calibrate
    target, ctx = okz
    titles = ["Программист", "Инженер-программист", "Бухгалтер"]
    plain = code_titles(titles, target, context=ctx)
    scores = {t: plain.candidates[c][0].score for t, c in zip(plain.titles, plain.codes)}
    assert plain.calibration == {"ru": None} and any(p.kind == "calibration" for p in plain.report.problems)
    signals = {n for cs in plain.candidates.values() for c in cs for n in c.evidence}
    edge = sorted(scores.values())[1]                  # the two best titles reach 96 %
    cal = calibrate.Calibration([0.0, edge], [0.2, 0.96], [50, 50])
    monkeypatch.setattr(calibrate, "_STORE", {calibrate.signature("ru", "okz2014", signals): cal})
    coded = code_titles(titles, target, context=ctx)
    status = dict(zip(coded.titles, coded.codes))
    assert coded.calibration == {"ru": calibrate.signature("ru", "okz2014", signals)}
    for t, s in scores.items():
        assert coded.status[status[t]] == ("coded" if s >= edge else "review"), t
    # an explicit threshold is a plain threshold again
    forced = code_titles(titles, target, context=ctx, min_score=0.0)
    assert set(forced.status.values()) == {"coded"} and forced.calibration == {"ru": None}
