"""Coding indexes: labelled titles as one input (crosswalk.index), and the `index` signal
that reads them (nearest labelled titles by words and meaning)."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from rapidfuzz import fuzz

from crosswalk.errors import CrosswalkError, LoadError
from crosswalk.index import CodingIndex, IndexEntry, natural_order, read_index
from crosswalk.match import match
from crosswalk.match.context import MatchContext
from crosswalk.match.index import TITLE_FLOOR, IndexSignal
from crosswalk.match.learned import LearningWarning
from crosswalk.match.text import item_tokens, weights
from crosswalk.model import Classification, Item
from crosswalk import normalize

OKZ = Classification("okz2014", [Item("8131", "Операторы установок по переработке химического сырья", 4),
                                 Item("8311", "Машинисты локомотивов", 4),
                                 Item("7212", "Сварщики и газорезчики", 4)])
SRC = Classification("okpdtr", [Item("10001", "Аппаратчик гидролиза", 1), Item("10002", "Машинист тепловоза", 1),
                                Item("10003", "Электрогазосварщик", 1), Item("10004", "Библиотекарь", 1)])


def entries(*rows, lang="ru", source="test"):
    return [IndexEntry(t, c, source, lang) for t, c in rows]


def test_head_first_titles_read_in_natural_order():
    assert natural_order("Cook, vegetable") == "vegetable cook"
    assert natural_order("Operator, press: textile") == "textile press operator"
    assert natural_order("Purser, flight") == "flight purser"
    # not head-first: lists of groups and plain titles stay as written
    assert natural_order("Cleaners and helpers, offices") == "Cleaners and helpers, offices"
    assert natural_order("Software developer") == "Software developer"


def test_index_entries_reach_groups_no_title_word_names():
    ix = CodingIndex("okz2014", entries(("Аппаратчик гидролиза древесины", "8131"), ("Машинист тепловоза", "8311"),
                                        ("Газосварщик", "7212")))
    plain = {c.source: c for c in match(SRC, OKZ, examples=False).candidates if c.rank == 1}
    taught = {c.source: c for c in match(SRC, OKZ, indexes=[ix]).candidates if c.rank == 1}
    assert "10001" not in plain or plain["10001"].target != "8131"
    assert taught["10001"].target == "8131" and taught["10001"].evidence["index"] > 0.5
    assert taught["10002"].evidence["index"] == 1.0
    assert taught["10003"].target == "7212"            # by spelling: no shared token
    assert "10004" not in taught                       # nothing describes a librarian here


def test_examples_of_the_classification_are_an_index():
    ex = {"8131": "Аппаратчик гидролиза древесины", "8311": "Машинист тепловоза"}
    okz = Classification("okz2014", [Item(it.code, it.title, it.level, attrs={"examples": ex.get(it.code, "")})
                                     for it in OKZ])
    top = {c.source: c.target for c in match(SRC, okz).candidates if c.rank == 1}
    assert top["10001"] == "8131"
    assert "index" not in match(SRC, okz, examples=False).candidates[0].evidence


def test_scores_do_not_depend_on_the_other_sources():
    ix = CodingIndex("okz2014", entries(("Аппаратчик гидролиза древесины", "8131"), ("Машинист тепловоза", "8311")))
    alone = Classification("okpdtr", [SRC.get("10001")])
    a = [(c.target, c.score) for c in match(alone, OKZ, indexes=[ix]).candidates]
    b = [(c.target, c.score) for c in match(SRC, OKZ, indexes=[ix]).candidates if c.source == "10001"]
    assert a == b


def test_adding_entries_rescores_without_refitting():
    ix = CodingIndex("okz2014", entries(("Машинист тепловоза", "8311")))
    ctx = MatchContext(SRC, OKZ, indexes=(ix,))
    sig = IndexSignal([ix])
    src, tgt = np.arange(len(SRC)), np.arange(len(OKZ))
    before = sig.scores(ctx, src, tgt)
    assert before[0].max() == 0.0
    assert ix.add(entries(("Аппаратчик гидролиза", "8131"), ("Машинист тепловоза", "8311"))) == 1   # one new
    after = sig.scores(ctx, src, tgt)
    assert after[0, ctx.target_index["8131"]] == 1.0 and np.array_equal(after[1], before[1])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Аппаратчик гидролиза", "Машинист электровоза", "Сварщик",
                                           "Оператор установки гидролиза", "Tool setter", "Машинист"]),
                          st.sampled_from(["8131", "8311", "7212"])), min_size=1, max_size=8),
       st.permutations(range(4)))
def test_matches_the_obvious_nearest_title_rule(rows, perm):
    """The vectorised scores equal a loop over every source, target and entry: each entry's
    similarity is the mean of IDF Jaccard, spelling and meaning (fake vectors; meaning alone
    for an English entry), a target mixes its best entry with its share of the k nearest
    entries' squared votes."""
    from crosswalk.code import language_of
    ix = CodingIndex("okz2014", [IndexEntry(t, c, "t", language_of(t)) for t, c in rows])
    vec = lambda t: np.array([len(t) % 3 + 1, len(t) % 5, 1.0], dtype=np.float32) / np.linalg.norm(
        [len(t) % 3 + 1, len(t) % 5, 1.0])                                           # noqa: E731

    class Emb:
        def embed(self, texts, *, kind="query"):
            return np.array([vec(t) for t in texts], dtype=np.float32)
    src = Classification("okpdtr", [list(SRC)[i] for i in perm])
    ctx = MatchContext(src, OKZ, indexes=(ix,))
    fast = IndexSignal([ix], embedder=Emb()).scores(ctx, np.arange(len(src)), np.arange(len(OKZ)))
    w, toks = weights(ctx), item_tokens(ctx, "source")
    sig = IndexSignal
    for i, it in enumerate(src):
        sims = []                                   # (target code, similarity) of every entry
        for e in ix:
            cos = min(1.0, max(0.0, (float(vec(it.title) @ vec(e.title)) - TITLE_FLOOR) / (1 - TITLE_FLOOR)))
            if e.language == "ru":
                et = normalize.tokens(e.title, "ru")
                jac = w.weighted_overlap(toks[i], et)
                fz = fuzz.token_sort_ratio(" ".join(toks[i]), " ".join(et), score_cutoff=50) / 100
                sims.append((e.code, (jac + fz + cos) / 3))
            else:
                sims.append((e.code, cos))
        # the k nearest entries vote (ties at the k-th included), squared
        kth = sorted((v for _, v in sims), reverse=True)[min(sig.knn, len(sims)) - 1]
        votes = {c: sum(v ** sig.power for c2, v in sims if c2 == c and v >= kth) for c, _ in sims}
        total = sum(votes.values())
        for j, t in enumerate(OKZ):
            best = max((v for c, v in sims if c == t.code), default=0.0)
            share = votes.get(t.code, 0.0) / total if total > 0 else 0.0
            want = (1 - sig.mix) * best + sig.mix * share * (best > 0)
            assert abs(fast[i, j] - want) < 1e-5


def test_learning_is_never_skipped_silently():
    part = Classification("okpdtr", [SRC.get("10001"), SRC.get("10002")])
    with pytest.warns(LearningWarning, match="1 of 2 confirmed links"):
        match(part, OKZ, confirmed=[("10002", "8311"), ("10003", "7212")])
    with pytest.raises(CrosswalkError, match="nothing to learn from"):
        match(part, OKZ, confirmed=[("10003", "7212")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        match(SRC, OKZ, confirmed=[("10002", "8311")])


def test_read_index_csv_of_past_codings(tmp_path):
    p = tmp_path / "past.csv"
    p.write_text("title;okz2014_code;source\nПовар;5120;2024\nCook, vegetable;5120;\n;5120;\nСварщик;51x;\n",
                 encoding="utf-8")
    ix, rep = read_index(p)
    assert ix.scheme.id == "okz2014"
    assert [(e.title, e.code, e.source, e.language) for e in ix] == [
        ("Повар", "5120", "2024", "ru"), ("Cook, vegetable", "5120", "past.csv", "en")]
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (4, 2, 2)
    assert [(p.row, p.kind) for p in rep.errors] == [(4, "empty_title"), (5, "code_format")]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,value\nПовар,1\n", encoding="utf-8")
    with pytest.raises(LoadError, match="not a coding index"):
        read_index(bad)
    nocode = tmp_path / "nocode.csv"
    nocode.write_text("title,code\nПовар,5120\n", encoding="utf-8")
    with pytest.raises(LoadError, match="scheme of the codes"):
        read_index(nocode)
    assert read_index(nocode, "okz2014")[0].codes() == {"5120"}
