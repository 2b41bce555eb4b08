"""An Open Connect-like edge: manifests and segments from an LRU cache, origin fetch on a miss.

Segment payloads are simulated: the answer describes the segment (its size in bytes comes
from the rendition's bitrate), and ``cdn_bytes_served`` counts those bytes, so the demo
shows realistic throughput without pushing gigabytes through loopback.
"""

from __future__ import annotations

import asyncio
import math
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Path, Response
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Gauge, Histogram

from sample_services.catalog import SEGMENT_SECONDS, TITLES, Title, find_rendition, per_title_ladder
from sample_services.errors import ServiceError
from sample_services.service import ServiceContext

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0)
DEFAULT_CAPACITY_BYTES = 2 * 1024**3
ORIGIN_MEDIAN_S = 0.045  # round trip to the origin in the cloud region, plus its read
HIT_MEDIAN_S = 0.0015


class EdgeCache:
    """Least-recently-used cache of object sizes, bounded by total bytes."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self.used_bytes = 0
        self.evictions = 0
        self._objects: OrderedDict[str, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._objects)

    def get(self, key: str) -> bool:
        if key in self._objects:
            self._objects.move_to_end(key)
            return True
        return False

    def put(self, key: str, size: int) -> None:
        if size > self.capacity_bytes:
            return
        if key in self._objects:
            self.used_bytes -= self._objects.pop(key)
        while self.used_bytes + size > self.capacity_bytes:
            _, evicted = self._objects.popitem(last=False)
            self.used_bytes -= evicted
            self.evictions += 1
        self._objects[key] = size
        self.used_bytes += size


def _segment_count(title: Title) -> int:
    return math.ceil(title.runtime_s / SEGMENT_SECONDS)


class CdnService:
    def __init__(self, context: ServiceContext, capacity_bytes: int = DEFAULT_CAPACITY_BYTES) -> None:
        self._context = context
        self.cache = EdgeCache(capacity_bytes)
        registry = context.telemetry.registry
        self._requests = Counter(
            "cdn_requests",
            "Edge requests by kind (manifest, segment) and cache result.",
            ["kind", "cache_result"],
            registry=registry,
        )
        self._bytes = Counter("cdn_bytes_served", "Bytes delivered to players.", ["kind"], registry=registry)
        self._latency = Histogram(
            "cdn_request_duration_seconds",
            "Time to serve from the edge, by cache result.",
            ["kind", "cache_result"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._origin = Histogram(
            "cdn_origin_fetch_duration_seconds",
            "Time to fill a miss from the origin.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        Gauge("cdn_cache_bytes", "Bytes held in the edge cache.", registry=registry).set_function(
            lambda: self.cache.used_bytes
        )
        Gauge("cdn_cache_objects", "Objects held in the edge cache.", registry=registry).set_function(
            lambda: len(self.cache)
        )
        self.router = APIRouter()
        self.router.add_api_route("/manifest/{title_id}", self.manifest, methods=["GET"])
        self.router.add_api_route("/segment/{title_id}/{rendition}/{n}", self.segment, methods=["GET"])

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def _serve(self, kind: str, key: str, size: int) -> str:
        """Serve one object through the cache; answers ``hit`` or ``miss``."""
        rng = self._context.rng
        result = "hit" if self.cache.get(key) else "miss"
        with self._latency.labels(kind, result).time():
            if result == "miss":
                tracer = self._context.telemetry.tracer
                with (
                    tracer.start_as_current_span(
                        "origin fetch", kind=SpanKind.CLIENT, attributes={"peer.service": "origin"}
                    ),
                    self._origin.time(),
                ):
                    await asyncio.sleep(ORIGIN_MEDIAN_S * rng.lognormvariate(0.0, 0.4))
                self.cache.put(key, size)
            await asyncio.sleep(HIT_MEDIAN_S * rng.lognormvariate(0.0, 0.3))
        self._requests.labels(kind, result).inc()
        self._bytes.labels(kind).inc(size)
        return result

    def _title(self, title_id: str) -> Title:
        title = TITLES.get(title_id)
        if title is None:
            raise ServiceError(404, "title_id", f"unknown title {title_id!r}")
        return title

    async def manifest(self, title_id: str, response: Response) -> dict[str, Any]:
        title = self._title(title_id)
        ladder = per_title_ladder(title.complexity)
        result = await self._serve("manifest", f"manifest/{title_id}", 2_048)
        response.headers["X-Cache"] = result.upper()
        return {
            "title_id": title_id,
            "segment_seconds": SEGMENT_SECONDS,
            "segments": _segment_count(title),
            "renditions": [
                {"name": r.name, "width": r.width, "height": r.height, "bitrate_kbps": r.bitrate_kbps}
                for r in ladder
            ],
        }

    async def segment(
        self, title_id: str, rendition: str, response: Response, n: int = Path(ge=0)
    ) -> dict[str, Any]:
        title = self._title(title_id)
        rung = find_rendition(title, rendition)
        if rung is None:
            raise ServiceError(404, "rendition", f"title {title_id} has no rendition {rendition!r}")
        segments = _segment_count(title)
        if n >= segments:
            raise ServiceError(404, "n", f"beyond the last segment ({segments - 1})")
        result = await self._serve("segment", f"{title_id}/{rendition}/{n}", rung.segment_bytes)
        if result == "miss":
            self._context.telemetry.logger.info(
                "cache miss for %s/%s/%d filled from origin",
                title_id,
                rendition,
                n,
                extra={"ecs": {"labels.cache_result": "miss"}},
            )
        response.headers["X-Cache"] = result.upper()
        return {
            "title_id": title_id,
            "rendition": rendition,
            "n": n,
            "bytes": rung.segment_bytes,
            "cache": result,
        }
