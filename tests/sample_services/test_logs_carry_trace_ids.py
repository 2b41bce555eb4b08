"""ECS log lines carry the trace and span id of the span they were written in."""

from __future__ import annotations

import json

import httpx

from tests.support.polling import eventually


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_log_lines_of_a_play_carry_the_ids_of_their_spans(fleet, otlp_sink):
    sink, _ = otlp_sink
    answer = httpx.post(
        f"{fleet.url('playback-v1')}/play",
        json={"title_id": "80100148", "device": "iphone", "drm_system": "fairplay"},
    )
    assert answer.status_code == 200
    session_id = answer.json()["session_id"]
    started = eventually(
        lambda: next(
            (
                d
                for d in _lines(fleet.log_path("playback-v1"))
                if d.get("labels", {}).get("session_id") == session_id
            ),
            None,
        ),
        what="the play-started log line",
    )
    trace_id, span_id = started["trace"]["id"], started["span"]["id"]
    assert len(trace_id) == 32 and len(span_id) == 16
    fleet.flush()
    spans = eventually(lambda: sink.trace(trace_id) or None, what="the play's spans")
    span = next(s for s in spans if s["span_id"] == span_id)
    assert (span["service"], span["name"]) == ("playback", "POST /play")

    # The drm instance that issued the license logged under the drm server span of the same trace.
    drm_spans = {s["span_id"] for s in spans if s["service"] == "drm"}
    drm_lines = [
        d
        for cluster in ("drm-v1", "drm-v2-canary")
        for d in _lines(fleet.log_path(cluster))
        if d.get("trace", {}).get("id") == trace_id
    ]
    assert drm_lines, "the license server logged within the trace"
    assert {d["span"]["id"] for d in drm_lines} <= drm_spans


def test_log_lines_are_ecs_documents(fleet):
    httpx.get(f"{fleet.url('cdn-v1')}/manifest/80100185")
    access = eventually(
        lambda: next(
            (
                d
                for d in _lines(fleet.log_path("cdn-v1"))
                if d.get("url", {}).get("path") == "/manifest/80100185"
            ),
            None,
        ),
        what="the access log line",
    )
    assert access["@timestamp"].endswith("Z")
    assert access["ecs"]["version"]
    assert access["log"]["level"] == "info"
    assert access["service"] == {
        "name": "cdn",
        "version": "1.0.0",
        "environment": "demo",
        "node": {"name": fleet.instances["cdn-v1"].spec.instance_id},
    }
    assert access["http"] == {"request": {"method": "GET"}, "response": {"status_code": 200}}
    assert access["event"]["dataset"] == "cdn.access"
    assert access["event"]["duration"] > 0
    assert access["labels"]["nf_cluster"] == "cdn-v1"


def test_logs_are_shipped_in_bulk_to_elasticsearch(fleet, module_es_fake):
    fake, _ = module_es_fake
    httpx.get(f"{fleet.url('cdn-v2-canary')}/manifest/80100222")
    shipped = eventually(
        lambda: [
            d for d in fake.documents("logs-cdn-demo") if d.get("url", {}).get("path") == "/manifest/80100222"
        ],
        what="the access log document in Elasticsearch",
    )
    on_disk = [
        d
        for d in _lines(fleet.log_path("cdn-v2-canary"))
        if d.get("url", {}).get("path") == "/manifest/80100222"
    ]
    assert shipped == on_disk
