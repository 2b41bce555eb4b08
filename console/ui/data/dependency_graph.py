"""The service dependency graph of ``/api/v1/dependencies``: a layered layout (callers left of
their callees), a plotly figure with call and error counts on each edge, and the edge table.

The layout is the longest-path layering of a directed graph: a service's column is one more
than its furthest caller's, so a request reads left to right. Cycles (a callback from a
callee) are broken by capping the column at the number of services. No Streamlit here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from console.ui.charts import plotly_text as text
from console.ui.data.traces import ERROR_COLOUR

VIRTUAL = "virtual_node"  # an uninstrumented peer named by a leaf client span: drawn dashed
EDGE_COLOUR = "#78909c"
NODE_COLOUR = "#b0bec5"  # neutral fill: red is kept for errors (the ring of a service that failed calls)


def layers(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Column per service: 0 for services nobody calls, else one more than the furthest caller."""
    column = dict.fromkeys(nodes, 0)
    for caller, callee in edges:
        column.setdefault(caller, 0)
        column.setdefault(callee, 0)
    cap = len(column)
    for _ in range(cap):  # Bellman-Ford style: settles in at most len(column) rounds without cycles
        changed = False
        for caller, callee in edges:
            if caller != callee and column[caller] + 1 > column[callee] and column[caller] + 1 < cap:
                column[callee] = column[caller] + 1
                changed = True
        if not changed:
            break
    return column


def positions(column: Mapping[str, int]) -> dict[str, tuple[float, float]]:
    """(x, y) per service: x its column, services of a column spread evenly around y = 0, by name."""
    by_column: dict[int, list[str]] = {}
    for name, col in column.items():
        by_column.setdefault(col, []).append(name)
    placed: dict[str, tuple[float, float]] = {}
    for col, names in by_column.items():
        names.sort()
        middle = (len(names) - 1) / 2
        for n, name in enumerate(names):
            placed[name] = (float(col), middle - n)
    return placed


def edge_label(edge: Mapping[str, Any]) -> str:
    return f"{edge['calls']} calls · {edge['errors']} errors"


def _p95(latency: Mapping[str, Any] | None) -> float | None:
    return None if not latency else latency.get("p95")


def edge_rows(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per edge: the API's calls, errors, error % and p95 latencies (client and server side)."""
    return [
        {
            "caller": e["caller"],
            "callee": e["callee"],
            "type": e["connection_type"],
            "calls": e["calls"],
            "errors": e["errors"],
            "error %": None if e.get("error_rate") is None else round(float(e["error_rate"]) * 100, 2),
            "client p95 ms": _p95(e.get("client_latency_ms")),
            "server p95 ms": _p95(e.get("server_latency_ms")),
        }
        for e in answer["edges"]
    ]


def dependency_figure(answer: Mapping[str, Any]) -> go.Figure:
    """Nodes as markers, an edge per caller → callee as a line (dashed to a virtual node) with an arrow
    and its counts written at its middle; hover shows the counts and latencies."""
    nodes = answer["nodes"]
    edges = answer["edges"]
    place = positions(layers([n["name"] for n in nodes], [(e["caller"], e["callee"]) for e in edges]))
    figure = go.Figure()
    for edge in edges:
        (x0, y0), (x1, y1) = place[edge["caller"]], place[edge["callee"]]
        name = f"{edge['caller']} → {edge['callee']}"
        hover = text(
            f"{name}: {edge_label(edge)}, p95 client {_p95(edge.get('client_latency_ms'))} ms,"
            f" server {_p95(edge.get('server_latency_ms'))} ms"
        )
        figure.add_trace(
            go.Scatter(
                # The counts sit a third of the way along, clear of the arrow drawn on the second half.
                x=[x0, x0 + (x1 - x0) / 3, x1],
                y=[y0, y0 + (y1 - y0) / 3, y1],
                mode="lines+text",
                text=["", text(edge_label(edge)), ""],
                textposition="top center",
                name=text(name),
                customdata=[[edge["caller"], edge["callee"], edge["calls"], edge["errors"]]] * 3,
                line={
                    "color": ERROR_COLOUR if edge["errors"] else EDGE_COLOUR,
                    "dash": "dash" if edge["connection_type"] == VIRTUAL else "solid",
                    "width": 2,
                },
                hovertemplate=f"{hover}<extra></extra>",
                showlegend=False,
            )
        )
        figure.add_annotation(
            x=x1, y=y1, ax=(x0 + x1) / 2, ay=(y0 + y1) / 2, xref="x", yref="y", axref="x", ayref="y",
            showarrow=True, arrowhead=3, arrowsize=1.5, standoff=14, text="",
        )  # fmt: skip
    names = [n["name"] for n in nodes]
    figure.add_trace(
        go.Scatter(
            x=[place[n][0] for n in names],
            y=[place[n][1] for n in names],
            mode="markers+text",
            text=[text(n) for n in names],
            textposition="bottom center",
            customdata=[[n["calls_in"], n["errors_in"], n["calls_out"], n["errors_out"]] for n in nodes],
            marker={
                "size": 28,
                "color": NODE_COLOUR,
                "symbol": ["square" if n.get("virtual") else "circle" for n in nodes],
                "line": {
                    "width": 2,
                    "color": [ERROR_COLOUR if n["errors_in"] else EDGE_COLOUR for n in nodes],
                },
            },
            name="services",
            hovertemplate="%{text}<br>in: %{customdata[0]} calls, %{customdata[1]} errors"
            "<br>out: %{customdata[2]} calls, %{customdata[3]} errors<extra></extra>",
            showlegend=False,
        )
    )
    columns = max((x for x, _ in place.values()), default=0.0)
    figure.update_layout(
        height=max(
            300,
            140
            * max((sum(1 for x, _ in place.values() if x == c) for c in range(int(columns) + 1)), default=1),
        ),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"visible": False, "range": [-0.5, columns + 0.5]},
        yaxis={"visible": False},
    )
    return figure
