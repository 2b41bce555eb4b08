"""An httpx transport that gives each outgoing call a client span and a W3C ``traceparent``."""

from __future__ import annotations

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

# Callers name a call's route template here (``client.get(url, extensions={ROUTE: …})``) so
# span names stay low-cardinality even when the path holds ids.
ROUTE_EXTENSION = "watchfloor.route"

_propagator = TraceContextTextMapPropagator()


class TracedTransport(httpx.AsyncBaseTransport):
    """Decorates another transport; the span covers the call up to the response headers."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, tracer: trace.Tracer, peer_service: str | None = None
    ) -> None:
        self._inner = inner
        self._tracer = tracer
        self._peer_service = peer_service

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        route = request.extensions.get(ROUTE_EXTENSION)
        name = f"{request.method} {route}" if route else request.method
        attributes: dict[str, str | int] = {
            "http.request.method": request.method,
            "url.full": str(request.url),
            "server.address": request.url.host,
            "server.port": request.url.port or (443 if request.url.scheme == "https" else 80),
        }
        if self._peer_service:
            attributes["peer.service"] = self._peer_service
        with self._tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes) as span:
            _propagator.inject(request.headers)
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.TransportError as error:
                span.set_attribute("error.type", type(error).__name__)
                raise
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:
                span.set_status(Status(StatusCode.ERROR))
                span.set_attribute("error.type", str(response.status_code))
            return response

    async def aclose(self) -> None:
        await self._inner.aclose()
