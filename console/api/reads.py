"""Read API over the store: series, span search, logs. Bounded and paged (traces: ``traces.py``)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from sample_services.errors import ServiceError
from stacklang import StackLangError, parse_query
from stacklang.timeparse import TimeError, parse_duration
from store.interfaces import LogSearch, Reader, SpanSearch, TooManySeries, step_grid
from store.model import LogRecord, Span
from store.tag_query import QuerySyntaxError, TagQuery, parse_simple
from tracing.search import MAX_DURATION_NS, STATUS_CODES, TRACE_ID

MAX_SERIES = 2_000
# ASCII digits only: str.isdigit() also takes "²", which int() refuses.
_INTEGER = re.compile(r"^-?[0-9]{1,19}$")
MAX_DURATION_MS = MAX_DURATION_NS / 1e6
MAX_POINTS = 500_000
MAX_LIMIT = 1_000
MAX_HISTOGRAM_BUCKETS = 2_000
# Bucket widths a histogram picks from by itself (Kibana's auto interval rounds the same way).
NICE_STEPS_MS = tuple(
    s * 1_000
    for s in (
        1,
        2,
        5,
        10,
        15,
        30,
        60,
        120,
        300,
        600,
        900,
        1_800,
        3_600,
        7_200,
        10_800,
        21_600,
        43_200,
        86_400,
    )
)


def parse_time_ms(value: str | None, field: str, default_ms: int) -> int:
    """Epoch milliseconds, or an ISO 8601 time with a zone; 400 naming the field otherwise."""
    if value is None or value == "":
        return default_ms
    if _INTEGER.match(value):
        return int(value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ServiceError(
            400, field, f"{value!r} is neither epoch milliseconds nor an ISO 8601 time"
        ) from None
    if parsed.tzinfo is None:
        raise ServiceError(400, field, "an ISO 8601 time needs a zone (Z or +hh:mm)")
    return int(parsed.timestamp() * 1000)


def parse_range_ms(
    start: str | None, end: str | None, now_ms: int, default_ms: int = 3_600_000
) -> tuple[int, int]:
    """(start, end) in epoch ms: end defaults to now, start to ``default_ms`` before it; 400 if inverted."""
    end_ms = parse_time_ms(end, "end", now_ms)
    start_ms = parse_time_ms(start, "start", end_ms - default_ms)
    if start_ms >= end_ms:
        raise ServiceError(400, "start", "must be before end")
    return start_ms, end_ms


def parse_series_query(text: str) -> TagQuery:
    """An Atlas query (every Atlas word starts with ':'), else the older key=value filter; 400 naming q."""
    try:
        return parse_query(text) if ":" in text else parse_simple(text)
    except (QuerySyntaxError, StackLangError) as error:
        raise ServiceError(400, "q", str(error)) from None


def _log_cursor(text: str, field: str = "cursor") -> tuple[int, int]:
    """``<timestamp_ns>:<seq>`` of the last record of the previous page (400 naming ``field``)."""
    timestamp, _, seq = text.partition(":")
    if not (_INTEGER.match(timestamp) and _INTEGER.match(seq)):
        raise ServiceError(400, field, "must be a record's cursor or a previous page's next_cursor")
    return int(timestamp), int(seq)


def _span_cursor(text: str) -> tuple[int, str]:
    """``<start_ns>:<span_id>`` of the last span of the previous page."""
    start, _, span_id = text.partition(":")
    if not (_INTEGER.match(start) and len(span_id) == 16 and all(c in "0123456789abcdef" for c in span_id)):
        raise ServiceError(400, "cursor", "must be a next_cursor value from a previous page")
    return int(start), span_id


def span_json(span: Span) -> dict[str, Any]:
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "kind": span.kind,
        "service": span.service,
        "start_ns": span.start_ns,
        "end_ns": span.end_ns,
        "duration_ms": round(span.duration_ns / 1e6, 3),
        "status": {"code": span.status_code, "message": span.status_message},
        "attributes": span.attributes,
        "resource": span.resource,
        "events": span.events,
        "links": span.links,
        "scope": span.scope,
    }


def log_filters(
    service: str | None = None,
    level: list[str] | None = Query(None, description="any of these levels (repeat the parameter)"),  # noqa: B008
    trace_id: str | None = None,
    q: str | None = Query(None, max_length=256, description="text the message contains"),
) -> LogSearch:
    """The filters ``/logs`` and ``/logs/histogram`` share, as a search without bounds."""
    if trace_id is not None and not TRACE_ID.fullmatch(trace_id):
        raise ServiceError(400, "trace_id", "must be 32 hexadecimal characters")
    levels = tuple(sorted({v.lower() for v in level or [] if v}))
    return LogSearch(
        service=service, levels=levels, trace_id=None if trace_id is None else trace_id.lower(), text=q
    )


LOG_FILTERS = Depends(log_filters)


def _histogram_step(step: str | None, start_ms: int, end_ms: int) -> int:
    """The bucket width: given (≥ 1 s, ≤ MAX_HISTOGRAM_BUCKETS buckets) or about 100 nice buckets."""
    if step:
        try:
            step_ms = parse_duration(step, "step")
        except TimeError as error:
            raise ServiceError(400, error.field, error.reason) from None
        if step_ms < 1_000:
            raise ServiceError(400, "step", "must be at least 1s")
    else:
        wanted = (end_ms - start_ms) / 100
        step_ms = next((s for s in NICE_STEPS_MS if s >= wanted), -(-int(wanted) // 86_400_000) * 86_400_000)
    if (end_ms - start_ms) / step_ms > MAX_HISTOGRAM_BUCKETS:
        raise ServiceError(400, "step", f"more than {MAX_HISTOGRAM_BUCKETS} buckets; use a larger step")
    return step_ms


def log_json(record: LogRecord) -> dict[str, Any]:
    return {
        "cursor": f"{record.timestamp_ns}:{record.seq}",  # as cursor: the older lines; as after: the newer
        "timestamp_ns": record.timestamp_ns,
        "level": record.level,
        "message": record.message,
        "service": record.service,
        "trace_id": record.trace_id,
        "span_id": record.span_id,
        "index": record.index,
        "document": record.document,
    }


def read_router(store: Reader, default_step_ms: int, clock: Callable[[], float] = time.time) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["read"])

    @router.get("/series")
    def series(
        q: str = Query(
            "",
            description="an Atlas query (name,up,:eq,nf.app,drm,:eq,:and), or the older key=value form",
        ),
        start: str | None = None,
        end: str | None = None,
        step: int | None = Query(None, ge=1_000, description="milliseconds"),
    ) -> dict[str, Any]:
        start_ms, end_ms = parse_range_ms(start, end, int(clock() * 1000))
        step_ms = step or default_step_ms
        query = parse_series_query(q)
        points_per_series = (end_ms - start_ms) // step_ms + 1
        if points_per_series > MAX_POINTS:
            raise ServiceError(
                400,
                "step",
                f"{points_per_series} points per series is over the limit of "
                f"{MAX_POINTS}; use a larger step or a shorter range",
            )
        # The store counts before it reads: an over-wide query allocates nothing.
        allowed = min(MAX_SERIES, MAX_POINTS // points_per_series)
        try:
            found = store.series(query, start_ms, end_ms, step_ms, max_series=allowed)
        except TooManySeries as over:
            if over.found > MAX_SERIES:
                raise ServiceError(
                    400, "q", f"{over.found} series match, over the limit of {MAX_SERIES}; narrow it"
                ) from None
            raise ServiceError(
                400,
                "q",
                f"{over.found} series × {points_per_series} points is over the limit "
                f"of {MAX_POINTS} points; narrow the query or use a larger step",
            ) from None
        return {
            "start": found[0].start_ms if found else start_ms,
            "step": step_ms,
            "series": [
                {"tags": dict(s.tags), "values": [None if v != v else v for v in s.values.tolist()]}
                for s in found
            ],
        }

    @router.get("/spans")
    def spans(
        service: str | None = None,
        operation: str | None = None,
        min_duration_ms: float | None = Query(None, ge=0, le=MAX_DURATION_MS),
        max_duration_ms: float | None = Query(None, ge=0, le=MAX_DURATION_MS),
        status: str | None = Query(None, description="unset, ok or error"),
        start: str | None = None,
        end: str | None = None,
        cursor: str | None = Query(None, description="the previous page's next_cursor, for the next page"),
        limit: int = Query(100, ge=1, le=MAX_LIMIT),
    ) -> dict[str, Any]:
        if status is not None and status not in STATUS_CODES:
            raise ServiceError(400, "status", "must be one of unset, ok, error")
        search = SpanSearch(
            service=service,
            operation=operation,
            min_duration_ns=None if min_duration_ms is None else int(min_duration_ms * 1e6),
            max_duration_ns=None if max_duration_ms is None else int(max_duration_ms * 1e6),
            status_code=None if status is None else STATUS_CODES[status],
            start_ns=None if start is None else parse_time_ms(start, "start", 0) * 1_000_000,
            end_ns=None if end is None else parse_time_ms(end, "end", 0) * 1_000_000,
            limit=limit,
            before=None if cursor is None else _span_cursor(cursor),
        )
        spans = store.search_spans(search)
        last = spans[-1] if len(spans) == limit else None
        next_cursor = None if last is None else f"{last.start_ns}:{last.span_id}"
        return {"spans": [span_json(s) for s in spans], "next_cursor": next_cursor}

    @router.get("/logs")
    def logs(
        filters: LogSearch = LOG_FILTERS,
        start: str | None = None,
        end: str | None = None,
        cursor: str | None = Query(None, description="the previous page's next_cursor, for the next page"),
        after: str | None = Query(
            None, description="a record's cursor: the records just after it, oldest first (not with cursor)"
        ),
        limit: int = Query(100, ge=1, le=MAX_LIMIT),
    ) -> dict[str, Any]:
        """Log records newest first (older ones with ``cursor``), or oldest first after ``after``.

        Either way ``next_cursor`` continues in the same direction: pass it back as the same
        parameter (``cursor`` or ``after``); it is null when fewer than ``limit`` came back.
        """
        if cursor is not None and after is not None:
            raise ServiceError(400, "after", "reads forward; give either cursor or after, not both")
        search = replace(
            filters,
            start_ns=None if start is None else parse_time_ms(start, "start", 0) * 1_000_000,
            end_ns=None if end is None else parse_time_ms(end, "end", 0) * 1_000_000,
            limit=limit,
            before=None if cursor is None else _log_cursor(cursor),
            after=None if after is None else _log_cursor(after, "after"),
        )
        records = store.search_logs(search)
        last = records[-1] if len(records) == limit else None
        next_cursor = None if last is None else f"{last.timestamp_ns}:{last.seq}"
        return {"logs": [log_json(r) for r in records], "next_cursor": next_cursor}

    @router.get("/logs/histogram")
    def log_histogram(
        filters: LogSearch = LOG_FILTERS,
        start: str | None = None,
        end: str | None = None,
        step: str | None = Query(
            None, description="bucket width, e.g. 30s or 5m (default: about 100 buckets)"
        ),
    ) -> dict[str, Any]:
        """Log records per step and level over (start, end] (default: the last hour), counted in the store."""
        start_ms, end_ms = parse_range_ms(start, end, int(clock() * 1000))
        step_ms = _histogram_step(step, start_ms, end_ms)
        counts = store.log_counts_by_level(filters, start_ms, end_ms, step_ms)
        first, steps = step_grid(start_ms, end_ms, step_ms)
        return {
            "start": first,
            "end": end_ms,
            "step": step_ms,
            "times": [first + (i + 1) * step_ms for i in range(steps)],  # each bucket's end
            "levels": counts,
            "total": [sum(column) for column in zip(*counts.values(), strict=True)]
            if counts
            else [0] * steps,
        }

    return router
