"""Read an SLI's per-step numbers from the store with the stack language.

Every metric source of type ``atlas`` is evaluated with :func:`stacklang.evaluate` over
the range; one of type ``prometheus`` (a Sloth template, ``[{{.window}}]`` standing for the
range) is run on the Prometheus metrics backend with the window set to the step, so a
``rate`` is the step's mean rate. The series either yields are summed per step (a step
where all are NaN stays NaN: no data). Atlas normalises counters to rates per second, so
with ``counter: true`` (the default) a rate becomes a count by multiplying by the step in seconds; with
``counter: false`` the query's values are taken as counts per step as they are.

- ratio SLIs give ``good`` and ``total`` counts (``good = total − bad`` for bad/total);
- threshold SLIs give the metric's value per step, compared with each objective later
  (:func:`threshold_counts`): a step with a value is one event, good when it meets the
  objective's ``op`` and ``value``.

Arrays are aligned as the stack language aligns them: value ``i`` covers
``(start + i·step, start + (i + 1)·step]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from slo.atlas_promql import Untranslatable, render, source_template
from slo.budgeting import Floats
from slo.model import SLI, MetricSource, Objective
from stacklang import Limits, ResultSeries, StackLangError, evaluate
from store.backends.promql_text import duration
from store.interfaces import BackendError, SeriesReader, SeriesValues, promql_series

__all__ = ["IndicatorError", "IndicatorValues", "read_indicator", "threshold_counts"]

_OPS = {
    "lt": np.less,
    "lte": np.less_equal,
    "gt": np.greater,
    "gte": np.greater_equal,
}


class IndicatorError(Exception):
    """An SLI cannot be read (a query the store refuses, a source type not served here)."""


@dataclass(frozen=True, slots=True)
class IndicatorValues:
    """Per-step numbers of one SLI: ``good``/``total`` counts, or ``values`` of a threshold metric."""

    good: Floats | None = None
    total: Floats | None = None
    values: Floats | None = None


def _summed(source: MetricSource, reader: SeriesReader, span: tuple[int, int, int], limits: Limits) -> Floats:
    start_ms, end_ms, step_ms = span
    steps = (end_ms - start_ms) // step_ms
    found: Sequence[SeriesValues | ResultSeries]
    if source.type == "prometheus":
        found = _promql(source, reader, span)
    elif source.type != "atlas":
        raise IndicatorError(f"metric source type {source.type!r} is not served here")
    else:
        try:
            found = evaluate(source.query, reader, start_ms, end_ms, step_ms, limits=limits)
        except StackLangError as exc:
            raise IndicatorError(f"{source.query!r}: {exc}") from exc
        except BackendError as exc:
            raise IndicatorError(str(exc)) from exc
    if not found:
        return np.full(steps, np.nan)
    stacked = np.vstack([series.values[:steps] for series in found])
    present = np.isfinite(stacked).any(axis=0)
    return np.where(present, np.nansum(stacked, axis=0), np.nan)


def _promql(source: MetricSource, reader: SeriesReader, span: tuple[int, int, int]) -> list[SeriesValues]:
    """A ``prometheus`` source's series, its window set to the step."""
    start_ms, end_ms, step_ms = span
    try:
        query = render(source_template(source), duration(step_ms))
        return promql_series(reader, query, start_ms, end_ms, step_ms)
    except (Untranslatable, BackendError) as exc:
        raise IndicatorError(f"{source.query!r}: {exc}") from exc


def read_indicator(
    sli: SLI, reader: SeriesReader, start_ms: int, end_ms: int, step_ms: int, limits: Limits | None = None
) -> IndicatorValues:
    """The numbers of ``sli`` for the steps of ``(start_ms, end_ms]`` (both multiples of ``step_ms``)."""
    span, limits = (start_ms, end_ms, step_ms), limits or Limits()
    if sli.threshold_metric is not None:
        return IndicatorValues(values=_summed(sli.threshold_metric.metric_source, reader, span, limits))
    ratio = sli.ratio_metric
    if ratio is None:
        raise IndicatorError(f"SLI {sli.name!r} has no metric")
    scale = step_ms / 1000.0 if ratio.counter else 1.0
    total = _summed(ratio.total, reader, span, limits) * scale
    part = ratio.good if ratio.good is not None else ratio.bad
    assert part is not None  # the loader guarantees one of good and bad
    counted = _summed(part, reader, span, limits) * scale
    # A step with traffic but no good (or bad) series had none of them, not missing data:
    # a series only appears once its first event is counted.
    counted = np.where(np.isnan(counted) & np.isfinite(total), 0.0, counted)
    with np.errstate(invalid="ignore"):  # NaN steps stay NaN
        # Scrapes of the two series can straddle a step: never more good than total.
        counted = np.minimum(np.maximum(counted, 0.0), total)
    good = counted if ratio.good is not None else total - counted
    return IndicatorValues(good=good, total=total)


def threshold_counts(values: Floats, objective: Objective) -> tuple[Floats, Floats]:
    """``(good, total)`` for a threshold objective: one event per step with a value."""
    known = np.isfinite(values)
    compare = _OPS[objective.op or "lte"]
    with np.errstate(invalid="ignore"):
        met = compare(values, objective.value if objective.value is not None else np.nan)
    total = np.where(known, 1.0, np.nan)
    good = np.where(known, met.astype(np.float64), np.nan)
    return good, total
