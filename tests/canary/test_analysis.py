"""Canary analyses as records (canary/analysis.py): Kayenta's final result, the verdict,
the JSON round trip, ULIDs and the small-sample warning."""

from __future__ import annotations

import json

import pytest

from canary.analysis import (
    EARLY_STOP,
    SMALL_SAMPLE_WARNING,
    Analysis,
    Judgement,
    final_result,
    java_double,
    judgement_warnings,
    new_id,
    verdict,
)
from canary.scopes import ScopePair, ScopeWindow
from canary.scorer import Thresholds

CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
T0 = 1_795_514_400_000  # 2026-11-24T10:00:00Z
MINUTE = 60_000
CONFIG = {
    "name": "c",
    "metrics": [
        {
            "name": "latency",
            "query": {"type": "atlas", "q": "name,x,:eq,:sum"},
            "groups": ["g"],
            "scopeName": "default",
            "analysisConfigurations": {"canary": {}},
        }
    ],
}


def scopes(i: int = 1) -> dict[str, ScopePair]:
    return {
        "default": ScopePair(
            ScopeWindow("app-baseline", T0 - 60 * MINUTE, T0 - 60 * MINUTE + i * 10 * MINUTE, 60_000),
            ScopeWindow("app-canary", T0, T0 + i * 10 * MINUTE, 60_000, "nf.node", "us-east-1"),
        )
    }


def judged(score: float, classification: str = "Pass", reason: str | None = None, metrics=()) -> dict:
    """A minimal Kayenta ``CanaryResult``."""
    return {
        "judgeResult": {
            "score": {"score": score, "classification": classification, "classificationReason": reason or ""},
            "results": list(metrics),
        },
        "canaryDuration": "PT0.010S",
    }


def metric(name: str, classification: str, **extra) -> dict:
    found = {
        "name": name,
        "classification": classification,
        "classificationReason": f"{name} reason",
        "critical": False,
        "muted": False,
        "controlMetadata": {"stats": {"count": 100}},
    }
    found.update(extra)
    return found


def judgement(i: int, status: str, score: float | None = None, **extra) -> Judgement:
    return Judgement(i, f"exec-{i}", scopes(i), T0 + i * 10 * MINUTE, status, score=score, **extra)


def analysis(*judgements: Judgement, status: str = "RUNNING", thresholds=(95.0, 75.0), **extra) -> Analysis:
    return Analysis(
        id="01HZY0000000000000000000AA",
        kind="standalone",
        config=CONFIG,
        request={"scopes": [{"controlScope": "app-baseline", "experimentScope": "app-canary"}]},
        thresholds=Thresholds(*thresholds),
        judgements=list(judgements),
        created_ms=T0,
        status=status,
        **extra,
    )


# --- final_result ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("final", "marginal", "pass_", "passed"),
    [
        (60.0, 75.0, 95.0, False),  # Kayenta's GenerateCanaryAnalysisResultTaskTest cases
        (85.0, 75.0, 95.0, False),
        (97.0, 75.0, 95.0, True),
        (95.0, 75.0, 95.0, True),  # met counts as passing
        (75.0, 75.0, 95.0, False),
        (94.99, 75.0, 95.0, False),
    ],
)
def test_the_last_score_decides_did_pass_thresholds(final, marginal, pass_, passed):
    found = final_result(
        analysis(
            judgement(1, "SUCCEEDED", 100.0),
            judgement(2, "SUCCEEDED", final),
            status="SUCCEEDED",
            thresholds=(pass_, marginal),
        )
    )
    assert found["didPassThresholds"] is passed
    assert found["canaryScores"] == [100.0, final]


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ([100.0], "Final canary score 100.0 met or exceeded the pass score threshold."),
        ([95.0], "Final canary score 95.0 met or exceeded the pass score threshold."),
        ([60.0, 85.5], "Final canary score 85.5 is below the pass score threshold."),
        ([100.0, 94.99], "Final canary score 94.99 is below the pass score threshold."),
        ([100.0, 75.0], "Final canary score 75.0 is not above the marginal score threshold."),
        ([0.0], "Final canary score 0.0 is not above the marginal score threshold."),
        ([96.0, 33.33], "Final canary score 33.33 is not above the marginal score threshold."),
        ([100.0, 50.0, 97.0], "Final canary score 97.0 met or exceeded the pass score threshold."),
    ],
)
def test_final_score_messages_print_scores_as_java_doubles(scores, message):
    ran = [judgement(i, "SUCCEEDED", s) for i, s in enumerate(scores, 1)]
    found = final_result(analysis(*ran, status="SUCCEEDED"))
    assert found["canaryScoreMessage"] == message
    assert found["canaryScores"] == [float(s) for s in scores]
    assert all(isinstance(s, float) for s in found["canaryScores"])


@pytest.mark.parametrize(
    "judgements",
    [
        [],
        [judgement(1, "NOT_STARTED")],
        [judgement(1, "RUNNING"), judgement(2, "NOT_STARTED")],
    ],
    ids=["none", "not-started", "running"],
)
def test_no_judgement_ran(judgements):
    assert final_result(analysis(*judgements, status="TERMINAL")) == {
        "didPassThresholds": False,
        "hasWarnings": False,
        "canaryScoreMessage": "There were no successful canary judgements to aggregate",
        "canaryScores": [],
    }


def test_a_failed_judgement_without_a_score_counts_zero():
    found = final_result(
        analysis(
            judgement(1, "SUCCEEDED", 100.0),
            judgement(2, "TERMINAL", None, exception="metric 'latency': atlas is down"),
            judgement(3, "NOT_STARTED"),
            status="TERMINAL",
        )
    )
    assert found["canaryScores"] == [100.0, 0.0]
    assert found["didPassThresholds"] is False
    assert found["canaryScoreMessage"] == "Final canary score 0.0 is not above the marginal score threshold."


@pytest.mark.parametrize(
    ("warnings", "expected"),
    [
        ([[], []], False),
        ([[SMALL_SAMPLE_WARNING], []], True),
        ([[], [SMALL_SAMPLE_WARNING]], True),
        ([["something else"], ["and more"]], True),
    ],
)
def test_has_warnings_iff_a_judgement_has_warnings(warnings, expected):
    ran = [judgement(i, "SUCCEEDED", 100.0, warnings=w) for i, w in enumerate(warnings, 1)]
    assert final_result(analysis(*ran, status="SUCCEEDED"))["hasWarnings"] is expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (100.0, "100.0"),
        (100, "100.0"),
        (0, "0.0"),
        (0.0, "0.0"),
        (85.5, "85.5"),
        (33.33, "33.33"),
        (7, "7.0"),
    ],
)
def test_java_double(value, text):
    assert java_double(value) == text


# --- verdict ---------------------------------------------------------------------------------


FAILED_RESULT = {
    "judgeResult": {
        "score": {
            "score": 0.0,
            "classification": "Fail",
            "classificationReason": "Canary Failed: latency high",
        },
        "results": [
            {
                "name": "latency",
                "classification": "High",
                "classificationReason": "r",
                "critical": True,
                "muted": False,
                "controlMetadata": {"stats": {"count": 10}},
            }
        ],
    }
}


@pytest.mark.parametrize("status", ["NOT_STARTED", "RUNNING"])
def test_an_analysis_not_complete_is_running(status):
    found = analysis(
        judgement(1, "SUCCEEDED", 100.0, result=judged(100.0)), judgement(2, "RUNNING"), status=status
    )
    assert verdict(found) == {"verdict": "running", "score": None, "reasons": []}


def test_pass():
    done = analysis(
        judgement(1, "SUCCEEDED", 90.0, result=judged(90.0, "Marginal", metrics=[metric("a", "High")])),
        judgement(2, "SUCCEEDED", 100.0, result=judged(100.0, metrics=[metric("a", "Pass")])),
        status="SUCCEEDED",
    )
    assert verdict(done) == {
        "verdict": "pass",
        "score": 100.0,
        "reasons": ["Final canary score 100.0 met or exceeded the pass score threshold."],
    }


def test_marginal():
    last = judged(
        85.0,
        "Marginal",
        metrics=[
            metric("latency", "Pass"),
            metric("errors", "High", critical=False),
            metric("cpu", "Low", muted=True),
        ],
    )
    done = analysis(
        judgement(1, "SUCCEEDED", 100.0, result=judged(100.0)),
        judgement(2, "SUCCEEDED", 85.0, result=last),
        status="SUCCEEDED",
    )
    assert verdict(done) == {
        "verdict": "marginal",
        "score": 85.0,
        "reasons": [
            "Final canary score 85.0 is below the pass score threshold.",
            "errors: High",  # Pass and muted metrics are not reasons
        ],
    }


def test_early_stop_fails_with_the_last_judged_results():
    done = analysis(
        judgement(1, "SUCCEEDED", 100.0, result=judged(100.0)),
        judgement(2, "TERMINAL", 0.0, result=FAILED_RESULT, exception=EARLY_STOP),
        judgement(3, "NOT_STARTED"),
        status="TERMINAL",
    )
    found = verdict(done)
    assert found == {
        "verdict": "fail",
        "score": 0.0,
        "reasons": [
            "Final canary score 0.0 is not above the marginal score threshold.",
            f"judgement 2: {EARLY_STOP}",
            "Canary Failed: latency high",
            "latency: High (critical)",
        ],
    }


def test_a_judgement_that_could_not_run_fails_and_reports_the_last_judged_result():
    done = analysis(
        judgement(1, "SUCCEEDED", 85.0, result=judged(85.0, "Marginal", metrics=[metric("errors", "High")])),
        judgement(2, "TERMINAL", None, exception="metric 'latency': atlas is down"),
        status="TERMINAL",
    )
    assert verdict(done) == {
        "verdict": "fail",
        "score": 0.0,
        "reasons": [
            "Final canary score 0.0 is not above the marginal score threshold.",
            "judgement 2: metric 'latency': atlas is down",
            "errors: High",
        ],
    }


def test_a_terminal_analysis_is_never_marginal_even_with_a_marginal_last_score():
    # TERMINAL with a last score between marginal and pass (a later judgement failed to start)
    done = analysis(judgement(1, "SUCCEEDED", 85.0, result=judged(85.0, "Marginal")), status="TERMINAL")
    assert verdict(done)["verdict"] == "fail"


def test_no_judgement_ran_fails_without_a_score():
    assert verdict(analysis(judgement(1, "NOT_STARTED"), status="TERMINAL")) == {
        "verdict": "fail",
        "score": None,
        "reasons": ["There were no successful canary judgements to aggregate"],
    }


def test_the_recorded_result_is_used_when_present():
    recorded = {
        "didPassThresholds": True,
        "hasWarnings": False,
        "canaryScoreMessage": "recorded message",
        "canaryScores": [42.0],
    }
    done = analysis(judgement(1, "SUCCEEDED", 10.0), status="SUCCEEDED", result=recorded)
    assert verdict(done) == {"verdict": "pass", "score": 42.0, "reasons": ["recorded message"]}


# --- JSON round trip -------------------------------------------------------------------------


def test_to_json_from_json_round_trip():
    original = analysis(
        judgement(
            1,
            "SUCCEEDED",
            97.5,
            result=judged(97.5, metrics=[metric("latency", "Pass")]),
            warnings=[SMALL_SAMPLE_WARNING],
            started_ms=T0 + 10 * MINUTE,
            ended_ms=T0 + 10 * MINUTE + 5,
        ),
        judgement(2, "TERMINAL", None, exception="metric 'latency': boom", started_ms=T0 + 20 * MINUTE),
        judgement(3, "NOT_STARTED"),
        status="TERMINAL",
        thresholds=(90.5, 70.0),
        application="shop",
        user="ana",
        parent_pipeline_execution_id="pipe-1",
        config_id="cfg-1",
        ended_ms=T0 + 30 * MINUTE,
    )
    original.result = final_result(original)
    text = json.dumps(original.to_json())
    back = Analysis.from_json(json.loads(text))
    assert back == original
    assert back.thresholds == Thresholds(90.5, 70.0) and isinstance(back.thresholds, Thresholds)
    pair = back.judgements[0].scopes["default"]
    assert isinstance(pair, ScopePair)
    assert isinstance(pair.control, ScopeWindow) and isinstance(pair.experiment, ScopeWindow)
    assert pair.experiment == ScopeWindow("app-canary", T0, T0 + 10 * MINUTE, 60_000, "nf.node", "us-east-1")
    assert all(isinstance(j, Judgement) for j in back.judgements)
    assert json.dumps(back.to_json()) == text
    assert verdict(back) == verdict(original)


def test_a_fresh_analysis_round_trips_and_keeps_its_next_judgement():
    original = analysis(judgement(1, "NOT_STARTED"), judgement(2, "NOT_STARTED"))
    back = Analysis.from_json(json.loads(json.dumps(original.to_json())))
    assert back == original
    assert back.next_judgement() == original.judgements[0]
    assert not back.complete


# --- new_id ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ms", [0, 1, T0, 2**48 - 1])
def test_new_id_is_26_crockford_characters(ms):
    found = new_id(ms)
    assert len(found) == 26
    assert set(found) <= CROCKFORD


def test_new_id_without_a_time_is_a_ulid():
    found = new_id()
    assert len(found) == 26 and set(found) <= CROCKFORD


def test_new_id_encodes_the_time_in_its_first_ten_characters():
    # 48 bits of ms in 10 characters, most significant first
    assert new_id(0)[:10] == "0000000000"
    assert new_id(1)[:10] == "0000000001"
    assert new_id(32)[:10] == "0000000010"
    assert new_id(2**48 - 1)[:10] == "7ZZZZZZZZZ"


def test_new_ids_sort_by_time():
    times = [0, 1, 31, 32, 1000, 2**40, T0, T0 + 1, T0 + 2, T0 + MINUTE, 2**48 - 1]
    ids = [new_id(ms) for ms in times]
    assert sorted(ids) == ids
    assert sorted(reversed(ids)) == ids


def test_two_ids_in_one_millisecond_differ():
    ids = {new_id(T0) for _ in range(100)}
    assert len(ids) == 100
    assert {i[:10] for i in ids} == {new_id(T0)[:10]}


# --- judgement_warnings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "warned"),
    [
        ([49], True),
        ([50], False),
        ([100, 49], True),
        ([100, 50], False),
        ([0], True),
        ([], False),
    ],
)
def test_fewer_than_50_control_points_warn(counts, warned):
    result = judged(
        100.0,
        metrics=[
            metric(f"m{i}", "Pass", controlMetadata={"stats": {"count": c}}) for i, c in enumerate(counts)
        ],
    )
    assert judgement_warnings(result) == ([SMALL_SAMPLE_WARNING] if warned else [])


def test_the_warning_is_kayentas_text():
    assert SMALL_SAMPLE_WARNING == (
        "One of the metrics returned fewer than 50 data points, "
        "which can reduce confidence in the final canary score."
    )


def test_a_metric_without_control_stats_warns():
    result = judged(100.0, metrics=[{"name": "m", "classification": "Nodata", "classificationReason": ""}])
    assert judgement_warnings(result) == [SMALL_SAMPLE_WARNING]


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (1_800_000, "PT30M"),
        (3_600_000, "PT1H"),
        (4_500_000, "PT1H15M"),
        (60_500, "PT1M0.5S"),
        (75_000, "PT1M15S"),
        (0, "PT0S"),
        (125, "PT0.125S"),
    ],
)
def test_durations_are_written_as_java_writes_them(ms, text):
    from canary.execution import iso_duration

    assert iso_duration(ms) == text
