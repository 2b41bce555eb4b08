"""The Prometheus-API series reader against real engines: Debian's Prometheus and VictoriaMetrics.

Both scrape one ``prometheus_client`` exposition every second while a thread drives it at a
known pace: 20 license requests a second (each observed in a histogram), a gauge that holds
a set value. The reader must give the series the tags the embedded normaliser would, the
rate the counter really moves at, and the stack language must run over it unchanged.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from stacklang import evaluate
from stacklang.parsing import parse_query
from store.backends import prometheus_series
from store.backends.prometheus_http import PrometheusHTTP
from store.backends.prometheus_series import PrometheusSeriesReader
from store.backends.promql_text import duration
from store.interfaces import TooManySeries
from tests.support.expositions import serving
from tests.support.polling import eventually
from tests.support.ports import free_port
from tests.support.prometheus_engines import running_prometheus, running_victoria_metrics

RATE = 20.0  # license requests per second, 19 ok and 1 refused
STEP_MS = 5_000


@pytest.fixture(scope="module")
def exposition():
    registry = CollectorRegistry()
    requests = Counter("drm_license_requests", "License requests", ["outcome"], registry=registry)
    latency = Histogram(
        "drm_license_duration_seconds", "License latency", buckets=(0.01, 0.1, 1.0), registry=registry
    )
    Gauge("drm_keys_cached", "Keys in the cache", registry=registry).set(42)
    ticks = 0

    def drive() -> None:
        nonlocal ticks
        ticks += 1
        requests.labels("refused" if ticks % 20 == 0 else "ok").inc()
        latency.observe(0.05)

    with serving(registry, drive, every_s=0.05) as target:
        yield target


@pytest.fixture(scope="module", params=["prometheus", "victoria-metrics"])
def reader(request, exposition, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    starting = running_prometheus if request.param == "prometheus" else running_victoria_metrics
    with starting(folder, [exposition], free_port()) as url:
        client = PrometheusHTTP(url)
        reader = PrometheusSeriesReader(client, base_step_ms=1000, scrape_interval_ms=1000)
        # Enough history for several whole 5 s steps.
        eventually(lambda: client.query("drm_keys_cached", time.time()).samples, what="a first scrape")
        time.sleep(22)
        yield request.param, reader
        client.close()


def _window(steps: int = 3) -> tuple[int, int]:
    """The last ``steps`` whole steps that ended at least two scrapes ago."""
    end = (int(time.time() * 1000) - 2500) // STEP_MS * STEP_MS
    return end - steps * STEP_MS, end


def test_series_carry_the_tags_the_normaliser_would_give(reader):
    _, reader = reader
    start, end = _window()
    found = reader.series(parse_query("name,drm_license_duration_seconds,:eq"), start, end, STEP_MS)
    statistics = sorted((s.tags["statistic"], s.tags.get("le", "")) for s in found)
    assert statistics == [
        ("count", ""),
        ("percentile", "+Inf"),
        ("percentile", "0.01"),
        ("percentile", "0.1"),
        ("percentile", "1.0"),
        ("totalTime", ""),
    ]
    assert all(s.tags["name"] == "drm_license_duration_seconds" and "__name__" not in s.tags for s in found)
    [gauge] = reader.series(parse_query("name,drm_keys_cached,:eq"), start, end, STEP_MS)
    assert gauge.tags["statistic"] == "gauge"
    assert np.all(gauge.values == 42.0)


def test_counters_read_as_the_rate_they_move_at(reader):
    name, reader = reader
    start, end = _window()
    found = reader.series(
        parse_query("name,drm_license_requests,:eq,statistic,count,:eq,:and"), start, end, STEP_MS
    )
    assert sorted(s.tags["outcome"] for s in found) == ["ok", "refused"]
    total = sum(s.values for s in found)
    assert total.shape == (3,) and found[0].start_ms == start
    # A thread at 20/s drifts a little (sleeps run long); rate's edges add up to a scrape's worth.
    assert np.all(np.abs(total - RATE) < 0.25 * RATE), (name, total)
    # Every 20th request is refused.
    refused = next(s for s in found if s.tags["outcome"] == "refused").values
    assert np.all(np.abs(refused - RATE / 20) < 0.5), (name, refused)


def test_a_statistic_clause_selects_by_atlas_statistic_not_by_a_label(reader):
    _, reader = reader
    start, end = _window()
    [total_time] = reader.series(
        parse_query("name,drm_license_duration_seconds,:eq,statistic,totalTime,:eq,:and"), start, end, STEP_MS
    )
    [count] = reader.series(
        parse_query("name,drm_license_duration_seconds,:eq,statistic,count,:eq,:and"), start, end, STEP_MS
    )
    # Every observation is 50 ms: the mean is total time over count.
    assert np.allclose(total_time.values / count.values, 0.05)
    without_buckets = reader.series(
        parse_query("name,drm_license_duration_seconds,:eq,statistic,percentile,:eq,:not,:and"),
        start,
        end,
        STEP_MS,
    )
    assert sorted(s.tags["statistic"] for s in without_buckets) == ["count", "totalTime"]


def test_the_stack_language_runs_over_the_engine(reader):
    _, reader = reader
    start, end = _window()
    [ratio] = evaluate(
        "name,drm_license_requests,:eq,outcome,refused,:eq,:and,:sum,name,drm_license_requests,:eq,:sum,:div",
        reader,
        start,
        end,
        STEP_MS,
    )
    assert np.all(np.abs(ratio.values - 0.05) < 0.02), ratio.values
    [p50] = evaluate("name,drm_license_duration_seconds,:eq,(,50,),:percentiles", reader, start, end, STEP_MS)
    assert np.all((p50.values > 0.01) & (p50.values <= 0.1)), p50.values


def test_too_many_series_is_refused_before_reading(reader, monkeypatch):
    _, reader = reader
    start, end = _window()
    ranges: list[object] = []
    monkeypatch.setattr(reader.client, "query_range", lambda *asked: ranges.append(asked))
    with pytest.raises(TooManySeries) as caught:
        reader.series(parse_query("name,drm_license_duration_seconds,:eq"), start, end, STEP_MS, max_series=2)
    assert caught.value.found == 6
    assert ranges == []  # no sample was asked for


def test_wider_steps_consolidate_gauges_and_scale_summed_rates(reader):
    _, reader = reader
    start, end = _window(steps=2)
    query = parse_query("name,drm_license_requests,:eq,outcome,ok,:eq,:and")
    [mean] = reader.series(query, start, end, STEP_MS)
    [summed] = reader.series(query, start, end, STEP_MS, "sum")
    # sum consolidation adds the five 1-second rates in each 5-second step.
    assert np.allclose(summed.values, mean.values * 5)
    [maximum] = reader.series(parse_query("name,drm_keys_cached,:eq"), start, end, STEP_MS, "max")
    assert np.all(maximum.values == 42.0)
    # max and min take the extreme 1-second rate in each step (a subquery): rates, not counts.
    [fastest] = reader.series(query, start, end, STEP_MS, "max")
    [slowest] = reader.series(query, start, end, STEP_MS, "min")
    assert np.all(fastest.values >= slowest.values), (fastest.values, slowest.values)
    ok_rate = RATE * 19 / 20
    for extreme in (fastest.values, slowest.values):
        assert np.all(np.abs(extreme - ok_rate) < 0.35 * ok_rate), extreme


def test_tag_keys_and_values_are_atlas_names(reader):
    _, reader = reader
    keys = reader.tag_keys(parse_query("name,drm_license_requests,:eq"))
    assert {"name", "statistic", "outcome"} <= set(keys) and "__name__" not in keys
    assert reader.tag_values("outcome") == ["ok", "refused"]
    names = reader.tag_values("name", parse_query("name,drm_,:starts"))
    assert names == ["drm_keys_cached", "drm_license_duration_seconds", "drm_license_requests"]


def test_promql_series_land_on_the_store_grid(reader):
    _, reader = reader
    start, end = _window()
    [found] = reader.promql_series(
        f"sum(rate(drm_license_requests_total[{duration(STEP_MS)}]))", start + 1, end, STEP_MS
    )
    assert found.start_ms == start and found.values.shape == (3,)
    assert np.all(np.abs(found.values - RATE) < 0.25 * RATE), found.values
    assert reader.promql_series("vector(1)", start, start, STEP_MS) == []


def test_a_query_nothing_matches_reads_nothing(reader):
    _, reader = reader
    start, end = _window()
    assert reader.series(parse_query("name,no_such_metric,:eq"), start, end, STEP_MS) == []
    # A series that is listed but has no samples in some steps reads NaN there, not 0.
    [gauge] = reader.series(parse_query("name,drm_keys_cached,:eq"), start - 3_600_000, end, STEP_MS)
    assert math.isnan(gauge.values[0]) and gauge.values[-1] == 42.0


def test_long_reads_go_in_pieces_the_engine_accepts(reader, monkeypatch):
    _, reader = reader
    # Three steps: all the history the fixture guarantees (a fourth can begin before the first scrape).
    start, end = _window(steps=3)
    query = parse_query("name,drm_license_requests,:eq")
    whole = {s.tags["outcome"]: s.values for s in reader.series(query, start, end, STEP_MS)}
    # Prometheus refuses over 11,000 points a series; here the pieces are 2 steps long.
    monkeypatch.setattr(prometheus_series, "MAX_POINTS_PER_QUERY", 2)
    pieces = {s.tags["outcome"]: s.values for s in reader.series(query, start, end, STEP_MS)}
    assert whole.keys() == pieces.keys() == {"ok", "refused"}
    for outcome, values in whole.items():
        assert np.array_equal(values, pieces[outcome], equal_nan=True)
        assert np.isfinite(values).all()
