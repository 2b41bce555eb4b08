"""Every word, overloads merged in Atlas's vocabulary order (std, query, data, math, stateful, filter, style).

When a name has overloads in several vocabularies (``:and`` on queries and on series,
``:sum`` on a query and on an expression) the earlier vocabulary's are tried first.
"""

from __future__ import annotations

from stacklang import (
    words_data,
    words_filter,
    words_math,
    words_query,
    words_stateful,
    words_std,
    words_style,
)
from stacklang.interpreter import Interpreter, Word

_MODULES = (words_std, words_query, words_data, words_math, words_stateful, words_filter, words_style)


def _merge() -> list[Word]:
    merged: dict[str, Word] = {}
    for module in _MODULES:
        for word in module.WORDS:
            found = merged.get(word.name)
            if found is None:
                merged[word.name] = word
            elif found.raw is None and not found.body and word.raw is None and not word.body:
                merged[word.name] = Word(word.name, overloads=found.overloads + word.overloads)
            else:
                raise AssertionError(f"':{word.name}' is defined twice and cannot be merged")
    return list(merged.values())


VOCABULARY = _merge()
INTERPRETER = Interpreter(VOCABULARY)
