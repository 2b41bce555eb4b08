"""A faithful fake of PagerDuty's Events API v2 (``protocols.md`` §1), shared by every test.

PagerDuty cannot be reached from here, so senders are tested against this. It follows the
spec and PagerDuty's own documentation (developer.pagerduty.com, "Send an Alert Event",
"Send a Change Event", "Events API v2 Overview", "Events API Rate Limits") field by field:

* ``POST /v2/enqueue``: alert events. No auth header; the 32-character ``routing_key`` is
  the credential. ``event_action`` is trigger, acknowledge or resolve; ``dedup_key`` is at
  most 255 characters and required to acknowledge or resolve; a trigger without one gets a
  generated key (a UUID, as PagerDuty's) in the answer. A trigger needs ``payload.summary``
  (≤ 1024), ``payload.source`` and ``payload.severity`` (critical, error, warning, info);
  ``payload.timestamp`` is an ISO 8601 date and time, ``component``, ``group`` and ``class``
  are strings, ``custom_details`` an object; ``images[]`` need an HTTPS ``src``, ``links[]``
  an ``href``. Unknown fields are ignored; an optional field sent as ``null`` counts as absent.
* ``POST /v2/change/enqueue``: change events, ``routing_key`` and ``payload{summary (≤ 1024),
  source, timestamp, custom_details}``, ``links[]``. ``event_action``, ``dedup_key`` and
  ``severity`` (top level or in the payload) are refused: the spec forbids them, so a sender
  that mixes the two kinds of event is caught here.
* Answers: 202 ``{"status":"success","message":"Event processed","dedup_key":…}`` (change
  events: ``{"status":"success","message":"Change event processed"}``); 400
  ``{"status":"invalid event","message":"Event object is invalid","errors":[…]}`` listing
  every problem found, each naming its field. Two of the texts are PagerDuty's verbatim, as
  it answered a real request: "Length of 'routing_key' is incorrect (should be 32
  characters)" and "'routing_key' cannot contain non-alphanumeric characters." (both seen in
  github.com/blockpane/tenderduty issue 10); the others follow their pattern. A body that is
  not JSON says "JSON parse error" (the example in PagerDuty's OpenAPI description of the
  API) but, as the spec asks, in the invalid-event shape; a body that is JSON but not an
  object is refused the same way.
* Size: bodies of at most 512 KB (524,288 bytes) are read. A larger one is answered **400**
  in the invalid-event shape, not 413: PagerDuty documents only 202, 400, 429 and 5xx for
  this API, and 400 is the answer its clients are told never to retry, which is right for an
  event that can never fit; a 413 would reach a sender through a code path the real service
  is not documented to take.
* Dedup: alert events with one ``dedup_key`` act on one open alert, per routing key (the
  same key on another routing key is another alert, and acknowledging or resolving it there
  changes nothing). A trigger of an open alert is deduplicated into it (an acknowledged one
  stays acknowledged); after resolve, a trigger opens a new alert. Acknowledge or resolve of
  a key with no open alert is accepted (202) and dropped, as PagerDuty drops it.
* Rate: about 120 events a minute per routing key, over a sliding 60 s window, alert and
  change events together. Off by default; ``PagerDutyFake(rate_limit_per_minute=120)``
  enforces it: an event over the limit is answered 429 and not ingested (no ``Retry-After``:
  PagerDuty documents none), and only ingested events count against the window.

Faults are switched on by tests: :meth:`PagerDutyFake.fail_next` (the next requests, to
either endpoint, answer 429 or 5xx without being ingested, optionally with ``Retry-After``),
:attr:`~PagerDutyFake.unavailable` (503 for everything) and :attr:`~PagerDutyFake.delay_s`
(every answer is late; the event is ingested at once, so a client that times out has still
delivered it, as can happen with the real service). The bodies of 429 and 5xx answers are
not documented by PagerDuty; clients must go by the status alone.

Run it on loopback with :func:`serve_pagerduty_fake` (the repository's :class:`ServerThread`,
as the Elasticsearch fake is run). To wait for something a sender does on another thread,
use :func:`tests.support.polling.eventually` with :meth:`PagerDutyFake.triggers` and friends.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sample_services.serving import ServerThread

__all__ = [
    "MAX_BODY_BYTES",
    "AcceptedChangeEvent",
    "AcceptedEvent",
    "Alert",
    "PagerDutyFake",
    "Rejection",
    "RequestRecord",
    "alert_event_errors",
    "change_event_errors",
    "serve_pagerduty_fake",
]

ROUTING_KEY_LENGTH = 32
DEDUP_KEY_LIMIT = 255
SUMMARY_LIMIT = 1024
MAX_BODY_BYTES = 512 * 1024
RATE_WINDOW_S = 60.0
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")

EVENT_PROCESSED = {"status": "success", "message": "Event processed"}
# PagerDuty's own Go client pins this answer to a change event (github.com/PagerDuty/go-pagerduty,
# change_events_test.go): 202 {"message": "Change event processed", "status": "success"}, no dedup_key.
CHANGE_EVENT_PROCESSED = {"status": "success", "message": "Change event processed"}
INVALID_EVENT = {"status": "invalid event", "message": "Event object is invalid"}
# "429 - Request Limit Exceeded" is how PagerDuty's rate-limit page words the answer.
FAILURE_MESSAGES = {429: "Request Limit Exceeded"}


# --- what the fake keeps ------------------------------------------------------------------------


@dataclass(frozen=True)
class AcceptedEvent:
    """An alert event answered 202, as received, with what it did to its alert.

    ``dedup_key`` is the one answered (the sender's, or the generated one); ``effect`` is
    ``opened``, ``deduplicated`` (a trigger of an open alert), ``acknowledged``, ``resolved``
    or ``ignored`` (acknowledge or resolve with no open alert: accepted and dropped).
    """

    routing_key: str
    event_action: str
    dedup_key: str
    effect: str
    body: dict[str, Any]
    received_at: float

    @property
    def payload(self) -> dict[str, Any]:
        payload = self.body.get("payload")
        return payload if isinstance(payload, dict) else {}


@dataclass(frozen=True)
class AcceptedChangeEvent:
    """A change event answered 202, as received."""

    routing_key: str
    body: dict[str, Any]
    received_at: float

    @property
    def payload(self) -> dict[str, Any]:
        return dict(self.body["payload"])


@dataclass(frozen=True)
class Rejection:
    """A request answered 400, with the ``errors`` the answer listed."""

    path: str
    body: bytes
    errors: list[str]
    received_at: float


@dataclass(frozen=True)
class RequestRecord:
    """Every request the fake answered, faults and refusals included (header names lower case)."""

    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: bytes
    received_at: float


@dataclass(frozen=True)
class Alert:
    """The alert under one (routing key, dedup key): its state now, and how many were opened."""

    routing_key: str
    dedup_key: str
    state: str  # triggered, acknowledged or resolved
    opened: int


# --- validation ---------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def _text(
    container: dict[str, Any], name: str, path: str, *, required: bool, limit: int | None = None
) -> list[str]:
    value = container.get(name)
    if value is None:
        return [f"'{path}' is missing or blank"] if required else []
    if not isinstance(value, str):
        return [f"'{path}' must be a string"]
    if required and not value.strip():
        return [f"'{path}' is missing or blank"]
    if limit is not None and len(value) > limit:
        return [f"'{path}' is too long ({len(value)} characters; the maximum is {limit})"]
    return []


def _routing_key(body: dict[str, Any]) -> list[str]:
    key = body.get("routing_key")
    if _blank(key):
        return ["'routing_key' is missing or blank"]
    if not isinstance(key, str):
        return ["'routing_key' must be a string"]
    errors = []
    if len(key) != ROUTING_KEY_LENGTH:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    if not (key.isascii() and key.isalnum()):
        errors.append("'routing_key' cannot contain non-alphanumeric characters.")
    return errors


def _timestamp(payload: dict[str, Any], path: str) -> list[str]:
    value = payload.get("timestamp")
    if value is None:
        return []
    if isinstance(value, str) and len(value) > len("YYYY-MM-DD"):  # a date and a time, not a date alone
        try:
            datetime.fromisoformat(value)
            return []
        except ValueError:
            pass
    return [f"'{path}' must be an ISO 8601 date and time"]


def _object(container: dict[str, Any], name: str, path: str) -> list[str]:
    value = container.get(name)
    return [] if value is None or isinstance(value, dict) else [f"'{path}' must be an object"]


def _items(body: dict[str, Any], name: str, check: Callable[[dict[str, Any], str], list[str]]) -> list[str]:
    items = body.get(name)
    if items is None:
        return []
    if not isinstance(items, list):
        return [f"'{name}' must be an array"]
    errors = []
    for position, item in enumerate(items):
        where = f"{name}[{position}]"
        errors.extend(check(item, where) if isinstance(item, dict) else [f"'{where}' must be an object"])
    return errors


def _link(link: dict[str, Any], where: str) -> list[str]:
    return _text(link, "href", f"{where}.href", required=True) + _text(
        link, "text", f"{where}.text", required=False
    )


def _image(image: dict[str, Any], where: str) -> list[str]:
    errors = _text(image, "src", f"{where}.src", required=True)
    src = image.get("src")
    if not errors and isinstance(src, str):
        parts = urlsplit(src.strip())
        if parts.scheme != "https" or not parts.netloc:
            errors.append(f"'{where}.src' must be an HTTPS URL")
    return (
        errors
        + _text(image, "href", f"{where}.href", required=False)
        + _text(image, "alt", f"{where}.alt", required=False)
    )


def alert_event_errors(body: dict[str, Any]) -> list[str]:
    """Every reason ``POST /v2/enqueue`` refuses ``body`` (empty when it is valid)."""
    errors = _routing_key(body)
    action = body.get("event_action")
    if _blank(action):
        errors.append("'event_action' is missing or blank")
    elif action not in EVENT_ACTIONS:
        errors.append("'event_action' must be one of trigger, acknowledge, resolve")
    dedup_key = body.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        errors.append("'dedup_key' must be a string")
    elif isinstance(dedup_key, str) and len(dedup_key) > DEDUP_KEY_LIMIT:
        errors.append(
            f"'dedup_key' is too long ({len(dedup_key)} characters; the maximum is {DEDUP_KEY_LIMIT})"
        )
    elif action in ("acknowledge", "resolve") and _blank(dedup_key):
        errors.append(f"'dedup_key' is missing or blank (it is required to {action})")
    trigger = action == "trigger"
    payload = body.get("payload")
    if payload is None:
        if trigger:
            errors.append("'payload' is missing or blank")
    elif not isinstance(payload, dict):
        errors.append("'payload' must be an object")
    else:
        errors += _text(payload, "summary", "payload.summary", required=trigger, limit=SUMMARY_LIMIT)
        errors += _text(payload, "source", "payload.source", required=trigger)
        severity = payload.get("severity")
        if severity is None:
            if trigger:
                errors.append("'payload.severity' is missing or blank")
        elif severity not in SEVERITIES:
            errors.append("'payload.severity' must be one of critical, error, warning, info")
        errors += _timestamp(payload, "payload.timestamp")
        for name in ("component", "group", "class"):
            errors += _text(payload, name, f"payload.{name}", required=False)
        errors += _object(payload, "custom_details", "payload.custom_details")
    errors += _items(body, "images", _image)
    errors += _items(body, "links", _link)
    for name in ("client", "client_url"):
        errors += _text(body, name, name, required=False)
    return errors


def change_event_errors(body: dict[str, Any]) -> list[str]:
    """Every reason ``POST /v2/change/enqueue`` refuses ``body`` (empty when it is valid)."""
    errors = _routing_key(body)
    errors += [
        f"'{name}' is not allowed in a change event"
        for name in ("event_action", "dedup_key", "severity")
        if name in body
    ]
    payload = body.get("payload")
    if payload is None:
        errors.append("'payload' is missing or blank")
    elif not isinstance(payload, dict):
        errors.append("'payload' must be an object")
    else:
        if "severity" in payload:
            errors.append("'payload.severity' is not allowed in a change event")
        errors += _text(payload, "summary", "payload.summary", required=True, limit=SUMMARY_LIMIT)
        errors += _text(payload, "source", "payload.source", required=False)
        errors += _timestamp(payload, "payload.timestamp")
        errors += _object(payload, "custom_details", "payload.custom_details")
    errors += _items(body, "links", _link)
    return errors


# --- the fake -----------------------------------------------------------------------------------


class PagerDutyFake:
    """PagerDuty's Events API v2 on :attr:`app`; every record is a snapshot taken under a lock."""

    def __init__(
        self, *, rate_limit_per_minute: int | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.rate_limit_per_minute = rate_limit_per_minute
        self.unavailable = False
        self.delay_s = 0.0
        self._faults: deque[tuple[int, str | None]] = deque()
        self._events: list[AcceptedEvent] = []
        self._change_events: list[AcceptedChangeEvent] = []
        self._rejected: list[Rejection] = []
        self._requests: list[RequestRecord] = []
        self._alerts: dict[tuple[str, str], Alert] = {}
        self._windows: dict[str, deque[float]] = {}
        self.app = Starlette(
            routes=[
                Route("/v2/enqueue", self._enqueue, methods=["POST"]),
                Route("/v2/change/enqueue", self._change_enqueue, methods=["POST"]),
            ],
            exception_handlers={404: self._no_route, 405: self._no_route},
        )

    # --- test controls ---------------------------------------------------------------------------

    def fail_next(self, *statuses: int, retry_after: int | str | None = None) -> None:
        """The next ``len(statuses)`` requests to either endpoint are answered with these statuses
        (429 or 5xx), in order, and not ingested; ``retry_after`` (seconds, or an HTTP date) is
        sent as ``Retry-After`` with each of them."""
        for status in statuses:
            if status != 429 and not 500 <= status <= 599:
                raise ValueError(f"fail_next: {status} is not 429 or 5xx")
        header = None if retry_after is None else str(retry_after)
        with self._lock:
            self._faults.extend((status, header) for status in statuses)

    def reset(self) -> None:
        """Forget every record, alert, rate window and pending fault; available and prompt again."""
        with self._lock:
            self._faults.clear()
            self._events.clear()
            self._change_events.clear()
            self._rejected.clear()
            self._requests.clear()
            self._alerts.clear()
            self._windows.clear()
            self.unavailable = False
            self.delay_s = 0.0

    # --- reading back ----------------------------------------------------------------------------

    @property
    def events(self) -> list[AcceptedEvent]:
        """Every accepted alert event, in the order received."""
        with self._lock:
            return list(self._events)

    @property
    def change_events(self) -> list[AcceptedChangeEvent]:
        with self._lock:
            return list(self._change_events)

    @property
    def rejected(self) -> list[Rejection]:
        """Every request answered 400, either endpoint."""
        with self._lock:
            return list(self._rejected)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request answered, with its status (faults, refusals and unknown routes included)."""
        with self._lock:
            return list(self._requests)

    @property
    def alerts(self) -> dict[tuple[str, str], Alert]:
        """The alert of each (routing key, dedup key) that an event ever opened."""
        with self._lock:
            return dict(self._alerts)

    def alert(self, routing_key: str, dedup_key: str) -> Alert | None:
        with self._lock:
            return self._alerts.get((routing_key, dedup_key))

    def triggers(self, routing_key: str | None = None, dedup_key: str | None = None) -> list[AcceptedEvent]:
        """Accepted trigger events, optionally of one routing key and/or dedup key."""
        return [
            event
            for event in self.events
            if event.event_action == "trigger"
            and routing_key in (None, event.routing_key)
            and dedup_key in (None, event.dedup_key)
        ]

    # --- endpoints -------------------------------------------------------------------------------

    async def _enqueue(self, request: Request) -> Response:
        return await self._serve(request, alert_event_errors, self._accept_alert_event)

    async def _change_enqueue(self, request: Request) -> Response:
        return await self._serve(request, change_event_errors, self._accept_change_event)

    async def _no_route(self, request: Request, error: Exception) -> Response:
        status = error.status_code if isinstance(error, HTTPException) else 404
        headers = error.headers if isinstance(error, HTTPException) else None
        response = PlainTextResponse(_phrase(status), status, headers=headers)
        raw = await request.body()
        with self._lock:
            self._record(request, raw, response.status_code, self._clock())
        return response

    async def _serve(
        self,
        request: Request,
        validate: Callable[[dict[str, Any]], list[str]],
        accept: Callable[[dict[str, Any], float], Response],
    ) -> Response:
        raw = await request.body()
        with self._lock:  # no await inside: each request is answered and recorded atomically
            received_at = self._clock()
            response = self._answer(request.url.path, raw, received_at, validate, accept)
            self._record(request, raw, response.status_code, received_at)
            delay_s = self.delay_s
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        return response

    def _answer(
        self,
        path: str,
        raw: bytes,
        received_at: float,
        validate: Callable[[dict[str, Any]], list[str]],
        accept: Callable[[dict[str, Any], float], Response],
    ) -> Response:
        if self.unavailable:
            return _failure(503)
        if self._faults:
            status, retry_after = self._faults.popleft()
            return _failure(status, retry_after)
        if len(raw) > MAX_BODY_BYTES:
            message = f"Request body is {len(raw)} bytes; the limit is 512 KB ({MAX_BODY_BYTES} bytes)"
            return self._reject(path, raw, received_at, [message])
        try:
            body = json.loads(raw)
        except ValueError:
            return self._reject(path, raw, received_at, ["JSON parse error"])
        if not isinstance(body, dict):
            return self._reject(
                path, raw, received_at, [f"Event object must be a JSON object, not {_json_type(body)}"]
            )
        errors = validate(body)
        if errors:
            return self._reject(path, raw, received_at, errors)
        if self._over_rate(body["routing_key"], received_at):
            return _failure(429)
        return accept(body, received_at)

    # --- semantics (the caller holds the lock) ---------------------------------------------------

    def _accept_alert_event(self, body: dict[str, Any], received_at: float) -> Response:
        routing_key, action = str(body["routing_key"]), str(body["event_action"])
        given = body.get("dedup_key")
        dedup_key = given if isinstance(given, str) and given.strip() else uuid.uuid4().hex
        key = (routing_key, dedup_key)
        alert = self._alerts.get(key)
        is_open = alert is not None and alert.state != "resolved"
        if action == "trigger":
            if is_open:
                effect = "deduplicated"
            else:
                opened = alert.opened + 1 if alert is not None else 1
                self._alerts[key] = Alert(routing_key, dedup_key, "triggered", opened)
                effect = "opened"
        elif alert is None or not is_open:
            effect = "ignored"
        else:
            effect = "acknowledged" if action == "acknowledge" else "resolved"
            self._alerts[key] = replace(alert, state=effect)
        self._events.append(AcceptedEvent(routing_key, action, dedup_key, effect, body, received_at))
        return JSONResponse({**EVENT_PROCESSED, "dedup_key": dedup_key}, 202)

    def _accept_change_event(self, body: dict[str, Any], received_at: float) -> Response:
        self._change_events.append(AcceptedChangeEvent(str(body["routing_key"]), body, received_at))
        return JSONResponse(CHANGE_EVENT_PROCESSED, 202)

    def _over_rate(self, routing_key: str, now: float) -> bool:
        """Whether one more event on ``routing_key`` goes over the limit; if not, it is counted."""
        limit = self.rate_limit_per_minute
        if limit is None:
            return False
        window = self._windows.setdefault(routing_key, deque())
        while window and window[0] <= now - RATE_WINDOW_S:
            window.popleft()
        if len(window) >= limit:
            return True
        window.append(now)
        return False

    def _reject(self, path: str, raw: bytes, received_at: float, errors: list[str]) -> Response:
        self._rejected.append(Rejection(path, raw, list(errors), received_at))
        return JSONResponse({**INVALID_EVENT, "errors": errors}, 400)

    def _record(self, request: Request, raw: bytes, status: int, received_at: float) -> None:
        self._requests.append(
            RequestRecord(request.method, request.url.path, status, dict(request.headers), raw, received_at)
        )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _failure(status: int, retry_after: str | None = None) -> Response:
    """A 429 or 5xx answer: nothing was ingested."""
    message = FAILURE_MESSAGES.get(status) or _phrase(status)
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    return JSONResponse({"status": "error", "message": message}, status, headers=headers)


@contextmanager
def serve_pagerduty_fake(fake: PagerDutyFake | None = None) -> Iterator[tuple[PagerDutyFake, str]]:
    """Serve ``fake`` (a new one by default) on a loopback port; yields it and its base URL."""
    fake = fake if fake is not None else PagerDutyFake()
    server = ServerThread()
    url = server.start(fake.app)
    try:
        yield fake, url
    finally:
        server.stop()
