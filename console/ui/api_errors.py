"""The errors the console's API client raises, each with a short ``str()`` fit for a UI box.

- :class:`ApiError`: the server answered 4xx/5xx. Watchfloor's body is
  ``{"detail": "field: reason", "errors": [{"field", "reason"}]}``; the SLO endpoints add a
  ``document`` per problem and Kayenta's add ``message``. Anything else (a proxy's HTML
  page, a crash) keeps its raw text, truncated.
- :class:`ServerUnreachable`: no answer at all — refused, reset, timed out.

Neither ever holds a request, its headers, or the bearer token: only what the server said.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["MAX_TEXT", "ApiError", "ServerUnreachable", "api_error_of", "unreachable_of"]

# A UI box shows a sentence or two; a whole HTML error page would bury the point.
MAX_TEXT = 300


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ApiError(Exception):
    """The server refused or failed a request: its status, the fields at fault and why."""

    def __init__(self, status: int, problems: list[tuple[str, str]], detail: str) -> None:
        self.status = status
        self.problems = problems
        self.detail = detail
        super().__init__(status, problems, detail)

    def __str__(self) -> str:
        return _clip(f"HTTP {self.status}: {self.detail}" if self.detail else f"HTTP {self.status}")

    def __repr__(self) -> str:
        return f"ApiError(status={self.status!r}, problems={self.problems!r}, detail={self.detail!r})"

    def reason_for(self, field: str) -> str | None:
        """The reason given for ``field``, if the server named it."""
        return next((reason for name, reason in self.problems if name == field), None)


class ServerUnreachable(Exception):
    """No answer from the server at ``url``: nothing listens, the network failed, or it timed out."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(url, reason)

    def __str__(self) -> str:
        return _clip(f"cannot reach the Watchfloor server at {self.url}: {self.reason}")

    def __repr__(self) -> str:
        return f"ServerUnreachable(url={self.url!r}, reason={self.reason!r})"


def _problems(errors: Any) -> list[tuple[str, str]]:
    if not isinstance(errors, list):
        return []
    found = []
    for item in errors:
        if not isinstance(item, dict):
            continue
        field, reason = str(item.get("field", "")), str(item.get("reason", ""))
        # The SLO endpoints name the OpenSLO document too; keep it, or two documents'
        # ``spec.target`` problems would read as one.
        if item.get("document"):
            field = f"{item['document']}: {field}" if field else str(item["document"])
        found.append((field, reason))
    return found


def api_error_of(response: httpx.Response) -> ApiError:
    """The :class:`ApiError` for a 4xx/5xx answer, whatever shape its body has."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        problems = _problems(body.get("errors"))
        detail = body.get("detail")
        if isinstance(detail, str):
            return ApiError(response.status_code, problems, _clip(detail))
        message = body.get("message")  # Kayenta's form, when ``detail`` is absent
        if isinstance(message, str):
            return ApiError(response.status_code, problems, _clip(message))
    text = response.text or response.reason_phrase
    return ApiError(response.status_code, [], _clip(text))


def unreachable_of(url: str, error: httpx.TransportError, timeout_s: float) -> ServerUnreachable:
    """A transport failure in words: the class says more than httpx's message for timeouts."""
    if isinstance(error, httpx.TimeoutException):
        return ServerUnreachable(url, f"no answer within {timeout_s:g} s ({type(error).__name__})")
    if isinstance(error, httpx.ConnectError):
        return ServerUnreachable(url, f"connection failed ({_clip(str(error), 120) or 'refused'})")
    return ServerUnreachable(url, f"{type(error).__name__}: {_clip(str(error), 120)}")
