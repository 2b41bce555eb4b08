"""Annotations from release tooling: ``POST /api/v1/annotations``, ``GET /api/v1/annotations``.

``{kind: deploy|rollback|config|canary|incident|note, service, summary, version?, source?,
time? (ISO 8601, default now), links?: [{href, text}]}``. Each is kept in the store (so
the console can mark it on charts) and, with PagerDuty configured, sent as a change
event through the outbox.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Query

from canary.analysis import new_id
from canary.scopes import RequestError, iso, parse_instant
from sample_services.errors import ServiceError

__all__ = ["annotations_router"]

KIND = "annotation"
KINDS = ("deploy", "rollback", "config", "canary", "incident", "note")


def _text(raw: dict[str, Any], key: str, *, required: bool, limit: int = 1024) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ServiceError(400, key, f"expected a string of 1 to {limit} characters")
    return value


def read_annotation(raw: object, now_ms: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ServiceError(400, "body", "expected {kind, service, summary, version?, time?, links?}")
    kind = raw.get("kind", "deploy")
    if kind not in KINDS:
        raise ServiceError(400, "kind", f"expected one of {', '.join(KINDS)}")
    try:
        when = now_ms if raw.get("time") is None else parse_instant(raw["time"], "time")
    except RequestError as exc:
        raise ServiceError(400, exc.field, exc.reason) from None
    links = raw.get("links", [])
    if (
        not isinstance(links, list)
        or len(links) > 10
        or not all(isinstance(link, dict) and isinstance(link.get("href"), str) for link in links)
    ):
        raise ServiceError(400, "links", "expected up to 10 {href, text}")
    return {
        "id": new_id(now_ms),
        "kind": kind,
        "service": _text(raw, "service", required=True, limit=256),
        "summary": _text(raw, "summary", required=True),
        "version": _text(raw, "version", required=False, limit=256),
        "source": _text(raw, "source", required=False, limit=256) or "release tooling",
        "time_ms": when,
        "links": [{"href": link["href"], "text": str(link.get("text", ""))[:256]} for link in links],
    }


def change_event_of(annotation: dict[str, Any]) -> dict[str, Any]:
    """The PagerDuty change event for an annotation (the sender adds the routing key)."""
    version = f" {annotation['version']}" if annotation["version"] else ""
    summary = f"{annotation['kind']} {annotation['service']}{version}: {annotation['summary']}"
    return {
        "payload": {
            "summary": summary[:1024],
            "source": annotation["source"],
            "timestamp": iso(annotation["time_ms"]),
            "custom_details": {k: annotation[k] for k in ("id", "kind", "service", "version")},
        },
        "links": annotation["links"],
    }


def annotations_router(
    store: Any, clock: Callable[[], float], senders: list[Callable[[dict[str, Any]], None]]
) -> APIRouter:
    router = APIRouter(prefix="/api/v1/annotations", tags=["alerting"])

    @router.post("", status_code=201)
    def create(body: Any = Body(None)) -> dict[str, Any]:  # noqa: B008 - FastAPI's idiom
        now_ms = int(clock() * 1000)
        annotation = read_annotation(body, now_ms)
        store.put_document(KIND, annotation["id"], json.dumps(annotation), now_ms)
        for send in senders:
            send(change_event_of(annotation))
        return annotation

    @router.get("")
    def annotations(
        service: str | None = Query(None, max_length=256),
        start: int | None = Query(None, ge=0),
        end: int | None = Query(None, ge=0),
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        if start is not None and end is not None and end < start:
            raise ServiceError(400, "end", "must not be before start")
        found = [json.loads(d.body) for d in store.documents(KIND)]
        found = [
            a
            for a in found
            if (service is None or a["service"] == service)
            and (start is None or a["time_ms"] >= start)
            and (end is None or a["time_ms"] <= end)
        ]
        found.sort(key=lambda a: a["time_ms"], reverse=True)
        return {"annotations": found[:limit]}

    return router
