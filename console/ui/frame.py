"""What every page does first and often: its state and controls, reading the API, linking onward.

``controls = start(PAGE)`` opens the page's state, draws the shared controls and the title;
``fetch("slos")`` reads through the cache and, when the server refuses or cannot be
reached, shows why (as text) and gives ``None``; ``jump(PAGE, "label", field=value)`` draws
a one-click link to another page carrying the current time range.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from console.ui.controls import Controls, shared_controls
from console.ui.page_state import PageState, open_page
from console.ui.pages import OVERVIEW, PageSpec, link_params
from console.ui.safe import plain
from console.ui.session import ApiError, ServerUnreachable, read
from console.ui.url_state import COMMON, Schema, link

_CARRIED = ("from", "to", "refresh")
_CLICKED = "wf.row_clicked"


def start(page: PageSpec) -> Controls:
    """Open ``page``'s state from the URL or the session, draw the sidebar controls and the title."""
    state = open_page(page.url_path, page.schema)
    controls = shared_controls(state)
    st.title(page.title)
    return controls


def failure(error: Exception) -> None:
    """Say what went wrong reading the server, with the problems it named, as plain text."""
    if isinstance(error, ServerUnreachable):
        st.error(plain(error), icon=":material/cloud_off:")
    elif isinstance(error, ApiError):
        named = "; ".join(f"{field}: {reason}" for field, reason in error.problems)
        st.error(
            plain(f"The server refused ({error.status}): {named or error.detail}"), icon=":material/error:"
        )
    else:
        raise error


def fetch(method: str, *args: Any, **kwargs: Any) -> Any:
    """A cached read; ``None`` (with the reason shown) when the server refuses or is away."""
    try:
        return read(method, *args, **kwargs)
    except (ApiError, ServerUnreachable) as error:
        failure(error)
        return None


def peek(method: str, *args: Any, **kwargs: Any) -> Any:
    """A cached read for something optional: ``None``, and nothing shown, when it cannot be had."""
    try:
        return read(method, *args, **kwargs)
    except (ApiError, ServerUnreachable):
        return None


def empty(frame: pd.DataFrame, text: str) -> bool:
    """Whether ``frame`` has no rows, saying ``text`` instead (an empty grid tells a person nothing)."""
    nothing = len(frame) == 0
    if nothing:
        st.caption(plain(text))
    return nothing


def coloured(
    frame: pd.DataFrame, column: str, colours: Mapping[str, str], *, fill: bool = True
) -> pd.io.formats.style.Styler:
    """``frame`` with each ``column`` cell in its value's colour: filled (a badge) or as bold text."""

    def style(value: Any) -> str:
        colour = colours.get(str(value))
        if not colour:
            return ""
        return f"background-color: {colour}; color: white" if fill else f"color: {colour}; font-weight: bold"

    return frame.style.map(style, subset=[column])


def open_row(state: PageState, field: str, table_key: str, ids: Sequence[str]) -> Callable[[], None]:
    """An ``on_select`` callback for the single-row table ``table_key`` whose rows show ``ids``:
    a click makes the row's id the page's ``field`` (the item opens, and the URL says so).

    A table inside a fragment reruns only the fragment, which cannot write the URL: call
    :func:`follow_clicks` at the fragment's top."""

    def picked() -> None:
        rows = st.session_state[table_key].selection.rows
        if rows and rows[0] < len(ids):
            # A callback runs before the script, so even a bound widget's key may be set here.
            st.session_state[state.key(field)] = ids[rows[0]]
            st.session_state[_CLICKED] = True

    return picked


def follow_clicks() -> None:
    """After a row click inside a fragment, run the whole page (it writes the URL and opens the row)."""
    if st.session_state.pop(_CLICKED, False):
        st.rerun()


def link_state(controls: Controls, **state: Any) -> dict[str, Any]:
    """``state`` plus the current time range and refresh, for a link to another page."""
    return {**{k: controls.state[k] for k in _CARRIED}, **state}


def jump(
    controls: Controls,
    page: PageSpec,
    label: str,
    *,
    icon: str | None = None,
    hint: str | None = None,  # shown on hover
    **state: Any,
) -> None:
    """A link to ``page`` opened with ``state`` and this page's time range (one click)."""
    st.page_link(
        page.script,
        label=plain(label),
        icon=icon or page.icon,
        help=None if hint is None else plain(hint),
        query_params=link_params(page, **link_state(controls, **state)),
    )


def url_of(controls: Controls, page: PageSpec, **state: Any) -> str:
    """A relative URL of ``page`` with ``state`` (for link columns in tables)."""
    path = "" if page is OVERVIEW else page.url_path  # Streamlit serves the default page at /
    return link(path, link_state(controls, **state), Schema.of(page.schema, COMMON))
