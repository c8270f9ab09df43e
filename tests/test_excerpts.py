"""The bundled excerpts (raw_classifiers/) are what `make demo` runs on: each must be
detected without --scheme, stay small, keep its hierarchy whole and load without errors."""
from pathlib import Path

import pytest

from crosswalk import Classification, load

RAW = Path(__file__).parent.parent / "raw_classifiers"
EXCERPTS = sorted(p for p in RAW.rglob("*") if p.is_file() and p.suffix.lower() != ".md")


def test_every_classifier_has_an_excerpt_and_a_source_note():
    schemes = {load(p).report.scheme for p in EXCERPTS}
    assert {"okpdtr", "okz2014", "isco08", "okved2", "nace2", "isic4"} <= schemes
    sources = (RAW / "SOURCES.md").read_text(encoding="utf-8")
    for name in ("ОКПДТР", "ОКЗ", "ISCO-08", "ОКВЭД2", "NACE", "ISIC"):
        assert name in sources


@pytest.mark.parametrize("path", EXCERPTS, ids=lambda p: str(p.relative_to(RAW)))
def test_excerpt_is_small_whole_and_clean(path):
    result = load(path)                      # auto-detected
    report = result.report
    assert report.rows_read == report.rows_loaded + report.rows_rejected
    assert report.errors == [], [str(p) for p in report.errors]
    assert report.rows_rejected == 0
    if isinstance(result.data, Classification):
        assert 1 <= len(result.data) <= 60
        assert not report.of_kind("missing_parent")
