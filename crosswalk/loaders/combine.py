"""Two files of one classification and edition that complement each other, read as one.

OKZ-2014 comes as two PDF extracts: the examples extract (436 ISCO-08 unit groups with
Russian titles and «примеры занятий») and the label scrape, which alone holds the ten
national unit groups (1325, 1432, 2121, 2122, 2357, 2358, 2414, 2425, 2613, 3439). Loaded
from one folder they combine, whichever of them is the base (the file a build prefers):
each code only the other file has is added from it (with its title, notes and attributes)
where its parent is in the base or it has none, and a code both hold keeps the base's item
with the attributes only the other has added (the examples). Different editions never mix
(OKVED2 2016 and 2023 stay two classifications).
"""
from __future__ import annotations

from dataclasses import replace

from ..model import Classification, code_sort_key


def combine(base: Classification, other: Classification) -> tuple[Classification, list[str]]:
    """``base`` with the items only ``other`` holds and, on shared codes, the attributes only
    ``other`` has; and the codes added."""
    if base.scheme.id != other.scheme.id or base.edition != other.edition:
        return base, []
    added = [it for it in other if it.code not in base and (it.parent is None or it.parent in base)]
    items, enriched = [], 0
    for it in base:
        extra = {k: v for k, v in other.get(it.code).attrs.items() if v and not it.attrs.get(k)} \
            if it.code in other else {}
        if extra:
            it = replace(it, attrs={**it.attrs, **extra})
            enriched += 1
        items.append(it)
    if not added and not enriched:
        return base, []
    src = base.source + " + " + other.source if other.source else base.source
    merged = Classification(base.scheme, items + added, edition=base.edition, language=base.language, source=src)
    return merged, sorted((it.code for it in added), key=code_sort_key)
