"""Canary: analyses with their verdicts; per analysis its score, group scores, per-metric verdicts with
control-vs-experiment charts; start a standalone analysis from a form.

The figures are Kayenta's answers as the server sends them; the charts read each metric again
through ``/api/v1/graph``, scoped to the control and to the experiment over the judgement's window.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from console.ui.charts import graph_figure
from console.ui.data.canary import (
    VERDICT_COLOURS,
    analysis_rows,
    comparison,
    config_thresholds,
    form_label,
    group_rows,
    judgement_rows,
    judgements,
    metric_expression,
    metric_rows,
    scope_names,
    scope_pairs,
    scoped,
    start_request,
)
from console.ui.frame import coloured, failure, fetch, follow_clicks, jump, open_row, start, url_of
from console.ui.pages import CANARY, LOGS, METRICS, SERVICE
from console.ui.safe import plain
from console.ui.session import ApiError, ServerUnreachable, now_ms, write
from console.ui.time_range import TimeRangeError, parse_time

controls = start(CANARY)
state = controls.state
_STARTED = "canary.started"
_RAN = ("SUCCEEDED", "TERMINAL")  # a judgement's states once it has a result
_TIME, _FIGURE = (
    st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
    st.column_config.NumberColumn(format="%.4g"),
)
_STATS = ("estimate", "CI low", "CI high", "p-value", "control mean", "experiment mean", "control std",
          "experiment std")  # fmt: skip
COLUMNS: dict[str, Any] = {
    "created": _TIME, "from": _TIME, "to": _TIME, "score": st.column_config.NumberColumn(format="%.2f"),
    "ratio": st.column_config.NumberColumn(format="%.3f"), **dict.fromkeys(_STATS, _FIGURE),
}  # fmt: skip


@st.fragment(run_every=controls.refresh_s)
def analyses() -> None:
    follow_clicks()
    answer = fetch("canary_analyses", limit=50)
    if answer is None:
        return
    rows = analysis_rows(answer["analyses"])
    if not rows:
        st.info("No canary analyses yet: start one below.")
        return
    frame = pd.DataFrame(rows)
    frame.insert(0, "open", [url_of(controls, CANARY, analysis=r["id"]) for r in rows])
    st.dataframe(
        coloured(frame, "verdict", VERDICT_COLOURS),
        hide_index=True,
        on_select=open_row(state, "analysis", "canary.list", [r["id"] for r in rows]),
        selection_mode="single-row",
        column_config={**COLUMNS, "open": st.column_config.LinkColumn("open", display_text="report")},
        key="canary.list",
    )


def _refused(error: Exception) -> None:
    """A refused start: each field the server named, as the form calls it, in plain text."""
    if isinstance(error, ApiError):
        st.error(f"The server refused the analysis ({error.status}).", icon=":material/error:")
        lines = [f"{form_label(field)}: {reason}" for field, reason in error.problems]
        st.text("\n".join(lines) or error.detail)
    else:
        failure(error)


def start_form() -> None:
    configs = fetch("canary_configs")
    if not configs:
        st.info(
            "No canary config is stored: POST one to /canaryConfig (the fleet's is sample_services/canary/)."
        )
        return
    by_id = {c["id"]: c for c in configs}
    # Outside the form: choosing a config must rerun the page so the thresholds follow it.
    config_id = st.selectbox(
        "Canary config",
        list(by_id),
        format_func=lambda i: f"{by_id[i]['name']} ({i})",
        key="canary.f.config",
    )
    # The config list leaves out the classifier: its thresholds come with the whole config.
    config = fetch("canary_config", config_id) if config_id is not None else None
    pass_default, marginal_default = config_thresholds(config)
    with st.form("canary.start"):
        left, right = st.columns(2)
        baseline = left.text_input("Baseline cluster", placeholder="drm-v1", key="canary.f.baseline")
        canary = right.text_input("Canary cluster", placeholder="drm-v2-canary", key="canary.f.canary")
        c = st.columns(4)
        lifetime = c[0].number_input("Lifetime (min)", min_value=0.0, value=30.0, key="canary.f.lifetime")
        interval = c[1].number_input(
            "Interval (min)", 0.0, value=0.0, help="0: one judgement", key="canary.f.interval"
        )
        begin = c[2].number_input("Begin after (min)", 0.0, value=0.0, key="canary.f.begin")
        lookback = c[3].number_input(
            "Lookback (min)", 0.0, value=0.0, help="0: growing windows", key="canary.f.lookback"
        )
        c = st.columns(4)
        begins = c[0].text_input(
            "Start", help="blank: now; now-30m, an ISO time or epoch ms", key="canary.f.start"
        )
        step = c[1].number_input("Step (s)", 0.0, value=0.0, help="0: the server's step", key="canary.f.step")
        # Keyed per config: another config's thresholds start from its own values, not the last ones.
        pass_score = c[2].number_input(
            "Pass threshold", 0.0, 100.0, pass_default, key=f"canary.f.pass.{config_id}"
        )
        marginal = c[3].number_input(
            "Marginal threshold", 0.0, 100.0, marginal_default, key=f"canary.f.marginal.{config_id}"
        )
        user = st.text_input("Started by", key="canary.f.user")
        submitted = st.form_submit_button("Start analysis", key="canary.f.submit", type="primary")
    if not submitted or config_id is None:
        return
    try:
        start_ms = parse_time(begins, now_ms(None), field="Start") if begins.strip() else None
    except TimeRangeError as error:
        st.error("The start time cannot be read.", icon=":material/error:")
        st.text(f"Start: {error.reason}")
        return
    if config is None:  # unreadable (the reason is shown): its scope names are unknown
        return
    request = start_request(
        scope_names(config), baseline=baseline, canary=canary, start_ms=start_ms, lifetime_min=lifetime,
        interval_min=interval, begin_after_min=begin, lookback_min=lookback, step_s=step,
        pass_score=pass_score, marginal_score=marginal,
    )  # fmt: skip
    applications = by_id[config_id].get("applications") or []
    try:
        answer = write(
            "start_standalone_analysis", request, config_id=config_id,
            application=applications[0] if applications else None, user=user.strip() or None,
        )  # fmt: skip
    except (ApiError, ServerUnreachable) as error:
        _refused(error)
        return
    st.session_state[_STARTED] = answer["canaryAnalysisExecutionId"]
    state.update(analysis=answer["canaryAnalysisExecutionId"])
    st.rerun()


def charts(kind: str, answer: dict[str, Any], chosen: dict[str, Any], results: dict[str, str]) -> None:
    """Control against experiment for every metric of the config, over the judgement's window."""
    config = answer.get("canaryConfig") or answer.get("config") or {}
    pairs = scope_pairs(kind, answer)
    begin, end = chosen["start_ms"], chosen["end_ms"]
    columns = st.columns(2)
    for n, metric in enumerate(config.get("metrics", [])):
        name, query = str(metric["name"]), metric.get("query", {})
        pair = pairs.get(str(metric.get("scopeName") or "default"))
        expression = metric_expression(query)
        with columns[n % 2]:
            if expression is None and pair is not None:
                st.caption(f"{plain(name)}: log lines per second, read from the logs (no series to chart)")
                level = [str(query.get("level") or "error")]
                service = str(query.get("service") or "")
                jump(controls, LOGS, f"Logs: {service} {level[0]}", service=service, level=level)
                continue
            if pair is None or expression is None or begin is None or end is None:
                st.caption(f"{plain(name)}: no scope or window to chart")
                continue
            off = pair["offset_ms"]
            control_q = scoped(expression, pair["key"], pair["control"])
            experiment_q = scoped(expression, pair["key"], pair["experiment"])
            # Kayenta's judgement window is the control's; the experiment's is later by the offset.
            control = fetch("graph", control_q, s=str(begin), e=str(end))
            experiment = fetch("graph", experiment_q, s=str(begin + off), e=str(end + off))
            if control is None or experiment is None:
                continue
            merged = comparison(control, experiment, pair["control"], pair["experiment"])
            unit = "s" if query.get("type") == "spans" and query.get("statistic") != "errorRate" else ""
            title = f"{name}: {results.get(name, 'not judged')}"
            st.plotly_chart(
                graph_figure(merged, title=title, unit=unit), theme="streamlit", key=f"canary.chart.{n}"
            )
            jump(controls, METRICS, f"Explore {name}", q=f"{control_q},{experiment_q}",
                 **{"from": str(begin + off), "to": str(end + off)})  # fmt: skip


@st.fragment(run_every=controls.refresh_s)
def report(analysis_id: str) -> None:
    verdict = fetch("canary_verdict", analysis_id)
    if verdict is None:
        return
    kind = verdict["kind"]
    answer = fetch("standalone_analysis" if kind == "standalone" else "canary_execution", analysis_id)
    if answer is None:
        return
    st.subheader(f"Analysis {plain(analysis_id)}")
    found = judgements(kind, answer)
    if kind == "standalone" and not answer.get("complete"):
        # Kayenta reports results only once the analysis ends; the judgements made so far are
        # child executions, readable one by one.
        stages = answer.get("stageStatus", [])
        ran = [s["executionId"] for s in stages if s.get("executionId") and s.get("status") in _RAN]
        found = [
            judgements("canary", made)[0] for made in (fetch("canary_execution", i) for i in ran) if made
        ]
    progress = answer.get("progress", {})
    c = st.columns(4)
    c[0].metric("Verdict", verdict["verdict"])
    c[1].metric("Score", "–" if verdict["score"] is None else f"{verdict['score']:g}")
    c[2].metric("Status", str(answer.get("executionStatus") or answer.get("status", "")).upper())
    c[3].metric("Judgements", f"{len(found)} of {progress.get('judgementsTotal', len(found))}")
    if verdict["reasons"]:
        st.text("\n".join(verdict["reasons"]))
    # Started without ?application=, an analysis is "ad-hoc": its config still names the application.
    config = answer.get("canaryConfig") or answer.get("config") or {}
    application = str(answer.get("application") or "")
    if application in ("", "ad-hoc"):
        application = str((config.get("applications") or [""])[0])
    if application:
        jump(controls, SERVICE, f"Service {application}", service=application)
    if progress:
        due = progress.get("nextJudgementDueIso")
        st.info(f"Running: next judgement due {plain(due or 'now')}. Turn on auto-refresh to follow it.")
    if not found:
        return
    st.dataframe(
        pd.DataFrame(judgement_rows(found)), hide_index=True, column_config=COLUMNS, key="canary.judgements"
    )
    index = st.selectbox(
        "Judgement", range(len(found)), index=len(found) - 1, format_func=lambda i: f"#{i + 1}",
        key=f"canary.judgement.{analysis_id}.{len(found)}",  # a new judgement: show it, the latest
    )  # fmt: skip
    chosen = found[index]
    judged = chosen["judge_result"] or {}
    st.markdown("**Group scores**")
    st.dataframe(
        pd.DataFrame(group_rows(judged)), hide_index=True, column_config=COLUMNS, key="canary.groups"
    )
    st.markdown("**Metrics**")
    rows = metric_rows(judged)
    st.dataframe(pd.DataFrame(rows), hide_index=True, column_config=COLUMNS, key="canary.metrics")
    if chosen["warnings"]:
        st.text("\n".join(chosen["warnings"]))
    charts(kind, answer, chosen, {r["metric"]: r["classification"] for r in rows})


analyses()
started = st.session_state.pop(_STARTED, None)
if started:
    st.success(f"Started analysis {plain(started)}", icon=":material/check:")
if state["analysis"]:
    report(state["analysis"])
with st.expander("Start an analysis", expanded=not state["analysis"]):
    start_form()
