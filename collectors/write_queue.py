"""The bounded path from ingestion endpoints into the store.

Endpoints submit a batch and wait for its commit before answering, so whatever a client
saw acknowledged is on disk. One writer thread drains the queue and commits batches of
the same signal together (group commit); when such a group fails, each submission in it is
committed again on its own, so one bad item fails only the submission that carried it.
When the queue already holds ``capacity`` items, a submission is refused at once with
:class:`QueueFull` (the endpoint answers 429/503 with ``Retry-After``): memory stays
bounded and clients back off.

Datapoints are gathered as columns (:class:`~collectors.normalise.PointColumns`), whether
they were submitted as columns (the scraper) or as Datapoint lists, and written with
:meth:`DuckDBStore.write_point_columns`.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from collectors.normalise import PointColumns
from store.duckdb_store import DuckDBStore

_log = logging.getLogger(__name__)
SIGNALS = ("datapoints", "spans", "logs")


class QueueFull(Exception):
    """The write queue is at capacity; retry after ``retry_after_s``."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"write queue is full; retry after {retry_after_s}s")
        self.retry_after_s = retry_after_s


class WriteQueue:
    def __init__(
        self,
        store: DuckDBStore,
        registry: CollectorRegistry,
        *,
        capacity: int = 200_000,
        max_batch: int = 50_000,
    ) -> None:
        self._store = store
        self._writers: dict[str, Callable[[Sequence[Any]], int]] = {
            "datapoints": self._write_datapoints,
            "spans": store.write_spans,
            "logs": store.write_logs,
        }
        self._capacity = capacity
        self._max_batch = max_batch
        self._pending = 0
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[str, Sequence[Any], Future[int]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._written = Counter(
            "watchfloor_ingested", "Items committed to the store, by signal.", ["signal"], registry=registry
        )
        self._refused = Counter(
            "watchfloor_ingest_refused",
            "Items refused because the write queue was full, by signal.",
            ["signal"],
            registry=registry,
        )
        Gauge(
            "watchfloor_write_queue_depth", "Items accepted but not yet committed.", registry=registry
        ).set_function(lambda: self._pending)
        for signal in SIGNALS:
            self._written.labels(signal)
            self._refused.labels(signal)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout_s: float = 30.0) -> None:
        """Commit what is queued, then stop the writer."""
        self._queue.put(None)
        self._thread.join(timeout_s)

    def submit(self, signal: str, items: Sequence[Any]) -> Future[int]:
        """Queue items for commit; the future resolves when they are on disk. Raises QueueFull."""
        future: Future[int] = Future()
        if not items:
            future.set_result(0)
            return future
        with self._lock:
            # A batch larger than the whole capacity is still taken into an empty queue, or
            # it could never land; memory stays bounded by capacity + one batch.
            if self._pending and self._pending + len(items) > self._capacity:
                self._refused.labels(signal).inc(len(items))
                raise QueueFull(retry_after_s=1 + self._pending // max(self._max_batch, 1))
            self._pending += len(items)
        self._queue.put((signal, items, future))
        return future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            size = len(first[1])
            # Group commit: take whatever else is waiting, up to max_batch items.
            while size < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
                size += len(nxt[1])
            for signal in SIGNALS:
                self._commit(signal, [entry for entry in batch if entry[0] == signal])
            if stop:
                return

    def _commit(self, signal: str, entries: list[tuple[str, Sequence[Any], Future[int]]]) -> None:
        """Commit the entries together; if that fails, each on its own, so only a guilty one fails.

        Every future is settled after its own items' commit (or last failed try), never before.
        """
        if not entries:
            return
        count = sum(len(batch) for _, batch, _ in entries)
        try:
            error = self._attempt(signal, entries)
            if error is None:
                return
            if len(entries) > 1:
                _log.warning(
                    "committing %d %s of %d submissions together failed (%s: %s); committing each alone",
                    count,
                    signal,
                    len(entries),
                    type(error).__name__,
                    error,
                )
                for entry in entries:
                    self._commit_alone(signal, entry)
                return
            self._fail(signal, entries[0], error)
        finally:
            with self._lock:
                self._pending -= count

    def _commit_alone(self, signal: str, entry: tuple[str, Sequence[Any], Future[int]]) -> None:
        error = self._attempt(signal, [entry])
        if error is not None:
            self._fail(signal, entry, error)

    def _fail(self, signal: str, entry: tuple[str, Sequence[Any], Future[int]], error: Exception) -> None:
        _log.error(
            "committing %d %s failed",
            len(entry[1]),
            signal,
            exc_info=(type(error), error, error.__traceback__),
        )
        _settle(entry[2], error)

    def _attempt(
        self, signal: str, entries: list[tuple[str, Sequence[Any], Future[int]]]
    ) -> Exception | None:
        """One commit of ``entries``: on success their futures resolve; on failure the error is answered."""
        count = sum(len(batch) for _, batch, _ in entries)
        try:
            items: Sequence[Any]
            if signal == "datapoints":
                # Kept as columns down to the store: no Datapoint object per point (see collectors.normalise).
                items = PointColumns()
                for _, batch, _ in entries:
                    items.extend(batch)
            else:
                items = [item for _, batch, _ in entries for item in batch]
            self._writers[signal](items)
        except Exception as error:  # the writer must survive a bad batch and say so to each caller
            return error
        self._written.labels(signal).inc(count)
        for _, batch, future in entries:
            _settle(future, len(batch))
        return None

    def _write_datapoints(self, points: Sequence[Any]) -> int:
        assert isinstance(points, PointColumns)  # _commit gathers datapoints as columns
        return self._store.write_point_columns(points.tags, points.timestamps, points.values)


def _settle(future: Future[int], outcome: int | BaseException) -> None:
    """Tell a submitter how its commit went, unless it has stopped waiting.

    A submitter awaiting through ``asyncio.wrap_future`` cancels the future when its task is
    cancelled (at shutdown, say); its items are committed all the same, and setting the
    result of a cancelled future would raise and end the writer thread.
    """
    try:
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
    except InvalidStateError:
        pass
