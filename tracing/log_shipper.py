"""Ship ECS documents to an Elasticsearch ``_bulk`` endpoint in batches, as Filebeat does.

The request path only ever calls :meth:`BulkLogShipper.offer`, which never blocks: a
full buffer drops the document and counts it. One background thread batches, sends and
retries (network errors, 429 and 5xx, with exponential backoff and jitter) for as long
as the destination is down; per-item failures are retried only when the item's own
status is retryable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge

_log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})


def _retryable(status: int) -> bool:
    return status in RETRYABLE_STATUS or status >= 500


def bulk_body(documents: list[dict[str, Any]], index: str) -> bytes:
    """Encode documents as ``_bulk`` NDJSON ``create`` actions, with the final newline."""
    action = json.dumps({"create": {"_index": index}}, separators=(",", ":"))
    lines: list[str] = []
    for document in documents:
        lines.append(action)
        lines.append(json.dumps(document, separators=(",", ":"), default=str))
    return ("\n".join(lines) + "\n").encode()


class BulkLogShipper:
    """Batches documents to ``url`` (a full ``…/_bulk`` URL) from a background thread."""

    def __init__(
        self,
        url: str,
        *,
        index: str,
        registry: CollectorRegistry,
        buffer_size: int = 10_000,
        batch_size: int = 500,
        flush_interval_s: float = 1.0,
        max_backoff_s: float = 30.0,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._url = url
        self._index = index
        # None is a wake-up call from close(), never a document.
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=buffer_size)
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._max_backoff_s = max_backoff_s
        self._rng = rng or random.Random()
        self._stop = threading.Event()
        self._drain_deadline = float("inf")
        # Sleeping on the stop event lets close() cut a long backoff short.
        self._sleep = sleep or (lambda seconds: self._stop.wait(seconds) and None)
        self._client = httpx.Client(
            timeout=10.0,
            transport=transport,
            headers={"Content-Type": "application/x-ndjson", **(headers or {})},
        )
        self._thread = threading.Thread(target=self._run, name="bulk-log-shipper", daemon=True)
        self._documents = Counter(
            "log_shipper_documents",
            "ECS log documents by what became of them: shipped, dropped (buffer full or "
            "shut down undelivered) or rejected (the destination refused the item).",
            ["result"],
            registry=registry,
        )
        self._retries = Counter(
            "log_shipper_retries", "Bulk requests retried after a failure.", registry=registry
        )
        depth = Gauge("log_shipper_queue_depth", "Documents waiting to be shipped.", registry=registry)
        depth.set_function(self._queue.qsize)
        for result in ("shipped", "dropped", "rejected"):
            self._documents.labels(result)

    def start(self) -> None:
        self._thread.start()

    def offer(self, document: dict[str, Any]) -> None:
        """Queue one document; drop and count it if the buffer is full. Never blocks."""
        try:
            self._queue.put_nowait(document)
        except queue.Full:
            self._documents.labels("dropped").inc()

    def close(self, timeout_s: float = 5.0) -> None:
        """Flush what is buffered for up to ``timeout_s``, then stop; the rest counts as dropped."""
        self._drain_deadline = time.monotonic() + timeout_s
        self._stop.set()
        with contextlib.suppress(queue.Full):  # a full queue wakes the thread anyway
            self._queue.put_nowait(None)
        if self._thread.is_alive():
            self._thread.join(timeout_s + 1.0)
        leftover = 0
        while True:
            try:
                leftover += self._queue.get_nowait() is not None
            except queue.Empty:
                break
        if leftover:
            self._documents.labels("dropped").inc(leftover)
        self._client.close()

    def _next_batch(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        deadline = time.monotonic() + self._flush_interval_s
        while len(batch) < self._batch_size:
            remaining = deadline - time.monotonic()
            if self._stop.is_set():
                remaining = 0.0
            try:
                document = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if document is not None:
                batch.append(document)
        return batch

    def _run(self) -> None:
        while True:
            if self._stop.is_set() and (self._queue.empty() or time.monotonic() > self._drain_deadline):
                return
            batch = self._next_batch()
            if batch:
                self._deliver(batch)

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        """Send until every document is shipped or rejected, or shutdown's deadline passes."""
        attempt = 0
        pending = batch
        while pending:
            if self._stop.is_set() and time.monotonic() > self._drain_deadline:
                self._documents.labels("dropped").inc(len(pending))
                return
            pending = self._send_once(pending)
            if pending:
                attempt += 1
                self._retries.inc()
                backoff = min(self._max_backoff_s, 0.2 * 2 ** min(attempt, 10))
                self._sleep(backoff * (0.5 + self._rng.random() / 2))

    def _send_once(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One ``_bulk`` request; answers the documents that should be retried."""
        try:
            response = self._client.post(self._url, content=bulk_body(batch, self._index))
        except httpx.HTTPError as error:
            _log.debug("bulk request failed: %s", error)
            return batch
        if _retryable(response.status_code):
            return batch
        if response.status_code >= 400:
            self._documents.labels("rejected").inc(len(batch))
            _log.warning("bulk request refused with %s", response.status_code)
            return []
        try:
            items = response.json()["items"]
        except (ValueError, KeyError, TypeError):
            # Answered 2xx but not like Elasticsearch: the request itself was taken.
            self._documents.labels("shipped").inc(len(batch))
            return []
        retry: list[dict[str, Any]] = []
        for document, item in zip(batch, items, strict=False):
            result: dict[str, Any] = next(iter(item.values()), {}) if isinstance(item, dict) else {}
            status = int(result.get("status", 200))
            if status < 300:
                self._documents.labels("shipped").inc()
            elif _retryable(status):
                retry.append(document)
            else:
                self._documents.labels("rejected").inc()
        return retry
