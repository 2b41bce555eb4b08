"""Alerts and incidents against a real server: the API's alerts by importance, ack and silence through
the page's forms, delivery status and the incident timeline.

Every alert acted on here is this file's own (posted through Alertmanager's webhook with its own
alertname) and resolved when the module ends, so the world's ``DrmErrors`` stays the one firing
alert the other pages' tests expect.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import httpx
import pytest

from alerting.model import fingerprint
from console.ui.data.alerts import (
    NOTIFICATIONS,
    alert_rows,
    by_importance,
    links,
    matcher_text,
    notification_keys,
    parse_matchers,
    timeline_figure,
    timeline_rows,
)
from console.ui.session import TOKEN_ENV, reset
from tests.support.console_seed import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOSTILE = "<b>queue</b> **backlog** [click](http://example.com) # heading"
SERVICE = "encoding"
BY = "console-test"


def _send(world, labels, status="firing", annotations=None):
    alert = {
        "status": status, "labels": labels, "annotations": annotations or {"summary": labels["alertname"]},
        "startsAt": "2026-11-24T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
    }  # fmt: skip
    body = {
        "version": "4", "groupKey": "{}", "status": status, "receiver": "watchfloor", "truncatedAlerts": 0,
        "alerts": [alert],
    }  # fmt: skip
    httpx.post(f"{world.url}/api/v1/intake/alertmanager", json=body, headers=AUTH).raise_for_status()
    return fingerprint(labels)


@pytest.fixture(scope="module")
def raised(world):
    """``raise_(name, **labels)`` → the fingerprint of a new firing alert, resolved at the module's end."""
    made = []

    def raise_(name, severity="warning", annotations=None, **labels):
        labels = {"alertname": name, "service": SERVICE, "severity": severity, **labels}
        made.append(labels)
        return _send(world, labels, annotations=annotations)

    yield raise_
    for labels in made:
        _send(world, labels, status="resolved")
    for silence in httpx.get(f"{world.url}/api/v1/silences", params={"state": "active"}).json()["silences"]:
        if silence["createdBy"] == BY:
            httpx.delete(f"{world.url}/api/v1/silences/{silence['id']}", headers=AUTH).raise_for_status()


def _api(world, path, **params):
    return httpx.get(f"{world.url}/api/v1/{path}", params=params).json()


def _frame(page, column):
    """The first table with ``column`` (display tables carry no key in AppTest)."""
    return next(d.value for d in page.dataframe if column in d.value.columns)


def _settle(store, notification_id, **outcome):
    """Give a seeded notification its outcome; again if the delivery loop's own pass overwrote it."""
    for _ in range(20):
        store.settle_notification(notification_id, **outcome)
        found = next(n for n in store.notifications(limit=1000) if n.id == notification_id)
        if found.status == outcome["status"]:
            return
        time.sleep(0.05)
    raise AssertionError(f"notification {notification_id} stays {found.status}")


def test_the_board_orders_alerts_by_importance_with_the_apis_fields(world, raised, console):
    critical = raised("ConsoleTestBacklog", "critical", annotations={"summary": HOSTILE})
    warning = raised("ConsoleTestSlowStart")
    old_labels = {"alertname": "ConsoleTestOld", "service": SERVICE, "severity": "critical"}
    old = _send(world, old_labels)
    _send(world, old_labels, status="resolved")

    page = console("views/alerts.py", state="all")
    assert not page.exception
    assert page.query_params["state"] == "all" and page.radio[0].value == "all"
    board = _frame(page, "fingerprint")
    api = _api(world, "alerts")["alerts"]
    assert list(board["fingerprint"]) == [a["fingerprint"] for a in by_importance(api)]
    states = list(board["state"])
    assert states == sorted(states, key=["firing", "pending", "resolved", "inactive"].index)
    order = list(board["fingerprint"])
    assert order.index(critical) < order.index(warning) < order.index(old)
    rows = board.set_index("fingerprint")
    assert rows.loc[critical, "summary"] == HOSTILE  # as written, in a table cell
    assert all(HOSTILE not in m.value for m in page.markdown)
    for alert in api:
        row = rows.loc[alert["fingerprint"]]
        assert (row["state"], row["severity"]) == (alert["state"], alert["severity"])
        assert row["acknowledged by"] == (alert["acknowledged_by"] or "")
    assert rows.loc[critical, "open"].startswith(f"/alerts?state=all&alert={critical}")
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Firing"] == str(sum(a["state"] == "firing" for a in api))

    active = _frame(console("views/alerts.py"), "fingerprint")
    assert old not in set(active["fingerprint"]) and critical in set(active["fingerprint"])
    resolved = _frame(console("views/alerts.py", state="resolved"), "fingerprint")
    assert old in set(resolved["fingerprint"]) and critical not in set(resolved["fingerprint"])


def test_acknowledging_goes_through_the_api_and_a_refusal_names_the_field(world, raised, console):
    alert = raised("ConsoleTestAck")
    page = console("views/alerts.py", alert=alert)
    assert not page.exception
    page.button(key="alerts.ack.submit").click().run()  # nobody named
    assert any("refused (400)" in e.value for e in page.error)
    assert any(t.value.startswith("by: expected who acknowledges it") for t in page.text)
    assert _api(world, f"alerts/{alert}")["acknowledged_by"] is None

    page.text_input(key="alerts.ack.by").input("alice")
    page.button(key="alerts.ack.submit").click().run()
    assert not page.exception
    assert _api(world, f"alerts/{alert}")["acknowledged_by"] == "alice"
    assert any("alice" in s.value for s in page.success)
    assert _frame(page, "fingerprint").set_index("fingerprint").loc[alert, "acknowledged by"] == "alice"
    timeline = _frame(page, "detail")
    assert "by alice" in list(timeline[timeline["event"] == "acknowledged"]["detail"])
    assert page.query_params["alert"] == alert


def test_a_silence_made_from_the_alerts_labels_silences_it_until_expired(world, raised, console):
    alert = raised("ConsoleTestSilence", team="video")
    labels = _api(world, f"alerts/{alert}")["labels"]
    page = console("views/alerts.py", alert=alert)
    matchers = page.text_area(key=f"alerts.silence.matchers.{alert}")
    assert matchers.value == matcher_text(labels)
    page.text_input(key="alerts.silence.by").input(BY)
    page.text_input(key="alerts.silence.comment").input("console test: looking into it")
    page.button(key="alerts.silence.submit").click().run()
    assert not page.exception
    made = [s for s in _api(world, "silences", state="active")["silences"] if s["createdBy"] == BY]
    assert len(made) == 1
    silence = made[0]
    assert {(m["name"], m["value"], m["isRegex"], m["isEqual"]) for m in silence["matchers"]} == {
        (k, v, False, True) for k, v in labels.items()
    }
    _send(world, {k: labels[k] for k in labels})  # Alertmanager repeats it: the silence now holds it
    assert _api(world, f"alerts/{alert}")["silenced_by"] == silence["id"]
    reset()
    page.run()
    assert _frame(page, "fingerprint").set_index("fingerprint").loc[alert, "silenced by"] == silence["id"]

    page.button(key=f"alerts.expire.{silence['id']}").click().run()
    assert not page.exception
    assert _api(world, f"silences/{silence['id']}")["status"]["state"] == "expired"
    assert not any(b.key == f"alerts.expire.{silence['id']}" for b in page.button)


def test_without_a_token_writes_fail_with_the_servers_401_as_text(world, raised, console, monkeypatch):
    alert = raised("ConsoleTestNoToken")
    page = console("views/alerts.py", alert=alert)
    monkeypatch.delenv(TOKEN_ENV)
    reset()
    page.text_input(key="alerts.ack.by").input("mallory")
    page.button(key="alerts.ack.submit").click().run()
    assert not page.exception
    assert any("refused (401)" in e.value for e in page.error)
    assert "authorization: a bearer token is required" in [t.value for t in page.text]
    assert _api(world, f"alerts/{alert}")["acknowledged_by"] is None

    page.text_input(key="alerts.silence.by").input(BY)
    page.text_input(key="alerts.silence.comment").input("no token")
    page.button(key="alerts.silence.submit").click().run()
    assert any("silence was refused (401)" in e.value for e in page.error)
    assert not [s for s in _api(world, "silences")["silences"] if s["comment"] == "no token"]


def test_the_incident_timeline_and_delivery_show_the_apis_history_and_pages(world, raised, console):
    alert = raised("ConsoleTestPaged", "critical")
    key = f"watchfloor/{alert}"
    store, now = world.server.store, int(time.time() * 1000)
    trigger = store.enqueue_notification("pagerduty", json.dumps({"event_action": "trigger", "dedup_key": key,
                                         "payload": {"summary": "paged"}}), key, now)  # fmt: skip
    _settle(store, trigger, status="failed", next_attempt_ms=now, last_status=400,
            last_error="Event object is invalid <b>", sent_ms=None)  # fmt: skip
    retry = store.enqueue_notification(
        "pagerduty", json.dumps({"event_action": "trigger", "dedup_key": key}), key, now
    )
    _settle(
        store, retry, status="sent", next_attempt_ms=now, last_status=202, last_error=None, sent_ms=now + 1500
    )
    httpx.post(f"{world.url}/api/v1/alerts/{alert}/ack", json={"by": "bob"}, headers=AUTH).raise_for_status()

    page = console("views/alerts.py", alert=alert)
    assert not page.exception
    detail = _api(world, f"alerts/{alert}")
    sent = _api(world, "notifications", limit=500)["notifications"]
    own = _api(world, "notifications", dedup_key=key)["notifications"]
    assert {n["id"] for n in own} == {trigger, retry}
    timeline = _frame(page, "detail")
    expected = timeline_rows(detail, own)
    assert timeline.to_dict("records") == expected
    assert list(timeline["time"]) == sorted(timeline["time"])
    events = list(timeline["event"])
    assert events[0] == "firing" and events.count("pagerduty trigger queued") == 2
    assert events.index("pagerduty trigger failed") < events.index("pagerduty trigger sent")
    assert "acknowledged" in events
    assert "Event object is invalid <b>" in " ".join(timeline["detail"])
    assert len(page.get("plotly_chart")) == 1

    delivery = _frame(page, "attempts").set_index("id")
    for note in sent:
        row = delivery.loc[note["id"]]
        assert (row["status"], row["attempts"], row["error"]) == (
            note["status"], note["attempts"], note["last_error"] or ""
        )  # fmt: skip
    assert delivery.loc[trigger, "alert"] == "ConsoleTestPaged"
    assert delivery.loc[trigger, "last status"] == 400 and delivery.loc[retry, "last status"] == 202
    board = _frame(page, "fingerprint").set_index("fingerprint")
    assert board.loc[alert, "page delivery"] == "trigger sent"


def test_an_incident_s_pages_show_however_many_newer_notifications_other_alerts_have(world, raised, console):
    """The timeline reads its alert's dedup key, not the board's newest ``NOTIFICATIONS``."""
    alert = raised("ConsoleTestBuried", "critical")
    key, store, now = f"watchfloor/{alert}", world.server.store, int(time.time() * 1000)
    page_id = store.enqueue_notification("pagerduty", json.dumps({"event_action": "trigger"}), key, now)
    for n in range(NOTIFICATIONS + 1):  # a noisy hour: the page falls out of the newest read
        store.enqueue_notification("console-test", "{}", f"console-test/other-{n}", now)
    newest = _api(world, "notifications", limit=NOTIFICATIONS)["notifications"]
    assert page_id not in {n["id"] for n in newest}

    page = console("views/alerts.py", alert=alert)
    assert not page.exception
    events = list(_frame(page, "detail")["event"])
    assert "pagerduty trigger queued" in events
    own = _api(world, "notifications", dedup_key=key)["notifications"]
    assert _frame(page, "detail").to_dict("records") == timeline_rows(_api(world, f"alerts/{alert}"), own)


def test_an_incident_links_to_its_slo_service_error_traces_and_canary(world, raised, console):
    burn = raised("ConsoleTestBurn", "page", slo="console-test-slo", window="1h/5m")
    page = console("views/alerts.py", alert=burn, **{"from": "now-6h"})
    found = {link.proto.page: parse_qs(link.proto.query_string) for link in page.page_link}
    assert found["slos"] == {"slo": ["console-test-slo"], "from": ["now-6h"]}
    assert found["service"] == {"service": ["encoding"], "from": ["now-6h"]}
    assert found["traces"] == {"service": ["encoding"], "status": ["error"], "from": ["now-6h"]}

    canary = raised("ConsoleTestCanary", "ticket", annotations={"summary": "canary", "analysis_id": "01TEST"})
    page = console("views/alerts.py", alert=canary)
    found = {link.proto.page: parse_qs(link.proto.query_string) for link in page.page_link}
    assert found["canary"] == {"analysis": ["01TEST"]}


def test_an_unknown_alert_is_said_as_text(world, console):
    page = console("views/alerts.py", alert="0000000000000000")
    assert not page.exception
    assert any("404" in e.value for e in page.error)


def test_importance_and_matchers():
    alerts = [
        {"fingerprint": "r", "state": "resolved", "severity": "critical", "resolved_ms": 9, "labels": {}},
        {"fingerprint": "t", "state": "firing", "severity": "ticket", "fired_ms": 5, "labels": {}},
        {"fingerprint": "p", "state": "pending", "severity": "critical", "active_since_ms": 8, "labels": {}},
        {"fingerprint": "c1", "state": "firing", "severity": "critical", "fired_ms": 1, "labels": {}},
        {"fingerprint": "c2", "state": "firing", "severity": "critical", "fired_ms": 2, "labels": {}},
    ]
    assert [a["fingerprint"] for a in by_importance(alerts)] == ["c2", "c1", "t", "p", "r"]
    assert [a["fingerprint"] for a in by_importance(alerts, "active")] == ["c2", "c1", "t", "p"]
    assert [a["fingerprint"] for a in by_importance(alerts, "resolved")] == ["r"]
    text = 'alertname=X\nteam!=video\n\nservice=~"drm|cdn"\nzone!~eu-.*'
    matchers, problems = parse_matchers(text)
    assert problems == []
    assert matchers == [
        {"name": "alertname", "value": "X", "isRegex": False, "isEqual": True},
        {"name": "team", "value": "video", "isRegex": False, "isEqual": False},
        {"name": "service", "value": "drm|cdn", "isRegex": True, "isEqual": True},
        {"name": "zone", "value": "eu-.*", "isRegex": True, "isEqual": False},
    ]
    assert parse_matchers("no operator")[1][0][0] == "matchers line 1"
    assert parse_matchers(matcher_text({"a": "1", "b": "x=y"}))[0][1]["value"] == "x=y"
    slo = {
        "labels": {"alertname": "SLOBurnRate", "slo": "drm-license-ok", "service": "drm"},
        "annotations": {},
    }
    assert [(p.url_path, s) for p, _, s in links(slo)] == [
        ("slos", {"slo": "drm-license-ok"}),
        ("service", {"service": "drm"}),
        ("traces", {"service": "drm", "status": "error"}),
    ]


def test_rows_and_timeline_from_the_apis_shapes():
    labels = {"alertname": "SLOBurnRate", "slo": "s", "window": "1h/5m", "service": "drm", "severity": "page"}
    lead = {"fingerprint": "a", "state": "firing", "severity": "page", "fired_ms": 1_000,
            "dedup_key": "watchfloor/a", "labels": labels, "annotations": {"summary": "burning"},
            "acknowledged_by": None, "silenced_by": None, "inhibited_by": None,
            "pagerduty_status": "acknowledged"}  # fmt: skip
    slower = {**lead, "fingerprint": "b", "dedup_key": "watchfloor/b", "inhibited_by": "a",
              "labels": {**labels, "window": "6h/30m"}, "pagerduty_status": None}  # fmt: skip
    notes = [
        {"id": 2, "channel": "pagerduty", "dedup_key": "watchfloor/a", "status": "sent", "attempts": 2,
         "created_ms": 1_100, "sent_ms": 1_900, "last_status": 202, "last_error": None,
         "next_attempt_ms": None, "payload": {"event_action": "trigger"}},
        {"id": 1, "channel": "webhook:ops", "dedup_key": "watchfloor/a@webhook:ops", "status": "failed",
         "attempts": 1, "created_ms": 1_050, "sent_ms": None, "last_status": 410, "last_error": "gone",
         "next_attempt_ms": None, "payload": {}},
    ]  # fmt: skip
    rows = {r["fingerprint"]: r for r in alert_rows([lead, slower], notes)}
    assert rows["b"]["inhibited by"] == "SLOBurnRate 1h/5m"
    assert rows["a"]["labels"] == "slo=s, window=1h/5m"
    assert (rows["a"]["PagerDuty"], rows["a"]["page delivery"]) == ("acknowledged", "trigger sent")
    assert rows["b"]["page delivery"] == ""
    detail = {**lead, "acknowledged_by": "carol", "acknowledged_ms": 1_500, "history": [
        {"ts_ms": 1_500, "transition": "acknowledged", "value": None},
        {"ts_ms": 1_000, "transition": "firing", "value": 20.5},
        {"ts_ms": 1_000, "transition": "pending", "value": 20.5},
    ]}  # fmt: skip
    timeline = timeline_rows(detail, notes)
    assert [(r["event"], r["detail"]) for r in timeline] == [
        ("pending", "value 20.5"),
        ("firing", "value 20.5"),
        ("webhook:ops message queued", ""),
        ("webhook:ops message failed", "1 attempt(s), last status 410: gone"),
        ("pagerduty trigger queued", ""),
        ("acknowledged", "by carol"),
        ("pagerduty trigger sent", "2 attempt(s), last status 202"),
    ]
    assert notification_keys(lead, {"webhook_urls": ["https://a", "https://b"]}) == [
        "watchfloor/a", "watchfloor/a@webhook:0", "watchfloor/a@webhook:1"
    ]  # fmt: skip
    assert notification_keys(lead, None) == notification_keys(lead, {"webhook_urls": []}) == ["watchfloor/a"]
    figure = timeline_figure(timeline, timeline[-1]["time"])
    assert [t.name for t in figure.data] == ["pending", "firing", "events"]
    assert list(figure.data[2].y) == ["notifications", "notifications", "notifications", "acknowledged",
                                      "notifications"]  # fmt: skip
