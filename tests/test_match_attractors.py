"""Attractors under control: the ``index`` signal measured against a fixed population of titles
like the sources (``match(population=...)``): a target one index title ties to hundreds of
titles by a shared head word is lowered; a title naming it exactly still finds it; and a
source's scores do not depend on which other sources are matched."""
import numpy as np

from crosswalk.index import CodingIndex, IndexEntry
from crosswalk.match import match
from crosswalk.match.context import MatchContext
from crosswalk.match.index import IndexSignal
from crosswalk.model import Classification, Item

OKZ = Classification("okz2014", [Item("8155", "Операторы машин по выделке меха и кожи", 4),
                                 Item("8131", "Операторы установок по переработке химического сырья", 4),
                                 Item("7212", "Сварщики и газорезчики", 4), Item("5120", "Повара", 4)])
INDEX = CodingIndex("okz2014", [IndexEntry(t, c, "okz-examples", "ru") for t, c in [
    ("Аппаратчик дубления", "8155"), ("Оператор установки химической переработки", "8131"),
    ("Электросварщик", "7212"), ("Газосварщик", "7212"), ("Повар", "5120"), ("Повар-кондитер", "5120")]])
PROCESSES = ["абсорбции", "адсорбции", "активации", "азотирования", "выпаривания", "гидролиза", "дистилляции",
             "кристаллизации", "нейтрализации", "окисления", "полимеризации", "ректификации", "сушки",
             "фильтрации", "хлорирования", "экстракции", "электролиза", "брожения", "варки", "осаждения",
             "смешивания", "обжига", "гранулирования", "синтеза"]
TITLES = ([f"Аппаратчик {p}" for p in PROCESSES] + ["Аппаратчик дубления", "Электросварщик", "Газосварщик",
          "Сварщик на машинах контактной сварки", "Повар", "Повар детского питания"])
OKPDTR = Classification("okpdtr", [Item(f"{10000 + k}", t, 1) for k, t in enumerate(TITLES)])


def _top(cset):
    return {c.source: c for c in cset.candidates if c.rank == 1}


def test_a_head_word_attractor_is_lowered_and_the_exact_title_keeps_it():
    plain = match(OKPDTR, OKZ, indexes=[INDEX], examples=False)
    fixed = match(OKPDTR, OKZ, indexes=[INDEX], examples=False, population=OKPDTR)
    code = {it.title: it.code for it in OKPDTR}
    before = {s: c.target for s, c in _top(plain).items()}
    after = {s: c.target for s, c in _top(fixed).items()}
    app = [code[f"Аппаратчик {p}"] for p in PROCESSES]
    assert sum(before[s] == "8155" for s in app) > len(app) // 2          # the attractor, uncorrected
    lowered = {c.source: c.evidence["index"] for c in fixed.candidates if c.target == "8155"}
    raw = {c.source: c.evidence["index"] for c in plain.candidates if c.target == "8155"}
    assert all(lowered.get(s, 0.0) < raw[s] for s in app if s in raw)
    # the head word alone now says little: less than half of what it said
    assert max(lowered.get(s, 0.0) for s in app) < 0.5 * min(raw[s] for s in app if s in raw)
    exact = code["Аппаратчик дубления"]
    assert after[exact] == "8155" and lowered[exact] > max(lowered.get(s, 0.0) for s in app)
    # targets no crowd of titles leans on keep their scores
    assert [(c.source, c.target, c.score) for c in fixed.candidates if c.target in ("5120", "7212")] == \
        [(c.source, c.target, c.score) for c in plain.candidates if c.target in ("5120", "7212")]


def test_scores_do_not_depend_on_the_other_sources_matched():
    some = Classification("okpdtr", [OKPDTR.get(c) for c in ("10000", "10024", "10029")])
    part = [(c.source, c.target, c.score) for c in match(some, OKZ, indexes=[INDEX], population=OKPDTR).candidates]
    whole = [(c.source, c.target, c.score) for c in match(OKPDTR, OKZ, indexes=[INDEX], population=OKPDTR).candidates
             if c.source in {"10000", "10024", "10029"}]
    assert part == whole


def test_a_population_of_one_title_per_target_changes_nothing():
    """Attraction is measured only where a target expects several titles of the population
    (ISCO-88 → ISCO-08 has one item per concept: there it would only cost accuracy)."""
    few = Classification("okpdtr", [OKPDTR.get(c) for c in ("10000", "10001", "10024")])
    assert match(few, OKZ, indexes=[INDEX], population=few).candidates == match(few, OKZ, indexes=[INDEX]).candidates


def test_attraction_equals_the_obvious_per_target_loop():
    sig = IndexSignal([INDEX], population=OKPDTR)
    ctx = MatchContext(OKPDTR, OKZ, indexes=(INDEX,))
    pen = sig._attraction(ctx)
    raw = IndexSignal([INDEX])._raw(MatchContext(OKPDTR, OKZ, indexes=(INDEX,)), np.arange(len(OKPDTR)),
                                    np.arange(len(OKZ)))
    named = [j for j in range(len(OKZ)) if raw[:, j].max() > 0]
    k = round(sig.hub_k * len(OKPDTR) / len(named))
    r = {j: float(np.mean(sorted(raw[:, j], reverse=True)[:k])) for j in named}
    med = float(np.median(list(r.values())))
    want = [max(sig.hub_beta * (r[j] - med), 0.0) if j in r else 0.0 for j in range(len(OKZ))]
    assert np.allclose(pen, want, atol=1e-6)
