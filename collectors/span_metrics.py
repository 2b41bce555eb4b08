"""RED metrics derived from spans, written as Atlas-style series (like the spanmetrics connector).

Per service, operation, kind, status and cluster, for each step: the call rate
(``name=span.calls, statistic=count``), and the duration as a timer — count and totalTime
rates, max, and per-bucket rates with ``statistic=percentile`` and an ``le`` tag — so SLOs
and canary analysis can use traces where a service exports no metrics.

Spans are bucketed by end time; a bucket is emitted one step after it closes, and a span
arriving later than that counts in the oldest bucket still open.

Memory stays bounded whatever clients send:

* a span ending more than ``max_future_steps`` steps after the clock's now is not bucketed
  (it would open a bucket per far-future step, never flushed): it is dropped and counted
  (``dropped_future``, ``watchfloor_span_metrics_dropped_spans{reason="future"}``);
* at most ``max_keys`` distinct (service, operation, kind, status, cluster) keys are held
  in the open buckets. Over that, a span with a new key counts under ``span.name="other"``
  for its service, kind, status and cluster (``collapsed``,
  ``watchfloor_span_metrics_other_spans``); those "other" keys may take a tenth more room,
  and past that a span with a new key is dropped and counted (``dropped_overflow``,
  ``reason="keys"``). The count starts over as buckets are emitted, so new names get in
  again once the ones that crowded them out are gone.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter

from store.model import DURATION_BUCKETS, KIND_NAMES, OTHER_OPERATION, STATUS_NAMES, Datapoint, Span

_LE = [format(b, "g") for b in DURATION_BUCKETS] + ["+Inf"]
MAX_KEYS = 10_000
MAX_FUTURE_STEPS = 5
OTHER = OTHER_OPERATION


@dataclass
class _Cell:
    calls: int = 0
    total_s: float = 0.0
    max_s: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(_LE))


class SpanMetrics:
    """Thread-safe accumulator: receivers call :meth:`observe`, one loop calls :meth:`flush`."""

    def __init__(
        self,
        step_ms: int,
        *,
        clock: Callable[[], float] = time.time,
        max_keys: int = MAX_KEYS,
        max_future_steps: int = MAX_FUTURE_STEPS,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._step_ms = step_ms
        self._clock = clock
        self._max_keys = max_keys
        self._key_limit = max_keys + max(max_keys // 10, 1)  # room for the "other" keys
        self._max_future_ms = max_future_steps * step_ms
        self._lock = threading.Lock()
        self._open: dict[int, dict[tuple[str, ...], _Cell]] = {}
        self._keys: set[tuple[str, ...]] = set()  # every key of the open buckets
        self._closed_until = 0  # buckets ending at or before this have been emitted
        self._tags: dict[tuple[str, ...], dict[str, dict[str, str]]] = {}
        self.dropped_future = 0
        self.dropped_overflow = 0
        self.collapsed = 0
        registry = registry if registry is not None else CollectorRegistry()
        self._dropped_counter = Counter(
            "watchfloor_span_metrics_dropped_spans",
            "Spans left out of span-derived metrics, by reason (future: ending too far ahead; "
            "keys: over the cap of distinct keys).",
            ["reason"],
            registry=registry,
        )
        self._other_counter = Counter(
            "watchfloor_span_metrics_other_spans",
            'Spans counted under span.name="other" because the distinct keys were at their cap.',
            registry=registry,
        )
        for reason in ("future", "keys"):
            self._dropped_counter.labels(reason)

    def observe(self, spans: Iterable[Span]) -> None:
        step = self._step_ms
        latest_ms = int(self._clock() * 1000) + self._max_future_ms
        future = overflow = collapsed = 0
        with self._lock:
            keys = self._keys
            for span in spans:
                end_ms = span.end_ns // 1_000_000
                if end_ms > latest_ms:
                    future += 1
                    continue
                bucket = max(-(-end_ms // step) * step, self._closed_until + step)
                key = (
                    span.service,
                    span.name,
                    KIND_NAMES.get(span.kind, "unspecified"),
                    STATUS_NAMES.get(span.status_code, "unset"),
                    str(span.resource.get("nf.cluster", "")),
                )
                if key not in keys:
                    if len(keys) >= self._max_keys:
                        key = (key[0], OTHER, key[2], key[3], key[4])
                        if key not in keys and len(keys) >= self._key_limit:
                            overflow += 1
                            continue
                        collapsed += 1
                    keys.add(key)
                cell = self._open.setdefault(bucket, {}).setdefault(key, _Cell())
                seconds = max(span.end_ns - span.start_ns, 0) / 1e9
                cell.calls += 1
                cell.total_s += seconds
                cell.max_s = max(cell.max_s, seconds)
                # Cumulative buckets, as Prometheus histograms expose them.
                for index in range(bisect.bisect_left(DURATION_BUCKETS, seconds), len(_LE)):
                    cell.buckets[index] += 1
            self.dropped_future += future
            self.dropped_overflow += overflow
            self.collapsed += collapsed
        if future:
            self._dropped_counter.labels("future").inc(future)
        if overflow:
            self._dropped_counter.labels("keys").inc(overflow)
        if collapsed:
            self._other_counter.inc(collapsed)

    def flush(self, now_ms: int) -> list[Datapoint]:
        """Emit every bucket that closed at least one step before ``now_ms``."""
        step = self._step_ms
        horizon = (now_ms - step) // step * step
        with self._lock:
            ready = sorted(b for b in self._open if b <= horizon)
            cells = [(b, self._open.pop(b)) for b in ready]
            self._closed_until = max(self._closed_until, horizon)
            if cells:
                self._keys = {key for by_key in self._open.values() for key in by_key}
        points: list[Datapoint] = []
        per_second = 1000.0 / step
        used: dict[tuple[str, ...], dict[str, dict[str, str]]] = {}
        for bucket, by_key in cells:
            for key, cell in by_key.items():
                tags = used.get(key) or self._tag_sets(key)
                used[key] = tags
                points.append(Datapoint(tags["calls"], bucket, cell.calls * per_second))
                points.append(Datapoint(tags["count"], bucket, cell.calls * per_second))
                points.append(Datapoint(tags["totalTime"], bucket, cell.total_s * per_second))
                points.append(Datapoint(tags["max"], bucket, cell.max_s))
                for le, count in zip(_LE, cell.buckets, strict=True):
                    points.append(Datapoint(tags[le], bucket, count * per_second))
        if cells:
            self._tags = used  # the keys still in use keep their dicts; the rest are let go
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
