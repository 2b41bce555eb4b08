"""Exemplars API: example trace ids behind the span-derived RED series, per step.

``GET /api/v1/exemplars?q=&start=&end=&step=`` selects series as ``GET /api/v1/series``
does (an Atlas query, or the older key=value filter), over the same aligned steps, and
answers for each span-derived series the slowest span of every step that has spans, plus
the slowest error span when the slowest is not one — so a spike on a chart leads to a trace
(``GET /api/v1/traces/{trace_id}``). Series that are not span-derived are left out of the
answer; a span-derived series with no spans in the range is listed with no exemplars.

Answer: ``{"start", "step", "series": [{"tags", "exemplars": [{"timestamp_ms", "trace_id",
"span_id", "operation", "duration_ms", "status", "value"?}]}]}``; ``timestamp_ms`` is the
step's end, ``value`` the series' value there as ``/api/v1/series`` answers it (absent when
it has none). Every refused input is a 400 naming the parameter.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query

from console.api.reads import parse_range_ms, parse_series_query
from sample_services.errors import ServiceError
from store.interfaces import Exemplar, Reader, SpanFilter, TooManySeries, step_grid
from store.tag_query import TagQuery
from tracing.exemplars import series_exemplars

# Lower than the series read's: every span-derived key costs a query over the spans table.
MAX_SERIES = 200
MAX_POINTS = 100_000  # series × steps
MIN_STEP_MS = 1_000
_INTEGER = re.compile(r"^[0-9]{1,15}$")


def _step_ms(value: str | None, default_ms: int) -> int:
    """The step in milliseconds; checked here, not by FastAPI, so a bad one is a 400 as well."""
    if value is None or value == "":
        return default_ms
    if not _INTEGER.match(value):
        raise ServiceError(400, "step", f"{value!r} is not a whole number of milliseconds")
    step_ms = int(value)
    if step_ms < MIN_STEP_MS:
        raise ServiceError(400, "step", f"must be at least {MIN_STEP_MS} ms")
    return step_ms


def _query(text: str | None) -> TagQuery:
    if not text:
        raise ServiceError(400, "q", "a query is required, such as name,span.duration,:eq")
    return parse_series_query(text)


def exemplar_router(store: Reader, default_step_ms: int, clock: Callable[[], float] = time.time) -> APIRouter:
    """``GET /api/v1/exemplars`` over ``store``; ranges default to the hour before ``clock``'s now."""
    router = APIRouter(prefix="/api/v1", tags=["read"])

    @router.get("/exemplars")
    def exemplars(
        q: str | None = Query(
            None, description="an Atlas query (name,span.duration,:eq,nf.app,drm,:eq,:and), or key=value"
        ),
        start: str | None = None,
        end: str | None = None,
        step: str | None = Query(None, description="milliseconds, at least 1000"),
    ) -> dict[str, Any]:
        start_ms, end_ms = parse_range_ms(start, end, int(clock() * 1000))
        step_ms = _step_ms(step, default_step_ms)
        query = _query(q)
        first, steps = step_grid(start_ms, end_ms, step_ms)
        if steps > MAX_POINTS:
            raise ServiceError(
                400, "step", f"{steps} steps is over the limit of {MAX_POINTS}; use a larger step"
            )
        allowed = min(MAX_SERIES, MAX_POINTS // steps)
        try:
            found = store.series(query, start_ms, end_ms, step_ms, max_series=allowed)
        except TooManySeries as over:
            raise ServiceError(
                400,
                "q",
                f"{over.found} series match, over the limit of {allowed} for {steps} steps; "
                "narrow the query or use a larger step",
            ) from None

        def read(spans: SpanFilter) -> list[Exemplar]:
            return store.span_exemplars(spans, start_ms, end_ms, step_ms)

        return {
            "start": first,
            "step": step_ms,
            "series": series_exemplars(found, read),
        }

    return router
