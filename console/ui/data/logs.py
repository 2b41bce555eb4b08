"""The Logs page's shaping: the volume histogram of the server's counts, a line's context, table rows.

No Streamlit here: the context reads go through a ``read_logs(**params)`` callable (the page's
cached ``fetch("logs", …)``; ``None`` when the server refused, already shown), so they are
testable with a fake. ``/api/v1/logs`` answers newest first; each record carries its own
``cursor`` (``<timestamp_ns>:<seq>``, which names the line: the page's ``around``), and reading
with ``cursor=`` gives the records strictly older than it. There is no ascending read, so the
lines after a picked one are found by reading newest first down to it (:func:`newer_lines`).
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
# Widening ranges after a line for the lines that follow it (the API only reads newest first).
AFTER_RANGES_MS = (10_000, 60_000, 600_000, 3_600_000)
AFTER_PAGE = 500
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


def _position(record: Mapping[str, Any]) -> tuple[int, int]:
    """Where a record sits in the server's order: its cursor's ``(timestamp_ns, seq)``."""
    timestamp, _, seq = str(record["cursor"]).partition(":")
    return int(timestamp), int(seq)


def anchor_read(around: tuple[int, int]) -> str:
    """The cursor whose one-record read answers exactly the line at ``around`` (if still stored)."""
    return f"{around[0]}:{around[1] + 1}"


def older_lines(read_logs: ReadLogs, around: tuple[int, int], service: str, count: int) -> list[Any]:
    """The ``count`` lines of ``service`` just before the line at ``around``, oldest first."""
    answer = read_logs(service=service, cursor=f"{around[0]}:{around[1]}", limit=count)
    return [] if answer is None else list(reversed(answer["logs"]))


def newer_lines(
    read_logs: ReadLogs, anchor: Mapping[str, Any], count: int, until_ms: int
) -> tuple[list[Any], bool]:
    """The ``count`` lines of the anchor's service just after it, oldest first; and whether complete.

    Reads newest first over widening ranges starting at the anchor's millisecond until a record
    at or before the anchor's position (its cursor) shows up: the ones above it are newer. A
    range too busy to get there in two pages keeps the last range's lines (``False``: maybe
    fewer); no range goes on past ``until_ms`` (now) once one reached it.
    """
    at = _position(anchor)
    start_ms = anchor["timestamp_ns"] // 1_000_000
    found: list[Any] = []
    for span_ms in AFTER_RANGES_MS:
        newer: list[Any] = []
        cursor: str | None = None
        for _ in range(2):
            answer = read_logs(
                service=anchor["service"],
                start=start_ms,
                end=start_ms + span_ms,
                cursor=cursor,
                limit=AFTER_PAGE,
            )
            if answer is None:
                return found, False
            records = answer["logs"]
            newer += [r for r in records if _position(r) > at]
            cursor = answer["next_cursor"]
            if cursor is None or any(_position(r) <= at for r in records):
                break
        else:
            return found, False  # the range holds more lines after the anchor than were read
        found = list(reversed(newer))[:count]
        if len(found) >= count or start_ms + span_ms >= until_ms:
            return found, True  # enough, or nothing can follow past ``until_ms`` (now)
    return found, True


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
