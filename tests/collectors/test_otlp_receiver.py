"""The OTLP/HTTP receiver: the real OpenTelemetry SDK exports to it; every error form of protocols.md §4."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading

import httpx
import pytest
from google.rpc import code_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.applications import Starlette

from collectors.otlp_receiver import OtlpReceiver
from store.model import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, STATUS_ERROR
from tests.collectors.asgi import call_asgi, started_queue
from tests.support.polling import eventually

PROTOBUF = {"content-type": "application/x-protobuf"}
JSON = {"content-type": "application/json"}
TRACE = "5b8efff798038103d269b633813fc60c"


def _json_request(spans: list[dict]) -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": "cdn"}},
                        {"key": "nf.cluster", "value": {"stringValue": "cdn-v1"}},
                    ]
                },
                "scopeSpans": [{"scope": {"name": "watchfloor.test"}, "spans": spans}],
            }
        ]
    }


def _json_span(span_id: str, parent: str = "", **extra) -> dict:
    return {
        "traceId": TRACE,
        "spanId": span_id,
        "parentSpanId": parent,
        "name": "GET /segment",
        "kind": 2,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000250000000",
        "attributes": [
            {"key": "http.response.status_code", "value": {"intValue": "200"}},
            {"key": "cache.hit", "value": {"boolValue": True}},
            {"key": "bitrates", "value": {"arrayValue": {"values": [{"intValue": 1}, {"doubleValue": 2.5}]}}},
        ],
        "status": {"code": 1},
        **extra,
    }


def test_spans_from_the_real_sdk_are_stored_with_ids_kind_status_and_resource(server):
    provider = TracerProvider(
        resource=Resource.create({"service.name": "playback", "nf.cluster": "playback-v1"})
    )
    exporter = OTLPSpanExporter(endpoint=f"{server.url}/v1/traces")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("POST /play", kind=SpanKind.SERVER) as root:
        root.set_attribute("title.id", "80100000")
        with tracer.start_as_current_span("POST /license", kind=SpanKind.CLIENT) as child:
            child.set_status(Status(StatusCode.ERROR, "license denied"))
            child.add_event("retry", {"attempt": 2})
    provider.shutdown()
    trace_id = format(root.get_span_context().trace_id, "032x")
    spans = {s.name: s for s in eventually(lambda: server.store.trace(trace_id), what="stored spans")}
    assert set(spans) == {"POST /play", "POST /license"}
    play, license_ = spans["POST /play"], spans["POST /license"]
    assert play.kind == SPAN_KIND_SERVER and play.parent_span_id == ""
    assert license_.kind == SPAN_KIND_CLIENT and license_.parent_span_id == play.span_id
    assert license_.status_code == STATUS_ERROR and license_.status_message == "license denied"
    assert license_.events[0]["name"] == "retry" and license_.events[0]["attributes"] == {"attempt": 2}
    assert play.service == "playback" and play.resource["nf.cluster"] == "playback-v1"
    assert play.attributes["title.id"] == "80100000"
    assert play.span_id == format(root.get_span_context().span_id, "016x")


def test_json_with_hex_ids_is_stored_as_written_and_answered_in_json(server):
    body = _json_request([_json_span("eee19b7ec3c1b174"), _json_span("eee19b7ec3c1b175", "eee19b7ec3c1b174")])
    answer = httpx.post(f"{server.url}/v1/traces", content=json.dumps(body), headers=JSON)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {}
    spans = {s.span_id: s for s in server.store.trace(TRACE)}
    assert set(spans) == {"eee19b7ec3c1b174", "eee19b7ec3c1b175"}
    child = spans["eee19b7ec3c1b175"]
    assert child.parent_span_id == "eee19b7ec3c1b174"
    assert child.start_ns == 1_700_000_000_000_000_000 and child.duration_ns == 250_000_000
    assert child.attributes == {"http.response.status_code": 200, "cache.hit": True, "bitrates": [1, 2.5]}
    assert child.service == "cdn" and child.scope == "watchfloor.test"


def test_a_gzip_body_is_accepted(server):
    body = gzip.compress(json.dumps(_json_request([_json_span("00000000000000a1")])).encode())
    answer = httpx.post(f"{server.url}/v1/traces", content=body, headers={**JSON, "content-encoding": "gzip"})
    assert answer.status_code == 200
    assert [s.span_id for s in server.store.trace(TRACE)] == ["00000000000000a1"]


def test_invalid_spans_are_rejected_one_by_one_with_partial_success(server):
    spans = [
        _json_span("00000000000000b1"),
        _json_span("0000000000000000"),  # all-zero span id
        _json_span("00000000000000b3", endTimeUnixNano="1"),  # ends before it starts
        _json_span("not-hex-at-all!!"),
    ]
    answer = httpx.post(f"{server.url}/v1/traces", content=json.dumps(_json_request(spans)), headers=JSON)
    assert answer.status_code == 200
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedSpans"] == 3
    assert "spanId" in partial["errorMessage"] and "endTimeUnixNano" in partial["errorMessage"]
    assert [s.span_id for s in server.store.trace(TRACE)] == ["00000000000000b1"]
    metrics = httpx.get(f"{server.url}/metrics").text
    assert "watchfloor_otlp_rejected_spans_total 3.0" in metrics


def test_partial_success_in_protobuf(server):
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    good = scope.spans.add(
        trace_id=bytes.fromhex(TRACE), span_id=bytes.fromhex("00000000000000c1"), name="ok"
    )
    good.end_time_unix_nano = 5
    scope.spans.add(trace_id=b"short", span_id=bytes.fromhex("00000000000000c2"), name="bad")
    answer = httpx.post(f"{server.url}/v1/traces", content=request.SerializeToString(), headers=PROTOBUF)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-protobuf"
    decoded = ExportTraceServiceResponse.FromString(answer.content)
    assert decoded.partial_success.rejected_spans == 1
    assert "traceId" in decoded.partial_success.error_message


@pytest.mark.parametrize(
    ("headers", "body", "status", "needle"),
    [
        (PROTOBUF, b"\xff\xff\xff garbage", 400, "protobuf"),
        (JSON, b"{not json", 400, "JSON"),
        (JSON, b'{"resourceSpans": 7}', 400, "resourceSpans must be a list"),
        ({**PROTOBUF, "content-encoding": "gzip"}, b"not gzip", 400, "gzip"),
        ({**PROTOBUF, "content-encoding": "br"}, b"", 415, "content-encoding"),
        ({"content-type": "text/plain"}, b"hello", 415, "content-type"),
    ],
    ids=[
        "garbage protobuf",
        "garbage json",
        "wrong json shape",
        "bad gzip",
        "unknown encoding",
        "wrong type",
    ],
)
def test_an_unreadable_body_is_refused_as_a_whole_with_a_google_rpc_status(
    server, headers, body, status, needle
):
    answer = httpx.post(f"{server.url}/v1/traces", content=body, headers=headers)
    assert answer.status_code == status
    if answer.headers["content-type"].startswith("application/json"):
        message = answer.json()["message"]
        assert answer.json()["code"] == code_pb2.INVALID_ARGUMENT
    else:
        parsed = status_pb2.Status.FromString(answer.content)
        message = parsed.message
        assert parsed.code == code_pb2.INVALID_ARGUMENT
    assert needle in message


def test_a_body_over_the_limit_is_413_even_when_it_only_grows_after_decompression(tmp_path):
    from tests.support.server import RunningServer

    running = RunningServer(tmp_path / "s", otlp_max_body_bytes=10_000)
    try:
        plain = httpx.post(f"{running.url}/v1/traces", content=b"\0" * 20_000, headers=PROTOBUF)
        assert plain.status_code == 413
        bomb = gzip.compress(b"\0" * 5_000_000)  # ~5 KB on the wire
        assert len(bomb) < 10_000
        inflated = httpx.post(
            f"{running.url}/v1/traces", content=bomb, headers={**PROTOBUF, "content-encoding": "gzip"}
        )
        assert inflated.status_code == 413
        assert status_pb2.Status.FromString(inflated.content).code == code_pb2.RESOURCE_EXHAUSTED
    finally:
        running.stop()


def test_a_full_write_queue_answers_503_with_retry_after_and_loses_nothing_it_accepted(tmp_path):
    from tests.support.server import RunningServer

    running = RunningServer(tmp_path / "s", write_queue_capacity=2)
    try:
        url = f"{running.url}/v1/traces"
        first_body = json.dumps(
            _json_request([_json_span("00000000000000d1"), _json_span("00000000000000d2")])
        )
        answers: list[httpx.Response] = []
        # Hold the store's write lock: the writer thread stalls, so the first batch stays queued.
        with running.store._write_lock:
            sender = threading.Thread(
                target=lambda: answers.append(httpx.post(url, content=first_body, headers=JSON, timeout=30))
            )
            sender.start()
            eventually(lambda: running.server.write_queue._pending == 2, what="the first batch queued")
            refused = httpx.post(
                url, content=json.dumps(_json_request([_json_span("00000000000000d3")])), headers=JSON
            )
            assert refused.status_code == 503
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.json()["code"] == code_pb2.UNAVAILABLE
        sender.join(30)
        assert answers and answers[0].status_code == 200
        assert sorted(s.span_id for s in running.store.trace(TRACE)) == [
            "00000000000000d1",
            "00000000000000d2",
        ]
        metrics = httpx.get(f"{running.url}/metrics").text
        assert 'watchfloor_ingest_refused_total{signal="spans"} 1.0' in metrics
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"kind": 1000}, "kind"),
        ({"kind": -1}, "kind"),
        ({"status": {"code": 300}}, "status.code"),
        (
            {"startTimeUnixNano": "18446744073709551614", "endTimeUnixNano": "18446744073709551615"},
            "2^63",
        ),
        ({"startTimeUnixNano": "-5"}, "2^63"),
        ({"attributes": [{"key": "a", "value": {"doubleValue": [1]}}]}, "doubleValue"),
    ],
    ids=["kind 1000", "kind -1", "status 300", "times past int64", "negative start", "doubleValue list"],
)
def test_a_span_the_store_cannot_hold_is_rejected_alone_in_json(server, extra, needle):
    spans = [_json_span("00000000000000e1"), _json_span("00000000000000e2", **extra)]
    answer = httpx.post(f"{server.url}/v1/traces", content=json.dumps(_json_request(spans)), headers=JSON)
    assert answer.status_code == 200
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedSpans"] == 1 and needle in partial["errorMessage"]
    assert [s.span_id for s in server.store.trace(TRACE)] == ["00000000000000e1"]


def test_a_span_the_store_cannot_hold_is_rejected_alone_in_protobuf(server):
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for n, (kind, code, start, end) in enumerate(
        [(2, 1, 1, 5), (1000, 0, 1, 5), (1, 300, 1, 5), (1, 0, 2**64 - 2, 2**64 - 1)], start=1
    ):
        span = scope.spans.add(trace_id=bytes.fromhex(TRACE), span_id=bytes.fromhex(f"00000000000000f{n}"))
        span.kind, span.status.code = kind, code
        span.start_time_unix_nano, span.end_time_unix_nano = start, end
    answer = httpx.post(f"{server.url}/v1/traces", content=request.SerializeToString(), headers=PROTOBUF)
    assert answer.status_code == 200
    partial = ExportTraceServiceResponse.FromString(answer.content).partial_success
    assert partial.rejected_spans == 3
    assert "kind" in partial.error_message and "status.code" in partial.error_message
    assert "2^63" in partial.error_message
    assert [s.span_id for s in server.store.trace(TRACE)] == ["00000000000000f1"]


def test_lone_surrogates_are_replaced_rather_than_failing_the_commit(server):
    span = _json_span("00000000000000e3", name="GET /\ud800", status={"code": 2, "message": "\udfff"})
    span["attributes"] = [{"key": "k\ud800", "value": {"stringValue": "v\udc00"}}]
    body = _json_request([span])
    body["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"] = "scope\ud800"
    answer = httpx.post(f"{server.url}/v1/traces", content=json.dumps(body), headers=JSON)
    assert answer.status_code == 200 and answer.json() == {}
    [stored] = server.store.trace(TRACE)
    assert (stored.name, stored.status_message, stored.scope) == ("GET /\ufffd", "\ufffd", "scope\ufffd")
    assert stored.attributes == {"k\ufffd": "v\ufffd"}


def test_an_escaped_surrogate_pair_is_kept_as_the_character_it_spells(server):
    body = json.dumps(_json_request([_json_span("00000000000000e4", name="play \U0001f3ac")]))
    assert "\\ud83c\\udfac" in body  # json.dumps escapes it as a pair
    answer = httpx.post(f"{server.url}/v1/traces", content=body, headers=JSON)
    assert answer.status_code == 200
    assert [s.name for s in server.store.trace(TRACE)] == ["play \U0001f3ac"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (
            json.dumps(
                {
                    "resourceSpans": [
                        {"resource": {"attributes": [{"key": "x", "value": {"doubleValue": [1]}}]}}
                    ]
                }
            ).encode(),
            "doubleValue",
        ),
        (json.dumps({"resourceSpans": [{"scopeSpans": [{"scope": ["a list"]}]}]}).encode(), "scope"),
        ('{"resourceSpans": []}'.encode("utf-16"), "UTF-8"),
    ],
    ids=["nested 100k deep", "resource doubleValue list", "scope not an object", "utf-16"],
)
def test_an_unreadable_json_body_is_a_400_not_a_500(server, body, needle):
    answer = httpx.post(f"{server.url}/v1/traces", content=body, headers=JSON)
    assert answer.status_code == 400
    assert answer.json()["code"] == code_pb2.INVALID_ARGUMENT and needle in answer.json()["message"]


def test_a_truncated_gzip_body_is_a_400_not_a_partial_decode(server):
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for n in range(1, 200):
        scope.spans.add(trace_id=bytes.fromhex(TRACE), span_id=n.to_bytes(8, "big"), name=f"s{n}" * 20)
    whole = gzip.compress(request.SerializeToString())
    answer = httpx.post(
        f"{server.url}/v1/traces",
        content=whole[: len(whole) - 8],  # the deflate stream ends, the gzip trailer is cut off
        headers={**PROTOBUF, "content-encoding": "gzip"},
    )
    assert answer.status_code == 400
    assert "truncated" in status_pb2.Status.FromString(answer.content).message
    assert server.store.trace(TRACE) == []


def test_a_gzip_body_of_several_members_is_read_whole(server):
    text = json.dumps(
        _json_request([_json_span("00000000000000a2"), _json_span("00000000000000a3")])
    ).encode()
    body = gzip.compress(text[:100]) + gzip.compress(text[100:])  # as `cat a.gz b.gz` makes
    answer = httpx.post(f"{server.url}/v1/traces", content=body, headers={**JSON, "content-encoding": "gzip"})
    assert answer.status_code == 200
    assert sorted(s.span_id for s in server.store.trace(TRACE)) == ["00000000000000a2", "00000000000000a3"]


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "protobuf"])
def test_a_failed_commit_answers_503_with_retry_after_in_the_protocols_form(server, as_json):
    def broken(spans):
        raise OSError("disk full")

    server.server.write_queue._writers["spans"] = broken
    if as_json:
        content, headers = json.dumps(_json_request([_json_span("00000000000000a4")])), JSON
    else:
        request = ExportTraceServiceRequest()
        request.resource_spans.add().scope_spans.add().spans.add(
            trace_id=bytes.fromhex(TRACE), span_id=bytes.fromhex("00000000000000a5"), name="x"
        )
        content, headers = request.SerializeToString(), PROTOBUF
    answer = httpx.post(f"{server.url}/v1/traces", content=content, headers=headers)
    assert answer.status_code == 503
    assert int(answer.headers["retry-after"]) >= 1
    if as_json:
        assert answer.headers["content-type"].startswith("application/json")
        status = answer.json()
        assert status["code"] == code_pb2.UNAVAILABLE and "retry" in status["message"]
    else:
        assert answer.headers["content-type"] == "application/x-protobuf"
        assert status_pb2.Status.FromString(answer.content).code == code_pb2.UNAVAILABLE


def test_a_failing_span_metrics_hook_does_not_fail_an_export_already_committed(tmp_path):
    def hook(spans):
        raise RuntimeError("span metrics broke")

    body = json.dumps(_json_request([_json_span("00000000000000a6")])).encode()
    chunks = [body[n : n + 100] for n in range(0, len(body), 100)]  # read back whole from its chunks
    with started_queue(tmp_path) as (queue, registry):
        app = Starlette(routes=OtlpReceiver(queue, registry, on_committed=hook).routes())
        status, answer, _ = asyncio.run(call_asgi(app, "/v1/traces", chunks, JSON))
    assert (status, json.loads(answer)) == (200, {})


def test_a_streamed_body_over_the_limit_is_refused_without_reading_the_rest(tmp_path):
    chunks = [b"\0" * 1_000] * 1_000  # 1 MB, chunked: no Content-Length to go by
    with started_queue(tmp_path) as (queue, registry):
        app = Starlette(routes=OtlpReceiver(queue, registry, max_body_bytes=10_000).routes())
        status, body, taken = asyncio.run(call_asgi(app, "/v1/traces", chunks, PROTOBUF))
    assert status == 413
    assert status_pb2.Status.FromString(body).code == code_pb2.RESOURCE_EXHAUSTED
    assert taken == 11  # the chunk that passed the limit was the last one read
