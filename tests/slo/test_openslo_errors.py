"""Validation errors across documents and kinds name the document, the field path and the reason."""

from __future__ import annotations

import pytest

from slo.openslo import load_catalog
from slo.problems import Problem, ValidationError
from tests.slo.support import MISSING, SLI_DOC, SLO_DOC, SOURCE
from tests.slo.support import problems_of as _problems
from tests.slo.support import with_field as _with

INLINE = "spec.indicator.spec"


def test_timeslices_need_a_time_slice_target():
    doc = _with(SLO_DOC, "spec.budgetingMethod", "Timeslices")
    doc = _with(doc, "spec.objectives.0", {"target": 0.99, "timeSliceWindow": "5m"})
    assert _problems(doc) == (Problem("SLO/avail", "spec.objectives[0].timeSliceTarget", "missing"),)


def test_unknown_indicator_ref_names_the_reference():
    doc = _with(_with(SLO_DOC, "spec.indicator", MISSING), "spec.indicatorRef", "nope")
    assert _problems(doc) == (Problem("SLO/avail", "spec.indicatorRef", "unknown SLI 'nope'"),)


def test_threshold_metric_objectives_need_op_and_value():
    doc = _with(SLO_DOC, f"{INLINE}", {"thresholdMetric": SOURCE})
    paths = {p.path for p in _problems(doc)}
    assert paths == {"spec.objectives[0].op", "spec.objectives[0].value"}


def test_problems_in_a_standalone_sli_name_the_sli():
    doc = _with(SLI_DOC, "spec.ratioMetric.total.metricSource.spec", {"query": ""})
    assert _problems(doc) == (
        Problem(
            "SLI/ok",
            "spec.ratioMetric.total.metricSource.spec.query",
            "must not be empty",
        ),
    )


def test_every_problem_of_every_document_is_reported():
    bad_slo = _with(_with(SLO_DOC, "spec.budgetingMethod", "Events"), "spec.objectives.0.target", 2)
    bad_sli = _with(SLI_DOC, "spec.ratioMetric.good.metricSource.type", "graphite")
    problems = _problems(bad_sli, bad_slo)
    assert [(p.document, p.path) for p in problems] == [
        ("SLI/ok", "spec.ratioMetric.good.metricSource.type"),
        ("SLO/avail", "spec.budgetingMethod"),
        ("SLO/avail", "spec.objectives[0].target"),
    ]


def test_duplicate_names_of_one_kind_are_refused():
    problems = _problems(SLI_DOC, SLI_DOC)
    assert problems == (Problem("SLI/ok", "metadata.name", "another SLI is also named 'ok'"),)


def test_invalid_yaml_is_a_validation_error():
    with pytest.raises(ValidationError, match="invalid YAML"):
        load_catalog("kind: [unclosed")


def test_a_document_that_is_not_a_mapping_is_named_by_position():
    assert _problems(SLI_DOC, ["a", "list"]) == (Problem("document 2", "", "expected a mapping, got a list"),)


@pytest.mark.parametrize(
    ("doc", "field", "reason"),
    [
        pytest.param(
            {"kind": "DataSource", "spec": {}}, "spec.type", "missing", id="a data source needs a type"
        ),
        pytest.param(
            {"kind": "AlertNotificationTarget", "spec": {}},
            "spec.target",
            "missing",
            id="a notification target needs a target",
        ),
        pytest.param(
            {"kind": "AlertPolicy", "spec": {"conditions": ["fast-burn"]}},
            "spec.conditions[0]",
            "expected {conditionRef: name}",
            id="an alert policy refers to conditions by conditionRef",
        ),
        pytest.param(
            {
                "kind": "AlertCondition",
                "spec": {
                    "severity": "page",
                    "condition": {"kind": "burnrate", "threshold": 0, "lookbackWindow": "1h"},
                },
            },
            "spec.condition.threshold",
            "not above 0",
            id="a burn-rate condition needs a positive threshold",
        ),
        pytest.param(
            {
                "kind": "AlertCondition",
                "spec": {
                    "severity": "page",
                    "condition": {"kind": "burnrate", "threshold": 14.4, "lookbackWindow": "1 hour"},
                },
            },
            "spec.condition.lookbackWindow",
            "invalid duration '1 hour'",
            id="a burn-rate condition needs an OpenSLO lookback window",
        ),
    ],
)
def test_other_kinds(doc, field, reason):
    full = {"apiVersion": "openslo/v1", "metadata": {"name": "x"}, **doc}
    problems = _problems(full)
    assert [(p.document, p.path) for p in problems] == [(f"{doc['kind']}/x", field)]
    assert reason in problems[0].reason


def test_a_problem_reads_as_document_path_and_reason():
    assert str(Problem("SLO/avail", "spec.objectives[0].target", "2 is outside (0, 1)")) == (
        "SLO/avail: spec.objectives[0].target: 2 is outside (0, 1)"
    )


def test_a_reference_to_an_invalid_sli_says_so_rather_than_unknown():
    bad_sli = _with(SLI_DOC, "spec.ratioMetric.good", MISSING)
    slo = _with(_with(SLO_DOC, "spec.indicator", MISSING), "spec.indicatorRef", "ok")
    assert _problems(bad_sli, slo) == (
        Problem("SLI/ok", "spec.ratioMetric", "needs exactly one of good and bad"),
        Problem("SLO/avail", "spec.indicatorRef", "SLI 'ok' is invalid (see its own problems)"),
    )
