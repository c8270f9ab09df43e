"""The top levels of each scheme, for filters and summaries that stay small whatever the
number of codes: an OKPDTR code's range (1xxxx worker professions, 2xxxx employee positions,
the portal's 3xxxx/4xxxx), an occupation's major and sub-major group (OKZ, ISCO), an
activity's section (OKVED2, NACE, ISIC: from the loaded classification, else from the
division by the standard's fixed division ranges, crosswalk.loaders.sections). Free-text titles form one group, "text".
"""
from __future__ import annotations

from typing import Optional

from ...loaders.sections import section_of
from ...model import Classification, code_sort_key

OCCUPATIONS = ("okz2014", "isco08", "isco88")
ACTIVITIES = ("okved2", "nace2", "isic4")
# related classifications built on the same codes: their texts describe ours where ours has none
RELATED = {"okz2014": "isco08", "okved2": "nace2"}


def section(scheme: str, code: str, classes: Optional[dict[str, Classification]] = None) -> str:
    """The top group of a code (see the module docstring): never the code itself, so a
    flat classification of 8,000 codes still has a handful of groups."""
    if scheme == "text":
        return "text"
    if scheme == "okpdtr":
        return code[:1]
    if scheme in OCCUPATIONS:
        return code[:1]
    if scheme in ACTIVITIES:
        c = (classes or {}).get(scheme)
        if c is not None and code in c:
            anc = c.ancestors(code)
            return anc[-1].code if anc else code
        if code[:1].isalpha():
            return code[:1]
        return section_of(code) or code[:2]
    return code[:1]


def target_groups(scheme: str, code: str, classes: Optional[dict[str, Classification]] = None) -> tuple[str, ...]:
    """The groups a target filter can name for ``code``: major and sub-major group of an
    occupation (``8``, ``81``), the section of an activity, the top group otherwise."""
    if scheme in OCCUPATIONS:
        return tuple(dict.fromkeys(g for g in (code[:1], code[:2]) if g))
    return (section(scheme, code, classes),)


def group_label(scheme: str, group: str, classes: Optional[dict[str, Classification]] = None) -> str:
    """The group's title as the loaded data give it ('' when they do not: the page then
    names it by code, or by its own Russian/English label for OKPDTR ranges and OKZ/ISCO
    major groups)."""
    classes = classes or {}
    for s in (scheme, RELATED.get(scheme)):
        c = classes.get(s) if s else None
        if c is not None and group in c:
            return c.get(group).title.strip()
    return ""


def group_options(scheme: str, counts: dict[str, int],
                  classes: Optional[dict[str, Classification]] = None) -> list[dict]:
    """Filter options for the groups of ``scheme`` that hold items: [{value, label, n, level}],
    in code order (a sub-major group right after its major group)."""
    out = []
    for g in sorted(counts, key=code_sort_key):
        level = 2 if scheme in OCCUPATIONS and len(g) == 2 else 1
        out.append({"value": g, "label": group_label(scheme, g, classes), "n": counts[g], "level": level})
    return out


__all__ = ["ACTIVITIES", "OCCUPATIONS", "RELATED", "group_label", "group_options", "section", "target_groups"]
