"""PagerDuty Events API v2 (protocols.md §1): the senders, and events built to its rules.

Alert events go to ``POST {base}/v2/enqueue`` (``event_action`` trigger, acknowledge or
resolve with a stable ``dedup_key``), change events (deploys, canary verdicts) to
``POST {base}/v2/change/enqueue``. Events are kept in the outbox without the routing key:
the sender adds it as it sends, so the secret lives only in the configuration (from the
environment) and never in the store, an answer or a log line.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

import httpx

from alerting.delivery import SendResult

__all__ = ["CHANGE", "EVENTS", "PagerDutySender", "alert_event", "retry_after_s"]

EVENTS = "pagerduty"  # the outbox channel of alert events
CHANGE = "pagerduty_change"  # and of change events
SEVERITIES = ("critical", "error", "warning", "info")
SUMMARY_LIMIT = 1024
DEDUP_LIMIT = 255


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class PagerDutySender:
    """Sends one kind of event to PagerDuty with the configured routing key."""

    def __init__(
        self, base_url: str, routing_key: str, *, change: bool = False, timeout_s: float = 10.0
    ) -> None:
        self._url = base_url.rstrip("/") + ("/v2/change/enqueue" if change else "/v2/enqueue")
        self._routing_key = routing_key
        self._client = httpx.Client(timeout=timeout_s)
        # PagerDuty's rate limit is per routing key: both kinds of event share it.
        self.rate_key = f"pagerduty:{hash(routing_key) & 0xFFFFFFFF:08x}"

    def send(self, payload: Mapping[str, Any]) -> SendResult:
        try:
            answer = self._client.post(self._url, json={**payload, "routing_key": self._routing_key})
        except httpx.HTTPError as exc:
            return SendResult(None, error=f"{type(exc).__name__}: {exc}")
        if 200 <= answer.status_code < 300:
            return SendResult(answer.status_code)
        return SendResult(
            answer.status_code, retry_after_s(answer.headers.get("retry-after")), _error(answer)
        )

    def close(self) -> None:
        self._client.close()


def _error(answer: httpx.Response) -> str:
    """PagerDuty's own words for a refusal (``errors`` of a 400), else the status and body."""
    try:
        body = answer.json()
        errors = body.get("errors") if isinstance(body, dict) else None
    except ValueError:
        errors = None
    if errors:
        return f"{answer.status_code}: " + "; ".join(str(e) for e in errors)[:1000]
    return f"{answer.status_code}: {answer.text[:500]}"


def alert_event(
    action: str,
    dedup_key: str,
    *,
    summary: str = "",
    source: str = "watchfloor",
    severity: str = "error",
    timestamp: str | None = None,
    component: str | None = None,
    group: str | None = None,
    event_class: str | None = None,
    custom_details: Mapping[str, Any] | None = None,
    links: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """An Events v2 alert event (without the routing key); trigger carries the payload."""
    if action not in ("trigger", "acknowledge", "resolve"):
        raise ValueError(f"event_action {action!r}: expected trigger, acknowledge or resolve")
    if not dedup_key or len(dedup_key) > DEDUP_LIMIT:
        raise ValueError(f"dedup_key: 1 to {DEDUP_LIMIT} characters")
    event: dict[str, Any] = {"event_action": action, "dedup_key": dedup_key, "client": "Watchfloor"}
    if action != "trigger":
        return event
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r}: expected one of {', '.join(SEVERITIES)}")
    payload: dict[str, Any] = {
        "summary": (summary or dedup_key)[:SUMMARY_LIMIT],
        "source": source,
        "severity": severity,
    }
    for key, value in (
        ("timestamp", timestamp),
        ("component", component),
        ("group", group),
        ("class", event_class),
    ):
        if value is not None:
            payload[key] = value
    if custom_details:
        payload["custom_details"] = dict(custom_details)
    event["payload"] = payload
    if links:
        event["links"] = links
    return event
