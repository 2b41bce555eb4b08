"""Overview (Telltale-like): every service and cluster with RED and a health colour, SLO budgets,
firing alerts, the latest canary verdicts and deploys. A row opens its Service page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console.ui.changes import ANALYSES_READ, changes_table, read_changes
from console.ui.data.canary import VERDICT_COLOURS, analysis_rows
from console.ui.data.overview import HEALTH_COLOURS, service_rows, slo_rows, verdict_counts
from console.ui.frame import coloured, empty, fetch, jump, start, url_of
from console.ui.pages import ALERTS, CANARY, OVERVIEW, SERVICE, SLOS
from console.ui.safe import plain
from console.ui.time_range import describe

controls = start(OVERVIEW)
state = controls.state
st.radio("Rows per", ["cluster", "service"], key=state.key("by"), horizontal=True)


@st.fragment(run_every=controls.refresh_s)
def overview() -> None:
    start_ms, end_ms = controls.window()
    st.caption(plain(f"{describe(controls.time_range)} · figures from serving spans (server and consumer)"))
    red = fetch("red", start=start_ms, end=end_ms, by=state["by"])
    slos = fetch("slos")
    alerts = fetch("alerts", state="firing")
    analyses = fetch("canary_analyses", limit=ANALYSES_READ)  # the changes table reads the same
    if red is None:
        return
    slo_list = slos["slos"] if slos else []
    firing = alerts["alerts"] if alerts else []
    rows = service_rows(red["rows"], slo_list, firing)

    counts = {h: sum(1 for r in rows if r["health"] == h) for h in HEALTH_COLOURS}
    metrics = st.columns(6)
    metrics[0].metric("Services", len({r["service"] for r in rows}))
    metrics[1].metric("Critical", counts["critical"])
    metrics[2].metric("Warning", counts["warning"])
    metrics[3].metric("Firing alerts", len(firing))
    metrics[4].metric("SLOs burning", sum(1 for s in slo_list if s["state"] in ("burning", "exhausted")))
    verdicts = verdict_counts(analyses["analyses"] if analyses else [])
    metrics[5].metric("Canaries failing", verdicts.get("fail", 0))

    st.subheader("Services")
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame.insert(2, "open", [url_of(controls, SERVICE, service=r["service"]) for r in rows])
        if state["by"] == "service":
            frame = frame.drop(columns=["cluster"])
    st.dataframe(
        coloured(frame, "health", HEALTH_COLOURS) if not frame.empty else frame,
        hide_index=True,
        column_config={
            "open": st.column_config.LinkColumn("open", display_text="service page"),
            "req/s": st.column_config.NumberColumn(format="%.3f"),
            "error %": st.column_config.NumberColumn(format="%.2f"),
            **{c: st.column_config.NumberColumn(format="%.1f") for c in ("p50 ms", "p95 ms", "p99 ms")},
            "SLO budget left %": st.column_config.NumberColumn(format="%.1f"),
        },
        key="overview.services",
    )
    if red.get("truncated"):
        st.caption("Only the first rows are shown: the server caps this answer.")

    left, right = st.columns(2)
    with left:
        st.subheader("SLO budgets")
        slo_table = pd.DataFrame(slo_rows(slo_list))
        if not empty(slo_table, "No SLOs are defined."):
            st.dataframe(slo_table, hide_index=True, key="overview.slos")
        jump(controls, SLOS, "All SLOs")
        st.subheader("Firing alerts")
        alert_table = pd.DataFrame(
            [
                {
                    "severity": a.get("severity"),
                    "alert": a["labels"].get("alertname", a["rule"]),
                    "open": url_of(controls, ALERTS, alert=a["fingerprint"]),
                    "service": a["labels"].get("service", ""),
                    "summary": a.get("annotations", {}).get("summary", ""),
                    "acknowledged by": a.get("acknowledged_by") or "",
                }
                for a in firing
            ]
        )
        if not empty(alert_table, "No alert is firing."):
            st.dataframe(
                alert_table,
                hide_index=True,
                column_config={"open": st.column_config.LinkColumn("open", display_text="incident")},
                key="overview.alerts",
            )
        jump(controls, ALERTS, "Alerts and incidents")
    with right:
        st.subheader("Latest canary verdicts")
        verdict_rows = analysis_rows(analyses["analyses"] if analyses else [])[:10]
        canary_table = pd.DataFrame(
            [
                {
                    **{k: r[k] for k in ("created", "config", "verdict", "score")},
                    "open": url_of(controls, CANARY, analysis=r["id"]),
                }
                for r in verdict_rows
            ]
        )
        if not empty(canary_table, "No canary analysis has run."):
            st.dataframe(
                coloured(canary_table, "verdict", VERDICT_COLOURS, fill=False),
                hide_index=True,
                column_config={
                    "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm:ss"),
                    "score": st.column_config.NumberColumn("score", format="%.1f"),
                    "open": st.column_config.LinkColumn("open", display_text="analysis"),
                },
                key="overview.canaries",
            )
        jump(controls, CANARY, "Canary analyses")
        st.subheader("Deploys and changes")
        changes_table(controls, read_changes(None, start_ms, end_ms), key="overview.changes")


overview()
