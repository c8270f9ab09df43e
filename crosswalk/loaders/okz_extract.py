"""OKZ-2014 unit groups with their example occupations («примеры занятий»), as extracted
from the classifier's PDF: a JSON array of objects ``{isco4, labelRu, okzExamples, …}``
(``okz2014:examples-json``; ../shared/classifiers/PROVENANCE.md §9).

Each object becomes an OKZ unit group titled ``labelRu`` whose example occupations are in
``attrs['examples']`` (one title per line). The PDF parser's defects are repaired only
where a rule is certain, and every repair is reported:

* **swallowed text** — the list runs on into the next headers and paragraphs («Малая группа
  112», «Подгруппа 74», «Основная группа 2 …», «Примечание …», «Занятия данной …»,
  «Примеры занятий, отнесенных …»): cut at the first header item (``swallowed_text``);
* **glued titles** — a lower-case letter straight before a capital («…линииОператор …»),
  or the title's own first word again, capitalised, inside it («Оператор … Оператор
  получения инертного газа»): split (``glued_titles``); another capitalised word inside a
  title that starts other titles of the list is only reported (``possible_glued_title``);
* **words split at line ends** — two fragments pymorphy does not know whose join it does:
  joined (``split_word``); trailing punctuation («…оториноларинголог;») stripped.

The English fields (ISCO-08 title, definition, tasks; ESCO labels of a later ESCO release)
are not read: ISCO-08 itself is loaded from the ILO workbook, and ESCO from its own file —
these labels would leak held-out ESCO occupations into an ESCO evaluation.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

from ..codes import code_level
from ..errors import LoadError, Report
from ..io.tables import read_json
from .base import ItemCollector, LoadResult
from .common import title_ok
from .okz import SCHEME, _compare_with_isco, _parents

FORMATS = {"okz2014:examples-json": "OKZ-2014 unit groups with their example occupations (примеры занятий):"
                                    " a JSON array of {isco4, labelRu, okzExamples} (PDF extract)"}

HEADER = re.compile(r"^\s*(Малая группа|Подгруппа|Основная группа|Примечание|Примеры занятий|Занятия данн)")
_GLUED = re.compile(r"(?<=[а-яё])(?=[А-ЯЁ][а-яё])")
_CAPITAL_WORD = re.compile(r"(?<=[а-яё,)]) ([А-ЯЁ][а-яё-]+)")
_WORD_PAIR = re.compile(r"\b([А-Яа-яЁё]+) ([а-яё]+)\b")


def _morph():
    from ..morph import analyzer
    return analyzer()


def _join_split_words(title: str) -> str:
    """«управ ляют» → «управляют» where neither fragment is a word and the join is."""
    morph = _morph()

    def one(m: re.Match) -> str:
        a, b = m.group(1), m.group(2)
        if morph.word_is_known((a + b).lower()) and not (morph.word_is_known(a.lower())
                                                         and morph.word_is_known(b)):
            return a + b
        return m.group(0)
    return _WORD_PAIR.sub(one, title)


def _split_glued(title: str) -> list[str]:
    parts = [p.strip() for p in _GLUED.split(title) if p.strip()]
    out = []
    for p in parts:
        first = p.split(" ", 1)[0]
        pieces = re.split(rf"(?<=[а-яё)]) (?={re.escape(first)}\b)", p) if len(first) > 2 else [p]
        out += [x.strip() for x in pieces if x.strip()]
    return out


def _examples(code: str, items: list, row: int, report: Report, starts: set[str]) -> list[str]:
    where = dict(row=row, column="okzExamples")
    texts = [x for x in items if isinstance(x, str)]
    if len(texts) != len(items):
        report.warning("example_type", f"unit group {code}: {len(items) - len(texts)} example item(s) are"
                       " not text and are skipped", value=code, **where)
    cut = next((i for i, x in enumerate(texts) if HEADER.match(x)), len(texts))
    if cut < len(texts):
        report.warning("swallowed_text", f"unit group {code}: the example list runs on into the text that"
                       f" follows it in the PDF from item {cut + 1} («{texts[cut][:60]}»); the"
                       f" {len(texts) - cut} item(s) from there on are cut", value=texts[cut][:80], **where)
    out: list[str] = []
    for raw in texts[:cut]:
        t = " ".join(raw.split()).strip(" ;,.")
        if t != raw:
            report.info("example_punctuation", f"unit group {code}: example {raw!r} read as {t!r}",
                        value=raw, **where)
        joined = _join_split_words(t)
        if joined != t:
            report.warning("split_word", f"unit group {code}: a word split at a line end, {t!r} read as"
                           f" {joined!r}", value=t, **where)
            t = joined
        parts = _split_glued(t)
        if len(parts) > 1:
            report.warning("glued_titles", f"unit group {code}: {t!r} is {len(parts)} titles with no"
                           f" separator; split into {' | '.join(parts)}", value=t, **where)
        for p in parts:
            odd = [w for w in _CAPITAL_WORD.findall(p) if w in starts]
            if odd:
                report.info("possible_glued_title", f"unit group {code}: {p!r} holds «{odd[0]}», which starts"
                            " other example titles, inside it; two titles glued? (kept as one)", value=p, **where)
            if p in out:
                report.info("duplicate_example", f"unit group {code}: example {p!r} is listed twice; kept once",
                            value=p, **where)
                continue
            out.append(p)
    return out


def load(path, format: Optional[str] = None, *, strict: bool = False) -> LoadResult:
    path = Path(path)
    report = Report(file=str(path), scheme=SCHEME)
    data = read_json(path, report)          # within the limits: size, nesting depth, values
    if not isinstance(data, list) or not all(isinstance(o, dict) for o in data):
        report.error("header", "expected a JSON array of objects with isco4, labelRu and okzExamples")
        raise LoadError(f"{path}: not an OKZ examples extract (a JSON array of objects)", report)
    col = ItemCollector(report, SCHEME, code_column="isco4", title_column="labelRu")
    firsts = {str(x).split(" ", 1)[0] for o in data for x in (o.get("okzExamples") or [])[:3]
              if isinstance(x, str) and not HEADER.match(x)}
    good: list[tuple[str, str, list[str], int]] = []
    n_examples = n_items = 0
    for row, o in enumerate(data, 1):
        col.read()
        code: Any = o.get("isco4")
        where = dict(row=row, column="isco4", value=code)
        if not isinstance(code, str) or not re.fullmatch(r"\d{4}", code.strip()):
            report.error("code_format", f"object {row}: isco4 {code!r} is not a 4-digit OKZ unit-group code;"
                         " object rejected", **where)
            col.reject()
            continue
        code = code.strip()
        title = o.get("labelRu")
        if not title_ok(report, title, row=row, column="labelRu", code=code):
            col.reject()
            continue
        items = o.get("okzExamples") or []
        if not isinstance(items, list):
            report.error("example_type", f"unit group {code}: okzExamples is not a list; object rejected", **where)
            col.reject()
            continue
        n_items += len(items)
        ex = _examples(code, items, row, report, firsts)
        n_examples += len(ex)
        good.append((code, " ".join(title.split()), ex, row))
    parents = _parents(sorted({c for c, *_ in good}), report)
    rows = {}
    for code, title, ex, row in good:
        if col.add(code, title, code_level(SCHEME, code), parents[code], row=row,
                   attrs={"examples": "\n".join(ex)} if ex else None):
            rows[code] = (None, row)
    cls = col.build(edition="ОК 010-2014", source=str(path))
    seen: dict[str, list[str]] = {}
    for it in cls:
        for t in (it.attrs.get("examples") or "").splitlines():
            seen.setdefault(t, []).append(it.code)
    twice = {t: cs for t, cs in seen.items() if len(cs) > 1}
    if twice:
        report.info("example_in_two_groups", f"{len(twice)} example title(s) are listed under two unit groups,"
                    f" e.g. «{next(iter(twice))}» ({', '.join(next(iter(twice.values())))}); kept in both",
                    value=str(len(twice)))
    report.info("examples", f"{n_examples} example occupations kept of {n_items} list items",
                value=str(n_examples))
    _compare_with_isco(cls, rows, report)
    return LoadResult(str(path), cls, report)


_HEAD = re.compile(r'^\s*\[\s*\{\s*"isco4"\s*:\s*"\d{4}"')


def sniff(path: Path, head: str) -> Optional[str]:
    return "okz2014:examples-json" if head and _HEAD.match(head[:4096]) else None
