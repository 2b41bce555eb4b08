"""Parameter types of words: each reads a stack item as the type a word needs, or declines.

These follow Atlas's extractors: a query where an aggregate or an expression is needed is
its ``:sum``; a number where an expression is needed is a constant series; a plain
expression where a styled one is needed has no settings yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stacklang.expr import AggregateExpr, Constant, GroupBy, StyleExpr, TimeSeriesExpr
from stacklang.literals import parse_duration, parse_int, parse_number
from stacklang.queries import is_query
from stacklang.tokens import Token


class _Declined:
    """A parameter type's answer for an item that is not of that type."""


NO = _Declined()


@dataclass(frozen=True)
class Item:
    """A stack entry and the position of the token that put it there."""

    value: Any
    position: int


@dataclass(frozen=True)
class Param:
    name: str  # as shown in error messages
    read: Callable[[Item], Any]  # the converted value, or NO


def _string(item: Item) -> Any:
    return item.value if isinstance(item.value, str) else NO


def _int(item: Item) -> Any:
    found = parse_int(item.value) if isinstance(item.value, str) else None
    return NO if found is None else found


def _double(item: Item) -> Any:
    found = parse_number(item.value) if isinstance(item.value, str) else None
    return NO if found is None else found


def _duration(item: Item) -> Any:
    found = parse_duration(item.value) if isinstance(item.value, str) else None
    return NO if found is None else found


def _list(item: Item) -> Any:
    return item.value if isinstance(item.value, tuple) else NO


def _string_list(item: Item) -> Any:
    value = item.value
    return value if isinstance(value, tuple) and all(isinstance(v, str) for v in value) else NO


def _double_list(item: Item) -> Any:
    if not isinstance(item.value, tuple):
        return NO
    numbers = [parse_number(v) if isinstance(v, str) else None for v in item.value]
    return NO if None in numbers else tuple(numbers)


def _query(item: Item) -> Any:
    return item.value if is_query(item.value) else NO


def _aggregate(item: Item) -> Any:
    if is_query(item.value):
        return AggregateExpr("sum", item.value, position=item.position)
    return item.value if isinstance(item.value, AggregateExpr) else NO


def _data(item: Item) -> Any:
    found = _aggregate(item)
    if found is NO and isinstance(item.value, GroupBy):
        return item.value
    return found


def _series(item: Item) -> Any:
    value = item.value
    if isinstance(value, TimeSeriesExpr):
        return value
    if is_query(value):
        return AggregateExpr("sum", value, position=item.position)
    number = parse_number(value) if isinstance(value, str) else None
    return NO if number is None else Constant(number)


def _styled(item: Item) -> Any:
    if isinstance(item.value, StyleExpr):
        return item.value
    series = _series(item)
    return NO if series is NO else StyleExpr(series)


def _anything(item: Item) -> Any:
    return item.value


STRING = Param("String", _string)
INT = Param("Int", _int)
DOUBLE = Param("Double", _double)
DURATION = Param("Duration", _duration)
LIST = Param("List", _list)
STRING_LIST = Param("List of strings", _string_list)
DOUBLE_LIST = Param("List of numbers", _double_list)
QUERY = Param("Query", _query)
AGGREGATE = Param("AggregateFunction", _aggregate)
DATA = Param("DataExpr", _data)
SERIES = Param("TimeSeriesExpr", _series)
STYLED = Param("StyleExpr", _styled)
ANY = Param("Any", _anything)


def describe(value: Any) -> str:
    """How an item is named in an error message: its type, and a string's text."""
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"String {shown!r}"
    if isinstance(value, tuple):
        return "List"
    if isinstance(value, Token):
        return f"word ':{value.value}'"
    if is_query(value):
        return "Query"
    if isinstance(value, StyleExpr):
        return "StyleExpr"
    if isinstance(value, AggregateExpr):
        return "AggregateFunction"
    return "TimeSeriesExpr" if isinstance(value, TimeSeriesExpr) else type(value).__name__
