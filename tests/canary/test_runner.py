"""The canary runner over a real DuckDB store with a hand-driven clock: judgements when due,
early stop, final verdicts, persistence across a restart, listeners."""

from __future__ import annotations

import json

import numpy as np
import pytest

from canary.config_store import ConfigStore
from canary.metric_source import MetricSource
from canary.runner import CanaryRunner
from canary.scopes import iso
from canary.service import CanaryService
from stacklang import Limits
from store.duckdb_store import DuckDBStore
from store.model import Datapoint

STEP = 10_000
T0 = 1_800_000_000_000
SETTLE = 25_000
MINUTE = 60_000

CONFIG = {
    "name": "drm-canary",
    "applications": ["drm"],
    "metrics": [
        {
            "name": "license latency",
            "query": {"type": "atlas", "q": "name,latency,:eq,:max"},
            "groups": ["latency"],
            "analysisConfigurations": {"canary": {"direction": "increase", "critical": True}},
        },
        {
            "name": "requests",
            "query": {"type": "atlas", "q": "name,requests,:eq,:sum"},
            "groups": ["traffic"],
            "analysisConfigurations": {"canary": {}},
        },
    ],
    "classifier": {"groupWeights": {"latency": 70, "traffic": 30}},
}


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000


def _seed(store: DuckDBStore, minutes: int, *, regression_from_minute: int | None) -> None:
    rng = np.random.default_rng(7)
    points = []
    for i in range(1, minutes * 6 + 1):
        ts = T0 + i * STEP
        for cluster in ("drm-v1", "drm-v2-canary"):
            latency = rng.lognormal(np.log(0.025), 0.2)
            regressed = regression_from_minute is not None and ts > T0 + regression_from_minute * MINUTE
            if cluster == "drm-v2-canary" and regressed:
                latency += 0.040
            points.append(Datapoint({"name": "latency", "nf.cluster": cluster}, ts, latency))
            points.append(Datapoint({"name": "requests", "nf.cluster": cluster}, ts, 50 + rng.normal(0, 2)))
    store.write_datapoints(points)


@pytest.fixture
def store(tmp_path):
    opened = DuckDBStore(tmp_path / "canary.duckdb")
    yield opened
    opened.close()


def _service(store, clock, limits=None):
    runner = CanaryRunner(store, MetricSource(store, store, limits=limits), clock=clock)
    return CanaryService(runner, ConfigStore(store, clock=clock), step_ms=STEP, settle_ms=SETTLE, clock=clock)


def _request(minutes: int, interval: int, **extra: object) -> dict[str, object]:
    scope = {
        "controlScope": "drm-v1",
        "experimentScope": "drm-v2-canary",
        "startTimeIso": iso(T0),
        "step": 10,
    }
    if extra.pop("real_time", False) is False:
        scope["endTimeIso"] = iso(T0 + minutes * MINUTE)
    return {
        "scopes": [scope],
        "thresholds": {"pass": 75, "marginal": 50},
        "lifetimeDurationMins": minutes,
        "analysisIntervalMins": interval,
        **extra,
    }


def test_a_clean_canary_passes_every_interval_and_the_analysis_succeeds(store):
    _seed(store, 30, regression_from_minute=None)
    clock = Clock(T0 + 31 * MINUTE)
    service = _service(store, clock)
    analysis_id = service.start_standalone(CONFIG, _request(30, 10), {"application": "drm"})
    assert service.verdict(analysis_id)["verdict"] == "running"
    assert service.runner.step() is None
    status = service.standalone_status(analysis_id)
    assert status["executionStatus"] == "SUCCEEDED"
    assert (status["status"], status["complete"]) == ("succeeded", True)
    result = status["canaryAnalysisExecutionResult"]
    assert result["canaryScores"] == [100.0, 100.0, 100.0]
    assert result["didPassThresholds"] is True
    message = "Final canary score 100.0 met or exceeded the pass score threshold."
    assert result["canaryScoreMessage"] == message
    ends = [r["judgementEndTimeMillis"] for r in result["canaryExecutionResults"]]
    assert ends == [T0 + 10 * MINUTE, T0 + 20 * MINUTE, T0 + 30 * MINUTE]
    # 60 control points per judgement at the least: no small-sample warning.
    assert result["hasWarnings"] is False
    assert service.verdict(analysis_id) == {
        "id": analysis_id,
        "kind": "standalone",
        "verdict": "pass",
        "score": 100.0,
        "reasons": [result["canaryScoreMessage"]],
    }


def test_a_regression_stops_the_analysis_at_the_first_score_at_or_below_marginal(store):
    _seed(store, 30, regression_from_minute=0)
    clock = Clock(T0 + 31 * MINUTE)
    service = _service(store, clock)
    analysis_id = service.start_standalone(CONFIG, _request(30, 10), {})
    service.runner.step()
    status = service.standalone_status(analysis_id)
    assert status["executionStatus"] == "TERMINAL"
    assert [s["status"] for s in status["stageStatus"]] == ["TERMINAL", "SUCCEEDED"]  # run #1, the result
    result = status["canaryAnalysisExecutionResult"]
    assert result["canaryScores"] == [0.0]
    assert result["canaryScoreMessage"] == "Final canary score 0.0 is not above the marginal score threshold."
    [first] = result["canaryExecutionResults"]
    judged = first["result"]["judgeResult"]
    assert judged["score"]["classificationReason"].startswith("Canary Failed: ")
    latency = next(r for r in judged["results"] if r["name"] == "license latency")
    assert (latency["classification"], latency["critical"]) == ("High", True)
    verdict = service.verdict(analysis_id)
    assert verdict["verdict"] == "fail"
    assert any(reason.startswith("license latency: High (critical)") for reason in verdict["reasons"])
    # The judgement is also readable as Kayenta's single execution.
    child = service.canary_status(first["executionId"])
    assert child["status"] == "succeeded" and child["result"]["judgeResult"]["score"]["score"] == 0.0


def test_a_late_regression_fails_the_final_interval_after_earlier_passes(store):
    _seed(store, 30, regression_from_minute=20)
    service = _service(store, Clock(T0 + 31 * MINUTE))
    analysis_id = service.start_standalone(CONFIG, _request(30, 10, lookbackMins=10), {})
    service.runner.step()
    result = service.standalone_status(analysis_id)["canaryAnalysisExecutionResult"]
    assert result["canaryScores"] == [100.0, 100.0, 0.0]
    assert result["didPassThresholds"] is False


def test_real_time_judgements_wait_for_their_window_and_its_data(store):
    _seed(store, 30, regression_from_minute=None)
    clock = Clock(T0)
    service = _service(store, clock)
    analysis_id = service.start_standalone(CONFIG, _request(20, 10, real_time=True, beginAfterMins=5), {})
    # The first window is [T0+5m, T0+15m]: due once it has settled.
    assert service.runner.step() == pytest.approx((15 * MINUTE + SETTLE) / 1000)
    clock.ms = T0 + 15 * MINUTE + SETTLE - 1
    service.runner.step()
    assert service.standalone_status(analysis_id)["progress"]["judgementsDone"] == 0
    clock.ms += 1
    assert service.runner.step() == pytest.approx(10 * MINUTE / 1000)
    progress = service.standalone_status(analysis_id)["progress"]
    assert (progress["judgementsDone"], progress["canaryScores"]) == (1, [100.0])
    clock.ms = T0 + 25 * MINUTE + SETTLE
    assert service.runner.step() is None
    status = service.standalone_status(analysis_id)
    windows = [
        (r["judgementStartTimeMillis"], r["judgementEndTimeMillis"])
        for r in status["canaryAnalysisExecutionResult"]["canaryExecutionResults"]
    ]
    assert windows == [(T0 + 5 * MINUTE, T0 + 15 * MINUTE), (T0 + 5 * MINUTE, T0 + 25 * MINUTE)]


def test_a_restart_resumes_unfinished_analyses_and_reports_finished_ones(store):
    _seed(store, 30, regression_from_minute=None)
    clock = Clock(T0)
    service = _service(store, clock)
    running = service.start_standalone(CONFIG, _request(20, 10, real_time=True), {})
    clock.ms = T0 + 10 * MINUTE + SETTLE
    service.runner.step()
    window = {"start": iso(T0), "end": iso(T0 + 5 * MINUTE)}
    pair = {
        "controlScope": {"scope": "drm-v1", **window},
        "experimentScope": {"scope": "drm-v2-canary", **window},
    }
    request = {"scopes": {"default": pair}, "thresholds": {"pass": 75, "marginal": 50}}
    finished = service.start_canary(CONFIG, request, {})
    service.runner.step()
    before = service.canary_status(finished)

    restarted = _service(store, clock)  # a new runner over the same file: the server came back
    assert restarted.canary_status(finished) == before
    assert restarted.standalone_status(running)["progress"]["judgementsDone"] == 1
    clock.ms = T0 + 20 * MINUTE + SETTLE
    restarted.runner.step()
    result = restarted.standalone_status(running)["canaryAnalysisExecutionResult"]
    assert result["canaryScores"] == [100.0, 100.0]


def test_listeners_hear_of_each_finished_analysis_once(store):
    _seed(store, 10, regression_from_minute=0)
    service = _service(store, Clock(T0 + 11 * MINUTE))
    heard = []
    service.runner.add_listener(lambda analysis: heard.append((analysis.id, analysis.status)))
    service.runner.add_listener(lambda analysis: 1 / 0)  # a failing listener harms nothing
    analysis_id = service.start_standalone(CONFIG, _request(10, 5), {})
    service.runner.step()
    service.runner.step()
    assert heard == [(analysis_id, "TERMINAL")]


def test_a_metric_that_cannot_be_read_ends_the_analysis_with_the_reason(store):
    _seed(store, 10, regression_from_minute=None)
    service = _service(store, Clock(T0 + 11 * MINUTE), limits=Limits(max_series=10, max_points=20))
    analysis_id = service.start_standalone(CONFIG, _request(10, 10), {})
    service.runner.step()
    status = service.standalone_status(analysis_id)
    assert status["executionStatus"] == "TERMINAL"
    assert "license latency" in status["exception"]["details"]["errors"][0]
    verdict = service.verdict(analysis_id)
    assert verdict["verdict"] == "fail" and verdict["score"] == 0.0
    assert any("limit" in reason for reason in verdict["reasons"])


def test_an_unreadable_stored_analysis_is_left_aside_and_the_others_still_run(store):
    _seed(store, 10, regression_from_minute=None)
    clock = Clock(T0)
    service = _service(store, clock)
    waiting = service.start_standalone(CONFIG, _request(10, 5, real_time=True), {})
    store.put_document("canary_analysis", "0-broken", "{not json", 1)
    store.put_document("canary_analysis", "0-null", "null", 1)
    raw = service.runner.get(waiting).to_json()
    store.put_document("canary_analysis", "0-newer", json.dumps({**raw, "id": "0-newer", "addedLater": 1}), 1)

    restarted = _service(store, clock)  # starts despite them
    assert restarted.verdict("0-broken") is None
    assert restarted.verdict("0-newer")["verdict"] == "running"  # a key it does not know is ignored
    assert {a["id"] for a in restarted.recent(10)} == {waiting, "0-newer"}
    clock.ms = T0 + 10 * MINUTE + SETTLE
    restarted.runner.step()
    assert restarted.verdict(waiting)["verdict"] == "pass"


def test_a_single_execution_waiting_for_its_window_says_running(store):
    clock = Clock(T0)
    service = _service(store, clock)
    window = {"start": iso(T0), "end": iso(T0 + 5 * MINUTE)}
    pair = {
        "controlScope": {"scope": "drm-v1", **window},
        "experimentScope": {"scope": "drm-v2-canary", **window},
    }
    execution = service.start_canary(
        CONFIG, {"scopes": {"default": pair}, "thresholds": {"pass": 75, "marginal": 50}}, {}
    )
    status = service.canary_status(execution)
    assert (status["status"], status["complete"], status["stageStatus"]) == (
        "running",
        False,
        {"judge": "running"},
    )
