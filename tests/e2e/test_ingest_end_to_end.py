"""The whole ingest path on loopback: the server scrapes the fleet, receives its traces and its logs.

The issue's "done when": within a bounded time the store holds metric series for all four
services with ``nf.app``/``nf.cluster`` tags and counter rates that add up to the requests
made, spans from all four with cross-service parent links, and logs whose trace ids match spans.
"""

from __future__ import annotations

import asyncio
import json
import math
import time

import httpx
import pytest

from sample_services.fleet import write_fleet_file
from sample_services.traffic import TrafficGenerator
from store.interfaces import LogSearch
from store.tag_query import And, Eq
from tests.support.fleet import start_fleet
from tests.support.polling import eventually
from tests.support.server import RunningServer

STEP_MS = 2_000
APPS = {"playback", "encoding", "cdn", "drm"}
MANIFEST_REQUESTS = 25


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    data = tmp_path_factory.mktemp("e2e")
    server = RunningServer(data / "server", step_ms=STEP_MS)
    fleet = start_fleet(
        data / "fleet-logs", otlp_endpoint=f"{server.url}/v1/traces", bulk_url=f"{server.url}/_bulk"
    )
    write_fleet_file(server.server.config.fleet_map, [i.spec for i in fleet.instances.values()])
    yield server, fleet
    fleet.stop()
    server.stop()


def _scraped_after(server: RunningServer, moment_ms: int) -> bool:
    health = list(server.server.scraper.health.values())
    return len(health) == 8 and all(h.up and (h.last_scrape_ms or 0) > moment_ms for h in health)


def test_metrics_spans_and_logs_from_all_four_services_reach_the_store(system):
    server, fleet = system
    store = server.store
    cdn = fleet.url("cdn-v1")
    # One manifest request first, so the series exists when the counted requests start:
    # like Prometheus, a series' first sample gives no rate.
    assert httpx.get(f"{cdn}/manifest/80100000").status_code == 200
    warm = int(time.time() * 1000)
    eventually(lambda: _scraped_after(server, warm), timeout_s=20, what="a scrape of all 8 instances")
    started_ms = int(time.time() * 1000)
    for n in range(MANIFEST_REQUESTS):
        assert httpx.get(f"{cdn}/manifest/{80100000 + 37 * (n % 5)}").status_code == 200
    stats = asyncio.run(
        TrafficGenerator(fleet.upstreams(), sessions_per_s=8, jobs_per_min=120).run(duration_s=4)
    )
    assert stats.summary()["sessions"] > 0
    fleet.flush()
    done = int(time.time() * 1000)
    # Two more steps: the last requests' bucket closes at the scrape after it.
    eventually(lambda: _scraped_after(server, done + STEP_MS), timeout_s=20, what="scrapes after the traffic")
    time.sleep(0.5)  # the writer commits the last scrape's points

    # Metric series for every app and cluster, tagged Atlas-style.
    assert set(store.tag_values("nf.app")) >= APPS
    clusters = {f"{app}-v1" for app in APPS} | {f"{app}-v2-canary" for app in APPS}
    assert clusters <= set(store.tag_values("nf.cluster"))
    for app in APPS:
        up = store.series(And(Eq("name", "up"), Eq("nf.app", app)), started_ms, done, STEP_MS)
        seen = [v for s in up for v in s.values if not math.isnan(v)]
        assert len(up) == 2 and seen and all(v == 1.0 for v in seen)

    # Counter rates (per second over each step) add back up to the requests made.
    manifest = And(
        And(Eq("name", "http_server_requests"), Eq("nf.cluster", "cdn-v1")),
        And(Eq("route", "/manifest/{title_id}"), Eq("status_class", "2xx")),
    )
    found = store.series(manifest, warm - 10 * STEP_MS, int(time.time() * 1000), STEP_MS)
    assert len(found) == 1, [s.tags for s in found]
    served = sum(v for v in found[0].values if not math.isnan(v)) * STEP_MS / 1000
    assert served == pytest.approx(MANIFEST_REQUESTS + _manifests_from_traffic(store, started_ms))

    # Spans from all four services, with parents in another service.
    assert {s for (s,) in store.cursor().execute("SELECT DISTINCT service FROM spans").fetchall()} >= APPS
    edges = set(
        store.cursor()
        .execute(
            "SELECT DISTINCT parent.service, child.service FROM spans child JOIN spans parent "
            "ON child.trace_id = parent.trace_id AND child.parent_span_id = parent.span_id "
            "WHERE parent.service <> child.service"
        )
        .fetchall()
    )
    assert ("playback", "drm") in edges and ("playback", "cdn") in edges, edges

    # Logs from all four, whose trace ids are those of stored spans.
    eventually(
        lambda: (
            {s for (s,) in store.cursor().execute("SELECT DISTINCT service FROM logs").fetchall()} >= APPS
        ),
        timeout_s=15,
        what="logs from all four services",
    )
    matched = (
        store.cursor()
        .execute(
            "SELECT count(*), count(DISTINCT l.service) FROM logs l "
            "WHERE l.trace_id <> '' AND l.trace_id IN (SELECT trace_id FROM spans)"
        )
        .fetchone()
    )
    assert matched is not None and matched[0] > 0 and matched[1] >= 3

    # Span-derived RED series exist for the traced services.
    assert set(store.tag_values("nf.app", Eq("name", "span.calls"))) >= APPS


def _manifests_from_traffic(store, since_ms: int) -> int:
    """Successful manifest requests the traffic generator made to cdn-v1 (from the server spans)."""
    row = (
        store.cursor()
        .execute(
            "SELECT count(*) FROM spans WHERE service = 'cdn' AND kind = 2 "
            "AND name = 'GET /manifest/{title_id}' "
            "AND json_extract_string(resource, '$.\"nf.cluster\"') = 'cdn-v1' AND start_ns >= ? "
            "AND CAST(json_extract(attributes, '$.\"http.response.status_code\"') AS INTEGER) < 300",
            [since_ms * 1_000_000],
        )
        .fetchone()
    )
    return int(row[0]) - MANIFEST_REQUESTS if row else 0


def test_the_read_api_answers_series_traces_and_logs(system):
    server, _ = system
    base = f"{server.url}/api/v1"
    eventually(lambda: server.store.search_logs(LogSearch(limit=1)), what="some logs")
    series = httpx.get(f"{base}/series", params={"q": "name=up,nf.app=drm"}).json()
    assert {s["tags"]["nf.cluster"] for s in series["series"]} == {"drm-v1", "drm-v2-canary"}
    spans = httpx.get(f"{base}/spans", params={"service": "playback", "limit": 5}).json()["spans"]
    assert spans and all(s["service"] == "playback" for s in spans)
    traces = httpx.get(f"{base}/traces", params={"service": "playback", "limit": 5}).json()["traces"]
    assert traces and all(t["services"].get("playback") for t in traces)
    whole = httpx.get(f"{base}/traces/{traces[0]['trace_id']}").json()
    assert {s["service"] for s in whole["spans"]} >= {"playback"} and whole["critical_path"]
    logs = httpx.get(f"{base}/logs", params={"service": "playback", "limit": 2}).json()
    assert len(logs["logs"]) == 2 and logs["next_cursor"] is not None
    older = httpx.get(
        f"{base}/logs", params={"service": "playback", "limit": 2, "cursor": logs["next_cursor"]}
    ).json()["logs"]
    assert older and all(r["timestamp_ns"] <= logs["logs"][-1]["timestamp_ns"] for r in older)
    assert not {json.dumps(r) for r in older} & {json.dumps(r) for r in logs["logs"]}
