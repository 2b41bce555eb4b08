"""Encode stored spans as OTLP JSON ``TracesData`` (``{"resourceSpans": [...]}``), as Jaeger's API v3 answers.

The inverse of :mod:`collectors.otlp_json`: what that decoder reads back from this output
equals the spans as the store holds them. :func:`jaeger_adjusted` is the view Jaeger serves
unless raw traces are asked for. The OTLP/JSON rules followed (OTLP spec
"JSON Protobuf Encoding"): ids are lowercase hex, not base64; 64-bit integers (times,
``intValue``) are decimal strings; enums (``kind``, ``status.code``) are integers; fields at
their default value are left out, as the OpenTelemetry Collector's encoder (which Jaeger
uses) leaves them out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from store.model import Span
from tracing.assembly import assemble

# proto3 JSON spells the non-finite doubles as strings; a bare NaN is not JSON at all.
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}
# Where Jaeger puts what its adjusters did to a span (jptrace.WarningsAttribute): a string list.
WARNINGS_ATTRIBUTE = "@jaeger@warnings"


def any_value(value: Any) -> dict[str, Any]:
    """An OTLP ``AnyValue`` for one attribute value as the store keeps it (JSON types)."""
    if value is None:
        return {}  # an empty AnyValue: the decoder reads it back as None
    if isinstance(value, bool):  # before int: bool is an int subclass
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        if math.isnan(value):
            return {"doubleValue": "NaN"}
        return {"doubleValue": _NON_FINITE.get(value, value)}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": key_values(value)}}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    # The store writes anything else as its str() (its JSON encoder's default=str).
    return {"stringValue": str(value)}


def key_values(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """OTLP ``KeyValue`` list, in the attributes' own order."""
    return [{"key": str(key), "value": any_value(value)} for key, value in attributes.items()]


def span_json(span: Span) -> dict[str, Any]:
    """One OTLP JSON ``Span``; empty and zero fields left out (``status`` is always there)."""
    out: dict[str, Any] = {"traceId": span.trace_id, "spanId": span.span_id}
    if span.parent_span_id:
        out["parentSpanId"] = span.parent_span_id
    out["name"] = span.name
    if span.kind:
        out["kind"] = span.kind
    out["startTimeUnixNano"] = str(span.start_ns)
    out["endTimeUnixNano"] = str(span.end_ns)
    if span.attributes:
        out["attributes"] = key_values(span.attributes)
    if span.events:
        out["events"] = [_event(e) for e in span.events]
    if span.links:
        out["links"] = [_link(link) for link in span.links]
    status: dict[str, Any] = {}
    if span.status_message:
        status["message"] = span.status_message
    if span.status_code:
        status["code"] = span.status_code
    out["status"] = status
    return out


def _event(event: Mapping[str, Any]) -> dict[str, Any]:
    # Events are kept as {"time_ns", "name", "attributes"} by both OTLP decoders.
    out: dict[str, Any] = {
        "timeUnixNano": str(int(event.get("time_ns", 0))),
        "name": str(event.get("name", "")),
    }
    if event.get("attributes"):
        out["attributes"] = key_values(event["attributes"])
    return out


def _link(link: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"traceId": str(link.get("trace_id", "")), "spanId": str(link.get("span_id", ""))}
    if link.get("attributes"):
        out["attributes"] = key_values(link["attributes"])
    return out


def resource_of(span: Span) -> dict[str, Any]:
    """The span's resource with ``service.name`` set to the service it is stored (and searched) under.

    Spans that came through the OTLP receiver already hold it; spans written another way
    may not, and a Jaeger client knows a span's service only from this attribute.
    """
    return {**span.resource, "service.name": span.service}


def resource_spans(spans: Iterable[Span]) -> list[dict[str, Any]]:
    """``ResourceSpans`` for spans: one per distinct resource, then one ``ScopeSpans`` per scope.

    Groups keep the order of their first span, and spans their given order (by start time,
    as the store returns a trace).
    """
    groups: dict[str, tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]] = {}
    for span in spans:
        resource = resource_of(span)
        # Equal resources are equal as canonical JSON; default=str as the store encodes them.
        key = json.dumps(resource, sort_keys=True, default=str)
        _, scopes = groups.setdefault(key, (resource, {}))
        scopes.setdefault(span.scope, []).append(span_json(span))
    return [
        {
            "resource": {"attributes": key_values(resource)},
            "scopeSpans": [
                {"scope": {"name": scope} if scope else {}, "spans": encoded}
                for scope, encoded in scopes.items()
            ],
        }
        for resource, scopes in groups.values()
    ]


def traces_data(traces: Iterable[Iterable[Span]]) -> dict[str, Any]:
    """OTLP ``TracesData`` for several traces; each trace has resource groups of its own, as in Jaeger."""
    return {"resourceSpans": [group for trace in traces for group in resource_spans(trace)]}


def jaeger_adjusted(spans: Sequence[Span]) -> list[Span]:
    """A trace as Jaeger serves it by default: clock skew corrected and repeated span ids dropped.

    The adjustment is :func:`tracing.assembly.assemble`'s (Jaeger's clock-skew adjuster); a
    span it moved or has a word about (an orphan, a skew over the limit) carries the
    warnings in :data:`WARNINGS_ATTRIBUTE`. Spans keep their given order.
    """
    if not spans:
        return []
    nodes = {node.span_id: node for node in assemble(spans[0].trace_id, spans).nodes}
    adjusted = []
    for span in spans:
        node = nodes.get(span.span_id)
        if node is None or node.span is not span:  # the later copy of a repeated span id
            continue
        if node.skew_ns or node.warnings:
            attributes = (
                {**span.attributes, WARNINGS_ATTRIBUTE: list(node.warnings)}
                if node.warnings
                else span.attributes
            )
            span = replace(span, start_ns=node.start_ns, end_ns=node.end_ns, attributes=attributes)
        adjusted.append(span)
    return adjusted
