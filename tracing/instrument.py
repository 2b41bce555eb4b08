"""The one instrumentation helper every sample service calls: metrics, traces and ECS logs.

Each :class:`Instrumentation` owns its registry, tracer provider and logger — nothing is
global — so several service instances can share a process (tests) or each have their own
(``watchfloor fleet``). Settings are explicit arguments; the CLI resolves environment
variables before building them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from fastapi import FastAPI, Request, Response
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Tracer
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.exposition import choose_encoder

from tracing.ecs_logging import ECSHandler
from tracing.http_client import ROUTE_EXTENSION, TracedTransport
from tracing.http_server import HttpServerMetrics, TelemetryMiddleware
from tracing.log_shipper import BulkLogShipper

__all__ = [
    "DEFAULT_BULK_URL",
    "DEFAULT_OTLP_ENDPOINT",
    "ROUTE_EXTENSION",
    "CountingSpanExporter",
    "Instrumentation",
    "ServiceIdentity",
    "TelemetrySettings",
]

DEFAULT_OTLP_ENDPOINT = "http://127.0.0.1:7070/v1/traces"
DEFAULT_BULK_URL = "http://127.0.0.1:7070/_bulk"


@dataclass(frozen=True)
class ServiceIdentity:
    """Who is emitting: the OpenTelemetry resource and the ECS ``service.*`` fields."""

    name: str
    version: str
    cluster: str
    instance_id: str
    environment: str = "demo"

    def resource_attributes(self) -> dict[str, str]:
        return {
            "service.name": self.name,
            "service.version": self.version,
            "service.instance.id": self.instance_id,
            "deployment.environment": self.environment,
            # Atlas scopes: canary and baseline are told apart by cluster.
            "nf.app": self.name,
            "nf.cluster": self.cluster,
        }


@dataclass(frozen=True)
class TelemetrySettings:
    """Where telemetry goes. ``None`` turns a destination off."""

    otlp_endpoint: str | None = DEFAULT_OTLP_ENDPOINT
    bulk_url: str | None = DEFAULT_BULK_URL
    log_path: Path | None = None
    bulk_headers: dict[str, str] = field(default_factory=dict)
    log_buffer_size: int = 10_000
    # An explicit exporter (for example the SDK's in-memory one) replaces the OTLP exporter.
    span_exporter: SpanExporter | None = None
    span_export_delay_ms: int = 1000


class CountingSpanExporter(SpanExporter):
    """Decorates an exporter to count exported spans by result; never raises into the app."""

    def __init__(self, inner: SpanExporter, registry: CollectorRegistry) -> None:
        self._inner = inner
        self._spans = Counter(
            "otel_spans_exported",
            "Spans handed to the exporter, by result.",
            ["result"],
            registry=registry,
        )
        for result in ("success", "failure"):
            self._spans.labels(result)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self._inner.export(spans)
        except Exception:  # an exporter bug must not take the service down
            result = SpanExportResult.FAILURE
        label = "success" if result is SpanExportResult.SUCCESS else "failure"
        self._spans.labels(label).inc(len(spans))
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)


class Instrumentation:
    """Telemetry for one service instance. Call :meth:`start` before serving, :meth:`shutdown` after."""

    def __init__(
        self,
        identity: ServiceIdentity,
        settings: TelemetrySettings,
        *,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.identity = identity
        self.registry = registry or CollectorRegistry()
        self.tracer_provider = TracerProvider(resource=Resource.create(identity.resource_attributes()))
        exporter = settings.span_exporter or (
            OTLPSpanExporter(endpoint=settings.otlp_endpoint, timeout=5) if settings.otlp_endpoint else None
        )
        if exporter is not None:
            self.tracer_provider.add_span_processor(
                BatchSpanProcessor(
                    CountingSpanExporter(exporter, self.registry),
                    schedule_delay_millis=settings.span_export_delay_ms,
                )
            )
        self.tracer: Tracer = self.tracer_provider.get_tracer("watchfloor.sample_services")
        self.http_metrics = HttpServerMetrics(self.registry)
        self.shipper = (
            BulkLogShipper(
                settings.bulk_url,
                index=f"logs-{identity.name}-{identity.environment}",
                registry=self.registry,
                buffer_size=settings.log_buffer_size,
                headers=settings.bulk_headers,
            )
            if settings.bulk_url
            else None
        )
        self._handler = ECSHandler(
            {
                "name": identity.name,
                "version": identity.version,
                "environment": identity.environment,
                "node": {"name": identity.instance_id},
            },
            path=settings.log_path,
            sink=self.shipper,
            labels={"nf_cluster": identity.cluster},
        )
        # One logger per instance, cut off from the root so instances never share lines.
        self.logger = logging.getLogger(f"watchfloor.service.{identity.instance_id}")
        self.logger.propagate = False
        self.logger.setLevel(logging.INFO)
        self.logger.addHandler(self._handler)

    def start(self) -> None:
        if self.shipper is not None:
            self.shipper.start()

    def instrument_app(self, app: FastAPI) -> None:
        """Add the telemetry middleware and ``GET /metrics`` (text or OpenMetrics, as asked)."""
        app.add_middleware(
            TelemetryMiddleware,
            tracer=self.tracer,
            metrics=self.http_metrics,
            logger=self.logger,
            service_name=self.identity.name,
        )
        registry = self.registry

        @app.get("/metrics", include_in_schema=False)
        def metrics(request: Request) -> Response:
            encoder, content_type = choose_encoder(request.headers.get("accept", ""))
            return Response(encoder(registry), media_type=content_type)

    def http_client(self, peer_service: str, *, timeout_s: float = 5.0) -> httpx.AsyncClient:
        """An async client whose calls are traced and carry ``traceparent``."""
        transport = TracedTransport(httpx.AsyncHTTPTransport(), self.tracer, peer_service)
        return httpx.AsyncClient(transport=transport, timeout=timeout_s)

    def shutdown(self) -> None:
        """Flush spans and logs; safe to call once, from any thread."""
        self.tracer_provider.shutdown()
        if self.shipper is not None:
            self.shipper.close()
        self.logger.removeHandler(self._handler)
        self._handler.close()
