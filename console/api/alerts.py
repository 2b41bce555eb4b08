"""The alerts API: what fires, what is pending, what resolved, and acknowledging.

- ``GET /api/v1/alerts?state=&severity=&label=key=value&group_by=key`` (``label`` may
  repeat; every one must match) — firing first, then by severity and name; with
  ``group_by`` also ``groups`` as Alertmanager groups them (most firing first);
- ``GET /api/v1/alerts/{fingerprint}`` — one alert with its history of state changes;
- ``POST /api/v1/alerts/{fingerprint}/ack`` ``{"by": "…"}`` — acknowledged here and, when
  it was paged, in PagerDuty (an acknowledge event through the outbox).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from fastapi import APIRouter, Body, Query

from alerting.engine import AlertEngine, dedup_key
from alerting.model import Alert
from sample_services.errors import ServiceError
from store.duckdb_outbox import OutboxMixin

__all__ = ["alerts_router"]


def _view(alert: Alert) -> dict[str, Any]:
    return {**dataclasses.asdict(alert), "severity": alert.severity, "dedup_key": dedup_key(alert)}


def _matchers(labels: list[str]) -> list[tuple[str, str]]:
    found = []
    for n, text in enumerate(labels):
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise ServiceError(400, f"label[{n}]", f"expected key=value, got {text!r}")
        found.append((key, value))
    return found


def alerts_router(engine: AlertEngine, history: OutboxMixin) -> APIRouter:
    router = APIRouter(prefix="/api/v1/alerts", tags=["alerting"])

    @router.get("")
    def alerts(
        state: Literal["pending", "firing", "resolved", "inactive"] | None = None,
        severity: str | None = Query(None, max_length=64),
        label: list[str] = Query(default=[]),  # noqa: B008 - FastAPI's idiom
        group_by: list[str] = Query(default=[], max_length=10),  # noqa: B008
    ) -> dict[str, Any]:
        matchers = _matchers(label)
        found = [
            a
            for a in engine.alerts()
            if (state is None or a.state == state)
            and (severity is None or a.severity == severity)
            and all(a.labels.get(k) == v for k, v in matchers)
        ]
        answer: dict[str, Any] = {"alerts": [_view(a) for a in found]}
        if group_by:
            # Alertmanager's grouping: one group per distinct value of the keys, worst first.
            groups: dict[tuple[str, ...], list[Alert]] = {}
            for alert in found:
                groups.setdefault(tuple(alert.labels.get(k, "") for k in group_by), []).append(alert)
            answer["groups"] = [
                {
                    "labels": dict(zip(group_by, key, strict=True)),
                    "firing": sum(a.state == "firing" for a in members),
                    "fingerprints": [a.fingerprint for a in members],
                }
                for key, members in sorted(
                    groups.items(), key=lambda g: -sum(a.state == "firing" for a in g[1])
                )
            ]
        return answer

    @router.get("/{fingerprint}")
    def alert(fingerprint: str) -> dict[str, Any]:
        found = engine.alert(fingerprint)
        if found is None:
            raise ServiceError(404, "fingerprint", f"no alert {fingerprint!r}")
        changes = [
            {"ts_ms": ts, "transition": t, "value": v} for ts, t, v in history.alert_history(fingerprint)
        ]
        return {**_view(found), "history": changes}

    @router.post("/{fingerprint}/ack")
    def acknowledge(fingerprint: str, body: dict[str, Any] | None = Body(None)) -> dict[str, Any]:  # noqa: B008
        by = (body or {}).get("by", "watchfloor")
        if not isinstance(by, str) or not by.strip() or len(by) > 256:
            raise ServiceError(400, "by", "expected who acknowledges it: 1 to 256 characters")
        found = engine.acknowledge(fingerprint, by)
        if found is None:
            raise ServiceError(404, "fingerprint", f"no alert {fingerprint!r}")
        return _view(found)

    return router
