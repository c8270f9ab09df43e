"""The review summary: items decided per scheme pair, score distribution, coverage by
section, cardinality counts, reviewer progress over time and agreement between reviewers —
Russian first, English on request, dates in local time.

Charts are inline SVG made here (no JavaScript, nothing fetched), so the same HTML is the
review app's summary page and, written by `crosswalk report`, one self-contained file
for people who never open the app; :func:`summary_lines` is what the command prints.
"""
from __future__ import annotations

import html
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from .model import Classification
from .review.kappa import ReviewIndex, second_verdict
from .review.labels import DEFAULT_LANG, LANGS, local_date, number, relation_name, scheme_name
from .review.pages import agreement_table, page
from .review.store import ReviewStore
from .review.web.data import section
from .review.workbook import link_groups
from .safety import atomic_write_bytes

BINS = 10
KINDS = ("1:1", "1:n", "n:1", "n:m")
_DECISIONS = ("confirm", "reject", "retarget", "add", "auto_accept", "no_match", "reopen")
_COLORS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b7791f", "#c53030", "#319795", "#4a5568")
STATUS_COLORS = {"confirmed": "#2f855a", "pending": "#a0aec0", "rejected": "#c53030"}

ITEM_STATUSES = ("decided", "no_match", "open")
TEXT = {
    "en": {"title": "Review summary", "store": "Store", "last_event": "last event", "generated": "generated",
           "links": "links", "pending": "pending", "confirmed": "confirmed", "rejected": "rejected",
           "items": "Items (one decision per source item)", "n_items": "items", "decided": "decided",
           "no_match": "no correspondence", "open": "to decide",
           "scores": "Score distribution",
           "coverage": "Coverage by section (source items decided: a confirmed link or no correspondence)",
           "cardinality": "Cardinality (groups of current links)", "progress": "Reviewer progress (decisions over time)",
           "agreement": "Agreement between first and second reviewers", "pair": "Scheme pair",
           "n": "links reviewed twice", "agree": "agree", "disagree": "disagree",
           "kappa": "Cohen's kappa", "reviewers": "reviewers", "none": "No data yet.", "score": "score",
           "back": "Back to review", "na": "n/a", "settle": "to settle"},
    "ru": {"title": "Сводка проверки", "store": "Хранилище", "last_event": "последнее событие",
           "generated": "создано", "links": "связей", "pending": "ожидают", "confirmed": "подтверждено",
           "rejected": "отклонено", "items": "Позиции (одно решение на позицию источника)", "n_items": "позиций",
           "decided": "решено", "no_match": "нет соответствия", "open": "ждут решения",
           "scores": "Распределение оценок",
           "coverage": "Покрытие по разделам (решённые позиции источника: подтверждённая связь или нет"
                       " соответствия)",
           "cardinality": "Кратность (группы текущих связей)", "progress": "Ход проверки (решения по времени)",
           "agreement": "Согласие первого и второго проверяющих", "pair": "Пара классификаций",
           "n": "проверено дважды", "agree": "согласны", "disagree": "расходятся",
           "kappa": "каппа Коэна", "reviewers": "проверяющие", "none": "Данных пока нет.", "score": "оценка",
           "back": "К проверке", "na": "н/д", "settle": "разрешить"},
}


def summary_data(store: ReviewStore, classifications: Optional[dict[str, Classification]] = None) -> dict:
    """Everything the summary shows, as plain data (sorted, deterministic)."""
    classes = classifications or {}
    links = store.links()
    events = store.events(exclude=("propose",))     # proposals are no decisions: never read
    index = ReviewIndex()
    index.feed(events)
    groups = link_groups(links)
    pairs: dict[tuple[str, str], dict] = {}
    for s in links:
        pair = (s.key.source_scheme, s.key.target_scheme)
        p = pairs.setdefault(pair, {"counts": Counter(), "bins": [Counter() for _ in range(BINS)],
                                    "kinds": Counter(), "sections": {}, "sources": set(), "decided": set()})
        p["counts"][s.status] += 1
        p["sources"].add(s.key.source_code)
        if s.score is not None:
            p["bins"][min(int(s.score * BINS), BINS - 1)][s.status] += 1
        kind = groups.get(s.key, (0, ""))[1]
        if kind in KINDS:
            p["kinds"][kind] += 1
        sec = section(s.key.source_scheme, s.key.source_code, classes)
        p["sections"].setdefault(sec, set()).add(s.key.source_code)
        if s.status == "confirmed":
            p["decided"].add(s.key.source_code)
    out_pairs = []
    for pair in sorted(pairs):
        p = pairs[pair]
        # an item decided as having no correspondence counts as decided, never as open
        no_match = store.no_match_items(*pair) & p["sources"]
        done = p["decided"] | no_match
        out_pairs.append({
            "pair": list(pair), "counts": {k: p["counts"][k] for k in STATUS_COLORS},
            "items": {"decided": len(p["decided"] - no_match), "no_match": len(no_match),
                      "open": len(p["sources"] - done)},
            "bins": [{k: b[k] for k in STATUS_COLORS} for b in p["bins"]],
            "cardinality": {k: p["kinds"][k] for k in KINDS},
            "coverage": [{"section": sec, "sources": len(codes), "covered": len(codes & done)}
                         for sec, codes in sorted(p["sections"].items())],
        })
    progress: dict[str, list[str]] = {}
    seen_items: set[tuple] = set()
    for e in events:
        if e.payload.get("settled"):      # the other candidates an item decision settled: not decisions
            continue
        if "item_decision" in e.payload:  # one item decision, however many links it touched
            item = e.item or (e.key.source_scheme, e.key.source_code, e.key.target_scheme)
            if (e.reviewer, e.ts, item) in seen_items:
                continue
            seen_items.add((e.reviewer, e.ts, item))
        human = e.action in _DECISIONS and not (e.action == "retarget" and e.payload.get("role") == "new")
        second = second_verdict(e) is not None
        if human or second:
            progress.setdefault(e.reviewer, []).append(e.ts)
    last, checksum = store.snapshot()
    return {"store": str(store.path), "last_event": last, "checksum": checksum, "pairs": out_pairs,
            "progress": {r: ts for r, ts in sorted(progress.items())},
            "agreement": [{"pair": list(k), **v} for k, v in index.agreement().items()]}


# -- SVG ------------------------------------------------------------------------
def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _histogram(bins: list[dict], label: str, names: dict) -> str:
    w, h, pad = 360, 150, 24
    top = max((sum(b.values()) for b in bins), default=0) or 1
    bw = (w - pad) / len(bins)
    parts = [f'<svg class="chart" viewBox="0 0 {w} {h + 30}" width="{w}" height="{h + 30}" role="img"'
             f' aria-label="{_e(label)}">']
    for i, b in enumerate(bins):
        y = h
        for st, color in STATUS_COLORS.items():
            bh = b[st] / top * (h - 10)
            if bh:
                y -= bh
                parts.append(f'<rect x="{pad + i * bw + 1:.1f}" y="{y:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}"'
                             f' fill="{color}"><title>{i / BINS:.1f}–{(i + 1) / BINS:.1f} {_e(names[st])}: {b[st]}'
                             '</title></rect>')
        parts.append(f'<text x="{pad + i * bw + bw / 2:.1f}" y="{h + 14}" font-size="9" text-anchor="middle">'
                     f'{i / BINS:.1f}</text>')
    parts.append(f'<text x="2" y="12" font-size="10">{top}</text>'
                 f'<line x1="{pad}" y1="{h}" x2="{w}" y2="{h}" stroke="#555"/>'
                 f'<text x="{w / 2}" y="{h + 28}" font-size="10" text-anchor="middle">{_e(label)}</text></svg>')
    return "".join(parts)


def _hbars(rows: list[tuple[str, float, str]], *, share: bool, lw: int = 70) -> str:
    """Horizontal bars: (label, value, tooltip); ``share``: values in [0, 1]; ``lw``: label width."""
    w, rh = 290 + lw, 16
    top = 1.0 if share else (max((v for _, v, _ in rows), default=0) or 1)
    h = rh * len(rows) + 4
    parts = [f'<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img">']
    for i, (label, v, tip) in enumerate(rows):
        y = i * rh + 2
        bw = v / top * (w - lw - 50)
        text = f"{v:.0%}" if share else f"{v:g}"
        parts.append(f'<text x="{lw - 4}" y="{y + 11}" font-size="10" text-anchor="end">{_e(label)}</text>'
                     f'<rect x="{lw}" y="{y}" width="{bw:.1f}" height="{rh - 3}" fill="{_COLORS[0]}">'
                     f'<title>{_e(tip)}</title></rect>'
                     f'<text x="{lw + bw + 4:.1f}" y="{y + 11}" font-size="10">{text}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _progress(progress: dict[str, list[str]], lang: str) -> str:
    w, h, pad = 560, 180, 30
    stamps = [datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() for ts in progress.values() for t in ts]
    t0, t1 = min(stamps), max(stamps)
    span = (t1 - t0) or 1.0
    top = max(len(ts) for ts in progress.values())
    parts = [f'<svg class="chart" viewBox="0 0 {w} {h + 40}" width="{w}" height="{h + 40}" role="img">',
             f'<line x1="{pad}" y1="{h}" x2="{w - 10}" y2="{h}" stroke="#555"/>'
             f'<line x1="{pad}" y1="10" x2="{pad}" y2="{h}" stroke="#555"/>'
             f'<text x="2" y="14" font-size="10">{top}</text>']
    for i, (who, ts) in enumerate(progress.items()):
        color = _COLORS[i % len(_COLORS)]
        pts = []
        for n, t in enumerate(sorted(ts), start=1):
            x = pad + (datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() - t0) / span * (w - pad - 20)
            y = h - n / top * (h - 20)
            pts.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="{color}" stroke-width="2"/>')
        last = pts[-1].split(",")
        parts.append(f'<circle cx="{last[0]}" cy="{last[1]}" r="3" fill="{color}"/>'
                     f'<text x="{pad + 10 + i * 110}" y="{h + 34}" font-size="11" fill="{color}">'
                     f'■ {_e(who)} ({len(ts)})</text>')
    first, last_ = (local_date(datetime.fromtimestamp(x, timezone.utc).isoformat(), lang) for x in (t0, t1))
    parts.append(f'<text x="{pad}" y="{h + 14}" font-size="9">{first}</text>'
                 f'<text x="{w - 10}" y="{h + 14}" font-size="9" text-anchor="end">{last_}</text></svg>')
    return "".join(parts)


# -- HTML -----------------------------------------------------------------------
CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1a202c}h1{font-size:1.5em}
h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #cbd5e0}section.pair{display:inline-block;
vertical-align:top;margin:0 1.5em 1em 0}table{border-collapse:collapse}td,th{border:1px solid #cbd5e0;
padding:3px 8px;text-align:right}th{background:#edf2f7}td:first-child,th:first-child{text-align:left}.legend span{margin-right:1em}
.muted{color:#718096}"""


def pair_name(pair, lang: str = DEFAULT_LANG) -> str:
    return " → ".join(scheme_name(s, lang) for s in pair)


def render_html(data: dict, lang: str = DEFAULT_LANG, *, back: Optional[str] = None) -> str:
    lang = lang if lang in LANGS else DEFAULT_LANG
    t = TEXT[lang]

    def name(pair) -> str:
        return pair_name(pair, lang)

    body = [f'<h1>{t["title"]}</h1>',
            f'<p class="muted">{t["store"]}: {_e(Path(data["store"]).name)}; {t["last_event"]} {data["last_event"]}'
            f' (sha256 {data["checksum"][:12]})</p>']
    if back:
        body.append(f'<p><a id="back" href="{_e(back)}">← {t["back"]}</a></p>')
    body.append(f'<h2>{t["items"]}</h2><table id="items"><tr><th>{t["pair"]}</th><th>{t["n_items"]}</th>'
                + "".join(f'<th>{t[k]}</th>' for k in ITEM_STATUSES) + "</tr>")
    for p in data["pairs"]:
        it = p["items"]
        body.append(f'<tr><td>{_e(name(p["pair"]))}</td><td>{sum(it.values())}</td>'
                    + "".join(f'<td class="{k}">{it[k]}</td>' for k in ITEM_STATUSES) + "</tr>")
    body.append("</table>")
    legend = '<p class="legend">' + "".join(f'<span style="color:{c}">■ {t[s]}</span>'
                                            for s, c in STATUS_COLORS.items()) + "</p>"
    body.append(f'<h2>{t["scores"]}</h2>{legend}')
    for p in data["pairs"]:
        c = p["counts"]
        body.append(f'<section class="pair"><h3>{_e(name(p["pair"]))}</h3><p>{t["links"]} {sum(c.values())} —'
                    f' {t["confirmed"]} {c["confirmed"]}, {t["pending"]} {c["pending"]}, {t["rejected"]}'
                    f' {c["rejected"]}</p>{_histogram(p["bins"], t["score"], t)}</section>')
    body.append(f'<h2>{t["coverage"]}</h2>')
    for p in data["pairs"]:
        rows = [(r["section"], r["covered"] / r["sources"] if r["sources"] else 0.0,
                 f'{r["covered"]}/{r["sources"]}') for r in p["coverage"]]
        body.append(f'<section class="pair"><h3>{_e(name(p["pair"]))}</h3>{_hbars(rows, share=True)}</section>')
    body.append(f'<h2>{t["cardinality"]}</h2>')
    for p in data["pairs"]:
        rows = [(relation_name(k, lang), v, f"{relation_name(k, lang)}: {v}") for k, v in p["cardinality"].items()]
        body.append(f'<section class="pair"><h3>{_e(name(p["pair"]))}</h3>'
                    f'{_hbars(rows, share=False, lw=110 if lang == "ru" else 70)}</section>')
    body.append(f'<h2>{t["progress"]}</h2>')
    body.append(_progress(data["progress"], lang) if data["progress"] else f'<p>{t["none"]}</p>')
    body.append(f'<h2>{t["agreement"]}</h2>')
    if data["agreement"]:
        body.append(agreement_table(((name(a["pair"]), a) for a in data["agreement"]), t,
                                    lambda k: number(k, lang, 3)))
    else:
        body.append(f'<p>{t["none"]}</p>')
    return page(lang, t["title"], CSS, body)


def summary_lines(data: dict, lang: str = DEFAULT_LANG) -> list[str]:
    """What `crosswalk report` prints: per scheme pair, items decided and links by status."""
    t = TEXT[lang if lang in LANGS else DEFAULT_LANG]
    out = []
    for p in data["pairs"]:
        it, c = p["items"], p["counts"]
        out.append(f'{pair_name(p["pair"], lang)}: {t["n_items"]} {sum(it.values())} — {t["decided"]} {it["decided"]},'
                   f' {t["no_match"]} {it["no_match"]}, {t["open"]} {it["open"]}; {t["links"]} {sum(c.values())} —'
                   f' {t["confirmed"]} {c["confirmed"]}, {t["pending"]} {c["pending"]}, {t["rejected"]} {c["rejected"]}')
    if not out:
        out.append(t["none"])
    return out


def make_report(store: ReviewStore, path: str | Path, *, lang: str = DEFAULT_LANG,
                classifications: Optional[dict[str, Classification]] = None) -> tuple[Path, dict]:
    """Write the summary as one self-contained HTML file (atomically); return it and its data."""
    data = summary_data(store, classifications)
    return atomic_write_bytes(path, render_html(data, lang).encode("utf-8")), data


def write_report(store: ReviewStore, path: str | Path, *, lang: str = DEFAULT_LANG,
                 classifications: Optional[dict[str, Classification]] = None) -> Path:
    """Write the summary as one self-contained HTML file (atomically)."""
    return make_report(store, path, lang=lang, classifications=classifications)[0]


__all__ = ["TEXT", "make_report", "pair_name", "render_html", "summary_data", "summary_lines", "write_report"]
