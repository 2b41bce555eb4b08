"""Trace analytics API: search, one trace analysed, comparison, dependency graph, services.

Bad input is a 400 naming the parameter: a malformed trace id, an inverted range, an
unknown service, a limit over the cap. A trace whose spans repeat an id or whose parents
loop is answered, marked malformed with the problems listed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query

from console.api.reads import parse_range_ms
from console.api.trace_views import comparison_json, summary_json, trace_json
from sample_services.errors import ServiceError
from store.duckdb_store import DuckDBStore
from store.model import Span
from tracing.assembly import assemble
from tracing.compare import compare_traces
from tracing.dependencies import dependency_graph, graph_json
from tracing.search import SearchError, build_query, check_trace_id

MAX_TRACE_SPANS = 10_000  # a runaway trace (a loop that never ends its trace) stays answerable
MAX_GRAPH_RANGE_MS = 31 * 24 * 3_600_000


def read_trace(store: DuckDBStore, trace_id: str) -> tuple[list[Span], bool]:
    """The trace's first :data:`MAX_TRACE_SPANS` spans by start, and whether there were more."""
    # One more than the cap tells a trace that is exactly at it from one over it.
    spans = store.trace(trace_id, limit=MAX_TRACE_SPANS + 1)
    return spans[:MAX_TRACE_SPANS], len(spans) > MAX_TRACE_SPANS


def _range_ns(start: str | None, end: str | None, clock: Callable[[], float]) -> tuple[int, int]:
    """(start, end) in ns from epoch-ms or ISO parameters; the last hour by default."""
    start_ms, end_ms = parse_range_ms(start, end, int(clock() * 1000))
    return start_ms * 1_000_000, end_ms * 1_000_000


def _trace_id(value: str, field: str) -> str:
    try:
        return check_trace_id(value, field)
    except SearchError as error:
        raise ServiceError(400, error.field, error.reason) from None


def trace_router(store: DuckDBStore, clock: Callable[[], float] = time.time) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["traces"])

    def load(trace_id: str, field: str) -> tuple[list[Span], bool]:
        spans, truncated = read_trace(store, trace_id)
        if not spans:
            raise ServiceError(404, field, f"no spans stored for trace {trace_id}")
        return spans, truncated

    @router.get("/traces")
    def search(
        service: str | None = Query(None, max_length=256),
        operation: str | None = Query(None, max_length=512),
        attr: list[str] = Query([], description="key=value, span or resource attribute; repeatable"),  # noqa: B008
        min_duration_ms: float | None = Query(None, description="of the matching span"),
        max_duration_ms: float | None = None,
        status: str | None = Query(None, description="unset, ok or error"),
        start: str | None = Query(None, description="epoch ms or ISO 8601; default an hour before end"),
        end: str | None = Query(None, description="epoch ms or ISO 8601; default now"),
        limit: int = 20,
        sort: str = Query("start", description="start (newest first) or duration (longest first)"),
    ) -> dict[str, Any]:
        start_ns, end_ns = _range_ns(start, end, clock)
        try:
            query = build_query(
                service=service,
                operation=operation,
                attributes=attr,
                min_duration_ms=min_duration_ms,
                max_duration_ms=max_duration_ms,
                status=status,
                start_ns=start_ns,
                end_ns=end_ns,
                limit=limit,
                order=sort,
                service_known=lambda name: bool(store.span_operations(name)),
            )
        except SearchError as error:
            raise ServiceError(400, error.field, error.reason) from None
        found = store.find_traces(query)
        return {
            "traces": [summary_json(s) for s in found],
            "start_ns": start_ns,
            "end_ns": end_ns,
            "limit": query.limit,
            "sort": query.order,
        }

    @router.get("/traces/{trace_id}")
    def trace(trace_id: str) -> dict[str, Any]:
        trace_id = _trace_id(trace_id, "trace_id")
        spans, truncated = load(trace_id, "trace_id")
        return trace_json(assemble(trace_id, spans), truncated)

    @router.get("/traces/{trace_a}/compare/{trace_b}")
    def compare(trace_a: str, trace_b: str) -> dict[str, Any]:
        a_id, b_id = _trace_id(trace_a, "trace_a"), _trace_id(trace_b, "trace_b")
        (a_spans, a_cut), (b_spans, b_cut) = load(a_id, "trace_a"), load(b_id, "trace_b")
        a, b = assemble(a_id, a_spans), assemble(b_id, b_spans)
        return comparison_json(compare_traces(a, b), a, b, truncated=a_cut or b_cut)

    @router.get("/dependencies")
    def dependencies(
        start: str | None = Query(None, description="epoch ms or ISO 8601; default an hour before end"),
        end: str | None = Query(None, description="epoch ms or ISO 8601; default now"),
    ) -> dict[str, Any]:
        start_ns, end_ns = _range_ns(start, end, clock)
        if end_ns - start_ns > MAX_GRAPH_RANGE_MS * 1_000_000:
            raise ServiceError(400, "start", "the range may span 31 days at most")
        return graph_json(dependency_graph(store, start_ns, end_ns))

    @router.get("/services")
    def services() -> dict[str, Any]:
        counts = store.span_services()
        return {"services": [{"name": name, "spans": spans} for name, spans in counts.items()]}

    @router.get("/services/{service}/operations")
    def operations(service: str) -> dict[str, Any]:
        found = store.span_operations(service)
        if not found:
            raise ServiceError(400, "service", f"no spans of service {service[:80]!r} are stored")
        return {
            "service": service,
            "operations": [{"name": name, "span_kind": kind, "spans": n} for name, kind, n in found],
        }

    return router
