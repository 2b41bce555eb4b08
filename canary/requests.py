"""Kayenta execution requests read into judgement plans (canary-judge.md §7).

``POST /canary`` carries ``{scopes: {name: {controlScope, experimentScope}}, thresholds}``:
one judgement over the scopes' windows. ``POST /standalone_canary_analysis`` carries
``{scopes: [{scopeName, controlScope, controlLocation, controlOffsetInMinutes,
experimentScope, experimentLocation, startTimeIso, endTimeIso, step,
extendedScopeParams}], thresholds, lifetimeDurationMins, beginAfterMins, lookbackMins,
analysisIntervalMins}``: N = floor(lifetime / interval) judgements, planned as Kayenta's
``SetupAndExecuteCanariesStage`` does:

- start and end come from the first scope (start defaults to now); the lifetime is
  end − start, else ``lifetimeDurationMins``; the interval defaults to the lifetime, and
  is the lifetime when 0 or longer;
- judgement i covers [start, start + i·interval] (growing), shifted by the warm-up
  (``beginAfterMins``) when no end was given; with ``lookbackMins`` it covers
  [end − lookback, end] (sliding); the control window moves back by
  ``controlOffsetInMinutes``.

Watchfloor differences, all widening what Kayenta accepts: minutes may be fractional
(``0.5``), the lifetime from an explicit end is exact rather than cut to whole minutes,
and a judgement runs once its window has closed and its data has settled (Kayenta runs
windows with an end time at once, even those still in the future), never before the
warm-up has passed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from canary.config import CanaryConfig
from canary.execution import check_scopes
from canary.scopes import (
    RequestError,
    ScopePair,
    ScopeWindow,
    check_window,
    parse_instant,
    read_scope_pairs,
    scope_key,
    scope_name,
    step_ms,
)
from canary.scorer import Thresholds

__all__ = ["JudgementPlan", "read_canary_request", "read_standalone_request", "read_thresholds"]

MINUTE_MS = 60_000
MAX_JUDGEMENTS = 1_000
MAX_SCOPES = 20
MAX_MINUTES = 5_256_000


@dataclass(frozen=True, slots=True)
class JudgementPlan:
    """One judgement to make: its scopes' windows and when it may run (epoch ms)."""

    scopes: Mapping[str, ScopePair]
    due_ms: int


def read_thresholds(raw: object, configured: tuple[float, float] | None, field: str) -> Thresholds:
    """``{pass, marginal}`` from the request, else the config's ``classifier.scoreThresholds``."""
    if raw is None:
        if configured is None:
            raise RequestError(field, "required (or classifier.scoreThresholds in the canary config)")
        return Thresholds(*configured)
    if not isinstance(raw, Mapping):
        raise RequestError(field, "expected {pass, marginal}")
    values = []
    for key in ("pass", "marginal"):
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise RequestError(f"{field}.{key}", "expected a number")
        if not 0 <= value <= 100:
            raise RequestError(f"{field}.{key}", f"{value} is outside [0, 100]")
        values.append(float(value))
    if values[1] > values[0]:
        raise RequestError(f"{field}.marginal", f"{values[1]:g} is above pass ({values[0]:g})")
    return Thresholds(values[0], values[1])


def read_canary_request(
    raw: object, config: CanaryConfig, *, default_step_ms: int, settle_ms: int, now_ms: int
) -> tuple[JudgementPlan, Thresholds]:
    """A ``/canary`` execution request: one judgement, due once every window has settled."""
    if not isinstance(raw, Mapping):
        raise RequestError("executionRequest", "expected {scopes, thresholds}")
    scopes = read_scope_pairs(raw.get("scopes"), "executionRequest.scopes", default_step_ms)
    check_scopes(config, scopes, "executionRequest.scopes")
    thresholds = read_thresholds(
        raw.get("thresholds"), config.score_thresholds, "executionRequest.thresholds"
    )
    latest = max(max(p.control.end_ms, p.experiment.end_ms) for p in scopes.values())
    return JudgementPlan(scopes, max(now_ms, latest + settle_ms)), thresholds


def _minutes(raw: Mapping[str, Any], key: str, field: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise RequestError(f"{field}.{key}", "expected a number of minutes, 0 or more")
    if value > MAX_MINUTES:
        raise RequestError(f"{field}.{key}", f"at most {MAX_MINUTES} minutes (ten years)")
    return float(value)


def _scope_template(raw: object, field: str, default_step_ms: int) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise RequestError(field, "expected {scopeName, controlScope, experimentScope, startTimeIso, …}")
    name = raw.get("scopeName", "default")
    if not isinstance(name, str) or not name:
        raise RequestError(f"{field}.scopeName", "expected a non-empty string")
    offset = _minutes(raw, "controlOffsetInMinutes", field) or 0.0
    return {
        "name": name,
        "control": scope_name(raw, "controlScope", field),
        "experiment": scope_name(raw, "experimentScope", field),
        "control_location": str(raw.get("controlLocation") or ""),
        "experiment_location": str(raw.get("experimentLocation") or ""),
        "offset_ms": round(offset * MINUTE_MS),
        "step_ms": step_ms(raw.get("step"), f"{field}.step", default_step_ms),
        "key": scope_key(raw.get("extendedScopeParams"), f"{field}.extendedScopeParams"),
    }


def read_standalone_request(
    raw: object, config: CanaryConfig, *, default_step_ms: int, settle_ms: int, now_ms: int
) -> tuple[list[JudgementPlan], Thresholds, dict[str, Any]]:
    """A standalone analysis request: its judgements in order, thresholds and timing facts."""
    field = "executionRequest"
    if not isinstance(raw, Mapping):
        raise RequestError(field, "expected {scopes, thresholds, lifetimeDurationMins, …}")
    raw_scopes = raw.get("scopes")
    if not isinstance(raw_scopes, list) or not raw_scopes:
        raise RequestError(f"{field}.scopes", "expected a non-empty list of scopes")
    if len(raw_scopes) > MAX_SCOPES:
        raise RequestError(f"{field}.scopes", f"{len(raw_scopes)} scopes; at most {MAX_SCOPES}")
    templates = [
        _scope_template(s, f"{field}.scopes[{i}]", default_step_ms) for i, s in enumerate(raw_scopes)
    ]
    # Kayenta gives every scope the first scope's step.
    for template in templates:
        template["step_ms"] = templates[0]["step_ms"]
    first = raw_scopes[0]
    start = (
        now_ms
        if first.get("startTimeIso") is None
        else parse_instant(first["startTimeIso"], f"{field}.scopes[0].startTimeIso")
    )
    end = (
        None
        if first.get("endTimeIso") is None
        else parse_instant(first["endTimeIso"], f"{field}.scopes[0].endTimeIso")
    )
    lifetime_min = _minutes(raw, "lifetimeDurationMins", field)
    if end is not None:
        if end <= start:
            raise RequestError(f"{field}.scopes[0].endTimeIso", "the end must be after the start")
        lifetime = end - start
    elif lifetime_min and round(lifetime_min * MINUTE_MS) > 0:
        lifetime = round(lifetime_min * MINUTE_MS)
    else:
        raise RequestError(
            f"{field}.lifetimeDurationMins", "required, and above 0, when scopes[0].endTimeIso is not given"
        )
    interval = round((_minutes(raw, "analysisIntervalMins", field) or 0) * MINUTE_MS)
    if interval <= 0 or interval > lifetime:
        interval = lifetime
    count = lifetime // interval
    if count > MAX_JUDGEMENTS:
        raise RequestError(f"{field}.analysisIntervalMins", f"{count} judgements; at most {MAX_JUDGEMENTS}")
    begin_after = round((_minutes(raw, "beginAfterMins", field) or 0) * MINUTE_MS)
    lookback = round((_minutes(raw, "lookbackMins", field) or 0) * MINUTE_MS)
    names = [t["name"] for t in templates]
    if len(set(names)) != len(names):
        raise RequestError(f"{field}.scopes", "two scopes share a scopeName")
    plans = []
    for i in range(1, count + 1):
        s, e = start, start + i * interval
        if end is None:
            s, e = s + begin_after, e + begin_after
        if lookback > 0:
            s = e - lookback
        scopes = {}
        for n, t in enumerate(templates):
            check_window(s, e, t["step_ms"], f"{field}.scopes[{n}]")
            check_window(
                s - t["offset_ms"],
                e - t["offset_ms"],
                t["step_ms"],
                f"{field}.scopes[{n}].controlOffsetInMinutes",
            )
            control = ScopeWindow(
                t["control"],
                s - t["offset_ms"],
                e - t["offset_ms"],
                t["step_ms"],
                t["key"],
                t["control_location"],
            )
            experiment = ScopeWindow(t["experiment"], s, e, t["step_ms"], t["key"], t["experiment_location"])
            scopes[t["name"]] = ScopePair(control, experiment)
        if i == 1:
            check_scopes(config, scopes, f"{field}.scopes[].scopeName")
        plans.append(JudgementPlan(scopes, max(e + settle_ms, now_ms + begin_after)))
    thresholds = read_thresholds(raw.get("thresholds"), config.score_thresholds, f"{field}.thresholds")
    timing = {
        "startMs": start,
        "endMs": end,
        "lifetimeMs": lifetime,
        "intervalMs": interval,
        "beginAfterMs": begin_after,
        "lookbackMs": lookback,
    }
    return plans, thresholds, timing
