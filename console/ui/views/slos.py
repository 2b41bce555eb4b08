"""SLOs: every SLO by budget left; one SLO's SLI over time with breaches shaded, its error-budget
burn-down, the burn rate of every window pair and its burn-rate alerts with their history."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from console.ui.data.service import options
from console.ui.data.slos import (
    Indicator,
    alert_rows,
    burn_down_figure,
    burn_rate_rows,
    duration_text,
    exhaustion_text,
    history_rows,
    indicator_of,
    list_rows,
    sli_figure,
    sli_points,
)
from console.ui.frame import fetch, follow_clicks, jump, open_row, start, url_of
from console.ui.pages import ALERTS, SERVICE, SLOS
from console.ui.safe import plain, problem_lines
from console.ui.time_range import describe, step_for

BURN_DOWN_POINTS = 360
SLI_POINTS = 500
MAX_ALERTS = 20  # each needs its own read for its history

controls = start(SLOS)
state = controls.state
listing = fetch("slos")
slos: list[dict[str, Any]] = listing["slos"] if listing else []
st.selectbox(
    "SLO",
    options(state["slo"], [s["name"] for s in slos]),
    key=state.key("slo"),
    format_func=lambda name: name or "Choose an SLO (or a row below)",
)


def _listing(rows: list[dict[str, Any]]) -> None:
    # Keyed by the SLO shown, so a new choice starts with no row highlighted.
    table_key = f"slos.list.{state['slo']}"
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        on_select=open_row(state, "slo", table_key, [r["SLO"] for r in rows]),
        selection_mode="single-row",
        column_config={"budget left %": st.column_config.NumberColumn(format="%.2f")},
        key=table_key,
    )


def _sli_chart(slo: dict[str, Any], objective: dict[str, Any], indicator: Indicator | str, n: int) -> None:
    if isinstance(indicator, str):
        st.caption(plain(f"No SLI over time: {indicator}."))
        return
    start_ms, end_ms = controls.window()
    step_ms = step_for(start_ms, end_ms, SLI_POINTS, int(slo.get("step_ms") or 0))
    wanted = {"metric": indicator.metric} if indicator.kind == "threshold" else {"total": indicator.total}
    if indicator.kind == "ratio":
        wanted["good" if indicator.good else "bad"] = indicator.good or indicator.bad
    answers = {
        part: fetch("graph", q=q, s=str(start_ms), e=str(end_ms), step=f"{step_ms // 1000}s")
        for part, q in wanted.items()
    }
    if any(a is None for a in answers.values()):
        return
    # Deploys of the SLO's service; an SLO without one would get every service's.
    marks = (
        fetch("annotations", service=slo["service"], start=start_ms, end=end_ms)
        if slo.get("service")
        else None
    )
    points = sli_points(indicator, answers)
    figure = sli_figure(points, objective, indicator.kind, step_ms, marks["annotations"] if marks else [])
    st.plotly_chart(figure, theme="streamlit", key=f"slos.sli.{n}")
    over = describe(controls.time_range)
    st.caption(plain(f"Per {duration_text(step_ms)} step over {over}; shaded: steps below the objective."))


def _objective(slo: dict[str, Any], objective: dict[str, Any], indicator: Indicator | str, n: int) -> None:
    budget = objective.get("budget") or {}
    cols = st.columns(4)
    cols[0].metric("SLI %", "no data" if objective.get("sli") is None else f"{objective['sli'] * 100:.3f}")
    cols[1].metric("Target %", f"{objective['target'] * 100:.3f}")
    cols[2].metric(f"Budget spent ({budget.get('unit', '')})", f"{budget.get('spent') or 0:g}")
    cols[3].metric(f"Budget total ({budget.get('unit', '')})", f"{budget.get('total') or 0:g}")
    left, right = st.columns(2)
    with left:
        _sli_chart(slo, objective, indicator, n)
    with right:
        figure = burn_down_figure(objective, slo.get("window") or {})
        st.plotly_chart(figure, theme="streamlit", key=f"slos.burn_down.{n}")
    st.markdown("**Burn rate per window pair**")
    st.dataframe(pd.DataFrame(burn_rate_rows(objective)), hide_index=True, key=f"slos.burn_rates.{n}")
    st.caption(
        "A pair fires when both its long and its short window burn faster than its threshold "
        f"and the long window counted enough events (minEvents {slo.get('min_events', 0)})."
    )


def _alerts(name: str) -> None:
    st.subheader("Burn-rate alerts")
    found = fetch("alerts", labels={"slo": name})
    if found is None:
        return
    alerts = found["alerts"]
    rows = alert_rows(alerts)
    if not rows:
        st.caption("No burn-rate alert of this SLO has fired.")
        return
    frame = pd.DataFrame(rows)
    frame.insert(1, "open", [url_of(controls, ALERTS, state="all", alert=r["fingerprint"]) for r in rows])
    st.dataframe(
        frame,
        hide_index=True,
        column_config={"open": st.column_config.LinkColumn("open", display_text="alert")},
        key="slos.alerts",
    )
    details = [fetch("alert", a["fingerprint"]) for a in alerts[:MAX_ALERTS]]
    st.markdown("**History**")
    st.dataframe(pd.DataFrame(history_rows([d for d in details if d])), hide_index=True, key="slos.history")


def _detail(name: str) -> None:
    slo = fetch("slo", name, points=BURN_DOWN_POINTS)
    if slo is None:
        return
    st.subheader(plain(name))
    if slo.get("description"):
        st.text(slo["description"])
    cols = st.columns(5)
    cols[0].metric("State", slo["state"])
    cols[1].metric(
        "Budget left %",
        "no data" if slo.get("budget_remaining") is None else f"{slo['budget_remaining'] * 100:.2f}",
    )
    cols[2].metric(
        "Burn rate", "no data" if slo.get("current_burn_rate") is None else f"{slo['current_burn_rate']:.2f}"
    )
    cols[3].metric("Exhausted in", exhaustion_text(slo) or "not burning")
    window = slo.get("window") or {}
    cols[4].metric("Window", f"{window.get('type', '')} {window.get('duration', '')}".strip())
    if slo.get("error"):
        st.error(plain(f"Evaluating this SLO failed: {slo['error']}"))
    if slo.get("problems"):
        st.warning(problem_lines([(f"{p['document']}: {p['field']}", p["reason"]) for p in slo["problems"]]))
    links = st.columns(3)
    with links[0]:
        if slo.get("service"):
            jump(controls, SERVICE, f"Service {slo['service']}", service=slo["service"])
    with links[1]:
        jump(controls, ALERTS, "Alerts and incidents", state="all")
    objectives = slo.get("objectives") or []
    indicator: Indicator | str = "it is a composite of other SLOs" if slo.get("composite") else ""
    if not indicator:
        definition = fetch("slo_definition", name)
        indicator = (
            "its definition could not be read" if definition is None else indicator_of(definition, name)
        )
    if len(objectives) > 1:
        tabs = st.tabs(
            [plain(o.get("display_name") or f"objective {i + 1}") for i, o in enumerate(objectives)]
        )
        for n, (tab, objective) in enumerate(zip(tabs, objectives, strict=True)):
            with tab:
                _objective(slo, objective, indicator, n)
    elif objectives:
        if objectives[0].get("display_name"):
            st.text(objectives[0]["display_name"])
        _objective(slo, objectives[0], indicator, 0)
    _alerts(name)


@st.fragment(run_every=controls.refresh_s)
def slos_page() -> None:
    follow_clicks()  # a row was clicked: the whole page follows, so the picker and the URL do too
    found = fetch("slos")
    rows = list_rows(found["slos"] if found else [])
    st.caption("Least budget remaining first. Click a row to open it.")
    _listing(rows)
    if state["slo"]:
        _detail(state["slo"])
    else:
        st.info("Choose an SLO to see its SLI, burn-down, burn rates and alerts.", icon=":material/speed:")


slos_page()
