"""Kayenta's REST API, so release tooling written for Kayenta works unchanged (canary-judge.md §7).

``POST /canary[/{configId}]`` → ``{canaryExecutionId}``; ``GET /canary/{id}``;
``POST /standalone_canary_analysis[/{configId}]`` → ``{canaryAnalysisExecutionId}``;
``GET /standalone_canary_analysis/{id}``; ``/canaryConfig`` CRUD. Errors answer
Kayenta's ``{"message"}`` together with Watchfloor's ``{"detail", "errors": [{field,
reason}]}``: 400 for bad input (every config problem listed), 404 for an unknown id.
Query parameters Kayenta takes for its accounts are accepted and ignored: there is one
store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import JSONResponse

from canary.config import ConfigError
from canary.config_store import ConfigConflict
from canary.scopes import RequestError
from canary.service import CanaryService, NotFound, StartOptions
from sample_services.errors import error_response

__all__ = ["kayenta_router"]

JsonBody = Annotated[Any, Body()]


class Starter(Protocol):
    def __call__(
        self, raw_config: object, request: object, options: StartOptions, *, config_id: str | None = None
    ) -> str: ...


def _problem(status: int, problems: list[tuple[str, str]]) -> JSONResponse:
    # Kayenta's own clients show ``message`` as it is: the reasons, as Kayenta words them.
    message = "; ".join(reason for _, reason in problems)
    return error_response(status, problems, extra={"message": message})


def _answer(work: Callable[[], Any]) -> Any:
    """Run ``work``; bad input becomes 400 naming the fields, an unknown id 404."""
    try:
        return work()
    except ConfigError as exc:
        return _problem(400, list(exc.problems))
    except RequestError as exc:
        return _problem(400, [(exc.field, exc.reason)])
    except ConfigConflict as exc:
        return _problem(400, [("id", str(exc))])
    except NotFound as exc:
        return _problem(404, [("id", str(exc))])


def _not_found(what: str, found: Any) -> Any:
    if found is None:
        raise NotFound(f"No such object named {what}")
    return found


def _body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestError("body", "expected a JSON object")
    return body


def kayenta_router(service: CanaryService) -> APIRouter:
    router = APIRouter(tags=["kayenta"])

    def options(application: str | None, user: str | None, parent: str | None) -> dict[str, str | None]:
        return {"application": application, "user": user, "parentPipelineExecutionId": parent}

    def start_routes(path: str, start: Starter, answer_key: str, *, takes_user: bool) -> None:
        """``POST path`` (ad hoc: ``{canaryConfig, executionRequest}``) and ``POST path/{configId}``."""

        @router.post(path, name=f"start{answer_key}")
        def ad_hoc(
            body: JsonBody = None,
            application: str | None = None,
            user: str | None = None,
            parentPipelineExecutionId: str | None = None,
        ) -> Any:
            def work() -> dict[str, str]:
                raw = _body(body)
                chosen = options(application, user if takes_user else None, parentPipelineExecutionId)
                return {answer_key: start(raw.get("canaryConfig"), raw.get("executionRequest"), chosen)}

            return _answer(work)

        @router.post(f"{path}/{{config_id}}", name=f"start{answer_key}WithConfig")
        def with_config(
            config_id: str,
            body: JsonBody = None,
            application: str | None = None,
            user: str | None = None,
            parentPipelineExecutionId: str | None = None,
        ) -> Any:
            def work() -> dict[str, str]:
                chosen = options(application, user if takes_user else None, parentPipelineExecutionId)
                return {answer_key: start(None, _body(body), chosen, config_id=config_id)}

            return _answer(work)

    start_routes("/canary", service.start_canary, "canaryExecutionId", takes_user=False)
    start_routes(
        "/standalone_canary_analysis", service.start_standalone, "canaryAnalysisExecutionId", takes_user=True
    )

    @router.get("/canary/{execution_id}")
    def canary_status(execution_id: str) -> Any:
        return _answer(lambda: _not_found(execution_id, service.canary_status(execution_id)))

    @router.get("/standalone_canary_analysis/{analysis_id}")
    def standalone_status(analysis_id: str) -> Any:
        return _answer(lambda: _not_found(analysis_id, service.standalone_status(analysis_id)))

    @router.get("/canaryConfig")
    def list_configs(application: list[str] = Query(default=[])) -> Any:  # noqa: B008 - FastAPI's idiom
        return service.configs.list(application)

    @router.get("/canaryConfig/{config_id}")
    def get_config(config_id: str) -> Any:
        return _answer(lambda: _not_found(config_id, service.configs.get(config_id)))

    @router.post("/canaryConfig")
    def create_config(body: JsonBody = None) -> Any:
        return _answer(lambda: {"canaryConfigId": service.configs.create(body)})

    @router.put("/canaryConfig/{config_id}")
    def update_config(config_id: str, body: JsonBody = None) -> Any:
        return _answer(lambda: {"canaryConfigId": service.configs.update(config_id, body)})

    @router.delete("/canaryConfig/{config_id}", status_code=204, response_model=None)
    def delete_config(config_id: str) -> Response:
        def work() -> Response:
            if not service.configs.delete(config_id):
                raise NotFound(f"No such object named {config_id}")
            return Response(status_code=204)

        answer: Response = _answer(work)
        return answer

    return router
