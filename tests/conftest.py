"""Shared test helpers.

Reference-data tests read the official tables through CROSSWALK_REFERENCE_DATA
(the classifiers folder; the gold folder sits beside it). When the variable is set
but a file is missing the test fails: a missing table must never pass as a skip.
When it is unset (a contributor without the data) those tests are skipped.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
RAW = Path(__file__).parent.parent / "raw_classifiers"


def _root() -> Path | None:
    value = os.environ.get("CROSSWALK_REFERENCE_DATA")
    return Path(value) if value else None


def reference_file(relpath: str) -> Path:
    """Path of a reference file under CROSSWALK_REFERENCE_DATA (``../gold/x`` for gold)."""
    root = _root()
    if root is None:
        pytest.skip("CROSSWALK_REFERENCE_DATA is not set (reference tables not available)")
    path = (root / relpath).resolve()
    if not path.is_file():
        pytest.fail(f"CROSSWALK_REFERENCE_DATA={root} but {relpath} is missing there")
    return path


@pytest.fixture
def ref():
    """``ref("okved2/...")`` -> Path of a reference table (fails if missing)."""
    return reference_file


@pytest.fixture
def data_dir() -> Path:
    return DATA


def flat(report, **match):
    """The report's problems as dicts, filtered by equal fields (kind=..., severity=...)."""
    return [p for p in report.flatten() if all(p.get(k) == v for k, v in match.items())]


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole run (it takes seconds to start). In CI (CI set) a
    missing pyspark or Java fails: the engine must be tested there."""
    import os
    import shutil
    if os.environ.get("CI"):
        import pyspark  # noqa: F401
        assert shutil.which("java"), "the Spark engine needs Java (OpenJDK) on the CI machine"
    else:
        pytest.importorskip("pyspark")
        if shutil.which("java") is None:
            pytest.skip("the Spark engine needs Java")
    import warnings
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    from crosswalk.engines import spark_engine
    session = spark_engine.start_session("local[1]", {"spark.sql.shuffle.partitions": "1"})
    print(f"Spark session started in {spark_engine.last_startup_seconds:.1f} s")
    yield session
    session.stop()
