"""Which single-byte Cyrillic code page a text that is not UTF-8 is in: cp1251 (Windows,
what Rosstat portals and Excel write) or KOI8-R (old Unix archives and mail).

Both decode nearly every byte, so the bytes alone cannot tell; the letters can. Each
reading is scored by how Russian its letters look: the frequency of each letter in Russian
text, and capitals after small letters inside a word («вЫРАЩИВАНИЕ» is «Выращивание» in
KOI8-R read as cp1251: the two code pages hold the alphabet in a different order and the
cases swapped). The score is a log-likelihood, so the difference of two scores grows with
the amount of text and a short text gives a small one: cp1251, by far the more common, is
kept unless KOI8-R reads clearly better; a text where KOI8-R reads only a little better is
refused rather than guessed.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import NamedTuple

# letters per 1000 in Russian text (case folded)
_FREQ = {"о": 109.7, "е": 84.5, "а": 80.1, "и": 73.5, "н": 67.0, "т": 62.6, "с": 54.7, "р": 47.3, "в": 45.4,
         "л": 44.0, "к": 34.9, "м": 32.1, "д": 29.8, "п": 28.1, "у": 26.2, "я": 20.1, "ы": 19.0, "ь": 17.4,
         "г": 17.0, "з": 16.5, "б": 15.9, "ч": 14.4, "й": 12.1, "х": 9.7, "ж": 9.4, "ш": 7.3, "ю": 6.4,
         "ц": 4.8, "щ": 3.6, "э": 3.2, "ф": 2.6, "ъ": 0.4, "ё": 0.4}
_LOG = {ch: math.log(f / 1000) for ch, f in _FREQ.items()}
_UNUSUAL_LETTER = math.log(0.2 / 1000)      # a Cyrillic letter Russian does not use (Ђ, ѓ, Ј, ў …)
_CASE_FLIP = math.log(2 / 1000)             # a capital right after a small letter inside a word
_ODD_SYMBOL = math.log(0.5 / 1000)          # box drawing and maths signs (KOI8-R 0x80–0xBF)
_CASE_FLIP_RX = re.compile("[а-яё][А-ЯЁ]")
ODD_SYMBOL_RX = re.compile("[\u2219-\u2321\u2500-\u25a0]")
_CYRILLIC_RX = re.compile("[\u0400-\u04ff]")
_WORD_RX = re.compile(r"[^\W\d_]+")
# KOI8-R must read this much better (natural log: e^6 ≈ 400 to 1) to be chosen over cp1251
MARGIN = 6.0
SAMPLE_BYTES = 1 << 20                      # a sample keeps the judgement cheap on big files
CANDIDATES = ("cp1251", "koi8-r")


class Verdict(NamedTuple):
    encoding: str | None        # None: cannot tell
    letters: int                # Cyrillic letters in the sample (the better reading)
    advantage: float            # how much better KOI8-R reads than cp1251 (log-likelihood)


def score(text: str) -> float:
    """How Russian ``text`` looks (log-likelihood of its Cyrillic letters; higher is better)."""
    total = 0.0
    for ch, n in Counter(_CYRILLIC_RX.findall(text)).items():
        total += n * _LOG.get(ch.lower(), _UNUSUAL_LETTER)
    total += len(_CASE_FLIP_RX.findall(text)) * _CASE_FLIP
    total += len(ODD_SYMBOL_RX.findall(text)) * _ODD_SYMBOL
    return total


def readings(data: bytes) -> dict[str, str]:
    """The sample of ``data`` decoded in each candidate code page (bytes it lacks replaced)."""
    sample = data[:SAMPLE_BYTES]
    if len(data) > SAMPLE_BYTES:
        sample = sample[:sample.rfind(b"\n") + 1] or sample
    return {enc: sample.decode(enc, errors="replace") for enc in CANDIDATES}


def detect(data: bytes) -> Verdict:
    """cp1251 or KOI8-R for bytes that are not UTF-8 (see the module doc); ``encoding`` is
    None when KOI8-R reads better but not by :data:`MARGIN`."""
    text = readings(data)
    s1251, skoi = score(text["cp1251"]), score(text["koi8-r"])
    advantage = skoi - s1251
    if advantage > MARGIN:
        return Verdict("koi8-r", len(_CYRILLIC_RX.findall(text["koi8-r"])), advantage)
    letters = len(_CYRILLIC_RX.findall(text["cp1251"]))
    return Verdict("cp1251" if advantage <= 0 else None, letters, advantage)


def sample_words(text: str, n: int = 3) -> str:
    """The first ``n`` words holding Cyrillic letters, to show a reader what a reading gives."""
    words = [w for w in _WORD_RX.findall(text) if _CYRILLIC_RX.search(w)][:n]
    return " ".join(words)[:60]
