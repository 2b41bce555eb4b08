"""OTLP ingest: spans/s for 512-span protobuf batches, beside the pure protobuf decode as the floor.

Batches are built like the sample services' exports: one resource per batch
(``service.name``, ``service.version``, ``service.instance.id``, ``deployment.environment``,
``nf.app``, ``nf.cluster``), traces of a SERVER span with two CLIENT children carrying the
HTTP semantic-convention attributes, errors on about 3 % of requests, an exception event on
about one span in fifty.

Side by side in this process, each on the same serialized batches:

- floor: ``ExportTraceServiceRequest.FromString`` and a walk of every span into plain
  Python values (hex ids, attributes as a dict, events): what any Python receiver pays;
- ``decode_protobuf``: the receiver's decoder (validation, ``Span`` values);
- stored: ``decode_protobuf`` then ``DuckDBStore.write_spans`` into a DuckDB file;
- end to end: the whole server (``console.api.app.Server`` under uvicorn on loopback) taking
  ``POST /v1/traces`` from a load generator in a child process (several keep-alive
  connections), answered after commit. Its CPU per span is this process's CPU (the server
  alone: the client is in the child) over the run.

Rates are best of a few runs of the in-process stages, wall clock, on one thread.
"""

from __future__ import annotations

import argparse
import random
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from bench.loopback import serve_and_drive
from bench.rates import best_rate, stored_rate
from collectors.otlp_decode import decode_protobuf
from store.duckdb_store import DuckDBStore

SPANS_PER_BATCH = 512
BATCHES = 16  # distinct bodies, cycled
SERVICES = ("playback", "catalog", "drm", "cdn")
ROUTES = ("/titles/{title_id}", "/playback/{title_id}/start", "/license/{title_id}", "/manifest/{title_id}")
PEERS = {"playback": ("catalog", "drm"), "catalog": ("cdn", "cdn"), "drm": ("catalog", "cdn"), "cdn": ()}
STORE_BATCHES = 100  # batches written in the stored stage (51,200 spans)
E2E_REQUESTS = 240  # batches posted end to end (122,880 spans)
E2E_CONCURRENCY = 4


def _kv(key: str, value: Any) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _attributes(values: dict[str, Any]) -> list[KeyValue]:
    return [_kv(key, value) for key, value in values.items()]


def build_batch(number: int) -> bytes:
    """One serialized ExportTraceServiceRequest of SPANS_PER_BATCH spans from one service instance."""
    rng = random.Random(number)
    service = SERVICES[number % len(SERVICES)]
    cluster = f"{service}-v{1 + number % 2}"
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        _attributes(
            {
                "service.name": service,
                "service.version": "1.4.2",
                "service.instance.id": f"{cluster}-{number % 3}",
                "deployment.environment": "demo",
                "nf.app": service,
                "nf.cluster": cluster,
            }
        )
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "watchfloor.sample_services"
    start = 1_700_000_000_000_000_000 + number * 10_000_000_000
    spans: list[PbSpan] = []
    while len(spans) < SPANS_PER_BATCH:
        trace_id = rng.randbytes(16)
        server_id = rng.randbytes(8)
        route = ROUTES[rng.randrange(len(ROUTES))]
        method = "POST" if route.endswith("start") else "GET"
        status = 503 if rng.random() < 0.03 else 200
        begin = start + rng.randrange(10_000_000_000)
        took = rng.randrange(1_000_000, 400_000_000)
        server = PbSpan(
            trace_id=trace_id,
            span_id=server_id,
            name=f"{method} {route}",
            kind=PbSpan.SPAN_KIND_SERVER,
            start_time_unix_nano=begin,
            end_time_unix_nano=begin + took,
            attributes=_attributes(
                {
                    "http.request.method": method,
                    "url.path": route.replace("{title_id}", str(80_100_000 + rng.randrange(160))),
                    "url.scheme": "http",
                    "client.address": "127.0.0.1",
                    "user_agent.original": "python-httpx/0.28.1",
                    "http.route": route,
                    "http.response.status_code": status,
                    **({"error.type": str(status)} if status >= 500 else {}),
                }
            ),
            status=Status(code=Status.STATUS_CODE_ERROR if status >= 500 else Status.STATUS_CODE_UNSET),
        )
        if rng.random() < 0.02:
            server.events.add(
                time_unix_nano=begin + took // 2,
                name="exception",
                attributes=_attributes(
                    {"exception.type": "TimeoutError", "exception.message": "upstream did not answer"}
                ),
            )
        spans.append(server)
        for peer in PEERS[service]:
            child_begin = begin + rng.randrange(took // 2)
            spans.append(
                PbSpan(
                    trace_id=trace_id,
                    span_id=rng.randbytes(8),
                    parent_span_id=server_id,
                    name=f"GET /{peer}",
                    kind=PbSpan.SPAN_KIND_CLIENT,
                    start_time_unix_nano=child_begin,
                    end_time_unix_nano=child_begin + took // 3,
                    attributes=_attributes(
                        {
                            "http.request.method": "GET",
                            "url.full": f"http://127.0.0.1:8{len(peer)}00/{peer}",
                            "server.address": "127.0.0.1",
                            "server.port": 8000 + len(peer) * 100,
                            "peer.service": peer,
                            "http.response.status_code": 200,
                        }
                    ),
                )
            )
    scope_spans.spans.extend(spans[:SPANS_PER_BATCH])
    return request.SerializeToString()


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return None if kind is None else getattr(value, kind)


def floor_walk(body: bytes) -> int:
    """Decode and read every field of every span into plain Python values; answers the span count."""
    request = ExportTraceServiceRequest.FromString(body)
    count = 0
    for resource_spans in request.resource_spans:
        resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for span in scope_spans.spans:
                (
                    span.trace_id.hex(),
                    span.span_id.hex(),
                    span.parent_span_id.hex(),
                    span.name,
                    span.kind,
                    span.start_time_unix_nano,
                    span.end_time_unix_nano,
                    span.status.code,
                    span.status.message,
                    {kv.key: _value(kv.value) for kv in span.attributes},
                    [
                        (e.time_unix_nano, e.name, {kv.key: _value(kv.value) for kv in e.attributes})
                        for e in span.events
                    ],
                    resource,
                    scope,
                )
                count += 1
    return count


def _end_to_end(bodies: list[bytes], requests: int, concurrency: int) -> tuple[float, float, dict[str, int]]:
    """(spans/s, server CPU µs per span, answers by status) through the real server on loopback."""
    result, cpu = serve_and_drive(
        "/v1/traces", "application/x-protobuf", bodies, concurrency, requests, warm_up=8
    )
    spans = requests * SPANS_PER_BATCH
    return spans / result["seconds"], cpu / spans * 1e6, result["statuses"]


def _row(label: str, rate: float, note: str = "") -> str:
    return f"  {label:<46}{rate:10,.0f} spans/s  {note}".rstrip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_otlp", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=E2E_REQUESTS, help="batches posted end to end")
    options = parser.parse_args(argv)

    bodies = [build_batch(n) for n in range(BATCHES)]
    floor = best_rate(lambda: sum(floor_walk(body) for body in bodies))
    decoded = best_rate(lambda: sum(len(decode_protobuf(body).spans) for body in bodies))
    stored, writing = stored_rate(
        bodies, STORE_BATCHES, lambda body: decode_protobuf(body).spans, DuckDBStore.write_spans
    )
    e2e, e2e_cpu, statuses = _end_to_end(bodies, options.requests, E2E_CONCURRENCY)

    size = sum(len(body) for body in bodies) // len(bodies)
    print(f"OTLP ingest: {SPANS_PER_BATCH}-span protobuf batches ({size / 1024:.0f} KiB each)")
    print(_row("floor: FromString + walk into Python values", floor))
    print(_row("decode_protobuf", decoded, f"{decoded / floor:5.2f}× floor"))
    print(_row("DuckDBStore.write_spans alone", writing))
    print(_row("decode + write_spans (stored)", stored, f"{stored / floor:5.2f}× floor"))
    clients = f"end to end, POST /v1/traces ({E2E_CONCURRENCY} clients)"
    print(_row(clients, e2e, f"{e2e / floor:5.2f}× floor, {e2e_cpu:.1f} µs server CPU/span"))
    if set(statuses) != {"200"}:
        print(f"  answers by status: {statuses}")
    print("  aim: ≥ 50,000 spans/s stored")


if __name__ == "__main__":
    main()
