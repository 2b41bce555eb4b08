"""Webhooks in: Alertmanager's (version 4) and PagerDuty's (v3, HMAC-signed) — protocols.md §2–3.

Alertmanager: ``{version: "4", status, receiver, alerts: [{status, labels, annotations,
startsAt, endsAt, generatorURL, fingerprint}], …}``; unknown keys are ignored (new ones keep
being added). Each alert becomes a sample: firing holds, resolved does not.

PagerDuty: one event per POST, ``{"event": {id, event_type, resource_type, occurred_at,
agent, data: {incident_key, status, …}}}``. ``X-PagerDuty-Signature`` carries one or more
``v1=<hex>``, each the HMAC-SHA256 of the raw body keyed by the subscription secret; any
one matching (compared in constant time) is enough. A missing or malformed header is a 400,
a signature that matches none a 403.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alerting.errors import InputError
from alerting.model import AlertSample

__all__ = ["IntakeError", "PagerDutyChange", "alertmanager_samples", "pagerduty_change", "verify_signature"]

MAX_ALERTS = 1_000
_SIGNATURE = re.compile(r"v1=([0-9a-f]{64})")
# incident.* events that change what an alert shows; others (annotated, reassigned…) are accepted and ignored.
PAGERDUTY_STATUSES = {
    "incident.triggered": "triggered",
    "incident.acknowledged": "acknowledged",
    "incident.unacknowledged": "triggered",
    "incident.reopened": "triggered",
    "incident.resolved": "resolved",
}


class IntakeError(InputError):
    """A webhook that cannot be taken (400), or whose signature does not match (403)."""


def _strings(raw: object, field: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise IntakeError(field, "expected an object of strings")
    return dict(raw)


def alertmanager_samples(body: object) -> list[AlertSample]:
    """The samples of an Alertmanager webhook message; IntakeError names what is wrong."""
    if not isinstance(body, Mapping):
        raise IntakeError("body", "expected Alertmanager's webhook message (an object)")
    if body.get("version") != "4":
        raise IntakeError("version", f'expected "4", got {body.get("version")!r}')
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or len(alerts) > MAX_ALERTS:
        raise IntakeError("alerts", f"expected a list of at most {MAX_ALERTS} alerts")
    samples = []
    for n, alert in enumerate(alerts):
        where = f"alerts[{n}]"
        if not isinstance(alert, Mapping):
            raise IntakeError(where, "expected an object")
        status = alert.get("status")
        if status not in ("firing", "resolved"):
            raise IntakeError(f"{where}.status", "expected firing or resolved")
        labels = _strings(alert.get("labels"), f"{where}.labels")
        if not labels:
            raise IntakeError(f"{where}.labels", "an alert needs at least one label")
        annotations = _strings(alert.get("annotations"), f"{where}.annotations")
        source = alert.get("generatorURL")
        if isinstance(source, str) and source:
            annotations.setdefault("generatorURL", source)
        samples.append(AlertSample(labels, status == "firing", None, annotations))
    return samples


def verify_signature(raw_body: bytes, header: str | None, secret: str) -> None:
    """Raise IntakeError (400 missing or malformed, 403 not matching) unless a signature fits."""
    if not header:
        raise IntakeError("X-PagerDuty-Signature", "missing")
    given = [part.strip() for part in header.split(",") if part.strip()]
    found = [m.group(1) for part in given if (m := _SIGNATURE.fullmatch(part))]
    if not found or len(found) != len(given):
        raise IntakeError("X-PagerDuty-Signature", "expected v1=<64 lowercase hex digits>, comma-separated")
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, signature) for signature in found):
        raise IntakeError("X-PagerDuty-Signature", "no signature matches this body", 403)


@dataclass(frozen=True, slots=True)
class PagerDutyChange:
    event_id: str
    incident_key: str
    status: str
    by: str | None


def pagerduty_change(body: object) -> PagerDutyChange | None:
    """What an incident event says, or None for events that change nothing shown."""
    event = body.get("event") if isinstance(body, Mapping) else None
    if not isinstance(event, Mapping):
        raise IntakeError("event", "expected PagerDuty's webhook v3 {event: {…}}")
    event_type, data = event.get("event_type"), event.get("data")
    if not isinstance(event_type, str):
        raise IntakeError("event.event_type", "expected a string")
    status = PAGERDUTY_STATUSES.get(event_type)
    if status is None:
        return None
    if not isinstance(data, Mapping):
        raise IntakeError("event.data", "expected the incident")
    key = data.get("incident_key")
    if not isinstance(key, str) or not key:
        return None  # an incident PagerDuty opened itself: not one of ours
    agent: Any = event.get("agent")
    by = (
        agent.get("summary") if isinstance(agent, Mapping) and isinstance(agent.get("summary"), str) else None
    )
    return PagerDutyChange(str(event.get("id", "")), key, status, by)
