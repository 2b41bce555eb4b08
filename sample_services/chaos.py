"""Fault injection in the Chaos Monkey / FIT spirit: extra latency and errors on real requests.

Two sources combine: a timed experiment set through ``POST /chaos`` (expires by itself),
and a canary build's built-in regression (for as long as the instance lives) so canary
analysis has something to find.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sample_services.errors import ServiceError

MAX_LATENCY_MS = 60_000.0
MAX_DURATION_S = 86_400.0


@dataclass(frozen=True)
class Fault:
    """Extra latency (ms) and a probability of failing a request."""

    latency_ms: float = 0.0
    error_rate: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Fault:
        """``latency_ms=80,error_rate=0.05`` → Fault; raises ValueError naming the bad key."""
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, _, raw = part.partition("=")
            if key not in {"latency_ms", "error_rate"}:
                raise ValueError(f"unknown fault key {key!r}: expected latency_ms or error_rate")
            try:
                values[key] = float(raw)
            except ValueError:
                raise ValueError(f"{key}: {raw!r} is not a number") from None
        fault = cls(**values)
        if not 0.0 <= fault.latency_ms <= MAX_LATENCY_MS:
            raise ValueError(f"latency_ms: must be between 0 and {MAX_LATENCY_MS:g}")
        if not 0.0 <= fault.error_rate <= 1.0:
            raise ValueError("error_rate: must be between 0 and 1")
        return fault


class ChaosRequest(BaseModel):
    """Body of ``POST /chaos``."""

    model_config = ConfigDict(extra="forbid")
    latency_ms: float = Field(0.0, ge=0.0, le=MAX_LATENCY_MS, allow_inf_nan=False)
    error_rate: float = Field(0.0, ge=0.0, le=1.0, allow_inf_nan=False)
    duration_s: float = Field(300.0, gt=0.0, le=MAX_DURATION_S, allow_inf_nan=False)


class ChaosState:
    """The faults in force on one instance. ``clock`` is monotonic seconds (injectable)."""

    def __init__(
        self,
        *,
        regression: Fault | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.regression = regression
        self._clock = clock
        self._rng = rng or random.Random()
        self._experiment: Fault | None = None
        self._until = 0.0

    def enable(self, request: ChaosRequest) -> None:
        self._experiment = Fault(request.latency_ms, request.error_rate)
        self._until = self._clock() + request.duration_s

    def clear(self) -> None:
        self._experiment = None

    def experiment(self) -> Fault | None:
        if self._experiment is not None and self._clock() >= self._until:
            self._experiment = None
        return self._experiment

    def describe(self) -> dict[str, Any]:
        experiment = self.experiment()
        return {
            "active": experiment is not None,
            "experiment": None
            if experiment is None
            else {
                "latency_ms": experiment.latency_ms,
                "error_rate": experiment.error_rate,
                "remaining_s": round(self._until - self._clock(), 3),
            },
            "regression": None
            if self.regression is None
            else {
                "latency_ms": self.regression.latency_ms,
                "error_rate": self.regression.error_rate,
            },
        }

    def draw(self) -> tuple[float, int | None]:
        """For one request: the delay in seconds and the status to fail with, if any."""
        delay = 0.0
        status: int | None = None
        experiment = self.experiment()
        if experiment is not None:
            delay += experiment.latency_ms / 1000.0
            if self._rng.random() < experiment.error_rate:
                status = 503
        if self.regression is not None:
            # A code regression is noisy, not a constant: ±50% around its mean.
            delay += self.regression.latency_ms / 1000.0 * self._rng.uniform(0.5, 1.5)
            if status is None and self._rng.random() < self.regression.error_rate:
                status = 500
        return delay, status


def chaos_dependency(state: ChaosState, logger: logging.Logger) -> Callable[[], Awaitable[None]]:
    """A FastAPI dependency applying :class:`ChaosState` to a router's routes.

    A dependency rather than a middleware so it runs after routing: the request's span and
    metrics keep their route template, and admin routes, on another router, are exempt.
    """

    async def inject_faults() -> None:
        delay, status = state.draw()
        if delay > 0:
            await asyncio.sleep(delay)
        if status is None:
            return
        source = "chaos experiment" if status == 503 else "canary regression"
        logger.error(
            "injected failure (%s)",
            source,
            extra={"ecs": {"error.type": "InjectedFault", "error.message": source}},
        )
        raise ServiceError(status, "request", f"injected failure ({source})")

    return inject_faults
