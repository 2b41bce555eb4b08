"""One reader per signal: metrics, spans and logs each from the backend configured for it.

The analysis packages and the API take a :class:`~store.interfaces.Reader`; the embedded
store is one, and so is :class:`SignalReaders`, which sends each read where its signal lives:

- series: the embedded store always holds what Watchfloor derives itself (span RED series,
  points published to ``/api/v1/publish``); with a metrics backend, the scraped metrics live
  there. A query is asked of both and the answers joined, since a series lives in exactly
  one of them. PromQL goes to the metrics backend only.
- spans: the embedded store.
- logs: the logs backend when one is configured, else the embedded store.
"""

from __future__ import annotations

from store.interfaces import (
    Consolidation,
    Exemplar,
    LogReader,
    LogSearch,
    Reader,
    SeriesReader,
    SeriesValues,
    ServiceCalls,
    SpanFilter,
    SpanSearch,
    TooManySeries,
    TraceQuery,
    TraceSummary,
)
from store.interfaces import promql_series as read_promql
from store.model import LogRecord, Span
from store.tag_query import TagQuery

__all__ = ["SignalReaders"]


class SignalReaders:
    """``embedded`` for what Watchfloor keeps itself; ``metrics`` and ``logs`` when configured elsewhere."""

    def __init__(
        self, embedded: Reader, *, metrics: SeriesReader | None = None, logs: LogReader | None = None
    ) -> None:
        self.embedded = embedded
        self.metrics = metrics
        self.logs = logs if logs is not None else embedded

    # Series -----------------------------------------------------------------------------

    def series(
        self,
        query: TagQuery,
        start_ms: int,
        end_ms: int,
        step_ms: int,
        consolidation: Consolidation = "avg",
        *,
        max_series: int | None = None,
    ) -> list[SeriesValues]:
        local = self.embedded.series(query, start_ms, end_ms, step_ms, consolidation, max_series=max_series)
        if self.metrics is None:
            return local
        allowed = None if max_series is None else max_series - len(local)
        try:
            remote = self.metrics.series(query, start_ms, end_ms, step_ms, consolidation, max_series=allowed)
        except TooManySeries as too_many:
            assert max_series is not None
            raise TooManySeries(too_many.found + len(local), max_series) from None
        return local + remote

    def tag_keys(self, query: TagQuery | None = None) -> list[str]:
        remote = self.metrics.tag_keys(query) if self.metrics is not None else []
        return sorted(set(self.embedded.tag_keys(query)) | set(remote))

    def tag_values(self, key: str, query: TagQuery | None = None) -> list[str]:
        remote = self.metrics.tag_values(key, query) if self.metrics is not None else []
        return sorted(set(self.embedded.tag_values(key, query)) | set(remote))

    def promql_series(self, promql: str, start_ms: int, end_ms: int, step_ms: int) -> list[SeriesValues]:
        return read_promql(self.metrics, promql, start_ms, end_ms, step_ms)

    # Spans ------------------------------------------------------------------------------

    def trace(self, trace_id: str, limit: int | None = None) -> list[Span]:
        return self.embedded.trace(trace_id, limit)

    def search_spans(self, search: SpanSearch) -> list[Span]:
        return self.embedded.search_spans(search)

    def find_traces(self, query: TraceQuery) -> list[TraceSummary]:
        return self.embedded.find_traces(query)

    def span_services(self, start_ns: int | None = None) -> dict[str, int]:
        return self.embedded.span_services(start_ns)

    def span_operations(self, service: str, start_ns: int | None = None) -> list[tuple[str, str, int]]:
        return self.embedded.span_operations(service, start_ns)

    def service_calls(self, start_ns: int, end_ns: int) -> list[ServiceCalls]:
        return self.embedded.service_calls(start_ns, end_ns)

    def span_exemplars(
        self, spans: SpanFilter, start_ms: int, end_ms: int, step_ms: int, *, per_step: int = 1
    ) -> list[Exemplar]:
        return self.embedded.span_exemplars(spans, start_ms, end_ms, step_ms, per_step=per_step)

    # Logs -------------------------------------------------------------------------------

    def search_logs(self, search: LogSearch) -> list[LogRecord]:
        return self.logs.search_logs(search)

    def log_counts(self, search: LogSearch, start_ms: int, end_ms: int, step_ms: int) -> list[int]:
        return self.logs.log_counts(search, start_ms, end_ms, step_ms)

    def log_counts_by_level(
        self, search: LogSearch, start_ms: int, end_ms: int, step_ms: int
    ) -> dict[str, list[int]]:
        return self.logs.log_counts_by_level(search, start_ms, end_ms, step_ms)
