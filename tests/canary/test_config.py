"""Kayenta canary configs: a valid one read field by field, and every bad field named."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from canary.config import ConfigError, load_canary_config

CONFIG: dict[str, Any] = {
    "name": "drm-canary",
    "description": "DRM license service",
    "configVersion": "1",
    "applications": ["drm"],
    "judge": {
        "name": "NetflixACAJudge-v1.0",
        "judgeConfigurations": {"tolerance": 0.1, "confidenceLevel": 0.95},
    },
    "metrics": [
        {
            "name": "license errors",
            "query": {"type": "atlas", "q": "name,http_server_requests,:eq,status_class,5xx,:eq,:and,:sum"},
            "groups": ["errors"],
            "scopeName": "default",
            "analysisConfigurations": {"canary": {"direction": "increase", "critical": True}},
        },
        {
            "name": "license p99",
            "query": {"type": "spans", "service": "drm", "operation": "POST /license", "statistic": "p99"},
            "groups": ["latency"],
            "analysisConfigurations": {"canary": {"direction": "increase"}},
        },
        {"name": "error logs", "query": {"type": "logs", "service": "drm"}, "groups": ["errors"]},
    ],
    "classifier": {"groupWeights": {"errors": 60, "latency": 40}},
}


def test_a_valid_config_is_read_field_by_field():
    config = load_canary_config(CONFIG)
    assert (config.name, config.tolerance, config.confidence, config.fail_on_error) == (
        "drm-canary",
        0.1,
        0.95,
        False,
    )
    assert [m.name for m in config.metrics] == ["license errors", "license p99", "error logs"]
    errors, p99, logs = config.metrics
    assert errors.query.q is not None and errors.settings.critical and errors.groups == ("errors",)
    assert (p99.query.type, p99.query.service, p99.query.operation, p99.query.statistic) == (
        "spans",
        "drm",
        "POST /license",
        "p99",
    )
    assert (logs.query.type, logs.query.level) == ("logs", "error")
    assert dict(config.group_weights) == {"errors": 60.0, "latency": 40.0}


def test_kayentas_production_values_are_the_defaults():
    bare = copy.deepcopy(CONFIG)
    del bare["judge"]
    config = load_canary_config(bare)
    assert (config.tolerance, config.confidence) == (0.25, 0.98)


def with_field(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(CONFIG)
    node: Any = doc
    parts = [int(p) if p.isdigit() else p for p in path.split(".")]
    for part in parts[:-1]:
        node = node[part]
    if value is None:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "field", "reason"),
    [
        ("name", None, "name", "missing"),
        ("metrics", [], "metrics", "non-empty list"),
        ("metrics.0.query.type", "graphite", "metrics[0].query.type", "expected one of"),
        ("metrics.0.query.q", "name,x,:eq,:summ", "metrics[0].query.q", "stack language"),
        ("metrics.1.query.statistic", "p42", "metrics[1].query.statistic", "expected one of"),
        (
            "metrics.0.query",
            {"type": "prometheus", "q": "sum(rate(http_server_requests_total[1m]))"},
            "metrics[0].query.q",
            "must hold ${scope}",
        ),
        ("metrics.0.query", {"type": "prometheus"}, "metrics[0].query.q", "missing"),
        ("metrics.0.groups", [], "metrics[0].groups", "non-empty list"),
        ("metrics.2.name", "license errors", "metrics[2].name", "also named"),
        ("judge.name", "OtherJudge", "judge.name", "only NetflixACAJudge-v1.0"),
        (
            "judge.judgeConfigurations.confidenceLevel",
            1.5,
            "judge.judgeConfigurations.confidenceLevel",
            "outside",
        ),
        (
            "classifier.groupWeights",
            {"errors": "heavy"},
            "classifier.groupWeights.errors",
            "expected a number",
        ),
        (
            "metrics.0.analysisConfigurations.canary.direction",
            7,
            "metrics[0].analysisConfigurations.canary",
            "direction",
        ),
    ],
)
def test_every_bad_field_is_named(path, value, field, reason):
    with pytest.raises(ConfigError) as caught:
        load_canary_config(with_field(path, value))
    assert any(p == field and reason in r for p, r in caught.value.problems), caught.value.problems


def test_a_config_that_is_not_an_object_is_refused():
    with pytest.raises(ConfigError, match="JSON object"):
        load_canary_config(["metrics"])
