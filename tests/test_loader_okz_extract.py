"""OKZ-2014 examples extract (okz2014:examples-json) and ESCO occupations (esco:occupations-csv)."""
from conftest import flat

from crosswalk.build import BuildResult, _load_all
from crosswalk.loaders import detect, load
from crosswalk.loaders.combine import combine

NATIONAL = "1325 1432 2121 2122 2357 2358 2414 2425 2613 3439".split()


def test_examples_cut_split_and_repaired(data_dir):
    path = data_dir / "okz/examples_extract.json"
    assert detect(path) == "okz2014:examples-json"
    res = load(path)
    rep, cls = res.report, res.classification
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (8, 6, 2)
    ex = {it.code: (it.attrs.get("examples") or "").splitlines() for it in cls}
    # swallowed headers and what follows them are cut, and reported where they start
    assert ex["1114"] == ["Председатель Общественной палаты", "Председатель профсоюза"]
    assert [(p["row"], p["value"]) for p in flat(rep, kind="swallowed_text")] == [
        (1, "Малая группа 112"), (3, "Подгруппа 74"), (5, "Примеры занятий, отнесенных к данной начальной группе:")]
    assert ex["4313"] == ["Табельщик"]
    # glued titles: no separator, or the title's own first word again, capitalised
    assert ex["7323"] == ["Оператор бумагорезательной машины", "Оператор переплетной линии",
                          "Оператор фальцмашины", "Переплетчик книг"]
    assert ex["8131"][:2] == ["Оператор дистанционного пульта управления в химическом производстве",
                              "Оператор получения инертного газа"]
    assert len(flat(rep, kind="glued_titles")) == 2
    # a word split at a line end joined; trailing punctuation and a repeat dropped, each reported
    assert "Оператор сушильной установки" in ex["8131"]
    assert flat(rep, kind="split_word")[0]["row"] == 4
    assert ex["2266"] == ["Врач-оториноларинголог", "Врач-сурдолог-оториноларинголог", "Врач-сурдолог-протезист"]
    assert flat(rep, kind="duplicate_example") and flat(rep, kind="example_punctuation")
    # a proper name inside a title is not a glued title
    assert "Председатель Общественной палаты" in ex["1114"]
    # bad objects are rejected by row and column
    assert [(p["row"], p["column"]) for p in flat(rep, severity="error")] == [(7, "isco4"), (8, "labelRu")]


def test_esco_labels_as_index(data_dir):
    path = data_dir / "esco/occupations_en.csv"
    assert detect(path) == "esco:occupations-csv"
    res = load(path)
    rep, ix = res.report, res.data
    assert res.kind == "index" and ix.scheme.id == "isco08"
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (5, 3, 2)
    titles = {(e.title, e.code) for e in ix}
    assert ("vegetable cook", "5120") in titles and ("software engineer", "2512") in titles   # repaired
    assert ("cok", "5120") not in titles                                   # hidden misspellings not loaded
    assert {e.group for e in ix if e.code == "5120"} == {"http://data.europa.eu/esco/occupation/a1"}
    assert flat(rep, kind="invisible_characters")[0]["value"] == "2"
    assert [p["column"] for p in flat(rep, severity="error")] == ["iscoGroup", "conceptUri"]


def test_reference_extract(ref):
    res = load(ref("okz2014/okz_occupations_pdf_extract.json"))
    rep, cls = res.report, res.classification
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (436, 436, 0)
    n = sum(len((it.attrs.get("examples") or "").splitlines()) for it in cls)
    assert n == 1712                    # 1,710 titles before the first header item, 2 glued pairs split
    assert len(flat(rep, kind="swallowed_text")) == 54
    assert {"2513", "3514"} <= set(cls.codes) and not set(NATIONAL) & set(cls.codes)
    # nothing of the English fields is kept: the ESCO labels there come from a later ESCO release
    # and would leak held-out ESCO occupations into the ESCO evaluation
    assert all(set(it.attrs) <= {"examples"} for it in cls) and not any(
        "technician" in (it.attrs.get("examples") or "") for it in cls)


def test_folder_combines_extract_with_label_scrape(ref):
    """Both OKZ files of the folder load as one classification: the extract's 436 groups and
    examples, and the 10 national groups only the label scrape holds."""
    files = [ref("okz2014/okz_occupations_pdf_extract.json"), ref("okz2014/okz_unit_group_labels_pdf_scrape.json")]
    result = BuildResult(".")
    classes, _, _ = _load_all(files, result)
    okz = classes["okz2014"]
    assert len(okz) == 446 and set(NATIONAL) <= set(okz.codes)
    assert okz.get("2513").attrs.get("examples")
    # whichever file the build takes as the base, the other adds the codes only it holds
    only_in_extract = ["2120", "2513", "3315", "3435", "3514", "4414", "5161", "6320", "6330", "6340"]
    assert result.combined["okz2014"][0]["codes_added"] in (NATIONAL, only_in_extract)


def test_combine_keeps_editions_apart(data_dir):
    a = load(data_dir / "okz/examples_extract.json").classification
    b = load(data_dir / "okz/labels_defects.json").classification
    merged, added = combine(a, b)
    assert added and set(added) <= set(merged.codes) and len(merged) == len(a) + len(added)
    assert merged.get("1114").attrs.get("examples")          # the base keeps its items
    from crosswalk.model import Classification
    other = Classification(b.scheme, list(b), edition="ОК 010-93")
    assert combine(a, other) == (a, [])
    # the other way round: a label list as the base gains the extract's examples on shared codes
    from crosswalk.model import Item
    labels = Classification(a.scheme, [Item(it.code, it.title + " (метка)", it.level) for it in a],
                            edition=a.edition)
    back, added_back = combine(labels, a)
    assert added_back == [] and back.get("1114").attrs["examples"] == a.get("1114").attrs["examples"]
    assert back.get("1114").title.endswith("(метка)")


def test_validate_and_inspect_read_an_index(data_dir):
    from crosswalk import api
    out = api.inspect(data_dir / "esco/occupations_en.csv")
    assert out["kind"] == "index" and out["items_by_level"] == {"unit": 10}
    assert out["sample"][0] == {"title": "cook", "code": "5120", "source": "esco"}
    v = api.validate([data_dir / "esco/occupations_en.csv"])
    assert v["files"][0]["rows_rejected"] == 2
