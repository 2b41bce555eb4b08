"""The outbox delivering to the PagerDuty fake over loopback: retried until taken once,
refusals recorded and not retried, events valid to the spec's every field, and the running
server paging finished canary analyses as change events without showing the routing key."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from alerting.delivery import Deliverer
from alerting.pagerduty import CHANGE, EVENTS, PagerDutySender, alert_event
from canary.scopes import iso
from store.duckdb_store import DuckDBStore
from tests.fakes.pagerduty import PagerDutyFake, serve_pagerduty_fake
from tests.support.canary import post_canary, seed_latency
from tests.support.polling import eventually
from tests.support.server import RunningServer

KEY = "R0UT1NGKEY0123456789ABCDEFGHIJKL"  # 32 alphanumerics, as PagerDuty wants


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[PagerDutyFake, str]]:
    with serve_pagerduty_fake() as running:
        yield running


@pytest.fixture
def fake(served):
    served[0].reset()
    return served[0]


@pytest.fixture
def deliverer(tmp_path, served):
    store = DuckDBStore(tmp_path / "outbox.duckdb")
    url = served[1]
    senders = {EVENTS: PagerDutySender(url, KEY), CHANGE: PagerDutySender(url, KEY, change=True)}
    outbox = Deliverer(store, senders)
    yield outbox, store
    outbox.close()
    store.close()


def _drain(deliverer: Deliverer, store: DuckDBStore) -> None:
    """Deliver until nothing is pending, skipping the waits (the backoff is tested elsewhere)."""
    for _ in range(20):
        deliverer.deliver_due()
        pending = store.notifications(status="pending")
        if not pending:
            return
        for row in pending:
            store.settle_notification(
                row.id, status="pending", next_attempt_ms=0, last_status=row.last_status,
                last_error=row.last_error, sent_ms=None, attempted=False,
            )  # fmt: skip


def test_a_trigger_answered_429_429_500_is_taken_exactly_once(fake, deliverer):
    outbox, store = deliverer
    fake.fail_next(429, 429, 500, retry_after=0)
    event = alert_event(
        "trigger", "slo/drm-license-availability/page", summary="DRM burning", severity="critical"
    )
    outbox.enqueue(EVENTS, event, "slo/drm-license-availability/page")
    _drain(outbox, store)
    [taken] = fake.triggers(KEY)
    assert (taken.dedup_key, taken.payload["severity"], taken.effect) == (
        "slo/drm-license-availability/page",
        "critical",
        "opened",
    )
    [row] = store.notifications()
    assert (row.status, row.attempts, row.last_status) == ("sent", 4, 202)
    assert [r.status for r in fake.requests] == [429, 429, 500, 202]


def test_trigger_then_resolve_open_and_close_one_alert(fake, deliverer):
    outbox, store = deliverer
    outbox.enqueue(EVENTS, alert_event("trigger", "k1", summary="s", severity="error"), "k1")
    outbox.enqueue(EVENTS, alert_event("trigger", "k1", summary="s again", severity="error"), "k1")
    outbox.enqueue(EVENTS, alert_event("resolve", "k1"), "k1")
    _drain(outbox, store)
    assert [e.effect for e in fake.events] == ["opened", "deduplicated", "resolved"]
    assert fake.alert(KEY, "k1").state == "resolved"


def test_a_400_is_recorded_with_pagerduty_s_words_and_never_retried(fake, deliverer):
    outbox, store = deliverer
    bad = {
        "event_action": "trigger",
        "dedup_key": "k",
        "payload": {"summary": "s", "source": "x", "severity": "fatal"},
    }
    outbox.enqueue(EVENTS, bad, "k")
    _drain(outbox, store)
    [row] = store.notifications()
    assert (row.status, row.last_status) == ("failed", 400)
    assert "severity" in row.last_error
    assert len(fake.requests) == 1 and fake.events == []


def test_a_network_failure_is_retried_and_the_event_arrives_after(fake, deliverer):
    outbox, store = deliverer
    fake.unavailable = True
    outbox.enqueue(
        CHANGE, {"payload": {"summary": "deploy", "source": "ci", "timestamp": iso(0)}, "links": []}
    )
    outbox.deliver_due()
    assert store.notifications()[0].status == "pending"
    fake.unavailable = False
    _drain(outbox, store)
    [change] = fake.change_events
    assert change.routing_key == KEY and change.body["payload"]["summary"] == "deploy"


def test_the_server_pages_finished_canary_analyses_as_change_events(served, fake, tmp_path):
    url = served[1]
    server = RunningServer(tmp_path, step_ms=10_000, pagerduty_url=url, pagerduty_routing_key=KEY)
    try:
        fake.fail_next(503)
        end = (int(time.time() * 1000) - 600_000) // 10_000 * 10_000
        seed_latency(server.server.store, end - 300_000, end)
        execution_id = post_canary(server.url, end - 300_000, end)
        [change] = eventually(lambda: fake.change_events, timeout_s=30, what="the change event")
        assert change.routing_key == KEY
        assert change.body["payload"]["summary"].startswith("Canary pass: drm-canary")
        assert change.body["payload"]["custom_details"]["analysis_id"] == execution_id
        shown = httpx.get(f"{server.url}/api/v1/notifications", params={"channel": CHANGE}).json()
        [row] = shown["notifications"]
        assert (row["status"], row["attempts"], row["last_status"]) == ("sent", 2, 202)
        # The routing key is a secret: not in the outbox, not in any answer.
        for path in ("/api/v1/notifications", "/api/v1/config"):
            assert KEY not in httpx.get(f"{server.url}{path}").text
        assert httpx.get(f"{server.url}/api/v1/config").json()["pagerduty_routing_key"] == "***"
        assert KEY not in json.dumps([n.payload for n in server.server.store.notifications()])
    finally:
        server.stop()


def test_notifications_are_filtered_and_a_bad_filter_is_a_422_naming_it(tmp_path):
    server = RunningServer(tmp_path)
    try:
        answer = httpx.get(f"{server.url}/api/v1/notifications", params={"status": "lost"})
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "status"
        assert httpx.get(f"{server.url}/api/v1/notifications").json() == {"notifications": []}
    finally:
        server.stop()


def test_notifications_of_one_dedup_key_are_exactly_that_key_s_and_a_bad_key_is_a_400(tmp_path):
    server = RunningServer(tmp_path)
    try:
        store, url = server.store, f"{server.url}/api/v1/notifications"
        mine = [
            store.enqueue_notification("mail", json.dumps({"event_action": action}), "watchfloor/a", 1)
            for action in ("trigger", "acknowledge", "resolve")
        ]
        # Neither another alert's key nor one that merely starts with this key is this key's.
        for other in ("watchfloor/b", "watchfloor/a@webhook:0", "watchfloor/"):
            store.enqueue_notification("mail", json.dumps({"event_action": "trigger"}), other, 1)
        shown = httpx.get(url, params={"dedup_key": "watchfloor/a"}).json()["notifications"]
        assert [n["id"] for n in shown] == mine[::-1]  # newest first
        assert {n["dedup_key"] for n in shown} == {"watchfloor/a"}
        assert [n["payload"]["event_action"] for n in shown] == ["resolve", "acknowledge", "trigger"]
        limited = httpx.get(url, params={"dedup_key": "watchfloor/a", "limit": 2}).json()["notifications"]
        assert [n["id"] for n in limited] == mine[:0:-1]
        assert httpx.get(url, params={"dedup_key": "watchfloor/none"}).json() == {"notifications": []}
        assert len(httpx.get(url).json()["notifications"]) == 6  # no key: every notification
        for bad in ("", "k" * 201):
            answer = httpx.get(url, params={"dedup_key": bad})
            assert answer.status_code == 400, bad
            assert answer.json()["errors"][0]["field"] == "dedup_key"
        assert httpx.get(url, params={"dedup_key": "k" * 200}).status_code == 200
    finally:
        server.stop()
