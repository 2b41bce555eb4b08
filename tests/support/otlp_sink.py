"""An OTLP/HTTP traces receiver for tests: decodes what the real SDK exporter sends.

It answers as ``protocols.md`` §4 says a receiver must (200 with an empty
``ExportTraceServiceResponse``), and keeps each span as a flat dict for assertions.
"""

from __future__ import annotations

import gzip
import threading
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PROTOBUF = "application/x-protobuf"


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind in {"string_value", "int_value", "double_value", "bool_value", "bytes_value"}:
        return getattr(any_value, kind)
    return MessageToDict(any_value)  # arrays and maps: rare in these tests, kept readable


def _attributes(items: Any) -> dict[str, Any]:
    return {item.key: _value(item.value) for item in items}


class OtlpSink:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/v1/traces", self._traces, methods=["POST"])])

    def spans(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._spans)

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        return [span for span in self.spans() if span["trace_id"] == trace_id]

    async def _traces(self, request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        export = ExportTraceServiceRequest()
        export.ParseFromString(body)
        decoded = []
        for resource_spans in export.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    decoded.append(
                        {
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "name": span.name,
                            "kind": span.kind,
                            "status": span.status.code,
                            "start_ns": span.start_time_unix_nano,
                            "end_ns": span.end_time_unix_nano,
                            "attributes": _attributes(span.attributes),
                            "resource": resource,
                            "service": resource.get("service.name"),
                        }
                    )
        with self._lock:
            self._spans.extend(decoded)
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type=PROTOBUF)
