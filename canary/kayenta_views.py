"""Analyses as Kayenta's status responses, field by field (null fields left out, as Kayenta does).

``GET /canary/{id}`` answers ``CanaryExecutionStatusResponse`` (lowercase ``status``, a
``stageStatus`` map, ``result`` once it succeeded); ``GET /standalone_canary_analysis/{id}``
answers ``CanaryAnalysisExecutionStatusResponse`` (uppercase ``executionStatus`` with its
lowercase copy ``status``, ``stageStatus`` a list, ``canaryAnalysisExecutionResult`` once
complete). Watchfloor adds ``progress`` to the standalone answer while it runs.
"""

from __future__ import annotations

from typing import Any

from canary.analysis import Analysis, Judgement, final_result
from canary.scopes import ScopeWindow, iso

__all__ = ["canary_status", "standalone_status"]


def _times(prefix: str, ms: int | None) -> dict[str, Any]:
    return {} if ms is None else {f"{prefix}Millis": ms, f"{prefix}Iso": iso(ms)}


def _exception(message: str | None) -> dict[str, Any]:
    return {} if message is None else {"exception": {"details": {"errors": [message]}}}


def _scope(window: ScopeWindow) -> dict[str, Any]:
    params = {} if window.key == "nf.cluster" else {"tagKey": window.key}
    return {
        "scope": window.scope,
        "location": window.location,
        "start": iso(window.start_ms),
        "end": iso(window.end_ms),
        "step": window.step_ms / 1000,
        "extendedScopeParams": params,
    }


def _execution_request(analysis: Analysis, judgement: Judgement) -> dict[str, Any]:
    return {
        "scopes": {
            name: {"controlScope": _scope(p.control), "experimentScope": _scope(p.experiment)}
            for name, p in judgement.scopes.items()
        },
        "thresholds": {"pass": analysis.thresholds.pass_, "marginal": analysis.thresholds.marginal},
    }


def canary_status(analysis: Analysis, judgement: Judgement) -> dict[str, Any]:
    """One judgement as Kayenta's single-run execution status."""
    complete = judgement.status in ("SUCCEEDED", "TERMINAL")
    # Waiting for its window to settle is part of running, as Kayenta's pipeline would say.
    status = (
        "running" if judgement.status == "NOT_STARTED" and not analysis.complete else judgement.status.lower()
    )
    answer: dict[str, Any] = {
        "application": analysis.application,
        "pipelineId": judgement.execution_id,
        "stageStatus": {"judge": status},
        "complete": complete,
        "status": status,
        **_exception(judgement.exception),
        "config": analysis.config,
        "canaryConfigId": analysis.config_id or "ad-hoc",
        "canaryExecutionRequest": _execution_request(analysis, judgement),
        **_times("buildTime", analysis.created_ms),
        **_times("startTime", judgement.started_ms),
        **_times("endTime", judgement.ended_ms),
    }
    if analysis.parent_pipeline_execution_id:
        answer["parentPipelineExecutionId"] = analysis.parent_pipeline_execution_id
    # Kayenta answers the result only when the execution succeeded; an early-stopped judgement
    # of a standalone analysis did produce one, and it is the evidence, so it is shown too.
    if judgement.result is not None:
        answer["result"] = judgement.result
    return answer


def _execution_result(judgement: Judgement) -> dict[str, Any]:
    first = next(iter(judgement.scopes.values())).control
    answer: dict[str, Any] = {
        "executionId": judgement.execution_id,
        "executionStatus": judgement.status,
        **_exception(judgement.exception),
        "judgementStartTimeIso": iso(first.start_ms),
        "judgementStartTimeMillis": first.start_ms,
        "judgementEndTimeIso": iso(first.end_ms),
        "judgementEndTimeMillis": first.end_ms,
        "warnings": list(judgement.warnings),
        **_times("startTime", judgement.started_ms),
        **_times("endTime", judgement.ended_ms),
    }
    if judgement.result is not None:
        answer["result"] = judgement.result
    return answer


def standalone_status(analysis: Analysis) -> dict[str, Any]:
    """A standalone analysis as Kayenta's ``CanaryAnalysisExecutionStatusResponse``."""
    stages = [
        {
            "type": "runCanary",
            "name": f"Run Canary #{j.index}",
            # The run stage ends TERMINAL when its score stopped the analysis.
            "status": "TERMINAL" if j.message else j.status,
            "executionId": j.execution_id,
        }
        # Kayenta drops the stages an early stop left unstarted.
        for j in analysis.judgements
        if not (analysis.complete and j.status == "NOT_STARTED")
    ]
    stages.append(
        {
            "type": "generateCanaryAnalysisResultStage",
            "name": "Aggregates and evaluates the canary executions and generates the final results.",
            "status": "SUCCEEDED" if analysis.complete else "NOT_STARTED",
        }
    )
    exception = next((j.exception for j in analysis.judgements if j.exception), None)
    answer: dict[str, Any] = {
        "application": analysis.application,
        "user": analysis.user,
        "pipelineId": analysis.id,
        "stageStatus": stages,
        "complete": analysis.complete,
        "executionStatus": analysis.status,
        "status": analysis.status.lower(),
        **_exception(exception),
        "canaryAnalysisExecutionRequest": analysis.request,
        "canaryConfig": analysis.config,
        **_times("buildTime", analysis.created_ms),
        **_times("startTime", analysis.created_ms),
        **_times("endTime", analysis.ended_ms),
    }
    if analysis.parent_pipeline_execution_id:
        answer["parentPipelineExecutionId"] = analysis.parent_pipeline_execution_id
    if analysis.config_id:
        answer["canaryConfigId"] = analysis.config_id
    ran = [j for j in analysis.judgements if j.status in ("SUCCEEDED", "TERMINAL")]
    if analysis.complete:
        result = analysis.result or final_result(analysis)
        answer["canaryAnalysisExecutionResult"] = {
            **result,
            "canaryExecutionResults": [_execution_result(j) for j in ran],
        }
    else:
        upcoming = analysis.next_judgement()
        answer["progress"] = {
            "judgementsDone": len(ran),
            "judgementsTotal": len(analysis.judgements),
            "canaryScores": [j.score for j in ran],
            **({"nextJudgementDueIso": iso(upcoming.due_ms)} if upcoming is not None else {}),
        }
    return answer
