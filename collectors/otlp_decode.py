"""Decode OTLP ``ExportTraceServiceRequest`` bodies (protobuf or JSON) into :class:`Span` values.

``protocols.md`` §4. The JSON form is walked by hand rather than through
``google.protobuf.json_format``, which would read the hex ids as base64 without a word.
A body that cannot be read at all raises :class:`OtlpDecodeError` (the receiver answers
400); a span that can be read but is invalid (ids of the wrong length or all zero, an end
before its start) is left out and counted, and the receiver answers ``partialSuccess``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from store.model import Span

_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
_HEX = frozenset("0123456789abcdef")
# JSON encoders that ignore the spec may still write enum names; accept them.
_KIND_NAMES = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_MAX_REASONS = 3  # how many distinct rejection reasons the errorMessage lists


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
                start, end = span.start_time_unix_nano, span.end_time_unix_nano
                if (
                    len(trace_id) != 32
                    or len(span_id) != 16
                    or (parent and len(parent) != 16)
                    or end < start
                    or trace_id == _ZERO_TRACE
                    or span_id == _ZERO_SPAN
                ):
                    out.reject(_invalid(trace_id, span_id, parent, start, end) or "invalid span")
                    continue
                # Most spans have no events or links: test before building anything.
                events = span.events
                links = span.links
                status = span.status
                attributes = span.attributes
                append(
                    Span(
                        trace_id,
                        span_id,
                        parent,
                        span.name,
                        span.kind,
                        start,
                        end,
                        service,
                        status.code,
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


def _invalid(trace_id: str, span_id: str, parent: str, start: int, end: int) -> str | None:
    """Why a span cannot be stored, or None."""
    if len(trace_id) != 32 or trace_id == _ZERO_TRACE:
        return "traceId must be 16 bytes and not all zero"
    if len(span_id) != 16 or span_id == _ZERO_SPAN:
        return "spanId must be 8 bytes and not all zero"
    if parent and len(parent) != 16:
        return "parentSpanId must be empty or 8 bytes"
    if end < start:
        return "endTimeUnixNano is before startTimeUnixNano"
    return None


# --- JSON --------------------------------------------------------------------------------------


def _hex_id(value: Any, field_name: str, length: int) -> str:
    """An id as lowercase hex; the empty string when absent. Raises ValueError if it is not hex."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{field_name} must be a hex string")
    text = value.lower()
    if len(text) != length or not _HEX.issuperset(text):
        raise ValueError(f"{field_name} must be {length} hex characters")
    return text


def _int(value: Any, field_name: str) -> int:
    # 64-bit integers may be JSON strings (proto3 JSON mapping).
    if isinstance(value, bool):
        raise ValueError(f"{field_name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if value is None:
        return 0
    raise ValueError(f"{field_name} must be an integer")


def _enum(value: Any, names: Mapping[str, int], field_name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value in names:
        return names[value]
    return _int(value, field_name)


def _json_value(value: Any) -> Any:
    if not isinstance(value, dict) or not value:
        return None
    kind, inner = next(iter(value.items()))
    if kind == "stringValue":
        return inner
    if kind == "boolValue":
        return bool(inner)
    if kind == "intValue":
        return _int(inner, "intValue")
    if kind == "doubleValue":
        return float(inner)
    if kind == "bytesValue":
        return inner
    if kind == "arrayValue":
        return [_json_value(v) for v in (inner or {}).get("values", [])]
    if kind == "kvlistValue":
        return _json_attributes((inner or {}).get("values", []))
    return None


def _json_attributes(items: Any) -> dict[str, Any]:
    if not items:
        return {}
    if not isinstance(items, list):
        raise ValueError("attributes must be a list of {key, value}")
    return {
        str(item.get("key", "")): _json_value(item.get("value")) for item in items if isinstance(item, dict)
    }


def _list(parent: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = parent.get(key) or []
    if not isinstance(value, list):
        raise OtlpDecodeError(f"{where}{key} must be a list")
    return value


def decode_json(body: bytes) -> DecodedSpans:
    """Decode a JSON ``ExportTraceServiceRequest`` (hex ids); raises OtlpDecodeError if it is not one."""
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise OtlpDecodeError(f"body is not valid JSON: {error}") from None
    if not isinstance(request, dict):
        raise OtlpDecodeError("body must be a JSON object with resourceSpans")
    out = DecodedSpans()
    for r, resource_spans in enumerate(_list(request, "resourceSpans", "")):
        where = f"resourceSpans[{r}]."
        if not isinstance(resource_spans, dict):
            raise OtlpDecodeError(f"resourceSpans[{r}] must be an object")
        try:
            resource = _json_attributes((resource_spans.get("resource") or {}).get("attributes"))
        except (ValueError, AttributeError) as error:
            raise OtlpDecodeError(f"{where}resource: {error}") from None
        service = str(resource.get("service.name", "unknown_service"))
        for s, scope_spans in enumerate(_list(resource_spans, "scopeSpans", where)):
            if not isinstance(scope_spans, dict):
                raise OtlpDecodeError(f"{where}scopeSpans[{s}] must be an object")
            scope = str((scope_spans.get("scope") or {}).get("name", ""))
            for span in _list(scope_spans, "spans", f"{where}scopeSpans[{s}]."):
                try:
                    decoded = _json_span(span, service, resource, scope)
                except (ValueError, TypeError, AttributeError) as error:
                    out.reject(str(error))
                    continue
                if isinstance(decoded, str):
                    out.reject(decoded)
                else:
                    out.spans.append(decoded)
    return out


def _json_span(span: Any, service: str, resource: dict[str, Any], scope: str) -> Span | str:
    if not isinstance(span, dict):
        raise ValueError("a span must be an object")
    trace_id = _hex_id(span.get("traceId"), "traceId", 32)
    span_id = _hex_id(span.get("spanId"), "spanId", 16)
    parent = _hex_id(span.get("parentSpanId"), "parentSpanId", 16)
    start = _int(span.get("startTimeUnixNano"), "startTimeUnixNano")
    end = _int(span.get("endTimeUnixNano"), "endTimeUnixNano")
    problem = _invalid(trace_id, span_id, parent, start, end)
    if problem is not None:
        return problem
    status = span.get("status") or {}
    events = tuple(
        {
            "time_ns": _int(e.get("timeUnixNano"), "timeUnixNano"),
            "name": str(e.get("name", "")),
            "attributes": _json_attributes(e.get("attributes")),
        }
        for e in span.get("events") or []
    )
    links = tuple(
        {
            "trace_id": _hex_id(link.get("traceId"), "links.traceId", 32),
            "span_id": _hex_id(link.get("spanId"), "links.spanId", 16),
            "attributes": _json_attributes(link.get("attributes")),
        }
        for link in span.get("links") or []
    )
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=str(span.get("name", "")),
        kind=_enum(span.get("kind"), _KIND_NAMES, "kind"),
        start_ns=start,
        end_ns=end,
        service=service,
        status_code=_enum(status.get("code"), _STATUS_NAMES, "status.code"),
        status_message=str(status.get("message", "")),
        attributes=_json_attributes(span.get("attributes")),
        resource=resource,
        events=events,
        links=links,
        scope=scope,
    )
