"""Decode binary OTLP ``ExportTraceServiceRequest`` bodies into :class:`Span` values.

``protocols.md`` §4; the JSON form is in :mod:`collectors.otlp_json`, and both share the
result type and the span checks defined here. A body that cannot be read at all raises
:class:`OtlpDecodeError` (the receiver answers 400); a span that can be read but is invalid
(ids of the wrong length or all zero, an end before its start, a time outside
``0 <= t < 2**63``, a kind outside 0–5 or a status code outside 0–2, which the store's
columns cannot hold) is left out and counted, and the receiver answers ``partialSuccess``.
Protobuf strings are valid UTF-8 by construction (the parser refuses others).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from store.model import Span

_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
_MAX_REASONS = 3  # how many distinct rejection reasons the errorMessage lists
MAX_TIME_NS = 2**63  # exclusive: times are stored as int64
SPAN_KINDS = frozenset(range(6))  # SPAN_KIND_UNSPECIFIED … SPAN_KIND_CONSUMER
STATUS_CODES = frozenset(range(3))  # STATUS_CODE_UNSET, _OK, _ERROR


class OtlpDecodeError(ValueError):
    """The body is not an ExportTraceServiceRequest at all."""


@dataclass
class DecodedSpans:
    """The valid spans of a request, and how many were rejected and why."""

    spans: list[Span] = field(default_factory=list)
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def error_message(self) -> str:
        return "; ".join(self.reasons)

    def reject(self, reason: str) -> None:
        self.rejected += 1
        if len(self.reasons) < _MAX_REASONS and reason not in self.reasons:
            self.reasons.append(reason)


# --- protobuf -------------------------------------------------------------------------------


def _pb_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)


# The AnyValue kinds read as they are; the others (arrays, kvlists, bytes) go through _pb_value.
_PLAIN_KINDS = frozenset({"string_value", "int_value", "double_value", "bool_value"})


def _pb_attributes(attributes: Any, seen: dict[bytes, tuple[str, Any]] | None = None) -> dict[str, Any]:
    """Attributes as a dict. ``seen`` remembers plain key/value pairs by their encoding.

    The spans of a batch repeat most pairs (``http.request.method: GET``): serializing a pair
    and finding it costs less than reading its key, its value's kind and its value. Only
    immutable values are remembered, so spans never share a list or dict.
    """
    out: dict[str, Any] = {}
    for kv in attributes:
        if seen is not None:
            raw = kv.SerializeToString()
            pair = seen.get(raw)
            if pair is not None:
                out[pair[0]] = pair[1]
                continue
        value = kv.value
        kind = value.WhichOneof("value")
        if kind in _PLAIN_KINDS:
            item = getattr(value, kind)
            if seen is not None:
                seen[raw] = (kv.key, item)
            out[kv.key] = item
        else:
            out[kv.key] = _pb_value(value)
    return out


def decode_protobuf(body: bytes) -> DecodedSpans:
    """Decode a binary ``ExportTraceServiceRequest``; raises OtlpDecodeError if it is not one."""
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except (DecodeError, RuntimeError) as error:
        raise OtlpDecodeError(f"body is not a protobuf ExportTraceServiceRequest: {error}") from None
    out = DecodedSpans()
    append = out.spans.append
    seen: dict[bytes, tuple[str, Any]] = {}  # this request's attribute pairs (see _pb_attributes)
    for resource_spans in request.resource_spans:
        resource = _pb_attributes(resource_spans.resource.attributes)
        service = str(resource.get("service.name", "unknown_service"))
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for span in scope_spans.spans:
                trace_id = span.trace_id.hex()
                span_id = span.span_id.hex()
                parent = span.parent_span_id.hex()
                start, end = span.start_time_unix_nano, span.end_time_unix_nano  # fixed64: never < 0
                kind = span.kind
                status = span.status
                code = status.code
                if (
                    len(trace_id) != 32
                    or len(span_id) != 16
                    or (parent and len(parent) != 16)
                    or end < start
                    or end >= MAX_TIME_NS
                    or trace_id == _ZERO_TRACE
                    or span_id == _ZERO_SPAN
                    or kind not in SPAN_KINDS
                    or code not in STATUS_CODES
                ):
                    out.reject(
                        invalid_reason(trace_id, span_id, parent, start, end)
                        or enum_reason(kind, code)
                        or "invalid span"
                    )
                    continue
                # Most spans have no events or links: test before building anything.
                events = span.events
                links = span.links
                attributes = span.attributes
                append(
                    Span(
                        trace_id,
                        span_id,
                        parent,
                        span.name,
                        kind,
                        start,
                        end,
                        service,
                        code,
                        status.message,
                        _pb_attributes(attributes, seen) if attributes else {},
                        resource,
                        _pb_events(events) if events else (),
                        _pb_links(links) if links else (),
                        scope,
                    )
                )
    return out


def _pb_events(events: Any) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"time_ns": e.time_unix_nano, "name": e.name, "attributes": _pb_attributes(e.attributes)}
        for e in events
    )


def _pb_links(links: Any) -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "trace_id": link.trace_id.hex(),
            "span_id": link.span_id.hex(),
            "attributes": _pb_attributes(link.attributes),
        }
        for link in links
    )


def invalid_reason(trace_id: str, span_id: str, parent: str, start: int, end: int) -> str | None:
    """Why a span cannot be stored, or None."""
    if len(trace_id) != 32 or trace_id == _ZERO_TRACE:
        return "traceId must be 16 bytes and not all zero"
    if len(span_id) != 16 or span_id == _ZERO_SPAN:
        return "spanId must be 8 bytes and not all zero"
    if parent and len(parent) != 16:
        return "parentSpanId must be empty or 8 bytes"
    if end < start:
        return "endTimeUnixNano is before startTimeUnixNano"
    if start < 0 or end >= MAX_TIME_NS:
        return "startTimeUnixNano and endTimeUnixNano must be at least 0 and below 2^63"
    return None


def enum_reason(kind: int, status_code: int) -> str | None:
    """Why a span's kind or status code cannot be stored, or None."""
    if kind not in SPAN_KINDS:
        return f"kind {kind} is not a SpanKind (0 to 5)"
    if status_code not in STATUS_CODES:
        return f"status.code {status_code} is not a StatusCode (0 to 2)"
    return None
