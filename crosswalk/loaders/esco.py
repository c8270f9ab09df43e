"""ESCO occupations (``occupations_en.csv`` of an ESCO bundle) as a coding index: every
occupation's preferred and alternative labels under its ISCO-08 unit group
(``esco:occupations-csv``; ../shared/classifiers/PROVENANCE.md §10).

ESCO is not a classification of its own here: it is what it is, thousands of
occupation names each coded to an ISCO-08 unit group. Entries of one occupation share
its ``conceptUri`` as their group (a held-out split keeps occupations whole).
Repairs, each reported: no-break, zero-width and soft-hyphen characters and the
double-encoded ’ and no-break space («â\\x80\\x99», «Â ») in labels; ``hiddenLabels``
(misspellings kept for search engines) are counted, not loaded.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from ..errors import LoadError, Report
from ..index import CodingIndex, IndexEntry
from ..io import read_csv
from .base import LoadResult

FORMATS = {"esco:occupations-csv": "ESCO occupations (occupations_<lang>.csv of an ESCO bundle): labels of"
                                   " each occupation under its ISCO-08 unit group, read as a coding index"}
_REQUIRED = ("conceptUri", "iscoGroup", "preferredLabel", "altLabels")
_MOJIBAKE = (("â\x80\x99", "’"), ("Â\xa0", " "), ("\xc2\xa0", " "))
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\xad]")


def _clean(text: str) -> str:
    for bad, good in _MOJIBAKE:
        text = text.replace(bad, good)
    text = _INVISIBLE.sub("", text).replace("\xa0", " ")
    return " ".join(text.split())


def load(path, format: Optional[str] = None, *, strict: bool = False) -> LoadResult:
    path = Path(path)
    report = Report(file=str(path), scheme="isco08")
    table = read_csv(path, report)
    if not table.rows:
        report.error("empty", "the file holds no rows")
        raise LoadError(f"{path}: empty ESCO file", report)
    header = [str(v).strip() if v is not None else "" for v in table.rows[0].values]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        report.error("header", f"no column(s) {', '.join(missing)} in the header; an ESCO occupations file"
                     f" has {', '.join(_REQUIRED)}", row=table.rows[0].number)
        raise LoadError(f"{path}: not an ESCO occupations file (missing {', '.join(missing)})", report)
    col = {c: header.index(c) for c in header if c}
    lang = re.search(r"_([a-z]{2})\.csv$", path.name)
    language = lang.group(1) if lang else "en"
    entries: list[IndexEntry] = []
    repaired = hidden = 0
    seen_uri: dict[str, int] = {}
    for r in table.rows[1:]:
        report.rows_read += 1
        get = (lambda name: r.get(col[name]) if name in col else None)
        uri, group, pref = (str(get(c) or "").strip() for c in ("conceptUri", "iscoGroup", "preferredLabel"))
        where = dict(row=r.number)
        if not re.fullmatch(r"\d{4}", group):
            report.error("code_format", f"iscoGroup {group!r} is not a 4-digit ISCO-08 unit group; occupation"
                         " rejected", column="iscoGroup", value=group, **where)
            report.rows_rejected += 1
            continue
        if not uri or not pref:
            report.error("empty_title", "no conceptUri or preferredLabel; occupation rejected",
                         column="preferredLabel" if uri else "conceptUri", value=pref or uri, **where)
            report.rows_rejected += 1
            continue
        if uri in seen_uri:
            report.error("duplicate_code", f"conceptUri repeats row {seen_uri[uri]}; occupation rejected",
                         column="conceptUri", value=uri, **where)
            report.rows_rejected += 1
            continue
        seen_uri[uri] = r.number
        labels = [pref] + [x for x in str(get("altLabels") or "").split("\n") if x.strip()]
        for k, raw in enumerate(labels):
            t = _clean(raw)
            if _INVISIBLE.search(raw) or "\xa0" in raw or any(bad in raw for bad, _ in _MOJIBAKE):
                repaired += 1
            entries.append(IndexEntry(t, group, "esco", language, group=uri, primary=k == 0))
        hidden += len([x for x in str(get("hiddenLabels") or "").split("\n") if x.strip()])
        report.rows_loaded += 1
    if repaired:
        report.warning("invisible_characters", f"{repaired} label(s) held no-break, zero-width or soft-hyphen"
                       " characters or a double-encoded ’ / no-break space; read with plain spaces and letters",
                       value=str(repaired))
    if hidden:
        report.info("hidden_labels", f"{hidden} hidden label(s) (misspellings for search engines) not loaded",
                    value=str(hidden))
    index = CodingIndex("isco08", entries, name=f"ESCO ({path.name})")
    report.info("labels", f"{len(index)} distinct labels of {report.rows_loaded} occupations under"
                f" {len(index.codes())} ISCO-08 unit groups", value=str(len(index)))
    return LoadResult(str(path), index, report, kind="index")


def sniff(path: Path, head: str) -> Optional[str]:
    first = head.split("\n", 1)[0] if head else ""
    return "esco:occupations-csv" if all(c in first for c in _REQUIRED) and "conceptType" in first else None
