"""Percentiles from Prometheus-style cumulative histogram buckets.

Deviation from Atlas: Atlas estimates ``:percentiles`` from Spectator's percentile buckets
(series tagged ``percentile=T00A3`` and so on, 276 fixed hex-indexed buckets). Watchfloor's
histograms come from Prometheus exposition and span durations instead: series tagged
``statistic=percentile`` with an ``le`` tag holding the bucket's upper bound, each the rate
of observations at or below that bound (cumulative), ``le="+Inf"`` counting all of them —
what ``collectors/normalise.py`` and ``collectors/span_metrics.py`` write.

Per step and group, the buckets with the same ``le`` are summed over the matching series,
made monotonic, and each percentile is estimated as Prometheus's ``histogram_quantile``
does: linear interpolation inside the bucket holding the rank, the lower bound of the
first bucket being 0, and the highest finite bound when the rank falls in ``+Inf``. A
missing ``+Inf`` bucket or no observations gives NaN. Rates are not converted to counts
(the estimate does not depend on the scale, and nothing is truncated as Atlas does).
Output is Atlas's: one series per percentile tagged ``percentile`` (`` 90.0``, padded so
the decimal points line up), labelled ``percentile(<group>, <p>)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from stacklang.lines import Lines, Matrix, aggregate, group_label, group_rows
from stacklang.literals import format_number


def percentile_tag(p: float) -> str:
    text = format_number(p)
    return f"  {text}" if p < 10 else f" {text}" if p < 100 else text


def _bound(le: str) -> float | None:
    try:
        bound = float(le)
    except ValueError:
        return None
    return None if math.isnan(bound) else bound


def quantiles(bounds: Sequence[float], cumulative: Matrix, percentiles: Sequence[float]) -> Matrix:
    """One row per percentile; rows of ``cumulative`` are the buckets (``bounds`` ascending, +Inf last)."""
    steps = cumulative.shape[1]
    out = np.full((len(percentiles), steps), np.nan)
    if len(bounds) < 2 or not math.isinf(bounds[-1]):
        return out
    counts = np.maximum.accumulate(np.where(np.isnan(cumulative), 0.0, cumulative), axis=0)
    total = counts[-1]
    upper = np.asarray(bounds, dtype=np.float64)
    lower = np.concatenate([[0.0], upper[:-1]])
    below = np.concatenate([np.zeros((1, steps)), counts[:-1]])
    columns = np.arange(steps)
    with np.errstate(all="ignore"):
        for n, p in enumerate(percentiles):
            rank = p / 100 * total
            bucket = np.argmax(counts >= rank, axis=0)
            inside = counts[bucket, columns] - below[bucket, columns]
            fraction = np.where(inside > 0, (rank - below[bucket, columns]) / inside, 0.0)
            value = lower[bucket] + (upper[bucket] - lower[bucket]) * fraction
            value = np.where(bucket == len(bounds) - 1, upper[-2], value)
            value = np.where((bucket == 0) & (upper[0] <= 0), upper[0], value)  # as Prometheus
            out[n] = np.where(total > 0, value, np.nan)
    return out


def estimate(
    raw: Lines,
    keys: Sequence[str],
    percentiles: Sequence[float],
    base_tags: Mapping[str, str],
    base_label: str,
) -> Lines:
    """Percentile series per group of ``keys`` from the bucket series in ``raw``."""
    tags: list[Mapping[str, str]] = []
    labels: list[str] = []
    rows: list[Matrix] = []
    for key, members in group_rows(raw.tags, keys):
        by_le: dict[float, list[int]] = {}
        for row in members:
            bound = _bound(raw.tags[row].get("le", ""))
            if bound is not None:
                by_le.setdefault(bound, []).append(row)
        if not by_le:
            continue
        bounds = sorted(by_le)
        cumulative = aggregate(raw.values, [by_le[b] for b in bounds], "sum")
        group = raw.tags[members[0]]
        label = group_label(key) if keys else base_label
        for p, values in zip(percentiles, quantiles(bounds, cumulative, percentiles), strict=True):
            tag = percentile_tag(p)
            tags.append({**base_tags, **{k: group[k] for k in keys}, "percentile": tag})
            labels.append(f"percentile({label}, {tag})")
            rows.append(values)
    if not rows:
        return Lines.empty(raw.values.shape[1])
    return Lines(tags, labels, np.vstack(rows))
