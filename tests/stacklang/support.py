"""Shared by the stack-language tests: series written to a real DuckDB store, and evaluation helpers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from stacklang import Limits, ResultSeries, evaluate
from store.duckdb_store import DuckDBStore
from store.model import Datapoint

STEP = 60_000
T0 = 1_800_000_000_000  # a whole hour: values[i] covers (T0 + i * STEP, T0 + (i + 1) * STEP]
NAN = math.nan

# stacklang.md §6: the docs dataset, three intervals.
DOCS_DATASET: list[tuple[dict[str, str], list[float]]] = [
    ({"name": "ssCpuUser", "nf.app": "alerttest", "nf.node": "i-0123"}, [1, 2, NAN]),
    ({"name": "ssCpuSystem", "nf.app": "alerttest"}, [3, 4, 5]),
    ({"name": "ssCpuUser", "nf.app": "nccp", "nf.node": "i-0abc"}, [8, 7, 6]),
    ({"name": "ssCpuSystem", "nf.app": "nccp"}, [6, 7, 8]),
    ({"name": "numRequests", "nf.app": "nccp"}, [1, 2, 4]),
    ({"name": "ssCpuUser", "nf.app": "api", "nf.node": "i-0456"}, [1, 2, 2]),
]
# stacklang.md §6: the tutorial dataset, two intervals.
TUTORIAL_DATASET: list[tuple[dict[str, str], list[float]]] = [
    ({"name": "cpuUsage", "app": "www", "node": "i-01"}, [33, 31]),
    ({"name": "cpuUsage", "app": "www", "node": "i-02"}, [20, 37]),
    ({"name": "cpuUsage", "app": "db", "node": "i-03"}, [57, 62]),
]


def open_store(path: Path, dataset: Sequence[tuple[Mapping[str, str], Sequence[float]]]) -> DuckDBStore:
    """A store holding ``dataset``: value ``i`` of each series at ``T0 + (i + 1) * STEP`` (NaN: no data)."""
    store = DuckDBStore(path)
    store.write_datapoints(
        [
            Datapoint(tags, T0 + (i + 1) * STEP, float(v))
            for tags, values in dataset
            for i, v in enumerate(values)
        ]
    )
    return store


def run(
    store: DuckDBStore, expression: str, steps: int, *, limits: Limits | None = None, start: int = T0
) -> list[ResultSeries]:
    return evaluate(expression, store, start, start + steps * STEP, STEP, limits=limits or Limits())


def values(series: ResultSeries) -> list[float | None]:
    """Values with NaN as None, so lists compare with ==."""
    return [None if math.isnan(v) else round(v, 9) for v in series.values.tolist()]


def expect(expected: Sequence[float]) -> list[float | None]:
    return [None if math.isnan(v) else round(float(v), 9) for v in expected]


def same(actual: np.ndarray, expected: Sequence[float]) -> bool:
    return bool(
        np.allclose(actual, np.asarray(expected, dtype=np.float64), rtol=1e-9, atol=1e-12, equal_nan=True)
    )
