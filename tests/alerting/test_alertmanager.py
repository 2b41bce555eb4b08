"""A real Alertmanager between Watchfloor and PagerDuty: Watchfloor posts its alerts to it
(API v2) and it routes them to the PagerDuty fake through its own ``pagerduty_configs``
(url override); alerts from elsewhere reach Watchfloor's intake through its webhook."""

from __future__ import annotations

import time

import httpx
import pytest

from canary.scopes import iso
from sample_services.slos import DEMO_SLO_DIR
from store.model import Datapoint
from tests.fakes.pagerduty import serve_pagerduty_fake
from tests.support.alertmanager import running_alertmanager
from tests.support.polling import eventually
from tests.support.ports import free_port
from tests.support.server import RunningServer

KEY = "R0UT1NGKEY0123456789ABCDEFGHIJKL"
TOKEN = "api-token-for-alertmanager-tests"

CONFIG = """
route:
  receiver: watchfloor
  group_by: [alertname, slo]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - receiver: pagerduty
      matchers: ['alertname="SLOBurnRate"']
receivers:
  - name: pagerduty
    pagerduty_configs:
      - routing_key: {key}
        url: {pagerduty}/v2/enqueue
        send_resolved: true
  - name: watchfloor
    webhook_configs:
      - url: {watchfloor}/api/v1/intake/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {token}
"""


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    folder = tmp_path_factory.mktemp("alertmanager")
    port = free_port()
    with serve_pagerduty_fake() as (fake, pagerduty):
        server = RunningServer(
            folder / "server",
            step_ms=60_000,
            slo_dir=DEMO_SLO_DIR,
            alert_eval_interval_s=0.5,
            alertmanager_url=f"http://127.0.0.1:{port}",
            api_token=TOKEN,
        )
        try:
            config = CONFIG.format(key=KEY, pagerduty=pagerduty, watchfloor=server.url, token=TOKEN)
            with running_alertmanager(folder / "am", config, port) as url:
                yield server, fake, url
        finally:
            server.stop()


def test_watchfloor_s_alerts_reach_pagerduty_through_alertmanager(system):
    server, fake, alertmanager = system
    end = int(time.time() * 1000) // 60_000 * 60_000
    base = {"name": "http_server_requests", "nf.app": "drm", "route": "/license"}
    points = []
    for ts in range(end - 7_200_000, end + 1, 60_000):
        bad = 0.5 if ts > end - 600_000 else 0.0
        points += [
            Datapoint({**base, "status_class": "5xx"}, ts, bad),
            Datapoint({**base, "status_class": "2xx"}, ts, 1 - bad),
        ]
    server.server.store.write_datapoints(points)
    triggers = eventually(lambda: fake.triggers(KEY), timeout_s=60, what="Alertmanager's PagerDuty trigger")
    # Alertmanager's own integration: its dedup key is the SHA-256 of its group key.
    assert all(len(t.dedup_key) == 64 for t in triggers)
    assert any("SLOBurnRate" in t.payload["summary"] for t in triggers)
    posted = httpx.get(f"{alertmanager}/api/v2/alerts").json()
    assert {a["labels"]["slo"] for a in posted} >= {"drm-license-availability"}
    assert all("/api/v1/alerts/" in a["generatorURL"] for a in posted)


def test_alertmanager_s_webhook_brings_other_alerts_to_watchfloor(system):
    server, _, alertmanager = system
    now = int(time.time() * 1000)
    alert = {
        "labels": {"alertname": "DiskFull", "instance": "edge-1", "severity": "ticket"},
        "annotations": {"summary": "disk 97 % full"},
        "startsAt": iso(now - 60_000),
    }
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=[alert]).status_code == 200

    def arrived():
        found = httpx.get(f"{server.url}/api/v1/alerts", params={"label": "alertname=DiskFull"}).json()[
            "alerts"
        ]
        return found or None

    [shown] = eventually(arrived, timeout_s=30, what="the webhook at Watchfloor's intake")
    assert (shown["rule"], shown["state"], shown["annotations"]["summary"]) == (
        "alertmanager",
        "firing",
        "disk 97 % full",
    )
    assert (
        httpx.post(f"{alertmanager}/api/v2/alerts", json=[{**alert, "endsAt": iso(now)}]).status_code == 200
    )
    eventually(lambda: arrived()[0]["state"] == "resolved" or None, timeout_s=30, what="the resolve")
