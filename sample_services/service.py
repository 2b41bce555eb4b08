"""What every sample service shares: its instance spec, its context and the app around it."""

from __future__ import annotations

import asyncio
import hmac
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import APIRouter, Depends, FastAPI, Header

from sample_services.chaos import ChaosRequest, ChaosState, Fault, chaos_dependency
from sample_services.errors import ServiceError, install_error_handlers
from tracing.instrument import Instrumentation, ServiceIdentity

APPS = ("playback", "encoding", "cdn", "drm")


@dataclass(frozen=True)
class InstanceSpec:
    """One instance of one app: baseline (``<app>-v1``) or canary (``<app>-v2-canary``)."""

    app: str
    port: int
    canary: bool = False
    host: str = "127.0.0.1"
    regression: Fault | None = None

    @property
    def cluster(self) -> str:
        return f"{self.app}-v2-canary" if self.canary else f"{self.app}-v1"

    @property
    def version(self) -> str:
        return "2.0.0-rc.1" if self.canary else "1.0.0"

    @property
    def instance_id(self) -> str:
        return f"{self.cluster}-{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def identity(self, environment: str = "demo") -> ServiceIdentity:
        return ServiceIdentity(self.app, self.version, self.cluster, self.instance_id, environment)


@dataclass
class ServiceContext:
    """What a service's handlers may use: telemetry, randomness, upstreams, pacing."""

    spec: InstanceSpec
    telemetry: Instrumentation
    rng: random.Random
    # app name → base URLs of its instances, picked at random per call (client-side balancing)
    upstreams: dict[str, list[str]] = field(default_factory=dict)
    # Multiplies simulated work (encodes); tests shrink it to keep runs short.
    time_scale: float = 1.0
    # When set, write endpoints (chaos) need ``Authorization: Bearer <token>``. A secret.
    admin_token: str | None = None

    def upstream(self, app: str) -> str:
        urls = self.upstreams.get(app)
        if not urls:
            raise ServiceError(503, app, f"no {app} instances configured")
        return self.rng.choice(urls)


class Service(Protocol):
    """A sample service: its routes, plus work to start and stop with the server."""

    router: APIRouter

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


ServiceFactory = Callable[[ServiceContext], Service]


def bearer_guard(token: str | None) -> Callable[..., Awaitable[None]]:
    """A dependency refusing requests without ``Authorization: Bearer <token>``; open if no token."""

    async def require_token(authorization: str | None = Header(None)) -> None:
        if token is None:
            return
        challenge = {"WWW-Authenticate": "Bearer"}
        if authorization is None:
            raise ServiceError(401, "authorization", "a bearer token is required", challenge)
        # Constant-time comparison: the answer time must not reveal how much of it matched.
        if not hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
            raise ServiceError(401, "authorization", "the bearer token is not valid", challenge)

    return require_token


def _admin_router(context: ServiceContext, chaos: ChaosState) -> APIRouter:
    router = APIRouter()
    spec = context.spec
    writes = [Depends(bearer_guard(context.admin_token))]

    @router.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "app": spec.app,
            "cluster": spec.cluster,
            "instance": spec.instance_id,
            "version": spec.version,
        }

    @router.get("/chaos")
    def chaos_status() -> dict[str, Any]:
        return chaos.describe()

    @router.post("/chaos", dependencies=writes)
    def chaos_start(request: ChaosRequest) -> dict[str, Any]:
        chaos.enable(request)
        context.telemetry.logger.warning(
            "chaos experiment started: latency_ms=%g error_rate=%g for %gs",
            request.latency_ms,
            request.error_rate,
            request.duration_s,
            extra={"ecs": {"event.dataset": f"{spec.app}.chaos"}},
        )
        return chaos.describe()

    @router.delete("/chaos", dependencies=writes)
    def chaos_stop() -> dict[str, Any]:
        chaos.clear()
        context.telemetry.logger.warning(
            "chaos experiment stopped", extra={"ecs": {"event.dataset": f"{spec.app}.chaos"}}
        )
        return chaos.describe()

    return router


def create_app(context: ServiceContext, factory: ServiceFactory, chaos: ChaosState) -> FastAPI:
    """The ASGI app of one instance; injected faults pass through telemetry like real ones."""
    service = factory(context)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        context.telemetry.start()
        await service.start()
        context.telemetry.logger.info("%s listening on %s", context.spec.instance_id, context.spec.url)
        try:
            yield
        finally:
            await service.stop()
            # Flushing spans and logs blocks; keep the event loop free while it runs.
            await asyncio.to_thread(context.telemetry.shutdown)

    app = FastAPI(
        title=f"{context.spec.app} ({context.spec.cluster})",
        version=context.spec.version,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Operating the instance (health, chaos, metrics) keeps working while it is broken.
    app.include_router(_admin_router(context, chaos))
    inject_faults = chaos_dependency(chaos, context.telemetry.logger)
    app.include_router(service.router, dependencies=[Depends(inject_faults)])
    context.telemetry.instrument_app(app)
    return app
