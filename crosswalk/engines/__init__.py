"""Conversion engines: the same crosswalk conversion run by pandas (in memory), DuckDB
(streaming files larger than memory) or Apache Spark (a cluster, the crosswalk broadcast).

Every engine module ``crosswalk/engines/<name>_engine.py`` provides::

    run(df_or_path, weights_by_column, value_columns, code_columns) -> (data, unmatched)

``weights_by_column`` maps each code column to a ``pandas.DataFrame(source, target, weight)``.
Each input row's value is multiplied by the weight of every (source → target) pair of each
code column (two code columns: the product of both weights), summed by target code(s);
rows with a code the crosswalk lacks go to ``unmatched`` under their original code(s) with
their summed values. Sums are float64. :func:`crosswalk.apply.convert_frame` sorts both
results the same way whatever the engine returns, so the engines agree row for row.

Optional: ``totals(path, value_columns) -> dict[column, float]``, the input totals of a
file the engine streams (used for the conservation check when the data never sits in
memory), and a ``progress`` keyword of ``run`` (a callable ``progress(stage, fraction)``).

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
