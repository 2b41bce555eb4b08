"""Deploy annotations from release tooling become PagerDuty change events; a failed canary
becomes a CanaryFailed alert (a ticket) that resolves when a later analysis passes."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.fakes.pagerduty import serve_pagerduty_fake
from tests.support.canary import post_canary, seed_latency
from tests.support.polling import eventually
from tests.support.server import RunningServer

KEY = "R0UT1NGKEY0123456789ABCDEFGHIJKL"


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with serve_pagerduty_fake() as (fake, url):
        server = RunningServer(
            tmp_path_factory.mktemp("annotations"), pagerduty_url=url, pagerduty_routing_key=KEY
        )
        try:
            yield server, fake
        finally:
            server.stop()


def test_a_deploy_annotation_is_kept_and_sent_as_a_change_event(running):
    server, fake = running
    sent = {"kind": "deploy", "service": "drm", "version": "2.0.0-rc.1", "summary": "canary to 5 %",
            "links": [{"href": "https://ci.example/build/42", "text": "build 42"}]}  # fmt: skip
    answer = httpx.post(f"{server.url}/api/v1/annotations", json=sent)
    assert answer.status_code == 201, answer.text
    [change] = eventually(lambda: fake.change_events, what="the change event")
    assert change.body["payload"]["summary"] == "deploy drm 2.0.0-rc.1: canary to 5 %"
    assert change.body["links"] == [{"href": "https://ci.example/build/42", "text": "build 42"}]
    listed = httpx.get(f"{server.url}/api/v1/annotations", params={"service": "drm"}).json()["annotations"]
    assert [a["id"] for a in listed] == [answer.json()["id"]]
    assert httpx.get(f"{server.url}/api/v1/annotations", params={"service": "cdn"}).json() == {
        "annotations": []
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "party", "service": "drm", "summary": "s"}, "kind"),
        ({"service": "drm"}, "summary"),
        ({"summary": "s"}, "service"),
        ({"service": "drm", "summary": "s", "time": "yesterday"}, "time"),
        ({"service": "drm", "summary": "s", "links": "x"}, "links"),
        ([], "body"),
    ],
)
def test_bad_annotations_name_the_field(running, body, field):
    server, _ = running
    answer = httpx.post(f"{server.url}/api/v1/annotations", json=body)
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == field


def test_a_bad_range_is_refused(running):
    server, _ = running
    answer = httpx.get(f"{server.url}/api/v1/annotations", params={"start": 10, "end": 5})
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "end"


def _canary_alert(server):
    found = httpx.get(f"{server.url}/api/v1/alerts", params={"label": "alertname=CanaryFailed"}).json()[
        "alerts"
    ]
    return found[0] if found else None


def test_a_failed_canary_is_an_alert_until_a_later_analysis_passes(running):
    server, fake = running
    now = int(time.time() * 1000) // 10_000 * 10_000
    bad, good = (now - 1_200_000, now - 900_000), (now - 600_000, now - 300_000)
    seed_latency(server.server.store, *bad, canary_slower_s=0.05)
    seed_latency(server.server.store, *good)
    post_canary(server.url, *bad)
    alert = eventually(lambda: _canary_alert(server), timeout_s=30, what="the CanaryFailed alert")
    assert (alert["state"], alert["severity"], alert["labels"]["experiment"]) == (
        "firing",
        "ticket",
        "drm-v2-canary",
    )
    [trigger] = eventually(lambda: fake.triggers(KEY, dedup_key=alert["dedup_key"]), what="the ticket")
    assert trigger.payload["severity"] == "warning"
    post_canary(server.url, *good)
    eventually(lambda: _canary_alert(server)["state"] == "resolved" or None, timeout_s=30, what="the resolve")
