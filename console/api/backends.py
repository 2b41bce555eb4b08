"""The server's readers, one backend per signal as configured, and how a backend's failure is answered.

``metrics_backend: prometheus`` reads scraped metrics from a Prometheus-HTTP-API engine and
``logs_backend: elasticsearch`` reads logs from an Elasticsearch cluster; the embedded store
keeps spans and what Watchfloor derives (:class:`~store.backends.signals.SignalReaders`).
With both embedded the store itself is the reader, as before.

A backend that cannot answer is the server's upstream failing, not the caller's mistake and
not a crash: 502 naming the backend and the reason (credentials are never in it). A request
the backend refuses as malformed (PromQL on a server without the Prometheus backend) is 400.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from console.config import ServerConfig
from sample_services.errors import error_response
from slo.recorded_status import RecordedRules
from store.backends.elasticsearch_logs import ElasticsearchLogReader
from store.backends.prometheus_http import PrometheusHTTP
from store.backends.prometheus_series import PrometheusSeriesReader
from store.backends.signals import SignalReaders
from store.duckdb_store import DuckDBStore
from store.interfaces import BackendError, LogReader, Reader, SeriesReader

__all__ = ["Backends", "build_backends", "install_backend_errors"]

_log = logging.getLogger("watchfloor.backends")


@dataclass
class Backends:
    """The reader the server answers from, and what to close when it stops."""

    reader: Reader
    closers: list[Callable[[], None]] = field(default_factory=list)
    # The SLOs' exported recording rules, read from the metrics engine when it evaluates them.
    recorded: RecordedRules | None = None

    def close(self) -> None:
        for close in self.closers:
            close()


def build_backends(
    config: ServerConfig, store: DuckDBStore, clock: Callable[[], float] = time.time
) -> Backends:
    """The configured backends around ``store``."""
    closers: list[Callable[[], None]] = []
    metrics: SeriesReader | None = None
    recorded: RecordedRules | None = None
    if config.metrics_backend == "prometheus":
        assert config.prometheus_url is not None  # the configuration's check
        token = config.prometheus_bearer_token
        client = PrometheusHTTP(
            config.prometheus_url, headers={"Authorization": f"Bearer {token}"} if token else None
        )
        closers.append(client.close)
        metrics = PrometheusSeriesReader(
            client,
            base_step_ms=config.step_ms,
            scrape_interval_ms=config.prometheus_scrape_interval_ms,
            clock=clock,
        )
        recorded = RecordedRules(client, clock=clock)
    logs = _log_backend(config, closers)
    if metrics is None and logs is None:
        return Backends(store)
    return Backends(SignalReaders(store, metrics=metrics, logs=logs), closers, recorded)


def _log_backend(config: ServerConfig, closers: list[Callable[[], None]]) -> LogReader | None:
    if config.logs_backend != "elasticsearch":
        return None
    assert config.logs_es_url is not None  # the configuration's check
    reader = ElasticsearchLogReader(
        config.logs_es_url, index=config.logs_es_index, api_key=config.logs_es_api_key
    )
    closers.append(reader.close)
    return reader


def install_backend_errors(app: FastAPI) -> None:
    """Answer a :class:`BackendError` that reaches a route: 400 when the request was at fault, else 502."""

    async def on_backend_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, BackendError)
        if error.client_error:
            return error_response(400, [("backend", str(error))])
        _log.warning("a backend failed: %s", error)
        return error_response(502, [("backend", str(error))])

    app.add_exception_handler(BackendError, on_backend_error)
