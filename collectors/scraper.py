"""The scrape loop: fetch every target's ``/metrics`` each step, normalise, hand to the store.

Targets come from configuration and from the fleet map. One failing target (down, slow,
serving garbage) only sets its own ``up`` to 0 with the reason; the others keep flowing.
Parsing and normalising run in a worker thread so the server's event loop stays free. The
points travel as columns (:class:`~collectors.normalise.PointColumns`) from the normaliser
to the store: ``make bench`` (``bench/bench_scrape.py``) measures the CPU this path spends per
scraped sample beside Prometheus scraping the same targets.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram

from collectors.normalise import Normaliser, PointColumns
from collectors.prom_text import PromTextError, PromTextParser
from collectors.write_queue import QueueFull, WriteQueue

_log = logging.getLogger(__name__)
ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"  # the classic format: cheaper to parse than OpenMetrics


@dataclass(frozen=True)
class Target:
    url: str
    tags: dict[str, str]


def fleet_targets(path: Path | None) -> list[Target]:
    """Scrape targets from ``watchfloor fleet``'s map: one per instance, tagged Atlas-style."""
    if path is None or not path.exists():
        return []
    try:
        instances = json.loads(path.read_text())["instances"]
    except (OSError, ValueError, KeyError, TypeError):
        _log.warning("fleet map %s is unreadable; skipping it this round", path)
        return []
    return [
        Target(
            f"{i['url']}/metrics", {"nf.app": i["app"], "nf.cluster": i["cluster"], "nf.node": i["instance"]}
        )
        for i in instances
    ]


@dataclass
class TargetHealth:
    """What ``GET /api/v1/targets`` shows for one target."""

    url: str
    tags: dict[str, str]
    up: bool = False
    last_scrape_ms: int | None = None
    last_duration_s: float | None = None
    last_error: str | None = None
    samples: int = 0
    parser: PromTextParser = field(default_factory=PromTextParser, repr=False)
    normaliser: Normaliser | None = field(default=None, repr=False)

    def view(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "tags": self.tags,
            "health": "up" if self.up else "down",
            "last_scrape_ms": self.last_scrape_ms,
            "last_duration_s": self.last_duration_s,
            "last_error": self.last_error,
            "samples": self.samples,
        }


class Scraper:
    def __init__(
        self,
        targets: Callable[[], list[Target]],
        write_queue: WriteQueue,
        registry: CollectorRegistry,
        *,
        step_ms: int,
        interval_ms: int | None = None,
        timeout_s: float = 5.0,
        concurrency: int = 32,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._targets = targets
        self._write_queue = write_queue
        self._step_ms = step_ms
        # Several scrapes a step are fine: the normaliser spreads counters and keeps the
        # last gauge. Default: one scrape at each step boundary.
        self._interval_ms = interval_ms or step_ms
        self._timeout_s = timeout_s
        self._slots = asyncio.Semaphore(concurrency)
        self._clock = clock
        self._transport = transport
        self.health: dict[str, TargetHealth] = {}
        self._failures = Counter(
            "watchfloor_scrape_failures", "Failed scrapes, by target.", ["target"], registry=registry
        )
        self._samples = Counter(
            "watchfloor_scrape_samples", "Samples read from good scrapes, all targets.", registry=registry
        )
        self._duration = Histogram(
            "watchfloor_scrape_cycle_seconds", "Time to scrape every target once.", registry=registry
        )

    async def run(self) -> None:
        """Scrape at every interval boundary until cancelled."""
        async with httpx.AsyncClient(
            transport=self._transport, timeout=self._timeout_s, headers={"Accept": ACCEPT}
        ) as client:
            while True:
                interval_s = self._interval_ms / 1000
                await asyncio.sleep(interval_s - (self._clock() % interval_s))
                with self._duration.time():
                    await self.scrape_once(client)

    async def scrape_once(self, client: httpx.AsyncClient) -> PointColumns:
        """Scrape every current target once and submit what it yields; answers the points."""
        targets = {t.url: t for t in self._targets()}
        for url in list(self.health):
            if url not in targets:  # gone from configuration: stop tracking it
                del self.health[url]
        for url, target in targets.items():
            if url not in self.health:
                self.health[url] = TargetHealth(url, target.tags)
        results = await asyncio.gather(*(self._scrape(client, self.health[url]) for url in targets))
        points = PointColumns()
        for batch in results:
            points.extend(batch)
        try:
            await asyncio.wrap_future(self._write_queue.submit("datapoints", points))
        except QueueFull:
            _log.warning("write queue full: dropped %d scraped points", len(points))
        return points

    async def _scrape(self, client: httpx.AsyncClient, health: TargetHealth) -> PointColumns:
        if health.normaliser is None:
            health.normaliser = Normaliser(self._step_ms, health.tags)
        normaliser = health.normaliser
        scraped_at = int(self._clock() * 1000)
        started = time.perf_counter()
        error: str | None = None
        text = ""
        async with self._slots:
            try:
                answer = await client.get(health.url)
                if answer.status_code != 200:
                    error = f"HTTP {answer.status_code}"
                else:
                    text = answer.text
            except httpx.HTTPError as failure:
                error = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
        points = PointColumns()
        if error is None:
            try:
                health.samples = await asyncio.to_thread(
                    _ingest, health.parser, normaliser, text, scraped_at, points
                )
            except PromTextError as garbage:
                error = f"unparseable exposition: {garbage}"
        duration = time.perf_counter() - started
        health.up, health.last_error = error is None, error
        health.last_scrape_ms, health.last_duration_s = scraped_at, round(duration, 4)
        if error is not None:
            health.samples = 0
            self._failures.labels(health.url).inc()
        else:
            self._samples.inc(health.samples)
        gauges = normaliser.record_scrape(
            scraped_at, up=error is None, duration_s=duration, samples=health.samples
        )
        points.extend(gauges)
        return points


def _ingest(parser: PromTextParser, normaliser: Normaliser, text: str, at_ms: int, out: PointColumns) -> int:
    """Parse and normalise one exposition into ``out`` (nothing if it does not parse); answers its samples."""
    scrape = parser.parse_columns(text)
    normaliser.ingest_columns(scrape, at_ms, out)
    return len(scrape.values)
