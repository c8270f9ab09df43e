"""What reviewers read, Russian first and English on request: scheme, signal, relation,
status and decision names, and dates in local time. Shared by the review workbook, the HTML
report and the summary `crosswalk report` prints.

Machine ids (``word_meaning``, ``n:1``, ``pending``) stay in files and the store; only what a
person reads is translated. English keeps the signal ids, as the README documents them.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Optional

LANGS = ("ru", "en")
DEFAULT_LANG = "ru"

SCHEME_NAMES = {
    "okpdtr": ("ОКПДТР", "OKPDTR"), "okz2014": ("ОКЗ-2014", "OKZ-2014"), "isco08": ("МСКЗ-08", "ISCO-08"),
    "isco88": ("МСКЗ-88", "ISCO-88"), "okved2": ("ОКВЭД2", "OKVED2"), "nace2": ("КДЕС Ред. 2", "NACE Rev.2"),
    "isic4": ("МСОК 4", "ISIC Rev.4"), "text": ("свободный текст", "free text"),
}
# the matcher's signals (crosswalk.match) by what they look at
SIGNALS_RU = {
    "structure": "тот же код", "reference": "ссылка на код", "title_tokens": "слова названия",
    "title_fuzzy": "написание названия", "notes": "пояснения", "part": "рабочие/служащие",
    "hierarchy": "иерархия", "learned": "прежние решения", "embedding": "смысл названия",
    "word_meaning": "смысл слов", "index": "справочник профессий",
}
RELATIONS = {   # cardinality of a group of current links; "alternative": not the item's current link
    "1:1": ("один к одному", "1:1"), "1:n": ("один ко многим", "1:n"), "n:1": ("многие к одному", "n:1"),
    "n:m": ("многие ко многим", "n:m"), "alternative": ("альтернатива", "alternative"),
}
STATUSES = {"pending": ("ожидает", "pending"), "confirmed": ("подтверждена", "confirmed"),
            "rejected": ("отклонена", "rejected")}
ROLES = {"proposal": ("предложение", "proposal"), "alternative": ("альтернатива", "alternative")}
# a link with no role in its item says where it comes from instead
ORIGIN_ROLES = {"official": ("официальная таблица", "official table"), "structure": ("тот же код", "same code"),
                "confirmed": ("добавлена проверяющим", "added by a reviewer"), "derived": ("выведена", "derived"),
                "proposed": ("кандидат", "candidate")}
ITEM_STATUSES = {"open": ("открыта", "open"), "decided": ("решена", "decided"),
                 "no_match": ("нет соответствия", "no correspondence")}

# Decisions a reviewer writes in the workbook, one per item (see workbook_items): the label
# the drop-down shows in each language, then every spelling accepted on import.
DECISIONS = {
    "accept": ("принять", "accept", ("подтвердить", "принято", "confirm", "confirmed", "ok")),
    "other_code": ("выбрать код", "other code", ("другой код", "свой код", "retarget", "pick code", "new code")),
    "split": ("разделить", "split", ("разделить с весами", "split with weights")),
    "no_match": ("нет соответствия", "no match", ("нет", "no correspondence", "no_match", "none")),
    "reject": ("отклонить", "reject", ("отклонено", "rejected", "wrong")),
    "reopen": ("вернуть на проверку", "reopen", ("вернуть", "открыть", "undo")),
    "comment": ("комментарий", "comment", ("примечание", "note")),
}


def _i(lang: str) -> int:
    if lang not in LANGS:
        raise ValueError(f"language {lang!r} is not one of {', '.join(LANGS)}")
    return LANGS.index(lang)


def scheme_name(scheme: str, lang: str = DEFAULT_LANG) -> str:
    return SCHEME_NAMES[scheme][_i(lang)] if scheme in SCHEME_NAMES else scheme


def signal_name(signal: str, lang: str = DEFAULT_LANG) -> str:
    return SIGNALS_RU.get(signal, signal) if _i(lang) == 0 else signal


def relation_name(kind: str, lang: str = DEFAULT_LANG) -> str:
    return RELATIONS[kind][_i(lang)] if kind in RELATIONS else kind


def status_name(status: str, lang: str = DEFAULT_LANG) -> str:
    return STATUSES[status][_i(lang)] if status in STATUSES else status


def role_name(role: str, origin: str = "", lang: str = DEFAULT_LANG) -> str:
    """«предложение», «альтернатива», or for a link without a role where it comes from."""
    if role in ROLES:
        return ROLES[role][_i(lang)]
    return ORIGIN_ROLES[origin][_i(lang)] if origin in ORIGIN_ROLES else role


def item_status_name(status: str, lang: str = DEFAULT_LANG) -> str:
    return ITEM_STATUSES[status][_i(lang)] if status in ITEM_STATUSES else status


def decision_label(decision: str, lang: str = DEFAULT_LANG) -> str:
    return DECISIONS[decision][_i(lang)]


def decision_labels(lang: str = DEFAULT_LANG) -> list[str]:
    """The drop-down: every decision but the comment (a comment needs no decision)."""
    return [decision_label(d, lang) for d in DECISIONS if d != "comment"]


def _norm(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.casefold().replace("ё", "е")).strip(" .!;")


_DECISION_OF = {_norm(word): d for d, (ru, en, more) in DECISIONS.items() for word in (ru, en, *more)}


def decision_of(text: str) -> Optional[str]:
    """The decision id a cell names, in either language and any case (None: not a decision)."""
    return _DECISION_OF.get(_norm(text))


def evidence_text(evidence: dict, lang: str = DEFAULT_LANG) -> str:
    """'тот же код 1,00; слова названия 0,81': strongest signal first (ties by id)."""
    items = sorted(evidence.items(), key=lambda kv: (-float(kv[1]), kv[0]))
    if _i(lang) == 0:
        return "; ".join(f"{SIGNALS_RU.get(k, k)} {float(v):.2f}".replace(".", ",") for k, v in items)
    return "; ".join(f"{k} {float(v):.2f}" for k, v in items)


def local_time(ts: str) -> Optional[datetime]:
    """A store timestamp (ISO 8601 UTC, ``…Z``) as a naive datetime in this computer's time zone."""
    if not ts:
        return None
    try:
        t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone().replace(tzinfo=None)


DATE_FORMATS = {"ru": ("%d.%m.%Y %H:%M", "DD.MM.YYYY HH:MM"), "en": ("%Y-%m-%d %H:%M", "YYYY-MM-DD HH:MM")}


def local_date(ts: str, lang: str = DEFAULT_LANG) -> str:
    """'03.12.2026 20:29' (ru) / '2026-12-03 20:29' (en) in local time; '' for no time."""
    t = local_time(ts)
    return "" if t is None else t.strftime(DATE_FORMATS[LANGS[_i(lang)]][0])


def number(x: float, lang: str = DEFAULT_LANG, digits: int = 2) -> str:
    """0,81 (ru) / 0.81 (en)."""
    text = f"{x:.{digits}f}"
    return text.replace(".", ",") if _i(lang) == 0 else text


__all__ = ["DATE_FORMATS", "DECISIONS", "DEFAULT_LANG", "LANGS", "decision_label", "decision_labels",
           "decision_of", "evidence_text", "item_status_name", "local_date", "local_time", "number",
           "relation_name", "role_name", "scheme_name", "signal_name", "status_name"]
