"""Silences CRUD (Alertmanager API v2's shape): matchers, a time range, who and why.

- ``GET /api/v1/silences?state=active|pending|expired``
- ``POST /api/v1/silences`` ``{matchers: [{name, value, isRegex, isEqual}], startsAt, endsAt,
  createdBy, comment}`` → ``{silenceID, silence}`` (with ``id`` it replaces that silence);
- ``GET /api/v1/silences/{id}``; ``DELETE /api/v1/silences/{id}`` expires it (kept, ended now).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Body

from alerting.silences import Silence, SilenceBook, SilenceError
from canary.scopes import iso
from sample_services.errors import ServiceError

__all__ = ["silences_router"]


def _view(silence: Silence, now_ms: int) -> dict[str, Any]:
    return {
        "id": silence.id,
        "matchers": [
            {"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal}
            for m in silence.matchers
        ],
        "startsAt": iso(silence.starts_ms),
        "endsAt": iso(silence.ends_ms),
        "createdBy": silence.created_by,
        "comment": silence.comment,
        "status": {"state": silence.state(now_ms)},
    }


def silences_router(book: SilenceBook, clock: Callable[[], float]) -> APIRouter:
    router = APIRouter(prefix="/api/v1/silences", tags=["alerting"])

    def now_ms() -> int:
        return int(clock() * 1000)

    @router.get("")
    def silences(state: Literal["active", "pending", "expired"] | None = None) -> dict[str, Any]:
        now = now_ms()
        return {"silences": [_view(s, now) for s in book.all() if state is None or s.state(now) == state]}

    @router.post("")
    def create(body: Any = Body(None)) -> dict[str, Any]:  # noqa: B008 - FastAPI's idiom
        try:
            silence = book.put(body)
        except SilenceError as exc:
            raise ServiceError(400, exc.field, exc.reason) from None
        return {"silenceID": silence.id, "silence": _view(silence, now_ms())}

    @router.get("/{silence_id}")
    def get(silence_id: str) -> dict[str, Any]:
        silence = book.get(silence_id)
        if silence is None:
            raise ServiceError(404, "id", f"no silence {silence_id!r}")
        return _view(silence, now_ms())

    @router.delete("/{silence_id}")
    def expire(silence_id: str) -> dict[str, Any]:
        silence = book.expire(silence_id)
        if silence is None:
            raise ServiceError(404, "id", f"no silence {silence_id!r}")
        return _view(silence, now_ms())

    return router
