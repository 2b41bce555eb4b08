"""Choosing a backend per signal: settings checked by name, secrets redacted, a failing backend is a 502."""

from __future__ import annotations

import httpx
import pytest

from console.config import ConfigError, load_config
from store.backends.signals import SignalReaders
from tests.support.ports import free_port
from tests.support.server import RunningServer


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"WATCHFLOOR_METRICS_BACKEND": "graphite"}, "metrics_backend: 'graphite' is not one of embedded"),
        ({"WATCHFLOOR_LOGS_BACKEND": "loki"}, "logs_backend: 'loki' is not one of embedded"),
        ({"WATCHFLOOR_METRICS_BACKEND": "prometheus"}, "prometheus_url: required"),
        ({"WATCHFLOOR_LOGS_BACKEND": "elasticsearch"}, "logs_es_url: required"),
        (
            {"WATCHFLOOR_METRICS_BACKEND": "prometheus", "WATCHFLOOR_PROMETHEUS_URL": "prom:9090"},
            "prometheus_url: must be an http:// or https:// URL",
        ),
        (
            {
                "WATCHFLOOR_METRICS_BACKEND": "prometheus",
                "WATCHFLOOR_PROMETHEUS_URL": "http://prom:9090",
                "WATCHFLOOR_PROMETHEUS_SCRAPE_INTERVAL_MS": "500",
            },
            "prometheus_scrape_interval_ms: must be at least 1000",
        ),
    ],
)
def test_bad_backend_settings_are_refused_naming_the_setting(environ, named):
    with pytest.raises(ConfigError) as caught:
        load_config(None, environ=environ)
    assert named in str(caught.value)


def test_backend_secrets_and_credentials_are_redacted():
    config = load_config(
        None,
        environ={
            "WATCHFLOOR_METRICS_BACKEND": "prometheus",
            "WATCHFLOOR_PROMETHEUS_URL": "https://reader:pa55word@prom.internal:9090",
            "WATCHFLOOR_PROMETHEUS_BEARER_TOKEN": "prom-t0ken",
            "WATCHFLOOR_LOGS_BACKEND": "elasticsearch",
            "WATCHFLOOR_LOGS_ES_URL": "https://elastic:es-pa55@logs.internal:9200",
            "WATCHFLOOR_LOGS_ES_API_KEY": "es-k3y",
        },
    )
    shown = config.redacted()
    assert shown["prometheus_bearer_token"] == "***" and shown["logs_es_api_key"] == "***"
    for secret in ("pa55word", "prom-t0ken", "es-pa55", "es-k3y"):
        assert secret not in str(shown) and secret not in repr(config)
    assert shown["prometheus_url"].startswith("https://") and "prom.internal:9090" in shown["prometheus_url"]


@pytest.fixture
def unreachable_prometheus(tmp_path):
    server = RunningServer(
        tmp_path,
        metrics_backend="prometheus",
        prometheus_url=f"http://127.0.0.1:{free_port()}",
        prometheus_bearer_token="prom-t0ken",
    )
    yield server
    server.stop()


def test_reads_go_through_the_backends_when_one_is_configured(unreachable_prometheus):
    assert isinstance(unreachable_prometheus.server.reader, SignalReaders)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/graph", {"q": "name,http_server_requests,:eq,:sum"}),
        ("/api/v1/series", {"q": "name,http_server_requests,:eq"}),
        ("/api/v1/tags", {}),
    ],
)
def test_an_unreachable_metrics_engine_is_a_502_naming_the_backend(unreachable_prometheus, path, params):
    answer = httpx.get(f"{unreachable_prometheus.url}{path}", params=params, timeout=30)
    assert answer.status_code == 502, answer.text
    [problem] = answer.json()["errors"]
    assert problem["field"] == "backend" and "unreachable" in problem["reason"]
    assert "prom-t0ken" not in answer.text


def test_an_slo_on_an_unreachable_engine_says_why_instead_of_failing(unreachable_prometheus):
    slo = (
        "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: down\nspec:\n  service: drm\n"
        "  indicator:\n    metadata:\n      name: down-ok\n    spec:\n      ratioMetric:\n"
        "        counter: true\n        bad:\n          metricSource:\n            type: atlas\n"
        "            spec:\n              query: name,errors,:eq,:sum\n        total:\n"
        "          metricSource:\n            type: atlas\n            spec:\n"
        "              query: name,requests,:eq,:sum\n  timeWindow:\n    - duration: 1d\n"
        "      isRolling: true\n  budgetingMethod: Occurrences\n  objectives:\n    - target: 0.99\n"
    )
    url = unreachable_prometheus.url
    assert httpx.put(f"{url}/api/v1/slos/down", content=slo, timeout=30).status_code == 201
    view = httpx.get(f"{url}/api/v1/slos/down", timeout=30).json()
    assert view["state"] == "error" and "unreachable" in view["error"], view
    listed = httpx.get(f"{url}/api/v1/slos", timeout=30).json()["slos"]
    assert [s["state"] for s in listed if s["name"] == "down"] == ["error"]
