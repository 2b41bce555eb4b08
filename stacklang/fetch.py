"""Data expressions: read matching series from the store (within limits) and aggregate them.

Consolidation when the step is wider than the data's follows the aggregate (stacklang.md
§4): sums and counts read the average of each step, ``:max`` the maximum, ``:min`` the
minimum; percentiles read averaged bucket rates. Each distinct read is done once per
evaluation, so ``:avg`` (a sum over a count) reads its query once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stacklang.errors import StackLangError
from stacklang.expr import AggregateExpr, GroupBy, Percentiles
from stacklang.lines import Lines, Matrix, aggregate, group_label, group_rows, to_label
from stacklang.literals import format_duration
from stacklang.percentiles import estimate
from stacklang.printer import print_expr
from stacklang.queries import exact_tags, label_string
from store.interfaces import Consolidation, SeriesReader, SeriesValues, TooManySeries
from store.tag_query import TagQuery

CONSOLIDATION: dict[str, Consolidation] = {"sum": "avg", "count": "avg", "min": "min", "max": "max"}


@dataclass(frozen=True)
class Limits:
    """What one evaluation may return and read; past either, :class:`StackLangError` explains which.

    ``max_points_read`` bounds memory: every series read is held as float64 for the
    whole evaluation (20 M points is 160 MB).
    """

    max_series: int = 10_000
    max_points: int = 5_000_000
    max_points_read: int = 20_000_000


@dataclass(frozen=True)
class Window:
    """``steps`` values, value ``i`` covering ``(start_ms + i * step_ms, start_ms + (i + 1) * step_ms]``."""

    start_ms: int
    steps: int
    step_ms: int

    def earlier(self, steps: int) -> Window:
        return Window(self.start_ms - steps * self.step_ms, self.steps + steps, self.step_ms)


def _matrix(found: Sequence[SeriesValues], steps: int) -> Matrix:
    """The rows as one matrix; the store's own matrix when the rows are its rows in order."""
    if not found:
        return np.empty((0, steps))
    base = found[0].values.base
    if isinstance(base, np.ndarray) and base.shape == (len(found), steps) and base.dtype == np.float64:
        origin, stride = base.ctypes.data, base.strides[0]
        if all(
            s.values.base is base and s.values.ctypes.data == origin + i * stride for i, s in enumerate(found)
        ):
            return base
    return np.vstack([np.asarray(s.values, dtype=np.float64) for s in found])


class Reads:
    """The reads of one evaluation: cached by (query, consolidation, window) and counted against limits."""

    def __init__(self, reader: SeriesReader, limits: Limits) -> None:
        self.reader = reader
        self.limits = limits
        self.points_read = 0
        self._cache: dict[tuple[TagQuery, str, int, int, int], Lines] = {}

    def read(
        self,
        query: TagQuery,
        consolidation: Consolidation,
        offset_ms: int,
        window: Window,
        position: int | None,
    ) -> Lines:
        step = window.step_ms
        start = (window.start_ms - offset_ms) // step * step
        key = (query, consolidation, start, window.steps, step)
        if key in self._cache:
            return self._cache[key]
        limits = self.limits
        cap = min(limits.max_series, (limits.max_points_read - self.points_read) // window.steps)
        try:
            found = self.reader.series(
                query, start, start + window.steps * step, step, consolidation, max_series=max(cap, 0)
            )
        except TooManySeries as too_many:
            raise StackLangError(self._explain(query, too_many.found, window), position) from None
        self.points_read += len(found) * window.steps
        lines = Lines([s.tags for s in found], [""] * len(found), _matrix(found, window.steps))
        self._cache[key] = lines
        return lines

    def _explain(self, query: TagQuery, found: int, window: Window) -> str:
        limits, text = self.limits, print_expr(query)
        if found > limits.max_series:
            return (
                f"the query {text} matches {found} series, over the limit of {limits.max_series}; "
                "narrow the query"
            )
        return (
            f"reading {found} series × {window.steps} steps for {text} would read "
            f"{self.points_read + found * window.steps} points, over the limit of {limits.max_points_read}; "
            "narrow the query, shorten the range or use a larger step"
        )


def _offset_label(label: str, offset_ms: int) -> str:
    return f"{label} (offset={format_duration(offset_ms)})" if offset_ms else label


def eval_aggregate(expr: AggregateExpr, window: Window, reads: Reads) -> Lines:
    raw = reads.read(expr.query, CONSOLIDATION[expr.fn], expr.offset_ms, window, expr.position)
    exact = exact_tags(expr.query)
    if not len(raw):
        return Lines([exact or {"name": "NO_DATA"}], ["NO DATA"], np.full((1, window.steps), np.nan))
    label = to_label(exact) if exact else label_string(expr.query)
    values = aggregate(raw.values, [range(len(raw))], expr.fn)
    return Lines([exact or {"name": "unknown"}], [_offset_label(label, expr.offset_ms)], values)


def eval_group_by(expr: GroupBy, window: Window, reads: Reads) -> Lines:
    inner = expr.aggregate
    raw = reads.read(inner.query, CONSOLIDATION[inner.fn], inner.offset_ms, window, inner.position)
    groups = group_rows(raw.tags, expr.keys)
    exact = exact_tags(inner.query)
    tags = [{**exact, **{k: raw.tags[rows[0]][k] for k in expr.keys}} for _, rows in groups]
    labels = [_offset_label(group_label(key), inner.offset_ms) for key, _ in groups]
    return Lines(tags, labels, aggregate(raw.values, [rows for _, rows in groups], inner.fn))  # type: ignore[arg-type]


def eval_percentiles(expr: Percentiles, window: Window, reads: Reads) -> Lines:
    raw = reads.read(expr.query, "avg", expr.offset_ms, window, expr.position)
    found = estimate(raw, expr.keys, expr.percentiles, exact_tags(expr.query), label_string(expr.query))
    if expr.offset_ms:
        found = Lines(found.tags, [_offset_label(x, expr.offset_ms) for x in found.labels], found.values)
    return found
