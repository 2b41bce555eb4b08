"""SLI, error budget and burn-down for the three OpenSLO budgeting methods (slo.md §1, §3, §5).

Inputs are per-step ``good`` and ``total`` counts as float64 arrays aligned to one step
(NaN means no data for the step). A step has data when both are finite and ``total > 0``;
steps without data are neither good nor bad and are reported as no-data time. Excluded
steps (maintenance, see :func:`exclusion_mask`) are removed from everything, including the
no-data share.

- ``Occurrences``: SLI = Σgood / Σtotal; allowed bad events = (1 − target) × Σtotal.
- ``Timeslices``: slices of ``slice_steps`` steps; a slice with data is good when its
  ratio ≥ ``slice_target``; SLI = good slices / slices with data; allowed bad slices =
  (1 − target) × slices with data.
- ``RatioTimeslices``: SLI = mean of per-slice ratios; the bad amount is Σ(1 − ratio).

A trailing partial slice (when the steps do not divide evenly) counts as a slice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from slo.burn import error_budget
from slo.durations import rolling_timedelta
from slo.model import SLO, BudgetingMethod, Exclusion, Objective

__all__ = [
    "BudgetReport",
    "Floats",
    "Mask",
    "burn_rate_series",
    "evaluate_budget",
    "evaluate_objective",
    "exclusion_mask",
    "has_data",
    "slice_steps",
    "trailing_burn_rate",
    "trailing_counts",
]

Floats = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
_MS = timedelta(milliseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class BudgetReport:
    """Figures for one SLO objective over one window; NaN figures mean "no data at all".

    ``budget_total`` and ``budget_spent`` are in the method's unit (events for Occurrences,
    slices for the slice methods); ``budget_remaining`` is the fraction ``1 − spent / total``
    and goes negative once overspent. ``burn_down[i]`` is the fraction remaining after step
    ``i``, counting bad amounts up to that step against the whole window's allowance.
    ``attained`` is None when there is no data.
    """

    method: BudgetingMethod
    sli: float
    attained: bool | None
    budget_total: float
    budget_spent: float
    budget_remaining: float
    no_data_steps: int
    no_data_share: float
    burn_down: Floats


def has_data(good: Floats, total: Floats) -> Mask:
    """Steps whose counts are known and non-zero (the rest are "no data", not good or bad)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(good) & np.isfinite(total) & (total > 0)


def exclusion_mask(
    exclusions: Iterable[Exclusion], start_ms: int, step_ms: int, steps: int, time_zone: str = "UTC"
) -> Mask:
    """True for steps whose start instant falls in a maintenance window ``[start, start + duration)``.

    Step ``i`` starts at ``start_ms + i × step_ms``. A recurring exclusion repeats every
    ``every`` (fixed length, not wall-clock) from its start onwards. Naive exclusion starts
    are read in ``time_zone``.
    """
    times = start_ms + step_ms * np.arange(steps, dtype=np.int64)
    mask = np.zeros(steps, dtype=np.bool_)
    zone = ZoneInfo(time_zone)
    for exclusion in exclusions:
        begin = exclusion.start if exclusion.start.tzinfo else exclusion.start.replace(tzinfo=zone)
        first = (begin - _EPOCH) // _MS
        span = exclusion.duration // _MS
        offset = times - first
        if exclusion.every is None:
            mask |= (offset >= 0) & (offset < span)
        else:
            mask |= (offset >= 0) & (np.mod(offset, exclusion.every // _MS) < span)
    return mask


def _slice_sums(values: Floats, slice_steps: int) -> Floats:
    starts = np.arange(0, values.size, slice_steps)
    if starts.size == 0:
        return np.zeros(0, dtype=np.float64)
    return np.add.reduceat(values, starts).astype(np.float64)


def _at_slice_ends(per_slice: Floats, steps: int, slice_steps: int) -> Floats:
    """Per-step series holding each slice's value at its last step and zero elsewhere."""
    series = np.zeros(steps, dtype=np.float64)
    ends = np.minimum(np.arange(per_slice.size) * slice_steps + slice_steps, steps) - 1
    series[ends] = per_slice
    return series


def evaluate_budget(
    good: Floats,
    total: Floats,
    target: float,
    method: BudgetingMethod = "Occurrences",
    *,
    slice_steps: int = 1,
    slice_target: float | None = None,
    excluded: Mask | None = None,
) -> BudgetReport:
    """SLI and error budget of ``good``/``total`` against ``target`` with ``method``.

    ``slice_steps`` is ``timeSliceWindow`` in steps and ``slice_target`` the
    ``timeSliceTarget`` (needed for ``Timeslices``). Raises ValueError on mismatched
    arrays, a target outside (0, 1) or a missing slice target.
    """
    if good.shape != total.shape or good.ndim != 1:
        raise ValueError("good and total must be one-dimensional arrays of the same length")
    if slice_steps < 1:
        raise ValueError("slice_steps must be at least 1")
    budget = error_budget(target)
    counted = np.ones(good.size, dtype=np.bool_) if excluded is None else ~excluded
    valid = has_data(good, total) & counted
    good_v = np.where(valid, good, 0.0)
    total_v = np.where(valid, total, 0.0)
    counted_steps = int(counted.sum())
    no_data_steps = counted_steps - int(valid.sum())
    no_data_share = no_data_steps / counted_steps if counted_steps else float("nan")

    if method == "Occurrences":
        amount = float(total_v.sum())
        sli = float(good_v.sum()) / amount if amount > 0 else float("nan")
        bad_steps = total_v - good_v
    else:
        slice_good = _slice_sums(good_v, slice_steps)
        slice_total = _slice_sums(total_v, slice_steps)
        with_data = slice_total > 0
        ratios = np.divide(slice_good, slice_total, out=np.zeros_like(slice_good), where=with_data)
        amount = float(with_data.sum())
        if method == "Timeslices":
            if slice_target is None:
                raise ValueError("Timeslices needs a slice target (timeSliceTarget)")
            slice_bad = (with_data & (ratios < slice_target)).astype(np.float64)
        elif method == "RatioTimeslices":
            slice_bad = np.where(with_data, 1.0 - ratios, 0.0)
        else:
            raise ValueError(f"unknown budgeting method {method!r}")
        sli = 1.0 - float(slice_bad.sum()) / amount if amount > 0 else float("nan")
        bad_steps = _at_slice_ends(slice_bad, good.size, slice_steps)

    allowed = budget * amount
    spent = float(bad_steps.sum())
    if allowed > 0:
        remaining = 1.0 - spent / allowed
        burn_down = 1.0 - np.cumsum(bad_steps) / allowed
    else:
        remaining = float("nan")
        burn_down = np.full(good.size, np.nan)
    return BudgetReport(
        method=method,
        sli=sli,
        attained=None if amount == 0 else bool(sli >= target),
        budget_total=allowed,
        budget_spent=spent,
        budget_remaining=remaining,
        no_data_steps=no_data_steps,
        no_data_share=no_data_share,
        burn_down=burn_down,
    )


def trailing_counts(
    good: Floats, total: Floats, steps: int, *, end: int | None = None, excluded: Mask | None = None
) -> tuple[float, float]:
    """``(Σgood, Σtotal)`` over the steps with data among the ``steps`` before index ``end``.

    ``end`` defaults to the last step; excluded steps are left out.
    """
    stop = good.size if end is None else end
    begin = max(0, stop - steps)
    valid = has_data(good[begin:stop], total[begin:stop])
    if excluded is not None:
        valid &= ~excluded[begin:stop]
    return float(good[begin:stop][valid].sum()), float(total[begin:stop][valid].sum())


def trailing_burn_rate(
    good: Floats,
    total: Floats,
    target: float,
    steps: int,
    *,
    end: int | None = None,
    excluded: Mask | None = None,
) -> float:
    """Burn rate over the ``steps`` steps before index ``end`` (default: the last step).

    The error ratio is Σbad / Σtotal over steps with data, divided by ``1 − target``;
    NaN when the window holds no data.
    """
    good_sum, total_sum = trailing_counts(good, total, steps, end=end, excluded=excluded)
    if total_sum == 0:
        return float("nan")
    return (total_sum - good_sum) / total_sum / error_budget(target)


def burn_rate_series(
    good: Floats, total: Floats, target: float, steps: int, *, excluded: Mask | None = None
) -> Floats:
    """:func:`trailing_burn_rate` ending at every step (index ``i`` covers steps ``i − steps + 1 … i``)."""
    valid = has_data(good, total)
    if excluded is not None:
        valid &= ~excluded
    ends = np.arange(1, good.size + 1)
    starts = np.maximum(ends - steps, 0)

    def window_sums(values: Floats) -> Floats:
        running = np.concatenate(([0.0], np.cumsum(values)))
        return np.asarray(running[ends] - running[starts], dtype=np.float64)

    good_sum = window_sums(np.where(valid, good, 0.0))
    total_sum = window_sums(np.where(valid, total, 0.0))
    # Count steps with data exactly: running float sums may leave residue in an empty window.
    with_data = window_sums(valid.astype(np.float64)) > 0.5
    ratio = np.divide(total_sum - good_sum, total_sum, out=np.full(good.size, np.nan), where=with_data)
    return np.asarray(ratio / error_budget(target), dtype=np.float64)


def slice_steps(objective: Objective, step_ms: int) -> int:
    """``timeSliceWindow`` of ``objective`` in steps of ``step_ms`` (1 when it has none).

    Raises ValueError when the slice is not a whole number of steps.
    """
    if objective.time_slice_window is None:
        return 1
    length = rolling_timedelta(objective.time_slice_window) // _MS
    if length % step_ms:
        raise ValueError(f"timeSliceWindow {objective.time_slice_window} is not a whole number of steps")
    return length // step_ms


def evaluate_objective(
    slo: SLO, objective: Objective, good: Floats, total: Floats, *, start_ms: int, step_ms: int
) -> BudgetReport:
    """:func:`evaluate_budget` for one objective of ``slo`` with its method, slices and exclusions.

    Step ``i`` of the arrays starts at ``start_ms + i × step_ms``; naive exclusion starts
    are read in the SLO's calendar time zone (UTC for rolling windows).
    """
    zone = slo.time_window.time_zone or "UTC"
    excluded = exclusion_mask(slo.exclusions, start_ms, step_ms, good.size, zone) if slo.exclusions else None
    return evaluate_budget(
        good,
        total,
        objective.target,
        slo.budgeting_method,
        slice_steps=slice_steps(objective, step_ms),
        slice_target=objective.time_slice_target,
        excluded=excluded,
    )
