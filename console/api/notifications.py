"""``GET /api/v1/notifications``: the outbox, newest first, with each notification's delivery.

Filters: ``status`` (pending, sent, failed), ``channel`` (pagerduty, pagerduty_change, …),
``dedup_key`` (exactly: an alert's trigger, acknowledge and resolve share one), ``limit``.
Payloads are shown as they were written, which is without credentials: the senders add
routing keys and tokens only as they send.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Query

from sample_services.errors import ServiceError
from store.duckdb_outbox import Notification, OutboxMixin

__all__ = ["notifications_router"]

DEDUP_KEY_LIMIT = 200


def _view(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "channel": n.channel,
        "dedup_key": n.dedup_key,
        "status": n.status,
        "attempts": n.attempts,
        "created_ms": n.created_ms,
        "next_attempt_ms": n.next_attempt_ms if n.status == "pending" else None,
        "sent_ms": n.sent_ms,
        "last_status": n.last_status,
        "last_error": n.last_error,
        "payload": json.loads(n.payload),
    }


def notifications_router(store: OutboxMixin) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["alerting"])

    @router.get("/notifications")
    def notifications(
        status: Literal["pending", "sent", "failed"] | None = None,
        channel: str | None = Query(None, max_length=64),
        dedup_key: str | None = None,
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        # Checked here rather than by Query(): a bad key is the caller's 400 naming the field,
        # as the other read filters answer, not FastAPI's 422.
        if dedup_key is not None and not 0 < len(dedup_key) <= DEDUP_KEY_LIMIT:
            raise ServiceError(400, "dedup_key", f"expected 1 to {DEDUP_KEY_LIMIT} characters")
        found = store.notifications(status=status, channel=channel, dedup_key=dedup_key, limit=limit)
        return {"notifications": [_view(n) for n in found]}

    return router
