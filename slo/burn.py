"""Error budgets and burn rates (SRE Workbook maths, slo.md §1) and the default alert windows (§2).

All functions are pure; ratios are fractions (0.001, not 0.1 %). ``default_windows``
reads the packaged ``windows.yaml`` and scales it to a period with Sloth's rule.
"""

from __future__ import annotations

import functools
import math
from datetime import timedelta
from importlib import resources
from typing import Any

import yaml

from slo.durations import rolling_timedelta
from slo.model import WindowPair

__all__ = [
    "budget_consumed",
    "budget_remaining",
    "burn_rate",
    "default_windows",
    "error_budget",
    "scaled_threshold",
    "should_fire",
    "time_to_exhaustion",
]

_HOUR = timedelta(hours=1)


def error_budget(target: float) -> float:
    """The allowed error ratio, ``1 − target`` (0.999 → 0.001)."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"target {target!r} is outside (0, 1)")
    return 1.0 - target


def burn_rate(error_ratio: float, target: float) -> float:
    """How fast the budget is spent: ``error_ratio / (1 − target)``; 1 spends it exactly by period end."""
    return error_ratio / error_budget(target)


def budget_consumed(rate: float, long_window: timedelta, period: timedelta) -> float:
    """Fraction of the period's budget spent when an alert at ``rate`` fires: ``rate × long / period``."""
    return rate * (long_window / period)


def scaled_threshold(budget_percent: float, period: timedelta, long_window: timedelta) -> float:
    """Burn-rate threshold for spending ``budget_percent`` in ``long_window`` (Sloth's rule)."""
    return budget_percent * (period / _HOUR) / 100.0 / (long_window / _HOUR)


def time_to_exhaustion(rate: float, period: timedelta) -> timedelta | None:
    """``period / rate``: how long a full budget lasts at ``rate``; None when nothing burns."""
    if rate <= 0.0:
        return None
    return period / rate


def budget_remaining(bad_events: float, total_events: float, target: float) -> float:
    """``1 − bad / ((1 − target) × total)``; negative once overspent, NaN with no events."""
    allowed = error_budget(target) * total_events
    if allowed == 0.0:
        return math.nan
    return 1.0 - bad_events / allowed


def should_fire(
    long_ratio: float,
    short_ratio: float,
    threshold: float,
    budget: float,
    events_long: float,
    min_events: float,
) -> bool:
    """True when both window error ratios exceed ``threshold × budget`` and enough events were seen.

    ``budget`` is the error budget (``1 − target``); ``events_long`` counts the long window's
    events, which must reach ``min_events`` (the low-traffic guard). NaN ratios (no data)
    never fire.
    """
    if events_long < min_events:
        return False
    limit = threshold * budget
    return long_ratio > limit and short_ratio > limit


def _load_default_rows() -> list[dict[str, Any]]:
    text = resources.files("slo").joinpath("windows.yaml").read_text(encoding="utf-8")
    rows: list[dict[str, Any]] = yaml.safe_load(text)["windows"]
    return rows


@functools.lru_cache(maxsize=64)
def default_windows(period: timedelta = timedelta(days=30)) -> tuple[WindowPair, ...]:
    """The four default tiers of slo.md §2 with thresholds scaled to ``period``.

    Every status of an SLO without its own tiers asks for them: worked out once per period
    (the pairs are frozen), not read from the YAML each time.
    """
    pairs = []
    for row in _load_default_rows():
        long = rolling_timedelta(row["long"])
        pct = float(row["budget_percent"])
        pairs.append(
            WindowPair(
                severity=row["severity"],
                long=long,
                short=rolling_timedelta(row["short"]),
                budget_percent=pct,
                threshold=scaled_threshold(pct, period, long),
            )
        )
    return tuple(pairs)
