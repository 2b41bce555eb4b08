"""Data words: aggregate what a query matches, group by keys, shift in time, percentiles."""

from __future__ import annotations

from typing import Any

from stacklang.errors import WordError
from stacklang.expr import AggregateExpr, AggregateFn, GroupBy, Percentiles, StyleExpr, TimeSeriesExpr
from stacklang.extract import (
    AGGREGATE,
    DATA,
    DOUBLE_LIST,
    DURATION,
    NO,
    QUERY,
    SERIES,
    STRING_LIST,
    Item,
    Param,
)
from stacklang.interpreter import Overload, Word
from stacklang.tree import with_offset
from store.tag_query import TagQuery

STYLE = Param("StyleExpr", lambda i: i.value if isinstance(i.value, StyleExpr) else NO)


def _aggregate(fn: AggregateFn) -> Word:
    def build(item: Item) -> Any:
        return AggregateExpr(fn, item.value, position=item.position) if QUERY.read(item) is not NO else NO

    return Word(fn, overloads=(Overload((Param("Query", build),), lambda a: [a]),))


def keys_of(keys: tuple[str, ...]) -> tuple[str, ...]:
    if not keys:
        raise WordError("needs at least one key to group by")
    return keys


def _group(aggregate: AggregateExpr, keys: tuple[str, ...]) -> list[Any]:
    return [GroupBy(aggregate, keys_of(keys))]


def _offset(expr: TimeSeriesExpr, offset_ms: int) -> list[Any]:
    return [with_offset(expr, offset_ms)]


def _percentiles(data: AggregateExpr | GroupBy, percentiles: tuple[float, ...]) -> list[Any]:
    for p in percentiles:
        if not 0.0 <= p <= 100.0:
            raise WordError(f"invalid percentile {p}: it must be between 0 and 100")
    if not percentiles:
        raise WordError("needs at least one percentile")
    aggregate, keys = (data.aggregate, data.keys) if isinstance(data, GroupBy) else (data, ())
    if "le" in keys:
        raise WordError("cannot group by 'le': the buckets are what percentiles are computed from")
    query: TagQuery = aggregate.query
    pcts = tuple(sorted(set(percentiles)))
    return [Percentiles(query, keys, pcts, aggregate.offset_ms, position=aggregate.position)]


WORDS: list[Word] = [
    _aggregate("sum"),
    _aggregate("count"),
    _aggregate("min"),
    _aggregate("max"),
    Word(
        "by",
        overloads=(Overload((AGGREGATE, STRING_LIST), _group),),
    ),
    Word(
        "offset",
        overloads=(
            Overload((SERIES, DURATION), _offset),
            Overload((STYLE, DURATION), lambda s, d: [StyleExpr(with_offset(s.expr, d), s.settings)]),
        ),
    ),
    Word("percentiles", overloads=(Overload((DATA, DOUBLE_LIST), _percentiles),)),
]
