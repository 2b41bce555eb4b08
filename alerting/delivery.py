"""Delivers the outbox: every notification is in the store before it is sent, and stays until settled.

Each due notification goes to the sender of its channel; the answer decides what happens:

- 2xx → ``sent``;
- 429, 5xx and network errors → tried again later, with exponential backoff (1 s doubling
  to 5 minutes) and jitter (a random half of it, so many servers do not retry in step),
  never sooner than the answer's ``Retry-After``;
- any other 4xx (400 is the usual one: the event is invalid) → ``failed``, with the
  error kept, and never retried: sending it again would be refused again;
- a notification still unsent after ``give_up_after_ms`` (a day) → ``failed``.

Senders share a rate limit when they share a ``rate_key`` (a PagerDuty routing key):
at most ``rate_per_minute`` sends per sliding minute (PagerDuty's limit is about 120);
over it, a notification waits for the minute to pass instead of being throttled.

A crash after a send but before it was recorded sends it again after the restart; PagerDuty
deduplicates by ``dedup_key``, so a trigger sent twice is still one page.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from store.duckdb_outbox import Notification, OutboxMixin

__all__ = ["Deliverer", "SendResult", "Sender"]

_log = logging.getLogger("watchfloor.outbox")
BASE_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 300_000
GIVE_UP_AFTER_MS = 86_400_000
BATCH = 100


@dataclass(frozen=True, slots=True)
class SendResult:
    """One attempt: the HTTP status (None when there was no answer), Retry-After, what went wrong."""

    status: int | None
    retry_after_s: float | None = None
    error: str | None = None


class Sender(Protocol):
    rate_key: str

    def send(self, payload: Mapping[str, Any]) -> SendResult: ...

    def close(self) -> None: ...


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class Deliverer:
    """Writes notifications to the outbox and delivers what is due, one attempt at a time."""

    def __init__(
        self,
        store: OutboxMixin,
        senders: Mapping[str, Sender],
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        rate_per_minute: int = 120,
        give_up_after_ms: int = GIVE_UP_AFTER_MS,
    ) -> None:
        self._store = store
        self._senders = dict(senders)
        self._clock = clock
        self._rng = rng or random.Random()
        self._rate = rate_per_minute
        self._give_up_after_ms = give_up_after_ms
        self._sent: dict[str, collections.deque[int]] = collections.defaultdict(collections.deque)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(self._senders)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def enqueue(
        self,
        channel: str,
        payload: Mapping[str, Any],
        dedup_key: str | None = None,
        *,
        document: tuple[str, str, str] | None = None,
    ) -> int:
        """Keep ``payload`` for ``channel``'s sender; it (and ``document``) is committed on return.

        Non-finite numbers become null: JSON has no infinity, and a receiver would refuse it.
        """
        if channel not in self._senders:
            raise KeyError(f"no sender for channel {channel!r}")
        body = json.dumps(_finite(payload), allow_nan=False)
        notification_id = self._store.enqueue_notification(channel, body, dedup_key, self._now_ms(), document)
        if self._wake is not None and self._loop is not None:
            # Called from worker threads: an asyncio.Event may only be set on its own loop.
            self._loop.call_soon_threadsafe(self._wake.set)
        return notification_id

    def _rate_wait_ms(self, key: str, now_ms: int) -> int:
        """0 when a send fits under the rate limit now, else how long until one does."""
        sent = self._sent[key]
        while sent and sent[0] <= now_ms - 60_000:
            sent.popleft()
        return 0 if len(sent) < self._rate else sent[0] + 60_000 - now_ms

    def _backoff_ms(self, attempts: int, retry_after_s: float | None) -> int:
        delay = min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** min(attempts, 20))
        delay = int(delay * (0.5 + self._rng.random() / 2))
        if retry_after_s is not None:
            delay = max(delay, int(retry_after_s * 1000))
        return delay

    def deliver_due(self) -> int:
        """Send what is due; answers how many were settled as sent.

        Passes repeat while they send something: a sent trigger releases the resolve that
        waited behind it, and that should not wait for the next tick.
        """
        total = 0
        while True:
            sent = sum(self._attempt(n) for n in self._store.due_notifications(self._now_ms(), BATCH))
            total += sent
            if not sent:
                return total

    def _attempt(self, notification: Notification) -> int:
        sender = self._senders.get(notification.channel)
        now_ms = self._now_ms()
        if sender is None:  # configured away since it was written: kept, and said so
            self._settle(
                notification,
                "pending",
                now_ms + 60_000,
                None,
                "no sender is configured for it",
                attempted=False,
            )
            return 0
        wait = self._rate_wait_ms(sender.rate_key, now_ms)
        if wait:
            self._settle(
                notification, "pending", now_ms + wait, None, "held back by the rate limit", attempted=False
            )
            return 0
        self._sent[sender.rate_key].append(now_ms)
        try:
            result = sender.send(json.loads(notification.payload))
        except Exception as exc:  # not a network failure (senders answer those): it would fail again
            _log.exception("notification %d cannot be sent", notification.id)
            error = f"cannot be sent: {type(exc).__name__}: {exc}"
            self._settle(notification, "failed", self._now_ms(), None, error)
            return 0
        now_ms = self._now_ms()
        if result.status is not None and 200 <= result.status < 300:
            self._settle(notification, "sent", now_ms, result.status, None, sent_ms=now_ms)
            return 1
        retryable = result.status is None or result.status == 429 or result.status >= 500
        error = result.error or f"answered {result.status}"
        if not retryable:
            _log.warning("notification %d refused (%s); not retried", notification.id, error)
            self._settle(notification, "failed", now_ms, result.status, error)
        elif now_ms - notification.created_ms >= self._give_up_after_ms:
            self._settle(notification, "failed", now_ms, result.status, f"gave up: {error}")
        else:
            delay = self._backoff_ms(notification.attempts, result.retry_after_s)
            self._settle(notification, "pending", now_ms + delay, result.status, error)
        return 0

    def _settle(
        self,
        notification: Notification,
        status: str,
        next_attempt_ms: int,
        last_status: int | None,
        error: str | None,
        *,
        sent_ms: int | None = None,
        attempted: bool = True,
    ) -> None:
        self._store.settle_notification(
            notification.id,
            status=status,
            next_attempt_ms=next_attempt_ms,
            last_status=last_status if attempted else notification.last_status,
            last_error=error,
            sent_ms=sent_ms,
            attempted=attempted,
        )

    def close(self) -> None:
        """Let the senders' connections go (what is pending stays in the store)."""
        for sender in self._senders.values():
            sender.close()

    async def run(self, interval_s: float = 1.0) -> None:
        """The delivery loop: a pass every ``interval_s`` or as soon as something is enqueued."""
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        while True:
            try:
                await asyncio.to_thread(self.deliver_due)
            except Exception:  # the loop must outlive one bad pass
                _log.exception("delivering notifications failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval_s)
