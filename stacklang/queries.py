"""What the stack language needs to know about tag queries: combining, exact tags, labels, text."""

from __future__ import annotations

from store.tag_query import (
    And,
    Contains,
    EndsWith,
    Eq,
    GreaterEqual,
    GreaterThan,
    Has,
    In,
    LessEqual,
    LessThan,
    MatchAll,
    MatchNone,
    Not,
    Or,
    Regex,
    StartsWith,
    TagQuery,
)

# Key-value queries and the word that builds each (the word is also its printed form).
KEY_VALUE_WORDS: dict[type, str] = {
    Eq: "eq",
    Contains: "contains",
    StartsWith: "starts",
    EndsWith: "ends",
    LessThan: "lt",
    LessEqual: "le",
    GreaterThan: "gt",
    GreaterEqual: "ge",
}
_LABEL_OPS = {Eq: "=", LessThan: "<", LessEqual: "<=", GreaterThan: ">", GreaterEqual: ">="}


def is_query(value: object) -> bool:
    return isinstance(
        value,
        (Eq, In, Has, Regex, And, Or, Not, MatchAll, MatchNone, *KEY_VALUE_WORDS),
    )


def and_(left: TagQuery, right: TagQuery) -> TagQuery:
    """Atlas's ``q1.and(q2)``: ``:true`` disappears, ``:false`` wins.

    Chains nest to the right (``(a and b) and c`` is ``a and (b and c)``), so the order
    clauses are combined in does not change the tree.
    """
    if isinstance(right, MatchAll):
        return left
    if isinstance(left, MatchAll):
        return right
    if isinstance(left, MatchNone) or isinstance(right, MatchNone):
        return MatchNone()
    if isinstance(left, And):
        return And(left.left, and_(left.right, right))
    return And(left, right)


def or_(left: TagQuery, right: TagQuery) -> TagQuery:
    if isinstance(right, MatchAll) or isinstance(left, MatchAll):
        return MatchAll()
    if isinstance(right, MatchNone):
        return left
    if isinstance(left, MatchNone):
        return right
    if isinstance(left, Or):
        return Or(left.left, or_(left.right, right))
    return Or(left, right)


def not_(query: TagQuery) -> TagQuery:
    if isinstance(query, MatchAll):
        return MatchNone()
    if isinstance(query, MatchNone):
        return MatchAll()
    return Not(query)


def exact_tags(query: TagQuery) -> dict[str, str]:
    """The tags every match has for sure: the ``:eq`` clauses joined by ``:and``."""
    if isinstance(query, And):
        return {**exact_tags(query.left), **exact_tags(query.right)}
    if isinstance(query, Eq):
        return {query.key: query.value}
    return {}


def label_string(query: TagQuery) -> str:
    """Atlas's human-readable form of a query (``name=sps``), used in default labels."""
    if isinstance(query, tuple(_LABEL_OPS)):
        return f"{query.key}{_LABEL_OPS[type(query)]}{query.value}"  # type: ignore[attr-defined]
    if isinstance(query, (Contains, StartsWith, EndsWith)):
        return f"{query.key} {KEY_VALUE_WORDS[type(query)]} {query.value}"
    if isinstance(query, Has):
        return f"has({query.key})"
    if isinstance(query, Regex):
        return f"{query.key}~/^{query.pattern}/" + ("i" if query.ignore_case else "")
    if isinstance(query, In):
        return f"{query.key} in ({','.join(query.values)})"
    if isinstance(query, And):
        return f"({label_string(query.left)}) and ({label_string(query.right)})"
    if isinstance(query, Or):
        return f"({label_string(query.left)}) or ({label_string(query.right)})"
    if isinstance(query, Not):
        return f"not({label_string(query.inner)})"
    return "true" if isinstance(query, MatchAll) else "false"
