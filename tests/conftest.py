"""Shared fixtures: the OTLP sink and the Elasticsearch fake on loopback, and the fleet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sample_services.serving import ServerThread
from tests.fakes.elasticsearch import FakeElasticsearch
from tests.support.fleet import RunningFleet, start_fleet
from tests.support.otlp_sink import OtlpSink


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the caller's WATCHFLOOR_* or OTEL_* settings."""
    import os

    for name in list(os.environ):
        if name.startswith(("WATCHFLOOR_", "OTEL_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def otlp_sink() -> Iterator[tuple[OtlpSink, str]]:
    sink = OtlpSink()
    server = ServerThread()
    url = server.start(sink.app)
    yield sink, f"{url}/v1/traces"
    server.stop()


def _serve_es_fake() -> Iterator[tuple[FakeElasticsearch, str]]:
    fake = FakeElasticsearch()
    server = ServerThread()
    url = server.start(fake.app)
    yield fake, url
    server.stop()


@pytest.fixture
def es_fake() -> Iterator[tuple[FakeElasticsearch, str]]:
    """A fresh Elasticsearch fake per test, for tests that switch its faults on."""
    yield from _serve_es_fake()


@pytest.fixture(scope="module")
def module_es_fake() -> Iterator[tuple[FakeElasticsearch, str]]:
    yield from _serve_es_fake()


@pytest.fixture(scope="module")
def fleet(
    otlp_sink: tuple[OtlpSink, str],
    module_es_fake: tuple[FakeElasticsearch, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningFleet]:
    """All four apps, baseline and canary, exporting to the sink and shipping to the fake."""
    _, otlp_url = otlp_sink
    _, es_url = module_es_fake
    running = start_fleet(
        Path(tmp_path_factory.mktemp("fleet-logs")), otlp_endpoint=otlp_url, bulk_url=f"{es_url}/_bulk"
    )
    yield running
    running.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    """A Watchfloor server with its own data directory."""
    from tests.support.server import RunningServer  # imported here: it pulls in every collector

    running = RunningServer(tmp_path / "server")
    yield running
    running.stop()
