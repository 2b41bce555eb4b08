"""Reading ``spec.watchfloor``: Watchfloor's extensions to an OpenSLO ``SLO`` (slo.md §5).

- ``windows``: burn-rate tiers ``{severity, long, short, budgetPercent}``; thresholds are
  scaled to the period with Sloth's rule (calendar months use the rolling day equivalents
  of :mod:`slo.durations`);
- ``minEvents``: the low-traffic guard, events the long window must hold before a tier fires;
- ``exclusions``: maintenance windows ``{start, duration, every?}`` left out of the calculation;
- ``noDataAfter``: how long without any data before the SLO is in the no-data state
  (default: the fastest tier's short window, at least 5 minutes);
- ``composite``: ``{components: [{slo, weight?}]}`` — a weighted composite of other SLOs,
  used instead of an indicator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slo.burn import scaled_threshold
from slo.durations import rolling_timedelta
from slo.model import CompositeComponent, Exclusion, TimeWindow, WindowPair
from slo.problems import Checker, join

__all__ = ["read_extensions"]

_PATH = "spec.watchfloor"


def _windows(check: Checker, rows: list[Any], window: TimeWindow | None) -> tuple[WindowPair, ...]:
    pairs = []
    for i, row in enumerate(rows):
        path = f"{_PATH}.windows[{i}]"
        pair = check.mapping(row, path)
        if pair is None:
            continue
        severity = check.string(pair, "severity", path)
        long, short = check.span(pair, "long", path), check.span(pair, "short", path)
        pct = check.number(pair, "budgetPercent", path)
        if pct is not None and not 0.0 < pct <= 100.0:
            check.fail(join(path, "budgetPercent"), f"{pct} is outside (0, 100]")
            pct = None
        if long is not None and short is not None and short >= long:
            check.fail(join(path, "short"), "must be shorter than long")
            short = None
        if severity and long and short and pct is not None and window is not None:
            period = rolling_timedelta(window.duration)
            pairs.append(WindowPair(severity, long, short, pct, scaled_threshold(pct, period, long)))
    return tuple(pairs)


def _exclusions(check: Checker, rows: list[Any]) -> tuple[Exclusion, ...]:
    parsed = []
    for i, row in enumerate(rows):
        path = f"{_PATH}.exclusions[{i}]"
        item = check.mapping(row, path)
        if item is None:
            continue
        start, span = check.moment(item, "start", path), check.span(item, "duration", path)
        every = check.span(item, "every", path, required=False)
        if every is not None and span is not None and every <= span:
            check.fail(join(path, "every"), "must be longer than duration")
            continue
        if start is not None and span is not None:
            parsed.append(Exclusion(start, span, every))
    return tuple(parsed)


def _composite(check: Checker, value: object) -> tuple[CompositeComponent, ...]:
    where = f"{_PATH}.composite"
    body = check.mapping(value, where)
    if body is None:
        return ()
    rows = check.items(body.get("components"), join(where, "components"))
    if rows is not None and not rows:
        check.fail(join(where, "components"), "needs at least one component")
    components: list[CompositeComponent] = []
    for i, row in enumerate(rows or []):
        path = f"{where}.components[{i}]"
        item = check.mapping(row, path)
        if item is None:
            continue
        name = check.string(item, "slo", path)
        weight = check.number(item, "weight", path, required=False)
        if weight is not None and weight <= 0:
            check.fail(join(path, "weight"), f"{weight} is not above 0")
            continue
        if name is not None and any(c.slo == name for c in components):
            check.fail(join(path, "slo"), f"{name!r} is already a component")
            continue
        if name is not None:
            components.append(CompositeComponent(name, 1.0 if weight is None else weight))
    return tuple(components)


def read_extensions(check: Checker, value: object, window: TimeWindow | None) -> dict[str, Any]:
    """The :class:`~slo.model.SLO` fields ``spec.watchfloor`` sets, as keyword arguments."""
    ext: Mapping[str, Any] | None = check.mapping(value, _PATH, required=False)
    if ext is None:
        return {}
    known = {"minEvents", "windows", "exclusions", "noDataAfter", "composite"}
    for key in sorted(str(k) for k in set(ext) - known):
        check.fail(join(_PATH, key), f"unknown extension (expected one of {', '.join(sorted(known))})")
    found: dict[str, Any] = {}
    if "minEvents" in ext:
        count = ext["minEvents"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            check.fail(f"{_PATH}.minEvents", "expected a whole number ≥ 0")
        else:
            found["min_events"] = count
    rows = check.items(ext.get("windows"), f"{_PATH}.windows", required=False)
    if rows is not None:
        found["windows"] = _windows(check, rows, window)
    rows = check.items(ext.get("exclusions"), f"{_PATH}.exclusions", required=False)
    if rows is not None:
        found["exclusions"] = _exclusions(check, rows)
    after = check.span(ext, "noDataAfter", _PATH, required=False)
    if after is not None:
        found["no_data_after"] = after
    if "composite" in ext:
        found["components"] = _composite(check, ext["composite"])
    return found
