"""The Python API the CLI mirrors: ``inspect`` and ``validate`` (``load`` lives in
:mod:`crosswalk.loaders`). Each returns plain data that the CLI only formats."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Optional

from .errors import CrosswalkError, LoadError, Report
from .loaders import LoadResult, load
from .model import Classification, Correspondence

_PROBLEM_FIELDS = ("severity", "kind", "sheet", "row", "column", "value", "message")


def file_summary(path: str | Path, result: Optional[LoadResult], report: Report,
                 scheme: Optional[str] = None) -> dict[str, Any]:
    """One file's entry of the ``--format json`` output."""
    data = result.data if result else None
    return {
        "path": str(path),
        "scheme": (result.report.scheme if result else None) or report.scheme or scheme,
        "kind": result.kind if result else None,
        "edition": getattr(data, "edition", None) or None,
        "encoding": report.encoding,
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_rejected": report.rows_rejected,
        "items_by_level": data.counts_by_level() if data is not None else {},
        "problems": [{k: p.as_dict()[k] for k in _PROBLEM_FIELDS} for p in report.problems],
    }


def _load_reporting(path: str | Path, scheme: Optional[str], strict: bool = False
                    ) -> tuple[Optional[LoadResult], Report]:
    """Load, turning a failure into a report with an error instead of an exception."""
    try:
        result = load(path, scheme, strict=strict)
        return result, result.report
    except LoadError as exc:
        report = exc.report or Report(file=str(path))
        if not report.errors:
            report.error("unreadable", str(exc))
        return None, report
    except CrosswalkError as exc:
        report = Report(file=str(path), scheme=scheme)
        report.error("scheme", str(exc))
        return None, report


_NOT_TABLES = {".md", ".rst", ".pdf", ".py"}


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders become the data files inside them (sorted, recursive;
    hidden files and documentation such as SOURCES.md left out)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file()
                          and not any(part.startswith(".") for part in f.relative_to(p).parts)
                          and f.suffix.lower() not in _NOT_TABLES)
        else:
            out.append(p)
    return out


def validate(paths: Iterable[str | Path], scheme: Optional[str] = None, *, strict: bool = False) -> dict[str, Any]:
    """Validate files (folders are searched for data files); ``result["ok"]`` is False
    when any file has an error. ``strict``: see :func:`crosswalk.loaders.load`."""
    files = []
    for path in expand_paths(paths):
        result, report = _load_reporting(path, scheme, strict)
        files.append(file_summary(path, result, report, scheme))
    ok = all(p["severity"] != "error" for f in files for p in f["problems"])
    return {"ok": ok, "files": files}


def _item_row(it) -> dict[str, Any]:
    return {"code": it.code, "title": it.title, "level": it.level, "parent": it.parent}


def inspect(path: str | Path, scheme: Optional[str] = None, *, sample: int = 5,
            strict: bool = False) -> dict[str, Any]:
    """What a file holds: scheme, edition, counts per level, a sample, the problems.

    Raises :class:`LoadError` when the file cannot be read at all.
    """
    result = load(path, scheme, strict=strict)
    out = file_summary(path, result, result.report)
    data = result.data
    if isinstance(data, Classification):
        out["scheme_name"] = data.scheme.name
        out["language"] = data.language
        # the top of the tree: items in classification order, at most `sample` per level,
        # so the sample reads as a small tree (A, 01, 01.1, 01.11, …)
        rows, per_level, shown = [], {}, set()
        for it in data:
            if per_level.get(it.level, 0) < sample and (it.parent is None or it.parent in shown):
                per_level[it.level] = per_level.get(it.level, 0) + 1
                shown.add(it.code)
                rows.append(dict(_item_row(it), depth=len(data.ancestors(it.code))))
        out["sample"] = rows
    elif isinstance(data, Correspondence):
        out["scheme_name"] = f"{data.source_scheme.name} → {data.target_scheme.name}"
        out["sample"] = [{"source": p.source, "target": p.target, "partial": p.partial}
                         for p in data.pairs[:sample]]
    else:
        from .index import CodingIndex
        if isinstance(data, CodingIndex):
            out["scheme_name"] = f"coding index → {data.scheme.name}"
            out["sample"] = [{"title": e.title, "code": e.code, "source": e.source} for e in list(data)[:sample]]
    for key, extra in sorted(result.extra.items()):
        if isinstance(extra, Classification):
            out.setdefault("also_loaded", {})[key] = extra.counts_by_level()
    return out


def _classification(path, scheme, what: str, strict: bool = False, on_load=None) -> Classification:
    result = load(path, scheme, strict=strict)
    if not isinstance(result.data, Classification):
        raise CrosswalkError(f"{path}: holds a {result.kind}, but the {what} must be a classification")
    if not result.report.ok:
        # rejected rows are not matched; say so rather than match a partial table silently
        import logging
        logging.getLogger("crosswalk").warning(
            "%s: %d rows rejected (run `crosswalk validate` to see why); matching the %d loaded",
            path, result.report.rows_rejected, result.report.rows_loaded)
    if on_load is not None:
        from .loaders import usage
        on_load(dict(usage(result.data.scheme.id, path, result.data), role=what))
    return result.data


def match_files(source: str | Path, target: str | Path, *, source_scheme: Optional[str] = None,
                target_scheme: Optional[str] = None, context: Iterable[str | Path] = (),
                confirmed: Optional[str | Path] = None, embeddings: bool = False, limit: int = 5,
                score_cutoff: float = 0.0, workers: int = 1, output: Optional[str | Path] = None,
                indexes: Iterable[str | Path] = (), embedding_model: Optional[str] = None,
                progress=None, embed_progress=None, strict: bool = False, on_load=None):
    """``crosswalk match``: load both files, match, and write the candidates (CSV or
    JSON by the output's suffix) when ``output`` is given. Returns the CandidateSet.
    ``on_load(entry)`` hears of every classification loaded (role, scheme, file, items, and
    whether it is a bundled excerpt: see :func:`crosswalk.loaders.usage`)."""
    from .candidates import write_candidates
    from .match import match

    src = _classification(source, source_scheme, "source", strict, on_load)
    tgt = _classification(target, target_scheme, "target", strict, on_load)
    ctx = [_classification(p, None, "context", strict, on_load) for p in context]
    pairs = None
    if confirmed is not None:
        from .evaluate import load_gold
        gold = load_gold(confirmed, source_scheme=src.scheme.id, target_scheme=tgt.scheme.id)
        pairs = [(s, t) for s, ts in gold.primary.items() for t in ts]
    ixs = read_indexes(indexes, tgt.scheme.id)
    embedder = None
    if embeddings and embedding_model:
        from .embeddings import Embedder
        embedder = Embedder(model=embedding_model)
    cset = match(src, tgt, target_context=ctx, confirmed=pairs, embeddings=embeddings, limit=limit, embedder=embedder,
                 score_cutoff=score_cutoff, workers=workers, progress=progress, embed_progress=embed_progress,
                 indexes=ixs)
    if output is not None:
        write_candidates(output, cset)
    return cset


def read_indexes(paths: Iterable[str | Path], scheme: Optional[str] = None) -> list:
    """Coding indexes from files (ESCO occupations, CSVs of past codings); a file whose rows
    were partly rejected is used for what loaded, with a warning naming the count."""
    from .index import read_index
    out = []
    for p in paths:
        ix, report = read_index(p, scheme)
        if report.rows_rejected:
            import logging
            logging.getLogger("crosswalk").warning(
                "%s: %d rows rejected (run `crosswalk validate` to see why); %d titles used",
                p, report.rows_rejected, len(ix))
        out.append(ix)
    return out


def build(config, *, progress=None, strict: bool = False):
    """``crosswalk build``: see :mod:`crosswalk.build`."""
    from .build import build as _build
    return _build(config, progress=progress, strict=strict)
