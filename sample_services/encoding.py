"""Per-title encoding: a job picks a bitrate ladder from the title's complexity, encodes every
rendition (simulated work) and scores each with a VMAF-like quality model.

Jobs wait in a bounded queue for a small worker pool; the job's span is a child of the
request that submitted it, so one trace shows the submission and the whole encode.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from opentelemetry import context as otel_context
from opentelemetry.trace import Status, StatusCode
from prometheus_client import Counter, Gauge, Histogram
from pydantic import BaseModel, ConfigDict, Field

from sample_services.catalog import TITLES, Rendition, per_title_ladder, vmaf_estimate
from sample_services.errors import ServiceError
from sample_services.service import ServiceContext

QUEUE_LIMIT = 100
KEEP_JOBS = 500
WORKERS = 2
# Seconds to encode one 1080p rendition of median complexity, before time_scale.
BASE_ENCODE_S = 0.25
ENCODER_CRASH_RATE = 0.01
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
QUALITY_BUCKETS = (20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 93, 95, 97, 99, 100)


class EncoderCrash(RuntimeError):
    """The (simulated) encoder process died mid-rendition."""


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title_id: str = Field(min_length=1, max_length=32)
    # Overrides the catalogue's complexity estimate (0 = static, 1 = grain and motion).
    complexity: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)


class EncodingService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._parents: dict[str, otel_context.Context] = {}
        self._workers: list[asyncio.Task[None]] = []
        registry = context.telemetry.registry
        self._job_count = Counter(
            "encoding_jobs",
            "Jobs by status (submitted, rejected, completed, failed).",
            ["status"],
            registry=registry,
        )
        self._duration = Histogram(
            "encoding_duration_seconds",
            "Time to encode one rendition.",
            ["height"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self._quality = Histogram(
            "encoding_quality_score",
            "VMAF-like score of each encoded rendition.",
            buckets=QUALITY_BUCKETS,
            registry=registry,
        )
        Gauge("encoding_queue_depth", "Jobs waiting for a worker.", registry=registry).set_function(
            self._queue.qsize
        )
        self.router = APIRouter()
        self.router.add_api_route("/jobs", self.submit, methods=["POST"], status_code=202)
        self.router.add_api_route("/jobs", self.list_jobs, methods=["GET"])
        self.router.add_api_route("/jobs/{job_id}", self.job, methods=["GET"])

    async def start(self) -> None:
        self._workers = [asyncio.create_task(self._work()) for _ in range(WORKERS)]

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    async def submit(self, request: JobRequest) -> dict[str, Any]:
        title = TITLES.get(request.title_id)
        if title is None:
            raise ServiceError(404, "title_id", f"unknown title {request.title_id!r}")
        if self._queue.full():
            self._job_count.labels("rejected").inc()
            raise ServiceError(429, "queue", f"encoding queue is full ({QUEUE_LIMIT} jobs)")
        complexity = title.complexity if request.complexity is None else request.complexity
        job_id = uuid.uuid4().hex
        self._jobs[job_id] = {
            "job_id": job_id,
            "title_id": title.title_id,
            "complexity": complexity,
            "status": "queued",
            "submitted_at": datetime.now(UTC).isoformat(),
            "renditions": [],
            "error": None,
        }
        while len(self._jobs) > KEEP_JOBS:
            old_id, _ = self._jobs.popitem(last=False)
            self._parents.pop(old_id, None)
        self._parents[job_id] = otel_context.get_current()
        self._queue.put_nowait(job_id)
        self._job_count.labels("submitted").inc()
        return {"job_id": job_id, "status": "queued"}

    async def list_jobs(self) -> dict[str, Any]:
        return {"jobs": [{k: j[k] for k in ("job_id", "title_id", "status")} for j in self._jobs.values()]}

    async def job(self, job_id: str) -> dict[str, Any]:
        job = self._jobs.get(job_id)
        if job is None:
            raise ServiceError(404, "job_id", f"unknown job {job_id!r}")
        return job

    async def _work(self) -> None:
        while True:
            job_id = await self._queue.get()
            job = self._jobs.get(job_id)
            if job is not None:
                await self._encode(job, self._parents.pop(job_id, None))

    async def _encode(self, job: dict[str, Any], parent: otel_context.Context | None) -> None:
        log = self._context.telemetry.logger
        tracer = self._context.telemetry.tracer
        job["status"] = "running"
        ladder = per_title_ladder(job["complexity"])
        with tracer.start_as_current_span(
            "encode title",
            context=parent,
            attributes={"encoding.title_id": job["title_id"], "encoding.renditions": len(ladder)},
        ) as span:
            try:
                for rung in ladder:
                    job["renditions"].append(await self._encode_rendition(rung, job["complexity"]))
            except EncoderCrash as crash:
                job["status"], job["error"] = "failed", str(crash)
                span.record_exception(crash)
                span.set_status(Status(StatusCode.ERROR, str(crash)))
                self._job_count.labels("failed").inc()
                log.error("encode of title %s failed", job["title_id"], exc_info=crash)
                return
            job["status"] = "completed"
            job["completed_at"] = datetime.now(UTC).isoformat()
            self._job_count.labels("completed").inc()
            log.info(
                "encode of title %s completed: %d renditions, top VMAF %.1f",
                job["title_id"],
                len(ladder),
                max(r["vmaf"] for r in job["renditions"]),
            )

    async def _encode_rendition(self, rung: Rendition, complexity: float) -> dict[str, Any]:
        rng = self._context.rng
        with self._context.telemetry.tracer.start_as_current_span(
            f"encode {rung.name}", attributes={"encoding.rendition": rung.name}
        ):
            # Work grows with pixels and with complexity (more motion search); lognormal spread.
            pixels = rung.width * rung.height / (1920 * 1080)
            seconds = BASE_ENCODE_S * pixels * (0.5 + complexity) * rng.lognormvariate(0.0, 0.3)
            seconds *= self._context.time_scale
            with self._duration.labels(str(rung.height)).time():
                await asyncio.sleep(seconds)
                if rng.random() < ENCODER_CRASH_RATE:
                    raise EncoderCrash(f"encoder exited with signal 11 on {rung.name}")
            score = min(100.0, max(0.0, vmaf_estimate(rung, complexity) + rng.gauss(0.0, 0.8)))
            self._quality.observe(score)
        return {
            "name": rung.name,
            "bitrate_kbps": rung.bitrate_kbps,
            "width": rung.width,
            "height": rung.height,
            "vmaf": round(score, 2),
        }
