"""Evaluate an expression tree over a window: every node to a :class:`~stacklang.lines.Lines`.

Vectorised over all series at once. Binary operations join their sides as Atlas does: an
ungrouped side (one series) applies to every series of the other; two grouped sides match
on the keys of the side whose grouping is the subset, and the result keeps the tags of the
other. Stateful nodes evaluate their input over a window extended backwards (see
:func:`stacklang.stateful.lookback`) and drop the extra steps afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from stacklang import nanmath, stateful
from stacklang.errors import StackLangError
from stacklang.expr import (
    AggregateExpr,
    Binary,
    Clamp,
    Constant,
    Cumulative,
    Des,
    Filter,
    GroupBy,
    MathAggregate,
    MathGroupBy,
    NamedRewrite,
    Percentiles,
    PriorityK,
    Rolling,
    RollingMean,
    Stat,
    StatRef,
    TimeSeriesExpr,
    Unary,
)
from stacklang.fetch import Reads, Window, eval_aggregate, eval_group_by, eval_percentiles
from stacklang.lines import Lines, Matrix, aggregate, common_tags, group_label, group_rows, to_label
from stacklang.literals import format_number
from stacklang.queries import exact_tags, is_query, label_string
from stacklang.tree import common_exact_keys, final_grouping, is_grouped


def _key(tags: Mapping[str, str], keys: Sequence[str]) -> tuple[str, ...] | None:
    values = tuple(tags.get(k) for k in keys)
    return None if None in values else values  # type: ignore[return-value]


def summary(values: Matrix, stat: str) -> Matrix:
    """Atlas's SummaryStats per row over the window (NaN when a row has no value; count 0)."""
    present = ~np.isnan(values)
    count: Matrix = present.sum(axis=1).astype(np.float64)
    if stat == "count":
        return count
    with np.errstate(all="ignore"):
        if stat == "max":
            found = np.fmax.reduce(values, axis=1)
        elif stat == "min":
            found = np.fmin.reduce(values, axis=1)
        elif stat == "last":
            last = values.shape[1] - 1 - np.argmax(present[:, ::-1], axis=1)
            found = values[np.arange(len(values)), last]
        else:
            total = np.where(present, values, 0.0).sum(axis=1)
            found = total / count if stat == "avg" else total
    result: Matrix = np.where(count > 0, found, np.nan)
    return result


class Evaluator:
    def __init__(self, reads: Reads) -> None:
        self.reads = reads
        self._handlers: dict[type, Callable[[Any, Window], Lines]] = {
            AggregateExpr: lambda e, w: eval_aggregate(e, w, self.reads),
            GroupBy: lambda e, w: eval_group_by(e, w, self.reads),
            Percentiles: lambda e, w: eval_percentiles(e, w, self.reads),
            Constant: self._constant,
            Unary: self._unary,
            Clamp: self._clamp,
            Binary: self._binary,
            MathAggregate: self._math_aggregate,
            MathGroupBy: self._math_group_by,
            NamedRewrite: self._named,
            Rolling: self._stateful,
            RollingMean: self._stateful,
            Cumulative: self._stateful,
            Des: self._stateful,
            Stat: self._stat,
            StatRef: lambda e, w: Lines.empty(w.steps),
            Filter: self._filter,
            PriorityK: self._priority,
        }

    def eval(self, expr: TimeSeriesExpr, window: Window) -> Lines:
        return self._handlers[type(expr)](expr, window)

    def _constant(self, expr: Constant, window: Window) -> Lines:
        text = format_number(expr.value)
        return Lines([{"name": text}], [text], np.full((1, window.steps), expr.value))

    def _unary(self, expr: Unary, window: Window) -> Lines:
        inner = self.eval(expr.expr, window)
        values = nanmath.unary(expr.op, inner.values, window.step_ms)
        return Lines(inner.tags, [f"{expr.op}({x})" for x in inner.labels], values)

    def _clamp(self, expr: Clamp, window: Window) -> Lines:
        inner = self.eval(expr.expr, window)
        bound = expr.bound
        if expr.op == "clamp-min":
            values = np.where(inner.values < bound, bound, inner.values)
        else:
            values = np.where(inner.values > bound, bound, inner.values)
        labels = [f"{expr.op}({x}, {format_number(bound)})" for x in inner.labels]
        return Lines(inner.tags, labels, values)

    def _binary(self, expr: Binary, window: Window) -> Lines:
        left, right = self.eval(expr.left, window), self.eval(expr.right, window)
        keys_left, keys_right = final_grouping(expr.left), final_grouping(expr.right)
        use_left = set(keys_right) <= set(keys_left)
        # Pairs (left row, right row): the subset side's series found by its keys in the other's tags.
        if use_left:
            pairs = self._join(left, right, keys_right, left_is_superset=True)
        else:
            pairs = self._join(right, left, keys_left, left_is_superset=False)
        rows_left = np.asarray([p[0] for p in pairs], dtype=np.int64)
        rows_right = np.asarray([p[1] for p in pairs], dtype=np.int64)
        values = nanmath.binary(expr.op, left.values[rows_left], right.values[rows_right])
        label = nanmath.LABELS[expr.op]
        tags = [left.tags[i] if use_left else right.tags[j] for i, j in pairs]
        labels = [label.format(left.labels[i], right.labels[j]) for i, j in pairs]
        return Lines(tags, labels, values.reshape(len(pairs), window.steps))

    @staticmethod
    def _join(
        superset: Lines, subset: Lines, keys: Sequence[str], *, left_is_superset: bool
    ) -> list[tuple[int, int]]:
        pairs: list[tuple[int, int]] = []
        if keys:
            index: dict[tuple[str, ...], int] = {}
            for row, tags in enumerate(subset.tags):
                key = _key(tags, keys)
                if key is not None:
                    index.setdefault(key, row)
            for row, tags in enumerate(superset.tags):
                match = index.get(_key(tags, keys) or ())
                if match is not None:
                    pairs.append((row, match))
        else:  # the subset side is ungrouped: its (single) series applies to every series of the other
            pairs = [(i, j) for i in range(len(superset)) for j in range(len(subset))]
        return pairs if left_is_superset else [(j, i) for i, j in pairs]

    def _named(self, expr: NamedRewrite, window: Window) -> Lines:
        """A macro written on a query is labelled like an aggregate of that query, not by its expansion."""
        found = self.eval(expr.expr, window)
        if not is_query(expr.display):
            return found
        keys = final_grouping(expr.expr)
        if keys:
            labels = [group_label("".join(f"{k}={t.get(k)} " for k in keys)) for t in found.tags]
        else:
            exact = exact_tags(expr.display)  # type: ignore[arg-type]
            labels = [to_label(exact) if exact else label_string(expr.display)] * len(found)  # type: ignore[arg-type]
        return Lines(found.tags, labels, found.values)

    def _math_aggregate(self, expr: MathAggregate, window: Window) -> Lines:
        inner = self.eval(expr.expr, window)
        if not len(inner):
            return Lines([{"name": "NO_DATA"}], ["NO DATA"], np.full((1, window.steps), np.nan))
        tags = common_tags(inner.tags)
        values = aggregate(inner.values, [range(len(inner))], expr.fn)
        return Lines([tags or {"name": "unknown"}], [f"{expr.fn}({to_label(tags)})"], values)

    def _math_group_by(self, expr: MathGroupBy, window: Window) -> Lines:
        inner = self.eval(expr.aggregate.expr, window)
        kept = common_exact_keys(expr.aggregate.expr) | set(expr.keys)
        groups = group_rows(inner.tags, expr.keys)
        tags = [{k: v for k, v in inner.tags[rows[0]].items() if k in kept} for _, rows in groups]
        labels = [group_label(key) for key, _ in groups]
        values = aggregate(inner.values, [rows for _, rows in groups], expr.aggregate.fn)
        return Lines(tags, labels, values)  # type: ignore[arg-type]

    def _stateful(self, expr: Rolling | RollingMean | Cumulative | Des, window: Window) -> Lines:
        extra = stateful.lookback(expr, window.start_ms, window.step_ms)
        limit = self.reads.limits.max_points
        if window.steps + extra > limit:
            raise StackLangError(
                f"the window of :{getattr(expr, 'op', 'rolling-mean')} needs {extra} steps before the range, "
                f"{window.steps + extra} steps per series in all, over the limit of {limit} points"
            )
        inner = self.eval(expr.expr, window.earlier(extra))
        if isinstance(expr, Rolling):
            values = stateful.rolling(expr.op, inner.values, expr.n)
            label = f"{expr.op}({{}}, {expr.n})" if expr.op == "rolling-count" else f"{expr.op}({{}})"
        elif isinstance(expr, RollingMean):
            values, label = stateful.rolling_mean(inner.values, expr.n, expr.min_values), "rolling-mean({})"
        elif isinstance(expr, Cumulative):
            values, label = stateful.cumulative(expr.op, inner.values), f"{expr.op}({{}})"
        else:
            values = stateful.des(expr.op, inner.values, expr.training, expr.alpha, expr.beta)
            label = f"{expr.op}({{}})"
        return Lines(inner.tags, [label.format(x) for x in inner.labels], values[:, extra:])

    def _stat(self, expr: Stat, window: Window) -> Lines:
        inner = self.eval(expr.expr, window)
        values = np.repeat(summary(inner.values, expr.stat)[:, None], window.steps, axis=1)
        return Lines(inner.tags, [f"stat-{expr.stat}({x})" for x in inner.labels], values)

    def _filter(self, expr: Filter, window: Window) -> Lines:
        inner, condition = self.eval(expr.expr, window), self.eval(expr.condition, window)
        truthy = ((condition.values != 0) & ~np.isnan(condition.values)).any(axis=1)
        if not is_grouped(expr.condition):
            return inner if len(condition) and truthy[0] else inner.take([])
        keys = final_grouping(expr.expr)
        passing = {_key(tags, keys) for tags, ok in zip(condition.tags, truthy, strict=True) if ok}
        passing.discard(None)
        return inner.take([row for row, tags in enumerate(inner.tags) if _key(tags, keys) in passing])

    def _priority(self, expr: PriorityK, window: Window) -> Lines:
        inner = self.eval(expr.expr, window)
        stats = summary(inner.values, expr.stat)
        ranked = sorted(
            range(len(inner)),
            key=lambda row: (np.isnan(stats[row]), -stats[row] if expr.op == "topk" else stats[row], row),
        )
        return inner.take(ranked[: expr.k])
