"""Logs from an Elasticsearch cluster: a LogReader over the ECS documents of an index pattern.

Answers what the embedded store (``store/duckdb_reads.py``) answers for the same LogSearch:
service, levels and trace id equal (levels and trace ids in any case when asked in lower
case, as the store lower-cases them; "" also matching a missing field), labels equal, time
bounds inclusive at both ends, newest first (oldest first after ``after``), a total order on
``(timestamp_ns, seq)`` so ``before``/``after`` paging neither skips nor repeats a document
however many share a timestamp, and counts per step ``(t - step, t]``. Records are converted
by the bulk intake's converter. A search that one request cannot settle (the ``limit`` cuts
into documents sharing a timestamp: they are ordered by seq here, so all of them are read
first) pages through a point in time with ``search_after``. Counts are a ``date_histogram``
with a 1 ms ``offset`` (its ``[key, key + step)`` over whole milliseconds is the store's
``(t - step, t]``), plus a count of the ``date_nanos`` documents less than 1 ms after a
boundary, which the histogram (milliseconds only) puts a step early (see ``count_request``).

Where it differs from the store, exactly:

- ``text`` is a ``match_phrase`` on ``message``, not a case-insensitive substring: the words
  of the text (as the field's analyser splits and lower-cases them; the standard analyser by
  default) must appear consecutively. So a part of a word does not match ("time" does not
  find "timeout"); punctuation and spacing between words are ignored ("connection refused"
  finds "connection: refused"); a text with no word in it ("->") matches nothing.
- ``seq`` is a 63-bit hash of ``(_index, _id)`` (:func:`document_seq`), not the insertion
  order: documents sharing a timestamp come in another (stable) order, and a cursor from
  one backend means nothing to the other.
- ``timestamp_ns`` is the value Elasticsearch indexed, not the source's text: an index mapping
  ``@timestamp`` as ``date`` keeps milliseconds, so sub-millisecond digits of a source are
  dropped there (and bounds, order and steps use the millisecond); ``date_nanos`` keeps all.
- ``labels`` match ``labels.<key>`` however the document spells it; the store reads only the
  nested form, so a top-level dotted ``"labels.team": "x"`` matches here and not there. A
  label holding an array matches any of its values here.
- Fields are read as ECS maps them (``service.name``, ``log.level``, ``trace.id``, ``labels.*``
  keywords, ``message`` text); under plain dynamic mapping (text plus ``.keyword``) the term
  conditions miss. A number, boolean or array compares as Elasticsearch indexed it, where the
  store compares Python's text of it (``"log.level": false`` is "" there).
- A document the bulk intake would refuse but Elasticsearch took (say ``@timestamp`` without
  a zone) is returned; one whose ``_source`` cannot be converted is logged and skipped.
- A step holding more than 500 distinct levels fails with :class:`LogBackendError` rather
  than count short.

Every failure raises :class:`LogBackendError` naming the index pattern and the reason, never
a credential; a pattern that matches no index reads as empty. Calls block; the client is
thread-safe, so a reader may be shared by threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from elasticsearch import ApiError, Elasticsearch, TransportError

from collectors.es_checkpoint import CheckpointError, parse_iso_ns
from collectors.urls import redact_url
from store.backends.elasticsearch_queries import (
    Collected,
    CountAnswerError,
    count_request,
    document_seq,
    search_query,
    sort,
    step_counts,
    windows,
)
from store.interfaces import BackendError, LogSearch, step_grid
from store.model import LogRecord

__all__ = ["ElasticsearchLogReader", "LogBackendError", "document_seq"]

_log = logging.getLogger(__name__)
KEEP_ALIVE = "1m"  # enough for one page; every search extends it
MAX_PAGE_SIZE = 10_000  # index.max_result_window: a bigger page is refused


class LogBackendError(BackendError):
    """Reading logs from Elasticsearch failed; the message names the index pattern and the reason."""

    def __init__(self, message: str, *, index: str) -> None:
        super().__init__(message)
        self.index = index


class ElasticsearchLogReader:
    """Reads ECS logs from the indices or data streams ``index`` names on the cluster at ``url``.

    ``url`` may carry ``user:password@``; ``api_key`` (a secret) goes to the client only, never
    into a repr, a message or a log. ``timeout_s`` bounds each request. ``page_size`` hits per
    page of a long read. ``steps_per_request`` steps per count request: its buckets must stay
    under ``search.max_buckets`` (65,536) and its ranges, one per step boundary, under the
    query clause limit (1,024 at least).
    """

    def __init__(
        self,
        url: str,
        *,
        index: str = "logs-*",
        api_key: str | None = None,
        timeout_s: float = 30.0,
        page_size: int = 1000,
        steps_per_request: int = 500,
        client: Elasticsearch | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        if steps_per_request < 1:
            raise ValueError("steps_per_request must be at least 1")
        self._index = index
        self._page_size = page_size
        self._steps_per_request = steps_per_request
        self._where = redact_url(url)
        try:
            # A username is no secret, but the redacted URL hides it: error reasons may name it.
            self._user = urlsplit(url).username
        except ValueError:
            self._user = None
        self._owns_client = client is None
        self._client = client or Elasticsearch(url, api_key=api_key, request_timeout=timeout_s)

    def __repr__(self) -> str:
        return f"ElasticsearchLogReader({self._where!r}, index={self._index!r})"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> ElasticsearchLogReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- search ------------------------------------------------------------------------------

    def search_logs(self, search: LogSearch) -> list[LogRecord]:
        if search.limit < 0:
            raise ValueError("limit cannot be negative")  # as the store's LIMIT refuses it
        if search.limit == 0:
            return []
        query, order = search_query(search), sort("asc" if search.after is not None else "desc")
        # Half again the limit: a tie at the cut rarely runs that long, so one request usually
        # settles the answer without the three a point in time costs.
        size = min(self._page_size, search.limit + search.limit // 2 + 1)
        page = self._call(
            "searching",
            self._client.search,
            index=self._index,
            query=query,
            sort=order,
            size=size,
            track_total_hits=False,
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        collected = Collected(search)
        hits, last_ns = self._take(collected, page)
        if len(hits) < size or collected.settled(last_ns):
            return collected.answer()
        # Unsettled: read again from the start in one snapshot, so no page sees another state.
        return self._read_in_pit(search, query, order)

    def _read_in_pit(
        self, search: LogSearch, query: dict[str, Any], order: list[dict[str, Any]]
    ) -> list[LogRecord]:
        opened = self._call(
            "opening a point in time on",
            self._client.open_point_in_time,
            index=self._index,
            keep_alive=KEEP_ALIVE,
            ignore_unavailable=True,
        )
        pit_id = opened.get("id")
        if not isinstance(pit_id, str):
            raise LogBackendError(
                f"opening a point in time on {self._index!r} answered no id", index=self._index
            )
        collected = Collected(search)
        try:
            search_after: list[Any] | None = None
            while True:
                page = self._call(
                    "searching",
                    self._client.search,
                    pit={"id": pit_id, "keep_alive": KEEP_ALIVE},
                    query=query,
                    sort=order,
                    size=self._page_size,
                    search_after=search_after,
                    track_total_hits=False,
                )
                pit_id = str(page.get("pit_id") or pit_id)  # the newest id is the one to use next
                hits, last_ns = self._take(collected, page)
                if len(hits) < self._page_size or collected.settled(last_ns):
                    return collected.answer()
                search_after = hits[-1]["sort"]
        finally:
            self._close_pit(pit_id)

    def _take(self, collected: Collected, page: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
        """Add a page's hits to ``collected``; answers them and the last one's timestamp (ns)."""
        try:
            hits = list(page["hits"]["hits"])
            timestamps = [parse_iso_ns(str(hit["sort"][0])) for hit in hits]
        except (KeyError, TypeError, IndexError, CheckpointError) as error:
            message = (
                f"a search of {self._index!r} answered no hits or no date sort values ({error!r}): "
                "is @timestamp mapped as a date?"
            )
            raise LogBackendError(message, index=self._index) from error
        for hit, skipped in collected.add(hits, timestamps):
            _log.warning("skipped document %s/%s: %s", hit.get("_index"), hit.get("_id"), skipped)
        return hits, timestamps[-1] if timestamps else 0

    def _close_pit(self, pit_id: str) -> None:
        """Free the PIT; a failure only costs the cluster its keep-alive, so it is logged, not raised."""
        try:
            self._client.close_point_in_time(id=pit_id)
        except (ApiError, TransportError) as error:
            _log.info(
                "closing a point in time on %r failed (%s); it lapses on its own",
                self._index,
                type(error).__name__,
            )

    # --- counts ------------------------------------------------------------------------------

    def log_counts(self, search: LogSearch, start_ms: int, end_ms: int, step_ms: int) -> list[int]:
        start, steps = step_grid(start_ms, end_ms, step_ms)
        return self._counts(search, start, steps, end_ms, step_ms, by_level=False).get("", [0] * steps)

    def log_counts_by_level(
        self, search: LogSearch, start_ms: int, end_ms: int, step_ms: int
    ) -> dict[str, list[int]]:
        start, steps = step_grid(start_ms, end_ms, step_ms)
        return dict(sorted(self._counts(search, start, steps, end_ms, step_ms, by_level=True).items()))

    def _counts(
        self, search: LogSearch, start: int, steps: int, end_ms: int, step_ms: int, *, by_level: bool
    ) -> dict[str, list[int]]:
        """Counts per level ("" when not by level) over the aligned grid, a window per request."""
        total: dict[str, list[int]] = {}
        for window in windows(start, steps, step_ms, self._steps_per_request):
            answer = self._call(
                "counting",
                self._client.search,
                index=self._index,
                size=0,
                track_total_hits=False,
                ignore_unavailable=True,
                allow_no_indices=True,
                **count_request(search, window, end_ms, step_ms, by_level=by_level),
            )
            try:
                found = step_counts(answer, window, step_ms, by_level=by_level)
            except CountAnswerError as error:
                raise LogBackendError(
                    f"counting {self._index!r} failed: {error}", index=self._index
                ) from error
            for level, counts in found.items():
                total.setdefault(level, [0] * steps)[window.first : window.first + window.steps] = counts
        return total

    # --- the boundary ------------------------------------------------------------------------

    def _call(self, what: str, request: Callable[..., Any], **arguments: Any) -> dict[str, Any]:
        """One client call; the client's exceptions become LogBackendError here."""
        try:
            body = request(**arguments).body
        except ApiError as error:
            message = f"{what} {self._index!r} on {self._where} failed: {self._describe(error)}"
            raise LogBackendError(message, index=self._index) from error
        except TransportError as error:
            message = (
                f"{what} {self._index!r} failed: {type(error).__name__} talking to {self._where}: "
                f"{self._scrub(str(error.message))}"
            )
            raise LogBackendError(message, index=self._index) from error
        if not isinstance(body, dict):
            raise LogBackendError(
                f"{what} {self._index!r} answered something other than an object", index=self._index
            )
        return body

    def _describe(self, error: ApiError) -> str:
        """Status, error types and the root cause's reason of an Elasticsearch error answer."""
        body = error.body if isinstance(error.body, dict) else {}
        detail = body.get("error")
        if not isinstance(detail, dict):
            return f"HTTP {error.meta.status}" + (f" {self._scrub(str(detail))[:300]}" if detail else "")
        causes = detail.get("root_cause")
        cause = causes[0] if isinstance(causes, list) and causes and isinstance(causes[0], dict) else detail
        kinds = " / ".join(str(k) for k in dict.fromkeys((detail.get("type"), cause.get("type"))) if k)
        reason = cause.get("reason") or detail.get("reason")
        return f"HTTP {error.meta.status} {kinds}" + (f": {self._scrub(str(reason))[:300]}" if reason else "")

    def _scrub(self, text: str) -> str:
        return text.replace(self._user, "***") if self._user else text
