"""A canary started with a built-in regression differs measurably from its baseline."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from statistics import mean

import pytest
from scipy.stats import mannwhitneyu

from sample_services.catalog import DEVICE_DRM, POPULARITY
from sample_services.chaos import Fault
from tests.support.fleet import RunningFleet, start_fleet
from tests.support.load import timed_posts_to
from tests.support.metrics import scrape, value

REQUESTS = 300
REGRESSION = Fault(latency_ms=40.0, error_rate=0.05)


@pytest.fixture(scope="module")
def drm_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFleet]:
    running = start_fleet(
        Path(tmp_path_factory.mktemp("canary")),
        otlp_endpoint=None,
        bulk_url=None,
        apps=("drm",),
        regressions={"drm": REGRESSION},
    )
    yield running
    running.stop()


def _drive(baseline: str, canary: str, rng: random.Random) -> tuple[list[float], int, list[float], int]:
    """The same requests to both instances, interleaved so machine load falls on both alike."""
    bodies = []
    for _ in range(REQUESTS):
        device = rng.choice(list(DEVICE_DRM))
        bodies.append({"system": DEVICE_DRM[device][0], "title_id": rng.choice(POPULARITY), "device": device})
    posts = [(f"{url}/license", body) for body in bodies for url in (baseline, canary)]
    results = timed_posts_to(posts, concurrency=8)
    base, canary_results = results[0::2], results[1::2]
    return (
        [took for _, took in base],
        sum(status >= 500 for status, _ in base),
        [took for _, took in canary_results],
        sum(status >= 500 for status, _ in canary_results),
    )


def _summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    return f"n={len(ordered)} p50={ordered[len(ordered) // 2] * 1000:.1f}ms mean={mean(ordered) * 1000:.1f}ms"


def test_the_canary_is_slower_and_fails_more_than_its_baseline(drm_pair):
    baseline, canary = drm_pair.url("drm-v1"), drm_pair.url("drm-v2-canary")
    base_latency, base_errors, canary_latency, canary_errors = _drive(baseline, canary, random.Random(1))
    seen = f"baseline {_summary(base_latency)}, canary {_summary(canary_latency)}"

    # Client-side: the canary's latencies are stochastically larger (one-sided Mann-Whitney U).
    test = mannwhitneyu(canary_latency, base_latency, alternative="greater")
    assert test.pvalue < 1e-6, f"{test}; {seen}"
    # 5% of 300 requests: P(no failure at all) = 0.95**300 ≈ 2e-7.
    assert base_errors == 0, seen
    assert canary_errors > 0, seen

    # Server-side, as a scraper will see it: mean latency and 5xx counts from /metrics.
    def mean_latency(url: str) -> float:
        samples = scrape(url)
        total = value(samples, "http_server_request_duration_seconds_sum", route="/license")
        return total / value(samples, "http_server_request_duration_seconds_count", route="/license")

    # The regression adds 40 ms on average.
    base_mean, canary_mean = mean_latency(baseline), mean_latency(canary)
    server_side = f"server-side means: baseline {base_mean:.4f}s, canary {canary_mean:.4f}s"
    assert canary_mean - base_mean > 0.02, f"{server_side}; {seen}"
    assert (
        value(scrape(canary), "http_server_requests_total", route="/license", status_class="5xx")
        == canary_errors
    )
    assert value(scrape(baseline), "http_server_requests_total", route="/license", status_class="5xx") == 0
