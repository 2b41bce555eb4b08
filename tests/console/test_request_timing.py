"""The server times its own requests by route template (what the console benchmark reads)."""

from __future__ import annotations

import httpx

from collectors.prom_text import PromTextParser
from tests.support.server import RunningServer


def _counts(url: str) -> dict[tuple[str, str], float]:
    samples = PromTextParser().parse(httpx.get(f"{url}/metrics").text).samples
    return {
        (dict(s.labels)["method"], dict(s.labels)["route"]): s.value
        for s in samples
        if s.name == "watchfloor_http_request_duration_seconds_count"
    }


def test_requests_are_counted_under_their_route_template_not_their_path(tmp_path):
    server = RunningServer(tmp_path)
    try:
        for trace_id in ("a" * 32, "b" * 32):
            assert httpx.get(f"{server.url}/api/v1/traces/{trace_id}").status_code == 404
        httpx.get(f"{server.url}/api/v1/slos")
        httpx.get(f"{server.url}/no/such/path")
        counts = _counts(server.url)
        assert counts[("GET", "/api/v1/traces/{trace_id}")] == 2
        assert counts[("GET", "/api/v1/slos")] == 1
        assert counts[("GET", "unmatched")] == 1
        assert not any("a" * 32 in route for _, route in counts)
    finally:
        server.stop()
