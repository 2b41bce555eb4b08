"""Every service's /metrics parses with the Prometheus parser and counts the requests made."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.metrics import scrape, total, value
from tests.support.polling import eventually

PLAYS = 6


@pytest.mark.parametrize(
    "cluster",
    [
        "playback-v1",
        "encoding-v1",
        "cdn-v1",
        "drm-v1",
        "playback-v2-canary",
        "encoding-v2-canary",
        "cdn-v2-canary",
        "drm-v2-canary",
    ],
)
def test_every_instance_serves_parseable_prometheus_text(fleet, cluster):
    answer = httpx.get(f"{fleet.url(cluster)}/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name for f in text_string_to_metric_families(answer.text)}
    assert {
        "http_server_requests",
        "http_server_request_duration_seconds",
        "log_shipper_documents",
        "otel_spans_exported",
    } <= families


def test_metrics_are_offered_as_openmetrics_when_asked(fleet):
    answer = httpx.get(
        f"{fleet.url('drm-v1')}/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.rstrip().endswith("# EOF")


def test_play_starts_are_counted_by_playback_drm_and_cdn(fleet):
    playback = fleet.url("playback-v1")
    drm, cdn = fleet.urls("drm"), fleet.urls("cdn")
    before = {
        "http": value(
            scrape(playback), "http_server_requests_total", route="/play", method="POST", status_class="2xx"
        ),
        "starts": value(scrape(playback), "playback_play_starts_total", outcome="success"),
        "ttff": value(scrape(playback), "playback_time_to_first_frame_seconds_count", device="xbox"),
        "licenses": total(drm, "drm_licenses_total", system="playready", outcome="granted"),
        "manifests": total(cdn, "cdn_requests_total", kind="manifest"),
        "segments": total(cdn, "cdn_requests_total", kind="segment"),
    }
    for _ in range(PLAYS):
        answer = httpx.post(
            f"{playback}/play", json={"title_id": "80100074", "device": "xbox", "drm_system": "playready"}
        )
        # The drm canary carries no regression in this fleet, so every start succeeds.
        assert answer.status_code == 200, answer.text
    after = scrape(playback)
    assert (
        value(after, "http_server_requests_total", route="/play", method="POST", status_class="2xx")
        - before["http"]
        == PLAYS
    )
    assert value(after, "playback_play_starts_total", outcome="success") - before["starts"] == PLAYS
    assert value(after, "playback_time_to_first_frame_seconds_count", device="xbox") - before["ttff"] == PLAYS
    assert (
        total(drm, "drm_licenses_total", system="playready", outcome="granted") - before["licenses"] == PLAYS
    )
    assert total(cdn, "cdn_requests_total", kind="manifest") - before["manifests"] == PLAYS
    assert total(cdn, "cdn_requests_total", kind="segment") - before["segments"] == 2 * PLAYS


def test_failed_requests_are_counted_by_status_class(fleet):
    drm = fleet.url("drm-v1")
    before = value(scrape(drm), "http_server_requests_total", route="/license", status_class="4xx")
    denied_before = value(scrape(drm), "drm_licenses_total", system="fairplay", outcome="denied")
    for _ in range(3):
        answer = httpx.post(
            f"{drm}/license", json={"system": "fairplay", "title_id": "80100000", "device": "xbox"}
        )
        assert answer.status_code == 403
    after = scrape(drm)
    assert value(after, "http_server_requests_total", route="/license", status_class="4xx") - before == 3
    assert value(after, "drm_licenses_total", system="fairplay", outcome="denied") - denied_before == 3


def test_encoding_counts_jobs_by_status_and_scores_every_rendition(fleet):
    encoding = fleet.url("encoding-v1")
    before = scrape(encoding)
    answer = httpx.post(f"{encoding}/jobs", json={"title_id": "80100111"})
    assert answer.status_code == 202
    job_id = answer.json()["job_id"]
    job = eventually(
        lambda: (
            (j := httpx.get(f"{encoding}/jobs/{job_id}").json())["status"] in {"completed", "failed"} and j
        ),
        what="the encode to finish",
    )
    after = scrape(encoding)
    assert (
        value(after, "encoding_jobs_total", status="submitted")
        - value(before, "encoding_jobs_total", status="submitted")
        == 1
    )
    assert (
        value(after, "encoding_jobs_total", status=job["status"])
        - value(before, "encoding_jobs_total", status=job["status"])
        == 1
    )
    assert value(after, "encoding_quality_score_count") - value(
        before, "encoding_quality_score_count"
    ) == len(job["renditions"])
    assert ("encoding_queue_depth", frozenset()) in after
