"""Log intake: ``_bulk`` documents/s, parse alone and through the real server.

Bodies are what the sample services' shipper sends (``tracing.log_shipper.bulk_body``):
``create`` actions, each followed by an ECS access-log document shaped as
``tracing.ecs_logging`` builds them (nested ``service``, ``log``, ``trace``/``span`` ids,
``event``, ``http``, ``url``, ``labels``), 1,000 documents per request.

Side by side in this process, on the same bodies:

- parse: ``parse_bulk`` and ``log_record`` for every document (what the endpoint does
  before it queues the records);
- stored: parse, then ``DuckDBStore.write_logs`` into a DuckDB file;
- end to end: the whole server (``console.api.app.Server`` under uvicorn on loopback) taking
  ``POST /_bulk`` from a load generator in a child process (several keep-alive
  connections), answered after commit with per-item results. Its CPU per document is this
  process's CPU (the server alone: the client is in the child) over the run.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime
from typing import Any

from bench.loopback import serve_and_drive
from bench.rates import best_rate, stored_rate
from collectors.bulk_intake import log_record, parse_bulk
from store.duckdb_store import DuckDBStore
from tracing.log_shipper import bulk_body

DOCUMENTS_PER_REQUEST = 1_000
BODIES = 8  # distinct bodies, cycled
STORE_BODIES = 30  # bodies written in the stored stage
E2E_REQUESTS = 60  # bodies posted end to end
E2E_CONCURRENCY = 4
SERVICES = ("playback", "catalog", "drm", "cdn")
ROUTES = ("/titles/{title_id}", "/playback/{title_id}/start", "/license/{title_id}", "/manifest/{title_id}")


def _document(rng: random.Random, service: str, at: float) -> dict[str, Any]:
    route = ROUTES[rng.randrange(len(ROUTES))]
    method = "POST" if route.endswith("start") else "GET"
    path = route.replace("{title_id}", str(80_100_000 + rng.randrange(160)))
    status = 503 if rng.random() < 0.03 else 200
    took_ms = rng.uniform(0.5, 400.0)
    instance = f"{service}-v1-{rng.randrange(3)}"
    return {
        "@timestamp": datetime.fromtimestamp(at, tz=UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
        "ecs": {"version": "8.11.0"},
        "message": f"{method} {path} -> {status} in {took_ms:.1f} ms",
        "log": {"level": "error" if status >= 500 else "info", "logger": f"watchfloor.service.{instance}"},
        "service": {"name": service, "version": "1.4.2", "environment": "demo", "node": {"name": instance}},
        "labels": {"nf_cluster": f"{service}-v1", "http_route": route},
        "trace": {"id": f"{rng.getrandbits(128):032x}"},
        "span": {"id": f"{rng.getrandbits(64):016x}"},
        "event": {
            "dataset": f"{service}.access",
            "duration": int(took_ms * 1e6),
            "outcome": "failure" if status >= 500 else "success",
        },
        "http": {"request": {"method": method}, "response": {"status_code": status}},
        "url": {"path": path},
    }


def build_body(number: int) -> bytes:
    """One ``_bulk`` body of DOCUMENTS_PER_REQUEST access-log documents from one service."""
    rng = random.Random(number)
    service = SERVICES[number % len(SERVICES)]
    start = 1_700_000_000.0 + number * 10
    documents = [_document(rng, service, start + n * 0.01) for n in range(DOCUMENTS_PER_REQUEST)]
    return bulk_body(documents, f"logs-{service}-demo")


def _parse(body: bytes) -> list[Any]:
    return [log_record(op.source or "", op.index) for op in parse_bulk(body.decode(), None)]


def _end_to_end(bodies: list[bytes], requests: int, concurrency: int) -> tuple[float, float, dict[str, int]]:
    """(documents/s, server CPU µs per document, answers by status) through the real server."""
    result, cpu = serve_and_drive("/_bulk", "application/x-ndjson", bodies, concurrency, requests, warm_up=4)
    documents = requests * DOCUMENTS_PER_REQUEST
    return documents / result["seconds"], cpu / documents * 1e6, result["statuses"]


def _row(label: str, rate: float, note: str = "") -> str:
    return f"  {label:<46}{rate:10,.0f} documents/s  {note}".rstrip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_bulk", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=E2E_REQUESTS, help="bodies posted end to end")
    options = parser.parse_args(argv)

    bodies = [build_body(n) for n in range(BODIES)]
    parsed = best_rate(lambda: sum(len(_parse(body)) for body in bodies))
    stored, writing = stored_rate(bodies, STORE_BODIES, _parse, DuckDBStore.write_logs)
    e2e, e2e_cpu, statuses = _end_to_end(bodies, options.requests, E2E_CONCURRENCY)

    size = sum(len(body) for body in bodies) // len(bodies)
    print(f"_bulk log intake: {DOCUMENTS_PER_REQUEST:,} ECS documents per request ({size / 1024:.0f} KiB)")
    print(_row("parse: parse_bulk + log_record", parsed))
    print(_row("DuckDBStore.write_logs alone", writing))
    print(_row("parse + write_logs (stored)", stored, f"{stored / parsed:5.2f}× parse"))
    clients = f"end to end, POST /_bulk ({E2E_CONCURRENCY} clients)"
    print(_row(clients, e2e, f"{e2e / parsed:5.2f}× parse, {e2e_cpu:.1f} µs server CPU/document"))
    if set(statuses) != {"200"}:
        print(f"  answers by status: {statuses}")


if __name__ == "__main__":
    main()
