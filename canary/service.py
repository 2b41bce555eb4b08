"""The canary service the API calls: start analyses, answer their status and verdicts.

A ``/canary`` execution is an analysis of kind ``canary`` with one judgement whose
execution id is the analysis id. A standalone analysis's judgement i has the execution id
``<analysis id>-<i>``, readable through ``GET /canary/{id}`` as Kayenta's child
executions are.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from canary.analysis import Analysis, Judgement, new_id, verdict
from canary.config import CanaryConfig, ConfigError, load_canary_config
from canary.config_store import ConfigStore
from canary.kayenta_views import canary_status, standalone_status
from canary.requests import read_canary_request, read_standalone_request
from canary.runner import CanaryRunner
from canary.scopes import RequestError
from canary.scorer import Thresholds

__all__ = ["CanaryService", "NotFound", "StartOptions"]

StartOptions = Mapping[str, str | None]  # application, user, parentPipelineExecutionId


class NotFound(LookupError):
    """An id that names nothing stored (answered 404)."""


def _text(options: StartOptions, key: str, default: str | None) -> str | None:
    value = options.get(key)
    return value if value else default


class CanaryService:
    """Analyses over the runner and configs over the config store."""

    def __init__(
        self,
        runner: CanaryRunner,
        configs: ConfigStore,
        *,
        step_ms: int,
        settle_ms: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.runner = runner
        self.configs = configs
        self._step_ms = step_ms
        self._settle_ms = settle_ms
        self._clock = clock

    def _config(self, raw: object, config_id: str | None) -> tuple[dict[str, Any], CanaryConfig]:
        """The config to use: ad hoc from the body, or the stored one (404 via LookupError)."""
        if config_id is not None:
            stored = self.configs.get(config_id)
            if stored is None:
                raise NotFound(f"No such object named {config_id}")
            raw = stored
        elif raw is None:
            raise RequestError("canaryConfig", "canaryConfig must be provided for ad-hoc requests")
        if not isinstance(raw, Mapping):
            raise RequestError("canaryConfig", "expected a JSON object (a Kayenta canary config)")
        try:
            return dict(raw), load_canary_config(raw)
        except ConfigError as exc:
            raise ConfigError([(f"canaryConfig.{p}".rstrip("."), r) for p, r in exc.problems]) from None

    def start_canary(
        self, raw_config: object, request: object, options: StartOptions, *, config_id: str | None = None
    ) -> str:
        """Start one judgement (``POST /canary``); answers its execution id (the analysis id)."""

        def plan(config: CanaryConfig, now_ms: int, analysis_id: str) -> tuple[list[Judgement], Thresholds]:
            found, thresholds = read_canary_request(
                request, config, default_step_ms=self._step_ms, settle_ms=self._settle_ms, now_ms=now_ms
            )
            return [Judgement(1, analysis_id, dict(found.scopes), found.due_ms)], thresholds

        return self._start("canary", raw_config, request, options, config_id, plan)

    def start_standalone(
        self, raw_config: object, request: object, options: StartOptions, *, config_id: str | None = None
    ) -> str:
        """Start a multi-interval analysis (``POST /standalone_canary_analysis``)."""

        def plan(config: CanaryConfig, now_ms: int, analysis_id: str) -> tuple[list[Judgement], Thresholds]:
            found, thresholds, _ = read_standalone_request(
                request, config, default_step_ms=self._step_ms, settle_ms=self._settle_ms, now_ms=now_ms
            )
            judgements = [
                Judgement(i, f"{analysis_id}-{i}", dict(p.scopes), p.due_ms) for i, p in enumerate(found, 1)
            ]
            return judgements, thresholds

        return self._start("standalone", raw_config, request, options, config_id, plan)

    def _start(
        self,
        kind: str,
        raw_config: object,
        request: object,
        options: StartOptions,
        config_id: str | None,
        plan: Callable[[CanaryConfig, int, str], tuple[list[Judgement], Thresholds]],
    ) -> str:
        raw, config = self._config(raw_config, config_id)
        if request is None:
            raise RequestError("executionRequest", "executionRequest must be provided")
        now_ms = int(self._clock() * 1000)
        analysis_id = new_id(now_ms)
        judgements, thresholds = plan(config, now_ms, analysis_id)
        self.runner.submit(
            Analysis(
                id=analysis_id,
                kind=kind,
                config=raw,
                request=dict(request) if isinstance(request, Mapping) else {},
                thresholds=thresholds,
                judgements=judgements,
                created_ms=now_ms,
                application=_text(options, "application", "ad-hoc") or "ad-hoc",
                user=_text(options, "user", "anonymous") or "anonymous",
                parent_pipeline_execution_id=_text(options, "parentPipelineExecutionId", None),
                config_id=config_id,
            )
        )
        return analysis_id

    def canary_status(self, execution_id: str) -> dict[str, Any] | None:
        """``GET /canary/{id}``: a single execution or one judgement of a standalone analysis."""
        analysis_id = execution_id.partition("-")[0]
        analysis = self.runner.get(analysis_id)
        if analysis is None:
            return None
        judgement = next((j for j in analysis.judgements if j.execution_id == execution_id), None)
        return None if judgement is None else canary_status(analysis, judgement)

    def standalone_status(self, analysis_id: str) -> dict[str, Any] | None:
        analysis = self.runner.get(analysis_id)
        return None if analysis is None or analysis.kind != "standalone" else standalone_status(analysis)

    def verdict(self, analysis_id: str) -> dict[str, Any] | None:
        analysis = self.runner.get(analysis_id)
        return None if analysis is None else {"id": analysis.id, "kind": analysis.kind, **verdict(analysis)}

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """Newest first: id, kind, status, config name and applications, scopes, created time and verdict."""
        return [
            {
                "id": a.id,
                "kind": a.kind,
                "status": a.status,
                "configName": a.config.get("name"),
                "application": a.application,
                # What the analysis compares, so a console can tie it to a service and clusters.
                "applications": [str(x) for x in a.config.get("applications") or []],
                "scopes": {
                    name: {"control": pair.control.scope, "experiment": pair.experiment.scope}
                    for name, pair in (a.judgements[0].scopes.items() if a.judgements else ())
                },
                "createdMs": a.created_ms,
                **verdict(a),
            }
            for a in self.runner.recent(limit)
        ]
