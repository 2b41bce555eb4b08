"""A :class:`~store.interfaces.SeriesReader` over a Prometheus-HTTP-API engine (Prometheus, VictoriaMetrics…).

Atlas queries select series by their Atlas tags (:mod:`store.backends.prometheus_names`):
the query becomes PromQL selectors that select a superset (:mod:`store.backends.promql_selectors`),
``/api/v1/series`` lists what they select, and only the series the original query matches on
their Atlas tags are read — so ``max_series`` is checked before any sample is read, as the
embedded store does. Values are read with one ``query_range`` per Prometheus metric name:

- counters (rates): ``rate(sel[R])`` with ``R`` the step, but at least two scrape intervals
  (a window holding one sample has no rate); ``sum`` consolidation scales the mean rate to
  the sum of the base-step rates, ``max``/``min`` take the extreme base-step rate (a subquery);
- gauges: ``last_over_time(sel[step])`` at the base step (the last value wins, as the
  normaliser keeps it), ``avg``/``max``/``min_over_time`` over wider steps.

Steps line up with the embedded store: ``start`` is aligned down to the step and value ``i``
is the engine's answer at ``start + (i + 1)·step``, covering the step that ends there.

How rates differ from the embedded store's, and why: the normaliser spreads each increase
between two scrapes over the steps the interval covers, so per-step counts add up to the
counter's increase exactly. Prometheus's ``rate`` sees only the samples inside a window and
extrapolates to the window's edges (by at most half a scrape interval), so one step's value
is off by up to one scrape's worth of increase either way, while sums over many steps agree
to within about one scrape interval's share. VictoriaMetrics' ``rate`` counts from the last
sample before the window, without extrapolation, and each increase lands in the step of the
scrape that saw it. docs/scale-out.md has the figures measured on the sample fleet.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from store.backends.prometheus_http import PrometheusHTTP, RangeSeries
from store.backends.prometheus_names import AtlasSeries, atlas_series, engine_query, tag_key
from store.backends.promql_selectors import label_name, selectors
from store.backends.promql_text import duration, quote, regex_literal
from store.interfaces import Consolidation, SeriesValues, TooManySeries, step_grid
from store.tag_query import Has, TagQuery

__all__ = ["PrometheusSeriesReader"]

# Past this many values a label is left out of a read's selector (a wider read, filtered here).
_MAX_ALTERNATIVES = 32
# Prometheus refuses a query_range of more than 11,000 points per series: longer reads go in pieces.
MAX_POINTS_PER_QUERY = 10_000
_METADATA_TTL_S = 60.0
_DERIVED = ("name", "statistic")


def _selector(name: str, members: Sequence[Mapping[str, str]]) -> str:
    """One selector for a metric name holding at least ``members`` (label values as alternations)."""
    matchers = [f"__name__={quote(name)}"]
    keys = sorted({k for labels in members for k in labels if k != "__name__"})
    for key in keys:
        values = sorted({labels.get(key, "") for labels in members})
        if len(values) <= _MAX_ALTERNATIVES:
            pattern = "|".join(regex_literal(v) for v in values)
            matchers.append(f"{key}=~{quote(pattern)}")
    return "{" + ", ".join(matchers) + "}"


def _identity(labels: Mapping[str, str]) -> frozenset[tuple[str, str]]:
    return frozenset((k, v) for k, v in labels.items() if k != "__name__")


class PrometheusSeriesReader:
    """Reads Atlas-style series from a Prometheus engine; ``base_step_ms`` is the finest step served."""

    def __init__(
        self,
        client: PrometheusHTTP,
        *,
        base_step_ms: int,
        scrape_interval_ms: int | None = None,
        lookback_ms: int = 3_600_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.base_step_ms = base_step_ms
        self._scrape_ms = scrape_interval_ms or base_step_ms
        self._lookback_ms = lookback_ms
        self._clock = clock
        self._types: dict[str, str] = {}
        self._types_at = -math.inf
        self._lock = threading.Lock()

    def _family_types(self) -> dict[str, str]:
        now = self._clock()
        with self._lock:
            if now - self._types_at >= _METADATA_TTL_S:
                self._types, self._types_at = self.client.metadata(), now
            return self._types

    def _matching(
        self, query: TagQuery, start_ms: int, end_ms: int
    ) -> list[tuple[dict[str, str], AtlasSeries]]:
        """(labels, Atlas view) of every series ``query`` matches with samples in the range."""
        wanted = selectors(engine_query(query))
        if not wanted:
            return []
        listed = self.client.series(wanted, start_ms / 1000, end_ms / 1000)
        types = self._family_types()
        found: dict[frozenset[tuple[str, str]], tuple[dict[str, str], AtlasSeries]] = {}
        for labels in listed:
            atlas = atlas_series(labels, types)
            if atlas is not None and query.matches(atlas.tags):
                found[frozenset(labels.items())] = (labels, atlas)
        return list(found.values())

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
        start_ms, steps = step_grid(start_ms, end_ms, step_ms)
        matching = self._matching(query, start_ms, start_ms + steps * step_ms)
        if max_series is not None and len(matching) > max_series:
            raise TooManySeries(len(matching), max_series)
        if not matching or steps == 0:
            return []
        groups: dict[tuple[str, str], list[dict[str, str]]] = {}
        for labels, atlas in matching:
            groups.setdefault((labels["__name__"], atlas.kind), []).append(labels)
        read: dict[tuple[str, frozenset[tuple[str, str]]], np.ndarray] = {}
        for (name, kind), members in groups.items():
            expression = self._expression(_selector(name, members), kind, step_ms, consolidation)
            for found in self._range(expression, start_ms, step_ms, steps):
                read[(name, _identity(found.labels))] = _on_grid(found, start_ms, step_ms, steps)
        empty = np.full(steps, np.nan)
        return [
            SeriesValues(
                atlas.tags, start_ms, step_ms, read.get((labels["__name__"], _identity(labels)), empty.copy())
            )
            for labels, atlas in matching
        ]

    def _expression(self, selector: str, kind: str, step_ms: int, consolidation: Consolidation) -> str:
        base = self.base_step_ms
        scale = f" * {step_ms / base!r}" if step_ms != base else ""
        if kind == "rate":
            if consolidation in ("max", "min") and step_ms > base:
                inner = f"rate({selector}[{self._rate_range(base)}])"
                return f"{consolidation}_over_time({inner}[{duration(step_ms)}:{duration(base)}])"
            rate = f"rate({selector}[{self._rate_range(step_ms)}])"
            return rate + scale if consolidation == "sum" else rate
        window = duration(step_ms)
        if step_ms <= base:
            return f"last_over_time({selector}[{window}])"
        if consolidation == "sum":
            return f"avg_over_time({selector}[{window}]){scale}"
        return f"{consolidation}_over_time({selector}[{window}])"

    def _rate_range(self, step_ms: int) -> str:
        return duration(max(step_ms, 2 * self._scrape_ms))

    def promql_series(self, promql: str, start_ms: int, end_ms: int, step_ms: int) -> list[SeriesValues]:
        """A PromQL expression's series over (start, end] on the store's grid, labels as Atlas tags."""
        start_ms, steps = step_grid(start_ms, end_ms, step_ms)
        if steps == 0:
            return []
        return [
            SeriesValues(_tags(found.labels), start_ms, step_ms, _on_grid(found, start_ms, step_ms, steps))
            for found in self._range(promql, start_ms, step_ms, steps)
        ]

    def _range(self, promql: str, start_ms: int, step_ms: int, steps: int) -> list[RangeSeries]:
        """``query_range`` at each step end, MAX_POINTS_PER_QUERY at a time; each series' pieces joined."""
        joined: dict[frozenset[tuple[str, str]], tuple[Mapping[str, str], list[tuple[float, float]]]] = {}
        for first in range(0, steps, MAX_POINTS_PER_QUERY):
            last = min(steps, first + MAX_POINTS_PER_QUERY)
            answer = self.client.query_range(
                promql,
                (start_ms + (first + 1) * step_ms) / 1000,
                (start_ms + last * step_ms) / 1000,
                step_ms / 1000,
            )
            for found in answer.series:
                key = frozenset(found.labels.items())
                joined.setdefault(key, (found.labels, []))[1].extend(found.points)
        return [RangeSeries(labels, tuple(points)) for labels, points in joined.values()]

    def tag_keys(self, query: TagQuery | None = None) -> list[str]:
        if query is None:
            labels = self.client.labels(start_s=self._since_s(), end_s=self._clock())
            return sorted({tag_key(label) for label in labels if label != "__name__"} | set(_DERIVED))
        return sorted({k for _, atlas in self._recent(query) for k in atlas.tags})

    def tag_values(self, key: str, query: TagQuery | None = None) -> list[str]:
        if query is None and key not in _DERIVED:
            return self.client.label_values(label_name(key), start_s=self._since_s(), end_s=self._clock())
        found = self._recent(query if query is not None else Has(key))
        return sorted({atlas.tags[key] for _, atlas in found if key in atlas.tags})

    def _since_s(self) -> float:
        return self._clock() - self._lookback_ms / 1000

    def _recent(self, query: TagQuery) -> list[tuple[dict[str, str], AtlasSeries]]:
        now_ms = int(self._clock() * 1000)
        return self._matching(query, now_ms - self._lookback_ms, now_ms)


def _tags(labels: Mapping[str, str]) -> dict[str, str]:
    tags = {tag_key(k): v for k, v in labels.items() if k != "__name__"}
    if "__name__" in labels:
        tags["name"] = labels["__name__"]
    return tags


def _on_grid(found: RangeSeries, start_ms: int, step_ms: int, steps: int) -> np.ndarray:
    """The points of one answer on the step grid; NaN where the engine gave none."""
    values = np.full(steps, np.nan)
    for time_s, value in found.points:
        index = round(time_s * 1000 - start_ms) // step_ms - 1
        if 0 <= index < steps:
            values[index] = value
    return values
