"""The running fleet's dependency graph: exactly playback→drm and playback→cdn, counted right.

Real parts throughout: the sample services on uvicorn, instrumented with the OpenTelemetry
SDK, exporting OTLP/HTTP to a Watchfloor server, which pairs the client and server spans.
"""

from __future__ import annotations

import itertools

import httpx

from sample_services.playback import FIRST_SEGMENTS
from tests.support.fleet import start_fleet
from tests.support.polling import eventually
from tests.support.server import RunningServer

# Viewers, including ones whose device does not support the DRM system they ask for: drm
# refuses those licences, and playback stops before fetching segments.
VIEWERS = [
    ("smart_tv", "widevine"),
    ("iphone", "fairplay"),
    ("xbox", "playready"),
    ("iphone", "widevine"),
    ("android_phone", "widevine"),
]
TITLES = ["80100000", "80100037", "80100074"]
PLAYS = 30


def test_the_fleet_graph_has_exactly_the_calls_playback_made(tmp_path):
    server = RunningServer(tmp_path / "server", step_ms=5_000)
    fleet = start_fleet(
        tmp_path / "logs",
        otlp_endpoint=f"{server.url}/v1/traces",
        bulk_url=None,
        apps=("playback", "drm", "cdn"),
        canaries=False,
    )
    try:
        playback = fleet.urls("playback")[0]
        answers = []
        with httpx.Client(timeout=30) as client:
            for (device, drm_system), title in zip(
                itertools.islice(itertools.cycle(VIEWERS), PLAYS), itertools.cycle(TITLES), strict=False
            ):
                body = {"title_id": title, "device": device, "drm_system": drm_system}
                answers.append(client.post(f"{playback}/play", json=body).status_code)
        started = answers.count(200)
        assert 0 < started < PLAYS, answers  # both paths taken: segments fetched, and not
        # Every play asks drm for a licence and cdn for the manifest at once; a started one
        # then fetches its first segments.
        expected = {
            ("playback", "drm"): PLAYS,
            ("playback", "cdn"): PLAYS + started * FIRST_SEGMENTS,
        }
        fleet.flush()

        def service_edges() -> dict[tuple[str, str], int] | None:
            graph = httpx.get(f"{server.url}/api/v1/dependencies").json()
            edges = {
                (e["caller"], e["callee"]): e["calls"]
                for e in graph["edges"]
                if e["connection_type"] != "virtual_node"
            }
            return edges if edges == expected else None

        eventually(service_edges, timeout_s=30, what=f"the edges {expected}")
        graph = httpx.get(f"{server.url}/api/v1/dependencies").json()
        edges = {(e["caller"], e["callee"]): e for e in graph["edges"]}
        # A cache miss at the CDN fetches from the origin, which records no spans of its own:
        # a virtual node, named by the client span's peer.service.
        assert set(edges) - set(expected) <= {("cdn", "origin")}
        for pair in expected:
            edge = edges[pair]
            assert edge["connection_type"] == "rpc" and edge["client_latency_ms"]["p50"] > 0
        refused = PLAYS - started
        assert edges[("playback", "drm")]["errors"] == refused
        assert {n["name"] for n in graph["nodes"] if not n["virtual"]} == {"playback", "drm", "cdn"}
    finally:
        fleet.stop()
        server.stop()
