"""The layout of the review workbook (format 2): its columns in both languages, sheet names,
what prints, and the help sheet. The importer finds columns by header in either language, so
a reviewer may reorder or hide columns; the hidden ones carry what the importer checks.

Rows are grouped per item: the proposal first, then the alternatives by score, a rank column,
and the columns a reviewer fills in (decision, other code, weight, comment) right after the
candidate, so the page that prints (landscape, fitted to the width) holds what is decided.
"""
from __future__ import annotations

from dataclasses import dataclass

from .labels import LANGS


@dataclass(frozen=True)
class Column:
    id: str
    ru: str
    en: str
    width: float
    kind: str = "text"          # text | int | num | score | date | edit | edit_num (cell styles)
    hidden: bool = False

    def label(self, lang: str) -> str:
        return self.ru if lang == "ru" else self.en

    @property
    def editable(self) -> bool:
        return self.kind.startswith("edit")


COLUMNS = (
    Column("item", "позиция", "item", 7, "int"),
    Column("source_code", "код источника", "source code", 11),
    Column("source_title", "наименование источника", "source title", 36),
    # ↑ frozen: the item stays in view while the candidate columns scroll
    Column("rank", "ранг", "rank", 6, "int"),
    Column("role", "роль", "role", 13),
    Column("target_code", "код цели", "target code", 10),
    Column("target_title", "наименование цели", "target title", 36),
    Column("score", "оценка", "score", 7, "score"),
    Column("decision", "решение", "decision", 17, "edit"),
    Column("new_target", "другой код", "new target", 11, "edit"),
    Column("weight", "вес", "weight", 7, "edit_num"),
    Column("comment", "комментарий", "comment", 30, "edit"),
    # ↑ printed (landscape, fitted to the page width); ↓ on screen only
    Column("evidence", "признаки", "evidence", 44),
    Column("status", "статус связи", "link status", 13),
    Column("item_status", "состояние позиции", "item status", 15),
    Column("changed_by", "кто изменил", "changed by", 13),
    Column("changed_at", "когда", "when", 16, "date"),
    Column("weight_now", "вес сейчас", "weight now", 8, "num"),
    Column("comment_now", "комментарий сейчас", "comment now", 26),
    Column("group", "группа", "group", 8, "int"),
    Column("cardinality", "кратность", "cardinality", 16),
    Column("data_rows", "строк данных", "data rows", 9, "int"),
    Column("source_scheme", "классификация источника", "source scheme", 13),
    Column("target_scheme", "классификация цели", "target scheme", 13),
    # hidden, read back: the link and the versions the reviewer saw, and a check over them
    Column("link", "link", "link", 12, "text", True),
    Column("version", "version", "version", 8, "int", True),
    Column("item_version", "item version", "item version", 8, "int", True),
    Column("check", "check", "check", 8, "text", True),
)
BY_ID = {c.id: c for c in COLUMNS}
POSITION = {c.id: n for n, c in enumerate(COLUMNS, 1)}
FROZEN_AFTER = "source_title"          # columns up to this one stay in view
PRINTED_THROUGH = "comment"            # the print area ends with this column
# what the importer needs; every other column is shown for the reviewer and never read back
REQUIRED = ("source_code", "target_code", "decision", "new_target", "weight", "comment", "link", "version",
            "item_version", "check")

SHEETS = {"review": ("Проверка", "Review"), "help": ("Как заполнять", "How to fill in"),
          "meta": ("Метаданные", "Metadata")}


def sheet_title(sheet: str, lang: str) -> str:
    return SHEETS[sheet][LANGS.index(lang)]


def header_ids(header: list[str]) -> dict[str, int]:
    """Column id -> 0-based position, from a header row in either language (case ignored)."""
    names = {}
    for c in COLUMNS:
        names.setdefault(c.ru.casefold(), c.id)
        names.setdefault(c.en.casefold(), c.id)
    out: dict[str, int] = {}
    for i, text in enumerate(header):
        cid = names.get(str(text or "").strip().casefold())
        if cid is not None and cid not in out:
            out[cid] = i
    return out


HELP = {
    "ru": [
        "Одна строка — один кандидат. Строки сгруппированы по позициям источника: сначала предложение"
        " (ранг 1), затем альтернативы по убыванию оценки.",
        "По каждой позиции — одно решение в столбце «решение»:",
        "  «принять» — в строке того кандидата, который верен (предложение или альтернатива);"
        " остальные кандидаты позиции будут отклонены;",
        "  «выбрать код» — верного кода среди кандидатов нет: впишите его в столбец «другой код»;",
        "  «разделить» — позиция делится между несколькими кодами: в каждой такой строке укажите вес,"
        " сумма весов позиции равна 1 (код можно заменить, вписав его в «другой код»);",
        "  «нет соответствия» — у позиции нет соответствия в целевой классификации;",
        "  «отклонить» — этот кандидат неверен, а верный пока неизвестен (позиция остаётся открытой);",
        "  «вернуть на проверку» — отменить прежнее решение по позиции.",
        "Комментарий можно написать и без решения. Пустые строки ничего не меняют.",
        "Импорт: crosswalk review import ФАЙЛ --reviewer ИМЯ. Если хоть одна строка с ошибкой,"
        " не применяется ничего, а в отчёте указаны лист, строка, столбец, значение и правило;"
        " --partial применяет верные строки.",
        "Скрытые столбцы (link, version, item version, check) не изменяйте: по ним импорт узнаёт,"
        " что вы видели. Если позицию за это время изменил другой проверяющий, решение не применяется"
        " (конфликт).",
        "Даты — по местному времени компьютера, на котором выгружен файл.",
    ],
    "en": [
        "One row per candidate. Rows are grouped by source item: the proposal first (rank 1), then the"
        " alternatives by score.",
        "One decision per item, in the column 'decision':",
        "  'accept' — on the row of the right candidate (the proposal or an alternative); the item's other"
        " candidates are rejected;",
        "  'other code' — no candidate is right: type the code in 'new target';",
        "  'split' — the item is divided between several codes: give each such row a weight, the weights of"
        " the item sum to 1 (type a code in 'new target' to split to a code not proposed);",
        "  'no match' — the item has no correspondence in the target classification;",
        "  'reject' — this candidate is wrong and the right one is not known yet (the item stays open);",
        "  'reopen' — undo the item's earlier decision.",
        "A comment needs no decision. Empty rows change nothing.",
        "Import: crosswalk review import FILE --reviewer NAME. If any row is wrong nothing is applied and the"
        " report names sheet, row, column, value and rule; --partial applies the valid rows.",
        "Do not edit the hidden columns (link, version, item version, check): they tell the import what you"
        " saw. If another reviewer changed the item meanwhile, your decision is not applied (a conflict).",
        "Dates are in the local time of the computer that exported the file.",
    ],
}

__all__ = ["BY_ID", "COLUMNS", "Column", "FROZEN_AFTER", "HELP", "POSITION", "PRINTED_THROUGH", "REQUIRED",
           "SHEETS", "header_ids", "sheet_title"]
