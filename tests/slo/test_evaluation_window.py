"""Rolling and calendar-aligned evaluation windows, including month boundaries outside UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from slo.durations import parse_duration
from slo.evaluation_window import EvaluationWindow, calendar_period, evaluation_window, to_ms
from slo.model import TimeWindow

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return to_ms(datetime(year, month, day, hour, minute, second, tzinfo=UTC))


def calendar(duration: str, zone: str, start: datetime | None = None) -> TimeWindow:
    anchor = datetime(2024, 1, 1) if start is None else start
    return TimeWindow(parse_duration(duration), is_rolling=False, start=anchor, time_zone=zone)


@pytest.mark.parametrize(
    ("window", "now", "start", "end"),
    [
        pytest.param(
            calendar("1M", "Europe/Amsterdam"),
            utc(2024, 3, 31, 21, 59, 59),
            utc(2024, 2, 29, 23),
            utc(2024, 3, 31, 22),
            id="March in Amsterdam runs from local midnight CET to local midnight CEST, an hour short",
        ),
        pytest.param(
            calendar("1M", "Europe/Amsterdam"),
            utc(2024, 3, 31, 22),
            utc(2024, 3, 31, 22),
            utc(2024, 4, 30, 22),
            id="at local midnight of 1 April Amsterdam is already in the April period",
        ),
        pytest.param(
            calendar("1M", "America/Los_Angeles"),
            utc(2024, 11, 1, 6, 59),
            utc(2024, 10, 1, 7),
            utc(2024, 11, 1, 7),
            id="the evening of 31 October in Los Angeles is still in October although UTC is in November",
        ),
        pytest.param(
            calendar("1M", "America/Los_Angeles"),
            utc(2024, 11, 15),
            utc(2024, 11, 1, 7),
            utc(2024, 12, 1, 8),
            id="November in Los Angeles is an hour longer because DST ends inside it",
        ),
        pytest.param(
            calendar("1Q", "Asia/Tokyo"),
            utc(2024, 5, 15),
            utc(2024, 3, 31, 15),
            utc(2024, 6, 30, 15),
            id="the second quarter in Tokyo starts at local midnight on 1 April",
        ),
        pytest.param(
            calendar("1Y", "UTC"),
            utc(2025, 6, 1),
            utc(2025, 1, 1),
            utc(2026, 1, 1),
            id="a yearly window resets on 1 January",
        ),
        pytest.param(
            calendar("1w", "Europe/Amsterdam"),
            utc(2024, 10, 27, 12),
            utc(2024, 10, 20, 22),
            utc(2024, 10, 27, 23),
            id="a week across the end of DST runs Monday midnight to Monday midnight, 7 days and an hour",
        ),
        pytest.param(
            calendar("1d", "Europe/Amsterdam"),
            utc(2024, 3, 31, 12),
            utc(2024, 3, 30, 23),
            utc(2024, 3, 31, 22),
            id="the day DST starts in Amsterdam lasts 23 hours",
        ),
        pytest.param(
            calendar("2w", "UTC"),
            utc(2024, 1, 20),
            utc(2024, 1, 15),
            utc(2024, 1, 29),
            id="a two-week window counts periods from its start time",
        ),
        pytest.param(
            calendar("1M", "Europe/Amsterdam"),
            utc(2023, 11, 10),
            utc(2023, 10, 31, 23),
            utc(2023, 11, 30, 23),
            id="before the start time the periods extend backwards",
        ),
        pytest.param(
            calendar("1M", "UTC", datetime(2024, 1, 31)),
            utc(2024, 2, 28, 12),
            utc(2024, 1, 31),
            utc(2024, 2, 29),
            id="a month anchored on the 31st ends on the last day of a shorter month",
        ),
        pytest.param(
            calendar("1M", "Europe/Amsterdam", datetime(2024, 1, 1, tzinfo=UTC)),
            utc(2024, 1, 15),
            utc(2024, 1, 1),
            utc(2024, 2, 1),
            id="an aware start time keeps its instant and is laid out on the zone's wall clock",
        ),
    ],
)
def test_calendar_window(window, now, start, end):
    assert evaluation_window(window, now) == EvaluationWindow(start, now, end - start)
    assert evaluation_window(window, now).period_end_ms == end


def test_a_calendar_period_starts_inclusively():
    window = calendar("1M", "Europe/Amsterdam")
    assert window.start is not None
    assert calendar_period(window.duration, window.start, "Europe/Amsterdam", utc(2024, 2, 29, 23)) == (
        utc(2024, 2, 29, 23),
        utc(2024, 3, 31, 22),
    )


@pytest.mark.parametrize(
    ("duration", "length"),
    [
        pytest.param("30d", 30 * DAY_MS, id="a rolling 30 days ends now and starts 30 days earlier"),
        pytest.param("1M", 30 * DAY_MS, id="a rolling month is 30 days"),
        pytest.param("1h", HOUR_MS, id="a rolling hour is an hour"),
    ],
)
def test_rolling_window(duration, length):
    now = utc(2024, 3, 31, 12)
    window = evaluation_window(TimeWindow(parse_duration(duration), is_rolling=True), now)
    assert window == EvaluationWindow(now - length, now, length)
    assert window.elapsed == 1.0


def test_elapsed_share_of_a_calendar_period():
    window = evaluation_window(calendar("1w", "UTC"), utc(2024, 1, 4, 12))
    assert window.elapsed == pytest.approx(3.5 / 7)


def test_a_calendar_window_without_a_start_is_refused():
    with pytest.raises(ValueError, match="startTime"):
        evaluation_window(TimeWindow(parse_duration("1M"), is_rolling=False), 0)


def test_to_ms_reads_naive_times_as_utc():
    assert to_ms(datetime(1970, 1, 1) + timedelta(seconds=1)) == 1000
