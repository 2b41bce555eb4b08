"""Error answers for the sample services: always 4xx naming the field and the reason, never a 500.

Body shape: ``{"detail": "field: reason", "errors": [{"field": …, "reason": …}, …]}`` —
``detail`` stays a string so generic clients (and FastAPI's own conventions) still read it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


class ServiceError(Exception):
    """A request the service refuses, with the status, the field at fault and why."""

    def __init__(self, status: int, field: str, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.status = status
        self.field = field
        self.reason = reason
        self.headers = headers


def error_response(
    status: int,
    problems: list[tuple[str, str]],
    headers: dict[str, str] | None = None,
    *,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """The error body; ``extra`` adds what another protocol's clients read (Kayenta's ``message``)."""
    detail = "; ".join(f"{field}: {reason}" if field else reason for field, reason in problems)
    errors = [{"field": field, "reason": reason} for field, reason in problems]
    body = {**(extra or {}), "detail": detail, "errors": errors}
    return JSONResponse(body, status_code=status, headers=headers)


def _field_path(location: tuple[Any, ...]) -> str:
    """``("body", "chaos", 0, "latency_ms")`` → ``chaos[0].latency_ms``; the source part is dropped."""
    parts = list(location[1:]) if location and location[0] in {"body", "query", "path"} else list(location)
    if not parts:
        return str(location[0]) if location else "request"
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _validation_problems(error: RequestValidationError) -> tuple[int, list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    status = 422
    for item in error.errors():
        kind = item.get("type", "")
        location = tuple(item.get("loc", ()))
        if kind == "json_invalid":
            # A body that is not JSON at all is a malformed request, not a bad value.
            reason = item.get("ctx", {}).get("error", "not valid JSON")
            return 400, [("body", f"malformed JSON: {reason}")]
        if location == ("body",) and kind in {"missing", "model_attributes_type", "dict_type"}:
            # Absent, not an object, or not sent as JSON: the request as a whole is wrong.
            return 400, [("body", "a JSON object is required (Content-Type: application/json)")]
        problems.append((_field_path(location), str(item.get("msg", "invalid value"))))
    return status, problems


def install_error_handlers(app: FastAPI) -> None:
    """Map validation and service errors to named-field 4xx answers."""

    async def on_validation_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        status, problems = _validation_problems(error)
        return error_response(status, problems)

    async def on_service_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ServiceError)
        return error_response(error.status, [(error.field, error.reason)], error.headers)

    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(ServiceError, on_service_error)
