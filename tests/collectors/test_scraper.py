"""The scraper over real loopback targets: rates in the store, up/down with reasons, vanished series."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Iterator
from contextlib import suppress

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, make_asgi_app
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route

from collectors.scraper import Scraper, Target, fleet_targets
from collectors.write_queue import WriteQueue
from sample_services.serving import ServerThread
from store.duckdb_store import DuckDBStore
from store.tag_query import And, Eq, TagQuery

STEP_MS = 10_000
T0 = 1_800_000_000.0  # seconds, a multiple of the step


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Exporter:
    """A real prometheus_client exposition on loopback, like any instrumented service."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("http_requests", "Requests.", ["status"], registry=self.registry)
        self.latency = Histogram(
            "http_latency_seconds", "Latency.", buckets=(0.1, 0.5), registry=self.registry
        )
        for status in ("200", "500"):  # exposed at 0 from the start, as services do
            self.requests.labels(status)
        self.thread = ServerThread()
        # Mounted in Starlette: prometheus_client's ASGI app does not speak the lifespan protocol.
        self.url = self.thread.start(Starlette(routes=[Mount("/", make_asgi_app(self.registry))]))


def _serve(app) -> tuple[ServerThread, str]:
    thread = ServerThread()
    return thread, thread.start(app)


@pytest.fixture
def store(tmp_path) -> Iterator[DuckDBStore]:
    opened = DuckDBStore(tmp_path / "scrape.duckdb")
    yield opened
    opened.close()


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    running = Exporter()
    yield running
    running.thread.stop()


def _scraper(store: DuckDBStore, targets: list[Target], clock: Clock, registry=None, **kwargs):
    registry = registry or CollectorRegistry()
    queue = WriteQueue(store, registry)
    queue.start()
    kwargs.setdefault("timeout_s", 2.0)
    scraper = Scraper(lambda: targets, queue, registry, step_ms=STEP_MS, clock=clock, **kwargs)
    return scraper, queue, registry


def _rounds(scraper: Scraper, clock: Clock, times: list[float], between=None) -> None:
    async def go() -> None:
        async with httpx.AsyncClient(timeout=2.0) as client:
            for n, at in enumerate(times):
                clock.now = at
                if between is not None:
                    between(n)
                await scraper.scrape_once(client)

    asyncio.run(go())


def _values(store: DuckDBStore, *terms: tuple[str, str], start: float = T0, steps: int = 4) -> list[float]:
    query: TagQuery = Eq(*terms[0])
    for term in terms[1:]:
        query = And(query, Eq(*term))
    [series] = store.series(query, int(start * 1000), int(start * 1000) + steps * STEP_MS, STEP_MS)
    return list(series.values)


def test_counter_rates_in_the_store_match_the_requests_made(store, exporter):
    tags = {"nf.app": "cdn", "nf.cluster": "cdn-v1", "nf.node": "cdn-v1-0"}
    clock = Clock(T0)
    scraper, queue, _ = _scraper(store, [Target(f"{exporter.url}/", tags)], clock)

    def traffic(round_number: int) -> None:
        if round_number > 0:  # 50 ok and 10 failed requests in each 10 s step
            exporter.requests.labels("200").inc(50)
            exporter.requests.labels("500").inc(10)
            for _ in range(20):
                exporter.latency.observe(0.3)

    _rounds(scraper, clock, [T0 + 10 * n for n in range(4)], traffic)
    queue.close()
    ok = _values(store, ("name", "http_requests"), ("status", "200"), ("nf.cluster", "cdn-v1"))
    assert ok[:3] == [5.0, 5.0, 5.0]  # 50 per 10 s
    failed = _values(store, ("name", "http_requests"), ("status", "500"))
    assert failed[:3] == [1.0, 1.0, 1.0]
    [count] = [
        _values(store, ("name", "http_latency_seconds"), ("statistic", "count"))[1],
    ]
    assert count == 2.0
    total = _values(store, ("name", "http_latency_seconds"), ("statistic", "totalTime"))[1]
    assert total == pytest.approx(0.6)
    under_half = _values(store, ("name", "http_latency_seconds"), ("statistic", "percentile"), ("le", "0.5"))
    under_tenth = _values(store, ("name", "http_latency_seconds"), ("statistic", "percentile"), ("le", "0.1"))
    assert under_half[1] == 2.0 and under_tenth[1] == 0.0
    up = _values(store, ("name", "up"), ("nf.node", "cdn-v1-0"))
    assert up[:3] == [1.0, 1.0, 1.0]  # scrapes at T0+10 … T0+30; nothing scraped T0+40 yet
    assert math.isnan(up[3])


def test_a_down_target_and_a_garbage_target_are_down_with_reasons_and_the_good_one_keeps_flowing(
    store, exporter
):
    garbage_thread, garbage_url = _serve(
        Starlette(routes=[Route("/metrics", lambda _: PlainTextResponse("this is { not prometheus\n"))])
    )
    dead = ServerThread()  # bound, then closed: connection refused
    dead_url = dead.url
    dead.stop()
    targets = [
        Target(f"{exporter.url}/", {"nf.app": "good", "nf.node": "good-0"}),
        Target(f"{garbage_url}/metrics", {"nf.app": "garbage", "nf.node": "garbage-0"}),
        Target(f"{dead_url}/metrics", {"nf.app": "dead", "nf.node": "dead-0"}),
        Target(f"{garbage_url}/nowhere", {"nf.app": "missing", "nf.node": "missing-0"}),
    ]
    clock = Clock(T0)
    scraper, queue, registry = _scraper(store, targets, clock)
    try:
        _rounds(scraper, clock, [T0 + 10, T0 + 20], lambda n: exporter.requests.labels("200").inc(30))
    finally:
        queue.close()
        garbage_thread.stop()
    health = {h.tags["nf.app"]: h for h in scraper.health.values()}
    assert health["good"].up and health["good"].last_error is None and health["good"].samples > 0
    assert not health["garbage"].up and "unparseable exposition: line 1" in (
        health["garbage"].last_error or ""
    )
    assert not health["dead"].up and "ConnectError" in (health["dead"].last_error or "")
    assert not health["missing"].up and health["missing"].last_error == "HTTP 404"
    for app in ("garbage", "dead", "missing"):
        assert _values(store, ("name", "up"), ("nf.app", app), start=T0, steps=2) == [0.0, 0.0]
        assert registry.get_sample_value("watchfloor_scrape_failures_total", {"target": health[app].url}) == 2
    assert _values(store, ("name", "up"), ("nf.app", "good"), start=T0, steps=2) == [1.0, 1.0]
    assert _values(store, ("name", "http_requests"), ("nf.app", "good"), ("status", "200"), steps=2)[1] == 3.0
    samples = _values(store, ("name", "scrape_samples_scraped"), ("nf.app", "good"), start=T0, steps=2)
    assert samples[1] == health["good"].samples
    assert registry.get_sample_value("watchfloor_scrape_samples_total") == 2 * health["good"].samples


def test_a_slow_target_times_out_without_holding_up_the_others(store, exporter):
    async def slow(_):
        await asyncio.sleep(5)
        return PlainTextResponse("late 1\n")

    slow_thread, slow_url = _serve(Starlette(routes=[Route("/metrics", slow)]))
    targets = [
        Target(f"{slow_url}/metrics", {"nf.app": "slow"}),
        Target(f"{exporter.url}/", {"nf.app": "good"}),
    ]
    clock = Clock(T0 + 10)
    registry = CollectorRegistry()
    queue = WriteQueue(store, registry)
    queue.start()
    scraper = Scraper(lambda: targets, queue, registry, step_ms=STEP_MS, clock=clock, timeout_s=0.5)
    try:
        _rounds(scraper, clock, [T0 + 10])
    finally:
        queue.close()
        slow_thread.stop()
    health = {h.tags["nf.app"]: h for h in scraper.health.values()}
    assert not health["slow"].up and "Timeout" in (health["slow"].last_error or "")
    assert health["good"].up


def test_a_series_that_disappears_goes_to_nan_instead_of_repeating(store):
    exposition = {"text": '# TYPE queue_depth gauge\nqueue_depth{queue="a"} 7\nqueue_depth{queue="b"} 3\n'}
    thread, url = _serve(
        Starlette(routes=[Route("/metrics", lambda _: PlainTextResponse(exposition["text"]))])
    )
    clock = Clock(T0)
    scraper, queue, _ = _scraper(store, [Target(f"{url}/metrics", {"nf.app": "encoding"})], clock)

    def drop_b(round_number: int) -> None:
        if round_number == 2:
            exposition["text"] = '# TYPE queue_depth gauge\nqueue_depth{queue="a"} 8\n'

    try:
        _rounds(scraper, clock, [T0 + 10 * n for n in range(1, 5)], drop_b)
    finally:
        queue.close()
        thread.stop()
    b = _values(store, ("name", "queue_depth"), ("queue", "b"))
    assert b[:2] == [3.0, 3.0] and all(math.isnan(v) for v in b[2:])
    assert _values(store, ("name", "queue_depth"), ("queue", "a")) == [7.0, 7.0, 8.0, 8.0]


def test_targets_removed_from_configuration_stop_being_tracked(store, exporter):
    targets = [Target(f"{exporter.url}/", {"nf.app": "a"})]
    clock = Clock(T0)
    registry = CollectorRegistry()
    queue = WriteQueue(store, registry)
    queue.start()
    scraper = Scraper(lambda: list(targets), queue, registry, step_ms=STEP_MS, clock=clock)
    try:
        _rounds(scraper, clock, [T0 + 10])
        assert len(scraper.health) == 1
        targets.clear()
        _rounds(scraper, clock, [T0 + 20])
        assert scraper.health == {}
    finally:
        queue.close()


def test_several_scrapes_a_step_still_give_one_rate_per_step(store, exporter):
    # The rounds are driven by hand every 2.5 s (what scrape_interval_ms=2500 does in run()).
    clock = Clock(T0)
    scraper, queue, _ = _scraper(store, [Target(f"{exporter.url}/", {"nf.app": "cdn"})], clock)

    def traffic(round_number: int) -> None:
        if round_number > 0:
            exporter.requests.labels("200").inc(5)  # 5 per 2.5 s scrape: 2 per second

    _rounds(scraper, clock, [T0 + 2.5 * n for n in range(13)], traffic)
    queue.close()
    assert _values(store, ("name", "http_requests"), ("status", "200"), steps=3) == [2.0, 2.0, 2.0]


def test_a_target_trickling_its_answer_is_cut_off_at_the_timeout_as_a_whole(store, exporter):
    async def trickle(_):
        async def drip():
            for _ in range(100):  # 20 s in all; each read comes well within httpx's read timeout
                yield b"#\n"
                await asyncio.sleep(0.2)

        return StreamingResponse(drip(), media_type="text/plain")

    trickle_thread, trickle_url = _serve(Starlette(routes=[Route("/metrics", trickle)]))
    targets = [
        Target(f"{trickle_url}/metrics", {"nf.app": "trickle"}),
        Target(f"{exporter.url}/", {"nf.app": "good"}),
    ]
    clock = Clock(T0 + 10)
    scraper, queue, _ = _scraper(store, targets, clock, timeout_s=1.0)
    try:
        _rounds(scraper, clock, [T0 + 10])
    finally:
        queue.close()
        trickle_thread.stop()
    health = {h.tags["nf.app"]: h for h in scraper.health.values()}
    assert not health["trickle"].up and "TimeoutError" in (health["trickle"].last_error or "")
    assert health["good"].up


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_cap_marks_only_that_target_down(store, exporter, chunked):
    big = "# TYPE big gauge\n" + "".join(f'big{{n="{n}"}} 1\n' for n in range(200))

    async def serve_big(_):
        if chunked:
            return StreamingResponse(
                iter([big[:1000].encode(), big[1000:].encode()]), media_type="text/plain"
            )
        return PlainTextResponse(big)

    thread, url = _serve(Starlette(routes=[Route("/metrics", serve_big)]))
    targets = [Target(f"{url}/metrics", {"nf.app": "big"}), Target(f"{exporter.url}/", {"nf.app": "good"})]
    clock = Clock(T0 + 10)
    scraper, queue, _ = _scraper(store, targets, clock, max_body_bytes=2_000)
    try:
        _rounds(scraper, clock, [T0 + 10])
    finally:
        queue.close()
        thread.stop()
    assert len(big) > 2_000
    health = {h.tags["nf.app"]: h for h in scraper.health.values()}
    assert not health["big"].up and health["big"].last_error == "body over 2000 bytes"
    assert health["good"].up


def test_a_url_that_cannot_be_fetched_at_all_marks_only_that_target_down(store, exporter):
    targets = [
        Target("http://127.0.0.1:99999/metrics", {"nf.app": "bad-port"}),
        Target(f"{exporter.url}/", {"nf.app": "good"}),
    ]
    clock = Clock(T0 + 10)
    scraper, queue, _ = _scraper(store, targets, clock)
    try:
        _rounds(scraper, clock, [T0 + 10])
    finally:
        queue.close()
    health = {h.tags["nf.app"]: h for h in scraper.health.values()}
    assert not health["bad-port"].up and health["bad-port"].last_error
    assert health["good"].up
    assert _values(store, ("name", "up"), ("nf.app", "bad-port"), start=T0, steps=1) == [0.0]


def test_a_failed_commit_is_logged_and_the_round_still_answers(store, exporter, caplog):
    clock = Clock(T0 + 10)
    scraper, queue, _ = _scraper(store, [Target(f"{exporter.url}/", {"nf.app": "good"})], clock)

    def broken(points):
        raise OSError("disk full")

    queue._writers["datapoints"] = broken

    async def go() -> int:
        async with httpx.AsyncClient() as client:
            return len(await scraper.scrape_once(client))

    try:
        with caplog.at_level(logging.ERROR, logger="collectors.scraper"):
            assert asyncio.run(go()) > 0
    finally:
        queue.close()
    assert "committing" in caplog.text and "scraped points failed" in caplog.text


def test_run_carries_on_after_a_round_that_fails(store):
    calls = {"n": 0}

    def targets() -> list[Target]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the configuration could not be read")
        return []

    registry = CollectorRegistry()
    queue = WriteQueue(store, registry)
    queue.start()
    scraper = Scraper(targets, queue, registry, step_ms=STEP_MS, interval_ms=20, clock=time.time)

    async def scenario() -> None:
        task = asyncio.create_task(scraper.run())
        deadline = time.monotonic() + 15
        while calls["n"] < 3:
            assert not task.done(), "run() ended"
            assert time.monotonic() < deadline, "timed out waiting for later rounds"
            await asyncio.sleep(0.01)
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(scenario())
    finally:
        queue.close()
    assert calls["n"] >= 3


def test_a_fleet_map_entry_without_a_url_is_skipped_not_the_whole_map(tmp_path):
    fleet = tmp_path / "fleet.json"
    good = {"url": "http://127.0.0.1:8001", "app": "cdn", "cluster": "cdn-v1", "instance": "cdn-v1-0"}
    fleet.write_text(
        json.dumps({"instances": [{"app": "drm", "cluster": "drm-v1", "instance": "x"}, good, 7]})
    )
    assert fleet_targets(fleet) == [
        Target(
            "http://127.0.0.1:8001/metrics", {"nf.app": "cdn", "nf.cluster": "cdn-v1", "nf.node": "cdn-v1-0"}
        )
    ]
