"""Jaeger's API v3 HTTP (JSON) gateway over the store, so Jaeger-aware tools can read Watchfloor.

Routes, parameters, answers and errors are those of Jaeger query's ``apiv3`` gateway
(``http_gateway.go``, ``query_parser.go``): traces as OTLP JSON ``TracesData`` in ``{"result": …}``,
errors as ``{"error": {"httpCode", "message"}}`` — 400 ``malformed parameter <name>: …``, 404
``No traces found`` — answered here rather than as :class:`ServiceError` (Watchfloor's shape).
Parameters are read by their camelCase names, then by the snake_case ones Jaeger still reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from console.api.otlp_json import jaeger_adjusted, traces_data
from console.api.traces import MAX_TRACE_SPANS, read_trace
from store.duckdb_store import DuckDBStore
from store.model import Span
from tracing.search import MAX_DURATION_NS, SearchError, build_query, check_trace_id

DEFAULT_SEARCH_DEPTH = 100  # Jaeger's when none is given (query_parser.go defaultSearchDepth)
# Spans one search answer may hold: whole traces, newest first, until the next would pass it
# (1,000 of 10,000 spans would not fit in memory); Jaeger lets a search return fewer.
MAX_SEARCH_SPANS = 5 * MAX_TRACE_SPANS
MAX_TIME_NS = 2**63 - 1  # span times are int64 in the store
# Jaeger's span kind names; a span of unspecified kind is listed as internal, as Jaeger does.
SPAN_KINDS = ("server", "client", "producer", "consumer", "internal")

# Each parameter by its canonical name, then the deprecated aliases Jaeger still reads.
SERVICE = ("query.serviceName", "query.service_name")
OPERATION = ("query.operationName", "query.operation_name")
ATTRIBUTES = ("query.attributes",)
TIME_MIN = ("query.startTimeMin", "query.start_time_min")
TIME_MAX = ("query.startTimeMax", "query.start_time_max")
SEARCH_DEPTH = ("query.searchDepth", "query.num_traces", "query.search_depth")
DURATION_MIN = ("query.durationMin", "query.duration_min")
DURATION_MAX = ("query.durationMax", "query.duration_max")
QUERY_RAW_TRACES = ("query.rawTraces", "query.raw_traces")
START_TIME, END_TIME = ("startTime", "start_time"), ("endTime", "end_time")
RAW_TRACES = ("rawTraces", "raw_traces")
SPAN_KIND = ("spanKind", "span_kind")


_RFC3339 = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)", re.ASCII
)
_DURATION_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)", re.ASCII)
_UNIT_NS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_TRUE, _FALSE = ("1", "t", "T", "TRUE", "true", "True"), ("0", "f", "F", "FALSE", "false", "False")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"  # Go's layout, named in its refusals


class GoFormatError(ValueError):
    """A value the Go parser Jaeger reads the parameter with would refuse; the text is Go's."""


def parse_rfc3339(text: str) -> int:
    """``time.Parse(time.RFC3339Nano, text)`` as epoch nanoseconds."""
    match = _RFC3339.fullmatch(text)  # the time to the second, the fraction, the zone
    try:
        if match is None:
            raise ValueError(text)
        seconds = (datetime.fromisoformat(match[1] + match[3]) - _EPOCH) // timedelta(seconds=1)
    except ValueError:  # also a day or an hour that does not exist
        raise GoFormatError(f"parsing time {json.dumps(text[:64])} as {json.dumps(RFC3339_NANO)}") from None
    return seconds * 10**9 + int((match[2] or "0")[:9].ljust(9, "0"))  # Go keeps nanoseconds at most


def parse_duration(text: str) -> int:
    """``time.ParseDuration(text)`` as nanoseconds: ``300ms``, ``1.5h``, ``2h45m`` (ns us µs ms s m h)."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if body == "0":
        return 0
    total, position = 0, 0
    while position < len(body) or not body:
        part = _DURATION_PART.match(body, position)
        if part is None or not (part[1] or part[2]):
            raise GoFormatError(f"time: invalid duration {json.dumps(text[:64])}")
        # Go refuses what overflows int64; the limit also keeps int() off huge digit runs.
        if len(part[1] or "") > 19:
            raise GoFormatError(f"time: invalid duration {json.dumps(text[:64])}")
        unit, fraction = _UNIT_NS[part[3].replace("µ", "u").replace("μ", "u")], (part[2] or "")[:19]
        total += int(part[1] or 0) * unit + int(fraction or 0) * unit // 10 ** len(fraction)
        position = part.end()
    return -total if text.startswith("-") else total


def parse_int(text: str) -> int:
    """``strconv.Atoi(text)``: ASCII digits with an optional sign."""
    if re.fullmatch(r"[+-]?[0-9]{1,19}", text) is None:
        raise GoFormatError(f"strconv.Atoi: parsing {json.dumps(text[:64])}: invalid syntax")
    return int(text)


def parse_bool(text: str) -> bool:
    """``strconv.ParseBool(text)``: 1 t T TRUE true True, 0 f F FALSE false False."""
    if text not in _TRUE + _FALSE:
        raise GoFormatError(f"strconv.ParseBool: parsing {json.dumps(text[:64])}: invalid syntax")
    return text in _TRUE


class JaegerError(Exception):
    """A request answered with Jaeger's error body, ``{"error": {"httpCode", "message"}}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.response = JSONResponse({"error": {"httpCode": status, "message": message}}, status_code=status)


def malformed(name: str, reason: str) -> JaegerError:
    """Jaeger's 400 for a parameter it cannot use (``tryParamError``)."""
    return JaegerError(400, f"malformed parameter {name}: {reason}")


def _param(request: Request, names: tuple[str, ...]) -> tuple[str, str] | None:
    """(value, the name it came by) of the first name with a non-empty first value, or None."""
    for name in names:
        values = request.query_params.getlist(name)
        if values and values[0]:  # Go's url.Values.Get: the first value; empty is absent
            return values[0], name
    return None


def _parsed(found: tuple[str, str] | None, parse: Callable[[str], Any]) -> Any:
    """The parameter parsed by a Go-format parser, None when absent; a 400 naming it otherwise."""
    if found is None:
        return None
    try:
        return parse(found[0])
    except (GoFormatError, ValueError) as error:
        raise malformed(found[1], str(error)) from None


def _duration_ns(found: tuple[str, str] | None) -> int | None:
    duration: int | None = _parsed(found, parse_duration)
    if found and duration is not None and not 0 <= duration <= MAX_DURATION_NS:  # build_query's bounds
        raise malformed(found[1], "must be between 0 and a week (168h)")
    return duration


def _attribute_filters(found: tuple[str, str] | None) -> list[str]:
    """``query.attributes``, a JSON object of strings, as ``key=value`` filters for build_query."""
    if found is None:
        return []
    try:
        parsed = json.loads(found[0])
    except (ValueError, RecursionError):
        raise malformed(found[1], "not valid JSON") from None
    parsed = {} if parsed is None else parsed  # Go unmarshals null into an empty map
    # A key with "=" would be split wrongly by build_query's key=value (and is no attribute key).
    if not isinstance(parsed, dict) or not all(
        isinstance(v, str) and "=" not in k for k, v in parsed.items()
    ):
        raise malformed(found[1], 'must be a JSON object of strings, e.g. {"http.status_code":"200"}')
    return [f"{key}={value}" for key, value in parsed.items()]


def parse_trace_id(text: str) -> str:
    """Jaeger's 64- or 128-bit hex trace id (1 to 32 characters, zero-padded) as 32 lowercase characters."""
    if not 1 <= len(text) <= 32 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise malformed("trace_id", f"{text[:40]!r} is not a trace id: 1 to 32 hexadecimal characters")
    try:
        return check_trace_id(text.rjust(32, "0"))
    except SearchError as error:
        raise malformed("trace_id", error.reason) from None


def _read_trace(store: DuckDBStore, trace_id: str, truncated: list[str]) -> list[Span]:
    spans, cut = read_trace(store, trace_id)
    if cut:
        truncated.append(trace_id)
    return spans


def _traces_answer(traces: list[list[Span]], raw: bool, cut: list[str], omitted: int = 0) -> JSONResponse:
    # Jaeger has no field for a cut answer; these headers tell it without changing the body.
    headers = {"X-Watchfloor-Truncated-Traces": ",".join(cut)} if cut else {}
    if omitted:
        headers["X-Watchfloor-Traces-Omitted"] = str(omitted)
    result = traces_data(trace if raw else jaeger_adjusted(trace) for trace in traces)
    return JSONResponse({"result": result}, headers=headers)


def _find_traces(store: DuckDBStore, request: Request) -> JSONResponse:
    service, operation = _param(request, SERVICE), _param(request, OPERATION)
    attributes = _attribute_filters(_param(request, ATTRIBUTES))
    time_min, time_max = _param(request, TIME_MIN), _param(request, TIME_MAX)
    if time_min is None or time_max is None:
        raise JaegerError(400, f"{TIME_MIN[0]} and {TIME_MAX[0]} are required")
    start_ns: int = _parsed(time_min, parse_rfc3339)
    end_ns: int = _parsed(time_max, parse_rfc3339)
    if start_ns >= end_ns:
        raise JaegerError(400, f"{time_min[1]} must be before {time_max[1]}")
    depth_found = _param(request, SEARCH_DEPTH)
    depth = _parsed(depth_found, parse_int)
    shortest, longest = _param(request, DURATION_MIN), _param(request, DURATION_MAX)
    min_ns, max_ns = _duration_ns(shortest), _duration_ns(longest)
    if shortest and longest and min_ns is not None and max_ns is not None and min_ns > max_ns:
        raise JaegerError(400, f"{shortest[1]} must not be over {longest[1]}")
    raw = _parsed(_param(request, QUERY_RAW_TRACES), parse_bool)
    end_ns = min(max(end_ns, 1), MAX_TIME_NS)  # into int64; with start in [0, max - 1], start < end
    try:
        query = build_query(
            service=service[0] if service else None,
            operation=operation[0] if operation else None,
            attributes=attributes,
            start_ns=min(max(start_ns, 0), MAX_TIME_NS - 1),
            end_ns=end_ns,
            limit=DEFAULT_SEARCH_DEPTH if depth is None else depth,
        )
    except SearchError as error:  # what build_query can refuse here: limit, operation, attr
        named = {"limit": depth_found, "operation": operation}.get(error.field)
        raise malformed(named[1] if named else ATTRIBUTES[0], error.reason) from None
    # Jaeger's start_time_max is exclusive; the store's end is inclusive.
    query = replace(query, min_duration_ns=min_ns, max_duration_ns=max_ns, end_ns=end_ns - 1)
    summaries = store.find_traces(query)
    if not summaries and service is not None and service[0] not in store.span_services():
        raise JaegerError(404, f"No traces found: {service[1]}: no spans of {service[0][:80]!r} are stored")
    chosen, budget = list[str](), MAX_SEARCH_SPANS
    for summary in summaries:
        budget -= min(summary.span_count, MAX_TRACE_SPANS)
        if chosen and budget < 0:
            break
        chosen.append(summary.trace_id)
    truncated: list[str] = []  # (a trace dropped by retention since the search is left out)
    traces = [spans for spans in (_read_trace(store, t, truncated) for t in chosen) if spans]
    if not traces:
        raise JaegerError(404, "No traces found")
    return _traces_answer(traces, bool(raw), truncated, omitted=len(summaries) - len(chosen))


def _get_trace(store: DuckDBStore, request: Request, trace_id_text: str) -> JSONResponse:
    trace_id = parse_trace_id(trace_id_text)
    for names in (START_TIME, END_TIME):  # Jaeger's storage hint; one indexed read finds the trace here
        _parsed(_param(request, names), parse_rfc3339)
    raw = _parsed(_param(request, RAW_TRACES), parse_bool)
    truncated: list[str] = []
    spans = _read_trace(store, trace_id, truncated)
    if not spans:
        raise JaegerError(404, f"No traces found: no spans stored for trace_id {trace_id}")
    return _traces_answer([spans], bool(raw), truncated)


def _operations(store: DuckDBStore, request: Request) -> JSONResponse:
    service = _param(request, ("service",))
    if service is None:
        raise malformed("service", "a service name is required")
    kind = _param(request, SPAN_KIND)
    if kind is not None and kind[0] not in SPAN_KINDS:
        raise malformed(kind[1], f"{kind[0][:40]!r} is not one of {', '.join(SPAN_KINDS)}")
    listed: dict[tuple[str, str], None] = {}  # ordered and without repeats
    for name, kind_name, _ in store.span_operations(service[0]):
        shown = kind_name if kind_name in SPAN_KINDS else "internal"
        if kind is None or shown == kind[0]:
            listed[(name, shown)] = None
    # An unknown service has no operations: an empty list, as Jaeger answers.
    return JSONResponse({"operations": [{"name": name, "spanKind": shown} for name, shown in listed]})


def jaeger_v3_router(store: DuckDBStore) -> APIRouter:
    """``/api/v3/{traces, traces/{trace_id}, services, operations}``; no clock: Jaeger requires
    explicit search times, nothing defaults to now."""
    router = APIRouter(prefix="/api/v3", tags=["jaeger"])

    def answer(work: Callable[[], JSONResponse]) -> JSONResponse:
        try:
            return work()
        except JaegerError as error:
            return error.response

    @router.get("/traces")
    def find_traces(request: Request) -> JSONResponse:
        """Traces with a span meeting every condition given: ``query.serviceName``, ``query.operationName``,
        ``query.attributes`` (JSON object of strings), ``query.startTimeMin``/``Max`` (RFC 3339,
        required), ``query.durationMin``/``Max`` (Go: 10ms), ``query.searchDepth`` (1–1000)."""
        return answer(lambda: _find_traces(store, request))

    @router.get("/traces/{trace_id}")
    def get_trace(trace_id: str, request: Request) -> JSONResponse:
        """One trace by its hex id, as OTLP JSON; ``startTime``/``endTime`` are accepted as hints."""
        return answer(lambda: _get_trace(store, request, trace_id))

    @router.get("/services")
    def services() -> JSONResponse:
        """Every service with stored spans, by name."""
        return JSONResponse({"services": sorted(store.span_services())})

    @router.get("/operations")
    def operations(request: Request) -> JSONResponse:
        """A ``service``'s operations with their span kinds, optionally of one ``spanKind``."""
        return answer(lambda: _operations(store, request))

    return router
