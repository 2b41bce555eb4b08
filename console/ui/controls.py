"""The controls every page shares: time range (quick or typed, relative or absolute), auto-refresh with pause.

Drawn in the sidebar by :func:`shared_controls`, bound to the page state's ``from``, ``to``
and ``refresh`` (so they are in the URL); pause is per session. Typing ``now-6h`` or an
ISO time or epoch milliseconds works in either box, as in Grafana. The resolved window is
computed per run (and per refresh of a fragment) by :meth:`Controls.window`.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from console.ui.page_state import PageState
from console.ui.safe import plain, problem_lines
from console.ui.session import REFRESH_KEY, now_ms, server_url
from console.ui.time_range import QUICK_RANGES, REFRESH_INTERVALS, TimeRange, describe, parse_refresh
from console.ui.url_state import time_window

CUSTOM = "Custom range"
_PAUSED = "wf.paused"


@dataclass(frozen=True)
class Controls:
    """What the shared controls say for this run."""

    state: PageState
    refresh_s: int | None  # None: off or paused
    paused: bool = False  # the sidebar's pause (live views stop too)

    def window(self) -> tuple[int, int]:
        """(start_ms, end_ms) of the chosen range against the clock (rounded to the refresh interval)."""
        (start, end), _ = time_window(self.state.values, now_ms(self.refresh_s))
        return start, end

    @property
    def time_range(self) -> TimeRange:
        return TimeRange(self.state["from"], self.state["to"])


def _quick_label(state: PageState) -> str:
    for quick in QUICK_RANGES:
        if (quick.raw_from, quick.raw_to) == (state["from"], state["to"]):
            return quick.label
    return CUSTOM


def _apply_quick(state: PageState, key: str) -> None:
    for quick in QUICK_RANGES:
        if quick.label == st.session_state[key]:
            st.session_state[state.key("from")] = quick.raw_from
            st.session_state[state.key("to")] = quick.raw_to


def shared_controls(state: PageState) -> Controls:
    """Draw the sidebar controls and report problems in the URL or the typed range."""
    sidebar = st.sidebar
    quick_key = f"wf.{state.page}.quick"
    st.session_state[quick_key] = _quick_label(state)
    sidebar.selectbox(
        "Time range",
        [q.label for q in QUICK_RANGES] + [CUSTOM],
        key=quick_key,
        on_change=_apply_quick,
        args=(state, quick_key),
    )
    left, right = sidebar.columns(2)
    left.text_input("From", key=state.key("from"), help="now-6h, now/d, 2026-11-24T10:00:00Z, epoch ms")
    right.text_input("To", key=state.key("to"), help="now, now-1d/d, an ISO time or epoch ms")
    left, right = sidebar.columns([1, 1], vertical_alignment="bottom")
    left.selectbox("Auto-refresh", REFRESH_INTERVALS, key=state.key("refresh"))
    paused = right.toggle("Pause", key=_PAUSED, help="Stop refreshing while you look")
    _, range_problems = time_window(state.values, now_ms(None))
    problems = state.problems + range_problems
    if problems:
        st.warning(problem_lines(problems), icon=":material/warning:")
    sidebar.caption(plain(describe(TimeRange(state["from"], state["to"]))) if not range_problems else "")
    sidebar.caption(f"Server {plain(server_url())}")
    refresh = None if paused else parse_refresh(state["refresh"])
    st.session_state[REFRESH_KEY] = refresh
    return Controls(state, refresh, paused)
