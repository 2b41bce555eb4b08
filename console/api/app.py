"""The server: one process that owns the store, takes telemetry in and answers reads.

``Server`` wires the store, the write queue, the receivers and the background loops; its
``app`` is what uvicorn serves. Everything is built from a :class:`ServerConfig` and an
injectable clock; nothing is read at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from alerting.alertmanager import AlertmanagerPusher
from alerting.delivery import Deliverer, Sender
from alerting.engine import AlertEngine
from alerting.pagerduty import CHANGE, EVENTS, PagerDutySender
from alerting.rule_book import RuleBook
from alerting.rules import SLOBurnRule
from alerting.silences import SilenceBook
from alerting.webhooks import WebhookSender, webhook_channel
from canary.analysis import Analysis
from canary.change_events import change_event
from canary.config_store import ConfigStore
from canary.metric_source import MetricSource
from canary.runner import CanaryRunner
from canary.service import CanaryService
from collectors.bulk_intake import BulkIntake
from collectors.es_puller import ElasticsearchPuller
from collectors.otlp_receiver import OtlpReceiver
from collectors.scraper import Scraper, Target, fleet_targets
from collectors.span_metrics import SpanMetrics
from collectors.urls import redact_url
from collectors.write_queue import QueueFull, WriteQueue
from console.api.alert_rules import alert_rules_router
from console.api.alerts import alerts_router
from console.api.annotations import annotations_router
from console.api.atlas import atlas_router
from console.api.auth import BearerTokenMiddleware
from console.api.backends import build_backends, install_backend_errors
from console.api.canary import canary_router
from console.api.canary_alerts import canary_sample
from console.api.exemplars import exemplar_router
from console.api.intake import PAGERDUTY_INTAKE, intake_router
from console.api.jaeger_v3 import jaeger_v3_router
from console.api.kayenta import kayenta_router
from console.api.notifications import notifications_router
from console.api.reads import read_router
from console.api.red import RedReader, red_router
from console.api.request_timing import RequestTiming
from console.api.silences import silences_router
from console.api.slos import slo_router
from console.api.traces import trace_router
from console.config import ServerConfig
from sample_services.errors import install_error_handlers
from slo.engine import SLOEngine
from slo.registry import Definition, SLORegistry, load_folder
from slo.service import SLOService
from stacklang import Limits
from store.duckdb_store import DuckDBStore

_log = logging.getLogger("watchfloor.server")
MAINTENANCE_EVERY_S = 60.0


async def _every(interval_s: float, work: Callable[[], object]) -> None:
    """Run ``work`` off the event loop every ``interval_s`` seconds; a failure is logged."""
    while True:
        try:
            await asyncio.to_thread(work)
        except Exception:  # the loop must outlive one failure
            _log.exception("background work failed")
        await asyncio.sleep(interval_s)


class Server:
    """Everything ``watchfloor serve`` runs, in one object tests can start on loopback."""

    def __init__(self, config: ServerConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        # Read first: a broken SLO file stops the start before anything is opened.
        slo_files = load_folder(config.slo_dir) if config.slo_dir is not None else []
        self.registry = CollectorRegistry()
        # A minute is sealed into its rollup only once its late points can no longer arrive:
        # span-derived points come a step after their bucket closes.
        grace_ms = max(config.retention.rollup_grace_ms, config.step_ms + 60_000)
        retention = dataclasses.replace(config.retention, rollup_grace_ms=grace_ms)
        self.store = DuckDBStore(config.database, retention=retention)
        self.write_queue = WriteQueue(self.store, self.registry, capacity=config.write_queue_capacity)
        # Reads go where each signal lives: the store, or the metrics and logs backends configured.
        self.backends = build_backends(config, self.store, clock)
        self.reader = self.backends.reader
        self.scraper = Scraper(
            self._scrape_targets,
            self.write_queue,
            self.registry,
            step_ms=config.step_ms,
            interval_ms=config.scrape_interval_ms,
            timeout_s=config.scrape_timeout_s,
            max_body_bytes=config.scrape_max_body_bytes,
            concurrency=config.scrape_concurrency,
            clock=clock,
        )
        self.span_metrics = SpanMetrics(config.step_ms, clock=clock, registry=self.registry)
        self._loops: list[Callable[[], Coroutine[Any, Any, None]]] = [
            self._maintain,
            self.scraper.run,
            self._flush_span_metrics,
        ]
        self.es_puller = self._build_es_puller()
        if self.es_puller is not None:
            puller, interval_s = self.es_puller, config.es_pull_interval_s
            self._loops.append(lambda: puller.run(interval_s))
        self.slos = self._build_slo_service(slo_files)
        self._loops.append(self._refresh_slos)
        self.change_event_senders: list[Callable[[dict[str, Any]], None]] = []
        self.outbox = self._build_outbox()
        self._loops.append(self.outbox.run)
        self.canary = self._build_canary_service()
        self.silences = SilenceBook(self.store, clock)
        self.rule_book = RuleBook(self.store, self.reader, config.step_ms, config.alert_rules_file)
        self.alerts = AlertEngine(
            [SLOBurnRule(self.slos), *self.rule_book.rules()],
            self.store,
            self.outbox,
            clock=clock,
            console_url=config.link_base,
            silences=self.silences.all,
        )
        interval_s = config.alert_eval_interval_s
        self._loops.append(lambda: self.alerts.run(interval_s))
        self.alertmanager = None
        if config.alertmanager_url:
            pusher = AlertmanagerPusher(
                config.alertmanager_url,
                self.alerts,
                console_url=config.link_base,
                clock=clock,
            )
            self.alertmanager = pusher
            self._loops.append(lambda: _every(interval_s, pusher.push))
        self._loops.append(self.canary.runner.run)
        self.app = self._build_app()

    def _build_slo_service(self, files: list[Definition]) -> SLOService:
        """SLO definitions from the configured folder and the store, evaluated over the store."""
        registry = SLORegistry(self.store, files, clock=self.clock)
        return SLOService(
            registry,
            SLOEngine(
                self.reader,
                base_step_ms=self.config.step_ms,
                clock=self.clock,
                minute_retention_ms=self._minute_retention_ms(),
            ),
            recorded=self.backends.recorded,
        )

    def _minute_retention_ms(self) -> int:
        """How far back the SLO engine reads 1-minute steps before it budgets from hourly ones.

        A Prometheus engine answers at most 11,000 points a series per query; the reader splits
        longer reads, but a week of minutes keeps a 30-day SLO to a few queries.
        """
        if self.config.metrics_backend == "prometheus":
            return min(self.config.retention.metrics_1m_ms, 7 * 86_400_000)
        return self.config.retention.metrics_1m_ms

    def _build_canary_service(self) -> CanaryService:
        """Canary analyses over the store, run in the background and kept in it."""
        config = self.config
        limits = Limits(max_series=config.graph_max_series, max_points=config.graph_max_points)
        runner = CanaryRunner(
            self.store, MetricSource(self.reader, self.reader, limits=limits), clock=self.clock
        )
        # A window is judged once its last step can have arrived: one scrape after the step
        # closes, and span-derived points one step later still.
        settle_ms = config.step_ms + (config.scrape_interval_ms or config.step_ms) + 5_000
        runner.add_listener(self._canary_finished)
        return CanaryService(
            runner,
            ConfigStore(self.store, clock=self.clock),
            step_ms=config.step_ms,
            settle_ms=settle_ms,
            clock=self.clock,
        )

    def _build_outbox(self) -> Deliverer:
        """The notification outbox and its senders; PagerDuty when a routing key is set."""
        config = self.config
        senders: dict[str, Sender] = {}
        if config.pagerduty_routing_key:
            key = config.pagerduty_routing_key
            senders[EVENTS] = PagerDutySender(config.pagerduty_url, key)
            senders[CHANGE] = PagerDutySender(config.pagerduty_url, key, change=True)
            self.change_event_senders.append(self._page_change)
        for index, url in enumerate(config.webhook_urls):
            senders[webhook_channel(index)] = WebhookSender(url)
        return Deliverer(self.store, senders, clock=self.clock)

    def _page_change(self, event: dict[str, Any]) -> None:
        self.outbox.enqueue(CHANGE, event)

    def _canary_finished(self, analysis: Analysis) -> None:
        """Each finished analysis becomes a PagerDuty change event for every sender installed.

        With PagerDuty configured the outbox is one of them: the event is committed to the
        store before it is sent, so it survives a restart.
        """
        event = change_event(analysis, self.config.link_base)
        _log.info("canary change event: %s", event["payload"]["summary"])
        for send in self.change_event_senders:
            send(event)
        # A failed canary is also an alert (ticket), until a later analysis of it passes.
        self.alerts.ingest("canary", [canary_sample(analysis)])

    async def _refresh_slos(self) -> None:
        """Evaluate every SLO now and then, so each keeps its arrays warm and answers fast."""
        while True:
            try:
                await asyncio.to_thread(self.slos.results)
            except Exception:  # evaluation failing must not stop the loop
                _log.exception("evaluating SLOs failed")
            await asyncio.sleep(self.config.slo_refresh_s)

    def _build_es_puller(self) -> ElasticsearchPuller | None:
        """The Elasticsearch log puller, when a cluster and indices are configured."""
        config = self.config
        if not config.es_pull_url or not config.es_pull_indices:
            return None
        return ElasticsearchPuller(
            self.store,
            self.registry,
            url=config.es_pull_url,
            indices=config.es_pull_indices,
            page_size=config.es_pull_page_size,
            lag_s=config.es_pull_lag_s,
            api_key=config.es_pull_api_key,
            clock=self.clock,
        )

    def _scrape_targets(self) -> list[Target]:
        configured = [Target(t.url, dict(t.tags)) for t in self.config.targets]
        return configured + fleet_targets(self.config.fleet_map)

    def add_loop(self, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """A background coroutine started with the server and cancelled when it stops."""
        self._loops.append(loop)

    async def _maintain(self) -> None:
        """Rollups and retention, once a minute, off the event loop."""
        while True:
            now_ms = int(self.clock() * 1000)
            try:
                await asyncio.to_thread(self.store.roll_up, now_ms)
                await asyncio.to_thread(self.store.enforce_retention, now_ms)
            except Exception:  # maintenance failing must not take ingestion down
                _log.exception("store maintenance failed")
            await asyncio.sleep(MAINTENANCE_EVERY_S)

    async def _flush_span_metrics(self) -> None:
        """Each step, store the span-derived RED series of the steps that have closed."""
        step_s = self.config.step_ms / 1000
        while True:
            await asyncio.sleep(step_s - (self.clock() % step_s) + 0.05)
            try:
                points = self.span_metrics.flush(int(self.clock() * 1000))
                try:
                    await asyncio.wrap_future(self.write_queue.submit("datapoints", points))
                except QueueFull:
                    _log.warning("write queue full: dropped %d span-derived points", len(points))
            except Exception:  # one bad step must not end span-derived metrics for good
                _log.exception("storing span-derived metrics failed; the next step goes on")

    @asynccontextmanager
    async def _lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        self.write_queue.start()
        tasks = [asyncio.create_task(loop()) for loop in self._loops]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            # The span-derived steps still open are written too: a stop must not lose them.
            pending = self.span_metrics.flush(int(self.clock() * 1000) + 1_000 * self.config.step_ms)
            with contextlib.suppress(QueueFull):
                self.write_queue.submit("datapoints", pending)
            await asyncio.to_thread(self.write_queue.close)
            if self.es_puller is not None:
                self.es_puller.close()
            self.outbox.close()
            if self.alertmanager is not None:
                self.alertmanager.close()
            self.backends.close()
            self.store.close()
            _log.info("stopped: everything acknowledged is committed")

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Watchfloor", version="0.1.0", lifespan=self._lifespan)
        install_error_handlers(app)
        install_backend_errors(app)
        registry = self.registry

        @app.get("/healthz", tags=["self"])
        def healthz() -> dict[str, Any]:
            return {
                "status": "ok",
                "schema_version": self.store.schema_version,
                "series": len(self.store.index.tags),
            }

        @app.get("/metrics", tags=["self"], include_in_schema=False)
        def metrics(request: Request) -> Response:
            encoder, content_type = choose_encoder(request.headers.get("accept", ""))
            return Response(encoder(registry), media_type=content_type)

        @app.get("/api/v1/config", tags=["self"])
        def config() -> dict[str, Any]:
            return self.config.redacted()

        @app.get("/api/v1/targets", tags=["read"])
        def targets() -> dict[str, Any]:
            views = [h.view() for h in self.scraper.health.values()]
            return {"targets": [{**view, "url": redact_url(view["url"])} for view in views]}

        app.include_router(read_router(self.reader, self.config.step_ms, self.clock))
        app.include_router(trace_router(self.store, self.clock))
        app.include_router(exemplar_router(self.reader, self.config.step_ms, self.clock))
        app.include_router(jaeger_v3_router(self.store))
        app.include_router(slo_router(self.slos))
        app.include_router(canary_router(self.canary))
        app.include_router(notifications_router(self.store))
        app.include_router(alerts_router(self.alerts, self.store))
        app.include_router(silences_router(self.silences, self.clock))
        app.include_router(alert_rules_router(self.rule_book, self.alerts, self.clock))
        app.include_router(annotations_router(self.store, self.clock, self.change_event_senders))
        secret = self.config.pagerduty_webhook_secret
        app.include_router(intake_router(self.alerts, self.store, secret, self.clock))
        app.include_router(kayenta_router(self.canary))
        limits = Limits(max_series=self.config.graph_max_series, max_points=self.config.graph_max_points)
        app.include_router(red_router(RedReader(self.store, self.config.step_ms, limits), self.clock))
        app.include_router(
            atlas_router(self.reader, self.write_queue, self.config.step_ms, limits, self.clock)
        )
        receiver = OtlpReceiver(
            self.write_queue,
            registry,
            self.config.otlp_max_body_bytes,
            on_committed=self.span_metrics.observe,
        )
        for route in receiver.routes():
            app.router.routes.append(route)
        # Registered last: "/{index}/_bulk" must not shadow the API's own paths.
        for route in BulkIntake(self.write_queue, registry).routes():
            app.router.routes.append(route)
        app.add_middleware(
            BearerTokenMiddleware, token=self.config.api_token, signed_paths=(PAGERDUTY_INTAKE,)
        )
        app.add_middleware(RequestTiming, registry=self.registry)  # outermost: times auth too
        return app
