"""Style words: presentation settings carried to the console's charts (not used in evaluation)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stacklang.errors import WordError
from stacklang.expr import StyleExpr
from stacklang.extract import STRING, STYLED
from stacklang.interpreter import Overload, Word
from stacklang.literals import parse_int, parse_number

LINE_STYLES = ("line", "area", "stack", "vspan", "heatmap")
_HEX = re.compile(r"[0-9a-fA-F]+")


def rgb(color: str) -> str:
    """Six lower-case hex digits of a 3-, 6- or 8-digit (ARGB) color."""
    color = color.lower()
    if len(color) == 3:
        return "".join(c * 2 for c in color)
    return color[-6:]


def _color(style: StyleExpr, value: str) -> StyleExpr:
    if len(value) not in (3, 6, 8) or not _HEX.fullmatch(value):
        raise WordError(f"invalid color {value!r}: use 3 or 6 hex digits (RGB) or 8 (ARGB)")
    return style.with_setting("color", value, drop=("alpha",))


def _alpha(style: StyleExpr, value: str) -> StyleExpr:
    if len(value) != 2 or not _HEX.fullmatch(value):
        raise WordError(f"invalid alpha {value!r}: use 2 hex digits, 00 (transparent) to ff (opaque)")
    color = style.get("color")
    if color is not None:  # as Atlas: an alpha after a color becomes the color's alpha
        return style.with_setting("color", value.lower() + rgb(color))
    return style.with_setting("alpha", value)


def _line_style(style: StyleExpr, value: str) -> StyleExpr:
    if value not in LINE_STYLES:
        raise WordError(f"invalid line style {value!r}; use one of {', '.join(LINE_STYLES)}")
    return style.with_setting("ls", value)


def _line_width(style: StyleExpr, value: str) -> StyleExpr:
    width = parse_number(value)
    if width is None or not 0 < width < 1000:
        raise WordError(f"invalid line width {value!r}: use a positive number")
    return style.with_setting("lw", value)


def _axis(style: StyleExpr, value: str) -> StyleExpr:
    axis = parse_int(value)
    if axis is None or not 0 <= axis <= 4:
        raise WordError(f"invalid axis {value!r}: use 0 to 4")
    return style.with_setting("axis", value)


def _setting(name: str, apply: Callable[[StyleExpr, str], StyleExpr]) -> Word:
    def run(style: StyleExpr, value: str) -> list[Any]:
        return [apply(style, value)]

    return Word(name, overloads=(Overload((STYLED, STRING), run),))


WORDS: list[Word] = [
    _setting("legend", lambda style, value: style.with_setting("legend", value)),
    _setting("color", _color),
    _setting("alpha", _alpha),
    _setting("ls", _line_style),
    _setting("lw", _line_width),
    _setting("axis", _axis),
    *(Word(ls, body=f"{ls},:ls") for ls in ("line", "area", "stack", "vspan")),
]
