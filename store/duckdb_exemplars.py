"""Exemplar reads of the DuckDB store: example spans behind the span-derived RED series.

Nothing new is stored: the spans table is read at query time, grouped into steps exactly as
``collectors/span_metrics.py`` buckets spans (by end time, in milliseconds), and per step
the slowest matching span is picked, plus the slowest error span when the slowest is not one.
Kind and status are compared as span metrics name them: a kind outside 1–5 counts as
unspecified (0), a status other than ok (1) or error (2) as unset (0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from store.duckdb_reads import sql_conditions
from store.interfaces import Exemplar, SpanFilter, step_grid
from store.model import STATUS_ERROR

if TYPE_CHECKING:
    import duckdb

_NS_PER_MS = 1_000_000

# The step a span counts in: the first multiple of the step at or after its end, with the
# end first floored to milliseconds (span metrics do ``end_ns // 1_000_000``). Worked out
# relative to the aligned start, which every matched span ends after, so the integer
# divisions only see positive numbers (DuckDB's ``//`` truncates; Python's floors).
# HUGEINT: a far-off start times a million does not fit 64 bits.
_MATCHED = """
    SELECT trace_id, span_id, name, duration_ns,
           CASE WHEN status_code IN (1, 2) THEN status_code ELSE 0 END AS status,
           ((CAST(end_ns AS HUGEINT) - ?) // 1000000 + ? - 1) // ? AS step_index
    FROM spans
    WHERE end_ns >= ? AND end_ns < ? AND {clauses}
"""
# Ties on duration go to the greatest (trace id, span id): the same answer on every read.
_PICK = """
    SELECT step_index,
           arg_max(struct_pack(trace_id, span_id, name, duration_ns, status),
                   (duration_ns, trace_id, span_id), ?) AS slowest,
           arg_max(struct_pack(trace_id, span_id, name, duration_ns, status),
                   (duration_ns, trace_id, span_id)) FILTER (WHERE status = 2) AS error
    FROM matched GROUP BY step_index ORDER BY step_index
"""
# Seconds as span metrics compute them (a float division of the non-negative duration), so
# a span on a bucket's bound falls on the same side of it here as there.
_SECONDS = "CAST(greatest(duration_ns, 0) AS DOUBLE) / CAST(1e9 AS DOUBLE)"


def _where(spans: SpanFilter) -> tuple[str, list[Any]]:
    """SQL conditions and their parameters for the filter's fields."""
    clauses, params = sql_conditions(
        ("service = ?", spans.service),
        ("name = ?", spans.operation),
        ("CASE WHEN kind BETWEEN 1 AND 5 THEN kind ELSE 0 END = ?", spans.kind),
        ("CASE WHEN status_code IN (1, 2) THEN status_code ELSE 0 END = ?", spans.status_code),
        ("""coalesce(json_extract_string(resource, '$."nf.cluster"'), '') = ?""", spans.cluster),
        (f"{_SECONDS} > ?", spans.longer_than_s),
        (f"{_SECONDS} <= ?", spans.at_most_s),
    )
    return " AND ".join(clauses), params


def _exemplar(timestamp_ms: int, row: dict[str, Any]) -> Exemplar:
    return Exemplar(
        timestamp_ms,
        row["trace_id"],
        row["span_id"],
        row["name"],
        int(row["duration_ns"]),
        int(row["status"]),
    )


class ExemplarsMixin:
    """Exemplar reads of :class:`store.duckdb_store.DuckDBStore`."""

    def cursor(self) -> duckdb.DuckDBPyConnection:
        raise NotImplementedError

    def span_exemplars(
        self, spans: SpanFilter, start_ms: int, end_ms: int, step_ms: int, *, per_step: int = 1
    ) -> list[Exemplar]:
        """Example spans per step over (start, end], the steps aligned as :meth:`series` aligns them.

        Per step that has matching spans: the ``per_step`` slowest, slowest first, then the
        slowest error span when none of those is an error. Steps without spans have none.
        """
        if step_ms < 1 or per_step < 1:
            raise ValueError("step_ms and per_step must be positive")
        start_ms, steps = step_grid(start_ms, end_ms, step_ms)
        if steps == 0:
            return []
        last_ms = start_ms + steps * step_ms
        clauses, params = _where(spans)
        # A span ending at e counts when start < floor(e / 1 ms) <= last.
        bounds = [(start_ms + 1) * _NS_PER_MS, (last_ms + 1) * _NS_PER_MS]
        sql = f"WITH matched AS ({_MATCHED.format(clauses=clauses)}) {_PICK}"
        rows = (
            self.cursor()
            .execute(sql, [start_ms * _NS_PER_MS, step_ms, step_ms, *bounds, *params, per_step])
            .fetchall()
        )
        found: list[Exemplar] = []
        for step_index, slowest, error in rows:
            timestamp_ms = start_ms + int(step_index) * step_ms
            found += [_exemplar(timestamp_ms, row) for row in slowest]
            if error is not None and all(row["status"] != STATUS_ERROR for row in slowest):
                found.append(_exemplar(timestamp_ms, error))
        return found
