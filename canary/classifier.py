"""Kayenta's Mann-Whitney metric classifier: control and experiment → a verdict (canary-judge.md §4).

:func:`classify` preprocesses each side (:mod:`canary.preprocess`), then applies the
first rule that fits:

1. a side is empty → ``Nodata`` (``NodataFailMetric`` when data is required of a
   non-critical metric; ``Pass`` under the ``replace`` NaN strategy);
2. the same sorted values on both sides → ``Pass``, "The Canary and Baseline data are identical";
3. one distinct value across both sides → ``Pass``;
4. the Mann-Whitney interval ``[L, U]`` of the shift and its estimate ``est``
   (:func:`canary.mann_whitney.mann_whitney`) against ``c = tolerance·|est|``: ``High`` when
   ``L > c`` and the effect size reaches ``allowed_increase``, ``Low`` when ``U < −c`` and
   it reaches ``allowed_decrease``, else ``Pass``;
5. a critical metric stays critical only when its High/Low effect also reaches the
   critical threshold;
6. any exception (for example every observation tied) → ``Error``, "Metric Classification Failed".

Beyond Kayenta (§9): the interval, estimate and p-value are reported in
``result_metadata``; the noise added when both sides are constant comes from a generator
seeded with the metric name, so a verdict is reproducible; warnings flag fewer than 50
control points and a side that was all NaN.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np

from canary.mann_whitney import cles, mann_whitney
from canary.preprocess import Floats, NanStrategy, OutlierStrategy, preprocess, summary

__all__ = [
    "MIN_CONTROL_POINTS",
    "Classification",
    "Direction",
    "EffectMeasure",
    "MetricClassification",
    "MetricSettings",
    "classify",
]

Direction = Literal["increase", "decrease", "either"]
EffectMeasure = Literal["meanRatio", "cles"]
Classification = Literal["Pass", "High", "Low", "Nodata", "NodataFailMetric", "Error"]

# Fewer control points than this and the verdict deserves a warning (canary-judge.md §7, §9).
MIN_CONTROL_POINTS = 50
# Kayenta's noise for two constant sides: sd = value × 1e-5, enough to break the ties only.
_NOISE_SCALE = 1e-5
# An effect size of 1.0 (mean ratio) or 0.5 (CLES) means "no effect": the neutral thresholds.
_NEUTRAL_EFFECT: dict[str, float] = {"meanRatio": 1.0, "cles": 0.5}
_THRESHOLDS = ("allowed_increase", "allowed_decrease", "critical_increase", "critical_decrease")
_KAYENTA_THRESHOLDS = ("allowedIncrease", "allowedDecrease", "criticalIncrease", "criticalDecrease")


@dataclass(frozen=True, slots=True)
class MetricSettings:
    """One metric's ``analysisConfigurations.canary`` (canary-judge.md §2), with Kayenta's defaults.

    The four effect-size thresholds left as NaN take the measure's neutral value: 1.0 for
    ``meanRatio``, 0.5 for ``cles`` (so by default any significant shift counts).
    """

    direction: Direction = "either"
    nan_strategy: NanStrategy = "remove"
    outlier_strategy: OutlierStrategy = "keep"
    outlier_factor: float = 3.0
    critical: bool = False
    must_have_data: bool = False
    muted: bool = False
    effect_measure: EffectMeasure = "meanRatio"
    allowed_increase: float = math.nan
    allowed_decrease: float = math.nan
    critical_increase: float = math.nan
    critical_decrease: float = math.nan

    def __post_init__(self) -> None:
        neutral = _NEUTRAL_EFFECT[self.effect_measure]
        for name in _THRESHOLDS:
            if math.isnan(getattr(self, name)):
                object.__setattr__(self, name, neutral)

    @classmethod
    def from_kayenta(cls, canary: Mapping[str, Any]) -> MetricSettings:
        """Settings from Kayenta's JSON ``analysisConfigurations.canary`` object.

        Absent or null keys take the defaults; an unknown ``direction`` string means
        ``either``, as in Kayenta. Raises ValueError naming the key (``outliers.outlierFactor``)
        for a value of the wrong type or outside its choices.
        """
        outliers = _section(canary, "outliers")
        effect = _section(canary, "effectSize")
        direction = _text(canary, "direction", "", "either")
        nan_strategy = _choice(canary, "nanStrategy", "", ("remove", "replace"))
        outlier_strategy = _choice(outliers, "strategy", "outliers.", ("keep", "remove"))
        measure = cast(EffectMeasure, _choice(effect, "measure", "effectSize.", ("meanRatio", "cles")))
        thresholds = {
            name: _number(effect, key, "effectSize.", math.nan)
            for name, key in zip(_THRESHOLDS, _KAYENTA_THRESHOLDS, strict=True)
        }
        factor = _number(outliers, "outlierFactor", "outliers.", 3.0)
        if not factor > 0:
            raise ValueError("outliers.outlierFactor: expected a number greater than 0")
        return cls(
            direction=cast(Direction, direction if direction in ("increase", "decrease") else "either"),
            nan_strategy=cast(NanStrategy, nan_strategy),
            outlier_strategy=cast(OutlierStrategy, outlier_strategy),
            outlier_factor=factor,
            critical=_flag(canary, "critical"),
            must_have_data=_flag(canary, "mustHaveData"),
            muted=_flag(canary, "muted"),
            effect_measure=measure,
            **thresholds,
        )


def _section(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{key}: expected an object")
    return value


def _text(raw: Mapping[str, Any], key: str, prefix: str, default: str) -> str:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"{prefix}{key}: expected a string")
    return value


def _choice(raw: Mapping[str, Any], key: str, prefix: str, choices: tuple[str, ...]) -> str:
    """``raw[key]`` when it is one of ``choices`` (the first is the default)."""
    value = _text(raw, key, prefix, choices[0])
    if value not in choices:
        raise ValueError(f"{prefix}{key}: expected one of {', '.join(choices)}, not {value!r}")
    return value


def _flag(raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValueError(f"{key}: expected true or false")
    return value


def _number(raw: Mapping[str, Any], key: str, prefix: str, default: float) -> float:
    value = raw.get(key)
    if value is None:
        return default
    # bool is an int in Python but never a number in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{prefix}{key}: expected a finite number")
    return float(value)


@dataclass(frozen=True, slots=True)
class MetricClassification:
    """One metric's verdict, with what Kayenta reports beside it.

    ``reason`` is None for a plain Pass, as in Kayenta. ``result_metadata`` always holds
    ``ratio`` (mean experiment / mean control; None when undefined, 1.0 when no test ran,
    as Kayenta reports it); after a Mann-Whitney test it also holds ``lower``, ``upper``,
    ``estimate``, ``p_value``, ``tolerance`` and ``confidence``. ``error_fails`` is True
    for an ``Error`` when the caller asked errors to fail the canary (§9); the
    classification itself stays ``Error`` so the report still says what happened.
    """

    classification: Classification
    reason: str | None
    critical: bool
    result_metadata: dict[str, float | None]
    control_stats: dict[str, float]
    experiment_stats: dict[str, float]
    warnings: tuple[str, ...] = ()
    error_fails: bool = False


@dataclass(frozen=True, slots=True)
class _Verdict:
    classification: Classification
    reason: str | None
    critical: bool = False
    metadata: dict[str, float | None] = field(default_factory=lambda: {"ratio": 1.0})


def classify(
    name: str,
    control: Floats,
    experiment: Floats,
    settings: MetricSettings,
    *,
    tolerance: float = 0.25,
    confidence: float = 0.98,
    rng: np.random.Generator | None = None,
    fail_on_error: bool = False,
) -> MetricClassification:
    """Kayenta's verdict on ``experiment`` (canary) against ``control`` (baseline) for metric ``name``.

    ``control`` and ``experiment`` are the raw series (NaN allowed). ``tolerance`` and
    ``confidence`` default to Kayenta's production constants (its unit tests use 0.10
    and 0.95). ``rng`` draws the noise added when both sides are constant; by default a
    generator seeded with the CRC-32 of ``name``. Never raises for bad data: failures
    become ``Error``.
    """
    control = np.asarray(control, dtype=np.float64)
    experiment = np.asarray(experiment, dtype=np.float64)
    steps = (settings.nan_strategy, settings.outlier_strategy, settings.outlier_factor)
    y = preprocess(control, *steps)
    x = preprocess(experiment, *steps)
    try:
        verdict = _verdict(name, x, y, settings, tolerance, confidence, rng)
    except Exception:
        # Kayenta turns any failure of one metric into Error rather than failing the judgement.
        verdict = _Verdict("Error", "Metric Classification Failed", metadata={"ratio": None})
    return MetricClassification(
        classification=verdict.classification,
        reason=verdict.reason,
        critical=verdict.critical,
        result_metadata=verdict.metadata,
        control_stats=summary(y).as_dict(),
        experiment_stats=summary(x).as_dict(),
        warnings=_warnings(control, experiment, y),
        error_fails=fail_on_error and verdict.classification == "Error",
    )


def _verdict(
    name: str,
    x: Floats,
    y: Floats,
    settings: MetricSettings,
    tolerance: float,
    confidence: float,
    rng: np.random.Generator | None,
) -> _Verdict:
    """Rules 1–5 of §4 on the preprocessed experiment ``x`` and control ``y``."""
    if x.size == 0 or y.size == 0:
        if settings.nan_strategy == "replace":
            return _Verdict("Pass", None)
        reason = f"Missing data for {name}"
        if settings.must_have_data and not settings.critical:
            return _Verdict("NodataFailMetric", reason)
        return _Verdict("Nodata", reason, settings.critical)
    if np.array_equal(np.sort(x), np.sort(y)):
        return _Verdict("Pass", "The Canary and Baseline data are identical")
    if np.unique(np.concatenate((x, y))).size == 1:
        return _Verdict("Pass", None)
    if _constant(x) and _constant(y):
        # Two different constants tie every rank; tiny noise lets the rank test separate them.
        noise = rng if rng is not None else np.random.default_rng(zlib.crc32(name.encode()))
        x = x + noise.standard_normal(x.size) * (x[0] * _NOISE_SCALE)
        y = y + noise.standard_normal(y.size) * (y[0] * _NOISE_SCALE)
    test = mann_whitney(x, y, confidence)
    # Like Kayenta, on the samples as tested (with any noise): two constants' ratio moves by ~1e-5.
    ratio = _mean_ratio(x, y)
    effect = cles(x, y) if settings.effect_measure == "cles" else ratio
    bound = tolerance * abs(test.estimate)
    metadata: dict[str, float | None] = {
        "ratio": None if math.isnan(ratio) else ratio,
        "lower": test.lower,
        "upper": test.upper,
        "estimate": test.estimate,
        "p_value": test.p_value,
        "tolerance": tolerance,
        "confidence": confidence,
    }
    # An undefined effect (a zero mean) cannot veto a significant shift.
    undefined = math.isnan(effect)
    if (
        settings.direction in ("increase", "either")
        and test.lower > bound
        and (undefined or effect >= settings.allowed_increase)
    ):
        critical = settings.critical and (undefined or effect >= settings.critical_increase)
        return _Verdict("High", _shift_reason(name, "High", critical), critical, metadata)
    if (
        settings.direction in ("decrease", "either")
        and test.upper < -bound
        and (undefined or effect <= settings.allowed_decrease)
    ):
        critical = settings.critical and (undefined or effect <= settings.critical_decrease)
        return _Verdict("Low", _shift_reason(name, "Low", critical), critical, metadata)
    return _Verdict("Pass", None, False, metadata)


def _constant(values: Floats) -> bool:
    return bool(values.min() == values.max())


def _mean_ratio(x: Floats, y: Floats) -> float:
    """mean(x) / mean(y), NaN when either mean is 0 (Kayenta's ``EffectSizes.meanRatio``)."""
    experiment_mean, control_mean = float(np.mean(x)), float(np.mean(y))
    if experiment_mean == 0.0 or control_mean == 0.0:
        return math.nan
    return experiment_mean / control_mean


def _shift_reason(name: str, label: str, critical: bool) -> str:
    # Kayenta's wording for each case.
    if critical:
        return f"The metric {name} was classified as {label} (Critical)"
    return f"{name} was classified as {label}"


def _warnings(control: Floats, experiment: Floats, compared_control: Floats) -> tuple[str, ...]:
    """§9: a side that was all NaN, and a control too small for the rank test to be trusted."""
    found = []
    for side, values in (("control", control), ("experiment", experiment)):
        if values.size and bool(np.isnan(values).all()):
            found.append(f"the {side} values are all NaN")
    if compared_control.size < MIN_CONTROL_POINTS:
        found.append(
            f"the control has {compared_control.size} points after preprocessing, "
            f"fewer than {MIN_CONTROL_POINTS}: the verdict has little statistical power"
        )
    return tuple(found)
