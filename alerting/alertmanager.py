"""Alertmanager API v2 out (protocols.md §3): post Watchfloor's alerts to a real Alertmanager.

``POST {url}/api/v2/alerts`` with a JSON array of ``{labels, annotations, startsAt,
endsAt, generatorURL}``. Alertmanager expires an alert it has not heard of for
``resolve_timeout`` (5 minutes), so every push re-posts all firing alerts (without
``endsAt``), and each alert that stopped firing since the last successful push is posted
once with ``endsAt`` set to when it resolved. A push that fails is simply repeated by the
next one, which carries the same alerts; resolves are kept until they have been delivered.
Silenced alerts are posted too: Alertmanager has its own silences, and routing is its job.
Alerts that came from an Alertmanager (its webhook) are never posted back: that would keep
them firing for ever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from alerting.engine import AlertEngine
from alerting.model import Alert
from collectors.urls import redact_url
from store.model import iso_ms as iso

__all__ = ["AlertmanagerPusher"]

_log = logging.getLogger("watchfloor.alertmanager")


class AlertmanagerPusher:
    """Keeps an Alertmanager's view of Watchfloor's alerts current."""

    def __init__(
        self,
        url: str,
        engine: AlertEngine,
        *,
        console_url: str | None = None,
        clock: Callable[[], float] = time.time,
        timeout_s: float = 10.0,
    ) -> None:
        self._url = url.rstrip("/") + "/api/v2/alerts"
        self._engine = engine
        self._console_url = console_url
        self._clock = clock
        self._client = httpx.Client(timeout=timeout_s)
        self._announced: set[str] = set()  # fingerprints Alertmanager has been told are firing
        self.last_error: str | None = None

    def _entry(self, alert: Alert, ends_ms: int | None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "labels": dict(alert.labels),
            "annotations": dict(alert.annotations),
            "startsAt": iso(alert.fired_ms or alert.updated_ms),
        }
        if ends_ms is not None:
            entry["endsAt"] = iso(ends_ms)
        if self._console_url:
            entry["generatorURL"] = f"{self._console_url.rstrip('/')}/api/v1/alerts/{alert.fingerprint}"
        return entry

    def push(self) -> bool:
        """One push; answers whether Alertmanager took it."""
        # Alerts Alertmanager sent us are its own: posting them back would keep them firing.
        alerts = {a.fingerprint: a for a in self._engine.alerts() if not a.external}
        firing = [a for a in alerts.values() if a.state == "firing"]
        gone = [alerts[f] for f in self._announced if f in alerts and alerts[f].state != "firing"]
        now_ms = int(self._clock() * 1000)
        body = [self._entry(a, None) for a in firing]
        body += [self._entry(a, min(a.resolved_ms or now_ms, now_ms)) for a in gone]
        if not body:
            return True
        try:
            answer = self._client.post(self._url, json=body)
        except httpx.HTTPError as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
        else:
            if 200 <= answer.status_code < 300:
                self._announced = {a.fingerprint for a in firing}
                self.last_error = None
                return True
            self.last_error = f"{answer.status_code}: {answer.text[:300]}"
        _log.warning("posting alerts to %s failed: %s", redact_url(self._url), self.last_error)
        return False

    def close(self) -> None:
        self._client.close()
