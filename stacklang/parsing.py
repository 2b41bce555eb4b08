"""Text to typed expressions: run the interpreter, then read what is left on the stack."""

from __future__ import annotations

from stacklang.errors import StackLangError
from stacklang.expr import Expr, StyleExpr, TimeSeriesExpr
from stacklang.extract import NO, SERIES, Item, describe
from stacklang.printer import to_text
from stacklang.queries import is_query
from stacklang.vocabulary import INTERPRETER
from store.tag_query import TagQuery


def execute(expression: str) -> list[Item]:
    """The raw stack after running ``expression``, bottom first (strings, lists, queries, expressions)."""
    return INTERPRETER.run(expression).stack


def parse(expression: str) -> list[Expr]:
    """The expressions left on the stack, bottom first.

    A query left on the stack is its ``:sum`` and a number a constant series; anything
    else left (a string, a list) raises :class:`StackLangError` naming it and its position.
    """
    found: list[Expr] = []
    for item in execute(expression):
        if isinstance(item.value, (TimeSeriesExpr, StyleExpr)):
            found.append(item.value)
            continue
        series = SERIES.read(item)
        if series is NO:
            raise StackLangError(
                f"{describe(item.value)} at position {item.position} is left on the stack; "
                "only expressions (queries, numbers, series) may be",
                item.position,
            )
        found.append(series)
    return found


def parse_query(expression: str) -> TagQuery:
    """The one query an expression such as ``name,sps,:eq,nf.app,www,:eq,:and`` builds."""
    stack = execute(expression)
    if len(stack) == 1 and is_query(stack[0].value):
        return stack[0].value  # type: ignore[no-any-return]
    if not stack:
        raise StackLangError("the expression is empty; expected a query such as name,sps,:eq", 0)
    item = stack[-1] if len(stack) == 1 else stack[0]
    shown = ", ".join(describe(i.value) for i in stack)
    raise StackLangError(
        f"expected exactly one query, the stack has {shown} (from position {item.position})", item.position
    )


def normalise(expression: str) -> str:
    """The canonical text of an expression (what ``parse`` gives, printed back)."""
    return to_text(parse(expression))
