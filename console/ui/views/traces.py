"""Traces (Jaeger-like): search by service, operation, tags, duration and status; a trace's waterfall
with its critical path, span details and self-time statistics; compare two traces; the service
dependency graph. A trace leads to its logs and to each of its services' pages."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from console.ui.changes import changes_near
from console.ui.data.dependency_graph import dependency_figure, edge_rows
from console.ui.data.trace_waterfall import (
    MAX_ROWS,
    default_span,
    span_details,
    span_label,
    trace_start_ns,
    waterfall_figure,
)
from console.ui.data.traces import (
    PRESENCES,
    choices,
    compare_tables,
    is_trace_id_or_empty,
    logs_window,
    result_rows,
    scatter_figure,
    search_query,
    statistics_rows,
)
from console.ui.frame import fetch, jump, start, url_of
from console.ui.pages import LOGS, SERVICE, TRACES
from console.ui.safe import plain
from console.ui.time_range import describe

controls = start(TRACES)
state = controls.state
CHART_PICK = "traces.waterfall_pick"  # the last span picked on the chart, so a stale pick cannot win
BAD_ID = "traces.bad_id"


def _new_service() -> None:
    st.session_state[state.key("operation")] = ""  # another service's operation would match nothing


def _check_id(name: str) -> None:
    # A typed id that is not one would silently snap back (the state refuses it): say why.
    typed = st.session_state[state.key(name)].strip()
    st.session_state[state.key(name)] = typed
    st.session_state[BAD_ID] = (
        f"{typed!r} is not a trace id (32 hex digits)" if not is_trace_id_or_empty(typed) else ""
    )


def _close_trace() -> None:
    st.session_state[state.key("trace")] = ""
    st.session_state[state.key("compare")] = ""


def show_bad_id() -> None:
    if st.session_state.get(BAD_ID):
        st.warning(plain(st.session_state[BAD_ID]), icon=":material/warning:")


def trace_id_box(where: DeltaGenerator, label: str, field: str) -> None:
    """A box bound to a trace-id field; a typed id that is not one is said, and not taken."""
    where.text_input(
        label, key=state.key(field), placeholder="32 hex digits", on_change=_check_id, args=(field,)
    )
    show_bad_id()


def search_form() -> None:
    services = fetch("services")
    names = [s["name"] for s in services["services"]] if services else []
    operations = fetch("operations", state["service"]) if state["service"] else None
    ops = [o["name"] for o in operations["operations"]] if operations else []
    row = st.columns([2, 3, 2, 2, 2, 1])
    row[0].selectbox(
        "Service",
        choices(names, state["service"]),
        key=state.key("service"),
        format_func=lambda v: v or "any service",
        accept_new_options=True,
        on_change=_new_service,
    )
    row[1].selectbox(
        "Operation",
        choices(ops, state["operation"]),
        key=state.key("operation"),
        format_func=lambda v: v or "any operation",
        accept_new_options=True,
    )
    row[2].number_input(
        "Min duration ms", min_value=0.0, step=10.0, key=state.key("min_ms"), help="0: no bound"
    )
    row[3].number_input(
        "Max duration ms", min_value=0.0, step=10.0, key=state.key("max_ms"), help="0: no bound"
    )
    row[4].selectbox("Status", ("any", "ok", "error", "unset"), key=state.key("status"))
    row[5].number_input("Limit", min_value=1, max_value=1000, step=10, key=state.key("limit"))
    row = st.columns([5, 2])
    row[0].multiselect(
        "Tags",
        state["tag"],
        key=state.key("tag"),
        accept_new_options=True,
        placeholder="key=value, e.g. http.route=/play (span or resource attribute)",
    )
    row[1].radio(
        "Sort",
        ("start", "duration"),
        key=state.key("sort"),
        horizontal=True,
        format_func={"start": "newest first", "duration": "longest first"}.get,
    )


@st.fragment(run_every=controls.refresh_s)
def search_results() -> None:
    start_ms, end_ms = controls.window()
    query, problems = search_query(state.values, start_ms, end_ms)
    for problem in problems:
        st.warning(plain(problem), icon=":material/warning:")
    answer = fetch("trace_search", **query)
    if answer is None:
        return
    traces = answer["traces"]
    if not traces:
        st.caption(plain(f"No trace matches this search in {describe(controls.time_range)}."))
        return
    st.caption(
        f"{len(traces)} traces · {plain(describe(controls.time_range))} · a row or a point opens its trace"
    )
    picked = st.plotly_chart(
        scatter_figure(traces),
        theme="streamlit",
        key="traces.scatter",
        on_select="rerun",
        selection_mode="points",
    )
    chosen = st.dataframe(
        pd.DataFrame(result_rows(traces)),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="traces.results",
        column_config={"duration ms": st.column_config.NumberColumn(format="%.3f")},
    )
    points = picked["selection"]["points"] if picked else []
    trace_id = traces[rows[0]]["trace_id"] if (rows := chosen["selection"]["rows"]) else None
    trace_id = trace_id or (str(points[0].get("customdata")) if points else None)
    if trace_id:
        state.update(trace=trace_id)
        st.rerun()


def trace_view(trace_id: str) -> None:
    answer = fetch("trace", trace_id)
    if answer is None:
        return
    summary, spans = answer["summary"], answer["spans"]
    st.subheader(plain(f"{summary['root_service']}: {summary['root_operation']}"))
    figures = st.columns(5)
    figures[0].metric("Duration", f"{summary['duration_ms']:g} ms")
    figures[1].metric("Spans", summary["span_count"])
    figures[2].metric("Errors", summary["error_count"])
    figures[3].metric("Services", len(summary["services"]))
    figures[4].metric("Depth", 1 + max((s["depth"] for s in spans), default=0))
    if answer["truncated"]:
        st.warning("Truncated: the server analysed only the first 10,000 spans of this trace.")
    if answer["malformed"]:
        st.warning("Malformed trace: " + plain("; ".join(answer["problems"])), icon=":material/warning:")
    if len(spans) > MAX_ROWS:
        st.caption(f"The waterfall shows the first {MAX_ROWS:,} of {len(spans):,} spans.")
    logs_from, logs_to = logs_window(summary)
    around = {"from": str(logs_from), "to": str(logs_to)}  # the trace's minute either side, not this range
    links = st.columns(1 + len(summary["services"]))
    with links[0]:
        jump(controls, LOGS, "Logs of this trace", trace=trace_id, **around)
    for column, service in zip(links[1:], sorted(summary["services"]), strict=True):
        with column:
            jump(controls, SERVICE, f"Service {service}", service=service)
    start_ns = trace_start_ns(answer)
    changes_near(controls, sorted(summary["services"]), start_ns // 1_000_000)

    picked = st.plotly_chart(
        waterfall_figure(answer),
        theme="streamlit",
        key="traces.waterfall",
        on_select="rerun",
        selection_mode="points",
    )
    by_id = {s["span_id"]: s for s in spans}
    points = picked["selection"]["points"] if picked else []
    pick = str(points[0].get("customdata")) if points else None
    if pick in by_id and pick != st.session_state.get(CHART_PICK):
        state.update(span=pick)  # a new click on the chart opens that span below (and in the URL)
    st.session_state[CHART_PICK] = pick
    if state["span"] not in by_id:
        state.update(span=default_span(answer))
    details, operations, services, compare = st.tabs(
        ["Span details", "Statistics by operation", "Statistics by service", "Compare"]
    )
    with details:
        span_id = st.selectbox(
            "Span", list(by_id), key=state.key("span"), format_func=lambda i: span_label(by_id[i])
        )
        if span_id in by_id:
            st.dataframe(
                pd.DataFrame(span_details(by_id[span_id], start_ns)),
                hide_index=True,
                key="traces.span_details",
            )
            jump(controls, SERVICE, f"Service {by_id[span_id]['service']}", service=by_id[span_id]["service"])
    stats = answer["statistics"]
    with operations:
        st.dataframe(
            pd.DataFrame(statistics_rows(stats["by_operation"])), hide_index=True, key="traces.by_operation"
        )
    with services:
        frame = pd.DataFrame(statistics_rows(stats["by_service"], by_service=True))
        if not frame.empty:
            frame.insert(1, "open", [url_of(controls, SERVICE, service=s) for s in frame["service"]])
        st.dataframe(
            frame,
            hide_index=True,
            key="traces.by_service",
            column_config={"open": st.column_config.LinkColumn("open", display_text="service page")},
        )
    with compare:
        trace_id_box(st.container(), "Compare with trace id (B)", "compare")
        if state["compare"]:
            compare_view(trace_id, state["compare"])


def compare_view(a: str, b: str) -> None:
    answer = fetch("compare_traces", a, b)
    if answer is None:
        return
    counts = st.columns(4)
    labels = [("Only in A", "only_a"), ("Only in B", "only_b"), ("In both", "both"), ("Changed", "changed")]
    for column, (label, key) in zip(counts, labels, strict=True):
        column.metric(label, answer["summary"][key])
    st.text(f"A: {a} ({answer['a']['duration_ms']:g} ms)   B: {b} ({answer['b']['duration_ms']:g} ms)")
    if answer["malformed"] or answer["truncated"]:
        st.warning("One of the traces is malformed or truncated: the comparison covers what was analysed.")
    for presence, rows in compare_tables(answer).items():
        st.markdown(f"**{PRESENCES[presence]}**")
        st.dataframe(pd.DataFrame(rows), hide_index=True, key=f"traces.compare.{presence}")


@st.fragment(run_every=controls.refresh_s)
def dependency_graph() -> None:
    start_ms, end_ms = controls.window()
    answer = fetch("dependencies", start=start_ms, end=end_ms)
    if answer is None:
        return
    st.caption(
        f"{plain(describe(controls.time_range))} · edges caller → callee from client/server span pairs;"
        " dashed: an uninstrumented peer"
    )
    st.plotly_chart(dependency_figure(answer), theme="streamlit", key="traces.graph")
    frame = pd.DataFrame(edge_rows(answer))
    if not frame.empty:
        frame["callee page"] = [url_of(controls, SERVICE, service=c) for c in frame["callee"]]
        frame["callee traces"] = [url_of(controls, TRACES, service=c) for c in frame["callee"]]
    config: dict[str, Any] = {
        "callee page": st.column_config.LinkColumn("callee page", display_text="service page"),
        "callee traces": st.column_config.LinkColumn("callee traces", display_text="search traces"),
        "error %": st.column_config.NumberColumn(format="%.2f"),
    }
    st.dataframe(frame, hide_index=True, key="traces.edges", column_config=config)


st.radio(
    "View",
    ("search", "graph"),
    key=state.key("view"),
    horizontal=True,
    label_visibility="collapsed",
    format_func={"search": "Search and trace", "graph": "Service dependency graph"}.get,
)
if state["view"] == "graph":
    dependency_graph()
elif state["trace"]:
    row = st.columns([4, 1], vertical_alignment="bottom")
    trace_id_box(row[0], "Trace id", "trace")
    row[1].button("Back to the search", on_click=_close_trace, icon=":material/arrow_back:")
    trace_view(state["trace"])
else:
    search_form()
    search_results()
    trace_id_box(st.container(), "Open a trace by id", "trace")
