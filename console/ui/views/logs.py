"""Logs (Kibana-like): a message search with service, level and trace filters, a volume histogram,
paged results newest first, the context of a picked line, a pausable live tail; each line links
to its trace. Messages are shown only in tables, never as Markdown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from console.ui.changes import changes_near
from console.ui.data.logs import (
    CONTEXT_LINES,
    LEVELS,
    PAGE_ROWS,
    anchor_read,
    duration_text,
    histogram_figure,
    line_rows,
    newer_lines,
    older_lines,
    parse_around,
)
from console.ui.frame import fetch, peek, start, url_of
from console.ui.pages import LOGS, TRACES, is_trace_id
from console.ui.safe import plain
from console.ui.session import now_ms

PAGES_KEY = "logs.pages"  # {"query": what the pages belong to, "cursors": [None, older cursors…]}
NEXT_KEY = "logs.next"  # the shown page's next_cursor, for the "Older" button
PICKED_KEY = "logs.picked"  # the table selection already turned into ``around``
TRACE_TYPED = "logs.trace_typed"  # a typed trace id the field refused, to say why
LIVE_EVERY_S = 2
LIVE_ROWS = 50
LIVE_SLACK_MS = 60_000  # lines stamped a little ahead of this machine's clock still show live
ANCHOR_STYLE = "background-color: rgba(249, 168, 37, 0.25)"  # the picked line in its context

controls = start(LOGS)
state = controls.state


def _check_trace() -> None:
    typed = st.session_state.get(state.key("trace"), "")
    st.session_state[TRACE_TYPED] = typed if typed and not is_trace_id(typed) else ""


def _close_context() -> None:
    st.session_state[state.key("around")] = ""


services = fetch("services")
names = sorted(s["name"] for s in services["services"]) if services else []
if state["service"] and state["service"] not in names:
    names.append(state["service"])  # a service that logs without sending spans
level_choices = list(LEVELS) + [v for v in state["level"] if v not in LEVELS]

boxes = st.columns([3, 2, 2, 3])
boxes[0].text_input("Message contains", key=state.key("q"), placeholder="text in the message")
boxes[1].selectbox(
    "Service", ["", *names], key=state.key("service"), format_func=lambda s: s or "All services"
)
boxes[2].multiselect("Level", level_choices, key=state.key("level"), placeholder="All levels")
boxes[3].text_input("Trace id", key=state.key("trace"), on_change=_check_trace, help="32 hexadecimal digits")
if st.session_state.get(TRACE_TYPED):
    st.warning(plain(f"Trace id: {st.session_state[TRACE_TYPED]!r} is not a trace id (32 hex digits)"))
st.toggle(
    "Live tail", key=state.key("live"), help="The newest lines, every 2 s; Pause in the sidebar stops it"
)

levels: list[str] = list(state["level"])
filters = {
    k: v
    for k, v in (("service", state["service"]), ("trace_id", state["trace"].lower()), ("q", state["q"]))
    if v
}
COLUMNS = {
    "time": st.column_config.DatetimeColumn("time", format="YYYY-MM-DD HH:mm:ss.SSS"),
    "message": st.column_config.TextColumn("message", width="large"),
    "trace": st.column_config.LinkColumn("trace", display_text=r"trace=([0-9a-fA-F]{32})"),
}


def _trace_link(trace_id: str) -> str:
    return url_of(controls, TRACES, trace=trace_id.lower())


def _frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        line_rows(records, _trace_link),
        columns=["time_ns", "level", "service", "message", "trace", "trace_id"],
    )
    frame.insert(0, "time", pd.to_datetime(frame.pop("time_ns"), unit="ns", utc=True))
    return frame.drop(columns=["trace_id"])


def _pages() -> list[str | None]:
    """The cursors of the pages walked so far for these filters and this range (a new search: page 1)."""
    query = repr((sorted(filters.items()), levels, state["from"], state["to"]))
    pages = st.session_state.get(PAGES_KEY)
    if not pages or pages["query"] != query:
        pages = {"query": query, "cursors": [None]}
        st.session_state[PAGES_KEY] = pages
    cursors: list[str | None] = pages["cursors"]
    return cursors


def _older() -> None:
    if st.session_state.get(NEXT_KEY):
        st.session_state[PAGES_KEY]["cursors"].append(st.session_state[NEXT_KEY])


def _newer(to_newest: bool) -> None:
    cursors = st.session_state[PAGES_KEY]["cursors"]
    del cursors[1 if to_newest else max(1, len(cursors) - 1) :]


def _context(around: tuple[int, int]) -> None:
    """The lines just before and after a line in its own service, whatever the filters say."""
    found = fetch("logs", cursor=anchor_read(around), limit=1)
    if found is None:
        return
    anchor = found["logs"][0] if found["logs"] else None
    with st.container(border=True):
        if anchor is None or parse_around(anchor["cursor"]) != around:
            st.warning("The picked line is no longer in the store.")
        else:
            service = anchor["service"]
            read = partial(fetch, "logs")
            before = older_lines(read, around, service, CONTEXT_LINES)
            after = newer_lines(read, around, service, CONTEXT_LINES)
            st.subheader(f"Context in {plain(service)}")
            st.caption(
                f"The {len(before)} lines before and {len(after)} after the picked one (▶) in the same "
                "service, whatever the filters above say."
            )
            frame = _frame([*before, anchor, *after])
            frame.insert(0, "", [""] * len(before) + ["▶"] + [""] * len(after))
            marked = frame.style.apply(
                lambda row: [ANCHOR_STYLE if row[""] else ""] * len(row), axis="columns"
            )
            # Tall enough for every line: the picked one sits in the middle, never below a scroll.
            st.dataframe(
                marked,
                hide_index=True,
                column_config=COLUMNS,
                height=35 * (len(frame) + 1) + 3,
                key="logs.context",
            )
        st.button("Close context", key="logs.close_context", on_click=_close_context)


def _changes(records: Sequence[Mapping[str, Any]]) -> None:
    """The last hop of a chase: what changed just before these lines in their services — for a
    trace's lines, in every service of the trace (the one that logged may not be the one changed)."""
    services = {str(r["service"]) for r in records}
    at_ms = int(records[0]["timestamp_ns"]) // 1_000_000
    # A trace whose spans are not here (logs only, or expired) leaves the logged services.
    trace = peek("trace", state["trace"].lower()) if is_trace_id(state["trace"]) else None
    if trace is not None:
        services |= set(trace["summary"]["services"])
        at_ms = int(trace["summary"]["start_ns"]) // 1_000_000
    changes_near(controls, sorted(services), at_ms)


@st.fragment(run_every=controls.refresh_s)
def search() -> None:
    start_ms, end_ms = controls.window()
    # No step: the server picks about 100 round buckets for the range (Kibana's auto interval).
    counts = fetch("log_histogram", **filters, level=levels, start=start_ms, end=end_ms)
    if counts is not None:
        st.plotly_chart(histogram_figure(counts), theme="streamlit", key="logs.volume")
        lines = sum(counts["total"])
        st.caption(f"{lines:,} lines in the range · {duration_text(counts['step'])} per bar")
    if state["live"]:
        return

    cursors = _pages()
    page = fetch(
        "logs", **filters, level=levels, start=start_ms, end=end_ms, cursor=cursors[-1], limit=PAGE_ROWS
    )
    if page is None:
        return
    records = page["logs"]
    st.session_state[NEXT_KEY] = page["next_cursor"]
    table_key = f"logs.lines.{len(cursors)}"
    event = st.dataframe(
        _frame(records),
        hide_index=True,
        column_config=COLUMNS,
        on_select="rerun",
        selection_mode="single-row",
        key=table_key,
    )
    picked = (table_key, list(event.selection.rows))
    if event.selection.rows and st.session_state.get(PICKED_KEY) != picked:
        st.session_state[PICKED_KEY] = picked
        state.update(around=records[event.selection.rows[0]]["cursor"])  # a line's cursor names it
        st.rerun()  # the whole page, so the context shows
    if records and (state["trace"] or state["service"]):
        _changes(records)
    shown = f"Page {len(cursors)} · {len(records)} lines, newest first"
    st.caption(shown + (" · pick a line for its context" if records else ""))
    newest, newer, older = st.columns([1, 1, 6])
    newest.button("Newest", key="logs.newest", on_click=_newer, args=(True,), disabled=len(cursors) == 1)
    newer.button("Newer", key="logs.newer", on_click=_newer, args=(False,), disabled=len(cursors) == 1)
    older.button("Older", key="logs.older", on_click=_older, disabled=page["next_cursor"] is None)


@st.fragment(run_every=None if controls.paused else LIVE_EVERY_S)
def live_tail() -> None:
    # The end moves with the clock so each tick is a new (cached) read; no start: the newest lines.
    end_ms = now_ms(LIVE_EVERY_S) + LIVE_SLACK_MS
    page = fetch("logs", **filters, level=levels, end=end_ms, limit=LIVE_ROWS)
    if page is None:
        return
    st.subheader("Live tail")
    live = f"The newest {LIVE_ROWS} lines, every {LIVE_EVERY_S} s."
    st.caption("Paused (sidebar)." if controls.paused else live)
    st.dataframe(_frame(page["logs"]), hide_index=True, column_config=COLUMNS, key="logs.live")


if state["around"]:
    around = parse_around(state["around"])
    if around is None:
        st.warning("around: not a line position (timestamp_ns:seq); the context is not shown.")
    else:
        _context(around)
search()
if state["live"]:
    live_tail()
