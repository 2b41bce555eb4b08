"""The Atlas Stack Language: parse expressions to typed trees and evaluate them over the store.

``evaluate(expression, reader, start_ms, end_ms, step_ms)`` is what other packages call;
``parse`` gives the typed expressions, ``parse_query`` a tag query (``/api/v1/tags?q=``),
``normalise`` the canonical text. See ``docs/architecture.md`` and stacklang.md.
"""

from __future__ import annotations

from stacklang.api import ResultSeries, evaluate
from stacklang.errors import StackLangError
from stacklang.expr import Expr
from stacklang.fetch import Limits
from stacklang.parsing import normalise, parse, parse_query

__all__ = [
    "Expr",
    "Limits",
    "ResultSeries",
    "StackLangError",
    "evaluate",
    "normalise",
    "parse",
    "parse_query",
]
