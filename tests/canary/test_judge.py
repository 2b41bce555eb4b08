"""The judge end to end: metric-set pairs + config → Kayenta's judgeResult."""

from __future__ import annotations

import copy
import json

import pytest

from canary.config import load_canary_config
from canary.judge import JudgeError, judge, read_pairs
from canary.scorer import Thresholds
from tests.canary.test_classifier import S1, S2, S3
from tests.canary.test_config import CONFIG

THRESHOLDS = Thresholds(pass_=95.0, marginal=75.0)


def pair(name, control, experiment):
    return {
        "name": name,
        "id": f"id-{name}",
        "tags": {"status_class": "5xx"},
        "values": {"control": control, "experiment": experiment},
    }


def test_a_critical_regression_fails_the_canary_with_kayentas_shape():
    config = load_canary_config(CONFIG)
    pairs = read_pairs(
        [pair("license errors", S2, S3), pair("license p99", S1, S2), pair("error logs", S2, S1)]
    )
    result = judge(config, pairs, THRESHOLDS)
    json.dumps(result)  # the answer is plain JSON
    assert result["judgeName"] == "NetflixACAJudge-v1.0"
    by_name = {r["name"]: r for r in result["results"]}
    assert (
        by_name["license errors"]["classification"] == "High"
        and by_name["license errors"]["critical"] is True
    )
    assert by_name["license p99"]["classification"] == "Pass"
    assert result["score"]["score"] == 0.0 and result["score"]["classification"] == "Fail"
    assert result["score"]["classificationReason"].startswith("Canary Failed: ")
    stats = by_name["license p99"]["controlMetadata"]["stats"]
    assert stats["count"] == 30 and stats["mean"] == pytest.approx(sum(S1) / 30)
    assert {"lower", "upper", "estimate", "p_value"} <= set(by_name["license p99"]["resultMetadata"])


def test_without_the_regression_the_canary_passes_and_groups_are_weighted():
    config = load_canary_config(CONFIG)
    pairs = read_pairs(
        [pair("license errors", S1, S2), pair("license p99", S1, S2), pair("error logs", S2, S1)]
    )
    result = judge(config, pairs, THRESHOLDS)
    assert result["score"] == {"score": 100.0, "classification": "Pass", "classificationReason": ""}
    assert [(g["name"], g["score"]) for g in result["groupScores"]] == [("errors", 100.0), ("latency", 100.0)]


def test_nan_values_and_a_side_without_series():
    config = load_canary_config(CONFIG)
    [only] = read_pairs([pair("error logs", [], [1.0, "NaN", None])])
    assert only.control.size == 3
    result = judge(config, [only], THRESHOLDS)
    assert result["results"][0]["classification"] == "Nodata"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"values": {}}, "metricSetPairList[0].name"),
        (pair("error logs", ["x"], [1.0]), "metricSetPairList[0].values.control[0]"),
        (pair("error logs", 5, [1.0]), "metricSetPairList[0].values.control"),
    ],
)
def test_bad_pairs_name_the_field(raw, field):
    with pytest.raises(JudgeError) as caught:
        read_pairs([raw])
    assert caught.value.field == field


def test_an_unmatched_pair_fails_the_whole_judgement():
    config = load_canary_config(copy.deepcopy(CONFIG))
    with pytest.raises(JudgeError) as caught:
        judge(config, read_pairs([pair("cpu", [1.0], [2.0])]), THRESHOLDS)
    assert (
        caught.value.field == "metricSetPairList[0].name" and "no metric named 'cpu'" in caught.value.reason
    )
