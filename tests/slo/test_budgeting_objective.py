"""Burn-rate series and evaluating an SLO objective with its method, slices and exclusions."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from slo.budgeting import burn_rate_series, evaluate_objective, slice_steps, trailing_burn_rate
from slo.durations import parse_duration
from slo.evaluation_window import to_ms
from slo.model import SLI, SLO, Exclusion, MetricSource, Objective, RatioMetric, TimeWindow
from tests.slo.support import NAN, arr

MINUTE_MS = 60_000
SOURCE = MetricSource("atlas", "name,starts,:eq,:sum")


def make_slo(method, objective, exclusions=(), window=None):
    return SLO(
        name="avail",
        service="playback",
        indicator=SLI("ok", ratio_metric=RatioMetric(total=SOURCE, good=SOURCE)),
        time_window=window or TimeWindow(parse_duration("30d"), is_rolling=True),
        budgeting_method=method,
        objectives=(objective,),
        exclusions=tuple(exclusions),
    )


@pytest.mark.parametrize(
    ("good", "total", "steps", "expected"),
    [
        pytest.param(
            arr(10, 0, 10, 10),
            arr(10, 10, 10, 10),
            2,
            [0, 500, 500, 0],
            id="each step's burn rate covers it and the step before (a shorter window at the start)",
        ),
        pytest.param(
            arr(10, NAN, NAN, 5),
            arr(10, NAN, NAN, 10),
            2,
            [0, 0, NAN, 500],
            id="a window holding only missing steps has no burn rate",
        ),
        pytest.param(
            arr(0.1, 0.2, 0.3),
            arr(0.1, 0.2, 0.3),
            1,
            [0, 0, 0],
            id="fractional counts without errors burn nothing",
        ),
    ],
)
def test_burn_rate_series(good, total, steps, expected):
    found = burn_rate_series(good, total, 0.999, steps)
    np.testing.assert_allclose(found, expected, atol=1e-9)


def test_burn_rate_series_agrees_with_the_trailing_rate_at_every_step():
    rng = np.random.default_rng(7)
    total = rng.integers(0, 50, 500).astype(np.float64)
    good = np.minimum(total, rng.integers(0, 50, 500)).astype(np.float64)
    total[100:140] = NAN
    excluded = np.zeros(500, dtype=np.bool_)
    excluded[300:320] = True
    series = burn_rate_series(good, total, 0.99, 30, excluded=excluded)
    for end in range(1, 501):
        expected = trailing_burn_rate(good, total, 0.99, 30, end=end, excluded=excluded)
        assert series[end - 1] == pytest.approx(expected, nan_ok=True), end


@pytest.mark.parametrize(
    ("window", "step_ms", "steps"),
    [
        pytest.param(None, MINUTE_MS, 1, id="an objective without slices counts every step"),
        pytest.param("5m", MINUTE_MS, 5, id="five-minute slices over one-minute steps are five steps"),
        pytest.param("1h", 5 * MINUTE_MS, 12, id="hour slices over five-minute steps are twelve steps"),
    ],
)
def test_slice_steps(window, step_ms, steps):
    objective = Objective(0.99, time_slice_window=parse_duration(window) if window else None)
    assert slice_steps(objective, step_ms) == steps


def test_a_slice_that_is_not_a_whole_number_of_steps_is_refused():
    with pytest.raises(ValueError, match="whole number of steps"):
        slice_steps(Objective(0.99, time_slice_window=parse_duration("1m")), 7 * 60_000)


def test_an_objective_uses_its_method_slices_and_exclusions():
    objective = Objective(0.5, time_slice_target=0.9, time_slice_window=parse_duration("2m"))
    window = TimeWindow(parse_duration("1M"), False, datetime(2024, 1, 1), "Europe/Amsterdam")
    # Steps start at 00:00 UTC = 01:00 in Amsterdam; the maintenance covers the third slice.
    maintenance = Exclusion(datetime(2024, 1, 1, 1, 4), timedelta(minutes=2))
    slo = make_slo("Timeslices", objective, [maintenance], window)
    good, total = arr(10, 10, 8, 9, 0, 0, 10, 0), arr(10, 10, 10, 10, 10, 10, 10, 10)
    start = to_ms(datetime(2024, 1, 1))
    report = evaluate_objective(slo, objective, good, total, start_ms=start, step_ms=MINUTE_MS)
    assert (report.sli, report.budget_total, report.budget_spent) == pytest.approx((1 / 3, 1.5, 2.0))
    assert report.budget_remaining == pytest.approx(-1 / 3)
    assert report.no_data_share == 0.0


def test_an_objective_without_exclusions_counts_every_step():
    objective = Objective(0.9)
    slo = make_slo("Occurrences", objective)
    report = evaluate_objective(slo, objective, arr(9, 10), arr(10, 10), start_ms=0, step_ms=MINUTE_MS)
    assert report.sli == pytest.approx(0.95)
    assert report.budget_remaining == pytest.approx(0.5)
