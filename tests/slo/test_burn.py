"""Error-budget and burn-rate maths (slo.md §1), default windows (§2) and reference figures (§6)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from slo.burn import (
    budget_consumed,
    budget_remaining,
    burn_rate,
    default_windows,
    error_budget,
    scaled_threshold,
    should_fire,
    time_to_exhaustion,
)

DAYS_30 = timedelta(days=30)
TARGET = 0.999
BUDGET = 1 - TARGET


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        pytest.param(1, timedelta(days=30), id="burning at 1 spends the budget in the whole 30 days"),
        pytest.param(2, timedelta(days=15), id="burning at 2 spends it in 15 days"),
        pytest.param(10, timedelta(days=3), id="burning at 10 spends it in 3 days"),
        pytest.param(
            1000, timedelta(minutes=43.2), id="a total outage of a 99.9 % SLO spends it in 43.2 minutes"
        ),
    ],
)
def test_time_to_exhaustion_table(rate, expected):
    assert time_to_exhaustion(rate, DAYS_30) == expected


def test_nothing_burning_never_exhausts():
    assert time_to_exhaustion(0.0, DAYS_30) is None


@pytest.mark.parametrize(
    ("error_ratio", "rate"),
    [
        pytest.param(1.0, 1000, id="all requests failing burns a 99.9 % budget at 1000"),
        pytest.param(0.001, 1, id="failing exactly at the budget burns at 1"),
        pytest.param(0.0144, 14.4, id="1.44 % errors burns at the fast page threshold"),
        pytest.param(0.0, 0, id="no errors burn nothing"),
    ],
)
def test_burn_rate(error_ratio, rate):
    assert burn_rate(error_ratio, TARGET) == pytest.approx(rate)


@pytest.mark.parametrize(
    "target",
    [pytest.param(1.0, id="a 100 % target has no budget"), pytest.param(0.0, id="a 0 % target is refused")],
)
def test_error_budget_refuses_targets_outside_the_open_interval(target):
    with pytest.raises(ValueError, match="outside"):
        error_budget(target)


def test_error_budget_of_three_nines():
    assert error_budget(TARGET) == pytest.approx(0.001)


@pytest.mark.parametrize(
    ("rate", "long", "consumed"),
    [
        pytest.param(14.4, timedelta(hours=1), 0.02, id="the 1 h page tier fires after 2 % of the budget"),
        pytest.param(6, timedelta(hours=6), 0.05, id="the 6 h page tier fires after 5 %"),
        pytest.param(3, timedelta(days=1), 0.10, id="the 1 d ticket tier fires after 10 %"),
        pytest.param(1, timedelta(days=3), 0.10, id="the 3 d ticket tier fires after 10 %"),
    ],
)
def test_budget_consumed_when_alert_fires(rate, long, consumed):
    assert budget_consumed(rate, long, DAYS_30) == pytest.approx(consumed)


def _table(period):
    return [
        (w.severity, w.long, w.short, w.budget_percent, round(w.threshold, 4))
        for w in default_windows(period)
    ]


H, M, D = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        pytest.param(
            timedelta(days=30),
            [
                ("page", H, 5 * M, 2.0, 14.4),
                ("page", 6 * H, 30 * M, 5.0, 6.0),
                ("ticket", D, 2 * H, 10.0, 3.0),
                ("ticket", 3 * D, 6 * H, 10.0, 1.0),
            ],
            id="the 30-day defaults are the SRE Workbook table",
        ),
        pytest.param(
            timedelta(days=28),
            [
                ("page", H, 5 * M, 2.0, 13.44),
                ("page", 6 * H, 30 * M, 5.0, 5.6),
                ("ticket", D, 2 * H, 10.0, 2.8),
                ("ticket", 3 * D, 6 * H, 10.0, 0.9333),
            ],
            id="a 28-day period keeps the budget percentages and scales the thresholds",
        ),
        pytest.param(
            timedelta(days=7),
            [
                ("page", H, 5 * M, 2.0, 3.36),
                ("page", 6 * H, 30 * M, 5.0, 1.4),
                ("ticket", D, 2 * H, 10.0, 0.7),
                ("ticket", 3 * D, 6 * H, 10.0, 0.2333),
            ],
            id="a 7-day period scales the thresholds down",
        ),
    ],
)
def test_default_windows_scaled(period, expected):
    assert _table(period) == expected


def test_default_windows_short_is_a_twelfth_of_long():
    assert all(w.short * 12 == w.long for w in default_windows())


def test_scaled_threshold_is_sloths_rule():
    assert scaled_threshold(2, timedelta(days=30), timedelta(hours=1)) == pytest.approx(2 * 720 / 100 / 1)


# §6: 99.9 % over 30 days, 100 events/minute, a 10-minute total outage.
EVENTS_30D = 100 * 60 * 24 * 30


@pytest.mark.parametrize(
    ("bad", "total", "remaining"),
    [
        pytest.param(1000, EVENTS_30D, 1 - 1000 / 4320, id="a 10-minute outage leaves 76.85 % of the budget"),
        pytest.param(0, EVENTS_30D, 1.0, id="no bad events leave the whole budget"),
        pytest.param(4320, EVENTS_30D, 0.0, id="the allowed bad events spend it exactly"),
        pytest.param(8640, EVENTS_30D, -1.0, id="twice the allowed bad events leave minus 100 %"),
    ],
)
def test_budget_remaining(bad, total, remaining):
    assert budget_remaining(bad, total, TARGET) == pytest.approx(remaining)


def test_reference_remaining_rounds_to_76_85_percent():
    assert round(budget_remaining(1000, EVENTS_30D, TARGET) * 100, 2) == 76.85


def test_budget_remaining_without_events_is_not_a_number():
    assert math.isnan(budget_remaining(0, 0, TARGET))


def test_reference_outage_burn_rates():
    five_minutes = burn_rate(500 / 500, TARGET)
    one_hour = burn_rate(1000 / 6000, TARGET)
    assert five_minutes == pytest.approx(1000)
    assert round(one_hour, 1) == 166.7


def test_reference_one_hour_window_bad_event_limit():
    bad_limit = 14.4 * BUDGET * 6000
    assert bad_limit == pytest.approx(86.4)
    assert burn_rate(86 / 6000, TARGET) < 14.4 < burn_rate(87 / 6000, TARGET)


@pytest.mark.parametrize(
    ("long_ratio", "short_ratio", "events", "min_events", "fires"),
    [
        pytest.param(1000 / 6000, 1.0, 6000, 0, True, id="the reference outage fires the fast page tier"),
        pytest.param(
            1000 / 6000, 0.0, 6000, 0, False, id="after errors stop the short window resets the alert"
        ),
        pytest.param(0.0, 1.0, 6000, 0, False, id="a short spike alone does not fire"),
        pytest.param(86 / 6000, 1.0, 6000, 0, False, id="86 of 6000 bad in the hour stays below 14.4"),
        pytest.param(87 / 6000, 1.0, 6000, 0, True, id="87 of 6000 bad in the hour exceeds 14.4"),
        pytest.param(0.1, 0.1, 10, 100, False, id="too few events in the long window never fire"),
        pytest.param(0.1, 0.1, 100, 100, True, id="reaching the minimum event count lets the alert fire"),
        pytest.param(math.nan, math.nan, 6000, 0, False, id="missing data does not fire"),
        pytest.param(0.0144, 0.0144, 6000, 0, False, id="a burn exactly at the threshold does not fire"),
    ],
)
def test_should_fire(long_ratio, short_ratio, events, min_events, fires):
    assert should_fire(long_ratio, short_ratio, 14.4, BUDGET, events, min_events) is fires
