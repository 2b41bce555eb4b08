"""``GET /api/v1/red``: rate, errors and duration per service, cluster or operation over a range.

The console's Overview (one row per service and cluster) and the Service page's top
operations read this one answer instead of a dozen graph queries. The figures come from
the span-derived RED series (``collectors/span_metrics.py``) of spans that serve work —
kind ``server`` or ``consumer`` — so every traced service has a row, metrics or not:

* ``requests``: spans counted over the range; ``rate_per_s`` that over the part of the range
  since the group's first step with spans (as Prometheus's ``rate`` does not extrapolate a
  series to before it began: a service deployed ten minutes into an hour shows its real
  rate, not a sixth of it);
* ``errors`` and ``error_pct``: spans with status ``error``;
* ``mean_ms`` from the duration's totalTime; ``p50_ms``/``p95_ms``/``p99_ms`` estimated
  from the duration buckets summed over the whole range (Prometheus's
  ``histogram_quantile``, as ``:percentiles``), so a quiet minute weighs as little as it
  counted;
* ``impact``: ``mean_ms × rate_per_s`` — milliseconds spent per second, Jaeger SPM's
  "impact" ordering for operations.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from fastapi import APIRouter, Query

from console.api.reads import parse_range_ms
from sample_services.errors import ServiceError
from stacklang import Limits, StackLangError, evaluate
from stacklang.percentiles import quantiles
from store.duckdb_store import DuckDBStore

GROUPINGS = {
    "service": ("nf.app",),
    "cluster": ("nf.app", "nf.cluster"),
    "operation": ("nf.app", "span.name"),
}
OUTPUT_NAMES = {"nf.app": "service", "nf.cluster": "cluster", "span.name": "operation"}
PERCENTILES = (50.0, 95.0, 99.0)
MAX_ROWS = 1_000
MAX_RANGE_MS = 31 * 86_400_000
# A service name goes into a stack-language expression: no commas, parentheses or spaces.
_NAME = re.compile(r"^[A-Za-z0-9_.:/@-]{1,200}$")
_SERVING = "span.kind,(,server,consumer,),:in"


def _round(value: float, digits: int = 3) -> float | None:
    return None if math.isnan(value) else round(value, digits)


class RedReader:
    """Evaluates the three span-metric queries over the store at its own step and folds them."""

    def __init__(self, store: DuckDBStore, step_ms: int, limits: Limits) -> None:
        self.store = store
        self.step_ms = step_ms
        self.limits = limits

    def _sums(
        self, expression: str, keys: tuple[str, ...], first: int, last: int
    ) -> dict[tuple[str, ...], float]:
        """Values of ``keys`` → count over the range, for an expression of per-second rates."""
        return {key: count for key, (count, _) in self._counts(expression, keys, first, last).items()}

    def _counts(
        self, expression: str, keys: tuple[str, ...], first: int, last: int
    ) -> dict[tuple[str, ...], tuple[float, int]]:
        """Values of ``keys`` → (count over the range, start of the first step with data)."""
        series = evaluate(expression, self.store, first, last, self.step_ms, limits=self.limits)
        step_s = self.step_ms / 1000
        found = {}
        for s in series:
            seen = np.flatnonzero(np.isfinite(s.values))
            # Step i covers (first + i·step, first + (i + 1)·step]: it began at first + i·step.
            since = first + int(seen[0]) * self.step_ms if len(seen) else first
            found[tuple(s.tags.get(k, "") for k in keys)] = (float(np.nansum(s.values)) * step_s, since)
        return found

    def rows(self, start_ms: int, end_ms: int, by: str, service: str | None) -> list[dict[str, Any]]:
        keys = GROUPINGS[by]
        first = start_ms // self.step_ms * self.step_ms
        last = max(-(-end_ms // self.step_ms) * self.step_ms, first + self.step_ms)
        scope = _SERVING + (f",nf.app,{service},:eq,:and" if service else "")
        group = f"(,{','.join(keys)},)"
        calls = self._counts(f"name,span.calls,:eq,{scope},:and,{group},:by", keys, first, last)
        errors = self._sums(
            f"name,span.calls,:eq,{scope},:and,status.code,error,:eq,:and,{group},:by", keys, first, last
        )
        total = self._sums(
            f"name,span.duration,:eq,statistic,totalTime,:eq,:and,{scope},:and,{group},:by", keys, first, last
        )
        with_le = (*keys, "le")
        buckets = self._sums(
            f"name,span.duration,:eq,statistic,percentile,:eq,:and,{scope},:and,(,{','.join(with_le)},),:by",
            with_le,
            first,
            last,
        )
        by_group: dict[tuple[str, ...], dict[float, float]] = {}
        for (*group_key, le), count in buckets.items():
            bound = math.inf if le == "+Inf" else float(le)
            by_group.setdefault(tuple(group_key), {})[bound] = count
        rows = []
        for key, (requests, since) in calls.items():
            failed = errors.get(key, 0.0)
            seconds = total.get(key, math.nan)
            hist = by_group.get(key, {})
            bounds = sorted(hist)
            cumulative = np.array([hist[b] for b in bounds], dtype=np.float64).reshape(len(bounds), 1)
            estimates = quantiles(bounds, cumulative, PERCENTILES)
            mean_ms = seconds / requests * 1000 if requests > 0 else math.nan
            rate = requests / ((last - since) / 1000)
            row: dict[str, Any] = {OUTPUT_NAMES[k]: v for k, v in zip(keys, key, strict=True)}
            row.update(
                requests=round(requests, 3),
                rate_per_s=round(rate, 4),
                errors=round(failed, 3),
                error_pct=_round(failed / requests * 100 if requests > 0 else math.nan),
                mean_ms=_round(mean_ms),
                p50_ms=_round(float(estimates[0][0]) * 1000),
                p95_ms=_round(float(estimates[1][0]) * 1000),
                p99_ms=_round(float(estimates[2][0]) * 1000),
                impact=_round(mean_ms * rate),
            )
            rows.append(row)
        rows.sort(key=lambda r: tuple(r[OUTPUT_NAMES[k]] for k in keys))
        return rows


def red_router(reader: RedReader, clock: Callable[[], float] = time.time) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["red"])

    @router.get("/red")
    def red(
        start: str | None = None,
        end: str | None = None,
        by: str = "cluster",
        service: str | None = None,
        limit: int = Query(MAX_ROWS, ge=1, le=MAX_ROWS),
    ) -> dict[str, Any]:
        """Rate, errors, duration of serving spans per service, cluster or operation (default: last hour)."""
        if by not in GROUPINGS:
            raise ServiceError(400, "by", f"{by!r} is not one of {', '.join(GROUPINGS)}")
        if service is not None and not _NAME.match(service):
            raise ServiceError(400, "service", "must be 1–200 letters, digits or _.:/@-")
        start_ms, end_ms = parse_range_ms(start, end, int(clock() * 1000))
        if end_ms - start_ms > MAX_RANGE_MS:
            raise ServiceError(400, "start", "the range is longer than 31 days")
        try:
            rows = reader.rows(start_ms, end_ms, by, service)
        except StackLangError as error:  # over the evaluation limits
            raise ServiceError(400, "start", str(error)) from None
        return {
            "start": start_ms,
            "end": end_ms,
            "by": by,
            "rows": rows[:limit],
            "truncated": len(rows) > limit,
        }

    return router
