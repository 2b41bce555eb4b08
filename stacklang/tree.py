"""Structural facts about expression trees (grouping, data leaves) and the rewrites words apply."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from stacklang.errors import WordError
from stacklang.expr import (
    AggregateExpr,
    Binary,
    Constant,
    GroupBy,
    MathAggregate,
    MathGroupBy,
    NamedRewrite,
    Percentiles,
    Stat,
    StatRef,
    TimeSeriesExpr,
)
from stacklang.queries import and_, exact_tags, is_query
from store.tag_query import TagQuery

DataNode = AggregateExpr | Percentiles


def children(expr: TimeSeriesExpr) -> list[TimeSeriesExpr]:
    """The sub-expressions evaluated to evaluate ``expr`` (a rewrite's display is not one)."""
    return [
        value
        for f in dataclasses.fields(expr)  # type: ignore[arg-type]
        if f.name != "display" and isinstance(value := getattr(expr, f.name), TimeSeriesExpr)
    ]


def final_grouping(expr: TimeSeriesExpr) -> tuple[str, ...]:
    """The keys that tell the output series apart; empty for an ungrouped expression."""
    if isinstance(expr, (GroupBy, MathGroupBy)):
        return expr.keys
    if isinstance(expr, Percentiles):
        return ("percentile", *expr.keys)
    if isinstance(expr, (AggregateExpr, Constant, MathAggregate, StatRef)):
        return ()
    if isinstance(expr, Binary):
        left, right = final_grouping(expr.left), final_grouping(expr.right)
        return left if set(right) <= set(left) else right
    return final_grouping(children(expr)[0])


def is_grouped(expr: TimeSeriesExpr) -> bool:
    return bool(final_grouping(expr))


def data_nodes(expr: TimeSeriesExpr) -> list[DataNode]:
    if isinstance(expr, (AggregateExpr, Percentiles)):
        return [expr]
    return [node for child in children(expr) for node in data_nodes(child)]


def common_exact_keys(expr: TimeSeriesExpr) -> set[str]:
    """Keys fixed by ``:eq`` in every query of the expression (kept by second-level group-bys)."""
    queries = [node.query for node in data_nodes(expr)]
    if not queries:
        return set()
    keys = set(exact_tags(queries[0]))
    for query in queries[1:]:
        keys &= set(exact_tags(query))
    return keys


def transform(
    expr: TimeSeriesExpr, replace: Callable[[TimeSeriesExpr], TimeSeriesExpr | None]
) -> TimeSeriesExpr:
    """Rebuild ``expr`` top-down: where ``replace`` answers a node it is used, else children are rebuilt."""
    found = replace(expr)
    if found is not None:
        return found
    changes = {
        f.name: transform(value, replace)
        for f in dataclasses.fields(expr)  # type: ignore[arg-type]
        if f.name != "display" and isinstance(value := getattr(expr, f.name), TimeSeriesExpr)
    }
    return dataclasses.replace(expr, **changes) if changes else expr  # type: ignore[type-var]


def with_offset(expr: TimeSeriesExpr, offset_ms: int) -> TimeSeriesExpr:
    """Every data expression of ``expr`` reads ``offset_ms`` earlier (``:offset``)."""

    def shift(node: TimeSeriesExpr) -> TimeSeriesExpr | None:
        if isinstance(node, (AggregateExpr, Percentiles)):
            return dataclasses.replace(node, offset_ms=offset_ms)
        if isinstance(node, NamedRewrite):
            return dataclasses.replace(node, expr=with_offset(node.expr, offset_ms), offset_ms=offset_ms)
        return None

    return transform(expr, shift)


def check_subset(keys: tuple[str, ...], grouped: TimeSeriesExpr) -> None:
    grouping = final_grouping(grouped)
    if not set(keys) <= set(grouping):
        raise WordError(
            f"(,{','.join(keys)},) is not a subset of (,{','.join(grouping)},), the grouping it regroups"
        )


def group_all(expr: TimeSeriesExpr, keys: tuple[str, ...]) -> TimeSeriesExpr:
    """``:by`` on an ungrouped expression: group every aggregate inside it by ``keys``."""

    def group(node: TimeSeriesExpr) -> TimeSeriesExpr | None:
        if isinstance(node, AggregateExpr):
            return GroupBy(node, keys)
        if isinstance(node, (GroupBy, MathGroupBy, Percentiles)):
            return node
        if isinstance(node, MathAggregate) and is_grouped(node.expr):
            check_subset(keys, node.expr)
            return MathGroupBy(node, keys)
        if isinstance(node, NamedRewrite):
            return dataclasses.replace(node, expr=group_all(node.expr, keys), by=(*node.by, keys))
        return None

    return transform(expr, group)


def common_query(expr: TimeSeriesExpr, query: TagQuery) -> TimeSeriesExpr:
    """``:cq``: every query inside ``expr`` ANDed with ``query``."""

    def restrict(node: TimeSeriesExpr) -> TimeSeriesExpr | None:
        if isinstance(node, (AggregateExpr, Percentiles)):
            return dataclasses.replace(node, query=and_(node.query, query))
        if isinstance(node, GroupBy):
            return GroupBy(
                dataclasses.replace(node.aggregate, query=and_(node.aggregate.query, query)), node.keys
            )
        if isinstance(node, NamedRewrite):
            display = node.display
            if is_query(display):  # noqa: SIM108 - the ignores differ
                display = and_(display, query)  # type: ignore[arg-type]
            else:
                display = common_query(display, query)  # type: ignore[arg-type]
            return dataclasses.replace(node, display=display, expr=common_query(node.expr, query))
        return None

    return transform(expr, restrict)


def bind_stats(condition: TimeSeriesExpr, target: TimeSeriesExpr) -> TimeSeriesExpr:
    """``:filter``: each ``:stat-x`` in the condition becomes ``target,x,:stat``."""
    return transform(condition, lambda node: Stat(target, node.stat) if isinstance(node, StatRef) else None)
