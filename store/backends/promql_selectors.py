"""Atlas tag queries as PromQL series selectors: a superset to ask the engine for, then the query decides.

A Prometheus selector is a conjunction of label matchers (``=``, ``!=``, ``=~``, ``!~``), so
a query is put in disjunctive normal form and each conjunction becomes one selector; the
union of what they select holds every series the query matches. Tests PromQL cannot say
(Atlas's string comparisons ``:lt`` …, a negation of an ``and``) widen the selector instead,
and the caller keeps only the series ``query.matches`` accepts.

Mapping rules:

* an Atlas tag key becomes a Prometheus label name as :func:`promql_text.label_name` says
  (``nf.app`` → ``nf_app``), and ``name`` becomes ``__name__``;
* Atlas's ``:re`` is anchored at the start only, PromQL's ``=~`` at both ends: ``.*`` is
  appended; ``:reic`` gets ``(?i)``; ``:in``, ``:contains``, ``:starts``, ``:ends`` become
  anchored alternations of escaped text;
* ``:has`` is ``!=""`` (Prometheus treats a missing label as the empty value), its negation
  ``=""``;
* every selector needs one matcher that does not match the empty string (Prometheus refuses
  ``{a!="x"}`` alone): ``__name__=~".+"`` is added when there is none.
"""

from __future__ import annotations

import re

from store.backends import promql_text
from store.backends.promql_text import quote, regex_literal
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

Matcher = tuple[str, str, str]  # (label, "=" | "!=" | "=~" | "!~", value)
Conjunction = tuple[Matcher, ...]
MAX_SELECTORS = 64  # past this the query is asked as one wide selector and checked here
_ANY_NAME: Matcher = ("__name__", "=~", ".+")


def label_name(key: str) -> str:
    """The Prometheus label an Atlas tag key is stored under (``name`` is the metric name)."""
    return "__name__" if key == "name" else promql_text.label_name(key)


def _any_of(values: tuple[str, ...]) -> str:
    return "|".join(regex_literal(v) for v in values)


def _dnf(query: TagQuery) -> list[Conjunction]:
    """Conjunctions whose union selects a superset of ``query``; ``[()]`` is everything, ``[]`` nothing."""
    match query:
        case Eq(key, value):
            return [((label_name(key), "=", value),)]
        case In(key, values):
            return [((label_name(key), "=~", _any_of(values)),)] if values else []
        case Has(key):
            return [((label_name(key), "!=", ""),)]
        case Regex(key, pattern, ignore_case):
            return [((label_name(key), "=~", f"{'(?i)' if ignore_case else ''}(?:{pattern}).*"),)]
        case StartsWith(key, value):
            return [((label_name(key), "=~", f"{regex_literal(value)}.*"),)]
        case EndsWith(key, value):
            return [((label_name(key), "=~", f".*{regex_literal(value)}"),)]
        case Contains(key, value):
            return [((label_name(key), "=~", f".*{regex_literal(value)}.*"),)]
        case LessThan(key) | LessEqual(key) | GreaterThan(key) | GreaterEqual(key):
            return [((label_name(key), "!=", ""),)]  # the key must exist; the comparison is checked after
        case And(left, right):
            return [a + b for a in _dnf(left) for b in _dnf(right)]
        case Or(left, right):
            return _dnf(left) + _dnf(right)
        case Not(inner):
            return _negated(inner)
        case MatchAll():
            return [()]
        case MatchNone():
            return []
    return [()]  # an unknown test: everything, checked after


def _negated(inner: TagQuery) -> list[Conjunction]:
    match inner:
        case Eq(key, value):
            return [((label_name(key), "!=", value),)]
        case In(key, values):
            return (
                [((label_name(key), "!~", "|".join(regex_literal(v) for v in values)),)] if values else [()]
            )
        case Has(key):
            return [((label_name(key), "=", ""),)]
        case Regex(key, pattern, ignore_case):
            return [((label_name(key), "!~", f"{'(?i)' if ignore_case else ''}(?:{pattern}).*"),)]
        case Not(twice):
            return _dnf(twice)
        case MatchAll():
            return []
        case MatchNone():
            return [()]
    return [()]  # not (a and b), not a comparison…: everything, checked after


def _render(conjunction: Conjunction) -> str:
    matchers = list(dict.fromkeys(conjunction))
    if not any(_selects(m) for m in matchers):
        matchers.append(_ANY_NAME)
    return "{" + ", ".join(f"{label}{op}{quote(value)}" for label, op, value in matchers) + "}"


def _selects(matcher: Matcher) -> bool:
    """Whether a matcher rules out the empty value (what Prometheus asks of one matcher at least)."""
    _, op, value = matcher
    if op == "=":
        return value != ""
    if op == "!=":
        return value == ""
    try:
        empty_matches = re.fullmatch(value, "") is not None
    except re.error:  # RE2 syntax Python does not read: assume the worst, a matcher is added
        return False
    return not empty_matches if op == "=~" else empty_matches


def selectors(query: TagQuery) -> list[str]:
    """PromQL selectors whose union holds every series ``query`` matches (``[]``: none can)."""
    conjunctions = list(dict.fromkeys(_dnf(query)))
    if len(conjunctions) > MAX_SELECTORS:
        conjunctions = [()]
    return [_render(c) for c in conjunctions]
