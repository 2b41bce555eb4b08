"""Math words: constants, unary and binary operations, aggregates of expressions, macros.

Binary operations between grouped expressions join on the group keys: one side's keys must
equal or be a subset of the other's (stacklang.md §4), checked when the word runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stacklang.errors import WordError
from stacklang.expr import (
    AggregateExpr,
    AggregateFn,
    Binary,
    BinaryOp,
    Clamp,
    Constant,
    GroupBy,
    MathAggregate,
    MathGroupBy,
    NamedRewrite,
    StyleExpr,
    TimeSeriesExpr,
    Unary,
    UnaryOp,
)
from stacklang.extract import ANY, DOUBLE, QUERY, SERIES, STRING, STRING_LIST, Item, Param
from stacklang.interpreter import Overload, Word
from stacklang.queries import and_, is_query
from stacklang.tree import check_subset, common_query, final_grouping, group_all, is_grouped
from stacklang.words_data import STYLE, keys_of

BINARY_OPS: tuple[BinaryOp, ...] = (
    "add", "sub", "mul", "div", "pow", "gt", "ge", "lt", "le", "and", "or", "fadd", "fsub", "fmul", "fdiv"
)  # fmt: skip
UNARY_OPS: tuple[UnaryOp, ...] = ("abs", "neg", "sqrt", "per-step")


def series_word(name: str, params: tuple[Param, ...], build: Callable[..., TimeSeriesExpr]) -> Word:
    """A word taking an expression (then ``params``); on a styled expression it keeps the style."""
    return Word(
        name,
        overloads=(
            Overload((SERIES, *params), lambda t, *args: [build(t, *args)]),
            Overload((STYLE, *params), lambda s, *args: [StyleExpr(build(s.expr, *args), s.settings)]),
        ),
    )


def check_join(left: TimeSeriesExpr, right: TimeSeriesExpr) -> None:
    if not (is_grouped(left) and is_grouped(right)):
        return
    keys_left, keys_right = final_grouping(left), final_grouping(right)
    if not (set(keys_left) <= set(keys_right) or set(keys_right) <= set(keys_left)):
        raise WordError(
            f"cannot join (,{','.join(keys_left)},) with (,{','.join(keys_right)},): both sides of a "
            "binary operation must have the same grouping or one side's keys must be a subset of the other's"
        )


def _binary(op: BinaryOp) -> Word:
    def build(left: TimeSeriesExpr, right: TimeSeriesExpr) -> TimeSeriesExpr:
        check_join(left, right)
        return Binary(op, left, right)

    return Word(
        op,
        overloads=(
            Overload((SERIES, SERIES), lambda a, b: [build(a, b)]),
            Overload((SERIES, STYLE), lambda a, s: [StyleExpr(build(a, s.expr), s.settings)]),
            Overload((STYLE, SERIES), lambda s, b: [StyleExpr(build(s.expr, b), s.settings)]),
        ),
    )


def _aggregate(fn: AggregateFn) -> Word:
    def run(expr: TimeSeriesExpr) -> list[Any]:
        # Atlas's shortcuts: a sum of per-group sums is the overall sum; one series aggregates to itself.
        if isinstance(expr, GroupBy) and expr.aggregate.fn == fn and fn != "count":
            return [expr.aggregate]
        if isinstance(expr, AggregateExpr) and fn != "count":
            return [expr]
        return [MathAggregate(fn, expr)]

    return Word(fn, overloads=(Overload((SERIES,), run),))


def _by(expr: TimeSeriesExpr, keys: tuple[str, ...]) -> list[Any]:
    keys = keys_of(keys)
    if isinstance(expr, MathAggregate) and is_grouped(expr.expr):
        check_subset(keys, expr.expr)
        return [MathGroupBy(expr, keys)]
    if is_grouped(expr):
        check_subset(keys, expr)
        return [MathGroupBy(MathAggregate("sum", expr), keys)]
    return [group_all(expr, keys)]


def _clamp(op: str) -> Callable[[TimeSeriesExpr, float], TimeSeriesExpr]:
    return lambda t, bound: Clamp(op, t, bound)  # type: ignore[arg-type]


def _display(item: Item) -> Any:
    """What a macro was written on: a query stays a query; anything else as an expression."""
    return item.value if is_query(item.value) else SERIES.read(item)


def _named(display: Any, rewritten: TimeSeriesExpr, name: str) -> list[Any]:
    return [NamedRewrite(name, display, rewritten)]


def _common_query(expr: Any, query: Any) -> list[Any]:
    if isinstance(expr, TimeSeriesExpr):
        return [common_query(expr, query)]
    if isinstance(expr, StyleExpr):
        return [StyleExpr(common_query(expr.expr, query), expr.settings)]
    return [and_(expr, query)] if is_query(expr) else [expr]


WORDS: list[Word] = [
    Word("const", overloads=(Overload((DOUBLE,), lambda v: [Constant(v)]),)),
    *(series_word(op, (), lambda t, op=op: Unary(op, t)) for op in UNARY_OPS),
    series_word("clamp-min", (DOUBLE,), _clamp("clamp-min")),
    series_word("clamp-max", (DOUBLE,), _clamp("clamp-max")),
    *(_binary(op) for op in BINARY_OPS),
    *(_aggregate(fn) for fn in ("sum", "count", "min", "max")),
    Word("by", overloads=(Overload((SERIES, STRING_LIST), _by),)),
    Word("named-rewrite", overloads=(Overload((Param("Expr", _display), SERIES, STRING), _named),)),
    Word("cq", overloads=(Overload((ANY, QUERY), _common_query), Overload((QUERY,), lambda q: []))),
    Word("avg", body=":dup,:dup,:sum,:swap,:count,:div,avg,:named-rewrite"),
    Word(
        "dist-avg",
        body=":dup,statistic,(,totalTime,totalAmount,),:in,:sum,statistic,count,:eq,:sum,:div,:swap,:cq,"
        "dist-avg,:named-rewrite",
    ),
    Word("dist-max", body=":dup,statistic,max,:eq,:max,:swap,:cq,dist-max,:named-rewrite"),
    Word("median", body="(,50,),:percentiles"),
]
