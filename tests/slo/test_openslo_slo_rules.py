"""Each SLO rule refused with the document (kind/name), the field path and the reason."""

from __future__ import annotations

import pytest

from tests.slo.support import MISSING, SLO_DOC
from tests.slo.support import problems_of as _problems
from tests.slo.support import with_field as _with

INLINE = "spec.indicator.spec"
RATIO = f"{INLINE}.ratioMetric"


@pytest.mark.parametrize(
    ("path", "value", "document", "field", "reason"),
    [
        pytest.param(
            "apiVersion",
            "openslo/v1alpha",
            "SLO/avail",
            "apiVersion",
            "expected 'openslo/v1'",
            id="an apiVersion other than openslo/v1 is refused",
        ),
        pytest.param(
            "kind", "Slo", "Slo/avail", "kind", "unknown kind 'Slo'", id="an unknown kind is refused"
        ),
        pytest.param(
            "metadata.name",
            "Playback_Avail",
            "SLO/Playback_Avail",
            "metadata.name",
            "not an RFC 1123 label",
            id="a name with capitals and underscores is not an RFC 1123 label",
        ),
        pytest.param(
            "metadata.name",
            "a" * 64,
            "SLO/" + "a" * 64,
            "metadata.name",
            "not an RFC 1123 label",
            id="a name longer than 63 characters is not an RFC 1123 label",
        ),
        pytest.param(
            "metadata.name",
            "-avail",
            "SLO/-avail",
            "metadata.name",
            "not an RFC 1123 label",
            id="a name starting with a dash is not an RFC 1123 label",
        ),
        pytest.param(
            "metadata",
            MISSING,
            "document 1",
            "metadata",
            "missing",
            id="a document without metadata is named by its position",
        ),
        pytest.param(
            "spec", MISSING, "SLO/avail", "spec", "missing", id="a document without a spec is refused"
        ),
        pytest.param(
            "spec.service",
            MISSING,
            "SLO/avail",
            "spec.service",
            "missing",
            id="an SLO without a service is refused",
        ),
        pytest.param(
            "spec.indicator",
            MISSING,
            "SLO/avail",
            "spec.indicator",
            "missing",
            id="an SLO without an indicator is refused",
        ),
        pytest.param(
            "spec.indicatorRef",
            "ok",
            "SLO/avail",
            "spec",
            "only one of indicator and indicatorRef",
            id="an SLO with both an inline indicator and a reference is refused",
        ),
        pytest.param(
            "spec.timeWindow",
            [],
            "SLO/avail",
            "spec.timeWindow",
            "exactly one time window, got 0",
            id="an SLO with no time window is refused",
        ),
        pytest.param(
            "spec.timeWindow",
            [{"duration": "1d", "isRolling": True}] * 2,
            "SLO/avail",
            "spec.timeWindow",
            "exactly one time window, got 2",
            id="an SLO with two time windows is refused",
        ),
        pytest.param(
            "spec.timeWindow.0.duration",
            "30 days",
            "SLO/avail",
            "spec.timeWindow[0].duration",
            "invalid duration '30 days'",
            id="a window duration that is not OpenSLO is refused",
        ),
        pytest.param(
            "spec.timeWindow.0.isRolling",
            False,
            "SLO/avail",
            "spec.timeWindow[0]",
            "exactly one of isRolling: true and calendar",
            id="a window neither rolling nor calendar is refused",
        ),
        pytest.param(
            "spec.timeWindow.0.calendar",
            {"startTime": "2026-01-01 00:00:00", "timeZone": "UTC"},
            "SLO/avail",
            "spec.timeWindow[0]",
            "exactly one of isRolling: true and calendar",
            id="a window both rolling and calendar is refused",
        ),
        pytest.param(
            "spec.timeWindow.0",
            {"duration": "1M", "calendar": {"startTime": "2026-01-01 00:00:00", "timeZone": "Mars/Olympus"}},
            "SLO/avail",
            "spec.timeWindow[0].calendar.timeZone",
            "unknown time zone 'Mars/Olympus'",
            id="a calendar window in an unknown time zone is refused",
        ),
        pytest.param(
            "spec.timeWindow.0",
            {"duration": "1M", "calendar": {"startTime": "January", "timeZone": "UTC"}},
            "SLO/avail",
            "spec.timeWindow[0].calendar.startTime",
            "not a date and time",
            id="a calendar window with an unreadable start is refused",
        ),
        pytest.param(
            "spec.budgetingMethod",
            "Events",
            "SLO/avail",
            "spec.budgetingMethod",
            "unknown method 'Events'",
            id="an unknown budgeting method is refused",
        ),
        pytest.param(
            "spec.objectives",
            [],
            "SLO/avail",
            "spec.objectives",
            "at least one objective",
            id="an SLO without objectives is refused",
        ),
        pytest.param(
            "spec.objectives.0.target",
            1.0,
            "SLO/avail",
            "spec.objectives[0].target",
            "outside (0, 1)",
            id="a target of 1 is outside the open interval",
        ),
        pytest.param(
            "spec.objectives.0.target",
            0,
            "SLO/avail",
            "spec.objectives[0].target",
            "outside (0, 1)",
            id="a target of 0 is outside the open interval",
        ),
        pytest.param(
            "spec.objectives.0.target",
            99.9,
            "SLO/avail",
            "spec.objectives[0].target",
            "outside (0, 1)",
            id="a percentage given as target is refused",
        ),
        pytest.param(
            "spec.objectives.0.target",
            "high",
            "SLO/avail",
            "spec.objectives[0].target",
            "expected a number",
            id="a target that is not a number is refused",
        ),
        pytest.param(
            "spec.objectives.0",
            {"targetPercent": 100},
            "SLO/avail",
            "spec.objectives[0].targetPercent",
            "outside (0, 100)",
            id="a targetPercent of 100 is refused",
        ),
        pytest.param(
            "spec.objectives.0",
            {"target": 0.99, "targetPercent": 99},
            "SLO/avail",
            "spec.objectives[0]",
            "exactly one of target and targetPercent",
            id="both target and targetPercent are refused",
        ),
        pytest.param(
            "spec.objectives.0",
            {"displayName": "x"},
            "SLO/avail",
            "spec.objectives[0]",
            "exactly one of target and targetPercent",
            id="an objective with no target is refused",
        ),
        pytest.param(
            "spec.budgetingMethod",
            "Timeslices",
            "SLO/avail",
            "spec.objectives[0].timeSliceWindow",
            "missing",
            id="Timeslices needs a timeSliceWindow",
        ),
        pytest.param(
            "spec.budgetingMethod",
            "RatioTimeslices",
            "SLO/avail",
            "spec.objectives[0].timeSliceWindow",
            "missing",
            id="RatioTimeslices needs a timeSliceWindow",
        ),
        pytest.param(
            "spec.watchfloor",
            {"minEvents": -1},
            "SLO/avail",
            "spec.watchfloor.minEvents",
            "whole number",
            id="a negative minimum event count is refused",
        ),
        pytest.param(
            "spec.watchfloor",
            {"windows": [{"severity": "page", "long": "5m", "short": "1h", "budgetPercent": 2}]},
            "SLO/avail",
            "spec.watchfloor.windows[0].short",
            "shorter than long",
            id="a window pair whose short window is longer is refused",
        ),
    ],
)
def test_slo_rules(path, value, document, field, reason):
    doc = _with(SLO_DOC, path, value)
    problems = _problems(doc)
    assert any(p.document == document and p.path == field and reason in p.reason for p in problems), problems
