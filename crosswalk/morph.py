"""One pymorphy3 analyzer for the whole package, created on first use (loading its
dictionaries takes ~0.1 s and tens of MB: the text checks and the normaliser share it)."""
from __future__ import annotations

_morph = None


def analyzer():
    global _morph
    if _morph is None:
        import pymorphy3
        _morph = pymorphy3.MorphAnalyzer()
    return _morph
