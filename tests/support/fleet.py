"""An in-process sample fleet on loopback: every instance a real uvicorn server on its own thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sample_services.chaos import Fault
from sample_services.fleet import Instance, build_instance, upstreams_of
from sample_services.service import APPS, InstanceSpec
from sample_services.serving import ServerThread
from sample_services.traffic import TrafficGenerator
from tracing.instrument import TelemetrySettings


@dataclass
class RunningFleet:
    instances: dict[str, Instance]  # by cluster
    servers: list[ServerThread]
    log_dir: Path

    def url(self, cluster: str) -> str:
        return self.instances[cluster].spec.url

    def urls(self, app: str) -> list[str]:
        return [i.spec.url for i in self.instances.values() if i.spec.app == app]

    def upstreams(self) -> dict[str, list[str]]:
        return upstreams_of([i.spec for i in self.instances.values()])

    def log_path(self, cluster: str) -> Path:
        return self.log_dir / f"{self.instances[cluster].spec.instance_id}.ndjson"

    def flush(self) -> None:
        """Export every finished span now (the batch processor would wait for its delay)."""
        for instance in self.instances.values():
            instance.telemetry.tracer_provider.force_flush()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def start_fleet(
    log_dir: Path,
    *,
    otlp_endpoint: str | None,
    bulk_url: str | None,
    apps: tuple[str, ...] = APPS,
    canaries: bool = True,
    regressions: dict[str, Fault] | None = None,
    clock: Callable[[], float] | None = None,
    seed: int = 20261123,
    admin_token: str | None = None,
) -> RunningFleet:
    """Start a baseline (and optionally a canary) instance of each app, wired to each other."""
    regressions = regressions or {}
    servers: list[ServerThread] = []
    specs: list[InstanceSpec] = []
    for app in apps:
        for canary in (False, True) if canaries else (False,):
            server = ServerThread()
            servers.append(server)
            specs.append(
                InstanceSpec(
                    app, server.port, canary=canary, regression=regressions.get(app) if canary else None
                )
            )
    upstreams = upstreams_of(specs)
    instances: dict[str, Instance] = {}
    for index, (spec, server) in enumerate(zip(specs, servers, strict=True)):
        settings = TelemetrySettings(
            otlp_endpoint=otlp_endpoint,
            bulk_url=bulk_url,
            log_path=log_dir / f"{spec.instance_id}.ndjson",
            span_export_delay_ms=200,
        )
        extra = {"clock": clock} if clock is not None else {}
        instance = build_instance(
            spec, settings, upstreams, seed=seed + index, time_scale=0.02, admin_token=admin_token, **extra
        )
        instances[spec.cluster] = instance
        server.start(instance.app)
    return RunningFleet(instances, servers, log_dir)


@contextmanager
def steady_traffic(fleet: RunningFleet, sessions_per_s: float = 12.0) -> Iterator[None]:
    """Viewer traffic against ``fleet`` on a thread of its own while the block runs (no encoding jobs)."""
    stop = threading.Event()

    def drive() -> None:
        generator = TrafficGenerator(fleet.upstreams(), sessions_per_s=sessions_per_s, jobs_per_min=0)
        while not stop.is_set():
            asyncio.run(generator.run(duration_s=5))

    traffic = threading.Thread(target=drive, daemon=True)
    traffic.start()
    try:
        yield
    finally:
        stop.set()
        traffic.join(timeout=30)
