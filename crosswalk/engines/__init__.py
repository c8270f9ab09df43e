"""Engines that read and sum the data of `crosswalk apply`: pandas (in memory), DuckDB
(streaming files larger than memory) or Apache Spark (a cluster).

Every engine module ``crosswalk/engines/<name>_engine.py`` provides::

    scan(data, columns, *, progress=None, **options) -> crosswalk.engines.scan.Scan

``columns`` (:class:`crosswalk.engines.scan.Columns`) names the code, key and value columns and
the number style. The engine reads every value cell by the rules of
:mod:`crosswalk.io.numbers` (one reader of numbers, rendered as SQL for DuckDB and Spark) and
returns the data summed exactly — Python integers in units of 1e-18 — by code(s) and key(s),
with the rows read, each value column's total over all rows (counted apart from the grouping)
and how the cells were read. Everything after that (repairs, weights, the output,
conservation) is shared Python (:mod:`crosswalk.conversion`): the engines agree to the last
digit. DuckDB and Spark also provide ``column_names(data)`` and ``delimiter(data)`` for files
they stream, and take a ``progress(stage, fraction)`` callable.

DuckDB and PySpark are optional extras, imported only when their engine is asked for.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import CrosswalkError

# name -> (module, the extra that installs its dependency, the module that dependency provides)
ENGINES: dict[str, tuple[str, str | None, str | None]] = {
    "pandas": ("crosswalk.engines.pandas_engine", None, None),
    "duckdb": ("crosswalk.engines.duckdb_engine", "duckdb", "duckdb"),
    "spark": ("crosswalk.engines.spark_engine", "spark", "pyspark"),
}


def get_engine(name: str) -> ModuleType:
    """The engine module ``name`` (imported now); a :class:`CrosswalkError` saying what to
    install when its optional dependency is missing."""
    try:
        module, extra, dependency = ENGINES[name]
    except KeyError:
        raise CrosswalkError(f"unknown engine {name!r}; engines: {', '.join(ENGINES)}") from None
    if dependency is not None:
        try:
            importlib.import_module(dependency)
        except ImportError:
            raise CrosswalkError(f"the {name} engine needs {dependency}: pip install 'crosswalk[{extra}]'") from None
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            raise CrosswalkError(f"the {name} engine is not available in this installation ({module} is missing)") from None
        if exc.name and dependency and exc.name.split(".")[0] == dependency:
            raise CrosswalkError(f"the {name} engine needs {dependency}: pip install 'crosswalk[{extra}]'") from None
        raise


def available() -> list[str]:
    """Engines whose dependencies are installed."""
    out = []
    for name in ENGINES:
        try:
            get_engine(name)
        except CrosswalkError:
            continue
        out.append(name)
    return out


__all__ = ["ENGINES", "available", "get_engine"]
