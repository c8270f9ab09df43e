"""`crosswalk code`: free-text job titles and activity descriptions → codes of a classification.

Vacancy titles, survey answers and register entries arrive as text. They are coded with the
matching engine (the same signals, scores and evidence as crosswalk links):

1. **Deduplicate**: every cell is reduced to its matching form (``normalize.fold``: case, ё,
   look-alike letters, punctuation, spaces), so a million rows with 50,000 distinct titles cost
   50,000 matches. Each distinct title gets a stable key, ``T`` + 12 hex digits of the SHA-1 of
   its matching form: the same title is the same review-store item in every run and file.
2. **Route by language**: a Russian title is matched against a Russian classification and an
   English one against an English one. Where the target is in the other language, its
   same-coded sibling is used (ISCO-08 for English titles coded to OKZ-2014 and OKZ-2014 for
   Russian titles coded to ISCO-08; NACE Rev.2 for OKVED2), keeping only codes the target has.
3. **Learn**: reviewer-confirmed codings into the target scheme — confirmed free-text titles
   and confirmed links of any classification (an OKPDTR title confirmed to an OKZ group) —
   are training data: a title confirmed before gets its confirmed code(s) outright, and the
   nearest confirmed titles vote for the rest (the ``learned`` signal).
4. **Review**: a title is ``coded`` when its best candidate is right often enough: where a
   calibration map fitted on gold exists for the run (match/calibrate.py: same language,
   classification and signals), when the map's precision for its score is at least 95 %;
   elsewhere (or with an explicit ``min_score``) when its score is at least ``min_score``
   (0.5 by default). Other titles are marked ``review``; given a
   review store, its candidates are proposed there as pending links ``text:T… → scheme:code``,
   so reviewers settle them with the browser app or the workbook like any other link.

Every input row comes out, in input order, with a status: ``coded``, ``review``, ``confirmed``
(a reviewer's code), ``no_match`` (nothing scored above zero) or ``empty`` (no text).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from .candidates import CandidateSet, _evidence_text
from .errors import CrosswalkError, Report
from .errors import listing as _listing
from .model import Candidate, Classification, Item, code_sort_key

TEXT_SCHEME = "text"
STATUSES = ("coded", "review", "confirmed", "no_match", "empty")
# classifications sharing codes with another in a different language: titles in that
# language are matched against the sibling (the codes are the same, by design)
SIBLINGS: dict[str, tuple[str, ...]] = {
    "okz2014": ("isco08",), "isco08": ("okz2014",), "okved2": ("nace2",), "nace2": ("okved2",)}
# the level coded to by default: the deepest one every branch reaches (OKVED2 classes,
# not the subclasses and types only some classes have); otherwise the deepest level
DEFAULT_LEVEL = {"okved2": "class", "nace2": "class", "isic4": "class"}
# where no calibration map fits a run, a title scoring below this goes to review: a plain
# threshold, not a measured precision (on the OKPDTR dev titles coded as free text, before the
# indexes: top-1 precision 10-19 % from 0.1 to 0.3 and 40-100 % from 0.4 up, reports/code.json)
DEFAULT_MIN_SCORE = 0.5
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")

Progress = Callable[[str, int, int], None]


def title_key(text: str) -> str:
    """The form two titles share when they are the same title (``normalize.fold``)."""
    from .normalize import fold
    return fold(text) if isinstance(text, str) else ""


def key_code(key: str) -> str:
    """The stable code of a distinct title: ``T`` + 12 hex digits of SHA-1 of its key."""
    return "T" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def language_of(text: str) -> str:
    """"ru" when a title has at least as many Cyrillic letters as Latin ones, else "en"."""
    return "en" if len(_LATIN.findall(text)) > len(_CYRILLIC.findall(text)) else "ru"


@dataclass
class TitleCoding:
    """The coding of distinct titles (one row per title key)."""

    target_scheme: str
    keys: list[str]                                     # matching forms, sorted
    codes: list[str]                                    # T… code of each key
    titles: list[str]                                   # the spelling shown for each key
    languages: list[str]
    candidates: dict[str, list[Candidate]]              # T… code -> candidates, best first
    status: dict[str, str]                              # T… code -> coded/review/confirmed/no_match/empty
    target_titles: dict[str, str]
    report: Report
    learned_from: int = 0                               # confirmed (title, code) pairs used
    calibration: dict = field(default_factory=dict)     # language -> calibration signature used (None: none)

    def candidate_set(self) -> CandidateSet:
        """Every candidate as a CandidateSet of ``text`` → target (the review store reads it)."""
        cands = [c for code in self.codes for c in self.candidates.get(code, [])]
        return CandidateSet(TEXT_SCHEME, self.target_scheme, cands,
                            source_titles=dict(zip(self.codes, self.titles)),
                            target_titles=dict(self.target_titles))


def _flat(cls: Classification, level: int) -> Classification:
    """The items of one level as a flat list (free text is compared with them only)."""
    items = [Item(it.code, it.title, it.level, None, it.notes, it.attrs) for it in cls if it.level == level]
    return Classification(cls.scheme, items, edition=cls.edition, language=cls.language, source=cls.source)


def resolve_level(cls: Classification, level: Union[int, str, None]) -> int:
    if level is None:
        name = DEFAULT_LEVEL.get(cls.scheme.id)
        present = sorted({it.level for it in cls})
        if name and name in cls.scheme.levels and cls.scheme.levels.index(name) + 1 in present:
            return cls.scheme.levels.index(name) + 1
        return present[-1]
    from .apply import level_number
    return level_number(cls, level)


def _route(target: Classification, context: Sequence[Classification], language: str,
           embeddings: bool) -> Optional[Classification]:
    """The classification titles of ``language`` are matched against: the target itself, or
    a same-coded sibling in that language; None where none is (and no embeddings)."""
    if target.language == language:
        return target
    for c in context:
        if c.language == language and c.scheme.id in SIBLINGS.get(target.scheme.id, ()):
            return c
    return target if embeddings else None


def code_titles(titles: Iterable[str], target: Classification, *, context: Sequence[Classification] = (),
                confirmed: Iterable[tuple[str, str]] = (), level: Union[int, str, None] = None,
                limit: int = 3, min_score: Optional[float] = None, score_cutoff: float = 0.0,
                embeddings: bool = False, embedder=None, workers: int = -1,
                weights: Optional[Mapping[str, float]] = None, indexes: Sequence = (),
                progress: Optional[Progress] = None) -> TitleCoding:
    """Code distinct free-text titles to ``target`` (its items of ``level``).

    ``titles``: texts (repeats and spelling variants are coded once). ``context``:
    classifications sharing the target's codes (ISCO-08 for OKZ-2014), used for their
    definitions and for titles in their language. ``confirmed``: (title, target code) pairs
    a reviewer confirmed. Returns one entry per distinct title key."""
    if limit < 1:
        raise CrosswalkError(f"top must be a positive number of codes, not {limit}")
    for name, v in (("min_score", min_score), ("score_cutoff", score_cutoff)):
        if v is not None and not 0.0 <= v <= 1.0:
            raise CrosswalkError(f"{name} must lie in [0, 1], not {v}")
    lvl = resolve_level(target, level)
    report = Report(scheme=TEXT_SCHEME)
    spelled: dict[str, str] = {}
    for t in titles:
        t = _cell(t)
        k = title_key(t)
        if k not in spelled or _spelling_rank(t) < _spelling_rank(spelled[k]):
            spelled[k] = t
    return _code_keys(spelled, {}, target, lvl, context=context, confirmed=confirmed, limit=limit,
                      min_score=min_score, score_cutoff=score_cutoff, embeddings=embeddings,
                      embedder=embedder, workers=workers, weights=weights, progress=progress, report=report,
                      indexes=indexes)


def _code_keys(spelled: dict[str, str], counts: Mapping[str, int], target: Classification, lvl: int, *,
               context, confirmed, limit, min_score, score_cutoff, embeddings, embedder, workers, weights,
               progress, report: Report, indexes: Sequence = ()) -> TitleCoding:
    from .match import match
    keys = sorted(spelled)
    codes = [key_code(k) for k in keys]
    shown = [spelled[k] for k in keys]
    langs = [language_of(k) for k in keys]
    flat = _flat(target, lvl)
    if not len(flat):
        held = ", ".join(f"{k} {v}" for k, v in target.counts_by_level().items() if v)
        raise CrosswalkError(f"{target.scheme.id}{' (' + target.source + ')' if target.source else ''} has no"
                             f" {target.scheme.level_name(lvl)} items to code to; it holds {held or 'nothing'}")
    t_titles = {it.code: it.title for it in flat}

    # training pairs: (key, target code) of confirmed titles whose code the target has
    train: dict[str, set[str]] = {}
    train_title: dict[str, str] = {}
    unknown = set()
    for title, code in confirmed:
        k = title_key(title)
        if not k:
            continue
        if code not in t_titles:
            unknown.add(code)
            continue
        train.setdefault(k, set()).add(code)
        train_title.setdefault(k, title)
    if unknown:
        report.warning("confirmed_code", f"{len(unknown)} confirmed code(s) are not {target.scheme.id} items"
                       f" of level {lvl} and were not learned from: {_listing(sorted(unknown, key=code_sort_key))}")

    out: dict[str, list[Candidate]] = {}
    status: dict[str, str] = {}
    calibrations: dict[str, Optional[str]] = {}
    for code, k in zip(codes, keys):
        if not k:
            status[code] = "empty"
        elif k in train:
            status[code] = "confirmed"
            out[code] = [Candidate(code, t, 1.0, r, {"confirmed": 1.0})
                         for r, t in enumerate(sorted(train[k], key=code_sort_key)[:limit], 1)]

    for lang in ("ru", "en"):
        todo = [i for i, k in enumerate(keys) if k and langs[i] == lang and status.get(codes[i]) is None]
        if not todo:
            continue
        against = _route(target, context, lang, embeddings)
        if against is None:
            n_rows = sum(counts.get(keys[i], 1) for i in todo)
            report.error("language", f"{len(todo)} title(s) in {_LANG[lang]} ({n_rows} row(s)), e.g."
                         f" {shown[todo[0]]!r}: nothing in {_LANG[lang]} describes {target.scheme.id};"
                         " give a same-coded classification in that language or use embeddings")
            for i in todo:
                status[codes[i]] = "no_match"
            continue
        against_flat = flat if against is target else _flat(against, lvl)
        ctx = [c for c in (target, *context) if c is not against]
        items = {codes[i]: Item(codes[i], shown[i], 1) for i in todo}
        pairs = []
        for k, ts in train.items():
            if language_of(k) != lang:
                continue
            c = key_code(k)
            items.setdefault(c, Item(c, train_title[k], 1))
            pairs += [(c, t) for t in ts if t in against_flat]
        source = Classification(TEXT_SCHEME, items.values(), language=lang)
        # word weights from the classification and the indexes alone (match's default): a title
        # gets the same codes and scores in every file, whatever other titles the file holds
        cset = match(source, against_flat, target_context=ctx, confirmed=pairs or None, embeddings=embeddings,
                     indexes=indexes, embedder=embedder, weights=weights, limit=limit if against is target else limit * 2,
                     score_cutoff=score_cutoff, workers=workers,
                     progress=(lambda d, t, lang=lang: progress(f"coding {_LANG[lang]} titles", d, t))
                     if progress else None,
                     embed_progress=(lambda what, d, t: progress(f"embedding {what}", d, t)) if progress else None)
        good, calibrations[lang] = _coded_rule(cset, lang, against.scheme.id, min_score, report,
                                               getattr(embedder, "model", None), indexes)
        wanted = {codes[i] for i in todo}
        dropped = set()
        for src, cands in cset.by_source().items():
            if src not in wanted:
                continue                                   # a confirmed title only taught
            kept = [c for c in cands if c.target in t_titles]
            dropped |= {c.target for c in cands if c.target not in t_titles}
            out[src] = [Candidate.trusted(c.source, c.target, c.score, r, dict(c.evidence))
                        for r, c in enumerate(kept[:limit], 1)]
        if dropped:
            report.info("sibling_codes", f"{len(dropped)} {against.scheme.id} code(s) proposed for"
                        f" {_LANG[lang]} titles are not {target.scheme.id} items and were left out:"
                        f" {_listing(sorted(dropped, key=code_sort_key))}")
        for i in todo:
            c = out.get(codes[i])
            status[codes[i]] = ("no_match" if not c else "coded" if good(c[0].score) else "review")
    return TitleCoding(target.scheme.id, keys, codes, shown, langs, out, status, t_titles, report,
                       learned_from=sum(len(v) for v in train.values()), calibration=calibrations)


def _coded_rule(cset, lang: str, scheme: str, min_score: Optional[float], report: Report, model=None,
                indexes: Sequence = ()):
    """``score -> coded?`` and the calibration signature used (None: the plain threshold)."""
    from .match.calibrate import CODED_PRECISION, lookup, signature
    if min_score is None:
        signals = {n for c in cset.candidates for n in c.evidence}
        names = [ix.name for ix in indexes]
        cal = lookup(lang, scheme, signals, model, names)
        if cal is not None:
            return ((lambda score: cal.precision(score) >= CODED_PRECISION),
                    signature(lang, scheme, signals, model, names))
        report.info("calibration", f"no calibration against gold for {_LANG[lang]} titles matched to {scheme}"
                    f" with the signals {', '.join(sorted(signals)) or 'none'}: `coded` means a score of at"
                    f" least {DEFAULT_MIN_SCORE}, not a measured precision")
        min_score = DEFAULT_MIN_SCORE
    return (lambda score: score >= min_score), None


_LANG = {"ru": "Russian", "en": "English"}


# -- data files --------------------------------------------------------------------------
@dataclass
class CodeResult:
    rows: pd.DataFrame                  # the input rows, in input order, with the coding columns
    titles: pd.DataFrame                # one row per distinct title: rows covered, codes, status
    coding: TitleCoding
    report: Report
    summary: dict = field(default_factory=dict)
    proposed: int = 0                   # new review-store events (pending links proposed)


def output_columns(scheme: str, limit: int) -> list[str]:
    cols = []
    for r in range(1, limit + 1):
        cols += [f"{scheme}_code_{r}", f"{scheme}_title_{r}", f"{scheme}_score_{r}", f"{scheme}_evidence_{r}"]
    return cols + [f"{scheme}_status", "text_key"]


def _per_title(coding: TitleCoding, limit: int) -> dict[str, list]:
    scheme = coding.target_scheme
    cols: dict[str, list] = {c: [] for c in output_columns(scheme, limit)}
    for code in coding.codes:
        cands = coding.candidates.get(code, [])
        for r in range(1, limit + 1):
            c = cands[r - 1] if r <= len(cands) else None
            cols[f"{scheme}_code_{r}"].append(c.target if c else "")
            cols[f"{scheme}_title_{r}"].append(coding.target_titles.get(c.target, "") if c else "")
            cols[f"{scheme}_score_{r}"].append(round(c.score, 4) if c else np.nan)
            cols[f"{scheme}_evidence_{r}"].append(_evidence_text(c.evidence) if c else "")
        cols[f"{scheme}_status"].append(coding.status[code])
        cols["text_key"].append(code)
    return cols


def code_frame(df: pd.DataFrame, column: str, target: Classification, *, where: str = "data",
               context: Sequence[Classification] = (), confirmed: Iterable[tuple[str, str]] = (),
               level: Union[int, str, None] = None, limit: int = 3, min_score: Optional[float] = None,
               score_cutoff: float = 0.0, embeddings: bool = False, embedder=None, workers: int = -1,
               weights: Optional[Mapping[str, float]] = None, store=None, reviewer: str = "crosswalk",
               progress: Optional[Progress] = None, report: Optional[Report] = None,
               indexes: Sequence = ()) -> CodeResult:
    """Code the texts of ``df[column]``: the rows come back in input order with the top
    ``limit`` codes, titles, scores, evidence and a status; ``titles`` lists each distinct title
    with the number of rows it covers. With a ``store`` (a ReviewStore), titles marked
    ``review`` are proposed there and confirmed codings in it are learned from."""
    if column not in df.columns:
        raise CrosswalkError(f"{where}: no column {column!r}; columns: {', '.join(map(str, df.columns))}")
    if limit < 1:
        raise CrosswalkError(f"top must be a positive number of codes, not {limit}")
    report = report if report is not None else Report(file=where)
    new_cols = output_columns(target.scheme.id, limit)
    clash = [c for c in new_cols if c in df.columns]
    if clash:
        raise CrosswalkError(f"{where}: column(s) {', '.join(clash)} already exist; rename them or code to"
                             " another file (the coding columns would overwrite them)")
    # distinct cells first (a million rows hold far fewer texts), then their matching forms
    raw_ids, raw_values = pd.factorize(df[column], use_na_sentinel=False)
    raw_uniques = [_cell(v) for v in raw_values]
    raw_keys = np.array([title_key(u) for u in raw_uniques], dtype=object)
    key_ids, key_uniques = pd.factorize(raw_keys, sort=True)
    inverse = key_ids[raw_ids]                                   # row -> distinct title
    rows_per_key = np.bincount(inverse, minlength=len(key_uniques))
    # the spelling shown for a title: its most frequent raw form (ties: _spelling_rank),
    # whatever the order of the rows
    raw_counts = np.bincount(raw_ids, minlength=len(raw_uniques))
    order = sorted(range(len(raw_uniques)), key=lambda i: (key_ids[i], -raw_counts[i], *_spelling_rank(raw_uniques[i])))
    spelled: dict[str, str] = {}
    for i in order:
        spelled.setdefault(key_uniques[key_ids[i]], raw_uniques[i])
    counts = {k: int(n) for k, n in zip(key_uniques, rows_per_key)}

    learned = list(confirmed)
    if store is not None:
        learned += [(s.source_title, s.key.target_code) for s in store.links(
            target_scheme=target.scheme.id, status="confirmed") if s.source_title]
    lvl = resolve_level(target, level)
    coding = _code_keys(spelled, counts, target, lvl, context=context, confirmed=learned, limit=limit,
                        min_score=min_score, score_cutoff=score_cutoff, embeddings=embeddings,
                        embedder=embedder, workers=workers, weights=weights, progress=progress, report=report,
                        indexes=indexes)
    per = _per_title(coding, limit)
    if list(key_uniques) != coding.keys:    # factorize(sort=True) numbered the keys in this order
        raise AssertionError("title keys out of order")   # pragma: no cover
    rows = df.copy()
    for name, vals in per.items():
        arr = np.asarray(vals, dtype=np.float64 if name.startswith(f"{target.scheme.id}_score_") else object)
        # object columns of references to each title's texts: a million rows repeat a few
        # thousand titles and evidence strings (pandas would copy every cell into a string array)
        rows[name] = pd.Series(arr[inverse], index=rows.index, dtype=arr.dtype)
    titles = pd.DataFrame({"text_key": per["text_key"], "title": coding.titles, "language": coding.languages,
                           "rows": rows_per_key.astype(np.int64),
                           **{k: v for k, v in per.items() if k != "text_key"}})
    titles = titles.sort_values(["rows", "text_key"], ascending=[False, True], kind="stable").reset_index(drop=True)

    empty_rows = np.flatnonzero(inverse == _empty_index(key_uniques))
    if len(empty_rows):
        src_rows = df.attrs.get("rows")
        shown = [str(int(src_rows[i]) if src_rows is not None else i + 1) for i in empty_rows]
        report.warning("empty_title", f"{len(empty_rows)} row(s) have no text in {column!r} and are not coded"
                       f" (status empty): rows {_listing(shown)}", column=column)

    proposed = 0
    if store is not None:
        # every item of the level, so a reviewer may pick a code none of the candidates named
        store.register_items(target.scheme.id, sorted(coding.target_titles.items()))
        review = {c for c, s in coding.status.items() if s == "review"}
        cset = coding.candidate_set()
        cset.candidates = [c for c in cset.candidates if c.source in review]
        proposed = store.propose_candidates(cset, flags_by_source={c: ("free-text",) for c in review},
                                            reviewer=reviewer, origin="code")
        # the rows each title covers: the review queue puts the most frequent titles first
        store.record_text_rows({c: int(n) for c, n in zip(coding.codes, rows_per_key)
                                if coding.status[c] != "empty"})
    by_status_rows = {s: 0 for s in STATUSES}
    by_status_titles = {s: 0 for s in STATUSES}
    for code, n in zip(coding.codes, rows_per_key):
        s = coding.status[code]
        by_status_rows[s] += int(n)
        by_status_titles[s] += 1
    if sum(by_status_rows.values()) != len(df):     # every row comes out with exactly one status
        raise AssertionError("coding lost rows")   # pragma: no cover
    report.rows_read = report.rows_read or len(df)
    report.rows_loaded = len(df)
    summary = {"rows": len(df), "distinct": len(coding.codes), "column": column,
               "target": target.scheme.id, "level": target.scheme.level_name(lvl),
               "rows_by_status": by_status_rows, "titles_by_status": by_status_titles,
               "languages": {lang: coding.languages.count(lang) for lang in sorted(set(coding.languages))},
               "learned_from": coding.learned_from, "proposed_to_review": proposed,
               "min_score": min_score, "calibration": coding.calibration, "top": limit}
    return CodeResult(rows, titles, coding, report, summary, proposed)


_MIXED_WORD = re.compile(r"\w*(?:[\u0400-\u04ff]\w*[A-Za-z]|[A-Za-z]\w*[\u0400-\u04ff])\w*")


def _spelling_rank(text: str) -> tuple:
    """Of equally frequent spellings, show one without Latin letters hidden in Cyrillic words,
    not in capitals, then the first in text order."""
    mixed = bool(_LATIN.search(text) and _CYRILLIC.search(text) and _MIXED_WORD.search(text))
    return (mixed, text.isupper(), text)


def _cell(v) -> str:
    """A title cell as text (numbers as written, missing as empty), surrounding spaces cut."""
    if isinstance(v, str):
        return v.strip()
    if v is None or (isinstance(v, float) and v != v):
        return ""
    from .io.frames import _cell_text
    return _cell_text(v).strip()


def _empty_index(key_uniques) -> int:
    hits = np.flatnonzero(np.asarray(key_uniques, dtype=object) == "")
    return int(hits[0]) if len(hits) else -1


def load_classifiers(paths: Iterable[Union[str, Path]], scheme: str, *, strict: bool = False,
                     indexes: Optional[list] = None) -> tuple[Classification, list[Classification], list[dict]]:
    """The classification of ``scheme``, its same-coded siblings (from files or folders; of
    several files of one scheme, the largest: the full table over an excerpt, with the codes
    only a complementary file of the same edition holds) and what is used: one entry per
    classification with its file, item count and whether it is only a bundled excerpt
    (:func:`crosswalk.loaders.usage`). ``indexes``: a list the coding indexes found among the
    files (ESCO occupations) are appended to."""
    from .api import expand_paths
    from .build import BuildResult, _load_all
    from .model import get_scheme
    get_scheme(scheme)
    paths = list(paths)
    files = expand_paths(paths)
    found = BuildResult(Path("."))
    classes, _, skipped = _load_all(files, found, strict=strict)
    if indexes is not None:
        indexes += found.indexes
    if scheme not in classes:
        why = ("; could not load: " + "; ".join(skipped[:3])) if skipped else ""
        raise CrosswalkError(f"no {scheme} classification among {', '.join(map(str, paths))}"
                             f" (found: {', '.join(sorted(classes)) or 'none'}){why}")
    siblings = [s for s in SIBLINGS.get(scheme, ()) if s in classes]
    used = [u for s in (scheme, *siblings) for u in found.used if u["scheme"] == s]
    return classes[scheme], [classes[s] for s in siblings], used


def load_target(paths: Iterable[Union[str, Path]], scheme: str, *, strict: bool = False,
                indexes: Optional[list] = None) -> tuple[Classification, list[Classification]]:
    """The classification of ``scheme`` and its same-coded siblings (see :func:`load_classifiers`)."""
    target, context, _ = load_classifiers(paths, scheme, strict=strict, indexes=indexes)
    return target, context


def code(data: Union[str, Path], *, column: str, to: str, classifiers: Iterable[Union[str, Path]],
         output: Union[str, Path, None] = None, titles_output: Union[str, Path, None] = None,
         level: Union[int, str, None] = None, limit: int = 3, min_score: Optional[float] = None,
         embeddings: bool = False, embedder=None, store=None, reviewer: str = "crosswalk",
         sheet: Optional[str] = None, delimiter: Optional[str] = None, workers: int = -1,
         indexes: Iterable[Union[str, Path]] = (), progress: Optional[Progress] = None,
         strict: bool = False) -> CodeResult:
    """``crosswalk code``: read DATA (CSV in UTF-8 or cp1251 with any delimiter, xlsx, parquet),
    code ``column`` to scheme ``to`` (loaded from ``classifiers``: files or folders), and write
    the rows (and the distinct titles) as CSV, xlsx or parquet by suffix — atomic and
    spreadsheet-safe. ``indexes``: coding-index files (ESCO occupations, past codings); those
    among the ``classifiers`` are used too."""
    from .api import read_indexes
    from .io.frames import read_data, write_frame
    found: list = []
    target, context, used = load_classifiers(classifiers, to, strict=strict, indexes=found)
    ixs = found + read_indexes(indexes, to)
    # the file's columns come out as they went in (numbers stay numbers, spaces stay)
    df, report = read_data(data, sheet=sheet, delimiter=delimiter, min_columns=1, as_read=True)
    passthrough = list(df.columns)
    for u in used:
        if u["excerpt"]:
            report.warning("excerpt", u["note"])
    if progress:
        progress("read", 1, 1)
    result = code_frame(df, column, target, where=str(data), context=context, level=level, limit=limit,
                        min_score=min_score, embeddings=embeddings, embedder=embedder, store=store,
                        reviewer=reviewer, workers=workers, progress=progress, report=report, indexes=ixs)
    result.summary["classifications"] = used
    code_cols = [c for c in output_columns(to, limit) if c.startswith(f"{to}_code_")]
    if output is not None:
        write_frame(result.rows, Path(output), code_cols + ["text_key"], report.problems, passthrough=passthrough)
    if titles_output is not None:
        write_frame(result.titles, Path(titles_output), code_cols + ["text_key"], report.problems)
    return result


__all__ = ["CodeResult", "SIBLINGS", "STATUSES", "TEXT_SCHEME", "TitleCoding", "code", "code_frame",
           "code_titles", "key_code", "language_of", "load_classifiers", "load_target", "title_key"]
