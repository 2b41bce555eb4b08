"""JSON answers of the trace API: search rows, one analysed trace, a comparison.

A trace is answered flat — spans in waterfall order, each with its depth and parent —
rather than nested: a chain thousands of spans deep would overflow a JSON encoder's
recursion, and the console draws rows anyway.
"""

from __future__ import annotations

from typing import Any

from console.api.reads import span_json
from store.interfaces import TraceSummary
from tracing.assembly import Trace
from tracing.compare import DiffNode, TraceComparison
from tracing.critical_path import critical_path, critical_time_by_span
from tracing.statistics import OperationStats, self_time_by_span, trace_statistics


def _ms(ns: float) -> float:
    return round(ns / 1e6, 3)


def summary_json(summary: TraceSummary) -> dict[str, Any]:
    return {
        "trace_id": summary.trace_id,
        "root_service": summary.root_service,
        "root_operation": summary.root_operation,
        "start_ns": summary.start_ns,
        "duration_ms": _ms(summary.duration_ns),
        "span_count": summary.span_count,
        "error_count": summary.error_count,
        "services": summary.services,
    }


def _stats_json(row: OperationStats) -> dict[str, Any]:
    return {
        "service": row.service,
        "operation": row.operation,
        "count": row.count,
        "errors": row.errors,
        "total_ms": _ms(row.total_ns),
        "avg_ms": _ms(row.avg_ns),
        "min_ms": _ms(row.min_ns),
        "max_ms": _ms(row.max_ns),
        "self_total_ms": _ms(row.self_total_ns),
        "self_avg_ms": _ms(row.self_avg_ns),
        "self_min_ms": _ms(row.self_min_ns),
        "self_max_ms": _ms(row.self_max_ns),
        "self_percent": round(row.self_percent, 3),
    }


def trace_json(trace: Trace, truncated: bool) -> dict[str, Any]:
    """Summary, spans (with tree, self time and critical time), critical path and statistics."""
    sections = critical_path(trace)
    on_path = critical_time_by_span(sections)
    own = self_time_by_span(trace)
    spans = []
    for node in trace.nodes:
        spans.append(
            {
                **span_json(node.span),
                "depth": node.depth,
                "parent": None if node.parent is None else node.parent.span_id,
                "child_count": len(node.children),
                "orphan": node.orphan,
                "follows_from": node.follows_from,
                # After clock-skew adjustment; start_ns/end_ns stay as recorded.
                "adjusted_start_ns": node.start_ns,
                "adjusted_end_ns": node.end_ns,
                "skew_ns": node.skew_ns,
                "self_time_ms": _ms(own.get(node.span_id, 0)),
                "critical_ms": _ms(on_path.get(node.span_id, 0)),
                "warnings": node.warnings,
            }
        )
    summary = trace.summary()
    return {
        "trace_id": trace.trace_id,
        "summary": summary_json(summary),
        "truncated": truncated,
        "malformed": trace.malformed,
        "problems": trace.problems,
        "spans": spans,
        "critical_path": [
            {
                "span_id": s.span_id,
                "start_ns": s.start_ns,
                "end_ns": s.end_ns,
                "duration_ms": _ms(s.duration_ns),
            }
            for s in sections
        ],
        "statistics": {
            "by_operation": [_stats_json(row) for row in trace_statistics(trace)],
            "by_service": [_stats_json(row) for row in trace_statistics(trace, group_by="service")],
        },
    }


def comparison_json(comparison: TraceComparison, a: Trace, b: Trace, *, truncated: bool) -> dict[str, Any]:
    """Jaeger's structural diff, flat: nodes depth first, each naming its parent's index."""
    index = {id(node): n for n, node in enumerate(comparison.nodes)}

    def node_json(n: int, node: DiffNode) -> dict[str, Any]:
        return {
            "index": n,
            "parent": None if node.parent is None else index[id(node.parent)],
            "depth": node.depth,
            "service": node.service,
            "operation": node.operation,
            "presence": node.presence,
            "count_a": node.count_a,
            "count_b": node.count_b,
            "count_difference": node.count_difference,
            "duration_a_ms": _ms(node.duration_a_ns),
            "duration_b_ms": _ms(node.duration_b_ns),
            "errors_a": node.errors_a,
            "errors_b": node.errors_b,
        }

    return {
        "a": summary_json(a.summary()),
        "b": summary_json(b.summary()),
        "truncated": truncated,
        "malformed": a.malformed or b.malformed,
        "summary": {
            "only_a": comparison.only_a,
            "only_b": comparison.only_b,
            "both": comparison.both,
            "changed": comparison.changed,
        },
        "nodes": [node_json(n, node) for n, node in enumerate(comparison.nodes)],
    }
