"""LearnedSignal: a model per confirmed set, and titles' meaning as neighbour evidence."""
import numpy as np
from rapidfuzz import fuzz
from hypothesis import given, settings, strategies as st

from crosswalk.model import Classification, Item
from crosswalk.match.context import MatchContext
from crosswalk.match.learned import TITLE_FLOOR, LearnedSignal
from crosswalk.match.text import item_tokens, weights

SRC = Classification("okpdtr", [Item("10001", "Аппаратчик деаэрации", 1),
                                Item("10002", "Аппаратчик дегазации", 1),
                                Item("10003", "Машинист локомотива", 1),
                                Item("10004", "Машинист тепловоза", 1)])
TGT = Classification("okz2014", [Item("8131", "Операторы установок по переработке химического сырья", 4),
                                 Item("8311", "Машинисты локомотивов", 4)])


class FakeEmbedder:
    """Unit vectors chosen per title: the two chemical titles point one way, the drivers another."""

    def __init__(self, vectors):
        self.vectors = vectors

    def embed(self, texts, *, kind="passage"):
        return np.array([self.vectors[t] for t in texts], dtype=np.float32)


def _unit(*xs):
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


VECS = {"Аппаратчик деаэрации": _unit(1, 0, 0), "Аппаратчик дегазации": _unit(1, 0.05, 0),
        "Машинист локомотива": _unit(0, 1, 0), "Машинист тепловоза": _unit(0, 1, 0.05)}


def _scores(sig):
    ctx = MatchContext(SRC, TGT)
    src, tgt = np.arange(len(SRC)), np.arange(len(TGT))
    return ctx, sig.scores(ctx, src, tgt)


def test_each_confirmed_set_gets_its_own_model_on_a_shared_context():
    ctx = MatchContext(SRC, TGT)
    src, tgt = np.arange(4), np.arange(2)
    a = LearnedSignal([("10002", "8131")]).scores(ctx, src, tgt)
    b = LearnedSignal([("10004", "8311")]).scores(ctx, src, tgt)   # same ctx: no stale model
    assert a[:, 1].max() == 0 and a[0, 0] > 0
    assert b[:, 0].max() == 0 and b[2, 1] > 0


def test_meaning_lifts_the_neighbour_that_shares_no_word_beyond_the_head():
    confirmed = [("10002", "8131"), ("10004", "8311")]
    _, plain = _scores(LearnedSignal(confirmed))
    _, meant = _scores(LearnedSignal(confirmed, embedder=FakeEmbedder(VECS)))
    assert meant.dtype == np.float32 and ((meant >= 0) & (meant <= 1)).all()
    # «деаэрации» learns 8131 from «дегазации» far more strongly once meaning counts
    assert meant[0, 0] > plain[0, 0] and meant[0, 0] > meant[0, 1]
    assert meant[2, 1] > meant[2, 0]
    # a confirmed item never learns from itself
    assert meant[1, 0] == 0 and meant[3, 1] == 0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["10001", "10002", "10003", "10004"]),
                          st.sampled_from(["8131", "8311"])), min_size=1, max_size=6),
       st.permutations(range(4)))
def test_matches_the_obvious_nearest_neighbour_rule(confirmed, perm):
    ctx, fast = _scores(LearnedSignal(confirmed, embedder=FakeEmbedder(VECS)))
    w, toks = weights(ctx), item_tokens(ctx, "source")
    srcs = sorted({s for s, _ in confirmed})
    for i in perm:                         # any order of rows gives the same scores
        for j, t in enumerate(TGT):
            best = 0.0
            items = list(SRC)
            for s in srcs:
                k = ctx.source_index[s]
                if k == i or (s, t.code) not in confirmed:
                    continue
                a, b = toks[i], toks[k]
                jac = w.weighted_overlap(a, b)
                fz = fuzz.token_sort_ratio(" ".join(a), " ".join(b)) / 100
                cos = max(0.0, (float(VECS[items[i].title] @ VECS[items[k].title]) - TITLE_FLOOR) / (1 - TITLE_FLOOR))
                best = max(best, (jac + fz + min(cos, 1.0)) / 3)
            assert abs(fast[i, j] - best) < 1e-5
