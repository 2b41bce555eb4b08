"""Canary metrics read per scope from a real DuckDB store: atlas, spans and logs queries."""

from __future__ import annotations

import math

import numpy as np
import pytest

from canary.config import MetricQuery
from canary.metric_source import FetchError, MetricSource
from canary.scopes import ScopeWindow
from collectors.span_metrics import SpanMetrics
from store.duckdb_store import DuckDBStore
from store.model import (
    SPAN_KIND_CLIENT,
    SPAN_KIND_SERVER,
    STATUS_ERROR,
    STATUS_UNSET,
    Datapoint,
    LogRecord,
    Span,
)

STEP = 10_000
T0 = 1_800_000_000_000  # a multiple of the step


@pytest.fixture
def store(tmp_path):
    opened = DuckDBStore(tmp_path / "canary.duckdb")
    yield opened
    opened.close()


def _scope(cluster: str, steps: int = 3) -> ScopeWindow:
    return ScopeWindow(cluster, T0, T0 + steps * STEP, STEP)


def test_an_atlas_query_is_read_once_per_scope_with_the_scope_added(store):
    points = []
    for i in range(1, 4):
        for cluster, value in (("drm-v1", 10.0 * i), ("drm-v2-canary", 100.0 * i)):
            tags = {"name": "requests", "nf.app": "drm", "nf.cluster": cluster, "statistic": "count"}
            points.append(Datapoint(tags, T0 + i * STEP, value))
    store.write_datapoints(points)
    source = MetricSource(store, store)
    query = MetricQuery("atlas", q="name,requests,:eq,:sum")
    [control] = source.fetch(query, _scope("drm-v1"))
    [experiment] = source.fetch(query, _scope("drm-v2-canary"))
    assert list(control.values) == [10.0, 20.0, 30.0]
    assert list(experiment.values) == [100.0, 200.0, 300.0]
    assert "nf.cluster" not in control.tags and control.tags["name"] == "requests"
    [nothing] = source.fetch(query, _scope("drm-v3"))
    assert np.isnan(nothing.values).all()


def test_a_grouped_atlas_query_gives_one_series_per_group(store):
    points = [
        Datapoint({"name": "r", "nf.cluster": "c1", "status": status}, T0 + STEP, value)
        for status, value in (("2xx", 5.0), ("5xx", 1.0))
    ]
    store.write_datapoints(points)
    found = MetricSource(store, store).fetch(
        MetricQuery("atlas", q="name,r,:eq,(,status,),:by"), _scope("c1", 1)
    )
    assert sorted((s.tags["status"], s.values[0]) for s in found) == [("2xx", 5.0), ("5xx", 1.0)]


def _span(
    cluster: str, ms: float, *, end_ms: int, status: int = STATUS_UNSET, name: str = "POST /license"
) -> Span:
    end_ns = end_ms * 1_000_000
    return Span(
        "a" * 32,
        f"{abs(hash((cluster, ms, end_ms, status))):016x}"[:16],
        "",
        name,
        SPAN_KIND_SERVER,
        end_ns - int(ms * 1_000_000),
        end_ns,
        "drm",
        status,
        resource={"nf.cluster": cluster},
    )


def _write_span_metrics(store: DuckDBStore, spans: list[Span]) -> None:
    metrics = SpanMetrics(STEP, clock=lambda: T0 / 1000)
    metrics.observe(spans)
    store.write_datapoints(metrics.flush(T0 + 100 * STEP))


def test_spans_queries_give_mean_latency_percentiles_and_error_rate_per_step(store):
    spans = [_span("drm-v1", 20.0, end_ms=T0 + 5_000 + i) for i in range(4)]
    spans += [_span("drm-v1", 40.0, end_ms=T0 + 15_000, status=STATUS_ERROR)]
    spans += [_span("drm-v1", 40.0, end_ms=T0 + 15_001)]
    client = _span("drm-v1", 900.0, end_ms=T0 + 5_000)
    spans.append(Span(**{**{f: getattr(client, f) for f in Span.__slots__}, "kind": SPAN_KIND_CLIENT}))
    _write_span_metrics(store, spans)
    source = MetricSource(store, store)
    scope = _scope("drm-v1", 3)

    def values(statistic: str, operation: str | None = None) -> list[float]:
        [series] = source.fetch(
            MetricQuery("spans", service="drm", operation=operation, statistic=statistic), scope
        )
        return list(series.values)

    # Without an operation the client span is left out; with one it counts.
    assert values("mean")[:2] == pytest.approx([0.020, 0.040])
    assert math.isnan(values("mean")[2])
    assert values("mean", "POST /license")[0] == pytest.approx((4 * 0.020 + 0.9) / 5)
    assert values("errorRate")[:2] == pytest.approx([0.0, 0.5])
    p99 = values("p99")
    assert 0.01 < p99[0] <= 0.025 and 0.025 < p99[1] <= 0.05  # inside the buckets holding them


def _log(ms: int, cluster: str, level: str = "error") -> LogRecord:
    document = {"message": "x", "labels": {"nf_cluster": cluster}}
    return LogRecord(ms * 1_000_000, level, "x", "drm", "", "", document, "logs-drm")


def test_a_logs_query_gives_lines_per_second_and_no_data_for_a_silent_scope(store):
    store.write_logs(
        [
            _log(T0 + 1_000, "drm-v2-canary"),
            _log(T0 + 2_000, "drm-v2-canary"),
            _log(T0 + 3_000, "drm-v1", "info"),
        ]
    )
    source = MetricSource(store, store)
    query = MetricQuery("logs", service="drm", level="error")
    [canary] = source.fetch(query, _scope("drm-v2-canary", 2))
    [baseline] = source.fetch(query, _scope("drm-v1", 2))
    [silent] = source.fetch(query, _scope("drm-v9", 2))
    assert list(canary.values) == [0.2, 0.0]
    assert list(baseline.values) == [0.0, 0.0]  # it logged, just no errors: a real zero
    assert np.isnan(silent.values).all()


def test_a_query_over_the_limits_is_a_fetch_error_not_a_crash(store):
    store.write_datapoints(
        [Datapoint({"name": "r", "nf.cluster": "c1", "node": str(n)}, T0 + STEP, 1.0) for n in range(5)]
    )
    from stacklang import Limits

    source = MetricSource(store, store, limits=Limits(max_series=2, max_points=1000))
    with pytest.raises(FetchError, match="limit"):
        source.fetch(MetricQuery("atlas", q="name,r,:eq,(,node,),:by"), _scope("c1", 1))


def test_names_with_stack_language_syntax_are_read_as_names(store):
    # A cluster and an operation holding ',', '(' and '/*' are literals, not syntax.
    odd_cluster, odd_operation = "drm,(v2)", "GET /static/*,x"
    spans = [_span(odd_cluster, 30.0, end_ms=T0 + 5_000, name=odd_operation)]
    _write_span_metrics(store, spans)
    store.write_datapoints([Datapoint({"name": "r", "nf.cluster": odd_cluster}, T0 + STEP, 4.0)])
    source = MetricSource(store, store)
    [series] = source.fetch(MetricQuery("atlas", q="name,r,:eq,:sum"), _scope(odd_cluster, 1))
    assert list(series.values) == [4.0]
    query = MetricQuery("spans", service="drm", operation=odd_operation, statistic="mean")
    [latency] = source.fetch(query, _scope(odd_cluster, 1))
    assert list(latency.values) == pytest.approx([0.030])


def test_series_with_the_same_tags_pair_by_their_place_on_the_stack(store):
    from canary.config import load_canary_config
    from canary.execution import metric_set_pairs
    from canary.scopes import ScopePair

    points = []
    for cluster, base in (("c1", 1.0), ("c2", 10.0)):
        points += [
            Datapoint({"name": "a", "nf.cluster": cluster, "node": n}, T0 + STEP, base * (k + 1))
            for k, n in enumerate("xy")
        ]
    store.write_datapoints(points)
    config = load_canary_config(
        {
            "name": "c",
            "metrics": [
                {
                    "name": "m",
                    "query": {"type": "atlas", "q": "name,a,:eq,:sum,name,a,:eq,:max"},
                    "groups": ["g"],
                }
            ],
        }
    )
    pairs = metric_set_pairs(
        config, {"default": ScopePair(_scope("c1", 1), _scope("c2", 1))}, MetricSource(store, store)
    )
    assert sorted((p.control[0], p.experiment[0]) for p in pairs) == [(2.0, 20.0), (3.0, 30.0)]


def test_a_prometheus_query_without_the_prometheus_backend_is_a_fetch_error_saying_so(store):
    source = MetricSource(store, store)
    query = MetricQuery("prometheus", q='sum(rate(requests_total{nf_cluster="${scope}"}[${step}]))')
    with pytest.raises(FetchError, match="Prometheus metrics backend"):
        source.fetch(query, _scope("drm-v1"))
