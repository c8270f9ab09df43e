"""The names reviewers read, as the review workbook and the HTML report write them
(crosswalk.review.labels), for the page: a small script that lays them over i18n.js, so the
browser says «тот же код», «многие к одному», «открыта» exactly as the workbook does."""
from __future__ import annotations

import json

from .. import labels as L


def table(lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    out.update({f"sig.{s}": L.signal_name(s, lang) for s in L.SIGNALS_RU})
    out.update({f"rel.{k}": L.relation_name(k, lang) for k in L.RELATIONS})
    out.update({f"st.{k}": L.status_name(k, lang) for k in L.STATUSES})
    out.update({f"st.{k}": L.item_status_name(k, lang) for k in L.ITEM_STATUSES})
    out.update({f"role.{k}": L.role_name(k, lang=lang) for k in L.ROLES})
    out.update({f"orole.{k}": L.role_name("", k, lang) for k in L.ORIGIN_ROLES})
    out.update({f"scheme.{k}": L.scheme_name(k, lang) for k in L.SCHEME_NAMES})
    out.update({f"choice.{c}": L.decision_label(d, lang) for c, d in (
        ("accept", "accept"), ("pick", "other_code"), ("split", "split"), ("no_match", "no_match"),
        ("reopen", "reopen"))})
    return out


def script() -> bytes:
    names = {lang: table(lang) for lang in L.LANGS}
    return ("// generated from crosswalk/review/labels.py: the names the workbook and the report use\n"
            f"(function () {{ const N = {json.dumps(names, ensure_ascii=False, sort_keys=True)};\n"
            "  Object.keys(N).forEach((lang) => Object.assign(window.I18N[lang], N[lang])); })();\n").encode("utf-8")


__all__ = ["script", "table"]
