"""SLOs and error budgets from OpenSLO v1 definitions: durations, the model, loading, burn-rate maths.

Everything here is pure (no I/O beyond the packaged ``windows.yaml`` and the text handed
in); see ``../shared/specs/slo.md``. ``load_catalog(text)`` reads OpenSLO YAML,
``default_windows(period)`` gives the burn-rate tiers and ``slo.burn`` the budget maths.
"""

from __future__ import annotations

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
from slo.openslo import Catalog, load_catalog
from slo.problems import Problem, ValidationError

__all__ = [
    "Catalog",
    "Duration",
    "DurationError",
    "Problem",
    "ValidationError",
    "budget_consumed",
    "budget_remaining",
    "burn_rate",
    "calendar_months",
    "default_windows",
    "error_budget",
    "load_catalog",
    "parse_duration",
    "rolling_timedelta",
    "scaled_threshold",
    "should_fire",
    "time_to_exhaustion",
]
