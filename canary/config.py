"""Kayenta canary configs (canary-judge.md §6): JSON validated into frozen dataclasses.

Top level: ``name``, ``description``, ``configVersion``, ``applications``, ``judge``
``{name, judgeConfigurations}``, ``metrics[]``, ``templates``, ``classifier``
``{groupWeights, scoreThresholds}``. Each metric: ``name``, ``query``, ``groups[]``,
``scopeName``, ``analysisConfigurations.canary`` (read by
:meth:`canary.classifier.MetricSettings.from_kayenta`).

Query types:

- ``atlas``: ``{"type": "atlas", "q": "<stack-language expression>"}``, evaluated once per
  scope (the scope's tags are added to every query of the expression);
- ``spans``: ``{"type": "spans", "service", "operation"?, "statistic"}`` with statistic
  ``p50``, ``p90``, ``p95``, ``p99``, ``mean`` (latency, seconds) or ``errorRate``;
- ``logs``: ``{"type": "logs", "service"?, "level"? (default error), "text"?}``: log lines
  per second matching;
- ``prometheus``: ``{"type": "prometheus", "q": "<PromQL>"}`` on the Prometheus metrics
  backend, as Kayenta's Prometheus inline templates: ``${scope}`` stands for the scope's
  value (``nf_cluster="${scope}"``) and must appear, ``${step}`` for the step as a duration.

Judge settings (``judge.judgeConfigurations``): ``tolerance`` (default 0.25) and
``confidenceLevel`` (0.98), Kayenta's production values; ``failOnError`` (false).
Every problem is reported with its field path (``metrics[2].query.q``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from canary.classifier import MetricSettings
from stacklang import StackLangError, parse

__all__ = ["JUDGE_NAME", "CanaryConfig", "CanaryMetric", "ConfigError", "MetricQuery", "load_canary_config"]

JUDGE_NAME = "NetflixACAJudge-v1.0"
SPAN_STATISTICS = ("p50", "p90", "p95", "p99", "mean", "errorRate")
QUERY_TYPES = ("atlas", "spans", "logs", "prometheus")
SCOPE_PLACEHOLDER = "${scope}"


class ConfigError(ValueError):
    """A canary config that cannot be used; ``problems`` lists (field path, reason)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {reason}" for path, reason in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """Where a metric's values come from; the fields used depend on ``type``."""

    type: str
    q: str | None = None
    service: str | None = None
    operation: str | None = None
    statistic: str | None = None
    level: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class CanaryMetric:
    name: str
    query: MetricQuery
    groups: tuple[str, ...]
    settings: MetricSettings
    scope_name: str = "default"


@dataclass(frozen=True, slots=True)
class CanaryConfig:
    name: str
    metrics: tuple[CanaryMetric, ...]
    description: str = ""
    config_version: str = "1"
    applications: tuple[str, ...] = ()
    group_weights: Mapping[str, float] = field(default_factory=dict)
    tolerance: float = 0.25
    confidence: float = 0.98
    fail_on_error: bool = False
    score_thresholds: tuple[float, float] | None = None  # (pass, marginal) when configured
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


class _Reader:
    """Collects problems with their paths; accessors answer None for unusable fields."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def fail(self, path: str, reason: str) -> None:
        self.problems.append((path, reason))

    def text(self, body: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str | None:
        value = body.get(key)
        if value is None:
            if required:
                self.fail(f"{path}{key}", "missing")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(f"{path}{key}", "expected a non-empty string")
            return None
        return value

    def number(self, body: Mapping[str, Any], key: str, path: str, low: float, high: float) -> float | None:
        value = body.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.fail(f"{path}{key}", "expected a number")
            return None
        if not low <= value <= high:
            self.fail(f"{path}{key}", f"{value} is outside [{low}, {high}]")
            return None
        return float(value)


def _query(reader: _Reader, raw: object, path: str) -> MetricQuery | None:
    if not isinstance(raw, Mapping):
        reader.fail(path, "expected an object")
        return None
    kind = raw.get("type")
    if kind not in QUERY_TYPES:
        reader.fail(f"{path}.type", f"expected one of {', '.join(QUERY_TYPES)}")
        return None
    if kind == "atlas":
        q = reader.text(raw, "q", f"{path}.", required=True)
        if q is not None:
            try:
                parse(q)
            except StackLangError as exc:
                reader.fail(f"{path}.q", f"stack language: {exc}")
                return None
        return None if q is None else MetricQuery("atlas", q=q)
    if kind == "prometheus":
        q = reader.text(raw, "q", f"{path}.", required=True)
        if q is not None and SCOPE_PLACEHOLDER not in q:
            # Without it both scopes would read the same series and always pass.
            reader.fail(
                f"{path}.q", f"PromQL must hold {SCOPE_PLACEHOLDER} where the scope's label value goes"
            )
            return None
        return None if q is None else MetricQuery("prometheus", q=q)
    if kind == "spans":
        service = reader.text(raw, "service", f"{path}.", required=True)
        statistic = raw.get("statistic")
        if statistic not in SPAN_STATISTICS:
            reader.fail(f"{path}.statistic", f"expected one of {', '.join(SPAN_STATISTICS)}")
            return None
        operation = reader.text(raw, "operation", f"{path}.")
        return (
            None
            if service is None
            else MetricQuery("spans", service=service, operation=operation, statistic=statistic)
        )
    level = reader.text(raw, "level", f"{path}.") or "error"
    return MetricQuery(
        "logs",
        service=reader.text(raw, "service", f"{path}."),
        level=level,
        text=reader.text(raw, "text", f"{path}."),
    )


def _metric(reader: _Reader, raw: object, path: str) -> CanaryMetric | None:
    if not isinstance(raw, Mapping):
        reader.fail(path, "expected an object")
        return None
    name = reader.text(raw, "name", f"{path}.", required=True)
    query = _query(reader, raw.get("query"), f"{path}.query")
    groups = raw.get("groups")
    if not isinstance(groups, list) or not groups or not all(isinstance(g, str) and g for g in groups):
        reader.fail(f"{path}.groups", "expected a non-empty list of group names")
        groups = None
    analysis = raw.get("analysisConfigurations", {})
    canary = analysis.get("canary", {}) if isinstance(analysis, Mapping) else None
    where = f"{path}.analysisConfigurations.canary"
    if not isinstance(canary, Mapping):
        reader.fail(where, "expected an object")
        return None
    try:
        settings = MetricSettings.from_kayenta(canary)
    except ValueError as exc:
        reader.fail(where, str(exc))
        return None
    scope = reader.text(raw, "scopeName", f"{path}.") or "default"
    if name is None or query is None or groups is None:
        return None
    return CanaryMetric(name, query, tuple(groups), settings, scope)


def load_canary_config(raw: object) -> CanaryConfig:
    """A :class:`CanaryConfig` from parsed JSON; raises :class:`ConfigError` listing every problem."""
    reader = _Reader()
    if not isinstance(raw, Mapping):
        raise ConfigError([("", "a canary config is a JSON object")])
    name = reader.text(raw, "name", "", required=True)
    judge = raw.get("judge", {}) or {}
    judge_name = judge.get("name", JUDGE_NAME) if isinstance(judge, Mapping) else None
    if judge_name != JUDGE_NAME:
        reader.fail("judge.name", f"only {JUDGE_NAME} is supported")
    settings = judge.get("judgeConfigurations", {}) if isinstance(judge, Mapping) else {}
    settings = settings if isinstance(settings, Mapping) else {}
    tolerance = reader.number(settings, "tolerance", "judge.judgeConfigurations.", 0.0, 10.0)
    confidence = reader.number(settings, "confidenceLevel", "judge.judgeConfigurations.", 0.5, 0.999999)
    fail_on_error = settings.get("failOnError", False)
    if not isinstance(fail_on_error, bool):
        reader.fail("judge.judgeConfigurations.failOnError", "expected true or false")
    metrics_raw = raw.get("metrics")
    metrics: list[CanaryMetric] = []
    if not isinstance(metrics_raw, list) or not metrics_raw:
        reader.fail("metrics", "expected a non-empty list")
    else:
        for i, item in enumerate(metrics_raw):
            metric = _metric(reader, item, f"metrics[{i}]")
            if metric is not None and any(m.name == metric.name for m in metrics):
                reader.fail(f"metrics[{i}].name", f"another metric is also named {metric.name!r}")
            elif metric is not None:
                metrics.append(metric)
    classifier = raw.get("classifier", {}) or {}
    weights: dict[str, float] = {}
    raw_weights = classifier.get("groupWeights", {}) if isinstance(classifier, Mapping) else None
    if not isinstance(raw_weights, Mapping):
        reader.fail("classifier.groupWeights", "expected an object of group: weight")
    else:
        for group, weight in raw_weights.items():
            checked = reader.number({group: weight}, group, "classifier.groupWeights.", 0.0, 100.0)
            if checked is not None:
                weights[str(group)] = checked
    thresholds = None
    raw_thresholds = classifier.get("scoreThresholds") if isinstance(classifier, Mapping) else None
    if isinstance(raw_thresholds, Mapping):
        high = reader.number(raw_thresholds, "pass", "classifier.scoreThresholds.", 0.0, 100.0)
        low = reader.number(raw_thresholds, "marginal", "classifier.scoreThresholds.", 0.0, 100.0)
        if high is not None and low is not None:
            thresholds = (high, low)
    if reader.problems or name is None:
        raise ConfigError(reader.problems)
    applications = raw.get("applications", [])
    return CanaryConfig(
        name=name,
        metrics=tuple(metrics),
        description=str(raw.get("description") or ""),
        config_version=str(raw.get("configVersion") or "1"),
        applications=tuple(a for a in applications if isinstance(a, str))
        if isinstance(applications, list)
        else (),
        group_weights=weights,
        tolerance=0.25 if tolerance is None else tolerance,
        confidence=0.98 if confidence is None else confidence,
        fail_on_error=fail_on_error is True,
        score_thresholds=thresholds,
        raw=dict(raw),
    )
