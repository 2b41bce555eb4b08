"""Alertmanager-format (version 4) webhooks out: the message field by field, delivered to a
receiver on loopback through the outbox, retried on 5xx, and a refusal recorded."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerting.delivery import Deliverer
from alerting.engine import AlertEngine
from alerting.model import Alert
from alerting.webhooks import ZERO_TIME, WebhookSender, webhook_channel, webhook_message
from canary.scopes import iso
from sample_services.serving import ServerThread
from store.duckdb_store import DuckDBStore
from tests.alerting.support import Clock
from tests.alerting.test_engine import Rule, sample


class Receiver:
    """Records every message; answers the scripted statuses first, then 200."""

    def __init__(self) -> None:
        self.got: list[dict] = []
        self.statuses: list[int] = []

        async def receive(request: Request) -> Response:
            status = self.statuses.pop(0) if self.statuses else 200
            if status == 200:
                self.got.append(json.loads(await request.body()))
            return Response(status_code=status)

        self.server = ServerThread()
        self.url = self.server.start(Starlette(routes=[Route("/hook", receive, methods=["POST"])])) + "/hook"


@pytest.fixture(scope="module")
def receiver():
    running = Receiver()
    yield running
    running.server.stop()


def test_a_firing_message_is_alertmanager_s_version_4():
    alert = Alert(
        "abc", "r", {"alertname": "SLOBurnRate", "slo": "drm"}, {"summary": "s"}, "firing", fired_ms=1_000
    )
    message = webhook_message(alert, external_url="http://127.0.0.1:7070")
    assert set(message) == {
        "version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
        "commonLabels", "commonAnnotations", "externalURL", "alerts",
    }  # fmt: skip
    assert (message["version"], message["status"], message["groupLabels"]) == (
        "4",
        "firing",
        {"alertname": "SLOBurnRate"},
    )
    [sent] = message["alerts"]
    assert sent["startsAt"] == iso(1_000) and sent["endsAt"] == ZERO_TIME
    assert sent["fingerprint"] == "abc" and sent["generatorURL"].endswith("/api/v1/alerts/abc")
    alert.state, alert.resolved_ms = "resolved", 5_000
    resolved = webhook_message(alert, external_url=None)
    assert resolved["status"] == "resolved" and resolved["alerts"][0]["endsAt"] == iso(5_000)


def test_webhooks_hear_firing_and_resolved_and_ride_out_a_500(tmp_path, receiver):
    store = DuckDBStore(tmp_path / "w.duckdb")
    clock, rule = Clock(), Rule()
    outbox = Deliverer(store, {webhook_channel(0): WebhookSender(receiver.url)}, clock=clock)
    try:
        engine = AlertEngine([rule], store, outbox, clock=clock, console_url="http://127.0.0.1:7070")
        receiver.got.clear()
        receiver.statuses[:] = [500]
        rule.now = [sample(True)]
        engine.evaluate()
        outbox.deliver_due()
        assert receiver.got == []
        clock.now += 10
        outbox.deliver_due()
        rule.now = [sample(False)]
        engine.evaluate()
        outbox.deliver_due()
        assert [m["status"] for m in receiver.got] == ["firing", "resolved"]
        receiver.statuses[:] = [400]
        rule.now = [sample(True)]
        engine.evaluate()
        outbox.deliver_due()
        failed = store.notifications(status="failed")
        assert [(n.last_status, n.channel) for n in failed] == [(400, "webhook:0")]
    finally:
        outbox.close()
        store.close()
