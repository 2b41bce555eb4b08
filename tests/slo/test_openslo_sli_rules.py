"""Each SLI and metric-source rule refused, named by document (kind/name), field path and reason."""

from __future__ import annotations

import pytest

from tests.slo.support import MISSING, SLO_DOC, SOURCE
from tests.slo.support import problems_of as _problems
from tests.slo.support import with_field as _with

INLINE = "spec.indicator.spec"
RATIO = f"{INLINE}.ratioMetric"


@pytest.mark.parametrize(
    ("path", "value", "document", "field", "reason"),
    [
        pytest.param(
            f"{INLINE}.thresholdMetric",
            SOURCE,
            "SLO/avail",
            INLINE,
            "exactly one of ratioMetric and thresholdMetric",
            id="an SLI with both metric kinds is refused",
        ),
        pytest.param(
            f"{INLINE}.ratioMetric",
            MISSING,
            "SLO/avail",
            INLINE,
            "exactly one of ratioMetric and thresholdMetric",
            id="an SLI with no metric is refused",
        ),
        pytest.param(
            f"{RATIO}.bad",
            SOURCE,
            "SLO/avail",
            RATIO,
            "exactly one of good and bad",
            id="a ratio with both good and bad is refused",
        ),
        pytest.param(
            f"{RATIO}.good",
            MISSING,
            "SLO/avail",
            RATIO,
            "exactly one of good and bad",
            id="a ratio with neither good nor bad is refused",
        ),
        pytest.param(
            f"{RATIO}.total",
            MISSING,
            "SLO/avail",
            f"{RATIO}.total",
            "missing",
            id="a ratio without a total is refused",
        ),
        pytest.param(
            f"{RATIO}.counter",
            "yes",
            "SLO/avail",
            f"{RATIO}.counter",
            "expected true or false",
            id="a counter flag that is not a boolean is refused",
        ),
        pytest.param(
            f"{RATIO}.good.metricSource.type",
            "graphite",
            "SLO/avail",
            f"{RATIO}.good.metricSource.type",
            "unknown type 'graphite'",
            id="a metric source of an unknown type is refused",
        ),
        pytest.param(
            f"{RATIO}.good.metricSource.spec",
            {},
            "SLO/avail",
            f"{RATIO}.good.metricSource.spec.query",
            "missing",
            id="an atlas metric source needs a query",
        ),
        pytest.param(
            f"{RATIO}.good.metricSource.spec",
            {"query": 42},
            "SLO/avail",
            f"{RATIO}.good.metricSource.spec.query",
            "expected a non-empty string",
            id="an atlas query must be a string",
        ),
        pytest.param(
            f"{RATIO}.total.metricSource",
            {"type": "prometheus", "spec": {}},
            "SLO/avail",
            f"{RATIO}.total.metricSource.spec.query",
            "missing",
            id="a prometheus metric source needs a query too",
        ),
        pytest.param(
            f"{RATIO}.total.metricSource",
            {"spec": {"query": "up"}},
            "SLO/avail",
            f"{RATIO}.total.metricSource.type",
            "missing",
            id="a metric source without a type is refused",
        ),
    ],
)
def test_inline_sli_rules(path, value, document, field, reason):
    problems = _problems(_with(SLO_DOC, path, value))
    assert any(p.document == document and p.path == field and reason in p.reason for p in problems), problems
