"""Span-derived RED series: rates per step, timer statistics, cumulative buckets, late spans."""

from __future__ import annotations

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


def _by(points, **tags):
    return {p.timestamp_ms: p.value for p in points if all(p.tags.get(k) == v for k, v in tags.items())}


def test_calls_and_durations_become_rates_and_a_timer_per_step():
    metrics = SpanMetrics(STEP)
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
    metrics = SpanMetrics(STEP)
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
    metrics = SpanMetrics(STEP)
    metrics.observe([_span(T0 + 1_000, 5)])
    assert metrics.flush(T0 + STEP + 5_000) == []  # the bucket ending at T0+STEP may still get spans
    first = metrics.flush(T0 + 2 * STEP)
    assert _by(first, name="span.calls") == {T0 + STEP: 0.1}
    assert metrics.flush(T0 + 3 * STEP) == []


def test_a_span_arriving_after_its_bucket_was_emitted_counts_in_the_oldest_open_bucket():
    metrics = SpanMetrics(STEP)
    metrics.flush(T0 + 3 * STEP)  # everything up to T0 + 2 steps is closed
    metrics.observe([_span(T0 + 1_000, 5)])
    points = metrics.flush(T0 + 4 * STEP)
    assert _by(points, name="span.calls") == {T0 + 3 * STEP: 0.1}
