"""Alert states and paging with scripted rules, a real store, the outbox and a scripted sender:
pending → firing after ``for``, one trigger however many evaluations, a resolve on recovery,
inhibition of slower tiers, a failing rule resolving nothing, restarts paging nothing twice."""

from __future__ import annotations

import pytest

from alerting.delivery import Deliverer
from alerting.engine import AlertEngine
from alerting.model import Alert, AlertSample, advance, fingerprint
from alerting.pagerduty import EVENTS
from store.duckdb_store import DuckDBStore
from tests.alerting.support import Clock, Scripted


class Rule:
    """Answers whatever the test sets in ``now``; raises when ``broken``."""

    def __init__(self, name="burn"):
        self.name = name
        self.now: list[AlertSample] = []
        self.broken = False

    def samples(self, now_ms):
        if self.broken:
            raise RuntimeError("the store is away")
        return list(self.now)


@pytest.fixture
def store(tmp_path):
    opened = DuckDBStore(tmp_path / "alerts.duckdb")
    yield opened
    opened.close()


def sample(active, *, severity="page", window="1h/5m", rank=0, for_ms=0, value=20.0):
    labels = {"alertname": "SLOBurnRate", "slo": "drm", "severity": severity, "window": window}
    return AlertSample(
        labels, active, value, {"summary": f"drm burning ({window})"}, for_ms, ("slo/drm/0", rank)
    )


def _engine(store, clock, rules, sender):
    outbox = Deliverer(store, {EVENTS: sender}, clock=clock)
    return AlertEngine(rules, store, outbox, clock=clock, console_url="http://127.0.0.1:7070"), outbox


@pytest.mark.parametrize(
    ("steps", "states", "transitions"),
    [
        ([(True, 0)], ["firing"], ["firing"]),
        ([(True, 60), (True, 30), (True, 30)], ["pending", "pending", "firing"], ["pending", None, "firing"]),
        ([(True, 60), (False, 30)], ["pending", "inactive"], ["pending", "inactive"]),
        (
            [(True, 0), (True, 10), (False, 10)],
            ["firing", "firing", "resolved"],
            ["firing", None, "resolved"],
        ),
        (
            [(True, 0), (False, 10), (True, 10)],
            ["firing", "resolved", "firing"],
            ["firing", "resolved", "firing"],
        ),
        ([(False, 0)], ["inactive"], [None]),
    ],
    ids=["no-for", "for-60s", "pending-clears", "fires-resolves", "fires-again", "never"],
)
def test_the_state_machine(steps, states, transitions):
    alert = Alert("f", "r", {}, {})
    now, seen_states, seen = 0, [], []
    for_ms = 60_000 if steps[0][1] == 60 else 0
    for active, advance_s in steps:
        now += advance_s * 1000
        seen.append(advance(alert, AlertSample({}, active, for_ms=for_ms), now))
        seen_states.append(alert.state)
    assert (seen_states, seen) == (states, transitions)


def test_fingerprints_depend_on_the_labels_only():
    assert fingerprint({"a": "1", "b": "2"}) == fingerprint({"b": "2", "a": "1"})
    assert fingerprint({"a": "1"}) != fingerprint({"a": "2"})
    assert len(fingerprint({})) == 16


def test_one_trigger_for_a_burning_slo_however_often_it_is_evaluated_and_a_resolve_after(store):
    clock, rule, sender = Clock(), Rule(), Scripted()
    engine, outbox = _engine(store, clock, [rule], sender)
    rule.now = [sample(True)]
    for _ in range(5):
        engine.evaluate()
        outbox.deliver_due()
        clock.now += 30
    key = f"watchfloor/{fingerprint(rule.now[0].labels)}"
    assert sender.actions() == [("trigger", key)]
    trigger = sender.got[0]
    assert trigger["payload"]["severity"] == "critical"  # the page tier
    assert trigger["payload"]["summary"] == "drm burning (1h/5m)"
    assert trigger["links"][0]["href"].endswith(f"/api/v1/alerts/{fingerprint(rule.now[0].labels)}")
    rule.now = [sample(False)]
    engine.evaluate()
    outbox.deliver_due()
    assert sender.actions() == [("trigger", key), ("resolve", key)]
    [alert] = engine.alerts()
    assert alert.state == "resolved"
    history = [t for _, t, _ in store.alert_history(alert.fingerprint)]
    assert history == ["resolved", "firing"]


def test_a_slower_tier_is_inhibited_while_a_faster_one_fires(store):
    clock, rule, sender = Clock(), Rule(), Scripted()
    engine, outbox = _engine(store, clock, [rule], sender)
    fast, slow = sample(True, window="1h/5m", rank=0), sample(True, severity="ticket", window="3d/6h", rank=2)
    rule.now = [fast, slow]
    engine.evaluate()
    outbox.deliver_due()
    assert [e["dedup_key"] for e in sender.got] == [f"watchfloor/{fingerprint(fast.labels)}"]
    slow_alert = engine.alert(fingerprint(slow.labels))
    assert slow_alert.state == "firing" and slow_alert.inhibited_by == fingerprint(fast.labels)
    # The fast tier recovers while the slow one still burns: now the slow one pages.
    rule.now = [sample(False, window="1h/5m"), slow]
    clock.now += 30
    engine.evaluate()
    outbox.deliver_due()
    assert [(e["event_action"], e.get("payload", {}).get("severity")) for e in sender.got[1:]] == [
        ("resolve", None),
        ("trigger", "warning"),
    ]


def test_a_failing_rule_resolves_nothing_and_pages_nothing(store):
    clock, rule, sender = Clock(), Rule(), Scripted()
    engine, outbox = _engine(store, clock, [rule], sender)
    rule.now = [sample(True)]
    engine.evaluate()
    rule.broken = True
    clock.now += 30
    assert engine.evaluate() == []
    outbox.deliver_due()
    assert [a for a, _ in sender.actions()] == ["trigger"]
    assert engine.alerts()[0].state == "firing"


def test_a_restart_keeps_the_states_and_does_not_page_again(store):
    clock, rule, sender = Clock(), Rule(), Scripted()
    engine, outbox = _engine(store, clock, [rule], sender)
    rule.now = [sample(True)]
    engine.evaluate()
    outbox.deliver_due()
    restarted, outbox2 = _engine(store, clock, [rule], sender)  # the server came back
    clock.now += 30
    restarted.evaluate()
    outbox2.deliver_due()
    assert [a for a, _ in sender.actions()] == ["trigger"]
    rule.now = [sample(False)]
    restarted.evaluate()
    outbox2.deliver_due()
    assert [a for a, _ in sender.actions()] == ["trigger", "resolve"]  # it still knew it had paged


def test_acknowledging_a_paged_alert_acknowledges_the_incident(store):
    clock, rule, sender = Clock(), Rule(), Scripted()
    engine, outbox = _engine(store, clock, [rule], sender)
    rule.now = [sample(True)]
    engine.evaluate()
    acknowledged = engine.acknowledge(fingerprint(rule.now[0].labels), "oncall@example.com")
    outbox.deliver_due()
    assert acknowledged.acknowledged_by == "oncall@example.com"
    assert [a for a, _ in sender.actions()] == ["trigger", "acknowledge"]
    assert engine.acknowledge("0000000000000000", "x") is None


def test_an_alert_pending_then_cleared_never_pages(store):
    clock, rule, sender = Clock(), Rule(), Scripted()
    engine, outbox = _engine(store, clock, [rule], sender)
    rule.now = [sample(True, for_ms=120_000)]
    engine.evaluate()
    clock.now += 60
    rule.now = [sample(False, for_ms=120_000)]
    engine.evaluate()
    outbox.deliver_due()
    assert sender.got == []


def _drm_traffic(store, now_ms, error_share_last_10m):
    """Two hours of licence requests at 60 per minute, as the scraper writes them (rates per second)."""
    from store.model import Datapoint

    step, points = 60_000, []
    end = now_ms // step * step
    for ts in range(end - 120 * step, end + 1, step):
        bad = error_share_last_10m if ts > end - 10 * step else 0.0
        base = {"name": "http_server_requests", "nf.app": "drm", "route": "/license"}
        points.append(Datapoint({**base, "status_class": "5xx"}, ts, bad))
        points.append(Datapoint({**base, "status_class": "2xx"}, ts, 1.0 - bad))
    store.write_datapoints(points)


def test_the_slo_rule_pages_the_fast_tier_of_a_burning_slo(store):
    from alerting.rules import SLOBurnRule
    from sample_services.slos import DEMO_SLO_DIR
    from slo.engine import SLOEngine
    from slo.registry import SLORegistry, load_files
    from slo.service import SLOService

    clock, sender = Clock(), Scripted()
    _drm_traffic(store, int(clock.now * 1000), error_share_last_10m=0.5)
    files = load_files([DEMO_SLO_DIR / "drm.yaml", DEMO_SLO_DIR / "alerting.yaml"])
    registry = SLORegistry(store, files, clock=clock)
    slos = SLOService(registry, SLOEngine(store, base_step_ms=60_000, clock=clock))
    engine, outbox = _engine(store, clock, [SLOBurnRule(slos)], sender)
    engine.evaluate()
    outbox.deliver_due()
    firing = [a for a in engine.alerts() if a.state == "firing"]
    assert firing, "half the licences failing for 10 minutes burns far past 14.4x over 1 h and 5 m"
    paged = [a for a in firing if a.inhibited_by is None]
    assert [a.labels["window"] for a in paged] == ["1h/5m"]
    assert {a.labels["slo"] for a in firing} == {"drm-license-availability"}
    [trigger] = sender.got
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["summary"].startswith("drm-license-availability: error budget burning")
    assert trigger["payload"]["group"] == "drm-license-availability"


def test_a_threshold_rule_alerts_per_series_whose_signal_is_up(store):
    from alerting.rules import ThresholdRule
    from store.model import Datapoint

    clock, sender = Clock(), Scripted()
    end = int(clock.now * 1000) // 60_000 * 60_000
    store.write_datapoints(
        [
            Datapoint({"name": "queue", "nf.app": app}, ts, value)
            for app, value in (("encoding", 120.0), ("cdn", 3.0))
            for ts in range(end - 600_000, end + 1, 60_000)
        ]
    )
    rule = ThresholdRule(
        "QueueBacklog",
        "name,queue,:eq,(,nf.app,),:by,100,:gt,3,:rolling-count,3,:ge",
        store,
        60_000,
        labels={"severity": "ticket"},
    )
    engine, outbox = _engine(store, clock, [rule], sender)
    engine.evaluate()
    firing = {a.labels["nf.app"]: a.state for a in engine.alerts()}
    assert firing == {"encoding": "firing"}  # cdn never held, so it is not kept
    outbox.deliver_due()
    assert sender.got[0]["payload"]["severity"] == "warning"
    with pytest.raises(Exception, match="unknown word"):
        ThresholdRule("Broken", "name,queue,:eq,:nosuchword", store, 60_000)


def test_a_page_already_sent_stays_open_when_a_faster_tier_starts_firing(store):
    clock, rule, sender = Clock(), Rule(), Scripted()
    engine, outbox = _engine(store, clock, [rule], sender)
    slow = sample(True, severity="ticket", window="3d/6h", rank=2)
    rule.now = [slow]
    engine.evaluate()
    rule.now = [sample(True, window="1h/5m", rank=0), slow]
    clock.now += 30
    engine.evaluate()
    outbox.deliver_due()
    # Both pages are open: inhibition holds back new pages, it does not take one back.
    assert [a for a, _ in sender.actions()] == ["trigger", "trigger"]


def test_an_infinite_value_goes_out_as_null_and_a_page_that_cannot_be_sent_blocks_nothing(store):
    import math

    class Picky(Scripted):
        def send(self, payload):
            if payload.get("dedup_key") == "bad":
                raise ValueError("this receiver cannot take it")
            return super().send(payload)

    clock, sender = Clock(), Picky()
    outbox = Deliverer(store, {EVENTS: sender}, clock=clock)
    outbox.enqueue(EVENTS, {"dedup_key": "bad", "event_action": "trigger"}, "bad")
    outbox.enqueue(EVENTS, {"dedup_key": "good", "event_action": "trigger", "value": math.inf}, "good")
    outbox.deliver_due()
    assert sender.got == [{"dedup_key": "good", "event_action": "trigger", "value": None}]
    [failed] = store.notifications(status="failed")
    assert failed.dedup_key == "bad" and "cannot be sent" in failed.last_error


def test_the_alert_that_paged_is_committed_with_its_page(store, monkeypatch):
    clock, rule, sender = Clock(), Rule(), Scripted()
    engine, _ = _engine(store, clock, [rule], sender)
    rule.now = [sample(True)]

    def crash(*args, **kwargs):
        raise RuntimeError("the process died here")

    monkeypatch.setattr(store, "record_alert_transition", crash)  # what follows the page fails
    with pytest.raises(RuntimeError):
        engine.evaluate()
    monkeypatch.undo()
    restarted, outbox2 = _engine(store, clock, [rule], sender)
    rule.now = [sample(False)]
    restarted.evaluate()
    outbox2.deliver_due()
    # The page went out, and the restarted server knew of it: its resolve follows.
    assert [a for a, _ in sender.actions()] == ["trigger", "resolve"]


def test_an_evaluation_that_changes_nothing_writes_nothing(store, monkeypatch):
    clock, rule, sender = Clock(), Rule(), Scripted()
    engine, _ = _engine(store, clock, [rule], sender)
    rule.now = [sample(True)]
    engine.evaluate()
    writes = []
    monkeypatch.setattr(store, "put_document", lambda *args: writes.append(args))
    clock.now += 30
    engine.evaluate()
    assert writes == []  # same state, same value: only its evaluation time moved
    rule.now = [sample(True, value=30.0)]
    engine.evaluate()
    assert len(writes) == 1
