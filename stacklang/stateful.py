"""Stateful words over a (series × steps) matrix; windows count datapoints, not time.

The evaluator runs these over a window extended backwards by :func:`lookback` steps and
drops those steps afterwards, so the first values shown already have a full window behind
them (Atlas starts from empty state at the graph's start instead).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from stacklang.expr import Cumulative, Des, Rolling, RollingMean, TimeSeriesExpr
from stacklang.lines import Matrix

_DIRECT_WINDOW = 256  # wider windows sum through cumulative sums (faster, slightly less exact)


def lookback(expr: TimeSeriesExpr, start_ms: int, step_ms: int) -> int:
    """Steps before ``start_ms`` the node's input must cover for its first output to be complete."""
    if isinstance(expr, Rolling):
        return expr.n if expr.op == "delay" else expr.n - 1
    if isinstance(expr, RollingMean):
        return expr.n - 1
    if isinstance(expr, Cumulative):
        return 1 if expr.op == "derivative" else 0
    if isinstance(expr, Des):
        if expr.op == "des":
            return expr.training
        # :sdes starts one training period before the period holding ``start_ms``, on a period
        # boundary: its output then depends only on the data, never on where the graph starts.
        period = expr.training * step_ms
        aligned = start_ms // period * period - period
        return (start_ms - aligned) // step_ms
    return 0


def _window_sum(values: Matrix, n: int) -> Matrix:
    """Sum over the trailing ``n`` columns (fewer at the start); ``values`` has no NaN."""
    if n <= _DIRECT_WINDOW:
        padded = np.concatenate([np.zeros((values.shape[0], n - 1)), values], axis=1)
        return sliding_window_view(padded, n, axis=1).sum(axis=2)  # type: ignore[no-any-return]
    totals = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(values, axis=1)], axis=1)
    ends = np.arange(1, values.shape[1] + 1)
    return totals[:, ends] - totals[:, np.maximum(ends - n, 0)]  # type: ignore[no-any-return]


def _sums_and_counts(values: Matrix, n: int) -> tuple[Matrix, Matrix]:
    present = ~np.isnan(values)
    return _window_sum(np.where(present, values, 0.0), n), _window_sum(present.astype(np.float64), n)


def _extreme(values: Matrix, n: int, fn: str) -> Matrix:
    fill = np.inf if fn == "min" else -np.inf
    padded = np.concatenate(
        [np.full((values.shape[0], n - 1), fill), np.where(np.isnan(values), fill, values)], 1
    )
    filtered = (minimum_filter1d if fn == "min" else maximum_filter1d)(padded, size=n, axis=1)
    found = filtered[:, n // 2 : n // 2 + values.shape[1]]
    _, counts = _sums_and_counts(values, n)
    return np.where(counts > 0, found, np.nan)


def rolling(op: str, values: Matrix, n: int) -> Matrix:
    if op == "delay":
        out = np.full_like(values, np.nan)
        if n < values.shape[1]:
            out[:, n:] = values[:, : values.shape[1] - n]
        return out
    if op == "rolling-count":  # non-zero values in the window; NaN counts as 0
        return _window_sum(((values != 0) & ~np.isnan(values)).astype(np.float64), n)
    if op in ("rolling-min", "rolling-max"):
        return _extreme(values, n, op[-3:])
    sums, counts = _sums_and_counts(values, n)
    return np.where(counts > 0, sums, np.nan)


def rolling_mean(values: Matrix, n: int, min_values: int) -> Matrix:
    sums, counts = _sums_and_counts(values, n)
    with np.errstate(all="ignore"):
        return np.where(counts >= min_values, sums / counts, np.nan)


def cumulative(op: str, values: Matrix) -> Matrix:
    if op == "derivative":
        out = np.full_like(values, np.nan)
        out[:, 1:] = values[:, 1:] - values[:, :-1]
        return out
    seen = np.logical_or.accumulate(~np.isnan(values), axis=1)  # NaN until the first value
    return np.where(seen, np.nancumsum(values, axis=1), np.nan)


class _Des:
    """Atlas's OnlineDes for every row at once."""

    def __init__(self, rows: int, training: int, alpha: float, beta: float) -> None:
        self.training, self.alpha, self.beta = training, alpha, beta
        self.sp = np.full(rows, np.nan)
        self.bp = np.full(rows, np.nan)
        self.samples = np.zeros(rows, dtype=np.int64)

    def reset(self) -> None:
        self.sp.fill(np.nan)
        self.bp.fill(np.nan)
        self.samples.fill(0)

    def next(self, value: Matrix) -> Matrix:
        emitted = np.where(self.samples >= self.training, self.sp, np.nan)
        present = ~np.isnan(value)
        first, later = present & (self.samples == 0), present & (self.samples > 0)
        smoothed = self.alpha * value + (1 - self.alpha) * (self.sp + self.bp)
        trend = self.beta * (smoothed - self.sp) + (1 - self.beta) * self.bp
        self.sp = np.where(first, value, np.where(later, smoothed, self.sp))
        self.bp = np.where(first, 0.0, np.where(later, trend, self.bp))
        self.samples += present
        return emitted


def des(op: str, values: Matrix, training: int, alpha: float, beta: float) -> Matrix:
    """DES predictions; ``sdes`` alternates two DES, each restarted every other training period."""
    rows, steps = values.shape
    out = np.full_like(values, np.nan)
    one = _Des(rows, training, alpha, beta)
    two = _Des(rows, training, alpha, beta) if op == "sdes" else None
    use_one = True
    with np.errstate(all="ignore"):
        for t in range(steps):
            first = one.next(values[:, t])
            if two is None:
                out[:, t] = first
                continue
            second = two.next(values[:, t])
            out[:, t] = first if use_one else second
            if (t + 1) % training == 0:
                (one if use_one else two).reset()
                use_one = not use_one
    return out
