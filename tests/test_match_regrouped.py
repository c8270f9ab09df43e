"""Classes of a regrouped division matched by meaning among their division's target classes:
what sets a class apart from its siblings decides, not what every sibling shares («образование» /
"education"). A fake model shows the rule; the real e5 model, on OKVED2's and NACE's own
division 85 titles, shows what a statistician gets."""
import csv
import tempfile
from pathlib import Path

import numpy as np
import pytest

from crosswalk.match import match
from crosswalk.match.context import MatchContext
from crosswalk.match.meaning import EmbeddingSignal, read_under_parent
from crosswalk.match.structure import deviation, regrouped_divisions
from crosswalk.model import Classification, Item

# OKVED2 (2023) and NACE Rev.2 titles of division 85 as published, and one division both keep
OKVED = [("62", "Разработка компьютерного программного обеспечения, консультационные услуги в данной области"
          " и другие сопутствующие услуги", None),
         ("62.0", "Разработка компьютерного программного обеспечения, консультационные услуги в данной области"
          " и другие сопутствующие услуги", "62"),
         ("62.01", "Разработка компьютерного программного обеспечения", "62.0"),
         ("62.02", "Деятельность консультативная и работы в области компьютерных технологий", "62.0"),
         ("85", "Образование", None),
         ("85.1", "Образование общее", "85"),
         ("85.11", "Образование дошкольное", "85.1"),
         ("85.12", "Образование начальное общее", "85.1"),
         ("85.13", "Образование основное общее", "85.1"),
         ("85.14", "Образование среднее общее", "85.1"),
         ("85.2", "Образование профессиональное", "85"),
         ("85.21", "Образование профессиональное среднее", "85.2"),
         ("85.22", "Образование высшее", "85.2"),
         ("85.23", "Подготовка кадров высшей квалификации", "85.2"),
         ("85.3", "Обучение профессиональное", "85"),
         ("85.30", "Обучение профессиональное", "85.3"),
         ("85.4", "Образование дополнительное", "85"),
         ("85.41", "Образование дополнительное детей и взрослых", "85.4"),
         ("85.42", "Образование профессиональное дополнительное", "85.4")]
NACE = [("62", "Computer programming, consultancy and related activities", None),
        ("62.0", "Computer programming, consultancy and related activities", "62"),
        ("62.01", "Computer programming activities", "62.0"),
        ("62.02", "Computer consultancy activities", "62.0"),
        ("85", "Education", None),
        ("85.1", "Pre-primary education", "85"), ("85.10", "Pre-primary education", "85.1"),
        ("85.2", "Primary education", "85"), ("85.20", "Primary education", "85.2"),
        ("85.3", "Secondary education", "85"), ("85.31", "General secondary education", "85.3"),
        ("85.32", "Technical and vocational secondary education", "85.3"),
        ("85.4", "Higher education", "85"), ("85.41", "Post-secondary non-tertiary education", "85.4"),
        ("85.42", "Tertiary education", "85.4"),
        ("85.5", "Other education", "85"), ("85.51", "Sports and recreation education", "85.5"),
        ("85.52", "Cultural education", "85.5"), ("85.53", "Driving school activities", "85.5"),
        ("85.59", "Other education n.e.c.", "85.5"),
        ("85.6", "Educational support activities", "85"), ("85.60", "Educational support activities", "85.6")]


def _cls(scheme, rows, language):
    """Level = number of digits (OKVED2 and NACE: 2 division, 3 group, 4 class)."""
    return Classification(scheme, [Item(c, t, len(c.replace(".", "")), p) for c, t, p in rows], language=language)


@pytest.fixture(scope="module")
def okved_nace():
    return _cls("okved2", OKVED, "ru"), _cls("nace2", NACE, "en")


# -- the rule, with a model that says exactly what it is told ------------------------------

WORDS = {"образование": 0, "education": 0,          # what every sibling shares: one strong direction
         "высшее": 1, "higher": 1, "дошкольное": 2, "pre-primary": 2, "tertiary": 3, "other": 4}


class BagOfWords:
    """A text's vector: the sum of its known words' axes («образование» and "education" three
    times as long), normalised; nothing known: an axis of its own."""

    def embed(self, texts, *, kind="passage"):
        out = np.zeros((len(texts), 8), dtype=np.float32)
        for k, text in enumerate(texts):
            for w in text.lower().replace(":", " ").split():
                if w in WORDS:
                    out[k, WORDS[w]] += 3.0 if WORDS[w] == 0 else 1.0
            if not out[k].any():
                out[k, 7] = 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_a_regrouped_class_is_told_apart_by_what_its_siblings_do_not_share(okved_nace):
    okved, nace = okved_nace
    ctx = MatchContext(okved, nace)
    assert list(regrouped_divisions(ctx)) == ["85"] and deviation(ctx, "85.22") == "regrouped"
    sig = EmbeddingSignal(embedder=BagOfWords())
    src = np.array([ctx.source_index[c] for c in ("85.11", "85.22", "62.01")])
    tgt = np.array([j for j, it in enumerate(ctx.targets) if it.level == 4])        # NACE classes
    codes = [ctx.targets[j].code for j in tgt]
    plain, got = sig._scores(ctx, src, tgt), sig.scores(ctx, src, tgt)
    # plain cosines are ruled by "education": «Образование высшее» sits closest to a class that
    # says nothing else, not to tertiary education ("higher" is only in its group's title)
    assert codes[int(np.argmax(plain[1]))] not in ("85.41", "85.42")
    # set apart from their siblings, «высшее» meets the classes under "Higher education" (each
    # class read under its group, as the source is) and «дошкольное» "Pre-primary education"
    assert codes[int(np.argmax(got[1]))] in ("85.41", "85.42") and codes[int(np.argmax(got[0]))] == "85.10"
    assert read_under_parent(nace, nace.get("85.42")) == "Higher education: Tertiary education"
    assert got.min() >= 0.0 and got.max() <= 1.0
    # outside the regrouped division nothing changes
    np.testing.assert_array_equal(got[2], plain[2])
    # and only the division's own classes are rescored
    outside = [k for k, c in enumerate(codes) if not c.startswith("85")]
    np.testing.assert_array_equal(got[:, outside], plain[:, outside])


def test_scores_do_not_depend_on_which_sources_are_matched_together(okved_nace):
    okved, nace = okved_nace
    sig = lambda: [EmbeddingSignal(embedder=BagOfWords())]      # noqa: E731
    whole = match(okved, nace, signals=sig(), limit=3)
    one_by_one = match(okved, nace, signals=sig(), limit=3, chunk=1)
    assert whole.candidates == one_by_one.candidates
    # a classification with only division 85's classes gives the same scores to the same pairs
    only = Classification("okved2", [it for it in okved if it.code.startswith("85")], language="ru")
    part = {(c.source, c.target): c.score for c in match(only, nace, signals=sig(), limit=3).candidates}
    same = {(c.source, c.target): c.score for c in whole.candidates if (c.source, c.target) in part}
    assert len(same) >= 10 and all(part[k] == v for k, v in same.items())


class Recording(BagOfWords):
    """BagOfWords that keeps every text it was asked to embed."""

    def __init__(self):
        self.texts = []

    def embed(self, texts, *, kind="passage"):
        self.texts += [(kind, t) for t in texts]
        return super().embed(texts, kind=kind)


def test_meaning_is_computed_only_where_the_code_does_not_decide(okved_nace):
    """Classes whose code NACE holds outside a regrouped division are identities by structure: no
    vector of their titles or words is computed (a first build embeds a quarter fewer tokens), their
    candidates carry no meaning evidence and the same code stays first. Inside division 85 the
    classes are compared by meaning as before."""
    okved, nace = okved_nace
    emb = Recording()
    cset = match(okved, nace, embeddings=True, embedder=emb, limit=3)
    ctx = MatchContext(okved, nace)
    decided = {it.code for it in okved if not deviation(ctx, it.code) and it.code in nace}
    assert decided == {"62", "62.0", "62.01", "62.02", "85"}
    asked = " ".join(t for kind, t in emb.texts if kind == "query").lower()
    assert "программного" not in asked and "компьютер" not in asked and "консультатив" not in asked
    assert "дошкольное" in asked and "высшее" in asked
    by = cset.by_source()
    for code in decided:
        assert by[code][0].target == code
        assert not {"embedding", "word_meaning"} & {n for c in by[code] for n in c.evidence}
    for code in ("85.11", "85.22", "85.42"):
        assert "embedding" in by[code][0].evidence


# -- the real model ------------------------------------------------------------------------

def test_education_levels_reach_their_nace_classes_with_the_real_model(okved_nace):
    """The meaning signal alone, as it scores the division whatever else the classifications
    hold (its siblings are the division's): plain cosines sent vocational secondary and higher
    education to pre-primary education (85.10)."""
    okved, nace = okved_nace
    cset = match(okved, nace, signals=[EmbeddingSignal()], limit=3)
    best = {c.source: c.target for c in cset.candidates if c.rank == 1}
    assert best["85.21"] == "85.32"                       # → ISIC 8522 technical and vocational
    assert best["85.22"] in ("85.41", "85.42")            # → ISIC 8530 higher education
    assert best["85.23"] in ("85.41", "85.42")            # doctoral training, read under its parent
    assert best["85.13"] == best["85.14"] == "85.31"      # → ISIC 8521 general secondary
    assert best["85.12"] == "85.20"                       # → ISIC 8510 primary


def test_reference_data_regrouped_classes_of_the_gold():
    """benchmarks/regrouped.py's build on the full reference data, with the meaning model (its
    full run, with every division counted as regrouped too, is reports/regrouped.json): the 22
    regrouped classes of the gold, and the 601 classes outside them untouched."""
    import importlib
    import sys
    from conftest import reference_file
    data = reference_file("nace2/nace2_structure_en.csv").parent.parent
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    bench = importlib.import_module("regrouped")
    with open(reference_file("../gold/okved2_isic4_regrouped.csv"), encoding="utf-8") as fh:
        gold = list(csv.DictReader(fh))
    with tempfile.TemporaryDirectory() as tmp:
        result, _ = bench.run(data, Path(tmp) / "a", True, "e5")
        regrouped, outside = bench.measure(result, gold)
        assert regrouped["regrouped_top1"] >= 20, regrouped["regrouped_misses"]
        assert outside["isic"] == outside["same_code"] == outside["outside_n"] == 601
