"""The review app's caches against slow obvious versions: the item cache kept current from new
events equals one read afresh from the store after any sequence of decisions (made through the
app or beside it); the suggestion index's word-beginning search equals a scan of every label."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from crosswalk.review import LinkKey, ReviewStore
from crosswalk.review.items import ItemDecision, ItemKey
from crosswalk.review.web.data import Model, WebError
from crosswalk.review.web.itemcache import ItemCache
from crosswalk.review.web.suggest import Label, SuggestIndex, forms

CODES = ["8131", "8141", "3116", "4321", "2411"]
SOURCES = [f"1{i:04d}" for i in range(6)]


def _store(path) -> None:
    with ReviewStore(path) as s:
        s.propose([{"key": LinkKey("okpdtr", src, "okz2014", CODES[(i + r) % 5]), "score": round(0.9 - 0.1 * r - 0.01 * i, 3),
                    "rank": r + 1, "role": "proposal" if r == 0 else "alternative", "evidence": {},
                    "source_title": f"Аппаратчик {i}", "target_title": f"группа {CODES[(i + r) % 5]}"}
                   for i, src in enumerate(SOURCES) for r in range(3)])
        s.register_items("okz2014", [(c, f"группа {c}") for c in CODES])


def _view(cache: ItemCache) -> dict:
    return {"entries": {k: (e.item.status, e.item.version, e.targets, e.order, e.group, e.tgroups)
                        for k, e in cache.entries.items()},
            "order": [e.key for e in cache.in_order()], "counts": cache.counts(),
            "fan_in": {k: v for k, v in cache.fan_in.items() if v}}


step = st.tuples(st.sampled_from(["accept", "pick", "split", "no_match", "reopen"]), st.integers(0, 5),
                 st.integers(0, 4), st.booleans())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, max_size=12))
def test_the_cache_kept_from_new_events_equals_a_fresh_read(tmp_path_factory, steps):
    path = tmp_path_factory.mktemp("cache") / "r.sqlite"
    _store(path)
    model = Model(str(path))
    with model.open() as s, model.lock:
        model.refresh(s)
        for choice, i, j, through_app in steps:
            key = ItemKey("okpdtr", SOURCES[i], "okz2014")
            version = s.item(key).version
            targets = {"pick": [[CODES[j], None]], "split": [[CODES[j], 0.25], [CODES[(j + 1) % 5], 0.75]]}.get(choice)
            if through_app:
                body = {"key": [key.source_scheme, key.source_code, key.target_scheme], "choice": choice,
                        "version": version, "next": {}, **({"targets": targets} if targets else {})}
                try:
                    model.decide_item(s, body, "anna")
                except WebError as exc:      # a choice the store refuses (nothing to do) changes nothing
                    assert exc.status == 400, exc
            else:         # beside the app: the CLI, a workbook import
                s.decide_items([ItemDecision(key, choice, version, tuple(map(tuple, targets or ())))], reviewer="cli")
                model.refresh(s)
            fresh = ItemCache()
            fresh.load(s)
            assert _view(model.cache) == _view(fresh)
    model.wait_prepared()


@settings(max_examples=60, deadline=None)
@given(labels=st.lists(st.sampled_from(["Кладовщик склада", "Служащие, занятые учетом на складе", "Stock clerk",
                                        "Аппаратчик гидролиза", "Аппаратчики", "Storeroom clerks", "Весовщик"]),
                       min_size=1, max_size=8),
       q=st.sampled_from(["клад", "кладовщ", "аппарат", "склад", "stock", "clerk", "учет", "вес", "zz", "ст"]))
def test_word_beginning_search_equals_a_scan_of_every_label(labels, q):
    idx = SuggestIndex("okz2014", [Label(f"{1000 + i}", t, "title") for i, t in enumerate(labels)])
    got = {it["code"] for it in idx.search(q, limit=1000)["items"]}
    (w, lem), = forms(q)
    want = {f"{1000 + i}" for i, t in enumerate(labels)
            if any(x in (w, lem) or (len(w) >= 3 and x.startswith(w)) for f in forms(t) for x in f)}
    assert got == want


def test_the_app_opens_a_long_history_without_reading_its_proposals(tmp_path):
    """Learning leaves many re-proposals: the app's first read skips them (SQLite filters them,
    the cache reads the links' state itself), yet starts after them, counts the decisions made
    before it opened and still follows a re-proposal made after."""
    path = tmp_path / "r.sqlite"
    _store(path)
    key = ItemKey("okpdtr", SOURCES[0], "okz2014")
    with ReviewStore(path) as s:
        s.decide_items([ItemDecision(key, "accept", s.item(key).version)], reviewer="cli")
        for n in range(5):             # re-proposals of an open item, as learning writes them
            s.propose([{"key": LinkKey("okpdtr", SOURCES[1], "okz2014", c), "score": round(0.5 + 0.01 * n + 0.1 * r, 3),
                        "rank": 3 - r, "role": "proposal" if r == 2 else "alternative", "evidence": {}}
                       for r, c in enumerate(CODES[1:4])], origin="learning")
        every = s.events()
        assert s.events(exclude=("propose",)) == [e for e in every if e.action != "propose"]
        assert every[-1].action == "propose" and s.last_event_id() == every[-1].id
    model = Model(str(path))
    with model.open() as s, model.lock:
        model.refresh(s)
        assert model.index.last_id == s.last_event_id()
        assert sum(len(v) for v in model.progress.values()) == 1          # the accept before opening
        s.propose([{"key": LinkKey("okpdtr", SOURCES[1], "okz2014", CODES[4]), "score": 0.99, "rank": 1,
                    "role": "proposal", "evidence": {}}], origin="learning")
        model.refresh(s)
        fresh = ItemCache()
        fresh.load(s)
        assert _view(model.cache) == _view(fresh)
        assert model.cache.entries[ItemKey("okpdtr", SOURCES[1], "okz2014")].top == 0.99     # followed
    model.wait_prepared()
