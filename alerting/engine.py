"""The alert evaluator: rules → samples → alert states → pages, every interval, with an injectable clock.

Each evaluation asks every rule for its samples, moves each alert's state
(:func:`alerting.model.advance`), applies inhibition (of the firing alerts sharing an
inhibition group only the lowest rank pages), and turns what changed into PagerDuty
events through the outbox: a trigger when an alert starts firing uninhibited (or its
inhibitor stops), a resolve when a paged alert resolves, never a second trigger for an
alert already paged. A rule that fails leaves its alerts as they were: an evaluation
error must not resolve a page. Alerts are kept in the store (documents of kind ``alert``)
and every state change in ``alert_history``, so a restart neither pages again nor forgets.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from alerting.delivery import Deliverer
from alerting.model import SEVERITY_ORDER, Alert, AlertSample, advance, fingerprint
from alerting.pagerduty import EVENTS, SEVERITIES, alert_event
from alerting.rules import Rule
from alerting.silences import Silence
from alerting.webhooks import webhook_message
from store.duckdb_documents import Document

__all__ = ["ALERT_KIND", "AlertEngine"]

ALERT_KIND = "alert"
_log = logging.getLogger("watchfloor.alerts")
PAGERDUTY_SEVERITY = {"page": "critical", "ticket": "warning"}
DETAIL_LIMIT = 2_000
_ALERT_FIELDS = {f.name for f in dataclasses.fields(Alert)}
# Alertmanager re-sends firing alerts at least every repeat_interval (4 h by default): one
# not heard of for longer has been lost on the way, and resolves.
EXTERNAL_TTL_MS = 4 * 3_600_000 + 15 * 60_000


class AlertStore(Protocol):
    def put_document(self, kind: str, name: str, body: str, updated_ms: int) -> None: ...

    def documents(self, kind: str) -> list[Document]: ...

    def record_alert_transition(
        self, fingerprint: str, transition: str, value: float | None, labels: str, ts_ms: int
    ) -> None: ...


def dedup_key(alert: Alert) -> str:
    return f"watchfloor/{alert.fingerprint}"


def _unstamped(body: dict[str, Any]) -> str:
    """The document as compared for saving: an evaluated alert's time stamp does not count (an
    external alert's does: how long it has gone unheard decides when it resolves)."""
    keep = body.get("external", False)
    return json.dumps({k: v for k, v in body.items() if keep or k != "updated_ms"}, sort_keys=True)


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def _bounded(values: Mapping[str, str]) -> dict[str, str]:
    """At most 64 entries of at most 2,000 characters: an event must stay far under 512 KB."""
    return {str(k)[:200]: str(v)[:DETAIL_LIMIT] for k, v in list(values.items())[:64]}


def pagerduty_severity(severity: str) -> str:
    """A tier's severity as PagerDuty's: page → critical, ticket → warning; unknown → error."""
    mapped = PAGERDUTY_SEVERITY.get(severity, severity)
    return mapped if mapped in SEVERITIES else "error"


class AlertEngine:
    """Keeps every alert's state and pages through the outbox."""

    def __init__(
        self,
        rules: Sequence[Rule],
        store: AlertStore,
        outbox: Deliverer,
        *,
        clock: Callable[[], float] = time.time,
        console_url: str | None = None,
        silences: Callable[[], Sequence[Silence]] = tuple,
    ) -> None:
        self.rules = list(rules)
        self._silences = silences
        self._store = store
        self._outbox = outbox
        self._clock = clock
        self._console_url = console_url
        self._lock = threading.Lock()
        self._alerts: dict[str, Alert] = {}
        self._paged: set[str] = set()  # fingerprints with a trigger sent and no resolve yet
        # What each alert's document holds (without its time stamp): unchanged alerts are not
        # written again at every evaluation.
        self._saved: dict[str, str] = {}
        for document in store.documents(ALERT_KIND):
            try:
                raw = json.loads(document.body)
                paged = bool(raw.pop("paged", False))
                raw = {k: v for k, v in raw.items() if k in _ALERT_FIELDS}
                inhibition = raw.pop("inhibition", None)
                alert = Alert(**raw, inhibition=tuple(inhibition) if inhibition else None)
            except (ValueError, TypeError):
                _log.exception("alert %s cannot be read; left as it is", document.name)
                continue
            self._alerts[alert.fingerprint] = alert
            self._saved[alert.fingerprint] = _unstamped(self._body(alert) | {"paged": paged})
            if paged:
                self._paged.add(alert.fingerprint)

    def alerts(self) -> list[Alert]:
        """Copies of every alert known, firing first, then by severity and name."""
        with self._lock:
            found = [dataclasses.replace(a, labels=dict(a.labels)) for a in self._alerts.values()]
        order = {"firing": 0, "pending": 1, "resolved": 2, "inactive": 3}
        return sorted(
            found, key=lambda a: (order.get(a.state, 9), _rank(a.severity), a.labels.get("alertname", ""))
        )

    def alert(self, alert_fingerprint: str) -> Alert | None:
        with self._lock:
            found = self._alerts.get(alert_fingerprint)
            return None if found is None else dataclasses.replace(found)

    def evaluate(self) -> list[tuple[str, str]]:
        """One evaluation of every rule; answers the (fingerprint, transition) pairs made."""
        now_ms = int(self._clock() * 1000)
        samples: dict[str, tuple[str, AlertSample]] = {}
        failed: set[str] = set()
        for rule in self.rules:
            try:
                for sample in rule.samples(now_ms):
                    samples[fingerprint(sample.labels)] = (rule.name, sample)
            except Exception:  # one broken rule must not silence the others, nor resolve its own
                _log.exception("alert rule %s failed", rule.name)
                failed.add(rule.name)
        with self._lock:
            changes = self._advance_all(samples, failed, now_ms)
            self._inhibit_and_page(now_ms)
            for alert_fingerprint, transition in changes:
                alert = self._alerts[alert_fingerprint]
                self._store.record_alert_transition(
                    alert_fingerprint, transition, alert.value, json.dumps(alert.labels), now_ms
                )
            for alert in self._alerts.values():
                self._save(alert)
        return changes

    def _advance_all(
        self, samples: dict[str, tuple[str, AlertSample]], failed: set[str], now_ms: int
    ) -> list[tuple[str, str]]:
        changes = []
        for alert_fingerprint, (rule, sample) in samples.items():
            alert = self._alerts.get(alert_fingerprint)
            if alert is None:
                if not sample.active:
                    continue  # an alert is only kept once it has held
                alert = Alert(alert_fingerprint, rule, dict(sample.labels), dict(sample.annotations))
                self._alerts[alert_fingerprint] = alert
            alert.inhibition = sample.inhibition
            transition = advance(alert, sample, now_ms)
            if transition:
                changes.append((alert_fingerprint, transition))
        for alert_fingerprint, alert in self._alerts.items():
            if alert_fingerprint in samples or alert.rule in failed:
                continue
            if alert.external and now_ms - alert.updated_ms < EXTERNAL_TTL_MS:
                continue  # sent to us, not evaluated here: it lasts until its sender resolves it
            transition = advance(alert, None, now_ms)  # its rule no longer reports it: it stopped
            if transition:
                changes.append((alert_fingerprint, transition))
        return changes

    def _inhibit_and_page(self, now_ms: int) -> None:
        try:
            silences = [s for s in self._silences() if s.active(now_ms)]
        except Exception:  # silences that cannot be read silence nothing; paging goes on
            _log.exception("reading silences failed")
            silences = []
        leaders: dict[str, Alert] = {}
        for alert in self._alerts.values():
            if alert.state == "firing" and alert.inhibition is not None:
                group, rank = alert.inhibition
                if group not in leaders or rank < (leaders[group].inhibition or ("", rank))[1]:
                    leaders[group] = alert
        for alert in self._alerts.values():
            leader = leaders.get(alert.inhibition[0]) if alert.inhibition else None
            inhibited = alert.state == "firing" and leader is not None and leader is not alert
            alert.inhibited_by = leader.fingerprint if inhibited and leader is not None else None
            silence = next((s for s in silences if s.matches(alert.labels)), None)
            alert.silenced_by = None if silence is None else silence.id
            paged = alert.fingerprint in self._paged
            # Inhibition and silences hold a new page back, as Alertmanager's do; a page
            # already sent stays open until the alert resolves (its acknowledgement with it).
            if alert.state == "firing" and not inhibited and not paged and silence is None:
                self._paged.add(alert.fingerprint)
                self._page(alert, "trigger")
            elif paged and alert.state != "firing":
                self._paged.discard(alert.fingerprint)
                self._page(alert, "resolve")

    def _page(self, alert: Alert, action: str) -> None:
        """Tell every receiver: PagerDuty first, then the webhooks.

        The first notification is committed together with the alert's document (which says
        it paged): a crash can lose neither without the other.
        """
        body = self._body(alert)
        document: tuple[str, str, str] | None = (ALERT_KIND, alert.fingerprint, json.dumps(body))
        self._saved[alert.fingerprint] = _unstamped(body)
        channels = sorted(self._outbox.channels)
        if EVENTS in channels:
            self._outbox.enqueue(
                EVENTS, self._pagerduty_event(alert, action), dedup_key(alert), document=document
            )
            document = None
        for channel in channels:
            if channel.startswith("webhook:"):
                message = webhook_message(alert, external_url=self._console_url)
                # Each receiver keeps its own order: one slow receiver must not hold up another.
                self._outbox.enqueue(channel, message, f"{dedup_key(alert)}@{channel}", document=document)
                document = None

    def _pagerduty_event(self, alert: Alert, action: str) -> dict[str, Any]:
        links = []
        if self._console_url:
            href = f"{self._console_url.rstrip('/')}/api/v1/alerts/{alert.fingerprint}"
            links.append({"href": href, "text": "Alert in Watchfloor"})
        details = {
            "labels": _bounded(alert.labels),
            "annotations": _bounded(alert.annotations),
            "value": alert.value,
        }
        return alert_event(
            action,
            dedup_key(alert),
            summary=alert.annotations.get("summary") or alert.labels.get("alertname", alert.rule),
            source=f"watchfloor/{alert.labels.get('service') or alert.rule}",
            severity=pagerduty_severity(alert.severity),
            component=alert.labels.get("service") or None,
            group=alert.labels.get("slo") or None,
            event_class=alert.labels.get("alertname"),
            custom_details=details,
            links=links,
        )

    def ingest(self, source: str, samples: Sequence[AlertSample]) -> list[tuple[str, str]]:
        """Alerts sent to us (Alertmanager's webhook): they join the list and page like ours."""
        now_ms = int(self._clock() * 1000)
        changes = []
        with self._lock:
            for sample in samples:
                key = fingerprint(sample.labels)
                alert = self._alerts.get(key)
                if alert is None:
                    if not sample.active:
                        continue
                    labels, annotations = dict(sample.labels), dict(sample.annotations)
                    alert = self._alerts[key] = Alert(key, source, labels, annotations, external=True)
                transition = advance(alert, sample, now_ms)
                if transition:
                    changes.append((key, transition))
                    self._store.record_alert_transition(
                        key, transition, alert.value, json.dumps(alert.labels), now_ms
                    )
            self._inhibit_and_page(now_ms)
            for alert in self._alerts.values():
                self._save(alert)
        return changes

    def pagerduty_changed(self, incident_key: str, status: str, by: str | None) -> Alert | None:
        """PagerDuty's word on an incident we opened (its webhook): shown on the alert."""
        now_ms = int(self._clock() * 1000)
        with self._lock:
            alert = next((a for a in self._alerts.values() if dedup_key(a) == incident_key), None)
            if alert is None:
                return None
            alert.pagerduty_status = status
            if status == "acknowledged" and alert.acknowledged_by is None:
                alert.acknowledged_by, alert.acknowledged_ms = by or "PagerDuty", now_ms
            self._store.record_alert_transition(
                alert.fingerprint, f"pagerduty_{status}", alert.value, json.dumps(alert.labels), now_ms
            )
            self._save(alert)
            return dataclasses.replace(alert)

    def acknowledge(self, alert_fingerprint: str, by: str) -> Alert | None:
        """Mark a firing alert acknowledged (and PagerDuty's incident, when it was paged)."""
        now_ms = int(self._clock() * 1000)
        with self._lock:
            alert = self._alerts.get(alert_fingerprint)
            if alert is None:
                return None
            alert.acknowledged_by, alert.acknowledged_ms = by, now_ms
            if alert.fingerprint in self._paged and EVENTS in self._outbox.channels:
                self._outbox.enqueue(EVENTS, alert_event("acknowledge", dedup_key(alert)), dedup_key(alert))
            self._store.record_alert_transition(
                alert.fingerprint, "acknowledged", alert.value, json.dumps(alert.labels), now_ms
            )
            self._save(alert)
            return dataclasses.replace(alert)

    def _body(self, alert: Alert) -> dict[str, Any]:
        return {**dataclasses.asdict(alert), "paged": alert.fingerprint in self._paged}

    def _save(self, alert: Alert) -> None:
        """Write the alert's document when something other than its evaluation time changed."""
        body = self._body(alert)
        unstamped = _unstamped(body)
        if self._saved.get(alert.fingerprint) != unstamped:
            self._store.put_document(ALERT_KIND, alert.fingerprint, json.dumps(body), alert.updated_ms)
            self._saved[alert.fingerprint] = unstamped

    async def run(self, interval_s: float) -> None:
        """Evaluate every ``interval_s`` seconds, off the event loop."""
        while True:
            try:
                await asyncio.to_thread(self.evaluate)
            except Exception:  # the loop must outlive one bad evaluation
                _log.exception("alert evaluation failed")
            await asyncio.sleep(interval_s)
