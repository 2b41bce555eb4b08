"""``POST /api/v1/canary/judge`` on a real server: the judgeResult, and every bad field named."""

from __future__ import annotations

import copy

import httpx
import pytest

from tests.canary.test_classifier import S1, S2, S3
from tests.canary.test_config import CONFIG
from tests.support.server import RunningServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = RunningServer(tmp_path_factory.mktemp("canary"))
    yield running
    running.stop()


def body(errors_experiment=S1):
    return {
        "canaryConfig": copy.deepcopy(CONFIG),
        "thresholds": {"pass": 95, "marginal": 75},
        "metricSetPairList": [
            {
                "name": "license errors",
                "id": "1",
                "tags": {},
                "values": {"control": S2, "experiment": errors_experiment},
            },
            {"name": "license p99", "id": "2", "tags": {}, "values": {"control": S1, "experiment": S2}},
        ],
    }


def test_a_judgement_answers_at_once(server):
    passed = httpx.post(f"{server.url}/api/v1/canary/judge", json=body()).json()
    assert passed["score"]["classification"] == "Pass" and passed["score"]["score"] == 100.0
    failed = httpx.post(f"{server.url}/api/v1/canary/judge", json=body(S3)).json()
    assert failed["score"]["classification"] == "Fail"
    assert [r["classification"] for r in failed["results"]] == ["High", "Pass"]


def _broken(path, value):
    sent = body()
    node = sent
    *parents, last = path
    for part in parents:
        node = node[part]
    node[last] = value
    return sent


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        (
            _broken(("canaryConfig", "metrics", 0, "query", "q"), "name,x,:eq,:nope"),
            "canaryConfig.metrics[0].query.q",
        ),
        (_broken(("thresholds", "pass"), "high"), "thresholds.pass"),
        (_broken(("thresholds", "marginal"), 99), "thresholds.marginal"),
        (_broken(("metricSetPairList", 1, "name"), "cpu"), "metricSetPairList[1].name"),
        (_broken(("metricSetPairList",), "all"), "metricSetPairList"),
        ({"thresholds": {"pass": 95, "marginal": 75}}, "canaryConfig"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(server, sent, field):
    answer = httpx.post(f"{server.url}/api/v1/canary/judge", json=sent)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["field"] == field
