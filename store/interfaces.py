"""The read interfaces the analysis packages use; the DuckDB store and later backends implement them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from store.model import LogRecord, Span
from store.tag_query import TagQuery


@dataclass(frozen=True)
class SeriesValues:
    """One series over a range: ``values[i]`` covers the step ending at ``start_ms + (i + 1) * step_ms``.

    NaN marks a step with no data. ``values`` is a float64 array (often a row of a larger
    matrix: copy it before changing it).
    """

    tags: Mapping[str, str]
    start_ms: int
    step_ms: int
    values: npt.NDArray[np.float64]


def step_grid(start_ms: int, end_ms: int, step_ms: int) -> tuple[int, int]:
    """The steps of (start, end] every reader answers on: ``start`` aligned down, and their number.

    Value ``i`` covers the step ending at ``start + (i + 1) * step_ms``.
    """
    if step_ms <= 0:
        raise ValueError("step_ms must be positive")
    start = start_ms // step_ms * step_ms
    return start, max(0, -(-(end_ms - start) // step_ms))


# How the data inside one step is combined when the step is wider than the data's:
# avg (the mean of what is there), sum, min or max. Atlas: sum and count use avg, max max, min min.
Consolidation = Literal["avg", "sum", "min", "max"]


class BackendError(Exception):
    """An external backend (a Prometheus engine, an Elasticsearch cluster) failed or refused a read.

    The message names the backend and the reason, never a credential. ``client_error`` is
    True when the request itself was at fault (bad PromQL), False when the backend was
    unreachable or failed.
    """

    client_error: bool = False


class NoPromQL(BackendError):
    """PromQL was asked of a reader whose metrics are not in a Prometheus engine."""

    client_error = True

    def __init__(self) -> None:
        super().__init__("PromQL needs the Prometheus metrics backend (metrics_backend: prometheus)")


class TooManySeries(Exception):
    """A read would return more series than the caller allowed; nothing was read."""

    def __init__(self, found: int, limit: int) -> None:
        super().__init__(f"{found} series match, over the limit of {limit}")
        self.found = found
        self.limit = limit


@dataclass(frozen=True)
class SpanSearch:
    service: str | None = None
    operation: str | None = None
    min_duration_ns: int | None = None
    max_duration_ns: int | None = None
    status_code: int | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    limit: int = 100
    # Pagination: spans after this (start_ns, span_id) in newest-first order — the last span
    # of the previous page.
    before: tuple[int, str] | None = None


@dataclass(frozen=True)
class TraceQuery:
    """Traces holding at least one span that meets every span condition (Jaeger's semantics)."""

    service: str | None = None
    operation: str | None = None
    # Span or resource attributes equal to a value (as text: 500, true), every pair.
    attributes: tuple[tuple[str, str], ...] = ()
    min_duration_ns: int | None = None  # of the matching span, as Jaeger
    max_duration_ns: int | None = None
    status_code: int | None = None
    start_ns: int | None = None  # the matching span started in [start, end]
    end_ns: int | None = None
    limit: int = 20
    order: Literal["start", "duration"] = "start"  # newest first, or longest first


@dataclass(frozen=True)
class TraceSummary:
    """What a search result row shows of one trace."""

    trace_id: str
    root_service: str  # of the earliest span without a parent (the earliest span when none)
    root_operation: str
    start_ns: int
    duration_ns: int
    span_count: int
    error_count: int
    services: dict[str, int]  # spans per service, by name


@dataclass(frozen=True)
class ServiceCalls:
    """Calls from one service to another (or to an uninstrumented peer) over a time range.

    Latencies are quantiles (p50, p90, p95, p99) in nanoseconds: ``client`` of the caller's
    span when it is a client or producer span, ``server`` of the callee's span (None for a
    peer, which records nothing).
    """

    caller: str
    callee: str
    virtual: bool  # the callee is a peer named by the caller's span, with no spans of its own
    messaging: bool  # producer → consumer rather than a request
    calls: int
    errors: int
    client_latency_ns: tuple[float, ...] | None
    server_latency_ns: tuple[float, ...] | None


@dataclass(frozen=True, slots=True)
class SpanFilter:
    """Which spans made a series' points; ``None`` leaves a field unconstrained.

    ``cluster`` "" means spans whose resource has no ``nf.cluster`` (span metrics leave the
    tag off then). A duration is in the bounds when ``longer_than_s < seconds <= at_most_s``,
    the range of one histogram bucket.
    """

    service: str | None = None
    operation: str | None = None
    kind: int | None = None
    status_code: int | None = None
    cluster: str | None = None
    longer_than_s: float | None = None
    at_most_s: float | None = None


@dataclass(frozen=True, slots=True)
class Exemplar:
    """One example span of one step; ``timestamp_ms`` is the step's end, as the series point's."""

    timestamp_ms: int
    trace_id: str
    span_id: str
    name: str
    duration_ns: int
    status_code: int


@dataclass(frozen=True)
class LogSearch:
    service: str | None = None
    level: str | None = None
    levels: tuple[str, ...] = ()  # any of these levels (with ``level``, both must hold)
    trace_id: str | None = None
    text: str | None = None  # case-insensitive substring of the message
    # ECS ``labels.<key>`` equal to a value, every pair (``nf_cluster``: the canary scope).
    labels: tuple[tuple[str, str], ...] = ()
    start_ns: int | None = None
    end_ns: int | None = None
    limit: int = 100
    # Pagination: records after this (timestamp_ns, seq) in newest-first order — the last
    # record of the previous page. The seq tiebreak keeps equal timestamps from being skipped.
    before: tuple[int, int] | None = None
    # Reading forward: records strictly newer than this (timestamp_ns, seq), OLDEST first (the
    # order flips when set), so the next page goes on from the last record of this one.
    after: tuple[int, int] | None = None


class SeriesReader(Protocol):
    def series(
        self,
        query: TagQuery,
        start_ms: int,
        end_ms: int,
        step_ms: int,
        consolidation: Consolidation = "avg",
        *,
        max_series: int | None = None,
    ) -> list[SeriesValues]:
        """Matching series over (start, end], consolidated to ``step_ms``; ``start_ms`` is aligned down.

        Raises :class:`TooManySeries`, before reading anything, when more than
        ``max_series`` series match.
        """

    def tag_values(self, key: str, query: TagQuery | None = None) -> list[str]: ...

    def tag_keys(self, query: TagQuery | None = None) -> list[str]: ...


class SpanReader(Protocol):
    def trace(self, trace_id: str, limit: int | None = None) -> list[Span]: ...

    def search_spans(self, search: SpanSearch) -> list[Span]: ...

    def find_traces(self, query: TraceQuery) -> list[TraceSummary]: ...

    def span_services(self, start_ns: int | None = None) -> dict[str, int]:
        """Spans per service (since ``start_ns`` when given)."""

    def span_operations(self, service: str, start_ns: int | None = None) -> list[tuple[str, str, int]]:
        """(operation, span kind name, spans) of one service."""

    def service_calls(self, start_ns: int, end_ns: int) -> list[ServiceCalls]:
        """Calls made in [start, end]: the callee's span (a leaf client's own) started in it."""

    def span_exemplars(
        self, spans: SpanFilter, start_ms: int, end_ms: int, step_ms: int, *, per_step: int = 1
    ) -> list[Exemplar]:
        """Per step over (start, end] with matching spans: the slowest, and an error span."""


class LogReader(Protocol):
    def search_logs(self, search: LogSearch) -> list[LogRecord]: ...

    def log_counts(self, search: LogSearch, start_ms: int, end_ms: int, step_ms: int) -> list[int]:
        """Records matching ``search`` per step over (start, end]; ``start_ms`` is aligned down.

        ``counts[i]`` covers the step ending at ``start + (i + 1) * step_ms``; the search's own
        time bounds and limit are ignored.
        """
        ...

    def log_counts_by_level(
        self, search: LogSearch, start_ms: int, end_ms: int, step_ms: int
    ) -> dict[str, list[int]]:
        """As ``log_counts``, one list per level that has records in the range."""


@runtime_checkable
class PromQLReader(Protocol):
    """A series reader that also runs PromQL (the Prometheus backend)."""

    def promql_series(self, promql: str, start_ms: int, end_ms: int, step_ms: int) -> list[SeriesValues]:
        """The expression's series over (start, end] on the store's step grid, labels as Atlas tags."""
        ...


def promql_series(
    reader: object, promql: str, start_ms: int, end_ms: int, step_ms: int
) -> list[SeriesValues]:
    """``reader.promql_series(…)``; raises :class:`NoPromQL` when the reader runs no PromQL."""
    if not isinstance(reader, PromQLReader):
        raise NoPromQL()
    return reader.promql_series(promql, start_ms, end_ms, step_ms)


class Reader(SeriesReader, SpanReader, LogReader, Protocol):
    """Every read the server makes: the embedded store, or one backend per signal."""
