"""crosswalk — build, review and apply correspondence tables between statistical
classifications (OKPDTR, OKZ-2014, ISCO-08, OKVED2, NACE Rev.2, ISIC Rev.4)."""
from .api import inspect, validate
from .errors import (
    CrosswalkError,
    LoadError,
    Problem,
    Report,
    UnknownCodeError,
    UnknownSchemeError,
)
from .loaders import LoadResult, detect, formats, load
from .model import SCHEMES, Candidate, Classification, Correspondence, Item, Pair, Scheme

__version__ = "0.1.0"

__all__ = [
    "Candidate", "Classification", "Correspondence", "CrosswalkError", "Item", "LoadError", "LoadResult", "Pair",
    "Problem", "Report", "SCHEMES", "Scheme", "UnknownCodeError", "UnknownSchemeError",
    "detect", "formats", "inspect", "load", "validate",
]
