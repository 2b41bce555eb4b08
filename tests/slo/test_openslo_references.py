"""References between documents: inline alerting documents, unresolved names, context from elsewhere."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from slo.openslo import load_catalog
from slo.problems import ValidationError
from tests.slo.support import SLO_DOC

INLINE_POLICY: dict[str, Any] = {
    "kind": "AlertPolicy",
    "metadata": {"name": "page-fast"},
    "spec": {
        "conditions": [
            {
                "kind": "AlertCondition",
                "metadata": {"name": "burn-14"},
                "spec": {
                    "severity": "page",
                    "condition": {"kind": "burnrate", "threshold": 14.4, "lookbackWindow": "1h"},
                },
            }
        ],
        "notificationTargets": [
            {
                "kind": "AlertNotificationTarget",
                "metadata": {"name": "pager"},
                "spec": {"target": "pagerduty"},
            }
        ],
    },
}


def slo_with(policies):
    doc: dict[str, Any] = copy.deepcopy(SLO_DOC)
    doc["spec"]["alertPolicies"] = policies
    return doc


def problems(*docs, context=None):
    with pytest.raises(ValidationError) as caught:
        load_catalog(yaml.safe_dump_all(docs), context=context)
    return [(p.document, p.path, p.reason) for p in caught.value.problems]


def test_an_inline_policy_with_inline_condition_and_target_joins_the_catalog():
    catalog = load_catalog(yaml.safe_dump(slo_with([INLINE_POLICY])))
    [slo] = catalog.slos
    assert slo.alert_policies == ("page-fast",)
    [policy] = catalog.alert_policies
    assert (policy.name, policy.conditions, policy.notification_targets) == (
        "page-fast",
        ("burn-14",),
        ("pager",),
    )
    [condition] = catalog.alert_conditions
    assert (condition.name, condition.severity, condition.threshold) == ("burn-14", "page", 14.4)
    assert [(t.name, t.target) for t in catalog.notification_targets] == [("pager", "pagerduty")]


def test_a_problem_inside_an_inline_condition_is_named_at_its_path():
    broken = copy.deepcopy(INLINE_POLICY)
    broken["spec"]["conditions"][0]["spec"]["condition"]["threshold"] = 0
    assert problems(slo_with([broken])) == [
        (
            "SLO/avail",
            "spec.alertPolicies[0].spec.conditions[0].spec.condition.threshold",
            "0.0 is not above 0",
        )
    ]


def test_policy_refs_resolve_in_the_context_and_unknown_ones_are_named():
    text = yaml.safe_dump(slo_with([{"alertPolicyRef": "page-fast"}]))
    assert problems(slo_with([{"alertPolicyRef": "page-fast"}])) == [
        ("SLO/avail", "spec.alertPolicies[0]", "unknown AlertPolicy 'page-fast'")
    ]
    context = load_catalog(yaml.safe_dump({"apiVersion": "openslo/v1", **INLINE_POLICY}))
    assert load_catalog(text, context=context).slos[0].alert_policies == ("page-fast",)


def test_an_inline_document_may_not_take_a_name_already_used():
    standalone = {"apiVersion": "openslo/v1", **copy.deepcopy(INLINE_POLICY)}
    found = problems(standalone, slo_with([INLINE_POLICY]))
    assert ("SLO/avail", "spec", "an inline AlertPolicy is named 'page-fast' like another document") in found


def test_a_metric_source_ref_needs_its_data_source():
    doc: dict[str, Any] = copy.deepcopy(SLO_DOC)
    doc["spec"]["indicator"]["spec"]["ratioMetric"]["good"]["metricSource"]["metricSourceRef"] = "atlas-main"
    assert problems(doc) == [
        (
            "SLO/avail",
            "spec.indicator.spec.ratioMetric.good.metricSource.metricSourceRef",
            "unknown DataSource 'atlas-main'",
        )
    ]
    source = {
        "apiVersion": "openslo/v1",
        "kind": "DataSource",
        "metadata": {"name": "atlas-main"},
        "spec": {"type": "atlas"},
    }
    assert load_catalog(yaml.safe_dump_all([source, doc])).slos


def test_composites_name_plain_slos_only():
    composite: dict[str, Any] = copy.deepcopy(SLO_DOC)
    composite["metadata"]["name"] = "journey"
    del composite["spec"]["indicator"]
    composite["spec"]["watchfloor"] = {"composite": {"components": [{"slo": "avail", "weight": 2}]}}
    catalog = load_catalog(yaml.safe_dump_all([SLO_DOC, composite]))
    [journey] = [s for s in catalog.slos if s.name == "journey"]
    assert journey.indicator is None and [(c.slo, c.weight) for c in journey.components] == [("avail", 2.0)]
    nested = copy.deepcopy(composite)
    nested["metadata"]["name"] = "outer"
    nested["spec"]["watchfloor"]["composite"]["components"] = [{"slo": "journey"}]
    assert problems(nested, context=catalog) == [
        (
            "SLO/outer",
            "spec.watchfloor.composite.components[0].slo",
            "SLO 'journey' is itself composite (composites do not nest)",
        )
    ]
    both = copy.deepcopy(composite)
    both["spec"]["indicator"] = SLO_DOC["spec"]["indicator"]
    assert (
        "SLO/journey",
        "spec",
        "a composite SLO (spec.watchfloor.composite) has no indicator of its own",
    ) in problems(SLO_DOC, both)
    assert problems(composite) == [
        ("SLO/journey", "spec.watchfloor.composite.components[0].slo", "unknown SLO 'avail'")
    ]
