"""The Logs page's reads and shaping: bounded pages, level filters, the volume histogram, a line's context.

No Streamlit here: every read goes through a ``read_logs(**params)`` callable (the page's
cached ``fetch("logs", …)``; ``None`` when the server refused, already shown), so the
walks are testable with a fake. ``/api/v1/logs`` answers newest first, ``limit`` at most
1,000, with ``next_cursor`` = ``<timestamp_ns>:<seq>`` of a full page's last record (the
next page is what is strictly older). The API takes one ``level``; several chosen levels
are filtered here over a bounded number of reads. Records carry no ``seq``, so a line is
named (``around``) by the cursor a one-record read ending at it answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go

from console.ui.charts import layout
from console.ui.time_range import step_for

ReadLogs = Callable[..., Mapping[str, Any] | None]
LEVELS = ("trace", "debug", "info", "warn", "error", "fatal")
LEVEL_COLOURS = {"trace": "#9e9e9e", "debug": "#78909c", "info": "#1e88e5", "warn": "#f9a825",
                 "error": "#e53935", "fatal": "#8e24aa"}  # fmt: skip
PAGE_ROWS = 100  # lines per page of results
MAX_READS = 5  # server pages read to fill one page when several levels are filtered here
VOLUME_CAP = 5_000  # records read for the histogram (no server-side count exists)
VOLUME_PAGE = 1_000  # the API's largest page
HISTOGRAM_BARS = 60
CONTEXT_LINES = 10
# Widening ranges after a line for the lines that follow it (the API only reads newest first).
AFTER_RANGES_MS = (10_000, 60_000, 600_000, 3_600_000)
AFTER_PAGE = 500


@dataclass(frozen=True)
class Line:
    """A record, and where it came from: the cursor of its server page and its position there."""

    record: Mapping[str, Any]
    page_cursor: str | None
    position: int


@dataclass
class Page:
    lines: list[Line] = field(default_factory=list)
    next_cursor: str | None = None
    reads: int = 0


def level_params(levels: Sequence[str]) -> dict[str, str]:
    """The server filters by one level; for several the page filters (see :func:`read_page`)."""
    return {"level": levels[0]} if len(levels) == 1 else {}


def _wanted(levels: Sequence[str]) -> Callable[[Mapping[str, Any]], bool]:
    chosen = {level.lower() for level in levels}
    if len(chosen) < 2:
        return lambda record: True
    return lambda record: str(record.get("level", "")).lower() in chosen


def read_page(
    read_logs: ReadLogs,
    levels: Sequence[str],
    cursor: str | None,
    *,
    rows: int = PAGE_ROWS,
    max_reads: int = MAX_READS,
) -> Page | None:
    """Up to ``rows`` lines older than ``cursor`` (server pages until filled or ``max_reads``).

    ``next_cursor`` is the last server page's, so the next page starts exactly where this
    one's reads stopped, even when the level filter kept only some of their records.
    """
    wanted, page = _wanted(levels), Page(next_cursor=cursor)
    while page.reads < max_reads and len(page.lines) < rows:
        answer = read_logs(**level_params(levels), cursor=page.next_cursor, limit=rows)
        if answer is None:
            return None
        page.lines += [
            Line(record, page.next_cursor, n) for n, record in enumerate(answer["logs"]) if wanted(record)
        ]
        page.reads += 1
        page.next_cursor = answer["next_cursor"]
        if page.next_cursor is None:
            break
    return page


def cursor_of(read_logs: ReadLogs, line: Line, levels: Sequence[str]) -> str | None:
    """``<timestamp_ns>:<seq>`` of a line: the cursor a read ending exactly at it answers."""
    answer = read_logs(**level_params(levels), cursor=line.page_cursor, limit=line.position + 1)
    if not answer or not answer["next_cursor"] or not answer["logs"]:
        return None
    last = answer["logs"][-1]
    same = last["timestamp_ns"] == line.record["timestamp_ns"] and last["message"] == line.record["message"]
    return str(answer["next_cursor"]) if same else None


def parse_around(text: str) -> tuple[int, int] | None:
    timestamp, _, seq = text.partition(":")
    if not (timestamp.isascii() and timestamp.isdigit() and seq.isascii() and seq.isdigit()):
        return None
    return int(timestamp), int(seq)


def read_volume(read_logs: ReadLogs, levels: Sequence[str], cap: int = VOLUME_CAP) -> tuple[list[Any], bool]:
    """The newest records (levels filtered) of at most ``cap`` read, and whether older ones were left.

    One record past the cap is asked for, so a range holding exactly ``cap`` is not called capped.
    """
    records: list[Any] = []
    cursor, wanted, read = None, _wanted(levels), 0
    while read <= cap:
        answer = read_logs(**level_params(levels), cursor=cursor, limit=min(VOLUME_PAGE, cap + 1 - read))
        if answer is None:
            return records, False
        batch = answer["logs"][: cap - read]
        records += [r for r in batch if wanted(r)]
        read += len(answer["logs"])
        cursor = answer["next_cursor"]
        if cursor is None:
            return records, read > cap
    return records, True


def volume(
    records: Sequence[Mapping[str, Any]], start_ms: int, end_ms: int, step_ms: int
) -> dict[str, list[int]]:
    """Records per level per step over ``[start, end)``, the first step aligned down to the step."""
    first = start_ms // step_ms * step_ms
    steps = max(1, -(-(end_ms - first) // step_ms))
    counts: Counter[tuple[str, int]] = Counter()
    for record in records:
        at_ms = record["timestamp_ns"] // 1_000_000
        if start_ms <= at_ms < end_ms:
            counts[(str(record["level"]).lower(), (at_ms - first) // step_ms)] += 1
    ordered = sorted(
        {level for level, _ in counts}, key=lambda v: (LEVELS.index(v) if v in LEVELS else 99, v)
    )
    return {level: [counts[(level, i)] for i in range(steps)] for level in ordered}


def volume_figure(
    records: Sequence[Mapping[str, Any]], start_ms: int, end_ms: int, unread_before_ms: int | None = None
) -> tuple[go.Figure, int, dict[str, list[int]]]:
    """A stacked bar per step and level (and the step, the counts drawn); ``unread_before_ms``
    shades the part of the range the bounded read did not reach."""
    step_ms = step_for(start_ms, end_ms, max_points=HISTOGRAM_BARS)
    counts = volume(records, start_ms, end_ms, step_ms)
    first = start_ms // step_ms * step_ms
    figure = go.Figure()
    for level, per_step in counts.items():
        figure.add_trace(
            go.Bar(
                x=[_time(first + i * step_ms + step_ms / 2) for i in range(len(per_step))],
                y=per_step,
                name=level,
                marker_color=LEVEL_COLOURS.get(level),
                hovertemplate=f"%{{y}} {level}<extra></extra>",
            )
        )
    figure.update_layout(barmode="stack", bargap=0.1, xaxis={"range": [_time(start_ms), _time(end_ms)]})
    if unread_before_ms is not None and unread_before_ms > start_ms:
        figure.add_vrect(
            x0=_time(start_ms),
            x1=_time(unread_before_ms),
            fillcolor="#9e9e9e",
            opacity=0.2,
            line_width=0,
            annotation_text="not counted",
            annotation_position="top left",
        )
    layout(figure, unit="lines", height=200)
    # The legend above the bars: below them it would sit on the axis' date labels at this height.
    figure.update_layout(
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        margin={"t": 24},
    )
    return figure, step_ms, counts


def _time(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def older_lines(read_logs: ReadLogs, anchor: tuple[int, int], service: str, count: int) -> list[Any]:
    """The ``count`` lines of ``service`` just before the anchor, oldest first (exact: by cursor)."""
    answer = read_logs(service=service, cursor=f"{anchor[0]}:{anchor[1]}", limit=count)
    return [] if answer is None else list(reversed(answer["logs"]))


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("timestamp_ns", "message", "trace_id", "span_id", "level"))


def newer_lines(
    read_logs: ReadLogs, anchor: Mapping[str, Any], count: int, until_ms: int
) -> tuple[list[Any], bool]:
    """The ``count`` lines of the anchor's service just after it, oldest first; and whether complete.

    Reads newest first over widening ranges starting at the anchor's millisecond, down to
    the anchor itself (found by its content); what came before it is newer. A range too
    busy to reach the anchor in two pages keeps the last answer (``False``: maybe fewer);
    no range goes on past ``until_ms`` (now) once one reached it.
    """
    start_ms = anchor["timestamp_ns"] // 1_000_000
    found: list[Any] = []
    for span_ms in AFTER_RANGES_MS:
        walked: list[Any] = []
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
            walked += answer["logs"]
            cursor = answer["next_cursor"]
            if cursor is None or any(_same(r, anchor) for r in answer["logs"]):
                break
        at = next((n for n, r in enumerate(walked) if _same(r, anchor)), None)
        if at is None:
            return found, cursor is None
        found = list(reversed(walked[:at]))[:count]
        if len(found) >= count or start_ms + span_ms >= until_ms:
            return found, True  # enough, or nothing can follow past ``until_ms`` (now)
    return found, True


def is_trace_id(text: Any) -> bool:
    return isinstance(text, str) and len(text) == 32 and all(c in "0123456789abcdefABCDEF" for c in text)


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
