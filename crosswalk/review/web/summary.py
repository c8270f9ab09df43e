"""The app's summary page, from the app's current model (no reading of the whole store per
request): per scheme pair the items open, decided and decided as having no correspondence;
the same by the top groups of the source scheme and of the targets (a handful of rows per
pair, however many codes — :mod:`.groups`); the top scores of the items still open; the
reviewers' decisions per day; agreement between first and second reviewers (Cohen's kappa).
Russian or English; dates in local time.
"""
from __future__ import annotations

import html
from collections import Counter
from datetime import datetime
from pathlib import Path

from ..labels import local_date, scheme_name
from ..pages import agreement_table, page
from .groups import group_label
from .itemcache import pair_of

BINS = 10
COLORS = {"decided": "#2f855a", "no_match": "#805ad5", "open": "#a0aec0"}

TEXT = {
    "ru": {"title": "Сводка проверки", "store": "Хранилище", "last_event": "последнее событие",
           "generated": "создано", "back": "К проверке", "pairs": "Позиции по парам классификаций",
           "pair": "Пара", "items": "позиций", "open": "ожидают решения", "decided": "решено",
           "no_match": "нет соответствия", "share": "решено, %", "links": "связи: подтверждено / ожидает / отклонено",
           "by_source": "По разделам источника", "by_target": "По группам цели (текущая связь: решение или предложение)",
           "group": "Группа", "scores": "Оценка лучшего кандидата у позиций, ожидающих решения",
           "progress": "Решения проверяющих по дням", "reviewer": "Проверяющий", "day": "День",
           "decisions": "решений", "agreement": "Согласие первого и второго проверяющих",
           "n": "проверено дважды", "agree": "согласны", "disagree": "расходятся", "settle": "разрешить",
           "kappa": "каппа Коэна", "reviewers": "проверяющие", "none": "Данных пока нет.", "na": "н/д",
           "okpdtr:1": "Профессии рабочих (1xxxx)", "okpdtr:2": "Должности служащих (2xxxx)",
           "okpdtr:3": "Коды портала 3xxxx", "okpdtr:4": "Коды портала 4xxxx", "text:text": "Свободный текст"},
    "en": {"title": "Review summary", "store": "Store", "last_event": "last event", "generated": "generated",
           "back": "Back to review", "pairs": "Items by scheme pair", "pair": "Pair", "items": "items",
           "open": "open", "decided": "decided", "no_match": "no correspondence", "share": "decided, %",
           "links": "links: confirmed / pending / rejected", "by_source": "By top group of the source",
           "by_target": "By group of the target (current link: decision or proposal)", "group": "Group",
           "scores": "Top candidate score of the items still open", "progress": "Reviewers' decisions per day",
           "reviewer": "Reviewer", "day": "Day", "decisions": "decisions",
           "agreement": "Agreement between first and second reviewers", "n": "reviewed twice", "agree": "agree",
           "disagree": "disagree", "settle": "to settle", "kappa": "Cohen's kappa", "reviewers": "reviewers",
           "none": "No data yet.", "na": "n/a", "okpdtr:1": "Worker professions (1xxxx)",
           "okpdtr:2": "Employee positions (2xxxx)", "okpdtr:3": "Portal codes 3xxxx", "okpdtr:4": "Portal codes 4xxxx",
           "text:text": "Free text"},
}
# ОК 010-2014 major groups (OKZ is built on ISCO-08, whose English titles the data carry)
OKZ_MAJOR_RU = {"0": "Военнослужащие", "1": "Руководители", "2": "Специалисты высшего уровня квалификации",
                "3": "Специалисты среднего уровня квалификации",
                "4": "Служащие, занятые подготовкой и оформлением документации, учетом и обслуживанием",
                "5": "Работники сферы обслуживания и торговли, охраны граждан и собственности",
                "6": "Квалифицированные работники сельского и лесного хозяйства, рыбоводства и рыболовства",
                "7": "Квалифицированные рабочие промышленности, строительства, транспорта и рабочие родственных занятий",
                "8": "Операторы производственных установок и машин, сборщики и водители",
                "9": "Неквалифицированные рабочие"}

CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1a202c;max-width:1500px}h1{font-size:1.5em}
h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #cbd5e0}h3{font-size:1em;margin:1em 0 .3em}
table{border-collapse:collapse;margin-bottom:.6em}td,th{border:1px solid #cbd5e0;padding:2px 8px;text-align:right}
th{background:#edf2f7}td.l,th.l{text-align:left;max-width:19em}table.groups{font-size:12px;table-layout:fixed;width:560px}
table.groups th{width:4.6em;font-weight:normal}table.groups th.l,table.groups td.l{width:16em}table.groups th:last-child{width:124px}.muted{color:#718096}.bar{display:inline-block;height:9px}
.legend span{margin-right:1em}.row{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
.row h3{margin-top:.4em}"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def pair_name(pair: str, lang: str = "ru") -> str:
    return " → ".join(scheme_name(s, lang) for s in pair.split(":"))


def _bar(counts: dict[str, int], total: int, width: int = 180) -> str:
    out = []
    for st, color in COLORS.items():
        w = round(width * counts.get(st, 0) / total) if total else 0
        if w:
            out.append(f'<span class="bar" style="width:{w}px;background:{color}" title="{st}: {counts[st]}"></span>')
    return "".join(out)


def label_of(scheme: str, group: str, classes, lang: str) -> str:
    t = TEXT[lang]
    if f"{scheme}:{group}" in t:
        return t[f"{scheme}:{group}"]
    if lang == "ru" and scheme in ("okz2014", "isco08", "isco88") and group in OKZ_MAJOR_RU:
        return OKZ_MAJOR_RU[group]
    return group_label(scheme, group, classes)


def summary_data(model) -> dict:
    """What the page shows, as plain data (sorted): from the model's items and review index."""
    pairs: dict[str, dict] = {}
    for e in model.cache.entries.values():
        p = pairs.setdefault(pair_of(e.key), {"items": Counter(), "links": Counter(), "source": {}, "target": {},
                                              "bins": [0] * BINS})
        st = e.item.status
        p["items"][st] += 1
        for s in e.item.links:
            p["links"][s.status] += 1
        p["source"].setdefault(e.group, Counter())[st] += 1
        for g in e.tgroups:
            if len(g) == 1 or not g[:1].isdigit():     # majors and sections: sub-majors would double the table
                p["target"].setdefault(g, Counter())[st] += 1
        if st == "open":
            p["bins"][min(int(max(e.top, 0.0) * BINS), BINS - 1)] += 1
    days: dict[str, Counter] = {}
    for who, stamps in model.progress.items():
        for ts in stamps:
            day = local_date(ts, "en")[:10]
            days.setdefault(who, Counter())[day] += 1
    return {"pairs": pairs, "days": days, "agreement": model.index.agreement(), "last_event": model.index.last_id}


def render(model, lang: str = "ru", *, back: str = "/") -> str:
    lang = lang if lang in TEXT else "en"
    t = TEXT[lang]
    data = summary_data(model)
    classes = model.classes
    now = datetime.now().astimezone().strftime("%d.%m.%Y %H:%M" if lang == "ru" else "%Y-%m-%d %H:%M")
    body = [f"<h1>{t['title']}</h1>",
            f'<p class="muted">{t["store"]}: {_e(Path(model.store_path).name)}; {t["last_event"]} {data["last_event"]};'
            f' {t["generated"]} {now}</p>', f'<p><a id="back" href="{_e(back)}">← {t["back"]}</a></p>',
            '<p class="legend">' + "".join(f'<span style="color:{c}">■ {t[s]}</span>' for s, c in COLORS.items())
            + "</p>", f"<h2>{t['pairs']}</h2>",
            f'<table id="pairs"><tr><th class="l">{t["pair"]}</th><th>{t["items"]}</th><th>{t["open"]}</th>'
            f'<th>{t["decided"]}</th><th>{t["no_match"]}</th><th>{t["share"]}</th><th></th><th>{t["links"]}</th></tr>']
    for pair in sorted(data["pairs"]):
        p = data["pairs"][pair]
        c, n, ln = p["items"], sum(p["items"].values()), p["links"]
        share = 100 * (c["decided"] + c["no_match"]) / n if n else 0
        body.append(f'<tr><td class="l">{_e(pair_name(pair, lang))}</td><td>{n}</td><td>{c["open"]}</td>'
                    f'<td>{c["decided"]}</td><td>{c["no_match"]}</td><td>{share:.0f}</td><td class="l">{_bar(c, n)}</td>'
                    f'<td>{ln["confirmed"]} / {ln["pending"]} / {ln["rejected"]}</td></tr>')
    body.append("</table>")
    for pair in sorted(data["pairs"]):
        p = data["pairs"][pair]
        if not p["items"]["open"] and not p["items"]["no_match"]:
            continue      # accepted by rule (official tables, same codes): the first table says it all
        src, tgt = pair.split(":")
        body.append(f'<h2 class="pair">{_e(pair_name(pair, lang))}</h2><div class="row">')
        for what, scheme, groups in (("by_source", src, p["source"]), ("by_target", tgt, p["target"])):
            if not groups:
                continue
            body.append(f'<div><h3>{t[what]}</h3><table class="groups"><tr><th class="l">{t["group"]}</th>'
                        f'<th>{t["items"]}</th><th>{t["open"]}</th><th>{t["decided"]}</th><th>{t["no_match"]}</th>'
                        "<th></th></tr>")
            top = max(sum(c.values()) for c in groups.values())
            for g in sorted(groups, key=lambda g: (not g[:1].isalpha(), g)):
                c = groups[g]
                label = label_of(scheme, g, classes, lang)
                body.append(f'<tr><td class="l">{_e(g)} {_e(label)}</td><td>{sum(c.values())}</td><td>{c["open"]}</td>'
                            f'<td>{c["decided"]}</td><td>{c["no_match"]}</td>'
                            f'<td class="l">{_bar(c, top, 120)}</td></tr>')
            body.append("</table></div>")
        if p["items"]["open"]:
            body.append(f'<div><h3>{t["scores"]}</h3>{_histogram(p["bins"])}</div>')
        body.append("</div>")
    body.append(f"<h2>{t['progress']}</h2>")
    if data["days"]:
        every = sorted({d for c in data["days"].values() for d in c})[-14:]
        body.append(f'<table id="progress"><tr><th class="l">{t["reviewer"]}</th>'
                    + "".join(f"<th>{_e(_day(d, lang))}</th>" for d in every) + f"<th>{t['decisions']}</th></tr>")
        for who in sorted(data["days"]):
            c = data["days"][who]
            body.append(f'<tr><td class="l">{_e(who)}</td>' + "".join(f"<td>{c.get(d, '')}</td>" for d in every)
                        + f"<td>{sum(c.values())}</td></tr>")
        body.append("</table>")
    else:
        body.append(f"<p>{t['none']}</p>")
    body.append(f"<h2>{t['agreement']}</h2>")
    if data["agreement"]:
        body.append(agreement_table(((pair_name(":".join(pair), lang), a) for pair, a in data["agreement"].items()),
                                    t, lambda k: f"{k:.3f}", left="l"))
    else:
        body.append(f"<p>{t['none']}</p>")
    return page(lang, t["title"], CSS, body)


def _day(day: str, lang: str) -> str:
    y, m, d = day.split("-")
    return f"{d}.{m}" if lang == "ru" else f"{m}-{d}"


def _histogram(bins: list[int]) -> str:
    w, h, pad = 360, 110, 30
    top = max(bins) or 1
    bw = (w - pad) / len(bins)
    parts = [f'<svg class="chart" viewBox="0 0 {w} {h + 18}" width="{w}" height="{h + 18}" role="img">']
    for i, n in enumerate(bins):
        bh = n / top * (h - 12)
        parts.append(f'<rect x="{pad + i * bw + 1:.1f}" y="{h - bh:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}"'
                     f' fill="{COLORS["open"]}"><title>{i / BINS:.1f}–{(i + 1) / BINS:.1f}: {n}</title></rect>'
                     f'<text x="{pad + i * bw + bw / 2:.1f}" y="{h + 13}" font-size="9" text-anchor="middle">'
                     f'{i / BINS:.1f}</text>')
    parts.append(f'<text x="2" y="10" font-size="10">{top}</text><line x1="{pad}" y1="{h}" x2="{w}" y2="{h}"'
                 ' stroke="#555"/></svg>')
    return "".join(parts)


__all__ = ["OKZ_MAJOR_RU", "TEXT", "label_of", "pair_name", "render", "summary_data"]
