"""Stateful words: windows that count datapoints (not time), delay, integral, derivative, DES."""

from __future__ import annotations

from stacklang.errors import WordError
from stacklang.expr import Cumulative, Des, Rolling, RollingMean, RollingOp, TimeSeriesExpr
from stacklang.extract import DOUBLE, INT
from stacklang.interpreter import Word
from stacklang.words_math import series_word


def _window(n: int) -> int:
    if n < 1:
        raise WordError(f"the window must be at least 1 datapoint, got {n}")
    return n


def _rolling(op: RollingOp) -> Word:
    return series_word(op, (INT,), lambda t, n: Rolling(op, t, _window(n)))


def _rolling_mean(expr: TimeSeriesExpr, n: int, min_values: int) -> TimeSeriesExpr:
    if not 1 <= min_values <= _window(n):
        raise WordError(
            f"the minimum number of values must be between 1 and the window ({n}), got {min_values}"
        )
    return RollingMean(expr, n, min_values)


def _des(op: str) -> Word:
    def build(expr: TimeSeriesExpr, training: int, alpha: float, beta: float) -> TimeSeriesExpr:
        return Des(op, expr, _window(training), alpha, beta)  # type: ignore[arg-type]

    return series_word(op, (INT, DOUBLE, DOUBLE), build)


WORDS: list[Word] = [
    *(_rolling(op) for op in ("rolling-count", "rolling-sum", "rolling-min", "rolling-max", "delay")),
    series_word("rolling-mean", (INT, INT), _rolling_mean),
    series_word("integral", (), lambda t: Cumulative("integral", t)),
    series_word("derivative", (), lambda t: Cumulative("derivative", t)),
    _des("des"),
    _des("sdes"),
]
