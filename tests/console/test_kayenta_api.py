"""Kayenta's REST API on a real server over loopback: configs, single runs, standalone analyses.

Data is written straight into the server's store for a baseline cluster (``drm-v1``) and a
canary cluster (``drm-v2-canary``) over two past windows, so every judgement is due at
once: in the REGRESSED window the canary's latency is 50 % higher; in the CLEAN window both
clusters draw from the same distribution. The runner judges in the background; the tests
poll until an analysis is complete.
"""

from __future__ import annotations

import copy
import math
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

import httpx
import numpy as np
import pytest

from store.model import Datapoint
from tests.support.polling import eventually
from tests.support.server import RunningServer

STEP_MS = 10_000
MINUTE_MS = 60_000
CONTROL, EXPERIMENT = "drm-v1", "drm-v2-canary"
PASS, MARGINAL = 95.0, 75.0
TIMEOUT_S = 60.0


class Window(NamedTuple):
    start_ms: int
    end_ms: int


_NOW_MS = int(time.time() * 1000) // MINUTE_MS * MINUTE_MS
CLEAN = Window(_NOW_MS - 40 * MINUTE_MS, _NOW_MS - 10 * MINUTE_MS)
REGRESSED = Window(_NOW_MS - 80 * MINUTE_MS, _NOW_MS - 50 * MINUTE_MS)


def iso(ms: int) -> str:
    """An ISO-8601 instant as a Kayenta client writes it."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def metric(name: str, q: str, group: str, **canary: Any) -> dict[str, Any]:
    return {
        "name": name,
        "query": {"type": "atlas", "q": q},
        "groups": [group],
        "scopeName": "default",
        "analysisConfigurations": {"canary": canary},
    }


CONFIG: dict[str, Any] = {
    "name": "drm-canary",
    "description": "DRM license service",
    "configVersion": "1",
    "applications": ["drm"],
    "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
    "metrics": [
        metric("latency", "name,drm.latency,:eq,:sum", "latency", direction="increase", critical=True),
        metric("errors", "name,drm.errors,:eq,:sum", "errors", direction="increase"),
    ],
    "classifier": {"groupWeights": {"latency": 60, "errors": 40}},
}


def _seed(store: Any) -> None:
    """Latency and errors for both clusters over both windows; all-NaN cpu over the clean one."""
    rng = np.random.default_rng(20261124)
    points = []
    for window, slower in ((CLEAN, 1.0), (REGRESSED, 1.5)):
        stamps = range(window.start_ms + STEP_MS, window.end_ms + 1, STEP_MS)
        for cluster, factor in ((CONTROL, 1.0), (EXPERIMENT, slower)):
            latency = rng.normal(100.0, 5.0, len(stamps)) * factor
            errors = rng.normal(2.0, 0.3, len(stamps))
            for ts, lat, err in zip(stamps, latency, errors, strict=True):
                points.append(Datapoint({"name": "drm.latency", "nf.cluster": cluster}, ts, float(lat)))
                points.append(Datapoint({"name": "drm.errors", "nf.cluster": cluster}, ts, float(err)))
                if window == CLEAN:
                    points.append(Datapoint({"name": "drm.cpu", "nf.cluster": cluster}, ts, math.nan))
    store.write_datapoints(points)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path_factory.mktemp("kayenta"), step_ms=STEP_MS)
    _seed(running.server.store)
    yield running
    running.stop()


# --- helpers -----------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def config(**changes: Any) -> dict[str, Any]:
    """A copy of CONFIG with a fresh name (configs persist for the whole module)."""
    return {**copy.deepcopy(CONFIG), "name": unique("drm"), **changes}


def scope(cluster: str, window: Window) -> dict[str, Any]:
    return {
        "scope": cluster,
        "location": "us-east-1",
        "start": iso(window.start_ms),
        "end": iso(window.end_ms),
        "step": STEP_MS // 1000,
    }


def canary_request(window: Window) -> dict[str, Any]:
    return {
        "scopes": {
            "default": {"controlScope": scope(CONTROL, window), "experimentScope": scope(EXPERIMENT, window)}
        },
        "thresholds": {"pass": PASS, "marginal": MARGINAL},
    }


def standalone_request(window: Window, interval_mins: float = 10) -> dict[str, Any]:
    return {
        "scopes": [
            {
                "scopeName": "default",
                "controlScope": CONTROL,
                "controlLocation": "us-east-1",
                "experimentScope": EXPERIMENT,
                "experimentLocation": "us-east-1",
                "startTimeIso": iso(window.start_ms),
                "endTimeIso": iso(window.end_ms),
                "step": STEP_MS // 1000,
            }
        ],
        "thresholds": {"pass": PASS, "marginal": MARGINAL},
        "analysisIntervalMins": interval_mins,
    }


def problem(answer: httpx.Response, status: int, field: str, reason: str = "") -> dict[str, Any]:
    """The error body, after checking the status and that ``field`` is named with ``reason``."""
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    named = {e["field"]: e["reason"] for e in body["errors"]}
    assert field in named, body
    assert reason in named[field], body
    return body


def kayenta_problem(answer: httpx.Response, status: int, field: str, reason: str = "") -> dict[str, Any]:
    """:func:`problem`, plus Kayenta's ``message`` saying the same."""
    body = problem(answer, status, field, reason)
    assert isinstance(body["message"], str) and reason in body["message"], body
    return body


def finished(fetch: Callable[[], httpx.Response], what: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        answer = fetch()
        assert answer.status_code == 200, answer.text
        status: dict[str, Any] = answer.json()
        return status if status["complete"] else None

    return eventually(probe, timeout_s=TIMEOUT_S, what=what)


def run_canary(server: RunningServer, body: dict[str, Any], path: str = "/canary") -> dict[str, Any]:
    started = httpx.post(f"{server.url}{path}", json=body)
    assert started.status_code == 200, started.text
    execution_id = started.json()["canaryExecutionId"]
    status = finished(lambda: httpx.get(f"{server.url}/canary/{execution_id}"), f"canary {execution_id}")
    assert status["pipelineId"] == execution_id
    return status


def run_standalone(
    server: RunningServer, body: dict[str, Any], path: str = "/standalone_canary_analysis"
) -> dict[str, Any]:
    started = httpx.post(f"{server.url}{path}", json=body)
    assert started.status_code == 200, started.text
    analysis_id = started.json()["canaryAnalysisExecutionId"]
    return finished(
        lambda: httpx.get(f"{server.url}/standalone_canary_analysis/{analysis_id}"), f"analysis {analysis_id}"
    )


def by_name(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in status["result"]["judgeResult"]["results"]}


def create_config(server: RunningServer, body: dict[str, Any]) -> str:
    answer = httpx.post(f"{server.url}/canaryConfig", json=body)
    assert answer.status_code == 200, answer.text
    config_id: str = answer.json()["canaryConfigId"]
    return config_id


def epoch_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


# --- 1. /canaryConfig ----------------------------------------------------------------------


def test_a_config_without_an_id_gets_a_uuid_and_reads_back_with_timestamps(server):
    sent = config()
    config_id = create_config(server, sent)
    assert uuid.UUID(config_id).version == 4 and str(uuid.UUID(config_id)) == config_id
    stored = httpx.get(f"{server.url}/canaryConfig/{config_id}").json()
    assert stored["id"] == config_id
    assert {k: stored[k] for k in sent} == sent
    for prefix in ("created", "updated"):
        assert isinstance(stored[f"{prefix}Timestamp"], int)
        assert epoch_ms(stored[f"{prefix}TimestampIso"]) == stored[f"{prefix}Timestamp"]
    assert stored["createdTimestamp"] <= stored["updatedTimestamp"]


def test_a_config_keeps_the_id_its_body_gives(server):
    wanted = unique("drm-config")
    assert create_config(server, {**config(), "id": wanted}) == wanted
    assert httpx.get(f"{server.url}/canaryConfig/{wanted}").json()["id"] == wanted


def test_the_list_shows_metadata_and_filters_by_application(server):
    alpha, beta, gamma = unique("alpha"), unique("beta"), unique("gamma")
    ids = {
        "a": create_config(server, config(applications=[alpha])),
        "b": create_config(server, config(applications=[beta])),
        "ab": create_config(server, config(applications=[alpha, beta])),
        "c": create_config(server, config(applications=[gamma])),
    }
    cases = [
        ([alpha], {"a", "ab"}),
        ([beta], {"b", "ab"}),
        ([alpha, gamma], {"a", "ab", "c"}),
        ([], set(ids)),
    ]
    for applications, expected in cases:
        listed = httpx.get(f"{server.url}/canaryConfig", params={"application": applications}).json()
        found = {entry["id"] for entry in listed}
        assert found >= {ids[key] for key in expected}, applications
        assert not found & {ids[key] for key in set(ids) - expected}, applications
    [entry] = httpx.get(f"{server.url}/canaryConfig", params={"application": gamma}).json()
    stored = httpx.get(f"{server.url}/canaryConfig/{ids['c']}").json()
    assert entry == {
        "id": ids["c"],
        "name": stored["name"],
        "updatedTimestamp": stored["updatedTimestamp"],
        "updatedTimestampIso": stored["updatedTimestampIso"],
        "applications": [gamma],
    }


def test_put_replaces_a_config_and_keeps_when_it_was_created(server):
    config_id = create_config(server, config())
    before = httpx.get(f"{server.url}/canaryConfig/{config_id}").json()
    changed = config(description="tighter")
    answer = httpx.put(f"{server.url}/canaryConfig/{config_id}", json=changed)
    assert answer.status_code == 200 and answer.json() == {"canaryConfigId": config_id}
    after = httpx.get(f"{server.url}/canaryConfig/{config_id}").json()
    assert (after["id"], after["name"], after["description"]) == (config_id, changed["name"], "tighter")
    assert after["createdTimestamp"] == before["createdTimestamp"]
    assert after["updatedTimestamp"] >= before["updatedTimestamp"]
    assert epoch_ms(after["updatedTimestampIso"]) == after["updatedTimestamp"]


def test_put_of_an_unknown_id_is_refused(server):
    missing = unique("missing")
    answer = httpx.put(f"{server.url}/canaryConfig/{missing}", json=config())
    kayenta_problem(answer, 400, "id", f"Canary config '{missing}' does not exist.")
    assert httpx.get(f"{server.url}/canaryConfig/{missing}").status_code == 404


def test_creating_an_id_that_exists_is_refused(server):
    config_id = create_config(server, {**config(), "id": unique("taken")})
    again = httpx.post(f"{server.url}/canaryConfig", json={**config(), "id": config_id})
    kayenta_problem(again, 400, "id", f"Canary config '{config_id}' already exists.")


def test_a_name_may_not_repeat_within_a_shared_application(server):
    shared, other = unique("shared"), unique("other")
    first = config(applications=[shared])
    create_config(server, first)
    clash = httpx.post(f"{server.url}/canaryConfig", json={**first, "applications": [other, shared]})
    kayenta_problem(clash, 400, "id", f"Canary config with name '{first['name']}' already exists")
    # The same name where no application is shared is fine.
    create_config(server, {**first, "applications": [other]})


def test_delete_answers_204_and_the_config_is_gone(server):
    config_id = create_config(server, config())
    deleted = httpx.delete(f"{server.url}/canaryConfig/{config_id}")
    assert deleted.status_code == 204 and deleted.content == b""
    gone = httpx.get(f"{server.url}/canaryConfig/{config_id}")
    assert gone.status_code == 404
    assert f"No such object named {config_id}" in gone.json()["message"]
    assert config_id not in {entry["id"] for entry in httpx.get(f"{server.url}/canaryConfig").json()}
    again = httpx.delete(f"{server.url}/canaryConfig/{config_id}")
    kayenta_problem(again, 404, "id", f"No such object named {config_id}")


DELETE = object()


def changed(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A valid config with one field set to ``value`` (or removed for DELETE)."""
    doc = config()
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("sent", "field", "reason"),
    [
        (changed(("name",), "drm canary"), "name", "letters, numbers, dashes (-) and underscores (_)"),
        (changed(("applications",), []), "applications", "at least one application"),
        (changed(("applications",), DELETE), "applications", "at least one application"),
        (
            changed(("metrics", 0, "analysisConfigurations", "canary", "direction"), 5),
            "metrics[0].analysisConfigurations.canary",
            "direction: expected a string",
        ),
        (
            changed(("metrics", 0, "analysisConfigurations", "canary", "nanStrategy"), "zero"),
            "metrics[0].analysisConfigurations.canary",
            "nanStrategy",
        ),
        (changed(("classifier", "groupWeights", "latency"), "heavy"), "classifier.groupWeights.latency", ""),
        (changed(("classifier", "groupWeights", "errors"), True), "classifier.groupWeights.errors", "number"),
        (changed(("metrics", 0, "query"), DELETE), "metrics[0].query", "expected an object"),
        (changed(("metrics", 1, "query", "q"), "name,x,:eq,:nope"), "metrics[1].query.q", "stack language"),
        (changed(("metrics",), []), "metrics", "non-empty list"),
        (changed(("name",), DELETE), "name", "missing"),
    ],
)
def test_a_bad_config_is_a_400_naming_the_field(server, sent, field, reason):
    answer = httpx.post(f"{server.url}/canaryConfig", json=sent)
    kayenta_problem(answer, 400, field, reason)
    if "name" in sent:  # nothing was kept
        assert sent["name"] not in {e["name"] for e in httpx.get(f"{server.url}/canaryConfig").json()}


def test_an_unknown_direction_string_means_either_as_in_kayenta(server):
    sent = changed(("metrics", 0, "analysisConfigurations", "canary", "direction"), "sideways")
    config_id = create_config(server, sent)
    stored = httpx.get(f"{server.url}/canaryConfig/{config_id}").json()
    assert stored["metrics"][0]["analysisConfigurations"]["canary"]["direction"] == "sideways"


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        (
            [
                (("metrics", 0, "query"), DELETE),
                (("metrics", 1, "analysisConfigurations", "canary", "direction"), 7),
                (("classifier", "groupWeights", "latency"), "heavy"),
            ],
            [
                "metrics[0].query",
                "metrics[1].analysisConfigurations.canary",
                "classifier.groupWeights.latency",
            ],
        ),
        ([(("name",), "drm canary"), (("applications",), [])], ["name", "applications"]),
    ],
)
def test_every_problem_of_a_config_is_listed(server, changes, fields):
    sent = config()
    for path, value in changes:
        node: Any = sent
        for part in path[:-1]:
            node = node[part]
        if value is DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    answer = httpx.post(f"{server.url}/canaryConfig", json=sent)
    body = kayenta_problem(answer, 400, fields[0])
    assert [e["field"] for e in body["errors"]] == fields


def test_an_unknown_config_id_is_a_404(server):
    missing = unique("missing")
    answer = httpx.get(f"{server.url}/canaryConfig/{missing}")
    assert answer.status_code == 404
    assert f"No such object named {missing}" in answer.json()["message"]


# --- 2. /canary ----------------------------------------------------------------------------


def _check_canary_status(status: dict[str, Any], window: Window) -> None:
    assert (status["complete"], status["status"]) == (True, "succeeded")
    assert status["stageStatus"] == {"judge": "succeeded"}
    assert re.fullmatch(r"PT(\d+H)?(\d+M)?(\d+(\.\d+)?S)?", status["result"]["canaryDuration"])
    sent_scope = status["canaryExecutionRequest"]["scopes"]["default"]
    for side, cluster in (("controlScope", CONTROL), ("experimentScope", EXPERIMENT)):
        shown = sent_scope[side]
        assert (shown["scope"], shown["location"], shown["step"]) == (cluster, "us-east-1", STEP_MS / 1000)
        assert (epoch_ms(shown["start"]), epoch_ms(shown["end"])) == window
    assert status["canaryExecutionRequest"]["thresholds"] == {"pass": PASS, "marginal": MARGINAL}
    assert epoch_ms(status["buildTimeIso"]) == status["buildTimeMillis"]
    assert status["startTimeMillis"] <= status["endTimeMillis"]


@pytest.mark.parametrize(
    ("window", "latency", "classification"),
    [(REGRESSED, "High", "Fail"), (CLEAN, "Pass", "Pass")],
    ids=["regressed", "clean"],
)
def test_an_ad_hoc_canary_judges_the_window(server, window, latency, classification):
    sent = config()
    status = run_canary(server, {"canaryConfig": sent, "executionRequest": canary_request(window)})
    _check_canary_status(status, window)
    assert status["canaryConfigId"] == "ad-hoc" and status["application"] == "ad-hoc"
    assert status["config"] == sent
    results = by_name(status)
    assert results["latency"]["classification"] == latency
    assert results["errors"]["classification"] == "Pass"
    assert all(r["controlMetadata"]["stats"]["count"] == 180 for r in results.values())
    score = status["result"]["judgeResult"]["score"]
    assert score["classification"] == classification
    if latency == "High":
        assert results["latency"]["critical"] is True
        assert score["score"] < MARGINAL
        assert (
            score["classificationReason"]
            == "Canary Failed: The metric latency was classified as High (Critical)"
        )
    else:
        assert score["score"] == 100.0


def test_a_canary_with_a_stored_config_runs_it(server):
    sent = config()
    config_id = create_config(server, sent)
    status = run_canary(
        server,
        canary_request(REGRESSED),
        f"/canary/{config_id}?application=drm&parentPipelineExecutionId=p-1",
    )
    _check_canary_status(status, REGRESSED)
    assert (status["canaryConfigId"], status["application"]) == (config_id, "drm")
    assert status["parentPipelineExecutionId"] == "p-1"
    assert status["config"]["name"] == sent["name"] and status["config"]["id"] == config_id
    assert by_name(status)["latency"]["classification"] == "High"
    assert status["result"]["judgeResult"]["score"]["score"] < MARGINAL


@pytest.mark.parametrize("path", ["/canary", "/standalone_canary_analysis"])
def test_an_unknown_stored_config_is_a_404(server, path):
    missing = unique("missing")
    body = canary_request(CLEAN) if path == "/canary" else standalone_request(CLEAN)
    answer = httpx.post(f"{server.url}{path}/{missing}", json=body)
    kayenta_problem(answer, 404, "id", f"No such object named {missing}")


# --- 3. /standalone_canary_analysis --------------------------------------------------------


@pytest.fixture(scope="module")
def clean_analysis(server: RunningServer) -> dict[str, Any]:
    return run_standalone(server, {"canaryConfig": config(), "executionRequest": standalone_request(CLEAN)})


@pytest.fixture(scope="module")
def regressed_analysis(server: RunningServer, clean_analysis: dict[str, Any]) -> dict[str, Any]:
    # Started once the clean one has finished, so it is strictly the newer of the two.
    body = {"canaryConfig": config(), "executionRequest": standalone_request(REGRESSED)}
    return run_standalone(server, body)


def test_a_clean_standalone_analysis_passes_every_interval(server, clean_analysis):
    status = clean_analysis
    assert (status["executionStatus"], status["status"], status["complete"]) == (
        "SUCCEEDED",
        "succeeded",
        True,
    )
    assert (status["application"], status["user"]) == ("ad-hoc", "anonymous")
    assert "canaryConfigId" not in status
    result = status["canaryAnalysisExecutionResult"]
    assert result["didPassThresholds"] is True and result["hasWarnings"] is False
    assert result["canaryScores"] == [100.0, 100.0, 100.0]
    assert (
        result["canaryScoreMessage"] == "Final canary score 100.0 met or exceeded the pass score threshold."
    )
    assert [s["status"] for s in status["stageStatus"]] == ["SUCCEEDED"] * 4
    executions = result["canaryExecutionResults"]
    assert len(executions) == 3
    for i, execution in enumerate(executions, start=1):
        assert execution["executionStatus"] == "SUCCEEDED" and execution["warnings"] == []
        # The windows grow from the start, one interval at a time.
        assert execution["judgementStartTimeMillis"] == CLEAN.start_ms
        assert execution["judgementEndTimeMillis"] == CLEAN.start_ms + i * 10 * MINUTE_MS
        assert epoch_ms(execution["judgementEndTimeIso"]) == execution["judgementEndTimeMillis"]
        child = httpx.get(f"{server.url}/canary/{execution['executionId']}")
        assert child.status_code == 200, child.text
        child_status = child.json()
        assert (child_status["complete"], child_status["status"]) == (True, "succeeded")
        assert child_status["result"]["judgeResult"]["score"]["score"] == result["canaryScores"][i - 1]
        counts = {
            r["controlMetadata"]["stats"]["count"] for r in child_status["result"]["judgeResult"]["results"]
        }
        assert counts == {60 * i}


def test_a_regressed_standalone_analysis_stops_at_the_first_interval(server, regressed_analysis):
    status = regressed_analysis
    assert (status["executionStatus"], status["status"], status["complete"]) == ("TERMINAL", "terminal", True)
    result = status["canaryAnalysisExecutionResult"]
    assert result["didPassThresholds"] is False
    assert result["canaryScores"] == [0.0]
    assert result["canaryScoreMessage"] == "Final canary score 0.0 is not above the marginal score threshold."
    [execution] = result["canaryExecutionResults"]
    # As in Kayenta: the judgement itself succeeded; its run stage stopped the analysis.
    assert execution["executionStatus"] == "SUCCEEDED" and "exception" not in execution
    assert "exception" not in status
    assert execution["judgementEndTimeMillis"] == REGRESSED.start_ms + 10 * MINUTE_MS
    latency = {r["name"]: r for r in execution["result"]["judgeResult"]["results"]}["latency"]
    assert latency["classification"] == "High"
    runs = [s for s in status["stageStatus"] if s["type"] == "runCanary"]
    assert [s["status"] for s in runs] == ["TERMINAL"]  # the stages never started are dropped


@pytest.mark.parametrize(
    ("which", "verdict", "score", "reason"),
    [
        ("clean", "pass", 100.0, "Final canary score 100.0 met or exceeded the pass score threshold."),
        (
            "regressed",
            "fail",
            0.0,
            "latency: High (critical)",
        ),
    ],
)
def test_the_verdict_says_pass_or_fail_and_why(
    server, clean_analysis, regressed_analysis, which, verdict, score, reason
):
    analysis = clean_analysis if which == "clean" else regressed_analysis
    answer = httpx.get(f"{server.url}/api/v1/canary/analyses/{analysis['pipelineId']}/verdict")
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert {k: found[k] for k in ("id", "kind", "verdict", "score")} == {
        "id": analysis["pipelineId"],
        "kind": "standalone",
        "verdict": verdict,
        "score": score,
    }
    assert found["reasons"][0] == analysis["canaryAnalysisExecutionResult"]["canaryScoreMessage"]
    assert reason in found["reasons"]


def test_the_analyses_are_listed_newest_first(server, clean_analysis, regressed_analysis):
    listed = httpx.get(f"{server.url}/api/v1/canary/analyses").json()["analyses"]
    ids = [a["id"] for a in listed]
    clean_id, regressed_id = clean_analysis["pipelineId"], regressed_analysis["pipelineId"]
    assert ids.index(regressed_id) < ids.index(clean_id)
    created = [a["createdMs"] for a in listed]
    assert created == sorted(created, reverse=True)
    entry = listed[ids.index(regressed_id)]
    assert (entry["kind"], entry["status"], entry["verdict"], entry["score"]) == (
        "standalone",
        "TERMINAL",
        "fail",
        0.0,
    )
    assert entry["configName"] == regressed_analysis["canaryConfig"]["name"]
    assert entry["applications"] == regressed_analysis["canaryConfig"]["applications"]
    assert entry["scopes"] == {"default": {"control": CONTROL, "experiment": EXPERIMENT}}
    limited = httpx.get(f"{server.url}/api/v1/canary/analyses", params={"limit": 1}).json()["analyses"]
    assert [a["id"] for a in limited] == ids[:1]


def test_a_standalone_analysis_with_a_stored_config_runs_it(server):
    config_id = create_config(server, config())
    status = run_standalone(
        server,
        standalone_request(CLEAN, interval_mins=15),
        f"/standalone_canary_analysis/{config_id}?user=ci",
    )
    assert status["executionStatus"] == "SUCCEEDED" and status["canaryConfigId"] == config_id
    assert status["user"] == "ci"
    assert status["canaryAnalysisExecutionResult"]["canaryScores"] == [100.0, 100.0]
    assert status["canaryAnalysisExecutionResult"]["didPassThresholds"] is True


# --- 4. bad input, unknown ids, missing data ----------------------------------------------


def _other_scope_config() -> dict[str, Any]:
    sent = config()
    sent["metrics"][1]["scopeName"] = "other"
    return sent


def _canary(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"canaryConfig": config(), "executionRequest": canary_request(CLEAN)}
    for key, value in changes.items():
        if value is DELETE:
            del body[key]
        else:
            body[key] = value
    return body


def _canary_scope(**fields: Any) -> dict[str, Any]:
    request = canary_request(CLEAN)
    request["scopes"]["default"]["controlScope"].update(fields)
    return _canary(executionRequest=request)


def _standalone(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"canaryConfig": config(), "executionRequest": standalone_request(CLEAN)}
    for key, value in changes.items():
        if value is DELETE:
            del body[key]
        else:
            body[key] = value
    return body


def _standalone_scope(**fields: Any) -> dict[str, Any]:
    request = standalone_request(CLEAN)
    request["scopes"][0].update(fields)
    return _standalone(executionRequest=request)


def _thresholds(body: dict[str, Any]) -> dict[str, Any]:
    body["executionRequest"]["thresholds"] = {"pass": 70, "marginal": 80}
    return body


@pytest.mark.parametrize(
    ("path", "sent", "field", "reason"),
    [
        (
            "/canary",
            _canary(canaryConfig=_other_scope_config()),
            "executionRequest.scopes.other",
            "canaryConfig.metrics[1].scopeName",
        ),
        (
            "/canary",
            _canary_scope(start=iso(CLEAN.end_ms), end=iso(CLEAN.start_ms)),
            "executionRequest.scopes.default.controlScope",
            "the end must be after the start",
        ),
        (
            "/canary",
            _canary_scope(start="2026-13-45T99:00:00Z"),
            "executionRequest.scopes.default.controlScope.start",
            "not an ISO-8601 instant",
        ),
        ("/canary", _canary_scope(end=None), "executionRequest.scopes.default.controlScope.end", "ISO-8601"),
        ("/canary", _canary_scope(step=0), "executionRequest.scopes.default.controlScope.step", "positive"),
        ("/canary", _thresholds(_canary()), "executionRequest.thresholds.marginal", "above pass"),
        ("/canary", _canary(canaryConfig=DELETE), "canaryConfig", "must be provided"),
        ("/canary", _canary(executionRequest=DELETE), "executionRequest", "must be provided"),
        ("/canary", _canary(executionRequest={"thresholds": {}}), "executionRequest.scopes", ""),
        (
            "/canary",
            _canary(canaryConfig=changed(("metrics", 0, "query"), DELETE)),
            "canaryConfig.metrics[0].query",
            "expected an object",
        ),
        ("/canary", [_canary()], "body", "JSON object"),
        (
            "/standalone_canary_analysis",
            _standalone(canaryConfig=_other_scope_config()),
            "executionRequest.scopes[].scopeName.other",
            "canaryConfig.metrics[1].scopeName",
        ),
        (
            "/standalone_canary_analysis",
            _standalone_scope(startTimeIso=iso(CLEAN.end_ms), endTimeIso=iso(CLEAN.start_ms)),
            "executionRequest.scopes[0].endTimeIso",
            "the end must be after the start",
        ),
        (
            "/standalone_canary_analysis",
            _standalone_scope(startTimeIso="yesterday"),
            "executionRequest.scopes[0].startTimeIso",
            "not an ISO-8601 instant",
        ),
        (
            "/standalone_canary_analysis",
            _standalone_scope(endTimeIso=None),
            "executionRequest.lifetimeDurationMins",
            "required",
        ),
        (
            "/standalone_canary_analysis",
            _standalone_scope(controlScope=""),
            "executionRequest.scopes[0].controlScope",
            "",
        ),
        (
            "/standalone_canary_analysis",
            _thresholds(_standalone()),
            "executionRequest.thresholds.marginal",
            "above pass",
        ),
        ("/standalone_canary_analysis", _standalone(canaryConfig=DELETE), "canaryConfig", "must be provided"),
        (
            "/standalone_canary_analysis",
            _standalone(executionRequest=DELETE),
            "executionRequest",
            "must be provided",
        ),
        (
            "/standalone_canary_analysis",
            _standalone(executionRequest={**standalone_request(CLEAN), "scopes": []}),
            "executionRequest.scopes",
            "non-empty list",
        ),
        ("/standalone_canary_analysis", [_standalone()], "body", "JSON object"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(server, path, sent, field, reason):
    before = len(httpx.get(f"{server.url}/api/v1/canary/analyses", params={"limit": 1000}).json()["analyses"])
    answer = httpx.post(f"{server.url}{path}", json=sent)
    kayenta_problem(answer, 400, field, reason)
    after = len(httpx.get(f"{server.url}/api/v1/canary/analyses", params={"limit": 1000}).json()["analyses"])
    assert after == before  # nothing was started


@pytest.mark.parametrize("path", ["/canary", "/standalone_canary_analysis", "/canaryConfig"])
@pytest.mark.parametrize("content", [b'{"canaryConfig": ', b"not json at all"])
def test_a_body_that_is_not_json_is_a_400(server, path, content):
    answer = httpx.post(f"{server.url}{path}", content=content, headers={"content-type": "application/json"})
    problem(answer, 400, "body", "malformed JSON")


@pytest.mark.parametrize(
    "path",
    [
        "/canary/{id}",
        "/canary/{id}-1",
        "/standalone_canary_analysis/{id}",
        "/api/v1/canary/analyses/{id}/verdict",
    ],
)
def test_an_unknown_id_is_a_404(server, path):
    missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    answer = httpx.get(f"{server.url}{path.format(id=missing)}")
    assert answer.status_code == 404, answer.text
    assert answer.json()["errors"][0]["field"] == "id"
    if not path.startswith("/api/"):
        assert f"No such object named {path.format(id=missing).split('/')[-1]}" in answer.json()["message"]


def test_ids_of_the_other_kind_are_not_found(server, clean_analysis):
    analysis_id = clean_analysis["pipelineId"]
    # A standalone analysis is not itself a /canary execution; its judgements are.
    assert httpx.get(f"{server.url}/canary/{analysis_id}").status_code == 404
    assert httpx.get(f"{server.url}/canary/{analysis_id}-4").status_code == 404
    assert httpx.get(f"{server.url}/canary/{analysis_id}-3").status_code == 200
    single = run_canary(server, {"canaryConfig": config(), "executionRequest": canary_request(CLEAN)})
    assert httpx.get(f"{server.url}/standalone_canary_analysis/{single['pipelineId']}").status_code == 404
    verdict = httpx.get(f"{server.url}/api/v1/canary/analyses/{single['pipelineId']}/verdict").json()
    assert (verdict["kind"], verdict["verdict"], verdict["score"]) == ("canary", "pass", 100.0)


@pytest.fixture(scope="module")
def missing_data(server: RunningServer) -> dict[str, Any]:
    sent = config()
    sent["metrics"] += [
        metric("cpu", "name,drm.cpu,:eq,:sum", "errors"),
        metric("absent", "name,drm.nothing,:eq,:sum", "errors"),
    ]
    return run_canary(server, {"canaryConfig": sent, "executionRequest": canary_request(CLEAN)})


@pytest.mark.parametrize("name", ["cpu", "absent"], ids=["all-nan", "no-series"])
def test_a_metric_without_data_is_nodata_with_the_reason(missing_data, name):
    assert missing_data["status"] == "succeeded"
    found = by_name(missing_data)[name]
    assert found["classification"] == "Nodata"
    assert found["classificationReason"] == f"Missing data for {name}"
    assert found["controlMetadata"]["stats"]["count"] == found["experimentMetadata"]["stats"]["count"] == 0
    assert by_name(missing_data)["latency"]["classification"] == "Pass"


# --- 5. the bearer token -------------------------------------------------------------------

TOKEN = "s3cret"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path_factory.mktemp("kayenta-token"), step_ms=STEP_MS, api_token=TOKEN)
    yield running
    running.stop()


def _writes() -> list[tuple[str, str, Any]]:
    return [
        ("POST", "/canaryConfig", config()),
        ("PUT", "/canaryConfig/some-id", config()),
        ("DELETE", "/canaryConfig/some-id", None),
        ("POST", "/canary", {"canaryConfig": config(), "executionRequest": canary_request(CLEAN)}),
        ("POST", "/canary/some-id", canary_request(CLEAN)),
        (
            "POST",
            "/standalone_canary_analysis",
            {"canaryConfig": config(), "executionRequest": standalone_request(CLEAN)},
        ),
        ("POST", "/standalone_canary_analysis/some-id", standalone_request(CLEAN)),
        ("POST", "/api/v1/canary/judge", {}),
    ]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "a bearer token is required"),
        ({"Authorization": "Bearer wrong"}, "the bearer token is not valid"),
    ],
    ids=["none", "wrong"],
)
@pytest.mark.parametrize(("method", "path", "sent"), _writes(), ids=[f"{m} {p}" for m, p, _ in _writes()])
def test_writes_without_the_token_are_a_401(guarded, method, path, sent, headers, reason):
    answer = httpx.request(method, f"{guarded.url}{path}", json=sent, headers=headers)
    problem(answer, 401, "authorization", reason)
    assert answer.headers["www-authenticate"] == "Bearer"


def test_with_the_token_writes_succeed_and_reads_need_none(guarded):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    sent = config()
    created = httpx.post(f"{guarded.url}/canaryConfig", json=sent, headers=auth)
    assert created.status_code == 200, created.text
    config_id = created.json()["canaryConfigId"]
    assert httpx.get(f"{guarded.url}/canaryConfig/{config_id}").json()["name"] == sent["name"]
    assert config_id in {entry["id"] for entry in httpx.get(f"{guarded.url}/canaryConfig").json()}
    started = httpx.post(f"{guarded.url}/canary/{config_id}", json=canary_request(CLEAN), headers=auth)
    assert started.status_code == 200, started.text
    execution_id = started.json()["canaryExecutionId"]
    assert httpx.get(f"{guarded.url}/canary/{execution_id}").status_code == 200
    assert httpx.get(f"{guarded.url}/api/v1/canary/analyses/{execution_id}/verdict").status_code == 200
    standalone = httpx.post(
        f"{guarded.url}/standalone_canary_analysis/{config_id}", json=standalone_request(CLEAN), headers=auth
    )
    assert standalone.status_code == 200, standalone.text
    analysis_id = standalone.json()["canaryAnalysisExecutionId"]
    assert httpx.get(f"{guarded.url}/standalone_canary_analysis/{analysis_id}").status_code == 200
    updated = httpx.put(f"{guarded.url}/canaryConfig/{config_id}", json=sent, headers=auth)
    assert updated.status_code == 200, updated.text
    assert httpx.delete(f"{guarded.url}/canaryConfig/{config_id}", headers=auth).status_code == 204


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (-1_000_000_000_000_000, -999_999_999_940_000, "executionRequest.scopes.default.controlScope.start"),
        (
            100_000_000_000_000_000,
            100_000_000_000_060_000,
            "executionRequest.scopes.default.controlScope.start",
        ),
        (
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:10:00Z",
            "executionRequest.scopes.default.controlScope.start",
        ),
    ],
    ids=["before-1970", "after-9999", "year-1"],
)
def test_an_instant_outside_the_writable_years_is_a_400_not_a_later_500(server, start, end, field):
    body = {"canaryConfig": config(), "executionRequest": canary_request(CLEAN)}
    for side in ("controlScope", "experimentScope"):
        body["executionRequest"]["scopes"]["default"][side].update({"start": start, "end": end})
    kayenta_problem(httpx.post(f"{server.url}/canary", json=body), 400, field, "1970")


def test_a_control_offset_out_of_the_years_is_a_400(server):
    request = standalone_request(CLEAN)
    request["scopes"][0]["controlOffsetInMinutes"] = 1e12
    answer = httpx.post(
        f"{server.url}/standalone_canary_analysis",
        json={"canaryConfig": config(), "executionRequest": request},
    )
    kayenta_problem(answer, 400, "executionRequest.scopes[0].controlOffsetInMinutes", "at most")


def test_kayenta_s_message_is_its_reason_without_our_field_prefix(server):
    answer = httpx.get(f"{server.url}/canaryConfig/no-such-config")
    assert answer.status_code == 404
    assert answer.json()["message"] == "No such object named no-such-config"


def test_a_stored_config_with_judge_and_kayenta_problems_lists_them_all(server):
    sent = config(name="has spaces", applications=[])
    sent["metrics"][0].pop("query")
    answer = httpx.post(f"{server.url}/canaryConfig", json=sent)
    assert answer.status_code == 400
    assert {e["field"] for e in answer.json()["errors"]} == {"name", "applications", "metrics[0].query"}


def test_the_canary_duration_is_the_window_s_length(server):
    status = run_canary(server, {"canaryConfig": config(), "executionRequest": canary_request(CLEAN)})
    assert status["result"]["canaryDuration"] == "PT30M"


@pytest.mark.parametrize(
    ("path", "change", "field"),
    [
        ("/canary", lambda b: b.update(canaryConfig="abc"), "canaryConfig"),
        ("/standalone_canary_analysis", lambda b: b.update(canaryConfig=5), "canaryConfig"),
        (
            "/standalone_canary_analysis",
            lambda b: b["executionRequest"].update(lifetimeDurationMins=1e305),
            "executionRequest.lifetimeDurationMins",
        ),
        (
            "/standalone_canary_analysis",
            lambda b: b["executionRequest"].update(analysisIntervalMins=1e305),
            "executionRequest.analysisIntervalMins",
        ),
        (
            "/standalone_canary_analysis",
            lambda b: b["executionRequest"]["scopes"][0].update(step=1e306),
            "executionRequest.scopes[0].step",
        ),
        (
            "/standalone_canary_analysis",
            lambda b: b["executionRequest"]["scopes"][0].update(extendedScopeParams={"type": []}),
            "executionRequest.scopes[0].extendedScopeParams.type",
        ),
        (
            "/standalone_canary_analysis",
            lambda b: b["executionRequest"]["scopes"][0].update(extendedScopeParams={"tagKey": "a\\"}),
            "executionRequest.scopes[0].extendedScopeParams.tagKey",
        ),
        (
            "/standalone_canary_analysis",
            lambda b: b["executionRequest"].update(scopes=b["executionRequest"]["scopes"] * 21),
            "executionRequest.scopes",
        ),
        (
            "/canary",
            lambda b: b["executionRequest"]["scopes"]["default"]["controlScope"].update(step=1e306),
            "executionRequest.scopes.default.controlScope.step",
        ),
    ],
    ids=[
        "config-a-string",
        "config-a-number",
        "huge-lifetime",
        "huge-interval",
        "huge-step",
        "scope-type-a-list",
        "tag-key-backslash",
        "too-many-scopes",
        "canary-huge-step",
    ],
)
def test_odd_values_are_400s_naming_the_field_never_500s(server, path, change, field):
    request = canary_request(CLEAN) if path == "/canary" else standalone_request(CLEAN)
    body = {"canaryConfig": config(), "executionRequest": request}
    change(body)
    kayenta_problem(httpx.post(f"{server.url}{path}", json=body), 400, field)
