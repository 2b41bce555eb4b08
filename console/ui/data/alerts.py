"""The Alerts page's rows: alerts by importance, their links, delivery, silences and incident timelines.

Importance, as an on-call engineer reads a board: firing before pending before resolved;
within a state the more severe first (critical, page, error, warning, ticket, info — the
server's order); then the newest. The figures are the API's (``/api/v1/alerts``,
``/api/v1/alerts/{fingerprint}``, ``/api/v1/notifications``, ``/api/v1/silences``) as sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.graph_objects as go

from console.ui.charts import layout, plotly_text
from console.ui.pages import CANARY, SERVICE, SLOS, TRACES, PageSpec

SEVERITY_ORDER = ("critical", "page", "error", "warning", "ticket", "info")
STATE_ORDER = ("firing", "pending", "resolved", "inactive")
STATES = {"active": ("firing", "pending"), "firing": ("firing",), "pending": ("pending",),
          "resolved": ("resolved",), "all": STATE_ORDER}  # fmt: skip
STATE_COLOURS = {"firing": "#d32f2f", "pending": "#f9a825", "resolved": "#2e7d32", "inactive": "#757575"}
SILENCE_DURATIONS = {
    "1 hour": timedelta(hours=1), "2 hours": timedelta(hours=2), "4 hours": timedelta(hours=4),
    "12 hours": timedelta(hours=12), "1 day": timedelta(days=1), "1 week": timedelta(weeks=1),
}  # fmt: skip
# The board's "page delivery" column and the delivery table need every alert's newest notification:
# one bounded read serves them all (not a read per row). An incident's timeline reads its own keys
# exactly instead, so its pages still show after a noisy hour pushed them out of this read.
NOTIFICATIONS = 500
INCIDENT_NOTIFICATIONS = 1000  # the API's most, per key: an alert's every page, however long it ran
# amtool's matcher syntax, one a line: name=value, name!=value, name=~regex, name!~regex.
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*')


_SHOWN_LABELS = frozenset({"alertname", "service", "severity"})  # already columns of their own


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def _rank(order: tuple[str, ...], value: str) -> int:
    return order.index(value) if value in order else len(order)


def name_of(alert: Mapping[str, Any]) -> str:
    return str(alert.get("labels", {}).get("alertname") or alert.get("rule", ""))


def title_of(alert: Mapping[str, Any]) -> str:
    """The name, with the burn-rate window that tells an SLO's tiers apart."""
    window = alert.get("labels", {}).get("window")
    return f"{name_of(alert)} {window}" if window else name_of(alert)


def service_of(alert: Mapping[str, Any]) -> str:
    labels = alert.get("labels", {})
    return str(labels.get("service") or labels.get("nf.app") or labels.get("application") or "")


def since_ms(alert: Mapping[str, Any]) -> int:
    """When the alert entered its present state."""
    state = alert.get("state")
    found = {
        "firing": alert.get("fired_ms") or alert.get("active_since_ms"),
        "pending": alert.get("active_since_ms"),
        "resolved": alert.get("resolved_ms"),
    }.get(str(state))
    return int(found or alert.get("updated_ms") or 0)


def by_importance(alerts: Iterable[Mapping[str, Any]], wanted: str = "all") -> list[Mapping[str, Any]]:
    """The alerts in the states ``wanted`` names, most important first."""
    states = STATES.get(wanted, STATE_ORDER)
    chosen = [a for a in alerts if a.get("state") in states]
    return sorted(
        chosen,
        key=lambda a: (_rank(STATE_ORDER, str(a.get("state"))), _rank(SEVERITY_ORDER, str(a.get("severity"))),
                       -since_ms(a), name_of(a)),
    )  # fmt: skip


def latest_by_key(notifications: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The newest notification of each dedup key (the API answers newest first)."""
    found: dict[str, Mapping[str, Any]] = {}
    for n in notifications:
        found.setdefault(str(n.get("dedup_key")), n)
    return found


def alert_rows(
    alerts: Iterable[Mapping[str, Any]], notifications: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One row per alert, in the given order; annotations stay text for a dataframe."""
    alerts = list(alerts)
    names = {a["fingerprint"]: title_of(a) for a in alerts}
    latest = latest_by_key(notifications)
    rows = []
    for a in alerts:
        page = latest.get(str(a.get("dedup_key")))
        rows.append(
            {
                "state": a["state"],
                "severity": a.get("severity", ""),
                "alert": name_of(a),
                "service": service_of(a),
                "summary": a.get("annotations", {}).get("summary", ""),
                "labels": ", ".join(
                    f"{k}={v}" for k, v in sorted(a.get("labels", {}).items()) if k not in _SHOWN_LABELS
                ),
                "since": _time(since_ms(a)),
                "acknowledged by": a.get("acknowledged_by") or "",
                "silenced by": a.get("silenced_by") or "",
                "inhibited by": names.get(a.get("inhibited_by") or "", a.get("inhibited_by") or ""),
                "PagerDuty": a.get("pagerduty_status") or "",
                "page delivery": "" if page is None else f"{action_of(page)} {page['status']}",
                "fingerprint": a["fingerprint"],
            }
        )
    return rows


def action_of(notification: Mapping[str, Any]) -> str:
    """PagerDuty's ``event_action`` (trigger, acknowledge, resolve), or what else the channel sends."""
    payload = notification.get("payload") or {}
    if payload.get("event_action"):
        return str(payload["event_action"])
    return "change" if notification.get("channel") == "pagerduty_change" else "message"


def links(alert: Mapping[str, Any]) -> list[tuple[PageSpec, str, dict[str, Any]]]:
    """Where the evidence is: the SLO a burn alert is about, the service, its failing traces, the canary."""
    labels, annotations = alert.get("labels", {}), alert.get("annotations", {})
    found: list[tuple[PageSpec, str, dict[str, Any]]] = []
    if labels.get("slo"):
        found.append((SLOS, f"SLO {labels['slo']}", {"slo": labels["slo"]}))
    service = service_of(alert)
    if service:
        found.append((SERVICE, f"Service {service}", {"service": service}))
        found.append((TRACES, f"Error traces of {service}", {"service": service, "status": "error"}))
    if annotations.get("analysis_id"):
        found.append(
            (
                CANARY,
                f"Canary analysis {annotations['analysis_id']}",
                {"analysis": annotations["analysis_id"]},
            )
        )
    return found


def notification_rows(
    notifications: Iterable[Mapping[str, Any]], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Each notification's delivery: status, attempts, the receiver's last status and error."""
    rows = []
    for n in notifications:
        payload = n.get("payload") or {}
        key = str(n.get("dedup_key") or "")
        rows.append(
            {
                "created": _time(n["created_ms"]),
                "channel": n["channel"],
                "event": action_of(n),
                "alert": names.get(key.partition("@")[0], key),
                "summary": (payload.get("payload") or {}).get("summary", ""),
                "status": n["status"],
                "attempts": n["attempts"],
                "last status": n.get("last_status"),
                "error": n.get("last_error") or "",
                "next attempt": _time(n.get("next_attempt_ms")),
                "sent": _time(n.get("sent_ms")),
                "id": n["id"],
            }
        )
    return rows


def notification_keys(alert: Mapping[str, Any], config: Mapping[str, Any] | None) -> list[str]:
    """The dedup keys of an alert's notifications: its PagerDuty key, then each webhook receiver's,
    ``<key>@webhook:<n>`` for the n-th of the config's ``webhook_urls`` (``alerting.webhooks``)."""
    key = str(alert.get("dedup_key"))
    receivers = len((config or {}).get("webhook_urls") or [])
    return [key, *(f"{key}@webhook:{n}" for n in range(receivers))]


def own_notifications(
    alert: Mapping[str, Any], notifications: Iterable[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The alert's pages and webhook messages (their dedup keys start with the alert's)."""
    key = str(alert.get("dedup_key"))
    return [n for n in notifications if str(n.get("dedup_key") or "").partition("@")[0] == key]


def timeline_rows(
    alert: Mapping[str, Any], notifications: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The incident in time order: state changes, acknowledgements, and every notification's fate."""
    events: list[tuple[int, int, str, str]] = []
    # The history comes newest first: a later index is an earlier change at the same instant.
    for n, change in enumerate(alert.get("history", [])):
        transition, detail = str(change["transition"]), ""
        if transition == "acknowledged" and change["ts_ms"] == alert.get("acknowledged_ms"):
            detail = f"by {alert.get('acknowledged_by')}"
        elif change.get("value") is not None:
            detail = f"value {change['value']:g}"
        events.append((int(change["ts_ms"]), -n, transition, detail))
    for note in own_notifications(alert, notifications):
        what = f"{note['channel']} {action_of(note)}"
        tried = f"{note['attempts']} attempt(s), last status {note.get('last_status')}"
        error = f": {note['last_error']}" if note.get("last_error") else ""
        events.append((int(note["created_ms"]), 1, f"{what} queued", ""))
        if note.get("sent_ms") is not None:
            events.append((int(note["sent_ms"]), 2, f"{what} sent", tried))
        else:  # pending or failed for good: when it was last tried is not kept, only how it went
            events.append((int(note["created_ms"]), 2, f"{what} {note['status']}", tried + error))
    events.sort(key=lambda e: (e[0], e[1]))
    return [{"time": _time(t), "event": event, "detail": detail} for t, _, event, detail in events]


def timeline_figure(rows: list[dict[str, Any]], now: datetime) -> go.Figure:
    """State spans on one line (each until the next change, the last until now), other events as points."""
    figure = go.Figure()
    states = [r for r in rows if r["event"] in STATE_ORDER]
    shown: set[str] = set()
    for n, row in enumerate(states):
        state = row["event"]
        end = states[n + 1]["time"] if n + 1 < len(states) else now
        if state in ("resolved", "inactive") and n + 1 == len(states):
            end = row["time"]  # the incident is over: a point, not a span to now
        figure.add_trace(
            go.Scatter(
                x=[row["time"], end], y=["state", "state"], mode="lines+markers", name=state,
                line={"color": STATE_COLOURS[state], "width": 12}, legendgroup=state,
                showlegend=state not in shown, hoverinfo="text+x",
                hovertext=plotly_text(f"{state} {row['detail']}"),
            )
        )  # fmt: skip
        shown.add(state)
    others = [r for r in rows if r["event"] not in STATE_ORDER]
    if others:
        figure.add_trace(
            go.Scatter(
                x=[r["time"] for r in others],
                y=["notifications" if " " in r["event"] else r["event"] for r in others],
                mode="markers", name="events", marker={"size": 11, "symbol": "diamond"},
                hovertext=[plotly_text(f"{r['event']} {r['detail']}") for r in others], hoverinfo="text+x",
            )
        )  # fmt: skip
    figure = layout(figure, title="Incident timeline", height=220)
    figure.update_layout(yaxis={"title": {"text": ""}, "rangemode": "normal"}, hovermode="closest")
    return figure


def silence_rows(silences: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "state": s["status"]["state"],
            "matchers": ", ".join(matcher_line(m) for m in s["matchers"]),
            "starts": s["startsAt"],
            "ends": s["endsAt"],
            "created by": s["createdBy"],
            "comment": s["comment"],
            "id": s["id"],
        }
        for s in silences
    ]


def matcher_line(matcher: Mapping[str, Any]) -> str:
    regex, equal = bool(matcher.get("isRegex")), bool(matcher.get("isEqual", True))
    op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}[(regex, equal)]
    return f"{matcher['name']}{op}{matcher['value']}"


def matcher_text(labels: Mapping[str, str]) -> str:
    """An alert's labels as silence matchers, one ``name=value`` a line (to edit before silencing)."""
    return "\n".join(f"{k}={v}" for k, v in sorted(labels.items()))


def parse_matchers(text: str) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Alertmanager matchers from ``name=value`` lines (``!=``, ``=~``, ``!~`` too), and the lines refused."""
    found, problems = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _MATCHER.fullmatch(line)
        if match is None:
            problems.append(
                (f"matchers line {n}", "expected name=value, name!=value, name=~regex or name!~regex")
            )
            continue
        name, op, value = match.groups()
        found.append({"name": name, "value": value, "isRegex": "~" in op, "isEqual": not op.startswith("!")})
    if not found and not problems:
        problems.append(("matchers", "at least one matcher is needed"))
    return found, problems
