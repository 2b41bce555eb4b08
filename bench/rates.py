"""Rates the ingest benchmarks share: best-of-N throughput, and decode + store into a fresh DuckDB file."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from store.duckdb_store import DuckDBStore


def best_rate(run: Callable[[], int], repeats: int = 3) -> float:
    """Items per second, best of ``repeats`` runs; ``run`` returns how many items it handled."""
    best = 0.0
    for _ in range(repeats):
        began = time.perf_counter()
        handled = run()
        best = max(best, handled / (time.perf_counter() - began))
    return best


def stored_rate(
    bodies: Sequence[bytes],
    count: int,
    decode: Callable[[bytes], Sequence[Any]],
    write: Callable[[DuckDBStore, Sequence[Any]], object],
) -> tuple[float, float]:
    """(decode + write items/s, write alone items/s) for ``count`` bodies, cycling through ``bodies``."""
    with tempfile.TemporaryDirectory() as scratch:
        store = DuckDBStore(Path(scratch) / "bench.duckdb")
        try:
            write(store, decode(bodies[0]))  # first write: table and index warm
            items = 0
            writing = 0.0
            began = time.perf_counter()
            for n in range(count):
                decoded = decode(bodies[n % len(bodies)])
                items += len(decoded)
                started = time.perf_counter()
                write(store, decoded)
                writing += time.perf_counter() - started
            total = time.perf_counter() - began
        finally:
            store.close()
    return items / total, items / writing
