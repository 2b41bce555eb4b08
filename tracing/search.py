"""Trace search: the parameters an engineer types, checked and turned into a store query.

Each refusal names the parameter and the reason, so the HTTP API and the console can
show it as it is. The matching is Jaeger's: a trace matches when one of its spans meets
every span condition (service, operation, attributes, duration, status, time).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Literal, cast

from store.interfaces import TraceQuery
from store.model import STATUS_NAMES

MAX_TRACES = 1_000
MAX_DURATION_NS = 7 * 24 * 3_600 * 10**9
STATUS_CODES: Mapping[str, int] = {name: code for code, name in STATUS_NAMES.items()}
TRACE_ID = re.compile(r"[0-9a-fA-F]{32}")
# An attribute key as OpenTelemetry writes them: letters, digits, dots, dashes, underscores.
ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_.\-/:@]{1,128}")


class SearchError(ValueError):
    """A search parameter that cannot be used, and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def check_trace_id(value: str, field: str = "trace_id") -> str:
    """The id in lowercase; 32 hexadecimal characters, not all zero (W3C's invalid id)."""
    if not TRACE_ID.fullmatch(value):
        raise SearchError(field, f"{value[:40]!r} is not a trace id: must be 32 hexadecimal characters")
    if int(value, 16) == 0:
        raise SearchError(field, "the all-zero trace id is invalid")
    return value.lower()


def parse_attributes(pairs: Iterable[str], field: str = "attr") -> tuple[tuple[str, str], ...]:
    """``key=value`` filters; the value is compared as text (``500``, ``true``)."""
    parsed = []
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals:
            raise SearchError(field, f"{pair[:80]!r} is not key=value")
        if not ATTRIBUTE_KEY.fullmatch(key):
            raise SearchError(field, f"{key[:80]!r} is not an attribute key (letters, digits, . _ - / : @)")
        parsed.append((key, value))
    return tuple(parsed)


def _duration(value: float | None, field: str) -> int | None:
    if value is None:
        return None
    if not 0 <= value * 1e6 <= MAX_DURATION_NS:  # NaN fails both comparisons
        raise SearchError(field, "must be between 0 and a week, in milliseconds")
    return round(value * 1e6)  # 1.005 ms is 1,005,000 ns, not int()'s 1,004,999


def build_query(
    *,
    service: str | None = None,
    operation: str | None = None,
    attributes: Iterable[str] = (),
    min_duration_ms: float | None = None,
    max_duration_ms: float | None = None,
    status: str | None = None,
    start_ns: int,
    end_ns: int,
    limit: int = 20,
    order: str = "start",
    service_known: Callable[[str], bool] | None = None,
) -> TraceQuery:
    """A checked :class:`TraceQuery`; :class:`SearchError` names the first bad parameter."""
    if start_ns >= end_ns:
        raise SearchError("start", "must be before end")
    if not 1 <= limit <= MAX_TRACES:
        raise SearchError("limit", f"must be between 1 and {MAX_TRACES}")
    if order not in ("start", "duration"):
        raise SearchError("sort", "must be start (newest first) or duration (longest first)")
    if status is not None and status not in STATUS_CODES:
        raise SearchError("status", "must be one of unset, ok, error")
    if operation is not None and service is None:
        raise SearchError("operation", "needs a service (operation names are per service)")
    if service is not None and service_known is not None and not service_known(service):
        raise SearchError("service", f"no spans of service {service[:80]!r} are stored")
    min_ns = _duration(min_duration_ms, "min_duration_ms")
    max_ns = _duration(max_duration_ms, "max_duration_ms")
    if min_ns is not None and max_ns is not None and min_ns > max_ns:
        raise SearchError("min_duration_ms", "must not be over max_duration_ms")
    return TraceQuery(
        service=service,
        operation=operation,
        attributes=parse_attributes(attributes),
        min_duration_ns=min_ns,
        max_duration_ns=max_ns,
        status_code=None if status is None else STATUS_CODES[status],
        start_ns=start_ns,
        end_ns=end_ns,
        limit=limit,
        order=cast(Literal["start", "duration"], order),
    )
