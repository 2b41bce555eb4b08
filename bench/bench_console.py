"""The console in Chromium: time until the Overview shows 50 services, and server time per page.

A real server is filled with an hour of span-derived RED series for ``--services``
services in two clusters each (made by the server's own ``SpanMetrics``), a few hundred
traces with logs, and ``watchfloor console`` runs against it as its own process.

* Overview: from ``page.goto`` until the "Services" figure reads the full count (every row
  arrived and was drawn), in a fresh browser context each time; the first load after the
  console starts is reported apart (Streamlit imports the page's modules then).
* Per page: each page opened once in a freshly started console (so no answer comes from
  the console's cache), and the server's own ``watchfloor_http_request_duration_seconds``
  read before and after: calls and server seconds per route, against the page's wall time
  in Chromium.

``python -m bench.bench_console [--services 50] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

from collectors.prom_text import PromTextParser
from collectors.span_metrics import SpanMetrics
from console.api.app import Server
from console.config import ServerConfig
from console.ui.pages import PAGES, PageSpec
from sample_services.serving import ServerThread
from store.model import SPAN_KIND_SERVER, STATUS_ERROR, STATUS_OK, LogRecord, Span
from tests.support.browser import chromium, console_process, wait_until_drawn

STEP_MS = 10_000
MS = 1_000_000


def _spans(services: int, now_ms: int) -> list[Span]:
    """Three serving spans per service, cluster and step over the last hour; one in 50 fails."""
    spans = []
    n = 0
    for step in range(360):
        t = (now_ms - 3_600_000 + step * STEP_MS) * MS
        for s in range(services):
            for cluster in ("v1", "v2-canary"):
                for k in range(3):
                    n += 1
                    trace = f"{n:032x}"
                    began = t + k * MS
                    ended = began + (5 + (n * 7919) % 120) * MS
                    status = STATUS_ERROR if n % 50 == 0 else STATUS_OK
                    cell = {"nf.cluster": f"svc-{s:02d}-{cluster}"}
                    spans.append(
                        Span(trace, trace[-16:], "", "GET /api", SPAN_KIND_SERVER, began, ended,
                             f"svc-{s:02d}", status, resource=cell)
                    )  # fmt: skip
    return spans


def seed(data_dir: Path, services: int) -> tuple[ServerThread, str, Span]:
    server = Server(ServerConfig(data_dir=data_dir, step_ms=STEP_MS))
    thread = ServerThread()
    url = thread.start(server.app)
    now_ms = int(time.time() * 1000)
    spans = _spans(services, now_ms)
    metrics = SpanMetrics(STEP_MS, clock=lambda: now_ms / 1000)
    metrics.observe(spans)
    server.store.write_datapoints(metrics.flush(now_ms + 2 * STEP_MS))
    recent = spans[-600:]  # the last few steps' spans as traces, each with a log line
    server.store.write_spans(recent)
    server.store.write_logs(
        [LogRecord(s.start_ns, "info", "served", s.service, s.trace_id, s.span_id, {"message": "served"})
         for s in recent]
    )  # fmt: skip
    return thread, url, recent[-1]


def route_seconds(url: str) -> dict[str, tuple[float, float]]:
    """Route → (calls, seconds) from the server's own request histogram."""
    found: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for sample in PromTextParser().parse(httpx.get(f"{url}/metrics").text).samples:
        labels = dict(sample.labels)
        if sample.name == "watchfloor_http_request_duration_seconds_count":
            found[labels["route"]][0] += sample.value
        elif sample.name == "watchfloor_http_request_duration_seconds_sum":
            found[labels["route"]][1] += sample.value
    return {route: (calls, seconds) for route, (calls, seconds) in found.items()}


def overview_until_full(console: str, services: int, repeats: int) -> list[float]:
    times = []
    with chromium() as browser:
        for _ in range(repeats + 1):
            context = browser.new_context(viewport={"width": 1500, "height": 1100})
            page = context.new_page()
            began = time.perf_counter()
            page.goto(f"{console}/?by=service")
            page.get_by_test_id("stMetric").filter(has_text="Services").filter(
                has_text=str(services)
            ).wait_for(timeout=120_000)
            times.append(time.perf_counter() - began)
            context.close()
    return times


def page_url(console: str, spec: PageSpec, trace: Span) -> str:
    extra = {"traces": f"trace={trace.trace_id}", "service": f"service={trace.service}",
             "logs": f"service={trace.service}"}.get(spec.url_path, "")  # fmt: skip
    return f"{console}/{'' if spec.url_path == 'overview' else spec.url_path}?{extra}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        began = time.perf_counter()
        thread, url, trace = seed(root / "data", options.services)
        print(f"console bench: {options.services} services × 2 clusters, an hour at 10 s "
              f"(seeded in {time.perf_counter() - began:.1f} s)")  # fmt: skip
        try:
            with console_process(url, root / "console.log") as console:
                times = overview_until_full(console, options.services, options.repeats)
            print(f"  Overview shows {options.services} services in Chromium: first load {times[0]:.2f} s, "
                  f"then median {statistics.median(times[1:]):.2f} s (min {min(times[1:]):.2f}, "
                  f"max {max(times[1:]):.2f}, {options.repeats} loads)")  # fmt: skip
            print("  server time per page's API calls (fresh console each, no cached answers):")
            for spec in PAGES:
                with (
                    console_process(url, root / f"console-{spec.url_path}.log") as console,
                    chromium() as browser,
                ):
                    page = browser.new_page(viewport={"width": 1500, "height": 1100})
                    before = route_seconds(url)
                    opened = time.perf_counter()
                    page.goto(page_url(console, spec, trace))
                    wait_until_drawn(page)
                    wall = time.perf_counter() - opened
                    after = route_seconds(url)
                spent = {
                    r: (after[r][0] - before.get(r, (0, 0))[0], after[r][1] - before.get(r, (0, 0))[1])
                    for r in after
                    if after[r][0] > before.get(r, (0, 0))[0] and r != "/metrics"
                }
                calls = sum(c for c, _ in spent.values())
                server_s = sum(s for _, s in spent.values())
                print(f"    {spec.title:<22} {calls:3.0f} calls, server {server_s * 1000:7.1f} ms of "
                      f"{wall * 1000:6.0f} ms in Chromium ({server_s / wall:.0%})")  # fmt: skip
                for route, (n, seconds) in sorted(spent.items(), key=lambda kv: -kv[1][1]):
                    print(f"        {route:<40} {n:3.0f} × {seconds / n * 1000:7.1f} ms")
        finally:
            thread.stop()


if __name__ == "__main__":
    main()
