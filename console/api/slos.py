"""The SLO API: ``/api/v1/slos`` (list, detail, put, delete, definition, Prometheus rules).

- ``GET /api/v1/slos[?service=]``: every SLO's summary, the least budget remaining first;
- ``GET /api/v1/slos/{name}[?points=]``: the figures of every objective, burn rates of
  every tier and the burn-down (sampled to ``points``, default 720);
- ``PUT /api/v1/slos/{name}``: an OpenSLO YAML text holding exactly that SLO (and any
  SLI, Service or alerting documents it brings); 201 when new, 200 when replaced; 400
  naming document, field and reason when invalid; 409 for an SLO defined in a file;
- ``DELETE /api/v1/slos/{name}``: 204; 404 unknown; 409 for a file's SLO or a composite's component;
- ``GET /api/v1/slos/{name}/definition``: the YAML text as defined;
- ``GET /api/v1/slos/{name}/rules``: Sloth-compatible Prometheus rules (422 when the SLO
  cannot be expressed in PromQL, naming the field).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from collectors.body import BodyTooLarge, read_capped
from console.api.slo_views import detail_view, summary_view
from sample_services.errors import ServiceError
from slo.problems import Problem, ValidationError
from slo.prometheus_rules import export_rules
from slo.registry import Definition, DefinitionConflict
from slo.service import SLOService

__all__ = ["MAX_DEFINITION_BYTES", "slo_router"]

MAX_DEFINITION_BYTES = 1 << 20
YAML = "application/yaml"


def problems_response(status: int, problems: tuple[Problem, ...] | list[Problem]) -> JSONResponse:
    """The API's error form with the OpenSLO document named beside each field."""
    detail = "; ".join(str(p) for p in problems)
    errors = [{"document": p.document, "field": p.path, "reason": p.reason} for p in problems]
    return JSONResponse({"detail": detail, "errors": errors}, status_code=status)


def slo_router(service: SLOService) -> APIRouter:
    router = APIRouter(prefix="/api/v1/slos", tags=["slo"])
    registry = service.registry

    def known(name: str) -> Definition:
        found = registry.get(name)
        if found is None:
            raise ServiceError(404, "name", f"no SLO named {name!r}")
        return found

    @router.get("")
    def list_slos(service_name: str | None = Query(None, alias="service")) -> dict[str, Any]:
        return {"slos": [summary_view(r) for r in service.results(service=service_name)]}

    @router.get("/{name}")
    def get_slo(name: str, points: int = Query(720, ge=2, le=50_000)) -> dict[str, Any]:
        return detail_view(service.evaluate(known(name)), points)

    @router.get("/{name}/definition")
    def get_definition(name: str) -> Response:
        return Response(known(name).text, media_type=YAML)

    @router.get("/{name}/rules")
    def get_rules(name: str) -> Response:
        slo = known(name).slo
        if slo is None:
            raise ServiceError(422, "name", f"SLO {name!r} does not validate; fix its definition first")
        try:
            text = export_rules(slo)
        except ValidationError as exc:
            return problems_response(422, exc.problems)
        return Response(text, media_type=YAML)

    @router.put("/{name}")
    async def put_slo(name: str, request: Request) -> Response:
        try:
            body = await read_capped(request, MAX_DEFINITION_BYTES)
        except BodyTooLarge:
            raise ServiceError(413, "body", f"over {MAX_DEFINITION_BYTES} bytes") from None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ServiceError(400, "body", "not UTF-8 text") from None
        existed = registry.get(name) is not None
        try:
            definition = await asyncio.to_thread(registry.put, name, text)
        except ValidationError as exc:
            return problems_response(400, exc.problems)
        except DefinitionConflict as exc:
            raise ServiceError(409, "name", str(exc)) from None
        service.forget(name)
        view = {"name": name, "source": "api", "updated_ms": definition.updated_ms, "created": not existed}
        return JSONResponse(view, status_code=200 if existed else 201)

    @router.delete("/{name}")
    def delete_slo(name: str) -> Response:
        try:
            removed = registry.delete(name)
        except DefinitionConflict as exc:
            raise ServiceError(409, "name", str(exc)) from None
        if not removed:
            raise ServiceError(404, "name", f"no SLO named {name!r}")
        service.forget(name)
        return Response(status_code=204)

    return router
