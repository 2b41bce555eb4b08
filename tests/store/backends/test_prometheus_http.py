"""The Prometheus HTTP API client against real engines: Debian's Prometheus and VictoriaMetrics.

Both scrape one real ``prometheus_client`` exposition every second: a counter of license
requests by outcome that the test increments, and a gauge. The same calls are asked of both
engines, so the client is known to read each one's answers (they differ in details such as
VictoriaMetrics' extra series names and its lack of a rule evaluator).
"""

from __future__ import annotations

import math
import time

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge

from store.backends.prometheus_http import PrometheusError, PrometheusHTTP
from tests.support.expositions import serving
from tests.support.polling import eventually
from tests.support.ports import free_port
from tests.support.prometheus_engines import running_prometheus, running_victoria_metrics

RULES = """\
groups:
  - name: watchfloor-test
    interval: 1s
    rules:
      - record: drm:license_requests:rate10s
        expr: sum by (outcome) (rate(drm_license_requests_total[10s]))
"""


@pytest.fixture(scope="module")
def exposition():
    registry = CollectorRegistry()
    requests = Counter("drm_license_requests", "License requests", ["outcome"], registry=registry)
    Gauge("drm_keys_cached", "Keys in the cache", registry=registry).set(42)
    requests.labels("ok").inc(10)
    requests.labels("refused").inc(2)
    with serving(registry) as target:
        yield target, requests


@pytest.fixture(scope="module", params=["prometheus", "victoria-metrics"])
def engine(request, exposition, tmp_path_factory):
    target, requests = exposition
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "prometheus":
        running = running_prometheus(folder, [target], free_port(), rules=RULES)
    else:
        running = running_victoria_metrics(folder, [target], free_port())
    with running as url:
        client = PrometheusHTTP(url)
        # Three scrapes with the counter moving in between, so rates exist.
        for _ in range(3):
            eventually(lambda: client.query("drm_keys_cached", time.time()).samples, what="a first scrape")
            requests.labels("ok").inc(5)
            time.sleep(1.2)
        yield request.param, client, requests
        client.close()


def test_a_range_query_gives_each_series_with_its_labels_and_points(engine):
    _, client, _ = engine
    now = time.time()
    result = client.query_range("sum by (outcome) (drm_license_requests_total)", now - 60, now, 1)
    by_outcome = {s.labels["outcome"]: s for s in result.series}
    assert set(by_outcome) == {"ok", "refused"}
    assert by_outcome["refused"].points[-1][1] == 2.0
    assert by_outcome["ok"].points[-1][1] >= 10.0
    times = [t for t, _ in by_outcome["ok"].points]
    assert times == sorted(times) and all(now - 61 <= t <= now + 1 for t in times)


def test_an_instant_query_gives_samples_and_a_scalar_one_value(engine):
    _, client, _ = engine
    [sample] = client.query("drm_keys_cached", time.time()).samples
    assert sample.value == 42.0 and sample.labels["__name__"] == "drm_keys_cached"
    [scalar] = client.query("scalar(vector(1)) / 0", time.time()).samples
    assert math.isinf(scalar.value)


def test_series_labels_and_values_select_what_was_scraped(engine):
    _, client, _ = engine
    now = time.time()
    found = client.series(["drm_license_requests_total"], now - 300, now)
    assert sorted(s["outcome"] for s in found) == ["ok", "refused"]
    assert {"__name__", "outcome", "job", "instance"} <= set(client.labels(["drm_license_requests_total"]))
    assert client.label_values("outcome", ["drm_license_requests_total"]) == ["ok", "refused"]
    assert "drm_keys_cached" in client.label_values("__name__")


def test_bad_promql_is_the_engines_own_error(engine):
    name, client, _ = engine
    with pytest.raises(PrometheusError) as caught:
        client.query_range("sum(rate(drm_license_requests_total[", time.time() - 60, time.time(), 1)
    # Prometheus answers 400 bad_data; VictoriaMetrics 422 with its status as the error type.
    expected = ("bad_data", 400) if name == "prometheus" else ("422", 422)
    assert (caught.value.error_type, caught.value.status) == expected, caught.value
    assert caught.value.message


def test_recording_rules_are_listed_where_the_engine_evaluates_rules(engine):
    name, client, _ = engine
    rules = client.recording_rules()
    if name == "prometheus":
        assert rules == {
            "drm:license_requests:rate10s": "sum by (outcome) (rate(drm_license_requests_total[10s]))"
        }
    else:  # single-node VictoriaMetrics has no rule evaluator (vmalert does that apart)
        assert rules == {}


def test_an_engine_that_does_not_answer_is_an_unreachable_error():
    client = PrometheusHTTP(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    with pytest.raises(PrometheusError) as caught:
        client.query("up", time.time())
    assert caught.value.error_type == "unreachable"
    assert "Authorization" not in repr(client)
    client.close()
