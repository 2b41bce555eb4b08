"""JSON shapes of SLO statuses for ``/api/v1/slos``: a summary per SLO, and the detail with burn-down.

Ratios are fractions; times are epoch milliseconds; durations are milliseconds beside a
compact label (``5m``, ``1h``). NaN (no data) is ``null``. The burn-down is sampled to
at most ``points`` points, always including the last step: it is cumulative, so a sample
is exact at its own instant.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from slo.service import SLOResult
from slo.status import ObjectiveStatus, SLOStatus, TierStatus

__all__ = ["detail_view", "duration_label", "summary_view"]

_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000))


def duration_label(ms: int) -> str:
    """The largest unit that divides ``ms``: 300000 → ``5m``, 5400000 → ``90m``."""
    for unit, size in _UNITS:
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else value


def _span_ms(span: timedelta) -> int:
    return span // timedelta(milliseconds=1)


def _tier(tier: TierStatus) -> dict[str, Any]:
    pair = tier.pair
    return {
        "severity": pair.severity,
        "long": duration_label(_span_ms(pair.long)),
        "short": duration_label(_span_ms(pair.short)),
        "long_ms": _span_ms(pair.long),
        "short_ms": _span_ms(pair.short),
        "budget_percent": pair.budget_percent,
        "threshold": pair.threshold,
        "long_burn_rate": _number(tier.long_rate),
        "short_burn_rate": _number(tier.short_rate),
        "long_events": tier.long_events,
        "firing": tier.firing,
        "guarded": tier.guarded,
    }


def _burn_down(objective: ObjectiveStatus, start_ms: int, step_ms: int, points: int) -> dict[str, Any]:
    values = objective.report.burn_down
    every = max(1, -(-values.size // points))
    picks = list(range(every - 1, values.size, every))
    if values.size and (not picks or picks[-1] != values.size - 1):
        picks.append(values.size - 1)
    return {
        "step_ms": every * step_ms,
        "points": [[start_ms + (i + 1) * step_ms, _number(float(values[i]))] for i in picks],
    }


def _objective(objective: ObjectiveStatus) -> dict[str, Any]:
    report = objective.report
    spec = objective.objective
    return {
        "display_name": spec.display_name,
        "target": spec.target,
        "op": spec.op,
        "value": spec.value,
        "sli": _number(report.sli),
        "attained": report.attained,
        "budget": {
            "total": _number(report.budget_total),
            "spent": _number(report.budget_spent),
            "remaining": _number(report.budget_remaining),
            "unit": "events" if report.method == "Occurrences" else "slices",
        },
        "no_data_share": _number(report.no_data_share),
        "current_burn_rate": _number(objective.current_burn_rate),
        "time_to_exhaustion_ms": objective.time_to_exhaustion_ms,
        "burn_rates": [_tier(t) for t in objective.tiers],
    }


def _window(status: SLOStatus) -> dict[str, Any]:
    window, spec = status.window, status.slo.time_window
    return {
        "type": "rolling" if spec.is_rolling else "calendar",
        "duration": str(spec.duration),
        "time_zone": spec.time_zone,
        "start_ms": window.start_ms,
        "end_ms": window.end_ms,
        "period_ms": window.period_ms,
        "elapsed": window.elapsed,
    }


def summary_view(result: SLOResult) -> dict[str, Any]:
    """Name, service, state and headline figures of one SLO (its first objective's)."""
    definition, status = result.definition, result.status
    slo = definition.slo
    view: dict[str, Any] = {
        "name": definition.name,
        "service": None if slo is None else slo.service,
        "description": None if slo is None else slo.description,
        "source": "file" if definition.read_only else "api",
        "read_only": definition.read_only,
        "composite": None if slo is None else [{"slo": c.slo, "weight": c.weight} for c in slo.components],
        "state": "error" if status is None else status.state,
        "error": result.error,
    }
    if status is None:
        return view
    first = status.objectives[0]
    view.update(
        {
            "budgeting_method": status.slo.budgeting_method,
            "target": first.objective.target,
            "sli": _number(first.report.sli),
            "attained": first.report.attained,
            "budget_remaining": _number(status.budget_remaining),
            "current_burn_rate": _number(first.current_burn_rate),
            "time_to_exhaustion_ms": first.time_to_exhaustion_ms,
            "firing": list(status.firing),
            "no_data": status.no_data,
            "last_data_ms": status.last_data_ms,
            "window": _window(status),
        }
    )
    return view


def detail_view(result: SLOResult, points: int) -> dict[str, Any]:
    """The summary plus every objective's figures, burn rates and sampled burn-down."""
    view = summary_view(result)
    status = result.status
    view["problems"] = [
        {"document": p.document, "field": p.path, "reason": p.reason} for p in result.definition.problems
    ]
    if status is None:
        return view
    view["step_ms"] = status.step_ms
    view["min_events"] = status.slo.min_events
    view["objectives"] = [
        {
            **_objective(o),
            "burn_down": _burn_down(o, status.burn_down_start_ms, status.burn_down_step_ms, points),
        }
        for o in status.objectives
    ]
    return view
