"""SLOs and error budgets from OpenSLO v1 definitions: durations, the model, loading, burn-rate maths.

Everything here is pure (no I/O beyond the packaged ``windows.yaml`` and the text handed
in); see ``../shared/specs/slo.md``. ``load_catalog(text)`` reads OpenSLO YAML,
``default_windows(period)`` gives the burn-rate tiers and ``slo.burn`` the budget maths.
``evaluation_window(window, now_ms)`` gives the rolling or calendar window of an SLO and
``evaluate_budget`` / ``evaluate_objective`` the SLI, budget and burn-down over per-step
counts (``slo.budgeting``).
"""

from __future__ import annotations

from slo.budgeting import (
    BudgetReport,
    burn_rate_series,
    evaluate_budget,
    evaluate_objective,
    exclusion_mask,
    trailing_burn_rate,
)
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
from slo.durations import Duration, DurationError, calendar_months, parse_duration, rolling_timedelta
from slo.evaluation_window import EvaluationWindow, evaluation_window
from slo.openslo import Catalog, load_catalog
from slo.problems import Problem, ValidationError

__all__ = [
    "BudgetReport",
    "Catalog",
    "Duration",
    "DurationError",
    "EvaluationWindow",
    "Problem",
    "ValidationError",
    "budget_consumed",
    "budget_remaining",
    "burn_rate",
    "burn_rate_series",
    "calendar_months",
    "default_windows",
    "error_budget",
    "evaluate_budget",
    "evaluate_objective",
    "evaluation_window",
    "exclusion_mask",
    "load_catalog",
    "parse_duration",
    "rolling_timedelta",
    "scaled_threshold",
    "should_fire",
    "time_to_exhaustion",
    "trailing_burn_rate",
]
