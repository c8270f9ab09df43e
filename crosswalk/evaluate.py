"""Measuring candidates against a gold standard: top-k accuracy, precision and
recall on pairs, the same per level and per section, and the misses a reviewer
should look at.

Gold files understood by :func:`load_gold`:

1. a correspondence the loaders read (ILO ISCO-08↔ISCO-88 ``.xls``, the
   NACE Rev.2→ISIC Rev.4 concordance): every pair is acceptable and primary;
2. ``okpdtr_okz_dev.csv``: OKPDTR → OKZ-2014, coder A's ``okz_code`` primary,
   coder B's ``okz_code_alt`` also acceptable; by default only rows the coders
   agree on;
3. ``okved2_isic4_regrouped.csv``: OKVED2 → ISIC Rev.4, ``isic4_code`` primary,
   ``also_acceptable`` (codes separated by ``|``, ``;`` or ``,``) acceptable;
4. a generic CSV ``source_code,target_code`` (optional ``source_scheme``,
   ``target_scheme``, ``primary`` yes/no, ``source_title``, ``target_title``).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

from .candidates import CandidateSet, atomic_write, problem_text, sheet_safe
from .codes import FORMAT_HELP, code_level
from .errors import CrosswalkError, LoadError, Report, UnknownSchemeError
from .io import read_csv
from .model import code_sort_key, get_scheme

_MAJOR_GROUP_SCHEMES = ("isco08", "isco88", "okz2014")
_SECTION_SCHEMES = ("okved2", "nace2", "isic4")


@dataclass
class Gold:
    """Source code -> every target counted correct (``acceptable``) and the main
    target(s) (``primary``, a subset, used for recall on pairs)."""

    source_scheme: str
    target_scheme: str
    acceptable: dict[str, frozenset[str]]
    primary: dict[str, frozenset[str]]
    name: str = ""
    source_titles: dict[str, str] = field(default_factory=dict)
    target_titles: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if set(self.primary) != set(self.acceptable):
            raise CrosswalkError("gold: primary and acceptable must have the same sources")
        keys = sorted(self.acceptable, key=code_sort_key)
        self.acceptable = {s: frozenset(self.acceptable[s]) | frozenset(self.primary[s]) for s in keys}
        self.primary = {s: frozenset(self.primary[s]) for s in keys}
        empty = [s for s in keys if not self.primary[s]]
        if empty:
            raise CrosswalkError(f"gold: source(s) without a primary target: {', '.join(empty[:5])}")

    def __len__(self) -> int:
        return len(self.acceptable)


# -- loading -------------------------------------------------------------------
def normalise_code(scheme: str, raw: object) -> Optional[str]:
    """The canonical form of a code written differently (ISIC ``01.11`` → ``0111``,
    OKVED2/NACE ``0111`` → ``01.11``), or None if it fits no level."""
    s = str(raw).strip()
    if code_level(scheme, s) is not None:
        return s
    digits = s.replace(".", "")
    if scheme == "isic4" and code_level(scheme, digits) is not None:
        return digits
    if scheme in ("okved2", "nace2") and digits.isdigit() and len(digits) > 2:
        dotted = digits[:2] + "." + digits[2:4] + ("." + digits[4:] if len(digits) > 4 else "")
        if code_level(scheme, dotted) is not None:
            return dotted
    return None


def _first_line(path: Path) -> list[str]:
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head[:4] in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0"):
        return []
    for enc in ("utf-8-sig", "cp1251", "latin-1"):
        try:
            text = head.decode(enc)
            break
        except UnicodeDecodeError as exc:
            if enc == "utf-8-sig" and exc.start > len(head) - 4:  # cut inside a character
                text = head[:exc.start].decode(enc)
                break
    line = text.splitlines()[0] if text.strip() else ""
    delim = max(",;\t", key=line.count)
    return [c.strip().casefold() for c in next(csv.reader([line], delimiter=delim), [])]


_KNOWN = ("a gold file is a correspondence table crosswalk reads, okpdtr_okz_dev.csv,"
          " okved2_isic4_regrouped.csv or a CSV with columns source_code,target_code")

# a gold row: (source, target, primary?)
_Triple = tuple[str, str, bool]


class _Rows:
    """Reads a gold CSV's rows by column name, normalising codes and collecting problems."""

    def __init__(self, path: Path, required: Sequence[str]):
        self.report = Report(file=str(path))
        table = read_csv(path, self.report)
        if not table.rows:
            self.fail(f"{path}: empty file")
        header = [str(v or "").strip().casefold() for v in table.rows[0].values]
        missing = [c for c in required if c not in header]
        if missing:
            self.report.error("header", f"column(s) {', '.join(missing)} missing", row=table.rows[0].number)
            self.fail(f"{path}: missing column(s) {', '.join(missing)}")
        self.at = {h: i for i, h in reversed(list(enumerate(header)))}
        self.rows = table.rows[1:]
        self.report.rows_read = len(self.rows)

    def get(self, row, column: str) -> str:
        i = self.at.get(column)
        v = row.get(i) if i is not None else None
        return "" if v is None else str(v).strip()

    def code(self, scheme: str, row, column: str, raw: Optional[str] = None) -> Optional[str]:
        raw = self.get(row, column) if raw is None else raw
        code = normalise_code(scheme, raw)
        if code is None:
            self.report.error("code_format", f"{scheme} code {raw!r} is not {FORMAT_HELP[scheme]}",
                              row=row.number, column=column, value=raw)
        return code

    def fail(self, message: str):
        raise LoadError(message, self.report)

    def finish(self, loaded: int) -> None:
        self.report.rows_loaded = loaded
        self.report.rows_rejected = self.report.rows_read - loaded
        errs = self.report.errors
        if errs:
            more = f"; … {len(errs) - 5} more" if len(errs) > 5 else ""
            self.fail(f"{self.report.file}: {len(errs)} problem(s) in the gold file: "
                      + "; ".join(problem_text(p) for p in errs[:5]) + more)


def _okpdtr_okz(path: Path, agreed_only: bool):
    r = _Rows(path, ("okpdtr_code", "okz_code", "coders_agree"))
    triples: list[_Triple] = []
    titles: dict[str, str] = {}
    loaded = 0
    for row in r.rows:
        if agreed_only and r.get(row, "coders_agree").casefold() != "yes":
            continue
        src = r.code("okpdtr", row, "okpdtr_code")
        tgt = r.code("okz2014", row, "okz_code")
        alt_raw = r.get(row, "okz_code_alt")
        alt = r.code("okz2014", row, "okz_code_alt", alt_raw) if alt_raw else ""
        if src is None or tgt is None or alt is None:
            continue
        loaded += 1
        triples.append((src, tgt, True))
        if alt:
            triples.append((src, alt, False))
        if r.get(row, "title"):
            titles[src] = r.get(row, "title")
    r.finish(loaded)  # rows left out by agreed_only count as rejected
    return "okpdtr", "okz2014", triples, titles, {}


_SPLIT = re.compile(r"[|;,\s]+")


def _okved2_isic4(path: Path):
    r = _Rows(path, ("okved2_code", "isic4_code"))
    triples: list[_Triple] = []
    loaded = 0
    for row in r.rows:
        src = r.code("okved2", row, "okved2_code")
        tgt = r.code("isic4", row, "isic4_code")
        alts = [r.code("isic4", row, "also_acceptable", a)
                for a in _SPLIT.split(r.get(row, "also_acceptable")) if a]
        if src is None or tgt is None or None in alts:
            continue
        loaded += 1
        triples.append((src, tgt, True))
        triples += [(src, a, False) for a in alts]
    r.finish(loaded)
    return "okved2", "isic4", triples, {}, {}


def _generic(path: Path, source_scheme: Optional[str], target_scheme: Optional[str], reverse: bool):
    r = _Rows(path, ("source_code", "target_code"))
    # schemes given by the caller describe the returned (possibly reversed) gold
    want = (target_scheme, source_scheme) if reverse else (source_scheme, target_scheme)
    schemes = []
    for side, given in zip(("source_scheme", "target_scheme"), want):
        in_file = sorted({r.get(row, side) for row in r.rows} - {""})
        if len(in_file) > 1 or (in_file and given and in_file[0] != given):
            r.report.error("scheme", f"{side} column says {', '.join(in_file)}"
                           + (f" but {given} was asked for" if given else ""), column=side)
            r.fail(f"{path}: {side} column says {', '.join(in_file)}"
                   + (f" but {given} was asked for" if given else ""))
        scheme = given or (in_file[0] if in_file else None)
        if scheme is None:
            raise CrosswalkError(f"{path}: a generic gold file needs its schemes: add a {side} column"
                                 " or pass source_scheme=/target_scheme= (the CLI takes them from the"
                                 " candidates file)")
        get_scheme(scheme)
        schemes.append(scheme)
    triples: list[_Triple] = []
    titles: tuple[dict, dict] = ({}, {})
    loaded = 0
    for row in r.rows:
        src = r.code(schemes[0], row, "source_code")
        tgt = r.code(schemes[1], row, "target_code")
        flag = r.get(row, "primary").casefold()
        if flag not in ("", "yes", "no", "true", "false", "1", "0"):
            r.report.error("primary", "primary must be yes or no", row=row.number, column="primary", value=flag)
            continue
        if src is None or tgt is None:
            continue
        loaded += 1
        triples.append((src, tgt, flag in ("", "yes", "true", "1")))
        for d, code, col in ((titles[0], src, "source_title"), (titles[1], tgt, "target_title")):
            if r.get(row, col):
                d.setdefault(code, r.get(row, col))
    r.finish(loaded)
    return schemes[0], schemes[1], triples, titles[0], titles[1]


def _correspondence(path: Path):
    from .loaders import load
    try:
        result = load(path)
    except UnknownSchemeError:
        raise CrosswalkError(f"{path}: not a gold file: {_KNOWN}") from None
    corr = result.correspondence
    if corr is None:
        raise CrosswalkError(f"{path}: holds a classification, not a correspondence; {_KNOWN}")
    return (corr.source_scheme.id, corr.target_scheme.id, [(p.source, p.target, True) for p in corr],
            corr.source_titles, corr.target_titles)


def load_gold(path: str | Path, *, source_scheme: Optional[str] = None, target_scheme: Optional[str] = None,
              reverse: bool = False, agreed_only: bool = True) -> Gold:
    """Load a gold standard (see the module docstring for the files understood).

    ``reverse`` swaps sources and targets. ``source_scheme``/``target_scheme``
    name the schemes of the returned gold: required for a generic CSV without
    scheme columns, otherwise checked against the file. Codes stay text and are
    normalised to each scheme's canonical form.
    """
    path = Path(path)
    if not path.is_file():
        raise LoadError(f"{path}: no such file")
    header = set(_first_line(path))
    name = path.name
    if {"okpdtr_code", "okz_code", "coders_agree"} <= header:
        src_s, tgt_s, triples, s_titles, t_titles = _okpdtr_okz(path, agreed_only)
        name += " (agreed rows)" if agreed_only else " (all rows)"
    elif {"okved2_code", "isic4_code"} <= header:
        src_s, tgt_s, triples, s_titles, t_titles = _okved2_isic4(path)
    elif {"source_code", "target_code"} <= header:
        src_s, tgt_s, triples, s_titles, t_titles = _generic(path, source_scheme, target_scheme, reverse)
    else:
        src_s, tgt_s, triples, s_titles, t_titles = _correspondence(path)
    if reverse:
        src_s, tgt_s, s_titles, t_titles = tgt_s, src_s, t_titles, s_titles
        triples = [(t, s, p) for s, t, p in triples]
        name += " reversed"
    for given, have, side in ((source_scheme, src_s, "source"), (target_scheme, tgt_s, "target")):
        if given is not None and given != have:
            flipped = (source_scheme in (None, tgt_s)) and (target_scheme in (None, src_s))
            raise CrosswalkError(
                f"{path}: the gold's {side} scheme is {have} ({src_s}→{tgt_s}), not {given}"
                + ("; use reverse=True (--reverse) to read it the other way" if flipped else ""))
    acceptable: dict[str, set[str]] = {}
    primary: dict[str, set[str]] = {}
    for s, t, p in triples:
        acceptable.setdefault(s, set()).add(t)
        primary.setdefault(s, set())
        if p:
            primary[s].add(t)
    for s, ps in primary.items():  # reversing alternatives only: every acceptable counts
        if not ps:
            ps.update(acceptable[s])
    return Gold(src_s, tgt_s, {s: frozenset(v) for s, v in acceptable.items()},
                {s: frozenset(v) for s, v in primary.items()}, name, dict(s_titles), dict(t_titles))


# -- evaluating ----------------------------------------------------------------
@dataclass
class Evaluation:
    """Scores of one candidate set against one gold. ``by_level``/``by_section``
    map a group name to the same measures for that group's gold sources."""

    n: int
    top_k: dict[int, float]
    precision: float
    recall: float
    by_level: dict[str, dict]
    by_section: dict[str, dict]
    misses: list[dict]
    gold: str = ""
    min_score: Optional[float] = None

    def as_dict(self) -> dict:
        return {"gold": self.gold, "min_score": self.min_score,
                **_rounded({"n": self.n, "top_k": self.top_k, "precision": self.precision,
                            "recall": self.recall}),
                "by_level": {k: _rounded(v) for k, v in self.by_level.items()},
                "by_section": {k: _rounded(v) for k, v in self.by_section.items()},
                "misses": [dict(m) for m in self.misses]}

    def write_misses(self, path: str | Path) -> Path:
        """The misses as a CSV for reviewers: UTF-8 with BOM (Excel shows Cyrillic),
        spreadsheet-safe text, written atomically."""
        buf = io.StringIO(newline="")
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(MISS_COLUMNS)
        for m in self.misses:
            w.writerow([sheet_safe("" if m[c] is None else str(m[c])) for c in MISS_COLUMNS])
        return atomic_write(path, buf.getvalue().encode("utf-8-sig"))


MISS_COLUMNS = ("source_code", "source_title", "gold_targets", "predicted", "rank_of_first_correct")


def _rounded(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if k == "top_k":
            v = {str(kk): round(vv, 4) for kk, vv in v.items()}
        elif isinstance(v, float):
            v = round(v, 4)
        out[k] = v
    return out


@dataclass
class _Outcome:
    """One gold source: position of its first acceptable candidate (0-based, None
    if absent) and its predicted pairs."""

    first_correct: Optional[int]
    predicted: int
    correct: int
    primary: int
    primary_found: int


def _summary(outs: Iterable[_Outcome], ks: Sequence[int]) -> dict:
    outs = list(outs)
    n = len(outs)
    pred = sum(o.predicted for o in outs)
    corr = sum(o.correct for o in outs)
    prim = sum(o.primary for o in outs)
    found = sum(o.primary_found for o in outs)
    return {"n": n,
            "top_k": {k: (sum(1 for o in outs if o.first_correct is not None and o.first_correct < k) / n
                          if n else 0.0) for k in ks},
            "precision": corr / pred if pred else 0.0, "recall": found / prim if prim else 0.0,
            "predicted_pairs": pred, "correct_pairs": corr, "primary_pairs": prim, "primary_found": found}


def _level(scheme: str, code: str) -> str:
    lvl = code_level(scheme, code)
    return get_scheme(scheme).level_name(lvl) if lvl is not None else "other"


def _section(gold: Gold, source: str) -> str:
    """OKPDTR sources: their part; else the major group (ISCO/OKZ) or section letter
    (OKVED2/NACE/ISIC) of the first primary target."""
    if gold.source_scheme == "okpdtr":
        from .loaders.okpdtr import part_of
        return part_of(source)
    target = min(gold.primary[source], key=code_sort_key)
    if gold.target_scheme in _MAJOR_GROUP_SCHEMES:
        return target[:1]
    if gold.target_scheme in _SECTION_SCHEMES:
        from .loaders.sections import section_of
        return target[:1] if target[:1].isalpha() else (section_of(target) or "other")
    return "other"


def _group_key(k: str) -> tuple:
    return (k == "other", code_sort_key(k))


def _parse_ks(ks: Iterable[int]) -> tuple[int, ...]:
    ks = tuple(ks)
    out = sorted(set(ks))
    if not out or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in out):
        raise CrosswalkError(f"ks must be positive integers, not {list(ks)!r}")
    return tuple(out)


def evaluate(predicted: CandidateSet, gold: Gold, *, ks: Iterable[int] = (1, 3, 5),
             min_score: Optional[float] = None) -> Evaluation:
    """Score ``predicted`` over the gold's sources (a source without candidates is a
    miss at every k; candidates of sources outside the gold are not judged).

    Predicted pairs are the rank-1 candidates, or every candidate with
    ``score >= min_score`` when given. precision = acceptable pairs / predicted
    pairs; recall = primary gold pairs predicted / primary gold pairs.
    """
    if (predicted.source_scheme, predicted.target_scheme) != (gold.source_scheme, gold.target_scheme):
        raise CrosswalkError(
            f"candidates are {predicted.source_scheme}→{predicted.target_scheme} but the gold"
            f" {gold.name} is {gold.source_scheme}→{gold.target_scheme}"
            + ("; reverse the gold (--reverse)" if (predicted.target_scheme, predicted.source_scheme)
               == (gold.source_scheme, gold.target_scheme) else ""))
    ks = _parse_ks(ks)
    by = predicted.by_source()
    ttl = {**gold.target_titles, **predicted.target_titles}
    outcomes: dict[str, _Outcome] = {}
    misses = []
    for s, ok in gold.acceptable.items():
        ranked = by.get(s, [])
        first = next((i for i, c in enumerate(ranked) if c.target in ok), None)
        pairs = ranked[:1] if min_score is None else [c for c in ranked if c.score >= min_score]
        targets = {c.target for c in pairs}
        outcomes[s] = _Outcome(first, len(pairs), len(targets & ok), len(gold.primary[s]),
                               len(targets & gold.primary[s]))
        if first != 0:
            golds = sorted(gold.primary[s], key=code_sort_key) + sorted(ok - gold.primary[s], key=code_sort_key)
            misses.append({
                "source_code": s,
                "source_title": predicted.source_titles.get(s) or gold.source_titles.get(s, ""),
                "gold_targets": " | ".join(f"{t} {ttl.get(t, '')}".strip() for t in golds),
                "predicted": " | ".join(f"{c.target} {c.score:.4f} {ttl.get(c.target, '')}".strip()
                                        for c in ranked[:3]),
                "rank_of_first_correct": None if first is None else first + 1})
    total = _summary(outcomes.values(), ks)

    def grouped(key) -> dict[str, dict]:
        groups: dict[str, list[_Outcome]] = {}
        for s, o in outcomes.items():
            groups.setdefault(key(s), []).append(o)
        return {g: _summary(groups[g], ks) for g in sorted(groups, key=_group_key)}

    names = get_scheme(gold.source_scheme).levels
    by_level = grouped(lambda s: _level(gold.source_scheme, s))
    by_level = {k: by_level[k] for k in sorted(by_level, key=lambda k: names.index(k) if k in names else 99)}
    return Evaluation(total["n"], total["top_k"], total["precision"], total["recall"], by_level,
                      grouped(lambda s: _section(gold, s)), misses, gold.name, min_score)


__all__ = ["Evaluation", "Gold", "MISS_COLUMNS", "evaluate", "load_gold", "normalise_code"]
