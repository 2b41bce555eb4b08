"""Alertmanager-format webhooks out (protocols.md §3, payload version 4), for any receiver.

One message per alert change, shaped as Alertmanager's webhook receiver sends it:
``{version: "4", groupKey, truncatedAlerts, status, receiver, groupLabels, commonLabels,
commonAnnotations, externalURL, alerts: [{status, labels, annotations, startsAt, endsAt,
generatorURL, fingerprint}]}``; a firing alert's ``endsAt`` is ``0001-01-01T00:00:00Z``.
Receivers answer 2xx for success; the outbox retries 429 and 5xx and records other 4xx.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from alerting.delivery import SendResult
from alerting.model import Alert
from alerting.pagerduty import retry_after_s
from collectors.urls import redact_url
from store.model import iso_ms as iso

__all__ = ["WebhookSender", "webhook_channel", "webhook_message"]

ZERO_TIME = "0001-01-01T00:00:00Z"


def webhook_channel(index: int) -> str:
    return f"webhook:{index}"


class WebhookSender:
    """Posts Alertmanager-format messages to one URL (its own rate limit, 600 a minute)."""

    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        self._url = url
        self._client = httpx.Client(timeout=timeout_s)
        self.rate_key = f"webhook:{redact_url(url)}"

    def send(self, payload: Mapping[str, Any]) -> SendResult:
        try:
            answer = self._client.post(self._url, json=dict(payload))
        except httpx.HTTPError as exc:
            return SendResult(None, error=f"{type(exc).__name__}: {exc}")
        if 200 <= answer.status_code < 300:
            return SendResult(answer.status_code)
        return SendResult(
            answer.status_code,
            retry_after_s(answer.headers.get("retry-after")),
            f"{answer.status_code}: {answer.text[:500]}",
        )

    def close(self) -> None:
        self._client.close()


def webhook_message(
    alert: Alert, *, external_url: str | None, receiver: str = "watchfloor"
) -> dict[str, Any]:
    """The version-4 webhook message for ``alert`` as it stands (firing or resolved)."""
    status = "firing" if alert.state == "firing" else "resolved"
    starts = alert.fired_ms or alert.active_since_ms or alert.updated_ms
    ends = ZERO_TIME if status == "firing" else iso(alert.resolved_ms or alert.updated_ms)
    generator = f"{external_url.rstrip('/')}/api/v1/alerts/{alert.fingerprint}" if external_url else ""
    alertname = alert.labels.get("alertname", alert.rule)
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{alertname}"}}/{alert.fingerprint}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": {"alertname": alertname},
        "commonLabels": dict(alert.labels),
        "commonAnnotations": dict(alert.annotations),
        "externalURL": external_url or "",
        "alerts": [
            {
                "status": status,
                "labels": dict(alert.labels),
                "annotations": dict(alert.annotations),
                "startsAt": iso(starts),
                "endsAt": ends,
                "generatorURL": generator,
                "fingerprint": alert.fingerprint,
            }
        ],
    }
