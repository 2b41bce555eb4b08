"""What the status page shows, read from the server's HTTP API (no Streamlit here, so it is testable).

Every figure comes from a public endpoint: ``/healthz``, ``/metrics``, ``/api/v1/targets``,
``/api/v1/logs`` and ``/api/v1/spans``. A server that cannot be reached gives a status
with ``error`` set instead of raising, so the page can say so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from collectors.prom_text import PromTextError, PromTextParser

# Self-metrics the page shows, by (family sample name, label value) → caption.
INGEST_FIGURES = (
    ("watchfloor_ingested_total", "datapoints", "datapoints stored"),
    ("watchfloor_ingested_total", "spans", "spans stored"),
    ("watchfloor_ingested_total", "logs", "log documents stored"),
)


@dataclass
class ServerStatus:
    url: str
    error: str | None = None
    health: dict[str, Any] = field(default_factory=dict)
    ingest: dict[str, float] = field(default_factory=dict)
    refused: float = 0.0
    queue_depth: float = 0.0
    targets: list[dict[str, Any]] = field(default_factory=list)
    error_logs: list[dict[str, Any]] = field(default_factory=list)
    slow_spans: list[dict[str, Any]] = field(default_factory=list)


def _self_metrics(text: str) -> dict[tuple[str, str], float]:
    """(sample name, first label value) → value, for the server's own families."""
    found: dict[tuple[str, str], float] = {}
    try:
        samples = PromTextParser().parse(text).samples
    except PromTextError:
        return found
    for sample in samples:
        if sample.name.startswith("watchfloor_"):
            key = sample.labels[0][1] if sample.labels else ""
            found[(sample.name, key)] = found.get((sample.name, key), 0.0) + sample.value
    return found


def fetch_status(url: str, client: httpx.Client | None = None, window_s: float = 900.0) -> ServerStatus:
    """Everything the page shows; ``window_s`` bounds the recent logs and spans."""
    status = ServerStatus(url)
    own = client or httpx.Client(base_url=url, timeout=5.0)
    try:
        status.health = own.get("/healthz").raise_for_status().json()
        metrics = _self_metrics(own.get("/metrics").text)
        for name, signal, caption in INGEST_FIGURES:
            status.ingest[caption] = metrics.get((name, signal), 0.0)
        status.refused = sum(v for (n, _), v in metrics.items() if n == "watchfloor_ingest_refused_total")
        status.queue_depth = metrics.get(("watchfloor_write_queue_depth", ""), 0.0)
        status.targets = own.get("/api/v1/targets").json()["targets"]
        since = str(int((time.time() - window_s) * 1000))
        status.error_logs = own.get(
            "/api/v1/logs", params={"level": "error", "limit": 50, "start": since}
        ).json()["logs"]
        spans = own.get("/api/v1/spans", params={"limit": 200, "start": since}).json()["spans"]
        status.slow_spans = sorted(spans, key=lambda s: s["duration_ms"], reverse=True)[:20]
    except (httpx.HTTPError, ValueError, KeyError) as error:
        status.error = f"{type(error).__name__}: {error}"
    finally:
        if client is None:
            own.close()
    return status


def target_rows(status: ServerStatus) -> list[dict[str, Any]]:
    return [
        {
            "cluster": t["tags"].get("nf.cluster", ""),
            "node": t["tags"].get("nf.node", ""),
            "health": t["health"],
            "samples": t["samples"],
            "scrape s": t["last_duration_s"],
            "last error": t["last_error"] or "",
            "url": t["url"],
        }
        for t in sorted(status.targets, key=lambda t: (t["tags"].get("nf.cluster", ""), t["url"]))
    ]


def log_rows(status: ServerStatus) -> list[dict[str, Any]]:
    return [
        {
            "time": time.strftime("%H:%M:%S", time.gmtime(r["timestamp_ns"] / 1e9)),
            "service": r["service"],
            "level": r["level"],
            "message": r["message"],
            "trace id": r["trace_id"],
        }
        for r in status.error_logs
    ]


def span_rows(status: ServerStatus) -> list[dict[str, Any]]:
    return [
        {
            "service": s["service"],
            "operation": s["name"],
            "duration ms": s["duration_ms"],
            "status": {0: "unset", 1: "ok", 2: "error"}.get(s["status"]["code"], "?"),
            "trace id": s["trace_id"],
        }
        for s in status.slow_spans
    ]
