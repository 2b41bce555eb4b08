"""Grafana-style time ranges for the console: ``now-1h`` … ``now``, rounding, presets, chart steps, refresh.

The expression language is Grafana's datemath (``packages/grafana-data/src/datetime/datemath.ts``):
``now`` followed by steps ``+N<unit>``, ``-N<unit>`` (N defaults to 1) or ``/<unit>``, applied
left to right, with units ``s m h d w M y``. ``/unit`` rounds down to the start of the unit
for ``from`` and up to the unit's last millisecond for ``to`` (moment's ``startOf`` and
``endOf``), so ``now-1d/d`` to ``now-1d/d`` is the whole of yesterday. Absolute times are epoch
milliseconds or ISO 8601 with a zone. Pure logic: no Streamlit here.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "MAX_SPAN_MS",
    "NICE_STEPS_MS",
    "QUICK_RANGES",
    "REFRESH_INTERVALS",
    "QuickRange",
    "TimeRange",
    "TimeRangeError",
    "describe",
    "parse_refresh",
    "parse_time",
    "step_for",
]

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
# "About ten years": longer spans are a typo (now-100d vs now-100y), not an investigation.
MAX_SPAN_MS = 3653 * DAY_MS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNIT_NAMES = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "M": "month", "y": "year"}
# s, m and h are fixed durations (moment adds them as milliseconds, so across a DST change
# now-1h is 3600 s ago); d and w move the wall clock; M and y move the calendar.
_FIXED_MS = {"s": SECOND_MS, "m": MINUTE_MS, "h": HOUR_MS}
# Grafana refuses rounding by anything but one unit (``/2d``), and reads a missing count as 1.
_STEP = re.compile(r"([+-])(\d{0,6})([smhdwMy])|/1?([smhdwMy])")
# A '+' typed into a URL by hand arrives as a space (form decoding): 10:00:00 01:00 means +01:00.
_LOST_PLUS = re.compile(r"^(.+T[0-9:.,]+) (\d{2}(?::?\d{2})?)$")
_LAST = re.compile(r"now-([1-9]\d*)([smhdwMy])")
_NEXT = re.compile(r"now\+([1-9]\d*)([smhdwMy])")
_EXAMPLES = "examples: now-1h, now-1d/d, 2026-11-24T10:00:00Z, 1795860000000"


class TimeRangeError(ValueError):
    """A time range control that cannot be used; ``field`` is ``from``, ``to``, ``tz`` or ``refresh``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _show(text: str) -> str:
    """Quote user text for a reason, cut short: it ends up in a note on the page."""
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _zone(tz: str) -> tzinfo:
    if tz.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise TimeRangeError("tz", f"unknown time zone {_show(tz)}") from exc


def _to_ms(dt: datetime) -> int:
    # Integer arithmetic: dt.timestamp() is a float and loses the millisecond now and then.
    return (dt - _EPOCH) // timedelta(milliseconds=1)


def _from_ms(ms: int, zone: tzinfo) -> datetime:
    return (_EPOCH + timedelta(milliseconds=ms)).astimezone(zone)


def _shift(dt: datetime, n: int, unit: str) -> datetime:
    if unit in _FIXED_MS:
        return (dt.astimezone(UTC) + timedelta(milliseconds=n * _FIXED_MS[unit])).astimezone(dt.tzinfo)
    if unit in "dw":
        return dt + timedelta(days=n * (7 if unit == "w" else 1))
    years, month0 = divmod(dt.month - 1 + n * (12 if unit == "y" else 1), 12)
    year, month = dt.year + years, month0 + 1
    # As moment: Jan 31 + 1M is the last day of February, not March 3.
    return dt.replace(year=year, month=month, day=min(dt.day, calendar.monthrange(year, month)[1]))


def _start_of(dt: datetime, unit: str) -> datetime:
    if unit == "s":
        return dt.replace(microsecond=0)
    if unit == "m":
        return dt.replace(second=0, microsecond=0)
    if unit == "h":
        return dt.replace(minute=0, second=0, microsecond=0)
    day = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return day
    if unit == "w":
        # Monday: Grafana's week start when no user preference is set (@grafana/ui getWeekStart).
        return day - timedelta(days=day.weekday())
    if unit == "M":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _end_of(dt: datetime, unit: str) -> datetime:
    start = _start_of(dt, unit)
    return _from_ms(_to_ms(_shift(start, 1, unit)) - 1, start.tzinfo or UTC)


def _apply_math(math_text: str, dt: datetime, round_up: bool, field: str) -> datetime:
    # Grafana drops whitespace around operators; a bare space left over is a '+' lost in a URL.
    text = re.sub(r"\s+", "+", re.sub(r"\s*([+\-/])\s*", r"\1", math_text))
    pos = 0
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            raise TimeRangeError(field, f"cannot read {_show(text[pos:])} after 'now' ({_EXAMPLES})")
        sign, digits, unit, round_unit = m.groups()
        if round_unit:
            dt = _end_of(dt, round_unit) if round_up else _start_of(dt, round_unit)
        else:
            n = int(digits or "1")
            dt = _shift(dt, n if sign == "+" else -n, unit)
        pos = m.end()
    return dt


def _absolute(text: str, field: str) -> int:
    if text.isascii() and text.isdigit():
        # Epoch milliseconds, as Grafana's own share links carry absolute ranges.
        if len(text) > 15:
            raise TimeRangeError(field, f"{_show(text)} is out of the range of dates")
        return int(text)
    text = _LOST_PLUS.sub(r"\1+\2", text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise TimeRangeError(field, f"{_show(text)} is not a time ({_EXAMPLES})") from exc
    if dt.tzinfo is None:
        # Whose 10:00? The reader of a shared link may be anywhere: refuse rather than guess.
        raise TimeRangeError(field, f"{_show(text)} has no time zone: add Z or an offset such as +01:00")
    return _to_ms(dt)


def parse_time(
    text: str, now_ms: int, *, round_up: bool = False, tz: str = "UTC", field: str = "from"
) -> int:
    """Epoch milliseconds for one end of a range; ``round_up`` is true for ``to``.

    Raises TimeRangeError naming ``field`` (or ``tz``). No bounds are checked here:
    ``TimeRange.resolve`` does that for the pair.
    """
    zone = _zone(tz)
    stripped = text.strip()
    if not stripped:
        raise TimeRangeError(field, "is empty")
    try:
        if stripped.startswith("now"):
            return _to_ms(_apply_math(stripped[3:], _from_ms(now_ms, zone), round_up, field))
        return _absolute(stripped, field)
    except TimeRangeError:
        raise
    except (OverflowError, ValueError) as exc:  # datetime beyond year 1..9999
        raise TimeRangeError(field, f"{_show(text)} is out of the range of dates") from exc


@dataclass(frozen=True)
class TimeRange:
    """A range as the user wrote it (``now-1h`` … ``now``); resolved against a clock when used."""

    raw_from: str = "now-1h"
    raw_to: str = "now"
    tz: str = "UTC"

    def resolve(self, now_ms: int) -> tuple[int, int]:
        """``(start_ms, end_ms)``; raises TimeRangeError for unreadable, reversed or absurd ranges."""
        start = parse_time(self.raw_from, now_ms, round_up=False, tz=self.tz, field="from")
        end = parse_time(self.raw_to, now_ms, round_up=True, tz=self.tz, field="to")
        if start < 0:
            raise TimeRangeError("from", "is before 1970")
        if end < 0:
            raise TimeRangeError("to", "is before 1970")
        if start >= end:
            raise TimeRangeError(
                "from", f"must be before to ({_fmt(start, UTC)} is not before {_fmt(end, UTC)})"
            )
        if end - start > MAX_SPAN_MS:
            raise TimeRangeError("from", "the range is longer than 10 years")
        return start, end

    @property
    def is_relative(self) -> bool:
        """True when either end moves with the clock (worth auto-refreshing)."""
        return self.raw_from.strip().startswith("now") or self.raw_to.strip().startswith("now")


class QuickRange(NamedTuple):
    """One of the picker's ready-made ranges."""

    label: str
    raw_from: str
    raw_to: str


# Grafana's labels and expressions (rangeutil.ts getBaseRangeOptions), the subset on-call uses.
QUICK_RANGES: tuple[QuickRange, ...] = (
    QuickRange("Last 5 minutes", "now-5m", "now"),
    QuickRange("Last 15 minutes", "now-15m", "now"),
    QuickRange("Last 30 minutes", "now-30m", "now"),
    QuickRange("Last 1 hour", "now-1h", "now"),
    QuickRange("Last 3 hours", "now-3h", "now"),
    QuickRange("Last 6 hours", "now-6h", "now"),
    QuickRange("Last 12 hours", "now-12h", "now"),
    QuickRange("Last 24 hours", "now-24h", "now"),
    QuickRange("Last 2 days", "now-2d", "now"),
    QuickRange("Last 7 days", "now-7d", "now"),
    QuickRange("Last 30 days", "now-30d", "now"),
    QuickRange("Today so far", "now/d", "now"),
    QuickRange("Yesterday", "now-1d/d", "now-1d/d"),
)


def _fmt(ms: int, zone: tzinfo, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return _from_ms(ms, zone).strftime(fmt)


def describe(time_range: TimeRange) -> str:
    """A label for the range: a preset's name, ``Last 2 hours``, or the absolute times. Never raises."""
    raw_from, raw_to = time_range.raw_from.strip(), time_range.raw_to.strip()
    for quick in QUICK_RANGES:
        if (quick.raw_from, quick.raw_to) == (raw_from, raw_to):
            return quick.label
    # As Grafana's describeTextRange: any now-N<unit> to now reads as "Last N <units>".
    for word, moving, fixed, pattern in (
        ("Last", raw_from, raw_to, _LAST),
        ("Next", raw_to, raw_from, _NEXT),
    ):
        m = pattern.fullmatch(moving)
        if fixed == "now" and m:
            count = int(m.group(1))
            return f"{word} {count} {_UNIT_NAMES[m.group(2)]}{'s' if count > 1 else ''}"
    try:
        zone = _zone(time_range.tz)
        label = "UTC" if zone is UTC else time_range.tz
        ends = [
            None if raw.startswith("now") else _absolute(raw, f)
            for raw, f in ((raw_from, "from"), (raw_to, "to"))
        ]
        start, end = ends
        if start is not None and end is not None:
            # The date once when both ends fall on the same day, as people write it.
            same_day = _fmt(start, zone, "%Y-%m-%d") == _fmt(end, zone, "%Y-%m-%d")
            end_text = _fmt(end, zone, "%H:%M:%S") if same_day else _fmt(end, zone)
            return f"{_fmt(start, zone)} to {end_text} {label}"
        if start is not None:
            return f"{_fmt(start, zone)} {label} to {raw_to}"
        if end is not None:
            return f"{raw_from} to {_fmt(end, zone)} {label}"
    except (TimeRangeError, OverflowError, ValueError):
        pass
    return f"{raw_from} to {raw_to}"


# Steps a person reads at a glance; each divides the next evenly enough for aligned buckets.
NICE_STEPS_MS: tuple[int, ...] = (
    10 * SECOND_MS,
    30 * SECOND_MS,
    MINUTE_MS,
    5 * MINUTE_MS,
    10 * MINUTE_MS,
    30 * MINUTE_MS,
    HOUR_MS,
    6 * HOUR_MS,
    DAY_MS,
)


def step_for(start_ms: int, end_ms: int, max_points: int = 500, min_step_ms: int = 0) -> int:
    """The chart step in milliseconds: the finest nice step giving at most ``max_points`` points.

    Like Grafana's interval (range / max data points, rounded to a readable value), but
    always rounded up so the limit holds. ``min_step_ms`` is the store's resolution: a
    finer step would only repeat points. Past ``NICE_STEPS_MS`` whole days are used.
    """
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    span = max(end_ms - start_ms, 0)
    for step in NICE_STEPS_MS:
        if step >= min_step_ms and math.ceil(span / step) <= max_points:
            return step
    days = max(math.ceil(span / (max_points * DAY_MS)), math.ceil(min_step_ms / DAY_MS), 1)
    return days * DAY_MS


# Grafana's refresh picker offers 5s … 1d; the console stops at 15m (the cache TTL follows it).
REFRESH_INTERVALS: tuple[str, ...] = ("off", "5s", "10s", "30s", "1m", "5m", "15m")
_REFRESH_UNITS = {"s": 1, "m": 60}


def parse_refresh(text: str) -> int | None:
    """Seconds between refreshes, or None for ``off``; raises TimeRangeError("refresh", …) otherwise."""
    value = text.strip()
    if value == "off":
        return None
    if value not in REFRESH_INTERVALS:
        raise TimeRangeError("refresh", f"{_show(text)} is not one of {', '.join(REFRESH_INTERVALS)}")
    return int(value[:-1]) * _REFRESH_UNITS[value[-1]]
