"""Bearer-token protection of writes, with room for endpoints that authenticate otherwise."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from sample_services.errors import error_response

__all__ = ["BearerTokenMiddleware"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BearerTokenMiddleware:
    """When a token is configured, every write (non-GET) request must carry ``Bearer <token>``.

    ``signed_paths`` check their own signature instead (PagerDuty's webhooks cannot send
    our token).
    """

    def __init__(self, app: ASGIApp, *, token: str | None, signed_paths: Iterable[str] = ()) -> None:
        self.app = app
        self._expected = None if token is None else f"Bearer {token}".encode()
        self._signed = frozenset(signed_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self._expected is None
            or scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or scope["path"] in self._signed
        ):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization")
        if given is None or not hmac.compare_digest(given, self._expected):
            reason = "a bearer token is required" if given is None else "the bearer token is not valid"
            response = error_response(401, [("authorization", reason)], {"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
