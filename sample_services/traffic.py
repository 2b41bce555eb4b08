"""Realistic viewer traffic: browse → play → segments with adaptive bitrate → heartbeat,
plus encoding jobs trickling in. Arrivals are Poisson; titles are picked by a Zipf law.

The generator plays the client devices, so its own calls are not traced (players do not
send ``traceparent``); each play start is where a trace begins.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from sample_services.catalog import DEVICE_DRM, DEVICE_SHARE, DRM_SYSTEMS, GENRES, POPULARITY

# Players step down a rung after a slow or failed segment and count a stall.
SLOW_SEGMENT_S = 0.4
FAST_SEGMENT_S = 0.05
WRONG_DRM_SHARE = 0.01  # misconfigured clients asking for a system their device lacks
ZIPF_EXPONENT = 1.0
_ZIPF_CUMULATIVE = list(itertools.accumulate(1.0 / (k + 1) ** ZIPF_EXPONENT for k in range(len(POPULARITY))))


@dataclass
class TrafficStats:
    """What the generator did and what it got back: ``counts["play.200"]`` and so on."""

    counts: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    def summary(self) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return {"elapsed_s": round(elapsed, 1), **dict(sorted(self.counts.items()))}


class TrafficGenerator:
    """Drives the fleet through its public endpoints; ``upstreams`` is app → instance URLs."""

    def __init__(
        self,
        upstreams: dict[str, list[str]],
        *,
        sessions_per_s: float = 2.0,
        jobs_per_min: float = 6.0,
        segment_interval_s: float = 0.5,
        max_concurrency: int = 64,
        rng: random.Random | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if sessions_per_s < 0 or jobs_per_min < 0:
            raise ValueError("rates must not be negative")
        self._upstreams = upstreams
        self._sessions_per_s = sessions_per_s
        self._jobs_per_min = jobs_per_min
        self._segment_interval_s = segment_interval_s
        self._slots = asyncio.Semaphore(max_concurrency)
        self._rng = rng or random.Random()
        self._transport = transport
        self.stats = TrafficStats()

    def _pick(self, app: str) -> str:
        return self._rng.choice(self._upstreams[app])

    async def run(self, *, duration_s: float | None = None, sessions: int | None = None) -> TrafficStats:
        """Generate traffic until ``duration_s`` passes or ``sessions`` have been started."""
        deadline = None if duration_s is None else time.monotonic() + duration_s
        async with httpx.AsyncClient(transport=self._transport, timeout=10.0) as client:
            tasks: set[asyncio.Task[None]] = set()
            loops = [self._arrivals(client, tasks, self._sessions_per_s, self._session, deadline, sessions)]
            if self._jobs_per_min > 0 and "encoding" in self._upstreams:
                loops.append(
                    self._arrivals(
                        client,
                        tasks,
                        self._jobs_per_min / 60.0,
                        self._encoding_job,
                        deadline,
                        None if sessions is None else 0,
                    )
                )
            try:
                await asyncio.gather(*loops)
            except asyncio.CancelledError:
                # Stopping: viewers mid-session are cut off rather than waited for.
                for task in tasks:
                    task.cancel()
                raise
            finally:
                await asyncio.gather(*tasks, return_exceptions=True)
        return self.stats

    async def _arrivals(
        self,
        client: httpx.AsyncClient,
        tasks: set[asyncio.Task[None]],
        rate: float,
        work: Any,
        deadline: float | None,
        limit: int | None,
    ) -> None:
        started = 0
        while (limit is None or started < limit) and rate > 0:
            await asyncio.sleep(self._rng.expovariate(rate))
            if deadline is not None and time.monotonic() >= deadline:
                return
            if self._slots.locked():
                self.stats.counts["shed"] += 1  # the generator is saturated: do not pile up
                continue
            started += 1
            task = asyncio.create_task(self._guarded(work, client))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def _guarded(self, work: Any, client: httpx.AsyncClient) -> None:
        async with self._slots:
            try:
                await work(client)
            except httpx.HTTPError as error:
                self.stats.counts[f"transport_error.{type(error).__name__}"] += 1

    def _viewer(self) -> tuple[str, str, str]:
        devices = list(DEVICE_SHARE)
        device = self._rng.choices(devices, weights=[DEVICE_SHARE[d] for d in devices])[0]
        systems = DEVICE_DRM[device]
        if self._rng.random() < WRONG_DRM_SHARE:
            systems = tuple(s for s in DRM_SYSTEMS if s not in systems)
        title_id = self._rng.choices(POPULARITY, cum_weights=_ZIPF_CUMULATIVE)[0]
        return device, self._rng.choice(systems), title_id

    async def _session(self, client: httpx.AsyncClient) -> None:
        counts = self.stats.counts
        counts["sessions"] += 1
        device, drm_system, title_id = self._viewer()
        playback = self._pick("playback")
        if self._rng.random() < 0.5:
            genre = self._rng.choice(GENRES)
            browse = await client.get(f"{playback}/titles", params={"genre": genre})
            counts[f"browse.{browse.status_code}"] += 1
        answer = await client.post(
            f"{playback}/play", json={"title_id": title_id, "device": device, "drm_system": drm_system}
        )
        counts[f"play.{answer.status_code}"] += 1
        if answer.status_code != 200:
            return
        play = answer.json()
        ladder = [r["name"] for r in play["manifest"]["renditions"]]
        rung = ladder.index(play["rendition"])
        rebuffers = 0
        watched = self._rng.randint(4, 16)
        cdn = self._pick("cdn")
        for n in range(2, min(watched, play["manifest"]["segments"])):
            await asyncio.sleep(self._segment_interval_s)
            began = time.monotonic()
            segment = await client.get(f"{cdn}/segment/{title_id}/{ladder[rung]}/{n}")
            took = time.monotonic() - began
            counts[f"segment.{segment.status_code}"] += 1
            if segment.status_code != 200 or took > SLOW_SEGMENT_S:
                rebuffers += 1
                rung = max(rung - 1, 0)
            elif took < FAST_SEGMENT_S:
                rung = min(rung + 1, len(ladder) - 1)
        counts["rebuffers"] += rebuffers
        beat = await client.post(
            f"{playback}/sessions/{play['session_id']}/heartbeat",
            json={
                "position_s": watched * 4.0,
                "rebuffers": rebuffers,
                "bitrate_kbps": play["manifest"]["renditions"][rung]["bitrate_kbps"],
            },
        )
        counts[f"heartbeat.{beat.status_code}"] += 1

    async def _encoding_job(self, client: httpx.AsyncClient) -> None:
        encoding = self._pick("encoding")
        title_id = self._rng.choice(POPULARITY)
        answer = await client.post(f"{encoding}/jobs", json={"title_id": title_id})
        self.stats.counts[f"job_submit.{answer.status_code}"] += 1
        if answer.status_code != 202:
            return
        job_id = answer.json()["job_id"]
        for _ in range(240):
            await asyncio.sleep(0.5)
            job = (await client.get(f"{encoding}/jobs/{job_id}")).json()
            if job.get("status") in {"completed", "failed"}:
                self.stats.counts[f"job.{job['status']}"] += 1
                return
