"""``NetflixACAJudge-v1.0``: metric-set pairs and a canary config → Kayenta's ``judgeResult``.

Each pair ``{name, id, tags, values: {control, experiment}}`` is matched to its metric
config by name (an unmatched pair fails the whole judgement), classified
(:func:`canary.classifier.classify`) and scored (:func:`canary.scorer.score_canary`).
Values are numbers, ``"NaN"`` or null (NaN); a side with no values at all is padded with
NaN to the other side's length (canary-judge.md §1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from canary.classifier import MetricClassification, classify
from canary.config import JUDGE_NAME, CanaryConfig
from canary.scorer import ScoredMetric, Thresholds, score_canary

__all__ = ["JudgeError", "MetricSetPair", "judge", "read_pairs"]


class JudgeError(ValueError):
    """Input the judge cannot use; ``field`` names it (``metricSetPairList[2].name``)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MetricSetPair:
    name: str
    id: str
    tags: Mapping[str, str]
    control: npt.NDArray[np.float64]
    experiment: npt.NDArray[np.float64]


def _values(raw: object, field: str) -> npt.NDArray[np.float64]:
    if raw is None:
        return np.zeros(0)
    if not isinstance(raw, list):
        raise JudgeError(field, "expected a list of numbers")
    out = np.empty(len(raw))
    for i, value in enumerate(raw):
        if value is None or value == "NaN":
            out[i] = math.nan
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise JudgeError(f"{field}[{i}]", 'expected a number, null or "NaN"')
        else:
            out[i] = float(value)
    return out


def read_pairs(raw: object) -> list[MetricSetPair]:
    """Kayenta's ``metricSetPairList`` JSON; raises :class:`JudgeError` naming the bad field."""
    if not isinstance(raw, list):
        raise JudgeError("metricSetPairList", "expected a list")
    pairs = []
    for i, item in enumerate(raw):
        where = f"metricSetPairList[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise JudgeError(f"{where}.name", "expected an object with a name")
        values = item.get("values", {})
        if not isinstance(values, Mapping):
            raise JudgeError(f"{where}.values", "expected {control, experiment}")
        control = _values(values.get("control"), f"{where}.values.control")
        experiment = _values(values.get("experiment"), f"{where}.values.experiment")
        # One side without any series is padded with NaN to the other side's length.
        if control.size == 0:
            control = np.full(experiment.size, math.nan)
        elif experiment.size == 0:
            experiment = np.full(control.size, math.nan)
        tags = item.get("tags") or {}
        pairs.append(
            MetricSetPair(
                item["name"],
                str(item.get("id", "")),
                {str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {},
                control,
                experiment,
            )
        )
    return pairs


def _stats(stats: Mapping[str, float]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in stats.items()}


def _result(
    pair: MetricSetPair, groups: Sequence[str], muted: bool, found: MetricClassification
) -> dict[str, Any]:
    return {
        "name": pair.name,
        "id": pair.id,
        "tags": dict(pair.tags),
        "groups": list(groups),
        "classification": found.classification,
        "classificationReason": found.reason,
        "critical": found.critical,
        "muted": muted,
        "resultMetadata": dict(found.result_metadata),
        "experimentMetadata": {"stats": _stats(found.experiment_stats)},
        "controlMetadata": {"stats": _stats(found.control_stats)},
        "warnings": list(found.warnings),
    }


def judge(config: CanaryConfig, pairs: Sequence[MetricSetPair], thresholds: Thresholds) -> dict[str, Any]:
    """Kayenta's ``judgeResult`` for ``pairs`` under ``config``; raises :class:`JudgeError`."""
    by_name = {m.name: m for m in config.metrics}
    results, scored = [], []
    for i, pair in enumerate(pairs):
        metric = by_name.get(pair.name)
        if metric is None:
            raise JudgeError(
                f"metricSetPairList[{i}].name", f"no metric named {pair.name!r} in the canary config"
            )
        found = classify(
            pair.name,
            pair.control,
            pair.experiment,
            metric.settings,
            tolerance=config.tolerance,
            confidence=config.confidence,
            fail_on_error=config.fail_on_error,
        )
        muted = metric.settings.muted
        results.append(_result(pair, metric.groups, muted, found))
        scored.append(
            ScoredMetric(pair.name, metric.groups, found.classification, found.reason, found.critical, muted)
        )
    score = score_canary(scored, thresholds, config.group_weights, fail_on_error=config.fail_on_error)
    return {
        "judgeName": JUDGE_NAME,
        "results": results,
        "groupScores": [
            {
                "name": g.name,
                "score": g.score,
                "noData": g.no_data,
                "classification": "",
                "classificationReason": "",
            }
            for g in score.groups
        ],
        "score": {
            "score": score.score,
            "classification": score.classification,
            "classificationReason": score.reason or "",
        },
    }
