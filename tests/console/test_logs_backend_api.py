"""The log API answered from an Elasticsearch cluster with `logs_backend: elasticsearch`."""

from __future__ import annotations

import time

import httpx
import pytest

from store.model import iso_ms
from tests.support.ports import free_port
from tests.support.server import RunningServer


@pytest.fixture
def on_elasticsearch(tmp_path, es_fake):
    fake, url = es_fake
    now_ms = int(time.time() * 1000)
    for n in range(30):
        fake.add_document(
            "logs-drm-2026.11.24",
            {
                "@timestamp": iso_ms(now_ms - 60_000 + n * 1000),
                "message": f"license {'refused' if n % 3 == 0 else 'granted'} for title {n}",
                "log": {"level": "error" if n % 3 == 0 else "info"},
                "service.name": "drm",
                "trace.id": f"{n:032x}",
            },
        )
    fake.add_document(
        "logs-cdn-2026.11.24",
        {
            "@timestamp": iso_ms(now_ms - 30_000),
            "message": "cache miss",
            "log.level": "info",
            "service.name": "cdn",
        },
    )
    server = RunningServer(tmp_path, logs_backend="elasticsearch", logs_es_url=url, logs_es_index="logs-*")
    yield server, now_ms
    server.stop()


def test_log_searches_read_the_cluster(on_elasticsearch):
    server, _ = on_elasticsearch
    answer = httpx.get(f"{server.url}/api/v1/logs", params={"service": "drm", "level": "error"}, timeout=30)
    assert answer.status_code == 200, answer.text
    records = answer.json()["logs"]
    assert len(records) == 10
    assert all(r["service"] == "drm" and r["level"] == "error" for r in records)
    stamps = [r["timestamp_ns"] for r in records]
    assert stamps == sorted(stamps, reverse=True)  # newest first, as from the embedded store
    [one] = httpx.get(f"{server.url}/api/v1/logs", params={"trace_id": f"{3:032x}"}, timeout=30).json()[
        "logs"
    ]
    assert one["message"] == "license refused for title 3"


def test_the_log_volume_histogram_is_counted_by_the_cluster(on_elasticsearch):
    server, now_ms = on_elasticsearch
    params = {"start": str(now_ms - 120_000), "end": str(now_ms + 1_000), "step": "1m"}
    answer = httpx.get(f"{server.url}/api/v1/logs/histogram", params=params, timeout=30)
    assert answer.status_code == 200, answer.text
    levels = {level: sum(counts) for level, counts in answer.json()["levels"].items()}
    assert levels == {"error": 10, "info": 21}


def test_an_unreachable_cluster_is_a_502_naming_the_backend(tmp_path):
    url = f"http://elastic:es-pa55@127.0.0.1:{free_port()}"
    server = RunningServer(tmp_path, logs_backend="elasticsearch", logs_es_url=url, logs_es_api_key="es-k3y")
    try:
        answer = httpx.get(f"{server.url}/api/v1/logs", timeout=60)
        assert answer.status_code == 502, answer.text
        assert answer.json()["errors"][0]["field"] == "backend"
        assert "es-pa55" not in answer.text and "es-k3y" not in answer.text
    finally:
        server.stop()
