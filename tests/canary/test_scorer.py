"""The weighted group scorer on the vectors of canary-judge.md §8 and the rules of §5."""

from __future__ import annotations

import pytest

from canary.scorer import ScoredMetric, Thresholds, score_canary

THRESHOLDS = Thresholds(pass_=95.0, marginal=75.0)


def metrics(*specs):
    """``("g", "Pass")`` or ``("g", "High", {"critical": True})`` → scored metrics named m0, m1, …"""
    found = []
    for n, (groups, classification, *rest) in enumerate(specs):
        extra = rest[0] if rest else {}
        groups = (groups,) if isinstance(groups, str) else groups
        found.append(ScoredMetric(f"m{n}", groups, classification, f"reason {n}", **extra))
    return found


@pytest.mark.parametrize(
    ("results", "weights", "expected"),
    [
        (metrics(("g", "Pass")), None, 100.0),
        (metrics(("g", "High")), None, 0.0),
        (metrics(("g", "Pass"), ("g", "High")), None, 50.0),
        (metrics(("g", "Pass"), ("g", "High"), ("g", "Low")), None, 33.33),
        (metrics(("g1", "Pass"), ("g1", "Pass"), ("g2", "High")), {"g1": 75, "g2": 25}, 75.0),
        (metrics(("g", "Pass"), ("g", "High", {"critical": True})), None, 0.0),
    ],
    ids=["pass", "high", "pass+high", "pass+high+low", "weighted", "critical"],
)
def test_the_spec_vectors(results, weights, expected):
    assert score_canary(results, THRESHOLDS, weights).score == expected


def test_a_critical_failure_names_the_metric_reason():
    found = score_canary(metrics(("g", "Pass"), ("g", "Low", {"critical": True})), THRESHOLDS)
    assert (found.classification, found.reason) == ("Fail", "Canary Failed: reason 1")


def test_nodata_and_error_are_not_counted_but_half_nodata_fails():
    counted = score_canary(metrics(("g", "Pass"), ("g", "Error"), ("g", "Nodata"), ("g", "Pass")), THRESHOLDS)
    assert counted.score == 100.0 and counted.classification == "Pass"
    half = score_canary(metrics(("g", "Pass"), ("g", "Nodata")), THRESHOLDS)
    assert (half.score, half.reason) == (0.0, "Canary Failed: 50% or more metrics returned NODATA")


def test_nodata_fail_metric_counts_as_a_failure():
    assert score_canary(metrics(("g", "Pass"), ("g", "NodataFailMetric")), THRESHOLDS).score == 50.0


def test_muted_results_are_left_out():
    found = score_canary(metrics(("g", "Pass"), ("g", "High", {"muted": True, "critical": True})), THRESHOLDS)
    assert (found.score, found.classification) == (100.0, "Pass")


def test_a_group_with_nothing_counted_weighs_as_full_marks():
    found = score_canary(metrics(("a", "High"), ("b", "Error")), THRESHOLDS)
    # a: 0 × 50 / 100, b: no data counted as 100 × 50 / 100.
    assert found.score == 50.0
    assert [(g.name, g.score, g.no_data) for g in found.groups] == [("a", 0.0, False), ("b", 0.0, True)]


def test_unweighted_groups_share_what_the_weights_leave_and_weights_are_not_normalised():
    results = metrics(("a", "Pass"), ("b", "Pass"), ("c", "High"))
    # a has 50; b and c share the other 50: 50 + 25 + 0.
    assert score_canary(results, THRESHOLDS, {"a": 50}).score == 75.0
    # Configured weights over 100 are used as they are.
    assert score_canary(metrics(("a", "Pass"), ("b", "Pass")), THRESHOLDS, {"a": 80, "b": 80}).score == 160.0


def test_a_metric_in_two_groups_counts_in_both():
    found = score_canary(metrics((("a", "b"), "High"), ("a", "Pass")), THRESHOLDS, {"a": 50, "b": 50})
    assert [(g.name, g.score) for g in found.groups] == [("a", 50.0), ("b", 0.0)]
    assert found.score == 25.0


@pytest.mark.parametrize(
    ("passed", "total", "expected"),
    [(19, 20, "Pass"), (15, 20, "Marginal"), (14, 20, "Fail")],
)
def test_thresholds_classify_the_score(passed, total, expected):
    results = metrics(*[("g", "Pass")] * passed, *[("g", "High")] * (total - passed))
    assert score_canary(results, THRESHOLDS).classification == expected


def test_rounding_is_half_up_to_two_decimals():
    # 100 × 0.125 / 100 = 0.125: half-up gives 0.13 where Python's round gives 0.12.
    assert score_canary(metrics(("g", "Pass")), THRESHOLDS, {"g": 0.125}).score == 0.13
    assert score_canary(metrics(("g", "Pass"), ("g", "Pass"), ("g", "High")), THRESHOLDS).score == 66.67


def test_fail_on_error_is_an_option():
    results = metrics(("g", "Pass"), ("g", "Pass"), ("g", "Error"))
    assert score_canary(results, THRESHOLDS).classification == "Pass"
    strict = score_canary(results, THRESHOLDS, fail_on_error=True)
    assert (strict.classification, strict.reason) == ("Fail", "Canary Failed: reason 2")
