"""Decode the JSON form of OTLP ``ExportTraceServiceRequest`` (``protocols.md`` §4).

Walked by hand rather than through ``google.protobuf.json_format``, which would read the
hex ids as base64 without a word. Enums are integers (names are accepted too); 64-bit
integers may be strings; unknown fields are ignored. Unreadable bodies (not UTF-8, not
JSON, nested too deeply, the wrong shape) raise :class:`OtlpDecodeError`; unreadable spans
are rejected one by one (``partialSuccess``). Lone surrogates (``"\\ud800"``), which UTF-8
cannot hold, are replaced by U+FFFD.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from collectors.body import may_hold_surrogates, scrub_surrogates
from collectors.otlp_decode import DecodedSpans, OtlpDecodeError, enum_reason, invalid_reason
from store.model import Span

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
# What reading a malformed part of a span or resource may raise; it fails only that part.
_UNREADABLE = (ValueError, TypeError, AttributeError, OverflowError, RecursionError)


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
        # A number, or a string ("NaN", "Infinity", "1.5") as proto3 JSON allows.
        if isinstance(inner, bool) or not isinstance(inner, int | float | str):
            raise ValueError("doubleValue must be a number")
        try:
            return float(inner)
        except OverflowError:
            raise ValueError("doubleValue is out of range") from None
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
        text = body.decode()  # strict: undecodable bytes (raw surrogates among them) are refused
    except UnicodeDecodeError as error:
        raise OtlpDecodeError(f"body is not UTF-8: {error}") from None
    try:
        request = json.loads(text.removeprefix("\ufeff"))
        if may_hold_surrogates(text):
            request = scrub_surrogates(request)
    except ValueError as error:
        raise OtlpDecodeError(f"body is not valid JSON: {error}") from None
    except RecursionError:
        raise OtlpDecodeError("body is not valid JSON: it is nested too deeply") from None
    if not isinstance(request, dict):
        raise OtlpDecodeError("body must be a JSON object with resourceSpans")
    out = DecodedSpans()
    for r, resource_spans in enumerate(_list(request, "resourceSpans", "")):
        where = f"resourceSpans[{r}]."
        if not isinstance(resource_spans, dict):
            raise OtlpDecodeError(f"resourceSpans[{r}] must be an object")
        try:
            resource = _json_attributes((resource_spans.get("resource") or {}).get("attributes"))
            service = str(resource.get("service.name", "unknown_service"))
        except _UNREADABLE as error:
            raise OtlpDecodeError(f"{where}resource: {_describe(error)}") from None
        for s, scope_spans in enumerate(_list(resource_spans, "scopeSpans", where)):
            if not isinstance(scope_spans, dict):
                raise OtlpDecodeError(f"{where}scopeSpans[{s}] must be an object")
            try:
                scope = str((scope_spans.get("scope") or {}).get("name", ""))
            except _UNREADABLE as error:
                raise OtlpDecodeError(f"{where}scopeSpans[{s}].scope: {_describe(error)}") from None
            for span in _list(scope_spans, "spans", f"{where}scopeSpans[{s}]."):
                try:
                    decoded = _json_span(span, service, resource, scope)
                except _UNREADABLE as error:
                    out.reject(_describe(error))
                    continue
                if isinstance(decoded, str):
                    out.reject(decoded)
                else:
                    out.spans.append(decoded)
    return out


def _describe(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "a value is nested too deeply"
    return str(error)


def _json_span(span: Any, service: str, resource: dict[str, Any], scope: str) -> Span | str:
    if not isinstance(span, dict):
        raise ValueError("a span must be an object")
    trace_id = _hex_id(span.get("traceId"), "traceId", 32)
    span_id = _hex_id(span.get("spanId"), "spanId", 16)
    parent = _hex_id(span.get("parentSpanId"), "parentSpanId", 16)
    start = _int(span.get("startTimeUnixNano"), "startTimeUnixNano")
    end = _int(span.get("endTimeUnixNano"), "endTimeUnixNano")
    problem = invalid_reason(trace_id, span_id, parent, start, end)
    if problem is not None:
        return problem
    status = span.get("status") or {}
    kind = _enum(span.get("kind"), _KIND_NAMES, "kind")
    status_code = _enum(status.get("code"), _STATUS_NAMES, "status.code")
    problem = enum_reason(kind, status_code)
    if problem is not None:
        return problem
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
        kind=kind,
        start_ns=start,
        end_ns=end,
        service=service,
        status_code=status_code,
        status_message=str(status.get("message", "")),
        attributes=_json_attributes(span.get("attributes")),
        resource=resource,
        events=events,
        links=links,
        scope=scope,
    )
