"""``GET /api/v1/notifications``: the outbox, newest first, with each notification's delivery.

Filters: ``status`` (pending, sent, failed), ``channel`` (pagerduty, pagerduty_change, …),
``limit``. Payloads are shown as they were written, which is without credentials: the
senders add routing keys and tokens only as they send.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Query

from store.duckdb_outbox import Notification, OutboxMixin

__all__ = ["notifications_router"]


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
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        return {
            "notifications": [
                _view(n) for n in store.notifications(status=status, channel=channel, limit=limit)
            ]
        }

    return router
