"""Importing an item-centred review workbook (format 2): rows are candidates grouped by item,
and the decisions written on an item's rows make ONE item decision for
:meth:`ReviewStore.decide_items`, which settles the item's other candidates:

* «принять» on one row — that candidate is the item's correspondence (``accept`` when it is the
  proposal, else ``pick``);
* «выбрать код» with a code in «другой код» — a code nobody proposed (``pick``);
* «разделить» on two or more rows, each with a weight, summing to 1 (``split``; a code in
  «другой код» replaces the row's own);
* «нет соответствия» — the item has no correspondence (``no_match``);
* «вернуть на проверку» — back to undecided (``reopen``).

«отклонить» on a row of an item without such a decision rejects that candidate alone (a link
decision; the item stays open); a comment needs no decision (on a decided item it joins the
item decision's comment). Every row is checked first; by default the import is all or nothing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

from ..candidates import sheet_safe
from ..codes import FORMAT_HELP, cell_code
from ..model import SCHEMES
from .items import ItemDecision, ItemKey
from .labels import decision_label, decision_labels, decision_of, number
from .store import Decision, LinkKey
from .workbook_layout import BY_ID

ITEM_LEVEL = ("accept", "other_code", "split", "no_match", "reopen")
_TOL = 1e-6


class Reject(Exception):
    """One row cannot be applied; carries where (column id) and why."""

    def __init__(self, kind: str, column: Optional[str], value: Any, message: str):
        super().__init__(message)
        self.kind, self.column, self.value, self.message = kind, column, value, message


@dataclass
class Entry:
    """A row with something to do: its link, the versions it was exported at, and what it says."""
    row: int
    key: LinkKey
    version: int
    item_version: int
    decision: str                       # a DECISIONS id ("comment": a comment alone)
    raw: Any = None                     # the decision cell as written
    code: Optional[str] = None          # «другой код», parsed
    weight: Optional[float] = None
    comment: str = ""

    @property
    def item(self) -> ItemKey:
        return ItemKey(self.key.source_scheme, self.key.source_code, self.key.target_scheme)

    @property
    def target(self) -> str:
        return self.code or self.key.target_code


@dataclass
class Unit:
    """One decision for the store and the rows it comes from."""
    decision: Any                       # ItemDecision | Decision
    rows: list[int]
    entries: list[Entry] = field(default_factory=list)


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


class Say:
    """Messages in the workbook's language."""

    def __init__(self, lang: str):
        self.lang = lang

    def __call__(self, ru: str, en: str) -> str:
        return ru if self.lang == "ru" else en

    def col(self, cid: str) -> str:
        return f"«{BY_ID[cid].ru}»" if self.lang == "ru" else f"'{BY_ID[cid].en}'"

    def dec(self, d: str) -> str:
        return f"«{decision_label(d, 'ru')}»" if self.lang == "ru" else f"'{decision_label(d, 'en')}'"

    def choices(self) -> str:
        return ", ".join(f"«{c}»" if self.lang == "ru" else f"'{c}'" for c in decision_labels(self.lang))


def parse_weight(value: Any, say: Say) -> Optional[float]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    raw = value
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", ".").rstrip("%")) / (100 if value.strip().endswith("%") else 1)
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0.0 <= value <= 1.0:
        raise Reject("weight", "weight", raw, say("вес — число от 0 до 1 (0,25 или 25%)",
                                                  "a weight is a number from 0 to 1 (0.25 or 25%)"))
    return float(value)


def parse_entry(row: int, key: LinkKey, cells: dict[str, tuple[Any, str]], *, version: int, item_version: int,
                say: Say, codes_of) -> Optional[Entry]:
    """What one row says (None: nothing), or Reject naming the first rule it breaks."""
    raw = cells["decision"][0]
    decision = None
    if text(raw):
        decision = decision_of(text(raw))
        if decision is None:
            raise Reject("decision", "decision", raw, say(f"неизвестное решение; выберите одно из: {say.choices()}"
                                                          " — или оставьте пустым",
                                                          f"unknown decision; choose one of {say.choices()}"
                                                          " or leave it blank"))
    comment = text(cells["comment"][0])
    raw_code, raw_weight = cells["new_target"][0], cells["weight"][0]
    if decision is None:
        filled = [say.col(c) for c in ("new_target", "weight") if text(cells[c][0])]
        if filled:
            raise Reject("decision_missing", "decision", None,
                         say(f"заполнено {', '.join(filled)}, но решения нет; выберите одно из: {say.choices()}",
                             f"{', '.join(filled)} filled but no decision; choose one of {say.choices()}"))
        if not comment:
            return None
        decision = "comment"
    if decision == "comment" and not comment:
        raise Reject("comment", "comment", None, say(f"{say.dec('comment')} без текста: впишите комментарий",
                                                     f"{say.dec('comment')} needs a comment"))
    weight = parse_weight(raw_weight, say)
    if weight is not None and decision != "split":
        raise Reject("weight", "weight", raw_weight,
                     say(f"вес указывается только с решением {say.dec('split')}; у одного кода позиции вес 1",
                         f"a weight goes with {say.dec('split')} only; a single target takes the whole item"))
    if decision == "split" and weight is None:
        raise Reject("weight", "weight", None, say(f"у {say.dec('split')} в каждой строке нужен вес от 0 до 1",
                                                   f"{say.dec('split')} needs a weight from 0 to 1 on each row"))
    code = None
    if text(raw_code):
        if decision not in ("other_code", "split"):
            raise Reject("new_target", "new_target", raw_code,
                         say(f"{say.col('new_target')} читается только с решениями {say.dec('other_code')} и"
                             f" {say.dec('split')}: чтобы выбрать вписанный код, выберите {say.dec('other_code')};"
                             f" чтобы решить о коде этой строки, очистите {say.col('new_target')}",
                             f"{say.col('new_target')} is read only with {say.dec('other_code')} and"
                             f" {say.dec('split')}: to choose the code typed there, choose {say.dec('other_code')};"
                             f" to decide on this row's code, clear {say.col('new_target')}"))
        code = new_code(key.target_scheme, raw_code, say, codes_of)
    elif decision == "other_code":
        raise Reject("new_target", "new_target", None,
                     say(f"для {say.dec('other_code')} впишите код в {say.col('new_target')}; чтобы принять код"
                         f" этой строки, выберите {say.dec('accept')}",
                         f"{say.dec('other_code')} needs the code in {say.col('new_target')}; to take this row's"
                         f" code choose {say.dec('accept')}"))
    return Entry(row, key, version, item_version, decision, raw, code, weight, comment)


def new_code(scheme: str, value: Any, say: Say, codes_of) -> str:
    if isinstance(value, str):
        value = value.strip()
    code, problem, msg = cell_code(scheme, value) if scheme in SCHEMES else (str(value), None, "")
    if problem is not None or code is None:
        raise Reject("new_target", "new_target", value,
                     say(f"{msg or 'не код'}; код {scheme}: {FORMAT_HELP.get(scheme, 'текст')} (впишите его в"
                         " текстовую ячейку)",
                         f"{msg or 'not a code'}; a {scheme} code is {FORMAT_HELP.get(scheme, 'text')}"
                         " (type it in a text cell)"))
    if code not in codes_of(scheme):
        raise Reject("unknown_code", "new_target", value,
                     say(f"кода {scheme} {code} нет ни в одной связи и ни в каталоге хранилища (опечатка?)",
                         f"{scheme} code {code} is in no link and no item of the store (a typo?)"))
    return code


def item_units(entries: list[Entry], *, say: Say, proposal_of, origin_of) -> tuple[list[Unit], list[tuple[Entry, Reject]]]:
    """The decisions one item's rows make (an item decision, or link rejects and comments),
    and the rows refused with the rule they break."""
    comments = [e for e in entries if e.decision == "comment"]
    acts = [e for e in entries if e.decision != "comment"]
    level = [e for e in acts if e.decision in ITEM_LEVEL]
    if not level:                                          # rejects and comments on single candidates
        units = []
        for e in entries:
            action = "reject" if e.decision == "reject" else "comment"
            d = Decision(e.key, action, e.version, comment=e.comment or None, origin=origin_of(e.row))
            units.append(Unit(d, [e.row], [e]))
        return units, []
    kinds = {e.decision for e in level}
    picks = [e for e in level if e.decision in ("accept", "other_code")]
    rejects = [e for e in acts if e.decision == "reject"]
    problem = None
    if len(kinds - {"accept", "other_code"}) > 1 or (picks and kinds - {"accept", "other_code"}) or len(picks) > 1:
        listed = ", ".join(f"{e.row} ({say.dec(e.decision)})" for e in level)
        problem = Reject("one_decision_per_item", "decision", None,
                         say(f"одно решение на позицию, а в строках {listed} — разные; несколько кодов с весами —"
                             f" это {say.dec('split')} в каждой их строке",
                             f"one decision per item, but rows {listed} differ; several codes with weights are"
                             f" {say.dec('split')} on each of their rows"))
    elif kinds == {"reopen"} and rejects:
        problem = Reject("one_decision_per_item", "decision", None,
                         say(f"{say.dec('reopen')} и {say.dec('reject')} в одной позиции: выберите одно",
                             f"{say.dec('reopen')} and {say.dec('reject')} on one item: choose one"))
    elif kinds == {"split"}:
        problem = _split_problem(level, say)
    if problem is not None:     # each row refused with its own value; its comments alone still stand
        refused = [(e, Reject(problem.kind, problem.column, _value_of(e, problem.column), problem.message))
                   for e in acts]
        notes = [Unit(Decision(e.key, "comment", e.version, comment=e.comment, origin=origin_of(e.row)), [e.row], [e])
                 for e in comments]
        return notes, refused
    first = level[0]
    if kinds == {"split"}:
        choice, targets = "split", tuple((e.target, e.weight) for e in level)
    elif picks:
        e = picks[0]
        choice = "accept" if e.decision == "accept" and e.code is None and proposal_of(e.item) == e.key.target_code \
            else "pick"
        targets = () if choice == "accept" else ((e.target, None),)
    else:
        choice, targets = first.decision, ()
    notes = list(dict.fromkeys(e.comment for e in level + rejects + comments if e.comment))
    d = ItemDecision(first.item, choice, first.item_version, targets, "; ".join(notes) or None,
                     origin=origin_of(first.row))
    return [Unit(d, sorted(e.row for e in entries), entries)], []


def _value_of(e: Entry, column: Optional[str]) -> Any:
    """What the row holds in the column a rule names (the decision as written, its weight or code)."""
    if column == "weight":
        return None if e.weight is None else number(e.weight, "en", 6).rstrip("0").rstrip(".")
    if column == "new_target":
        return e.code
    return e.raw


def _split_problem(rows: list[Entry], say: Say) -> Optional[Reject]:
    listed = ", ".join(str(e.row) for e in rows)
    if len(rows) < 2:
        return Reject("split", "decision", rows[0].raw,
                      say(f"{say.dec('split')} — это две строки позиции или больше, каждая с весом; один код —"
                          f" это {say.dec('accept')}",
                          f"{say.dec('split')} takes two or more rows of the item, each with a weight; one code is"
                          f" {say.dec('accept')}"))
    targets = [e.target for e in rows]
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        return Reject("split", "new_target", twice[0],
                      say(f"код {twice[0]} дважды в {say.dec('split')} (строки {listed})",
                          f"code {twice[0]} twice in {say.dec('split')} (rows {listed})"))
    if any(e.weight == 0 for e in rows):
        return Reject("split", "weight", 0, say(f"вес 0 в {say.dec('split')}: уберите решение из этой строки",
                                                f"a weight of 0 in {say.dec('split')}: clear that row's decision"))
    total = math.fsum(e.weight for e in rows)
    if abs(total - 1.0) > _TOL:
        shown = f"{total:.6f}".rstrip("0").rstrip(".")
        return Reject("split", "weight", None,
                      say(f"веса {say.dec('split')} в строках {listed} дают в сумме {shown.replace('.', ',')},"
                          " а не 1", f"the weights of {say.dec('split')} in rows {listed} sum to {shown}, not 1"))
    return None


def check_key_cells(key: LinkKey, cells: dict[str, tuple[Any, str]], say: Say) -> None:
    for cid, part in (("source_code", key.source_code), ("target_code", key.target_code)):
        if text(cells[cid][0]) != sheet_safe(part).strip():
            raise Reject("key_edited", cid, cells[cid][0],
                         say(f"столбцы кодов не меняют (выгружено {part!r}); чтобы указать другой код, выберите"
                             f" {say.dec('other_code')} и впишите его в {say.col('new_target')}",
                             f"code columns must not be edited (exported {part!r}); to name another code choose"
                             f" {say.dec('other_code')} and type it in {say.col('new_target')}"))


__all__ = ["Entry", "ITEM_LEVEL", "Reject", "Say", "Unit", "check_key_cells", "item_units", "new_code",
           "parse_entry", "parse_weight", "text"]
