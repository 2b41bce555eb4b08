"""Frozen dataclasses for the OpenSLO v1 kinds Watchfloor reads, plus its own extensions.

Only the fields of slo.md §3 are modelled. Watchfloor's extensions (§5) live under
``spec.watchfloor`` of an SLO document: burn-rate window pairs, a minimum event count
before an alert may fire, and maintenance exclusions. Targets are always ratios in (0, 1);
``targetPercent`` is divided by 100 when loading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from slo.durations import Duration

__all__ = [
    "BUDGETING_METHODS",
    "SLI",
    "SLO",
    "AlertCondition",
    "AlertNotificationTarget",
    "AlertPolicy",
    "BudgetingMethod",
    "CompositeComponent",
    "DataSource",
    "Exclusion",
    "MetricSource",
    "Objective",
    "RatioMetric",
    "Service",
    "ThresholdMetric",
    "TimeWindow",
    "WindowPair",
]

BudgetingMethod = Literal["Occurrences", "Timeslices", "RatioTimeslices"]
BUDGETING_METHODS: tuple[BudgetingMethod, ...] = ("Occurrences", "Timeslices", "RatioTimeslices")


@dataclass(frozen=True, slots=True)
class MetricSource:
    """Where a metric comes from: ``type`` ``atlas`` (stack-language) or ``prometheus`` (PromQL)."""

    type: str
    query: str
    metric_source_ref: str | None = None


@dataclass(frozen=True, slots=True)
class RatioMetric:
    """good/total or bad/total; exactly one of ``good`` and ``bad`` is set."""

    total: MetricSource
    good: MetricSource | None = None
    bad: MetricSource | None = None
    counter: bool = True


@dataclass(frozen=True, slots=True)
class ThresholdMetric:
    """A single metric compared with an objective's ``op`` and ``value``."""

    metric_source: MetricSource


@dataclass(frozen=True, slots=True)
class SLI:
    """An indicator; exactly one of ``ratio_metric`` and ``threshold_metric`` is set."""

    name: str
    ratio_metric: RatioMetric | None = None
    threshold_metric: ThresholdMetric | None = None


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Rolling (``is_rolling``) or calendar-aligned SLO period; ``start`` is wall-clock in ``time_zone``."""

    duration: Duration
    is_rolling: bool
    start: datetime | None = None
    time_zone: str | None = None


@dataclass(frozen=True, slots=True)
class Objective:
    """One objective; ``target`` is a ratio in (0, 1) whichever form the document used."""

    target: float
    display_name: str | None = None
    op: str | None = None
    value: float | None = None
    time_slice_target: float | None = None
    time_slice_window: Duration | None = None


@dataclass(frozen=True, slots=True)
class WindowPair:
    """A multiwindow burn-rate tier: fires when both windows burn above ``threshold``."""

    severity: str
    long: timedelta
    short: timedelta
    budget_percent: float
    threshold: float


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A maintenance window removed from the calculation; recurs every ``every`` when set."""

    start: datetime
    duration: timedelta
    every: timedelta | None = None


@dataclass(frozen=True, slots=True)
class CompositeComponent:
    """One part of a composite SLO: another SLO by name, weighted."""

    slo: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class SLO:
    """An SLO with its indicator resolved (inline or through ``indicatorRef``).

    A composite SLO (``spec.watchfloor.composite``) has no indicator of its own: its
    ``components`` name other SLOs, and ``indicator`` is None.
    """

    name: str
    service: str
    indicator: SLI | None
    time_window: TimeWindow
    budgeting_method: BudgetingMethod
    objectives: tuple[Objective, ...]
    alert_policies: tuple[str, ...] = ()
    description: str | None = None
    # Watchfloor extensions (spec.watchfloor): None means "use the scaled defaults".
    windows: tuple[WindowPair, ...] | None = None
    min_events: int = 0
    exclusions: tuple[Exclusion, ...] = field(default=())
    components: tuple[CompositeComponent, ...] = ()
    no_data_after: timedelta | None = None


@dataclass(frozen=True, slots=True)
class DataSource:
    """A named backend that metric sources may refer to with ``metricSourceRef``."""

    name: str
    type: str


@dataclass(frozen=True, slots=True)
class AlertCondition:
    """A burn-rate condition: ``threshold`` over one ``lookback_window`` (OpenSLO's single window)."""

    name: str
    severity: str
    threshold: float
    lookback_window: Duration
    alert_after: Duration | None = None


@dataclass(frozen=True, slots=True)
class AlertNotificationTarget:
    """Where an alert goes (``target`` names the channel kind, e.g. ``slack``)."""

    name: str
    target: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """Conditions and targets by name, as in the document."""

    name: str
    conditions: tuple[str, ...]
    notification_targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Service:
    """A service SLOs are attached to."""

    name: str
    description: str | None = None
