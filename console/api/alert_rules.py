"""Alert rules through the API: ``GET /api/v1/alert-rules``, ``PUT``/``DELETE /api/v1/alert-rules/{name}``.

The list shows every rule the evaluator runs: the SLO burn-rate rule (every tier of every
SLO) and each threshold rule with where it comes from (``file`` or ``api``). A PUT answers
201 for a new rule and 200 for a replaced one; a rule from the file cannot be changed here
(409); a bad field answers 400 naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Response

from alerting.engine import AlertEngine
from alerting.rule_book import RuleBook, RuleError
from alerting.rules import SLOBurnRule
from sample_services.errors import ServiceError

__all__ = ["alert_rules_router"]


def alert_rules_router(book: RuleBook, engine: AlertEngine, clock: Callable[[], float]) -> APIRouter:
    router = APIRouter(prefix="/api/v1/alert-rules", tags=["alerting"])

    def refresh() -> None:
        # One assignment: an evaluation running now keeps the list it started with.
        engine.rules = [r for r in engine.rules if isinstance(r, SLOBurnRule)] + list(book.rules())

    @router.get("")
    def rules() -> dict[str, Any]:
        found: list[dict[str, Any]] = [
            {
                "name": SLOBurnRule.name,
                "source": "slo",
                "kind": "burn-rate",
                "description": "every tier of every SLO",
            }
        ]
        for rule in book.rules():
            source = "file" if rule.name in book.file_rules else "api"
            found.append(
                {"name": rule.name, "source": source, "kind": "threshold", **book.sources.get(rule.name, {})}
            )
        return {"rules": found}

    @router.put("/{name}")
    def put(name: str, response: Response, body: Any = Body(None)) -> dict[str, Any]:  # noqa: B008
        try:
            rule, created = book.put(name, body, int(clock() * 1000))
        except RuleError as exc:
            status = 409 if "rules file" in exc.reason else 400
            raise ServiceError(status, exc.field, exc.reason) from None
        refresh()
        response.status_code = 201 if created else 200
        return {"name": rule.name, "source": "api", **book.sources[rule.name]}

    @router.delete("/{name}", status_code=204, response_model=None)
    def delete(name: str) -> Response:
        try:
            existed = book.delete(name)
        except RuleError as exc:
            raise ServiceError(409, exc.field, exc.reason) from None
        if not existed:
            raise ServiceError(404, "name", f"no alert rule {name!r}")
        refresh()
        return Response(status_code=204)

    return router
