"""Maintenance exclusions (slo.md §5): one-off and recurring windows removed from the budget."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from slo.budgeting import evaluate_budget, exclusion_mask, trailing_burn_rate
from slo.evaluation_window import to_ms
from slo.model import Exclusion
from tests.slo.support import DAY_STEPS, MONTH_STEPS, constant, with_outage

MINUTE_MS = 60_000
JAN_1 = to_ms(datetime(2024, 1, 1, tzinfo=UTC))


def test_a_one_off_exclusion_removes_an_outage_from_the_budget():
    outage_at = 9 * DAY_STEPS + 120  # 2024-01-10 02:00 UTC
    good, total = with_outage(outage_at, 10), constant(100.0)
    maintenance = Exclusion(datetime(2024, 1, 10, 3, 0), timedelta(minutes=10))  # Amsterdam wall clock
    excluded = exclusion_mask([maintenance], JAN_1, MINUTE_MS, MONTH_STEPS, "Europe/Amsterdam")
    assert int(excluded.sum()) == 10 and excluded[outage_at : outage_at + 10].all()
    report = evaluate_budget(good, total, 0.999, excluded=excluded)
    assert report.sli == 1.0 and report.budget_spent == 0 and report.budget_remaining == 1.0
    assert report.budget_total == pytest.approx(0.001 * 100 * (MONTH_STEPS - 10))
    assert report.no_data_share == 0.0
    assert math.isnan(trailing_burn_rate(good, total, 0.999, 5, end=outage_at + 10, excluded=excluded))
    unexcluded = evaluate_budget(good, total, 0.999)
    assert unexcluded.budget_remaining == pytest.approx(1 - 1000 / 4320)


def test_a_recurring_exclusion_removes_a_nightly_job_every_day():
    good = constant(100.0)
    for day in range(30):
        good[day * DAY_STEPS + 130 : day * DAY_STEPS + 140] = 0.0  # 02:10–02:20 every night
    nightly = Exclusion(
        datetime(2024, 1, 1, 2, 0, tzinfo=UTC), timedelta(minutes=30), every=timedelta(days=1)
    )
    excluded = exclusion_mask([nightly], JAN_1, MINUTE_MS, MONTH_STEPS)
    assert int(excluded.sum()) == 30 * 30
    report = evaluate_budget(good, constant(100.0), 0.999, excluded=excluded)
    assert report.budget_remaining == 1.0 and report.sli == 1.0
    assert evaluate_budget(good, constant(100.0), 0.999).budget_remaining == pytest.approx(1 - 30_000 / 4320)


@pytest.mark.parametrize(
    ("exclusion", "mask"),
    [
        pytest.param(
            Exclusion(
                datetime(1970, 1, 1, 0, 2, tzinfo=UTC), timedelta(minutes=3), every=timedelta(minutes=5)
            ),
            "..###..###",
            id="a recurring exclusion repeats from its start and not before it",
        ),
        pytest.param(
            Exclusion(datetime(1970, 1, 1, 0, 8, tzinfo=UTC), timedelta(minutes=5)),
            "........##",
            id="a one-off exclusion past the end of the window is cut off",
        ),
        pytest.param(
            Exclusion(datetime(1970, 1, 1, 0, 2, 30, tzinfo=UTC), timedelta(minutes=1)),
            "...#......",
            id="a step is excluded when its start falls inside the exclusion",
        ),
    ],
)
def test_exclusion_mask_steps(exclusion, mask):
    found = exclusion_mask([exclusion], 0, MINUTE_MS, 10)
    assert "".join("#" if x else "." for x in found) == mask
