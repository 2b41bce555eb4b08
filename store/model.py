"""The data model every package reads and writes: Atlas-style series points, spans, log records.

Value objects only; no I/O. Times: series in epoch milliseconds (Atlas's unit), spans and
logs in epoch nanoseconds (OTLP's unit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

# OTLP enums (opentelemetry/proto/trace/v1/trace.proto).
SPAN_KIND_UNSPECIFIED, SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, SPAN_KIND_CLIENT = 0, 1, 2, 3
SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER = 4, 5
STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2
# How the span-derived RED series name kinds and statuses in their tags (span.kind, status.code).
KIND_NAMES = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS_NAMES = {0: "unset", 1: "ok", 2: "error"}
# Seconds; the span-derived duration buckets' upper bounds (OpenTelemetry's HTTP buckets,
# which also suit RPC spans), "+Inf" after the last.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
OTHER_OPERATION = "other"  # the operation span metrics count a span under once keys are at their cap


class Datapoint(NamedTuple):
    """One step-aligned value of one series.

    ``tags`` always hold ``name``; ``timestamp_ms`` is the end of the step interval the
    value covers, a multiple of the step; ``value`` is NaN for no data.
    """

    tags: Mapping[str, str]
    timestamp_ms: int
    value: float


@dataclass(frozen=True, slots=True)
class Span:
    """An OTLP span, flattened with its resource; ids are lowercase hex, ``parent_span_id`` "" for roots."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    start_ns: int
    end_ns: int
    service: str
    status_code: int = STATUS_UNSET
    status_message: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    resource: Mapping[str, Any] = field(default_factory=dict)
    events: tuple[Mapping[str, Any], ...] = ()
    links: tuple[Mapping[str, Any], ...] = ()
    scope: str = ""

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


@dataclass(frozen=True, slots=True)
class LogRecord:
    """An ECS log document with the fields queries use lifted out; ``document`` is kept whole."""

    timestamp_ns: int
    level: str
    message: str
    service: str
    trace_id: str
    span_id: str
    document: Mapping[str, Any]
    index: str = ""
    # Assigned by the store (insertion order); 0 for a record not read from a store.
    seq: int = 0


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as an ISO-8601 instant in UTC with milliseconds and ``Z``."""
    text = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")
