"""Watchfloor's own canary API, beside Kayenta's (``console/api/kayenta.py``).

- ``POST /api/v1/canary/judge``: ``{canaryConfig, thresholds: {pass, marginal},
  metricSetPairList}`` → the ``judgeResult`` at once. Thresholds may instead come from the
  config's ``classifier.scoreThresholds``.
- ``GET /api/v1/canary/analyses/{id}/verdict`` → ``{id, kind, verdict: pass|marginal|fail|running,
  score, reasons}`` for scripts, for a standalone analysis or a single execution.
- ``GET /api/v1/canary/analyses?limit=`` → the newest analyses with their verdicts.

Every bad field answers 400 naming it (``canaryConfig.metrics[0].query.q``); a config with
several problems lists them all in ``errors``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from canary.config import ConfigError, load_canary_config
from canary.judge import JudgeError, judge, read_pairs
from canary.requests import read_thresholds
from canary.scopes import RequestError
from canary.service import CanaryService
from sample_services.errors import ServiceError, error_response

__all__ = ["canary_router"]


def canary_router(service: CanaryService) -> APIRouter:
    router = APIRouter(prefix="/api/v1/canary", tags=["canary"])

    @router.post("/judge")
    def judge_now(body: dict[str, Any]) -> Any:
        try:
            config = load_canary_config(body.get("canaryConfig"))
        except ConfigError as exc:
            return error_response(400, [(f"canaryConfig.{p}".rstrip("."), r) for p, r in exc.problems])
        try:
            thresholds = read_thresholds(body.get("thresholds"), config.score_thresholds, "thresholds")
            return judge(config, read_pairs(body.get("metricSetPairList")), thresholds)
        except (JudgeError, RequestError) as exc:
            raise ServiceError(400, exc.field, exc.reason) from None

    @router.get("/analyses")
    def analyses(limit: int = Query(50, ge=1, le=1000)) -> dict[str, Any]:
        return {"analyses": service.recent(limit)}

    @router.get("/analyses/{analysis_id}/verdict")
    def verdict(analysis_id: str) -> Any:
        found = service.verdict(analysis_id)
        if found is None:
            return error_response(404, [("id", f"no canary analysis {analysis_id!r}")])
        return found

    return router
