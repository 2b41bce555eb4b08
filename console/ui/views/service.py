"""Service: RED charts with deploy and canary marks, top operations by impact, the service's SLOs.

Every operation opens a pre-filled trace search (all, slowest first, errors only); links
lead to the service's SLOs, logs, traces and dependency graph with the same time range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from console.ui.changes import changes_table, read_changes
from console.ui.charts import graph_figure
from console.ui.data.service import (
    error_answer,
    headline,
    latency_answer,
    operation_rows,
    options,
    queries,
    rate_answer,
    show_lonely_points,
)
from console.ui.data.slos import list_rows
from console.ui.frame import fetch, jump, start, url_of
from console.ui.pages import LOGS, METRICS, SERVICE, SLOS, TRACES
from console.ui.safe import plain
from console.ui.time_range import describe

controls = start(SERVICE)
state = controls.state
window_start, window_end = controls.window()

services = fetch("services")
picker, cluster_picker, split_toggle = st.columns([3, 3, 2], vertical_alignment="bottom")
picker.selectbox(
    "Service",
    options(state["service"], [s["name"] for s in services["services"]] if services else []),
    key=state.key("service"),
    format_func=lambda name: name or "Choose a service",
    # Another service's cluster would leave every chart empty.
    on_change=lambda: st.session_state.update({state.key("cluster"): ""}),
)
service = state["service"]
if not service:
    st.info("Choose a service to see its requests, errors and latency.", icon=":material/hub:")
    st.stop()

by_cluster = fetch("red", by="cluster", service=service, start=window_start, end=window_end)
cluster_picker.selectbox(
    "Cluster",
    options(state["cluster"], [r["cluster"] for r in by_cluster["rows"]] if by_cluster else []),
    key=state.key("cluster"),
    format_func=lambda name: name or "All clusters",
)
split_toggle.toggle(
    "Split by cluster",
    key=state.key("split"),
    disabled=bool(state["cluster"]),
    help="One line per cluster (baseline against canary)",
)

own_slos = fetch("slos", service=service)
worst_slo = next(iter(own_slos["slos"]), None) if own_slos else None
links = st.columns(5)
with links[0]:
    jump(controls, TRACES, f"Traces of {service}", service=service)
with links[1]:
    jump(controls, TRACES, "Dependency graph", icon=":material/share:", service=service, view="graph")
with links[2]:
    jump(controls, LOGS, f"Logs of {service}", service=service)
with links[3]:
    if worst_slo is None:
        jump(controls, SLOS, "SLOs")
    else:  # the API lists least budget first: the one to look at
        jump(controls, SLOS, f"SLO {worst_slo['name']}", slo=worst_slo["name"])
with links[4]:
    latency = queries(service, state["cluster"], state["split"])["latency"]
    jump(controls, METRICS, "Latency in Metrics explorer", q=latency)


def _metric_value(row: Mapping[str, Any] | None, key: str, fmt: str) -> str:
    value = None if row is None else row.get(key)
    return "no data" if value is None else format(value, fmt)


def _charts(
    service: str, cluster: str, split: bool, start_ms: int, end_ms: int, marks: list[dict[str, Any]]
) -> None:
    q = queries(service, cluster, split)
    answers = {name: fetch("graph", q=expr, s=str(start_ms), e=str(end_ms)) for name, expr in q.items()}
    label = cluster or service
    figures = {}
    if answers["calls"] is not None:
        figures["rate"] = graph_figure(
            rate_answer(answers["calls"], label), title="Requests", unit="req/s", marks=marks
        )
        if answers["errors"] is not None:
            figures["errors"] = graph_figure(
                error_answer(answers["calls"], answers["errors"], label),
                title="Errors",
                unit="%",
                marks=marks,
            )
    if answers["latency"] is not None:
        figures["latency"] = graph_figure(
            latency_answer(answers["latency"], split), title="Latency", unit="ms", marks=marks
        )
    for column, (name, figure) in zip(st.columns(3), figures.items(), strict=False):
        column.plotly_chart(show_lonely_points(figure), theme="streamlit", key=f"service.{name}")
    if marks:
        st.caption(f"Dotted lines: deploys, changes and canary analyses of this service ({len(marks)}).")


def _operations(service: str, start_ms: int, end_ms: int) -> None:
    st.subheader("Top operations by impact")
    st.caption("Impact: mean latency × request rate (milliseconds spent per second), all clusters.")
    red = fetch("red", by="operation", service=service, start=start_ms, end=end_ms)
    if red is None:
        return
    frame = pd.DataFrame(operation_rows(red["rows"]))
    if not frame.empty:
        ops = list(frame["operation"])
        frame.insert(1, "traces", [url_of(controls, TRACES, service=service, operation=op) for op in ops])
        frame.insert(
            2,
            "slowest",
            [url_of(controls, TRACES, service=service, operation=op, sort="duration") for op in ops],
        )
        frame.insert(
            3,
            "errors",
            [url_of(controls, TRACES, service=service, operation=op, status="error") for op in ops],
        )
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "traces": st.column_config.LinkColumn("traces", display_text="search"),
            "slowest": st.column_config.LinkColumn("slowest", display_text="slowest"),
            "errors": st.column_config.LinkColumn("errors", display_text="errors"),
            "req/s": st.column_config.NumberColumn(format="%.3f"),
            "error %": st.column_config.NumberColumn(format="%.2f"),
        },
        key="service.operations",
    )
    if red.get("truncated"):
        st.caption("Only the first operations are shown: the server caps this answer.")


def _slos(service: str) -> None:
    st.subheader("SLOs")
    slos = fetch("slos", service=service)
    if slos is None:
        return
    rows = list_rows(slos["slos"])
    if not rows:
        st.caption("No SLO names this service.")
        return
    frame = pd.DataFrame(rows).drop(columns=["service"])
    frame.insert(1, "open", [url_of(controls, SLOS, slo=r["SLO"]) for r in rows])
    st.dataframe(
        frame,
        hide_index=True,
        column_config={"open": st.column_config.LinkColumn("open", display_text="details")},
        key="service.slos",
    )


@st.fragment(run_every=controls.refresh_s)
def service_page() -> None:
    start_ms, end_ms = controls.window()
    cluster = state["cluster"]
    split = state["split"] and not cluster
    scope = f"cluster {cluster}" if cluster else "every cluster"
    st.caption(plain(f"{describe(controls.time_range)} · serving spans (server and consumer) of {scope}"))
    red = fetch("red", by="cluster" if cluster else "service", service=service, start=start_ms, end=end_ms)
    row = headline(red["rows"], cluster) if red else None
    figures = st.columns(5)
    figures[0].metric("Requests/s", _metric_value(row, "rate_per_s", ".3f"))
    figures[1].metric("Error %", _metric_value(row, "error_pct", ".2f"))
    figures[2].metric("p50 ms", _metric_value(row, "p50_ms", ".1f"))
    figures[3].metric("p95 ms", _metric_value(row, "p95_ms", ".1f"))
    figures[4].metric("p99 ms", _metric_value(row, "p99_ms", ".1f"))
    changes = read_changes([service], start_ms, end_ms)  # marks on the charts, rows in the table
    _charts(service, cluster, split, start_ms, end_ms, changes)
    _operations(service, start_ms, end_ms)
    _slos(service)
    st.subheader("Deploys and canaries")
    changes_table(controls, changes, key="service.changes")


service_page()
