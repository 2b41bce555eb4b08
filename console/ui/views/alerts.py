"""Alerts and incidents: alerts by importance, acknowledging and silencing them, PagerDuty delivery,
and a selected alert's incident timeline with links to its SLO, service, error traces and canary.

Alert labels and annotations are other people's text: they appear only in tables, plain text
and escaped labels, never as Markdown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from console.ui.data.alerts import (
    INCIDENT_NOTIFICATIONS,
    NOTIFICATIONS,
    SILENCE_DURATIONS,
    STATE_COLOURS,
    STATES,
    alert_rows,
    by_importance,
    links,
    matcher_line,
    matcher_text,
    name_of,
    notification_keys,
    notification_rows,
    parse_matchers,
    silence_rows,
    timeline_figure,
    timeline_rows,
    title_of,
)
from console.ui.frame import coloured, empty, failure, fetch, follow_clicks, jump, open_row, start, url_of
from console.ui.pages import ALERTS
from console.ui.safe import plain
from console.ui.session import ApiError, ServerUnreachable, now_ms, write

controls = start(ALERTS)
state = controls.state
_DONE = "alerts.done"
_TIME = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")
COLUMNS: dict[str, Any] = dict.fromkeys(("since", "created", "next attempt", "sent", "time"), _TIME)
st.radio("Show", list(STATES), key=state.key("state"), horizontal=True)


def _refused(what: str, error: Exception) -> None:
    """A refused write: the status, then each field the server named with its reason, as plain text."""
    if isinstance(error, ApiError):
        st.error(f"{what} was refused ({error.status}).", icon=":material/error:")
        st.text("\n".join(f"{field}: {reason}" for field, reason in error.problems) or error.detail)
    else:
        failure(error)


def _done(message: str) -> None:
    st.session_state[_DONE] = message
    st.rerun()  # read everything again: the write cleared the cache


@st.fragment(run_every=controls.refresh_s)
def board() -> None:
    follow_clicks()
    answer = fetch("alerts")
    notes = fetch("notifications", limit=NOTIFICATIONS)
    if answer is None:
        return
    everything, sent = answer["alerts"], (notes or {}).get("notifications", [])
    c = st.columns(4)
    c[0].metric("Firing", sum(a["state"] == "firing" for a in everything))
    c[1].metric("Pending", sum(a["state"] == "pending" for a in everything))
    c[2].metric(
        "Unacknowledged", sum(a["state"] == "firing" and not a["acknowledged_by"] for a in everything)
    )
    c[3].metric("Silenced", sum(bool(a["silenced_by"]) for a in everything))
    chosen = by_importance(everything, state["state"])
    frame = pd.DataFrame(alert_rows(chosen, sent))
    shown = "alerts" if state["state"] == "all" else f"{state['state']} alerts"
    if empty(frame, f"No {shown}."):
        return
    opened = [url_of(controls, ALERTS, state=state["state"], alert=a["fingerprint"]) for a in chosen]
    frame.insert(0, "open", opened)
    st.dataframe(
        coloured(frame, "state", STATE_COLOURS, fill=False),
        hide_index=True,
        on_select=open_row(state, "alert", "alerts.list", [a["fingerprint"] for a in chosen]),
        selection_mode="single-row",
        column_config={**COLUMNS, "open": st.column_config.LinkColumn("open", display_text="incident")},
        key="alerts.list",
    )


@st.fragment(run_every=controls.refresh_s)
def delivery() -> None:
    st.subheader("Notification delivery")
    answer, notes = fetch("alerts"), fetch("notifications", limit=NOTIFICATIONS)
    if answer is None or notes is None:
        return
    names = {a["dedup_key"]: name_of(a) for a in answer["alerts"]}
    frame = pd.DataFrame(notification_rows(notes["notifications"], names))
    if frame.empty:
        st.caption("No notifications: nothing has paged (or no PagerDuty routing key is configured).")
        return
    st.caption(" · ".join(f"{k}: {v}" for k, v in frame["status"].value_counts().items()))
    st.dataframe(frame, hide_index=True, column_config=COLUMNS, key="alerts.notifications")


@st.fragment(run_every=controls.refresh_s)
def incident(fingerprint: str) -> None:
    alert = fetch("alert", fingerprint)
    if alert is None:
        return
    # Its own keys read exactly (PagerDuty's, each webhook's; the config says how many webhooks).
    notes: list[dict[str, Any]] = []
    for key in notification_keys(alert, fetch("config")):
        answer = fetch("notifications", dedup_key=key, limit=INCIDENT_NOTIFICATIONS)
        notes.extend((answer or {}).get("notifications", []))
    st.subheader(f"Incident: {plain(title_of(alert))} ({alert['state']}, {plain(alert['severity'])})")
    for page, label, fields in links(alert):
        jump(controls, page, label, **fields)
    left, right = st.columns(2)
    left.dataframe(pd.DataFrame(sorted(alert["labels"].items()), columns=["label", "value"]), hide_index=True)
    right.dataframe(
        pd.DataFrame(sorted(alert["annotations"].items()), columns=["annotation", "value"]), hide_index=True
    )
    rows = timeline_rows(alert, notes)
    st.dataframe(pd.DataFrame(rows), hide_index=True, column_config=COLUMNS, key="alerts.timeline")
    now = datetime.fromtimestamp(now_ms(controls.refresh_s) / 1000, tz=UTC)
    st.plotly_chart(timeline_figure(rows, now), theme="streamlit", key="alerts.timeline.chart")


def acknowledge(alert: dict[str, Any]) -> None:
    with st.form("alerts.ack"):
        by = st.text_input("Acknowledged by", key="alerts.ack.by")
        sent = st.form_submit_button("Acknowledge", key="alerts.ack.submit")
    if sent:
        try:
            write("ack_alert", alert["fingerprint"], by=by)
        except (ApiError, ServerUnreachable) as error:
            _refused("The acknowledgement", error)
        else:
            _done(f"Acknowledged {name_of(alert)} as {by}")


def silence(alert: dict[str, Any]) -> None:
    with st.form("alerts.silence"):
        text = st.text_area(
            "Matchers, one a line: name=value, name!=value, name=~regex, name!~regex",
            value=matcher_text(alert["labels"]),
            key=f"alerts.silence.matchers.{alert['fingerprint']}",
        )
        duration = st.selectbox("For", list(SILENCE_DURATIONS), index=1, key="alerts.silence.for")
        created_by = st.text_input("Created by", key="alerts.silence.by")
        comment = st.text_input("Comment", key="alerts.silence.comment")
        sent = st.form_submit_button("Silence", key="alerts.silence.submit")
    if not sent:
        return
    matchers, problems = parse_matchers(text)
    if problems:
        st.error("The matchers cannot be read.", icon=":material/error:")
        st.text("\n".join(f"{field}: {reason}" for field, reason in problems))
        return
    try:
        made = write(
            "create_silence",
            matchers,
            created_by=created_by,
            comment=comment,
            duration=SILENCE_DURATIONS[duration],
        )
    except (ApiError, ServerUnreachable) as error:
        _refused("The silence", error)
    else:
        _done(f"Silence {made['silenceID']} made")


def silences() -> None:
    st.subheader("Silences")
    answer = fetch("silences")
    if answer is None:
        return
    current = [s for s in answer["silences"] if s["status"]["state"] in ("active", "pending")]
    if not current:
        st.caption("No active or pending silence.")
    for s in current:
        text, button = st.columns([6, 1], vertical_alignment="center")
        matchers = ", ".join(matcher_line(m) for m in s["matchers"])
        text.text(
            f"{s['status']['state']} until {s['endsAt']}: {matchers} ({s['createdBy']}: {s['comment']})"
        )
        if button.button("Expire", key=f"alerts.expire.{s['id']}"):
            try:
                write("expire_silence", s["id"])
            except (ApiError, ServerUnreachable) as error:
                _refused("Expiring the silence", error)
            else:
                _done(f"Silence {s['id']} expired")
    with st.expander(f"Every silence ({len(answer['silences'])}), expired ones too"):
        st.dataframe(pd.DataFrame(silence_rows(answer["silences"])), hide_index=True, key="alerts.silences")


done = st.session_state.pop(_DONE, None)
if done:
    st.success(plain(done), icon=":material/check:")
board()
selected = fetch("alert", state["alert"]) if state["alert"] else None
if selected is not None:
    incident(state["alert"])
    left, right = st.columns(2)
    with left:
        acknowledge(selected)
    with right:
        silence(selected)
silences()
delivery()
