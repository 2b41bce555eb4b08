"""The running server pages a burning SLO through the PagerDuty fake and shows the alert:
one trigger however many evaluations, listed and filtered by the API, acknowledged in both."""

from __future__ import annotations

import time

import httpx
import pytest

from sample_services.slos import DEMO_SLO_DIR
from store.model import Datapoint
from tests.fakes.pagerduty import serve_pagerduty_fake
from tests.support.polling import eventually
from tests.support.server import RunningServer

KEY = "R0UT1NGKEY0123456789ABCDEFGHIJKL"


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with serve_pagerduty_fake() as (fake, url):
        server = RunningServer(
            tmp_path_factory.mktemp("alerts"),
            step_ms=60_000,
            slo_dir=DEMO_SLO_DIR,
            alert_eval_interval_s=0.2,
            pagerduty_url=url,
            pagerduty_routing_key=KEY,
        )
        try:
            # Two hours of licence traffic, the last ten minutes half failing.
            end = int(time.time() * 1000) // 60_000 * 60_000
            base = {"name": "http_server_requests", "nf.app": "drm", "route": "/license"}
            points = []
            for ts in range(end - 7_200_000, end + 1, 60_000):
                bad = 0.5 if ts > end - 600_000 else 0.0
                points += [Datapoint({**base, "status_class": "5xx"}, ts, bad)]
                points += [Datapoint({**base, "status_class": "2xx"}, ts, 1.0 - bad)]
            server.server.store.write_datapoints(points)
            eventually(lambda: fake.triggers(KEY), timeout_s=60, what="a trigger")
            yield server, fake
        finally:
            server.stop()


def _drm_page(server):
    firing = httpx.get(
        f"{server.url}/api/v1/alerts", params={"state": "firing", "label": "slo=drm-license-availability"}
    ).json()["alerts"]
    [page] = [a for a in firing if a["inhibited_by"] is None]
    return page, firing


def test_a_burning_slo_pages_once_with_its_page_tier(running):
    server, fake = running
    time.sleep(1.0)  # several more evaluations
    page, _ = _drm_page(server)
    [trigger] = fake.triggers(KEY, dedup_key=page["dedup_key"])
    assert trigger.payload["severity"] == "critical"
    assert trigger.payload["group"] == "drm-license-availability"
    assert trigger.effect == "opened"
    # Whatever else pages (the journey composite counts drm too) pages on its own key.
    keys = [t.dedup_key for t in fake.triggers(KEY)]
    assert len(keys) == len(set(keys))


def test_the_api_lists_and_filters_alerts(running):
    server, _ = running
    page, firing = _drm_page(server)
    assert page["labels"]["window"] == "1h/5m" and page["severity"] == "page"
    assert all(a["inhibited_by"] == page["fingerprint"] for a in firing if a is not page)
    params = {"label": ["slo=drm-license-availability", "window=1h/5m", "severity=page"]}
    only = httpx.get(f"{server.url}/api/v1/alerts", params=params).json()
    assert [a["fingerprint"] for a in only["alerts"]] == [page["fingerprint"]]
    detail = httpx.get(f"{server.url}/api/v1/alerts/{page['fingerprint']}").json()
    assert detail["history"][-1]["transition"] == "firing"


def test_acknowledging_reaches_pagerduty(running):
    server, fake = running
    page, _ = _drm_page(server)
    answer = httpx.post(f"{server.url}/api/v1/alerts/{page['fingerprint']}/ack", json={"by": "oncall"})
    assert answer.status_code == 200 and answer.json()["acknowledged_by"] == "oncall"
    eventually(lambda: fake.alert(KEY, page["dedup_key"]).state == "acknowledged" or None, what="the ack")


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "field"),
    [
        ("get", "/api/v1/alerts", {"label": "novalue"}, 400, "label[0]"),
        ("get", "/api/v1/alerts", {"state": "burning"}, 422, "state"),
        ("get", "/api/v1/alerts/0000000000000000", {}, 404, "fingerprint"),
        ("post", "/api/v1/alerts/0000000000000000/ack", {}, 404, "fingerprint"),
    ],
)
def test_bad_requests_name_the_field(running, method, path, params, status, field):
    server, _ = running
    answer = httpx.request(method.upper(), f"{server.url}{path}", params=params)
    assert answer.status_code == status and answer.json()["errors"][0]["field"] == field


def test_alerts_group_by_label(running):
    server, _ = running
    answer = httpx.get(f"{server.url}/api/v1/alerts", params={"state": "firing", "group_by": "slo"}).json()
    groups = {g["labels"]["slo"]: g for g in answer["groups"]}
    assert "drm-license-availability" in groups
    drm = groups["drm-license-availability"]
    assert drm["firing"] == len(drm["fingerprints"]) >= 1
    assert sum(len(g["fingerprints"]) for g in answer["groups"]) == len(answer["alerts"])
