"""Reads of the DuckDB store: series by tag query and range, traces, span and log search."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from store.duckdb_maintenance import HOUR_MS, MINUTE_MS
from store.interfaces import Consolidation, LogSearch, SeriesValues, SpanSearch, TooManySeries, step_grid
from store.model import LogRecord, Span
from store.series_matrix import Watermarks, Window, read_matrix
from store.tag_query import TagIndex, TagQuery, select

if TYPE_CHECKING:
    import duckdb

SPAN_COLUMNS = (
    "trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, service, status_code, "
    "status_message, attributes, resource, events, links, scope"
)


def sql_conditions(*candidates: tuple[str, Any]) -> tuple[list[str], list[Any]]:
    """``(condition with ?, value)`` pairs → SQL conditions and parameters, skipping ``None`` values."""
    clauses, params = ["true"], []
    for condition, value in candidates:
        if value is not None:
            clauses.append(condition)
            params.append(value)
    return clauses, params


def _span(row: tuple[Any, ...]) -> Span:
    return Span(
        trace_id=row[0],
        span_id=row[1],
        parent_span_id=row[2],
        name=row[3],
        kind=int(row[4]),
        start_ns=int(row[5]),
        end_ns=int(row[6]),
        service=row[7],
        status_code=int(row[8]),
        status_message=row[9],
        attributes=json.loads(row[10]),
        resource=json.loads(row[11]),
        events=tuple(json.loads(row[12])),
        links=tuple(json.loads(row[13])),
        scope=row[14] or "",
    )


class ReadsMixin:
    """Read methods of :class:`store.duckdb_store.DuckDBStore` (split out to keep modules small)."""

    index: TagIndex

    def cursor(self) -> duckdb.DuckDBPyConnection:
        raise NotImplementedError

    def watermark(self, rollup: str) -> int:
        raise NotImplementedError

    # --- series ----------------------------------------------------------------------------

    def series(
        self,
        query: TagQuery,
        start_ms: int,
        end_ms: int,
        step_ms: int,
        consolidation: Consolidation = "avg",
        *,
        max_series: int | None = None,
    ) -> list[SeriesValues]:
        """Matching series over (start, end], each step the ``consolidation`` of the data inside it.

        ``avg`` (the default) is the mean of the data in the step. The coarsest resolution no
        wider than the step is read: 1 h rollups up to their watermark, then 1 m rollups,
        then raw step data for what is not rolled up yet. Each series' ``values`` is a row of
        one matrix. Raises :class:`TooManySeries` before reading when more than
        ``max_series`` match.
        """
        ids = select(self.index, query)
        if max_series is not None and len(ids) > max_series:
            raise TooManySeries(len(ids), max_series)
        if not ids:
            return []
        start_ms, steps = step_grid(start_ms, end_ms, step_ms)
        window = Window(start_ms, step_ms, steps)
        # A rollup serves a step only when whole rollup buckets fit in it (a 90 s step would
        # otherwise mix minutes across its boundaries).
        marks = Watermarks(
            self.watermark("1m") if step_ms % MINUTE_MS == 0 else 0,
            self.watermark("1h") if step_ms % HOUR_MS == 0 else 0,
        )
        all_ids = len(ids) == len(self.index.tags)
        matrix = read_matrix(self.cursor(), ids, all_ids, window, marks, consolidation)
        tags = self.index.tags
        return [SeriesValues(tags[i], start_ms, step_ms, row) for i, row in zip(ids, matrix, strict=True)]

    def tag_keys(self, query: TagQuery | None = None) -> list[str]:
        with self.index.lock:  # the writer grows these sets while readers look
            if query is None:
                return sorted(self.index.by_key)
            return sorted({k for i in select(self.index, query) for k in self.index.tags[i]})

    def tag_values(self, key: str, query: TagQuery | None = None) -> list[str]:
        with self.index.lock:
            ids = self.index.by_key.get(key, set()) if query is None else select(self.index, query)
            return sorted({self.index.tags[i][key] for i in ids if key in self.index.tags[i]})

    # --- spans -------------------------------------------------------------------------------

    def trace(self, trace_id: str, limit: int | None = None) -> list[Span]:
        """The trace's spans by start time; the first ``limit`` when given."""
        rows = (
            self.cursor()
            .execute(
                f"SELECT {SPAN_COLUMNS} FROM spans WHERE trace_id = ? ORDER BY start_ns LIMIT ?",
                [trace_id.lower(), limit],
            )
            .fetchall()
        )
        return [_span(row) for row in rows]

    def search_spans(self, search: SpanSearch) -> list[Span]:
        clauses, params = sql_conditions(
            ("service = ?", search.service),
            ("name = ?", search.operation),
            ("duration_ns >= ?", search.min_duration_ns),
            ("duration_ns <= ?", search.max_duration_ns),
            ("status_code = ?", search.status_code),
            ("start_ns >= ?", search.start_ns),
            ("start_ns <= ?", search.end_ns),
        )
        if search.before is not None:
            clauses.append("(start_ns < ? OR (start_ns = ? AND span_id < ?))")
            params += [search.before[0], search.before[0], search.before[1]]
        rows = (
            self.cursor()
            .execute(
                f"SELECT {SPAN_COLUMNS} FROM spans WHERE {' AND '.join(clauses)} "
                "ORDER BY start_ns DESC, span_id DESC LIMIT ?",
                [*params, search.limit],
            )
            .fetchall()
        )
        return [_span(row) for row in rows]

    # --- logs ---------------------------------------------------------------------------------

    def search_logs(self, search: LogSearch) -> list[LogRecord]:
        clauses, params = _log_filters(search, search.start_ns, search.end_ns)
        if search.before is not None:
            clauses.append("(timestamp_ns < ? OR (timestamp_ns = ? AND seq < ?))")
            params += [search.before[0], search.before[0], search.before[1]]
        if search.after is not None:
            clauses.append("(timestamp_ns > ? OR (timestamp_ns = ? AND seq > ?))")
            params += [search.after[0], search.after[0], search.after[1]]
        order = "ASC" if search.after is not None else "DESC"  # forward reads come oldest first
        rows = (
            self.cursor()
            .execute(
                "SELECT timestamp_ns, level, message, service, trace_id, span_id, document, index_name, "
                "seq "
                f"FROM logs WHERE {' AND '.join(clauses)} "
                f"ORDER BY timestamp_ns {order}, seq {order} LIMIT ?",
                [*params, search.limit],
            )
            .fetchall()
        )
        return [
            LogRecord(int(r[0]), r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], int(r[8]))
            for r in rows
        ]

    def log_counts(self, search: LogSearch, start_ms: int, end_ms: int, step_ms: int) -> list[int]:
        _, steps = step_grid(start_ms, end_ms, step_ms)
        counts = [0] * steps
        for _, index, count in self._log_buckets(search, start_ms, end_ms, step_ms, by_level=False):
            counts[index] = count
        return counts

    def log_counts_by_level(
        self, search: LogSearch, start_ms: int, end_ms: int, step_ms: int
    ) -> dict[str, list[int]]:
        _, steps = step_grid(start_ms, end_ms, step_ms)
        found: dict[str, list[int]] = {}
        for level, index, count in self._log_buckets(search, start_ms, end_ms, step_ms, by_level=True):
            found.setdefault(level, [0] * steps)[index] = count
        return dict(sorted(found.items()))

    def _log_buckets(
        self, search: LogSearch, start_ms: int, end_ms: int, step_ms: int, *, by_level: bool
    ) -> list[tuple[str, int, int]]:
        """(level or "", step index, count) for the steps of (aligned start, end] holding records."""
        start, steps = step_grid(start_ms, end_ms, step_ms)
        step_ns = step_ms * 1_000_000
        level = "level" if by_level else "''"
        # A record at t counts in the step ending at the first multiple of the step ≥ t.
        clauses, params = _log_filters(search, start * 1_000_000 + 1, end_ms * 1_000_000)
        rows = (
            self.cursor()
            .execute(
                f"SELECT {level}, (timestamp_ns + {step_ns - 1}) // {step_ns} AS bucket, count(*) FROM logs "
                f"WHERE {' AND '.join(clauses)} GROUP BY ALL",
                params,
            )
            .fetchall()
        )
        first = start // step_ms + 1
        return [
            (str(name), int(bucket) - first, int(count))
            for name, bucket, count in rows
            if 0 <= int(bucket) - first < steps
        ]


def _log_filters(search: LogSearch, start_ns: int | None, end_ns: int | None) -> tuple[list[str], list[Any]]:
    """SQL conditions and parameters for a log search's fields (time bounds given apart)."""
    clauses, params = sql_conditions(
        ("service = ?", search.service),
        ("level = ?", search.level),
        ("trace_id = ?", search.trace_id),
        ("timestamp_ns >= ?", start_ns),
        ("timestamp_ns <= ?", end_ns),
    )
    if search.levels:
        clauses.append(f"level IN ({', '.join('?' * len(search.levels))})")
        params += list(search.levels)
    if search.text:
        clauses.append("contains(lower(message), lower(?))")
        params.append(search.text)
    for key, value in search.labels:
        # The key goes in as a parameter too: a JSON path is an ordinary string to DuckDB.
        clauses.append("json_extract_string(document, ?) = ?")
        params += [f'$.labels."{key.replace(chr(34), "")}"', value]
    return clauses, params
