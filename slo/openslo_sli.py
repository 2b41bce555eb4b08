"""Reading OpenSLO SLI specs: ``ratioMetric`` / ``thresholdMetric`` and their metric sources.

Used for standalone ``SLI`` documents and for an SLO's inline ``indicator``; problems are
recorded on the caller's :class:`~slo.problems.Checker` with paths under ``path``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slo.model import SLI, MetricSource, RatioMetric, ThresholdMetric
from slo.problems import Checker, join

__all__ = ["METRIC_SOURCE_TYPES", "read_sli_spec"]

# atlas: a stack-language expression; prometheus: PromQL for the Prometheus backend.
METRIC_SOURCE_TYPES = ("atlas", "prometheus")


def _read_metric_source(check: Checker, holder: object, path: str) -> MetricSource | None:
    """``{metricSource: {metricSourceRef?, type, spec: {query}}}`` at ``path``."""
    outer = check.mapping(holder, path)
    if outer is None:
        return None
    where = join(path, "metricSource")
    source = check.mapping(outer.get("metricSource"), where)
    if source is None:
        return None
    kind = check.string(source, "type", where)
    if kind is not None and kind not in METRIC_SOURCE_TYPES:
        check.fail(
            join(where, "type"), f"unknown type {kind!r} (expected one of {', '.join(METRIC_SOURCE_TYPES)})"
        )
        kind = None
    ref = check.string(source, "metricSourceRef", where, required=False)
    spec = check.mapping(source.get("spec"), join(where, "spec"))
    query = None if spec is None else check.string(spec, "query", join(where, "spec"))
    if kind is None or query is None:
        return None
    return MetricSource(type=kind, query=query, metric_source_ref=ref)


def _read_ratio(check: Checker, value: object, path: str) -> RatioMetric | None:
    ratio = check.mapping(value, path)
    if ratio is None:
        return None
    counter = ratio.get("counter", True)
    if not isinstance(counter, bool):
        check.fail(join(path, "counter"), "expected true or false")
    has_good, has_bad = "good" in ratio, "bad" in ratio
    if has_good == has_bad:
        check.fail(path, "needs exactly one of good and bad")
    good = _read_metric_source(check, ratio["good"], join(path, "good")) if has_good else None
    bad = _read_metric_source(check, ratio["bad"], join(path, "bad")) if has_bad else None
    total = _read_metric_source(check, ratio.get("total"), join(path, "total"))
    if total is None or has_good == has_bad or (good is None and bad is None):
        return None
    return RatioMetric(total=total, good=good, bad=bad, counter=counter is True)


def read_sli_spec(check: Checker, spec: Mapping[str, Any], path: str, name: str) -> SLI | None:
    """An :class:`SLI` named ``name`` from ``spec`` (at ``path``), or None after recording problems."""
    has_ratio, has_threshold = "ratioMetric" in spec, "thresholdMetric" in spec
    if has_ratio == has_threshold:
        check.fail(path, "needs exactly one of ratioMetric and thresholdMetric")
        return None
    if has_ratio:
        ratio = _read_ratio(check, spec["ratioMetric"], join(path, "ratioMetric"))
        return None if ratio is None else SLI(name=name, ratio_metric=ratio)
    source = _read_metric_source(check, spec["thresholdMetric"], join(path, "thresholdMetric"))
    return None if source is None else SLI(name=name, threshold_metric=ThresholdMetric(source))
