"""Webhooks in: ``POST /api/v1/intake/alertmanager`` and ``POST /api/v1/intake/pagerduty``.

Alertmanager's messages (version 4) need the API token when one is configured, like every
write; their alerts join the alert list and page through PagerDuty like Watchfloor's own.
PagerDuty's (webhook v3) carry no token: they are checked by their HMAC signature against
``pagerduty_webhook_secret`` (refused when none is configured), deduplicated by
``X-Webhook-Id`` (delivery is at least once; the ids are kept in the store), and an
incident acknowledged or resolved in PagerDuty shows on its alert.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from alerting.engine import AlertEngine
from alerting.intake import IntakeError, alertmanager_samples, pagerduty_change, verify_signature
from sample_services.errors import ServiceError

__all__ = ["PAGERDUTY_INTAKE", "intake_router"]

PAGERDUTY_INTAKE = "/api/v1/intake/pagerduty"
WEBHOOK_KIND = "pagerduty_webhook"
MAX_BODY = 1024 * 1024


async def _body(request: Request) -> bytes:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ServiceError(413, "body", f"over {MAX_BODY} bytes")
    return raw


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ServiceError(400, "body", f"malformed JSON: {exc}") from None


def intake_router(
    engine: AlertEngine, store: Any, secret: str | None, clock: Callable[[], float]
) -> APIRouter:
    router = APIRouter(prefix="/api/v1/intake", tags=["alerting"])

    @router.post("/alertmanager")
    async def alertmanager(request: Request) -> dict[str, Any]:
        try:
            samples = alertmanager_samples(_json(await _body(request)))
        except IntakeError as exc:
            raise ServiceError(exc.status, exc.field, exc.reason) from None
        # Off the event loop: the engine may be evaluating, and it holds its lock meanwhile.
        changes = await asyncio.to_thread(engine.ingest, "alertmanager", samples)
        return {"status": "success", "alerts": len(samples), "changes": len(changes)}

    @router.post("/pagerduty")
    async def pagerduty(request: Request) -> dict[str, Any]:
        if not secret:
            raise ServiceError(403, "X-PagerDuty-Signature", "no pagerduty_webhook_secret is configured")
        raw = await _body(request)
        try:
            verify_signature(raw, request.headers.get("x-pagerduty-signature"), secret)
            change = pagerduty_change(_json(raw))
        except IntakeError as exc:
            raise ServiceError(exc.status, exc.field, exc.reason) from None
        webhook_id = (request.headers.get("x-webhook-id") or "")[:256]
        if webhook_id and await asyncio.to_thread(store.document, WEBHOOK_KIND, webhook_id) is not None:
            return {"status": "duplicate"}
        found = None
        if change is not None:
            found = await asyncio.to_thread(
                engine.pagerduty_changed, change.incident_key, change.status, change.by
            )
        # Recorded once handled: a failure above lets PagerDuty's retry through.
        if webhook_id:
            await asyncio.to_thread(store.put_document, WEBHOOK_KIND, webhook_id, "{}", int(clock() * 1000))
        if change is None:
            return {"status": "ignored"}
        return {"status": "success" if found is not None else "unknown incident"}

    return router
