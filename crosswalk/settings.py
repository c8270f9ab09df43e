"""Build configuration: a dataclass that round-trips to a JSON file and never silently
overwrites one.

A configuration names the classifier files, the scheme pairs to match and the routes to
compose. ``BuildConfig.discover(folder)`` writes one for whatever a folder holds (the
bundled excerpts, or the full reference tables), so users start from a working file.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Optional

from .errors import CrosswalkError


@dataclass
class PairConfig:
    """Match ``source`` against ``target`` (scheme ids); ``context``: schemes whose
    same-coded items describe the target (ISCO-08 definitions for OKZ-2014)."""
    source: str
    target: str
    context: list[str] = field(default_factory=list)
    limit: int = 5


# What statisticians need by default, matched where both schemes are loaded.
DEFAULT_PAIRS = [
    PairConfig("okpdtr", "okz2014", ["isco08"]),
    PairConfig("okz2014", "isco08"),
    PairConfig("okved2", "nace2"),
]
DEFAULT_ROUTES = [
    ["okved2", "nace2", "isic4"],
    ["okpdtr", "okz2014", "isco08"],
    ["okpdtr", "okz2014", "isco08", "isco88"],
    ["isco88", "isco08"],
]


@dataclass
class BuildConfig:
    files: list[str]                                   # classifier and correspondence files
    pairs: list[PairConfig] = field(default_factory=lambda: [PairConfig(**asdict(p)) for p in DEFAULT_PAIRS])
    routes: list[list[str]] = field(default_factory=lambda: [list(r) for r in DEFAULT_ROUTES])
    output: str = "out"
    embeddings: Optional[bool] = None   # the optional meaning signal; None: use it when installed
    auto_accept: float = 0.95      # candidates at or above this (and not in a regrouped division) need no review
    review_top: int = 3            # candidates kept for an item that needs review

    # -- file round trip ---------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, *, origin: str = "configuration") -> "BuildConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CrosswalkError(f"{origin}: unknown setting(s) {', '.join(unknown)};"
                                 f" known: {', '.join(sorted(known))}")
        if "files" not in data:
            raise CrosswalkError(f"{origin}: 'files' (the classifier files to load) is required")
        data = dict(data)
        try:
            data["pairs"] = [PairConfig(**p) for p in data.get("pairs", [asdict(p) for p in DEFAULT_PAIRS])]
        except TypeError as exc:
            raise CrosswalkError(f"{origin}: a pair must have source, target[, context, limit]: {exc}") from None
        return cls(**data)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        path = Path(path)
        if path.exists() and not overwrite:
            raise CrosswalkError(f"{path} exists; not overwritten (pass overwrite=True / --force)")
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "BuildConfig":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CrosswalkError(f"{path}: no such configuration file") from None
        except json.JSONDecodeError as exc:
            raise CrosswalkError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        cfg = cls.from_dict(data, origin=str(path))
        # relative file names are relative to the configuration file
        cfg.files = [str(f) if Path(f).is_absolute() else str((path.parent / f)) for f in cfg.files]
        return cfg

    @classmethod
    def discover(cls, folder: str | Path, *, output: Optional[str] = None, **kw) -> "BuildConfig":
        """Every data file under ``folder`` (documentation left out), sorted."""
        from .api import expand_paths
        files = [str(p) for p in expand_paths([folder])]
        if not files:
            raise CrosswalkError(f"{folder}: no classifier files found")
        return cls(files=files, output=output or "out", **kw)
