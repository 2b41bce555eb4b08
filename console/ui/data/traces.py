"""The Traces page's search and tables: the query from the page state, result rows, Jaeger's
scatter of duration over time, per-trace statistics, the logs window and compare tables.

Figures are the API's (``/api/v1/traces``, ``/api/v1/traces/{id}``, ``…/compare/…``) as
sent; this module only renames, orders and places them. No Streamlit here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go

from console.ui.charts import CHART_HEIGHT
from console.ui.charts import plotly_text as text
from console.ui.pages import is_trace_id

LOGS_MARGIN_MS = 60_000  # logs around a trace: a minute either side catches retries and late lines
ERROR_COLOUR = "#d32f2f"
OK_COLOUR = "#1e88e5"


def utc(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def choices(known: Iterable[str], current: str) -> list[str]:
    """Selectbox options: "" (any), the known names, and a value from a link that is not (or no
    longer) listed, so that it stays chosen rather than silently reset."""
    names = sorted(set(known))
    return ["", *names, *([current] if current and current not in names else [])]


def is_trace_id_or_empty(value: str) -> bool:
    """32 hex digits, or empty (no trace): the page's ``trace``/``compare`` fields' rule."""
    return not value or is_trace_id(value)


def search_query(values: Mapping[str, Any], start_ms: int, end_ms: int) -> tuple[dict[str, Any], list[str]]:
    """``trace_search`` keywords for the page state, and why some tags were left out.

    Tags are ``key=value`` (Jaeger's form); a later tag with the same key wins, as in the URL.
    Zero durations mean "no bound" and status ``any`` means no status condition.
    """
    attrs: dict[str, str] = {}
    problems: list[str] = []
    for tag in values["tag"]:
        key, sep, value = str(tag).partition("=")
        if not sep or not key.strip():
            problems.append(f"tag {tag!r} is not key=value; left out of the search")
        else:
            attrs[key.strip()] = value.strip()
    query: dict[str, Any] = {
        "start": start_ms,
        "end": end_ms,
        "limit": values["limit"],
        "sort": values["sort"],
    }
    if values["service"]:
        query["service"] = values["service"]
    if values["operation"]:
        query["operation"] = values["operation"]
    if values["min_ms"] > 0:
        query["min_duration_ms"] = values["min_ms"]
    if values["max_ms"] > 0:
        query["max_duration_ms"] = values["max_ms"]
    if values["status"] != "any":
        query["status"] = values["status"]
    if attrs:
        query["attrs"] = attrs
    return query, problems


def services_text(services: Mapping[str, int]) -> str:
    """``cdn 1, drm 1, playback 2``: spans per service, as Jaeger's result cards list them."""
    return ", ".join(f"{name} {count}" for name, count in sorted(services.items()))


def result_rows(traces: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per trace summary, in the server's order (newest or longest first)."""
    return [
        {
            "start": utc(t["start_ns"]),
            "root service": t["root_service"],
            "root operation": t["root_operation"],
            "duration ms": t["duration_ms"],
            "spans": t["span_count"],
            "errors": t["error_count"],
            "services": services_text(t["services"]),
            "trace id": t["trace_id"],
        }
        for t in traces
    ]


def scatter_figure(traces: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Jaeger's search scatter: each trace at its start and duration, errors apart, size by spans."""
    figure = go.Figure()
    for name, colour, failed in (("ok", OK_COLOUR, False), ("with errors", ERROR_COLOUR, True)):
        chosen = [t for t in traces if bool(t["error_count"]) == failed]
        if not chosen:
            continue
        figure.add_trace(
            go.Scatter(
                x=[utc(t["start_ns"]).isoformat() for t in chosen],
                y=[t["duration_ms"] for t in chosen],
                customdata=[t["trace_id"] for t in chosen],
                text=[text(f"{t['root_service']}: {t['root_operation']}") for t in chosen],
                name=name,
                mode="markers",
                marker={"color": colour, "size": [min(6 + t["span_count"], 24) for t in chosen]},
                hovertemplate="%{text}<br>%{y:.3f} ms<br>%{customdata}<extra></extra>",
            )
        )
    figure.update_layout(
        height=CHART_HEIGHT,
        # Room above the plot for plotly's toolbar, which would otherwise sit on the slowest trace.
        margin={"l": 10, "r": 10, "t": 36, "b": 10},
        legend={"orientation": "h", "y": -0.25},
        xaxis={"type": "date"},
        yaxis={"title": {"text": "duration ms"}, "rangemode": "tozero"},
    )
    return figure


def logs_window(summary: Mapping[str, Any]) -> tuple[int, int]:
    """(from_ms, to_ms) for the trace's logs: its start and end widened by a minute."""
    start_ms = int(summary["start_ns"]) // 1_000_000
    end_ms = start_ms + int(float(summary["duration_ms"]) + 0.999)
    return start_ms - LOGS_MARGIN_MS, end_ms + LOGS_MARGIN_MS


STAT_COLUMNS = {
    "count": "spans",
    "errors": "errors",
    "total_ms": "total ms",
    "avg_ms": "avg ms",
    "min_ms": "min ms",
    "max_ms": "max ms",
    "self_total_ms": "self total ms",
    "self_avg_ms": "self avg ms",
    "self_min_ms": "self min ms",
    "self_max_ms": "self max ms",
    "self_percent": "self % of trace",
}


def statistics_rows(rows: Iterable[Mapping[str, Any]], *, by_service: bool = False) -> list[dict[str, Any]]:
    """Jaeger's trace statistics table, most self time first (the server's order)."""
    keys = ("service",) if by_service else ("service", "operation")
    return [{**{k: row[k] for k in keys}, **{v: row[k] for k, v in STAT_COLUMNS.items()}} for row in rows]


def _path(nodes: Sequence[Mapping[str, Any]], node: Mapping[str, Any]) -> str:
    steps = []
    current: Mapping[str, Any] | None = node
    while current is not None:
        steps.append(f"{current['service']}: {current['operation']}")
        parent = current.get("parent")
        current = None if parent is None else nodes[int(parent)]
    return " › ".join(reversed(steps))


PRESENCES = {"only_a": "Only in A", "only_b": "Only in B", "both": "In both"}


def compare_tables(answer: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The structural diff's nodes split by presence, each with its path from the top-level span."""
    nodes = answer["nodes"]
    tables: dict[str, list[dict[str, Any]]] = {presence: [] for presence in PRESENCES}
    for node in nodes:
        tables[node["presence"]].append(
            {
                "path": _path(nodes, node),
                "service": node["service"],
                "operation": node["operation"],
                "depth": node["depth"],
                "spans A": node["count_a"],
                "spans B": node["count_b"],
                "span difference": node["count_difference"],
                "duration A ms": node["duration_a_ms"],
                "duration B ms": node["duration_b_ms"],
                "errors A": node["errors_a"],
                "errors B": node["errors_b"],
            }
        )
    return tables
