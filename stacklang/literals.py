"""Numbers and durations as they appear in expressions, read and written back.

Numbers follow Java's ``Double.parseDouble`` (Atlas's) plus Python's spellings of the
special values, so that what :func:`format_number` writes reads back bit for bit.
Durations are Atlas's short forms (``5m``, ``1h``, ``1w``) or ISO 8601 (``PT1H``, ``P1D``).
"""

from __future__ import annotations

import math
import re

_NUMBER = re.compile(r"[+-]?(?:nan|infinity|inf|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)", re.IGNORECASE)
_INT = re.compile(r"[+-]?\d+")
_UNITS_MS = {
    "ms": 1,
    "s": 1_000,
    "sec": 1_000,
    "second": 1_000,
    "seconds": 1_000,
    "m": 60_000,
    "min": 60_000,
    "minute": 60_000,
    "minutes": 60_000,
    "h": 3_600_000,
    "hour": 3_600_000,
    "hours": 3_600_000,
    "d": 86_400_000,
    "day": 86_400_000,
    "days": 86_400_000,
    "w": 604_800_000,
    "week": 604_800_000,
    "weeks": 604_800_000,
}
_SHORT = re.compile(r"(\d+)\s*([a-z]+)", re.IGNORECASE)
_ISO = re.compile(
    r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?", re.IGNORECASE
)
# Largest first: a duration prints in the largest unit that divides it.
_PRINT_UNITS = (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000))


def parse_number(text: str) -> float | None:
    if _NUMBER.fullmatch(text) is None:
        return None
    lowered = text.lower().lstrip("+")
    if lowered.endswith(("nan", "inf", "infinity")):
        return -math.inf if lowered.startswith("-inf") else math.inf if "inf" in lowered else math.nan
    return float(text)


def parse_int(text: str) -> int | None:
    return int(text) if _INT.fullmatch(text) else None


def format_number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(float(value))


def parse_duration(text: str) -> int | None:
    """Milliseconds, or None when ``text`` is not a duration."""
    short = _SHORT.fullmatch(text)
    if short is not None:
        unit = _UNITS_MS.get(short.group(2).lower())
        return None if unit is None else int(short.group(1)) * unit
    iso = _ISO.fullmatch(text)
    if iso is None or text.upper() in ("P", "PT") or text.upper().endswith("T"):
        return None
    weeks, days, hours, minutes, seconds = iso.groups()
    total = int(weeks or 0) * 604_800_000 + int(days or 0) * 86_400_000
    total += int(hours or 0) * 3_600_000 + int(minutes or 0) * 60_000
    return total + round(float(seconds or 0) * 1000)


def format_duration(ms: int) -> str:
    for unit, size in _PRINT_UNITS:
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"
