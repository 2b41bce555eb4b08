"""Read stored points into a (series × steps) float64 matrix, consolidating to the step.

DuckDB hands the rows over as Arrow record batches (no Python object per point), each with
its bucket already computed, and numpy scatters them into the matrix. Rows come from up to
three sources — raw step data, 1 m and 1 h rollups, split at the rollup watermarks — so a
cell may receive several rows when the step is wider than the data's. The first pass
assumes it does not (the common case: the read step is the ingest step) and writes each row
into its cell; if fewer cells were filled than rows read, a second pass combines them with
``ufunc.at``. Series are selected by id ranges when the ids are few runs (series created
together get consecutive ids), else by a semi-join on the id list.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from store.duckdb_maintenance import HOUR_MS, MINUTE_MS
from store.interfaces import Consolidation

if TYPE_CHECKING:
    import duckdb

_BATCH_ROWS = 1_000_000
_MAX_RANGES = 64  # more runs of consecutive ids than this and the id list is joined instead
# The rollup column each consolidation combines (raw rows use their value for all of them).
_ROLLUP_COLUMN = {"avg": "sum", "sum": "sum", "min": "min", "max": "max"}

Batch = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64] | None]


@dataclass(frozen=True)
class Window:
    """Buckets ``i`` in ``[0, buckets)`` cover ``(start_ms + i * step_ms, start_ms + (i + 1) * step_ms]``."""

    start_ms: int
    step_ms: int
    buckets: int

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.buckets * self.step_ms


@dataclass(frozen=True)
class Watermarks:
    """Rollups are complete up to these times (epoch ms); 0 when never rolled up."""

    minute_ms: int
    hour_ms: int


@dataclass(frozen=True)
class _Query:
    sql: str
    params: dict[str, list[int]]
    weighted: bool  # a count column follows the value (rollup rows stand for several points)


def _id_filter(ids: Sequence[int], all_ids: bool) -> tuple[str, dict[str, list[int]]]:
    if all_ids:
        # Every series (ids are handed out 1…N): bound it anyway, since series the writer adds
        # after the selection would have no row in the matrix.
        return f"series_id <= {int(ids[-1])}", {}
    id_array = np.asarray(ids, dtype=np.int64)
    breaks = np.flatnonzero(np.diff(id_array) != 1) + 1
    if len(breaks) < _MAX_RANGES:
        starts = id_array[np.concatenate([[0], breaks])]
        ends = id_array[np.concatenate([breaks - 1, [len(id_array) - 1]])]
        ranges = " OR ".join(f"series_id BETWEEN {a} AND {b}" for a, b in zip(starts, ends, strict=True))
        return f"({ranges})", {}
    return "series_id IN (SELECT unnest($ids::BIGINT[]))", {"ids": list(ids)}


def _query(
    ids: Sequence[int], all_ids: bool, window: Window, marks: Watermarks, consolidation: Consolidation
) -> _Query | None:
    """The UNION of (series_id, bucket, value[, count]) rows, each source only where it is needed.

    A read uses the coarsest resolution no wider than its step: 1 h rollups up to their
    watermark, then 1 m rollups up to theirs, then raw step data.
    """
    start, end, step = window.start_ms, window.end_ms, window.step_ms
    use_1h, use_1m = step >= HOUR_MS, step >= MINUTE_MS
    wm_1h = marks.hour_ms if use_1h else start
    wm_1m = max(marks.minute_ms if use_1m else start, wm_1h)
    spans = []  # (table, value column, count column, after, until)
    column = _ROLLUP_COLUMN[consolidation]
    if use_1h and start < min(end, wm_1h):
        spans.append(("points_1h", column, "count", start, min(end, wm_1h)))
    if use_1m and max(start, wm_1h) < min(end, wm_1m):
        spans.append(("points_1m", column, "count", max(start, wm_1h), min(end, wm_1m)))
    if max(start, wm_1m) < end:
        spans.append(("points", "value", "1", max(start, wm_1m), end))
    if not spans:
        return None
    weighted = consolidation == "avg" and any(table != "points" for table, *_ in spans)
    ids_clause, params = _id_filter(ids, all_ids)
    bucket = f"(ts - {start} + {step - 1}) // {step} - 1"
    parts = [
        f"SELECT series_id, {bucket} AS bucket, {value} AS v{f', {count} AS c' if weighted else ''} "
        f"FROM {table} WHERE {ids_clause} AND ts > {after} AND ts <= {until}"
        + (" AND NOT isnan(value)" if table == "points" else "")
        for table, value, count, after, until in spans
    ]
    return _Query(" UNION ALL ".join(parts), params, weighted)


def read_matrix(
    cursor: duckdb.DuckDBPyConnection,
    ids: Sequence[int],
    all_ids: bool,
    window: Window,
    marks: Watermarks,
    consolidation: Consolidation,
) -> npt.NDArray[np.float64]:
    """Row ``r`` of the answer is series ``ids[r]`` (ascending); NaN where a bucket has no data.

    ``all_ids`` says ``ids`` is every series in the store, so no filter is needed.
    """
    out = np.full((len(ids), window.buckets), np.nan)
    query = _query(ids, all_ids, window, marks, consolidation) if ids and window.buckets else None
    if query is None:
        return out
    id_array = np.asarray(ids, dtype=np.int64)
    lookup = np.full(int(id_array.max()) + 1, -1, dtype=np.int64)
    lookup[id_array] = np.arange(len(ids), dtype=np.int64)
    flat_out = out.reshape(-1)
    rows = 0
    for flat, values, counts in _batches(cursor, query, lookup, window.buckets):
        flat_out[flat] = values if counts is None else values / counts
        rows += len(flat)
    if int(np.count_nonzero(~np.isnan(flat_out))) != rows:
        _combine(cursor, query, lookup, window.buckets, consolidation, flat_out)
    return out


def _batches(
    cursor: duckdb.DuckDBPyConnection, query: _Query, lookup: npt.NDArray[np.int64], buckets: int
) -> Iterator[Batch]:
    """(flat cell index, value, count or None) per record batch, one batch in memory at a time."""
    for batch in cursor.sql(query.sql, params=query.params).to_arrow_reader(_BATCH_ROWS):
        flat = lookup[batch.column(0).to_numpy()] * buckets + batch.column(1).to_numpy()
        values = batch.column(2).to_numpy().astype(np.float64, copy=False)
        counts = batch.column(3).to_numpy().astype(np.float64) if query.weighted else None
        yield flat, values, counts


def _combine(
    cursor: duckdb.DuckDBPyConnection,
    query: _Query,
    lookup: npt.NDArray[np.int64],
    buckets: int,
    consolidation: Consolidation,
    flat_out: npt.NDArray[np.float64],
) -> None:
    """Second pass for cells that receive several rows: combine them as ``consolidation`` says."""
    flat_out.fill(np.nan)
    if consolidation in ("min", "max"):
        combine = np.fmin if consolidation == "min" else np.fmax  # NaN-ignoring
        for flat, values, _ in _batches(cursor, query, lookup, buckets):
            combine.at(flat_out, flat, values)
        return
    sums = np.zeros_like(flat_out)
    counts = np.zeros_like(flat_out)
    for flat, values, weights in _batches(cursor, query, lookup, buckets):
        np.add.at(sums, flat, values)
        np.add.at(counts, flat, 1.0 if weights is None else weights)
    filled = counts > 0
    flat_out[filled] = sums[filled] / counts[filled] if consolidation == "avg" else sums[filled]
