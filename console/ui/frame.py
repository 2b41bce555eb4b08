"""What every page does first and often: its state and controls, reading the API, linking onward.

``controls = start(PAGE)`` opens the page's state, draws the shared controls and the title;
``fetch("slos")`` reads through the cache and, when the server refuses or cannot be
reached, shows why (as text) and gives ``None``; ``jump(PAGE, "label", field=value)`` draws
a one-click link to another page carrying the current time range.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from console.ui.controls import Controls, shared_controls
from console.ui.page_state import open_page
from console.ui.pages import OVERVIEW, PageSpec, link_params
from console.ui.safe import plain
from console.ui.session import ApiError, ServerUnreachable, read

_CARRIED = ("from", "to", "refresh")


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


def link_state(controls: Controls, **state: Any) -> dict[str, Any]:
    """``state`` plus the current time range and refresh, for a link to another page."""
    return {**{k: controls.state[k] for k in _CARRIED}, **state}


def jump(controls: Controls, page: PageSpec, label: str, *, icon: str | None = None, **state: Any) -> None:
    """A link to ``page`` opened with ``state`` and this page's time range (one click)."""
    st.page_link(
        page.script,
        label=plain(label),
        icon=icon or page.icon,
        query_params=link_params(page, **link_state(controls, **state)),
    )


def url_of(controls: Controls, page: PageSpec, **state: Any) -> str:
    """A relative URL of ``page`` with ``state`` (for link columns in tables)."""
    from urllib.parse import quote, urlencode

    params = link_params(page, **link_state(controls, **state))
    pairs = [(k, v) for k, vs in params.items() for v in ([vs] if isinstance(vs, str) else vs)]
    query = urlencode(pairs, quote_via=quote, safe="/:")
    path = "/" if page is OVERVIEW else f"/{page.url_path}"  # Streamlit serves the default page at /
    return path + (f"?{query}" if query else "")
