"""What the two summary pages share — the review summary `crosswalk report` writes and the app's
summary page: the HTML page around their bodies and the table of second-review agreement."""
from __future__ import annotations

import html
from typing import Callable, Iterable, Optional


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def page(lang: str, title: str, css: str, body: Iterable[str]) -> str:
    """A whole HTML page: ``body`` (HTML pieces) under a title, styled by ``css``."""
    return (f'<!DOCTYPE html>\n<html lang="{_e(lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{title}</title><style>{css}</style></head><body>{"".join(body)}</body></html>\n')


def agreement_table(rows: Iterable[tuple[str, dict]], t: dict, kappa: Callable[[float], str], *,
                    left: Optional[str] = None) -> str:
    """The agreement of first and second reviews per scheme pair: ``rows`` of (pair name, its
    figures: n, agree, disagree, open, kappa, reviewers); ``t`` the page's words; ``kappa`` how a
    kappa is written; ``left`` a class for the columns of text (the app aligns them left)."""
    cls = f' class="{left}"' if left else ""
    out = [f'<table id="agreement"><tr><th{cls}>{t["pair"]}</th><th>{t["n"]}</th><th>{t["agree"]}</th>'
           f'<th>{t["disagree"]}</th><th>{t["settle"]}</th><th>{t["kappa"]}</th><th{cls}>{t["reviewers"]}</th></tr>']
    for name, a in rows:
        k = t["na"] if a["kappa"] is None else kappa(a["kappa"])
        out.append(f'<tr><td{cls}>{_e(name)}</td><td>{a["n"]}</td><td>{a["agree"]}</td>'
                   f'<td>{a["disagree"]}</td><td>{a["open"]}</td><td class="kappa">{k}</td>'
                   f'<td{cls}>{_e(", ".join(a["reviewers"]))}</td></tr>')
    out.append("</table>")
    return "".join(out)


__all__ = ["agreement_table", "page"]
