"""Exporting the review workbook (format 2): the store's items, each with its candidates in
rows — the proposal first, then the alternatives by score — in Russian or English.

Sheet «Проверка» (Review): per row the item (number, source code and title, frozen in view),
the candidate (rank, role, target code and title, score), the columns a reviewer fills in
(decision from a drop-down, other code, weight, comment), then what the matcher saw (evidence),
the link's and the item's state, who changed it when (local time), the cardinality group, and
four hidden columns the importer checks: the link, its version, the item's version (the one
decision is checked against it) and a digest over them. Sheet «Как заполнять» explains the
decisions; «Метаданные» names the store and snapshot and holds a sha256 of the (key, version)
rows, so an importer can tell rows were added, removed or edited.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..candidates import atomic_write, sheet_safe
from ..errors import CrosswalkError, Problem
from ..model import code_sort_key
from ..safety import clean_xml
from .labels import (DEFAULT_LANG, LANGS, decision_labels, evidence_text, item_status_name, local_time,
                     relation_name, role_name, scheme_name, status_name)
from .store import LinkKey, LinkState, ReviewStore
from .workbook_write import Row, write_rows

FORMAT = "crosswalk-review-workbook"
FORMAT_VERSION = 2          # 1: a row per link, English, link decisions (still imported)


# -- identity and checksums ------------------------------------------------------
def store_identity(store: ReviewStore) -> str:
    """An id that stays with a store file (moved or renamed) and differs between two
    stores: the store's own ``store_id`` if it has one, else a hash of its first event."""
    own = getattr(store, "store_id", None)
    if own:
        return str(own)
    first = _first_event(store)
    if first is None:
        return "empty"
    key = None if first.key is None else [first.key.source_scheme, first.key.source_code,
                                          first.key.target_scheme, first.key.target_code]
    blob = json.dumps([first.id, first.ts, first.reviewer, first.action, key, first.payload],
                      sort_keys=True, ensure_ascii=False, default=str)
    return "first-event:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def _first_event(store: ReviewStore):
    """The store's first event, read alone (``store.events(0)`` reads all of them: 1 s for 37,000)."""
    try:
        rows = store._conn().execute(f"{store._EVENT_SELECT} ORDER BY id LIMIT 1").fetchall()
    except AttributeError:        # another kind of store
        return next(iter(store.events(0)), None)
    return next(iter(store._events(rows)), None)


_PLAIN = re.compile(r"[\w .:-]*")    # key parts JSON writes as they are


def key_list(key: LinkKey) -> list[str]:
    return [key.source_scheme, key.source_code, key.target_scheme, key.target_code]


def key_text(key: LinkKey) -> str:
    parts = key_list(key)
    if all(_PLAIN.fullmatch(p) for p in parts):     # the same text json.dumps gives, 10× faster
        return '["' + '","'.join(parts) + '"]'
    return json.dumps(parts, ensure_ascii=False, separators=(",", ":"))


def rows_checksum(pairs: Iterable[tuple[LinkKey, int]]) -> str:
    """sha256 of the sorted (key, version) list: row order (a reviewer sorting) does not count."""
    lines = sorted(json.dumps(key_list(k) + [v], ensure_ascii=False) for k, v in pairs)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def rows_digest(pairs: Iterable[tuple[str, object]]) -> str:
    """Format 2's rows_sha256: sha256 of the sorted (link cell text, version) lines — what the
    importer reads, compared without parsing each row (row order does not count)."""
    lines = sorted(f"{link}\t{version}" for link, version in pairs)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def parse_key_text(text) -> "LinkKey | None":
    """The LinkKey of a link cell (None: not one): the inverse of :func:`key_text`."""
    if not isinstance(text, str):
        return None
    if text.startswith('["') and text.endswith('"]') and "\\" not in text:
        parts = text[2:-2].split('","')      # a quote inside a code would be escaped (\")
    else:
        try:
            parts = json.loads(text)
        except ValueError:
            return None
    ok = isinstance(parts, list) and len(parts) == 4 and all(isinstance(x, str) for x in parts)
    return LinkKey(*parts) if ok else None


def row_check(snapshot_checksum: str, key: LinkKey, version: int, item_version: int) -> str:
    """The digest of a row's hidden cells: an edited link, version or item version shows."""
    blob = f"{snapshot_checksum}\x1f{key_text(key)}\x1f{version}\x1f{item_version}"
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:10]


# -- cardinality -----------------------------------------------------------------
def _kind(n_sources: int, n_targets: int) -> str:
    return {(True, True): "1:1", (True, False): "1:n", (False, True): "n:1",
            (False, False): "n:m"}[n_sources == 1, n_targets == 1]


def _sort_key(k: LinkKey) -> tuple:
    """(source scheme, target scheme, code_sort_key(source code), code_sort_key(target code)),
    flattened: the same order, built without two calls and two tuples per link."""
    s, t = k.source_code, k.target_code
    return (k.source_scheme, k.target_scheme, not s[:1].isalpha(), s, not t[:1].isalpha(), t)


def link_groups(links: Iterable[LinkState]) -> dict[LinkKey, tuple[int, str]]:
    """LinkKey -> (group number, 1:1/1:n/n:1/n:m or "alternative").

    The groups are the connected components (per scheme pair) of the correspondence the
    links stand for now: each source's confirmed links, or, for a source with none, its
    proposal (else its best-scoring pending link). All pending candidates together would tie
    everything into one n:m knot. A source's other live links are its "alternative"s and carry
    its group number, so filtering on a group shows them too; rejected links have no group.
    Groups are numbered in key order of their first link, so the numbering is stable."""
    by_source: dict[tuple, list[LinkState]] = {}
    for ln in sorted(links, key=lambda ln: _sort_key(ln.key)):
        if ln.status != "rejected":
            k = ln.key
            by_source.setdefault((k.source_scheme, k.target_scheme, k.source_code), []).append(ln)
    parent: dict[tuple, tuple] = {}

    def find(x: tuple) -> tuple:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    kept: dict[tuple, list[LinkState]] = {}
    for source, lns in by_source.items():
        confirmed = [ln for ln in lns if ln.status == "confirmed"]
        proposal = [ln for ln in lns if ln.role == "proposal"]
        kept[source] = confirmed or proposal[:1] or [min(lns, key=lambda ln: -1.0 if ln.score is None else -ln.score)]
        s = ("s", *source)
        parent.setdefault(s, s)
        for ln in kept[source]:
            t = ("t", source[0], source[1], ln.key.target_code)
            parent.setdefault(t, t)
            a, b = find(s), find(t)
            if a != b:
                parent[b] = a
    sizes: dict[tuple, list[int]] = {}
    for node in parent:
        sizes.setdefault(find(node), [0, 0])[node[0] == "t"] += 1
    number: dict[tuple, int] = {}
    out: dict[LinkKey, tuple[int, str]] = {}
    for source, lns in by_source.items():   # key order
        root = find(("s", *source))
        number.setdefault(root, len(number) + 1)
        kind = _kind(*sizes[root])
        keep = {ln.key for ln in kept[source]}
        for ln in lns:
            out[ln.key] = (number[root], kind if ln.key in keep else "alternative")
    return out


# -- export ----------------------------------------------------------------------
@dataclass
class ExportResult:
    path: Path
    rows: int
    snapshot_id: int
    problems: list[Problem] = field(default_factory=list)   # cells that had to be changed
    items: int = 0


def display_order(links: list[LinkState]) -> list[LinkState]:
    """An item's candidates as the workbook lists them: the proposal first, then by score
    (highest first; links without a score last), then by code."""
    return sorted(links, key=lambda s: (s.role != "proposal", s.score is None, -(s.score or 0.0),
                                        code_sort_key(s.key.target_code)))


def export_workbook(store: ReviewStore, path: str | Path, *, source_scheme: str | None = None,
                    target_scheme: str | None = None, status: str | None = None,
                    relations: dict | None = None, problems: list | None = None,
                    overwrite: bool = False, lang: str = DEFAULT_LANG) -> Path:
    """Write the items of ``store`` (optionally of one scheme pair; optionally only the
    candidates of one status) as a review workbook at ``path`` (atomically) and return the path.

    ``relations`` (LinkKey or (source code, target code) -> "1:n", …) overrides the
    cardinality computed from the store's links. ``lang``: ``ru`` (default) or ``en`` for
    headers, drop-down, names and dates. Warnings about cells that had to be changed (illegal
    XML characters, over-long text) are appended to ``problems`` as :class:`Problem` and listed
    on the metadata sheet. An existing file is replaced only with ``overwrite`` (it may hold
    a reviewer's unimported decisions).
    """
    res = write_review_workbook(store, path, source_scheme=source_scheme, target_scheme=target_scheme,
                                status=status, relations=relations, overwrite=overwrite, lang=lang)
    if problems is not None:
        problems.extend(res.problems)
    return res.path


def _read_items(store: ReviewStore, source_scheme, target_scheme):
    """The items and the snapshot they are exactly (one read transaction)."""
    return store.items_at_snapshot(source_scheme, target_scheme)


def write_review_workbook(store: ReviewStore, path: str | Path, *, source_scheme: str | None = None,
                          target_scheme: str | None = None, status: str | None = None,
                          relations: dict | None = None, overwrite: bool = False,
                          lang: str = DEFAULT_LANG) -> ExportResult:
    """:func:`export_workbook`, returning the row and item counts, snapshot and warnings too."""
    path = Path(path)
    if lang not in LANGS:
        raise CrosswalkError(f"language {lang!r}: choose one of {', '.join(LANGS)}")
    if path.suffix.lower() != ".xlsx":
        raise CrosswalkError(f"{path}: a review workbook is an .xlsx file")
    if not path.parent.is_dir():
        raise CrosswalkError(f"{path}: folder {path.parent} does not exist")
    if path.exists() and not overwrite:
        raise CrosswalkError(f"{path} exists and may hold decisions not imported yet; import it first,"
                             " choose another name, or overwrite it (--force)")
    snapshot_id, checksum, items = _read_items(store, source_scheme, target_scheme)
    # cardinality from every live link of the pairs shown, not only the filtered ones
    groups = link_groups(ln for it in items for ln in it.links)
    text_rows = store.text_rows() if any(it.key.source_scheme == "text" for it in items) else {}

    rows: list[Row] = []
    pairs: list[tuple[str, int]] = []
    n_items = 0
    times: dict[str, object] = {}     # a build's links share a few timestamps: each converted once
    items.sort(key=lambda it: (it.key.source_scheme, it.key.target_scheme, code_sort_key(it.key.source_code)))
    for it in items:
        ordered = display_order(it.links)
        shown = [(rank, ln) for rank, ln in enumerate(ordered, 1) if status is None or ln.status == status]
        if not shown:
            continue
        n_items += 1
        source_title = next((ln.source_title for ln in ordered if ln.source_title), "")
        for n, (rank, ln) in enumerate(shown):
            k = ln.key
            group, kind = groups.get(k, (None, ""))
            if relations:
                kind = relations.get(k, relations.get((k.source_code, k.target_code), kind))
            rows.append(Row({
                "item": n_items, "source_code": k.source_code, "source_title": ln.source_title or source_title,
                "rank": rank, "role": role_name(ln.role, ln.origin, lang), "target_code": k.target_code,
                "target_title": ln.target_title, "score": ln.score,
                "evidence": evidence_text(ln.evidence or {}, lang), "status": status_name(ln.status, lang),
                "item_status": item_status_name(it.status, lang), "changed_by": ln.updated_by,
                "changed_at": times[ln.updated_at] if ln.updated_at in times
                else times.setdefault(ln.updated_at, local_time(ln.updated_at)), "weight_now": ln.weight, "comment_now": ln.comment,
                "group": group, "cardinality": relation_name(kind, lang) if kind else "",
                "data_rows": int(text_rows.get(k.source_code, 0)) if k.source_scheme == "text" else None,
                "source_scheme": scheme_name(k.source_scheme, lang),
                "target_scheme": scheme_name(k.target_scheme, lang),
                "link": key_text(k), "version": int(ln.version), "item_version": int(it.version),
                "check": row_check(checksum, k, int(ln.version), int(it.version)),
            }, first=n == 0, alternative=n > 0))
            pairs.append((rows[-1].values["link"], int(ln.version)))

    exported_at = datetime.now(timezone.utc).replace(microsecond=0)
    meta = {
        "format": FORMAT, "format_version": str(FORMAT_VERSION), "layout": "items", "language": lang,
        "store_id": store_identity(store),
        "store_name": Path(str(getattr(store, "path", ""))).name,
        "store_path": str(Path(str(getattr(store, "path", ""))).resolve()),
        "snapshot_id": str(snapshot_id), "snapshot_checksum": checksum,
        "exported_at": exported_at.isoformat().replace("+00:00", "Z"),
        "exported_at_local": exported_at.astimezone().strftime("%Y-%m-%d %H:%M %Z (UTC%z)"),
        "filters": json.dumps({"source_scheme": source_scheme, "target_scheme": target_scheme,
                               "status": status}, sort_keys=True),
        "row_count": str(len(rows)), "item_count": str(n_items),
        "rows_sha256": rows_digest(pairs),
        "tool_version": _tool_version(),
        "decisions": ", ".join(decision_labels(lang)),
        "warnings": _WARNINGS,
    }
    meta = {k: v if v is _WARNINGS else sheet_safe(clean_xml(v)[0]) for k, v in meta.items()}
    pair = " → ".join(scheme_name(s, lang) for s in (source_scheme, target_scheme) if s)
    title = f"crosswalk: {pair or path.stem}"
    written = write_rows(rows, lang=lang, meta=meta, title=title, file=path.name,
                         warnings=lambda changed: ("cells changed to be safe: " + ", ".join(changed))
                         if changed else "none", placeholder=_WARNINGS)
    atomic_write(path, written.data)
    return ExportResult(path, len(rows), snapshot_id, written.problems, n_items)


_WARNINGS = "⟨warnings⟩"    # replaced by the list of changed cells once the rows are written


def _tool_version() -> str:
    from .. import __version__
    return f"crosswalk {__version__}"


__all__ = ["ExportResult", "FORMAT", "FORMAT_VERSION", "display_order", "export_workbook", "key_list", "key_text",
           "link_groups", "parse_key_text", "row_check", "rows_checksum", "rows_digest", "store_identity", "write_review_workbook"]
