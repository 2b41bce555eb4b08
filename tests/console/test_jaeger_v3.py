"""Jaeger's API v3 HTTP gateway over a real DuckDB store, served by uvicorn on loopback.

The answers are checked as a Jaeger client reads them: OTLP JSON ``TracesData`` in
``{"result": …}``, ``{"services": […]}``, ``{"operations": [{"name", "spanKind"}]}``, and
``{"error": {"httpCode", "message"}}`` naming the parameter for every refusal.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from collectors.otlp_json import decode_json
from console.api import jaeger_v3
from store.model import Span
from tests.support.server import RunningServer

T0 = 1_800_000_000 * 10**9  # 2027-01-15T08:00:00Z, in nanoseconds
MS = 10**6
A, B, C = (f"{n}bf92f3577b34da6a3ce929d0e0e4736" for n in (4, 5, 6))
FRONTEND = {"service.name": "frontend", "host.name": "fe-1"}
PAYMENTS = {"service.name": "payments", "host.name": "pay-1"}


def rfc3339(ns: int) -> str:
    seconds, nanos = divmod(ns, 10**9)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def span(trace_id, span_id, name, service, resource, start_ms, end_ms, **fields) -> Span:
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=fields.pop("parent", ""),
        name=name,
        kind=fields.pop("kind", 2),
        start_ns=T0 + start_ms * MS,
        end_ns=T0 + end_ms * MS,
        service=service,
        resource=resource,
        **fields,
    )


SPANS = [
    # Trace A: frontend (two scopes) calls payments, which fails.
    span(
        A, "00f067aa0ba902b7", "GET /checkout", "frontend", FRONTEND, 0, 120, scope="http",
        attributes={
            "http.request.method": "GET", "http.response.status_code": 200, "cached": False,
            "ratio": 0.25, "tags": ["a", "b"], "nested": {"k": "v", "n": 1},
        },
        events=({"time_ns": T0 + MS, "name": "cache.miss", "attributes": {"key": "cart:1"}},),
    ),
    span(A, "00f067aa0ba902b8", "SELECT cart", "frontend", FRONTEND, 2, 5, kind=3, scope="db",
         parent="00f067aa0ba902b7"),
    span(
        A, "00f067aa0ba902b9", "POST /charge", "frontend", FRONTEND, 10, 90, kind=3, scope="http",
        parent="00f067aa0ba902b7",
        links=({"trace_id": B, "span_id": "10f067aa0ba902b7", "attributes": {"link.kind": "follows"}},),
    ),
    span(
        A, "00f067aa0ba902ba", "POST /charge", "payments", PAYMENTS, 20, 80, parent="00f067aa0ba902b9",
        status_code=2, status_message="card declined", attributes={"payment.amount": 12.5},
    ),
    # Trace B, 5 s later: a long internal span and one of unspecified kind.
    span(B, "10f067aa0ba902b7", "settle", "payments", PAYMENTS, 5_000, 7_000, kind=1),
    span(B, "10f067aa0ba902b8", "tick", "payments", PAYMENTS, 5_001, 5_002, kind=0),
    # Trace C, 2 h earlier.
    span(C, "20f067aa0ba902b7", "GET /home", "frontend", FRONTEND, -7_200_000, -7_199_995),
]  # fmt: skip


@pytest.fixture
def jaeger(tmp_path) -> Iterator[RunningServer]:
    """The whole Watchfloor server: the gateway among every other route, the bearer check on."""
    running = RunningServer(tmp_path / "s", clock=lambda: T0 / 1e9, api_token="t0ken")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def stored(jaeger) -> RunningServer:
    jaeger.store.write_spans(SPANS)
    return jaeger


def get(server, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v3{path}", params=params)


def search(server, **params: Any) -> httpx.Response:
    window = {
        "query.start_time_min": rfc3339(T0 - 3 * 3_600_000 * MS),
        "query.start_time_max": rfc3339(T0 + 60_000 * MS),
    }
    return get(server, "/traces", **{**window, **params})  # fmt: skip


def trace_ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    ids = [
        s["traceId"]
        for group in response.json()["result"]["resourceSpans"]
        for scope in group["scopeSpans"]
        for s in scope["spans"]
    ]
    return list(dict.fromkeys(ids))


def test_services_are_listed_by_name_and_an_empty_store_has_none(jaeger):
    assert get(jaeger, "/services").json() == {"services": []}
    jaeger.store.write_spans(SPANS)
    assert get(jaeger, "/services").json() == {"services": ["frontend", "payments"]}


def test_operations_with_and_without_a_span_kind(stored):
    assert get(stored, "/operations", service="frontend").json() == {
        "operations": [
            {"name": "GET /checkout", "spanKind": "server"},
            {"name": "GET /home", "spanKind": "server"},
            {"name": "POST /charge", "spanKind": "client"},
            {"name": "SELECT cart", "spanKind": "client"},
        ]
    }
    assert get(stored, "/operations", service="frontend", span_kind="client").json() == {
        "operations": [
            {"name": "POST /charge", "spanKind": "client"},
            {"name": "SELECT cart", "spanKind": "client"},
        ]
    }
    # Unspecified kind is listed (and filtered) as internal, as Jaeger does.
    assert get(stored, "/operations", service="payments", spanKind="internal").json() == {
        "operations": [{"name": "settle", "spanKind": "internal"}, {"name": "tick", "spanKind": "internal"}]
    }
    assert get(stored, "/operations", service="nobody").json() == {"operations": []}


def kv(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


def times(start_ms: int, end_ms: int) -> dict[str, str]:
    return {"startTimeUnixNano": str(T0 + start_ms * MS), "endTimeUnixNano": str(T0 + end_ms * MS)}


def test_a_trace_is_exact_otlp_json_grouped_by_resource_then_scope(stored):
    root, select, client, server = (
        "00f067aa0ba902b7",
        "00f067aa0ba902b8",
        "00f067aa0ba902b9",
        "00f067aa0ba902ba",
    )
    checkout = {
        "traceId": A,
        "spanId": root,
        "name": "GET /checkout",
        "kind": 2,
        **times(0, 120),
        "attributes": [
            kv("http.request.method", {"stringValue": "GET"}),
            kv("http.response.status_code", {"intValue": "200"}),
            kv("cached", {"boolValue": False}),
            kv("ratio", {"doubleValue": 0.25}),
            kv("tags", {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}}),
            kv(
                "nested",
                {"kvlistValue": {"values": [kv("k", {"stringValue": "v"}), kv("n", {"intValue": "1"})]}},
            ),
        ],
        "events": [
            {
                "timeUnixNano": str(T0 + MS),
                "name": "cache.miss",
                "attributes": [kv("key", {"stringValue": "cart:1"})],
            }
        ],
        "status": {},
    }
    charge_client = {
        "traceId": A,
        "spanId": client,
        "parentSpanId": root,
        "name": "POST /charge",
        "kind": 3,
        **times(10, 90),
        "links": [
            {
                "traceId": B,
                "spanId": "10f067aa0ba902b7",
                "attributes": [kv("link.kind", {"stringValue": "follows"})],
            }
        ],
        "status": {},
    }
    cart = {
        "traceId": A,
        "spanId": select,
        "parentSpanId": root,
        "name": "SELECT cart",
        "kind": 3,
        **times(2, 5),
        "status": {},
    }
    charge_server = {
        "traceId": A,
        "spanId": server,
        "parentSpanId": client,
        "name": "POST /charge",
        "kind": 2,
        **times(20, 80),
        "attributes": [kv("payment.amount", {"doubleValue": 12.5})],
        "status": {"message": "card declined", "code": 2},
    }
    frontend = [kv("service.name", {"stringValue": "frontend"}), kv("host.name", {"stringValue": "fe-1"})]
    payments = [kv("service.name", {"stringValue": "payments"}), kv("host.name", {"stringValue": "pay-1"})]
    response = get(stored, f"/traces/{A}")
    assert response.status_code == 200 and "x-watchfloor-truncated-traces" not in response.headers
    assert response.json() == {
        "result": {
            "resourceSpans": [
                {
                    "resource": {"attributes": frontend},
                    "scopeSpans": [
                        {"scope": {"name": "http"}, "spans": [checkout, charge_client]},  # by start time
                        {"scope": {"name": "db"}, "spans": [cart]},
                    ],
                },
                {
                    "resource": {"attributes": payments},
                    "scopeSpans": [{"scope": {}, "spans": [charge_server]}],
                },
            ]
        }
    }
    # Kind 0 is left out, as zero fields are in OTLP JSON.
    tick = get(stored, f"/traces/{B}").json()["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    assert tick["name"] == "tick" and "kind" not in tick


def test_the_answer_decodes_through_watchfloors_own_otlp_receiver_to_the_stored_spans(stored):
    for trace_id in (A, B, C):
        result = get(stored, f"/traces/{trace_id}").json()["result"]
        decoded = decode_json(json.dumps(result).encode())
        assert decoded.rejected == 0
        assert sorted(decoded.spans, key=lambda s: s.span_id) == sorted(
            stored.store.trace(trace_id), key=lambda s: s.span_id
        )


def test_values_json_cannot_hold_are_proto3_json_strings_and_service_name_is_always_there(jaeger):
    odd = span(
        "7bf92f3577b34da6a3ce929d0e0e4736", "30f067aa0ba902b7", "odd", "batch", {}, 0, 1,
        attributes={"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "none": None},
    )  # fmt: skip
    jaeger.store.write_spans([odd])
    result = get(jaeger, f"/traces/{odd.trace_id}").json()["result"]
    group = result["resourceSpans"][0]
    assert group["resource"]["attributes"] == [{"key": "service.name", "value": {"stringValue": "batch"}}]
    assert [a["value"] for a in group["scopeSpans"][0]["spans"][0]["attributes"]] == [
        {"doubleValue": "NaN"}, {"doubleValue": "Infinity"}, {"doubleValue": "-Infinity"}, {},
    ]  # fmt: skip
    (decoded,) = decode_json(json.dumps(result).encode()).spans
    assert decoded.service == "batch" and math.isnan(decoded.attributes["nan"])
    assert decoded.attributes["ninf"] == -math.inf and decoded.attributes["none"] is None


def test_clock_skew_is_adjusted_unless_raw_traces_are_asked_for(jaeger):
    trace_id = "8bf92f3577b34da6a3ce929d0e0e4736"
    client = span(trace_id, "50f067aa0ba902b7", "GET /cart", "frontend", FRONTEND, 0, 100, kind=3)
    # Recorded on another host whose clock runs 150 ms ahead: it ends after its caller.
    cart = {"service.name": "cart", "host.name": "cart-1"}
    server = span(trace_id, "50f067aa0ba902b8", "GET /cart", "cart", cart, 150, 200, parent=client.span_id)
    jaeger.store.write_spans([client, server])

    def served(**params):
        groups = get(jaeger, f"/traces/{trace_id}", **params).json()["result"]["resourceSpans"]
        return {s["spanId"]: s for g in groups for sc in g["scopeSpans"] for s in sc["spans"]}

    adjusted = served()[server.span_id]  # moved into the middle of its parent, as Jaeger does
    assert (adjusted["startTimeUnixNano"], adjusted["endTimeUnixNano"]) == (
        str(T0 + 25 * MS),
        str(T0 + 75 * MS),
    )
    (warnings,) = [a["value"] for a in adjusted["attributes"] if a["key"] == "@jaeger@warnings"]
    assert warnings["arrayValue"]["values"][0]["stringValue"].startswith("clock skew adjusted by -125.000 ms")
    assert served()[client.span_id] == served(rawTraces="true")[client.span_id]
    for raw in ({"rawTraces": "true"}, {"raw_traces": "1"}):
        as_stored = served(**raw)[server.span_id]
        assert as_stored["startTimeUnixNano"] == str(T0 + 150 * MS) and "attributes" not in as_stored
    found = search(jaeger, **{"query.service_name": "cart", "query.raw_traces": "true"}).json()["result"]
    assert decode_json(json.dumps(found).encode()).spans == jaeger.store.trace(trace_id)


def test_short_and_uppercase_trace_ids_are_read_as_jaeger_reads_them(jaeger):
    jaeger.store.write_spans([span("0" * 29 + "abc", "40f067aa0ba902b7", "short", "s", {}, 0, 1)])
    assert trace_ids(get(jaeger, "/traces/ABC")) == ["0" * 29 + "abc"]


def test_an_unknown_trace_is_a_404_in_jaegers_error_form(stored):
    response = get(stored, "/traces/" + "f" * 32)
    assert response.status_code == 404
    message = f"No traces found: no spans stored for trace_id {'f' * 32}"
    assert response.json() == {"error": {"httpCode": 404, "message": message}}


def test_a_trace_over_the_span_cap_is_cut_and_says_so(jaeger):
    many = [span(A, f"{i + 1:016x}", "loop", "s", {}, i, i + 1) for i in range(10_001)]
    jaeger.store.write_spans(many)
    response = get(jaeger, f"/traces/{A}")
    assert len(response.json()["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"]) == 10_000
    assert response.headers["x-watchfloor-truncated-traces"] == A


def test_search_by_service_operation_attributes_duration_time_and_depth(stored):
    assert trace_ids(search(stored, **{"query.service_name": "frontend"})) == [A, C]  # newest first
    assert trace_ids(
        search(stored, **{"query.serviceName": "frontend", "query.operationName": "GET /home"})
    ) == [C]
    assert trace_ids(search(stored, **{"query.duration_min": "1.5s"})) == [B]
    assert trace_ids(search(stored, **{"query.durationMax": "2ms"})) == [B]  # tick: 1 ms; SELECT cart: 3 ms
    assert trace_ids(search(stored, **{"query.durationMin": "2ms", "query.duration_max": "3ms"})) == [A]
    assert trace_ids(search(stored, **{"query.attributes": '{"http.response.status_code":"200"}'})) == [A]
    assert trace_ids(search(stored, **{"query.attributes": '{"host.name":"pay-1"}'})) == [B, A]  # resource
    assert trace_ids(search(stored, **{"query.num_traces": "1"})) == [B]
    assert trace_ids(search(stored, **{"query.searchDepth": "2", "query.search_depth": "1"})) == [B, A]
    recent = {
        "query.start_time_min": rfc3339(T0 - 3_600_000 * MS),
        "query.startTimeMax": rfc3339(T0 + 60_000 * MS),
    }
    assert trace_ids(search(stored, **recent)) == [B, A]
    # startTimeMax is exclusive: A's first span starts exactly at it.
    assert trace_ids(
        search(stored, **{"query.service_name": "frontend", "query.start_time_max": rfc3339(T0)})
    ) == [C]
    # An offset zone and times far outside what the store can hold.
    wide = {
        "query.start_time_min": "1000-01-01T00:00:00+01:00",
        "query.start_time_max": "9999-12-31T23:59:59.999999999Z",
    }
    assert trace_ids(search(stored, **wide)) == [B, A, C]
    # Each trace has resource groups of its own, as Jaeger answers.
    assert len(search(stored, **{"query.service_name": "frontend"}).json()["result"]["resourceSpans"]) == 3


def test_a_search_answer_stops_adding_traces_at_the_span_budget(stored, monkeypatch):
    monkeypatch.setattr(jaeger_v3, "MAX_SEARCH_SPANS", 3)
    response = search(stored)  # B (2 spans) fits, A (4) would pass 3, and C is not reached
    assert trace_ids(response) == [B] and response.headers["x-watchfloor-traces-omitted"] == "2"
    monkeypatch.setattr(jaeger_v3, "MAX_SEARCH_SPANS", 1)
    assert trace_ids(search(stored)) == [B]  # the first trace is always sent


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"query.service_name": "frontend", "query.operation_name": "nothing"}, "No traces found"),
        (
            {"query.service_name": "nobody"},
            "No traces found: query.service_name: no spans of 'nobody' are stored",
        ),
    ],
)
def test_a_search_that_finds_nothing_is_a_404(stored, params, message):
    response = search(stored, **params)
    assert response.status_code == 404
    assert response.json() == {"error": {"httpCode": 404, "message": message}}


LATER = rfc3339(T0)
M = "malformed parameter "
BAD_INPUT = [
    ("/traces/xyz", {}, M + "trace_id"),
    ("/traces/" + "0" * 32, {}, M + "trace_id: the all-zero trace id is invalid"),
    ("/traces/" + "a" * 33, {}, M + "trace_id"),
    (f"/traces/{A}", {"start_time": "abc"}, M + "start_time: parsing time"),
    (f"/traces/{A}", {"endTime": "2027-02-30T00:00:00Z"}, M + "endTime"),
    (f"/traces/{A}", {"raw_traces": "maybe"}, M + 'raw_traces: strconv.ParseBool: parsing "maybe"'),
    ("/traces", {}, "query.startTimeMin and query.startTimeMax are required"),
    ("/traces", {"query.start_time_min": LATER}, "query.startTimeMin and query.startTimeMax are required"),
    (
        "/traces",
        {"query.start_time_min": "yesterday", "query.start_time_max": LATER},
        M + "query.start_time_min",
    ),
    (
        "/traces",
        {"query.startTimeMin": LATER, "query.startTimeMax": "2027-01-15T08:00:00"},
        M + "query.startTimeMax",
    ),
    (
        "/traces",
        {"query.start_time_min": LATER, "query.start_time_max": LATER},
        "query.start_time_min must be before query.start_time_max",
    ),
    ("SEARCH", {"query.duration_min": "10"}, M + 'query.duration_min: time: invalid duration "10"'),
    ("SEARCH", {"query.duration_max": "NaN"}, M + "query.duration_max"),
    ("SEARCH", {"query.durationMin": "-1s"}, M + "query.durationMin: must be between 0 and a week"),
    ("SEARCH", {"query.durationMax": "200h"}, M + "query.durationMax"),
    (
        "SEARCH",
        {"query.durationMin": "2s", "query.durationMax": "1s"},
        "query.durationMin must not be over query.durationMax",
    ),
    ("SEARCH", {"query.num_traces": "ten"}, M + 'query.num_traces: strconv.Atoi: parsing "ten"'),
    ("SEARCH", {"query.num_traces": "0"}, M + "query.num_traces: must be between 1 and 1000"),
    ("SEARCH", {"query.searchDepth": "1001"}, M + "query.searchDepth: must be between 1 and 1000"),
    ("SEARCH", {"query.attributes": "status=500"}, M + "query.attributes: not valid JSON"),
    ("SEARCH", {"query.attributes": '{"status": 500}'}, M + "query.attributes: must be a JSON object"),
    ("SEARCH", {"query.attributes": '["status"]'}, M + "query.attributes"),
    ("SEARCH", {"query.attributes": '{"bad key!": "x"}'}, M + "query.attributes: 'bad key!'"),
    ("SEARCH", {"query.operation_name": "GET /home"}, M + "query.operation_name: needs a service"),
    ("SEARCH", {"query.raw_traces": "yes"}, M + "query.raw_traces"),
    ("/operations", {}, M + "service"),
    ("/operations", {"service": "frontend", "span_kind": "sideways"}, M + "span_kind"),
]


@pytest.mark.parametrize(("path", "params", "message"), BAD_INPUT)
def test_bad_input_is_a_400_in_jaegers_error_form_naming_the_parameter(stored, path, params, message):
    response = search(stored, **params) if path == "SEARCH" else get(stored, path, **params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert list(body) == ["error"] and body["error"]["httpCode"] == 400
    assert body["error"]["message"].startswith(message), body
