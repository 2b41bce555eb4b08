"""The typed expression tree the words build: data, math, stateful, filter and style nodes.

Value objects only (frozen dataclasses: equal trees compare equal, whatever positions they
were parsed from). Queries are the :mod:`store.tag_query` objects. What a node means when
evaluated is in :mod:`stacklang.evaluator`; its canonical text in :mod:`stacklang.printer`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from store.tag_query import TagQuery

AggregateFn = Literal["sum", "count", "min", "max"]
UnaryOp = Literal["abs", "neg", "sqrt", "per-step"]
BinaryOp = Literal[
    "add", "sub", "mul", "div", "pow", "gt", "ge", "lt", "le", "and", "or", "fadd", "fsub", "fmul", "fdiv"
]
RollingOp = Literal["rolling-count", "rolling-sum", "rolling-min", "rolling-max", "delay"]
StatName = Literal["avg", "max", "min", "last", "total", "count"]
STATS: tuple[StatName, ...] = ("avg", "max", "min", "last", "total", "count")


class TimeSeriesExpr:
    """An expression that evaluates to a list of series."""

    __slots__ = ()


@dataclass(frozen=True)
class AggregateExpr(TimeSeriesExpr):
    """``query,:sum`` (and count, min, max): one series over everything the query matches."""

    fn: AggregateFn
    query: TagQuery
    offset_ms: int = 0
    position: int | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class GroupBy(TimeSeriesExpr):
    """``aggregate,(,keys,),:by``: the aggregate per distinct combination of the keys' values."""

    aggregate: AggregateExpr
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Percentiles(TimeSeriesExpr):
    """``query,(,keys,),:by,(,pcts,),:percentiles`` over cumulative ``le`` buckets."""

    query: TagQuery
    keys: tuple[str, ...]
    percentiles: tuple[float, ...]
    offset_ms: int = 0
    position: int | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Constant(TimeSeriesExpr):
    value: float


@dataclass(frozen=True)
class Unary(TimeSeriesExpr):
    op: UnaryOp
    expr: TimeSeriesExpr


@dataclass(frozen=True)
class Clamp(TimeSeriesExpr):
    op: Literal["clamp-min", "clamp-max"]
    expr: TimeSeriesExpr
    bound: float


@dataclass(frozen=True)
class Binary(TimeSeriesExpr):
    op: BinaryOp
    left: TimeSeriesExpr
    right: TimeSeriesExpr


@dataclass(frozen=True)
class MathAggregate(TimeSeriesExpr):
    """``expr,:sum`` over the series of an expression (not a query): one series."""

    fn: AggregateFn
    expr: TimeSeriesExpr


@dataclass(frozen=True)
class MathGroupBy(TimeSeriesExpr):
    """A second-level group by over an already grouped expression; keys ⊆ its grouping."""

    aggregate: MathAggregate
    keys: tuple[str, ...]


@dataclass(frozen=True)
class NamedRewrite(TimeSeriesExpr):
    """A macro (``:avg``, ``:dist-avg``, ``:dist-max``) kept by name for display.

    ``expr`` is what is evaluated; ``display`` is what the user wrote it on (a query or an
    expression); ``offset_ms`` and ``by`` record the ``:offset`` and ``:by`` applied to the
    whole since, so it prints back as ``display,:name[,offset,:offset][,(,keys,),:by]…``.
    """

    name: str
    display: TagQuery | TimeSeriesExpr
    expr: TimeSeriesExpr
    offset_ms: int | None = None
    by: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Rolling(TimeSeriesExpr):
    """A window of ``n`` datapoints ending at each step (``:delay``: the value ``n`` steps back)."""

    op: RollingOp
    expr: TimeSeriesExpr
    n: int


@dataclass(frozen=True)
class RollingMean(TimeSeriesExpr):
    expr: TimeSeriesExpr
    n: int
    min_values: int


@dataclass(frozen=True)
class Cumulative(TimeSeriesExpr):
    op: Literal["integral", "derivative"]
    expr: TimeSeriesExpr


@dataclass(frozen=True)
class Des(TimeSeriesExpr):
    """Double exponential smoothing (``:des``) or its deterministic sliding form (``:sdes``)."""

    op: Literal["des", "sdes"]
    expr: TimeSeriesExpr
    training: int
    alpha: float
    beta: float


@dataclass(frozen=True)
class Stat(TimeSeriesExpr):
    """``expr,max,:stat``: each series replaced by a summary statistic over the window."""

    expr: TimeSeriesExpr
    stat: StatName


@dataclass(frozen=True)
class StatRef(TimeSeriesExpr):
    """``:stat-max`` and friends: ``:filter`` turns it into a :class:`Stat` of its first input."""

    stat: StatName


@dataclass(frozen=True)
class Filter(TimeSeriesExpr):
    """The series of ``expr`` whose ``condition`` is non-zero somewhere in the window."""

    expr: TimeSeriesExpr
    condition: TimeSeriesExpr


@dataclass(frozen=True)
class PriorityK(TimeSeriesExpr):
    """``:topk``/``:bottomk``: the ``k`` series with the highest (lowest) ``stat``."""

    op: Literal["topk", "bottomk"]
    expr: TimeSeriesExpr
    stat: StatName
    k: int


@dataclass(frozen=True)
class StyleExpr:
    """An expression with presentation settings (legend, color, alpha, ls, lw, axis), sorted by key."""

    expr: TimeSeriesExpr
    settings: tuple[tuple[str, str], ...] = ()

    def get(self, key: str) -> str | None:
        return dict(self.settings).get(key)

    def with_setting(self, key: str, value: str | None, *, drop: tuple[str, ...] = ()) -> StyleExpr:
        kept = {k: v for k, v in self.settings if k != key and k not in drop}
        if value is not None:
            kept[key] = value
        return StyleExpr(self.expr, tuple(sorted(kept.items())))


Expr: TypeAlias = TimeSeriesExpr | StyleExpr
