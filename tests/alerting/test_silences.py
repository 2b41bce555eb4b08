"""Silences: Alertmanager's matchers and time range, refusals naming the field, a silenced
alert that does not page, and the CRUD API on a running server."""

from __future__ import annotations

import httpx
import pytest

from alerting.model import AlertSample, fingerprint
from alerting.silences import Matcher, SilenceBook, SilenceError, read_silence
from canary.scopes import iso
from tests.alerting.support import Clock, Scripted
from tests.alerting.test_engine import Rule, _engine, sample
from tests.support.server import RunningServer

NOW = 1_800_000_000_000


def body(**changes):
    raw = {
        "matchers": [{"name": "slo", "value": "drm", "isRegex": False, "isEqual": True}],
        "startsAt": iso(NOW - 60_000),
        "endsAt": iso(NOW + 3_600_000),
        "createdBy": "oncall@example.com",
        "comment": "DRM maintenance, CHG-1234",
    }
    raw.update(changes)
    return raw


@pytest.mark.parametrize(
    ("matcher", "labels", "expected"),
    [
        (Matcher("slo", "drm"), {"slo": "drm"}, True),
        (Matcher("slo", "drm"), {"slo": "cdn"}, False),
        (Matcher("slo", "drm", is_equal=False), {"slo": "cdn"}, True),
        (Matcher("slo", "d.*", is_regex=True), {"slo": "drm"}, True),
        (Matcher("slo", "d", is_regex=True), {"slo": "drm"}, False),  # anchored, as Alertmanager's
        (Matcher("team", ""), {"slo": "drm"}, True),  # a missing label is ""
    ],
)
def test_matchers_match_as_alertmanager_s(matcher, labels, expected):
    assert matcher.matches(labels) is expected


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"matchers": []}, "matchers"),
        ({"matchers": [{"name": "", "value": "x"}]}, "matchers[0].name"),
        ({"matchers": [{"name": "slo", "value": 3}]}, "matchers[0].value"),
        ({"matchers": [{"name": "slo", "value": "(", "isRegex": True}]}, "matchers[0].value"),
        ({"matchers": [{"name": "slo", "value": ".*", "isRegex": True}]}, "matchers"),  # silences everything
        ({"endsAt": iso(NOW - 120_000)}, "endsAt"),
        ({"endsAt": "tomorrow"}, "endsAt"),
        ({"startsAt": iso(NOW + 7_200_000)}, "endsAt"),
        ({"createdBy": ""}, "createdBy"),
        ({"comment": None}, "comment"),
        ({"endsAt": "9999-12-31T23:59:59-01:00"}, "endsAt"),  # past 9999 once in UTC
    ],
)
def test_bad_silences_are_refused_naming_the_field(changes, field):
    with pytest.raises(SilenceError) as caught:
        read_silence(body(**changes), NOW)
    assert caught.value.field == field


def test_a_silenced_alert_keeps_its_state_but_does_not_page(tmp_path):
    from store.duckdb_store import DuckDBStore

    store = DuckDBStore(tmp_path / "s.duckdb")
    try:
        clock, rule, sender = Clock(), Rule(), Scripted()
        book = SilenceBook(store, clock)
        now_ms = int(clock.now * 1000)
        book.put(
            body(
                startsAt=iso(now_ms - 1),
                endsAt=iso(now_ms + 600_000),
                matchers=[{"name": "slo", "value": "drm"}],
            )
        )
        engine, outbox = _engine(store, clock, [rule], sender)
        engine._silences = book.all  # as the server wires it
        rule.now = [sample(True)]
        engine.evaluate()
        outbox.deliver_due()
        [alert] = engine.alerts()
        assert alert.state == "firing" and alert.silenced_by is not None and sender.got == []
        clock.now += 601  # the silence ends while it still burns: now it pages
        engine.evaluate()
        outbox.deliver_due()
        assert [e["event_action"] for e in sender.got] == ["trigger"]
        assert engine.alerts()[0].silenced_by is None
        other = AlertSample({"slo": "cdn", "severity": "page"}, True)
        assert fingerprint(other.labels) != alert.fingerprint
    finally:
        store.close()


def test_the_silences_api(tmp_path):
    server = RunningServer(tmp_path)
    try:
        import time

        now_ms = int(time.time() * 1000)
        sent = body(startsAt=iso(now_ms - 1000), endsAt=iso(now_ms + 3_600_000))
        answer = httpx.post(f"{server.url}/api/v1/silences", json=sent)
        assert answer.status_code == 200, answer.text
        silence_id = answer.json()["silenceID"]
        shown = httpx.get(f"{server.url}/api/v1/silences/{silence_id}").json()
        assert (shown["status"]["state"], shown["createdBy"], shown["matchers"][0]["name"]) == (
            "active",
            "oncall@example.com",
            "slo",
        )
        assert [
            s["id"]
            for s in httpx.get(f"{server.url}/api/v1/silences", params={"state": "active"}).json()["silences"]
        ] == [silence_id]
        expired = httpx.delete(f"{server.url}/api/v1/silences/{silence_id}").json()
        assert expired["status"]["state"] == "expired"
        bad = httpx.post(f"{server.url}/api/v1/silences", json=body(matchers=[]))
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "matchers"
        assert httpx.get(f"{server.url}/api/v1/silences/nope").status_code == 404
        assert httpx.delete(f"{server.url}/api/v1/silences/nope").status_code == 404
    finally:
        server.stop()


def test_a_pathological_pattern_matches_in_linear_time():
    # (a+)+$ backtracks exponentially in Python's re; RE2 (Alertmanager's kind) does not.
    matcher = Matcher("instance", "(a+)+$", is_regex=True)
    assert matcher.matches({"instance": "a" * 100_000 + "!"}) is False


def test_a_silence_stops_the_page_on_a_running_server_until_it_is_expired(tmp_path):
    import time

    from sample_services.slos import DEMO_SLO_DIR
    from store.model import Datapoint
    from tests.fakes.pagerduty import serve_pagerduty_fake
    from tests.support.polling import eventually

    key = "R0UT1NGKEY0123456789ABCDEFGHIJKL"
    with serve_pagerduty_fake() as (fake, url):
        server = RunningServer(
            tmp_path, step_ms=60_000, slo_dir=DEMO_SLO_DIR, alert_eval_interval_s=0.2,
            pagerduty_url=url, pagerduty_routing_key=key,
        )  # fmt: skip
        try:
            now = int(time.time() * 1000)
            matchers = [{"name": "service", "value": "drm"}]
            silence = body(matchers=matchers, startsAt=iso(now - 1000), endsAt=iso(now + 3_600_000))
            silence_id = httpx.post(f"{server.url}/api/v1/silences", json=silence).json()["silenceID"]
            end = now // 60_000 * 60_000
            base = {"name": "http_server_requests", "nf.app": "drm", "route": "/license"}
            points = []
            for ts in range(end - 7_200_000, end + 1, 60_000):
                bad = 0.5 if ts > end - 600_000 else 0.0
                points += [Datapoint({**base, "status_class": "5xx"}, ts, bad)]
                points += [Datapoint({**base, "status_class": "2xx"}, ts, 1 - bad)]
            server.server.store.write_datapoints(points)

            def silenced():
                found = httpx.get(f"{server.url}/api/v1/alerts", params={"label": "service=drm"}).json()[
                    "alerts"
                ]
                firing = [a for a in found if a["state"] == "firing"]
                return firing if firing and all(a["silenced_by"] == silence_id for a in firing) else None

            eventually(silenced, timeout_s=30, what="drm's alerts firing, silenced")
            time.sleep(1)  # several evaluations
            assert [t for t in fake.triggers(key) if t.payload.get("component") == "drm"] == []
            assert httpx.delete(f"{server.url}/api/v1/silences/{silence_id}").status_code == 200
            eventually(
                lambda: [t for t in fake.triggers(key) if t.payload.get("component") == "drm"],
                timeout_s=30,
                what="the page once the silence is expired",
            )
        finally:
            server.stop()
