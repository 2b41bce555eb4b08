"""The outbox over a real DuckDB file, with scripted senders and a hand-driven clock:
write before send, retry what may succeed later, never retry a refusal, keep order per
dedup key, stay under the rate limit, survive a restart."""

from __future__ import annotations

import random

import pytest

from alerting.delivery import Deliverer, SendResult
from store.duckdb_store import DuckDBStore
from tests.alerting.support import T0, Clock, Scripted


@pytest.fixture
def store(tmp_path):
    opened = DuckDBStore(tmp_path / "outbox.duckdb")
    yield opened
    opened.close()


def _deliverer(store, sender, clock, **options):
    return Deliverer(store, {"pagerduty": sender}, clock=clock, rng=random.Random(1), **options)


def test_a_notification_is_committed_before_any_send_and_sent_once(store):
    clock, sender = Clock(), Scripted(SendResult(202))
    deliverer = _deliverer(store, sender, clock)
    notification_id = deliverer.enqueue("pagerduty", {"event_action": "trigger"}, "slo/drm/page")
    [row] = store.notifications()
    assert (row.id, row.status, row.attempts, sender.got) == (notification_id, "pending", 0, [])
    assert deliverer.deliver_due() == 1
    assert deliverer.deliver_due() == 0
    [row] = store.notifications()
    assert (row.status, row.attempts, row.last_status, row.sent_ms) == ("sent", 1, 202, int(T0 * 1000))
    assert sender.got == [{"event_action": "trigger"}]


def test_429_and_5xx_are_retried_with_growing_delays_until_accepted(store):
    clock = Clock()
    sender = Scripted(
        SendResult(429, retry_after_s=30),
        SendResult(429),
        SendResult(500),
        SendResult(None, error="reset"),
        SendResult(202),
    )
    deliverer = _deliverer(store, sender, clock)
    deliverer.enqueue("pagerduty", {"n": 1}, "k")
    waits = []
    while not store.notifications(status="sent"):
        deliverer.deliver_due()
        [row] = store.notifications()
        if row.status == "pending":
            waits.append(row.next_attempt_ms - int(clock.now * 1000))
            clock.now = row.next_attempt_ms / 1000
    assert len(sender.got) == 5
    assert waits[0] >= 30_000  # Retry-After is honoured
    # Then 2 s, 4 s, 8 s, each jittered into its upper half.
    assert [1_000 <= w <= 2_000 for w in waits[1:2]] == [True]
    assert 2_000 <= waits[2] <= 4_000 and 4_000 <= waits[3] <= 8_000
    [row] = store.notifications()
    assert (row.status, row.attempts) == ("sent", 5)


def test_a_refusal_is_recorded_and_never_sent_again(store):
    clock = Clock()
    sender = Scripted(SendResult(400, error="400: 'payload.severity' is invalid"))
    deliverer = _deliverer(store, sender, clock)
    deliverer.enqueue("pagerduty", {"n": 1}, "k")
    deliverer.deliver_due()
    clock.now += 3_600
    deliverer.deliver_due()
    [row] = store.notifications()
    assert (row.status, row.last_status, row.last_error) == (
        "failed",
        400,
        "400: 'payload.severity' is invalid",
    )
    assert len(sender.got) == 1


def test_a_resolve_never_overtakes_its_trigger(store):
    clock = Clock()
    sender = Scripted(SendResult(503), SendResult(202))
    deliverer = _deliverer(store, sender, clock)
    deliverer.enqueue("pagerduty", {"event_action": "trigger"}, "k")
    deliverer.enqueue("pagerduty", {"event_action": "resolve"}, "k")
    deliverer.enqueue("pagerduty", {"event_action": "trigger", "other": True}, "other")
    deliverer.deliver_due()  # the trigger fails: its resolve waits; the other key goes on
    assert [g.get("other", False) for g in sender.got] == [False, True]
    clock.now += 600
    deliverer.deliver_due()
    assert [g["event_action"] for g in sender.got] == ["trigger", "trigger", "trigger", "resolve"]


def test_sends_stay_under_the_rate_limit_per_routing_key(store):
    clock = Clock()
    sender, other = Scripted(), Scripted(rate_key="other-key")
    deliverer = Deliverer(store, {"pagerduty": sender, "webhook": other}, clock=clock, rate_per_minute=3)
    for n in range(5):
        deliverer.enqueue("pagerduty", {"n": n}, f"k{n}")
    deliverer.enqueue("webhook", {"n": "w"}, None)
    deliverer.deliver_due()
    assert [g["n"] for g in sender.got] == [0, 1, 2] and len(other.got) == 1
    held = store.notifications(status="pending")
    assert {r.attempts for r in held} == {0} and {r.last_error for r in held} == {
        "held back by the rate limit"
    }
    clock.now += 59
    deliverer.deliver_due()
    assert len(sender.got) == 3
    clock.now += 1
    deliverer.deliver_due()
    assert [g["n"] for g in sender.got] == [0, 1, 2, 3, 4]


def test_what_was_written_before_a_crash_is_sent_after_the_restart(store, tmp_path):
    clock = Clock()
    crashed = _deliverer(store, Scripted(), clock)
    crashed.enqueue("pagerduty", {"event_action": "trigger"}, "k")  # then the process died
    after = Scripted()
    restarted = _deliverer(store, after, clock)  # a new process over the same file
    assert restarted.deliver_due() == 1
    assert after.got == [{"event_action": "trigger"}]
    assert restarted.deliver_due() == 0


def test_a_notification_undelivered_for_a_day_is_given_up_with_the_reason(store):
    clock = Clock()
    deliverer = _deliverer(store, Scripted(SendResult(None, error="ConnectError: refused")), clock)
    deliverer.enqueue("pagerduty", {}, "k")
    while store.notifications(status="pending"):
        deliverer.deliver_due()
        [row] = store.notifications()
        clock.now = max(clock.now, row.next_attempt_ms / 1000) + 1
    [row] = store.notifications()
    assert row.status == "failed" and row.last_error == "gave up: ConnectError: refused"
    assert row.sent_ms is None


def test_an_unknown_channel_is_refused_before_anything_is_written(store):
    deliverer = _deliverer(store, Scripted(), Clock())
    with pytest.raises(KeyError):
        deliverer.enqueue("sms", {}, None)
    assert store.notifications() == []
