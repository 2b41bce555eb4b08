"""Filter words: summary statistics, ``:filter`` on a condition, ``:topk`` and ``:bottomk``."""

from __future__ import annotations

from typing import Any

from stacklang.errors import WordError
from stacklang.expr import STATS, Filter, PriorityK, Stat, StatName, StatRef, StyleExpr, TimeSeriesExpr
from stacklang.extract import INT, SERIES, STRING
from stacklang.interpreter import Overload, Word
from stacklang.tree import bind_stats, is_grouped
from stacklang.words_data import STYLE
from stacklang.words_math import series_word


def stat_name(name: str) -> StatName:
    if name not in STATS:
        raise WordError(f"unknown statistic {name!r}; use one of {', '.join(STATS)}")
    return name


def _filter(expr: TimeSeriesExpr, condition: TimeSeriesExpr) -> TimeSeriesExpr:
    if is_grouped(condition) and not is_grouped(expr):
        raise WordError("a grouped condition cannot filter an ungrouped expression")
    return Filter(expr, bind_stats(condition, expr))


def _priority(op: str) -> Word:
    def build(expr: TimeSeriesExpr, stat: str, k: int) -> TimeSeriesExpr:
        if k < 1:
            raise WordError(f"k must be at least 1, got {k}")
        return PriorityK(op, expr, stat_name(stat), k)  # type: ignore[arg-type]

    return series_word(op, (STRING, INT), build)


def _styled_filter(style: StyleExpr, condition: TimeSeriesExpr) -> list[Any]:
    return [StyleExpr(_filter(style.expr, condition), style.settings)]


WORDS: list[Word] = [
    series_word("stat", (STRING,), lambda t, s: Stat(t, stat_name(s))),
    *(Word(f"stat-{s}", overloads=(Overload((), lambda s=s: [StatRef(s)]),)) for s in STATS),
    Word(
        "filter",
        overloads=(
            Overload((SERIES, SERIES), lambda t, c: [_filter(t, c)]),
            Overload((STYLE, SERIES), _styled_filter),
        ),
    ),
    _priority("topk"),
    _priority("bottomk"),
]
