"""A canary metric's values for one scope and window, read from the store.

Every query type ends as per-step values over the scope's window, ``values[i]`` covering
the step ending at ``start + (i + 1) * step`` (the store's convention), NaN for no data:

- ``atlas``: the stack-language expression with the scope added to every query it makes
  (``:list,(,nf.cluster,<scope>,:eq,:cq,),:each``, the way Kayenta's Atlas source scopes
  a query); each series on the stack is one result, told apart by its tags.
- ``spans``: latency or error rate per operation, from the span-derived RED series
  (``collectors/span_metrics.py``): ``mean`` is total time over calls (exact),
  ``p50``…``p99`` are estimated inside the duration buckets as Prometheus's
  ``histogram_quantile`` does, ``errorRate`` is error calls over all calls (0 in a step
  with calls but no errors). Without an operation, only server spans count, so a call is
  not counted once by its client and again by its server. Latency is in seconds.
- ``logs``: matching log lines per second; the scope is the ECS label of the scope's
  key (``labels.nf_cluster``). A scope that logged nothing at all in the window has no
  data (NaN), not a rate of 0: a misspelt cluster must not pass as "no errors".
- ``prometheus``: PromQL on the Prometheus metrics backend, ``${scope}`` replaced by the
  scope's value (quoted for a PromQL string) and ``${step}`` by the step; each series of the
  answer is one result, told apart by its labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from canary.config import SCOPE_PLACEHOLDER, MetricQuery
from canary.scopes import ScopeWindow
from stacklang import Limits, StackLangError, evaluate
from stacklang.tokens import escape
from store.backends.promql_text import duration, label_name, quote
from store.interfaces import BackendError, LogReader, LogSearch, SeriesReader, promql_series

__all__ = ["FetchError", "FetchedSeries", "MetricSource", "spans_expression"]


class FetchError(Exception):
    """A metric's data could not be read (a query over the limits, for example)."""


@dataclass(frozen=True, slots=True)
class FetchedSeries:
    """One series of a metric for one scope; ``tags`` without the scope's own key."""

    tags: dict[str, str]
    values: npt.NDArray[np.float64]


def spans_expression(query: MetricQuery) -> str:
    """The stack-language expression over span-derived series that a ``spans`` query means."""
    # Names are escaped: an operation such as "GET /a,b" or "GET /static/*" is one literal.
    where = f"nf.app,{escape(str(query.service))},:eq"
    if query.operation is not None:
        where += f",span.name,{escape(query.operation)},:eq,:and"
    else:
        where += ",span.kind,server,:eq,:and"
    if query.statistic == "errorRate":
        calls = f"name,span.calls,:eq,{where},:and"
        # Error calls are NaN in a step without errors: adding 0 (NaN-aware) makes them 0.
        return f"{calls},status.code,error,:eq,:and,:sum,0,:add,{calls},:sum,:div"
    durations = f"name,span.duration,:eq,{where},:and"
    if query.statistic == "mean":
        return f"{durations},:dist-avg"
    return f"{durations},(,{str(query.statistic)[1:]},),:percentiles"


class MetricSource:
    """Reads canary metrics from a series reader and a log reader (the store is both)."""

    def __init__(self, series: SeriesReader, logs: LogReader | None, *, limits: Limits | None = None) -> None:
        self._series = series
        self._logs = logs
        self._limits = limits or Limits(max_series=100, max_points=200_000)

    def fetch(self, query: MetricQuery, scope: ScopeWindow) -> list[FetchedSeries]:
        """The metric's series for ``scope``; raises :class:`FetchError` when they cannot be read."""
        if query.type == "logs":
            return [self._log_rate(query, scope)]
        if query.type == "prometheus":
            return self._promql(str(query.q), scope)
        expression = str(query.q) if query.type == "atlas" else spans_expression(query)
        scope_query = f"{escape(scope.key)},{escape(scope.scope)},:eq"
        scoped = f"{expression},:list,(,{scope_query},:cq,),:each"
        try:
            found = evaluate(
                scoped, self._series, scope.start_ms, scope.end_ms, scope.step_ms, limits=self._limits
            )
        except (StackLangError, BackendError) as exc:
            raise FetchError(str(exc)) from None
        return [
            FetchedSeries({k: v for k, v in s.tags.items() if k != scope.key}, np.array(s.values))
            for s in found
        ]

    def _promql(self, template: str, scope: ScopeWindow) -> list[FetchedSeries]:
        # The value goes inside a PromQL string ("${scope}"): escaped as one, without its quotes.
        promql = template.replace(SCOPE_PLACEHOLDER, quote(scope.scope)[1:-1]).replace(
            "${step}", duration(scope.step_ms)
        )
        try:
            found = promql_series(self._series, promql, scope.start_ms, scope.end_ms, scope.step_ms)
        except BackendError as exc:
            raise FetchError(str(exc)) from None
        label = label_name(scope.key)
        return [
            FetchedSeries(
                {k: v for k, v in s.tags.items() if k not in (scope.key, label)}, np.array(s.values)
            )
            for s in found
        ]

    def _log_rate(self, query: MetricQuery, scope: ScopeWindow) -> FetchedSeries:
        if self._logs is None:
            raise FetchError("this server has no log store to read")
        label = (scope.key.replace(".", "_"), scope.scope)
        search = LogSearch(service=query.service, level=query.level, text=query.text, labels=(label,))
        counts = self._logs.log_counts(search, scope.start_ms, scope.end_ms, scope.step_ms)
        tags = {"name": "log.lines", "level": str(query.level)}
        if query.service is not None:
            tags["nf.app"] = query.service
        if not any(counts):
            anything = LogSearch(service=query.service, labels=(label,))
            if not any(self._logs.log_counts(anything, scope.start_ms, scope.end_ms, scope.step_ms)):
                return FetchedSeries(tags, np.full(len(counts), math.nan))
        return FetchedSeries(tags, np.asarray(counts, dtype=np.float64) / (scope.step_ms / 1000))
