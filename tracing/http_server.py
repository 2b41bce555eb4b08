"""ASGI middleware giving every HTTP request a server span, RED metrics and an access log line."""

from __future__ import annotations

import logging
import time
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# OpenTelemetry's recommended boundaries for http.server.request.duration, in seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
UNMATCHED_ROUTE = "unmatched"
# Scrapes and health checks every few seconds would drown real traffic in traces and logs;
# they are still counted in the metrics.
QUIET_PATHS = frozenset({"/metrics", "/healthz"})

_propagator = TraceContextTextMapPropagator()


def status_class(status: int) -> str:
    """``2xx``, ``4xx``, … — the label SLOs count good and bad requests by."""
    return f"{status // 100}xx"


class HttpServerMetrics:
    """Request count and duration by route template, method and status class."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["route", "method", "status_class"]
        self.requests = Counter("http_server_requests", "HTTP requests served.", labels, registry=registry)
        self.duration = Histogram(
            "http_server_request_duration_seconds",
            "Time from request start to response end.",
            labels,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.active = Gauge("http_server_active_requests", "Requests being served now.", registry=registry)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        labels = (route, method, status_class(status))
        self.requests.labels(*labels).inc()
        self.duration.labels(*labels).observe(seconds)


def route_template(scope: Scope) -> str:
    """The matched route's template (``/segment/{title_id}/…``), known after routing ran."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class _StatusRecorder:
    """An ASGI ``send`` that remembers the response status; 500 if none was ever sent."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.code = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.code = message["status"]
        await self._send(message)


def _headers(scope: Scope) -> dict[str, str]:
    return {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}


class TelemetryMiddleware:
    """Wraps an ASGI app; the span is current while the app runs, so logs carry its ids."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        tracer: trace.Tracer,
        metrics: HttpServerMetrics,
        logger: logging.Logger,
        service_name: str,
    ) -> None:
        self.app = app
        self._tracer = tracer
        self._metrics = metrics
        self._logger = logger
        self._dataset = f"{service_name}.access"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in QUIET_PATHS:
            await self._serve_quietly(scope, receive, send)
            return
        headers = _headers(scope)
        method = scope["method"]
        client = scope.get("client") or ("", 0)
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.path": scope["path"],
            "url.scheme": scope.get("scheme", "http"),
            "client.address": client[0],
            "user_agent.original": headers.get("user-agent", ""),
        }
        status = _StatusRecorder(send)
        started = time.perf_counter()
        self._metrics.active.inc()
        with self._tracer.start_as_current_span(
            method, context=_propagator.extract(headers), kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            try:
                await self.app(scope, receive, status)
            finally:
                self._metrics.active.dec()
                elapsed = time.perf_counter() - started
                route = route_template(scope)
                code = status.code
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", code)
                if code >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                    span.set_attribute("error.type", str(code))
                self._metrics.observe(route, method, code, elapsed)
                self._access_log(method, scope["path"], route, code, elapsed)

    async def _serve_quietly(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = _StatusRecorder(send)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, status)
        finally:
            elapsed = time.perf_counter() - started
            self._metrics.observe(route_template(scope), scope["method"], status.code, elapsed)

    def _access_log(self, method: str, path: str, route: str, code: int, seconds: float) -> None:
        level = logging.ERROR if code >= 500 else logging.WARNING if code >= 400 else logging.INFO
        self._logger.log(
            level,
            "%s %s -> %d in %.1f ms",
            method,
            path,
            code,
            seconds * 1000.0,
            extra={
                "ecs": {
                    "event.dataset": self._dataset,
                    "event.duration": int(seconds * 1e9),
                    "event.outcome": "failure" if code >= 500 else "success",
                    "http.request.method": method,
                    "http.response.status_code": code,
                    "url.path": path,
                    "labels.http_route": route,
                }
            },
        )
