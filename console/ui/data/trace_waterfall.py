"""One trace as Jaeger's waterfall: a bar per span from its (clock-skew adjusted) start, indented
by depth, with the critical path drawn over the spans it crosses; and a span's details as rows.

The answer is ``/api/v1/traces/{id}``'s: spans already in waterfall order with ``depth``,
``adjusted_start_ns``/``adjusted_end_ns``, ``self_time_ms``, ``critical_ms``; ``critical_path``
as sections ``{span_id, start_ns, end_ns, duration_ms}``. Offsets are milliseconds from the
earliest adjusted start. No Streamlit here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from console.ui.charts import plotly_text as text
from console.ui.data.traces import ERROR_COLOUR

MAX_ROWS = 1_000  # a bar per span: beyond this the chart is unreadable and slow to draw
ROW_PX = 26
CHAR_PX = 7  # about one character of the 12 px label font
LABEL_PX_MAX = 420
CRITICAL = "critical path"
CRITICAL_COLOUR = "#e040fb"  # magenta: in no service palette (plotly's, Streamlit's), seen on both themes
STATUS_ERROR = 2
KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUSES = {0: "unset", 1: "ok", 2: "error"}


def trace_start_ns(answer: Mapping[str, Any]) -> int:
    spans = answer["spans"]
    return min((int(s["adjusted_start_ns"]) for s in spans), default=int(answer["summary"]["start_ns"]))


def _offset_ms(ns: int, start_ns: int) -> float:
    return round((ns - start_ns) / 1e6, 3)


def span_label(span: Mapping[str, Any]) -> str:
    """``service: operation`` indented by depth (no-break spaces: plotly keeps them), flagged
    ⚠ for an error, ⤳ for an async (follows-from) child and ? for an orphan."""
    flags = "".join(
        mark
        for mark, on in (
            ("⚠ ", span["status"]["code"] == STATUS_ERROR),
            ("⤳ ", span.get("follows_from")),
            ("? ", span.get("orphan")),
        )
        if on
    )
    depth = int(span["depth"])
    indent = "\u00a0" * 4 * (depth - 1) + "└ " if depth else ""
    return indent + flags + f"{span['service']}: {span['name']}"


def critical_bars(answer: Mapping[str, Any], rows: int = MAX_ROWS) -> list[dict[str, Any]]:
    """The critical path's sections placed on their span's row (sections of spans not drawn are left out)."""
    start_ns = trace_start_ns(answer)
    row_of = {s["span_id"]: n for n, s in enumerate(answer["spans"][:rows])}
    return [
        {
            "span_id": section["span_id"],
            "row": row_of[section["span_id"]],
            "offset_ms": _offset_ms(int(section["start_ns"]), start_ns),
            "duration_ms": section["duration_ms"],
        }
        for section in answer["critical_path"]
        if section["span_id"] in row_of
    ]


def waterfall_figure(answer: Mapping[str, Any], rows: int = MAX_ROWS) -> go.Figure:
    """Bars per service (one legend entry each) and the critical path as a narrower overlay of its own."""
    spans: Sequence[Mapping[str, Any]] = answer["spans"][:rows]
    start_ns = trace_start_ns(answer)
    figure = go.Figure()
    by_service: dict[str, list[int]] = {}
    for n, span in enumerate(spans):
        by_service.setdefault(str(span["service"]), []).append(n)
    for service, members in by_service.items():
        chosen = [spans[n] for n in members]
        figure.add_trace(
            go.Bar(
                orientation="h",
                y=members,
                base=[_offset_ms(int(s["adjusted_start_ns"]), start_ns) for s in chosen],
                x=[round((int(s["adjusted_end_ns"]) - int(s["adjusted_start_ns"])) / 1e6, 3) for s in chosen],
                customdata=[s["span_id"] for s in chosen],
                text=[text(f"{s['service']}: {s['name']}") for s in chosen],
                hovertext=[
                    text(f"self {s['self_time_ms']} ms · on critical path {s['critical_ms']} ms")
                    for s in chosen
                ],
                textposition="none",
                name=text(service),
                marker={
                    "line": {
                        "color": [
                            ERROR_COLOUR if s["status"]["code"] == STATUS_ERROR else "rgba(0,0,0,0)"
                            for s in chosen
                        ],
                        "width": 2,
                    }
                },
                hovertemplate="%{text}<br>%{base:.3f} ms + %{x:.3f} ms<br>%{hovertext}<extra></extra>",
            )
        )
    sections = critical_bars(answer, rows)
    figure.add_trace(
        go.Bar(
            orientation="h",
            y=[c["row"] for c in sections],
            base=[c["offset_ms"] for c in sections],
            x=[c["duration_ms"] for c in sections],
            customdata=[c["span_id"] for c in sections],
            width=0.3,
            name=CRITICAL,
            marker={"color": CRITICAL_COLOUR},
            hovertemplate="critical path: %{base:.3f} ms + %{x:.3f} ms<extra></extra>",
        )
    )
    labels = [text(span_label(s)) for s in spans]
    label_px = min(LABEL_PX_MAX, 20 + CHAR_PX * max((len(label) for label in labels), default=0))
    # Tick labels are right-aligned, which hides indentation: the labels are left-aligned
    # annotations in the left margin instead, so the tree shows as in Jaeger.
    for n, label in enumerate(labels):
        figure.add_annotation(
            x=0, xref="paper", y=n, yref="y", text=label, showarrow=False,
            xanchor="left", xshift=-label_px, font={"size": 12},
        )  # fmt: skip
    figure.update_layout(
        barmode="overlay",
        height=min(110 + ROW_PX * len(spans), 30_000),
        margin={"l": label_px, "r": 10, "t": 40, "b": 40},
        legend={"orientation": "h", "y": 0, "yanchor": "top", "x": 0},
        xaxis={"title": {"text": "ms since the trace started"}, "rangemode": "tozero", "side": "top"},
        yaxis={
            "tickmode": "array",
            "tickvals": list(range(len(spans))),
            "ticktext": labels,
            "showticklabels": False,
            "autorange": "reversed",
        },
    )
    return figure


def default_span(answer: Mapping[str, Any]) -> str | None:
    """The span to open first: the one holding most of the critical path (where the time went)."""
    spans = answer["spans"]
    if not spans:
        return None
    return str(max(spans, key=lambda s: (s["critical_ms"], -spans.index(s)))["span_id"])


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def span_details(span: Mapping[str, Any], start_ns: int) -> list[dict[str, str]]:
    """A span as (section, field, value) rows of text — attributes, resource, events, status."""
    rows = [
        ("span", "service", span["service"]),
        ("span", "operation", span["name"]),
        ("span", "span id", span["span_id"]),
        ("span", "parent span id", span["parent_span_id"] or "(root)"),
        ("span", "kind", KINDS.get(int(span["kind"]), str(span["kind"]))),
        ("span", "start offset ms", _value(_offset_ms(int(span["adjusted_start_ns"]), start_ns))),
        ("span", "duration ms", _value(span["duration_ms"])),
        ("span", "self time ms", _value(span["self_time_ms"])),
        ("span", "on critical path ms", _value(span["critical_ms"])),
        ("span", "clock skew adjustment ms", _value(round(int(span["skew_ns"]) / 1e6, 3))),
        ("span", "orphan (parent missing)", _value(bool(span["orphan"]))),
        ("span", "async (follows from)", _value(bool(span["follows_from"]))),
        ("status", "code", STATUSES.get(int(span["status"]["code"]), str(span["status"]["code"]))),
        ("status", "message", span["status"]["message"]),
    ]
    rows += [("attribute", str(k), _value(v)) for k, v in sorted(span["attributes"].items())]
    rows += [("resource", str(k), _value(v)) for k, v in sorted(span["resource"].items())]
    for event in span["events"]:
        at = _offset_ms(int(event.get("time_ns", 0)), start_ns)
        rows.append(("event", f"{at} ms {event.get('name', '')}", _value(event.get("attributes", {}))))
    rows += [("link", str(link.get("trace_id", "")), _value(link)) for link in span["links"]]
    rows += [("warning", "", str(w)) for w in span.get("warnings", [])]
    if span.get("scope"):
        rows.append(("scope", "name", str(span["scope"])))
    return [{"section": s, "field": f, "value": v} for s, f, v in rows]
