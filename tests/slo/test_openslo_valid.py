"""Loading a valid multi-document OpenSLO file: every kind, inline indicators and indicatorRef."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from slo.durations import Duration
from slo.model import SLI, Exclusion, MetricSource, RatioMetric, ThresholdMetric
from slo.openslo import load_catalog

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog((DATA / "playback.yaml").read_text(encoding="utf-8"))


def test_every_kind_is_loaded_in_document_order(catalog):
    assert [s.name for s in catalog.slos] == ["playback-start-availability", "playback-start-latency"]
    assert [s.name for s in catalog.slis] == ["playback-start-fast"]
    assert [s.name for s in catalog.services] == ["playback"]
    assert [(d.name, d.type) for d in catalog.data_sources] == [("fleet-prometheus", "prometheus")]
    assert [(t.name, t.target) for t in catalog.notification_targets] == [("oncall", "slack")]
    [policy] = catalog.alert_policies
    assert (policy.conditions, policy.notification_targets) == (("fast-burn",), ("oncall",))
    [condition] = catalog.alert_conditions
    assert (condition.severity, condition.threshold, condition.lookback_window) == (
        "page",
        14.4,
        Duration(1, "h"),
    )


def test_the_inline_indicator_of_the_spec_example(catalog):
    slo = catalog.slos[0]
    assert slo.service == "playback"
    assert slo.budgeting_method == "Occurrences"
    assert slo.time_window.is_rolling and slo.time_window.duration == Duration(28, "d")
    assert [o.target for o in slo.objectives] == [0.999]
    assert slo.alert_policies == ("playback-page",)
    assert slo.indicator.name == "playback-start-ok"
    ratio = slo.indicator.ratio_metric
    assert ratio is not None and ratio.bad is None and ratio.good is not None
    assert ratio.total == MetricSource("atlas", "name,playback.starts,:eq,:sum")
    assert (slo.windows, slo.min_events, slo.exclusions) == (None, 0, ())


def test_indicator_ref_resolves_to_an_sli_defined_later(catalog):
    slo = catalog.slos[1]
    assert slo.indicator is catalog.slis[0]
    ratio = slo.indicator.ratio_metric
    assert ratio is not None and ratio.good is None and ratio.bad is not None
    assert ratio.total.metric_source_ref == "fleet-prometheus"


def test_calendar_window_timeslices_and_percent_target(catalog):
    slo = catalog.slos[1]
    window = slo.time_window
    assert (window.is_rolling, window.duration, window.start, window.time_zone) == (
        False,
        Duration(1, "M"),
        datetime(2026, 1, 1),
        "Europe/Amsterdam",
    )
    [objective] = slo.objectives
    assert objective.target == pytest.approx(0.99)
    assert (objective.time_slice_target, objective.time_slice_window) == (0.95, Duration(5, "m"))


def test_watchfloor_extensions(catalog):
    slo = catalog.slos[1]
    assert slo.min_events == 50
    [pair] = slo.windows
    # A calendar month scales as 30 days: 2 % of 720 h spent in 1 h is a burn of 14.4.
    assert (pair.severity, pair.long, pair.short, pair.threshold) == (
        "page",
        timedelta(hours=1),
        timedelta(minutes=5),
        pytest.approx(14.4),
    )
    assert slo.exclusions == (Exclusion(datetime(2026, 1, 6, 2), timedelta(hours=1), timedelta(weeks=1)),)


def test_indicator_ref_resolves_against_known_slis():
    known = SLI("errors", threshold_metric=ThresholdMetric(MetricSource("atlas", "name,errors,:eq,:sum")))
    text = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: error-count}
spec:
  service: drm
  indicatorRef: errors
  timeWindow: [{duration: 7d, isRolling: true}]
  budgetingMethod: RatioTimeslices
  objectives: [{target: 0.99, op: lt, value: 5, timeSliceWindow: 1m}]
"""
    [slo] = load_catalog(text, known_slis={"errors": known}).slos
    assert slo.indicator is known
    assert (slo.objectives[0].op, slo.objectives[0].value) == ("lt", 5.0)


def test_empty_documents_are_skipped():
    assert load_catalog("---\n---\n") == load_catalog("")


def test_ratio_metric_defaults_to_counters():
    text = """
apiVersion: openslo/v1
kind: SLI
metadata: {name: plain}
spec:
  ratioMetric:
    good: {metricSource: {type: atlas, spec: {query: "name,ok,:eq"}}}
    total: {metricSource: {type: atlas, spec: {query: "name,all,:eq"}}}
"""
    [sli] = load_catalog(text).slis
    assert sli.ratio_metric == RatioMetric(
        total=MetricSource("atlas", "name,all,:eq"), good=MetricSource("atlas", "name,ok,:eq")
    )
