"""What the instrumentation costs a request: the same handler bare and instrumented, side by side.

Both apps are driven in one process through ``httpx.ASGITransport`` (no sockets, so the
figure is our code, not the kernel's). Instrumented means: a server span exported by the
SDK's batch processor (to the in-memory exporter), RED metrics, an ECS access-log line
written to a file and offered to the ``_bulk`` shipper's queue.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tracing.instrument import Instrumentation, ServiceIdentity, TelemetrySettings

REQUESTS = 3_000
ROUNDS = 3


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/license/{title_id}")
    async def license(title_id: str) -> dict[str, str]:
        return {"title_id": title_id, "system": "widevine"}

    return app


async def _drive(app: FastAPI) -> float:
    """Seconds per request, best of ROUNDS."""
    best = float("inf")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for _ in range(50):
            await client.get("/license/80100000")
        for _ in range(ROUNDS):
            began = time.perf_counter()
            for n in range(REQUESTS):
                await client.get(f"/license/{80100000 + n % 160}")
            best = min(best, (time.perf_counter() - began) / REQUESTS)
    return best


def main() -> None:
    bare = _app()
    instrumented = _app()
    with tempfile.TemporaryDirectory() as scratch:
        exporter = InMemorySpanExporter()
        telemetry = Instrumentation(
            ServiceIdentity("drm", "1.0.0", "drm-v1", "drm-v1-bench"),
            TelemetrySettings(
                otlp_endpoint=None,
                bulk_url="http://127.0.0.1:9/_bulk",  # nothing listens: documents queue, then drop
                log_path=Path(scratch) / "bench.ndjson",
                span_exporter=exporter,
            ),
        )
        telemetry.instrument_app(instrumented)
        bare_s = asyncio.run(_drive(bare))
        instrumented_s = asyncio.run(_drive(instrumented))
        telemetry.tracer_provider.force_flush()
        spans = len(exporter.get_finished_spans())
        telemetry.shutdown()
    print("instrumentation overhead per request (ASGITransport, best of 3 x 3,000 requests)")
    print(f"  bare FastAPI handler       {bare_s * 1e6:8.1f} µs/request  {1 / bare_s:9.0f} requests/s")
    rate = 1 / instrumented_s
    print(f"  instrumented (span, RED,   {instrumented_s * 1e6:8.1f} µs/request  {rate:9.0f} requests/s")
    print("  ECS log line, _bulk queue)")
    print(
        f"  overhead                   {(instrumented_s - bare_s) * 1e6:8.1f} µs/request"
        f"  ratio instrumented/bare {instrumented_s / bare_s:.2f}x  ({spans} spans exported)"
    )


if __name__ == "__main__":
    main()
