"""WordMeaningSignal: each title word by meaning against the words describing a target,
in any language — checked against the obvious loop, and with the real e5 model."""
import numpy as np
from hypothesis import given, settings, strategies as st

from crosswalk.embeddings import Embedder
from crosswalk.match import default_signals, match
from crosswalk.match.context import MatchContext
from crosswalk.match.text import weights
from crosswalk.match.words import COMMON, FLOOR, WordMeaningSignal, words
from crosswalk.model import Classification, Item


class WordVectors:
    """A fake model for words: each word a fixed unit vector (unknown words: their own axis)."""

    def __init__(self, vectors, dim=8):
        self.vectors, self.dim, self.asked = vectors, dim, []

    def embed(self, texts, *, kind="passage"):
        self.asked.append((kind, list(texts)))
        out = []
        for t in texts:
            v = self.vectors.get(t)
            if v is None:                      # unrelated to everything else
                v = np.zeros(self.dim, dtype=np.float32)
                v[hash(t) % 3 + 5] = 1.0
            out.append(np.asarray(v, dtype=np.float32) / np.linalg.norm(v))
        return np.array(out, dtype=np.float32).reshape(len(texts), self.dim)


def _unit(i, j=None, share=0.0):
    v = np.zeros(8, dtype=np.float32)
    v[i] = 1.0
    if j is not None:
        v[j] = share
    return v


# «гидролиз» and "chemical" nearly the same direction, «машинист» and "driver" too
VECS = {"гидролиз": _unit(0, 1, 0.2), "chemical": _unit(0), "аппаратчик": _unit(2, 0, 0.3),
        "operators": _unit(2), "машинист": _unit(3), "drivers": _unit(3, 4, 0.1), "locomotive": _unit(4)}

SRC = Classification("okpdtr", [Item("10001", "Аппаратчик гидролиза", 1),
                                Item("10002", "Машинист", 1)])
OKZ = Classification("okz2014", [Item("8131", "Группа 1", 4), Item("8311", "Группа 2", 4)])
ISCO = Classification("isco08", [
    Item("8131", "Chemical products plant operators", 4,
         notes="Operators monitor chemical units.", attrs={"included": "Examples:\n- Chemical still operator"}),
    Item("8311", "Locomotive engine drivers", 4, notes="Drivers drive locomotives.")])


def _scores(source=SRC, target=OKZ, context=(ISCO,), vecs=VECS):
    ctx = MatchContext(source, target, target_context=context)
    sig = WordMeaningSignal(embedder=WordVectors(vecs))
    return ctx, sig, sig.scores(ctx, np.arange(len(source)), np.arange(len(target)))


def _obvious(ctx, sig, i, j):
    """The rule by hand: IDF-weighted mean over the title's words of the best calibrated
    cosine with any word describing the target (words in over half the targets dropped)."""
    emb = sig.embedder
    described = []
    for it in ctx.targets:
        ws = set()
        for d, lang in [(it, ctx.target.language)] + [(c.get(it.code), c.language)
                                                      for c in ctx.target_context if it.code in c]:
            for text in (d.title, d.notes, d.attrs.get("tasks"), d.attrs.get("included"), d.attrs.get("notes")):
                ws |= {w for w, _ in words(text or "", lang)}
        described.append(ws)
    common = {w for w in set().union(*described) if sum(w in d for d in described) > COMMON * len(described)}
    idf = weights(ctx)
    title = {}
    for shown, lem in words(ctx.sources[i].title, ctx.source.language):
        title.setdefault(shown, idf[lem])
    if not title:
        return 0.0
    total = 0.0
    for w, wt in title.items():
        best = 0.0
        for v in described[j] - common:
            cos = float(emb.embed([w], kind="query")[0] @ emb.embed([v], kind="query")[0])
            best = max(best, min(1.0, max(0.0, (cos - FLOOR) / (1 - FLOOR))))
        total += wt * best
    return total / sum(title.values())


def test_a_russian_word_finds_its_english_neighbour_with_no_shared_spelling():
    ctx, sig, s = _scores()
    assert s.dtype == np.float32 and ((s >= 0) & (s <= 1)).all()
    assert s[0, 0] > s[0, 1]          # «Аппаратчик гидролиза» → the chemical operators
    assert s[1, 1] > s[1, 0]          # «Машинист» → the locomotive drivers
    # words against words: one kind of vector on both sides
    assert {kind for kind, _ in sig.embedder.asked} == {"query"}
    for i in range(2):
        for j in range(2):
            assert abs(s[i, j] - _obvious(ctx, sig, i, j)) < 1e-5


def test_words_describing_most_targets_tell_nothing():
    # "operators" describes both targets: dropped, so «аппаратчик» (its neighbour) scores nothing
    target = Classification("isco08", [Item("8131", "Plant operators", 4), Item("8132", "Machine operators", 4)])
    src = Classification("okpdtr", [Item("10001", "Аппаратчик", 1)])
    _, _, s = _scores(src, target, ())
    assert s.max() == 0.0


def test_signal_is_part_of_the_embeddings_extra_only():
    assert "word_meaning" not in {s.name for s in default_signals()}
    assert "word_meaning" in {s.name for s in default_signals(embeddings=True, embedder=WordVectors(VECS))}


POOL = ["гидролиз", "аппаратчик", "машинист", "сушка", "по", "и"]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.sampled_from(POOL), min_size=0, max_size=3), min_size=1, max_size=5),
       st.lists(st.lists(st.sampled_from(["chemical", "operators", "drivers", "locomotive", "glass"]),
                         min_size=1, max_size=3), min_size=1, max_size=4),
       st.randoms(use_true_random=False))
def test_vectorised_scores_equal_the_obvious_loop_in_any_row_order(titles, target_words, rnd):
    src_items = [Item(f"1{k:04d}", " ".join(t) or "—", 1) for k, t in enumerate(titles)]
    tgt = Classification("isco08", [Item(f"{8100 + k}", " ".join(ws), 4) for k, ws in enumerate(target_words)])
    ctx, sig, fast = _scores(Classification("okpdtr", src_items), tgt, ())
    for i in range(len(src_items)):
        for j in range(len(tgt)):
            assert abs(fast[i, j] - _obvious(ctx, sig, i, j)) < 1e-5
    shuffled = src_items[:]
    rnd.shuffle(shuffled)
    ctx2, _, again = _scores(Classification("okpdtr", shuffled), tgt, ())
    by_code = {it.code: again[i] for i, it in enumerate(ctx2.sources)}
    assert all(np.array_equal(by_code[it.code], fast[i]) for i, it in enumerate(ctx.sources))


def test_real_model_reads_russian_titles_against_english_descriptions(tmp_path):
    """With the real e5 model: Russian worker titles reach the English ISCO groups whose
    words translate theirs, though no word is shared."""
    src = Classification("okpdtr", [Item("15940", "Сортировщик", 1), Item("14920", "Прессовщик", 1)])
    tgt = Classification("isco08", [
        Item("9612", "Refuse Sorters", 4, notes="Refuse sorters identify and sort recyclable materials."),
        Item("8142", "Plastic Products Machine Operators", 4,
             notes="Operate presses and moulding machines.", attrs={"included": "- Press operator (plastics)"})])
    with Embedder(cache_dir=tmp_path) as emb:
        cs = match(src, tgt, signals=[WordMeaningSignal(embedder=emb)], limit=1)
    best = {c.source: c.target for c in cs.candidates}
    assert best == {"15940": "9612", "14920": "8142"}
    assert all(c.evidence["word_meaning"] > 0 for c in cs.candidates)
