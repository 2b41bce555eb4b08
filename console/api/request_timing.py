"""The server's own request timings: ``watchfloor_http_request_duration_seconds{method,route}``.

An ASGI middleware around the whole app, so it times what a client waits for (routing,
auth, the handler, the body sent). ``route`` is the matched path template
(``/api/v1/traces/{trace_id}``), never the raw path, so ids do not make new series; an
unmatched request counts under ``unmatched``. The console benchmark reads it to say how
much server time each page's API calls take.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from starlette.types import ASGIApp, Receive, Scope, Send

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class RequestTiming:
    """Times every HTTP request into a histogram labelled by method and route template."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.duration = Histogram(
            "watchfloor_http_request_duration_seconds",
            "Time from a request's arrival to its response's last byte, by route template.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.duration.labels(scope["method"], template).observe(time.perf_counter() - began)
