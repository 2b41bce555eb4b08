"""Playback service: the catalogue for browsing, play starts and session heartbeats.

A play start is what the viewer waits for: a DRM license, the manifest and the first
segments from the edge. Its wall time is the time to first frame.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Query
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ConfigDict, Field

from sample_services.catalog import DEVICE_DRM, GENRES, POPULARITY, TITLES
from sample_services.errors import ServiceError
from sample_services.service import ServiceContext
from tracing.instrument import ROUTE_EXTENSION

TTFF_BUCKETS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
FIRST_SEGMENTS = 2
MAX_SESSIONS = 10_000
# Small screens start lower on the ladder; start no higher than this bitrate.
START_BITRATE_KBPS = {"android_phone": 1200, "iphone": 1200}
DEFAULT_START_KBPS = 3000


class PlayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title_id: str = Field(min_length=1, max_length=32)
    device: str = Field(min_length=1, max_length=64)
    drm_system: Literal["widevine", "playready", "fairplay"]


class Heartbeat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    position_s: float = Field(ge=0.0, le=86_400.0, allow_inf_nan=False)
    rebuffers: int = Field(0, ge=0, le=1_000)
    bitrate_kbps: int = Field(0, ge=0, le=100_000)


class PlaybackService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        self._client: httpx.AsyncClient | None = None
        self._sessions: OrderedDict[str, str] = OrderedDict()  # session id → device
        registry = context.telemetry.registry
        self._starts = Counter(
            "playback_play_starts",
            "Play starts by outcome (success, drm_denied, drm_error, cdn_error).",
            ["outcome", "drm_system"],
            registry=registry,
        )
        self._ttff = Histogram(
            "playback_time_to_first_frame_seconds",
            "License + manifest + first segments.",
            ["device"],
            buckets=TTFF_BUCKETS,
            registry=registry,
        )
        self._rebuffers = Counter(
            "playback_rebuffer_events", "Stalls reported by players.", ["device"], registry=registry
        )
        self.router = APIRouter()
        self.router.add_api_route("/titles", self.titles, methods=["GET"])
        self.router.add_api_route("/titles/{title_id}", self.title, methods=["GET"])
        self.router.add_api_route("/play", self.play, methods=["POST"])
        self.router.add_api_route("/sessions/{session_id}/heartbeat", self.heartbeat, methods=["POST"])

    async def start(self) -> None:
        self._client = self._context.telemetry.http_client("upstream")

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def titles(
        self,
        genre: str | None = Query(None, max_length=32),
        limit: int = Query(40, ge=1, le=200),
    ) -> dict[str, Any]:
        if genre is not None and genre not in GENRES:
            raise ServiceError(422, "genre", f"unknown genre {genre!r}; known: {', '.join(GENRES)}")
        rows = [TITLES[t] for t in POPULARITY if genre is None or TITLES[t].genre == genre]
        return {"titles": [{"title_id": t.title_id, "name": t.name, "genre": t.genre} for t in rows[:limit]]}

    async def title(self, title_id: str) -> dict[str, Any]:
        title = TITLES.get(title_id)
        if title is None:
            raise ServiceError(404, "title_id", f"unknown title {title_id!r}")
        return {
            "title_id": title.title_id,
            "name": title.name,
            "genre": title.genre,
            "runtime_s": title.runtime_s,
        }

    async def _call(self, app: str, method: str, path: str, route: str, **kwargs: Any) -> httpx.Response:
        assert self._client is not None, "service not started"
        url = self._context.upstream(app) + path
        return await self._client.request(method, url, extensions={ROUTE_EXTENSION: route}, **kwargs)

    def _fail(self, outcome: str, request: PlayRequest, status: int, field: str, reason: str) -> ServiceError:
        self._starts.labels(outcome, request.drm_system).inc()
        self._context.telemetry.logger.error(
            "play start failed (%s) for title %s: %s",
            outcome,
            request.title_id,
            reason,
            extra={"ecs": {"error.type": outcome, "error.message": reason, "event.outcome": "failure"}},
        )
        return ServiceError(status, field, reason)

    async def play(self, request: PlayRequest) -> dict[str, Any]:
        if request.title_id not in TITLES:
            raise ServiceError(404, "title_id", f"unknown title {request.title_id!r}")
        if request.device not in DEVICE_DRM:
            raise ServiceError(
                422, "device", f"unknown device {request.device!r}; known: {', '.join(DEVICE_DRM)}"
            )
        started = time.perf_counter()
        body = {"system": request.drm_system, "title_id": request.title_id, "device": request.device}
        try:
            license_answer, manifest_answer = await asyncio.gather(
                self._call("drm", "POST", "/license", "/license", json=body),
                self._call("cdn", "GET", f"/manifest/{request.title_id}", "/manifest/{title_id}"),
            )
        except httpx.HTTPError as error:
            raise self._fail("upstream_error", request, 502, "upstream", f"unreachable: {error!r}") from error
        if license_answer.status_code == 403:
            reason = license_answer.json().get("detail", "license denied")
            raise self._fail("drm_denied", request, 403, "drm_system", reason)
        if license_answer.status_code != 200:
            raise self._fail(
                "drm_error", request, 502, "drm", f"license service answered {license_answer.status_code}"
            )
        if manifest_answer.status_code != 200:
            raise self._fail(
                "cdn_error", request, 502, "cdn", f"manifest answered {manifest_answer.status_code}"
            )
        manifest = manifest_answer.json()
        cap = START_BITRATE_KBPS.get(request.device, DEFAULT_START_KBPS)
        fitting = [r for r in manifest["renditions"] if r["bitrate_kbps"] <= cap] or manifest["renditions"][
            :1
        ]
        rendition = fitting[-1]["name"]
        for n in range(FIRST_SEGMENTS):
            try:
                segment = await self._call(
                    "cdn",
                    "GET",
                    f"/segment/{request.title_id}/{rendition}/{n}",
                    "/segment/{title_id}/{rendition}/{n}",
                )
            except httpx.HTTPError as error:
                raise self._fail("upstream_error", request, 502, "cdn", f"unreachable: {error!r}") from error
            if segment.status_code != 200:
                raise self._fail(
                    "cdn_error", request, 502, "cdn", f"segment {n} answered {segment.status_code}"
                )
        ttff = time.perf_counter() - started
        self._ttff.labels(request.device).observe(ttff)
        self._starts.labels("success", request.drm_system).inc()
        session_id = uuid.uuid4().hex
        self._sessions[session_id] = request.device
        if len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        self._context.telemetry.logger.info(
            "play started: title %s on %s at %s, first frame after %.0f ms",
            request.title_id,
            request.device,
            rendition,
            ttff * 1000,
            extra={"ecs": {"event.outcome": "success", "labels.session_id": session_id}},
        )
        return {
            "session_id": session_id,
            "title_id": request.title_id,
            "rendition": rendition,
            "ttff_ms": round(ttff * 1000.0, 1),
            "license_id": license_answer.json()["license_id"],
            "manifest": manifest,
        }

    async def heartbeat(self, session_id: str, beat: Heartbeat) -> dict[str, Any]:
        device = self._sessions.get(session_id)
        if device is None:
            raise ServiceError(404, "session_id", f"unknown or expired session {session_id!r}")
        if beat.rebuffers:
            self._rebuffers.labels(device).inc(beat.rebuffers)
            self._context.telemetry.logger.warning(
                "session %s rebuffered %d times at %.0fs",
                session_id,
                beat.rebuffers,
                beat.position_s,
                extra={"ecs": {"labels.session_id": session_id}},
            )
        return {"session_id": session_id, "accepted": True}
