"""Span-derived RED series: rates per step, timer statistics, cumulative buckets, late spans."""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress

import pytest
from prometheus_client import CollectorRegistry

from collectors.span_metrics import SpanMetrics
from store.model import STATUS_ERROR, Span

STEP = 10_000
T0 = 1_800_000_000_000


def _span(end_ms: int, duration_ms: float, *, status: int = 0, cluster: str = "drm-v1") -> Span:
    end_ns = end_ms * 1_000_000
    return Span(
        "a" * 32,
        "b" * 16,
        "",
        "POST /license",
        2,
        end_ns - int(duration_ms * 1e6),
        end_ns,
        "drm",
        status,
        resource={"nf.cluster": cluster},
    )


def _metrics(**options) -> SpanMetrics:
    """Span metrics whose clock reads T0 (the spans here end around it)."""
    return SpanMetrics(STEP, clock=lambda: T0 / 1000, **options)


def _by(points, **tags):
    return {p.timestamp_ms: p.value for p in points if all(p.tags.get(k) == v for k, v in tags.items())}


def test_calls_and_durations_become_rates_and_a_timer_per_step():
    metrics = _metrics()
    metrics.observe([_span(T0 + 1_000, 20), _span(T0 + 2_000, 40), _span(T0 + 12_000, 300)])
    points = metrics.flush(T0 + 3 * STEP)
    assert _by(points, name="span.calls") == {T0 + STEP: 0.2, T0 + 2 * STEP: 0.1}
    assert _by(points, name="span.duration", statistic="totalTime")[T0 + STEP] == (0.02 + 0.04) / 10
    assert _by(points, name="span.duration", statistic="max")[T0 + STEP] == 0.04
    [point] = [p for p in points if p.tags.get("le") == "0.025" and p.timestamp_ms == T0 + STEP]
    assert point.value == 0.1  # one of the two spans took under 25 ms
    assert _by(points, le="+Inf")[T0 + STEP] == 0.2, "buckets are cumulative"
    assert point.tags["nf.app"] == "drm" and point.tags["nf.cluster"] == "drm-v1"
    assert point.tags["span.kind"] == "server" and point.tags["span.name"] == "POST /license"


def test_errors_and_clusters_are_separate_series():
    metrics = _metrics()
    metrics.observe(
        [
            _span(T0 + 1_000, 5),
            _span(T0 + 1_000, 5, status=STATUS_ERROR),
            _span(T0 + 1_000, 5, cluster="drm-v2-canary"),
        ]
    )
    points = metrics.flush(T0 + 2 * STEP)
    calls = [p for p in points if p.tags["name"] == "span.calls"]
    assert sorted((p.tags["nf.cluster"], p.tags["status.code"]) for p in calls) == [
        ("drm-v1", "error"),
        ("drm-v1", "unset"),
        ("drm-v2-canary", "unset"),
    ]


def test_a_bucket_is_emitted_once_and_only_after_a_step_of_grace():
    metrics = _metrics()
    metrics.observe([_span(T0 + 1_000, 5)])
    assert metrics.flush(T0 + STEP + 5_000) == []  # the bucket ending at T0+STEP may still get spans
    first = metrics.flush(T0 + 2 * STEP)
    assert _by(first, name="span.calls") == {T0 + STEP: 0.1}
    assert metrics.flush(T0 + 3 * STEP) == []


def test_a_span_arriving_after_its_bucket_was_emitted_counts_in_the_oldest_open_bucket():
    metrics = _metrics()
    metrics.flush(T0 + 3 * STEP)  # everything up to T0 + 2 steps is closed
    metrics.observe([_span(T0 + 1_000, 5)])
    points = metrics.flush(T0 + 4 * STEP)
    assert _by(points, name="span.calls") == {T0 + 3 * STEP: 0.1}


def _named(name: str, end_ms: int = T0 + 1_000, service: str = "drm") -> Span:
    end_ns = end_ms * 1_000_000
    return Span("a" * 32, "b" * 16, "", name, 2, end_ns - 5_000_000, end_ns, service)


def test_a_span_ending_far_in_the_future_is_dropped_and_counted_not_bucketed():
    registry = CollectorRegistry()
    metrics = _metrics(registry=registry, max_future_steps=3)
    far = 10**15  # milliseconds: year 33658
    metrics.observe([_span(T0 + 1_000, 5), _span(far, 5), _span(T0 + 3 * STEP, 5), _span(T0 + 4 * STEP, 5)])
    assert metrics.dropped_future == 2  # the last ends 4 steps ahead of the clock, one too many
    assert registry.get_sample_value("watchfloor_span_metrics_dropped_spans_total", {"reason": "future"}) == 2
    assert len(metrics._open) == 2  # T0+1 step and T0+3 steps: no bucket far ahead
    points = metrics.flush(T0 + 5 * STEP)
    assert _by(points, name="span.calls") == {T0 + STEP: 0.1, T0 + 3 * STEP: 0.1}


def test_over_the_key_cap_new_operations_count_as_other_and_past_its_room_are_dropped():
    registry = CollectorRegistry()
    metrics = _metrics(registry=registry, max_keys=10)  # room for 1 "other" key beyond the 10
    metrics.observe([_named(f"GET /item/{n}") for n in range(15)])
    metrics.observe([_named("GET /item/0"), _named("GET /item/14")])  # one known, one collapsed again
    metrics.observe([_named("GET /x", service="catalog")])  # a second "other" key: no room for it
    assert (metrics.collapsed, metrics.dropped_overflow) == (6, 1)
    assert registry.get_sample_value("watchfloor_span_metrics_other_spans_total") == 6
    assert registry.get_sample_value("watchfloor_span_metrics_dropped_spans_total", {"reason": "keys"}) == 1
    calls = _by_name(metrics.flush(T0 + 2 * STEP))
    assert len(calls) == 11
    assert calls["other"] == pytest.approx(0.6) and calls["GET /item/0"] == 0.2
    # Once those buckets are emitted the cap starts over: a new operation gets its own series.
    metrics.observe([_named("GET /new", end_ms=T0 + STEP + 1_000)])
    assert _by_name(metrics.flush(T0 + 3 * STEP)) == {"GET /new": 0.1}
    assert set(metrics._tags) == {("drm", "GET /new", "server", "unset", "")}  # the cache let the rest go


def _by_name(points) -> dict[str, float]:
    return {p.tags["span.name"]: p.value for p in points if p.tags["name"] == "span.calls"}


def test_the_server_flush_loop_survives_a_failing_step(tmp_path):
    from console.api.app import Server
    from console.config import ServerConfig

    step_s = 1.0
    server = Server(
        ServerConfig(data_dir=tmp_path, step_ms=1_000), clock=lambda: 1_800_000_000 - 0.001
    )  # each wait is 0.051 s
    flushes = {"n": 0}

    def flush(now_ms: int) -> list:
        flushes["n"] += 1
        if flushes["n"] == 1:
            raise RuntimeError("a bad step")
        return []

    server.span_metrics.flush = flush  # type: ignore[method-assign]

    async def scenario() -> None:
        task = asyncio.create_task(server._flush_span_metrics())
        deadline = time.monotonic() + 15
        while flushes["n"] < 3:
            assert not task.done(), "the flush loop ended"
            assert time.monotonic() < deadline, "timed out waiting for later steps"
            await asyncio.sleep(step_s / 100)
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(scenario())
    finally:
        server.store.close()
    assert flushes["n"] >= 3
