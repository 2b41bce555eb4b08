"""Plotly figures the pages share: Atlas graph answers as time series, with deploy and canary marks.

Figures carry no colours of their own: ``st.plotly_chart(..., theme="streamlit")`` gives
them the light or dark theme the person chose. Legends and hover texts are plotly text
(SVG text nodes), never HTML; labels that came from outside are passed through
:func:`plotly_text` so plotly's own ``<br>``/``<b>`` markup in them shows as written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go

MARK_COLOURS = {"deploy": "#7e57c2", "canary": "#f9a825", "rollback": "#e53935"}
CHART_HEIGHT = 260


def plotly_text(text: object) -> str:
    """Outside text for plotly: entities keep its ``<br>``/``<b>`` markup literal."""
    # Plotly reads a few HTML-like tags in text; an entity for "<" keeps them literal.
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _time(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None  # "NaN", "Infinity" and nulls are gaps


def graph_figure(
    answer: Mapping[str, Any],
    *,
    title: str = "",
    unit: str = "",
    marks: Sequence[Mapping[str, Any]] = (),
    height: int = CHART_HEIGHT,
) -> go.Figure:
    """A line per series of an Atlas graph JSON answer; ``marks`` are annotations as vertical lines."""
    start, step = int(answer["start"]), int(answer["step"])
    times = [_time(start + i * step) for i in range(len(answer["values"]))]
    figure = go.Figure()
    for column, legend in enumerate(answer["legend"]):
        values = [_number(row[column]) for row in answer["values"]]
        figure.add_trace(
            go.Scatter(
                x=times,
                y=values,
                name=plotly_text(legend),
                mode="lines",
                connectgaps=False,
                hovertemplate=f"%{{y:.4g}} {unit}<extra>{plotly_text(legend)}</extra>",
            )
        )
    add_marks(figure, marks)
    return layout(figure, title=title, unit=unit, height=height)


def add_marks(figure: go.Figure, marks: Iterable[Mapping[str, Any]]) -> None:
    """Deploys, canaries and other annotations (``{time_ms, kind, summary, version}``) as vertical lines."""
    for mark in marks:
        kind = str(mark.get("kind", ""))
        text = " ".join(str(mark.get(k) or "") for k in ("kind", "version")).strip()
        figure.add_vline(
            x=float(mark["time_ms"]),
            line_dash="dot",
            line_color=MARK_COLOURS.get(kind, "#888888"),
            annotation_text=plotly_text(text),
            annotation_position="top left",
            annotation_font_size=10,
        )


def layout(figure: go.Figure, *, title: str = "", unit: str = "", height: int = CHART_HEIGHT) -> go.Figure:
    figure.update_layout(
        title={"text": plotly_text(title), "font": {"size": 14}} if title else None,
        height=height,
        margin={"l": 10, "r": 10, "t": 36 if title else 10, "b": 10},
        # Below the time axis, clear of the date plotly writes under the first tick.
        legend={"orientation": "h", "yanchor": "top", "y": -0.3},
        hovermode="x unified",
        yaxis={"title": {"text": unit}, "rangemode": "tozero"},
    )
    return figure


def series_values(answer: Mapping[str, Any], column: int = 0) -> list[float | None]:
    """One column of a graph answer as numbers (None for gaps), for tests and tables."""
    return [_number(row[column]) for row in answer["values"]]
