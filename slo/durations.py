"""OpenSLO durations (``30d``, ``1h``, ``1M``, ``1Q``, ``1Y``): parsing and conversion.

Units are ``m`` (minute), ``h`` (hour), ``d`` (day), ``w`` (week), ``M`` (month),
``Q`` (quarter) and ``Y`` (year). ``m`` is always minutes; ``M`` is always months.

For calendar windows ``M``, ``Q`` and ``Y`` are calendar months, quarters and years
(see :func:`calendar_months`). For rolling windows they have fixed day equivalents,
the ones Sloth and Pyrra use: ``M`` = 30 d, ``Q`` = 90 d, ``Y`` = 365 d
(see :func:`rolling_timedelta`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

__all__ = [
    "ROLLING_DAYS",
    "Duration",
    "DurationError",
    "calendar_months",
    "parse_duration",
    "rolling_timedelta",
]

# Day equivalents of the calendar units when a window rolls (as Sloth and Pyrra do).
ROLLING_DAYS: dict[str, int] = {"M": 30, "Q": 90, "Y": 365}

_FIXED: dict[str, timedelta] = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_MONTHS: dict[str, int] = {"M": 1, "Q": 3, "Y": 12}
_PATTERN = re.compile(r"([1-9][0-9]*)([mhdwMQY])")


class DurationError(ValueError):
    """A duration text that is not a positive integer followed by one of ``m h d w M Q Y``."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"invalid duration {text!r}: {reason}")
        self.text = text
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Duration:
    """A parsed OpenSLO duration: a positive whole ``amount`` of ``unit``."""

    amount: int
    unit: str

    @property
    def is_calendar_unit(self) -> bool:
        """True for ``M``, ``Q`` and ``Y``, whose length depends on the calendar."""
        return self.unit in _MONTHS

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def parse_duration(text: str) -> Duration:
    """Parse ``text`` such as ``28d`` or ``1M``; raises :class:`DurationError` naming the text."""
    if not isinstance(text, str):
        raise DurationError(str(text), "expected a string such as '28d'")
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise DurationError(text, "expected a positive integer followed by one of m h d w M Q Y")
    return Duration(int(match.group(1)), match.group(2))


def rolling_timedelta(duration: Duration | str) -> timedelta:
    """The fixed length of ``duration`` as a rolling window (``M`` = 30 d, ``Q`` = 90 d, ``Y`` = 365 d)."""
    parsed = parse_duration(duration) if isinstance(duration, str) else duration
    if parsed.unit in ROLLING_DAYS:
        return timedelta(days=parsed.amount * ROLLING_DAYS[parsed.unit])
    return parsed.amount * _FIXED[parsed.unit]


def calendar_months(duration: Duration | str) -> int:
    """The number of calendar months in ``duration`` (``1Q`` → 3, ``1Y`` → 12).

    Raises :class:`DurationError` for units that are not ``M``, ``Q`` or ``Y``; calendar
    windows in days or weeks are measured with :func:`rolling_timedelta` from their start.
    """
    parsed = parse_duration(duration) if isinstance(duration, str) else duration
    if parsed.unit not in _MONTHS:
        raise DurationError(str(parsed), "not a calendar unit (expected M, Q or Y)")
    return parsed.amount * _MONTHS[parsed.unit]
