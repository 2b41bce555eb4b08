"""Budgeting methods, missing data and trailing burn rates with exact figures (slo.md §1, §5, §6)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from slo.budgeting import evaluate_budget, has_data, trailing_burn_rate
from tests.slo.support import DAY_STEPS, MONTH_STEPS, NAN, arr, constant, with_outage

# Hand-made slices: 1.0, 0.85, no data, 0.5 (two steps each).
SLICE_GOOD = arr(10, 10, 8, 9, NAN, NAN, 10, 0)
SLICE_TOTAL = arr(10, 10, 10, 10, NAN, NAN, 10, 10)


@pytest.mark.parametrize(
    ("good", "total", "target", "method", "options", "expected"),
    [
        pytest.param(
            arr(9, 10, NAN, 8),
            arr(10, 10, NAN, 10),
            0.9,
            "Occurrences",
            {},
            {
                "sli": 0.9,
                "budget_total": 3,
                "budget_spent": 3,
                "budget_remaining": 0,
                "no_data_share": 0.25,
                "burn_down": [2 / 3, 2 / 3, 2 / 3, 0],
            },
            id="occurrences count events and skip the step without data",
        ),
        pytest.param(
            arr(5, 0, 5, 0),
            arr(10, 0, 10, 0),
            0.9,
            "Occurrences",
            {},
            {
                "sli": 0.5,
                "budget_total": 2,
                "budget_spent": 10,
                "budget_remaining": -4,
                "no_data_share": 0.5,
                "burn_down": [-1.5, -1.5, -4, -4],
            },
            id="a step with zero events is no data and an overspent budget goes negative",
        ),
        pytest.param(
            SLICE_GOOD,
            SLICE_TOTAL,
            0.5,
            "Timeslices",
            {"slice_steps": 2, "slice_target": 0.9},
            {
                "sli": 1 / 3,
                "budget_total": 1.5,
                "budget_spent": 2,
                "budget_remaining": -1 / 3,
                "no_data_share": 0.25,
                "burn_down": [1, 1, 1, 1 / 3, 1 / 3, 1 / 3, 1 / 3, -1 / 3],
            },
            id="timeslices count good slices among the three with data",
        ),
        pytest.param(
            arr(9, 9, 7, 10),
            arr(10, 10, 10, 10),
            0.5,
            "Timeslices",
            {"slice_steps": 2, "slice_target": 0.9},
            {
                "sli": 0.5,
                "budget_total": 1,
                "budget_spent": 1,
                "budget_remaining": 0,
                "no_data_share": 0,
                "burn_down": [1, 1, 1, 0],
            },
            id="a slice exactly at the slice target is good",
        ),
        pytest.param(
            arr(10, 10, 0, 10, 0),
            arr(10, 10, 10, 10, 10),
            0.5,
            "Timeslices",
            {"slice_steps": 2, "slice_target": 0.9},
            {
                "sli": 1 / 3,
                "budget_total": 1.5,
                "budget_spent": 2,
                "budget_remaining": -1 / 3,
                "no_data_share": 0,
                "burn_down": [1, 1, 1, 1 / 3, -1 / 3],
            },
            id="a trailing partial slice counts as a slice",
        ),
        pytest.param(
            SLICE_GOOD,
            SLICE_TOTAL,
            0.5,
            "RatioTimeslices",
            {"slice_steps": 2},
            {
                "sli": 2.35 / 3,
                "budget_total": 1.5,
                "budget_spent": 0.65,
                "budget_remaining": 1 - 0.65 / 1.5,
                "no_data_share": 0.25,
                "burn_down": [1, 1, 1, 0.9, 0.9, 0.9, 0.9, 1 - 0.65 / 1.5],
            },
            id="ratio timeslices average the three slice ratios with data",
        ),
        pytest.param(
            arr(1, 1, 1, 1),
            arr(1, 1, 1, 100),
            0.5,
            "RatioTimeslices",
            {"slice_steps": 1},
            {
                "sli": 0.7525,
                "budget_total": 2,
                "budget_spent": 0.99,
                "budget_remaining": 0.505,
                "no_data_share": 0,
                "burn_down": [1, 1, 1, 0.505],
            },
            id="ratio timeslices weigh a busy bad slice like any other slice",
        ),
    ],
)
def test_budgeting_methods(good, total, target, method, options, expected):
    report = evaluate_budget(good, total, target, method, **options)
    assert report.method == method
    for name, value in expected.items():
        assert getattr(report, name) == pytest.approx(value, abs=1e-12), name


def test_timeslices_need_a_slice_target():
    with pytest.raises(ValueError, match="timeSliceTarget"):
        evaluate_budget(arr(1), arr(1), 0.9, "Timeslices")


def test_mismatched_arrays_are_refused():
    with pytest.raises(ValueError, match="same length"):
        evaluate_budget(arr(1, 1), arr(1), 0.9)


@pytest.mark.parametrize(
    "method",
    [
        pytest.param(m, id=f"{m} without any data reports NaN, not zero")
        for m in ("Occurrences", "Timeslices", "RatioTimeslices")
    ],
)
def test_no_data_at_all(method):
    report = evaluate_budget(arr(NAN, NAN), arr(NAN, NAN), 0.9, method, slice_target=0.9)
    assert math.isnan(report.sli) and math.isnan(report.budget_remaining)
    assert report.attained is None
    assert report.no_data_steps == 2 and report.no_data_share == 1.0
    assert np.isnan(report.burn_down).all()


def test_has_data_marks_nan_and_zero_total_as_missing():
    assert has_data(arr(1, NAN, 0, 1), arr(1, 1, 0, NAN)).tolist() == [True, False, False, False]


# §6: 99.9 %, 30 days of 100 events a minute, a 10-minute total outage.


def test_reference_outage_leaves_76_85_percent_of_the_budget():
    report = evaluate_budget(with_outage(20_000, 10), constant(100.0), 0.999)
    assert report.budget_total == pytest.approx(4320)
    assert report.budget_spent == 1000
    assert report.budget_remaining == pytest.approx(1 - 1000 / 4320)
    assert round(report.budget_remaining * 100, 2) == 76.85
    assert report.sli == pytest.approx(1 - 1000 / 4_320_000)
    assert report.attained is True
    assert report.burn_down[19_999] == pytest.approx(1.0)
    assert report.burn_down[20_004] == pytest.approx(1 - 500 / 4320)
    assert report.burn_down[-1] == pytest.approx(report.budget_remaining)


@pytest.mark.parametrize(
    ("steps", "end", "rate"),
    [
        pytest.param(5, 20_010, 1000, id="the 5-minute window burns at 1000 during the outage"),
        pytest.param(60, 20_010, 1000 * 10 / 60, id="the 1-hour window burns at 166.67 at the end of it"),
        pytest.param(5, 20_005, 1000, id="the 5-minute window is at 1000 five minutes in"),
        pytest.param(60, 20_070, 0, id="an hour after the outage the 1-hour window is back to 0"),
        pytest.param(60, 20_069, 1000 * 1 / 60, id="one failing minute left in the hour burns at 16.67"),
    ],
)
def test_reference_burn_rates(steps, end, rate):
    good = with_outage(20_000, 10)
    assert trailing_burn_rate(good, constant(100.0), 0.999, steps, end=end) == pytest.approx(rate)


def test_reference_page_tier_fires_within_the_first_minutes():
    good, total = with_outage(20_000, 10), constant(100.0)
    fired = [
        minute
        for minute in range(1, 11)
        if trailing_burn_rate(good, total, 0.999, 5, end=20_000 + minute) > 14.4
        and trailing_burn_rate(good, total, 0.999, 60, end=20_000 + minute) > 14.4
    ]
    assert fired[0] == 1


def test_burn_rate_defaults_to_the_latest_steps():
    assert trailing_burn_rate(with_outage(MONTH_STEPS - 10, 10), constant(100.0), 0.999, 60) == pytest.approx(
        166.66666666666666
    )


# §5: missing data is its own state.


def test_a_service_silent_for_a_day_keeps_its_sli():
    good, total = constant(99.9), constant(100.0)
    good[DAY_STEPS : 2 * DAY_STEPS] = NAN
    total[DAY_STEPS : 2 * DAY_STEPS] = NAN
    report = evaluate_budget(good, total, 0.999)
    assert report.no_data_steps == DAY_STEPS
    assert report.no_data_share == 1 / 30
    assert report.sli == pytest.approx(0.999)
    assert report.budget_remaining == pytest.approx(0.0, abs=1e-9)
    assert not np.isnan(report.burn_down).any()
    assert math.isnan(trailing_burn_rate(good, total, 0.999, 60, end=DAY_STEPS + 120))
