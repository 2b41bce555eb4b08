"""Alerts: what a rule says now (a sample), the alert it keeps, and the state machine between them.

States follow Prometheus: ``pending`` while a condition holds for less than its ``for``,
``firing`` once it has held that long, ``resolved`` when it stops (an alert that was only
pending goes back to ``inactive`` without a word). An alert is known by its fingerprint:
a hash of its sorted labels, stable across restarts and servers, and the base of its
PagerDuty ``dedup_key``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Alert", "AlertSample", "advance", "fingerprint"]

SEVERITY_ORDER = ("critical", "page", "error", "warning", "ticket", "info")


def fingerprint(labels: Mapping[str, str]) -> str:
    """16 hex digits of SHA-256 over the sorted ``key=value`` lines: the same labels, the same alert."""
    text = "\n".join(f"{k}={labels[k]}" for k in sorted(labels))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AlertSample:
    """One evaluation of one alert's condition: whether it holds, and the figure behind it."""

    labels: Mapping[str, str]
    active: bool
    value: float | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    for_ms: int = 0
    # (group, rank): of the firing alerts of one group only the lowest rank pages — a slower
    # burn-rate tier is inhibited while a faster one of the same SLO fires.
    inhibition: tuple[str, int] | None = None


@dataclass
class Alert:
    """An alert and where it stands; kept in the store so a restart does not page again."""

    fingerprint: str
    rule: str
    labels: dict[str, str]
    annotations: dict[str, str]
    state: str = "inactive"
    value: float | None = None
    active_since_ms: int | None = None
    fired_ms: int | None = None
    resolved_ms: int | None = None
    updated_ms: int = 0
    acknowledged_by: str | None = None
    acknowledged_ms: int | None = None
    inhibited_by: str | None = None  # the fingerprint of the alert that holds this one's page back
    inhibition: tuple[str, int] | None = None
    silenced_by: str | None = None  # the id of the silence that holds this one's page back
    pagerduty_status: str | None = None  # triggered, acknowledged, resolved: from PagerDuty's webhook
    # Sent to us (Alertmanager) or raised by an event (a canary), not evaluated by a rule: the
    # evaluator leaves it to its source, and it is never posted back to Alertmanager.
    external: bool = False

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "warning")


def advance(alert: Alert, sample: AlertSample | None, now_ms: int) -> str | None:
    """Move ``alert`` by one evaluation (no sample: the condition no longer holds).

    Answers the transition made — ``pending``, ``firing``, ``resolved`` or ``inactive`` —
    or None when the state stays.
    """
    active = sample is not None and sample.active
    if sample is not None:
        alert.value = sample.value
        alert.annotations = dict(sample.annotations)
    alert.updated_ms = now_ms
    if active:
        assert sample is not None
        if alert.state in ("inactive", "resolved"):
            alert.active_since_ms, alert.resolved_ms = now_ms, None
            # A new episode: last episode's acknowledgement and PagerDuty status do not carry over.
            alert.acknowledged_by = alert.acknowledged_ms = alert.pagerduty_status = None
            alert.state = "pending"
            if sample.for_ms > 0:
                return "pending"
        if alert.state == "pending" and now_ms - (alert.active_since_ms or now_ms) >= sample.for_ms:
            alert.state, alert.fired_ms = "firing", now_ms
            return "firing"
        return None
    if alert.state == "pending":
        alert.state, alert.active_since_ms = "inactive", None
        return "inactive"
    if alert.state == "firing":
        alert.state, alert.resolved_ms = "resolved", now_ms
        return "resolved"
    return None
