"""One play request is one trace across playback → drm and playback → cdn, exported over OTLP."""

from __future__ import annotations

import httpx

from tests.support.fleet import RunningFleet
from tests.support.otlp_sink import OtlpSink
from tests.support.polling import eventually

SERVER, CLIENT = 2, 3  # OTLP SpanKind values


def _play(fleet: RunningFleet, cluster: str = "playback-v1") -> httpx.Response:
    return httpx.post(
        f"{fleet.url(cluster)}/play",
        json={"title_id": "80100000", "device": "smart_tv", "drm_system": "widevine"},
    )


def _server_span_of_play(sink: OtlpSink, session_trace: str) -> dict:
    spans = sink.trace(session_trace)
    return next(s for s in spans if s["service"] == "playback" and s["kind"] == SERVER)


def test_a_play_request_is_one_trace_spanning_playback_drm_and_cdn(fleet, otlp_sink):
    sink, _ = otlp_sink
    answer = _play(fleet)
    assert answer.status_code == 200, answer.text
    fleet.flush()

    def play_trace():
        candidates = [
            s
            for s in sink.spans()
            if s["service"] == "playback"
            and s["kind"] == SERVER
            and s["name"] == "POST /play"
            and s["attributes"].get("http.response.status_code") == 200
        ]
        for root in candidates:
            services = {s["service"] for s in sink.trace(root["trace_id"])}
            if {"playback", "drm", "cdn"} <= services:
                return root["trace_id"]
        return None

    trace_id = eventually(play_trace, what="a play trace with playback, drm and cdn spans")
    spans = sink.trace(trace_id)
    by_id = {s["span_id"]: s for s in spans}
    root = next(s for s in spans if s["parent_span_id"] == "")
    assert (root["service"], root["kind"], root["name"]) == ("playback", SERVER, "POST /play")

    # Every downstream server span's parent is a playback client span, itself a child of the root.
    downstream = [s for s in spans if s["kind"] == SERVER and s["service"] in {"drm", "cdn"}]
    assert {s["name"] for s in downstream} == {
        "POST /license",
        "GET /manifest/{title_id}",
        "GET /segment/{title_id}/{rendition}/{n}",
    }
    for server_span in downstream:
        client_span = by_id[server_span["parent_span_id"]]
        assert client_span["service"] == "playback"
        assert client_span["kind"] == CLIENT
        assert client_span["parent_span_id"] == root["span_id"]
        assert client_span["name"] == server_span["name"], "client and server name the same route"
    # Two first segments plus a manifest from cdn, one license from drm.
    assert sorted(s["service"] for s in downstream) == ["cdn", "cdn", "cdn", "drm"]


def test_spans_carry_the_resource_attributes_of_their_instance(fleet, otlp_sink):
    sink, _ = otlp_sink
    assert _play(fleet, "playback-v2-canary").status_code == 200
    fleet.flush()
    span = eventually(
        lambda: next(
            (s for s in sink.spans() if s["resource"].get("nf.cluster") == "playback-v2-canary"), None
        ),
        what="a span from the playback canary",
    )
    resource = span["resource"]
    assert resource["service.name"] == "playback"
    assert resource["service.version"] == "2.0.0-rc.1"
    assert resource["service.instance.id"].startswith("playback-v2-canary-")
    assert resource["deployment.environment"] == "demo"


def test_a_valid_incoming_traceparent_is_continued(fleet, otlp_sink):
    sink, _ = otlp_sink
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    answer = httpx.get(
        f"{fleet.url('cdn-v1')}/manifest/80100000", headers={"traceparent": f"00-{trace_id}-{parent_id}-01"}
    )
    assert answer.status_code == 200
    fleet.flush()
    span = eventually(lambda: next(iter(sink.trace(trace_id)), None), what="the continued trace")
    assert span["parent_span_id"] == parent_id
    assert span["name"] == "GET /manifest/{title_id}"


def test_invalid_traceparent_headers_are_ignored_and_start_a_new_trace(fleet, otlp_sink):
    sink, _ = otlp_sink
    cases = {
        "version ff is forbidden": "ff-4bf92f3577b34da6a3ce929d0e0e4737-00f067aa0ba902b7-01",
        "upper-case hex is invalid": "00-4BF92F3577B34DA6A3CE929D0E0E4738-00F067AA0BA902B7-01",
        "an all-zero trace id is invalid": "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "an all-zero parent id is invalid": "00-4bf92f3577b34da6a3ce929d0e0e4739-0000000000000000-01",
    }
    for case, header in cases.items():
        title = "80100037"
        answer = httpx.get(f"{fleet.url('cdn-v1')}/manifest/{title}", headers={"traceparent": header})
        assert answer.status_code == 200, case
    fleet.flush()
    bad_trace_ids = {h.split("-")[1].lower() for h in cases.values()}
    spans = eventually(
        lambda: (
            [
                s
                for s in sink.spans()
                if s["name"] == "GET /manifest/{title_id}"
                and s["attributes"].get("url.path") == "/manifest/80100037"
                and s["parent_span_id"] == ""
            ]
            or None
        ),
        what="root spans for the ignored headers",
    )
    assert len(spans) >= len(cases)
    assert not bad_trace_ids & {s["trace_id"] for s in spans}
