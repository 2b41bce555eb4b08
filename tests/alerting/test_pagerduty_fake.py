"""The PagerDuty Events API v2 fake (``tests/fakes/pagerduty.py``) against ``protocols.md`` §1,
over loopback HTTP: every validation rule, the dedup lifecycle, change events, and the faults
tests switch on. The senders' tests are only as good as this fake."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.pagerduty import MAX_BODY_BYTES, Alert, PagerDutyFake, serve_pagerduty_fake

KEY = "e93facc04764012d7bfb002500d5d1a6"  # the routing key of PagerDuty's own example
OTHER_KEY = "0123456789abcdef0123456789ABCDEF"
INVALID = {"status": "invalid event", "message": "Event object is invalid"}
MISSING = object()


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[PagerDutyFake, str]]:
    with serve_pagerduty_fake() as running:
        yield running


@pytest.fixture
def fake(served: tuple[PagerDutyFake, str]) -> PagerDutyFake:
    running, _ = served
    running.reset()
    return running


@pytest.fixture
def client(served: tuple[PagerDutyFake, str], fake: PagerDutyFake) -> Iterator[httpx.Client]:
    _, url = served
    with httpx.Client(base_url=url, timeout=10.0) as http:
        yield http


def _trigger(dedup_key: str = "srv01/mysql", routing_key: str = KEY) -> dict[str, Any]:
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": "DISK at 99% on prod-datapipe03",
            "source": "prod-datapipe03",
            "severity": "critical",
        },
    }


def _action(action: str, dedup_key: str = "srv01/mysql", routing_key: str = KEY) -> dict[str, Any]:
    return {"routing_key": routing_key, "event_action": action, "dedup_key": dedup_key}


def _change() -> dict[str, Any]:
    return {
        "routing_key": KEY,
        "payload": {
            "summary": "Canary pass: drm-canary (drm-v2-canary vs drm-v1), score 100",
            "source": "watchfloor canary (drm)",
            "timestamp": "2026-05-01T10:00:00.000Z",
            "custom_details": {"verdict": "pass", "score": 100.0},
        },
        "links": [{"href": "http://127.0.0.1:7070/canary/A", "text": "Canary analysis in Watchfloor"}],
    }


def _edit(event: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``event`` with dotted paths set (or removed with MISSING)."""
    edited = copy.deepcopy(event)
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = edited
        for name in parents:
            target = target[name]
        if value is MISSING:
            target.pop(last, None)
        else:
            target[last] = value
    return edited


def _full_trigger() -> dict[str, Any]:
    """Every optional field PagerDuty documents, as in its own example."""
    return {
        "routing_key": KEY,
        "event_action": "trigger",
        "dedup_key": "srv01/mysql",
        "payload": {
            "summary": "DISK at 99% on machine prod-datapipe03.example.com",
            "timestamp": "2015-07-17T08:42:58.315+0000",
            "severity": "critical",
            "source": "prod-datapipe03.example.com",
            "component": "mysql",
            "group": "prod-datapipe",
            "class": "disk",
            "custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75},
        },
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.service.com",
        "links": [{"href": "http://pagerduty.example.com", "text": "An example link."}],
        "images": [{"src": "https://example.com/chart.png", "href": "https://example.com", "alt": "A chart"}],
    }


# --- alert events: validation -------------------------------------------------------------------

ALERT_CASES = [
    ("routing_key missing", _trigger(), {"routing_key": MISSING}, ["'routing_key' is missing or blank"]),
    ("routing_key blank", _trigger(), {"routing_key": "   "}, ["'routing_key' is missing or blank"]),
    (
        "routing_key 31 characters",
        _trigger(),
        {"routing_key": KEY[:31]},
        ["Length of 'routing_key' is incorrect (should be 32 characters)"],
    ),
    (
        "routing_key 33 characters",
        _trigger(),
        {"routing_key": KEY + "0"},
        ["Length of 'routing_key' is incorrect (should be 32 characters)"],
    ),
    (
        "routing_key not alphanumeric",
        _trigger(),
        {"routing_key": "e93facc0-4764-012d-7bfb-002500d5"},
        ["'routing_key' cannot contain non-alphanumeric characters."],
    ),
    ("event_action missing", _trigger(), {"event_action": MISSING}, ["'event_action' is missing or blank"]),
    (
        "event_action unknown",
        _trigger(),
        {"event_action": "escalate"},
        ["'event_action' must be one of trigger, acknowledge, resolve"],
    ),
    ("trigger without payload", _trigger(), {"payload": MISSING}, ["'payload' is missing or blank"]),
    (
        "trigger without summary",
        _trigger(),
        {"payload.summary": MISSING},
        ["'payload.summary' is missing or blank"],
    ),
    (
        "trigger with blank summary",
        _trigger(),
        {"payload.summary": " "},
        ["'payload.summary' is missing or blank"],
    ),
    (
        "trigger without source",
        _trigger(),
        {"payload.source": MISSING},
        ["'payload.source' is missing or blank"],
    ),
    (
        "trigger without severity",
        _trigger(),
        {"payload.severity": MISSING},
        ["'payload.severity' is missing or blank"],
    ),
    (
        "severity unknown",
        _trigger(),
        {"payload.severity": "fatal"},
        ["'payload.severity' must be one of critical, error, warning, info"],
    ),
    (
        "severity in capitals",
        _trigger(),
        {"payload.severity": "CRITICAL"},
        ["'payload.severity' must be one of critical, error, warning, info"],
    ),
    (
        "summary 1025 characters",
        _trigger(),
        {"payload.summary": "s" * 1025},
        ["'payload.summary' is too long (1025 characters; the maximum is 1024)"],
    ),
    (
        "dedup_key 256 characters",
        _trigger(),
        {"dedup_key": "d" * 256},
        ["'dedup_key' is too long (256 characters; the maximum is 255)"],
    ),
    ("dedup_key not a string", _trigger(), {"dedup_key": 42}, ["'dedup_key' must be a string"]),
    (
        "acknowledge without dedup_key",
        _action("acknowledge"),
        {"dedup_key": MISSING},
        ["'dedup_key' is missing or blank (it is required to acknowledge)"],
    ),
    (
        "resolve with blank dedup_key",
        _action("resolve"),
        {"dedup_key": ""},
        ["'dedup_key' is missing or blank (it is required to resolve)"],
    ),
    ("payload not an object", _trigger(), {"payload": "disk full"}, ["'payload' must be an object"]),
    (
        "custom_details a string",
        _trigger(),
        {"payload.custom_details": "free space 1%"},
        ["'payload.custom_details' must be an object"],
    ),
    (
        "custom_details an array",
        _trigger(),
        {"payload.custom_details": [1, 2]},
        ["'payload.custom_details' must be an object"],
    ),
    (
        "image src over http",
        _trigger(),
        {"images": [{"src": "http://example.com/chart.png"}]},
        ["'images[0].src' must be an HTTPS URL"],
    ),
    (
        "image without src",
        _trigger(),
        {"images": [{"alt": "a chart"}]},
        ["'images[0].src' is missing or blank"],
    ),
    (
        "link without href",
        _trigger(),
        {"links": [{"href": "https://example.com"}, {"text": "no target"}]},
        ["'links[1].href' is missing or blank"],
    ),
    (
        "links not an array",
        _trigger(),
        {"links": {"href": "https://example.com"}},
        ["'links' must be an array"],
    ),
    (
        "timestamp not ISO 8601",
        _trigger(),
        {"payload.timestamp": "17/07/2015 08:42"},
        ["'payload.timestamp' must be an ISO 8601 date and time"],
    ),
    (
        "timestamp a date only",
        _trigger(),
        {"payload.timestamp": "2015-07-17"},
        ["'payload.timestamp' must be an ISO 8601 date and time"],
    ),
    (
        "timestamp a number",
        _trigger(),
        {"payload.timestamp": 1437122578},
        ["'payload.timestamp' must be an ISO 8601 date and time"],
    ),
    (
        "component not a string",
        _trigger(),
        {"payload.component": 42},
        ["'payload.component' must be a string"],
    ),
    ("group not a string", _trigger(), {"payload.group": ["a"]}, ["'payload.group' must be a string"]),
    ("class not a string", _trigger(), {"payload.class": True}, ["'payload.class' must be a string"]),
    ("client not a string", _trigger(), {"client": 1}, ["'client' must be a string"]),
    (
        "every problem is listed",
        _trigger(),
        {"routing_key": MISSING, "payload.severity": "fatal", "payload.source": MISSING},
        [
            "'routing_key' is missing or blank",
            "'payload.source' is missing or blank",
            "'payload.severity' must be one of critical, error, warning, info",
        ],
    ),
]


@pytest.mark.parametrize(
    ("base", "changes", "errors"),
    [case[1:] for case in ALERT_CASES],
    ids=[case[0] for case in ALERT_CASES],
)
def test_an_invalid_alert_event_is_refused_with_every_reason_and_not_ingested(
    fake, client, base, changes, errors
):
    answer = client.post("/v2/enqueue", json=_edit(base, changes))
    assert answer.status_code == 400
    assert answer.json() == {**INVALID, "errors": errors}
    assert (fake.events, fake.alerts) == ([], {})
    [rejection] = fake.rejected
    assert (rejection.path, rejection.errors) == ("/v2/enqueue", errors)
    assert [r.status for r in fake.requests] == [400]


RAW_CASES = [
    ("not JSON", b"routing_key=abc", ["JSON parse error"]),
    ("empty body", b"", ["JSON parse error"]),
    ("truncated JSON", b'{"routing_key": "', ["JSON parse error"]),
    ("JSON array", json.dumps([_trigger()]).encode(), ["Event object must be a JSON object, not an array"]),
    ("JSON string", b'"trigger"', ["Event object must be a JSON object, not a string"]),
    ("JSON null", b"null", ["Event object must be a JSON object, not null"]),
]


@pytest.mark.parametrize("path", ["/v2/enqueue", "/v2/change/enqueue"])
@pytest.mark.parametrize(("raw", "errors"), [c[1:] for c in RAW_CASES], ids=[c[0] for c in RAW_CASES])
def test_a_body_that_is_not_a_json_object_is_an_invalid_event(fake, client, path, raw, errors):
    answer = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()) == (400, {**INVALID, "errors": errors})
    assert (fake.events, fake.change_events) == ([], [])
    assert [(r.path, r.body) for r in fake.rejected] == [(path, raw)]


def _padded(event: dict[str, Any], size: int) -> bytes:
    """``event`` as JSON of exactly ``size`` bytes (padding in custom_details)."""
    event = _edit(event, {"payload.custom_details": {"pad": ""}})
    short = len(json.dumps(event).encode())
    event["payload"]["custom_details"]["pad"] = "x" * (size - short)
    raw = json.dumps(event).encode()
    assert len(raw) == size
    return raw


@pytest.mark.parametrize(
    ("path", "event"),
    [("/v2/enqueue", _trigger()), ("/v2/change/enqueue", _change())],
    ids=["alert", "change"],
)
def test_a_body_over_512_kb_is_refused_with_400_and_one_at_the_limit_is_accepted(fake, client, path, event):
    headers = {"content-type": "application/json"}
    over = client.post(path, content=_padded(event, MAX_BODY_BYTES + 1), headers=headers)
    assert over.status_code == 400
    assert over.json() == {
        **INVALID,
        "errors": [f"Request body is {MAX_BODY_BYTES + 1} bytes; the limit is 512 KB (524288 bytes)"],
    }
    assert (fake.events, fake.change_events) == ([], [])
    at_limit = client.post(path, content=_padded(event, MAX_BODY_BYTES), headers=headers)
    assert at_limit.status_code == 202
    assert len(fake.events) + len(fake.change_events) == 1


# --- alert events: accepted ---------------------------------------------------------------------

ACCEPTED_CASES = [
    ("minimal trigger", _trigger()),
    ("every documented field", _full_trigger()),
    ("summary 1024 characters", _edit(_trigger(), {"payload.summary": "s" * 1024})),
    ("dedup_key 255 characters", _edit(_trigger(), {"dedup_key": "d" * 255})),
    ("upper-case routing key", _trigger(routing_key=OTHER_KEY)),
    ("timestamp with Z", _edit(_trigger(), {"payload.timestamp": "2026-05-01T10:00:00Z"})),
    ("severity info", _edit(_trigger(), {"payload.severity": "info"})),
    ("unknown fields ignored", _edit(_trigger(), {"x_extra": 1, "payload.x_extra": [1]})),
    ("acknowledge without payload", _action("acknowledge")),
    ("resolve with client", {**_action("resolve"), "client": "Watchfloor"}),
]


@pytest.mark.parametrize("event", [c[1] for c in ACCEPTED_CASES], ids=[c[0] for c in ACCEPTED_CASES])
def test_a_valid_alert_event_is_accepted_and_kept_as_sent(fake, client, event):
    before = time.time()
    answer = client.post("/v2/enqueue", json=event)
    assert answer.status_code == 202
    assert answer.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": event["dedup_key"],
    }
    [kept] = fake.events
    assert (kept.routing_key, kept.event_action, kept.dedup_key) == (
        event["routing_key"],
        event["event_action"],
        event["dedup_key"],
    )
    assert kept.body == event
    assert before <= kept.received_at <= time.time()
    assert fake.rejected == []


def test_no_auth_header_is_needed_the_routing_key_is_the_credential(fake, client):
    answer = client.post("/v2/enqueue", json=_trigger())
    assert answer.status_code == 202
    [request] = fake.requests
    assert "authorization" not in request.headers
    assert (request.method, request.path, request.status) == ("POST", "/v2/enqueue", 202)


def test_a_trigger_without_dedup_key_gets_a_generated_one_that_later_events_can_use(fake, client):
    event = _edit(_trigger(), {"dedup_key": MISSING})
    first = client.post("/v2/enqueue", json=event).json()
    second = client.post("/v2/enqueue", json=event).json()
    assert first["status"] == second["status"] == "success"
    generated = first["dedup_key"]
    assert isinstance(generated, str) and generated and generated != second["dedup_key"]
    assert [e.dedup_key for e in fake.triggers()] == [generated, second["dedup_key"]]
    assert len(fake.alerts) == 2  # each generated key is a new alert
    resolved = client.post("/v2/enqueue", json=_action("resolve", generated))
    assert resolved.json()["dedup_key"] == generated
    assert fake.alert(KEY, generated) == Alert(KEY, generated, "resolved", 1)
    assert fake.alert(KEY, second["dedup_key"]) == Alert(KEY, second["dedup_key"], "triggered", 1)


# --- dedup lifecycle ----------------------------------------------------------------------------


def test_triggers_with_one_dedup_key_act_on_one_alert(fake, client):
    for _ in range(3):
        assert client.post("/v2/enqueue", json=_trigger("k1")).status_code == 202
    assert fake.alerts == {(KEY, "k1"): Alert(KEY, "k1", "triggered", 1)}
    assert [e.effect for e in fake.events] == ["opened", "deduplicated", "deduplicated"]


def test_after_resolve_a_trigger_with_the_same_key_opens_a_second_alert(fake, client):
    client.post("/v2/enqueue", json=_trigger("k1"))
    client.post("/v2/enqueue", json=_action("resolve", "k1"))
    assert fake.alert(KEY, "k1") == Alert(KEY, "k1", "resolved", 1)
    client.post("/v2/enqueue", json=_trigger("k1"))
    assert fake.alert(KEY, "k1") == Alert(KEY, "k1", "triggered", 2)
    assert [e.effect for e in fake.events] == ["opened", "resolved", "opened"]
    assert len(fake.triggers(dedup_key="k1")) == 2


def test_an_acknowledged_alert_stays_acknowledged_when_triggered_again(fake, client):
    client.post("/v2/enqueue", json=_trigger("k1"))
    client.post("/v2/enqueue", json=_action("acknowledge", "k1"))
    client.post("/v2/enqueue", json=_trigger("k1"))
    assert fake.alert(KEY, "k1") == Alert(KEY, "k1", "acknowledged", 1)
    assert [e.effect for e in fake.events] == ["opened", "acknowledged", "deduplicated"]


def test_the_same_dedup_key_on_another_routing_key_is_another_alert(fake, client):
    client.post("/v2/enqueue", json=_trigger("k1", KEY))
    client.post("/v2/enqueue", json=_trigger("k1", OTHER_KEY))
    assert fake.alerts == {
        (KEY, "k1"): Alert(KEY, "k1", "triggered", 1),
        (OTHER_KEY, "k1"): Alert(OTHER_KEY, "k1", "triggered", 1),
    }
    client.post("/v2/enqueue", json=_action("resolve", "k1", OTHER_KEY))
    assert fake.alert(KEY, "k1") == Alert(KEY, "k1", "triggered", 1)
    assert fake.alert(OTHER_KEY, "k1") == Alert(OTHER_KEY, "k1", "resolved", 1)
    assert [e.dedup_key for e in fake.triggers(routing_key=OTHER_KEY)] == ["k1"]


def test_acknowledge_or_resolve_on_another_routing_key_changes_nothing(fake, client):
    client.post("/v2/enqueue", json=_trigger("k1", KEY))
    for action in ("acknowledge", "resolve"):
        answer = client.post("/v2/enqueue", json=_action(action, "k1", OTHER_KEY))
        assert answer.status_code == 202
    assert fake.alerts == {(KEY, "k1"): Alert(KEY, "k1", "triggered", 1)}
    assert [e.effect for e in fake.events] == ["opened", "ignored", "ignored"]


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_acknowledge_or_resolve_without_an_open_alert_is_accepted_and_changes_nothing(fake, client, action):
    answer = client.post("/v2/enqueue", json=_action(action, "never-triggered"))
    assert (answer.status_code, answer.json()) == (
        202,
        {"status": "success", "message": "Event processed", "dedup_key": "never-triggered"},
    )
    assert fake.alerts == {}
    client.post("/v2/enqueue", json=_trigger("k1"))
    client.post("/v2/enqueue", json=_action("resolve", "k1"))
    client.post("/v2/enqueue", json=_action(action, "k1"))  # the alert is resolved already
    assert fake.alerts == {(KEY, "k1"): Alert(KEY, "k1", "resolved", 1)}
    assert [e.effect for e in fake.events] == ["ignored", "opened", "resolved", "ignored"]


def test_triggers_filters_by_routing_key_and_dedup_key_and_leaves_out_other_actions(fake, client):
    client.post("/v2/enqueue", json=_trigger("k1", KEY))
    client.post("/v2/enqueue", json=_trigger("k2", KEY))
    client.post("/v2/enqueue", json=_trigger("k1", OTHER_KEY))
    client.post("/v2/enqueue", json=_action("resolve", "k1", KEY))
    client.post("/v2/change/enqueue", json=_change())
    assert [(e.routing_key, e.dedup_key) for e in fake.triggers()] == [
        (KEY, "k1"),
        (KEY, "k2"),
        (OTHER_KEY, "k1"),
    ]
    assert [e.dedup_key for e in fake.triggers(routing_key=KEY)] == ["k1", "k2"]
    assert [e.routing_key for e in fake.triggers(dedup_key="k1")] == [KEY, OTHER_KEY]
    assert [e.dedup_key for e in fake.triggers(OTHER_KEY, "k1")] == ["k1"]
    assert fake.triggers(OTHER_KEY, "k2") == []


# --- change events ------------------------------------------------------------------------------


def test_a_change_event_is_accepted_and_kept_apart_from_alert_events(fake, client):
    answer = client.post("/v2/change/enqueue", json=_change())
    assert (answer.status_code, answer.json()) == (
        202,
        {"status": "success", "message": "Change event processed"},
    )
    [kept] = fake.change_events
    assert (kept.routing_key, kept.body) == (KEY, _change())
    assert kept.payload["custom_details"] == {"verdict": "pass", "score": 100.0}
    assert (fake.events, fake.alerts, fake.rejected) == ([], {}, [])


def test_a_change_event_needs_only_a_routing_key_and_a_summary(fake, client):
    answer = client.post("/v2/change/enqueue", json={"routing_key": KEY, "payload": {"summary": "s" * 1024}})
    assert answer.status_code == 202
    assert len(fake.change_events) == 1


CHANGE_CASES = [
    (
        "event_action present",
        {"event_action": "trigger"},
        ["'event_action' is not allowed in a change event"],
    ),
    ("dedup_key present", {"dedup_key": "deploy-42"}, ["'dedup_key' is not allowed in a change event"]),
    ("severity present", {"severity": "info"}, ["'severity' is not allowed in a change event"]),
    (
        "payload.severity present",
        {"payload.severity": "info"},
        ["'payload.severity' is not allowed in a change event"],
    ),
    ("routing_key missing", {"routing_key": MISSING}, ["'routing_key' is missing or blank"]),
    (
        "routing_key 33 characters",
        {"routing_key": KEY + "0"},
        ["Length of 'routing_key' is incorrect (should be 32 characters)"],
    ),
    ("payload missing", {"payload": MISSING}, ["'payload' is missing or blank"]),
    ("summary missing", {"payload.summary": MISSING}, ["'payload.summary' is missing or blank"]),
    (
        "summary 1025 characters",
        {"payload.summary": "s" * 1025},
        ["'payload.summary' is too long (1025 characters; the maximum is 1024)"],
    ),
    ("source not a string", {"payload.source": 7}, ["'payload.source' must be a string"]),
    (
        "timestamp not ISO 8601",
        {"payload.timestamp": "yesterday"},
        ["'payload.timestamp' must be an ISO 8601 date and time"],
    ),
    (
        "custom_details a string",
        {"payload.custom_details": "pass"},
        ["'payload.custom_details' must be an object"],
    ),
    ("link without href", {"links": [{"text": "analysis"}]}, ["'links[0].href' is missing or blank"]),
]


@pytest.mark.parametrize(
    ("changes", "errors"), [c[1:] for c in CHANGE_CASES], ids=[c[0] for c in CHANGE_CASES]
)
def test_an_invalid_change_event_is_refused_and_not_ingested(fake, client, changes, errors):
    answer = client.post("/v2/change/enqueue", json=_edit(_change(), changes))
    assert (answer.status_code, answer.json()) == (400, {**INVALID, "errors": errors})
    assert fake.change_events == []
    assert [(r.path, r.errors) for r in fake.rejected] == [("/v2/change/enqueue", errors)]


# --- faults -------------------------------------------------------------------------------------


def test_fail_next_answers_those_statuses_then_202_and_ingests_only_the_last(fake, client):
    fake.fail_next(429, 429, 500)
    answers = [client.post("/v2/enqueue", json=_trigger()) for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 500, 202]
    assert all("retry-after" not in a.headers for a in answers)
    assert len(fake.events) == 1
    assert fake.alert(KEY, "srv01/mysql") == Alert(KEY, "srv01/mysql", "triggered", 1)
    assert [r.status for r in fake.requests] == [429, 429, 500, 202]
    assert fake.rejected == []


def test_fail_next_sends_retry_after_when_asked(fake, client):
    fake.fail_next(429, retry_after=30)
    fake.fail_next(503, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
    first = client.post("/v2/enqueue", json=_trigger())
    second = client.post("/v2/enqueue", json=_trigger())
    third = client.post("/v2/enqueue", json=_trigger())
    assert (first.status_code, first.headers.get("retry-after")) == (429, "30")
    assert (second.status_code, second.headers.get("retry-after")) == (503, "Wed, 21 Oct 2015 07:28:00 GMT")
    assert (third.status_code, third.headers.get("retry-after")) == (202, None)
    assert len(fake.events) == 1


def test_fail_next_applies_to_change_events_too_and_not_before_a_request_comes(fake, client):
    fake.fail_next(502)
    assert client.post("/v2/change/enqueue", json=_change()).status_code == 502
    assert client.post("/v2/change/enqueue", json=_change()).status_code == 202
    assert len(fake.change_events) == 1


@pytest.mark.parametrize("status", [200, 202, 400, 404, 413])
def test_fail_next_takes_only_429_and_5xx(fake, status):
    with pytest.raises(ValueError, match=str(status)):
        fake.fail_next(status)


def test_an_unavailable_service_answers_503_and_ingests_nothing(fake, client):
    fake.unavailable = True
    assert client.post("/v2/enqueue", json=_trigger()).status_code == 503
    assert client.post("/v2/change/enqueue", json=_change()).status_code == 503
    assert (fake.events, fake.change_events) == ([], [])
    fake.unavailable = False
    assert client.post("/v2/enqueue", json=_trigger()).status_code == 202
    assert [r.status for r in fake.requests] == [503, 503, 202]


def test_a_slow_answer_is_late_but_the_event_is_ingested_even_if_the_client_gives_up(fake, client):
    fake.delay_s = 0.4
    started = time.monotonic()
    assert client.post("/v2/enqueue", json=_trigger("k1")).status_code == 202
    assert time.monotonic() - started >= 0.4
    with pytest.raises(httpx.ReadTimeout):
        client.post("/v2/enqueue", json=_trigger("k2"), timeout=0.1)
    assert [e.dedup_key for e in fake.events] == ["k1", "k2"]


def test_the_rate_limit_is_off_by_default(fake, client):
    answers = {client.post("/v2/enqueue", json=_trigger(f"k{n}")).status_code for n in range(130)}
    assert answers == {202}
    assert len(fake.events) == 130


class _Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_rate_limit_when_configured_is_per_routing_key_over_a_sliding_minute():
    clock = _Clock()
    with (
        serve_pagerduty_fake(PagerDutyFake(rate_limit_per_minute=3, clock=clock)) as (fake, url),
        httpx.Client(base_url=url, timeout=10.0) as client,
    ):
        statuses = [client.post("/v2/enqueue", json=_trigger(f"k{n}")).status_code for n in range(4)]
        assert statuses == [202, 202, 202, 429]
        # Alert and change events on one routing key share its budget.
        assert client.post("/v2/change/enqueue", json=_change()).status_code == 429
        assert client.post("/v2/enqueue", json=_trigger("k1", OTHER_KEY)).status_code == 202
        assert [e.dedup_key for e in fake.triggers(routing_key=KEY)] == ["k0", "k1", "k2"]
        clock.now += 59.0
        assert client.post("/v2/enqueue", json=_trigger("k3")).status_code == 429
        clock.now += 1.0  # the first three leave the window
        assert client.post("/v2/enqueue", json=_trigger("k3")).status_code == 202
        assert fake.change_events == []


def test_reset_forgets_everything_and_clears_the_faults(fake, client):
    client.post("/v2/enqueue", json=_trigger())
    client.post("/v2/enqueue", json={})
    client.post("/v2/change/enqueue", json=_change())
    fake.fail_next(500, 500)
    fake.delay_s = 5.0
    fake.unavailable = True
    fake.reset()
    assert (fake.events, fake.change_events, fake.rejected, fake.requests, fake.alerts) == (
        [],
        [],
        [],
        [],
        {},
    )
    assert (fake.unavailable, fake.delay_s) == (False, 0.0)
    assert client.post("/v2/enqueue", json=_trigger()).status_code == 202
    assert fake.alert(KEY, "srv01/mysql") == Alert(KEY, "srv01/mysql", "triggered", 1)


def test_other_methods_and_paths_are_answered_and_recorded(fake, client):
    assert client.get("/v2/enqueue").status_code == 405
    assert client.post("/v1/enqueue", json=_trigger()).status_code == 404
    assert [(r.method, r.path, r.status) for r in fake.requests] == [
        ("GET", "/v2/enqueue", 405),
        ("POST", "/v1/enqueue", 404),
    ]
    assert fake.events == []
