"""How similar items were decided: the decided items of the same scheme pair that share the
item's head noun («Аппаратчик …»: other Аппаратчик titles went to 8131 ×12, 3133 ×3), and the
decided items nearest by title words (IDF-weighted overlap of lemmas). Kept current by the
item cache's watcher: an item enters when decided (or decided as having no correspondence)
and leaves when reopened. A pair's words and head nouns are worked out when an item of the
pair is first shown, not at start (thousands of official links need none).
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Optional

from ...model import SCHEMES
from ...normalize import head_noun, tokens
from ..items import ItemKey
from .itemcache import Entry, pair_of

NO_MATCH = "-"      # the "target" of an item decided as having no correspondence


def _lang(scheme: str, title: str) -> str:
    if any("а" <= ch <= "я" or ch == "ё" for ch in title.casefold()):
        return "ru"
    return "en" if SCHEMES.get(scheme) is None or SCHEMES[scheme].language == "en" or title.isascii() else "ru"


class Similar:
    def __init__(self) -> None:
        self._facts: dict[ItemKey, tuple[str, frozenset, tuple[str, ...], str]] = {}  # head, words, targets, title
        self._by_head: dict[tuple[str, str], set[ItemKey]] = {}
        self._by_word: dict[tuple[str, str], set[ItemKey]] = {}
        self._df: Counter = Counter()       # (pair, word) -> decided items holding it
        self._n: Counter = Counter()        # pair -> decided items
        self._ready: set[str] = set()       # pairs indexed
        self._waiting: dict[str, dict[ItemKey, Entry]] = {}   # decided items of pairs not indexed yet

    @staticmethod
    def facts(key: ItemKey, title: str) -> tuple[Optional[str], frozenset]:
        lang = _lang(key.source_scheme, title)
        head = head_noun(title, lang) if title else None
        return head, frozenset(tokens(title, lang)) if title else frozenset()

    def watch(self, old: Optional[Entry], new: Optional[Entry]) -> None:
        """ItemCache watcher: index decided items, drop reopened ones."""
        key = (old or new).key
        p = pair_of(key)
        if p not in self._ready:
            waiting = self._waiting.setdefault(p, {})
            waiting.pop(key, None)
            if new is not None and new.item.status != "open":
                waiting[key] = new
            return
        self._index(key, new)

    def _index(self, key: ItemKey, new: Optional[Entry]) -> None:
        if key in self._facts:
            head, words, _, _ = self._facts.pop(key)
            p = pair_of(key)
            self._by_head.get((p, head), set()).discard(key)
            for w in words:
                self._by_word.get((p, w), set()).discard(key)
                self._df[(p, w)] -= 1
            self._n[p] -= 1
        if new is None or new.item.status == "open":
            return
        head, words = self.facts(key, new.title)
        p = pair_of(key)
        targets = new.targets or (NO_MATCH,)
        self._facts[key] = (head or "", words, targets, new.title)
        if head:
            self._by_head.setdefault((p, head), set()).add(key)
        for w in words:
            self._by_word.setdefault((p, w), set()).add(key)
            self._df[(p, w)] += 1
        self._n[p] += 1

    def of(self, key: ItemKey, title: str, titles: dict[str, str], *, limit: int = 5) -> dict:
        """{head, by_head: [{target, title, n, examples}], nearest: [{code, title, targets, shared}]}
        over the decided items of the item's pair other than itself; ``titles``: target titles."""
        p = pair_of(key)
        if p not in self._ready:
            self._ready.add(p)
            for k, e in sorted(self._waiting.pop(p, {}).items()):
                self._index(k, e)
        head, words = self.facts(key, title)
        same = sorted(k for k in self._by_head.get((p, head or ""), ()) if k != key) if head else []
        votes: Counter = Counter()
        examples: dict[str, list[str]] = {}
        for k in same:
            _, _, targets, t = self._facts[k]
            for tg in targets:
                votes[tg] += 1
                examples.setdefault(tg, []).append(t)
        by_head = [{"target": tg, "title": "" if tg == NO_MATCH else titles.get(tg, ""), "n": n,
                    "examples": examples[tg][:3]}
                   for tg, n in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))][:limit]
        n_docs = self._n[p] or 1
        score: Counter = Counter()
        shared: dict[ItemKey, list[str]] = {}
        for w in words:
            ks = self._by_word.get((p, w), ())
            if not ks:
                continue
            idf = math.log((1 + n_docs) / (1 + self._df[(p, w)])) + 1
            for k in ks:
                if k != key:
                    score[k] += idf
                    shared.setdefault(k, []).append(w)
        near = sorted(score, key=lambda k: (-score[k], k))[:limit]
        nearest = [{"code": k.source_code, "title": self._facts[k][3],
                    "targets": [{"code": tg, "title": "" if tg == NO_MATCH else titles.get(tg, "")}
                                for tg in self._facts[k][2]],
                    "shared": sorted(shared[k])} for k in near]
        return {"head": head or "", "same_head": len(same), "by_head": by_head, "nearest": nearest}


__all__ = ["NO_MATCH", "Similar"]
