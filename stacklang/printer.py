"""Normalisation: an expression tree printed back as its canonical stack-language text.

Parsing the text gives the same tree back (``parse(print(tree)) == tree``, property-tested).
The forms are Atlas's: ``q,:sum``, ``q,:sum,(,k,),:by``, ``42.0,:const``, settings sorted by
key after the expression, ``:offset`` as a short duration (``1h``), and a ``:filter``'s own
statistics written back as ``:stat-max``.
"""

from __future__ import annotations

from collections.abc import Sequence

from stacklang.expr import (
    AggregateExpr,
    Binary,
    Clamp,
    Constant,
    Cumulative,
    Des,
    Expr,
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
    StyleExpr,
    TimeSeriesExpr,
    Unary,
)
from stacklang.literals import format_duration, format_number
from stacklang.queries import KEY_VALUE_WORDS, is_query
from stacklang.tokens import escape
from stacklang.tree import data_nodes, transform
from store.tag_query import And, Has, In, MatchAll, Not, Or, Regex, TagQuery


def to_text(stack: Sequence[Expr]) -> str:
    """The canonical text of a whole stack (bottom first)."""
    return ",".join(print_expr(expr) for expr in stack)


def print_expr(expr: Expr | TagQuery) -> str:
    if isinstance(expr, StyleExpr):
        settings = "".join(f",{escape(value)},:{key}" for key, value in expr.settings)
        return print_expr(expr.expr) + settings
    if isinstance(expr, TimeSeriesExpr):
        return _series(expr)
    return _query(expr)


def _list(values: Sequence[str]) -> str:
    return "(," + "".join(f"{escape(v)}," for v in values) + ")"


def _query(query: TagQuery) -> str:
    word = KEY_VALUE_WORDS.get(type(query))
    if word is not None:
        return f"{escape(query.key)},{escape(query.value)},:{word}"  # type: ignore[attr-defined]
    if isinstance(query, Has):
        return f"{escape(query.key)},:has"
    if isinstance(query, In):
        return f"{escape(query.key)},{_list(query.values)},:in"
    if isinstance(query, Regex):
        return f"{escape(query.key)},{escape(query.pattern)},:{'reic' if query.ignore_case else 're'}"
    if isinstance(query, (And, Or)):
        return f"{_query(query.left)},{_query(query.right)},:{'and' if isinstance(query, And) else 'or'}"
    if isinstance(query, Not):
        return f"{_query(query.inner)},:not"
    return ":true" if isinstance(query, MatchAll) else ":false"


def _offset(offset_ms: int) -> str:
    return f",{format_duration(offset_ms)},:offset" if offset_ms else ""


def _common_offset(expr: TimeSeriesExpr) -> int:
    offsets = {node.offset_ms for node in data_nodes(expr)}
    return offsets.pop() if len(offsets) == 1 else 0


def _series(expr: TimeSeriesExpr) -> str:
    if isinstance(expr, AggregateExpr):
        return f"{_query(expr.query)},:{expr.fn}{_offset(expr.offset_ms)}"
    if isinstance(expr, GroupBy):
        aggregate = expr.aggregate
        return (
            f"{_query(aggregate.query)},:{aggregate.fn},{_list(expr.keys)},:by{_offset(aggregate.offset_ms)}"
        )
    if isinstance(expr, Percentiles):
        base = _query(expr.query) + (f",{_list(expr.keys)},:by" if expr.keys else "")
        pcts = _list([format_number(p) for p in expr.percentiles])
        return f"{base},{pcts},:percentiles{_offset(expr.offset_ms)}"
    if isinstance(expr, Constant):
        return f"{format_number(expr.value)},:const"
    if isinstance(expr, (Unary, Cumulative)):
        return f"{_series(expr.expr)},:{expr.op}"
    if isinstance(expr, Clamp):
        return f"{_series(expr.expr)},{format_number(expr.bound)},:{expr.op}"
    if isinstance(expr, Binary):
        return f"{_series(expr.left)},{_series(expr.right)},:{expr.op}"
    if isinstance(expr, MathAggregate):
        return f"{_series(expr.expr)},:{expr.fn}"
    if isinstance(expr, MathGroupBy):
        # A sum is implicit: printing ``x,:sum`` would read back as the overall sum (Atlas's shortcut).
        inner = expr.aggregate.expr if expr.aggregate.fn == "sum" else expr.aggregate
        return f"{_series(inner)},{_list(expr.keys)},:by"
    if isinstance(expr, NamedRewrite):
        return _named(expr)
    if isinstance(expr, Rolling):
        return f"{_series(expr.expr)},{expr.n},:{expr.op}"
    if isinstance(expr, RollingMean):
        return f"{_series(expr.expr)},{expr.n},{expr.min_values},:rolling-mean"
    if isinstance(expr, Des):
        alpha, beta = format_number(expr.alpha), format_number(expr.beta)
        return f"{_series(expr.expr)},{expr.training},{alpha},{beta},:{expr.op}"
    if isinstance(expr, Stat):
        return f"{_series(expr.expr)},{expr.stat},:stat"
    if isinstance(expr, StatRef):
        return f":stat-{expr.stat}"
    if isinstance(expr, Filter):
        target = expr.expr
        condition = transform(
            expr.condition,
            lambda node: StatRef(node.stat) if isinstance(node, Stat) and node.expr == target else None,
        )
        return f"{_series(target)},{_series(condition)},:filter"
    if isinstance(expr, PriorityK):
        return f"{_series(expr.expr)},{expr.stat},{expr.k},:{expr.op}"
    raise TypeError(f"cannot print {type(expr).__name__}")


def _named(expr: NamedRewrite) -> str:
    """The macro replayed: what it was written on, the macro, then the offset and group-bys applied after."""
    display = _query(expr.display) if is_query(expr.display) else _series(expr.display)  # type: ignore[arg-type]
    offset = "" if expr.offset_ms is None else f",{format_duration(expr.offset_ms)},:offset"
    by = "".join(f",{_list(keys)},:by" for keys in expr.by)
    return f"{display},:{expr.name}{offset}{by}"
