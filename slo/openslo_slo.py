"""Reading an OpenSLO ``SLO`` spec: indicator, time window, budgeting method, objectives, extensions.

``spec.watchfloor`` holds Watchfloor's extensions: ``windows`` (burn-rate tiers
``{severity, long, short, budgetPercent}``, thresholds scaled to the period with Sloth's
rule), ``minEvents`` (low-traffic guard) and ``exclusions`` (``{start, duration, every?}``).
Calendar periods in months use the rolling day equivalents of :mod:`slo.durations` for scaling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slo.model import (
    BUDGETING_METHODS,
    SLI,
    SLO,
    BudgetingMethod,
    Objective,
    TimeWindow,
)
from slo.openslo_alerting import read_policy_refs
from slo.openslo_extensions import read_extensions
from slo.openslo_sli import read_sli_spec
from slo.problems import Checker, join

__all__ = ["read_slo_spec"]

_OPS = ("lt", "lte", "gt", "gte")


def _time_window(check: Checker, value: object) -> TimeWindow | None:
    items = check.items(value, "spec.timeWindow")
    if items is None:
        return None
    if len(items) != 1:
        check.fail("spec.timeWindow", f"needs exactly one time window, got {len(items)}")
        return None
    path = "spec.timeWindow[0]"
    window = check.mapping(items[0], path)
    if window is None:
        return None
    duration = check.duration(window, "duration", path)
    rolling = window.get("isRolling") is True
    if rolling == ("calendar" in window):
        check.fail(path, "needs exactly one of isRolling: true and calendar")
        return None
    if rolling:
        return None if duration is None else TimeWindow(duration, is_rolling=True)
    where = join(path, "calendar")
    calendar = check.mapping(window.get("calendar"), where)
    if calendar is None:
        return None
    start = check.moment(calendar, "startTime", where)
    zone = check.string(calendar, "timeZone", where)
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as 'Europe'
            check.fail(join(where, "timeZone"), f"unknown time zone {zone!r}")
            zone = None
    if duration is None or start is None or zone is None:
        return None
    return TimeWindow(duration, is_rolling=False, start=start, time_zone=zone)


def _objective(
    check: Checker, value: object, path: str, method: str | None, sli: SLI | None
) -> Objective | None:
    item = check.mapping(value, path)
    if item is None:
        return None
    target: float | None = None
    if ("target" in item) == ("targetPercent" in item):
        check.fail(path, "needs exactly one of target and targetPercent")
    elif "target" in item:
        target = check.number(item, "target", path)
        if target is not None and not 0.0 < target < 1.0:
            check.fail(join(path, "target"), f"{target} is outside (0, 1)")
            target = None
    else:
        percent = check.number(item, "targetPercent", path)
        if percent is not None and not 0.0 < percent < 100.0:
            check.fail(join(path, "targetPercent"), f"{percent} is outside (0, 100)")
            percent = None
        target = None if percent is None else percent / 100.0
    slice_window = slice_target = None
    if method in ("Timeslices", "RatioTimeslices"):
        slice_window = check.duration(item, "timeSliceWindow", path)
    if method == "Timeslices":
        slice_target = check.number(item, "timeSliceTarget", path)
        if slice_target is not None and not 0.0 < slice_target <= 1.0:
            check.fail(join(path, "timeSliceTarget"), f"{slice_target} is outside (0, 1]")
    op = value_ = None
    if sli is not None and sli.threshold_metric is not None:
        op = check.string(item, "op", path)
        if op is not None and op not in _OPS:
            check.fail(join(path, "op"), f"unknown op {op!r} (expected one of {', '.join(_OPS)})")
        value_ = check.number(item, "value", path)
    if target is None:
        return None
    name = item.get("displayName")
    return Objective(
        target=target,
        display_name=name if isinstance(name, str) else None,
        op=op,
        value=value_,
        time_slice_target=slice_target,
        time_slice_window=slice_window,
    )


def _indicator(
    check: Checker, spec: Mapping[str, Any], slis: Mapping[str, SLI], name: str, broken: frozenset[str]
) -> SLI | None:
    has_inline, has_ref = "indicator" in spec, "indicatorRef" in spec
    if has_inline and has_ref:
        check.fail("spec", "needs only one of indicator and indicatorRef")
        return None
    if has_ref:
        ref = check.string(spec, "indicatorRef", "spec")
        if ref is not None and ref in broken:
            check.fail("spec.indicatorRef", f"SLI {ref!r} is invalid (see its own problems)")
        elif ref is not None and ref not in slis:
            check.fail("spec.indicatorRef", f"unknown SLI {ref!r}")
        return None if ref is None else slis.get(ref)
    inline = check.mapping(spec.get("indicator"), "spec.indicator")
    if inline is None:
        return None
    meta = inline.get("metadata")
    inline_name = meta.get("name") if isinstance(meta, dict) else None
    body = check.mapping(inline.get("spec"), "spec.indicator.spec")
    if body is None:
        return None
    return read_sli_spec(
        check, body, "spec.indicator.spec", inline_name if isinstance(inline_name, str) else name
    )


def read_slo_spec(
    check: Checker,
    name: str,
    spec: Mapping[str, Any],
    slis: Mapping[str, SLI],
    broken: frozenset[str] = frozenset(),
    inline: list[object] | None = None,
) -> SLO | None:
    """An :class:`SLO` from ``spec`` with ``indicatorRef`` resolved in ``slis``; None after problems.

    ``broken`` names SLI documents that failed validation, so a reference to one is not 'unknown'.
    Alert policies written inline (and their inline conditions) are appended to ``inline``.
    """
    before = len(check.problems)
    service = check.string(spec, "service", "spec")
    extension = spec.get("watchfloor")
    composite = isinstance(extension, dict) and "composite" in extension
    indicator = None
    if not composite:
        indicator = _indicator(check, spec, slis, name, broken)
    elif "indicator" in spec or "indicatorRef" in spec:
        check.fail("spec", "a composite SLO (spec.watchfloor.composite) has no indicator of its own")
    window = _time_window(check, spec.get("timeWindow"))
    method = check.string(spec, "budgetingMethod", "spec")
    if method is not None and method not in BUDGETING_METHODS:
        check.fail(
            "spec.budgetingMethod",
            f"unknown method {method!r} (expected one of {', '.join(BUDGETING_METHODS)})",
        )
        method = None
    objectives = []
    items = check.items(spec.get("objectives"), "spec.objectives")
    if items is not None and not items:
        check.fail("spec.objectives", "needs at least one objective")
    for i, item in enumerate(items or []):
        objectives.append(_objective(check, item, f"spec.objectives[{i}]", method, indicator))
    policies = read_policy_refs(check, spec.get("alertPolicies"), [] if inline is None else inline)
    extensions = read_extensions(check, extension, window)
    if any(c.slo == name for c in extensions.get("components", ())):
        check.fail(
            "spec.watchfloor.composite.components", f"a composite SLO cannot contain itself ({name!r})"
        )
    if len(check.problems) > before:
        return None
    description = spec.get("description")
    return SLO(
        name=name,
        service=cast(str, service),
        indicator=indicator,
        time_window=cast(TimeWindow, window),
        budgeting_method=cast(BudgetingMethod, method),
        objectives=tuple(o for o in objectives if o is not None),
        alert_policies=policies,
        description=description if isinstance(description, str) else None,
        **extensions,
    )
