"""DRM license service: Widevine, PlayReady and FairPlay licenses for a title on a device."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ConfigDict, Field

from sample_services.catalog import DEVICE_DRM, TITLES, compatible
from sample_services.errors import ServiceError
from sample_services.service import ServiceContext

# Median license latency per system in ms; FairPlay's key exchange takes an extra round.
MEDIAN_LATENCY_MS = {"widevine": 18.0, "playready": 24.0, "fairplay": 34.0}
LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5)
LICENSE_TTL = timedelta(hours=48)


class LicenseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: Literal["widevine", "playready", "fairplay"]
    title_id: str = Field(min_length=1, max_length=32)
    device: str = Field(min_length=1, max_length=64)


class DrmService:
    """Issues licenses; a device that cannot use the system gets 403, as a license server would."""

    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        registry = context.telemetry.registry
        self._licenses = Counter(
            "drm_licenses",
            "License requests by DRM system and outcome (granted, denied, invalid).",
            ["system", "outcome"],
            registry=registry,
        )
        self._latency = Histogram(
            "drm_license_duration_seconds",
            "Time to issue or refuse a license.",
            ["system"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.router = APIRouter()
        self.router.add_api_route("/license", self.license, methods=["POST"])

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def license(self, request: LicenseRequest) -> dict[str, Any]:
        log = self._context.telemetry.logger
        with self._latency.labels(request.system).time():
            if request.title_id not in TITLES:
                self._licenses.labels(request.system, "invalid").inc()
                raise ServiceError(404, "title_id", f"unknown title {request.title_id!r}")
            if request.device not in DEVICE_DRM:
                self._licenses.labels(request.system, "invalid").inc()
                raise ServiceError(
                    422, "device", f"unknown device {request.device!r}; known: {', '.join(DEVICE_DRM)}"
                )
            # Key exchange and policy checks: lognormal around the system's median.
            median = MEDIAN_LATENCY_MS[request.system] / 1000.0
            await asyncio.sleep(median * self._context.rng.lognormvariate(0.0, 0.35))
            if not compatible(request.device, request.system):
                self._licenses.labels(request.system, "denied").inc()
                log.warning(
                    "license denied: %s is not supported on %s",
                    request.system,
                    request.device,
                    extra={"ecs": {"event.outcome": "failure", "labels.drm_system": request.system}},
                )
                raise ServiceError(
                    403, "system", f"{request.system} is not supported on device {request.device!r}"
                )
            self._licenses.labels(request.system, "granted").inc()
        issued = datetime.now(UTC)
        key_id = hashlib.sha256(f"{request.title_id}:{request.system}".encode()).hexdigest()[:32]
        log.info(
            "license granted for title %s (%s on %s)",
            request.title_id,
            request.system,
            request.device,
            extra={"ecs": {"event.outcome": "success", "labels.drm_system": request.system}},
        )
        return {
            "license_id": uuid.uuid4().hex,
            "system": request.system,
            "title_id": request.title_id,
            "device": request.device,
            "key_id": key_id,
            "issued_at": issued.isoformat(),
            "expires_at": (issued + LICENSE_TTL).isoformat(),
            "policy": {"persistent": False, "hdcp_required": request.device != "android_phone"},
        }
