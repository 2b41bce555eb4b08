"""The Logs page's shaping: the volume histogram of the server's counts, a line's context, table rows.

No Streamlit here: the context reads go through a ``read_logs(**params)`` callable (the page's
cached ``fetch("logs", …)``; ``None`` when the server refused, already shown), so they are
testable with a fake. Each record of ``/api/v1/logs`` carries its own ``cursor``
(``<timestamp_ns>:<seq>``, which names the line: the page's ``around``); reading with
``cursor=`` gives the records strictly older than it, newest first, and with ``after=`` the
ones strictly newer, oldest first — one read for each side of a picked line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go

from console.ui.charts import layout
from console.ui.pages import is_trace_id

ReadLogs = Callable[..., Mapping[str, Any] | None]
LEVELS = ("trace", "debug", "info", "warn", "error", "fatal")
LEVEL_COLOURS = {"trace": "#9e9e9e", "debug": "#78909c", "info": "#1e88e5", "warn": "#f9a825",
                 "error": "#e53935", "fatal": "#8e24aa"}  # fmt: skip
PAGE_ROWS = 100  # lines per page of results
CONTEXT_LINES = 10
_UNITS_MS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000))


def duration_text(ms: int) -> str:
    """A histogram step for its caption: whole seconds in the largest unit that divides them."""
    unit, size = next((u, s) for u, s in _UNITS_MS if ms % s == 0 or u == "s")
    return f"{ms // size}{unit}"


def _level_order(level: str) -> tuple[int, str]:
    return (LEVELS.index(level) if level in LEVELS else len(LEVELS), level)


def histogram_figure(answer: Mapping[str, Any]) -> go.Figure:
    """A stacked bar per bucket and level of ``/api/v1/logs/histogram``'s counts, as counted there.

    ``times`` are the buckets' ends (a bucket holds (end - step, end]); each bar sits at its
    bucket's middle. Levels stack by severity, the quiet ones at the bottom.
    """
    step_ms = int(answer["step"])
    middles = [_time(end - step_ms / 2) for end in answer["times"]]
    figure = go.Figure()
    for level in sorted(answer["levels"], key=_level_order):
        figure.add_trace(
            go.Bar(
                x=middles,
                y=list(answer["levels"][level]),
                name=level,
                marker_color=LEVEL_COLOURS.get(level),
                hovertemplate=f"%{{y}} {level}<extra></extra>",
            )
        )
    figure.update_layout(
        barmode="stack", bargap=0.1, xaxis={"range": [_time(answer["start"]), _time(answer["end"])]}
    )
    layout(figure, unit="lines", height=200)
    # The legend above the bars: below them it would sit on the axis' date labels at this height.
    figure.update_layout(
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        margin={"t": 24},
    )
    return figure


def _time(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def parse_around(text: str) -> tuple[int, int] | None:
    """A line's position ``(timestamp_ns, seq)`` from its cursor, or None for anything else."""
    timestamp, _, seq = text.partition(":")
    if not (timestamp.isascii() and timestamp.isdigit() and seq.isascii() and seq.isdigit()):
        return None
    return int(timestamp), int(seq)


def anchor_read(around: tuple[int, int]) -> str:
    """The cursor whose one-record read answers exactly the line at ``around`` (if still stored)."""
    return f"{around[0]}:{around[1] + 1}"


def older_lines(read_logs: ReadLogs, around: tuple[int, int], service: str, count: int) -> list[Any]:
    """The ``count`` lines of ``service`` just before the line at ``around``, oldest first."""
    answer = read_logs(service=service, cursor=f"{around[0]}:{around[1]}", limit=count)
    return [] if answer is None else list(reversed(answer["logs"]))


def newer_lines(read_logs: ReadLogs, around: tuple[int, int], service: str, count: int) -> list[Any]:
    """The ``count`` lines of ``service`` just after the line at ``around``, oldest first.

    One forward read: ``after=`` answers the records strictly newer in (timestamp_ns, seq)
    order, so lines stamped the same instant but logged after it (a higher seq) are included,
    and the ones logged before it are not.
    """
    answer = read_logs(service=service, after=f"{around[0]}:{around[1]}", limit=count)
    return [] if answer is None else list(answer["logs"])


def line_rows(records: Sequence[Mapping[str, Any]], link_of: Callable[[str], str]) -> list[dict[str, Any]]:
    """Table rows: the message exactly as logged, and a link to the trace when the line has one."""
    return [
        {
            "time_ns": r["timestamp_ns"],
            "level": r["level"],
            "service": r["service"],
            "message": r["message"],
            "trace": link_of(r["trace_id"]) if is_trace_id(r.get("trace_id")) else None,
            "trace_id": r.get("trace_id") or "",
        }
        for r in records
    ]
