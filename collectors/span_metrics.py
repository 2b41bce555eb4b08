"""RED metrics derived from spans, written as Atlas-style series (like the spanmetrics connector).

Per service, operation, kind, status and cluster, for each step: the call rate
(``name=span.calls, statistic=count``), and the duration as a timer — count and totalTime
rates, max, and per-bucket rates with ``statistic=percentile`` and an ``le`` tag — so SLOs
and canary analysis can use traces where a service exports no metrics.

Spans are bucketed by end time; a bucket is emitted one step after it closes, and a span
arriving later than that counts in the oldest bucket still open.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from store.model import Datapoint, Span

# Seconds; the OpenTelemetry HTTP duration buckets, which also suit RPC spans.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_LE = [format(b, "g") for b in DURATION_BUCKETS] + ["+Inf"]
KIND_NAMES = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS_NAMES = {0: "unset", 1: "ok", 2: "error"}


@dataclass
class _Cell:
    calls: int = 0
    total_s: float = 0.0
    max_s: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(_LE))


class SpanMetrics:
    """Thread-safe accumulator: receivers call :meth:`observe`, one loop calls :meth:`flush`."""

    def __init__(self, step_ms: int) -> None:
        self._step_ms = step_ms
        self._lock = threading.Lock()
        self._open: dict[int, dict[tuple[str, ...], _Cell]] = {}
        self._closed_until = 0  # buckets ending at or before this have been emitted
        self._tags: dict[tuple[str, ...], dict[str, dict[str, str]]] = {}

    def observe(self, spans: Iterable[Span]) -> None:
        step = self._step_ms
        with self._lock:
            for span in spans:
                end_ms = span.end_ns // 1_000_000
                bucket = max(-(-end_ms // step) * step, self._closed_until + step)
                key = (
                    span.service,
                    span.name,
                    KIND_NAMES.get(span.kind, "unspecified"),
                    STATUS_NAMES.get(span.status_code, "unset"),
                    str(span.resource.get("nf.cluster", "")),
                )
                cell = self._open.setdefault(bucket, {}).setdefault(key, _Cell())
                seconds = max(span.end_ns - span.start_ns, 0) / 1e9
                cell.calls += 1
                cell.total_s += seconds
                cell.max_s = max(cell.max_s, seconds)
                # Cumulative buckets, as Prometheus histograms expose them.
                for index in range(bisect.bisect_left(DURATION_BUCKETS, seconds), len(_LE)):
                    cell.buckets[index] += 1

    def flush(self, now_ms: int) -> list[Datapoint]:
        """Emit every bucket that closed at least one step before ``now_ms``."""
        step = self._step_ms
        horizon = (now_ms - step) // step * step
        with self._lock:
            ready = sorted(b for b in self._open if b <= horizon)
            cells = [(b, self._open.pop(b)) for b in ready]
            self._closed_until = max(self._closed_until, horizon)
        points: list[Datapoint] = []
        per_second = 1000.0 / step
        for bucket, by_key in cells:
            for key, cell in by_key.items():
                tags = self._tag_sets(key)
                points.append(Datapoint(tags["calls"], bucket, cell.calls * per_second))
                points.append(Datapoint(tags["count"], bucket, cell.calls * per_second))
                points.append(Datapoint(tags["totalTime"], bucket, cell.total_s * per_second))
                points.append(Datapoint(tags["max"], bucket, cell.max_s))
                for le, count in zip(_LE, cell.buckets, strict=True):
                    points.append(Datapoint(tags[le], bucket, count * per_second))
        return points

    def _tag_sets(self, key: tuple[str, ...]) -> dict[str, dict[str, str]]:
        """The tag dicts of one key, built once and reused (the store caches by identity)."""
        found = self._tags.get(key)
        if found is None:
            service, operation, kind, status, cluster = key
            base = {"nf.app": service, "span.name": operation, "span.kind": kind, "status.code": status}
            if cluster:
                base["nf.cluster"] = cluster
            found = {"calls": {**base, "name": "span.calls", "statistic": "count"}}
            for statistic in ("count", "totalTime", "max"):
                found[statistic] = {**base, "name": "span.duration", "statistic": statistic}
            for le in _LE:
                found[le] = {**base, "name": "span.duration", "statistic": "percentile", "le": le}
            self._tags[key] = found
        return found
