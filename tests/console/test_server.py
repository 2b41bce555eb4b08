"""The server's own surface: health, self-metrics, OpenAPI, the write token, the read API's bad input."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from store.model import Datapoint, LogRecord, Span
from tests.support.polling import eventually
from tests.support.server import RunningServer

T0 = 1_800_000_000_000


def test_healthz_metrics_and_openapi_answer(server):
    health = httpx.get(f"{server.url}/healthz").json()
    assert health["status"] == "ok" and health["schema_version"] >= 1
    metrics = httpx.get(f"{server.url}/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    for family in (
        'watchfloor_ingested_total{signal="datapoints"}',
        'watchfloor_ingested_total{signal="spans"}',
        'watchfloor_ingested_total{signal="logs"}',
        'watchfloor_ingest_refused_total{signal="spans"}',
        "watchfloor_write_queue_depth",
        "watchfloor_scrape_cycle_seconds",
    ):
        assert family in metrics.text
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    assert {
        "/healthz",
        "/api/v1/series",
        "/api/v1/spans",
        "/api/v1/traces",
        "/api/v1/traces/{trace_id}",
        "/api/v1/logs",
    } <= set(paths)


def test_ingest_counters_move_with_what_was_committed(server):
    body = '{"create":{}}\n{"@timestamp":"2026-11-24T10:00:00Z","message":"hello"}\n'
    httpx.post(
        f"{server.url}/logs-test/_bulk", content=body, headers={"content-type": "application/x-ndjson"}
    )
    bad = '{"create":{}}\n{"message":"no time"}\n'
    httpx.post(f"{server.url}/logs-test/_bulk", content=bad, headers={"content-type": "application/x-ndjson"})
    text = httpx.get(f"{server.url}/metrics").text
    assert 'watchfloor_ingested_total{signal="logs"} 1.0' in text
    assert 'watchfloor_bulk_rejected_documents_total{reason="document_parsing"} 1.0' in text


def test_with_a_token_every_write_needs_it_and_reads_stay_open(tmp_path):
    running = RunningServer(tmp_path / "s", api_token="t0ken-value")
    try:
        for path, content, kind in (
            (
                "/logs-test/_bulk",
                '{"create":{}}\n{"@timestamp":"2026-11-24T10:00:00Z"}\n',
                "application/x-ndjson",
            ),
            ("/v1/traces", "{}", "application/json"),
        ):
            missing = httpx.post(f"{running.url}{path}", content=content, headers={"content-type": kind})
            assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
            assert missing.json()["errors"] == [
                {"field": "authorization", "reason": "a bearer token is required"}
            ]
            wrong = httpx.post(
                f"{running.url}{path}",
                content=content,
                headers={"content-type": kind, "authorization": "Bearer no"},
            )
            assert wrong.status_code == 401
            right = httpx.post(
                f"{running.url}{path}",
                content=content,
                headers={"content-type": kind, "authorization": "Bearer t0ken-value"},
            )
            assert right.status_code == 200
        assert httpx.get(f"{running.url}/api/v1/logs").status_code == 200
        shown = httpx.get(f"{running.url}/api/v1/config").text
        assert "t0ken-value" not in shown and json.loads(shown)["api_token"] == "***"
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("path", "params", "field", "reason"),
    [
        ("/api/v1/traces/xyz", {}, "trace_id", "32 hexadecimal"),
        ("/api/v1/logs", {"trace_id": "12"}, "trace_id", "32 hexadecimal"),
        ("/api/v1/spans", {"status": "broken"}, "status", "unset, ok, error"),
        ("/api/v1/spans", {"start": "yesterday"}, "start", "ISO 8601"),
        ("/api/v1/logs", {"end": "2026-11-24T10:00:00"}, "end", "needs a zone"),
        ("/api/v1/series", {"q": "name=~(unclosed"}, "q", "invalid regular expression"),
        ("/api/v1/series", {"q": "=x"}, "q", "a tag key is required"),
        ("/api/v1/series", {"q": "name,cpu,:eq,:frob"}, "q", "unknown word ':frob'"),
        ("/api/v1/series", {"start": "2000", "end": "1000"}, "start", "before end"),
        ("/api/v1/series", {"start": "0", "end": "9000000000000", "step": "1000"}, "step", "over the limit"),
        ("/api/v1/series", {"step": "10"}, "step", "greater than or equal to 1000"),
        ("/api/v1/logs", {"limit": "100000"}, "limit", "less than or equal to 1000"),
        ("/api/v1/spans", {"start": "--5"}, "start", "ISO 8601"),
        ("/api/v1/spans", {"start": "²"}, "start", "ISO 8601"),
        ("/api/v1/logs", {"cursor": "--1:1"}, "cursor", "next_cursor"),
        ("/api/v1/spans", {"cursor": "²:00000000000000aa"}, "cursor", "next_cursor"),
        ("/api/v1/spans", {"min_duration_ms": "inf"}, "min_duration_ms", "less than or equal"),
        ("/api/v1/spans", {"max_duration_ms": "1e300"}, "max_duration_ms", "less than or equal"),
    ],
)
def test_bad_read_parameters_are_a_400_or_422_naming_the_field(server, path, params, field, reason):
    answer = httpx.get(f"{server.url}{path}", params=params)
    assert answer.status_code in (400, 422)
    [error] = answer.json()["errors"]
    assert error["field"] == field and reason in error["reason"]


def test_series_over_the_limit_are_refused_rather_than_answered(tmp_path, monkeypatch):
    import console.api.reads as reads

    monkeypatch.setattr(reads, "MAX_SERIES", 3)
    running = RunningServer(tmp_path / "s")
    try:
        running.store.write_datapoints(
            [Datapoint({"name": "cpu", "nf.node": f"i-{n}"}, T0 + 10_000, float(n)) for n in range(5)]
        )
        params = {"q": "name=cpu", "start": str(T0), "end": str(T0 + 60_000)}
        answer = httpx.get(f"{running.url}/api/v1/series", params=params)
        assert answer.status_code == 400
        assert "5 series match, over the limit of 3" in answer.json()["detail"]
        narrow = httpx.get(f"{running.url}/api/v1/series", params={**params, "q": "name=cpu,nf.node=i-2"})
        assert narrow.json()["series"][0]["values"][0] == 2.0
        atlas = httpx.get(
            f"{running.url}/api/v1/series",
            params={**params, "q": "name,cpu,:eq,nf.node,(,i-3,i-4,),:in,:and"},
        )
        assert [s["values"][0] for s in atlas.json()["series"]] == [3.0, 4.0]
    finally:
        running.stop()


def test_logs_page_backwards_without_gaps_or_repeats(server):
    server.store.write_logs(
        [
            LogRecord(
                T0 * 1_000_000 + n, "info", f"line {n}", "cdn", "", "", {"message": f"line {n}"}, "logs"
            )
            for n in range(7)
        ]
    )
    seen: list[str] = []
    before = None
    while True:
        params: dict[str, str | int] = {
            "service": "cdn",
            "limit": 3,
            **({"cursor": before} if before else {}),
        }
        page = httpx.get(f"{server.url}/api/v1/logs", params=params).json()
        seen += [r["message"] for r in page["logs"]]
        before = page["next_cursor"]
        if before is None:
            break
    assert seen == [f"line {n}" for n in range(6, -1, -1)]


def test_a_configured_elasticsearch_cluster_is_pulled_into_the_logs(tmp_path, es_fake):
    fake, es_url = es_fake
    fake.add_document(
        "logs-drm-prod",
        {
            "@timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60)),
            "log": {"level": "ERROR"},
            "message": "license server down",
            "service": {"name": "drm"},
            "trace": {"id": "4BF92F3577B34DA6A3CE929D0E0E4736"},
        },
    )
    running = RunningServer(
        tmp_path / "s",
        es_pull_url=es_url,
        es_pull_indices=("logs-*",),
        es_pull_interval_s=0.2,
        es_pull_lag_s=0.0,
        es_pull_api_key="es-secret-key",
    )
    try:
        logs = eventually(
            lambda: httpx.get(f"{running.url}/api/v1/logs", params={"service": "drm"}).json()["logs"],
            what="the pulled document",
        )
        assert [(r["level"], r["message"], r["trace_id"], r["index"]) for r in logs] == [
            ("error", "license server down", "4bf92f3577b34da6a3ce929d0e0e4736", "logs-drm-prod")
        ]
        assert fake.searches[-1].authorization == "ApiKey es-secret-key"
        shown = httpx.get(f"{running.url}/api/v1/config").text
        assert "es-secret-key" not in shown and json.loads(shown)["es_pull_api_key"] == "***"
        metrics = httpx.get(f"{running.url}/metrics").text
        assert 'watchfloor_es_pull_documents_total{index="logs-*"} 1.0' in metrics
    finally:
        running.stop()


def test_span_search_pages_newest_first_without_gaps_or_repeats(server):
    server.store.write_spans(
        [
            Span(
                "ab" * 16,
                f"{n:016x}",
                "",
                "GET /x",
                2,
                T0 * 1_000_000 + n // 2,
                T0 * 1_000_000 + 10**6,
                "cdn",
            )
            for n in range(9)
        ]
    )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {
            "service": "cdn",
            "limit": 4,
            **({"cursor": cursor} if cursor else {}),
        }
        page = httpx.get(f"{server.url}/api/v1/spans", params=params).json()
        seen += [s["span_id"] for s in page["spans"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"{n:016x}" for n in range(9)] and len(seen) == 9
    bad = httpx.get(f"{server.url}/api/v1/spans", params={"cursor": "nonsense"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "cursor"


def test_rollups_wait_longer_than_a_step_for_late_points(tmp_path):
    running = RunningServer(tmp_path / "s", step_ms=300_000)
    try:
        # Span-derived points land a step after their bucket: sealing sooner would lose them.
        assert running.store.retention.rollup_grace_ms == 360_000
    finally:
        running.stop()


def test_credentials_in_target_urls_never_reach_an_answer(tmp_path):
    from console.config import ScrapeTarget

    target = ScrapeTarget("http://scraper:s3cret@127.0.0.1:9/metrics", {"nf.app": "edge"})
    running = RunningServer(tmp_path / "s", step_ms=1_000, targets=(target,))
    try:
        shown = eventually(
            lambda: httpx.get(f"{running.url}/api/v1/targets").json()["targets"], what="a scrape"
        )
        assert shown[0]["url"] == "http://***@127.0.0.1:9/metrics" and shown[0]["health"] == "down"
        assert "s3cret" not in httpx.get(f"{running.url}/api/v1/config").text
        metrics = httpx.get(f"{running.url}/metrics").text
        assert 'watchfloor_scrape_failures_total{target="http://***@127.0.0.1:9/metrics"}' in metrics
        assert "s3cret" not in metrics
    finally:
        running.stop()


def test_span_metrics_of_steps_still_open_are_written_at_shutdown(tmp_path):
    from store.duckdb_store import DuckDBStore
    from store.tag_query import Eq

    running = RunningServer(tmp_path / "s", step_ms=60_000)
    now_ns = time.time_ns()
    span = {
        "traceId": "ab" * 16,
        "spanId": "cd" * 8,
        "name": "GET /x",
        "kind": 2,
        "startTimeUnixNano": str(now_ns - 5_000_000),
        "endTimeUnixNano": str(now_ns),
    }
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "cdn"}}]},
                "scopeSpans": [{"spans": [span]}],
            }
        ]
    }
    assert httpx.post(f"{running.url}/v1/traces", json=body).status_code == 200
    running.stop()  # well before the step closes
    store = DuckDBStore(tmp_path / "s" / "watchfloor.duckdb")
    try:
        assert store.tag_values("span.name", Eq("name", "span.calls")) == ["GET /x"]
    finally:
        store.close()


def test_a_runaway_trace_is_answered_truncated(server, monkeypatch):
    import console.api.traces as traces

    monkeypatch.setattr(traces, "MAX_TRACE_SPANS", 5)
    server.store.write_spans(
        [
            Span("ef" * 16, f"{n:016x}", "", "loop", 1, T0 * 10**6 + n, T0 * 10**6 + n + 1, "drm")
            for n in range(8)
        ]
    )
    whole = httpx.get(f"{server.url}/api/v1/traces/{'ef' * 16}").json()
    assert len(whole["spans"]) == 5 and whole["truncated"] is True


def test_a_target_answering_more_than_the_configured_body_cap_is_down_with_the_reason(tmp_path):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from console.config import ScrapeTarget
    from sample_services.serving import ServerThread

    big = "".join(f'padding_metric{{n="{n}"}} 1\n' for n in range(200))
    target_thread = ServerThread()
    target_url = target_thread.start(Starlette(routes=[Route("/metrics", lambda _: PlainTextResponse(big))]))
    target = ScrapeTarget(f"{target_url}/metrics", {"nf.app": "chatty"})
    running = RunningServer(tmp_path / "s", step_ms=1_000, targets=(target,), scrape_max_body_bytes=1_024)
    try:
        # Listed before its first scrape too (down, no error yet): wait for a scrape to finish.
        shown = eventually(
            lambda: [
                t for t in httpx.get(f"{running.url}/api/v1/targets").json()["targets"] if t["last_scrape_ms"]
            ],
            what="a finished scrape",
        )
        assert shown[0]["health"] == "down" and "body over 1024 bytes" in shown[0]["last_error"]
    finally:
        running.stop()
        target_thread.stop()
