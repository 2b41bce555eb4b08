"""The canary API (canary-judge.md §7); so far ``POST /api/v1/canary/judge``.

``{canaryConfig, thresholds: {pass, marginal}, metricSetPairList}`` → the ``judgeResult`` at
once. Thresholds may instead come from the config's ``classifier.scoreThresholds``. Every
bad field answers 400 naming it (``canaryConfig.metrics[0].query.q``).
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter

from canary.config import ConfigError, load_canary_config
from canary.judge import JudgeError, judge, read_pairs
from canary.scorer import Thresholds
from sample_services.errors import ServiceError

__all__ = ["canary_router"]


def _thresholds(raw: object, configured: tuple[float, float] | None) -> Thresholds:
    if raw is None:
        if configured is None:
            raise ServiceError(400, "thresholds", "required (or classifier.scoreThresholds in the config)")
        return Thresholds(*configured)
    if not isinstance(raw, dict):
        raise ServiceError(400, "thresholds", "expected {pass, marginal}")
    values = []
    for key in ("pass", "marginal"):
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ServiceError(400, f"thresholds.{key}", "expected a number")
        if not 0 <= value <= 100:
            raise ServiceError(400, f"thresholds.{key}", f"{value} is outside [0, 100]")
        values.append(float(value))
    if values[1] > values[0]:
        raise ServiceError(400, "thresholds.marginal", "must not be above pass")
    return Thresholds(values[0], values[1])


def canary_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/canary", tags=["canary"])

    @router.post("/judge")
    def judge_now(body: dict[str, Any]) -> dict[str, Any]:
        try:
            config = load_canary_config(body.get("canaryConfig"))
        except ConfigError as exc:
            path, reason = exc.problems[0]
            detail = "; ".join(f"{p}: {r}" for p, r in exc.problems)
            raise ServiceError(
                400, f"canaryConfig.{path}".rstrip("."), reason if len(exc.problems) == 1 else detail
            ) from None
        thresholds = _thresholds(body.get("thresholds"), config.score_thresholds)
        try:
            return judge(config, read_pairs(body.get("metricSetPairList")), thresholds)
        except JudgeError as exc:
            raise ServiceError(400, exc.field, exc.reason) from None

    return router
