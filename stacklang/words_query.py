"""Query words: build :mod:`store.tag_query` objects (``:re`` is anchored at the start)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stacklang.errors import WordError
from stacklang.extract import QUERY, STRING, STRING_LIST
from stacklang.interpreter import Overload, Word
from stacklang.queries import KEY_VALUE_WORDS, and_, not_, or_
from store.tag_query import Eq, Has, In, MatchAll, MatchNone, Regex, TagQuery


def _regex(ignore_case: bool) -> Callable[[str, str], list[Any]]:
    def build(key: str, pattern: str) -> list[Any]:
        try:
            return [Regex(key, pattern, ignore_case)]
        except re.error as error:
            raise WordError(f"invalid regular expression {pattern!r}: {error}") from None

    return build


def _in(key: str, values: tuple[str, ...]) -> list[Any]:
    if not values:
        return [MatchNone()]
    return [Eq(key, values[0])] if len(values) == 1 else [In(key, values)]


def _key_value(cls: type) -> Overload:
    return Overload((STRING, STRING), lambda key, value: [cls(key, value)])


def _binary(combine: Callable[[TagQuery, TagQuery], TagQuery]) -> Overload:
    return Overload((QUERY, QUERY), lambda left, right: [combine(left, right)])


WORDS: list[Word] = [
    Word("true", overloads=(Overload((), lambda: [MatchAll()]),)),
    Word("false", overloads=(Overload((), lambda: [MatchNone()]),)),
    Word("has", overloads=(Overload((STRING,), lambda key: [Has(key)]),)),
    *(Word(name, overloads=(_key_value(cls),)) for cls, name in KEY_VALUE_WORDS.items()),
    Word("re", overloads=(Overload((STRING, STRING), _regex(False)),)),
    Word("reic", overloads=(Overload((STRING, STRING), _regex(True)),)),
    Word("in", overloads=(Overload((STRING, STRING_LIST), _in),)),
    Word("and", overloads=(_binary(and_),)),
    Word("or", overloads=(_binary(or_),)),
    Word("not", overloads=(Overload((QUERY,), lambda query: [not_(query)]),)),
]
