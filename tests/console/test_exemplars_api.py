"""GET /api/v1/exemplars on a real store behind uvicorn: the answer, refusals, a spike leading to its trace.

Until app.py registers the router, it is served in an app of its own with the server's error
handlers, and added to a whole server for the spike test.
"""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi import FastAPI

import console.api.exemplars as exemplars_api
from collectors.span_metrics import SpanMetrics
from console.api.app import Server
from console.api.exemplars import exemplar_router
from console.config import ServerConfig
from sample_services.errors import install_error_handlers
from sample_services.serving import ServerThread
from store.duckdb_store import DuckDBStore
from store.model import STATUS_ERROR, Datapoint, Span
from tests.support.polling import eventually

STEP = 10_000
T0 = 1_800_000_000_000
NOW_S = (T0 + 10 * STEP) / 1000
MS = 1_000_000
SPIKE = "5" * 32
UNSET = "status.code,unset,:eq,:and"
MAX = f"name,span.duration,:eq,statistic,max,:eq,:and,nf.app,drm,:eq,:and,{UNSET}"


def _trace_id(step: int, n: int) -> str:
    """The n-th span of a step's trace id (never all zeros: OTLP refuses that)."""
    return f"{step + 1:02d}{n + 1:030x}"


def _span(trace_id: str, end_ms: int, duration_ms: int, status: int = 0) -> Span:
    end_ns = end_ms * MS
    return Span(
        trace_id, trace_id[-16:], "", "POST /license", 2, end_ns - duration_ms * MS, end_ns, "drm", status
    )


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """Six steps of drm spans, steady at 20–40 ms but for one 2.5 s span in the fourth; one error."""
    store = DuckDBStore(tmp_path_factory.mktemp("exemplars") / "watchfloor.duckdb")
    spans = [
        _span(_trace_id(s, n), T0 + s * STEP + (n + 1) * 1_000, 20 + 10 * n)
        for s in range(6)
        for n in range(3)
    ]
    spans += [_span(SPIKE, T0 + 3 * STEP + 5_000, 2_500), _span("e" * 32, T0 + 1_000, 5, STATUS_ERROR)]
    store.write_spans(spans)
    # The series come the way the server makes them: span metrics over the same spans.
    metrics = SpanMetrics(STEP, clock=lambda: NOW_S)
    metrics.observe(spans)
    store.write_datapoints(metrics.flush(T0 + 20 * STEP))
    store.write_datapoints([Datapoint({"name": "up", "nf.app": "drm", "statistic": "count"}, T0 + STEP, 1.0)])
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(exemplar_router(store, STEP, lambda: NOW_S))
    thread = ServerThread()
    url = thread.start(app)
    yield url
    thread.stop()
    store.close()


def _get(api: str, **params: str) -> httpx.Response:
    return httpx.get(
        f"{api}/api/v1/exemplars", params={"start": str(T0), "end": str(T0 + 6 * STEP), **params}
    )


def test_the_answer_lists_each_span_derived_series_with_its_exemplars_per_step(api):
    answer = _get(api, q="nf.app,drm,:eq,statistic,count,:eq,:and")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["start"] == T0 and body["step"] == STEP
    # The up series is not span-derived: left out. Calls and the timer's count, unset and error.
    names = sorted(s["tags"]["name"] for s in body["series"])
    assert names == ["span.calls", "span.calls", "span.duration", "span.duration"]
    calls = [s for s in body["series"] if s["tags"]["name"] == "span.calls"]
    [ok_calls] = [s for s in calls if s["tags"]["status.code"] == "unset"]
    first = ok_calls["exemplars"][0]
    assert first == {
        "timestamp_ms": T0 + STEP,
        "trace_id": _trace_id(0, 2),
        "span_id": _trace_id(0, 2)[-16:],
        "operation": "POST /license",
        "duration_ms": 40.0,
        "status": "unset",
        "value": 3 * (1000 / STEP),  # three calls in ten seconds, as a rate per second
    }
    assert [e["timestamp_ms"] for e in ok_calls["exemplars"]] == [T0 + (s + 1) * STEP for s in range(6)]
    [errors] = [s for s in calls if s["tags"]["status.code"] == "error"]
    assert [(e["trace_id"], e["status"]) for e in errors["exemplars"]] == [("e" * 32, "error")]


def test_the_range_defaults_to_the_hour_before_now_and_the_step_to_the_servers(api):
    answer = httpx.get(f"{api}/api/v1/exemplars", params={"q": MAX})
    assert answer.status_code == 200, answer.text
    [series] = answer.json()["series"]
    assert answer.json()["step"] == STEP and len(series["exemplars"]) == 6


def test_a_bucket_series_shows_spans_of_its_bucket_only(api):
    q = f"name,span.duration,:eq,statistic,percentile,:eq,:and,le,2.5,:eq,:and,{UNSET}"
    [series] = _get(api, q=q).json()["series"]
    assert [(e["timestamp_ms"], e["trace_id"]) for e in series["exemplars"]] == [(T0 + 4 * STEP, SPIKE)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": str(T0 + STEP), "end": str(T0)}, "start"),  # inverted
        ({"start": str(T0), "end": str(T0)}, "start"),  # empty
        ({"start": "yesterday"}, "start"),
        ({"end": "2027-01-15T10:00:00"}, "end"),  # an ISO time without a zone
        ({"q": ""}, "q"),
        ({"q": "name,:eq"}, "q"),
        ({"q": "name=~["}, "q"),
        ({"q": "name,span.calls,:eq", "step": "999"}, "step"),
        ({"q": "name,span.calls,:eq", "step": "10s"}, "step"),
        ({"q": "name,span.calls,:eq", "step": "-10000"}, "step"),
        ({"q": "name,span.calls,:eq", "start": str(T0 - 10**9), "step": "1000"}, "step"),  # a million steps
        # 50,000 steps leave room for two series: the three calls and count series are too many.
        ({"q": "statistic,count,:eq", "start": str(T0 + 6 * STEP - 50_000_000), "step": "1000"}, "q"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(api, params, field):
    answer = _get(api, **{"q": MAX, **params})
    assert answer.status_code == 400, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]


def test_a_missing_query_and_too_many_series_are_400s_naming_q(api, monkeypatch):
    answer = httpx.get(f"{api}/api/v1/exemplars")
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "q"
    monkeypatch.setattr(exemplars_api, "MAX_SERIES", 1)
    answer = _get(api, q="name,span.calls,:eq")
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "q"
    assert "2 series match" in answer.json()["errors"][0]["reason"]


def _otlp_span(trace_id: str, end_ns: int, duration_ms: int) -> dict:
    return {
        "traceId": trace_id,
        "spanId": trace_id[-16:],
        "name": "GET /manifest",
        "kind": 2,
        "startTimeUnixNano": str(end_ns - duration_ms * MS),
        "endTimeUnixNano": str(end_ns),
    }


def test_a_spike_on_the_max_chart_leads_to_its_trace(tmp_path):
    """Through the whole server: OTLP in, span metrics flushed, the peak's exemplar, its trace."""
    now_ms = int(time.time()) * 1000
    clock = [now_ms / 1000]
    config = ServerConfig(data_dir=tmp_path / "server", step_ms=1_000)
    server = Server(config, clock=lambda: clock[0])
    thread = ServerThread()
    url = thread.start(server.app)
    try:
        # Five one-second steps ahead of the clock (so still open), steady but for one slow span.
        spans = [
            _otlp_span(_trace_id(s, n), (now_ms + s * 1_000 + 200 * (n + 1)) * MS, 10 + n)
            for s in range(5)
            for n in range(3)
        ]
        spans.append(_otlp_span(SPIKE, (now_ms + 2_000 + 500) * MS, 900))
        resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "cdn"}}]}
        body = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]}
        assert httpx.post(f"{url}/v1/traces", json=body).status_code == 200
        clock[0] = (now_ms + 7_000) / 1000  # every step closes: the next flush writes them
        params = {"q": "name,span.duration,:eq,statistic,max,:eq,:and,nf.app,cdn,:eq,:and", "step": "1000"}

        def exemplars() -> list[dict] | None:
            answer = httpx.get(f"{url}/api/v1/exemplars", params=params)
            assert answer.status_code == 200, answer.text
            found = answer.json()["series"]
            return found[0]["exemplars"] if found and len(found[0]["exemplars"]) == 5 else None

        found = eventually(exemplars, what="the span-derived series")
        peak = max(found, key=lambda e: e["value"])
        assert peak["timestamp_ms"] == now_ms + 3_000 and peak["value"] == 0.9
        assert peak["trace_id"] == SPIKE and peak["duration_ms"] == 900.0
        trace = httpx.get(f"{url}/api/v1/traces/{peak['trace_id']}")
        assert trace.status_code == 200, trace.text
        assert [s["span_id"] for s in trace.json()["spans"]] == [peak["span_id"]]
    finally:
        thread.stop()
