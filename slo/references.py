"""Cross-document checks after loading: references resolve, Atlas queries parse.

A reference may point at a document of the same text or of the context (the other files
of the SLO folder, the SLOs already stored). Problems are recorded on the referring
document's checker, at the field that holds the reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from slo.model import SLI, SLO, AlertPolicy, MetricSource
from slo.problems import Checker, join
from stacklang import StackLangError, parse

__all__ = ["KnownNames", "check_policy", "check_sli", "check_slo"]


@dataclass(slots=True)
class KnownNames:
    """Names a reference may resolve to, by kind; ``composites`` are SLOs that are composite."""

    slos: set[str] = field(default_factory=set)
    composites: set[str] = field(default_factory=set)
    policies: set[str] = field(default_factory=set)
    conditions: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)
    data_sources: set[str] = field(default_factory=set)


def _sources(sli: SLI) -> Iterator[tuple[str, MetricSource]]:
    """Each metric source of ``sli`` with its path below the SLI spec."""
    if sli.ratio_metric is not None:
        ratio = sli.ratio_metric
        for part, source in (("good", ratio.good), ("bad", ratio.bad), ("total", ratio.total)):
            if source is not None:
                yield f"ratioMetric.{part}.metricSource", source
    if sli.threshold_metric is not None:
        yield "thresholdMetric.metricSource", sli.threshold_metric.metric_source


def check_sli(check: Checker, sli: SLI, path: str, known: KnownNames) -> None:
    """Metric source references resolve and Atlas queries parse; ``path`` is the SLI spec's path."""
    for where, source in _sources(sli):
        at = join(path, where)
        ref = source.metric_source_ref
        if ref is not None and ref not in known.data_sources:
            check.fail(join(at, "metricSourceRef"), f"unknown DataSource {ref!r}")
        if source.type != "atlas":
            continue
        try:
            parse(source.query)
        except StackLangError as exc:
            check.fail(join(at, "spec.query"), f"stack language: {exc}")


def check_slo(check: Checker, slo: SLO, inline_indicator: bool, known: KnownNames) -> None:
    """Alert policies and composite components resolve; an inline indicator is checked too."""
    if slo.indicator is not None and inline_indicator:
        check_sli(check, slo.indicator, "spec.indicator.spec", known)
    for i, policy in enumerate(slo.alert_policies):
        if policy not in known.policies:
            check.fail(f"spec.alertPolicies[{i}]", f"unknown AlertPolicy {policy!r}")
    for i, component in enumerate(slo.components):
        at = f"spec.watchfloor.composite.components[{i}].slo"
        if component.slo not in known.slos:
            check.fail(at, f"unknown SLO {component.slo!r}")
        elif component.slo in known.composites:
            check.fail(at, f"SLO {component.slo!r} is itself composite (composites do not nest)")


def check_policy(check: Checker, policy: AlertPolicy, known: KnownNames) -> None:
    """Conditions and notification targets of an alert policy resolve."""
    for i, condition in enumerate(policy.conditions):
        if condition not in known.conditions:
            check.fail(f"spec.conditions[{i}].conditionRef", f"unknown AlertCondition {condition!r}")
    for i, target in enumerate(policy.notification_targets):
        if target not in known.targets:
            check.fail(
                f"spec.notificationTargets[{i}].targetRef", f"unknown AlertNotificationTarget {target!r}"
            )
