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


def _load_reporting(path: str | Path, scheme: Optional[str]) -> tuple[Optional[LoadResult], Report]:
    """Load, turning a failure into a report with an error instead of an exception."""
    try:
        result = load(path, scheme)
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


def validate(paths: Iterable[str | Path], scheme: Optional[str] = None) -> dict[str, Any]:
    """Validate files; ``result["ok"]`` is False when any file has an error."""
    files = []
    for path in paths:
        result, report = _load_reporting(path, scheme)
        files.append(file_summary(path, result, report, scheme))
    ok = all(p["severity"] != "error" for f in files for p in f["problems"])
    return {"ok": ok, "files": files}


def _item_row(it) -> dict[str, Any]:
    return {"code": it.code, "title": it.title, "level": it.level, "parent": it.parent}


def inspect(path: str | Path, scheme: Optional[str] = None, *, sample: int = 5) -> dict[str, Any]:
    """What a file holds: scheme, edition, counts per level, a sample, the problems.

    Raises :class:`LoadError` when the file cannot be read at all.
    """
    result = load(path, scheme)
    out = file_summary(path, result, result.report)
    data = result.data
    if isinstance(data, Classification):
        out["scheme_name"] = data.scheme.name
        out["language"] = data.language
        # a spread-out sample: first items of each level, in classification order
        rows = []
        for level in sorted({it.level for it in data}):
            rows += [_item_row(it) for it in data.by_level(level)[:sample]]
        out["sample"] = rows
    elif isinstance(data, Correspondence):
        out["scheme_name"] = f"{data.source_scheme.name} → {data.target_scheme.name}"
        out["sample"] = [{"source": p.source, "target": p.target, "partial": p.partial}
                         for p in data.pairs[:sample]]
    for key, extra in sorted(result.extra.items()):
        if isinstance(extra, Classification):
            out.setdefault("also_loaded", {})[key] = extra.counts_by_level()
    return out
