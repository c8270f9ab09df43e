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

from .errors import CrosswalkError, Report, UnknownSchemeError
from .io.atomic import atomic_write


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


def _relative(f: str, base: str) -> str:
    try:
        return Path(os.path.relpath(os.path.abspath(f), base)).as_posix()
    except ValueError:      # another drive (Windows): only an absolute name works
        return os.path.abspath(f)


@dataclass
class BuildConfig:
    files: list[str]                                   # classifier and correspondence files
    pairs: list[PairConfig] = field(default_factory=lambda: [PairConfig(**asdict(p)) for p in DEFAULT_PAIRS])
    routes: list[list[str]] = field(default_factory=lambda: [list(r) for r in DEFAULT_ROUTES])
    output: str = "out"
    embeddings: Optional[bool] = None   # the optional meaning signal; None: use it when installed
    auto_accept: float = 0.95      # a proposal scoring at least this is not flagged for review
    review_top: int = 3            # candidates per item `review load` puts before reviewers
    # the largest share of unmatched items a route may have (rows with no code on one side,
    # as Eurostat's MismatchTolerance); past it the build fails. None: reported only
    max_unmatched: Optional[float] = None
    indexes: list[str] = field(default_factory=list)   # coding-index files (ESCO, past codings)
    embedding_model: str = "e5"    # with embeddings: e5, use or e5+use

    # -- checking ----------------------------------------------------------------
    def check(self, origin: str = "configuration") -> "BuildConfig":
        """Refuse settings the build would misread (a string for a list, a review_top of 0
        that would drop every item to review from the crosswalks, an unknown scheme)."""
        from .model import get_scheme

        bad: list[str] = []

        def schemes(value, what):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                bad.append(f"{what} must be a list of scheme ids, not {value!r}")
                return
            for v in value:
                try:
                    get_scheme(v)
                except UnknownSchemeError as exc:
                    bad.append(f"{what}: {exc}")

        if not isinstance(self.files, list) or not all(isinstance(f, str) and f for f in self.files):
            bad.append(f"'files' must be a list of file names, not {self.files!r}")
        if not isinstance(self.pairs, list):
            bad.append(f"'pairs' must be a list, not {self.pairs!r}")
        else:
            for k, p in enumerate(self.pairs, 1):
                schemes([p.source, p.target], f"pair {k} source/target")
                schemes(p.context, f"pair {k} context")
                if isinstance(p.limit, bool) or not isinstance(p.limit, int) or p.limit < 1:
                    bad.append(f"pair {k}: limit must be a positive whole number, not {p.limit!r}")
        if not isinstance(self.routes, list):
            bad.append(f"'routes' must be a list of scheme lists, not {self.routes!r}")
        else:
            for k, r in enumerate(self.routes, 1):
                schemes(r, f"route {k}")
                if isinstance(r, list) and len(r) < 2:
                    bad.append(f"route {k} needs at least two schemes, not {r!r}")
        if not isinstance(self.indexes, list) or not all(isinstance(f, str) and f for f in self.indexes):
            bad.append(f"'indexes' must be a list of file names, not {self.indexes!r}")
        if self.embedding_model not in ("e5", "use", "e5+use"):
            bad.append(f"'embedding_model' must be e5, use or e5+use, not {self.embedding_model!r}")
        if not isinstance(self.output, str) or not self.output:
            bad.append(f"'output' must be a folder name, not {self.output!r}")
        if self.embeddings not in (None, True, False):
            bad.append(f"'embeddings' must be true, false or null, not {self.embeddings!r}")
        a = self.auto_accept
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not 0.0 <= a <= 1.0:
            bad.append(f"'auto_accept' must be a number in [0, 1], not {a!r}")
        m = self.max_unmatched
        if m is not None and (isinstance(m, bool) or not isinstance(m, (int, float)) or not 0.0 <= m <= 1.0):
            bad.append(f"'max_unmatched' must be a number in [0, 1] or null, not {m!r}")
        t = self.review_top
        if isinstance(t, bool) or not isinstance(t, int) or t < 1:
            bad.append(f"'review_top' must be a positive whole number, not {t!r}")
        if bad:
            more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
            raise CrosswalkError(f"{origin}: " + "; ".join(bad[:5]) + more)
        return self

    # -- file round trip ---------------------------------------------------------
    def to_dict(self, *, relative_to: Optional[str | Path] = None) -> dict:
        """The settings as plain data; with ``relative_to`` (the folder the file will sit
        in) file names are written relative to it, as :meth:`load` reads them."""
        data = asdict(self)
        if relative_to is not None:
            base = os.path.abspath(relative_to)
            data["files"] = [_relative(f, base) for f in data["files"]]
            data["indexes"] = [_relative(f, base) for f in data["indexes"]]
        return data

    @classmethod
    def from_dict(cls, data: dict, *, origin: str = "configuration") -> "BuildConfig":
        if not isinstance(data, dict):
            raise CrosswalkError(f"{origin}: a configuration is a JSON object of settings,"
                                 f" not a {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CrosswalkError(f"{origin}: unknown setting(s) {', '.join(unknown)};"
                                 f" known: {', '.join(sorted(known))}")
        if "files" not in data:
            raise CrosswalkError(f"{origin}: 'files' (the classifier files to load) is required")
        data = dict(data)
        pairs = data.get("pairs", [asdict(p) for p in DEFAULT_PAIRS])
        if not isinstance(pairs, list) or not all(isinstance(p, dict) for p in pairs):
            raise CrosswalkError(f"{origin}: 'pairs' must be a list of objects with source, target"
                                 f"[, context, limit], not {pairs!r}")
        try:
            data["pairs"] = [PairConfig(**p) for p in pairs]
        except TypeError as exc:
            raise CrosswalkError(f"{origin}: a pair must have source, target[, context, limit]: {exc}") from None
        return cls(**data).check(origin)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the configuration (file names relative to its folder), atomically; an
        existing file is never replaced unless ``overwrite``."""
        path = Path(path)
        if not path.parent.is_dir():
            raise CrosswalkError(f"{path}: the folder {path.parent} does not exist")
        if path.exists() and not overwrite:
            raise CrosswalkError(f"{path} exists; not overwritten (pass overwrite=True / --force)")
        text = json.dumps(self.to_dict(relative_to=path.parent), indent=2, ensure_ascii=False) + "\n"
        try:
            atomic_write(path, text.encode("utf-8"), overwrite=overwrite)
        except FileExistsError:     # another process created it meanwhile
            raise CrosswalkError(f"{path} exists; not overwritten (pass overwrite=True / --force)") from None
        except OSError as exc:
            raise CrosswalkError(f"{path}: cannot write the configuration: {exc.strerror or exc}") from None
        return path

    @classmethod
    def load(cls, path: str | Path) -> "BuildConfig":
        path = Path(path)
        try:
            text = path.read_bytes().decode("utf-8-sig")
            from .io.jsontext import check_shape
            check_shape(text, Report(file=str(path)))      # nesting and size: a clear error, not a RecursionError
            data = json.loads(text)
        except FileNotFoundError:
            raise CrosswalkError(f"{path}: no such configuration file") from None
        except OSError as exc:
            raise CrosswalkError(f"{path}: cannot read the configuration: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise CrosswalkError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except json.JSONDecodeError as exc:
            raise CrosswalkError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        cfg = cls.from_dict(data, origin=str(path))
        # relative file names are relative to the configuration file
        cfg.files = [str(f) if Path(f).is_absolute() else os.path.normpath(path.parent / f)
                     for f in cfg.files]
        cfg.indexes = [str(f) if Path(f).is_absolute() else os.path.normpath(path.parent / f)
                       for f in cfg.indexes]
        return cfg

    @classmethod
    def discover(cls, folder: str | Path, *, output: Optional[str] = None, **kw) -> "BuildConfig":
        """Every data file under ``folder`` (documentation left out), sorted."""
        from .api import expand_paths
        files = [str(p) for p in expand_paths([folder])]
        if not files:
            raise CrosswalkError(f"{folder}: no classifier files found")
        return cls(files=files, output=output or "out", **kw)
