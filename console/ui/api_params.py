"""Query parameters of the console's API client: time values, filters as typed keywords."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypedDict
from urllib.parse import quote

# Epoch milliseconds, an ISO 8601 string with a zone, or an aware datetime.
Instant = int | str | datetime
Page = dict[str, Any]


def seg(value: str) -> str:
    """A path segment: a name holding ``/`` or ``?`` must not change the route."""
    return quote(value, safe="")


def ms(value: Instant | None) -> int | str | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a datetime sent to the server needs a time zone")
        return int(value.timestamp() * 1000)
    return value


def rfc3339(value: Instant) -> str:
    """Silences take RFC 3339 text only (Alertmanager's form), not epoch milliseconds."""
    if isinstance(value, int):
        value = datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a datetime sent to the server needs a time zone")
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


def query_params(**given: Any) -> dict[str, Any]:
    """Query parameters without the unset ones (``None``, an empty list); datetimes as epoch ms."""
    return {k: ms(v) for k, v in given.items() if v is not None and v != [] and v != ()}


class _Range(TypedDict, total=False):
    start: Instant
    end: Instant


class _SpanConditions(_Range, total=False):
    service: str
    operation: str
    min_duration_ms: float
    max_duration_ms: float
    status: str  # unset, ok or error
    limit: int


class SpanQuery(_SpanConditions, total=False):
    """``spans(...)``'s keywords: the query parameters of ``/api/v1/spans``."""

    cursor: str


class TraceQuery(_SpanConditions, total=False):
    """``trace_search(...)``'s keywords; one span must meet every condition (Jaeger's rule)."""

    attrs: Mapping[str, str]
    sort: str  # start (newest first) or duration (longest first)


class LogQuery(_Range, total=False):
    """``logs(...)``'s keywords: the query parameters of ``/api/v1/logs``."""

    service: str
    level: str | list[str]  # several: any of them
    trace_id: str
    q: str  # text the message contains
    limit: int
    cursor: str  # the records older than this cursor (newest first)
    after: str  # instead: the records newer than this cursor, oldest first


class LogHistogramQuery(_Range, total=False):
    """``log_histogram(...)``'s keywords: ``/api/v1/logs/histogram``'s filters and ``step`` (e.g. ``1m``)."""

    service: str
    level: str | list[str]
    trace_id: str
    q: str
    step: str


def pairs(labels: Mapping[str, str] | None) -> list[str]:
    return [f"{k}={v}" for k, v in (labels or {}).items()]
