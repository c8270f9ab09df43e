"""Candidate files: the ranked correspondences ``crosswalk match`` writes and
``evaluate``, ``graph`` and ``review`` read.

Two layouts, both deterministic byte for byte (rows sorted by source code, then
rank, whatever order the candidates came in):

* CSV (UTF-8): ``source_scheme,source_code,source_title,target_scheme,target_code,
  target_title,rank,score,evidence`` — score with 4 decimals, evidence a compact
  JSON object with sorted keys. The CSV has no edition columns.
* JSON: ``{"source_scheme", "target_scheme", "source_edition", "target_edition",
  "candidates": [{"source_code", "source_title", "target_code", "target_title",
  "rank", "score", "evidence"}]}``.

Spreadsheet safety (CSV only): a title starting with ``= + - @`` or a control
character would run as a formula in Excel, so it is written with a single quote
in front (``'=cmd``). A title that already starts with quotes followed by such a
character gets one more quote, so reading strips exactly one and gives back the
original text. Codes are never altered: a code starting with those characters
fits no scheme and is refused.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from operator import itemgetter
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any, Optional

from .codes import FORMAT_HELP, cell_code
from .errors import CrosswalkError, LoadError, Report
from .io import decode
from .io.atomic import atomic_write  # noqa: F401  (re-exported: writers import it from here)
from .model import SCHEMES, Candidate, code_sort_key

CSV_COLUMNS = ("source_scheme", "source_code", "source_title", "target_scheme", "target_code",
               "target_title", "rank", "score", "evidence")

_RISKY = re.compile(r"'*[=+\-@\x00-\x1f]")
_FLOAT = {float}


def _unit_floats(values) -> bool:
    """Every value a float in [0, 1] (NaN is not one), checked in C: the evidence of every
    candidates file crosswalk writes. False sends the values to the check of each."""
    vals = list(values)
    return not vals or (set(map(type, vals)) == _FLOAT and 0.0 <= min(vals) and max(vals) <= 1.0
                        and not any(map(math.isnan, vals)))
_DIGITS = re.compile(r"[0-9]+")


def sheet_safe(text: str) -> str:
    """Text a spreadsheet shows as text: a quote before a leading = + - @ or control
    character (and before quotes already leading to one, to keep it reversible)."""
    return "'" + text if _RISKY.match(text) else text


def sheet_unsafe(text: str) -> str:
    """Undo :func:`sheet_safe`."""
    return text[1:] if text.startswith("'") and _RISKY.match(text) else text


def _cand_key(c: Candidate) -> tuple:
    return (code_sort_key(c.source), c.rank, code_sort_key(c.target))


@dataclass
class CandidateSet:
    """Ranked candidates of one source scheme → target scheme run, with the titles
    of the codes involved. ``candidates`` is kept sorted by (source code, rank)."""

    source_scheme: str
    target_scheme: str
    candidates: list[Candidate]
    source_titles: dict[str, str] = field(default_factory=dict)
    target_titles: dict[str, str] = field(default_factory=dict)
    source_edition: str = ""
    target_edition: str = ""
    # the caller vouches the candidates are already in this order (the matcher sorts them
    # with integer keys): the sort below would only recompute its keys
    presorted: InitVar[bool] = False

    def __post_init__(self, presorted: bool):
        if presorted:
            return
        # the same order as _cand_key, with each code's sort key computed once (a matcher run
        # makes tens of thousands of candidates over a few thousand codes)
        cands = self.candidates
        s_key = {c: code_sort_key(c) for c in {x.source for x in cands}}
        t_key = {c: code_sort_key(c) for c in {x.target for x in cands}}
        self.candidates = sorted(cands, key=lambda x: (s_key[x.source], x.rank, t_key[x.target]))

    def by_source(self) -> dict[str, list[Candidate]]:
        """Source code -> its candidates, best first (sources in code order)."""
        out: dict[str, list[Candidate]] = {}
        for c in self.candidates:
            out.setdefault(c.source, []).append(c)
        return out

    def __len__(self) -> int:
        return len(self.candidates)


# -- writing -------------------------------------------------------------------
def _evidence(ev) -> dict[str, float]:
    return {k: round(float(v), 4) + 0.0 for k, v in sorted(ev.items())}


def _evidence_text(ev) -> str:
    return json.dumps(_evidence(ev), separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _check_writable(cset: CandidateSet) -> None:
    """Refuse what :func:`read_candidates` would reject: a file must always read back."""
    bad: list[str] = []
    for scheme in (cset.source_scheme, cset.target_scheme):
        if scheme not in SCHEMES:
            bad.append(f"unknown scheme {scheme!r}")
    pairs, ranks = set(), set()
    for c in cset.candidates:
        for scheme, code in ((cset.source_scheme, c.source), (cset.target_scheme, c.target)):
            if scheme in SCHEMES and (not isinstance(code, str) or cell_code(scheme, code)[1] is not None
                                      or code != code.strip()):
                bad.append(f"{scheme} code {code!r} is not {FORMAT_HELP[scheme]}")
        if (c.source, c.target) in pairs:
            bad.append(f"pair {c.source}→{c.target} twice")
        if (c.source, c.rank) in ranks:
            bad.append(f"rank {c.rank} twice for {c.source}")
        pairs.add((c.source, c.target))
        ranks.add((c.source, c.rank))
        for k, v in c.evidence.items():
            if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, (int, float)) \
                    or not 0.0 <= v <= 1.0:
                bad.append(f"evidence {k!r}: {v!r} of {c.source}→{c.target} is not a number in [0, 1]")
    if bad:
        more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
        raise CrosswalkError("cannot write candidates: " + "; ".join(bad[:5]) + more)


def _csv_bytes(cset: CandidateSet) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")  # "\n" alone would leave a lone "\r" unquoted
    w.writerow(CSV_COLUMNS)
    for c in cset.candidates:
        w.writerow([cset.source_scheme, c.source, sheet_safe(cset.source_titles.get(c.source, "")),
                    cset.target_scheme, c.target, sheet_safe(cset.target_titles.get(c.target, "")),
                    str(c.rank), f"{c.score + 0.0:.4f}", _evidence_text(c.evidence)])
    return buf.getvalue().encode("utf-8")


def _json_bytes(cset: CandidateSet) -> bytes:
    def dump(v) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))

    meta = {"source_scheme": cset.source_scheme, "target_scheme": cset.target_scheme,
            "source_edition": cset.source_edition, "target_edition": cset.target_edition}
    rows = [dump({"source_code": c.source, "source_title": cset.source_titles.get(c.source, ""),
                  "target_code": c.target, "target_title": cset.target_titles.get(c.target, ""),
                  "rank": c.rank, "score": round(c.score, 4) + 0.0, "evidence": _evidence(c.evidence)})
            for c in cset.candidates]
    # one candidate per line: readable, and diffs of two runs stay small
    body = "[\n" + ",\n".join("  " + r for r in rows) + "\n ]" if rows else "[]"
    text = "{\n" + "".join(f" {dump(k)}: {dump(v)},\n" for k, v in meta.items()) + f' "candidates": {body}\n}}\n'
    return text.encode("utf-8")


def write_candidates(path: str | Path, cset: CandidateSet, *, format: Optional[str] = None) -> Path:
    """Write ``cset`` as CSV or JSON (``format``, else from the suffix), atomically."""
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in ("csv", "json"):
        raise CrosswalkError(f"{path}: cannot tell the format from the suffix {path.suffix!r};"
                             " use .csv or .json or pass format='csv'/'json'")
    _check_writable(cset)
    return atomic_write(path, _csv_bytes(cset) if fmt == "csv" else _json_bytes(cset))


# -- reading -------------------------------------------------------------------
class _Collector:
    """Checks candidate rows one field at a time, collecting every problem."""

    def __init__(self, report: Report):
        self.report = report
        self.schemes: dict[str, str] = {}
        self.cands: list[Candidate] = []
        self.titles: dict[str, dict[str, tuple[str, int]]] = {"source": {}, "target": {}}
        self.pairs: dict[tuple[str, str], int] = {}
        self.ranks: dict[tuple[str, int], int] = {}
        self.valid_codes: dict[tuple[str, str], str] = {}   # (scheme, cell) -> code: a code recurs per candidate

    def err(self, kind: str, msg: str, row, column, value) -> None:
        self.report.error(kind, msg, row=row, column=column, value=value)

    def scheme(self, side: str, value: Any, row: int, column: str) -> Optional[str]:
        first = self.schemes.get(side)
        if first is not None and value == first:      # the scheme of every earlier row
            return first
        if not isinstance(value, str) or value.strip() not in SCHEMES:
            self.err("scheme", f"{column} must be one of {', '.join(sorted(SCHEMES))}", row, column, value)
            return None
        value = value.strip()
        first = self.schemes.setdefault(side, value)
        if first != value:
            self.err("mixed_schemes", f"{column} is {first!r} in earlier rows; one file holds one"
                     " source scheme and one target scheme", row, column, value)
            return None
        return value

    def code(self, scheme: Optional[str], value: Any, row: int, column: str) -> Optional[str]:
        if not isinstance(value, str):
            self.err("code_type", "codes must be text (a number loses leading zeros)", row, column, value)
            return None
        if not value.strip():
            self.err("empty_code", "code is empty", row, column, value)
            return None
        if scheme is None:
            return value.strip()
        code = self.valid_codes.get((scheme, value))
        if code is not None:
            return code
        code, problem, msg = cell_code(scheme, value)
        if problem is not None or code != value:
            self.err("code_format", msg or f"code {value!r} has surrounding spaces", row, column, value)
            return None
        self.valid_codes[scheme, value] = code
        return code

    def rank(self, value: Any, row: int, column: str = "rank") -> Optional[int]:
        if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.err("rank", "rank must be a positive integer", row, column, value)
            return None
        return value

    def score(self, value: Any, row: int, column: str = "score") -> Optional[float]:
        raw = value
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            self.err("score", "score must be a number in [0, 1]", row, column, raw)
            return None
        return float(value)

    def evidence(self, value: Any, row: int, column: str = "evidence") -> Optional[dict]:
        raw = value
        if isinstance(value, str):
            if not value.strip():
                return {}
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                self.err("evidence", f"evidence is not JSON ({exc.msg})", row, column, raw)
                return None
        floats = isinstance(value, dict) and _unit_floats(value.values())
        ok = floats or isinstance(value, dict) and all(
            not isinstance(v, bool) and isinstance(v, (int, float)) and 0.0 <= v <= 1.0
            for v in value.values())
        if not ok:
            self.err("evidence", "evidence must be a JSON object of signal -> number in [0, 1]",
                     row, column, raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False))
            return None
        if floats and isinstance(raw, str):
            return value                 # parsed here, floats already: nobody else holds it
        return {k: float(v) for k, v in value.items()}

    def title(self, side: str, code: Optional[str], value: Any, row: int, column: str) -> bool:
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.err("title", "title must be text", row, column, value)
            return False
        if code is None or not value:
            return True
        seen = self.titles[side].setdefault(code, (value, row))
        if seen[0] != value:
            self.err("title_conflict", f"{side} {code} has the title {seen[0]!r} in row {seen[1]}",
                     row, column, value)
            return False
        return True

    def add(self, row: int, source, target, rank, score, evidence, ok: bool) -> None:
        self.report.rows_read += 1
        if ok and None not in (source, target, rank, score, evidence):
            if (source, target) in self.pairs:
                self.err("duplicate_pair", f"{source}→{target} is already in row {self.pairs[source, target]}",
                         row, "target_code", target)
            elif (source, rank) in self.ranks:
                self.err("duplicate_rank", f"{source} already has rank {rank} in row"
                         f" {self.ranks[source, rank]}", row, "rank", rank)
            else:
                self.pairs[source, target] = row
                self.ranks[source, rank] = row
                self.cands.append(Candidate(source, target, score, rank, evidence))
                self.report.rows_loaded += 1
                return
        self.report.rows_rejected += 1


def problem_text(p) -> str:
    """A problem without its file name (the message names the file once)."""
    where = ", ".join(w for w in (f"row {p.row}" if p.row is not None else "",
                                  f"column {p.column}" if p.column else "") if w)
    value = f" (value {p.value!r})" if p.value is not None else ""
    return f"{where + ': ' if where else ''}[{p.kind}] {p.message}{value}"


def _decode(data: bytes, report: Report) -> str:
    try:  # files we wrote: strict UTF-8, no garbling heuristics on legitimate titles
        text = data.decode("utf-8-sig")
        report.encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
        return text
    except UnicodeDecodeError:
        return decode(data, report)  # re-saved by a spreadsheet: cp1251, garbling checked


def _read_csv(text: str, col: _Collector, report: Report) -> None:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            report.error("empty", "the file is empty; expected the header " + ",".join(CSV_COLUMNS), row=1)
            return
        names = [h.strip() for h in header]
        missing = [c for c in CSV_COLUMNS if c not in names]
        for c in missing:
            report.error("header", f"column {c!r} is missing; the header must hold {','.join(CSV_COLUMNS)}",
                         row=1, column=c)
        if missing:
            return
        at = [names.index(c) for c in CSV_COLUMNS]
        width, pick = max(at) + 1, itemgetter(*at)
        line = reader.line_num + 1
        for values in reader:
            row, line = line, reader.line_num + 1
            if not "".join(values).strip():      # every cell blank
                continue
            if len(values) < width:              # a short row: its missing cells are empty
                values = values + [""] * (width - len(values))
            s_scheme, s_code, s_title, t_scheme, t_code, t_title, rank, score, evidence = pick(values)
            ss = col.scheme("source", s_scheme, row, "source_scheme")
            ts = col.scheme("target", t_scheme, row, "target_scheme")
            src = col.code(ss, s_code, row, "source_code")
            tgt = col.code(ts, t_code, row, "target_code")
            ok = col.title("source", src, sheet_unsafe(s_title), row, "source_title")
            ok &= col.title("target", tgt, sheet_unsafe(t_title), row, "target_title")
            col.add(row, src, tgt, col.rank(rank, row), col.score(score, row),
                    col.evidence(evidence, row), ok and None not in (ss, ts))
    except csv.Error as exc:
        report.error("csv_syntax", f"cannot parse as CSV: {exc}", row=reader.line_num)


_JSON_KEYS = ("source_code", "target_code", "rank", "score")


def _read_json(text: str, col: _Collector, report: Report) -> dict:
    from .io.jsontext import check_shape
    try:
        check_shape(text, report)           # nesting, values, string length: a limit is reported
    except LoadError:
        return {}
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        report.error("json_syntax", f"invalid JSON: {exc.msg}", row=exc.lineno, column=f"char {exc.colno}")
        return {}
    if not isinstance(doc, dict) or not isinstance(doc.get("candidates"), list):
        report.error("layout", 'expected an object with "source_scheme", "target_scheme" and a'
                     ' "candidates" list')
        return {}
    ss = col.scheme("source", doc.get("source_scheme"), None, "source_scheme")
    ts = col.scheme("target", doc.get("target_scheme"), None, "target_scheme")
    for n, e in enumerate(doc["candidates"], start=1):
        if not isinstance(e, dict):
            report.error("layout", "each candidate must be an object", row=n, value=json.dumps(e))
            report.rows_read += 1
            report.rows_rejected += 1
            continue
        missing = [k for k in _JSON_KEYS if k not in e]
        for k in missing:
            report.error("missing_key", f"candidate has no {k!r}", row=n, column=k)
        src = col.code(ss, e.get("source_code"), n, "source_code") if "source_code" in e else None
        tgt = col.code(ts, e.get("target_code"), n, "target_code") if "target_code" in e else None
        ok = col.title("source", src, e.get("source_title"), n, "source_title")
        ok &= col.title("target", tgt, e.get("target_title"), n, "target_title")
        col.add(n, src, tgt, col.rank(e.get("rank"), n) if "rank" in e else None,
                col.score(e.get("score"), n) if "score" in e else None,
                col.evidence(e.get("evidence", {}), n), ok and not missing and None not in (ss, ts))
    return doc


def read_candidates(path: str | Path) -> CandidateSet:
    """Read a candidates file in either layout (told apart by its content).

    Raises :class:`LoadError` carrying a :class:`Report` of every problem (file,
    row, column, value, rule) when any row is malformed; nothing is half-loaded.
    """
    from .io.encoding import read_bytes
    path = Path(path)
    report = Report(file=str(path))
    data = read_bytes(path, report, lines=not path.suffix.lower() == ".json")   # size, lines: the limits
    text = _decode(data, report)
    col = _Collector(report)
    doc: dict = {}
    if text.lstrip().startswith("{"):
        doc = _read_json(text, col, report)
    else:
        _read_csv(text, col, report)
    if report.ok and len(col.schemes) < 2:
        report.error("empty", "no candidate rows: the schemes are unknown")
    report.check_accounting()
    if not report.ok:
        errs = report.errors
        more = f"; … {len(errs) - 5} more" if len(errs) > 5 else ""
        raise LoadError(f"{path}: {len(errs)} problem(s) in the candidates file: "
                        + "; ".join(problem_text(p) for p in errs[:5]) + more, report)
    titles = {side: {c: t for c, (t, _) in col.titles[side].items()} for side in col.titles}
    return CandidateSet(col.schemes["source"], col.schemes["target"], col.cands,
                        titles["source"], titles["target"],
                        str(doc.get("source_edition") or ""), str(doc.get("target_edition") or ""))


__all__ = ["CSV_COLUMNS", "CandidateSet", "atomic_write", "read_candidates", "sheet_safe",
           "sheet_unsafe", "write_candidates"]
