"""The console's one connection to the server, and its read cache.

The server URL and the write token come from the console's environment
(``WATCHFLOOR_SERVER_URL``, ``WATCHFLOOR_API_TOKEN``); the token is used only by the client
for writes, never shown. Reads go through :func:`read`, cached with ``st.cache_data``:
every cache key holds ``now`` rounded down to the refresh interval (:func:`now_ms`; pages
resolve their time windows against the same rounded clock), so a rerun inside one interval
is served from the cache and the next interval asks the server again — for reads with a
time range and without one alike. The TTL is the longest refresh interval,
never shorter than the one in use. A write clears the cache so the next read sees it.
"""

from __future__ import annotations

import os
import time
from typing import Any

import streamlit as st

from console.settings import API_TOKEN_ENV, SERVER_URL_ENV
from console.ui.api_client import WatchfloorClient
from console.ui.api_errors import ApiError, ServerUnreachable

TOKEN_ENV = API_TOKEN_ENV
DEFAULT_SERVER_URL = "http://127.0.0.1:7070"
CACHE_TTL_S = 15 * 60  # the longest refresh interval offered (time_range.REFRESH_INTERVALS)
DEFAULT_BUCKET_S = 10  # "now" moves in these steps when auto-refresh is off
REFRESH_KEY = "wf.refresh_s"  # the shared controls put the refresh interval in use here

__all__ = ["ApiError", "ServerUnreachable", "client", "now_ms", "read", "reset", "server_url", "write"]


def server_url() -> str:
    return os.environ.get(SERVER_URL_ENV, DEFAULT_SERVER_URL)


_OPEN: list[WatchfloorClient] = []


@st.cache_resource(show_spinner=False)
def _client(base_url: str, has_token: bool) -> WatchfloorClient:
    # The token is read here rather than passed, so it never becomes part of a cache key.
    made = WatchfloorClient(base_url, token=os.environ.get(TOKEN_ENV) if has_token else None)
    _OPEN.append(made)
    return made


def reset() -> None:
    """Close every client and forget every cached answer (a new server or token; tests)."""
    st.cache_data.clear()
    _client.clear()
    while _OPEN:
        _OPEN.pop().close()


def client() -> WatchfloorClient:
    """The shared client for this server (one connection pool per console process)."""
    return _client(server_url(), bool(os.environ.get(TOKEN_ENV)))


@st.cache_data(ttl=CACHE_TTL_S, max_entries=2_000, show_spinner=False)
def _cached(base_url: str, bucket_ms: int, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    del base_url, bucket_ms  # part of the key only: per server, and fresh each refresh interval
    return getattr(client(), method)(*args, **kwargs)


def read(method: str, *args: Any, **kwargs: Any) -> Any:
    """``client().<method>(*args, **kwargs)``, cached within the current refresh interval
    (also reads with no time range, such as the SLO list); raises ApiError / ServerUnreachable."""
    return _cached(server_url(), now_ms(st.session_state.get(REFRESH_KEY)), method, args, kwargs)


def write(method: str, *args: Any, **kwargs: Any) -> Any:
    """A write through the client (never cached); every cached read is dropped after it."""
    try:
        return getattr(client(), method)(*args, **kwargs)
    finally:
        st.cache_data.clear()


def now_ms(refresh_s: int | None) -> int:
    """The clock rounded down to the refresh interval: the same within one, for the cache."""
    bucket_ms = (refresh_s or DEFAULT_BUCKET_S) * 1000
    return int(time.time() * 1000) // bucket_ms * bucket_ms
