"""What a reviewer reads beside a code: its title, definition and whatever texts the loaded
classification carries (tasks, included occupations, examples, labels — any text attribute,
so a loader that adds one shows up without a change here), its place in the hierarchy, and
the same code in the classification ours is built on (OKZ-2014 → ISCO-08, OKVED2 → NACE
Rev.2) when ours has no texts of its own.

Long texts are sent whole; the page shows the first lines and expands on a click.
"""
from __future__ import annotations

from typing import Optional

from ...model import Classification
from .groups import RELATED

# attributes that are codes or bookkeeping, not text to read
_HIDDEN = frozenset({"kch", "part", "section", "okz93"})
_MAX = 4000      # characters of one text sent to the page (an ISCO definition is ~2,000)


def _texts(attrs) -> list[dict]:
    out = []
    for name in sorted(attrs):
        v = attrs[name]
        if name in _HIDDEN or v is None:
            continue
        if isinstance(v, (list, tuple)):
            v = "\n".join(str(x) for x in v)
        v = str(v).strip()
        if v:
            out.append({"name": name, "text": v[:_MAX]})
    return out


def _path(c: Classification, code: str) -> list[dict]:
    return [{"code": a.code, "title": a.title.strip()} for a in reversed(c.ancestors(code))]


class Describer:
    """scheme, code → what the page shows beside it (cached: the classifications are immutable)."""

    def __init__(self, classes: Optional[dict[str, Classification]] = None):
        self.classes = dict(classes or {})
        self._cache: dict[tuple[str, str], dict] = {}

    def _own(self, scheme: str, code: str) -> Optional[dict]:
        c = self.classes.get(scheme)
        if c is None or code not in c:
            return None
        it = c.get(code)
        return {"scheme": scheme, "code": code, "title": it.title.strip(), "definition": it.notes.strip()[:_MAX],
                "texts": _texts(it.attrs), "path": _path(c, code)}

    def describe(self, scheme: str, code: str, title: str = "") -> dict:
        key = (scheme, code)
        got = self._cache.get(key)
        if got is None:
            got = self._own(scheme, code) or {"scheme": scheme, "code": code, "title": "", "definition": "",
                                              "texts": [], "path": []}
            rel = RELATED.get(scheme)
            other = self._own(rel, code) if rel else None
            if other is None and rel and scheme == "okved2":   # a subclass: the NACE class above it
                other = self._own(rel, code[:5]) if len(code) > 5 else None
            if other is not None:
                if not got["path"]:      # the hierarchy of the scheme ours is built on, named as such
                    got["path"], got["path_scheme"] = other["path"], rel
                got["related"] = other
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[key] = got
        out = dict(got)
        if title and not out["title"]:
            out["title"] = title
        return out


__all__ = ["Describer"]
