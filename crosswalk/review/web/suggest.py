"""Codes for what a reviewer types: by code prefix, and by words — each typed word matches a
word of a label by lemma («учета» finds «учетом»), or as the beginning of the word or of its
lemma («кладовщ» finds «Кладовщик») — over every label a code has, in either language:

* its title (the store's catalogue, the links' titles, the loaded classification);
* the texts the loaded classification carries (examples, included occupations, tasks, notes:
  each line a label) and those of the classification it is built on (ISCO-08 for OKZ);
* the titles reviewers have confirmed for it (a decided item's source title is a label of the
  code it went to) — fed as decisions are made.

A code is found when one of its labels holds every typed word; codes whose labels hold only
some of the words follow. Ranked by words found, then by the kind of label (title before
examples before definitions), then in code order. Each hit says which label matched.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Iterable, Optional

from ...model import Classification, code_sort_key
from ...normalize import STOP_WORDS, tokens
from .groups import RELATED

# how much a label of each kind says about the code
WEIGHTS = {"title": 4, "decided": 3, "examples": 3, "included": 3, "labels": 3, "related_title": 2,
           "definition": 1, "tasks": 1, "notes": 1}
_OTHER = 2          # any other text attribute
_CYR = re.compile(r"[а-я]+")
_LAT = re.compile(r"[a-z]+")
_STOP = STOP_WORDS["ru"] | STOP_WORDS["en"]
_MIN_PREFIX = 3     # a typed word this short matches whole words and lemmas only
_LINE_SPLIT = re.compile(r"\n|;\s")


def forms(text: str) -> list[tuple[str, str]]:
    """(folded word, lemma) of each word of ``text``: Russian words lemmatised, English ones
    stemmed (crosswalk.normalize), function words of either language dropped."""
    out = []
    for w in tokens(text, "ru", lemmas=False, stop_words=False):
        if w in _STOP:
            continue
        if _CYR.fullmatch(w):
            lem = tokens(w, "ru", stop_words=False)
        elif _LAT.fullmatch(w):
            lem = tokens(w, "en", stop_words=False)
        else:
            lem = [w]
        out.append((w, lem[0] if lem else w))
    return out


@dataclass(frozen=True)
class Label:
    code: str
    text: str
    kind: str

    @property
    def weight(self) -> int:
        return WEIGHTS.get(self.kind, _OTHER)


def _lines(text: str) -> list[str]:
    out = []
    for line in _LINE_SPLIT.split(text or ""):
        line = line.strip().lstrip("-•–").strip()
        if line and not line.endswith(":"):      # «Examples of the occupations classified here:»
            out.append(line)
    return out


def labels_of(scheme: str, titles: dict[str, str], classes: dict[str, Classification]) -> list[Label]:
    """Every label the store and the loaded classifications give the codes of ``scheme``."""
    out: list[Label] = []
    c = classes.get(scheme)
    rel = classes.get(RELATED.get(scheme, ""))
    codes = dict(titles)
    if c is not None:
        for it in c:
            codes.setdefault(it.code, it.title)
    for code, title in codes.items():
        if title:
            out.append(Label(code, title.strip(), "title"))
        for cls, own in ((c, True), (rel, False)):
            if cls is None or code not in cls:
                continue
            it = cls.get(code)
            if not own:
                out.append(Label(code, it.title.strip(), "related_title"))
            elif it.title.strip() != (title or "").strip():
                out.append(Label(code, it.title.strip(), "title"))
            if it.notes:
                out.append(Label(code, it.notes.strip(), "definition"))
            for name, v in sorted(it.attrs.items()):
                if name in ("kch", "part", "section", "okz93") or not v:
                    continue
                vals = v if isinstance(v, (list, tuple)) else [v]
                for line in (ln for x in vals for ln in _lines(str(x))):
                    out.append(Label(code, line, name))
    return out


class SuggestIndex:
    """Labels of one scheme's codes, indexed by word and lemma (see the module docstring)."""

    def __init__(self, scheme: str, labels: Iterable[Label], titles: Optional[dict[str, str]] = None):
        self.scheme = scheme
        self.labels: list[Label] = []
        self.titles: dict[str, str] = dict(titles or {})
        self._post: dict[str, set[int]] = {}      # word or lemma -> label ids
        self._vocab: list[str] = []
        self._decided: dict[tuple[str, str], int] = {}   # (code, title) -> label id
        self._sorted = False
        self.signature: object = None     # of the catalogue it was built from (the app's Model)
        for lab in labels:
            self._add(lab)
            if lab.kind == "title":
                self.titles.setdefault(lab.code, lab.text)
        self._vocab = sorted(self._post)
        self._sorted = True

    def _add(self, lab: Label) -> int:
        i = len(self.labels)
        self.labels.append(lab)
        for w, lem in forms(lab.text):
            for t in {w, lem}:
                if t not in self._post and self._sorted:
                    bisect.insort(self._vocab, t)
                self._post.setdefault(t, set()).add(i)
        return i

    def add_title(self, code: str, title: str) -> None:
        """A code first named by a new link: found by its title."""
        if code not in self.titles and title:
            self.titles[code] = title
            self._add(Label(code, title.strip(), "title"))

    # reviewers' decisions are labels too: a decided item's title names the code it went to
    def add_decided(self, code: str, title: str) -> None:
        if title and (code, title) not in self._decided:
            self._decided[(code, title)] = self._add(Label(code, title.strip(), "decided"))

    def remove_decided(self, code: str, title: str) -> None:
        i = self._decided.pop((code, title), None)
        if i is not None:
            for ids in self._post.values():
                ids.discard(i)

    def _matching(self, word: str, lemma: str) -> set[int]:
        """Labels holding a word that is ``word`` or its lemma, or begins with ``word``."""
        hit: set[int] = set()
        for t in {word, lemma}:
            hit |= self._post.get(t, set())
        if len(word) >= _MIN_PREFIX:
            lo = bisect.bisect_left(self._vocab, word)
            for t in self._vocab[lo:]:
                if not t.startswith(word):
                    break
                hit |= self._post[t]
        return hit

    def search(self, q: str, *, limit: int = 30, all_words: bool = False) -> dict:
        """{items: [{code, title, label, kind, words}], total}: codes whose code begins with
        ``q``, then codes by words (module docstring); ``all_words``: only labels holding
        every typed word."""
        q = q.strip()
        # code -> (words found, label weight, -label length, label, kind)
        found: dict[str, tuple] = {}
        key = q.casefold()
        if key and " " not in key:
            for code in self.titles:
                if code.casefold().startswith(key):
                    found[code] = (1 << 20, 10, 0, "", "code")
        words = forms(q)
        n = len(words)
        if n:
            count: dict[int, int] = {}
            for w, lem in dict.fromkeys(words):
                for i in self._matching(w, lem):
                    count[i] = count.get(i, 0) + 1
            for i, k in count.items():
                if all_words and k < n:
                    continue
                lab = self.labels[i]
                rank = (k, lab.weight, -len(lab.text))
                if lab.code not in found or rank > found[lab.code][:3]:
                    found[lab.code] = (*rank, lab.text, lab.kind)
        elif not key:
            found = {c: (0, 0, 0, "", "") for c in self.titles}
        order = sorted(found, key=lambda c: (tuple(-x for x in found[c][:3]), code_sort_key(c)))
        items = [{"code": c, "title": self.titles.get(c, "").strip(), "label": found[c][3], "kind": found[c][4],
                  "words": min(found[c][0], n) if found[c][4] != "code" else n}
                 for c in order[:limit]]
        return {"scheme": self.scheme, "items": items, "total": len(found), "words": n}


__all__ = ["Label", "SuggestIndex", "WEIGHTS", "forms", "labels_of"]
