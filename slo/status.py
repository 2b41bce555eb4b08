"""The status of one SLO at one instant, from its per-step counts (pure; slo.md §1, §2, §5).

Inputs are ``good``/``total`` arrays per objective covering ``(start, start + n·step]``,
reaching back far enough for both the evaluation window and the longest burn-rate window.
For each objective: the budget figures and burn-down over the window
(:func:`slo.budgeting.evaluate_objective`), the burn rate of every tier's long and short
window (ending now, whatever the window's start: a calendar period's first hour still
sees the hour before it), and the time to exhaustion.

- The *current* burn rate is the rate over the fastest tier's long window (1 h for a 30-day
  period): the page tier's own figure, steadier than its 5-minute short window.
- Time to exhaustion = remaining budget × period / current burn rate; zero once the
  budget is spent, None while nothing burns.
- A tier fires when both windows exceed its threshold and the long window holds at least
  ``minEvents`` events; below that it is *guarded*.
- No data: no step with data during ``noDataAfter`` (default: the fastest short window,
  at least 5 minutes). A silent SLO is neither good nor bad: it is in state ``no_data``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np

from slo.budgeting import (
    BudgetReport,
    Floats,
    Mask,
    evaluate_objective,
    exclusion_mask,
    has_data,
    trailing_counts,
)
from slo.burn import default_windows, should_fire
from slo.durations import rolling_timedelta
from slo.evaluation_window import EvaluationWindow
from slo.model import SLO, Objective, WindowPair

__all__ = [
    "BudgetSource",
    "ObjectiveStatus",
    "SLOStatus",
    "TierStatus",
    "compute_status",
    "current_burn_rate",
    "state_of",
    "tier_status",
    "tiers_of",
    "time_to_exhaustion",
]

_MS = timedelta(milliseconds=1)
_MIN_NO_DATA = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class TierStatus:
    """One window pair now: both burn rates, the long window's events, and whether it fires."""

    pair: WindowPair
    long_rate: float
    short_rate: float
    long_events: float
    firing: bool
    guarded: bool


@dataclass(frozen=True, slots=True)
class ObjectiveStatus:
    """Budget figures of one objective over the window, and its burn rates now."""

    objective: Objective
    report: BudgetReport
    current_burn_rate: float
    time_to_exhaustion_ms: int | None
    tiers: tuple[TierStatus, ...]


@dataclass(frozen=True, slots=True)
class SLOStatus:
    """Everything the API shows for one SLO; ``state`` is ok, burning, exhausted or no_data."""

    slo: SLO
    window: EvaluationWindow
    step_ms: int
    burn_down_start_ms: int
    objectives: tuple[ObjectiveStatus, ...]
    no_data: bool
    last_data_ms: int | None
    state: str
    burn_down_step_ms: int

    @property
    def budget_remaining(self) -> float:
        """The lowest remaining budget of any objective (NaN when none has data)."""
        values = [
            o.report.budget_remaining for o in self.objectives if not math.isnan(o.report.budget_remaining)
        ]
        return min(values) if values else math.nan

    @property
    def firing(self) -> tuple[str, ...]:
        """Severities of the tiers firing now, in tier order, without repeats."""
        seen: dict[str, None] = {}
        for objective in self.objectives:
            for tier in objective.tiers:
                if tier.firing:
                    seen[tier.pair.severity] = None
        return tuple(seen)


def tiers_of(slo: SLO) -> tuple[WindowPair, ...]:
    """The SLO's own window pairs, or the defaults scaled to its period."""
    if slo.windows:
        return slo.windows
    return default_windows(rolling_timedelta(slo.time_window.duration))


def no_data_after(slo: SLO) -> timedelta:
    """How long without data before the SLO is in the no-data state."""
    if slo.no_data_after is not None:
        return slo.no_data_after
    return max(min((p.short for p in tiers_of(slo)), default=_MIN_NO_DATA), _MIN_NO_DATA)


def tier_status(
    pair: WindowPair, long_ratio: float, short_ratio: float, events: float, budget: float, min_events: int
) -> TierStatus:
    """One tier from its windows' error ratios and the long window's events."""
    firing = should_fire(long_ratio, short_ratio, pair.threshold, budget, events, min_events)
    return TierStatus(pair, long_ratio / budget, short_ratio / budget, events, firing, events < min_events)


def _tier(
    pair: WindowPair,
    counts: tuple[Floats, Floats],
    excluded: Mask | None,
    budget: float,
    min_events: int,
    step_ms: int,
) -> TierStatus:
    ratios, events = [], 0.0
    for window in (pair.long, pair.short):
        good, total = trailing_counts(*counts, max(1, window // _MS // step_ms), excluded=excluded)
        ratios.append((total - good) / total if total > 0 else math.nan)
        if window == pair.long:
            events = total
    return tier_status(pair, ratios[0], ratios[1], events, budget, min_events)


def current_burn_rate(tiers: tuple[TierStatus, ...]) -> float:
    """The fastest tier's long window, whatever order the tiers were written in."""
    return min(tiers, key=lambda t: t.pair.long).long_rate if tiers else math.nan


def time_to_exhaustion(remaining: float, current: float, period_ms: int) -> int | None:
    """Milliseconds until the budget is spent at the current rate: 0 once spent, None while none burns."""
    if math.isnan(remaining) or math.isnan(current):
        return None
    if remaining <= 0:
        return 0
    return None if current <= 0 else int(remaining * period_ms / current)


def state_of(no_data: bool, firing: bool, budget_remaining: float) -> str:
    """``no_data`` > ``burning`` > ``exhausted`` > ``ok``."""
    if no_data:
        return "no_data"
    if firing:
        return "burning"
    return "exhausted" if budget_remaining < 0 else "ok"


@dataclass(frozen=True, slots=True)
class BudgetSource:
    """Counts to take the budget and burn-down from, when coarser than the burn-rate arrays.

    Windows longer than the 1-minute rollups are kept are budgeted from hourly counts.
    """

    counts: list[tuple[Floats, Floats]]
    window: EvaluationWindow
    start_ms: int
    step_ms: int

    @property
    def offset(self) -> int:
        """Index of the first step inside the window."""
        steps = self.counts[0][0].size
        return min(steps, max(0, -(-(self.window.start_ms - self.start_ms) // self.step_ms)))

    def report(self, slo: SLO, index: int) -> BudgetReport:
        good, total = self.counts[index]
        at, step = self.offset, self.step_ms
        objective = slo.objectives[index]
        return evaluate_objective(
            slo, objective, good[at:], total[at:], start_ms=self.start_ms + at * step, step_ms=step
        )


def _objective_status(
    slo: SLO,
    objective: Objective,
    counts: tuple[Floats, Floats],
    excluded: Mask | None,
    step_ms: int,
    report: BudgetReport,
    period_ms: int,
) -> ObjectiveStatus:
    budget = 1.0 - objective.target
    tiers = tuple(_tier(pair, counts, excluded, budget, slo.min_events, step_ms) for pair in tiers_of(slo))
    current = current_burn_rate(tiers)
    exhaustion = time_to_exhaustion(report.budget_remaining, current, period_ms)
    return ObjectiveStatus(objective, report, current, exhaustion, tiers)


def compute_status(
    slo: SLO,
    counts: list[tuple[Floats, Floats]],
    window: EvaluationWindow,
    start_ms: int,
    step_ms: int,
    budget: BudgetSource | None = None,
) -> SLOStatus:
    """The status of ``slo`` from ``counts[k]`` = (good, total) of objective ``k``.

    The arrays cover ``(start_ms, start_ms + n·step_ms]``; the last step ends at ``window.end_ms``.
    Budget figures and burn-down come from ``budget`` when given, else from the same arrays.
    """
    steps = counts[0][0].size
    zone = slo.time_window.time_zone or "UTC"
    excluded = exclusion_mask(slo.exclusions, start_ms, step_ms, steps, zone) if slo.exclusions else None
    source = budget or BudgetSource(counts, window, start_ms, step_ms)
    objectives = tuple(
        _objective_status(
            slo, objective, pair, excluded, step_ms, source.report(slo, k), source.window.period_ms
        )
        for k, (objective, pair) in enumerate(zip(slo.objectives, counts, strict=True))
    )
    with_data = np.flatnonzero(has_data(*counts[0]))
    last_data_ms = None if with_data.size == 0 else start_ms + (int(with_data[-1]) + 1) * step_ms
    silent_for = window.end_ms - (last_data_ms if last_data_ms is not None else start_ms)
    no_data = last_data_ms is None or silent_for >= no_data_after(slo) // _MS
    burn_down_start_ms = source.start_ms + source.offset * source.step_ms
    status = SLOStatus(
        slo, window, step_ms, burn_down_start_ms, objectives, no_data, last_data_ms, "ok", source.step_ms
    )
    return replace(status, state=state_of(no_data, bool(status.firing), status.budget_remaining))
