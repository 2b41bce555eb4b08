"""The Atlas-compatible metrics API: ``/api/v1/graph``, ``/api/v1/tags[/{key}]``, ``/api/v1/publish``.

``graph`` evaluates a stack-language expression over ``(s, e]`` rounded to the step and
answers ``json``/``std.json`` (the default; Watchfloor draws no PNG) or ``csv``/``txt``.
The step defaults to the store's step, coarsened by whole multiples when the range would
need more than :data:`DEFAULT_MAX_ROWS` rows (as Atlas picks a step from the graph's
width); an explicit step must be a multiple of the store's. Every bad parameter or
expression answers 400 naming it; a result over the configured limits answers 400
explaining the limit.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request, Response

from collectors.write_queue import QueueFull, WriteQueue
from console.api.atlas_formats import FORMATS, graph_csv, graph_json
from console.api.atlas_publish import PublishBodyError, read_publish
from sample_services.errors import ServiceError
from stacklang import Limits, StackLangError, evaluate, parse_query
from stacklang.timeparse import TimeError, parse_duration, parse_range, zone
from store.interfaces import SeriesReader

DEFAULT_MAX_ROWS = 1_440
MAX_TAG_RESULTS = 10_000


def _graph_step(step: str | None, store_step_ms: int, start_ms: int, end_ms: int) -> int:
    if step is None or step == "":
        rows = -(-(end_ms - start_ms) // store_step_ms)
        return store_step_ms * max(1, -(-rows // DEFAULT_MAX_ROWS))
    step_ms = parse_duration(step, "step")
    if step_ms < store_step_ms or step_ms % store_step_ms:
        raise TimeError("step", f"must be a multiple of the store's step ({store_step_ms // 1000}s)")
    return step_ms


def atlas_router(
    store: SeriesReader,
    write_queue: WriteQueue,
    step_ms: int,
    limits: Limits,
    clock: Callable[[], float] = time.time,
) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["atlas"])

    @router.get("/graph")
    def graph(
        q: str = Query(..., description="Atlas stack-language expression"),
        s: str | None = Query(None, description="start (default e-3h)"),
        e: str | None = Query(None, description="end (default now)"),
        step: str | None = Query(None, description="step, e.g. 1m (default: the store's)"),
        tz: str | None = Query(None, description="time zone for dates and CSV timestamps (default UTC)"),
        format: str = Query("json", description="json, std.json, csv or txt"),
    ) -> Response:
        if format not in FORMATS:
            raise ServiceError(400, "format", f"{format!r} is not supported; use {', '.join(FORMATS)}")
        try:
            zone_info = zone(tz)
            start_ms, end_ms = parse_range(s, e, zone_info, int(clock() * 1000))
            graph_step = _graph_step(step, step_ms, start_ms, end_ms)
        except TimeError as error:
            raise ServiceError(400, error.field, error.reason) from None
        first = start_ms // graph_step * graph_step
        last = max(end_ms // graph_step * graph_step, first + graph_step)
        rows = (last - first) // graph_step
        if rows > limits.max_points:
            raise ServiceError(
                400, "step", f"{rows} rows is over the limit of {limits.max_points}; use a larger step"
            )
        try:
            series = evaluate(q, store, first, last, graph_step, limits=limits)
        except StackLangError as error:
            raise ServiceError(400, "q", str(error)) from None
        if format in ("csv", "txt"):
            text = graph_csv(
                series, first + graph_step, graph_step, rows, zone_info, "," if format == "csv" else "\t"
            )
            return Response(text, media_type=FORMATS[format])
        return Response(
            graph_json(series, first + graph_step, graph_step, rows, []), media_type=FORMATS[format]
        )

    def _query(q: str | None) -> Any:
        if not q:
            return None
        try:
            return parse_query(q)
        except StackLangError as error:
            raise ServiceError(400, "q", str(error)) from None

    @router.get("/tags")
    def tag_keys(q: str | None = None, limit: int = Query(1_000, ge=1, le=MAX_TAG_RESULTS)) -> list[str]:
        return store.tag_keys(_query(q))[:limit]

    @router.get("/tags/{key}")
    def tag_values(
        key: str, q: str | None = None, limit: int = Query(1_000, ge=1, le=MAX_TAG_RESULTS)
    ) -> list[str]:
        return store.tag_values(key, _query(q))[:limit]

    @router.post("/publish")
    async def publish(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError as error:
            raise ServiceError(400, "body", f"malformed JSON: {error}") from None
        try:
            result = read_publish(body, step_ms)
        except PublishBodyError as error:
            raise ServiceError(400, error.field, error.reason) from None
        if result.points:
            try:
                await asyncio.wrap_future(write_queue.submit("datapoints", result.points))
            except QueueFull as full:
                raise ServiceError(503, "body", str(full), {"Retry-After": str(full.retry_after_s)}) from None
        if not result.errors:
            return Response(status_code=200)
        # Atlas's answers: 202 when some metrics were taken, 400 when none were.
        kind, status = ("partial", 202) if result.points else ("error", 400)
        answer = {"type": kind, "errorCount": len(result.errors), "message": result.errors[:100]}
        return Response(json.dumps(answer), status_code=status, media_type="application/json")

    return router
