"""The fleet's layout (which instance listens where) and building one instance's app."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from sample_services.cdn import CdnService
from sample_services.chaos import ChaosState, Fault
from sample_services.drm import DrmService
from sample_services.encoding import EncodingService
from sample_services.playback import PlaybackService
from sample_services.service import APPS, InstanceSpec, ServiceContext, ServiceFactory, create_app
from tracing.instrument import Instrumentation, TelemetrySettings

FACTORIES: dict[str, ServiceFactory] = {
    "playback": PlaybackService,
    "encoding": EncodingService,
    "cdn": CdnService,
    "drm": DrmService,
}
DEFAULT_BASE_PORT = 8101
# The demo's canary build carries a regression in the DRM service: slower key exchange and
# occasional failures, which canary analysis should catch.
DEFAULT_CANARY_FAULT = Fault(latency_ms=40.0, error_rate=0.04)
DEFAULT_REGRESSION = {"drm": DEFAULT_CANARY_FAULT}


def default_layout(
    base_port: int = DEFAULT_BASE_PORT,
    host: str = "127.0.0.1",
    regressions: dict[str, Fault] | None = None,
    apps: tuple[str, ...] = APPS,
) -> list[InstanceSpec]:
    """A baseline and a canary instance per app on consecutive ports from ``base_port``."""
    regressions = DEFAULT_REGRESSION if regressions is None else regressions
    layout: list[InstanceSpec] = []
    for index, app in enumerate(apps):
        port = base_port + 2 * index
        layout.append(InstanceSpec(app, port, canary=False, host=host))
        layout.append(InstanceSpec(app, port + 1, canary=True, host=host, regression=regressions.get(app)))
    return layout


def upstreams_of(layout: list[InstanceSpec]) -> dict[str, list[str]]:
    """App name → the base URLs of all its instances (baseline and canary take equal shares)."""
    upstreams: dict[str, list[str]] = {}
    for spec in layout:
        upstreams.setdefault(spec.app, []).append(spec.url)
    return upstreams


@dataclass
class Instance:
    """A built (not yet serving) instance, with the handles tests and the runner need."""

    spec: InstanceSpec
    app: FastAPI
    telemetry: Instrumentation
    chaos: ChaosState


def build_instance(
    spec: InstanceSpec,
    settings: TelemetrySettings,
    upstreams: dict[str, list[str]],
    *,
    seed: int | None = None,
    time_scale: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    admin_token: str | None = None,
) -> Instance:
    telemetry = Instrumentation(spec.identity(), settings)
    rng = random.Random(seed)
    context = ServiceContext(spec, telemetry, rng, upstreams, time_scale, admin_token)
    chaos = ChaosState(regression=spec.regression, clock=clock, rng=random.Random(rng.random()))
    return Instance(spec, create_app(context, FACTORIES[spec.app], chaos), telemetry, chaos)


def write_fleet_file(path: Path, layout: list[InstanceSpec]) -> None:
    """Record where the fleet listens, for ``watchfloor chaos`` and the collectors."""
    path.parent.mkdir(parents=True, exist_ok=True)
    instances = [
        {
            "app": s.app,
            "cluster": s.cluster,
            "instance": s.instance_id,
            "url": s.url,
            "canary": s.canary,
            "version": s.version,
        }
        for s in layout
    ]
    # Written aside and renamed: a collector reading it meanwhile sees the old map or the new one.
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps({"instances": instances}, indent=2) + "\n")
    partial.replace(path)


def read_fleet_file(path: Path) -> list[dict[str, object]]:
    instances = json.loads(path.read_text())["instances"]
    assert isinstance(instances, list)
    return instances
