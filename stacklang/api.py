"""The entry point other packages use: evaluate an expression over a range and step.

Every item left on the stack is evaluated, bottom first, and contributes its series in
order. A series' label is its legend (``:legend``, with ``$key`` and ``$(key)`` replaced by
its tag values; an unknown key stands for itself) or else its default label.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from stacklang.errors import StackLangError
from stacklang.evaluator import Evaluator
from stacklang.expr import StyleExpr
from stacklang.fetch import Limits, Reads, Window
from stacklang.parsing import parse
from stacklang.words_style import rgb
from store.interfaces import SeriesReader

_VARIABLE = re.compile(r"\$(?:\(([^)]*)\)|([-_.a-zA-Z0-9]+))")


@dataclass(frozen=True)
class ResultSeries:
    """One output series. ``values[i]`` covers the step ending at ``start_ms + (i + 1) * step_ms``.

    ``values`` is float64, NaN for no data, and read-only (it may share memory with other
    results). ``style`` holds only the settings the expression made: ``color`` (6 hex digits,
    RGB), ``alpha`` (0–255, from Atlas's 2 hex digits: ``40,:alpha`` is 64), ``line_style``
    (line, area, stack, vspan, heatmap), ``stack`` (whether ``line_style`` is stack),
    ``line_width`` (float) and ``axis`` (int).
    """

    tags: Mapping[str, str]
    label: str
    values: npt.NDArray[np.float64]
    style: Mapping[str, Any]


def substitute(legend: str, tags: Mapping[str, str]) -> str:
    """Atlas's legend variables: ``$key`` or ``$(key)``; a key the series lacks stands for itself."""

    def value(match: re.Match[str]) -> str:
        key = match.group(1) if match.group(1) is not None else match.group(2)
        return tags.get(key, key) if key else match.group(0)

    return _VARIABLE.sub(value, legend)


def style_of(expr: StyleExpr) -> dict[str, Any]:
    settings = dict(expr.settings)
    style: dict[str, Any] = {}
    color = settings.get("color")
    if color is not None:
        style["color"] = rgb(color)
        if len(color) == 8:
            style["alpha"] = int(color[:2], 16)
    if "alpha" in settings:
        style["alpha"] = int(settings["alpha"], 16)
    if "ls" in settings:
        style["line_style"] = settings["ls"]
        style["stack"] = settings["ls"] == "stack"
    if "lw" in settings:
        style["line_width"] = float(settings["lw"])
    if "axis" in settings:
        style["axis"] = int(settings["axis"])
    return style


def evaluate(
    expression: str,
    reader: SeriesReader,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    *,
    limits: Limits = Limits(),  # noqa: B008 - frozen, so one shared default is safe
) -> list[ResultSeries]:
    """The series of every expression on the stack over (start, end] at ``step_ms``.

    ``start_ms`` is aligned down to the step; there are ceil((end − start) / step) values.
    Raises :class:`StackLangError` for a malformed expression, a bad range, or a result or
    read over ``limits`` (checked before the data is read, never by running out of memory).
    """
    if step_ms <= 0:
        raise StackLangError(f"the step must be positive, got {step_ms} ms")
    start = start_ms // step_ms * step_ms
    if end_ms <= start:
        raise StackLangError("the end of the range must be after its start")
    steps = math.ceil((end_ms - start) / step_ms)
    if steps > limits.max_points:
        raise StackLangError(
            f"{steps} steps per series is over the limit of {limits.max_points} points; "
            "use a larger step or a shorter range"
        )
    expressions = parse(expression)
    evaluator = Evaluator(Reads(reader, limits))
    window = Window(start, steps, step_ms)
    results: list[ResultSeries] = []
    for expr in expressions:
        styled = expr if isinstance(expr, StyleExpr) else StyleExpr(expr)
        with np.errstate(all="ignore"):  # overflow to inf, 0/0 to NaN: IEEE results, not warnings
            lines = evaluator.eval(styled.expr, window)
        total = len(results) + len(lines)
        if total > limits.max_series:
            raise StackLangError(
                f"the expression returns {total} series, over the limit of {limits.max_series}; "
                "narrow the query or group by fewer keys"
            )
        if total * steps > limits.max_points:
            raise StackLangError(
                f"the expression returns {total} series × {steps} steps = {total * steps} points, over "
                f"the limit of {limits.max_points}; narrow the query, use a larger step or a shorter range"
            )
        style, legend = style_of(styled), styled.get("legend")
        for tags, label, values in zip(lines.tags, lines.labels, lines.values, strict=True):
            row = values.view()
            row.flags.writeable = False
            shown = label if legend is None else substitute(legend, tags)
            results.append(ResultSeries(dict(tags), shown, row, style))
    return results
