"""Every page's state in the query string: a declarative schema, decode, encode and links.

A link pasted in a chat must reproduce the view, so each page describes its state as a
``Schema`` of typed fields. ``decode`` reads ``st.query_params`` (never raising: a bad value
falls back to its default and is reported), ``encode`` writes the state back with defaults
left out (Streamlit clears the query string on a page switch, so pages write it back on
every load), and ``link`` builds the relative URL for a one-click jump to another page.
Values are percent-encoded data; nothing here escapes HTML or Markdown. No Streamlit here.

Streamlit's ``st.query_params[key]`` gives the last value of a repeated key; for list
fields pass ``{k: st.query_params.get_all(k) for k in st.query_params}``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode

from console.ui.time_range import REFRESH_INTERVALS, TimeRange, TimeRangeError, parse_time

__all__ = [
    "COMMON",
    "Field",
    "Schema",
    "bool_field",
    "decode",
    "encode",
    "enum_field",
    "float_field",
    "int_field",
    "link",
    "list_field",
    "str_field",
    "time_window",
    "unknown",
]

Kind = Literal["str", "int", "float", "bool", "list", "enum"]
QueryParams = Mapping[str, str | Sequence[str]]
Problem = tuple[str, str]

_INT = re.compile(r"[+-]?[0-9]+")
# ASCII only and finite: float() would also take "nan", "1_0" and Arabic-Indic digits.
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass(frozen=True)
class Field:
    """One piece of page state. ``minimum``/``maximum`` bound the number, the text's length
    or the list's item count; ``check`` returns a reason when a text (or list item) is unusable."""

    name: str
    kind: Kind
    default: Any
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    check: Callable[[str], str | None] | None = None


def str_field(
    name: str, default: str = "", *, max_length: int = 1000, check: Callable[[str], str | None] | None = None
) -> Field:
    """Free text (a search, a trace id); long texts are refused to keep URLs shareable."""
    return Field(name, "str", default, maximum=max_length, check=check)


def int_field(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> Field:
    """A whole number, e.g. ``int_field("limit", 100, minimum=1, maximum=1000)``."""
    return Field(name, "int", default, minimum=minimum, maximum=maximum)


def float_field(
    name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
) -> Field:
    """A finite number."""
    return Field(name, "float", float(default), minimum=minimum, maximum=maximum)


def bool_field(name: str, default: bool = False) -> Field:
    """A switch, written ``true``/``false``."""
    return Field(name, "bool", default)


def list_field(name: str, default: Sequence[str] = (), *, max_items: int = 50) -> Field:
    """Several texts, written as a repeated key (``?level=warn&level=error``), order kept."""
    return Field(name, "list", list(default), maximum=max_items)


def enum_field(name: str, default: str, choices: Sequence[str]) -> Field:
    """One of a fixed set of words."""
    return Field(name, "enum", default, choices=tuple(choices))


@dataclass(frozen=True)
class Schema:
    """A page's fields in URL order; build with ``Schema.of(page fields…, COMMON)``."""

    fields: tuple[Field, ...]

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate field names in {names}")
        for f in self.fields:  # a bad default is a programming error: fail at import
            if (reason := _invalid(f, f.default)) is not None:
                raise ValueError(f"default of {f.name!r}: {reason}")

    @classmethod
    def of(cls, *parts: Field | Schema) -> Schema:
        """Concatenate fields and reusable schema pieces."""
        return cls(tuple(f for p in parts for f in (p.fields if isinstance(p, Schema) else (p,))))

    def defaults(self) -> dict[str, Any]:
        """The state of a page opened without a query string (lists copied)."""
        return {f.name: list(f.default) if f.kind == "list" else f.default for f in self.fields}


def _bounds(f: Field, size: float, what: str) -> str | None:
    if f.minimum is not None and size < f.minimum:
        return f"{what} is below the minimum {f.minimum:g}"
    if f.maximum is not None and size > f.maximum:
        return f"{what} is above the maximum {f.maximum:g}"
    return None


def _invalid(f: Field, value: Any) -> str | None:
    """Why a typed value does not fit the field, or None."""
    if f.kind in ("str", "enum"):
        if not isinstance(value, str):
            return "is not a text"
        if f.kind == "enum":
            return None if value in f.choices else f"{value!r} is not one of {', '.join(f.choices)}"
        return _bounds(f, len(value), f"length {len(value)}") or (f.check(value) if f.check else None)
    if f.kind == "bool":
        return None if isinstance(value, bool) else "is not true or false"
    if f.kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            return "is not a list of non-empty texts"
        reasons = [r for v in value if f.check and (r := f.check(v))]
        return _bounds(f, len(value), f"{len(value)} items") or (reasons[0] if reasons else None)
    # bool is an int to Python, never to a URL reader.
    numeric = (int,) if f.kind == "int" else (int, float)
    if isinstance(value, bool) or not isinstance(value, numeric) or not math.isfinite(value):
        return "is not a whole number" if f.kind == "int" else "is not a finite number"
    return _bounds(f, value, f"{value:g}" if f.kind == "float" else str(value))


def _parse(f: Field, raw: str | Sequence[str]) -> Any:
    """The typed value of a query parameter; raises ValueError with the reason."""
    if f.kind == "list":
        items = [raw] if isinstance(raw, str) else list(raw)
        return [v for v in items if v]  # "?level=" is how an empty list is written
    text = raw if isinstance(raw, str) else (raw[-1] if raw else "")  # the last wins, as in Streamlit
    shown = repr(text if len(text) <= 40 else text[:40] + "…")
    if f.kind == "int":
        if not _INT.fullmatch(text.strip()):
            raise ValueError(f"{shown} is not a whole number")
        return int(text)
    if f.kind == "float":
        if not _FLOAT.fullmatch(text.strip()) or not math.isfinite(number := float(text)):
            raise ValueError(f"{shown} is not a number")
        return number
    if f.kind == "bool":
        if text.strip().lower() not in _BOOLS:
            raise ValueError(f"{shown} is not true or false")
        return _BOOLS[text.strip().lower()]
    return text


def decode(schema: Schema, query_params: QueryParams) -> tuple[dict[str, Any], list[Problem]]:
    """The page state from the query string, and ``(field, reason)`` for each value replaced
    by its default. Unknown parameters are ignored here (see ``unknown``). Never raises."""
    state = schema.defaults()
    problems: list[Problem] = []
    for f in schema.fields:
        if f.name not in query_params:
            continue
        try:
            value = _parse(f, query_params[f.name])
        except ValueError as exc:
            problems.append((f.name, f"{exc}; using the default"))
            continue
        reason = _invalid(f, value)
        if reason is None:
            state[f.name] = value
        else:
            problems.append((f.name, f"{reason}; using the default"))
    return state, problems


def unknown(schema: Schema, query_params: QueryParams) -> dict[str, str | list[str]]:
    """Parameters the schema does not know (another page's), kept aside to write back.

    Streamlit hides and preserves its own ``embed`` parameters itself."""
    names = {f.name for f in schema.fields}
    return {k: v if isinstance(v, str) else list(v) for k, v in query_params.items() if k not in names}


def encode(
    schema: Schema, state: Mapping[str, Any], *, extra: Mapping[str, str | list[str]] | None = None
) -> dict[str, str | list[str]]:
    """Query parameters for ``state`` in schema order, defaults left out; ``extra`` (e.g. from
    ``unknown``) follows. Raises ValueError for a key the schema lacks or an invalid value."""
    names = {f.name for f in schema.fields}
    if stray := [k for k in state if k not in names]:
        raise ValueError(f"not in the schema: {stray}")
    params: dict[str, str | list[str]] = {}
    for f in schema.fields:
        value = state.get(f.name, f.default)
        if (reason := _invalid(f, value)) is not None:
            raise ValueError(f"{f.name}: {reason}")
        if value == f.default:
            continue
        if f.kind == "list":
            params[f.name] = list(value) if value else ""
        elif f.kind == "bool":
            params[f.name] = "true" if value else "false"
        elif f.kind == "float":
            params[f.name] = repr(float(value))  # repr round-trips exactly
        else:
            params[f.name] = str(value)
    for k, v in (extra or {}).items():
        params.setdefault(k, v)
    return params


def link(page_path: str, state: Mapping[str, Any], schema: Schema) -> str:
    """A relative URL such as ``/traces?service=playback&from=now-1h`` for ``state`` on that page."""
    path = quote("/" + page_path.lstrip("/"), safe="/")
    query = urlencode(list(_pairs(encode(schema, state))), quote_via=quote, safe="/:")
    return f"{path}?{query}" if query else path


def _pairs(params: Mapping[str, str | list[str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, vs in params.items() for v in ([vs] if isinstance(vs, str) else vs)]


def _time_check(round_up: bool) -> Callable[[str], str | None]:
    def check(text: str) -> str | None:
        try:  # syntax only: the pair is judged by TimeRange.resolve against the real clock
            parse_time(text, 946_684_800_000, round_up=round_up)
        except TimeRangeError as exc:
            return exc.reason
        return None

    return check


# The controls every page shares (console spec: time range, auto-refresh). The theme is
# Streamlit's own (its settings menu; `watchfloor console --theme`): it cannot change from a URL.
COMMON = Schema(
    (
        str_field("from", "now-1h", max_length=64, check=_time_check(False)),
        str_field("to", "now", max_length=64, check=_time_check(True)),
        enum_field("refresh", "off", REFRESH_INTERVALS),
    )
)


def time_window(
    state: Mapping[str, Any], now_ms: int, tz: str = "UTC"
) -> tuple[tuple[int, int], list[Problem]]:
    """``(start_ms, end_ms)`` for the state's from/to; a refused pair falls back to the default
    range and is reported, like any other field."""
    try:
        return TimeRange(state["from"], state["to"], tz).resolve(now_ms), []
    except TimeRangeError as exc:
        default = COMMON.defaults()
        return TimeRange(default["from"], default["to"]).resolve(now_ms), [(exc.field, exc.reason)]
