"""Metrics explorer (Atlas UI-like): a stack-language expression with its chart and legend, a tag
browser that narrows the expression in one click, and the example traces behind span-derived series.
The expression and the step live in the URL."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from console.ui.charts import graph_figure, plotly_text
from console.ui.data.metrics import (
    EXAMPLES,
    MAX_EXEMPLAR_ROWS,
    add_clause,
    caret,
    error_lines,
    exemplar_rows,
    legend_rows,
    query_part,
)
from console.ui.frame import failure, fetch, start, url_of
from console.ui.pages import METRICS, TRACES
from console.ui.safe import plain
from console.ui.session import ApiError, ServerUnreachable, read

TAG_KEY = "metrics.tag_key"
TAG_VALUE = "metrics.tag_value"

controls = start(METRICS)
state = controls.state


def _set_expression(text: str) -> None:
    # A callback runs before the script draws the text area, so writing its key is allowed.
    st.session_state[state.key("q")] = text


def _add_tag() -> None:
    key, value = st.session_state.get(TAG_KEY), st.session_state.get(TAG_VALUE)
    if key and value is not None:
        _set_expression(add_clause(st.session_state.get(state.key("q"), ""), key, value))


def _read_narrowed(method: str, *args: Any, q: str) -> tuple[Any, bool]:
    """A tag read restricted to the expression's query (and True), or over every series (False)
    when the server cannot use the expression as a query."""
    if q:
        try:
            return read(method, *args, q=q), True
        except ApiError:
            pass  # a half-typed or non-query expression: browse every series instead
        except ServerUnreachable as error:
            failure(error)
            return None, True
    return fetch(method, *args), False


editor, browser = st.columns([3, 1])
with editor:
    st.text_area(
        "Expression (Atlas stack language)",
        key=state.key("q"),
        height=100,
        placeholder="name,span.calls,:eq,(,nf.app,),:by",
        help="Applied when the box loses focus or on Ctrl+Enter. "
        "Words: :eq :and :or :re :in :sum :max :by :div … ",
    )
    step_box, *example_boxes = st.columns([2, 2, 2, 2], vertical_alignment="bottom")
    step_box.text_input(
        "Step", key=state.key("step"), placeholder="auto", help="e.g. 1m or 5m; blank: automatic"
    )
    for n, (box, (label, example)) in enumerate(zip(example_boxes, EXAMPLES.items(), strict=True)):
        box.button(label, key=f"metrics.example.{n}", on_click=_set_expression, args=(example,))

with browser:
    st.subheader("Tag browser")
    narrowing = query_part(state["q"])
    found, _ = _read_narrowed("tag_keys", q=narrowing)
    keys = found or []
    # A choice the narrowed expression no longer offers is dropped before its box is drawn.
    if st.session_state.get(TAG_KEY) not in keys:
        st.session_state.pop(TAG_KEY, None)
    st.selectbox("Tag key", keys, key=TAG_KEY, index=None, placeholder="Choose a key")
    chosen = st.session_state.get(TAG_KEY)
    values, narrowed = _read_narrowed("tag_values", chosen, q=narrowing) if chosen else ([], False)
    if st.session_state.get(TAG_VALUE) not in (values or []):
        st.session_state.pop(TAG_VALUE, None)
    st.selectbox("Value", values or [], key=TAG_VALUE, index=None, placeholder="Choose a value")
    if chosen and values is not None:
        scope = "the series the expression selects" if narrowed else "all series"
        st.caption(f"{len(values)} values in {scope}")
    st.button(
        "Add to the expression",
        key="metrics.add_tag",
        on_click=_add_tag,
        disabled=not (chosen and st.session_state.get(TAG_VALUE) is not None),
        help="Narrows the expression's first query with key,value,:eq,:and",
    )


def _refusal(error: ApiError, expression: str) -> None:
    """The server's reasons as plain text naming the control, and where in the expression."""
    for line in error_lines(error.problems, error.detail):
        st.error(plain(line), icon=":material/error:")
    pointed = caret(expression, error.reason_for("q") or "")
    if pointed:
        st.code(pointed, language=None)


def _exemplar_marks(figure: go.Figure, rows: list[dict[str, Any]]) -> None:
    """Exemplars on the chart as points at the series' value (hover shows the trace id)."""
    shown = [r for r in rows if r["value"] is not None]
    if not shown:
        return
    figure.add_trace(
        go.Scatter(
            x=pd.to_datetime([r["time_ms"] for r in shown], unit="ms", utc=True),
            y=[r["value"] for r in shown],
            mode="markers",
            name="exemplars",
            marker={"symbol": "diamond", "size": 8, "color": "#f9a825"},  # apart from any line
            text=[
                plotly_text(f"{r['operation']} {r['duration ms']} ms trace {r['trace_id']}") for r in shown
            ],
            hovertemplate="%{text}<extra>exemplar</extra>",
        )
    )


@st.fragment(run_every=controls.refresh_s)
def explorer() -> None:
    expression = state["q"]
    if not expression.strip():
        st.info("Type an expression, start from an example, or add a tag from the tag browser.")
        return
    start_ms, end_ms = controls.window()
    try:
        answer = read("graph", q=expression, s=str(start_ms), e=str(end_ms), step=state["step"] or None)
    except ApiError as error:
        _refusal(error, expression)
        return
    except ServerUnreachable as error:
        failure(error)
        return
    # Only span-derived series have exemplars; any other expression just gets none.
    try:
        found = read("exemplars", q=query_part(expression), start=start_ms, end=end_ms, step=answer["step"])
    except (ApiError, ServerUnreachable):
        found = None
    link = lambda trace_id: url_of(controls, TRACES, trace=trace_id)  # noqa: E731
    examples = exemplar_rows(found, link) if found else []

    figure = graph_figure(answer, height=360)
    # Small markers too: a step with data between two gaps is a point a line alone would not draw.
    figure.update_traces(mode="lines+markers", marker={"size": 3})
    _exemplar_marks(figure, examples[:MAX_EXEMPLAR_ROWS])
    st.plotly_chart(figure, theme="streamlit", key="metrics.chart")
    for notice in answer.get("notices", []):
        st.caption(plain(notice))
    step_s = answer["step"] / 1000
    st.caption(f"{len(answer['legend'])} series · step {step_s:g} s · gaps are steps without data")

    st.subheader("Legend")
    st.dataframe(
        pd.DataFrame(legend_rows(answer), columns=["series", "tags", "last", "avg", "max", "points"]),
        hide_index=True,
        column_config={k: st.column_config.NumberColumn(format="%.4g") for k in ("last", "avg", "max")},
        key="metrics.legend",
    )

    if examples:
        st.subheader("Exemplars: the slowest span per step")
        frame = pd.DataFrame(examples[:MAX_EXEMPLAR_ROWS])
        frame.insert(0, "time", pd.to_datetime(frame.pop("time_ms"), unit="ms", utc=True))
        st.dataframe(
            frame,
            hide_index=True,
            column_config={
                "trace": st.column_config.LinkColumn("trace", display_text="open trace"),
                "value": st.column_config.NumberColumn(format="%.4g"),
            },
            key="metrics.exemplars",
        )
        if len(examples) > MAX_EXEMPLAR_ROWS:
            st.caption(f"The newest {MAX_EXEMPLAR_ROWS} of {len(examples)} exemplars are listed.")
    elif found is not None:
        st.caption("No exemplars: the expression selects no span-derived series (span.calls, span.duration).")


explorer()
