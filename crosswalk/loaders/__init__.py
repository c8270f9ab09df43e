"""One loader module per classification, and a registry that picks the right one.

Each loader module defines:

* ``FORMATS``: ``{format_id: description}`` — the layouts it reads;
* ``sniff(path, head) -> str | None``: the format id if the file is one of its
  layouts (``head`` = the first 64 KiB decoded leniently), else None;
* ``load(path, format=None) -> LoadResult``.

Auto-detection is used only where exactly one loader claims the file; otherwise
the caller must name the format (``--scheme``).
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Optional

from ..errors import LoadError, Report, UnknownSchemeError
from ..io.encoding import decode_head
from .base import ItemCollector, LoadResult

# format id -> loader module (relative). The format id is what --scheme accepts.
_MODULES = ("okpdtr", "okz", "okz_extract", "isco08", "isco88", "okved2", "nace2", "isic4", "esco")


def _modules():
    for name in _MODULES:
        yield importlib.import_module(f".{name}", __name__)


def formats() -> dict[str, str]:
    """Every format the loaders read: id -> description."""
    out = {}
    for mod in _modules():
        out.update(mod.FORMATS)
    return dict(sorted(out.items()))


def _head(path: Path) -> str:
    with open(path, "rb") as fh:
        data = fh.read(65536)
    if data.startswith(b"PK") or data.startswith(b"\xd0\xcf\x11\xe0"):
        return ""  # workbooks: loaders sniff them by opening them
    return decode_head(data)


def detect(path: str | Path) -> str:
    """The format id of a file; raises :class:`UnknownSchemeError` when no loader
    or more than one claims it."""
    path = Path(path)
    if not path.is_file():
        raise LoadError(f"{path}: no such file")
    head = _head(path)
    claims = []
    for mod in _modules():
        fmt = mod.sniff(path, head)
        if fmt:
            claims.append(fmt)
    if len(claims) == 1:
        return claims[0]
    known = ", ".join(formats())
    if not claims:
        _diagnose(path, head)
        raise UnknownSchemeError(f"{path}: cannot tell which classification this file holds;"
                                 f" name it with --scheme (one of: {known})")
    raise UnknownSchemeError(f"{path}: ambiguous, could be {' or '.join(sorted(claims))};"
                             " name it with --scheme")


def _diagnose(path: Path, head: str) -> None:
    """No loader claims the file: when that is because the file cannot be read at all (a
    damaged or oversized workbook, JSON past the limits, garbled text), raise that error
    instead of "cannot tell which classification" (a LoadError with its report)."""
    from ..io.encoding import garbled_reason
    from ..io.peek import XLSX_SIGNATURE, signature
    report = Report(file=str(path))
    if signature(path)[:4] == XLSX_SIGNATURE:
        # the sniffers read the first rows of every sheet; read them again to get the error
        # that made them fail (a limit, a damaged part), without reading a big sheet through
        from ..io.peek import PEEK_ROWS
        from ..io.xlsx import SheetRows, iter_sheet, open_workbook
        wb = open_workbook(path, report)
        try:
            for ws in wb.worksheets:
                for _ in iter_sheet(wb, ws, report, SheetRows(), max_rows=PEEK_ROWS):
                    pass
        finally:
            wb.close()
        return
    if head.lstrip()[:1] in ("{", "["):
        from ..io.tables import read_json
        read_json(path, report)
        return
    from ..io.encoding import read_bytes
    read_bytes(path, report, lines=True)        # size, line length, number of lines
    reason = garbled_reason(head)
    if reason:
        report.error("garbled_text", f"the text looks garbled: {reason}")
        raise LoadError(f"{path}: garbled text ({reason})", report)


def _module_for(fmt: str):
    for mod in _modules():
        if fmt in mod.FORMATS:
            return mod
    raise UnknownSchemeError(f"unknown scheme/format {fmt!r}; known: {', '.join(formats())}")


def load(path: str | Path, scheme: Optional[str] = None, *, strict: bool = False) -> LoadResult:
    """Load one file. ``scheme`` is a format id (see :func:`formats`) or a scheme id
    such as ``okved2`` when that scheme has a single format or the layout is sniffed.
    ``strict``: rows a loader would keep with a warning about a checksum (OKPDTR's control
    number) are rejected instead.

    Raises :class:`LoadError` (with its report) when the file cannot be read at all.
    """
    path = Path(path)
    if not path.is_file():
        raise LoadError(f"{path}: no such file")
    if scheme is None:
        fmt = detect(path)
    elif scheme in formats():
        fmt = scheme
    else:
        # a scheme id: let the scheme's module pick among its own layouts
        candidates = [f for f in formats() if f.split(":")[0] == scheme]
        if not candidates:
            raise UnknownSchemeError(f"unknown scheme {scheme!r}; known: {', '.join(formats())}")
        # every module with a layout of the scheme sniffs (OKZ has two: tables and the examples extract)
        head = _head(path)
        mods = list(dict.fromkeys(_module_for(c) for c in candidates))
        found = [f for f in (m.sniff(path, head) for m in mods) if f in candidates]
        fmt = found[0] if len(found) == 1 else None
        if fmt is None:
            if len(candidates) == 1:
                fmt = candidates[0]
            else:
                _diagnose(path, _head(path))
                raise UnknownSchemeError(f"{path}: not a layout of {scheme} this tool knows;"
                                         f" try one of {', '.join(candidates)}")
    result = _module_for(fmt).load(path, format=fmt, strict=strict)
    report = result.report
    report.check_accounting()
    if result.data is not None and not len(result.data) and not report.rows_read:
        # a header-only file, an empty sheet, {} …: nothing to use, and validate must say so
        report.error("empty", f"the file holds no data rows to load as {fmt}")
    return result


def is_excerpt(path: str | Path) -> bool:
    """A bundled excerpt (``raw_classifiers/``, or a file named ``…excerpt…``), not a full table."""
    path = Path(path)
    return "excerpt" in path.name.casefold() or any(p.name == "raw_classifiers" for p in path.parents)


def usage(scheme: str, path: str | Path, data) -> dict:
    """What a command says about a classification it uses: scheme, file, item count, and
    whether the file is only a bundled excerpt (its ``note`` says so in words)."""
    n = len(data)
    entry = {"scheme": scheme, "file": str(path), "items": n, "excerpt": is_excerpt(path)}
    if entry["excerpt"]:
        entry["note"] = (f"{scheme}: {Path(path).name} is a bundled EXCERPT of {n} codes, not the full"
                         " classification; give the full tables (--classifiers/--data FOLDER) for real work")
    return entry


__all__ = ["ItemCollector", "LoadResult", "detect", "formats", "is_excerpt", "load", "Report", "usage"]
