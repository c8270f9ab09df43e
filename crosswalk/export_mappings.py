"""The committed form of one reviewed table: ``mappings/<src>__<tgt>.csv`` (confirmed links,
one row per link, the editions on every row) and its ``.meta.json`` sidecar — written only
when the table changed, so re-exporting leaves git clean. Reads the store as
:func:`crosswalk.export.export` does."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Mapping, Optional

from .errors import WARNING, CrosswalkError, Problem
from .export import MAPPING_COLUMNS, ExportResult, _csv_bytes, _now, _parse_pair, _summary, _tables
from .model import Classification
from .staging import Staging
from .safety import safe_path


def mapping_meta_path(path: str | Path) -> Path:
    """``mappings/okved2__nace2.csv`` -> ``mappings/okved2__nace2.meta.json``."""
    path = Path(path)
    return path.with_name(path.stem + ".meta.json")


def write_mapping_csv(store, pair, path: str | Path, *,
                      classifications: Optional[Mapping[str, Classification]] = None,
                      exported_at: Optional[str] = None) -> ExportResult:
    """The committed form of one reviewed table (``mappings/<src>__<tgt>.csv``): confirmed
    links only, sorted by source code then target code, columns :data:`MAPPING_COLUMNS`
    (the editions of both classifications on every row), and a sidecar
    ``<src>__<tgt>.meta.json`` with the editions, counts, store snapshot, export time and
    the CSV's sha256. When the CSV would come out byte-identical, neither file is touched
    (``result.unchanged``), so re-exporting an unchanged table leaves git clean."""
    path = Path(path)
    if path.suffix != ".csv":
        raise CrosswalkError(f"{path}: a mapping table is a .csv file")
    path = safe_path(path.parent, path.name)
    meta_path = safe_path(path.parent, mapping_meta_path(path).name)
    src, tgt = _parse_pair(pair)
    snapshot, (table,) = _tables(store, [(src, tgt)], True, classifications)
    result = ExportResult(snapshot=snapshot)
    entry = _summary(table, classifications, result.warnings)
    for scheme, edition in ((src, table.source_edition), (tgt, table.target_edition)):
        if not edition:
            result.warnings.append(Problem("edition_unknown", WARNING,
                                           f"{path.name}: the edition of {scheme} is unknown (pass the"
                                           " classification); the edition column stays empty",
                                           file=str(path), column="source_edition" if scheme == src
                                           else "target_edition"))
    data = _csv_bytes(table, MAPPING_COLUMNS, classifications)
    digest = hashlib.sha256(data).hexdigest()
    try:
        old = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    if isinstance(old, dict) and old.get("csv_sha256") == digest and path.is_file() \
            and hashlib.sha256(path.read_bytes()).hexdigest() == digest:
        result.unchanged = [meta_path, path] if meta_path < path else [path, meta_path]
        return result
    meta = {"source_scheme": src, "source_edition": table.source_edition, "target_scheme": tgt,
            "target_edition": table.target_edition, "links": entry["links"], "sources": entry["sources"],
            "targets": entry["targets"], "relations": entry["relations"], "coverage": entry["coverage"],
            "snapshot": {"event_id": snapshot[0], "checksum": snapshot[1]},
            "exported_at": exported_at or _now(), "columns": list(MAPPING_COLUMNS), "csv_sha256": digest}
    with Staging(path.parent, f"the mapping table {path.name}") as stage:   # the table and its meta together
        stage.write(path.name, data)
        stage.write(meta_path.name, (json.dumps(meta, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    result.files = sorted([path, meta_path])
    return result


__all__ = ["mapping_meta_path", "write_mapping_csv"]
