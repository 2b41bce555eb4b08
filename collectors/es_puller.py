"""Pulls ECS log documents out of Elasticsearch into the store, resumably (``protocols.md`` §5).

For each configured index pattern: open a point in time, page through it sorted by
``@timestamp`` with ``search_after`` (always with the newest PIT id), convert each hit to a
:class:`~store.model.LogRecord`, and commit every page together with the pattern's
checkpoint (:mod:`collectors.es_checkpoint`) in one store transaction. A restart resumes
from the checkpoint: nothing is lost, nothing stored twice.

Only documents with ``@timestamp <= now - lag`` are pulled: a document indexed a little
after its timestamp would otherwise fall behind a checkpoint that already passed it.

A document that cannot be converted (no ``_source``, an ``@timestamp`` the store cannot
hold, say year 1000) is skipped, logged and counted, and the checkpoint moves past it: it
never holds a pattern back. One pattern failing, however, never stops the others.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError
from prometheus_client import CollectorRegistry, Counter, Gauge

from collectors.bulk_intake import MAX_TIMESTAMP_NS, MIN_TIMESTAMP_NS, DocumentError, ecs_get, log_record
from collectors.es_checkpoint import Checkpoint, CheckpointError, Position, format_iso_ns, parse_iso_ns
from collectors.urls import redact_url
from store.duckdb_store import DuckDBStore
from store.model import LogRecord

_log = logging.getLogger(__name__)
CHECKPOINT_PREFIX = "es_pull:"
KEEP_ALIVE = "1m"  # enough for one page; every search extends it
DATE_FORMAT = "strict_date_optional_time_nanos"  # sort values as full-precision strings
# numeric_type lets one pattern span indices mapping @timestamp as date and as date_nanos.
SORT = [{"@timestamp": {"order": "asc", "format": DATE_FORMAT, "numeric_type": "date_nanos"}}]


class PullError(Exception):
    """A pull of one index pattern (or several) failed; its checkpoint stayed where it was.

    Messages name the pattern and what Elasticsearch said, never credentials.
    """

    def __init__(self, message: str, *, index: str) -> None:
        super().__init__(message)
        self.index = index


def _describe(error: ApiError) -> str:
    """Status and error types of an Elasticsearch answer (its reasons may echo request details)."""
    body = error.body if isinstance(error.body, dict) else {}
    detail = body.get("error")
    kind = detail.get("type") if isinstance(detail, dict) else None
    causes = detail.get("root_cause") if isinstance(detail, dict) else None
    root = (
        causes[0].get("type") if isinstance(causes, list) and causes and isinstance(causes[0], dict) else None
    )
    named = " / ".join(str(k) for k in dict.fromkeys((kind, root)) if k)
    return f"HTTP {error.meta.status}" + (f" {named}" if named else "")


def hit_record(hit: dict[str, Any]) -> LogRecord:
    """A search hit as a LogRecord, converted as the bulk intake converts a document.

    The bulk intake reads ``@timestamp`` through ``datetime`` (microseconds); an ISO value
    with nanoseconds (``date_nanos``) keeps all of them here. Raises DocumentError for a hit
    that cannot be stored, whatever the reason.
    """
    source = hit.get("_source")
    if not isinstance(source, dict):
        raise DocumentError("the hit carries no _source")
    try:
        text = json.dumps(source)
    except (ValueError, TypeError, RecursionError) as error:
        raise DocumentError(f"the _source cannot be read ({type(error).__name__})") from None
    record = log_record(text, str(hit.get("_index", "")))
    timestamp = ecs_get(source, "@timestamp")
    if not isinstance(timestamp, str):
        return record
    try:
        ns = parse_iso_ns(timestamp)
    except CheckpointError:  # a form the bulk intake reads but not this strict parser
        return record
    if not MIN_TIMESTAMP_NS <= ns <= MAX_TIMESTAMP_NS:  # at the edges nanoseconds can tip it over
        raise DocumentError(f"@timestamp [{timestamp[:64]}] is out of the range the store can hold")
    return replace(record, timestamp_ns=ns)


class ElasticsearchPuller:
    """Pulls every configured index pattern up to ``now - lag_s``; see the module docstring."""

    def __init__(
        self,
        store: DuckDBStore,
        registry: CollectorRegistry,
        *,
        url: str,
        indices: Sequence[str],
        page_size: int = 1000,
        lag_s: float = 30.0,
        api_key: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        request_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        client: Elasticsearch | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self._store = store
        self._indices = list(indices)
        self._page_size = page_size
        self._lag_s = lag_s
        self._clock = clock
        self._where = redact_url(url)
        self._owns_client = client is None
        # The credentials go to the client only: never kept here, so never in a repr or a log.
        self._client = client or Elasticsearch(
            url, api_key=api_key, basic_auth=basic_auth, request_timeout=request_timeout_s
        )
        self._pulled = Counter(
            "watchfloor_es_pull_documents",
            "Documents pulled and stored, by index pattern.",
            ["index"],
            registry=registry,
        )
        self._failures = Counter(
            "watchfloor_es_pull_failures", "Failed pulls, by index pattern.", ["index"], registry=registry
        )
        self._skipped = Counter(
            "watchfloor_es_pull_skipped",
            "Documents skipped because they cannot be converted, by index pattern.",
            ["index"],
            registry=registry,
        )
        self._lag = Gauge(
            "watchfloor_es_pull_checkpoint_lag_seconds",
            "Seconds between now and the checkpoint's timestamp, by index pattern.",
            ["index"],
            registry=registry,
        )
        for pattern in self._indices:
            self._pulled.labels(pattern)
            self._failures.labels(pattern)
            self._skipped.labels(pattern)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    async def run(self, interval_s: float) -> None:
        """Pull every ``interval_s`` until cancelled; a failed pull is logged and retried next round."""
        while True:
            try:
                await asyncio.to_thread(self.pull_once)
            except PullError as error:
                _log.warning("pulling logs from %s failed: %s", self._where, error)
            except Exception:
                _log.exception("pulling logs from %s failed unexpectedly", self._where)
            await asyncio.sleep(interval_s)

    def pull_once(self) -> int:
        """Pull every pattern up to now - lag; answers the documents stored.

        One failing pattern, whatever the failure, does not stop the others; PullError is
        raised after they ran.
        """
        stored = 0
        failures: list[PullError] = []
        for pattern in self._indices:
            try:
                stored += self.pull_index(pattern)
            except PullError as error:
                failures.append(error)
            except Exception as error:
                self._failures.labels(pattern).inc()
                _log.exception("pulling %r from %s failed unexpectedly", pattern, self._where)
                # The type only: an unexpected error's text might echo what it was given.
                failure = PullError(
                    f"pulling {pattern!r} failed unexpectedly ({type(error).__name__})", index=pattern
                )
                failure.__cause__ = error
                failures.append(failure)
        if len(failures) == 1:
            raise failures[0]
        if failures:
            names = ", ".join(repr(f.index) for f in failures)
            raise PullError(f"pulling {names} failed; the first: {failures[0]}", index=failures[0].index)
        return stored

    def pull_index(self, pattern: str) -> int:
        """Pull one pattern from its checkpoint up to now - lag; answers the documents stored."""
        try:
            return self._pull(pattern)
        except PullError:
            self._failures.labels(pattern).inc()
            raise

    def _pull(self, pattern: str) -> int:
        name = CHECKPOINT_PREFIX + pattern
        try:
            position = Position(Checkpoint.from_json(self._store.checkpoint(name)))
        except CheckpointError as error:
            raise PullError(f"the checkpoint of {pattern!r} is unreadable: {error}", index=pattern) from error
        upper_ns = int((self._clock() - self._lag_s) * 1e9)
        if position.ns is not None and position.ns > upper_ns:
            return 0  # the clock went back (or the lag grew): nothing is settled yet
        query = self._query(position.timestamp, upper_ns)
        open_pit = self._client.open_point_in_time
        opened = self._call(
            pattern, "opening a point in time", open_pit, index=pattern, keep_alive=KEEP_ALIVE
        )
        pit_id = opened.get("id")
        if not isinstance(pit_id, str):
            raise PullError(f"opening a point in time on {pattern!r} answered no id", index=pattern)
        stored = 0
        try:
            search_after: list[Any] | None = None
            while True:
                page = self._call(
                    pattern,
                    "searching",
                    self._client.search,
                    pit={"id": pit_id, "keep_alive": KEEP_ALIVE},
                    query=query,
                    sort=SORT,
                    size=self._page_size,
                    search_after=search_after,
                    track_total_hits=False,
                )
                pit_id = str(page.get("pit_id") or pit_id)  # the newest id is the one to use next
                hits = self._hits(pattern, page)
                if not hits:
                    break
                records = self._take(pattern, hits, position)
                # Records and the position they lead to commit together, or neither does.
                self._store.write_logs(records, checkpoint=(name, position.checkpoint().to_json()))
                stored += len(records)
                self._pulled.labels(pattern).inc(len(records))
                if len(hits) < self._page_size:
                    break
                search_after = hits[-1]["sort"]
        finally:
            self._close_pit(pattern, pit_id)
        if position.ns is not None:
            self._lag.labels(pattern).set(max(0.0, self._clock() - position.ns / 1e9))
        return stored

    @staticmethod
    def _query(from_timestamp: str | None, upper_ns: int) -> dict[str, Any]:
        bounds: dict[str, Any] = {"lte": format_iso_ns(upper_ns), "format": DATE_FORMAT}
        if from_timestamp is not None:
            bounds["gte"] = from_timestamp  # gte, not gt: later ties at the checkpoint still count
        return {"bool": {"filter": [{"range": {"@timestamp": bounds}}]}}

    def _call(self, pattern: str, what: str, request: Callable[..., Any], **arguments: Any) -> dict[str, Any]:
        """One client call; Elasticsearch's exceptions become PullError here, at the boundary."""
        try:
            body = request(**arguments).body
        except ApiError as error:
            raise PullError(f"{what} on {pattern!r} failed: {_describe(error)}", index=pattern) from error
        except TransportError as error:
            message = f"{what} on {pattern!r} failed: {type(error).__name__} talking to {self._where}"
            raise PullError(message, index=pattern) from error
        if not isinstance(body, dict):
            raise PullError(f"{what} on {pattern!r} answered something other than an object", index=pattern)
        return body

    @staticmethod
    def _hits(pattern: str, page: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            hits = page["hits"]["hits"]
            if hits and not isinstance(hits[-1]["sort"], list):
                raise TypeError("sort")
        except (KeyError, TypeError, IndexError) as error:
            raise PullError(
                f"a search on {pattern!r} answered without hits or sort values", index=pattern
            ) from error
        return list(hits)

    def _take(self, pattern: str, hits: list[dict[str, Any]], position: Position) -> list[LogRecord]:
        """The new hits of a page as records, moving ``position`` past every one, convertible or not."""
        records = []
        for hit in hits:
            index, doc_id = str(hit.get("_index")), str(hit.get("_id"))
            try:
                is_new = position.take(str(hit["sort"][0]), (index, doc_id))
            except (CheckpointError, KeyError, IndexError) as error:
                message = f"{index}/{doc_id} has no date sort value: is @timestamp mapped as a date?"
                raise PullError(message, index=pattern) from error
            if not is_new:
                continue
            try:
                records.append(hit_record(hit))
            except DocumentError as error:
                # The position has already moved past it: it is logged and counted this once.
                self._skipped.labels(pattern).inc()
                _log.warning("skipped document %s/%s of %r: %s", index, doc_id, pattern, error)
        return records

    def _close_pit(self, pattern: str, pit_id: str) -> None:
        """Free the PIT; a failure only costs the cluster its keep-alive, so it is logged, not raised."""
        try:
            self._client.close_point_in_time(id=pit_id)
        except (ApiError, TransportError) as error:
            _log.info(
                "closing a point in time of %r failed (%s); it lapses on its own",
                pattern,
                type(error).__name__,
            )
