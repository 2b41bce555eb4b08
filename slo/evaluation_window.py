"""The evaluation window of an SLO at a given instant: rolling or calendar-aligned (slo.md §3, §5).

Instants are epoch milliseconds (UTC). A rolling window is ``[now − duration, now]`` with
``M`` = 30 d, ``Q`` = 90 d and ``Y`` = 365 d. A calendar window is the period containing
``now`` in a sequence of periods anchored at ``calendar.startTime`` and laid out on the
wall clock of ``calendar.timeZone``: months, quarters and years step by calendar months,
days and weeks by local days (so a period starts at local midnight whatever the UTC
offset, and a day across a DST change lasts 23 or 25 hours); minutes and hours are fixed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from slo.durations import Duration, calendar_months, rolling_timedelta
from slo.model import TimeWindow

__all__ = ["EvaluationWindow", "calendar_period", "evaluation_window", "to_ms"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_DAYS: dict[str, int] = {"d": 1, "w": 7}


@dataclass(frozen=True, slots=True)
class EvaluationWindow:
    """``[start_ms, end_ms]`` to evaluate and the full period length ``period_ms``.

    For a rolling window ``end_ms − start_ms == period_ms``. For a calendar window
    ``start_ms`` is the start of the current period, ``end_ms`` is ``now`` and
    ``period_ms`` the whole period (``period_end_ms`` is when it ends), for scaling budgets
    and burn-rate thresholds.
    """

    start_ms: int
    end_ms: int
    period_ms: int

    @property
    def period_end_ms(self) -> int:
        """When the period ends (equal to ``end_ms`` for a rolling window)."""
        return self.start_ms + self.period_ms

    @property
    def elapsed(self) -> float:
        """Share of the period already behind ``end_ms``, in [0, 1]."""
        return (self.end_ms - self.start_ms) / self.period_ms


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware ``moment`` (naive moments are read as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH) // _MS


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _local_start(start: datetime, zone: ZoneInfo) -> datetime:
    """``start`` as a naive wall-clock time in ``zone`` (aware starts are converted first)."""
    return start.astimezone(zone).replace(tzinfo=None) if start.tzinfo is not None else start


def calendar_period(duration: Duration, start: datetime, time_zone: str, now_ms: int) -> tuple[int, int]:
    """``(start_ms, end_ms)`` of the calendar period that contains ``now_ms`` (start inclusive)."""
    zone = ZoneInfo(time_zone)
    anchor = _local_start(start, zone)

    def boundary(k: int) -> int:
        if duration.is_calendar_unit:
            local = _add_months(anchor, k * calendar_months(duration))
        elif duration.unit in _DAYS:
            local = anchor + timedelta(days=k * duration.amount * _DAYS[duration.unit])
        else:  # minutes and hours do not follow the wall clock
            return to_ms(anchor.replace(tzinfo=zone)) + k * (rolling_timedelta(duration) // _MS)
        return to_ms(local.replace(tzinfo=zone))

    now_local = datetime.fromtimestamp(now_ms / 1000, zone).replace(tzinfo=None)
    if duration.is_calendar_unit:
        months = (now_local.year - anchor.year) * 12 + now_local.month - anchor.month
        k = months // calendar_months(duration)
    else:
        k = (now_local - anchor) // rolling_timedelta(duration)
    # The estimate is off by at most one near a boundary (DST, clamped month ends).
    while boundary(k) > now_ms:
        k -= 1
    while boundary(k + 1) <= now_ms:
        k += 1
    return boundary(k), boundary(k + 1)


def evaluation_window(window: TimeWindow, now_ms: int) -> EvaluationWindow:
    """The window of ``window`` at ``now_ms``; raises ValueError for a calendar window without a start."""
    if window.is_rolling:
        length = rolling_timedelta(window.duration) // _MS
        return EvaluationWindow(now_ms - length, now_ms, length)
    if window.start is None or window.time_zone is None:
        raise ValueError("a calendar window needs startTime and timeZone")
    start_ms, end_ms = calendar_period(window.duration, window.start, window.time_zone, now_ms)
    return EvaluationWindow(start_ms, now_ms, end_ms - start_ms)
