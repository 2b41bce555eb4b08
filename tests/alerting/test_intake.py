"""Webhooks in: Alertmanager's messages join the alert list and page; PagerDuty's signed
incident events show on the alert, deduplicated by X-Webhook-Id; every refusal names why."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest

from alerting.intake import IntakeError, alertmanager_samples, pagerduty_change, verify_signature
from tests.fakes.pagerduty import serve_pagerduty_fake
from tests.support.polling import eventually
from tests.support.server import RunningServer

KEY = "R0UT1NGKEY0123456789ABCDEFGHIJKL"
TOKEN, SECRET = "api-token-for-tests", "whsec-for-tests"


def am_message(status="firing", **labels):
    alert = {
        "status": status,
        "labels": {"alertname": "HighLatency", "service": "cdn", "severity": "ticket", **labels},
        "annotations": {"summary": "CDN p99 over 500 ms"},
        "startsAt": "2026-11-24T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": "c0ffee",
        "someNewKey": "ignored",
    }
    group = '{}:{alertname="HighLatency"}'
    return {"version": "4", "groupKey": group, "status": status, "receiver": "watchfloor",
            "alerts": [alert], "truncatedAlerts": 0}  # fmt: skip


def sign(raw: bytes, secret: str = SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({**am_message(), "version": "3"}, "version"),
        ({**am_message(), "alerts": "x"}, "alerts"),
        ({**am_message(), "alerts": [{"status": "maybe", "labels": {"a": "b"}}]}, "alerts[0].status"),
        ({**am_message(), "alerts": [{"status": "firing", "labels": {"a": 1}}]}, "alerts[0].labels"),
        ({**am_message(), "alerts": [{"status": "firing", "labels": {}}]}, "alerts[0].labels"),
    ],
)
def test_bad_alertmanager_messages_name_the_field(body, field):
    with pytest.raises(IntakeError) as caught:
        alertmanager_samples(body)
    assert (caught.value.status, caught.value.field) == (400, field)


def test_alertmanager_alerts_become_samples():
    [firing] = alertmanager_samples(am_message())
    assert firing.active and firing.labels["alertname"] == "HighLatency"
    assert firing.annotations["generatorURL"] == "http://prometheus:9090/graph"
    [resolved] = alertmanager_samples(am_message("resolved"))
    assert not resolved.active


@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 400), ("sha256=abc", 400), ("v1=" + "0" * 64, 403), ("v1=" + "0" * 64 + "," + "{good}", 200)],
    ids=["missing", "malformed", "wrong", "one-of-two"],
)
def test_signatures(header, status):
    raw = b'{"event": {}}'
    header = header.replace("{good}", sign(raw)) if header else header
    if status == 200:
        verify_signature(raw, header, SECRET)
        return
    with pytest.raises(IntakeError) as caught:
        verify_signature(raw, header, SECRET)
    assert caught.value.status == status


def test_incident_events_say_what_changed():
    event = {"event": {"id": "E1", "event_type": "incident.acknowledged", "agent": {"summary": "Ada"},
                       "data": {"incident_key": "watchfloor/abc", "status": "acknowledged"}}}  # fmt: skip
    change = pagerduty_change(event)
    assert change is not None
    assert (change.incident_key, change.status, change.by) == ("watchfloor/abc", "acknowledged", "Ada")
    assert pagerduty_change({"event": {"event_type": "incident.annotated", "data": {}}}) is None
    with pytest.raises(IntakeError):
        pagerduty_change({"nope": 1})


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    with serve_pagerduty_fake() as (fake, url):
        server = RunningServer(
            tmp_path_factory.mktemp("intake"),
            api_token=TOKEN,
            pagerduty_webhook_secret=SECRET,
            pagerduty_url=url,
            pagerduty_routing_key=KEY,
        )
        try:
            yield server, fake
        finally:
            server.stop()


def _post_am(server, message, token=TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{server.url}/api/v1/intake/alertmanager", json=message, headers=headers)


def test_alertmanager_alerts_join_the_list_and_page_and_resolve(running):
    server, fake = running
    assert _post_am(server, am_message(), token=None).status_code == 401
    answer = _post_am(server, am_message())
    assert answer.status_code == 200, answer.text
    [alert] = [
        a for a in httpx.get(f"{server.url}/api/v1/alerts").json()["alerts"] if a["rule"] == "alertmanager"
    ]
    assert (alert["state"], alert["labels"]["service"]) == ("firing", "cdn")
    [trigger] = eventually(lambda: fake.triggers(KEY, dedup_key=alert["dedup_key"]), what="the trigger")
    assert trigger.payload["severity"] == "warning" and trigger.payload["summary"] == "CDN p99 over 500 ms"
    _post_am(server, am_message())  # Alertmanager repeats itself: no second page
    assert _post_am(server, am_message("resolved")).status_code == 200
    eventually(lambda: fake.alert(KEY, alert["dedup_key"]).state == "resolved" or None, what="the resolve")
    assert len(fake.triggers(KEY, dedup_key=alert["dedup_key"])) == 1
    bad = _post_am(server, {"version": "4", "alerts": [{"status": "firing"}]})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "alerts[0].labels"
    deep = httpx.post(
        f"{server.url}/api/v1/intake/alertmanager",
        content="[" * 5000,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert deep.status_code == 400 and deep.json()["errors"][0]["field"] == "body"


def test_pagerduty_incident_changes_show_on_the_alert(running):
    server, _ = running
    _post_am(server, am_message(service="drm"))
    alerts = httpx.get(f"{server.url}/api/v1/alerts", params={"label": "service=drm"}).json()["alerts"]
    [alert] = alerts
    data = {"incident_key": alert["dedup_key"], "status": "acknowledged"}
    agent = {"summary": "Ada Lovelace"}
    event = {"event": {"id": "E1", "event_type": "incident.acknowledged", "agent": agent, "data": data}}
    raw = json.dumps(event).encode()
    url = f"{server.url}/api/v1/intake/pagerduty"
    headers = {"X-PagerDuty-Signature": sign(raw), "X-Webhook-Id": "wh-1", "Content-Type": "application/json"}
    # No bearer token: PagerDuty cannot send one; the signature is the credential.
    assert httpx.post(url, content=raw, headers=headers).json() == {"status": "success"}
    assert httpx.post(url, content=raw, headers=headers).json() == {"status": "duplicate"}
    shown = httpx.get(f"{server.url}/api/v1/alerts/{alert['fingerprint']}").json()
    assert (shown["pagerduty_status"], shown["acknowledged_by"]) == ("acknowledged", "Ada Lovelace")
    forged = httpx.post(url, content=raw, headers={**headers, "X-PagerDuty-Signature": sign(raw, "other")})
    assert forged.status_code == 403 and forged.json()["errors"][0]["field"] == "X-PagerDuty-Signature"
    unsigned = httpx.post(url, content=raw, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 400


def test_pagerduty_intake_is_refused_without_a_secret(tmp_path):
    server = RunningServer(tmp_path)
    try:
        raw = b'{"event": {}}'
        answer = httpx.post(
            f"{server.url}/api/v1/intake/pagerduty", content=raw, headers={"X-PagerDuty-Signature": sign(raw)}
        )
        assert answer.status_code == 403
    finally:
        server.stop()
