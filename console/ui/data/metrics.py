"""The Metrics explorer's shaping: editing a stack-language expression, legend figures, exemplar rows.

No Streamlit here. The expression is edited as text (the server parses it): adding a tag
clause puts ``key,value,:eq,:and`` right after the expression's first query, so it narrows
that query even when an aggregation (``:sum``, ``(,nf.app,),:by``) follows. Figures are the
API's own: ``/api/v1/graph`` values (``"NaN"`` is a gap, never a zero) and
``/api/v1/exemplars`` spans.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from console.ui.charts import series_values
from stacklang.tokens import escape

# Words that build or combine queries (stacklang's words_query); any other word ends the query.
QUERY_WORDS = frozenset(
    {
        "eq",
        "contains",
        "starts",
        "ends",
        "lt",
        "le",
        "gt",
        "ge",
        "re",
        "reic",
        "in",
        "has",
        "and",
        "or",
        "not",
    }
    | {"true", "false"}
)
# The names the server gives to the graph's parameters, as the page's controls call them.
FIELD_LABELS = {"q": "Expression", "step": "Step", "s": "From", "e": "To", "tz": "Time zone"}
MAX_EXEMPLAR_ROWS = 300
_POSITION = re.compile(r"\bposition (\d+)\b")

EXAMPLES = {
    "Requests per app": "name,span.calls,:eq,(,nf.app,),:by",
    "Slowest call per app": "name,span.duration,:eq,statistic,max,:eq,:and,(,nf.app,),:by",
    "Errors per app": "name,span.calls,:eq,status.code,error,:eq,:and,(,nf.app,),:by",
}


def _tokens(expression: str) -> list[tuple[str, int]]:
    """(token, offset just after it) for each comma-separated token; comments are not special here."""
    found, offset = [], 0
    for piece in expression.split(","):
        offset += len(piece)
        if piece.strip():
            found.append((piece.strip(), offset))
        offset += 1
    return found


def _query_end(expression: str) -> int | None:
    """Offset after the last query word of the first query (before any other word), or None."""
    end = None
    for token, after in _tokens(expression):
        if token.startswith(":"):
            if token[1:] not in QUERY_WORDS:
                break
            end = after
    return end


def query_part(expression: str) -> str:
    """The expression's first query (``name,x,:eq`` of ``name,x,:eq,:sum``), for tags and exemplars."""
    end = _query_end(expression)
    return "" if end is None else expression[:end].strip()


def add_clause(expression: str, key: str, value: str) -> str:
    """``expression`` narrowed by ``key,value,:eq`` (and-ed into its first query)."""
    clause = f"{escape(key)},{escape(value)},:eq"
    if not expression.strip():
        return clause
    end = _query_end(expression)
    if end is None:  # no query yet (a half-typed one): the person finishes it
        return f"{expression.rstrip().rstrip(',')},{clause},:and"
    return f"{expression[:end]},{clause},:and{expression[end:]}"


def tags_text(tags: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def legend_rows(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per series: its legend, tags and the last/avg/max of its values (gaps left out)."""
    rows = []
    for column, label in enumerate(answer["legend"]):
        values = [v for v in series_values(answer, column) if v is not None]
        tags = answer["metrics"][column] if column < len(answer.get("metrics", [])) else {}
        rows.append(
            {
                "series": label,
                "tags": tags_text(tags),
                "last": values[-1] if values else None,
                "avg": sum(values) / len(values) if values else None,
                "max": max(values) if values else None,
                "points": len(values),
            }
        )
    return rows


def exemplar_rows(answer: Mapping[str, Any], link_of: Callable[[str], str]) -> list[dict[str, Any]]:
    """Per series and step the example span the server chose, newest first, with a link to its trace."""
    rows = [
        {
            "time_ms": exemplar["timestamp_ms"],
            "series": tags_text(series["tags"]),
            "operation": exemplar.get("operation", ""),
            "duration ms": exemplar.get("duration_ms"),
            "status": exemplar.get("status", ""),
            "value": exemplar.get("value"),
            "trace_id": exemplar["trace_id"],
            "trace": link_of(exemplar["trace_id"]),
        }
        for series in answer.get("series", [])
        for exemplar in series.get("exemplars", [])
    ]
    rows.sort(key=lambda r: (-r["time_ms"], -(r["duration ms"] or 0.0)))
    return rows


def error_lines(problems: Sequence[tuple[str, str]], detail: str) -> list[str]:
    """The server's reasons, each naming the control at fault (``Expression (q): unknown word…``)."""
    if not problems:
        return [detail]
    return [f"{FIELD_LABELS.get(field, field)} ({field}): {reason}" for field, reason in problems]


def caret(expression: str, reason: str) -> str | None:
    """The line of the expression a reason points into (``at position 13``) with a ``^`` under it."""
    found = _POSITION.search(reason)
    if found is None:
        return None
    position, start = int(found.group(1)), 0
    for line in expression.split("\n"):
        if position <= start + len(line):
            return f"{line}\n{' ' * (position - start)}^"
        start += len(line) + 1
    return None
