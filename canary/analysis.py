"""Canary analyses as durable records: their judgements, states, and the final verdict.

A single ``/canary`` execution is an analysis with one judgement; a standalone analysis
has N. Records are plain JSON (kept in the store's ``documents`` table by the runner) so a
restart finds every analysis as it was. States follow Orca's names: ``NOT_STARTED``,
``RUNNING``, ``SUCCEEDED``, ``TERMINAL``.

The final verdict follows Kayenta's ``GenerateCanaryAnalysisResultTask``: a judgement
whose score is at or below marginal stops the analysis (TERMINAL); the last score alone
decides ``didPassThresholds``; a judgement that failed counts 0.0. So an analysis can
have SUCCEEDED and still not have passed (its last score sat between marginal and pass):
that is the ``marginal`` verdict.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from canary.scopes import ScopePair, ScopeWindow
from canary.scorer import Thresholds

__all__ = ["Analysis", "Judgement", "final_result", "new_id", "verdict"]

SMALL_SAMPLE_WARNING = (
    "One of the metrics returned fewer than 50 data points, "
    "which can reduce confidence in the final canary score."
)
EARLY_STOP = "Canary score is not above the marginal score threshold."
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(now_ms: int | None = None) -> str:
    """A ULID (26 characters, Crockford base 32): ids sort by the time they were made, as Orca's do."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    number = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(number >> (5 * i)) & 31] for i in reversed(range(26)))


@dataclass
class Judgement:
    """One judgement of an analysis; ``result`` is Kayenta's ``CanaryResult`` once it ran."""

    index: int
    execution_id: str
    scopes: dict[str, ScopePair]
    due_ms: int
    status: str = "NOT_STARTED"
    result: dict[str, Any] | None = None
    score: float | None = None
    warnings: list[str] = field(default_factory=list)
    exception: str | None = None
    message: str | None = None  # the run stage's canaryScoreMessage: set when it stopped the analysis
    started_ms: int | None = None
    ended_ms: int | None = None


@dataclass
class Analysis:
    """A canary analysis (``kind`` ``canary`` or ``standalone``) and everything it has found."""

    id: str
    kind: str
    config: dict[str, Any]
    request: dict[str, Any]
    thresholds: Thresholds
    judgements: list[Judgement]
    created_ms: int
    application: str = "ad-hoc"
    user: str = "anonymous"
    parent_pipeline_execution_id: str | None = None
    config_id: str | None = None
    status: str = "RUNNING"
    ended_ms: int | None = None
    result: dict[str, Any] | None = None

    @property
    def complete(self) -> bool:
        return self.status in ("SUCCEEDED", "TERMINAL")

    def next_judgement(self) -> Judgement | None:
        """The first judgement not yet done, when the analysis is still running."""
        if self.complete:
            return None
        return next((j for j in self.judgements if j.status in ("NOT_STARTED", "RUNNING")), None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(raw: dict[str, Any]) -> Analysis:
        """An analysis from :meth:`to_json`'s form; keys a later version added are ignored."""

        def known(cls: type, values: dict[str, Any]) -> dict[str, Any]:
            names = {f.name for f in fields(cls)}
            return {k: v for k, v in values.items() if k in names}

        def window(w: dict[str, Any]) -> ScopeWindow:
            return ScopeWindow(**known(ScopeWindow, w))

        judgements = [
            Judgement(
                **{
                    **known(Judgement, j),
                    "scopes": {
                        name: ScopePair(window(p["control"]), window(p["experiment"]))
                        for name, p in j["scopes"].items()
                    },
                }
            )
            for j in raw["judgements"]
        ]
        thresholds = Thresholds(raw["thresholds"]["pass_"], raw["thresholds"]["marginal"])
        return Analysis(**{**known(Analysis, raw), "thresholds": thresholds, "judgements": judgements})


def judgement_warnings(result: dict[str, Any]) -> list[str]:
    """Kayenta's one warning: a metric with fewer than 50 control points."""
    counts = [
        r.get("controlMetadata", {}).get("stats", {}).get("count", 0)
        for r in result["judgeResult"]["results"]
    ]
    return [SMALL_SAMPLE_WARNING] if any(count < 50 for count in counts) else []


def java_double(value: float) -> str:
    """A score as Java's ``Double.toString`` prints it in the range scores take (``100.0``, ``85.5``)."""
    text = repr(float(value))
    return text if "." in text or "e" in text else f"{text}.0"


def final_result(analysis: Analysis) -> dict[str, Any]:
    """``canaryAnalysisExecutionResult``: the scores so far and the verdict from the last one."""
    ran = [j for j in analysis.judgements if j.status in ("SUCCEEDED", "TERMINAL")]
    scores = [0.0 if j.score is None else j.score for j in ran]
    marginal, passing = analysis.thresholds.marginal, analysis.thresholds.pass_
    if not scores:
        passed, message = False, "There were no successful canary judgements to aggregate"
    else:
        last = java_double(scores[-1])
        if scores[-1] <= marginal:
            passed, message = False, f"Final canary score {last} is not above the marginal score threshold."
        elif scores[-1] < passing:
            passed, message = False, f"Final canary score {last} is below the pass score threshold."
        else:
            passed, message = True, f"Final canary score {last} met or exceeded the pass score threshold."
    return {
        "didPassThresholds": passed,
        "hasWarnings": any(j.warnings for j in ran),
        "canaryScoreMessage": message,
        "canaryScores": scores,
    }


def verdict(analysis: Analysis) -> dict[str, Any]:
    """The short answer for scripts: ``{verdict: pass|marginal|fail|running, score, reasons}``."""
    if not analysis.complete:
        return {"verdict": "running", "score": None, "reasons": []}
    result = analysis.result or final_result(analysis)
    scores = result["canaryScores"]
    score = scores[-1] if scores else None
    if result["didPassThresholds"]:
        word = "pass"
    elif analysis.status == "SUCCEEDED" and score is not None and score > analysis.thresholds.marginal:
        word = "marginal"
    else:
        word = "fail"
    reasons = [result["canaryScoreMessage"]]
    for judgement in analysis.judgements:
        for said in (judgement.exception, judgement.message):
            if said:
                reasons.append(f"judgement {judgement.index}: {said}")
    last = next((j for j in reversed(analysis.judgements) if j.result is not None), None)
    if last is not None and word != "pass":
        judged = last.result["judgeResult"] if last.result else {}
        reason = judged.get("score", {}).get("classificationReason")
        if reason:
            reasons.append(reason)
        for metric in judged.get("results", []):
            if metric["classification"] != "Pass" and not metric.get("muted"):
                critical = " (critical)" if metric.get("critical") else ""
                line = f"{metric['name']}: {metric['classification']}{critical}"
                # High and Low reasons only repeat that line; missing data and errors say more.
                if metric["classification"] not in ("High", "Low") and metric.get("classificationReason"):
                    line += f": {metric['classificationReason']}"
                reasons.append(line)
    return {"verdict": word, "score": score, "reasons": reasons}
