"""Chaos on drm pages once through PagerDuty (the fake), even when PagerDuty answers 429,
429 and 500 first, and the page resolves itself after recovery.

The whole path is real: the fleet serves traffic, the server scrapes it every second at a
5-second step, evaluates its alert rules every second and delivers through the outbox.
The drm SLO is put through the API with its page tier compressed to 12 m / 1 m at 14.4
(as in ``test_slo_burn.py``) so that its short window falls back within the test.
"""

from __future__ import annotations

import httpx
import pytest

from sample_services.fleet import write_fleet_file
from sample_services.slos import DEMO_SLO_DIR
from tests.e2e.test_slo_burn import FAST, fast_copy
from tests.fakes.pagerduty import serve_pagerduty_fake
from tests.support.fleet import start_fleet, steady_traffic
from tests.support.polling import eventually
from tests.support.server import RunningServer

KEY = "R0UT1NGKEY0123456789ABCDEFGHIJKL"
CHAOS_S = 40.0


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    data = tmp_path_factory.mktemp("paging")
    with serve_pagerduty_fake() as (fake, url):
        server = RunningServer(
            data / "server",
            step_ms=5_000,
            scrape_interval_ms=1_000,
            slo_dir=DEMO_SLO_DIR,
            alert_eval_interval_s=1.0,
            pagerduty_url=url,
            pagerduty_routing_key=KEY,
        )
        fleet = start_fleet(data / "logs", otlp_endpoint=None, bulk_url=None, canaries=False)
        write_fleet_file(server.server.config.fleet_map, [i.spec for i in fleet.instances.values()])
        try:
            with steady_traffic(fleet):
                yield server, fleet, fake
        finally:
            fleet.stop()
            server.stop()


def fast_page(server):
    alerts = httpx.get(
        f"{server.url}/api/v1/alerts", params={"label": [f"slo={FAST}", "severity=page"]}, timeout=30
    ).json()["alerts"]
    return alerts[0] if alerts else None


def test_chaos_pages_once_through_429s_and_a_500_and_resolves_after(system):
    server, fleet, fake = system
    assert httpx.put(f"{server.url}/api/v1/slos/{FAST}", content=fast_copy()).status_code == 201
    eventually(
        lambda: (
            httpx.get(f"{server.url}/api/v1/slos/{FAST}").json()["objectives"][0]["burn_rates"][0][
                "long_events"
            ]
            > 50
        ),
        timeout_s=90,
        what="licence traffic in the fast SLO's long window",
    )
    # Calm: drm pages nothing. (Other SLOs may: a loaded machine slows the fleet enough to
    # burn the latency SLOs, which is the system working; they page on their own keys.)
    calm = [e.payload.get("summary") for e in fake.events if e.payload.get("component") == "drm"]
    assert calm == []
    before = len(fake.requests)
    fake.fail_next(429, 429, 500, retry_after=1)
    for url in fleet.urls("drm"):
        assert httpx.post(f"{url}/chaos", json={"error_rate": 0.5, "duration_s": CHAOS_S}).status_code == 200

    alert = eventually(lambda: (a := fast_page(server)) and a["state"] == "firing" and a, timeout_s=120,
                       what="the fast SLO's page alert")  # fmt: skip
    key = alert["dedup_key"]
    [trigger] = eventually(lambda: fake.triggers(KEY, dedup_key=key), timeout_s=120, what="its trigger")
    assert trigger.payload["severity"] == "critical"
    assert trigger.payload["group"] == FAST
    # PagerDuty answered 429, 429 and 500 first (to whichever page came first): retried, taken.
    assert [r.status for r in fake.requests[before : before + 3]] == [429, 429, 500]

    # The chaos ends by itself; the 1 m window empties; the page resolves itself.
    eventually(lambda: fast_page(server)["state"] == "resolved" or None, timeout_s=180, what="recovery")
    eventually(lambda: fake.alert(KEY, key).state == "resolved" or None, timeout_s=60, what="the resolve")
    assert len(fake.triggers(KEY, dedup_key=key)) == 1  # however many evaluations ran
    shown = httpx.get(f"{server.url}/api/v1/notifications", params={"channel": "pagerduty"}).json()
    assert {n["status"] for n in shown["notifications"]} == {"sent"}
    # Every page, of every SLO that burned, went out exactly once.
    keys = [t.dedup_key for t in fake.triggers(KEY)]
    assert len(keys) == len(set(keys))
