"""Atlas time expressions for the graph API: references, durations, ISO dates, epoch numbers, errors."""

from __future__ import annotations

import pytest

from stacklang.timeparse import TimeError, parse_duration, parse_range, zone

NOW = 1_795_490_000_000  # 2026-11-24T03:53:20Z
HOUR = 3_600_000


@pytest.mark.parametrize(
    ("s", "e", "tz", "expected"),
    [
        (None, None, None, (NOW - 3 * HOUR, NOW)),  # defaults: e=now, s=e-3h
        ("e-1d", "2026-11-24T10:00", None, (1_795_514_400_000 - 24 * HOUR, 1_795_514_400_000)),
        ("2026-11-24", "s+PT12H", "US/Pacific", (1_795_507_200_000, 1_795_507_200_000 + 12 * HOUR)),
        ("2026-11-24T10:00+01:00", "2026-11-24T10:00Z", "US/Pacific", (1_795_510_800_000, 1_795_514_400_000)),
        ("1795480000", "1795490000000", None, (1_795_480_000_000, NOW)),  # seconds, then milliseconds
        ("now-2w", "now-1w", None, (NOW - 14 * 24 * HOUR, NOW - 7 * 24 * HOUR)),
        ("epoch+1d", "epoch+2d", None, (24 * HOUR, 48 * HOUR)),
        ("end-1h", None, None, (NOW - HOUR, NOW)),
    ],
    ids=[
        "the defaults are the last three hours",
        "a relative start counts back from an ISO end in UTC",
        "an ISO date is midnight in tz and the end may count from the start",
        "an offset or Z beats tz",
        "digits are epoch seconds unless too big to be",
        "now with week units",
        "epoch is a reference too",
        "long reference names",
    ],
)
def test_time_ranges_resolve_like_atlas(s, e, tz, expected):
    assert parse_range(s, e, zone(tz), NOW) == expected


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("30s", 30_000),
        ("5m", 300_000),
        ("2h", 7_200_000),
        ("1d", 86_400_000),
        ("1w", 604_800_000),
        ("3min", 180_000),
        ("PT5M", 300_000),
        ("P1DT2H", 93_600_000),
        ("PT1.5S", 1_500),
    ],
)
def test_durations_in_at_style_or_iso_8601(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize(
    ("s", "e", "field", "reason"),
    [
        ("e+1h", None, "s", "must be before the end"),
        ("e-1h", "s+1h", "s", "refers back"),
        ("s-1h", None, "s", "cannot refer to s itself"),
        ("yesterday", None, "s", "unknown time reference 'yesterday'"),
        ("e-3x", None, "s", "unknown unit 'x'"),
        ("e-PT", None, "s", "not a duration"),
        (None, "2026-13-40", "e", "not an ISO 8601 date"),
        (None, "now-", "e", "not a time"),
        (None, "Now", "e", "not a time"),
    ],
)
def test_a_bad_time_names_the_parameter_and_the_reason(s, e, field, reason):
    with pytest.raises(TimeError) as refused:
        parse_range(s, e, zone(None), NOW)
    assert refused.value.field == field and reason in refused.value.reason


def test_an_unknown_zone_is_refused_naming_tz():
    with pytest.raises(TimeError) as refused:
        zone("Mars/Olympus_Mons")
    assert refused.value.field == "tz"
