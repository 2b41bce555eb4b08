"""The scrape loop: fetch every target's ``/metrics`` each step, normalise, hand to the store.

Targets come from configuration and from the fleet map. One failing target (down, slow,
trickling, serving garbage or too much of it, a URL that cannot be fetched at all) only
sets its own ``up`` to 0 with the reason; the others keep flowing. Each fetch has a whole
deadline of ``timeout_s`` (httpx's own timeout applies to each read, so a target sending a
byte now and then would hold a round up indefinitely) and its body a cap of
``max_body_bytes``. The loop logs whatever goes wrong in a round and carries on.
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
from collectors.urls import redact_url
from collectors.write_queue import QueueFull, WriteQueue

_log = logging.getLogger(__name__)
ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"  # the classic format: cheaper to parse than OpenMetrics
MAX_BODY_BYTES = 64 * 1024 * 1024
_FLEET_KEYS = ("url", "app", "cluster", "instance")


class _ScrapeFailed(Exception):
    """A target answered, but not with an exposition to read; the message is its ``last_error``."""


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
        entries = list(instances)
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        _log.warning("fleet map %s is unreadable; skipping it this round", path)
        return []
    targets = []
    for n, i in enumerate(entries):
        if not isinstance(i, dict) or not all(isinstance(i.get(key), str) for key in _FLEET_KEYS):
            _log.warning(
                "fleet map %s: instance %d lacks one of %s; skipping it", path, n, ", ".join(_FLEET_KEYS)
            )
            continue
        tags = {"nf.app": i["app"], "nf.cluster": i["cluster"], "nf.node": i["instance"]}
        targets.append(Target(f"{i['url']}/metrics", tags))
    return targets


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
        max_body_bytes: int = MAX_BODY_BYTES,
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
        self._max_body_bytes = max_body_bytes
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
        """Scrape at every interval boundary until cancelled; a round that fails is logged, not fatal."""
        async with httpx.AsyncClient(
            transport=self._transport, timeout=self._timeout_s, headers={"Accept": ACCEPT}
        ) as client:
            while True:
                interval_s = self._interval_ms / 1000
                await asyncio.sleep(interval_s - (self._clock() % interval_s))
                try:
                    with self._duration.time():
                        await self.scrape_once(client)
                except Exception:
                    _log.exception("a scrape round failed; the next one runs as usual")

    async def scrape_once(self, client: httpx.AsyncClient) -> PointColumns:
        """Scrape every current target once and submit what it yields; answers the points.

        A failed commit is logged, not raised: the next round goes on.
        """
        targets = {t.url: t for t in self._targets()}
        for url in list(self.health):
            if url not in targets:  # gone from configuration: stop tracking it
                del self.health[url]
        for url, target in targets.items():
            if url not in self.health:
                self.health[url] = TargetHealth(url, target.tags)
        results = await asyncio.gather(
            *(self._scrape(client, self.health[url]) for url in targets), return_exceptions=True
        )
        points = PointColumns()
        for url, batch in zip(targets, results, strict=True):
            if isinstance(batch, BaseException):
                if not isinstance(batch, Exception):  # cancellation and the like go on up
                    raise batch
                _log.error("scraping %s failed", url, exc_info=(type(batch), batch, batch.__traceback__))
                continue
            points.extend(batch)
        try:
            await asyncio.wrap_future(self._write_queue.submit("datapoints", points))
        except QueueFull:
            _log.warning("write queue full: dropped %d scraped points", len(points))
        except Exception:  # logged by the write queue too; the next round goes on
            _log.exception("committing %d scraped points failed", len(points))
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
                async with asyncio.timeout(self._timeout_s):
                    text = await self._fetch(client, health.url)
            except _ScrapeFailed as failed:
                error = str(failed)
            except TimeoutError:
                error = f"TimeoutError: no whole answer within {self._timeout_s:g} s"
            except httpx.HTTPError as failure:
                error = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
            except Exception as failure:  # an unfetchable URL (port 99999) and the like
                error = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
        points = PointColumns()
        if error is None:
            try:
                health.samples = await asyncio.to_thread(
                    _ingest, health.parser, normaliser, text, scraped_at, points
                )
            except PromTextError as garbage:
                error = f"unparseable exposition: {garbage}"
            except Exception as failure:
                _log.exception("reading the exposition of %s failed", health.url)
                error = f"reading the exposition failed: {type(failure).__name__}"
                points = PointColumns()  # whatever was half added
        duration = time.perf_counter() - started
        health.up, health.last_error = error is None, error
        health.last_scrape_ms, health.last_duration_s = scraped_at, round(duration, 4)
        if error is not None:
            health.samples = 0
            self._failures.labels(redact_url(health.url)).inc()
        else:
            self._samples.inc(health.samples)
        gauges = normaliser.record_scrape(
            scraped_at, up=error is None, duration_s=duration, samples=health.samples
        )
        points.extend(gauges)
        return points

    async def _fetch(self, client: httpx.AsyncClient, url: str) -> str:
        """The exposition at ``url``, read up to the byte cap; raises _ScrapeFailed or httpx's errors."""
        limit = self._max_body_bytes
        async with client.stream("GET", url) as answer:
            if answer.status_code != 200:
                raise _ScrapeFailed(f"HTTP {answer.status_code}")
            declared = answer.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise _ScrapeFailed(f"body over {limit} bytes")
            chunks: list[bytes] = []
            size = 0
            async for chunk in answer.aiter_bytes():  # decompressed: the cap holds for gzip too
                size += len(chunk)
                if size > limit:
                    raise _ScrapeFailed(f"body over {limit} bytes")
                chunks.append(chunk)
            encoding = answer.encoding or "utf-8"
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return body.decode(encoding, errors="replace")


def _ingest(parser: PromTextParser, normaliser: Normaliser, text: str, at_ms: int, out: PointColumns) -> int:
    """Parse and normalise one exposition into ``out`` (nothing if it does not parse); answers its samples."""
    scrape = parser.parse_columns(text)
    normaliser.ingest_columns(scrape, at_ms, out)
    return len(scrape.values)
