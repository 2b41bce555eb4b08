"""Grafana-style time ranges: expressions, rounding, absolute times, refusals, presets, steps, refresh."""

from __future__ import annotations

from datetime import datetime

import pytest

from console.ui.time_range import (
    MAX_SPAN_MS,
    NICE_STEPS_MS,
    QUICK_RANGES,
    REFRESH_INTERVALS,
    TimeRange,
    TimeRangeError,
    describe,
    parse_refresh,
    parse_time,
    step_for,
)


def ms(iso: str) -> int:
    """Epoch milliseconds of an ISO time with a zone (the tests' own reading, not the module's)."""
    dt = datetime.fromisoformat(iso)
    assert dt.tzinfo is not None
    return round(dt.timestamp() * 1000)


# A Tuesday, with milliseconds, so that every rounding shows.
NOW = ms("2026-11-24T10:17:42.123+00:00")
SECOND, MINUTE, HOUR, DAY = 1_000, 60_000, 3_600_000, 86_400_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("now", "2026-11-24T10:17:42.123Z", id="now is the clock itself"),
        pytest.param("now-30s", "2026-11-24T10:17:12.123Z", id="seconds are subtracted"),
        pytest.param("now-15m", "2026-11-24T10:02:42.123Z", id="m means minutes"),
        pytest.param("now-1h", "2026-11-24T09:17:42.123Z", id="hours are subtracted"),
        pytest.param("now-7d", "2026-11-17T10:17:42.123Z", id="days are subtracted"),
        pytest.param("now-2w", "2026-11-10T10:17:42.123Z", id="weeks are seven days"),
        pytest.param("now-1M", "2026-10-24T10:17:42.123Z", id="capital M means a calendar month"),
        pytest.param("now-1y", "2025-11-24T10:17:42.123Z", id="y means a calendar year"),
        pytest.param("now+5m", "2026-11-24T10:22:42.123Z", id="a plus moves into the future"),
        pytest.param("now-d", "2026-11-23T10:17:42.123Z", id="a missing count means one as in Grafana"),
        pytest.param("now-1h-30m", "2026-11-24T08:47:42.123Z", id="several steps apply left to right"),
        pytest.param("now - 1h", "2026-11-24T09:17:42.123Z", id="spaces around an operator are ignored"),
        pytest.param("now 5m", "2026-11-24T10:22:42.123Z", id="a plus lost to URL decoding is a plus"),
        pytest.param("  now-1h  ", "2026-11-24T09:17:42.123Z", id="surrounding whitespace is ignored"),
    ],
)
def test_relative_expressions_move_the_clock(text: str, expected: str) -> None:
    assert parse_time(text, NOW) == ms(expected)


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [
        pytest.param(
            "2026-03-31T12:00Z", "now-1M", "2026-02-28T12:00Z", id="a month back from March 31 is Feb 28"
        ),
        pytest.param(
            "2026-01-31T12:00Z", "now+1M", "2026-02-28T12:00Z", id="a month on from Jan 31 is Feb 28"
        ),
        pytest.param(
            "2028-02-29T12:00Z", "now-1y", "2027-02-28T12:00Z", id="a year back from Feb 29 is Feb 28"
        ),
        pytest.param("2028-02-29T12:00Z", "now-4y", "2024-02-29T12:00Z", id="four years back keeps Feb 29"),
        pytest.param(
            "2026-12-15T12:00Z", "now+1M", "2027-01-15T12:00Z", id="a month on from December is January"
        ),
    ],
)
def test_months_and_years_are_calendar_arithmetic(now: str, text: str, expected: str) -> None:
    assert parse_time(text, ms(now)) == ms(expected)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        pytest.param("now/s", "2026-11-24T10:17:42.000Z", "2026-11-24T10:17:42.999Z", id="seconds round"),
        pytest.param("now/m", "2026-11-24T10:17:00.000Z", "2026-11-24T10:17:59.999Z", id="minutes round"),
        pytest.param("now/h", "2026-11-24T10:00:00.000Z", "2026-11-24T10:59:59.999Z", id="hours round"),
        pytest.param(
            "now/d", "2026-11-24T00:00:00.000Z", "2026-11-24T23:59:59.999Z", id="today is the whole day"
        ),
        pytest.param(
            "now/1d", "2026-11-24T00:00:00.000Z", "2026-11-24T23:59:59.999Z", id="rounding by 1d is by d"
        ),
        pytest.param(
            "now-1d/d", "2026-11-23T00:00:00.000Z", "2026-11-23T23:59:59.999Z", id="yesterday is whole"
        ),
        pytest.param(
            "now/w", "2026-11-23T00:00:00.000Z", "2026-11-29T23:59:59.999Z", id="weeks run Monday to Sunday"
        ),
        pytest.param(
            "now-1w/w", "2026-11-16T00:00:00.000Z", "2026-11-22T23:59:59.999Z", id="last week is whole"
        ),
        pytest.param(
            "now/M", "2026-11-01T00:00:00.000Z", "2026-11-30T23:59:59.999Z", id="this month is whole"
        ),
        pytest.param(
            "now-1M/M", "2026-10-01T00:00:00.000Z", "2026-10-31T23:59:59.999Z", id="October has 31 days"
        ),
        pytest.param(
            "now-9M/M", "2026-02-01T00:00:00.000Z", "2026-02-28T23:59:59.999Z", id="February has 28 days"
        ),
        pytest.param(
            "now/y", "2026-01-01T00:00:00.000Z", "2026-12-31T23:59:59.999Z", id="this year is whole"
        ),
        pytest.param(
            "now-1y/y", "2025-01-01T00:00:00.000Z", "2025-12-31T23:59:59.999Z", id="last year is whole"
        ),
        pytest.param(
            "now/d+2h",
            "2026-11-24T02:00:00.000Z",
            "2026-11-25T01:59:59.999Z",
            id="steps may follow a rounding",
        ),
    ],
)
def test_rounding_goes_down_for_from_and_to_the_last_millisecond_for_to(
    text: str, start: str, end: str
) -> None:
    assert parse_time(text, NOW, round_up=False) == ms(start)
    assert parse_time(text, NOW, round_up=True) == ms(end)


@pytest.mark.parametrize(
    ("now", "text", "round_up", "expected"),
    [
        pytest.param(
            NOW, "now/d", False, "2026-11-23T23:00Z", id="a Paris day starts at 23:00 UTC in winter"
        ),
        pytest.param(
            NOW, "now/d", True, "2026-11-24T22:59:59.999Z", id="a Paris day ends at 22:59:59.999 UTC"
        ),
        pytest.param(
            ms("2026-03-29T12:00Z"),
            "now/d",
            True,
            "2026-03-29T21:59:59.999Z",
            id="the spring change day lasts 23 hours",
        ),
        pytest.param(
            ms("2026-03-29T12:00Z"),
            "now-1d",
            False,
            "2026-03-28T13:00Z",
            id="a day back across the change keeps 14:00",
        ),
        pytest.param(
            ms("2026-03-29T12:00Z"),
            "now-24h",
            False,
            "2026-03-28T12:00Z",
            id="hours are fixed durations across it",
        ),
    ],
)
def test_a_time_zone_moves_rounding_and_days(now: int, text: str, round_up: bool, expected: str) -> None:
    assert parse_time(text, now, round_up=round_up, tz="Europe/Paris") == ms(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1795515462123", "2026-11-24T10:17:42.123Z", id="digits are epoch milliseconds"),
        pytest.param("2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z", id="ISO time in UTC"),
        pytest.param(
            "2026-11-24T10:00:00.500Z", "2026-11-24T10:00:00.500Z", id="ISO time keeps milliseconds"
        ),
        pytest.param("2026-11-24T11:00:00+01:00", "2026-11-24T10:00:00Z", id="an offset is honoured"),
        pytest.param(
            "2026-11-24T11:00:00 01:00", "2026-11-24T10:00:00Z", id="an offset whose plus a URL lost"
        ),
        pytest.param("2026-11-24T05:00:00-05:00", "2026-11-24T10:00:00Z", id="a negative offset is honoured"),
    ],
)
def test_absolute_times_ignore_the_clock_and_rounding(text: str, expected: str) -> None:
    assert parse_time(text, NOW) == ms(expected)
    assert parse_time(text, NOW, round_up=True) == ms(expected)


@pytest.mark.parametrize(
    ("raw_from", "raw_to", "tz", "field", "reason_part"),
    [
        pytest.param("yesterday", "now", "UTC", "from", "is not a time", id="a word is not a time"),
        pytest.param("", "now", "UTC", "from", "is empty", id="an empty from is refused"),
        pytest.param("now-1x", "now", "UTC", "from", "cannot read '-1x'", id="an unknown unit is refused"),
        pytest.param(
            "now-1H", "now", "UTC", "from", "cannot read", id="units are case-sensitive as in Grafana"
        ),
        pytest.param("now/2d", "now", "UTC", "from", "cannot read", id="rounding by two units is refused"),
        pytest.param(
            "now-1h<script>", "now", "UTC", "from", "cannot read '<script>'", id="trailing junk is refused"
        ),
        pytest.param("now-1h", "now-", "UTC", "to", "cannot read '-'", id="a dangling operator names to"),
        pytest.param(
            "now-1h", "2026-11-24T10:00:00", "UTC", "to", "no time zone", id="an ISO time needs a zone"
        ),
        pytest.param("now-1h", "2026-11-24", "UTC", "to", "no time zone", id="a bare date is ambiguous too"),
        pytest.param("now", "now-1h", "UTC", "from", "must be before to", id="a reversed range names from"),
        pytest.param("now", "now", "UTC", "from", "must be before to", id="an empty range is refused"),
        pytest.param("now-100y", "now", "UTC", "from", "before 1970", id="a start before 1970 is refused"),
        pytest.param(
            "0", "1969-12-31T23:59:59Z", "UTC", "to", "before 1970", id="an end before 1970 is refused"
        ),
        pytest.param(
            "now-11y", "now", "UTC", "from", "longer than 10 years", id="more than ten years is refused"
        ),
        pytest.param(
            "now", "now+99999y", "UTC", "to", "out of the range of dates", id="beyond year 9999 names to"
        ),
        pytest.param(
            "1" * 16, "now", "UTC", "from", "out of the range of dates", id="sixteen digits are refused"
        ),
        pytest.param(
            "now-1h", "now", "Mars/Olympus", "tz", "unknown time zone", id="an unknown zone names tz"
        ),
    ],
)
def test_refusals_name_the_field(raw_from: str, raw_to: str, tz: str, field: str, reason_part: str) -> None:
    with pytest.raises(TimeRangeError) as caught:
        TimeRange(raw_from, raw_to, tz).resolve(NOW)
    assert caught.value.field == field
    assert reason_part in caught.value.reason
    assert str(caught.value) == f"{field}: {caught.value.reason}"


def test_ten_years_exactly_is_accepted() -> None:
    start, end = TimeRange("now-10y", "now").resolve(NOW)
    assert (start, end) == (ms("2016-11-24T10:17:42.123Z"), NOW)
    assert end - start <= MAX_SPAN_MS


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        pytest.param("Last 5 minutes", "2026-11-24T10:12:42.123Z", NOW, id="last five minutes"),
        pytest.param("Last 15 minutes", "2026-11-24T10:02:42.123Z", NOW, id="last fifteen minutes"),
        pytest.param("Last 30 minutes", "2026-11-24T09:47:42.123Z", NOW, id="last thirty minutes"),
        pytest.param("Last 1 hour", "2026-11-24T09:17:42.123Z", NOW, id="last hour"),
        pytest.param("Last 3 hours", "2026-11-24T07:17:42.123Z", NOW, id="last three hours"),
        pytest.param("Last 6 hours", "2026-11-24T04:17:42.123Z", NOW, id="last six hours"),
        pytest.param("Last 12 hours", "2026-11-23T22:17:42.123Z", NOW, id="last twelve hours"),
        pytest.param("Last 24 hours", "2026-11-23T10:17:42.123Z", NOW, id="last twenty-four hours"),
        pytest.param("Last 2 days", "2026-11-22T10:17:42.123Z", NOW, id="last two days"),
        pytest.param("Last 7 days", "2026-11-17T10:17:42.123Z", NOW, id="last seven days"),
        pytest.param("Last 30 days", "2026-10-25T10:17:42.123Z", NOW, id="last thirty days"),
        pytest.param("Today so far", "2026-11-24T00:00:00Z", NOW, id="today so far runs from midnight"),
        pytest.param(
            "Yesterday", "2026-11-23T00:00:00Z", ms("2026-11-23T23:59:59.999Z"), id="yesterday is whole"
        ),
    ],
)
def test_each_quick_range_resolves_and_describes_itself(label: str, start: str, end: int) -> None:
    (quick,) = [q for q in QUICK_RANGES if q.label == label]
    time_range = TimeRange(quick.raw_from, quick.raw_to)
    assert time_range.resolve(NOW) == (ms(start), end)
    assert describe(time_range) == label


def test_quick_ranges_are_grafanas_in_order() -> None:
    assert [(q.label, q.raw_from, q.raw_to) for q in QUICK_RANGES][-2:] == [
        ("Today so far", "now/d", "now"),
        ("Yesterday", "now-1d/d", "now-1d/d"),
    ]
    assert len(QUICK_RANGES) == 13


@pytest.mark.parametrize(
    ("time_range", "expected"),
    [
        pytest.param(TimeRange("now-2h", "now"), "Last 2 hours", id="any last N units reads as Grafana does"),
        pytest.param(TimeRange("now-90m", "now"), "Last 90 minutes", id="minutes are not converted to hours"),
        pytest.param(TimeRange("now-1M", "now"), "Last 1 month", id="one unit stays singular"),
        pytest.param(TimeRange("now", "now+5m"), "Next 5 minutes", id="a future range reads as next"),
        pytest.param(
            TimeRange("2026-11-24T10:00:00Z", "2026-11-24T11:00:00Z"),
            "2026-11-24 10:00:00 to 11:00:00 UTC",
            id="an absolute range on one day gives the date once",
        ),
        pytest.param(
            TimeRange("1795514400000", "1795518000000"),
            "2026-11-24 10:00:00 to 11:00:00 UTC",
            id="epoch milliseconds read the same",
        ),
        pytest.param(
            TimeRange("2026-11-23T22:00:00Z", "2026-11-24T11:00:00Z"),
            "2026-11-23 22:00:00 to 2026-11-24 11:00:00 UTC",
            id="an absolute range over two days gives both dates",
        ),
        pytest.param(
            TimeRange("2026-11-24T10:00:00Z", "2026-11-24T11:00:00Z", "Europe/Paris"),
            "2026-11-24 11:00:00 to 12:00:00 Europe/Paris",
            id="a time zone shows local times and its name",
        ),
        pytest.param(
            TimeRange("2026-11-24T10:00:00Z", "now"),
            "2026-11-24 10:00:00 UTC to now",
            id="a fixed start to now keeps both forms",
        ),
        pytest.param(TimeRange("now-1h/h", "now"), "now-1h/h to now", id="other expressions show as written"),
        pytest.param(
            TimeRange("soon", "later"), "soon to later", id="unreadable ranges are shown not raised"
        ),
    ],
)
def test_describe(time_range: TimeRange, expected: str) -> None:
    assert describe(time_range) == expected


def test_relative_ranges_say_so() -> None:
    assert TimeRange("now-1h", "now").is_relative
    assert not TimeRange("2026-11-24T10:00:00Z", "1795518000000").is_relative


@pytest.mark.parametrize(
    ("span_ms", "max_points", "min_step_ms", "expected"),
    [
        pytest.param(0, 500, 0, 10 * SECOND, id="an empty span gets the finest step"),
        pytest.param(5 * MINUTE, 500, 0, 10 * SECOND, id="five minutes at 10 s are 30 points"),
        pytest.param(HOUR, 500, 0, 10 * SECOND, id="an hour at 10 s is 360 points"),
        pytest.param(5000 * SECOND, 500, 0, 10 * SECOND, id="exactly max points is allowed"),
        pytest.param(5001 * SECOND, 500, 0, 30 * SECOND, id="one point over moves to the next step"),
        pytest.param(3 * HOUR, 500, 0, 30 * SECOND, id="three hours at 30 s are 360 points"),
        pytest.param(6 * HOUR, 500, 0, MINUTE, id="six hours at 1 m are 360 points"),
        pytest.param(DAY, 500, 0, 5 * MINUTE, id="a day at 5 m is 288 points"),
        pytest.param(2 * DAY, 500, 0, 10 * MINUTE, id="two days at 10 m are 288 points"),
        pytest.param(7 * DAY, 500, 0, 30 * MINUTE, id="a week at 30 m is 336 points"),
        pytest.param(30 * DAY, 500, 0, 6 * HOUR, id="thirty days skip 1 h (720 points) for 6 h"),
        pytest.param(365 * DAY, 500, 0, DAY, id="a year at 1 d is 365 points"),
        pytest.param(3653 * DAY, 500, 0, 8 * DAY, id="ten years use whole days beyond the list"),
        pytest.param(HOUR, 100, 0, MINUTE, id="fewer points give a coarser step"),
        pytest.param(HOUR, 500, MINUTE, MINUTE, id="never finer than the store's resolution"),
        pytest.param(HOUR, 500, 2 * DAY, 2 * DAY, id="a coarse store resolution wins over the list"),
    ],
)
def test_step_for(span_ms: int, max_points: int, min_step_ms: int, expected: int) -> None:
    assert step_for(NOW - span_ms, NOW, max_points=max_points, min_step_ms=min_step_ms) == expected
    assert -(-span_ms // expected) <= max_points


def test_step_for_refuses_no_points_and_lists_nice_steps() -> None:
    with pytest.raises(ValueError, match="max_points"):
        step_for(0, HOUR, max_points=0)
    assert NICE_STEPS_MS == (
        10_000,
        30_000,
        60_000,
        300_000,
        600_000,
        1_800_000,
        3_600_000,
        21_600_000,
        86_400_000,
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("off", None, id="off means no refresh"),
        pytest.param("5s", 5, id="five seconds"),
        pytest.param("10s", 10, id="ten seconds"),
        pytest.param("30s", 30, id="thirty seconds"),
        pytest.param("1m", 60, id="one minute is sixty seconds"),
        pytest.param("5m", 300, id="five minutes"),
        pytest.param("15m", 900, id="fifteen minutes"),
    ],
)
def test_refresh_intervals_parse_to_seconds(text: str, seconds: int | None) -> None:
    assert text in REFRESH_INTERVALS
    assert parse_refresh(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2s", id="a too short interval would hammer the server"),
        pytest.param("1h", id="an interval not offered is refused"),
        pytest.param("", id="an empty interval is refused"),
        pytest.param("fast", id="a word is refused"),
        pytest.param("-5s", id="a negative interval is refused"),
    ],
)
def test_unknown_refresh_intervals_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(TimeRangeError) as caught:
        parse_refresh(text)
    assert caught.value.field == "refresh"
    assert caught.value.reason.endswith("is not one of off, 5s, 10s, 30s, 1m, 5m, 15m")
